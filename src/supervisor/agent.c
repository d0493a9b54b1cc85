/*
 * agent: the /agent WebSocket link to LiveKit (agent-protocol.md §1-3):
 * registration, availability, assignment, termination, job and worker
 * status, keepalive and reconnection. Runs in lk-supervisor on its libev
 * loop. Every server message is decoded with a size limit; anything
 * malformed or unexpected drops the connection, never the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include <config.h>

#include "common/backoff.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/util.h"
#include "net/ws.h"
#include "proto/lkpb.h"
#include "supervisor/agent.h"
#include "supervisor/config.h"
#include "supervisor/load.h"
#include "supervisor/pool.h"

/* OSS server default agent_signal_message_size_limit (agent-protocol.md §1.1). */
#define SUP_MAX_MSG (2u * 1024 * 1024)
#define SUP_ID_MAX 128
#define SUP_SCRIPT_ARGS_MAX 1024
/* Python AccessToken default TTL for the worker token (agent-protocol.md §1.2). */
#define SUP_TOKEN_TTL_S (6 * 3600)
#define SUP_IDENTITY_PREFIX "agent-"

enum sup_agent_state {
	SUP_AGENT_IDLE = 0,
	SUP_AGENT_CONNECTING, /* TCP/TLS + upgrade */
	SUP_AGENT_REGISTERING, /* register sent, waiting for the response */
	SUP_AGENT_REGISTERED,
	SUP_AGENT_CLOSING, /* graceful close on shutdown */
	SUP_AGENT_WAITING, /* backoff before the next attempt */
	SUP_AGENT_STOPPED,
};

/* A slot held between an accepted availability request and its assignment. */
struct sup_resv {
	struct sup_resv *next;
	struct sup_agent *agent;
	ev_timer timer;
	char job_id[SUP_ID_MAX + 1];
	char identity[sizeof(SUP_IDENTITY_PREFIX) + SUP_ID_MAX];
};

struct sup_qmsg {
	uint8_t *data;
	size_t len;
};

struct sup_agent {
	struct ev_loop *loop;
	struct sup_agent_opts o;
	struct sup_pool *pool;
	struct sup_load *load;
	struct sup_agent_cbs cbs;
	void *arg;

	struct ws *ws;
	char *token;
	enum sup_agent_state state;
	unsigned attempt; /* backoff step; reset by a successful upgrade */
	unsigned attempt_at_open; /* restored when the server then misbehaves */
	int draining;
	int no_starts; /* shutting down: assignments are refused */
	int stopping;
	int ever_registered;
	int last_full; /* last WorkerStatus sent, -1 = none yet */
	char worker_id[SUP_ID_MAX + 1];

	ev_timer retry;
	ev_timer reg_timer;
	ev_timer status_timer;
	ev_timer keepalive;
	ev_timer close_guard;
	int close_timeout_ms;
	int64_t keepalive_next_ping_ms;

	struct sup_resv *resv;
	unsigned nresv;

	/* UpdateJobStatus messages waiting for a registered link (ring). */
	struct sup_qmsg queue[SUP_STATUS_QUEUE_MAX];
	unsigned qhead;
	unsigned qlen;

	struct buf out;
	struct sup_agent_stats st;
};

static void sup_agent_connect(struct sup_agent *a);
static void sup_agent_keepalive_arm(struct sup_agent *a);
static void sup_agent_lost(struct sup_agent *a, const char *reason, int protocol_error);

const char *
sup_agent_status_name(int status)
{
	switch (status) {
	case SUP_JS_RUNNING:
		return "JS_RUNNING";
	case SUP_JS_SUCCESS:
		return "JS_SUCCESS";
	case SUP_JS_FAILED:
		return "JS_FAILED";
	}
	return "JS_PENDING";
}

/* Server-chosen ids end up in logs and participant identities: printable ASCII, bounded. */
static int
sup_agent_valid_id(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= SUP_ID_MAX || s[n] <= 0x20 || s[n] >= 0x7f || s[n] == '"' || s[n] == '\\')
			return 0;
	}
	return 1;
}

/* Encode and send one WorkerMessage. 0 or negative lk_err. */
static int
sup_agent_send(struct sup_agent *a, const livekit_WorkerMessage *m)
{
	int rc;

	if (a->ws == NULL)
		return LK_ECLOSED;
	buf_reset(&a->out);
	rc = lkpb_encode(livekit_WorkerMessage_fields, m, &a->out);
	if (rc < 0) {
		log_error("encode WorkerMessage failed", "message", log_fmt("%u", m->which_message),
		        "err", lk_strerror(rc));
		return rc;
	}
	return ws_send(a->ws, 1, a->out.data, a->out.len);
}

/* ------------------------------------------------------------------ */
/* UpdateJobStatus queue                                               */

