/*
 * check_proto: Check suite for src/proto (lkpb + the generated LiveKit
 * messages). Decodes bytes captured from the real Node agent worker and
 * produced by @livekit/protocol, re-encodes them byte for byte, and feeds
 * the decoder hostile input.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "proto/lkpb.h"

#define LIMIT (64 * 1024)

/* Hex string to bytes; the test owns the returned buffer. */
static uint8_t *
hex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2, i;
	uint8_t *b = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

/* Encode msg and assert the result equals want (hex). */
static void
assert_encodes_to(const pb_msgdesc_t *fields, const void *msg, const char *want)
{
	struct buf out;
	size_t n, sz;
	uint8_t *w = hex(want, &n);

	buf_init(&out, 0);
	ck_assert_int_eq(lkpb_size(fields, msg, &sz), 0);
	ck_assert_uint_eq(sz, n);
	ck_assert_int_eq(lkpb_encode(fields, msg, &out), 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert_mem_eq(out.data, w, n);
	buf_free(&out);
	free(w);
}

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return 0;
	return 1;
}

/*
 * peers.md §3b: the first frame of @livekit/agents 1.9.0, WorkerMessage.register
 * with version, allowed_permissions and agent_name.
 */
static const char NODE_REGISTER[] =
        "0a1f1a05312e392e303a0a08011001180150015801420a746573742d6167656e74";

START_TEST(test_node_register_decode)
{
	livekit_WorkerMessage m;
	livekit_RegisterWorkerRequest *r;
	livekit_ParticipantPermission *p;
	size_t n;
	uint8_t *b = hex(NODE_REGISTER, &n);

	ck_assert_uint_eq(n, 33);
	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_WorkerMessage_register__tag);
	r = m.message.register_;
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, livekit_JobType_JT_ROOM);
	ck_assert_str_eq(r->version, "1.9.0");
	ck_assert_str_eq(r->agent_name, "test-agent");
	ck_assert_uint_eq(r->ping_interval, 0);
	ck_assert_ptr_null(r->namespace);
	ck_assert_ptr_null(r->deployment);
	p = r->allowed_permissions;
	ck_assert_ptr_nonnull(p);
	ck_assert(p->can_subscribe);
	ck_assert(p->can_publish);
	ck_assert(p->can_publish_data);
	ck_assert(p->can_update_metadata);
	ck_assert(p->agent);
	ck_assert(!p->hidden);
	ck_assert(!p->recorder);
	ck_assert(!p->can_subscribe_metrics);
	ck_assert_uint_eq(p->can_publish_sources_count, 0);
	lkpb_free(livekit_WorkerMessage_fields, &m);
	ck_assert(all_zero(&m, sizeof(m)));
	free(b);
}
END_TEST

START_TEST(test_node_register_encode)
{
	livekit_WorkerMessage m = livekit_WorkerMessage_init_zero;
	livekit_RegisterWorkerRequest *r = lkpb_new(sizeof(*r));
	livekit_ParticipantPermission *p = lkpb_new(sizeof(*p));

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(p);
	r->version = lkpb_strdup("1.9.0");
	r->agent_name = lkpb_strdup("test-agent");
	p->can_subscribe = p->can_publish = p->can_publish_data = true;
	p->can_update_metadata = p->agent = true;
	r->allowed_permissions = p;
	m.which_message = livekit_WorkerMessage_register__tag;
	m.message.register_ = r;
	/* Same field order (by number) and default omission as protobuf-es. */
	assert_encodes_to(livekit_WorkerMessage_fields, &m, NODE_REGISTER);
	lkpb_free(livekit_WorkerMessage_fields, &m);
}
END_TEST

/* peers.md §3b: periodic status, status WS_AVAILABLE sent explicitly as 08 00. */
START_TEST(test_node_update_worker)
{
	livekit_WorkerMessage m;
	livekit_UpdateWorkerStatus *u;
	uint32_t bits;
	float want;
	size_t n;
	uint8_t *b = hex("1a0708001d8aee5b3e", &n);

	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_WorkerMessage_update_worker_tag);
	u = m.message.update_worker;
	ck_assert(u->has_status);
	ck_assert_int_eq(u->status, livekit_WorkerStatus_WS_AVAILABLE);
	bits = 0x3e5bee8au;
	memcpy(&want, &bits, sizeof(want));
	ck_assert(u->load == want);
	ck_assert_uint_eq(u->job_count, 0);
	/* proto3 optional: presence survives the round trip, so 08 00 is kept. */
	assert_encodes_to(livekit_WorkerMessage_fields, &m, "1a0708001d8aee5b3e");
	lkpb_free(livekit_WorkerMessage_fields, &m);
	free(b);
}
END_TEST

