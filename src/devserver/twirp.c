/*
 * twirp: the Twirp RoomService and AgentDispatchService of lk-devserver.
 * Requests arrive as protobuf or proto3 JSON (livekit-server-sdk sends
 * lowerCamelCase JSON), answers go back in the request's encoding with
 * proto field names, as livekit-server's Twirp handlers do. Runs in
 * lk-devserver on the main loop.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/http.h"
#include "devserver/auth.h"
#include "devserver/ds.h"
#include "devserver/rooms.h"
#include "devserver/twirp.h"

/* Bounds on what one JSON request may carry (the body is bounded by http). */
#define TW_MAX_NAMES 1000
#define TW_MAX_AGENTS DS_MAX_DISPATCHES
#define TW_MAX_MAP 256
#define TW_MAX_ROOM_NAME 255 /* struct ds_job.room_name */
#define TW_MAX_AGENT_NAME 127 /* struct ds_job.agent_name */
#define TW_MAX_BODY (1024 * 1024)

/* ---- enum names (livekit_models.proto, livekit_agent*.proto) ---- */

static const char *const tw_restart_policy_names[] = {"JRP_ON_FAILURE", "JRP_NEVER", NULL};
static const char *const tw_job_type_names[] = {"JT_ROOM", "JT_PUBLISHER", "JT_PARTICIPANT", NULL};
static const char *const tw_job_status_names[] = {
        "JS_PENDING", "JS_RUNNING", "JS_SUCCESS", "JS_FAILED", NULL};
static const char *const tw_state_names[] = {"JOINING", "JOINED", "ACTIVE", "DISCONNECTED", NULL};
static const char *const tw_kind_names[] = {
        "STANDARD", "INGRESS", "EGRESS", "SIP", "AGENT", "", "", "CONNECTOR", "BRIDGE", NULL};
static const char *const tw_track_type_names[] = {"AUDIO", "VIDEO", "DATA", NULL};
static const char *const tw_track_source_names[] = {
        "UNKNOWN", "CAMERA", "MICROPHONE", "SCREEN_SHARE", "SCREEN_SHARE_AUDIO", NULL};
static const char *const tw_disconnect_names[] = {"UNKNOWN_REASON", "CLIENT_INITIATED",
        "DUPLICATE_IDENTITY", "SERVER_SHUTDOWN", "PARTICIPANT_REMOVED", "ROOM_DELETED",
        "STATE_MISMATCH", "JOIN_FAILURE", "MIGRATION", "SIGNAL_CLOSE", "ROOM_CLOSED",
        "USER_UNAVAILABLE", "USER_REJECTED", "SIP_TRUNK_FAILURE", "CONNECTION_TIMEOUT",
        "MEDIA_FAILURE", "AGENT_ERROR", NULL};

/* ==== JSON -> message ==== */

struct tw_dec {
	char *why;
	size_t whylen;
};

static int
tw_fail(struct tw_dec *d, const char *field, const char *what)
{
	snprintf(d->why, d->whylen, "field %s: %s", field, what);
	return LK_EINVAL;
}

/* The value of a field by proto name or JSON name; JSON null counts as absent. */
static json_t *
tw_field(json_t *obj, const char *proto, const char *camel)
{
	json_t *v = json_object_get(obj, proto);

	if (v == NULL && camel != NULL)
		v = json_object_get(obj, camel);
	if (v != NULL && json_is_null(v))
		return NULL;
	return v;
}

static int
tw_str(struct tw_dec *d, json_t *obj, const char *proto, const char *camel, char **out)
{
	json_t *v = tw_field(obj, proto, camel);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return tw_fail(d, proto, "expected a string");
	free(*out);
	*out = lk_xstrdup(json_string_value(v));
	return 0;
}

static int
tw_u32(struct tw_dec *d, json_t *obj, const char *proto, const char *camel, uint32_t *out)
{
	json_t *v = tw_field(obj, proto, camel);
	unsigned long long u;
	const char *s;
	char *end;
	double x;

	if (v == NULL)
		return 0;
	/* proto3 JSON: a number, or a decimal string for any integer type. */
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
			return tw_fail(d, proto, "out of range for uint32");
		*out = (uint32_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		x = json_real_value(v);
		if (!(x >= 0 && x <= (double)UINT32_MAX) || floor(x) != x)
			return tw_fail(d, proto, "not a uint32");
		*out = (uint32_t)x;
		return 0;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (s[0] < '0' || s[0] > '9')
			return tw_fail(d, proto, "not a uint32");
		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno != 0 || *end != '\0' || u > UINT32_MAX)
			return tw_fail(d, proto, "not a uint32");
		*out = (uint32_t)u;
		return 0;
	}
	return tw_fail(d, proto, "expected a number");
}

