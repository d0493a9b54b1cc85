/*
 * check_agents: lk-devserver's /agent endpoint (src/devserver/agents.c) on
 * one libev loop: real WebSocket clients (ws_connect) speak the worker
 * protocol to ds_agents behind a real HTTP server, with the rest of the
 * dev server (jobs, rooms, keys) replaced by small stand-ins in this file.
 */
#include "config.h"

#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define MAX_CLIS 8
#define MAX_MSGS 16
#define MAX_TEST_JOBS 16
#define WAIT_S 5.0

/* ---- stand-ins for the rest of ds.h ---- */

static char test_key[] = "devkey", test_secret[] = "secret";
static struct ds_key test_keys[] = {{test_key, test_secret}};
static struct ds_job test_jobs[MAX_TEST_JOBS];
static int test_njobs;
static int test_updates;

const char *
ds_secret_for(const char *api_key, void *arg)
{
	return api_key != NULL && strcmp(api_key, test_key) == 0 ? test_secret : NULL;
}

int
ds_room_lookup(struct ds *ds, const char *room_name, char *sid_out, size_t sidlen,
        const char **metadata_out)
{
	if (strcmp(room_name, "room1") != 0)
		return LK_ENOTFOUND;
	lk_strlcpy(sid_out, "RM_room1", sidlen);
	if (metadata_out != NULL)
		*metadata_out = "room-meta";
	return 0;
}

struct ds_job *
ds_job_create(struct ds *ds, const char *dispatch_id, int type, const char *agent_name,
        const char *room_name, const char *metadata)
{
	struct ds_job *job;

	ck_assert_int_lt(test_njobs, MAX_TEST_JOBS);
	job = &test_jobs[test_njobs++];
	memset(job, 0, sizeof(*job));
	lk_make_id("AJ_", job->id, sizeof(job->id));
	lk_strlcpy(job->dispatch_id, dispatch_id, sizeof(job->dispatch_id));
	job->type = type;
	lk_strlcpy(job->agent_name, agent_name, sizeof(job->agent_name));
	lk_strlcpy(job->room_name, room_name, sizeof(job->room_name));
	(void)ds_room_lookup(ds, room_name, job->room_sid, sizeof(job->room_sid), NULL);
	job->metadata = metadata != NULL ? (char *)metadata : NULL;
	job->status = DS_JS_PENDING;
	if (ds->agents != NULL)
		ds_agents_launch(ds->agents, job);
	return job;
}

void
ds_job_update(struct ds *ds, struct ds_job *job, int status, const char *error)
{
	test_updates++;
	if (job->status == DS_JS_SUCCESS || job->status == DS_JS_FAILED)
		return;
	job->status = status;
	lk_strlcpy(job->error, error != NULL ? error : "", sizeof(job->error));
}

struct ds_job *
ds_job_find(struct ds *ds, const char *job_id)
{
	int i;

	for (i = 0; job_id != NULL && i < test_njobs; i++)
		if (strcmp(test_jobs[i].id, job_id) == 0)
			return &test_jobs[i];
	return NULL;
}

/* ---- harness ---- */

struct cli {
	struct ws *ws;
	int opened;
	int closed;
	int code;
	int nmsgs;
	livekit_ServerMessage msgs[MAX_MSGS];
};

static struct {
	struct ev_loop *loop;
	struct http_server *srv;
	struct ds ds;
	ev_timer tick;
	struct cli cli[MAX_CLIS];
	int ncli;
} t;

static void
t_handler(struct http_req *req, void *arg)
{
	if (strcmp(http_req_path(req), "/agent") == 0)
		ds_agents_accept(t.ds.agents, req);
	else
		http_reply_text(req, 404, "not found");
}

static void
t_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

