/*
 * lk-jobproc: runs one job. Supervised (--ipc: lk-supervisor's socketpair
 * on fd 3: INIT, PING/PONG, START_JOB, SHUTDOWN, STATUS, EXITING) or one-off
 * from the command line. The exit code tells how the job ended.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "jobproc/job.h"
#include "jobproc/room.h"
#include "jobproc/scripts.h"
#include "proto/lkpb.h"

#define JP_EXIT_USAGE 2
/* Until INIT says otherwise (agent-protocol.md §4.5: Python's 60 s). */
#define JP_DEFAULT_PING_TIMEOUT_MS 60000
/* §4.5: the child gives up on a silent parent after ping_timeout + 10 s. */
#define JP_ORPHAN_GRACE_MS 10000
#define JP_FLUSH_TIMEOUT_MS 1000
/* One-off tokens live as long as LiveKit's default (6 h). */
#define JP_TOKEN_TTL_S (6 * 3600)

/* The one process-wide state (the loop and the job). */
static struct {
	struct ev_loop *loop;
	struct ipc_peer *peer; /* supervised only */
	struct job *job;
	int inited;
	int64_t ping_timeout_ms;
	ev_timer orphan_timer;
	ev_signal sigterm;
	ev_signal sigint;
} jp;

/* ---- shared ---- */

static void
jp_print_version(void)
{
	printf("lk-jobproc %s (commit %s)\n", PACKAGE_VERSION, LK_GIT_COMMIT);
}

/* Resident set from /proc/self/statm (pages), 0 if unreadable. */
static uint64_t
jp_rss_kb(void)
{
	char buf[128];
	unsigned long long size = 0, resident = 0;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static uint64_t
jp_cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	        (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static char *
jp_strdup_ipc(struct ipc_str s)
{
	char *out = lk_xmalloc((size_t)s.len + 1);

	if (s.len)
		memcpy(out, s.ptr, s.len);
	out[s.len] = '\0';
	return out;
}

/* ---- supervised mode ---- */

static void
jp_send(const struct ipc_msg *msg)
{
	int rc;

	if (!jp.peer)
		return;
	rc = ipc_peer_send(jp.peer, msg);
	if (rc < 0)
		log_warn("ipc send failed", "type", ipc_type_name(msg->type), "err",
		        lk_strerror(rc));
}

static void __attribute__((noreturn))
jp_exit_supervised(const char *reason, enum job_outcome outcome, const char *error, int code)
{
	struct ipc_msg m;

	if (jp.peer) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_EXITING;
		m.u.exiting.reason = ipc_cstr(reason);
		m.u.exiting.outcome =
		        outcome == JOB_SUCCESS ? IPC_OUTCOME_SUCCESS : IPC_OUTCOME_FAILURE;
		m.u.exiting.error = ipc_cstr(error);
		jp_send(&m);
		/* EXITING must reach the supervisor before the exit status does. */
		ipc_peer_flush(jp.peer, JP_FLUSH_TIMEOUT_MS);
	}
	log_info("job process exiting", "reason", reason, "code", log_fmt("%d", code));
	exit(code);
}

static void
jp_job_status(struct job *job, const struct job_status *st, void *arg)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_STATUS;
	m.u.status.room_joined = st->room_joined ? 1 : 0;
	m.u.status.participants = st->participants;
	m.u.status.audio_in_frames = st->audio_in_frames;
	m.u.status.audio_out_frames = st->audio_out_frames;
	jp_send(&m);
}

static void
jp_job_done(struct job *job, void *arg)
{
	jp_exit_supervised(job_reason(job), job_outcome(job), job_error(job), job_exit_code(job));
}

static const struct job_cbs jp_job_cbs = {
        .on_status = jp_job_status,
        .on_done = jp_job_done,
};

/* The supervisor is gone (EOF, error or silence): end the job, or exit when idle. */
static void
jp_supervisor_gone(const char *why)
{
	log_warn("supervisor gone", "err", why);
	ev_timer_stop(jp.loop, &jp.orphan_timer);
	if (jp.peer) {
		ipc_peer_free(jp.peer);
		jp.peer = NULL;
	}
	if (jp.job)
		job_shutdown(jp.job, "supervisor gone");
	else
		jp_exit_supervised("supervisor gone", JOB_SUCCESS, "", 0);
}

static void
jp_orphan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	jp_supervisor_gone(log_fmt("nothing received for %lld ms",
	        (long long)(jp.ping_timeout_ms + JP_ORPHAN_GRACE_MS)));
}