/* peers.md §3b: on SIGTERM the Node worker reports WS_FULL. */
START_TEST(test_node_sigterm_full)
{
	livekit_WorkerMessage m = livekit_WorkerMessage_init_zero;
	livekit_UpdateWorkerStatus *u;
	size_t n;
	uint8_t *b = hex("1a020801", &n);

	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_WorkerMessage_update_worker_tag);
	ck_assert(m.message.update_worker->has_status);
	ck_assert_int_eq(m.message.update_worker->status, livekit_WorkerStatus_WS_FULL);
	ck_assert(m.message.update_worker->load == 0.0f);
	lkpb_free(livekit_WorkerMessage_fields, &m);

	u = lkpb_new(sizeof(*u));
	u->has_status = true;
	u->status = livekit_WorkerStatus_WS_FULL;
	m.which_message = livekit_WorkerMessage_update_worker_tag;
	m.message.update_worker = u;
	assert_encodes_to(livekit_WorkerMessage_fields, &m, "1a020801");
	/* Without has_status, WS_AVAILABLE is the proto3 default and omitted. */
	u->has_status = false;
	u->status = livekit_WorkerStatus_WS_AVAILABLE;
	assert_encodes_to(livekit_WorkerMessage_fields, &m, "1a00");
	lkpb_free(livekit_WorkerMessage_fields, &m);
	free(b);
}
END_TEST

/* peers.md §3b: the Node worker accepting job AJ_test1. */
static const char NODE_AVAILABILITY[] =
        "12390a08414a5f746573743110012a0e6167656e742d414a5f74657374313a1b0a0d6c6b2e"
        "6167656e742e6e616d65120a746573742d6167656e74";

START_TEST(test_node_availability_response)
{
	livekit_WorkerMessage m;
	livekit_AvailabilityResponse *a;
	size_t n;
	uint8_t *b = hex(NODE_AVAILABILITY, &n);

	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_WorkerMessage_availability_tag);
	a = m.message.availability;
	ck_assert_str_eq(a->job_id, "AJ_test1");
	ck_assert(a->available);
	ck_assert(!a->supports_resume);
	ck_assert(!a->terminate);
	ck_assert_ptr_null(a->participant_name);
	ck_assert_str_eq(a->participant_identity, "agent-AJ_test1");
	ck_assert_ptr_null(a->participant_metadata);
	ck_assert_uint_eq(a->participant_attributes_count, 1);
	ck_assert_str_eq(a->participant_attributes[0].key, "lk.agent.name");
	ck_assert_str_eq(a->participant_attributes[0].value, "test-agent");
	lkpb_free(livekit_WorkerMessage_fields, &m);

	a = lkpb_new(sizeof(*a));
	a->job_id = lkpb_strdup("AJ_test1");
	a->available = true;
	a->participant_identity = lkpb_strdup("agent-AJ_test1");
	a->participant_attributes_count = 1;
	a->participant_attributes = lkpb_new(sizeof(*a->participant_attributes));
	a->participant_attributes[0].key = lkpb_strdup("lk.agent.name");
	a->participant_attributes[0].value = lkpb_strdup("test-agent");
	m.which_message = livekit_WorkerMessage_availability_tag;
	m.message.availability = a;
	assert_encodes_to(livekit_WorkerMessage_fields, &m, NODE_AVAILABILITY);
	lkpb_free(livekit_WorkerMessage_fields, &m);
	free(b);
}
END_TEST

/*
 * @livekit/protocol 1.52.1: ServerMessage.availability for job AJ_test1 in
 * room RM_capture/myroom (the same bytes as corpus/server_message/availability).
 */
static const char PB_AVAILABILITY[] =
        "12790a770a08414a5f74657374311a3d0a0a524d5f6361707475726512066d79726f6f6d18"
        "ac0228e8b982c9063a0c0a0a617564696f2f6f70757342016d48016a0b088094cc91de8391"
        "031003320a68656c6c6f2d6d6574613a0a746573742d6167656e74420a2880a0fcbab99785"
        "bd184a0841445f7465737431";

