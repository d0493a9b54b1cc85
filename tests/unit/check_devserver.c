/*
 * check_devserver: lk-devserver's core in-process: API key parsing, token
 * lookup and the grant decisions, the Twirp JSON decoders and encoders,
 * the room/dispatch/job bookkeeping, and the Twirp endpoints over a real
 * HTTP server on the test's loop (routing, auth, errors, both encodings).
 * The agents half of ds.h is replaced by recording stand-ins.
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
#include "net/http.h"
#include "proto/lkpb.h"
#include "devserver/auth.h"
#include "devserver/ds.h"
#include "devserver/rooms.h"
#include "devserver/rtc.h"
#include "devserver/twirp.h"
#include "net/ws.h"
#include "net_rawclient.h"

/* ---- stand-ins for agents.c ---- */

static struct {
	int launched;
	int terminated;
	int named; /* what ds_agents_count_named answers */
	struct ds_job *last_launch;
	struct ds_job *last_term;
} fake;

void
ds_agents_launch(struct ds_agents *ag, struct ds_job *job)
{
	fake.launched++;
	fake.last_launch = job;
}

void
ds_agents_terminate(struct ds_agents *ag, struct ds_job *job)
{
	fake.terminated++;
	fake.last_term = job;
}

int
ds_agents_count_named(const struct ds_agents *ag, const char *agent_name)
{
	return fake.named;
}

static char test_k1[] = "devkey", test_s1[] = "secret", test_k2[] = "k2",
            test_s2[] = "another-secret";
static struct ds_key test_keys[] = {{test_k1, test_s1}, {test_k2, test_s2}};

static void
test_ds_init(struct ds *ds)
{
	memset(&fake, 0, sizeof(fake));
	memset(ds, 0, sizeof(*ds));
	ds->keys = test_keys;
	ds->nkeys = 2;
	/* Non-NULL so rooms.c talks to the stand-ins; never dereferenced. */
	ds->agents = (struct ds_agents *)(void *)&fake;
	ds_rooms_init(ds);
}

static char *
test_token(const char *key, const char *secret, const char *identity, const char *grants_json,
        int64_t ttl)
{
	struct jwt_access a;
	json_error_t jerr;
	json_t *g = json_loads(grants_json, 0, &jerr);
	char *tok = NULL;

	ck_assert_ptr_nonnull(g);
	memset(&a, 0, sizeof(a));
	a.api_key = key;
	a.api_secret = secret;
	a.identity = identity;
	a.ttl_s = ttl;
	ck_assert_int_eq(jwt_access_token(&a, g, &tok), 0);
	json_decref(g);
	return tok;
}

/* ---- keys ---- */