static void
jp_on_init(const struct ipc_msg *msg)
{
	struct ipc_msg m;
	enum log_level level;
	enum log_format format;
	char buf[32];

	if (jp.inited) {
		log_warn("duplicate INIT ignored");
		return;
	}
	jp.inited = 1;
	if (msg->u.init.log_level.len && msg->u.init.log_level.len < sizeof(buf)) {
		memcpy(buf, msg->u.init.log_level.ptr, msg->u.init.log_level.len);
		buf[msg->u.init.log_level.len] = '\0';
		if (log_parse_level(buf, &level) == 0)
			log_set_level(level);
		else
			log_warn("INIT log level unknown; kept", "log_level", buf);
	}
	if (msg->u.init.log_format.len && msg->u.init.log_format.len < sizeof(buf)) {
		memcpy(buf, msg->u.init.log_format.ptr, msg->u.init.log_format.len);
		buf[msg->u.init.log_format.len] = '\0';
		if (log_parse_format(buf, &format) == 0)
			log_set_format(format);
		else
			log_warn("INIT log format unknown; kept", "log_format", buf);
	}
	if (msg->u.init.ping_timeout_ms > 0)
		jp.ping_timeout_ms = msg->u.init.ping_timeout_ms;
	jp.orphan_timer.repeat = (jp.ping_timeout_ms + JP_ORPHAN_GRACE_MS) / 1000.;
	ev_timer_again(jp.loop, &jp.orphan_timer);

	memset(&m, 0, sizeof(m));
	m.type = IPC_INIT_OK;
	m.u.init_ok.pid = (int32_t)getpid();
	jp_send(&m);
	log_debug("job process initialized", "ping_interval_ms",
	        log_fmt("%u", msg->u.init.ping_interval_ms), "ping_timeout_ms",
	        log_fmt("%lld", (long long)jp.ping_timeout_ms));
}

static void
jp_on_ping(const struct ipc_msg *msg)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_PONG;
	m.u.pong.last_ts_ms = msg->u.ping.ts_ms;
	m.u.pong.ts_ms = lk_wall_ms();
	m.u.pong.rss_kb = jp_rss_kb();
	m.u.pong.cpu_ms = jp_cpu_ms();
	jp_send(&m);
}

static void
jp_on_start_job(const struct ipc_msg *msg)
{
	const typeof(msg->u.start_job) *s = &msg->u.start_job;
	livekit_Job pbjob;
	struct job_params p;
	char *url, *token, *identity, *script, *args, err[256];
	int rc;

	if (jp.job) {
		log_warn("START_JOB while a job runs; ignored");
		return;
	}
	/* livekit_agent.proto Job: id (1), room (3) name for the log context. */
	rc = lkpb_decode(
	        livekit_Job_fields, &pbjob, (const uint8_t *)s->job.ptr, s->job.len, IPC_MAX_MSG);
	if (rc < 0) {
		log_error("START_JOB with a malformed job", "err", lk_strerror(rc));
		jp_exit_supervised("job start failed", JOB_FAILURE,
		        log_fmt("malformed job protobuf: %s", lk_strerror(rc)), 1);
	}
	log_set_job(pbjob.id, pbjob.room ? pbjob.room->name : NULL);

	url = jp_strdup_ipc(s->url);
	token = jp_strdup_ipc(s->token);
	identity = jp_strdup_ipc(s->identity);
	script = jp_strdup_ipc(s->script);
	args = jp_strdup_ipc(s->script_args);
	memset(&p, 0, sizeof(p));
	p.job_id = pbjob.id;
	p.room_name = pbjob.room ? pbjob.room->name : NULL;
	p.url = url;
	p.token = token;
	p.identity = identity;
	p.script = script;
	p.script_args = args;
	log_info("job starting", "script", script, "identity", identity, "url", url);
	jp.job = job_new(jp.loop, &p, &jp_job_cbs, NULL);
	lkpb_free(livekit_Job_fields, &pbjob);
	free(url);
	free(token);
	free(identity);
	free(script);
	free(args);

	rc = job_start(jp.job, err, sizeof(err));
	if (rc < 0)
		job_fail(jp.job, err);
}

static void
jp_on_shutdown(const struct ipc_msg *msg)
{
	struct ipc_msg m;
	char *reason = msg->u.shutdown.reason.len ? jp_strdup_ipc(msg->u.shutdown.reason)
	                                          : lk_xstrdup("job shutdown");

	memset(&m, 0, sizeof(m));
	m.type = IPC_SHUTDOWN_ACK;
	jp_send(&m);
	log_info("shutdown requested", "reason", reason);
	if (jp.job) {
		job_shutdown(jp.job, reason);
		free(reason);
		return;
	}
	/* agent-protocol.md §4.4 step 6: no job running: ack and exit. */
	jp_exit_supervised(reason, JOB_SUCCESS, "", 0);
}