START_TEST(test_server_availability_decode)
{
	livekit_ServerMessage m;
	livekit_Job *j;
	livekit_Room *r;
	size_t n;
	uint8_t *b = hex(PB_AVAILABILITY, &n);

	ck_assert_int_eq(lkpb_decode(livekit_ServerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_ServerMessage_availability_tag);
	ck_assert(!m.message.availability->resuming);
	j = m.message.availability->job;
	ck_assert_str_eq(j->id, "AJ_test1");
	ck_assert_str_eq(j->dispatch_id, "AD_test1");
	ck_assert_int_eq(j->type, livekit_JobType_JT_ROOM);
	ck_assert_str_eq(j->agent_name, "test-agent");
	ck_assert_str_eq(j->metadata, "hello-meta");
	ck_assert_ptr_null(j->participant);
	ck_assert_ptr_nonnull(j->state);
	ck_assert_int_eq(j->state->status, livekit_JobStatus_JS_PENDING);
	ck_assert_int_eq(j->state->updated_at, 1763745000000000000LL);
	r = j->room;
	ck_assert_str_eq(r->sid, "RM_capture");
	ck_assert_str_eq(r->name, "myroom");
	ck_assert_uint_eq(r->empty_timeout, 300);
	ck_assert_int_eq(r->creation_time, 1763745000LL);
	ck_assert_str_eq(r->metadata, "m");
	ck_assert_uint_eq(r->num_participants, 1);
	ck_assert_uint_eq(r->enabled_codecs_count, 1);
	ck_assert_str_eq(r->enabled_codecs[0].mime, "audio/opus");
	ck_assert_ptr_null(r->enabled_codecs[0].fmtp_line);
	ck_assert_int_eq(r->version->unix_micro, 1763745000000000LL);
	ck_assert_int_eq(r->version->ticks, 3);
	assert_encodes_to(livekit_ServerMessage_fields, &m, PB_AVAILABILITY);
	lkpb_free(livekit_ServerMessage_fields, &m);
	free(b);
}
END_TEST

/* @livekit/protocol 1.52.1: SignalResponse.join (corpus/signal_response/join). */
static const char PB_JOIN[] =
        "0a9e020a3d0a0a524d5f6361707475726512066d79726f6f6d18ac0228e8b982c9063a0c0a"
        "0a617564696f2f6f70757342016d48016a0b088094cc91de8391031003121c0a0850415f61"
        "67656e74120e6167656e742d414a5f746573743170041a770a0850415f616c696365120561"
        "6c6963651802222e0a0854525f414d6162631a036d696348025a0a617564696f2f6f707573"
        "6201308a010663616d6572619a0102010330e9b982c9064a05416c69636550045a09080110"
        "0118014a010268017a060a01611201317a060a0162120132880192de93bbaa332a1b0a1373"
        "74756e3a3132372e302e302e313a333437381201751a0163300142022801500f5805621112"
        "05312e392e3018102a044e445f313801720c0a0a617564696f2f6f707573";

START_TEST(test_signal_join_decode)
{
	livekit_SignalResponse m;
	livekit_JoinResponse *j;
	livekit_ParticipantInfo *a;
	livekit_TrackInfo *t;
	size_t n;
	uint8_t *b = hex(PB_JOIN, &n);

	ck_assert_int_eq(lkpb_decode(livekit_SignalResponse_fields, &m, b, n, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, livekit_SignalResponse_join_tag);
	j = m.message.join;
	ck_assert_str_eq(j->room->sid, "RM_capture");
	ck_assert_str_eq(j->participant->sid, "PA_agent");
	ck_assert_str_eq(j->participant->identity, "agent-AJ_test1");
	ck_assert_int_eq(j->participant->kind, livekit_ParticipantInfo_Kind_AGENT);
	ck_assert_int_eq(j->participant->state, livekit_ParticipantInfo_State_JOINING);
	ck_assert_uint_eq(j->other_participants_count, 1);
	a = &j->other_participants[0];
	ck_assert_str_eq(a->sid, "PA_alice");
	ck_assert_str_eq(a->identity, "alice");
	ck_assert_str_eq(a->name, "Alice");
	ck_assert_int_eq(a->state, livekit_ParticipantInfo_State_ACTIVE);
	ck_assert_int_eq(a->joined_at, 1763745001LL);
	ck_assert_int_eq(a->joined_at_ms, 1763745001234LL);
	ck_assert_uint_eq(a->version, 4);
	ck_assert(a->is_publisher);
	ck_assert(a->permission->can_subscribe && a->permission->can_publish);
	ck_assert_uint_eq(a->permission->can_publish_sources_count, 1);
	ck_assert_int_eq(a->permission->can_publish_sources[0], livekit_TrackSource_MICROPHONE);
	ck_assert_uint_eq(a->attributes_count, 2);
	ck_assert_str_eq(a->attributes[0].key, "a");
	ck_assert_str_eq(a->attributes[1].value, "2");
	ck_assert_uint_eq(a->tracks_count, 1);
	t = &a->tracks[0];
	ck_assert_str_eq(t->sid, "TR_AMabc");
	ck_assert_int_eq(t->type, livekit_TrackType_AUDIO);
	ck_assert_str_eq(t->name, "mic");
	ck_assert_int_eq(t->source, livekit_TrackSource_MICROPHONE);
	ck_assert_str_eq(t->mime_type, "audio/opus");
	ck_assert_str_eq(t->mid, "0");
	ck_assert_str_eq(t->stream, "camera");
	ck_assert_uint_eq(t->audio_features_count, 2);
	ck_assert_int_eq(t->audio_features[0], livekit_AudioTrackFeature_TF_NO_DTX);
	ck_assert_int_eq(t->audio_features[1], livekit_AudioTrackFeature_TF_ECHO_CANCELLATION);
	ck_assert_uint_eq(j->ice_servers_count, 1);
	ck_assert_uint_eq(j->ice_servers[0].urls_count, 1);
	ck_assert_str_eq(j->ice_servers[0].urls[0], "stun:127.0.0.1:3478");
	ck_assert_str_eq(j->ice_servers[0].username, "u");
	ck_assert_str_eq(j->ice_servers[0].credential, "c");
	ck_assert(j->subscriber_primary);
	ck_assert(!j->fast_publish);
	ck_assert_int_eq(
	        j->client_configuration->force_relay, livekit_ClientConfigSetting_DISABLED);
	ck_assert_int_eq(j->ping_timeout, 15);
	ck_assert_int_eq(j->ping_interval, 5);
	ck_assert_int_eq(j->server_info->edition, livekit_ServerInfo_Edition_Standard);
	ck_assert_str_eq(j->server_info->version, "1.9.0");
	ck_assert_int_eq(j->server_info->protocol, 16);
	ck_assert_int_eq(j->server_info->agent_protocol, 1);
	ck_assert_str_eq(j->server_info->node_id, "ND_1");
	ck_assert_uint_eq(j->enabled_publish_codecs_count, 1);
	ck_assert_ptr_null(j->sif_trailer);
	assert_encodes_to(livekit_SignalResponse_fields, &m, PB_JOIN);
	lkpb_free(livekit_SignalResponse_fields, &m);
	free(b);
}
END_TEST

/*
 * Build a JoinResponse from structs the way the dev server does, encode,
 * decode, and compare field by field.
 */
START_TEST(test_signal_join_build)
{
	livekit_SignalResponse m = livekit_SignalResponse_init_zero, d;
	livekit_JoinResponse *j = lkpb_new(sizeof(*j));
	livekit_ParticipantInfo *o;
	struct buf out;

	j->room = lkpb_new(sizeof(*j->room));
	j->room->sid = lkpb_strdup("RM_1");
	j->room->name = lkpb_strdup("room");
	j->participant = lkpb_new(sizeof(*j->participant));
	j->participant->sid = lkpb_strdup("PA_me");
	j->participant->identity = lkpb_strdup("me");
	j->participant->kind = livekit_ParticipantInfo_Kind_AGENT;
	j->other_participants_count = 2;
	j->other_participants = lkpb_new(2 * sizeof(*j->other_participants));
	o = j->other_participants;
	o[0].sid = lkpb_strdup("PA_a");
	o[1].sid = lkpb_strdup("PA_b");
	o[1].tracks_count = 1;
	o[1].tracks = lkpb_new(sizeof(*o[1].tracks));
	o[1].tracks[0].sid = lkpb_strdup("TR_AMx");
	o[1].tracks[0].source = livekit_TrackSource_MICROPHONE;
	j->ping_timeout = 15;
	j->ping_interval = 5;
	j->subscriber_primary = true;
	j->sif_trailer = lkpb_bytes("\x00\x01\x02", 3);
	m.which_message = livekit_SignalResponse_join_tag;
	m.message.join = j;

	buf_init(&out, 0);
	ck_assert_int_eq(lkpb_encode(livekit_SignalResponse_fields, &m, &out), 0);
	ck_assert_int_eq(
	        lkpb_decode(livekit_SignalResponse_fields, &d, out.data, out.len, LIMIT), 0);
	ck_assert_uint_eq(d.which_message, livekit_SignalResponse_join_tag);
	ck_assert_str_eq(d.message.join->room->sid, "RM_1");
	ck_assert_str_eq(d.message.join->room->name, "room");
	ck_assert_str_eq(d.message.join->participant->identity, "me");
	ck_assert_int_eq(d.message.join->participant->kind, livekit_ParticipantInfo_Kind_AGENT);
	ck_assert_uint_eq(d.message.join->other_participants_count, 2);
	ck_assert_str_eq(d.message.join->other_participants[0].sid, "PA_a");
	ck_assert_uint_eq(d.message.join->other_participants[0].tracks_count, 0);
	ck_assert_str_eq(d.message.join->other_participants[1].tracks[0].sid, "TR_AMx");
	ck_assert_int_eq(d.message.join->ping_timeout, 15);
	ck_assert_int_eq(d.message.join->ping_interval, 5);
	ck_assert(d.message.join->subscriber_primary);
	ck_assert_uint_eq(d.message.join->sif_trailer->size, 3);
	ck_assert_mem_eq(d.message.join->sif_trailer->bytes, "\x00\x01\x02", 3);
	ck_assert_ptr_null(d.message.join->server_info);
	lkpb_free(livekit_SignalResponse_fields, &d);
	lkpb_free(livekit_SignalResponse_fields, &m);
	buf_free(&out);
}
END_TEST

/* ServerMessage.register, assignment (url unset and set), termination, pong. */
START_TEST(test_server_message_round_trips)
{
	livekit_ServerMessage m = livekit_ServerMessage_init_zero, d;
	livekit_RegisterWorkerResponse *rr;
	livekit_JobAssignment *as;
	struct buf out;

	buf_init(&out, 0);

	rr = lkpb_new(sizeof(*rr));
	rr->worker_id = lkpb_strdup("AW_abc");
	rr->server_info = lkpb_new(sizeof(*rr->server_info));
	rr->server_info->version = lkpb_strdup("1.9.0");
	rr->server_info->protocol = 16;
	rr->server_info->agent_protocol = 1;
	rr->server_info->node_id = lkpb_strdup("ND_1");
	m.which_message = livekit_ServerMessage_register__tag;
	m.message.register_ = rr;
	/* Identical to what @livekit/protocol encodes (corpus/server_message/register). */
	assert_encodes_to(livekit_ServerMessage_fields, &m,
	        "0a1b0a0641575f6162631a111205312e392e3018102a044e445f313801");
	lkpb_free(livekit_ServerMessage_fields, &m);

	as = lkpb_new(sizeof(*as));
	as->job = lkpb_new(sizeof(*as->job));
	as->job->id = lkpb_strdup("AJ_1");
	as->job->room = lkpb_new(sizeof(*as->job->room));
	as->job->room->name = lkpb_strdup("myroom");
	as->token = lkpb_strdup("tok");
	m.which_message = livekit_ServerMessage_assignment_tag;
	m.message.assignment = as;
	/* JobAssignment.url (2) absent: job (1) then token (3) only. */
	assert_encodes_to(livekit_ServerMessage_fields, &m,
	        "1a170a100a04414a5f311a0812066d79726f6f6d1a03746f6b");
	ck_assert_int_eq(lkpb_encode(livekit_ServerMessage_fields, &m, &out), 0);
	ck_assert_int_eq(
	        lkpb_decode(livekit_ServerMessage_fields, &d, out.data, out.len, LIMIT), 0);
	ck_assert_ptr_null(d.message.assignment->url);
	ck_assert_str_eq(d.message.assignment->token, "tok");
	ck_assert_str_eq(d.message.assignment->job->room->name, "myroom");
	lkpb_free(livekit_ServerMessage_fields, &d);
	/* An explicitly empty optional url keeps its presence. */
	as->url = lkpb_strdup("");
	buf_reset(&out);
	ck_assert_int_eq(lkpb_encode(livekit_ServerMessage_fields, &m, &out), 0);
	ck_assert_int_eq(
	        lkpb_decode(livekit_ServerMessage_fields, &d, out.data, out.len, LIMIT), 0);
	ck_assert_ptr_nonnull(d.message.assignment->url);
	ck_assert_str_eq(d.message.assignment->url, "");
	lkpb_free(livekit_ServerMessage_fields, &d);
	free(as->url);
	as->url = lkpb_strdup("ws://127.0.0.1:7880");
	buf_reset(&out);
	ck_assert_int_eq(lkpb_encode(livekit_ServerMessage_fields, &m, &out), 0);
	ck_assert_int_eq(
	        lkpb_decode(livekit_ServerMessage_fields, &d, out.data, out.len, LIMIT), 0);
	ck_assert_str_eq(d.message.assignment->url, "ws://127.0.0.1:7880");
	lkpb_free(livekit_ServerMessage_fields, &d);
	lkpb_free(livekit_ServerMessage_fields, &m);

	m.which_message = livekit_ServerMessage_termination_tag;
	m.message.termination = lkpb_new(sizeof(*m.message.termination));
	m.message.termination->job_id = lkpb_strdup("AJ_test1");
	assert_encodes_to(livekit_ServerMessage_fields, &m, "2a0a0a08414a5f7465737431");
	lkpb_free(livekit_ServerMessage_fields, &m);

	m.which_message = livekit_ServerMessage_pong_tag;
	m.message.pong = lkpb_new(sizeof(*m.message.pong));
	m.message.pong->last_timestamp = 1763745000123LL;
	m.message.pong->timestamp = 1763745000125LL;
	assert_encodes_to(livekit_ServerMessage_fields, &m, "220e08bbd593bbaa3310bdd593bbaa33");
	lkpb_free(livekit_ServerMessage_fields, &m);
	buf_free(&out);
}
END_TEST

/* rtc-protocol.md §1.6/§1.7 and peers.md §3a keepalive and leave frames. */
START_TEST(test_signal_ping_leave)
{
	livekit_SignalRequest q = livekit_SignalRequest_init_zero;
	livekit_SignalResponse r = livekit_SignalResponse_init_zero;
	size_t n;
	uint8_t *b;

	/* ping_req (16) = Ping{timestamp}: 82 01 07 08 <varint ms>, rtt unset. */
	b = hex("82010708bbd593bbaa33", &n);
	ck_assert_int_eq(lkpb_decode(livekit_SignalRequest_fields, &q, b, n, LIMIT), 0);
	ck_assert_uint_eq(q.which_message, livekit_SignalRequest_ping_req_tag);
	ck_assert_int_eq(q.message.ping_req->timestamp, 1763745000123LL);
	ck_assert_int_eq(q.message.ping_req->rtt, 0);
	assert_encodes_to(livekit_SignalRequest_fields, &q, "82010708bbd593bbaa33");
	lkpb_free(livekit_SignalRequest_fields, &q);
	free(b);

	/* Legacy ping (14): a scalar oneof member, stored by value. */
	b = hex("70bbd593bbaa33", &n);
	ck_assert_int_eq(lkpb_decode(livekit_SignalRequest_fields, &q, b, n, LIMIT), 0);
	ck_assert_uint_eq(q.which_message, livekit_SignalRequest_ping_tag);
	ck_assert_int_eq(q.message.ping, 1763745000123LL);
	assert_encodes_to(livekit_SignalRequest_fields, &q, "70bbd593bbaa33");
	lkpb_free(livekit_SignalRequest_fields, &q);
	free(b);

	/* leave (8) = LeaveRequest{reason CLIENT_INITIATED, action DISCONNECT}. */
	q.which_message = livekit_SignalRequest_leave_tag;
	q.message.leave = lkpb_new(sizeof(*q.message.leave));
	q.message.leave->reason = livekit_DisconnectReason_CLIENT_INITIATED;
	q.message.leave->action = livekit_LeaveRequest_Action_DISCONNECT;
	assert_encodes_to(livekit_SignalRequest_fields, &q, "42021001");
	lkpb_free(livekit_SignalRequest_fields, &q);

	/* pong_resp (20) = Pong{last_ping_timestamp, timestamp}. */
	r.which_message = livekit_SignalResponse_pong_resp_tag;
	r.message.pong_resp = lkpb_new(sizeof(*r.message.pong_resp));
	r.message.pong_resp->last_ping_timestamp = 1763745000123LL;
	r.message.pong_resp->timestamp = 1763745000130LL;
	assert_encodes_to(livekit_SignalResponse_fields, &r, "a2010e08bbd593bbaa3310c2d593bbaa33");
	lkpb_free(livekit_SignalResponse_fields, &r);

	/* Server leave with RESUME; refresh_token is a string oneof member. */
	b = hex("420410031801", &n);
	ck_assert_int_eq(lkpb_decode(livekit_SignalResponse_fields, &r, b, n, LIMIT), 0);
	ck_assert_uint_eq(r.which_message, livekit_SignalResponse_leave_tag);
	ck_assert_int_eq(r.message.leave->reason, livekit_DisconnectReason_SERVER_SHUTDOWN);
	ck_assert_int_eq(r.message.leave->action, livekit_LeaveRequest_Action_RESUME);
	lkpb_free(livekit_SignalResponse_fields, &r);
	free(b);
	b = hex("82010b65794a2e6533302e736967", &n);
	ck_assert_int_eq(lkpb_decode(livekit_SignalResponse_fields, &r, b, n, LIMIT), 0);
	ck_assert_uint_eq(r.which_message, livekit_SignalResponse_refresh_token_tag);
	ck_assert_str_eq(r.message.refresh_token, "eyJ.e30.sig");
	lkpb_free(livekit_SignalResponse_fields, &r);
	free(b);
}
END_TEST

/* Oneof members this subset leaves out are skipped, not errors. */
START_TEST(test_unknown_members_skipped)
{
	livekit_SignalRequest q;
	size_t n;
	/* SignalRequest.track_setting (7), not declared here. */
	uint8_t *b = hex("3a080a0454525f781801", &n);

	ck_assert_int_eq(lkpb_decode(livekit_SignalRequest_fields, &q, b, n, LIMIT), 0);
	ck_assert_uint_eq(q.which_message, 0);
	lkpb_free(livekit_SignalRequest_fields, &q);
	free(b);
}
END_TEST

/* WrappedJoinRequest carries the JoinRequest as bytes (rtc-protocol.md §1.4). */
START_TEST(test_wrapped_join_request)
{
	livekit_JoinRequest jr = livekit_JoinRequest_init_zero, jd;
	livekit_WrappedJoinRequest w = livekit_WrappedJoinRequest_init_zero, wd;
	struct buf inner, outer;

	buf_init(&inner, 0);
	buf_init(&outer, 0);
	jr.client_info = lkpb_new(sizeof(*jr.client_info));
	jr.client_info->sdk = livekit_ClientInfo_SDK_NODE;
	jr.client_info->version = lkpb_strdup("0.13.35");
	jr.client_info->protocol = 17;
	jr.client_info->client_protocol = 2;
	jr.client_info->capabilities_count = 2;
	jr.client_info->capabilities = lkpb_new(2 * sizeof(*jr.client_info->capabilities));
	jr.client_info->capabilities[0] = livekit_ClientInfo_Capability_CAP_PACKET_TRAILER;
	jr.client_info->capabilities[1] = livekit_ClientInfo_Capability_CAP_COMPRESSION_DEFLATE_RAW;
	jr.connection_settings = lkpb_new(sizeof(*jr.connection_settings));
	jr.connection_settings->auto_subscribe = true;
	jr.publisher_offer = lkpb_new(sizeof(*jr.publisher_offer));
	jr.publisher_offer->type = lkpb_strdup("offer");
	jr.publisher_offer->sdp = lkpb_strdup("v=0\r\n");
	ck_assert_int_eq(lkpb_encode(livekit_JoinRequest_fields, &jr, &inner), 0);

	w.compression = livekit_WrappedJoinRequest_Compression_NONE;
	w.join_request = lkpb_bytes(inner.data, inner.len);
	ck_assert_ptr_nonnull(w.join_request);
	ck_assert_int_eq(lkpb_encode(livekit_WrappedJoinRequest_fields, &w, &outer), 0);
	ck_assert_int_eq(
	        lkpb_decode(livekit_WrappedJoinRequest_fields, &wd, outer.data, outer.len, LIMIT),
	        0);
	ck_assert_int_eq(wd.compression, livekit_WrappedJoinRequest_Compression_NONE);
	ck_assert_int_eq(lkpb_decode(livekit_JoinRequest_fields, &jd, wd.join_request->bytes,
	                         wd.join_request->size, LIMIT),
	        0);
	ck_assert_int_eq(jd.client_info->sdk, livekit_ClientInfo_SDK_NODE);
	ck_assert_str_eq(jd.client_info->version, "0.13.35");
	ck_assert_int_eq(jd.client_info->protocol, 17);
	ck_assert_int_eq(jd.client_info->client_protocol, 2);
	ck_assert_uint_eq(jd.client_info->capabilities_count, 2);
	ck_assert_int_eq(jd.client_info->capabilities[1],
	        livekit_ClientInfo_Capability_CAP_COMPRESSION_DEFLATE_RAW);
	ck_assert(jd.connection_settings->auto_subscribe);
	ck_assert(!jd.connection_settings->has_subscriber_allow_pause);
	ck_assert_str_eq(jd.publisher_offer->type, "offer");
	ck_assert_str_eq(jd.publisher_offer->sdp, "v=0\r\n");

	lkpb_free(livekit_JoinRequest_fields, &jd);
	lkpb_free(livekit_WrappedJoinRequest_fields, &wd);
	lkpb_free(livekit_WrappedJoinRequest_fields, &w);
	lkpb_free(livekit_JoinRequest_fields, &jr);
	buf_free(&inner);
	buf_free(&outer);
}
END_TEST

/*
 * Every valid seed in the fuzz corpora (Node captures and @livekit/protocol
 * encodings; garbage_* files excluded) must decode and re-encode to the
 * same bytes, since both encoders write fields in number order and omit
 * defaults.
 */
static void
roundtrip_dir(const char *name, const pb_msgdesc_t *fields, size_t msgsize)
{
	char path[4096];
	const char *src = getenv("LK_SRCDIR");
	DIR *d;
	struct dirent *e;
	int count = 0;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", src ? src : LK_SRCDIR, name);
	d = opendir(path);
	ck_assert_msg(d != NULL, "cannot open %s", path);
	while ((e = readdir(d)) != NULL) {
		char file[4352];
		uint8_t data[8192];
		void *msg;
		struct buf out;
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.' || strncmp(e->d_name, "garbage_", 8) == 0)
			continue;
		/* Members this subset leaves out do not survive a re-encode. */
		if (strstr(e->d_name, "_unknown") != NULL)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		f = fopen(file, "rb");
		ck_assert_ptr_nonnull(f);
		n = fread(data, 1, sizeof(data), f);
		fclose(f);
		msg = calloc(1, msgsize);
		ck_assert_msg(lkpb_decode(fields, msg, data, n, LIMIT) == 0, "decode %s", file);
		buf_init(&out, 0);
		ck_assert_msg(lkpb_encode(fields, msg, &out) == 0, "encode %s", file);
		ck_assert_msg(out.len == n && memcmp(out.data, data, n) == 0,
		        "re-encode of %s differs", file);
		buf_free(&out);
		lkpb_free(fields, msg);
		free(msg);
		count++;
	}
	closedir(d);
	ck_assert_int_gt(count, 3);
}

START_TEST(test_corpus_round_trips)
{
	roundtrip_dir(
	        "worker_message", livekit_WorkerMessage_fields, sizeof(livekit_WorkerMessage));
	roundtrip_dir(
	        "server_message", livekit_ServerMessage_fields, sizeof(livekit_ServerMessage));
	roundtrip_dir(
	        "signal_request", livekit_SignalRequest_fields, sizeof(livekit_SignalRequest));
	roundtrip_dir(
	        "signal_response", livekit_SignalResponse_fields, sizeof(livekit_SignalResponse));
}
END_TEST

/* Every strict prefix of a one-field frame is malformed and leaves nothing. */
START_TEST(test_truncated)
{
	livekit_WorkerMessage m;
	size_t n, i;
	uint8_t *b = hex(NODE_REGISTER, &n);

	for (i = 1; i < n; i++) {
		memset(&m, 0xa5, sizeof(m));
		ck_assert_int_eq(
		        lkpb_decode(livekit_WorkerMessage_fields, &m, b, i, LIMIT), LK_EINVAL);
		ck_assert(all_zero(&m, sizeof(m)));
	}
	/* The empty message is valid proto3: nothing set. */
	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, 0, LIMIT), 0);
	ck_assert_uint_eq(m.which_message, 0);
	free(b);
}
END_TEST