static void
t_setup(void)
{
	struct http_server_opts o;
	char err[256];

	log_init("check_agents");
	memset(&t, 0, sizeof(t));
	memset(test_jobs, 0, sizeof(test_jobs));
	test_njobs = 0;
	test_updates = 0;
	t.loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(t.loop);
	t.ds.loop = t.loop;
	t.ds.keys = test_keys;
	t.ds.nkeys = 1;
	t.ds.agents = ds_agents_new(&t.ds);
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.handler = t_handler;
	t.srv = http_server_new(t.loop, &o, err, sizeof(err));
	ck_assert_msg(t.srv != NULL, "http server: %s", err);
	t.ds.port = http_server_port(t.srv);
	ev_timer_init(&t.tick, t_tick_cb, 0.02, 0.02);
}

static void
t_teardown(void)
{
	int i, j;

	for (i = 0; i < t.ncli; i++) {
		ws_free(t.cli[i].ws);
		for (j = 0; j < t.cli[i].nmsgs; j++)
			lkpb_free(livekit_ServerMessage_fields, &t.cli[i].msgs[j]);
	}
	ds_agents_free(t.ds.agents);
	t.ds.agents = NULL;
	http_server_free(t.srv);
	/* Returns only when no watcher is left active. */
	ck_assert_int_eq(ev_run(t.loop, 0), 0);
	ev_loop_destroy(t.loop);
}

/* Run the loop until cond() holds; false after WAIT_S (a hang, not a timing check). */
static int
t_run_until(int (*cond)(const void *), const void *arg)
{
	int64_t deadline = lk_mono_ms() + (int64_t)(WAIT_S * 1000);
	int ok;

	ev_timer_start(t.loop, &t.tick);
	while (!(ok = cond(arg)) && lk_mono_ms() < deadline)
		ev_run(t.loop, EVRUN_ONCE);
	ev_timer_stop(t.loop, &t.tick);
	return ok;
}

static void
cli_on_open(struct ws *ws, void *arg)
{
	((struct cli *)arg)->opened = 1;
}

static void
cli_on_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct cli *c = arg;

	ck_assert_int_eq(binary, 1);
	ck_assert_int_lt(c->nmsgs, MAX_MSGS);
	ck_assert_int_eq(
	        lkpb_decode(livekit_ServerMessage_fields, &c->msgs[c->nmsgs], data, len, 1 << 20),
	        0);
	c->nmsgs++;
}

static void
cli_on_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct cli *c = arg;

	c->closed = 1;
	c->code = code;
}

static int
cond_opened(const void *arg)
{
	const struct cli *c = arg;

	return c->opened || c->closed;
}

static int
cond_closed(const void *arg)
{
	return ((const struct cli *)arg)->closed;
}

static int
cond_no_workers(const void *arg)
{
	return ds_agents_count(t.ds.agents) == 0;
}

static struct cli *
cli_new(void)
{
	static const struct ws_cbs cbs = {cli_on_open, cli_on_message, cli_on_close};
	struct ws_client_opts o;
	char url[64];
	struct cli *c;

	ck_assert_int_lt(t.ncli, MAX_CLIS);
	c = &t.cli[t.ncli++];
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/agent", (unsigned)t.ds.port);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.max_msg = 4u << 20;
	c->ws = ws_connect(t.loop, &o, &cbs, c);
	ck_assert_ptr_nonnull(c->ws);
	ck_assert(t_run_until(cond_opened, c));
	ck_assert_int_eq(c->opened, 1);
	return c;
}

static void
cli_send(struct cli *c, const livekit_WorkerMessage *m)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_WorkerMessage_fields, m, &b), 0);
	ck_assert_int_eq(ws_send(c->ws, 1, b.data, b.len), 0);
	buf_free(&b);
}

struct want {
	const struct cli *c;
	int n;
};

static int
cond_nmsgs(const void *arg)
{
	const struct want *w = arg;

	return w->c->nmsgs >= w->n || w->c->closed;
}

/* The next server message of the given oneof tag (the n-th overall). */
static livekit_ServerMessage *
cli_expect(struct cli *c, int n, pb_size_t which)
{
	struct want w = {c, n + 1};

	ck_assert_msg(t_run_until(cond_nmsgs, &w), "no server message #%d", n);
	ck_assert_msg(c->nmsgs > n, "connection closed (code %d) before message #%d", c->code, n);
	ck_assert_uint_eq(c->msgs[n].which_message, which);
	return &c->msgs[n];
}

