/*
 * fuzz_ipc: ipc_unpack on arbitrary datagrams. Whatever it accepts must pack
 * again and decode to the same message (the strict reader and the packer
 * agree). Built into replay_ipc for make check, or linked with libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_ipc_str_same(struct ipc_str a, struct ipc_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int
fuzz_ipc_same(const struct ipc_msg *a, const struct ipc_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case IPC_INIT:
		return a->u.init.ping_interval_ms == b->u.init.ping_interval_ms &&
		        a->u.init.ping_timeout_ms == b->u.init.ping_timeout_ms &&
		        fuzz_ipc_str_same(a->u.init.log_level, b->u.init.log_level) &&
		        fuzz_ipc_str_same(a->u.init.log_format, b->u.init.log_format);
	case IPC_INIT_OK:
		return a->u.init_ok.pid == b->u.init_ok.pid;
	case IPC_PING:
		return a->u.ping.ts_ms == b->u.ping.ts_ms;
	case IPC_PONG:
		return a->u.pong.last_ts_ms == b->u.pong.last_ts_ms &&
		        a->u.pong.ts_ms == b->u.pong.ts_ms &&
		        a->u.pong.rss_kb == b->u.pong.rss_kb &&
		        a->u.pong.cpu_ms == b->u.pong.cpu_ms;
	case IPC_START_JOB:
		return fuzz_ipc_str_same(a->u.start_job.job, b->u.start_job.job) &&
		        fuzz_ipc_str_same(a->u.start_job.url, b->u.start_job.url) &&
		        fuzz_ipc_str_same(a->u.start_job.token, b->u.start_job.token) &&
		        fuzz_ipc_str_same(a->u.start_job.identity, b->u.start_job.identity) &&
		        fuzz_ipc_str_same(a->u.start_job.worker_id, b->u.start_job.worker_id) &&
		        fuzz_ipc_str_same(a->u.start_job.script, b->u.start_job.script) &&
		        fuzz_ipc_str_same(a->u.start_job.script_args, b->u.start_job.script_args);
	case IPC_SHUTDOWN:
		return fuzz_ipc_str_same(a->u.shutdown.reason, b->u.shutdown.reason);
	case IPC_SHUTDOWN_ACK:
		return 1;
	case IPC_STATUS:
		return a->u.status.room_joined == b->u.status.room_joined &&
		        a->u.status.participants == b->u.status.participants &&
		        a->u.status.audio_in_frames == b->u.status.audio_in_frames &&
		        a->u.status.audio_out_frames == b->u.status.audio_out_frames;
	case IPC_EXITING:
		return fuzz_ipc_str_same(a->u.exiting.reason, b->u.exiting.reason) &&
		        a->u.exiting.outcome == b->u.exiting.outcome &&
		        fuzz_ipc_str_same(a->u.exiting.error, b->u.exiting.error);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg m1, m2;
	uint8_t *buf;
	int n;

	if (ipc_unpack(data, size, &m1) != 0)
		return 0;
	/* an accepted message is never larger once re-packed in canonical form */
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	n = ipc_pack(&m1, buf, size);
	if (n < 0 || (size_t)n > size)
		abort();
	if (ipc_unpack(buf, (size_t)n, &m2) != 0 || !fuzz_ipc_same(&m1, &m2))
		abort();
	free(buf);
	return 0;
}
