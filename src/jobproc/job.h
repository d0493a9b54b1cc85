/*
 * job: the context of the one job an lk-jobproc process runs. It owns the
 * shutdown reason (the first one wins), the outcome, the shutdown hooks,
 * the status reports and the stop cascade room -> tracks -> script ->
 * hooks -> done.
 */
#ifndef LK_JOB_H
#define LK_JOB_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct job;
struct media;
struct room;

enum job_outcome {
	JOB_SUCCESS = 0,
	JOB_FAILURE = 1,
};

/* The stages of the stop cascade, in the order they are stopped. */
enum job_stage {
	JOB_STAGE_ROOM = 0, /* send leave, close the signalling WebSocket */
	JOB_STAGE_TRACKS = 1, /* remote tracks end, publishing stops, transports close */
	JOB_STAGE_SCRIPT = 2, /* the script's stop callback */
	JOB_NSTAGES = 3,
};

/* How long one stage may take before the cascade moves on without it. */
#define JOB_STAGE_TIMEOUT_MS 1500
/* While audio counters change, a status report goes out this often. */
#define JOB_STATUS_INTERVAL_MS 1000

struct job_params {
	const char *job_id; /* for logs; may be NULL */
	const char *url; /* LiveKit URL: ws, wss, http or https */
	const char *token; /* room join JWT */
	const char *identity; /* for logs; the token decides the real one */
	const char *room_name; /* for logs; may be NULL */
	const char *script; /* script name ("noop", ...) */
	const char *script_args; /* free-form "key=value ..." or NULL */
	int64_t duration_ms; /* > 0: the script finishes after this long */
};

/* What STATUS reports (ipc.h IPC_STATUS). */
struct job_status {
	int room_joined;
	unsigned participants;
	uint64_t audio_in_frames; /* 20 ms frames heard (all tracks) */
	uint64_t audio_out_frames; /* 20 ms frames published */
};

struct job_cbs {
	/* The room was joined, its participants changed, or (every
	 * JOB_STATUS_INTERVAL_MS while they change) the audio counters moved. */
	void (*on_status)(struct job *job, const struct job_status *st, void *arg);
	/*
	 * The cascade finished: reason, outcome and error are final. The owner
	 * reports them and exits (or calls job_free).
	 */
	void (*on_done)(struct job *job, void *arg);
};

/* A stage's stop function. It calls job_stage_done() once the stage has stopped
 * (it may do so before returning). */
typedef void (*job_stage_fn)(struct job *job, void *arg);
/* A shutdown hook: runs once, after the stages, with the final reason. */
typedef void (*job_hook_fn)(struct job *job, const char *reason, void *arg);

/* Strings in p are copied. cbs may be NULL. */
struct job *job_new(
        struct ev_loop *loop, const struct job_params *p, const struct job_cbs *cbs, void *arg);

/*
 * Look up and start the script, then start joining the room; room events
 * reach the script as they happen. A "duration=D" script argument is used
 * when p->duration_ms is 0; the duration counts from the join. "rate=R"
 * sets the script's audio rate (TAP_DEFAULT_RATE). Returns 0,
 * or LK_ENOTFOUND (unknown script), LK_EINVAL (bad URL or arguments) or the
 * script's start error, with a message in err. On error the caller fails
 * the job with that message.
 */
int job_start(struct job *job, char *err, size_t errlen);

/*
 * Begin the shutdown cascade with reason. Idempotent: the first reason
 * wins, later calls only log. The cascade runs from the event loop, never
 * inside this call, so any callback may call it.
 */
void job_shutdown(struct job *job, const char *reason);

/*
 * Mark the job failed with error (the first error wins) and shut it down;
 * the error is also the shutdown reason unless one was already set.
 */
void job_fail(struct job *job, const char *error);

/* Scripts: the script ended on its own (ok = 0: failed with error). */
void job_script_done(struct job *job, int ok, const char *error);

/*
 * Register a shutdown hook. Hooks run exactly once, in the reverse order of
 * registration, after the script stage. 0, or LK_ECLOSED when the hooks
 * already ran.
 */
int job_add_shutdown_hook(struct job *job, job_hook_fn fn, void *arg);

/* Install the stop function of one cascade stage (job_start does this for
 * the room and the script; tests install their own). */
void job_set_stage(struct job *job, enum job_stage stage, job_stage_fn fn, void *arg);
/* The stage has stopped; the cascade continues from the loop. */
void job_stage_done(struct job *job, enum job_stage stage);

int job_is_shutting_down(const struct job *job);
/* NULL until a shutdown began. */
const char *job_reason(const struct job *job);
enum job_outcome job_outcome(const struct job *job);
/* Failure text, "" when none. */
const char *job_error(const struct job *job);
/* Process exit code for the outcome: 0 success, 1 failure. */
int job_exit_code(const struct job *job);

struct ev_loop *job_loop(const struct job *job);
const struct job_params *job_params(const struct job *job);
/* The room once job_start ran, else NULL. */
struct room *job_room(const struct job *job);
/* The room's media (taps, publishing) once job_start ran, else NULL. */
struct media *job_media(const struct job *job);
/*
 * Look key up in the script arguments ("key=value" words separated by
 * spaces). 0 and the value copied into out, or LK_ENOTFOUND / LK_ETOOBIG.
 */
int job_script_arg(const struct job *job, const char *key, char *out, size_t outlen);
/* Per-job data of the running script. */
void job_set_script_data(struct job *job, void *data);
void *job_script_data(const struct job *job);

/* Stops every watcher and frees everything (hooks that did not run are dropped). */
void job_free(struct job *job);

#endif