START_TEST(test_keys_parse)
{
	struct ds_key *k;
	char err[128];
	int n;

	ck_assert_int_eq(ds_auth_parse_keys("devkey:secret", &k, &n, err, sizeof(err)), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(k[0].key, "devkey");
	ck_assert_str_eq(k[0].secret, "secret");
	ds_auth_free_keys(k, n);

	/* livekit-server LIVEKIT_KEYS form, several entries, blanks. */
	ck_assert_int_eq(
	        ds_auth_parse_keys(" a: s1 ,b:s:2\nc :  s3 ", &k, &n, err, sizeof(err)), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(k[0].key, "a");
	ck_assert_str_eq(k[0].secret, "s1");
	ck_assert_str_eq(k[1].key, "b");
	ck_assert_str_eq(k[1].secret, "s:2");
	ck_assert_str_eq(k[2].key, "c");
	ck_assert_str_eq(k[2].secret, "s3");
	ds_auth_free_keys(k, n);

	ck_assert_int_eq(ds_auth_parse_keys("", &k, &n, err, sizeof(err)), -1);
	ck_assert_int_eq(ds_auth_parse_keys("nokey", &k, &n, err, sizeof(err)), -1);
	ck_assert_int_eq(ds_auth_parse_keys(":secret", &k, &n, err, sizeof(err)), -1);
	ck_assert_int_eq(ds_auth_parse_keys("a:b,key:", &k, &n, err, sizeof(err)), -1);
	/* The message never repeats a secret. */
	ck_assert_ptr_null(strstr(err, "b,key"));
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- tokens and grants ---- */

START_TEST(test_auth_token_source)
{
	ck_assert_str_eq(ds_auth_token("Bearer abc", NULL), "abc");
	ck_assert_str_eq(ds_auth_token("bearer  abc", "q"), "abc");
	/* The header wins over the query parameter, as in livekit-server. */
	ck_assert_str_eq(ds_auth_token("Bearer h", "q"), "h");
	ck_assert_str_eq(ds_auth_token(NULL, "q"), "q");
	ck_assert_str_eq(ds_auth_token("", "q"), "q");
	ck_assert_ptr_null(ds_auth_token("Basic abc", "q"));
	ck_assert_ptr_null(ds_auth_token("Bearer ", NULL));
	ck_assert_ptr_null(ds_auth_token(NULL, NULL));
}
END_TEST

START_TEST(test_auth_verify)
{
	struct ds ds;
	struct ds_auth a;
	const char *why = NULL;
	char *tok;

	test_ds_init(&ds);
	tok = test_token("devkey", "secret", "alice", "{\"roomJoin\":true,\"room\":\"r1\"}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert_str_eq(a.identity, "alice");
	ck_assert_str_eq(a.api_key, "devkey");
	ck_assert_str_eq(ds_auth_grant_str(&a, "room"), "r1");
	ck_assert(ds_auth_check_rtc(&a, &why) == 0);
	ck_assert(ds_auth_check_agent(&a, &why) == LK_EAUTH);
	ds_auth_clear(&a);
	/* Expired beyond the 60 s leeway. */
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s() + 600 + 61, &a, &why), LK_EEXPIRED);
	ck_assert_ptr_nonnull(why);
	/* Within the leeway. */
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s() + 600 + 30, &a, &why), 0);
	ds_auth_clear(&a);
	free(tok);

	/* Second key works; a wrong secret or an unknown key does not. */
	tok = test_token("k2", "another-secret", "bob", "{\"agent\":true}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert(ds_auth_check_agent(&a, &why) == 0);
	ds_auth_clear(&a);
	free(tok);
	tok = test_token("devkey", "wrong", "bob", "{\"agent\":true}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), LK_EAUTH);
	free(tok);
	tok = test_token("nokey", "secret", "bob", "{\"agent\":true}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), LK_EAUTH);
	free(tok);
	ck_assert_int_eq(ds_auth_verify(&ds, NULL, lk_wall_s(), &a, &why), LK_EAUTH);
	ck_assert_int_eq(ds_auth_verify(&ds, "garbage", lk_wall_s(), &a, &why), LK_EAUTH);
	ds_rooms_free(&ds);
}
END_TEST

static int
test_grant_ok(struct ds *ds, const char *grants, const char *method, const char *room)
{
	struct ds_auth a;
	const char *why = NULL;
	char *tok = test_token("devkey", "secret", "admin", grants, 600);
	int rc;

	ck_assert_int_eq(ds_auth_verify(ds, tok, lk_wall_s(), &a, &why), 0);
	rc = ds_auth_check_twirp(&a, method, room, &why) == 0;
	if (!rc)
		ck_assert_ptr_nonnull(why);
	ds_auth_clear(&a);
	free(tok);
	return rc;
}

START_TEST(test_auth_twirp_grants)
{
	struct ds ds;

	test_ds_init(&ds);
	ck_assert(test_grant_ok(&ds, "{\"roomCreate\":true}", "RoomService/CreateRoom", NULL));
	ck_assert(test_grant_ok(&ds, "{\"roomCreate\":true}", "RoomService/DeleteRoom", NULL));
	ck_assert(!test_grant_ok(&ds, "{\"roomList\":true}", "RoomService/CreateRoom", NULL));
	ck_assert(test_grant_ok(&ds, "{\"roomList\":true}", "RoomService/ListRooms", NULL));
	ck_assert(!test_grant_ok(&ds, "{\"roomCreate\":true}", "RoomService/ListRooms", NULL));
	ck_assert(test_grant_ok(
	        &ds, "{\"roomAdmin\":true,\"room\":\"r\"}", "RoomService/ListParticipants", "r"));
	ck_assert(!test_grant_ok(&ds, "{\"roomAdmin\":true,\"room\":\"r\"}",
	        "RoomService/ListParticipants", "other"));
	ck_assert(!test_grant_ok(&ds, "{\"roomAdmin\":true}", "RoomService/ListParticipants", "r"));
	ck_assert(!test_grant_ok(&ds, "{\"room\":\"r\"}", "RoomService/ListParticipants", "r"));
	ck_assert(test_grant_ok(&ds, "{\"roomAdmin\":true,\"room\":\"r\"}",
	        "AgentDispatchService/CreateDispatch", "r"));
	ck_assert(!test_grant_ok(&ds, "{\"roomAdmin\":true,\"room\":\"r\"}",
	        "AgentDispatchService/DeleteDispatch", "x"));
	ck_assert(!test_grant_ok(&ds, "{\"roomAdmin\":\"yes\",\"room\":\"r\"}",
	        "AgentDispatchService/ListDispatch", "r"));
	ds_rooms_free(&ds);
}
END_TEST

START_TEST(test_auth_rtc_grants)
{
	struct ds ds;
	struct ds_auth a;
	const char *why = NULL;
	char *tok;

	test_ds_init(&ds);
	tok = test_token("devkey", "secret", "alice", "{\"room\":\"r1\"}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert_int_eq(ds_auth_check_rtc(&a, &why), LK_EAUTH);
	ds_auth_clear(&a);
	free(tok);
	tok = test_token("devkey", "secret", "alice", "{\"roomJoin\":true}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert_int_eq(ds_auth_check_rtc(&a, &why), LK_EAUTH);
	ds_auth_clear(&a);
	free(tok);
	tok = test_token("devkey", "secret", NULL, "{\"roomJoin\":true,\"room\":\"r\"}", 600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert_int_eq(ds_auth_check_rtc(&a, &why), LK_EAUTH);
	/* Permissions default to allowed when the token says nothing. */
	ck_assert(ds_auth_grant_default_true(&a, "canPublish"));
	ds_auth_clear(&a);
	free(tok);
	tok = test_token("devkey", "secret", "a",
	        "{\"roomJoin\":true,\"room\":\"r\","
	        "\"canPublish\":false}",
	        600);
	ck_assert_int_eq(ds_auth_verify(&ds, tok, lk_wall_s(), &a, &why), 0);
	ck_assert(!ds_auth_grant_default_true(&a, "canPublish"));
	ck_assert(ds_auth_grant_default_true(&a, "canSubscribe"));
	ck_assert_int_eq(ds_auth_kind(&a), 0);
	ds_auth_clear(&a);
	free(tok);
	ds_rooms_free(&ds);
}
END_TEST

/* ---- JSON decoders ---- */

static int
test_dec(const pb_msgdesc_t *fields, void *msg, const char *json)
{
	char why[DS_TWIRP_WHY_MAX];
	int rc = ds_twirp_json_decode(
	        fields, msg, (const uint8_t *)json, strlen(json), why, sizeof(why));

	if (rc < 0)
		ck_assert(why[0] != '\0');
	return rc;
}

START_TEST(test_json_create_room)
{
	livekit_CreateRoomRequest m;

	/* livekit-server-sdk: lowerCamelCase, defaults omitted. */
	ck_assert_int_eq(
	        test_dec(livekit_CreateRoomRequest_fields, &m,
	                "{\"name\":\"myroom\",\"emptyTimeout\":60,\"departureTimeout\":\"7\","
	                "\"maxParticipants\":3.0,\"metadata\":\"m\",\"syncStreams\":true,"
	                "\"agents\":[{\"agentName\":\"a1\",\"metadata\":\"x\",\"restartPolicy\":\"JRP_NEVER\"},"
	                "{\"agent_name\":\"a2\"}],\"tags\":{\"t\":\"v\"},\"egress\":{\"room\":{}},"
	                "\"unknownField\":[1,2]}"),
	        0);
	ck_assert_str_eq(m.name, "myroom");
	ck_assert_uint_eq(m.empty_timeout, 60);
	ck_assert_uint_eq(m.departure_timeout, 7);
	ck_assert_uint_eq(m.max_participants, 3);
	ck_assert_str_eq(m.metadata, "m");
	ck_assert(m.sync_streams);
	ck_assert_uint_eq(m.agents_count, 2);
	ck_assert_str_eq(m.agents[0].agent_name, "a1");
	ck_assert_str_eq(m.agents[0].metadata, "x");
	ck_assert_int_eq(m.agents[0].restart_policy, livekit_JobRestartPolicy_JRP_NEVER);
	ck_assert_str_eq(m.agents[1].agent_name, "a2");
	ck_assert_ptr_null(m.agents[1].metadata);
	ck_assert_uint_eq(m.tags_count, 1);
	ck_assert_str_eq(m.tags[0].key, "t");
	ck_assert_str_eq(m.tags[0].value, "v");
	lkpb_free(livekit_CreateRoomRequest_fields, &m);

	/* Proto names work too, and null means the default. */
	ck_assert_int_eq(
	        test_dec(livekit_CreateRoomRequest_fields, &m,
	                "{\"name\":\"r\",\"empty_timeout\":5,\"metadata\":null,\"agents\":null}"),
	        0);
	ck_assert_str_eq(m.name, "r");
	ck_assert_uint_eq(m.empty_timeout, 5);
	ck_assert_ptr_null(m.metadata);
	ck_assert_uint_eq(m.agents_count, 0);
	lkpb_free(livekit_CreateRoomRequest_fields, &m);

	ck_assert_int_eq(test_dec(livekit_CreateRoomRequest_fields, &m, "{}"), 0);
	ck_assert_ptr_null(m.name);
	lkpb_free(livekit_CreateRoomRequest_fields, &m);
}
END_TEST

START_TEST(test_json_malformed)
{
	static const char *const bad[] = {
	        "",
	        " ",
	        "[]",
	        "\"x\"",
	        "null",
	        "{",
	        "{} x",
	        "{\"name\":5}",
	        "{\"name\":[\"a\"]}",
	        "{\"emptyTimeout\":-1}",
	        "{\"emptyTimeout\":4294967296}",
	        "{\"emptyTimeout\":1.5}",
	        "{\"emptyTimeout\":\"12a\"}",
	        "{\"emptyTimeout\":\"\"}",
	        "{\"emptyTimeout\":true}",
	        "{\"syncStreams\":\"true\"}",
	        "{\"agents\":{}}",
	        "{\"agents\":[1]}",
	        "{\"agents\":[{\"agentName\":1}]}",
	        "{\"tags\":[]}",
	        "{\"tags\":{\"a\":1}}",
	        "{\"name\":\"a\",\"name\":\"b\"}",
	};
	livekit_CreateRoomRequest m;
	livekit_ListRoomsRequest l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(test_dec(livekit_CreateRoomRequest_fields, &m, bad[i]) == LK_EINVAL,
		        "accepted: %s", bad[i]);
		/* Whatever was allocated before the error is releasable. */
		lkpb_free(livekit_CreateRoomRequest_fields, &m);
	}
	ck_assert_int_eq(
	        test_dec(livekit_ListRoomsRequest_fields, &l, "{\"names\":[\"a\",2]}"), LK_EINVAL);
	lkpb_free(livekit_ListRoomsRequest_fields, &l);
	ck_assert_int_eq(
	        test_dec(livekit_ListRoomsRequest_fields, &l, "{\"names\":\"a\"}"), LK_EINVAL);
	lkpb_free(livekit_ListRoomsRequest_fields, &l);
}
END_TEST

START_TEST(test_json_other_requests)
{
	livekit_ListRoomsRequest l;
	livekit_DeleteRoomRequest d;
	livekit_ListParticipantsRequest p;
	livekit_CreateAgentDispatchRequest c;
	livekit_ListAgentDispatchRequest ld;
	livekit_DeleteAgentDispatchRequest dd;

	ck_assert_int_eq(
	        test_dec(livekit_ListRoomsRequest_fields, &l, "{\"names\":[\"a\",\"b\"]}"), 0);
	ck_assert_uint_eq(l.names_count, 2);
	ck_assert_str_eq(l.names[1], "b");
	lkpb_free(livekit_ListRoomsRequest_fields, &l);
	ck_assert_int_eq(test_dec(livekit_DeleteRoomRequest_fields, &d, "{\"room\":\"r\"}"), 0);
	ck_assert_str_eq(d.room, "r");
	lkpb_free(livekit_DeleteRoomRequest_fields, &d);
	ck_assert_int_eq(
	        test_dec(livekit_ListParticipantsRequest_fields, &p, "{\"room\":\"r\"}"), 0);
	ck_assert_str_eq(p.room, "r");
	lkpb_free(livekit_ListParticipantsRequest_fields, &p);
	/* What AgentDispatchClient.createDispatch sends. */
	ck_assert_int_eq(
	        test_dec(livekit_CreateAgentDispatchRequest_fields, &c,
	                "{\"agentName\":\"test-agent\",\"room\":\"myroom\",\"metadata\":\"{\\\"k\\\":\\\"v\\\"}\","
	                "\"attributes\":{\"x\":\"y\"}}"),
	        0);
	ck_assert_str_eq(c.agent_name, "test-agent");
	ck_assert_str_eq(c.room, "myroom");
	ck_assert_str_eq(c.metadata, "{\"k\":\"v\"}");
	ck_assert_uint_eq(c.attributes_count, 1);
	lkpb_free(livekit_CreateAgentDispatchRequest_fields, &c);
	ck_assert_int_eq(test_dec(livekit_ListAgentDispatchRequest_fields, &ld,
	                         "{\"dispatchId\":\"AD_1\",\"room\":\"r\"}"),
	        0);
	ck_assert_str_eq(ld.dispatch_id, "AD_1");
	lkpb_free(livekit_ListAgentDispatchRequest_fields, &ld);
	ck_assert_int_eq(test_dec(livekit_DeleteAgentDispatchRequest_fields, &dd,
	                         "{\"dispatch_id\":\"AD_2\",\"room\":\"r\"}"),
	        0);
	ck_assert_str_eq(dd.dispatch_id, "AD_2");
	ck_assert_str_eq(dd.room, "r");
	lkpb_free(livekit_DeleteAgentDispatchRequest_fields, &dd);
}
END_TEST

/* ---- bookkeeping ---- */

static int kicks;
static int kick_reason;

static void
test_kick(struct ds_participant *p, int reason, void *arg)
{
	kicks++;
	kick_reason = reason;
}

START_TEST(test_rooms_automatic_dispatch)
{
	struct ds ds;
	struct ds_room *r, *r2;
	int created;

	test_ds_init(&ds);
	/* No worker named "": the automatic dispatch exists but launches nothing. */
	r = ds_room_get(&ds, "a", NULL, &created);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(strncmp(r->sid, "RM_", 3), 0);
	ck_assert_int_eq(r->ndispatches, 1);
	ck_assert_str_eq(r->dispatches->agent_name, "");
	ck_assert_int_eq(r->dispatches->njobs, 0);
	ck_assert_int_eq(fake.launched, 0);
	ck_assert_uint_eq(r->empty_timeout, DS_DEFAULT_EMPTY_TIMEOUT);
	/* Idempotent by name. */
	r2 = ds_room_get(&ds, "a", NULL, &created);
	ck_assert_ptr_eq(r, r2);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(ds_room_count(&ds), 1);
	/* With a worker for "" the automatic dispatch launches one JT_ROOM job. */
	fake.named = 1;
	r = ds_room_get(&ds, "b", NULL, &created);
	ck_assert_int_eq(r->dispatches->njobs, 1);
	ck_assert_int_eq(fake.launched, 1);
	ck_assert_ptr_eq(fake.last_launch, r->dispatches->jobs[0]);
	ck_assert_int_eq(r->dispatches->jobs[0]->type, 0);
	ck_assert_str_eq(r->dispatches->jobs[0]->room_sid, r->sid);
	ck_assert_str_eq(r->dispatches->jobs[0]->dispatch_id, r->dispatches->id);
	ck_assert_ptr_null(ds_room_get(&ds, "", NULL, &created));
	ds_rooms_free(&ds);
}
END_TEST

START_TEST(test_rooms_explicit_dispatch)
{
	struct ds_agent_spec specs[] = {{"a1", "m1"}, {"a2", NULL}};
	struct ds_room_opts opts;
	struct ds ds;
	struct ds_room *r;
	struct ds_dispatch *d;
	struct ds_job *j1, *j2;
	char sid[32];
	const char *meta = NULL;

	test_ds_init(&ds);
	memset(&opts, 0, sizeof(opts));
	opts.agents = specs;
	opts.nagents = 2;
	opts.metadata = "room-meta";
	opts.empty_timeout = 60;
	r = ds_room_get(&ds, "x", &opts, NULL);
	ck_assert_int_eq(r->ndispatches, 2);
	ck_assert_int_eq(fake.launched, 2);
	ck_assert_uint_eq(r->empty_timeout, 60);
	ck_assert_uint_eq(r->departure_timeout, DS_DEFAULT_DEPARTURE_TIMEOUT);
	j1 = r->dispatches->jobs[0];
	j2 = r->dispatches->next->jobs[0];
	ck_assert_str_eq(j1->agent_name, "a1");
	ck_assert_str_eq(j1->metadata, "m1");
	ck_assert_str_eq(j2->agent_name, "a2");
	ck_assert_int_eq(strncmp(j1->id, "AJ_", 3), 0);
	ck_assert_ptr_eq(ds_job_find(&ds, j2->id), j2);
	ck_assert_ptr_null(ds_job_find(&ds, "AJ_nope"));
	ck_assert_int_eq(ds_room_lookup(&ds, "x", sid, sizeof(sid), &meta), 0);
	ck_assert_str_eq(sid, r->sid);
	ck_assert_str_eq(meta, "room-meta");
	ck_assert_int_eq(ds_room_lookup(&ds, "nope", sid, sizeof(sid), &meta), LK_ENOTFOUND);

	/* CreateDispatch on an existing room. */
	d = ds_dispatch_create(&ds, r, "a3", "md");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(strncmp(d->id, "AD_", 3), 0);
	ck_assert_ptr_eq(ds_dispatch_find(r, d->id), d);
	ck_assert_int_eq(d->njobs, 1);
	ck_assert_int_eq(d->jobs[0]->status, DS_JS_PENDING);
	ck_assert_int_eq(ds.njobs, 3);

	/* Job life: RUNNING sets started_at, an end sets ended_at once and sticks. */
	strcpy(j1->worker_id, "AW_1");
	ds_job_update(&ds, j1, DS_JS_RUNNING, NULL);
	ck_assert_int_eq(j1->status, DS_JS_RUNNING);
	ck_assert(j1->started_at_ns > 0);
	ck_assert(j1->ended_at_ns == 0);
	ds_job_update(&ds, j1, DS_JS_SUCCESS, NULL);
	ck_assert(j1->ended_at_ns >= j1->started_at_ns);
	ds_job_update(&ds, j1, DS_JS_RUNNING, NULL);
	ck_assert_int_eq(j1->status, DS_JS_SUCCESS);

	/* Deleting a dispatch: running jobs get JobTermination, pending ones end FAILED. */
	ds_job_update(&ds, j2, DS_JS_RUNNING, NULL);
	ds_dispatch_delete(&ds, r, r->dispatches->next);
	ck_assert_int_eq(fake.terminated, 1);
	ck_assert_ptr_eq(fake.last_term, j2);
	ck_assert_int_eq(j2->status, DS_JS_RUNNING);
	ck_assert_int_eq(r->ndispatches, 2);
	j2 = d->jobs[0];
	ds_dispatch_delete(&ds, r, d);
	ck_assert_int_eq(j2->status, DS_JS_FAILED);
	ck_assert_str_eq(j2->error, "dispatch deleted");
	ck_assert_int_eq(r->ndispatches, 1);
	/* Jobs outlive their dispatch for /debug/jobs. */
	ck_assert_ptr_eq(ds_job_find(&ds, j2->id), j2);
	ds_rooms_free(&ds);
}
END_TEST

START_TEST(test_rooms_participants)
{
	struct ds_room_opts opts;
	struct ds ds;
	struct ds_room *r;
	struct ds_participant *a, *b, *c;
	livekit_Room pr;
	livekit_ParticipantInfo pi;
	struct ds_arena ar = {0};

	test_ds_init(&ds);
	memset(&opts, 0, sizeof(opts));
	opts.max_participants = 2;
	r = ds_room_get(&ds, "p", &opts, NULL);
	a = ds_participant_add(r, "alice", "Alice", "", 0);
	b = ds_participant_add(r, "agent-1", "", "", 4);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(ds_participant_add(r, "carol", "", "", 0));
	ck_assert_int_eq(strncmp(a->sid, "PA_", 3), 0);
	ck_assert_ptr_eq(ds_participant_find(r, "agent-1"), b);
	ds_participant_set_attr(a, "k", "v");
	ds_room_pb(r, &pr);
	/* The agent does not count in num_participants (livekit IsDependent). */
	ck_assert_uint_eq(pr.num_participants, 1);
	ck_assert_str_eq(pr.sid, r->sid);
	ds_participant_pb(&ar, a, &pi);
	ck_assert_str_eq(pi.identity, "alice");
	ck_assert_int_eq(pi.state, livekit_ParticipantInfo_State_JOINED);
	ck_assert_uint_eq(pi.attributes_count, 1);
	ck_assert_ptr_nonnull(pi.permission);
	ds_arena_free(&ar);
	ds_participant_remove(r, b);
	ck_assert_int_eq(r->nparticipants, 1);
	c = ds_participant_add(r, "carol", "", "", 0);
	ck_assert_ptr_nonnull(c);

	/* DeleteRoom kicks everyone with the reason and terminates jobs. */
	a->kick = test_kick;
	c->kick = test_kick;
	kicks = 0;
	fake.named = 1;
	r = ds_room_get(&ds, "q", NULL, NULL);
	ds_job_update(&ds, r->dispatches->jobs[0], DS_JS_RUNNING, NULL);
	ds_room_delete(&ds, ds_room_find(&ds, "p"), livekit_DisconnectReason_ROOM_DELETED);
	ck_assert_int_eq(kicks, 2);
	ck_assert_int_eq(kick_reason, livekit_DisconnectReason_ROOM_DELETED);
	ck_assert_ptr_null(ds_room_find(&ds, "p"));
	ds_room_delete(&ds, r, livekit_DisconnectReason_ROOM_DELETED);
	ck_assert_int_eq(fake.terminated, 1);
	ck_assert_int_eq(ds_room_count(&ds), 0);
	ck_assert_ptr_null(ds_room_first(&ds));
	/* The table still works after the list emptied. */
	ck_assert_ptr_nonnull(ds_room_get(&ds, "again", NULL, NULL));
	ck_assert_int_eq(ds_room_count(&ds), 1);
	ds_rooms_free(&ds);
}
END_TEST

/* ---- JSON encoders ---- */

START_TEST(test_json_encode)
{
	struct ds ds;
	struct ds_room *r;
	struct ds_dispatch *d;
	livekit_Room pr;
	livekit_AgentDispatch pd;
	struct ds_arena ar = {0};
	json_t *j, *jobs, *arr;
	char *s;

	test_ds_init(&ds);
	r = ds_room_get(&ds, "enc", NULL, NULL);
	ds_room_pb(r, &pr);
	j = ds_twirp_json_encode(livekit_Room_fields, &pr);
	ck_assert_str_eq(json_string_value(json_object_get(j, "sid")), r->sid);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "enc");
	/* int64 as strings, proto field names. */
	ck_assert(json_is_string(json_object_get(j, "creation_time")));
	ck_assert(json_is_integer(json_object_get(j, "num_participants")));
	ck_assert(json_is_integer(json_object_get(j, "empty_timeout")));
	json_decref(j);

	d = ds_dispatch_create(&ds, r, "ag", "meta");
	ds_dispatch_pb(&ar, r, d, &pd);
	j = ds_twirp_json_encode(livekit_AgentDispatch_fields, &pd);
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), d->id);
	ck_assert_str_eq(json_string_value(json_object_get(j, "agent_name")), "ag");
	ck_assert_str_eq(json_string_value(json_object_get(j, "room")), "enc");
	jobs = json_object_get(json_object_get(j, "state"), "jobs");
	ck_assert_msg(json_array_size(jobs) == 1, "%s", s);
	ck_assert_str_eq(
	        json_string_value(json_object_get(json_array_get(jobs, 0), "type")), "JT_ROOM");
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_object_get(json_array_get(jobs, 0), "state"), "status")),
	        "JS_PENDING");
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_object_get(json_array_get(jobs, 0), "room"), "name")),
	        "enc");
	free(s);
	json_decref(j);
	ds_arena_free(&ar);

	/* /debug/jobs: oldest first, status names. */
	ds_dispatch_create(&ds, r, "second", "");
	arr = ds_twirp_jobs_json(&ds);
	ck_assert_uint_eq(json_array_size(arr), 2);
	ck_assert_str_eq(
	        json_string_value(json_object_get(json_array_get(arr, 0), "agent_name")), "ag");
	ck_assert_str_eq(
	        json_string_value(json_object_get(json_array_get(arr, 1), "status")), "JS_PENDING");
	json_decref(arr);
	ds_rooms_free(&ds);
}
END_TEST