static void
sup_agent_queue_push(struct sup_agent *a, const uint8_t *data, size_t len)
{
	struct sup_qmsg *q;

	if (a->qlen == SUP_STATUS_QUEUE_MAX) {
		/* Bounded like the Python worker's 128-entry queue: the oldest goes. */
		q = &a->queue[a->qhead];
		free(q->data);
		q->data = NULL;
		a->qhead = (a->qhead + 1) % SUP_STATUS_QUEUE_MAX;
		a->qlen--;
		a->st.status_dropped++;
		log_warn("job status queue full, oldest update dropped");
	}
	q = &a->queue[(a->qhead + a->qlen) % SUP_STATUS_QUEUE_MAX];
	q->data = lk_xmalloc(len > 0 ? len : 1);
	memcpy(q->data, data, len);
	q->len = len;
	a->qlen++;
}

static void
sup_agent_queue_flush(struct sup_agent *a)
{
	struct sup_qmsg *q;
	unsigned sent = 0;

	while (a->qlen > 0 && a->ws != NULL) {
		q = &a->queue[a->qhead];
		if (ws_send(a->ws, 1, q->data, q->len) < 0)
			break;
		free(q->data);
		q->data = NULL;
		a->qhead = (a->qhead + 1) % SUP_STATUS_QUEUE_MAX;
		a->qlen--;
		sent++;
	}
	if (sent > 0)
		log_info("queued job statuses sent", "count", log_fmt("%u", sent));
}

static void
sup_agent_queue_clear(struct sup_agent *a)
{
	while (a->qlen > 0) {
		free(a->queue[a->qhead].data);
		a->queue[a->qhead].data = NULL;
		a->qhead = (a->qhead + 1) % SUP_STATUS_QUEUE_MAX;
		a->qlen--;
	}
}

/* ------------------------------------------------------------------ */
/* Reservations                                                        */

static struct sup_resv *
sup_agent_resv_find(struct sup_agent *a, const char *job_id)
{
	struct sup_resv *r;

	for (r = a->resv; r != NULL; r = r->next)
		if (strcmp(r->job_id, job_id) == 0)
			return r;
	return NULL;
}

static void
sup_agent_resv_remove(struct sup_agent *a, struct sup_resv *r)
{
	struct sup_resv **pp;

	for (pp = &a->resv; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			a->nresv--;
			break;
		}
	}
	ev_timer_stop(a->loop, &r->timer);
	free(r);
}

static void
sup_agent_resv_clear(struct sup_agent *a)
{
	while (a->resv != NULL)
		sup_agent_resv_remove(a, a->resv);
}

static void sup_agent_worker_status(struct sup_agent *a, int force);

static void
sup_agent_resv_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_resv *r = w->data;
	struct sup_agent *a = r->agent;

	/* agent-protocol.md §3.3: no JobAssignment within 7.5 s; the slot is freed. */
	log_warn("job assignment timed out, slot released", "job_id", r->job_id);
	a->st.reservations_expired++;
	sup_agent_resv_remove(a, r);
	sup_agent_worker_status(a, 0);
}

/* ------------------------------------------------------------------ */
/* Capacity and worker status                                          */

static unsigned
sup_agent_running(const struct sup_agent *a)
{
	return a->pool != NULL ? sup_pool_running(a->pool) : 0;
}

/* NULL when a job can be taken, else why not. */
static const char *
sup_agent_refusal(const struct sup_agent *a)
{
	if (a->draining || a->stopping)
		return "draining";
	if (a->pool == NULL)
		return "no job pool";
	if (a->state != SUP_AGENT_REGISTERED)
		return "not registered";
	if (sup_agent_running(a) + a->nresv >= a->o.max_jobs)
		return "at capacity";
	if (sup_load_get(a->load) >= a->o.load_threshold)
		return "load above threshold";
	return NULL;
}

/*
 * UpdateWorkerStatus{status, load, job_count} (livekit_agent.proto fields
 * 1, 3, 4): every 2.5 s, and at once when available/full flips. WS_FULL is
 * exactly "an availability request now would be refused" (§3.7).
 */
static void
sup_agent_worker_status(struct sup_agent *a, int force)
{
	livekit_UpdateWorkerStatus us;
	livekit_WorkerMessage m;
	int full, rc;

	if (a->state != SUP_AGENT_REGISTERED)
		return;
	full = sup_agent_refusal(a) != NULL;
	if (!force && full == a->last_full)
		return;
	memset(&us, 0, sizeof(us));
	/* status is explicit-presence (optional WorkerStatus = 1): always sent. */
	us.has_status = true;
	us.status = full ? livekit_WorkerStatus_WS_FULL : livekit_WorkerStatus_WS_AVAILABLE;
	us.load = (float)sup_load_get(a->load);
	us.job_count = sup_agent_running(a);
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_update_worker_tag;
	m.message.update_worker = &us;
	rc = sup_agent_send(a, &m);
	if (rc < 0)
		return;
	if (full != a->last_full)
		log_info("worker status", "status", full ? "WS_FULL" : "WS_AVAILABLE", "load",
		        log_fmt("%.2f", us.load), "jobs", log_fmt("%u", us.job_count), "draining",
		        a->draining ? "true" : "false");
	else
		log_debug("worker status", "status", full ? "WS_FULL" : "WS_AVAILABLE", "load",
		        log_fmt("%.2f", us.load), "jobs", log_fmt("%u", us.job_count));
	a->last_full = full;
}