static const char *
cli_register(struct cli *c, const char *agent_name, int type, int hidden)
{
	livekit_WorkerMessage m;
	livekit_RegisterWorkerRequest r;
	livekit_ParticipantPermission p;
	livekit_ServerMessage *s;

	memset(&p, 0, sizeof(p));
	p.can_subscribe = p.can_publish = p.can_publish_data = p.can_update_metadata = true;
	p.agent = true;
	p.hidden = hidden;
	memset(&r, 0, sizeof(r));
	r.type = (livekit_JobType)type;
	r.agent_name = (char *)agent_name;
	r.version = (char *)"1.9.0";
	r.allowed_permissions = &p;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_register__tag;
	m.message.register_ = &r;
	cli_send(c, &m);
	s = cli_expect(c, c->nmsgs, livekit_ServerMessage_register__tag);
	ck_assert_ptr_nonnull(s->message.register_->worker_id);
	ck_assert_int_eq(strncmp(s->message.register_->worker_id, "AW_", 3), 0);
	return s->message.register_->worker_id;
}

static void
cli_answer(struct cli *c, const char *job_id, int available, int terminate, const char *identity)
{
	livekit_WorkerMessage m;
	livekit_AvailabilityResponse r;
	livekit_AvailabilityResponse_ParticipantAttributesEntry attrs[2] = {
	        {(char *)"lk.agent.name", (char *)"test-agent"},
	        {(char *)"lk.agent_name", (char *)"spoofed"},
	};

	memset(&r, 0, sizeof(r));
	r.job_id = (char *)job_id;
	r.available = available;
	r.terminate = terminate;
	if (available) {
		r.participant_identity = (char *)identity;
		r.participant_name = (char *)"Test Agent";
		r.participant_attributes = attrs;
		r.participant_attributes_count = 2;
	}
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_availability_tag;
	m.message.availability = &r;
	cli_send(c, &m);
}

struct want_pong {
	const struct cli *c;
	int64_t ts;
};

static int
cond_pong(const void *arg)
{
	const struct want_pong *w = arg;
	int i;

	for (i = 0; i < w->c->nmsgs; i++)
		if (w->c->msgs[i].which_message == livekit_ServerMessage_pong_tag &&
		        w->c->msgs[i].message.pong->last_timestamp == w->ts)
			return 1;
	return w->c->closed;
}

/*
 * WorkerPing round trip. The server answers in order, so once the pong is
 * here everything it sent before has arrived too.
 */
static void
cli_ping(struct cli *c, int64_t ts)
{
	livekit_WorkerMessage m;
	livekit_WorkerPing p = {ts};
	struct want_pong w = {c, ts};
	const livekit_WorkerPong *pong;
	int i;

	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_ping_tag;
	m.message.ping = &p;
	cli_send(c, &m);
	ck_assert_msg(t_run_until(cond_pong, &w), "no pong %lld", (long long)ts);
	for (i = c->nmsgs - 1; i >= 0; i--)
		if (c->msgs[i].which_message == livekit_ServerMessage_pong_tag &&
		        c->msgs[i].message.pong->last_timestamp == ts)
			break;
	ck_assert_msg(i >= 0, "closed before pong %lld", (long long)ts);
	pong = c->msgs[i].message.pong;
	ck_assert_int_gt(pong->timestamp, 0);
}

static void
cli_update_worker(struct cli *c, int has_status, int status, float load)
{
	livekit_WorkerMessage m;
	livekit_UpdateWorkerStatus u;

	memset(&u, 0, sizeof(u));
	u.has_status = has_status;
	u.status = (livekit_WorkerStatus)status;
	u.load = load;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_update_worker_tag;
	m.message.update_worker = &u;
	cli_send(c, &m);
}