/* ---- Twirp over HTTP ---- */

struct tw_env {
	struct ds ds;
	struct ev_loop *loop;
	struct http_server *srv;
	uint16_t port;
};

static void
tw_handler(struct http_req *req, void *arg)
{
	struct tw_env *e = arg;

	ds_twirp_handle(&e->ds, req, http_req_path(req));
}

static void
tw_done(struct rawc *rc)
{
	ev_break(rc->loop, EVBREAK_ONE);
}

static void
tw_env_start(struct tw_env *e)
{
	struct http_server_opts o;
	char err[128];

	test_ds_init(&e->ds);
	e->loop = ev_loop_new(EVFLAG_AUTO);
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.handler = tw_handler;
	o.arg = e;
	e->srv = http_server_new(e->loop, &o, err, sizeof(err));
	ck_assert_msg(e->srv != NULL, "%s", err);
	e->port = http_server_port(e->srv);
}

static void
tw_env_stop(struct tw_env *e)
{
	http_server_free(e->srv);
	/* Every watcher is gone: the loop has nothing left to run. */
	ck_assert_int_eq(ev_run(e->loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(e->loop);
	ds_rooms_free(&e->ds);
}

static size_t tw_body_len;

/* One request; returns the status and copies the body into body (length in tw_body_len). */
static int
tw_call(struct tw_env *e, const char *path, const char *ctype, const char *grants, const void *data,
        size_t len, char *body, size_t bodylen)
{
	struct buf req;
	struct rawc rc;
	const char *b;
	char *tok = grants != NULL ? test_token("devkey", "secret", "t", grants, 600) : NULL;
	size_t n;
	int status;

	buf_init(&req, 0);
	buf_printf(&req,
	        "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	        "Content-Type: %s\r\nContent-Length: %zu\r\n",
	        path, ctype, len);
	if (tok != NULL)
		buf_printf(&req, "Authorization: Bearer %s\r\n", tok);
	buf_append(&req, "\r\n", 2);
	buf_append(&req, data, len);
	ck_assert_int_eq(rawc_start(&rc, e->loop, e->port, req.data, req.len), 0);
	rc.on_done = tw_done;
	ev_run(e->loop, 0);
	status = rawc_status(&rc);
	b = rawc_body(&rc, &n);
	if (b == NULL || bodylen == 0)
		n = 0;
	if (n >= bodylen)
		n = bodylen - 1;
	if (n > 0)
		memcpy(body, b, n);
	body[n] = '\0';
	tw_body_len = n;
	rawc_free(&rc);
	buf_free(&req);
	free(tok);
	return status;
}

/* A JSON call with a C-string body. */
static int
tw_json(struct tw_env *e, const char *path, const char *grants, const char *json, char *body,
        size_t bodylen)
{
	return tw_call(e, path, "application/json;charset=UTF-8", grants, json, strlen(json), body,
	        bodylen);
}

#define TW_ROOM "/twirp/livekit.RoomService/"
#define TW_DISP "/twirp/livekit.AgentDispatchService/"

START_TEST(test_twirp_http)
{
	struct tw_env e;
	char body[8192];
	json_t *j;
	json_error_t jerr;
	const char *id;
	char did[64];

	tw_env_start(&e);
	/* Unknown method, wrong content type, no token, bad JSON, bad grant. */
	ck_assert_int_eq(
	        tw_json(&e, TW_ROOM "Nope", "{\"roomCreate\":true}", "{}", body, sizeof(body)),
	        404);
	ck_assert_ptr_nonnull(strstr(body, "\"bad_route\""));
	ck_assert_int_eq(tw_call(&e, TW_ROOM "CreateRoom", "text/plain", "{\"roomCreate\":true}",
	                         "{}", 2, body, sizeof(body)),
	        404);
	ck_assert_int_eq(
	        tw_json(&e, TW_ROOM "CreateRoom", NULL, "{\"name\":\"r\"}", body, sizeof(body)),
	        401);
	ck_assert_ptr_nonnull(strstr(body, "\"unauthenticated\""));
	ck_assert_int_eq(tw_json(&e, TW_ROOM "CreateRoom", "{\"roomCreate\":true}",
	                         "{\"name\":", body, sizeof(body)),
	        400);
	ck_assert_ptr_nonnull(strstr(body, "\"malformed\""));
	ck_assert_int_eq(tw_json(&e, TW_ROOM "CreateRoom", "{\"roomList\":true}",
	                         "{\"name\":\"r\"}", body, sizeof(body)),
	        401);
	ck_assert_int_eq(ds_room_count(&e.ds), 0);

	/* CreateRoom -> Room JSON. */
	ck_assert_int_eq(tw_json(&e, TW_ROOM "CreateRoom", "{\"roomCreate\":true}",
	                         "{\"name\":\"r\",\"emptyTimeout\":60}", body, sizeof(body)),
	        200);
	j = json_loads(body, 0, &jerr);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "r");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "empty_timeout")), 60);
	json_decref(j);

	/* ListRooms with and without the filter. */
	ck_assert_int_eq(
	        tw_json(&e, TW_ROOM "ListRooms", "{\"roomList\":true}", "{}", body, sizeof(body)),
	        200);
	ck_assert_ptr_nonnull(strstr(body, "\"name\":\"r\""));
	ck_assert_int_eq(tw_json(&e, TW_ROOM "ListRooms", "{\"roomList\":true}",
	                         "{\"names\":[\"zz\"]}", body, sizeof(body)),
	        200);
	ck_assert_str_eq(body, "{\"rooms\":[]}");

	/* CreateDispatch needs roomAdmin for exactly that room. */
	ck_assert_int_eq(
	        tw_json(&e, TW_DISP "CreateDispatch", "{\"roomAdmin\":true,\"room\":\"other\"}",
	                "{\"agentName\":\"a\",\"room\":\"r\"}", body, sizeof(body)),
	        401);
	ck_assert_int_eq(
	        tw_json(&e, TW_DISP "CreateDispatch", "{\"roomAdmin\":true,\"room\":\"r\"}",
	                "{\"agentName\":\"a\",\"room\":\"r\"}", body, sizeof(body)),
	        200);
	j = json_loads(body, 0, &jerr);
	ck_assert_ptr_nonnull(j);
	id = json_string_value(json_object_get(j, "id"));
	ck_assert_ptr_nonnull(id);
	lk_strlcpy(did, id, sizeof(did));
	json_decref(j);
	ck_assert_int_eq(fake.launched, 1);

	/* ListDispatch: the automatic dispatch and ours, with its job. */
	ck_assert_int_eq(tw_json(&e, TW_DISP "ListDispatch", "{\"roomAdmin\":true,\"room\":\"r\"}",
	                         "{\"room\":\"r\"}", body, sizeof(body)),
	        200);
	ck_assert_ptr_nonnull(strstr(body, did));
	ck_assert_ptr_nonnull(strstr(body, "\"JS_PENDING\""));

	/* DeleteDispatch; again is not_found. */
	snprintf(body, sizeof(body), "{\"dispatchId\":\"%s\",\"room\":\"r\"}", did);
	ck_assert_int_eq(tw_json(&e, TW_DISP "DeleteDispatch",
	                         "{\"roomAdmin\":true,\"room\":\"r\"}", body, body, sizeof(body)),
	        200);
	snprintf(body, sizeof(body), "{\"dispatchId\":\"%s\",\"room\":\"r\"}", did);
	ck_assert_int_eq(tw_json(&e, TW_DISP "DeleteDispatch",
	                         "{\"roomAdmin\":true,\"room\":\"r\"}", body, body, sizeof(body)),
	        404);
	ck_assert_ptr_nonnull(strstr(body, "\"not_found\""));

	/* ListParticipants of an empty room; DeleteRoom; then it is gone. */
	ck_assert_int_eq(
	        tw_json(&e, TW_ROOM "ListParticipants", "{\"roomAdmin\":true,\"room\":\"r\"}",
	                "{\"room\":\"r\"}", body, sizeof(body)),
	        200);
	ck_assert_str_eq(body, "{\"participants\":[]}");
	ck_assert_int_eq(tw_json(&e, TW_ROOM "DeleteRoom", "{\"roomCreate\":true}",
	                         "{\"room\":\"r\"}", body, sizeof(body)),
	        200);
	ck_assert_str_eq(body, "{}");
	ck_assert_int_eq(tw_json(&e, TW_ROOM "DeleteRoom", "{\"roomCreate\":true}",
	                         "{\"room\":\"r\"}", body, sizeof(body)),
	        404);
	ck_assert_int_eq(ds_room_count(&e.ds), 0);
	tw_env_stop(&e);
}
END_TEST