static void
sup_agent_status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_agent_worker_status(w->data, 1);
}

/* ------------------------------------------------------------------ */
/* Server messages                                                     */

struct sup_migrate_ctx {
	char **ids;
	unsigned n;
	unsigned cap;
};

static void
sup_agent_collect_job(const struct sup_job_info *info, void *arg)
{
	struct sup_migrate_ctx *c = arg;

	if (c->n < c->cap && info->job_id != NULL)
		c->ids[c->n++] = (char *)info->job_id;
}

/* After re-registering with live jobs: MigrateJobRequest{job_ids} (field 2). */
static void
sup_agent_migrate(struct sup_agent *a)
{
	livekit_MigrateJobRequest mj;
	livekit_WorkerMessage m;
	struct sup_migrate_ctx c;
	unsigned n = sup_agent_running(a);

	if (n == 0 || a->pool == NULL)
		return;
	c.cap = n;
	c.n = 0;
	c.ids = lk_xcalloc(n, sizeof(char *));
	sup_pool_foreach(a->pool, sup_agent_collect_job, &c);
	if (c.n > 0) {
		memset(&mj, 0, sizeof(mj));
		mj.job_ids_count = (pb_size_t)c.n;
		mj.job_ids = c.ids;
		memset(&m, 0, sizeof(m));
		m.which_message = livekit_WorkerMessage_migrate_job_tag;
		m.message.migrate_job = &mj;
		if (sup_agent_send(a, &m) == 0)
			log_info("migrate request sent for running jobs", "count",
			        log_fmt("%u", c.n));
	}
	free(c.ids);
}

static void
sup_agent_on_register(struct sup_agent *a, const livekit_RegisterWorkerResponse *resp)
{
	const livekit_ServerInfo *si;
	int first;

	if (resp == NULL || !sup_agent_valid_id(resp->worker_id)) {
		sup_agent_lost(a, "RegisterWorkerResponse without a valid worker_id", 1);
		return;
	}
	lk_strlcpy(a->worker_id, resp->worker_id, sizeof(a->worker_id));
	a->state = SUP_AGENT_REGISTERED;
	a->last_full = -1;
	ev_timer_stop(a->loop, &a->reg_timer);
	a->st.registrations++;
	si = resp->server_info;
	log_set_worker_id(a->worker_id);
	/* log_set_worker_id puts worker_id on this line and every later one. */
	log_info("registered", "url", a->o.agent_url, "agent_name", a->o.agent_name,
	        "server_version", si != NULL && si->version != NULL ? si->version : "",
	        "agent_protocol", log_fmt("%d", si != NULL ? (int)si->agent_protocol : 0));
	if (a->o.oneshot) {
		if (a->cbs.on_oneshot != NULL)
			a->cbs.on_oneshot(a, 1, "registered", a->arg);
		return;
	}
	/* Final statuses first, so only jobs still alive are offered for migration. */
	sup_agent_queue_flush(a);
	if (a->ever_registered)
		sup_agent_migrate(a);
	sup_agent_worker_status(a, 1);
	ev_timer_again(a->loop, &a->status_timer);
	first = !a->ever_registered;
	a->ever_registered = 1;
	if (a->cbs.on_registered != NULL)
		a->cbs.on_registered(a, a->worker_id, first, a->arg);
}

/*
 * AvailabilityRequest -> AvailabilityResponse, answered at once
 * (agent-protocol.md §3.2): accept when registered, not draining, a slot
 * is free and the load is under the threshold.
 */
