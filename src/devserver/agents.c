/*
 * agents: lk-devserver's /agent endpoint, the server side of the LiveKit
 * agent worker protocol (livekit_agent.proto): worker registration, status,
 * job placement (availability -> assignment with a server-signed room
 * token), job status updates and termination. Runs in lk-devserver.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/util.h"
#include "devserver/agents_opts.h"
#include "devserver/ds.h"
#include "net/http.h"
#include "net/ws.h"
#include "proto/lkpb.h"

/* livekit-server agent_signal_message_size_limit default. */
#define AG_MAX_MSG (2u * 1024u * 1024u)
#define AG_MAX_CONNS 1024
/* Jobs waiting for a worker or for an availability answer. */
#define AG_MAX_PLACES 4096
/* livekit-server pkg/agent: RegisterTimeout, AssignJobTimeout. */
#define AG_REGISTER_TIMEOUT_S 10.0
#define AG_ASSIGN_TIMEOUT_S 10.0
/* livekit-server pings worker sockets every 10 s. */
#define AG_PING_INTERVAL_S 10.0
/* protocol/agent BuildAgentToken: the room token is valid for one hour. */
#define AG_TOKEN_TTL_S 3600
/* ServerInfo.protocol (RTC signal protocol, as /rtc) and .agent_protocol. */
#define AG_RTC_PROTOCOL 17
#define AG_AGENT_PROTOCOL 1
/* protocol/agent ValidateDeployment: at most 64 bytes. */
#define AG_DEPLOYMENT_MAX 64
/* Attribute entries copied from an AvailabilityResponse into the token. */
#define AG_MAX_ATTRS 256
/* livekit-server pkg/agent AgentNameAttributeKey. */
#define AG_AGENT_NAME_ATTR "lk.agent_name"

/* RFC 6455 §7.4.1 close codes used here. */
#define AG_WS_POLICY 1008
#define AG_WS_BAD_DATA 1007
#define AG_WS_UNSUPPORTED 1003
#define AG_WS_TRY_LATER 1013

/* One /agent WebSocket; a worker once its RegisterWorkerRequest is accepted. */
struct ag_conn {
	struct ds_agents *ag;
	struct ws *ws;
	uint64_t serial; /* never reused, unlike pointers */
	char conn_id[24]; /* names the connection in logs before registration */
	char id[32]; /* AW_..., set at registration */
	int registered;
	int closing;
	/* RegisterWorkerRequest */
	int type;
	char agent_name[sizeof(((struct ds_job *)0)->agent_name)];
	char ns[128];
	char version[64];
	char deployment[AG_DEPLOYMENT_MAX + 1];
	struct {
		int can_subscribe, can_publish, can_publish_data, hidden;
		int can_update_metadata, can_subscribe_metrics;
	} perm;
	/* UpdateWorkerStatus */
	int status;
	float load;
	uint32_t job_count;
	ev_timer reg_timer;
	struct ag_conn *next;
};

/* A job being placed: waiting for a worker, or for one worker's answer. */
struct ag_place {
	struct ds_agents *ag;
	struct ds_job *job;
	struct ag_conn *asked; /* holds our AvailabilityRequest, or NULL */
	uint64_t *tried; /* serials of workers asked in this round */
	int ntried, captried;
	uint64_t pinned; /* SimulateJobRequest: only this worker (serial) */
	ev_timer timer; /* AssignJobTimeout */
	struct ag_place *next;
};

struct ds_agents {
	struct ds *ds;
	struct ev_loop *loop;
	struct ag_conn *conns;
	int nconns;
	int nregistered;
	struct ag_place *places;
	int nplaces;
	uint64_t next_serial;
	uint64_t pin_serial; /* set while a simulated job is being created */
	double register_timeout_s;
	double assign_timeout_s;
	ev_timer ping_timer;
	char node_id[32];
};

static void ag_place_try(struct ag_place *p);

/* ---- small helpers ---- */

static const char *
ag_worker_id(const struct ag_conn *c)
{
	return c->registered ? c->id : NULL;
}

/* Encoding writes a non-NULL empty string; proto3 leaves defaults out. */
static char *
ag_opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? (char *)s : NULL;
}

static const char *
ag_str(const char *s)
{
	return s != NULL ? s : "";
}

static const char *
ag_type_name(int type)
{
	/* livekit_agent.proto JobType */
	switch (type) {
	case livekit_JobType_JT_ROOM:
		return "JT_ROOM";
	case livekit_JobType_JT_PUBLISHER:
		return "JT_PUBLISHER";
	case livekit_JobType_JT_PARTICIPANT:
		return "JT_PARTICIPANT";
	}
	return "unknown";
}

static struct ag_conn *
ag_conn_of(struct ds_agents *ag, const struct ws *ws)
{
	struct ag_conn *c;

	for (c = ag->conns; c != NULL; c = c->next)
		if (c->ws == ws)
			return c;
	return NULL;
}

static struct ag_conn *
ag_conn_by_worker_id(struct ds_agents *ag, const char *worker_id)
{
	struct ag_conn *c;

	if (worker_id == NULL || worker_id[0] == '\0')
		return NULL;
	for (c = ag->conns; c != NULL; c = c->next)
		if (c->registered && !c->closing && strcmp(c->id, worker_id) == 0)
			return c;
	return NULL;
}