START_TEST(test_twirp_protobuf)
{
	struct tw_env e;
	livekit_CreateRoomRequest req;
	livekit_Room room;
	struct buf b;
	char body[4096];
	int status;

	tw_env_start(&e);
	memset(&req, 0, sizeof(req));
	req.name = (char *)"pbroom";
	req.max_participants = 5;
	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_CreateRoomRequest_fields, &req, &b), 0);
	/* Truncated protobuf is malformed. */
	status = tw_call(&e, TW_ROOM "CreateRoom", "application/protobuf", "{\"roomCreate\":true}",
	        b.data, b.len - 1, body, sizeof(body));
	ck_assert_int_eq(status, 400);
	ck_assert_int_eq(ds_room_count(&e.ds), 0);
	status = tw_call(&e, TW_ROOM "CreateRoom", "application/protobuf", "{\"roomCreate\":true}",
	        b.data, b.len, body, sizeof(body));
	ck_assert_int_eq(status, 200);
	buf_free(&b);
	ck_assert_int_eq(ds_room_count(&e.ds), 1);
	ck_assert_uint_eq(ds_room_first(&e.ds)->max_participants, 5);
	/* The reply is a protobuf Room (body is binary; decode what came back). */
	ck_assert_int_eq(
	        lkpb_decode(livekit_Room_fields, &room, (const uint8_t *)body, tw_body_len, 4096),
	        0);
	ck_assert_str_eq(room.name, "pbroom");
	ck_assert_uint_eq(room.max_participants, 5);
	lkpb_free(livekit_Room_fields, &room);
	tw_env_stop(&e);
}
END_TEST