START_TEST(test_garbage)
{
	static const char *const bad[] = {
	        "08ffffffffffffffffffff01", /* varint longer than 10 bytes */
	        "0000", /* field number 0 */
	        "0b0c", /* group wire type */
	        "0affffffff0f41", /* length far past the end */
	        "0a050affffff7f", /* nested length past the end */
	        "0801", /* register_ (1) as a varint: wrong wire type */
	        "1a0508ff", /* update_worker body cut inside a varint */
	        "1a020d00", /* fixed32 load cut short */
	        "0f", /* wire type 7 does not exist */
	};
	livekit_WorkerMessage m;
	uint32_t seed = 12345;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *b = hex(bad[i], &n);

		ck_assert_msg(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, LIMIT) < 0, "%s",
		        bad[i]);
		ck_assert(all_zero(&m, sizeof(m)));
		free(b);
	}
	/* Random bytes: any result is fine as long as nothing leaks or crashes. */
	for (i = 0; i < 2000; i++) {
		uint8_t b[48];
		size_t k, len;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(b);
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (uint8_t)(seed >> 16);
		}
		if (lkpb_decode(livekit_WorkerMessage_fields, &m, b, len, LIMIT) == 0)
			lkpb_free(livekit_WorkerMessage_fields, &m);
		else
			ck_assert(all_zero(&m, sizeof(m)));
	}
}
END_TEST