static struct ag_conn *
ag_conn_by_serial(struct ds_agents *ag, uint64_t serial)
{
	struct ag_conn *c;

	for (c = ag->conns; c != NULL; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static void
ag_close(struct ag_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	ev_timer_stop(c->ag->loop, &c->reg_timer);
	ws_close(c->ws, code, reason);
}

/* Drop the connection over a message we cannot accept. */
static void
ag_malformed(struct ag_conn *c, const char *err, size_t len)
{
	log_warn("agent message malformed", "worker_id", ag_worker_id(c), "conn_id", c->conn_id,
	        "err", err, "len", log_fmt("%zu", len));
	ag_close(c, AG_WS_BAD_DATA, "malformed message");
}

static int
ag_send(struct ag_conn *c, const livekit_ServerMessage *m)
{
	struct buf b;
	int r;

	if (c->closing)
		return LK_ECLOSED;
	buf_init(&b, AG_MAX_MSG);
	r = lkpb_encode(livekit_ServerMessage_fields, m, &b);
	if (r == 0)
		r = ws_send(c->ws, 1, b.data, b.len);
	buf_free(&b);
	if (r < 0)
		log_warn("agent message not sent", "worker_id", ag_worker_id(c), "conn_id",
		        c->conn_id, "message", log_fmt("%u", (unsigned)m->which_message), "err",
		        lk_strerror(r));
	return r;
}

/* ---- job placement ---- */

static int
ag_can_take(const struct ag_conn *c, const struct ds_job *job)
{
	/*
	 * Workers are keyed by (agent_name, namespace, job type, deployment);
	 * jobs here have no namespace or deployment.
	 */
	return c->registered && !c->closing && ws_is_open(c->ws) && c->type == job->type &&
	        strcmp(c->agent_name, job->agent_name) == 0 && c->ns[0] == '\0' &&
	        c->deployment[0] == '\0';
}

/* livekit-server: weight max(0, 1 - load); a worker at load >= 1 gets none. */
static double
ag_weight(const struct ag_conn *c)
{
	if (c->status != livekit_WorkerStatus_WS_AVAILABLE)
		return 0.0;
	return c->load >= 1.0f ? 0.0 : 1.0 - (double)c->load;
}

static int
ag_place_tried(const struct ag_place *p, uint64_t serial)
{
	int i;

	for (i = 0; i < p->ntried; i++)
		if (p->tried[i] == serial)
			return 1;
	return 0;
}

static void
ag_place_add_tried(struct ag_place *p, uint64_t serial)
{
	if (p->ntried == p->captried) {
		p->captried = p->captried > 0 ? p->captried * 2 : 4;
		p->tried = lk_xrealloc(p->tried, (size_t)p->captried * sizeof(*p->tried));
	}
	p->tried[p->ntried++] = serial;
}

/* Weighted random choice among the workers not asked yet in this round. */
static struct ag_conn *
ag_place_pick(struct ag_place *p)
{
	struct ds_agents *ag = p->ag;
	struct ag_conn *c, *last = NULL;
	double total = 0.0, r;

	if (p->pinned != 0) {
		c = ag_conn_by_serial(ag, p->pinned);
		if (c == NULL || c->closing || !c->registered || ag_place_tried(p, c->serial))
			return NULL;
		return c;
	}
	for (c = ag->conns; c != NULL; c = c->next)
		if (ag_can_take(c, p->job) && !ag_place_tried(p, c->serial))
			total += ag_weight(c);
	if (total <= 0.0)
		return NULL;
	r = (double)lk_random_u32() / 4294967296.0 * total;
	for (c = ag->conns; c != NULL; c = c->next) {
		double w;

		if (!ag_can_take(c, p->job) || ag_place_tried(p, c->serial))
			continue;
		w = ag_weight(c);
		if (w <= 0.0)
			continue;
		if (r < w)
			return c;
		r -= w;
		last = c;
	}
	return last; /* rounding left r just above the sum */
}

static void
ag_place_free(struct ag_place *p)
{
	struct ds_agents *ag = p->ag;
	struct ag_place **pp;

	for (pp = &ag->places; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			ag->nplaces--;
			break;
		}
	}
	ev_timer_stop(ag->loop, &p->timer);
	free(p->tried);
	free(p);
}

static struct ag_place *
ag_place_of(struct ds_agents *ag, const struct ds_job *job)
{
	struct ag_place *p;

	for (p = ag->places; p != NULL; p = p->next)
		if (p->job == job)
			return p;
	return NULL;
}

/* livekit.Job with the submessages it points to; every string is borrowed. */
struct ag_jobpb {
	livekit_Job job;
	livekit_Room room;
	livekit_JobState state;
	char sid[sizeof(((struct ds_job *)0)->room_sid)];
};

/*
 * livekit.Job as livekit-server sends it in AvailabilityRequest and
 * JobAssignment: the state already names the worker (pkg/agent AssignJob).
 */
static void
ag_job_pb(struct ds_agents *ag, const struct ds_job *job, const struct ag_conn *c,
        const char *identity, struct ag_jobpb *x)
{
	const char *meta = NULL;
	int64_t now = lk_wall_ns();

	memset(x, 0, sizeof(*x));
	/* Room metadata only from the room the job was created in (same sid). */
	if (ds_room_lookup(ag->ds, job->room_name, x->sid, sizeof(x->sid), &meta) < 0 ||
	        (job->room_sid[0] != '\0' && strcmp(x->sid, job->room_sid) != 0))
		meta = NULL;
	if (job->room_sid[0] != '\0')
		lk_strlcpy(x->sid, job->room_sid, sizeof(x->sid));
	x->room.sid = ag_opt(x->sid); /* Room.sid (1) */
	x->room.name = ag_opt(job->room_name); /* Room.name (2) */
	x->room.metadata = ag_opt(meta); /* Room.metadata (8) */

	x->job.id = ag_opt(job->id);
	x->job.dispatch_id = ag_opt(job->dispatch_id);
	x->job.type = (livekit_JobType)job->type;
	x->job.room = &x->room;
	x->job.metadata = ag_opt(job->metadata);
	x->job.agent_name = ag_opt(job->agent_name);
	x->job.state = &x->state;
	x->state.status = livekit_JobStatus_JS_RUNNING;
	x->state.worker_id = ag_opt(c->id);
	x->state.participant_identity = ag_opt(identity);
	/* JobState times are UnixNano in livekit-server. */
	x->state.started_at = now;
	x->state.updated_at = now;
}

static int
ag_send_availability(struct ag_conn *c, struct ds_job *job)
{
	livekit_ServerMessage m;
	livekit_AvailabilityRequest req;
	struct ag_jobpb x;

	ag_job_pb(c->ag, job, c, NULL, &x);
	memset(&req, 0, sizeof(req));
	req.job = &x.job;
	req.resuming = false; /* only Cloud migrates jobs between workers */
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_ServerMessage_availability_tag;
	m.message.availability = &req;
	if (job->offered_at_ns == 0)
		job->offered_at_ns = lk_wall_ns();
	return ag_send(c, &m);
}

static void
ag_place_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ag_place *p = w->data;
	struct ag_conn *c = p->asked;

	log_warn("availability request timed out", "job_id", p->job->id, "worker_id",
	        c != NULL ? ag_worker_id(c) : NULL, "room", p->job->room_name);
	p->asked = NULL;
	ag_place_try(p);
}