static void
cli_update_job(struct cli *c, const char *job_id, int status, const char *error)
{
	livekit_WorkerMessage m;
	livekit_UpdateJobStatus u;

	memset(&u, 0, sizeof(u));
	u.job_id = (char *)job_id;
	u.status = (livekit_JobStatus)status;
	u.error = (char *)error;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_update_job_tag;
	m.message.update_job = &u;
	cli_send(c, &m);
}

static const char *
json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
json_true_at(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* ---- tests ---- */

/*
 * The happy path the Node worker takes: register, availability, accept,
 * assignment with a room token the server signed, job status updates.
 */
START_TEST(test_register_assign)
{
	struct cli *a;
	livekit_ServerMessage *s;
	livekit_RegisterWorkerResponse *reg;
	livekit_Job *j;
	struct ds_job *job;
	json_t *claims = NULL, *video, *attrs;
	const char *wid;
	char worker_id[32];

	t_setup();
	a = cli_new();
	wid = cli_register(a, "test-agent", livekit_JobType_JT_ROOM, 0);
	lk_strlcpy(worker_id, wid, sizeof(worker_id));
	reg = a->msgs[0].message.register_;
	ck_assert_ptr_nonnull(reg->server_info);
	ck_assert_int_eq(reg->server_info->agent_protocol, 1);
	ck_assert_int_eq(reg->server_info->protocol, 17);
	ck_assert_int_eq(reg->server_info->edition, livekit_ServerInfo_Edition_Standard);
	ck_assert_ptr_nonnull(reg->server_info->version);
	ck_assert_ptr_nonnull(reg->server_info->node_id);
	ck_assert_int_eq(ds_agents_count(t.ds.agents), 1);
	ck_assert_int_eq(ds_agents_count_named(t.ds.agents, "test-agent"), 1);
	ck_assert_int_eq(ds_agents_count_named(t.ds.agents, ""), 0);

	cli_ping(a, 12345);

	job = ds_job_create(&t.ds, "AD_one", 0, "test-agent", "room1", "dispatch-meta");
	s = cli_expect(a, 2, livekit_ServerMessage_availability_tag);
	ck_assert(!s->message.availability->resuming);
	j = s->message.availability->job;
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(j->id, job->id);
	ck_assert_str_eq(j->dispatch_id, "AD_one");
	ck_assert_int_eq(j->type, livekit_JobType_JT_ROOM);
	ck_assert_str_eq(j->agent_name, "test-agent");
	ck_assert_str_eq(j->metadata, "dispatch-meta");
	ck_assert_ptr_nonnull(j->room);
	ck_assert_str_eq(j->room->name, "room1");
	ck_assert_str_eq(j->room->sid, "RM_room1");
	ck_assert_str_eq(j->room->metadata, "room-meta");
	ck_assert_int_eq(job->status, DS_JS_PENDING);

	cli_answer(a, job->id, 1, 0, "agent-x");
	s = cli_expect(a, 3, livekit_ServerMessage_assignment_tag);
	ck_assert_ptr_null(s->message.assignment->url);
	ck_assert_str_eq(s->message.assignment->job->id, job->id);
	ck_assert_ptr_nonnull(s->message.assignment->token);
	ck_assert_int_eq(jwt_verify_hs256(s->message.assignment->token, ds_secret_for, NULL,
	                         lk_wall_s(), JWT_LEEWAY_S, &claims),
	        0);
	ck_assert_str_eq(json_str(claims, "iss"), "devkey");
	ck_assert_str_eq(json_str(claims, "sub"), "agent-x");
	ck_assert_str_eq(json_str(claims, "name"), "Test Agent");
	ck_assert_str_eq(json_str(claims, "kind"), "agent");
	ck_assert_ptr_null(json_object_get(claims, "metadata"));
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")) -
	                json_integer_value(json_object_get(claims, "nbf")),
	        3600);
	video = json_object_get(claims, "video");
	ck_assert(json_true_at(video, "roomJoin"));
	ck_assert(json_true_at(video, "agent"));
	ck_assert_str_eq(json_str(video, "room"), "room1");
	ck_assert(json_true_at(video, "canSubscribe"));
	ck_assert(json_true_at(video, "canPublish"));
	ck_assert(json_true_at(video, "canPublishData"));
	ck_assert(json_true_at(video, "canUpdateOwnMetadata"));
	ck_assert_ptr_null(json_object_get(video, "hidden"));
	ck_assert_ptr_null(json_object_get(video, "roomAdmin"));
	attrs = json_object_get(claims, "attributes");
	ck_assert_str_eq(json_str(attrs, "lk.agent.name"), "test-agent");
	/* The server's own attribute wins over the worker's. */
	ck_assert_str_eq(json_str(attrs, "lk.agent_name"), "test-agent");
	json_decref(claims);

	ck_assert_int_eq(job->status, DS_JS_RUNNING);
	ck_assert_str_eq(job->worker_id, worker_id);
	ck_assert_str_eq(job->participant_identity, "agent-x");

	cli_update_job(a, job->id, livekit_JobStatus_JS_FAILED, "boom");
	cli_ping(a, 7);
	ck_assert_int_eq(job->status, DS_JS_FAILED);
	ck_assert_str_eq(job->error, "boom");
	ck_assert(!a->closed);
	t_teardown();
}
END_TEST

