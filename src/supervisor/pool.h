/*
 * pool: lk-supervisor's job processes: the prewarmed idle pool, the job
 * table, spawning (fork+exec, IPC on fd 3, CLOEXEC error pipe), pings,
 * memory sampling, timeouts and the shutdown ladder (SHUTDOWN -> close
 * timeout -> SIGTERM -> SIGKILL). Runs in lk-supervisor on the default libev
 * loop (ev_child needs it). Every child death becomes one final job status.
 */
#ifndef LK_SUP_POOL_H
#define LK_SUP_POOL_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct sup_pool;

/* livekit_agent.proto JobStatus values */
enum sup_job_status {
	SUP_JS_RUNNING = 1,
	SUP_JS_SUCCESS = 2,
	SUP_JS_FAILED = 3,
};

struct sup_pool_opts {
	const char *jobproc_path; /* path of lk-jobproc */
	int num_idle; /* prewarmed processes to keep */
	int ping_interval_ms; /* 2500 */
	int ping_timeout_ms; /* unresponsive job killed after this (default 60000) */
	int init_timeout_ms; /* 10000 */
	int close_timeout_ms; /* SHUTDOWN -> SIGTERM (default 10000) */
	int64_t job_timeout_ms; /* 0 = none */
	int mem_warn_mb; /* 0 = off */
	int mem_limit_mb; /* 0 = off */
	const char *log_level; /* passed to children in INIT */
	const char *log_format;
};

struct sup_job_start {
	const char *job_id;
	const char *room; /* for logs */
	const uint8_t *job_pb; /* livekit.Job protobuf bytes */
	size_t job_pb_len;
	const char *url;
	const char *token;
	const char *identity;
	const char *worker_id;
	const char *script;
	const char *script_args;
};

/*
 * Job status changes: RUNNING once START_JOB is handed to a process, then
 * exactly one SUCCESS or FAILED with an error text ("exit code 3",
 * "signal 11 (SIGSEGV)", "ping timeout", "memory limit", "job timeout").
 */
typedef void (*sup_job_status_fn)(const char *job_id, int status, const char *error, void *arg);
/*
 * on_status is called only from loop callbacks, never from inside a
 * sup_pool_* call, and may call any sup_pool_* function (sup_pool_free
 * included). error is NULL for RUNNING and SUCCESS. A job whose process
 * could not be started (exec failure, init timeout) gets FAILED without
 * RUNNING; one terminated before its process was ready gets SUCCESS
 * without RUNNING.
 */

/* NULL unless loop is the default loop (ev_child works only there). */
struct sup_pool *sup_pool_new(struct ev_loop *loop, const struct sup_pool_opts *opts,
        sup_job_status_fn on_status, void *arg);
/*
 * Start a job on an idle process (or a fresh one). 0 or negative lk_err:
 * LK_EINVAL (empty or duplicate job id), LK_ETOOBIG (does not fit one IPC
 * message), or a negated errno when fork/socketpair failed (no status follows).
 */
int sup_pool_start_job(struct sup_pool *pool, const struct sup_job_start *start);
/* Begin the shutdown ladder for one job (JobTermination); unknown ids ignored. */
int sup_pool_terminate(struct sup_pool *pool, const char *job_id, const char *reason);
/* Ladder for every running job and stop the idle pool (drain timeout or exit). */
void sup_pool_shutdown_all(struct sup_pool *pool, const char *reason);
/* Stop keeping idle processes (drain) and kill the idle ones. */
void sup_pool_stop_idle(struct sup_pool *pool);

unsigned sup_pool_running(const struct sup_pool *pool); /* jobs not yet reaped */
unsigned sup_pool_idle(const struct sup_pool *pool); /* initialized idle processes */
/* Children alive of any kind (idle, starting, running, closing). */
unsigned sup_pool_children(const struct sup_pool *pool);

struct sup_job_info {
	const char *job_id;
	const char *room;
	int pid;
	int status; /* RUNNING while alive */
	int64_t started_ms; /* monotonic */
	uint64_t rss_kb; /* last PONG/memory sample */
	uint64_t pss_kb;
	int room_joined; /* from STATUS */
	uint32_t participants;
	uint64_t audio_in_frames; /* from STATUS: 20 ms frames heard */
	uint64_t audio_out_frames; /* from STATUS: 20 ms frames published */
	const char *state; /* "starting", "running", "closing" */
};
typedef void (*sup_job_fn)(const struct sup_job_info *info, void *arg);
void sup_pool_foreach(const struct sup_pool *pool, sup_job_fn fn, void *arg);

struct sup_pool_stats {
	uint64_t spawned;
	uint64_t spawn_failures;
	uint64_t jobs_started;
	uint64_t jobs_succeeded;
	uint64_t jobs_failed;
	uint64_t killed_ping_timeout;
	uint64_t killed_memory;
	uint64_t killed_close_timeout; /* ignored SHUTDOWN: the ladder sent SIGTERM */
	uint64_t killed_job_timeout; /* ended by --job-timeout (through the ladder) */
	uint64_t malformed_ipc;
};
void sup_pool_stats(const struct sup_pool *pool, struct sup_pool_stats *out);

/* SIGKILL and reap every child; no statuses are reported from here. */
void sup_pool_free(struct sup_pool *pool);

#endif