/*
 * Offer the job to the next worker (livekit-server AgentHandler.JobRequest):
 * one availability request at a time, the next worker after a refusal,
 * a timeout or a disconnect. With nobody left the job waits for a worker.
 */
static void
ag_place_try(struct ag_place *p)
{
	struct ds_agents *ag = p->ag;
	struct ds_job *job = p->job;
	struct ag_conn *c;

	ev_timer_stop(ag->loop, &p->timer);
	p->asked = NULL;
	if (job->status != DS_JS_PENDING) {
		ag_place_free(p);
		return;
	}
	while ((c = ag_place_pick(p)) != NULL) {
		ag_place_add_tried(p, c->serial);
		if (ag_send_availability(c, job) < 0)
			continue;
		log_debug("availability request sent", "job_id", job->id, "worker_id", c->id,
		        "room", job->room_name);
		p->asked = c;
		ev_timer_set(&p->timer, ag->assign_timeout_s, 0.);
		ev_timer_start(ag->loop, &p->timer);
		return;
	}
	if (p->pinned != 0) {
		log_warn("simulated job not placed", "job_id", job->id, "room", job->room_name);
		ag_place_free(p);
		return;
	}
	log_info("no worker available for job", "job_id", job->id, "room", job->room_name,
	        "agent_name", job->agent_name, "type", ag_type_name(job->type));
}

/* Offer waiting jobs again: a worker of their key registered or became available. */
static void
ag_place_kick(struct ds_agents *ag, const struct ag_conn *c)
{
	struct ag_place *p, *next;

	for (p = ag->places; p != NULL; p = next) {
		next = p->next;
		if (p->asked != NULL || p->pinned != 0 || !ag_can_take(c, p->job))
			continue;
		p->ntried = 0; /* a new round: earlier refusals may not hold any more */
		ag_place_try(p);
	}
}