/* A job created before any worker waits and goes to the first one that registers. */
START_TEST(test_job_waits_for_worker)
{
	struct cli *a, *other;
	struct ds_job *job;
	livekit_ServerMessage *s;

	t_setup();
	job = ds_job_create(&t.ds, "AD_w", 0, "waiter", "room1", NULL);
	other = cli_new();
	(void)cli_register(other, "someone-else", livekit_JobType_JT_ROOM, 0);
	a = cli_new();
	(void)cli_register(a, "waiter", livekit_JobType_JT_PUBLISHER, 0);
	cli_ping(a, 1);
	ck_assert_int_eq(a->nmsgs, 2); /* wrong job type: nothing offered */
	a = cli_new();
	(void)cli_register(a, "waiter", livekit_JobType_JT_ROOM, 1);
	s = cli_expect(a, 1, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->id, job->id);
	ck_assert_ptr_null(s->message.availability->job->metadata);
	cli_answer(a, job->id, 1, 0, "");
	s = cli_expect(a, 2, livekit_ServerMessage_assignment_tag);
	{
		json_t *claims = NULL;

		ck_assert_int_eq(jwt_verify_hs256(s->message.assignment->token, ds_secret_for, NULL,
		                         lk_wall_s(), JWT_LEEWAY_S, &claims),
		        0);
		/* Empty identity: "agent-<job id>". hidden came from the registration. */
		ck_assert_str_eq(json_str(claims, "sub"), job->participant_identity);
		ck_assert_int_eq(strncmp(job->participant_identity, "agent-AJ_", 9), 0);
		ck_assert(json_true_at(json_object_get(claims, "video"), "hidden"));
		json_decref(claims);
	}
	ck_assert_int_eq(other->nmsgs, 1);
	t_teardown();
}
END_TEST

/*
 * available=false passes the job on; with nobody left it waits; a FULL
 * worker is skipped; terminate=true ends the job as a success.
 */