static int
tw_bool(struct tw_dec *d, json_t *obj, const char *proto, const char *camel, bool *out)
{
	json_t *v = tw_field(obj, proto, camel);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return tw_fail(d, proto, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/*
 * An enum by name or number. An unknown name is skipped (value left at
 * its default), so a newer SDK's values do not fail a request.
 */
static int
tw_enum(struct tw_dec *d, json_t *obj, const char *proto, const char *camel,
        const char *const *names, int *out)
{
	json_t *v = tw_field(obj, proto, camel);
	int i;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
			return tw_fail(d, proto, "enum number out of range");
		*out = (int)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return tw_fail(d, proto, "expected an enum name or number");
	for (i = 0; names[i] != NULL; i++) {
		if (names[i][0] != '\0' && strcmp(names[i], json_string_value(v)) == 0) {
			*out = i;
			return 0;
		}
	}
	return 0;
}

static int
tw_str_array(struct tw_dec *d, json_t *obj, const char *proto, const char *camel, size_t max,
        pb_size_t *count, char ***out)
{
	json_t *v = tw_field(obj, proto, camel), *e;
	size_t i, n;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return tw_fail(d, proto, "expected an array");
	n = json_array_size(v);
	if (n > max)
		return tw_fail(d, proto, "too many elements");
	if (n == 0)
		return 0;
	/* Count first, then fill: a failure midway leaves a releasable message. */
	*out = lk_xcalloc(n, sizeof(char *));
	*count = (pb_size_t)n;
	for (i = 0; i < n; i++) {
		e = json_array_get(v, i);
		if (!json_is_string(e))
			return tw_fail(d, proto, "expected an array of strings");
		(*out)[i] = lk_xstrdup(json_string_value(e));
	}
	return 0;
}

/*
 * map<string, string>: a JSON object of strings into an array of
 * {char *key; char *value;} entry structs of the given size and offsets.
 */
static int
tw_map(struct tw_dec *d, json_t *obj, const char *proto, const char *camel, size_t entry_size,
        size_t key_off, size_t val_off, pb_size_t *count, void **out)
{
	json_t *v = tw_field(obj, proto, camel), *val;
	const char *key;
	uint8_t *arr;
	size_t n, i = 0;

	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return tw_fail(d, proto, "expected an object");
	n = json_object_size(v);
	if (n > TW_MAX_MAP)
		return tw_fail(d, proto, "too many entries");
	if (n == 0)
		return 0;
	arr = lk_xcalloc(n, entry_size);
	*out = arr;
	*count = (pb_size_t)n;
	json_object_foreach(v, key, val)
	{
		if (i >= n)
			break;
		if (!json_is_string(val))
			return tw_fail(d, proto, "expected string values");
		*(char **)(void *)(arr + i * entry_size + key_off) = lk_xstrdup(key);
		*(char **)(void *)(arr + i * entry_size + val_off) =
		        lk_xstrdup(json_string_value(val));
		i++;
	}
	return 0;
}

#define TW_MAP(d, obj, proto, camel, T, countp, outp)                                              \
	tw_map((d), (obj), (proto), (camel), sizeof(T), offsetof(T, key), offsetof(T, value),      \
	        (countp), (void **)(void *)(outp))

static int
tw_dec_room_agent(struct tw_dec *d, json_t *o, livekit_RoomAgentDispatch *m)
{
	int e = 0, rp = 0;

	if (!json_is_object(o))
		return tw_fail(d, "agents", "expected an array of objects");
	if ((e = tw_str(d, o, "agent_name", "agentName", &m->agent_name)) < 0 ||
	        (e = tw_str(d, o, "metadata", NULL, &m->metadata)) < 0 ||
	        (e = tw_enum(d, o, "restart_policy", "restartPolicy", tw_restart_policy_names,
	                 &rp)) < 0 ||
	        (e = tw_str(d, o, "deployment", NULL, &m->deployment)) < 0 ||
	        (e = TW_MAP(d, o, "attributes", NULL, livekit_RoomAgentDispatch_AttributesEntry,
	                 &m->attributes_count, &m->attributes)) < 0)
		return e;
	m->restart_policy = (livekit_JobRestartPolicy)rp;
	return 0;
}

static int
tw_dec_create_room(struct tw_dec *d, json_t *o, livekit_CreateRoomRequest *m)
{
	json_t *agents;
	size_t i, n;
	int e;

	memset(m, 0, sizeof(*m));
	if ((e = tw_str(d, o, "name", NULL, &m->name)) < 0 ||
	        (e = tw_str(d, o, "room_preset", "roomPreset", &m->room_preset)) < 0 ||
	        (e = tw_u32(d, o, "empty_timeout", "emptyTimeout", &m->empty_timeout)) < 0 ||
	        (e = tw_u32(d, o, "departure_timeout", "departureTimeout", &m->departure_timeout)) <
	                0 ||
	        (e = tw_u32(d, o, "max_participants", "maxParticipants", &m->max_participants)) <
	                0 ||
	        (e = tw_str(d, o, "node_id", "nodeId", &m->node_id)) < 0 ||
	        (e = tw_str(d, o, "metadata", NULL, &m->metadata)) < 0 ||
	        (e = tw_u32(d, o, "min_playout_delay", "minPlayoutDelay", &m->min_playout_delay)) <
	                0 ||
	        (e = tw_u32(d, o, "max_playout_delay", "maxPlayoutDelay", &m->max_playout_delay)) <
	                0 ||
	        (e = tw_bool(d, o, "sync_streams", "syncStreams", &m->sync_streams)) < 0 ||
	        (e = tw_bool(d, o, "replay_enabled", "replayEnabled", &m->replay_enabled)) < 0 ||
	        (e = TW_MAP(d, o, "tags", NULL, livekit_CreateRoomRequest_TagsEntry, &m->tags_count,
	                 &m->tags)) < 0)
		return e;
	agents = tw_field(o, "agents", NULL);
	if (agents == NULL)
		return 0;
	if (!json_is_array(agents))
		return tw_fail(d, "agents", "expected an array");
	n = json_array_size(agents);
	if (n > TW_MAX_AGENTS)
		return tw_fail(d, "agents", "too many elements");
	if (n == 0)
		return 0;
	m->agents = lk_xcalloc(n, sizeof(*m->agents));
	m->agents_count = (pb_size_t)n;
	for (i = 0; i < n; i++)
		if ((e = tw_dec_room_agent(d, json_array_get(agents, i), &m->agents[i])) < 0)
			return e;
	return 0;
}

static int
tw_dec_create_dispatch(struct tw_dec *d, json_t *o, livekit_CreateAgentDispatchRequest *m)
{
	int e, rp = 0;

	memset(m, 0, sizeof(*m));
	if ((e = tw_str(d, o, "agent_name", "agentName", &m->agent_name)) < 0 ||
	        (e = tw_str(d, o, "room", NULL, &m->room)) < 0 ||
	        (e = tw_str(d, o, "metadata", NULL, &m->metadata)) < 0 ||
	        (e = tw_enum(d, o, "restart_policy", "restartPolicy", tw_restart_policy_names,
	                 &rp)) < 0 ||
	        (e = tw_str(d, o, "deployment", NULL, &m->deployment)) < 0 ||
	        (e = TW_MAP(d, o, "attributes", NULL,
	                 livekit_CreateAgentDispatchRequest_AttributesEntry, &m->attributes_count,
	                 &m->attributes)) < 0)
		return e;
	m->restart_policy = (livekit_JobRestartPolicy)rp;
	return 0;
}

int
ds_twirp_json_decode(const pb_msgdesc_t *fields, void *msg, const uint8_t *data, size_t len,
        char *why, size_t whylen)
{
	struct tw_dec d = {why, whylen};
	json_error_t jerr;
	json_t *o;
	int rc;

	if (fields == livekit_CreateRoomRequest_fields)
		memset(msg, 0, sizeof(livekit_CreateRoomRequest));
	else if (fields == livekit_ListRoomsRequest_fields)
		memset(msg, 0, sizeof(livekit_ListRoomsRequest));
	else if (fields == livekit_DeleteRoomRequest_fields)
		memset(msg, 0, sizeof(livekit_DeleteRoomRequest));
	else if (fields == livekit_ListParticipantsRequest_fields)
		memset(msg, 0, sizeof(livekit_ListParticipantsRequest));
	else if (fields == livekit_CreateAgentDispatchRequest_fields)
		memset(msg, 0, sizeof(livekit_CreateAgentDispatchRequest));
	else if (fields == livekit_ListAgentDispatchRequest_fields)
		memset(msg, 0, sizeof(livekit_ListAgentDispatchRequest));
	else if (fields == livekit_DeleteAgentDispatchRequest_fields)
		memset(msg, 0, sizeof(livekit_DeleteAgentDispatchRequest));
	else {
		snprintf(why, whylen, "no JSON decoder for this message");
		return LK_EINVAL;
	}
	if (data == NULL || len == 0) {
		snprintf(why, whylen, "empty body");
		return LK_EINVAL;
	}
	if (len > TW_MAX_BODY) {
		snprintf(why, whylen, "body too large");
		return LK_EINVAL;
	}
	/* Duplicate keys are an error in proto3 JSON; the whole input must be one value. */
	o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		snprintf(why, whylen, "invalid JSON: %s (line %d column %d)", jerr.text, jerr.line,
		        jerr.column);
		return LK_EINVAL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(why, whylen, "expected a JSON object");
		return LK_EINVAL;
	}
	if (fields == livekit_CreateRoomRequest_fields) {
		rc = tw_dec_create_room(&d, o, msg);
	} else if (fields == livekit_ListRoomsRequest_fields) {
		livekit_ListRoomsRequest *m = msg;

		rc = tw_str_array(&d, o, "names", NULL, TW_MAX_NAMES, &m->names_count, &m->names);
	} else if (fields == livekit_DeleteRoomRequest_fields) {
		rc = tw_str(&d, o, "room", NULL, &((livekit_DeleteRoomRequest *)msg)->room);
	} else if (fields == livekit_ListParticipantsRequest_fields) {
		rc = tw_str(&d, o, "room", NULL, &((livekit_ListParticipantsRequest *)msg)->room);
	} else if (fields == livekit_CreateAgentDispatchRequest_fields) {
		rc = tw_dec_create_dispatch(&d, o, msg);
	} else if (fields == livekit_ListAgentDispatchRequest_fields) {
		livekit_ListAgentDispatchRequest *m = msg;

		if ((rc = tw_str(&d, o, "dispatch_id", "dispatchId", &m->dispatch_id)) == 0)
			rc = tw_str(&d, o, "room", NULL, &m->room);
	} else {
		livekit_DeleteAgentDispatchRequest *m = msg;

		if ((rc = tw_str(&d, o, "dispatch_id", "dispatchId", &m->dispatch_id)) == 0)
			rc = tw_str(&d, o, "room", NULL, &m->room);
	}
	json_decref(o);
	return rc;
}

/* ==== message -> JSON ==== */

static json_t *
tw_jstr(const char *s)
{
	json_t *j = json_string(s != NULL ? s : "");

	/* Bytes that arrived over protobuf may not be UTF-8; never emit broken JSON. */
	return j != NULL ? j : json_string("");
}

/* proto3 JSON writes 64-bit integers as strings. */
static json_t *
tw_ji64(int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_string(s);
}

static json_t *
tw_jenum(const char *const *names, int v)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (i == v && names[i][0] != '\0')
			return json_string(names[i]);
	return json_integer(v);
}