/* ---- /rtc signalling over a real WebSocket ---- */

#define RT_MAX_MSGS 16

struct rt_env {
	struct ds ds;
	struct ds_rtc *rtc;
	struct ev_loop *loop;
	struct http_server *srv;
	uint16_t port;
	ev_timer guard;
	int timed_out;
};

struct rt_cli {
	struct ws *ws;
	livekit_SignalResponse msgs[RT_MAX_MSGS];
	int nmsgs;
	int closed;
	int close_code;
	int http_status;
};

static void
rt_handler(struct http_req *req, void *arg)
{
	struct rt_env *e = arg;

	if (ds_rtc_path(http_req_path(req)))
		ds_rtc_handle(e->rtc, req, http_req_path(req));
	else
		http_reply_text(req, 404, "not found");
}

static void
rt_guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rt_env *e = w->data;

	e->timed_out = 1;
}

static void
rt_on_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct rt_cli *c = arg;

	ck_assert(binary);
	ck_assert_int_lt(c->nmsgs, RT_MAX_MSGS);
	ck_assert_int_eq(lkpb_decode(livekit_SignalResponse_fields, &c->msgs[c->nmsgs], data, len,
	                         DS_RTC_MAX_MSG),
	        0);
	c->nmsgs++;
}

static void
rt_on_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct rt_cli *c = arg;

	c->closed = 1;
	c->close_code = code;
	c->http_status = http_status;
}

