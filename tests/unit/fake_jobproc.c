/*
 * fake_jobproc: stands in for lk-jobproc in check_pool. Started by the pool
 * with fork+exec and its IPC end on fd 3, it speaks the protocol through
 * src/ipc and acts out the script named in START_JOB:
 *   ok       STATUS, EXITING success, exit 0
 *   exit3    EXITING failure "script failed: boom", exit 3
 *   segv     raise SIGSEGV
 *   hang     stop answering anything (pings time out)
 *   garbage  send a malformed datagram, then wait
 *   wait     run until SHUTDOWN, then SHUTDOWN_ACK, EXITING, exit 0
 *   stubborn ignore SHUTDOWN and SIGTERM
 *   hog      touch script_args "mb=N" megabytes, then wait
 * FAKE_JOBPROC_MODE=noinit never answers INIT; =exitinit exits right after
 * INIT_OK. Never installed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "common/util.h"
#include "ipc/ipc.h"

static struct ipc_peer *fake_peer;
static int fake_hanging;
static int fake_stubborn;
static int fake_waiting;
static volatile char *fake_hog; /* volatile: the pages must really be touched */

static void
fake_send_exiting(const char *reason, int outcome, const char *error)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_EXITING;
	m.u.exiting.reason = ipc_cstr(reason);
	m.u.exiting.outcome = (uint8_t)outcome;
	m.u.exiting.error = ipc_cstr(error);
	ipc_peer_send(fake_peer, &m);
	ipc_peer_flush(fake_peer, 1000);
}

static void
fake_start(const struct ipc_msg *msg)
{
	struct ipc_str script = msg->u.start_job.script;
	struct ipc_msg m;
	char args[64];

	if (ipc_str_eq(script, "ok")) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_STATUS;
		m.u.status.room_joined = 1;
		m.u.status.participants = 2;
		ipc_peer_send(fake_peer, &m);
		fake_send_exiting("script finished", IPC_OUTCOME_SUCCESS, "");
		exit(0);
	} else if (ipc_str_eq(script, "exit3")) {
		fake_send_exiting("script failed", IPC_OUTCOME_FAILURE, "script failed: boom");
		exit(3);
	} else if (ipc_str_eq(script, "segv")) {
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	} else if (ipc_str_eq(script, "hang")) {
		fake_hanging = 1;
	} else if (ipc_str_eq(script, "garbage")) {
		static const unsigned char junk[] = {
		        0xc1, 'n', 'o', 't', ' ', 'm', 's', 'g', 'p', 'a', 'c', 'k'};
		ipc_peer_send_raw(fake_peer, junk, sizeof(junk));
		fake_waiting = 1;
	} else if (ipc_str_eq(script, "stubborn")) {
		signal(SIGTERM, SIG_IGN);
		fake_stubborn = 1;
	} else if (ipc_str_eq(script, "hog")) {
		long mb;
		ipc_str_copy(args, sizeof(args), msg->u.start_job.script_args);
		mb = strncmp(args, "mb=", 3) == 0 ? strtol(args + 3, NULL, 10) : 64;
		fake_hog = malloc((size_t)mb << 20);
		for (size_t i = 0; fake_hog && i < ((size_t)mb << 20); i += 4096)
			fake_hog[i] = 0x5a;
		fake_waiting = 1;
	} else {
		fake_waiting = 1; /* "wait" and anything else */
	}
}

static void
fake_on_msg(struct ipc_peer *peer, const struct ipc_msg *msg, void *arg)
{
	const char *mode = getenv("FAKE_JOBPROC_MODE");
	struct ipc_msg m;

	(void)arg;
	if (fake_hanging)
		return;
	memset(&m, 0, sizeof(m));
	switch (msg->type) {
	case IPC_INIT:
		if (mode && strcmp(mode, "noinit") == 0)
			return;
		m.type = IPC_INIT_OK;
		m.u.init_ok.pid = (int32_t)getpid();
		ipc_peer_send(peer, &m);
		if (mode && strcmp(mode, "exitinit") == 0) {
			ipc_peer_flush(peer, 1000);
			exit(0);
		}
		break;
	case IPC_PING:
		m.type = IPC_PONG;
		m.u.pong.last_ts_ms = msg->u.ping.ts_ms;
		m.u.pong.ts_ms = lk_mono_ms();
		m.u.pong.rss_kb = 1000;
		ipc_peer_send(peer, &m);
		break;
	case IPC_START_JOB:
		fake_start(msg);
		break;
	case IPC_SHUTDOWN:
		if (fake_stubborn)
			break;
		m.type = IPC_SHUTDOWN_ACK;
		ipc_peer_send(peer, &m);
		{
			char reason[64];
			ipc_str_copy(reason, sizeof(reason), msg->u.shutdown.reason);
			fake_send_exiting(reason, IPC_OUTCOME_SUCCESS, "");
		}
		exit(0);
	default:
		break;
	}
}

static void
fake_on_close(struct ipc_peer *peer, int err, void *arg)
{
	(void)peer;
	(void)arg;
	/* the supervisor is gone or sent something bad */
	exit(err == 0 ? 0 : 2);
}

int
main(int argc, char **argv)
{
	struct ev_loop *loop = EV_DEFAULT;

	if (argc < 2 || strcmp(argv[1], "--ipc") != 0) {
		fprintf(stderr, "fake_jobproc: run by check_pool with --ipc\n");
		return 2;
	}
	fake_peer = ipc_peer_new(loop, IPC_FD, fake_on_msg, fake_on_close, NULL);
	if (fake_peer == NULL)
		return 2;
	ev_run(loop, 0);
	return 0;
}