START_TEST(test_over_limit)
{
	livekit_WorkerMessage m;
	struct buf out;
	size_t n;
	uint8_t *b = hex(NODE_REGISTER, &n);

	memset(&m, 0xa5, sizeof(m));
	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, n - 1), LK_ETOOBIG);
	ck_assert(all_zero(&m, sizeof(m)));
	ck_assert_int_eq(lkpb_decode(livekit_WorkerMessage_fields, &m, b, n, n), 0);

	/* The output buffer's limit is checked before anything is written. */
	buf_init(&out, n - 1);
	ck_assert_int_eq(lkpb_encode(livekit_WorkerMessage_fields, &m, &out), LK_ETOOBIG);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	buf_init(&out, n);
	ck_assert_int_eq(lkpb_encode(livekit_WorkerMessage_fields, &m, &out), 0);
	ck_assert_uint_eq(out.len, n);
	buf_free(&out);
	lkpb_free(livekit_WorkerMessage_fields, &m);
	free(b);
}
END_TEST

START_TEST(test_copy_and_helpers)
{
	livekit_ServerMessage m, c;
	pb_bytes_array_t *pb;
	uint8_t big[70000];
	size_t n;
	uint8_t *b = hex(PB_AVAILABILITY, &n);

	ck_assert_int_eq(lkpb_decode(livekit_ServerMessage_fields, &m, b, n, LIMIT), 0);
	ck_assert_int_eq(lkpb_copy(livekit_ServerMessage_fields, &c, &m), 0);
	lkpb_free(livekit_ServerMessage_fields, &m);
	ck_assert_str_eq(c.message.availability->job->room->name, "myroom");
	assert_encodes_to(livekit_ServerMessage_fields, &c, PB_AVAILABILITY);
	lkpb_free(livekit_ServerMessage_fields, &c);
	free(b);

	ck_assert_ptr_null(lkpb_strdup(NULL));
	pb = lkpb_bytes(NULL, 0);
	ck_assert_ptr_nonnull(pb);
	ck_assert_uint_eq(pb->size, 0);
	free(pb);
	memset(big, 0, sizeof(big));
	/* pb_size_t is 16 bits here: larger bytes fields are refused. */
	ck_assert_ptr_null(lkpb_bytes(big, sizeof(big)));
	ck_assert_int_eq(lkpb_decode(livekit_ServerMessage_fields, &m, NULL, 0, LIMIT), 0);
	ck_assert_int_eq(lkpb_decode(livekit_ServerMessage_fields, &m, NULL, 1, LIMIT), LK_EINVAL);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_node_register_decode);
	tcase_add_test(tc, test_node_register_encode);
	tcase_add_test(tc, test_node_update_worker);
	tcase_add_test(tc, test_node_sigterm_full);
	tcase_add_test(tc, test_node_availability_response);
	tcase_add_test(tc, test_server_availability_decode);
	tcase_add_test(tc, test_signal_join_decode);
	tcase_add_test(tc, test_signal_join_build);
	tcase_add_test(tc, test_server_message_round_trips);
	tcase_add_test(tc, test_signal_ping_leave);
	tcase_add_test(tc, test_unknown_members_skipped);
	tcase_add_test(tc, test_wrapped_join_request);
	tcase_add_test(tc, test_corpus_round_trips);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_over_limit);
	tcase_add_test(tc, test_copy_and_helpers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