static void
tw_set(json_t *o, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(o, key, v);
}

static json_t *
tw_jmap(pb_size_t n, const void *arr, size_t entry_size, size_t key_off, size_t val_off)
{
	json_t *o = json_object();
	const uint8_t *p = arr;
	const char *k, *v;
	pb_size_t i;

	for (i = 0; i < n && p != NULL; i++) {
		k = *(char *const *)(const void *)(p + i * entry_size + key_off);
		v = *(char *const *)(const void *)(p + i * entry_size + val_off);
		if (k != NULL)
			tw_set(o, k, tw_jstr(v));
	}
	return o;
}

#define TW_JMAP(n, arr, T) tw_jmap((n), (arr), sizeof(T), offsetof(T, key), offsetof(T, value))

static json_t *
tw_json_room(const livekit_Room *r)
{
	json_t *o = json_object();

	tw_set(o, "sid", tw_jstr(r->sid));
	tw_set(o, "name", tw_jstr(r->name));
	tw_set(o, "empty_timeout", json_integer(r->empty_timeout));
	tw_set(o, "departure_timeout", json_integer(r->departure_timeout));
	tw_set(o, "max_participants", json_integer(r->max_participants));
	tw_set(o, "creation_time", tw_ji64(r->creation_time));
	tw_set(o, "creation_time_ms", tw_ji64(r->creation_time_ms));
	tw_set(o, "turn_password", tw_jstr(r->turn_password));
	tw_set(o, "enabled_codecs", json_array());
	tw_set(o, "metadata", tw_jstr(r->metadata));
	tw_set(o, "num_participants", json_integer(r->num_participants));
	tw_set(o, "num_publishers", json_integer(r->num_publishers));
	tw_set(o, "active_recording", json_boolean(r->active_recording));
	return o;
}