static const struct ws_cbs rt_cbs = {NULL, rt_on_message, rt_on_close};

static void
rt_env_start(struct rt_env *e)
{
	struct http_server_opts o;
	char err[128];

	memset(e, 0, sizeof(*e));
	test_ds_init(&e->ds);
	e->loop = ev_loop_new(EVFLAG_AUTO);
	e->ds.loop = e->loop;
	e->rtc = ds_rtc_new(&e->ds);
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.handler = rt_handler;
	o.arg = e;
	e->srv = http_server_new(e->loop, &o, err, sizeof(err));
	ck_assert_msg(e->srv != NULL, "%s", err);
	e->port = http_server_port(e->srv);
	ev_timer_init(&e->guard, rt_guard_cb, 10., 0.);
	e->guard.data = e;
}

static void
rt_env_stop(struct rt_env *e)
{
	ev_timer_stop(e->loop, &e->guard);
	ds_rtc_free(e->rtc);
	http_server_free(e->srv);
	/* Every watcher is gone: the loop has nothing left to run. */
	ck_assert_int_eq(ev_run(e->loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(e->loop);
	ds_rooms_free(&e->ds);
}

/* Run the loop until *flag >= want (a 10 s guard fails the test). */
static void
rt_wait(struct rt_env *e, const int *flag, int want)
{
	e->timed_out = 0;
	ev_timer_set(&e->guard, 10., 0.);
	ev_timer_start(e->loop, &e->guard);
	while (*flag < want && !e->timed_out)
		ev_run(e->loop, EVRUN_ONCE);
	ev_timer_stop(e->loop, &e->guard);
	ck_assert_msg(!e->timed_out, "timed out waiting (%d < %d)", *flag, want);
}

static void
rt_connect(struct rt_env *e, struct rt_cli *c, const char *path, const char *identity)
{
	struct ws_client_opts o;
	char url[256], *tok = NULL;

	memset(c, 0, sizeof(*c));
	if (identity != NULL)
		tok = test_token(
		        "devkey", "secret", identity, "{\"roomJoin\":true,\"room\":\"rt\"}", 600);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u%s", (unsigned)e->port, path);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.bearer = tok;
	c->ws = ws_connect(e->loop, &o, &rt_cbs, c);
	ck_assert_ptr_nonnull(c->ws);
	free(tok);
}

static void
rt_send(struct rt_cli *c, const livekit_SignalRequest *req)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_SignalRequest_fields, req, &b), 0);
	ck_assert_int_eq(ws_send(c->ws, 1, b.data, b.len), 0);
	buf_free(&b);
}