static void
jp_ipc_msg(struct ipc_peer *peer, const struct ipc_msg *msg, void *arg)
{
	/* Any message proves the supervisor is alive (orphan protection). */
	ev_timer_again(jp.loop, &jp.orphan_timer);
	switch (msg->type) {
	case IPC_INIT:
		jp_on_init(msg);
		break;
	case IPC_PING:
		jp_on_ping(msg);
		break;
	case IPC_START_JOB:
		jp_on_start_job(msg);
		break;
	case IPC_SHUTDOWN:
		jp_on_shutdown(msg);
		break;
	default:
		log_warn("unexpected ipc message ignored", "type", ipc_type_name(msg->type));
		break;
	}
}

static void
jp_ipc_close(struct ipc_peer *peer, int err, void *arg)
{
	if (err == 0)
		jp_supervisor_gone("ipc EOF");
	else
		jp_supervisor_gone(log_fmt("ipc: %s", lk_strerror(err)));
}

static void
jp_sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	const char *reason = w->signum == SIGINT ? "signal SIGINT" : "signal SIGTERM";

	if (jp.job)
		job_shutdown(jp.job, reason);
	else if (jp.peer)
		jp_exit_supervised(reason, JOB_SUCCESS, "", 0);
	else
		exit(0);
}

/* fd 3 must be the supervisor's socketpair end, not whatever a shell left there. */
static int
jp_ipc_fd_ok(void)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fstat(IPC_FD, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(IPC_FD, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return 0;
	return type == SOCK_SEQPACKET;
}

static int
jp_run_supervised(void)
{
	/* The supervisor owns the lifecycle: SIGINT from a terminal is not ours. */
	signal(SIGINT, SIG_IGN);
	if (!jp_ipc_fd_ok()) {
		fprintf(stderr,
		        "lk-jobproc: --ipc: fd %d is not a SOCK_SEQPACKET socket "
		        "(lk-jobproc --ipc is started by lk-supervisor)\n",
		        IPC_FD);
		return JP_EXIT_USAGE;
	}
	jp.ping_timeout_ms = JP_DEFAULT_PING_TIMEOUT_MS;
	jp.peer = ipc_peer_new(jp.loop, IPC_FD, jp_ipc_msg, jp_ipc_close, NULL);
	if (!jp.peer) {
		log_error("ipc setup failed", "fd", log_fmt("%d", IPC_FD));
		return 1;
	}
	ev_init(&jp.orphan_timer, jp_orphan_cb);
	jp.orphan_timer.repeat = (jp.ping_timeout_ms + JP_ORPHAN_GRACE_MS) / 1000.;
	ev_timer_again(jp.loop, &jp.orphan_timer);
	ev_signal_init(&jp.sigterm, jp_sigterm_cb, SIGTERM);
	ev_signal_start(jp.loop, &jp.sigterm);
	log_debug("job process waiting for INIT");
	ev_run(jp.loop, 0);
	return 0;
}

/* ---- one-off mode ---- */

static const char *const jp_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const jp_format_names[] = {"json", "console", NULL};

struct jp_oneoff {
	int ipc;
	char *script;
	char *script_args;
	char *url;
	char *room;
	char *token;
	char *api_key;
	char *api_secret;
	char *identity;
	char *freq;
	char *dir;
	int64_t duration_ms;
	int log_level;
	int log_format;
};

static struct jp_oneoff jo;

static const struct cfg_opt jp_opts[] = {
        {.flag = "ipc",
                .type = CFG_BOOL,
                .dst = &jo.ipc,
                .help = "supervised mode: lk-supervisor's IPC socket is fd 3 (all other flags unused)"},
        {.flag = "script",
                .type = CFG_STR,
                .dst = &jo.script,
                .help = "script to run (see the list below)"},
        {.flag = "script-args",
                .type = CFG_STR,
                .dst = &jo.script_args,
                .help = "script arguments, \"key=value ...\""},
        {.flag = "url",
                .env = "LIVEKIT_URL",
                .type = CFG_STR,
                .dst = &jo.url,
                .help = "LiveKit server URL (ws://, wss://, http://, https://)"},
        {.flag = "room",
                .type = CFG_STR,
                .dst = &jo.room,
                .help = "room to join (required unless --token is given)"},
        {.flag = "token",
                .type = CFG_STR,
                .dst = &jo.token,
                .secret = 1,
                .help = "room join token; without it one is signed with the API key"},
        {.flag = "api-key",
                .env = "LIVEKIT_API_KEY",
                .type = CFG_STR,
                .dst = &jo.api_key,
                .help = "API key used to sign the join token"},
        {.flag = "api-secret",
                .env = "LIVEKIT_API_SECRET",
                .type = CFG_STR,
                .dst = &jo.api_secret,
                .secret = 1,
                .help = "API secret used to sign the join token"},
        {.flag = "identity",
                .type = CFG_STR,
                .dst = &jo.identity,
                .help = "participant identity when signing (default agent-<random>)"},
        {.flag = "freq",
                .type = CFG_STR,
                .dst = &jo.freq,
                .help = "tone script: frequency in Hz (default 440; same as --script-args freq=F)"},
        {.flag = "dir",
                .type = CFG_STR,
                .dst = &jo.dir,
                .help = "record script: directory for the WAV files (same as --script-args dir=D)"},
        {.flag = "duration",
                .type = CFG_DURATION,
                .dst = &jo.duration_ms,
                .def = "0",
                .min = 0,
                .max = 30LL * 24 * 3600 * 1000,
                .help = "the script finishes after this long in the room (0 = until the room ends)"},
        {.flag = "log-level",
                .env = "LK_LOG_LEVEL",
                .type = CFG_ENUM,
                .dst = &jo.log_level,
                .def = "info",
                .choices = jp_level_names,
                .help = "log level"},
        {.flag = "log-format",
                .env = "LK_LOG_FORMAT",
                .type = CFG_ENUM,
                .dst = &jo.log_format,
                .def = "json",
                .choices = jp_format_names,
                .help = "log format"},
};
#define JP_NOPTS (sizeof(jp_opts) / sizeof(jp_opts[0]))

static void
jp_usage(FILE *out)
{
	fprintf(out,
	        "usage: lk-jobproc --script NAME --url URL --room ROOM\n"
	        "                  [--token T | --api-key K --api-secret S] [--identity I]\n"
	        "                  [--duration D] [--script-args \"k=v ...\"] [--freq F] [--dir D]\n"
	        "       lk-jobproc --ipc     (started by lk-supervisor)\n"
	        "       lk-jobproc --version | --help\n\n");
	cfg_usage(jp_opts, JP_NOPTS, out);
	fprintf(out, "\nscripts:\n");
	for (const struct script *s = script_table(); s->name; s++)
		fprintf(out, "  %-8s %s\n", s->name, s->help);
	fprintf(out, "\nexit codes: 0 success, 1 failure, 2 usage error\n");
}

static int __attribute__((format(printf, 1, 2))) jp_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("lk-jobproc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(lk-jobproc --help for usage)\n", stderr);
	return JP_EXIT_USAGE;
}