/* Build the room token livekit-server signs for the agent (protocol/agent BuildAgentToken). */
static int
ag_token(struct ds_agents *ag, const struct ag_conn *c, const struct ds_job *job,
        const livekit_AvailabilityResponse *res, const char *identity, char **out, const char **why)
{
	struct jwt_access a;
	json_t *video, *attrs;
	pb_size_t i;
	int r;

	*out = NULL;
	if (ag->ds->nkeys <= 0 || ag->ds->keys == NULL) {
		*why = "no API key configured";
		return LK_EINVAL;
	}
	if (res->participant_attributes_count > AG_MAX_ATTRS) {
		*why = "too many participant attributes";
		return LK_ETOOBIG;
	}
	video = json_pack("{s:b, s:b, s:s, s:b, s:b, s:b, s:b, s:b}", "roomJoin", 1, "agent", 1,
	        "room", job->room_name, "canSubscribe", c->perm.can_subscribe, "canPublish",
	        c->perm.can_publish, "canPublishData", c->perm.can_publish_data,
	        "canUpdateOwnMetadata", c->perm.can_update_metadata, "canSubscribeMetrics",
	        c->perm.can_subscribe_metrics);
	attrs = json_object();
	if (video == NULL || attrs == NULL) {
		json_decref(video);
		json_decref(attrs);
		*why = "room name is not valid UTF-8";
		return LK_EINVAL;
	}
	/* auth.VideoGrant.Hidden has omitempty. */
	if (c->perm.hidden)
		json_object_set_new(video, "hidden", json_true());
	for (i = 0; i < res->participant_attributes_count; i++) {
		const livekit_AvailabilityResponse_ParticipantAttributesEntry *e =
		        &res->participant_attributes[i];

		/* json_object_set_new refuses (and frees the value) on invalid UTF-8. */
		if (e->key == NULL ||
		        json_object_set_new(attrs, e->key, json_string(ag_str(e->value))) < 0) {
			json_decref(video);
			json_decref(attrs);
			*why = "participant attribute is not valid UTF-8";
			return LK_EINVAL;
		}
	}
	/* pkg/agent AssignJob: the server adds lk.agent_name, over any worker value. */
	json_object_set_new(attrs, AG_AGENT_NAME_ATTR, json_string(c->agent_name));

	memset(&a, 0, sizeof(a));
	a.api_key = ag->ds->keys[0].key;
	a.api_secret = ag->ds->keys[0].secret;
	a.identity = identity;
	a.name = ag_opt(res->participant_name);
	a.kind = "agent"; /* ParticipantInfo.Kind AGENT */
	a.metadata = ag_opt(res->participant_metadata);
	a.attributes = attrs;
	a.ttl_s = AG_TOKEN_TTL_S;
	r = jwt_access_token(&a, video, out);
	json_decref(video);
	json_decref(attrs);
	if (r < 0) {
		*why = "token signing failed (invalid UTF-8 in identity, name or metadata?)";
		return r;
	}
	/* Our own /rtc refuses longer tokens; do not hand out one it cannot verify. */
	if (strlen(*out) > JWT_MAX_LEN) {
		free(*out);
		*out = NULL;
		*why = "agent token too large (participant name, metadata or attributes)";
		return LK_ETOOBIG;
	}
	return 0;
}

static void
ag_assign(struct ag_place *p, struct ag_conn *c, const livekit_AvailabilityResponse *res)
{
	struct ds_agents *ag = p->ag;
	struct ds_job *job = p->job;
	livekit_ServerMessage m;
	livekit_JobAssignment asg;
	struct ag_jobpb x;
	char identity[sizeof(job->participant_identity)];
	const char *why = NULL;
	char *token = NULL;

	/* Python and Node always send one; "agent-<job id>" is their default. */
	if (res->participant_identity != NULL && res->participant_identity[0] != '\0') {
		if (strlen(res->participant_identity) >= sizeof(identity)) {
			log_warn("job not assigned: participant identity too long", "job_id",
			        job->id, "worker_id", c->id);
			ds_job_update(ag->ds, job, DS_JS_FAILED, "participant identity too long");
			ag_place_free(p);
			return;
		}
		lk_strlcpy(identity, res->participant_identity, sizeof(identity));
	} else {
		snprintf(identity, sizeof(identity), "agent-%s", job->id);
	}
	if (ag_token(ag, c, job, res, identity, &token, &why) < 0) {
		log_error(
		        "agent token not built", "job_id", job->id, "worker_id", c->id, "err", why);
		ds_job_update(ag->ds, job, DS_JS_FAILED, why);
		ag_place_free(p);
		return;
	}
	ag_job_pb(ag, job, c, identity, &x);
	memset(&asg, 0, sizeof(asg));
	asg.job = &x.job;
	asg.url = NULL; /* JobAssignment.url (2) unset: the worker keeps its own URL */
	asg.token = token;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_ServerMessage_assignment_tag;
	m.message.assignment = &asg;
	if (ag_send(c, &m) < 0) {
		/* The worker is going away: offer the job to the next one. */
		free(token);
		ag_place_try(p);
		return;
	}
	free(token);
	lk_strlcpy(job->worker_id, c->id, sizeof(job->worker_id));
	lk_strlcpy(job->participant_identity, identity, sizeof(job->participant_identity));
	log_info("job assigned", "job_id", job->id, "worker_id", c->id, "room", job->room_name,
	        "identity", identity);
	/* livekit-server marks the job running when it sends the assignment. */
	ds_job_update(ag->ds, job, DS_JS_RUNNING, NULL);
	ag_place_free(p);
}

/* ---- worker messages ---- */

static int
ag_deployment_ok(const char *d)
{
	size_t n = strlen(d);

	/* protocol/agent ValidateDeployment: <= 64 bytes, no '_', whitespace or control bytes. */
	if (n > AG_DEPLOYMENT_MAX)
		return 0;
	for (; *d; d++) {
		unsigned char ch = (unsigned char)*d;

		if (ch == '_' || ch <= 0x20 || ch == 0x7f)
			return 0;
	}
	return 1;
}

