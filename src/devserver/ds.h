/*
 * ds: lk-devserver's shared state: API keys, rooms, dispatches and jobs.
 * Runs in lk-devserver only. rooms.c/twirp.c/rtc.c own rooms and dispatches;
 * agents.c owns the /agent worker connections and job placement. Job records
 * live for the whole process (bounded by DS_MAX_JOBS), so pointers to them
 * stay valid.
 */
#ifndef LK_DS_H
#define LK_DS_H

#include <stdint.h>

struct ev_loop;
struct http_req;
struct ds_agents;

#define DS_MAX_JOBS 20000

/* livekit_agent.proto JobStatus */
enum ds_job_status {
	DS_JS_PENDING = 0,
	DS_JS_RUNNING = 1,
	DS_JS_SUCCESS = 2,
	DS_JS_FAILED = 3,
};

struct ds_job {
	char id[32]; /* AJ_... */
	char dispatch_id[32]; /* AD_... */
	int type; /* JobType: JT_ROOM 0, JT_PUBLISHER 1, JT_PARTICIPANT 2 */
	char agent_name[128];
	char room_name[256];
	char room_sid[32];
	char *metadata; /* dispatch metadata (heap, may be NULL) */
	int status; /* enum ds_job_status */
	char error[256];
	char worker_id[32];
	char participant_identity[256];
	int64_t started_at_ns; /* JobState times are UnixNano, as livekit-server */
	int64_t ended_at_ns;
	int64_t updated_at_ns;
	/*
	 * For `make bench`: when the first AvailabilityRequest went out and
	 * when the worker itself reported RUNNING (UpdateJobStatus). Dev server
	 * bookkeeping only; not part of livekit.JobState.
	 */
	int64_t offered_at_ns;
	int64_t worker_running_at_ns;
	struct ds_job *next; /* all jobs, newest first */
};

struct ds_key {
	char *key;
	char *secret;
};

struct ds {
	struct ev_loop *loop;
	struct ds_key *keys;
	int nkeys;
	struct ds_agents *agents;
	struct ds_job *jobs; /* every job ever created */
	int njobs;
	void *rooms; /* owned by rooms.c */
	char rtc_ip[64]; /* address put in ICE candidates (media issue) */
	uint16_t port;
};

/* API secret for a key, or NULL. Matches jwt_secret_fn. */
const char *ds_secret_for(const char *api_key, void *ds);

/* Room name -> Room info needed to build a livekit.Job (sid, metadata). */
int ds_room_lookup(struct ds *ds, const char *room_name, char *sid_out, size_t sidlen,
        const char **metadata_out);

/* Create a job record (status PENDING) and hand it to the agents for placement. */
struct ds_job *ds_job_create(struct ds *ds, const char *dispatch_id, int type,
        const char *agent_name, const char *room_name, const char *metadata);

/*
 * Bookkeeping from the agent side: called when a worker accepted (RUNNING,
 * worker id, identity) and on every UpdateJobStatus. Ended states set
 * ended_at once. error may be NULL.
 */
void ds_job_update(struct ds *ds, struct ds_job *job, int status, const char *error);
struct ds_job *ds_job_find(struct ds *ds, const char *job_id);

/* ---- agents.c: the /agent endpoint ---- */

struct ds_agents *ds_agents_new(struct ds *ds);
void ds_agents_free(struct ds_agents *ag);
/* Handle GET /agent (token already verified with the agent grant): upgrade and serve. */
void ds_agents_accept(struct ds_agents *ag, struct http_req *req);
/*
 * Place a job: weighted choice among available workers registered with the
 * job's agent_name (namespace and deployment empty) and type; availability
 * request, then assignment with a room token the server signs. When no
 * worker is registered the job waits and is placed when one registers.
 */
void ds_agents_launch(struct ds_agents *ag, struct ds_job *job);
/* Send JobTermination for a running job (dispatch or room deleted). */
void ds_agents_terminate(struct ds_agents *ag, struct ds_job *job);
/* Number of registered workers (for logs and tests). */
int ds_agents_count(const struct ds_agents *ag);
/*
 * Number of registered workers whose agent_name equals agent_name (any job
 * type). A room's automatic dispatch (agent_name "") launches its job only
 * when this is > 0, as livekit-server launches only for registered agents;
 * explicit dispatches always launch (and wait for a worker).
 */
int ds_agents_count_named(const struct ds_agents *ag, const char *agent_name);

#endif