START_TEST(test_refuse_and_terminate)
{
	struct cli *a, *b;
	struct ds_job *job, *job2;
	livekit_ServerMessage *s;
	char bid[32];

	t_setup();
	a = cli_new();
	(void)cli_register(a, "ag", livekit_JobType_JT_ROOM, 0);
	job = ds_job_create(&t.ds, "AD_r", 0, "ag", "room1", NULL);
	s = cli_expect(a, 1, livekit_ServerMessage_availability_tag);
	cli_update_worker(a, 1, livekit_WorkerStatus_WS_FULL, 0.5f);
	cli_answer(a, job->id, 0, 0, NULL);
	cli_ping(a, 1);
	ck_assert_int_eq(job->status, DS_JS_PENDING);

	b = cli_new();
	lk_strlcpy(bid, cli_register(b, "ag", livekit_JobType_JT_ROOM, 0), sizeof(bid));
	s = cli_expect(b, 1, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->id, job->id);
	cli_answer(b, job->id, 1, 0, "agent-b");
	(void)cli_expect(b, 2, livekit_ServerMessage_assignment_tag);
	ck_assert_int_eq(job->status, DS_JS_RUNNING);
	ck_assert_str_eq(job->worker_id, bid);

	/* A worker at load >= 1 gets no jobs; back under 1 it does. */
	cli_update_worker(b, 0, 0, 1.0f);
	cli_ping(b, 2);
	job2 = ds_job_create(&t.ds, "AD_r2", 0, "ag", "room1", NULL);
	cli_ping(b, 3);
	ck_assert_int_eq(b->nmsgs, 5);
	cli_update_worker(b, 0, 0, 0.25f);
	s = cli_expect(b, 5, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->id, job2->id);
	/* terminate=true: the job ends as a success and is offered to nobody else. */
	cli_answer(b, job2->id, 0, 1, NULL);
	cli_ping(b, 4);
	ck_assert_int_eq(job2->status, DS_JS_SUCCESS);
	ck_assert_int_eq(a->nmsgs, 3);

	/* The other worker cannot report on b's job. */
	cli_update_job(a, job->id, livekit_JobStatus_JS_SUCCESS, NULL);
	cli_ping(a, 5);
	ck_assert_int_eq(job->status, DS_JS_RUNNING);
	cli_update_job(b, job->id, livekit_JobStatus_JS_SUCCESS, NULL);
	cli_ping(b, 6);
	ck_assert_int_eq(job->status, DS_JS_SUCCESS);
	t_teardown();
}
END_TEST

/* Termination reaches the worker running the job; once it is gone, nothing is sent. */
START_TEST(test_termination_and_disconnect)
{
	struct cli *a;
	struct ds_job *job;
	livekit_ServerMessage *s;

	t_setup();
	a = cli_new();
	(void)cli_register(a, "", livekit_JobType_JT_ROOM, 0);
	ck_assert_int_eq(ds_agents_count_named(t.ds.agents, ""), 1);
	job = ds_job_create(&t.ds, "AD_t", 0, "", "room1", NULL);
	(void)cli_expect(a, 1, livekit_ServerMessage_availability_tag);
	cli_answer(a, job->id, 1, 0, "agent-t");
	(void)cli_expect(a, 2, livekit_ServerMessage_assignment_tag);
	ds_agents_terminate(t.ds.agents, job);
	s = cli_expect(a, 3, livekit_ServerMessage_termination_tag);
	ck_assert_str_eq(s->message.termination->job_id, job->id);

	ws_close(a->ws, 1000, "bye");
	ck_assert(t_run_until(cond_closed, a));
	ck_assert(t_run_until(cond_no_workers, NULL));
	ds_agents_terminate(t.ds.agents, job); /* worker gone: nothing to do */
	ck_assert_int_eq(job->status, DS_JS_RUNNING); /* records are kept */
	t_teardown();
}
END_TEST

/* A worker that leaves while asked passes the job to the next one. */
START_TEST(test_disconnect_while_asked)
{
	struct cli *a, *b, *asked, *other;
	struct ds_job *job;
	livekit_ServerMessage *s;

	t_setup();
	a = cli_new();
	(void)cli_register(a, "ag", livekit_JobType_JT_ROOM, 0);
	b = cli_new();
	(void)cli_register(b, "ag", livekit_JobType_JT_ROOM, 0);
	job = ds_job_create(&t.ds, "AD_d", 0, "ag", "room1", NULL);
	cli_ping(a, 1);
	cli_ping(b, 1);
	/* Exactly one of them was asked (weighted random choice). */
	ck_assert_int_eq((a->nmsgs == 3) + (b->nmsgs == 3), 1);
	asked = a->nmsgs == 3 ? a : b;
	other = asked == a ? b : a;
	ck_assert_uint_eq(asked->msgs[1].which_message, livekit_ServerMessage_availability_tag);
	ws_abort(asked->ws);
	s = cli_expect(other, 2, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->id, job->id);
	cli_answer(other, job->id, 1, 0, "agent-o");
	(void)cli_expect(other, 3, livekit_ServerMessage_assignment_tag);
	ck_assert_int_eq(job->status, DS_JS_RUNNING);
	t_teardown();
}
END_TEST