static void
ag_on_register(struct ag_conn *c, const livekit_RegisterWorkerRequest *req)
{
	struct ds_agents *ag = c->ag;
	livekit_ServerMessage m;
	livekit_RegisterWorkerResponse resp;
	livekit_ServerInfo si;
	const livekit_ParticipantPermission *pp = req->allowed_permissions;
	const char *name = ag_str(req->agent_name), *ns = ag_str(req->namespace);
	const char *dep = ag_str(req->deployment);

	if (c->registered) {
		log_warn("worker registered twice: request ignored", "worker_id", c->id);
		return;
	}
	/* RegisterWorkerRequest.type (1): JT_ROOM..JT_PARTICIPANT only. */
	if ((int)req->type < livekit_JobType_JT_ROOM ||
	        (int)req->type > livekit_JobType_JT_PARTICIPANT) {
		log_warn("worker registration refused: unknown job type", "conn_id", c->conn_id,
		        "type", log_fmt("%d", (int)req->type));
		ag_close(c, AG_WS_POLICY, "unknown job type");
		return;
	}
	if (!ag_deployment_ok(dep)) {
		log_warn("worker registration refused: invalid deployment", "conn_id", c->conn_id);
		ag_close(c, AG_WS_POLICY, "invalid deployment");
		return;
	}
	if (strlen(name) >= sizeof(c->agent_name) || strlen(ns) >= sizeof(c->ns)) {
		log_warn("worker registration refused: agent_name or namespace too long", "conn_id",
		        c->conn_id, "max", log_fmt("%zu", sizeof(c->agent_name) - 1));
		ag_close(c, AG_WS_POLICY, "agent_name too long");
		return;
	}
	c->type = (int)req->type;
	lk_strlcpy(c->agent_name, name, sizeof(c->agent_name));
	lk_strlcpy(c->ns, ns, sizeof(c->ns));
	lk_strlcpy(c->deployment, dep, sizeof(c->deployment));
	lk_strlcpy(c->version, ag_str(req->version), sizeof(c->version));
	if (pp != NULL) {
		c->perm.can_subscribe = pp->can_subscribe;
		c->perm.can_publish = pp->can_publish;
		c->perm.can_publish_data = pp->can_publish_data;
		c->perm.hidden = pp->hidden;
		c->perm.can_update_metadata = pp->can_update_metadata;
		c->perm.can_subscribe_metrics = pp->can_subscribe_metrics;
	} else {
		/* pkg/agent HandleRegister defaults when allowed_permissions (7) is absent. */
		c->perm.can_subscribe = 1;
		c->perm.can_publish = 1;
		c->perm.can_publish_data = 1;
		c->perm.can_update_metadata = 1;
	}
	c->status = livekit_WorkerStatus_WS_AVAILABLE;
	c->load = 0.0f;
	lk_make_id("AW_", c->id, sizeof(c->id));

	memset(&si, 0, sizeof(si));
	si.edition = livekit_ServerInfo_Edition_Standard;
	si.version = (char *)PACKAGE_VERSION;
	si.protocol = AG_RTC_PROTOCOL;
	si.agent_protocol = AG_AGENT_PROTOCOL;
	si.node_id = ag->node_id;
	memset(&resp, 0, sizeof(resp));
	resp.worker_id = c->id;
	resp.server_info = &si;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_ServerMessage_register__tag;
	m.message.register_ = &resp;
	/* Python and Node insist the first message they get is this answer. */
	if (ag_send(c, &m) < 0) {
		ag_close(c, 1011, "register response not sent");
		return;
	}
	c->registered = 1;
	ag->nregistered++;
	ev_timer_stop(ag->loop, &c->reg_timer);
	log_info("worker registered", "worker_id", c->id, "conn_id", c->conn_id, "agent_name",
	        c->agent_name, "sdk_version", c->version, "type", ag_type_name(c->type),
	        "namespace", ag_opt(c->ns), "deployment", ag_opt(c->deployment));
	ag_place_kick(ag, c);
}

static void
ag_on_availability(struct ag_conn *c, const livekit_AvailabilityResponse *res)
{
	struct ds_agents *ag = c->ag;
	struct ag_place *p;

	for (p = ag->places; p != NULL; p = p->next)
		if (p->asked == c && res->job_id != NULL && strcmp(p->job->id, res->job_id) == 0)
			break;
	if (p == NULL) {
		log_warn("availability response for unknown job", "worker_id", c->id, "job_id",
		        res->job_id);
		return;
	}
	ev_timer_stop(ag->loop, &p->timer);
	p->asked = NULL;
	/* AvailabilityResponse.terminate (8): the worker ends the job; nobody else gets it. */
	if (res->terminate) {
		log_info("job refused with terminate", "job_id", p->job->id, "worker_id", c->id);
		lk_strlcpy(p->job->worker_id, c->id, sizeof(p->job->worker_id));
		ds_job_update(ag->ds, p->job, DS_JS_SUCCESS, NULL);
		ag_place_free(p);
		return;
	}
	if (!res->available) {
		log_info("worker not available for job", "job_id", p->job->id, "worker_id", c->id);
		ag_place_try(p);
		return;
	}
	ag_assign(p, c, res);
}