static json_t *
tw_json_permission(const livekit_ParticipantPermission *p)
{
	json_t *o = json_object(), *src = json_array();
	pb_size_t i;

	tw_set(o, "can_subscribe", json_boolean(p->can_subscribe));
	tw_set(o, "can_publish", json_boolean(p->can_publish));
	tw_set(o, "can_publish_data", json_boolean(p->can_publish_data));
	for (i = 0; i < p->can_publish_sources_count; i++)
		json_array_append_new(
		        src, tw_jenum(tw_track_source_names, (int)p->can_publish_sources[i]));
	tw_set(o, "can_publish_sources", src);
	tw_set(o, "hidden", json_boolean(p->hidden));
	tw_set(o, "recorder", json_boolean(p->recorder));
	tw_set(o, "can_update_metadata", json_boolean(p->can_update_metadata));
	tw_set(o, "agent", json_boolean(p->agent));
	tw_set(o, "can_subscribe_metrics", json_boolean(p->can_subscribe_metrics));
	tw_set(o, "can_manage_agent_session", json_boolean(p->can_manage_agent_session));
	return o;
}

static json_t *
tw_json_track(const livekit_TrackInfo *t)
{
	json_t *o = json_object();

	tw_set(o, "sid", tw_jstr(t->sid));
	tw_set(o, "type", tw_jenum(tw_track_type_names, (int)t->type));
	tw_set(o, "name", tw_jstr(t->name));
	tw_set(o, "muted", json_boolean(t->muted));
	tw_set(o, "width", json_integer(t->width));
	tw_set(o, "height", json_integer(t->height));
	tw_set(o, "source", tw_jenum(tw_track_source_names, (int)t->source));
	tw_set(o, "mime_type", tw_jstr(t->mime_type));
	tw_set(o, "mid", tw_jstr(t->mid));
	tw_set(o, "disable_red", json_boolean(t->disable_red));
	tw_set(o, "stream", tw_jstr(t->stream));
	return o;
}

static json_t *
tw_json_participant(const livekit_ParticipantInfo *p)
{
	json_t *o = json_object(), *tracks = json_array();
	pb_size_t i;

	tw_set(o, "sid", tw_jstr(p->sid));
	tw_set(o, "identity", tw_jstr(p->identity));
	tw_set(o, "state", tw_jenum(tw_state_names, (int)p->state));
	for (i = 0; i < p->tracks_count; i++)
		json_array_append_new(tracks, tw_json_track(&p->tracks[i]));
	tw_set(o, "tracks", tracks);
	tw_set(o, "metadata", tw_jstr(p->metadata));
	tw_set(o, "joined_at", tw_ji64(p->joined_at));
	tw_set(o, "joined_at_ms", tw_ji64(p->joined_at_ms));
	tw_set(o, "name", tw_jstr(p->name));
	tw_set(o, "version", json_integer(p->version));
	if (p->permission != NULL)
		tw_set(o, "permission", tw_json_permission(p->permission));
	tw_set(o, "region", tw_jstr(p->region));
	tw_set(o, "is_publisher", json_boolean(p->is_publisher));
	tw_set(o, "kind", tw_jenum(tw_kind_names, (int)p->kind));
	tw_set(o, "attributes",
	        TW_JMAP(p->attributes_count, p->attributes,
	                livekit_ParticipantInfo_AttributesEntry));
	tw_set(o, "disconnect_reason", tw_jenum(tw_disconnect_names, (int)p->disconnect_reason));
	return o;
}