/*
 * An unanswered availability request times out and the job goes to the next
 * worker (seen by that worker's request, not by the clock); the first
 * worker's late answer is then ignored.
 */
START_TEST(test_availability_timeout)
{
	struct cli *a, *b;
	struct ds_job *job;
	livekit_ServerMessage *s;

	t_setup();
	ds_agents_set_timeouts(t.ds.agents, 0, 0.2);
	a = cli_new();
	(void)cli_register(a, "ag", livekit_JobType_JT_ROOM, 0);
	job = ds_job_create(&t.ds, "AD_to", 0, "ag", "room1", NULL);
	(void)cli_expect(a, 1, livekit_ServerMessage_availability_tag);
	/* a stays silent and reports itself full, so only b can take the job. */
	cli_update_worker(a, 1, livekit_WorkerStatus_WS_FULL, 0.f);
	cli_ping(a, 1);
	b = cli_new();
	(void)cli_register(b, "ag", livekit_JobType_JT_ROOM, 0);
	s = cli_expect(b, 1, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->id, job->id);
	cli_answer(a, job->id, 1, 0, "late");
	cli_ping(a, 2);
	ck_assert_int_eq(job->status, DS_JS_PENDING);
	ck_assert(!a->closed);
	cli_answer(b, job->id, 1, 0, "agent-2");
	(void)cli_expect(b, 2, livekit_ServerMessage_assignment_tag);
	ck_assert_int_eq(job->status, DS_JS_RUNNING);
	ck_assert_str_eq(job->participant_identity, "agent-2");
	ck_assert_int_eq(a->nmsgs, 4); /* register, availability, two pongs */
	t_teardown();
}
END_TEST

/* Nothing but register/ping before registration; silence ends the connection. */
START_TEST(test_unregistered)
{
	struct cli *a, *b, *c;
	livekit_WorkerMessage m;
	livekit_UpdateWorkerStatus u;
	livekit_RegisterWorkerRequest r;

	t_setup();
	a = cli_new();
	cli_ping(a, 42); /* allowed before registration */
	memset(&u, 0, sizeof(u));
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_update_worker_tag;
	m.message.update_worker = &u;
	cli_send(a, &m);
	ck_assert(t_run_until(cond_closed, a));
	ck_assert_int_eq(a->code, 1008);
	ck_assert_int_eq(a->nmsgs, 1);

	c = cli_new(); /* unknown job type */
	memset(&r, 0, sizeof(r));
	r.type = (livekit_JobType)7;
	m.which_message = livekit_WorkerMessage_register__tag;
	m.message.register_ = &r;
	cli_send(c, &m);
	ck_assert(t_run_until(cond_closed, c));
	ck_assert_int_eq(c->code, 1008);
	ck_assert_int_eq(c->nmsgs, 0);

	/* Only connections made from now on get the short RegisterTimeout. */
	ds_agents_set_timeouts(t.ds.agents, 0.2, 0);
	b = cli_new(); /* never registers */
	ck_assert(t_run_until(cond_closed, b));
	ck_assert_int_eq(b->code, 1008);
	ck_assert_int_eq(b->nmsgs, 0);
	ck_assert_int_eq(ds_agents_count(t.ds.agents), 0);
	t_teardown();
}
END_TEST