static void
sup_agent_on_availability(struct sup_agent *a, const livekit_AvailabilityRequest *req)
{
	livekit_AvailabilityResponse resp;
	livekit_AvailabilityResponse_ParticipantAttributesEntry attr;
	livekit_WorkerMessage m;
	const livekit_Job *job = req != NULL ? req->job : NULL;
	const char *why, *room;
	struct sup_resv *r;
	char identity[sizeof(SUP_IDENTITY_PREFIX) + SUP_ID_MAX];
	int accept, dup;

	if (job == NULL || !sup_agent_valid_id(job->id)) {
		sup_agent_lost(a, "AvailabilityRequest without a valid job id", 1);
		return;
	}
	room = job->room != NULL && job->room->name != NULL ? job->room->name : "";
	snprintf(identity, sizeof(identity), SUP_IDENTITY_PREFIX "%s", job->id);
	/* Asked again for a job we already hold a slot for: the same yes. */
	r = sup_agent_resv_find(a, job->id);
	dup = r != NULL;
	why = dup ? NULL : sup_agent_refusal(a);
	accept = why == NULL;

	memset(&resp, 0, sizeof(resp));
	resp.job_id = job->id;
	resp.available = accept;
	/* Always filled: the server signs the room token with it (§3.2, §8). */
	resp.participant_identity = identity;
	if (accept) {
		/* As the Python and Node workers do: attribute lk.agent.name = agent_name. */
		attr.key = (char *)"lk.agent.name";
		attr.value = (char *)a->o.agent_name;
		resp.participant_attributes_count = 1;
		resp.participant_attributes = &attr;
	}
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_availability_tag;
	m.message.availability = &resp;
	if (sup_agent_send(a, &m) < 0)
		return;

	if (!accept) {
		a->st.availability_reject++;
		log_info("availability request refused", "job_id", job->id, "room", room, "reason",
		        why);
		return;
	}
	a->st.availability_accept++;
	log_info("availability request accepted", "job_id", job->id, "room", room, "identity",
	        identity, "resuming", req->resuming ? "true" : "false");
	if (dup)
		return;
	r = lk_xcalloc(1, sizeof(*r));
	r->agent = a;
	lk_strlcpy(r->job_id, job->id, sizeof(r->job_id));
	lk_strlcpy(r->identity, identity, sizeof(r->identity));
	ev_timer_init(
	        &r->timer, sup_agent_resv_timeout_cb, a->o.assignment_timeout_ms / 1000.0, 0.0);
	r->timer.data = r;
	ev_timer_start(a->loop, &r->timer);
	r->next = a->resv;
	a->resv = r;
	a->nresv++;
	sup_agent_worker_status(a, 0);
}

static void
sup_agent_send_job_status(struct sup_agent *a, const char *job_id, int status, const char *error)
{
	livekit_UpdateJobStatus uj;
	livekit_WorkerMessage m;
	int rc;

	memset(&uj, 0, sizeof(uj));
	uj.job_id = (char *)job_id;
	uj.status = (livekit_JobStatus)status;
	uj.error = (char *)(error != NULL ? error : "");
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_update_job_tag;
	m.message.update_job = &uj;
	buf_reset(&a->out);
	rc = lkpb_encode(livekit_WorkerMessage_fields, &m, &a->out);
	if (rc < 0) {
		log_error(
		        "encode UpdateJobStatus failed", "job_id", job_id, "err", lk_strerror(rc));
		return;
	}
	/* Sent now when registered; otherwise kept until the next registration (§3.9). */
	if (a->state == SUP_AGENT_REGISTERED && a->ws != NULL &&
	        ws_send(a->ws, 1, a->out.data, a->out.len) == 0)
		return;
	if (a->o.oneshot)
		return;
	sup_agent_queue_push(a, a->out.data, a->out.len);
	log_debug("job status queued until re-registered", "job_id", job_id, "status",
	        sup_agent_status_name(status));
}

/*
 * JobAssignment (§3.3): the job goes to the pool with url = assignment.url
 * (field 2) or the worker's URL, the server-signed token (field 3) and the
 * identity we answered with.
 */
static void
sup_agent_on_assignment(struct sup_agent *a, const livekit_JobAssignment *asg)
{
	const livekit_Job *job = asg != NULL ? asg->job : NULL;
	struct sup_job_start start;
	struct sup_resv *r;
	struct buf jb;
	const char *room, *url;
	char identity[sizeof(SUP_IDENTITY_PREFIX) + SUP_ID_MAX];
	char script[SUP_ID_MAX], args[SUP_SCRIPT_ARGS_MAX + 1], why[160];
	int rc;

	if (job == NULL || !sup_agent_valid_id(job->id)) {
		sup_agent_lost(a, "JobAssignment without a valid job id", 1);
		return;
	}
	room = job->room != NULL && job->room->name != NULL ? job->room->name : "";
	if (a->no_starts) {
		log_warn("job assignment refused: worker shutting down", "job_id", job->id, "room",
		        room);
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED, "worker shutting down");
		return;
	}
	r = sup_agent_resv_find(a, job->id);
	if (r == NULL) {
		/* Nobody here will run it: say so, so the server does not keep it RUNNING. */
		a->st.assignments_unknown++;
		log_warn("assignment for a job this worker did not accept", "job_id", job->id,
		        "room", room);
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED,
		        "assignment without an accepted availability request");
		return;
	}
	lk_strlcpy(identity, r->identity, sizeof(identity));
	sup_agent_resv_remove(a, r);
	a->st.assignments++;

	if (asg->token == NULL || asg->token[0] == '\0') {
		log_error("job assignment without a token", "job_id", job->id, "room", room);
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED, "assignment without a token");
		return;
	}
	url = asg->url != NULL && asg->url[0] != '\0' ? asg->url : a->o.worker_url;
	rc = sup_config_pick_script(a->o.script_from_metadata ? job->metadata : NULL, a->o.script,
	        a->o.script_args, script, sizeof(script), args, sizeof(args), why, sizeof(why));
	if (rc < 0) {
		log_error("job start refused", "job_id", job->id, "room", room, "err", why);
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED, why);
		return;
	}

	/* The job travels to the job process as protobuf bytes (IPC START_JOB). */
	buf_init(&jb, SUP_MAX_MSG);
	rc = lkpb_encode(livekit_Job_fields, job, &jb);
	if (rc < 0) {
		log_error("job encode failed", "job_id", job->id, "err", lk_strerror(rc));
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED, "job encode failed");
		buf_free(&jb);
		return;
	}
	memset(&start, 0, sizeof(start));
	start.job_id = job->id;
	start.room = room;
	start.job_pb = jb.data;
	start.job_pb_len = jb.len;
	start.url = url;
	start.token = asg->token;
	start.identity = identity;
	start.worker_id = a->worker_id;
	start.script = script;
	start.script_args = args;
	log_info("job assigned", "job_id", job->id, "room", room, "url", url, "identity", identity,
	        "script", script);
	rc = sup_pool_start_job(a->pool, &start);
	buf_free(&jb);
	if (rc < 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "job start failed: %s", lk_strerror(rc));
		log_error("job start failed", "job_id", job->id, "room", room, "err",
		        lk_strerror(rc));
		sup_agent_send_job_status(a, job->id, SUP_JS_FAILED, msg);
	}
	sup_agent_worker_status(a, 0);
}

