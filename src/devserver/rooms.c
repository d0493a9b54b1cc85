/*
 * rooms: the dev server's room table (rooms, participants, dispatches) and
 * its job records. Dispatch semantics follow livekit-server: a new room gets
 * the dispatches its CreateRoomRequest names, or else one automatic dispatch
 * with agent_name "", and each dispatch owns one JT_ROOM job. Runs in
 * lk-devserver on the main loop only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "devserver/ds.h"
#include "devserver/rooms.h"

struct ds_rooms {
	struct ds_room *head;
	struct ds_room *tail;
	int count;
};

static struct ds_rooms *
ds_rooms_of(struct ds *ds)
{
	return ds->rooms;
}

void
ds_rooms_init(struct ds *ds)
{
	ds->rooms = lk_xcalloc(1, sizeof(struct ds_rooms));
	ds->jobs = NULL;
	ds->njobs = 0;
}

static void
ds_participant_free(struct ds_participant *p)
{
	int i;

	for (i = 0; i < p->nattrs; i++) {
		free(p->attr_keys[i]);
		free(p->attr_vals[i]);
	}
	free(p->attr_keys);
	free(p->attr_vals);
	free(p->identity);
	free(p->name);
	free(p->metadata);
	free(p);
}

static void
ds_dispatch_free(struct ds_dispatch *d)
{
	/* The jobs themselves belong to ds->jobs and outlive the dispatch. */
	free(d->jobs);
	free(d->agent_name);
	free(d->metadata);
	free(d);
}

static void
ds_room_free(struct ds_room *r)
{
	struct ds_participant *p, *pn;
	struct ds_dispatch *d, *dn;

	for (p = r->participants; p != NULL; p = pn) {
		pn = p->next;
		ds_participant_free(p);
	}
	for (d = r->dispatches; d != NULL; d = dn) {
		dn = d->next;
		ds_dispatch_free(d);
	}
	free(r->name);
	free(r->metadata);
	free(r);
}

void
ds_rooms_free(struct ds *ds)
{
	struct ds_rooms *rs = ds_rooms_of(ds);
	struct ds_room *r, *rn;
	struct ds_job *j, *jn;

	if (rs != NULL) {
		for (r = rs->head; r != NULL; r = rn) {
			rn = r->next;
			ds_room_free(r);
		}
		free(rs);
		ds->rooms = NULL;
	}
	for (j = ds->jobs; j != NULL; j = jn) {
		jn = j->next;
		free(j->metadata);
		free(j);
	}
	ds->jobs = NULL;
	ds->njobs = 0;
}

struct ds_room *
ds_room_first(struct ds *ds)
{
	return ds_rooms_of(ds)->head;
}

int
ds_room_count(struct ds *ds)
{
	return ds_rooms_of(ds)->count;
}