static json_t *
tw_json_job(const livekit_Job *j)
{
	json_t *o = json_object(), *room, *st;

	tw_set(o, "id", tw_jstr(j->id));
	tw_set(o, "dispatch_id", tw_jstr(j->dispatch_id));
	tw_set(o, "type", tw_jenum(tw_job_type_names, (int)j->type));
	if (j->room != NULL) {
		room = json_object();
		tw_set(room, "sid", tw_jstr(j->room->sid));
		tw_set(room, "name", tw_jstr(j->room->name));
		tw_set(o, "room", room);
	}
	if (j->participant != NULL)
		tw_set(o, "participant", tw_json_participant(j->participant));
	tw_set(o, "namespace", tw_jstr(j->namespace));
	tw_set(o, "metadata", tw_jstr(j->metadata));
	tw_set(o, "agent_name", tw_jstr(j->agent_name));
	if (j->state != NULL) {
		st = json_object();
		tw_set(st, "status", tw_jenum(tw_job_status_names, (int)j->state->status));
		tw_set(st, "error", tw_jstr(j->state->error));
		tw_set(st, "started_at", tw_ji64(j->state->started_at));
		tw_set(st, "ended_at", tw_ji64(j->state->ended_at));
		tw_set(st, "updated_at", tw_ji64(j->state->updated_at));
		tw_set(st, "participant_identity", tw_jstr(j->state->participant_identity));
		tw_set(st, "worker_id", tw_jstr(j->state->worker_id));
		tw_set(st, "agent_id", tw_jstr(j->state->agent_id));
		tw_set(o, "state", st);
	}
	tw_set(o, "enable_recording", json_boolean(j->enable_recording));
	tw_set(o, "deployment", tw_jstr(j->deployment));
	tw_set(o, "attributes",
	        TW_JMAP(j->attributes_count, j->attributes, livekit_Job_AttributesEntry));
	return o;
}

static json_t *
tw_json_dispatch(const livekit_AgentDispatch *d)
{
	json_t *o = json_object(), *st, *jobs;
	pb_size_t i;

	tw_set(o, "id", tw_jstr(d->id));
	tw_set(o, "agent_name", tw_jstr(d->agent_name));
	tw_set(o, "room", tw_jstr(d->room));
	tw_set(o, "metadata", tw_jstr(d->metadata));
	if (d->state != NULL) {
		st = json_object();
		jobs = json_array();
		for (i = 0; i < d->state->jobs_count; i++)
			json_array_append_new(jobs, tw_json_job(&d->state->jobs[i]));
		tw_set(st, "jobs", jobs);
		tw_set(st, "created_at", tw_ji64(d->state->created_at));
		tw_set(st, "deleted_at", tw_ji64(d->state->deleted_at));
		tw_set(o, "state", st);
	}
	tw_set(o, "restart_policy", tw_jenum(tw_restart_policy_names, (int)d->restart_policy));
	tw_set(o, "deployment", tw_jstr(d->deployment));
	tw_set(o, "attributes",
	        TW_JMAP(d->attributes_count, d->attributes, livekit_AgentDispatch_AttributesEntry));
	return o;
}