static void
rt_cli_free(struct rt_cli *c)
{
	int i;

	for (i = 0; i < c->nmsgs; i++)
		lkpb_free(livekit_SignalResponse_fields, &c->msgs[i]);
	ws_free(c->ws);
}

START_TEST(test_rtc_signalling)
{
	struct rt_env e;
	struct rt_cli a, b, v1, anon;
	livekit_SignalRequest req;
	livekit_Ping ping;
	livekit_LeaveRequest leave;
	const livekit_JoinResponse *j;
	const livekit_ParticipantUpdate *u;
	static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};

	rt_env_start(&e);
	/* /rtc/v1 is refused with 404 (clients then fall back to /rtc); no token is 401. */
	rt_connect(&e, &v1, "/rtc/v1?join_request=x", "alice");
	rt_wait(&e, &v1.closed, 1);
	ck_assert_int_eq(v1.http_status, 404);
	rt_connect(&e, &anon, "/rtc?protocol=17", NULL);
	rt_wait(&e, &anon.closed, 1);
	ck_assert_int_eq(anon.http_status, 401);
	ck_assert_int_eq(ds_room_count(&e.ds), 0);

	/* The join response comes first, with what the Rust SDK unwraps. */
	rt_connect(&e, &a, "/rtc?protocol=17&auto_subscribe=1", "alice");
	rt_wait(&e, &a.nmsgs, 1);
	ck_assert_uint_eq(a.msgs[0].which_message, livekit_SignalResponse_join_tag);
	j = a.msgs[0].message.join;
	ck_assert_ptr_nonnull(j->room);
	ck_assert_ptr_nonnull(j->participant);
	ck_assert_int_eq(strncmp(j->room->sid, "RM_", 3), 0);
	ck_assert_str_eq(j->room->name, "rt");
	ck_assert_int_eq(strncmp(j->participant->sid, "PA_", 3), 0);
	ck_assert_str_eq(j->participant->identity, "alice");
	ck_assert_int_eq(j->participant->state, livekit_ParticipantInfo_State_JOINED);
	ck_assert_int_eq(j->ping_interval, DS_RTC_PING_INTERVAL_S);
	ck_assert_int_eq(j->ping_timeout, DS_RTC_PING_TIMEOUT_S);
	ck_assert(j->subscriber_primary);
	ck_assert(!j->fast_publish);
	ck_assert_ptr_nonnull(j->server_info);
	ck_assert_int_eq(j->server_info->protocol, 17);
	ck_assert_uint_eq(j->other_participants_count, 0);
	ck_assert_int_eq(ds_room_count(&e.ds), 1);

	/* A second participant sees the first; the first gets an update. */
	rt_connect(&e, &b, "/rtc?protocol=17", "bob");
	rt_wait(&e, &b.nmsgs, 1);
	ck_assert_uint_eq(b.msgs[0].message.join->other_participants_count, 1);
	ck_assert_str_eq(b.msgs[0].message.join->other_participants[0].identity, "alice");
	rt_wait(&e, &a.nmsgs, 2);
	ck_assert_uint_eq(a.msgs[1].which_message, livekit_SignalResponse_update_tag);
	u = a.msgs[1].message.update;
	ck_assert_uint_eq(u->participants_count, 1);
	ck_assert_str_eq(u->participants[0].identity, "bob");

	/* ping_req -> pong_resp echoing the timestamp. */
	memset(&req, 0, sizeof(req));
	memset(&ping, 0, sizeof(ping));
	ping.timestamp = 42;
	req.which_message = livekit_SignalRequest_ping_req_tag;
	req.message.ping_req = &ping;
	rt_send(&a, &req);
	rt_wait(&e, &a.nmsgs, 3);
	ck_assert_uint_eq(a.msgs[2].which_message, livekit_SignalResponse_pong_resp_tag);
	ck_assert_int_eq(a.msgs[2].message.pong_resp->last_ping_timestamp, 42);
	ck_assert(a.msgs[2].message.pong_resp->timestamp > 0);

	/* Malformed protobuf closes that socket only; the others hear it left. */
	ck_assert_int_eq(ws_send(b.ws, 1, garbage, sizeof(garbage)), 0);
	rt_wait(&e, &b.closed, 1);
	ck_assert_int_eq(b.close_code, 1007);
	rt_wait(&e, &a.nmsgs, 4);
	u = a.msgs[3].message.update;
	ck_assert_str_eq(u->participants[0].identity, "bob");
	ck_assert_int_eq(u->participants[0].state, livekit_ParticipantInfo_State_DISCONNECTED);
	ck_assert_int_eq(ds_room_find(&e.ds, "rt")->nparticipants, 1);

	/* Leave removes the participant and closes. */
	memset(&req, 0, sizeof(req));
	memset(&leave, 0, sizeof(leave));
	leave.reason = livekit_DisconnectReason_CLIENT_INITIATED;
	req.which_message = livekit_SignalRequest_leave_tag;
	req.message.leave = &leave;
	rt_send(&a, &req);
	rt_wait(&e, &a.closed, 1);
	ck_assert_int_eq(a.close_code, 1000);
	ck_assert_int_eq(ds_room_find(&e.ds, "rt")->nparticipants, 0);
	/* The server side ends once the close handshake is done. */
	e.timed_out = 0;
	ev_timer_set(&e.guard, 10., 0.);
	ev_timer_start(e.loop, &e.guard);
	while (ds_rtc_count(e.rtc) > 0 && !e.timed_out)
		ev_run(e.loop, EVRUN_ONCE);
	ev_timer_stop(e.loop, &e.guard);
	ck_assert_int_eq(ds_rtc_count(e.rtc), 0);

	rt_cli_free(&a);
	rt_cli_free(&b);
	rt_cli_free(&v1);
	rt_cli_free(&anon);
	rt_env_stop(&e);
}
END_TEST