/* JobTermination{job_id} (§3.5): graceful shutdown ladder for that job. */
static void
sup_agent_on_termination(struct sup_agent *a, const livekit_JobTermination *t)
{
	struct sup_resv *r;

	if (t == NULL || !sup_agent_valid_id(t->job_id)) {
		sup_agent_lost(a, "JobTermination without a valid job id", 1);
		return;
	}
	a->st.terminations++;
	if ((r = sup_agent_resv_find(a, t->job_id)) != NULL) {
		log_info("job terminated before its assignment", "job_id", t->job_id);
		sup_agent_resv_remove(a, r);
		return;
	}
	log_info("job termination requested", "job_id", t->job_id);
	if (a->pool != NULL)
		sup_pool_terminate(a->pool, t->job_id, "job terminated");
}

/* ------------------------------------------------------------------ */
/* WebSocket callbacks                                                 */

static void
sup_agent_ws_open(struct ws *ws, void *arg)
{
	struct sup_agent *a = arg;
	livekit_RegisterWorkerRequest req;
	livekit_ParticipantPermission perm;
	livekit_WorkerMessage m;

	if (ws != a->ws)
		return;
	/* Python resets its retry counter as soon as the upgrade succeeds (§3.9). */
	a->attempt_at_open = a->attempt;
	a->attempt = 0;
	a->state = SUP_AGENT_REGISTERING;
	log_debug("agent websocket open", "url", a->o.agent_url);

	/* RegisterWorkerRequest (§3.1): type 1, agent_name 8, version 3, namespace 6,
	 * permissions 7. */
	memset(&perm, 0, sizeof(perm));
	perm.can_subscribe = true;
	perm.can_publish = true;
	perm.can_publish_data = true;
	perm.can_update_metadata = true;
	perm.agent = true;
	memset(&req, 0, sizeof(req));
	req.type = (livekit_JobType)a->o.job_type;
	req.agent_name = (char *)a->o.agent_name;
	req.version = (char *)PACKAGE_VERSION;
	if (a->o.namespace_ != NULL && a->o.namespace_[0] != '\0')
		req.namespace = (char *)a->o.namespace_;
	req.allowed_permissions = &perm;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_register__tag;
	m.message.register_ = &req;
	if (sup_agent_send(a, &m) < 0) {
		sup_agent_lost(a, "sending RegisterWorkerRequest failed", 0);
		return;
	}
	ev_timer_set(&a->reg_timer, a->o.register_timeout_ms / 1000.0, 0.0);
	ev_timer_start(a->loop, &a->reg_timer);
	a->keepalive_next_ping_ms = lk_mono_ms() + a->o.ws_ping_interval_ms;
	sup_agent_keepalive_arm(a);
}

static void
sup_agent_ws_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct sup_agent *a = arg;
	livekit_ServerMessage m;
	int rc;

	if (ws != a->ws)
		return;
	if (!binary) {
		sup_agent_lost(a, "text frame from livekit (binary protobuf expected)", 1);
		return;
	}
	rc = lkpb_decode(livekit_ServerMessage_fields, &m, data, len, SUP_MAX_MSG);
	if (rc < 0) {
		char why[96];

		snprintf(why, sizeof(why), "malformed ServerMessage (%zu bytes): %s", len,
		        lk_strerror(rc));
		sup_agent_lost(a, why, 1);
		return;
	}
	if (a->state == SUP_AGENT_REGISTERING) {
		/* Python insists the first server message is the RegisterWorkerResponse (§3.1). */
		if (m.which_message == livekit_ServerMessage_register__tag)
			sup_agent_on_register(a, m.message.register_);
		else
			sup_agent_lost(a, "first server message is not RegisterWorkerResponse", 1);
	} else if (a->state == SUP_AGENT_REGISTERED) {
		switch (m.which_message) {
		case livekit_ServerMessage_availability_tag:
			sup_agent_on_availability(a, m.message.availability);
			break;
		case livekit_ServerMessage_assignment_tag:
			sup_agent_on_assignment(a, m.message.assignment);
			break;
		case livekit_ServerMessage_termination_tag:
			sup_agent_on_termination(a, m.message.termination);
			break;
		case livekit_ServerMessage_pong_tag:
			break; /* WorkerPong: we send no WorkerPing; harmless */
		case livekit_ServerMessage_register__tag:
			sup_agent_lost(a, "unexpected second RegisterWorkerResponse", 1);
			break;
		default:
			/*
			 * proto3 skips unknown fields, so a message type added by a
			 * newer server decodes as an empty oneof: ignore it rather
			 * than reconnect forever against that server.
			 */
			log_warn("ignoring unknown ServerMessage type", "bytes",
			        log_fmt("%zu", len));
			break;
		}
	}
	lkpb_free(livekit_ServerMessage_fields, &m);
}