json_t *
ds_twirp_json_encode(const pb_msgdesc_t *fields, const void *msg)
{
	json_t *o, *arr;
	pb_size_t i;

	if (fields == livekit_Room_fields)
		return tw_json_room(msg);
	if (fields == livekit_ParticipantInfo_fields)
		return tw_json_participant(msg);
	if (fields == livekit_AgentDispatch_fields)
		return tw_json_dispatch(msg);
	if (fields == livekit_DeleteRoomResponse_fields)
		return json_object();
	o = json_object();
	arr = json_array();
	if (fields == livekit_ListRoomsResponse_fields) {
		const livekit_ListRoomsResponse *m = msg;

		for (i = 0; i < m->rooms_count; i++)
			json_array_append_new(arr, tw_json_room(&m->rooms[i]));
		tw_set(o, "rooms", arr);
	} else if (fields == livekit_ListParticipantsResponse_fields) {
		const livekit_ListParticipantsResponse *m = msg;

		for (i = 0; i < m->participants_count; i++)
			json_array_append_new(arr, tw_json_participant(&m->participants[i]));
		tw_set(o, "participants", arr);
	} else if (fields == livekit_ListAgentDispatchResponse_fields) {
		const livekit_ListAgentDispatchResponse *m = msg;

		for (i = 0; i < m->agent_dispatches_count; i++)
			json_array_append_new(arr, tw_json_dispatch(&m->agent_dispatches[i]));
		tw_set(o, "agent_dispatches", arr);
	} else {
		json_decref(arr);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ==== HTTP side ==== */

struct tw_call {
	struct ds *ds;
	struct http_req *req;
	const char *method; /* "RoomService/CreateRoom" */
	int json; /* request (and so reply) encoding */
	struct ds_arena arena;
};

typedef void (*tw_fn)(struct tw_call *c, void *msg);
typedef const char *(*tw_room_fn)(const void *msg);

/* Twirp error: {"code","msg"} JSON with the code's HTTP status, whatever the request encoding. */
static void
tw_error(struct http_req *req, unsigned status, const char *code, const char *msg)
{
	json_t *o = json_object();
	char *body;

	tw_set(o, "code", json_string(code));
	tw_set(o, "msg", tw_jstr(msg));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	/* livekit-server-sdk parses the error only when Content-Type is exactly application/json.
	 */
	http_reply(req, status, "application/json", body != NULL ? body : "{}",
	        body != NULL ? strlen(body) : 2);
	free(body);
}

static void
tw_reply(struct tw_call *c, const pb_msgdesc_t *fields, const void *msg)
{
	struct buf b;
	json_t *j;
	char *s;

	if (c->json) {
		j = ds_twirp_json_encode(fields, msg);
		s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (s == NULL) {
			log_error("twirp reply encode failed", "method", c->method, "err", "json");
			tw_error(c->req, 500, "internal", "could not encode the response");
			return;
		}
		http_reply(c->req, 200, "application/json", s, strlen(s));
		free(s);
		return;
	}
	buf_init(&b, 0);
	if (lkpb_encode(fields, msg, &b) < 0) {
		buf_free(&b);
		log_error("twirp reply encode failed", "method", c->method, "err", "protobuf");
		tw_error(c->req, 500, "internal", "could not encode the response");
		return;
	}
	http_reply(c->req, 200, "application/protobuf", b.data, b.len);
	buf_free(&b);
}

static int
tw_check_name(struct tw_call *c, const char *what, const char *v, size_t max)
{
	char msg[128];

	if (v == NULL || v[0] == '\0') {
		snprintf(msg, sizeof(msg), "%s is required", what);
		tw_error(c->req, 400, "invalid_argument", msg);
		return -1;
	}
	if (strlen(v) > max) {
		snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", what, max);
		tw_error(c->req, 400, "invalid_argument", msg);
		return -1;
	}
	return 0;
}

static void
tw_create_room(struct tw_call *c, void *msg)
{
	livekit_CreateRoomRequest *m = msg;
	struct ds_agent_spec specs[TW_MAX_AGENTS];
	struct ds_room_opts opts;
	struct ds_room *room;
	livekit_Room out;
	int created, i;

	if (tw_check_name(c, "room name", m->name, TW_MAX_ROOM_NAME) < 0)
		return;
	memset(&opts, 0, sizeof(opts));
	opts.empty_timeout = m->empty_timeout;
	opts.departure_timeout = m->departure_timeout;
	opts.max_participants = m->max_participants;
	opts.metadata = m->metadata;
	/* CreateRoomRequest.agents (14): explicit dispatches instead of the automatic one. */
	for (i = 0; i < (int)m->agents_count && i < TW_MAX_AGENTS; i++) {
		if (m->agents[i].agent_name != NULL &&
		        strlen(m->agents[i].agent_name) > TW_MAX_AGENT_NAME) {
			tw_error(c->req, 400, "invalid_argument", "agent_name is too long");
			return;
		}
		specs[i].agent_name = m->agents[i].agent_name;
		specs[i].metadata = m->agents[i].metadata;
	}
	opts.agents = specs;
	opts.nagents = i;
	room = ds_room_get(c->ds, m->name, &opts, &created);
	if (room == NULL) {
		tw_error(c->req, 429, "resource_exhausted", "too many rooms");
		return;
	}
	ds_room_pb(room, &out);
	tw_reply(c, livekit_Room_fields, &out);
}

static void
tw_list_rooms(struct tw_call *c, void *msg)
{
	livekit_ListRoomsRequest *m = msg;
	livekit_ListRoomsResponse out;
	struct ds_room *r;
	pb_size_t i;
	int n = 0, keep;

	memset(&out, 0, sizeof(out));
	out.rooms = ds_arena_alloc(&c->arena,
	        (size_t)(ds_room_count(c->ds) > 0 ? ds_room_count(c->ds) : 1) * sizeof(*out.rooms));
	for (r = ds_room_first(c->ds); r != NULL; r = r->next) {
		/* ListRoomsRequest.names (1): when set, only those rooms. */
		keep = m->names_count == 0;
		for (i = 0; i < m->names_count && !keep; i++)
			keep = m->names[i] != NULL && strcmp(m->names[i], r->name) == 0;
		if (keep)
			ds_room_pb(r, &out.rooms[n++]);
	}
	out.rooms_count = (pb_size_t)n;
	tw_reply(c, livekit_ListRoomsResponse_fields, &out);
}

static void
tw_delete_room(struct tw_call *c, void *msg)
{
	livekit_DeleteRoomRequest *m = msg;
	livekit_DeleteRoomResponse out;
	struct ds_room *room;

	if (tw_check_name(c, "room", m->room, TW_MAX_ROOM_NAME) < 0)
		return;
	room = ds_room_find(c->ds, m->room);
	if (room == NULL) {
		tw_error(c->req, 404, "not_found", "requested room does not exist");
		return;
	}
	ds_room_delete(c->ds, room, livekit_DisconnectReason_ROOM_DELETED);
	memset(&out, 0, sizeof(out));
	tw_reply(c, livekit_DeleteRoomResponse_fields, &out);
}

static void
tw_list_participants(struct tw_call *c, void *msg)
{
	livekit_ListParticipantsRequest *m = msg;
	livekit_ListParticipantsResponse out;
	struct ds_participant *p;
	struct ds_room *room;
	int n = 0;

	if (tw_check_name(c, "room", m->room, TW_MAX_ROOM_NAME) < 0)
		return;
	memset(&out, 0, sizeof(out));
	room = ds_room_find(c->ds, m->room);
	if (room != NULL && room->nparticipants > 0) {
		out.participants = ds_arena_alloc(
		        &c->arena, (size_t)room->nparticipants * sizeof(*out.participants));
		for (p = room->participants; p != NULL; p = p->next)
			ds_participant_pb(&c->arena, p, &out.participants[n++]);
	}
	out.participants_count = (pb_size_t)n;
	tw_reply(c, livekit_ListParticipantsResponse_fields, &out);
}

static void
tw_create_dispatch(struct tw_call *c, void *msg)
{
	livekit_CreateAgentDispatchRequest *m = msg;
	livekit_AgentDispatch out;
	struct ds_dispatch *d;
	struct ds_room *room;

	if (tw_check_name(c, "room", m->room, TW_MAX_ROOM_NAME) < 0)
		return;
	if (m->agent_name != NULL && strlen(m->agent_name) > TW_MAX_AGENT_NAME) {
		tw_error(c->req, 400, "invalid_argument", "agent_name is too long");
		return;
	}
	/* CreateDispatch auto-creates the room, as livekit-server with auto_create. */
	room = ds_room_get(c->ds, m->room, NULL, NULL);
	if (room == NULL) {
		tw_error(c->req, 429, "resource_exhausted", "too many rooms");
		return;
	}
	d = ds_dispatch_create(c->ds, room, m->agent_name, m->metadata);
	if (d == NULL) {
		tw_error(c->req, 429, "resource_exhausted", "too many dispatches in this room");
		return;
	}
	ds_dispatch_pb(&c->arena, room, d, &out);
	tw_reply(c, livekit_AgentDispatch_fields, &out);
}

static void
tw_list_dispatch(struct tw_call *c, void *msg)
{
	livekit_ListAgentDispatchRequest *m = msg;
	livekit_ListAgentDispatchResponse out;
	struct ds_dispatch *d;
	struct ds_room *room;
	int n = 0;

	if (tw_check_name(c, "room", m->room, TW_MAX_ROOM_NAME) < 0)
		return;
	memset(&out, 0, sizeof(out));
	room = ds_room_find(c->ds, m->room);
	if (room != NULL && room->ndispatches > 0) {
		out.agent_dispatches = ds_arena_alloc(
		        &c->arena, (size_t)room->ndispatches * sizeof(*out.agent_dispatches));
		for (d = room->dispatches; d != NULL; d = d->next) {
			/* ListAgentDispatchRequest.dispatch_id (1): optional filter. */
			if (m->dispatch_id != NULL && m->dispatch_id[0] != '\0' &&
			        strcmp(m->dispatch_id, d->id) != 0)
				continue;
			ds_dispatch_pb(&c->arena, room, d, &out.agent_dispatches[n++]);
		}
	}
	out.agent_dispatches_count = (pb_size_t)n;
	tw_reply(c, livekit_ListAgentDispatchResponse_fields, &out);
}

static void
tw_delete_dispatch(struct tw_call *c, void *msg)
{
	livekit_DeleteAgentDispatchRequest *m = msg;
	livekit_AgentDispatch out;
	struct ds_dispatch *d;
	struct ds_room *room;

	if (tw_check_name(c, "room", m->room, TW_MAX_ROOM_NAME) < 0 ||
	        tw_check_name(c, "dispatch_id", m->dispatch_id, 64) < 0)
		return;
	room = ds_room_find(c->ds, m->room);
	d = room != NULL ? ds_dispatch_find(room, m->dispatch_id) : NULL;
	if (d == NULL) {
		tw_error(c->req, 404, "not_found", "dispatch not found");
		return;
	}
	/* The reply borrows the dispatch's strings: send it before freeing them. */
	ds_dispatch_pb(&c->arena, room, d, &out);
	out.state->deleted_at = lk_wall_ns();
	tw_reply(c, livekit_AgentDispatch_fields, &out);
	ds_dispatch_delete(c->ds, room, d);
}

static const char *
tw_room_none(const void *msg)
{
	return NULL;
}

static const char *
tw_room_list_participants(const void *msg)
{
	return ((const livekit_ListParticipantsRequest *)msg)->room;
}

static const char *
tw_room_create_dispatch(const void *msg)
{
	return ((const livekit_CreateAgentDispatchRequest *)msg)->room;
}

static const char *
tw_room_list_dispatch(const void *msg)
{
	return ((const livekit_ListAgentDispatchRequest *)msg)->room;
}

static const char *
tw_room_delete_dispatch(const void *msg)
{
	return ((const livekit_DeleteAgentDispatchRequest *)msg)->room;
}

static const struct tw_method {
	const char *path;
	const pb_msgdesc_t *fields;
	tw_room_fn room;
	tw_fn fn;
} tw_methods[] = {
        {"livekit.RoomService/CreateRoom", livekit_CreateRoomRequest_fields, tw_room_none,
                tw_create_room},
        {"livekit.RoomService/ListRooms", livekit_ListRoomsRequest_fields, tw_room_none,
                tw_list_rooms},
        {"livekit.RoomService/DeleteRoom", livekit_DeleteRoomRequest_fields, tw_room_none,
                tw_delete_room},
        {"livekit.RoomService/ListParticipants", livekit_ListParticipantsRequest_fields,
                tw_room_list_participants, tw_list_participants},
        {"livekit.AgentDispatchService/CreateDispatch", livekit_CreateAgentDispatchRequest_fields,
                tw_room_create_dispatch, tw_create_dispatch},
        {"livekit.AgentDispatchService/ListDispatch", livekit_ListAgentDispatchRequest_fields,
                tw_room_list_dispatch, tw_list_dispatch},
        {"livekit.AgentDispatchService/DeleteDispatch", livekit_DeleteAgentDispatchRequest_fields,
                tw_room_delete_dispatch, tw_delete_dispatch},
};

/* "application/json; charset=utf-8" -> json; "application/protobuf" -> protobuf. */
static int
tw_content_type(const char *ct, int *json)
{
	size_t n;

	if (ct == NULL)
		return -1;
	n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", n) == 0) {
		*json = 1;
		return 0;
	}
	if ((n == 20 && strncasecmp(ct, "application/protobuf", n) == 0) ||
	        (n == 22 && strncasecmp(ct, "application/x-protobuf", n) == 0)) {
		*json = 0;
		return 0;
	}
	return -1;
}

void
ds_twirp_handle(struct ds *ds, struct http_req *req, const char *full_path)
{
	const char *path = full_path + strlen(DS_TWIRP_PREFIX);
	const struct tw_method *m = NULL;
	char why[DS_TWIRP_WHY_MAX], msg[DS_TWIRP_WHY_MAX + 64];
	const char *deny = NULL;
	struct ds_auth auth;
	struct tw_call c;
	const uint8_t *body;
	size_t i, len;
	int rc;
	union {
		livekit_CreateRoomRequest create_room;
		livekit_ListRoomsRequest list_rooms;
		livekit_DeleteRoomRequest delete_room;
		livekit_ListParticipantsRequest list_participants;
		livekit_CreateAgentDispatchRequest create_dispatch;
		livekit_ListAgentDispatchRequest list_dispatch;
		livekit_DeleteAgentDispatchRequest delete_dispatch;
	} u;

	for (i = 0; i < sizeof(tw_methods) / sizeof(tw_methods[0]); i++)
		if (strcmp(path, tw_methods[i].path) == 0)
			m = &tw_methods[i];
	memset(&c, 0, sizeof(c));
	c.ds = ds;
	c.req = req;
	if (m == NULL) {
		snprintf(msg, sizeof(msg), "no handler for path %.120s", full_path);
		tw_error(req, 404, "bad_route", msg);
		return;
	}
	c.method = strchr(m->path, '.') + 1;
	if (strcmp(http_req_method(req), "POST") != 0) {
		snprintf(msg, sizeof(msg), "unsupported method %s (only POST is allowed)",
		        http_req_method(req));
		tw_error(req, 404, "bad_route", msg);
		return;
	}
	if (tw_content_type(http_req_header(req, "Content-Type"), &c.json) < 0) {
		tw_error(req, 404, "bad_route",
		        "unexpected Content-Type: want application/json "
		        "or application/protobuf");
		return;
	}
	if (ds_auth_request(ds, req, &auth, &deny) < 0) {
		log_info("twirp call refused", "method", c.method, "err", deny);
		tw_error(req, 401, "unauthenticated", deny);
		return;
	}
	body = http_req_body(req, &len);
	if (c.json)
		rc = ds_twirp_json_decode(m->fields, &u, body, len, why, sizeof(why));
	else if ((rc = lkpb_decode(m->fields, &u, body, len, TW_MAX_BODY)) < 0)
		snprintf(why, sizeof(why), "%s", lk_strerror(rc));
	if (rc < 0) {
		log_info("twirp request malformed", "method", c.method, "err", why);
		snprintf(msg, sizeof(msg), "the request could not be decoded: %s", why);
		tw_error(req, 400, "malformed", msg);
		lkpb_free(m->fields, &u);
		ds_auth_clear(&auth);
		return;
	}
	if (ds_auth_check_twirp(&auth, c.method, m->room(&u), &deny) < 0) {
		log_info("twirp call refused", "method", c.method, "err", deny);
		/* livekit-server answers a missing grant with Twirp unauthenticated (401). */
		tw_error(req, 401, "unauthenticated", deny);
	} else {
		log_debug("twirp call", "method", c.method, "api_key", auth.api_key);
		m->fn(&c, &u);
	}
	ds_arena_free(&c.arena);
	lkpb_free(m->fields, &u);
	ds_auth_clear(&auth);
}

json_t *
ds_twirp_jobs_json(struct ds *ds)
{
	json_t *arr = json_array(), *o;
	struct ds_job *j, **all;
	int n = 0, i;

	/* ds->jobs is newest first; the array reads oldest first. */
	all = lk_xcalloc((size_t)(ds->njobs > 0 ? ds->njobs : 1), sizeof(*all));
	for (j = ds->jobs; j != NULL && n < ds->njobs; j = j->next)
		all[n++] = j;
	for (i = n - 1; i >= 0; i--) {
		j = all[i];
		o = json_object();
		tw_set(o, "id", tw_jstr(j->id));
		tw_set(o, "dispatch_id", tw_jstr(j->dispatch_id));
		tw_set(o, "type", json_string(ds_job_type_name(j->type)));
		tw_set(o, "room", tw_jstr(j->room_name));
		tw_set(o, "room_sid", tw_jstr(j->room_sid));
		tw_set(o, "agent_name", tw_jstr(j->agent_name));
		tw_set(o, "status", json_string(ds_job_status_name(j->status)));
		tw_set(o, "error", tw_jstr(j->error));
		tw_set(o, "worker_id", tw_jstr(j->worker_id));
		tw_set(o, "participant_identity", tw_jstr(j->participant_identity));
		tw_set(o, "started_at", json_integer(j->started_at_ns));
		tw_set(o, "ended_at", json_integer(j->ended_at_ns));
		tw_set(o, "updated_at", json_integer(j->updated_at_ns));
		tw_set(o, "offered_at_ns", json_integer(j->offered_at_ns));
		tw_set(o, "running_at_ns", json_integer(j->worker_running_at_ns));
		json_array_append_new(arr, o);
	}
	free(all);
	return arr;
}

void
ds_twirp_debug_jobs(struct ds *ds, struct http_req *req)
{
	json_t *arr = ds_twirp_jobs_json(ds);
	char *s = json_dumps(arr, JSON_COMPACT);

	json_decref(arr);
	if (s == NULL) {
		http_reply_text(req, 500, "could not encode the job table");
		return;
	}
	http_reply(req, 200, "application/json", s, strlen(s));
	free(s);
}