static void
ag_on_update_worker(struct ag_conn *c, const livekit_UpdateWorkerStatus *u)
{
	int was = ag_weight(c) > 0.0;
	float load = u->load;

	/* UpdateWorkerStatus.status (1) is optional: keep the last one when absent. */
	if (u->has_status) {
		if ((int)u->status != livekit_WorkerStatus_WS_AVAILABLE &&
		        (int)u->status != livekit_WorkerStatus_WS_FULL) {
			log_warn("worker status ignored: unknown value", "worker_id", c->id,
			        "status", log_fmt("%d", (int)u->status));
		} else if ((int)u->status != c->status) {
			c->status = (int)u->status;
			log_debug("worker status changed", "worker_id", c->id, "status",
			        c->status == livekit_WorkerStatus_WS_FULL ? "WS_FULL"
			                                                  : "WS_AVAILABLE");
		}
	}
	/* load (3) is always overwritten; a NaN or negative value must not win placement. */
	if (!isfinite(load))
		load = 1.0f;
	c->load = load < 0.0f ? 0.0f : load;
	c->job_count = u->job_count;
	if (!was && ag_weight(c) > 0.0)
		ag_place_kick(c->ag, c);
}

static void
ag_on_update_job(struct ag_conn *c, const livekit_UpdateJobStatus *u)
{
	struct ds_agents *ag = c->ag;
	struct ds_job *job = ds_job_find(ag->ds, u->job_id);

	/* Only the worker the job was assigned to (and in this connection) may report on it. */
	if (job == NULL || strcmp(job->worker_id, c->id) != 0) {
		log_debug("received job update for unknown job", "worker_id", c->id, "job_id",
		        u->job_id);
		return;
	}
	if ((int)u->status < livekit_JobStatus_JS_PENDING ||
	        (int)u->status > livekit_JobStatus_JS_FAILED) {
		log_warn("job update ignored: unknown status", "worker_id", c->id, "job_id",
		        job->id, "status", log_fmt("%d", (int)u->status));
		return;
	}
	if (u->status == livekit_JobStatus_JS_RUNNING && job->worker_running_at_ns == 0)
		job->worker_running_at_ns = lk_wall_ns();
	ds_job_update(ag->ds, job, (int)u->status, ag_opt(u->error));
}

static void
ag_on_ping(struct ag_conn *c, const livekit_WorkerPing *ping)
{
	livekit_ServerMessage m;
	livekit_WorkerPong pong;

	memset(&pong, 0, sizeof(pong));
	pong.last_timestamp = ping->timestamp;
	pong.timestamp = lk_wall_ms(); /* WorkerPong.timestamp (2): server time, ms */
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_ServerMessage_pong_tag;
	m.message.pong = &pong;
	(void)ag_send(c, &m);
}

/*
 * SimulateJobRequest (agents-js `connect`): a job built from the request,
 * offered to this worker only.
 */
static void
ag_on_simulate(struct ag_conn *c, const livekit_SimulateJobRequest *s)
{
	struct ds_agents *ag = c->ag;
	const char *room = s->room != NULL ? ag_str(s->room->name) : "";
	int type = s->participant != NULL ? livekit_JobType_JT_PUBLISHER : livekit_JobType_JT_ROOM;
	struct ds_job *job;

	if (room[0] == '\0' || strlen(room) >= sizeof(((struct ds_job *)0)->room_name)) {
		log_warn("simulate job ignored: room name missing or too long", "worker_id", c->id);
		return;
	}
	log_info("simulate job", "worker_id", c->id, "room", room, "type", ag_type_name(type));
	ag->pin_serial = c->serial;
	job = ds_job_create(ag->ds, "", type, c->agent_name, room, NULL);
	ag->pin_serial = 0;
	if (job == NULL)
		log_warn("simulate job not created", "worker_id", c->id, "room", room);
}

static void
ag_on_migrate(struct ag_conn *c, const livekit_MigrateJobRequest *mj)
{
	/* livekit-server (OSS) accepts MigrateJobRequest and does nothing with it. */
	log_info("migrate job request ignored", "worker_id", c->id, "jobs",
	        log_fmt("%u", (unsigned)mj->job_ids_count));
}

/* ---- connection callbacks ---- */