static int
jp_script_names(char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (const struct script *s = script_table(); s->name; s++) {
		int w = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", s->name);
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	return 0;
}

/* Sign a join token for the one-off run (rtc-protocol.md §1.2 grants). */
static char *
jp_sign_token(const char *identity)
{
	struct jwt_access a;
	json_t *video;
	char *tok = NULL;
	int rc;

	video = json_pack("{s:b, s:s, s:b, s:b, s:b, s:b}", "roomJoin", 1, "room", jo.room, "agent",
	        1, "canPublish", 1, "canSubscribe", 1, "canPublishData", 1);
	if (!video)
		return NULL;
	memset(&a, 0, sizeof(a));
	a.api_key = jo.api_key;
	a.api_secret = jo.api_secret;
	a.identity = identity;
	a.kind = "agent";
	a.ttl_s = JP_TOKEN_TTL_S;
	rc = jwt_access_token(&a, video, &tok);
	json_decref(video);
	if (rc < 0) {
		log_error("token signing failed", "err", lk_strerror(rc));
		return NULL;
	}
	return tok;
}

static void
jp_oneoff_done(struct job *job, void *arg)
{
	int code = job_exit_code(job);

	log_info("one-off job exiting", "reason", job_reason(job), "code", log_fmt("%d", code));
	exit(code);
}

static const struct job_cbs jp_oneoff_cbs = {
        .on_done = jp_oneoff_done,
};

static int
jp_run_oneoff(int argc, char **argv)
{
	char err[512], names[128], url[2048], idbuf[32], *token = NULL;
	const char *identity;
	struct job_params p;
	int rc;

	if (cfg_load(jp_opts, JP_NOPTS, argc, argv, NULL, err, sizeof(err)) < 0)
		return jp_usage_error("%s", err);
	log_set_level((enum log_level)jo.log_level);
	log_set_format((enum log_format)jo.log_format);

	jp_script_names(names, sizeof(names));
	if (!jo.script || !*jo.script)
		return jp_usage_error("--script is required (one of: %s)", names);
	if (!script_find(jo.script))
		return jp_usage_error(
		        "--script: unknown script \"%s\" (one of: %s)", jo.script, names);
	if (!jo.url || !*jo.url)
		return jp_usage_error("--url (or LIVEKIT_URL) is required");
	if (room_build_url(jo.url, url, sizeof(url)) < 0)
		return jp_usage_error(
		        "--url: expected a ws://, wss://, http:// or https:// URL, got \"%s\"",
		        jo.url);
	if ((!jo.room || !*jo.room) && (!jo.token || !*jo.token))
		return jp_usage_error("--room is required");
	if (jo.token && *jo.token) {
		token = lk_xstrdup(jo.token);
	} else {
		if (!jo.api_key || !*jo.api_key)
			return jp_usage_error(
			        "--api-key (or LIVEKIT_API_KEY) is required without --token");
		if (!jo.api_secret || !*jo.api_secret)
			return jp_usage_error(
			        "--api-secret (or LIVEKIT_API_SECRET) is required without --token");
	}

	/* --freq and --dir are script arguments with their own flags. */
	if (jo.freq || jo.dir) {
		char *args;
		if ((jo.freq && (!*jo.freq || strpbrk(jo.freq, " \t"))) ||
		        (jo.dir && (!*jo.dir || strpbrk(jo.dir, " \t"))))
			return jp_usage_error("--freq and --dir take one word (no spaces)");
		if (asprintf(&args, "%s%s%s%s%s%s%s", jo.script_args ? jo.script_args : "",
		            jo.script_args ? " " : "", jo.freq ? "freq=" : "",
		            jo.freq ? jo.freq : "", jo.freq && jo.dir ? " " : "",
		            jo.dir ? "dir=" : "", jo.dir ? jo.dir : "") < 0)
			return 1;
		free(jo.script_args);
		jo.script_args = args;
	}

	identity = jo.identity && *jo.identity ? jo.identity : NULL;
	if (!identity) {
		lk_make_id("agent-", idbuf, sizeof(idbuf));
		identity = idbuf;
	}
	if (!token) {
		token = jp_sign_token(identity);
		if (!token)
			return 1;
	}
	log_set_job(NULL, jo.room);

	memset(&p, 0, sizeof(p));
	p.url = jo.url;
	p.token = token;
	p.identity = identity;
	p.room_name = jo.room;
	p.script = jo.script;
	p.script_args = jo.script_args;
	p.duration_ms = jo.duration_ms;
	jp.job = job_new(jp.loop, &p, &jp_oneoff_cbs, NULL);
	free(token);

	ev_signal_init(&jp.sigterm, jp_sigterm_cb, SIGTERM);
	ev_signal_start(jp.loop, &jp.sigterm);
	ev_signal_init(&jp.sigint, jp_sigterm_cb, SIGINT);
	ev_signal_start(jp.loop, &jp.sigint);

	log_info("one-off job starting", "script", jo.script, "identity", identity, "duration_ms",
	        log_fmt("%lld", (long long)jo.duration_ms));
	rc = job_start(jp.job, err, sizeof(err));
	if (rc < 0)
		job_fail(jp.job, err);
	ev_run(jp.loop, 0);
	/* Not reached: the job's on_done exits. */
	return job_exit_code(jp.job);
}

int
main(int argc, char **argv)
{
	int supervised = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			jp_print_version();
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			jp_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--ipc") == 0)
			supervised = 1;
	}
	if (supervised && argc != 2)
		return jp_usage_error(
		        "--ipc takes no other flags (the supervisor sends everything over IPC)");

	/* A closed signalling socket must be an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit must be a write error (EFBIG) the record script
	 * reports, not a silent kill (wav.h). */
	signal(SIGXFSZ, SIG_IGN);
	log_init("lk-jobproc");
	jp.loop = ev_default_loop(EVFLAG_AUTO);
	if (!jp.loop) {
		fprintf(stderr, "lk-jobproc: cannot create the event loop\n");
		return 1;
	}
	if (supervised)
		return jp_run_supervised();
	return jp_run_oneoff(argc, argv);
}