static void
sup_agent_ws_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct sup_agent *a = arg;
	char why[256];

	if (ws != a->ws)
		return;
	if (http_status != 0 && reason != NULL && strstr(reason, "HTTP") != NULL)
		snprintf(why, sizeof(why), "%s%s", reason,
		        http_status == 401 ? " (check LIVEKIT_API_KEY and LIVEKIT_API_SECRET)"
		                           : "");
	else if (http_status != 0)
		snprintf(why, sizeof(why), "upgrade refused: HTTP %d%s%s%s", http_status,
		        reason != NULL && reason[0] != '\0' ? ": " : "",
		        reason != NULL ? reason : "",
		        http_status == 401 ? " (check LIVEKIT_API_KEY and LIVEKIT_API_SECRET)"
		                           : "");
	else
		snprintf(why, sizeof(why), "connection closed (code %d)%s%s", code,
		        reason != NULL && reason[0] != '\0' ? ": " : "",
		        reason != NULL ? reason : "");
	sup_agent_lost(a, why, 0);
}

static const struct ws_cbs sup_agent_ws_cbs = {
        .on_open = sup_agent_ws_open,
        .on_message = sup_agent_ws_message,
        .on_close = sup_agent_ws_close,
};

/* ------------------------------------------------------------------ */
/* Connection lifecycle                                                */

static void
sup_agent_schedule_retry(struct sup_agent *a, const char *reason)
{
	uint32_t delay = backoff_delay_ms(a->attempt, lk_random_u32());

	a->attempt++;
	a->state = SUP_AGENT_WAITING;
	log_info("reconnecting to livekit", "attempt", log_fmt("%u", a->attempt), "delay_ms",
	        log_fmt("%u", delay), "reason", reason);
	ev_timer_set(&a->retry, delay / 1000.0, 0.0);
	ev_timer_start(a->loop, &a->retry);
}

/*
 * The link is gone (closed, failed, dead, or dropped for a protocol
 * error). Jobs keep running (§3.10); only the control channel restarts.
 */
static void
sup_agent_lost(struct sup_agent *a, const char *reason, int protocol_error)
{
	int was_registered = a->state == SUP_AGENT_REGISTERED;

	if (a->ws != NULL) {
		ws_free(a->ws);
		a->ws = NULL;
	}
	ev_timer_stop(a->loop, &a->reg_timer);
	ev_timer_stop(a->loop, &a->status_timer);
	ev_timer_stop(a->loop, &a->keepalive);
	ev_timer_stop(a->loop, &a->close_guard);
	/* Assignments never follow a lost connection: the server forgot the worker. */
	sup_agent_resv_clear(a);
	if (was_registered)
		log_set_worker_id(NULL);

	if (a->stopping) {
		a->state = SUP_AGENT_STOPPED;
		log_info("agent connection closed", "reason", reason);
		if (a->cbs.on_closed != NULL)
			a->cbs.on_closed(a, a->arg);
		return;
	}
	if (protocol_error) {
		a->st.protocol_errors++;
		/*
		 * A misbehaving server must not earn an immediate retry by upgrading:
		 * the backoff keeps growing across protocol errors.
		 */
		if (a->attempt_at_open > a->attempt)
			a->attempt = a->attempt_at_open;
		log_error("protocol error from livekit, dropping the connection", "reason", reason,
		        "url", a->o.agent_url);
	} else if (was_registered) {
		log_warn("disconnected from livekit", "reason", reason, "url", a->o.agent_url);
	} else {
		log_warn("connection to livekit failed", "reason", reason, "url", a->o.agent_url);
	}
	if (a->o.oneshot) {
		a->state = SUP_AGENT_STOPPED;
		if (a->cbs.on_oneshot != NULL)
			a->cbs.on_oneshot(a, 0, reason, a->arg);
		return;
	}
	if (a->cbs.on_disconnected != NULL)
		a->cbs.on_disconnected(a, reason, a->arg);
	if (a->state == SUP_AGENT_STOPPED || a->stopping)
		return;
	sup_agent_schedule_retry(a, reason);
}