static void
ag_on_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct ds_agents *ag = arg;
	struct ag_conn *c = ag_conn_of(ag, ws);
	livekit_WorkerMessage msg;
	union {
		livekit_RegisterWorkerRequest reg;
		livekit_AvailabilityResponse avail;
		livekit_UpdateWorkerStatus uw;
		livekit_UpdateJobStatus uj;
		livekit_WorkerPing ping;
		livekit_SimulateJobRequest sim;
		livekit_MigrateJobRequest mig;
	} zero;
	pb_size_t which;
	int borrowed = 0, r;

	if (c == NULL || c->closing)
		return;
	if (!binary) {
		/* livekit-server also takes protojson text frames; the SDKs send binary only. */
		log_warn("agent message malformed", "worker_id", ag_worker_id(c), "conn_id",
		        c->conn_id, "err",
		        "text frames (protojson) are not supported; send binary protobuf", "len",
		        log_fmt("%zu", len));
		ag_close(c, AG_WS_UNSUPPORTED, "binary protobuf only");
		return;
	}
	r = lkpb_decode(livekit_WorkerMessage_fields, &msg, data, len, AG_MAX_MSG);
	if (r < 0) {
		ag_malformed(c, lk_strerror(r), len);
		return;
	}
	which = msg.which_message;
	/* A member sent as an empty submessage reads as all defaults. */
	if (which != 0 && msg.message.register_ == NULL) {
		memset(&zero, 0, sizeof(zero));
		msg.message.register_ = (livekit_RegisterWorkerRequest *)(void *)&zero;
		borrowed = 1;
	}
	/* pkg/agent: before registration only register and ping are handled. */
	if (!c->registered && which != livekit_WorkerMessage_register__tag &&
	        which != livekit_WorkerMessage_ping_tag) {
		log_warn("worker message before registration", "conn_id", c->conn_id, "message",
		        log_fmt("%u", (unsigned)which));
		if (borrowed)
			msg.message.register_ = NULL;
		lkpb_free(livekit_WorkerMessage_fields, &msg);
		ag_close(c, AG_WS_POLICY, "register first");
		return;
	}
	switch (which) {
	case livekit_WorkerMessage_register__tag:
		ag_on_register(c, msg.message.register_);
		break;
	case livekit_WorkerMessage_availability_tag:
		ag_on_availability(c, msg.message.availability);
		break;
	case livekit_WorkerMessage_update_worker_tag:
		ag_on_update_worker(c, msg.message.update_worker);
		break;
	case livekit_WorkerMessage_update_job_tag:
		ag_on_update_job(c, msg.message.update_job);
		break;
	case livekit_WorkerMessage_ping_tag:
		ag_on_ping(c, msg.message.ping);
		break;
	case livekit_WorkerMessage_simulate_job_tag:
		ag_on_simulate(c, msg.message.simulate_job);
		break;
	case livekit_WorkerMessage_migrate_job_tag:
		ag_on_migrate(c, msg.message.migrate_job);
		break;
	default:
		/* An empty message or a member newer than this server: nothing to do. */
		log_debug("unknown worker message ignored", "worker_id", c->id, "message",
		        log_fmt("%u", (unsigned)which));
		break;
	}
	if (borrowed)
		msg.message.register_ = NULL;
	lkpb_free(livekit_WorkerMessage_fields, &msg);
}

static void
ag_ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ds_agents *ag = w->data;
	struct ag_conn *c;

	/* livekit-server keeps worker sockets alive with WebSocket pings. */
	for (c = ag->conns; c != NULL; c = c->next)
		if (!c->closing)
			(void)ws_ping(c->ws);
}

static void
ag_reg_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ag_conn *c = w->data;

	log_warn("worker did not register in time", "conn_id", c->conn_id, "timeout_s",
	        log_fmt("%g", c->ag->register_timeout_s));
	ag_close(c, AG_WS_POLICY, "register timeout");
}

static void
ag_on_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct ds_agents *ag = arg;
	struct ag_conn *c = ag_conn_of(ag, ws), **cp;
	struct ag_place *p, *next;

	if (c == NULL) {
		ws_free(ws);
		return;
	}
	if (code == 1009)
		log_warn("agent message malformed", "worker_id", ag_worker_id(c), "conn_id",
		        c->conn_id, "err", "message too big", "limit", log_fmt("%u", AG_MAX_MSG));
	log_info("worker disconnected", "worker_id", ag_worker_id(c), "conn_id", c->conn_id,
	        "agent_name", c->registered ? c->agent_name : NULL, "code", log_fmt("%d", code),
	        "reason", reason);
	for (cp = &ag->conns; *cp != NULL; cp = &(*cp)->next) {
		if (*cp == c) {
			*cp = c->next;
			break;
		}
	}
	ag->nconns--;
	if (c->registered)
		ag->nregistered--;
	ev_timer_stop(ag->loop, &c->reg_timer);
	if (ag->nconns == 0)
		ev_timer_stop(ag->loop, &ag->ping_timer);
	/*
	 * Its running jobs are forgotten (livekit-server OSS: no re-dispatch, the
	 * records stay); a job waiting for its answer goes to the next worker.
	 */
	for (p = ag->places; p != NULL; p = next) {
		next = p->next;
		if (p->asked == c)
			ag_place_try(p);
		else if (p->pinned == c->serial)
			ag_place_free(p);
	}
	ws_free(ws);
	free(c);
}

static void
ag_on_ws(struct ws *ws, void *arg)
{
	struct ds_agents *ag = arg;
	struct ag_conn *c;

	if (ag->nconns >= AG_MAX_CONNS) {
		log_warn("agent connection refused: too many connections", "limit",
		        log_fmt("%d", AG_MAX_CONNS));
		ws_close(ws, AG_WS_TRY_LATER, "too many workers");
		return; /* on_close finds no connection and frees ws */
	}
	c = lk_xcalloc(1, sizeof(*c));
	c->ag = ag;
	c->ws = ws;
	c->serial = ++ag->next_serial;
	snprintf(c->conn_id, sizeof(c->conn_id), "agent-conn-%llu", (unsigned long long)c->serial);
	/* pkg/agent RegisterTimeout: the RegisterWorkerRequest must come within 10 s. */
	ev_timer_init(&c->reg_timer, ag_reg_timeout_cb, ag->register_timeout_s, 0.);
	c->reg_timer.data = c;
	ev_timer_start(ag->loop, &c->reg_timer);
	c->next = ag->conns;
	ag->conns = c;
	ag->nconns++;
	if (!ev_is_active(&ag->ping_timer)) {
		ev_timer_set(&ag->ping_timer, AG_PING_INTERVAL_S, AG_PING_INTERVAL_S);
		ev_timer_start(ag->loop, &ag->ping_timer);
	}
	log_debug("agent connection open", "conn_id", c->conn_id);
}