struct ds_room *
ds_room_find(struct ds *ds, const char *name)
{
	struct ds_room *r;

	if (name == NULL)
		return NULL;
	for (r = ds_rooms_of(ds)->head; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

int
ds_room_lookup(struct ds *ds, const char *room_name, char *sid_out, size_t sidlen,
        const char **metadata_out)
{
	struct ds_room *r = ds_room_find(ds, room_name);

	if (r == NULL)
		return LK_ENOTFOUND;
	if (sid_out != NULL && sidlen > 0)
		lk_strlcpy(sid_out, r->sid, sidlen);
	if (metadata_out != NULL)
		*metadata_out = r->metadata != NULL ? r->metadata : "";
	return 0;
}

const char *
ds_job_status_name(int status)
{
	/* livekit_agent.proto JobStatus */
	switch (status) {
	case DS_JS_PENDING:
		return "JS_PENDING";
	case DS_JS_RUNNING:
		return "JS_RUNNING";
	case DS_JS_SUCCESS:
		return "JS_SUCCESS";
	case DS_JS_FAILED:
		return "JS_FAILED";
	}
	return "JS_PENDING";
}

const char *
ds_job_type_name(int type)
{
	/* livekit_agent.proto JobType */
	switch (type) {
	case 1:
		return "JT_PUBLISHER";
	case 2:
		return "JT_PARTICIPANT";
	}
	return "JT_ROOM";
}

static int
ds_job_ended(int status)
{
	return status == DS_JS_SUCCESS || status == DS_JS_FAILED;
}

struct ds_job *
ds_job_create(struct ds *ds, const char *dispatch_id, int type, const char *agent_name,
        const char *room_name, const char *metadata)
{
	struct ds_job *job;

	if (ds->njobs >= DS_MAX_JOBS) {
		log_warn("job not created: job table full", "room", room_name, "dispatch_id",
		        dispatch_id, "limit", log_fmt("%d", DS_MAX_JOBS));
		return NULL;
	}
	job = lk_xcalloc(1, sizeof(*job));
	lk_make_id("AJ_", job->id, sizeof(job->id));
	lk_strlcpy(
	        job->dispatch_id, dispatch_id != NULL ? dispatch_id : "", sizeof(job->dispatch_id));
	job->type = type;
	lk_strlcpy(job->agent_name, agent_name != NULL ? agent_name : "", sizeof(job->agent_name));
	lk_strlcpy(job->room_name, room_name != NULL ? room_name : "", sizeof(job->room_name));
	(void)ds_room_lookup(ds, job->room_name, job->room_sid, sizeof(job->room_sid), NULL);
	job->metadata = metadata != NULL && metadata[0] != '\0' ? lk_xstrdup(metadata) : NULL;
	job->status = DS_JS_PENDING;
	job->updated_at_ns = lk_wall_ns();
	job->next = ds->jobs;
	ds->jobs = job;
	ds->njobs++;
	log_info("job created", "job_id", job->id, "dispatch_id", job->dispatch_id, "room",
	        job->room_name, "agent_name", job->agent_name, "type", ds_job_type_name(type));
	if (ds->agents != NULL)
		ds_agents_launch(ds->agents, job);
	return job;
}

void
ds_job_update(struct ds *ds, struct ds_job *job, int status, const char *error)
{
	int64_t now = lk_wall_ns();

	if (job == NULL)
		return;
	/*
	 * An ended job stays ended: a late report (a worker answering for a
	 * job whose dispatch was deleted while it was pending) must not bring
	 * it back to life in ListDispatch or /debug/jobs.
	 */
	if (ds_job_ended(job->status)) {
		if (status != job->status)
			log_debug("job update ignored: job already ended", "job_id", job->id,
			        "status", ds_job_status_name(job->status), "update",
			        ds_job_status_name(status));
		return;
	}
	if (status == DS_JS_RUNNING && job->started_at_ns == 0)
		job->started_at_ns = now;
	if (ds_job_ended(status) && job->ended_at_ns == 0)
		job->ended_at_ns = now;
	if (error != NULL)
		lk_strlcpy(job->error, error, sizeof(job->error));
	if (status != job->status)
		log_info("job status", "job_id", job->id, "room", job->room_name, "status",
		        ds_job_status_name(status), "error",
		        job->error[0] != '\0' ? job->error : NULL, "worker_id",
		        job->worker_id[0] != '\0' ? job->worker_id : NULL);
	job->status = status;
	job->updated_at_ns = now;
	(void)ds;
}

struct ds_job *
ds_job_find(struct ds *ds, const char *job_id)
{
	struct ds_job *j;

	if (job_id == NULL)
		return NULL;
	for (j = ds->jobs; j != NULL; j = j->next)
		if (strcmp(j->id, job_id) == 0)
			return j;
	return NULL;
}

/* End the dispatch's unfinished jobs: the dispatch or its room is going away. */
static void
ds_dispatch_stop_jobs(struct ds *ds, struct ds_dispatch *d, const char *why)
{
	struct ds_job *job;
	int i;

	for (i = 0; i < d->njobs; i++) {
		job = d->jobs[i];
		if (ds_job_ended(job->status))
			continue;
		/* livekit_agent.proto JobTermination: the worker ends the job and reports it. */
		if (ds->agents != NULL)
			ds_agents_terminate(ds->agents, job);
		/* No worker ever took it, so nobody will report an outcome. */
		if (job->status == DS_JS_PENDING)
			ds_job_update(ds, job, DS_JS_FAILED, why);
	}
}

static void
ds_dispatch_add_job(struct ds_dispatch *d, struct ds_job *job)
{
	if (d->njobs == d->capjobs) {
		d->capjobs = d->capjobs > 0 ? d->capjobs * 2 : 2;
		d->jobs = lk_xrealloc(d->jobs, (size_t)d->capjobs * sizeof(*d->jobs));
	}
	d->jobs[d->njobs++] = job;
}

static struct ds_dispatch *
ds_dispatch_new(struct ds *ds, struct ds_room *room, const char *agent_name, const char *metadata,
        int launch)
{
	struct ds_dispatch *d, **tail;
	struct ds_job *job;

	if (room->ndispatches >= DS_MAX_DISPATCHES) {
		log_warn("dispatch not created: too many dispatches in room", "room", room->name,
		        "limit", log_fmt("%d", DS_MAX_DISPATCHES));
		return NULL;
	}
	d = lk_xcalloc(1, sizeof(*d));
	lk_make_id("AD_", d->id, sizeof(d->id));
	d->agent_name = lk_xstrdup(agent_name != NULL ? agent_name : "");
	d->metadata = lk_xstrdup(metadata != NULL ? metadata : "");
	d->created_at_ns = lk_wall_ns();
	for (tail = &room->dispatches; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = d;
	room->ndispatches++;
	log_info("dispatch created", "dispatch_id", d->id, "room", room->name, "agent_name",
	        d->agent_name);
	if (launch) {
		/* One JT_ROOM job per dispatch at creation (livekit Room.launchRoomAgents). */
		job = ds_job_create(ds, d->id, 0, d->agent_name, room->name, d->metadata);
		if (job != NULL)
			ds_dispatch_add_job(d, job);
	}
	return d;
}

struct ds_dispatch *
ds_dispatch_create(
        struct ds *ds, struct ds_room *room, const char *agent_name, const char *metadata)
{
	return ds_dispatch_new(ds, room, agent_name, metadata, 1);
}

struct ds_dispatch *
ds_dispatch_find(struct ds_room *room, const char *dispatch_id)
{
	struct ds_dispatch *d;

	if (dispatch_id == NULL)
		return NULL;
	for (d = room->dispatches; d != NULL; d = d->next)
		if (strcmp(d->id, dispatch_id) == 0)
			return d;
	return NULL;
}

void
ds_dispatch_delete(struct ds *ds, struct ds_room *room, struct ds_dispatch *d)
{
	struct ds_dispatch **pp;

	for (pp = &room->dispatches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			room->ndispatches--;
			break;
		}
	}
	log_info("dispatch deleted", "dispatch_id", d->id, "room", room->name, "agent_name",
	        d->agent_name);
	ds_dispatch_stop_jobs(ds, d, "dispatch deleted");
	ds_dispatch_free(d);
}

struct ds_room *
ds_room_get(struct ds *ds, const char *name, const struct ds_room_opts *opts, int *created)
{
	struct ds_rooms *rs = ds_rooms_of(ds);
	struct ds_room *r;
	int i, launch_auto;

	if (created != NULL)
		*created = 0;
	if (name == NULL || name[0] == '\0')
		return NULL;
	r = ds_room_find(ds, name);
	if (r != NULL)
		return r;
	if (rs->count >= DS_MAX_ROOMS) {
		log_warn("room not created: room table full", "room", name, "limit",
		        log_fmt("%d", DS_MAX_ROOMS));
		return NULL;
	}
	r = lk_xcalloc(1, sizeof(*r));
	lk_make_id("RM_", r->sid, sizeof(r->sid));
	r->name = lk_xstrdup(name);
	r->metadata = lk_xstrdup(opts != NULL && opts->metadata != NULL ? opts->metadata : "");
	r->empty_timeout = opts != NULL && opts->empty_timeout > 0 ? opts->empty_timeout
	                                                           : DS_DEFAULT_EMPTY_TIMEOUT;
	r->departure_timeout = opts != NULL && opts->departure_timeout > 0
	        ? opts->departure_timeout
	        : DS_DEFAULT_DEPARTURE_TIMEOUT;
	r->max_participants = opts != NULL ? opts->max_participants : 0;
	r->creation_time_ms = lk_wall_ms();
	if (rs->tail != NULL)
		rs->tail->next = r;
	else
		rs->head = r;
	rs->tail = r;
	rs->count++;
	if (created != NULL)
		*created = 1;
	log_info("room created", "room", r->name, "room_sid", r->sid);

	if (opts != NULL && opts->nagents > 0) {
		for (i = 0; i < opts->nagents; i++)
			(void)ds_dispatch_new(
			        ds, r, opts->agents[i].agent_name, opts->agents[i].metadata, 1);
	} else {
		/*
		 * Automatic dispatch (livekit-server: an empty dispatch list means
		 * one dispatch with agent_name ""). Like livekit-server, its job is
		 * launched only when a worker with that empty name is registered.
		 */
		launch_auto = ds->agents != NULL && ds_agents_count_named(ds->agents, "") > 0;
		(void)ds_dispatch_new(ds, r, "", "", launch_auto);
	}
	return r;
}

static void
ds_room_unlink(struct ds *ds, struct ds_room *room)
{
	struct ds_rooms *rs = ds_rooms_of(ds);
	struct ds_room **pp, *prev = NULL;

	for (pp = &rs->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == room) {
			*pp = room->next;
			if (rs->tail == room)
				rs->tail = prev;
			rs->count--;
			room->next = NULL;
			return;
		}
	}
}

void
ds_room_delete(struct ds *ds, struct ds_room *room, int reason)
{
	struct ds_dispatch *d;
	struct ds_participant *p;

	log_info("room deleted", "room", room->name, "room_sid", room->sid, "participants",
	        log_fmt("%d", room->nparticipants));
	ds_room_unlink(ds, room);
	for (d = room->dispatches; d != NULL; d = d->next)
		ds_dispatch_stop_jobs(ds, d, "room deleted");
	for (p = room->participants; p != NULL; p = p->next)
		if (p->kick != NULL)
			p->kick(p, reason, p->kick_arg);
	ds_room_free(room);
}

struct ds_participant *
ds_participant_add(struct ds_room *room, const char *identity, const char *name,
        const char *metadata, int kind)
{
	struct ds_participant *p, **tail;
	uint32_t limit = room->max_participants > 0 ? room->max_participants : DS_MAX_PARTICIPANTS;

	if ((uint32_t)room->nparticipants >= limit || room->nparticipants >= DS_MAX_PARTICIPANTS)
		return NULL;
	p = lk_xcalloc(1, sizeof(*p));
	lk_make_id("PA_", p->sid, sizeof(p->sid));
	p->identity = lk_xstrdup(identity != NULL ? identity : "");
	p->name = lk_xstrdup(name != NULL ? name : "");
	p->metadata = lk_xstrdup(metadata != NULL ? metadata : "");
	p->kind = kind;
	p->state = 1; /* ParticipantInfo.State JOINED: signalling joined, no media yet */
	p->joined_at_ms = lk_wall_ms();
	p->version = 1;
	p->room = room;
	for (tail = &room->participants; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = p;
	room->nparticipants++;
	return p;
}

void
ds_participant_set_attr(struct ds_participant *p, const char *key, const char *val)
{
	if (p->nattrs >= DS_MAX_ATTRS || key == NULL || val == NULL)
		return;
	p->attr_keys = lk_xrealloc(p->attr_keys, (size_t)(p->nattrs + 1) * sizeof(char *));
	p->attr_vals = lk_xrealloc(p->attr_vals, (size_t)(p->nattrs + 1) * sizeof(char *));
	p->attr_keys[p->nattrs] = lk_xstrdup(key);
	p->attr_vals[p->nattrs] = lk_xstrdup(val);
	p->nattrs++;
}

struct ds_participant *
ds_participant_find(struct ds_room *room, const char *identity)
{
	struct ds_participant *p;

	for (p = room->participants; p != NULL; p = p->next)
		if (strcmp(p->identity, identity) == 0)
			return p;
	return NULL;
}

void
ds_participant_remove(struct ds_room *room, struct ds_participant *p)
{
	struct ds_participant **pp;

	for (pp = &room->participants; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			room->nparticipants--;
			break;
		}
	}
	ds_participant_free(p);
}

int
ds_participant_dependent(const struct ds_participant *p)
{
	/* ParticipantInfo.Kind EGRESS 2, AGENT 4. */
	return p->kind == 2 || p->kind == 4 || p->perm.agent;
}

void *
ds_arena_alloc(struct ds_arena *a, size_t size)
{
	void *p = lk_xcalloc(1, size > 0 ? size : 1);

	if (a->n == a->cap) {
		a->cap = a->cap > 0 ? a->cap * 2 : 16;
		a->ptrs = lk_xrealloc(a->ptrs, (size_t)a->cap * sizeof(*a->ptrs));
	}
	a->ptrs[a->n++] = p;
	return p;
}

char *
ds_arena_printf(struct ds_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	s = ds_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void
ds_arena_free(struct ds_arena *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	memset(a, 0, sizeof(*a));
}

void
ds_room_pb(const struct ds_room *r, livekit_Room *out)
{
	const struct ds_participant *p;

	memset(out, 0, sizeof(*out));
	out->sid = (char *)r->sid;
	out->name = r->name;
	out->empty_timeout = r->empty_timeout;
	out->departure_timeout = r->departure_timeout;
	out->max_participants = r->max_participants;
	out->creation_time = r->creation_time_ms / 1000;
	out->creation_time_ms = r->creation_time_ms;
	out->metadata = r->metadata;
	for (p = r->participants; p != NULL; p = p->next)
		if (!ds_participant_dependent(p))
			out->num_participants++;
}

void
ds_participant_pb(struct ds_arena *a, const struct ds_participant *p, livekit_ParticipantInfo *out)
{
	livekit_ParticipantPermission *perm;
	int i;

	memset(out, 0, sizeof(*out));
	out->sid = (char *)p->sid;
	out->identity = p->identity;
	out->state = (livekit_ParticipantInfo_State)p->state;
	out->metadata = p->metadata;
	out->joined_at = p->joined_at_ms / 1000;
	out->joined_at_ms = p->joined_at_ms;
	out->name = p->name;
	out->version = p->version;
	out->kind = (livekit_ParticipantInfo_Kind)p->kind;
	perm = ds_arena_alloc(a, sizeof(*perm));
	perm->can_subscribe = p->perm.can_subscribe;
	perm->can_publish = p->perm.can_publish;
	perm->can_publish_data = p->perm.can_publish_data;
	perm->hidden = p->perm.hidden;
	perm->can_update_metadata = p->perm.can_update_metadata;
	perm->agent = p->perm.agent;
	out->permission = perm;
	if (p->nattrs > 0) {
		out->attributes = ds_arena_alloc(a, (size_t)p->nattrs * sizeof(*out->attributes));
		for (i = 0; i < p->nattrs; i++) {
			out->attributes[i].key = p->attr_keys[i];
			out->attributes[i].value = p->attr_vals[i];
		}
		out->attributes_count = (pb_size_t)p->nattrs;
	}
}

void
ds_job_pb(struct ds_arena *a, const struct ds_job *job, livekit_Job *out)
{
	livekit_Room *room;
	livekit_JobState *st;

	memset(out, 0, sizeof(*out));
	out->id = (char *)job->id;
	out->dispatch_id = (char *)job->dispatch_id;
	out->type = (livekit_JobType)job->type;
	room = ds_arena_alloc(a, sizeof(*room));
	room->sid = (char *)job->room_sid;
	room->name = (char *)job->room_name;
	out->room = room;
	out->metadata = job->metadata != NULL ? job->metadata : (char *)"";
	out->agent_name = (char *)job->agent_name;
	st = ds_arena_alloc(a, sizeof(*st));
	st->status = (livekit_JobStatus)job->status;
	st->error = (char *)job->error;
	st->started_at = job->started_at_ns;
	st->ended_at = job->ended_at_ns;
	st->updated_at = job->updated_at_ns;
	st->participant_identity = (char *)job->participant_identity;
	st->worker_id = (char *)job->worker_id;
	out->state = st;
}

void
ds_dispatch_pb(struct ds_arena *a, const struct ds_room *r, const struct ds_dispatch *d,
        livekit_AgentDispatch *out)
{
	livekit_AgentDispatchState *st;
	int i;

	memset(out, 0, sizeof(*out));
	out->id = (char *)d->id;
	out->agent_name = d->agent_name;
	out->room = r->name;
	out->metadata = d->metadata;
	st = ds_arena_alloc(a, sizeof(*st));
	st->created_at = d->created_at_ns;
	if (d->njobs > 0) {
		st->jobs = ds_arena_alloc(a, (size_t)d->njobs * sizeof(*st->jobs));
		for (i = 0; i < d->njobs; i++)
			ds_job_pb(a, d->jobs[i], &st->jobs[i]);
		st->jobs_count = (pb_size_t)d->njobs;
	}
	out->state = st;
}