static void
sup_agent_connect(struct sup_agent *a)
{
	struct jwt_access ja;
	struct ws_client_opts wo;
	json_t *grants;
	int rc;

	a->st.connect_attempts++;
	if (a->st.connect_attempts > 1)
		a->st.reconnects++;
	/* A fresh token for every attempt (§1.2): {video:{agent:true}}, 6 h. */
	free(a->token);
	a->token = NULL;
	grants = json_pack("{s:b}", "agent", 1);
	memset(&ja, 0, sizeof(ja));
	ja.api_key = a->o.api_key;
	ja.api_secret = a->o.api_secret;
	ja.ttl_s = SUP_TOKEN_TTL_S;
	rc = grants != NULL ? jwt_access_token(&ja, grants, &a->token) : LK_ENOMEM;
	json_decref(grants);
	if (rc < 0) {
		sup_agent_lost(a, "signing the worker token failed", 0);
		return;
	}
	memset(&wo, 0, sizeof(wo));
	wo.url = a->o.agent_url;
	wo.bearer = a->token;
	wo.max_msg = SUP_MAX_MSG;
	a->state = SUP_AGENT_CONNECTING;
	log_info("connecting to livekit", "url", a->o.agent_url, "attempt",
	        log_fmt("%llu", (unsigned long long)a->st.connect_attempts));
	a->ws = ws_connect(a->loop, &wo, &sup_agent_ws_cbs, a);
	if (a->ws == NULL)
		sup_agent_lost(a, "connect failed", 0);
}

static void
sup_agent_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_agent *a = w->data;

	if (!a->stopping && a->ws == NULL)
		sup_agent_connect(a);
}

static void
sup_agent_reg_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_agent_lost(w->data, "no RegisterWorkerResponse in time", 1);
}

/* Wake at the next ping or at the moment the link would count as dead. */
static void
sup_agent_keepalive_arm(struct sup_agent *a)
{
	int64_t now = lk_mono_ms();
	int64_t dead_in = a->o.ws_dead_after_ms - (a->ws != NULL ? ws_idle_ms(a->ws) : 0);
	int64_t ping_in = a->keepalive_next_ping_ms - now;
	int64_t next = dead_in < ping_in ? dead_in : ping_in;

	if (next < 10)
		next = 10;
	ev_timer_stop(a->loop, &a->keepalive);
	ev_timer_set(&a->keepalive, next / 1000.0, 0.0);
	ev_timer_start(a->loop, &a->keepalive);
}

/* WS pings every 10 s; nothing at all received for 30 s means the link is dead. */
static void
sup_agent_keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_agent *a = w->data;
	char why[96];
	int64_t idle;

	if (a->ws == NULL)
		return;
	idle = ws_idle_ms(a->ws);
	if (idle >= a->o.ws_dead_after_ms) {
		snprintf(why, sizeof(why), "nothing received for %lld ms", (long long)idle);
		sup_agent_lost(a, why, 0);
		return;
	}
	if (a->keepalive_next_ping_ms <= lk_mono_ms()) {
		ws_ping(a->ws);
		a->keepalive_next_ping_ms = lk_mono_ms() + a->o.ws_ping_interval_ms;
	}
	sup_agent_keepalive_arm(a);
}

static void
sup_agent_close_guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_agent_lost(w->data, "close timed out", 0);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

static char *
sup_agent_dup(const char *s)
{
	return lk_xstrdup(s != NULL ? s : "");
}

struct sup_agent *
sup_agent_new(struct ev_loop *loop, const struct sup_agent_opts *opts, struct sup_pool *pool,
        struct sup_load *load, const struct sup_agent_cbs *cbs, void *arg)
{
	struct sup_agent *a = lk_xcalloc(1, sizeof(*a));

	a->loop = loop;
	a->o = *opts;
	a->o.agent_url = sup_agent_dup(opts->agent_url);
	a->o.worker_url = sup_agent_dup(opts->worker_url);
	a->o.api_key = sup_agent_dup(opts->api_key);
	a->o.api_secret = sup_agent_dup(opts->api_secret);
	a->o.agent_name = sup_agent_dup(opts->agent_name);
	a->o.namespace_ = sup_agent_dup(opts->namespace_);
	a->o.script = sup_agent_dup(opts->script != NULL ? opts->script : "noop");
	a->o.script_args = sup_agent_dup(opts->script_args);
	if (a->o.max_jobs == 0)
		a->o.max_jobs = 1;
	if (a->o.ws_ping_interval_ms <= 0)
		a->o.ws_ping_interval_ms = SUP_WS_PING_INTERVAL_MS;
	if (a->o.ws_dead_after_ms <= 0)
		a->o.ws_dead_after_ms = SUP_WS_DEAD_AFTER_MS;
	if (a->o.register_timeout_ms <= 0)
		a->o.register_timeout_ms = SUP_REGISTER_TIMEOUT_MS;
	if (a->o.status_interval_ms <= 0)
		a->o.status_interval_ms = SUP_STATUS_INTERVAL_MS;
	if (a->o.assignment_timeout_ms <= 0)
		a->o.assignment_timeout_ms = SUP_ASSIGNMENT_TIMEOUT_MS;
	a->pool = pool;
	a->load = load;
	if (cbs != NULL)
		a->cbs = *cbs;
	a->arg = arg;
	a->last_full = -1;
	buf_init(&a->out, SUP_MAX_MSG);