/* ---- ds.h API ---- */

struct ds_agents *
ds_agents_new(struct ds *ds)
{
	struct ds_agents *ag = lk_xcalloc(1, sizeof(*ag));

	ag->ds = ds;
	ag->loop = ds->loop;
	ag->register_timeout_s = AG_REGISTER_TIMEOUT_S;
	ag->assign_timeout_s = AG_ASSIGN_TIMEOUT_S;
	ev_timer_init(&ag->ping_timer, ag_ping_cb, AG_PING_INTERVAL_S, AG_PING_INTERVAL_S);
	ag->ping_timer.data = ag;
	lk_make_id("ND_", ag->node_id, sizeof(ag->node_id));
	return ag;
}

void
ds_agents_set_timeouts(struct ds_agents *ag, double register_s, double assign_s)
{
	if (ag == NULL)
		return;
	if (register_s > 0)
		ag->register_timeout_s = register_s;
	if (assign_s > 0)
		ag->assign_timeout_s = assign_s;
}

void
ds_agents_free(struct ds_agents *ag)
{
	struct ag_conn *c, *cn;

	if (ag == NULL)
		return;
	while (ag->places != NULL)
		ag_place_free(ag->places);
	ev_timer_stop(ag->loop, &ag->ping_timer);
	for (c = ag->conns; c != NULL; c = cn) {
		cn = c->next;
		ev_timer_stop(ag->loop, &c->reg_timer);
		ws_free(c->ws); /* no on_close: the connection is just dropped */
		free(c);
	}
	free(ag);
}

void
ds_agents_accept(struct ds_agents *ag, struct http_req *req)
{
	static const struct ws_cbs cbs = {
	        .on_open = NULL,
	        .on_message = ag_on_message,
	        .on_close = ag_on_close,
	};

	if (ag->nconns >= AG_MAX_CONNS) {
		log_warn("agent connection refused: too many connections", "limit",
		        log_fmt("%d", AG_MAX_CONNS));
		http_reply_text(req, 503, "too many agent workers connected");
		return;
	}
	http_reply_ws(req, AG_MAX_MSG, &cbs, ag, ag_on_ws, ag);
}

void
ds_agents_launch(struct ds_agents *ag, struct ds_job *job)
{
	struct ag_place *p;

	if (ag == NULL || job == NULL)
		return;
	if (ag_place_of(ag, job) != NULL || job->status != DS_JS_PENDING)
		return;
	if (ag->nplaces >= AG_MAX_PLACES) {
		log_warn("job not placed: too many jobs waiting for a worker", "job_id", job->id,
		        "room", job->room_name, "limit", log_fmt("%d", AG_MAX_PLACES));
		ds_job_update(ag->ds, job, DS_JS_FAILED, "too many jobs waiting for a worker");
		return;
	}
	p = lk_xcalloc(1, sizeof(*p));
	p->ag = ag;
	p->job = job;
	p->pinned = ag->pin_serial;
	ev_timer_init(&p->timer, ag_place_timeout_cb, ag->assign_timeout_s, 0.);
	p->timer.data = p;
	p->next = ag->places;
	ag->places = p;
	ag->nplaces++;
	ag_place_try(p);
}

void
ds_agents_terminate(struct ds_agents *ag, struct ds_job *job)
{
	livekit_ServerMessage m;
	livekit_JobTermination t;
	struct ag_place *p;
	struct ag_conn *c;

	if (ag == NULL || job == NULL)
		return;
	/* Not placed yet: stop offering it (a late "available" is then unknown). */
	p = ag_place_of(ag, job);
	if (p != NULL) {
		log_info("job placement cancelled", "job_id", job->id, "room", job->room_name);
		ag_place_free(p);
		return;
	}
	c = ag_conn_by_worker_id(ag, job->worker_id);
	if (c == NULL) {
		log_debug("job termination not sent: worker gone", "job_id", job->id, "worker_id",
		        ag_opt(job->worker_id));
		return;
	}
	memset(&t, 0, sizeof(t));
	t.job_id = job->id; /* JobTermination.job_id (1) */
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_ServerMessage_termination_tag;
	m.message.termination = &t;
	if (ag_send(c, &m) == 0)
		log_info("job termination sent", "job_id", job->id, "worker_id", c->id, "room",
		        job->room_name);
}

int
ds_agents_count(const struct ds_agents *ag)
{
	return ag != NULL ? ag->nregistered : 0;
}

int
ds_agents_count_named(const struct ds_agents *ag, const char *agent_name)
{
	const struct ag_conn *c;
	int n = 0;

	if (ag == NULL)
		return 0;
	for (c = ag->conns; c != NULL; c = c->next)
		if (c->registered && !c->closing && strcmp(c->agent_name, ag_str(agent_name)) == 0)
			n++;
	return n;
}