START_TEST(test_rtc_room_deleted)
{
	struct rt_env e;
	struct rt_cli a;

	rt_env_start(&e);
	rt_connect(&e, &a, "/rtc?protocol=17", "alice");
	rt_wait(&e, &a.nmsgs, 1);
	/* DeleteRoom: leave{ROOM_DELETED, DISCONNECT} reaches the client before the close. */
	ds_room_delete(&e.ds, ds_room_find(&e.ds, "rt"), livekit_DisconnectReason_ROOM_DELETED);
	rt_wait(&e, &a.closed, 1);
	ck_assert_int_eq(a.nmsgs, 2);
	ck_assert_uint_eq(a.msgs[1].which_message, livekit_SignalResponse_leave_tag);
	ck_assert_int_eq(a.msgs[1].message.leave->reason, livekit_DisconnectReason_ROOM_DELETED);
	ck_assert_int_eq(a.msgs[1].message.leave->action, livekit_LeaveRequest_Action_DISCONNECT);
	ck_assert_int_eq(ds_room_count(&e.ds), 0);
	rt_cli_free(&a);
	rt_env_stop(&e);
}
END_TEST

static Suite *
devserver_suite(void)
{
	Suite *s = suite_create("devserver");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_keys_parse);
	tcase_add_test(tc, test_auth_token_source);
	tcase_add_test(tc, test_auth_verify);
	tcase_add_test(tc, test_auth_twirp_grants);
	tcase_add_test(tc, test_auth_rtc_grants);
	tcase_add_test(tc, test_json_create_room);
	tcase_add_test(tc, test_json_malformed);
	tcase_add_test(tc, test_json_other_requests);
	tcase_add_test(tc, test_rooms_automatic_dispatch);
	tcase_add_test(tc, test_rooms_explicit_dispatch);
	tcase_add_test(tc, test_rooms_participants);
	tcase_add_test(tc, test_json_encode);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_test(tc, test_twirp_http);
	tcase_add_test(tc, test_twirp_protobuf);
	suite_add_tcase(s, tc);
	tc = tcase_create("rtc");
	tcase_add_test(tc, test_rtc_signalling);
	tcase_add_test(tc, test_rtc_room_deleted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(devserver_suite());
	int failed;

	log_set_level(LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
