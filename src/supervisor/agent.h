/*
 * agent: lk-supervisor's link to LiveKit, the /agent WebSocket (protobuf
 * WorkerMessage up, ServerMessage down): registration, availability
 * answers and slot reservations, assignments handed to the pool, job and
 * worker status, keepalive, reconnection with backoff. Runs in
 * lk-supervisor on its libev loop; nothing the server sends can crash it.
 */
#ifndef LK_SUP_AGENT_H
#define LK_SUP_AGENT_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct sup_agent;
struct sup_pool;
struct sup_load;

/* Python worker constants (agent-protocol.md §3.3, §3.7) and keepalive. */
#define SUP_ASSIGNMENT_TIMEOUT_MS 7500
#define SUP_STATUS_INTERVAL_MS 2500
#define SUP_WS_PING_INTERVAL_MS 10000
#define SUP_WS_DEAD_AFTER_MS 30000
#define SUP_REGISTER_TIMEOUT_MS 10000
#define SUP_STATUS_QUEUE_MAX 128

struct sup_agent_opts {
	const char *agent_url; /* ws(s)://.../agent */
	const char *worker_url; /* LIVEKIT_URL, used when JobAssignment.url is empty */
	const char *api_key;
	const char *api_secret;
	const char *agent_name;
	const char *namespace_; /* NULL or "" = not sent */
	int job_type; /* livekit JobType */
	unsigned max_jobs;
	double load_threshold;
	const char *script;
	const char *script_args;
	int script_from_metadata;
	int oneshot; /* --healthz: register once, then report */
	/* 0 = the defaults above (tests shorten them). */
	int ws_ping_interval_ms;
	int ws_dead_after_ms;
	int register_timeout_ms;
	int status_interval_ms;
	int assignment_timeout_ms;
};

struct sup_agent_cbs {
	/* RegisterWorkerResponse accepted; first = the first time in this run. */
	void (*on_registered)(struct sup_agent *agent, const char *worker_id, int first, void *arg);
	/* The link was lost (also a failed attempt); the agent retries by itself. */
	void (*on_disconnected)(struct sup_agent *agent, const char *reason, void *arg);
	/* oneshot only: ok = registered; reason says why not. */
	void (*on_oneshot)(struct sup_agent *agent, int ok, const char *reason, void *arg);
	/* sup_agent_close finished (the socket is gone). */
	void (*on_closed)(struct sup_agent *agent, void *arg);
};

struct sup_agent_stats {
	uint64_t connect_attempts;
	uint64_t reconnects; /* attempts after the first */
	uint64_t registrations;
	uint64_t availability_accept;
	uint64_t availability_reject;
	uint64_t assignments;
	uint64_t assignments_unknown;
	uint64_t reservations_expired;
	uint64_t terminations;
	uint64_t protocol_errors; /* malformed or unexpected server messages */
	uint64_t status_dropped; /* UpdateJobStatus lost to a full queue */
};

/* pool may be NULL (oneshot): every availability request is then refused. */
struct sup_agent *sup_agent_new(struct ev_loop *loop, const struct sup_agent_opts *opts,
        struct sup_pool *pool, struct sup_load *load, const struct sup_agent_cbs *cbs, void *arg);
void sup_agent_set_pool(struct sup_agent *agent, struct sup_pool *pool);
/* Connect now; retries forever with backoff unless oneshot. */
void sup_agent_start(struct sup_agent *agent);
/* Drain: WS_FULL at once, refuse every availability request from now on. */
void sup_agent_set_draining(struct sup_agent *agent);
/*
 * Shutdown: drain, drop every reservation, and answer later assignments
 * with JS_FAILED "worker shutting down" instead of starting them.
 */
void sup_agent_stop_starts(struct sup_agent *agent);
/* A pool status change: UpdateJobStatus now, or queued while disconnected. */
void sup_agent_job_status(
        struct sup_agent *agent, const char *job_id, int status, const char *error);
/*
 * Stop reconnecting, send what is queued, close the socket gracefully and
 * call on_closed (at the latest after timeout_ms).
 */
void sup_agent_close(struct sup_agent *agent, int timeout_ms);

int sup_agent_registered(const struct sup_agent *agent);
int sup_agent_draining(const struct sup_agent *agent);
const char *sup_agent_worker_id(const struct sup_agent *agent); /* "" before registering */
unsigned sup_agent_reserved(const struct sup_agent *agent);
void sup_agent_stats(const struct sup_agent *agent, struct sup_agent_stats *out);
void sup_agent_free(struct sup_agent *agent);

/* "JS_RUNNING", "JS_SUCCESS", "JS_FAILED" (livekit_agent.proto JobStatus names). */
const char *sup_agent_status_name(int status);

#endif
