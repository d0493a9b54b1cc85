/*
 * rooms: lk-devserver's room table: rooms, their participants and their
 * agent dispatches, plus the job records (ds_job_*) every dispatch owns.
 * Internal to lk-devserver; twirp.c and rtc.c build protocol messages from
 * these structs.
 */
#ifndef LK_DS_ROOMS_H
#define LK_DS_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include "devserver/ds.h"
#include "proto/lkpb.h"

#define DS_MAX_ROOMS 10000
#define DS_MAX_PARTICIPANTS 1000 /* per room, when max_participants is 0 */
#define DS_MAX_DISPATCHES 100 /* per room */
#define DS_MAX_ATTRS 64 /* participant attributes kept from a token */

/* livekit-server's room defaults (config.RoomConfig). */
#define DS_DEFAULT_EMPTY_TIMEOUT 300
#define DS_DEFAULT_DEPARTURE_TIMEOUT 20

struct ds_room;
struct ds_participant;

/*
 * Disconnects a participant's signalling when the server removes it (room
 * deleted, duplicate identity). Called with the participant still linked;
 * it must not call back into the room table. The participant is freed
 * right after it returns.
 */
typedef void (*ds_kick_fn)(struct ds_participant *p, int reason, void *arg);

/* livekit_models.proto ParticipantPermission (the fields the dev server sets). */
struct ds_perm {
	int can_subscribe;
	int can_publish;
	int can_publish_data;
	int hidden;
	int can_update_metadata;
	int agent;
};

struct ds_participant {
	char sid[32]; /* PA_... */
	char *identity;
	char *name;
	char *metadata;
	int kind; /* ParticipantInfo.Kind */
	int state; /* ParticipantInfo.State */
	int64_t joined_at_ms;
	uint32_t version; /* ParticipantInfo.version, bumped on every change */
	struct ds_perm perm;
	char **attr_keys;
	char **attr_vals;
	int nattrs;
	int protocol; /* the client's signalling protocol version */
	int auto_subscribe; /* subscribe to every track (query auto_subscribe, default on) */
	ds_kick_fn kick;
	void *kick_arg;
	struct ds_room *room;
	struct ds_participant *next;
};

struct ds_dispatch {
	char id[32]; /* AD_... */
	char *agent_name;
	char *metadata;
	int64_t created_at_ns; /* AgentDispatchState.created_at is UnixNano */
	struct ds_job **jobs;
	int njobs;
	int capjobs;
	struct ds_dispatch *next;
};

struct ds_room {
	char sid[32]; /* RM_... */
	char *name;
	char *metadata;
	uint32_t empty_timeout;
	uint32_t departure_timeout;
	uint32_t max_participants;
	int64_t creation_time_ms;
	struct ds_participant *participants; /* in join order */
	int nparticipants;
	struct ds_dispatch *dispatches; /* in creation order */
	int ndispatches;
	struct ds_room *next;
};

/* An agent named by CreateRoomRequest.agents (RoomAgentDispatch). */
struct ds_agent_spec {
	const char *agent_name;
	const char *metadata;
};

struct ds_room_opts {
	uint32_t empty_timeout; /* 0 = default */
	uint32_t departure_timeout; /* 0 = default */
	uint32_t max_participants;
	const char *metadata;
	const struct ds_agent_spec *agents;
	int nagents;
};

void ds_rooms_init(struct ds *ds);
/* Free every room and every job record (shutdown); kicks nobody. */
void ds_rooms_free(struct ds *ds);

struct ds_room *ds_room_first(struct ds *ds);
int ds_room_count(struct ds *ds);
struct ds_room *ds_room_find(struct ds *ds, const char *name);

/*
 * Find or create a room (CreateRoom is idempotent by name). A new room gets
 * one dispatch per opts->agents entry, or else the automatic dispatch
 * (agent_name ""), and each dispatch launches its JT_ROOM job. opts may be
 * NULL. *created tells which happened. NULL when the name is empty or the
 * table is full.
 */
struct ds_room *ds_room_get(
        struct ds *ds, const char *name, const struct ds_room_opts *opts, int *created);

/*
 * Delete a room: its dispatches' jobs are terminated, each participant is
 * kicked with reason (livekit DisconnectReason) and the room is freed.
 */
void ds_room_delete(struct ds *ds, struct ds_room *room, int reason);

/* Create a dispatch in room and launch its JT_ROOM job. NULL when full. */
struct ds_dispatch *ds_dispatch_create(
        struct ds *ds, struct ds_room *room, const char *agent_name, const char *metadata);
struct ds_dispatch *ds_dispatch_find(struct ds_room *room, const char *dispatch_id);
/* Terminate the dispatch's unfinished jobs, unlink and free it. */
void ds_dispatch_delete(struct ds *ds, struct ds_room *room, struct ds_dispatch *d);

/*
 * Add a participant (state JOINED, new PA_ sid, joined now) with copies of
 * identity/name/metadata. NULL when the room is full (max_participants).
 */
struct ds_participant *ds_participant_add(struct ds_room *room, const char *identity,
        const char *name, const char *metadata, int kind);
/* Copy one attribute (bounded by DS_MAX_ATTRS; extra ones are dropped). */
void ds_participant_set_attr(struct ds_participant *p, const char *key, const char *val);
struct ds_participant *ds_participant_find(struct ds_room *room, const char *identity);
/* Unlink and free (no kick, no broadcast: the caller does those). */
void ds_participant_remove(struct ds_room *room, struct ds_participant *p);

/* Agents and egress do not count in Room.num_participants (livekit IsDependent). */
int ds_participant_dependent(const struct ds_participant *p);

/*
 * Scratch allocations for messages built from the room table: the built
 * structs borrow strings from the table and put their arrays and
 * submessages here, so one ds_arena_free releases a whole response.
 */
struct ds_arena {
	void **ptrs;
	int n;
	int cap;
};
void *ds_arena_alloc(struct ds_arena *a, size_t size); /* zeroed; aborts on OOM */
char *ds_arena_printf(struct ds_arena *a, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void ds_arena_free(struct ds_arena *a);

/* Protocol views of the table (livekit_models.proto / livekit_agent.proto). */
void ds_room_pb(const struct ds_room *r, livekit_Room *out);
void ds_participant_pb(
        struct ds_arena *a, const struct ds_participant *p, livekit_ParticipantInfo *out);
void ds_job_pb(struct ds_arena *a, const struct ds_job *job, livekit_Job *out);
void ds_dispatch_pb(struct ds_arena *a, const struct ds_room *r, const struct ds_dispatch *d,
        livekit_AgentDispatch *out);

/* Text names used in logs and /debug/jobs. */
const char *ds_job_status_name(int status);
const char *ds_job_type_name(int type);

#endif