	ev_timer_init(&a->retry, sup_agent_retry_cb, 0.0, 0.0);
	a->retry.data = a;
	ev_timer_init(&a->reg_timer, sup_agent_reg_timeout_cb, 0.0, 0.0);
	a->reg_timer.data = a;
	ev_init(&a->status_timer, sup_agent_status_cb);
	a->status_timer.repeat = a->o.status_interval_ms / 1000.0;
	a->status_timer.data = a;
	ev_timer_init(&a->keepalive, sup_agent_keepalive_cb, 0.0, 0.0);
	a->keepalive.data = a;
	ev_timer_init(&a->close_guard, sup_agent_close_guard_cb, 0.0, 0.0);
	a->close_guard.data = a;
	return a;
}

void
sup_agent_set_pool(struct sup_agent *a, struct sup_pool *pool)
{
	a->pool = pool;
}

void
sup_agent_start(struct sup_agent *a)
{
	if (a->state != SUP_AGENT_IDLE)
		return;
	sup_agent_connect(a);
}

void
sup_agent_set_draining(struct sup_agent *a)
{
	if (a->draining)
		return;
	a->draining = 1;
	log_info("draining: refusing new jobs, reporting WS_FULL", "reserved",
	        log_fmt("%u", a->nresv), "running", log_fmt("%u", sup_agent_running(a)));
	sup_agent_worker_status(a, 1);
}

void
sup_agent_stop_starts(struct sup_agent *a)
{
	sup_agent_set_draining(a);
	a->no_starts = 1;
	sup_agent_resv_clear(a);
}

void
sup_agent_job_status(struct sup_agent *a, const char *job_id, int status, const char *error)
{
	if (job_id == NULL)
		return;
	sup_agent_send_job_status(a, job_id, status, error);
	if (status != SUP_JS_RUNNING)
		sup_agent_worker_status(a, 0);
}

void
sup_agent_close(struct sup_agent *a, int timeout_ms)
{
	if (a->stopping && a->state == SUP_AGENT_CLOSING)
		return;
	a->stopping = 1;
	ev_timer_stop(a->loop, &a->retry);
	sup_agent_resv_clear(a);
	if (a->ws == NULL || a->state != SUP_AGENT_REGISTERED) {
		/* Nothing worth a goodbye: drop any half-open attempt now. */
		sup_agent_lost(a, "worker shutting down", 0);
		return;
	}
	sup_agent_queue_flush(a);
	ev_timer_stop(a->loop, &a->status_timer);
	ev_timer_stop(a->loop, &a->keepalive);
	a->state = SUP_AGENT_CLOSING;
	a->close_timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	/* ws_close sends the final statuses queued above before its close frame. */
	ws_close(a->ws, 1000, "worker shutting down");
	ev_timer_set(&a->close_guard, a->close_timeout_ms / 1000.0, 0.0);
	ev_timer_start(a->loop, &a->close_guard);
}

int
sup_agent_registered(const struct sup_agent *a)
{
	return a != NULL && a->state == SUP_AGENT_REGISTERED;
}

int
sup_agent_draining(const struct sup_agent *a)
{
	return a != NULL && a->draining;
}

const char *
sup_agent_worker_id(const struct sup_agent *a)
{
	return a->state == SUP_AGENT_REGISTERED ? a->worker_id : "";
}

unsigned
sup_agent_reserved(const struct sup_agent *a)
{
	return a->nresv;
}

void
sup_agent_stats(const struct sup_agent *a, struct sup_agent_stats *out)
{
	*out = a->st;
}

void
sup_agent_free(struct sup_agent *a)
{
	if (a == NULL)
		return;
	if (a->ws != NULL)
		ws_free(a->ws);
	ev_timer_stop(a->loop, &a->retry);
	ev_timer_stop(a->loop, &a->reg_timer);
	ev_timer_stop(a->loop, &a->status_timer);
	ev_timer_stop(a->loop, &a->keepalive);
	ev_timer_stop(a->loop, &a->close_guard);
	sup_agent_resv_clear(a);
	sup_agent_queue_clear(a);
	buf_free(&a->out);
	free(a->token);
	free((char *)a->o.agent_url);
	free((char *)a->o.worker_url);
	free((char *)a->o.api_key);
	free((char *)a->o.api_secret);
	free((char *)a->o.agent_name);
	free((char *)a->o.namespace_);
	free((char *)a->o.script);
	free((char *)a->o.script_args);
	free(a);
}