/* Hostile frames close only the connection that sent them. */
START_TEST(test_malformed_frames)
{
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	struct cli *good, *bad;
	livekit_WorkerMessage m;
	livekit_RegisterWorkerRequest r;
	struct buf b;
	uint8_t *big;
	size_t bign = (2u << 20) + 16;

	t_setup();
	good = cli_new();
	(void)cli_register(good, "ag", livekit_JobType_JT_ROOM, 0);

	bad = cli_new();
	ck_assert_int_eq(ws_send(bad->ws, 1, garbage, sizeof(garbage)), 0);
	ck_assert(t_run_until(cond_closed, bad));
	ck_assert_int_eq(bad->code, 1007);

	/* A valid register cut short by one byte. */
	memset(&r, 0, sizeof(r));
	r.agent_name = (char *)"truncated-agent";
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_register__tag;
	m.message.register_ = &r;
	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_WorkerMessage_fields, &m, &b), 0);
	bad = cli_new();
	ck_assert_int_eq(ws_send(bad->ws, 1, b.data, b.len - 1), 0);
	buf_free(&b);
	ck_assert(t_run_until(cond_closed, bad));
	ck_assert_int_eq(bad->code, 1007);
	ck_assert_int_eq(bad->nmsgs, 0);

	bad = cli_new(); /* protojson text frames are refused */
	ck_assert_int_eq(ws_send(bad->ws, 0, "{\"register\":{}}", 15), 0);
	ck_assert(t_run_until(cond_closed, bad));
	ck_assert_int_eq(bad->code, 1003);

	bad = cli_new(); /* over the 2 MiB message limit */
	big = calloc(1, bign);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(ws_send(bad->ws, 1, big, bign), 0);
	free(big);
	ck_assert(t_run_until(cond_closed, bad));
	ck_assert_int_eq(bad->code, 1009);

	/* An empty submessage (0x2a 0x00: ping {}) is a valid message. */
	{
		static const uint8_t empty_ping[] = {0x2a, 0x00};
		livekit_ServerMessage *s;

		ck_assert_int_eq(ws_send(good->ws, 1, empty_ping, sizeof(empty_ping)), 0);
		s = cli_expect(good, 1, livekit_ServerMessage_pong_tag);
		ck_assert_int_eq(s->message.pong->last_timestamp, 0);
	}
	cli_ping(good, 99);
	ck_assert(!good->closed);
	ck_assert_int_eq(ds_agents_count(t.ds.agents), 1);
	t_teardown();
}
END_TEST

/* SimulateJobRequest: a job in the named room, offered to the asking worker only. */
START_TEST(test_simulate_job)
{
	struct cli *a, *b;
	livekit_WorkerMessage m;
	livekit_SimulateJobRequest sj;
	livekit_Room room;
	livekit_ServerMessage *s;

	t_setup();
	b = cli_new();
	(void)cli_register(b, "ag", livekit_JobType_JT_ROOM, 0);
	a = cli_new();
	(void)cli_register(a, "ag", livekit_JobType_JT_ROOM, 0);
	memset(&room, 0, sizeof(room));
	room.name = (char *)"room1";
	memset(&sj, 0, sizeof(sj));
	sj.room = &room;
	memset(&m, 0, sizeof(m));
	m.which_message = livekit_WorkerMessage_simulate_job_tag;
	m.message.simulate_job = &sj;
	cli_send(a, &m);
	s = cli_expect(a, 1, livekit_ServerMessage_availability_tag);
	ck_assert_str_eq(s->message.availability->job->room->name, "room1");
	ck_assert_str_eq(s->message.availability->job->agent_name, "ag");
	ck_assert_int_eq(test_njobs, 1);
	/* Refused: not offered to the other worker. */
	cli_answer(a, test_jobs[0].id, 0, 0, NULL);
	cli_ping(a, 1);
	cli_ping(b, 1);
	ck_assert_int_eq(b->nmsgs, 2);
	t_teardown();
}
END_TEST

static Suite *
agents_suite(void)
{
	Suite *s = suite_create("agents");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_register_assign);
	tcase_add_test(tc, test_job_waits_for_worker);
	tcase_add_test(tc, test_refuse_and_terminate);
	tcase_add_test(tc, test_termination_and_disconnect);
	tcase_add_test(tc, test_disconnect_while_asked);
	tcase_add_test(tc, test_availability_timeout);
	tcase_add_test(tc, test_unregistered);
	tcase_add_test(tc, test_malformed_frames);
	tcase_add_test(tc, test_simulate_job);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(agents_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
