/*
 * rtc: the /rtc signalling WebSocket of lk-devserver (livekit v0). A join
 * gets SignalResponse.join first, the other participants get a
 * ParticipantUpdate, keepalives are answered, and a leave or a closed
 * socket removes the participant. With an SFU attached, media requests
 * (offer/answer/trickle/add_track/mute) go to sfu.c. Runs in lk-devserver
 * on the main loop.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/http.h"
#include "net/ws.h"
#include "proto/lkpb.h"
#include "devserver/auth.h"
#include "devserver/ds.h"
#include "devserver/rooms.h"
#include "devserver/rtc.h"
#include "devserver/sfu.h"

struct ds_rtc_conn;

struct ds_rtc {
	struct ds *ds;
	struct ev_loop *loop;
	ev_timer ping;
	char node_id[32];
	struct ds_rtc_conn *conns;
	int nconns;
	struct ds_sfu *sfu; /* NULL: signalling only, media requests are skipped */
};

/* One signalling connection, from the accepted upgrade to the close. */
struct ds_rtc_conn {
	struct ds_rtc *rtc;
	struct ws *ws; /* NULL until the upgraded socket is handed over */
	struct ds_participant *p; /* NULL before the join and after the leave */
	struct ds_sfu_peer *peer; /* media of p (with an SFU attached) */
	int64_t created_ms;
	/* What the token and the query asked for, kept until the socket is ready. */
	char *room_name;
	char *identity;
	char *name;
	char *metadata;
	int kind;
	struct ds_perm perm;
	char **attr_keys;
	char **attr_vals;
	int nattrs;
	int protocol;
	int auto_subscribe;
	char sdk[32];
	int resume; /* reconnect=1: a resume this server cannot serve */
	char sid_hint[32]; /* sid= of a resume, for the log */
	struct ds_rtc_conn *next;
};

/* ---- sending ---- */

static int
ds_rtc_send(struct ds_rtc_conn *c, const livekit_SignalResponse *resp)
{
	struct buf b;
	int rc;

	if (c->ws == NULL)
		return LK_ECLOSED;
	buf_init(&b, DS_RTC_MAX_MSG);
	/* livekit_rtc.proto: one binary message = one SignalResponse. */
	rc = lkpb_encode(livekit_SignalResponse_fields, resp, &b);
	if (rc == 0)
		rc = ws_send(c->ws, 1, b.data, b.len);
	else
		log_error("signal response encode failed", "participant",
		        c->p != NULL ? c->p->sid : NULL, "err", lk_strerror(rc));
	buf_free(&b);
	return rc;
}

static void
ds_rtc_send_leave(struct ds_rtc_conn *c, int reason, int action)
{
	livekit_SignalResponse resp;
	livekit_LeaveRequest leave;

	memset(&resp, 0, sizeof(resp));
	memset(&leave, 0, sizeof(leave));
	/* livekit_rtc.proto LeaveRequest: can_reconnect (1) false, reason (2), action (3). */
	leave.reason = (livekit_DisconnectReason)reason;
	leave.action = (livekit_LeaveRequest_Action)action;
	resp.which_message = livekit_SignalResponse_leave_tag;
	resp.message.leave = &leave;
	(void)ds_rtc_send(c, &resp);
}

/* ParticipantInfo of a participant, with the tracks it publishes through the SFU. */
static void
ds_rtc_participant_pb(
        struct ds_arena *a, const struct ds_participant *p, livekit_ParticipantInfo *out)
{
	const struct ds_rtc_conn *pc = p->kick_arg;

	ds_participant_pb(a, p, out);
	if (pc != NULL)
		ds_sfu_peer_tracks_pb(pc->peer, a, out);
}

/* SignalResponse.update with one participant to everyone else in the room. */
static void
ds_rtc_broadcast(struct ds_room *room, const struct ds_participant *about)
{
	livekit_SignalResponse resp;
	livekit_ParticipantUpdate upd;
	livekit_ParticipantInfo info;
	struct ds_participant *p;
	struct ds_arena a = {0};

	/* livekit-server never announces hidden participants to the others. */
	if (about->perm.hidden)
		return;
	ds_rtc_participant_pb(&a, about, &info);
	memset(&upd, 0, sizeof(upd));
	upd.participants = &info;
	upd.participants_count = 1;
	memset(&resp, 0, sizeof(resp));
	resp.which_message = livekit_SignalResponse_update_tag;
	resp.message.update = &upd;
	for (p = room->participants; p != NULL; p = p->next)
		if (p != about && p->kick_arg != NULL)
			(void)ds_rtc_send(p->kick_arg, &resp);
	ds_arena_free(&a);
}

static void
ds_rtc_send_join(struct ds_rtc_conn *c)
{
	struct ds_participant *self = c->p, *o;
	struct ds_room *room = self->room;
	livekit_SignalResponse resp;
	livekit_JoinResponse join;
	livekit_ServerInfo si;
	livekit_Room r;
	livekit_ParticipantInfo me;
	struct ds_arena a = {0};
	int n = 0;

	memset(&join, 0, sizeof(join));
	memset(&si, 0, sizeof(si));
	ds_room_pb(room, &r);
	ds_rtc_participant_pb(&a, self, &me);
	/* JoinResponse.room (1) and .participant (2) are unwrapped by the Rust SDK. */
	join.room = &r;
	join.participant = &me;
	if (room->nparticipants > 1) {
		join.other_participants = ds_arena_alloc(
		        &a, (size_t)room->nparticipants * sizeof(*join.other_participants));
		for (o = room->participants; o != NULL; o = o->next)
			if (o != self && !o->perm.hidden)
				ds_rtc_participant_pb(&a, o, &join.other_participants[n++]);
		join.other_participants_count = (pb_size_t)n;
	}
	join.server_version = (char *)PACKAGE_VERSION;
	/* livekit-server: subscriber PC primary when protocol > 2 and the client subscribes. */
	join.subscriber_primary = c->protocol > 2 && self->perm.can_subscribe;
	/* fast_publish (15) false: the publisher PC is negotiated on the first publish. */
	join.fast_publish = false;
	/* Seconds; 0 would panic the Rust SDK's interval timer. */
	join.ping_timeout = DS_RTC_PING_TIMEOUT_S;
	join.ping_interval = DS_RTC_PING_INTERVAL_S;
	si.edition = livekit_ServerInfo_Edition_Standard;
	si.version = (char *)PACKAGE_VERSION;
	si.protocol = DS_RTC_PROTOCOL;
	si.node_id = c->rtc->node_id;
	join.server_info = &si;
	memset(&resp, 0, sizeof(resp));
	resp.which_message = livekit_SignalResponse_join_tag;
	resp.message.join = &join;
	(void)ds_rtc_send(c, &resp);
	ds_arena_free(&a);
}

/* Send a server leave, then close (ws_close lets the leave out first). */
static void
ds_rtc_leave_and_close(struct ds_rtc_conn *c, int reason, int action, int code)
{
	ds_rtc_send_leave(c, reason, action);
	if (c->ws != NULL)
		ws_close(c->ws, code, "leave");
}

/* ---- participants ---- */

/* Unlink the connection's participant, announce it DISCONNECTED, free it. */
static void
ds_rtc_depart(struct ds_rtc_conn *c, const char *why)
{
	struct ds_participant *p = c->p;
	struct ds_room *room;

	if (p == NULL)
		return;
	room = p->room;
	c->p = NULL;
	p->kick = NULL;
	p->kick_arg = NULL;
	/* ParticipantInfo.State DISCONNECTED (3) removes it in the clients (protocol > 8). */
	p->state = livekit_ParticipantInfo_State_DISCONNECTED;
	p->version++;
	ds_rtc_broadcast(room, p);
	/* After the update: the offers without its tracks follow (rtc-protocol.md 2.7). */
	ds_sfu_peer_free(c->peer);
	c->peer = NULL;
	log_info("participant left", "room", room->name, "participant", p->sid, "identity",
	        p->identity, "reason", why);
	ds_participant_remove(room, p);
}

/* ds_kick_fn: the room table removes this participant (room deleted, duplicate). */
static void
ds_rtc_kick(struct ds_participant *p, int reason, void *arg)
{
	struct ds_rtc_conn *c = arg;

	c->p = NULL;
	p->kick = NULL;
	p->kick_arg = NULL;
	ds_sfu_peer_free(c->peer);
	c->peer = NULL;
	log_info("participant removed by the server", "room", p->room->name, "participant", p->sid,
	        "identity", p->identity, "reason", log_fmt("%d", reason));
	/* LeaveRequest action DISCONNECT (0): the client closes the room for good. */
	ds_rtc_leave_and_close(c, reason, livekit_LeaveRequest_Action_DISCONNECT, 1000);
}

/* ---- SFU callbacks ---- */

static int
ds_rtc_sfu_send(void *arg, const livekit_SignalResponse *resp)
{
	return ds_rtc_send(arg, resp);
}

/* The participant's tracks changed: every other participant hears it before its new offer. */
static void
ds_rtc_sfu_changed(void *arg)
{
	struct ds_rtc_conn *c = arg;

	if (c->p == NULL)
		return;
	c->p->version++;
	ds_rtc_broadcast(c->p->room, c->p);
}

/* ParticipantInfo.State ACTIVE (2): the subscriber PC connected. */
static void
ds_rtc_sfu_active(void *arg)
{
	struct ds_rtc_conn *c = arg;

	if (c->p == NULL || c->p->state == livekit_ParticipantInfo_State_ACTIVE)
		return;
	c->p->state = livekit_ParticipantInfo_State_ACTIVE;
	c->p->version++;
	log_info("participant active", "room", c->p->room->name, "participant", c->p->sid,
	        "identity", c->p->identity);
	ds_rtc_broadcast(c->p->room, c->p);
}

static const struct ds_sfu_peer_cbs ds_rtc_sfu_cbs = {
        .send = ds_rtc_sfu_send,
        .changed = ds_rtc_sfu_changed,
        .active = ds_rtc_sfu_active,
};

static void
ds_rtc_join(struct ds_rtc_conn *c)
{
	char err[256];
	struct ds *ds = c->rtc->ds;
	struct ds_participant *p, *old;
	struct ds_room *room;
	int created, i;

	/* A participant joining a room that does not exist creates it (livekit auto_create). */
	room = ds_room_get(ds, c->room_name, NULL, &created);
	if (room == NULL) {
		log_warn("join refused: room table full", "room", c->room_name, "identity",
		        c->identity);
		ds_rtc_leave_and_close(c, livekit_DisconnectReason_JOIN_FAILURE,
		        livekit_LeaveRequest_Action_DISCONNECT, 1011);
		return;
	}
	/* One session per identity: the older one goes (DUPLICATE_IDENTITY). */
	old = ds_participant_find(room, c->identity);
	if (old != NULL) {
		struct ds_rtc_conn *oc = old->kick_arg;

		if (oc != NULL)
			ds_rtc_kick(old, livekit_DisconnectReason_DUPLICATE_IDENTITY, oc);
		old->state = livekit_ParticipantInfo_State_DISCONNECTED;
		old->version++;
		ds_rtc_broadcast(room, old);
		ds_participant_remove(room, old);
	}
	p = ds_participant_add(room, c->identity, c->name, c->metadata, c->kind);
	if (p == NULL) {
		log_warn("join refused: room is full", "room", room->name, "identity", c->identity);
		ds_rtc_leave_and_close(c, livekit_DisconnectReason_JOIN_FAILURE,
		        livekit_LeaveRequest_Action_DISCONNECT, 1008);
		return;
	}
	p->perm = c->perm;
	p->protocol = c->protocol;
	p->auto_subscribe = c->auto_subscribe;
	for (i = 0; i < c->nattrs; i++)
		ds_participant_set_attr(p, c->attr_keys[i], c->attr_vals[i]);
	if (c->rtc->sfu != NULL) {
		/* Transports before the join response: a participant without media is refused. */
		c->peer = ds_sfu_peer_new(
		        c->rtc->sfu, room, room->name, p, &ds_rtc_sfu_cbs, c, err, sizeof(err));
		if (c->peer == NULL) {
			log_error("join refused: media transports", "room", room->name, "identity",
			        c->identity, "err", err);
			ds_participant_remove(room, p);
			ds_rtc_leave_and_close(c, livekit_DisconnectReason_JOIN_FAILURE,
			        livekit_LeaveRequest_Action_DISCONNECT, 1011);
			return;
		}
	}
	p->kick = ds_rtc_kick;
	p->kick_arg = c;
	c->p = p;
	log_info("participant joined", "room", room->name, "room_sid", room->sid, "participant",
	        p->sid, "identity", p->identity, "kind", log_fmt("%d", p->kind), "protocol",
	        log_fmt("%d", c->protocol), "sdk", c->sdk);
	/* livekit_rtc.proto: the join response is the first message of the session. */
	ds_rtc_send_join(c);
	ds_rtc_broadcast(room, p);
}

/* ---- requests ---- */

/*
 * offer, answer, trickle, add_track and mute go to the SFU. Without one
 * (signalling-only tests) and for subscription and update_metadata they
 * are skipped without a reply (never a half-valid one). A request the SFU
 * cannot use without breaking the session (malformed SDP) closes this
 * participant only.
 */
static void
ds_rtc_media_request(struct ds_rtc_conn *c, const livekit_SignalRequest *req)
{
	const char *why = NULL;
	int rc = 0;

	if (c->peer == NULL) {
		log_debug("signal request not served (no media)", "participant", c->p->sid,
		        "request", log_fmt("%u", (unsigned)req->which_message));
		return;
	}
	switch (req->which_message) {
	case livekit_SignalRequest_offer_tag:
		rc = ds_sfu_peer_offer(c->peer, req->message.offer, &why);
		break;
	case livekit_SignalRequest_answer_tag:
		rc = ds_sfu_peer_answer(c->peer, req->message.answer, &why);
		break;
	case livekit_SignalRequest_trickle_tag:
		if (req->message.trickle != NULL)
			rc = ds_sfu_peer_trickle(c->peer, req->message.trickle, &why);
		break;
	case livekit_SignalRequest_add_track_tag:
		if (req->message.add_track != NULL)
			rc = ds_sfu_peer_add_track(c->peer, req->message.add_track, &why);
		break;
	case livekit_SignalRequest_mute_tag:
		if (req->message.mute != NULL)
			rc = ds_sfu_peer_mute(c->peer, req->message.mute, &why);
		break;
	default:
		log_debug("signal request ignored", "participant", c->p->sid, "request",
		        log_fmt("%u", (unsigned)req->which_message));
		break;
	}
	if (rc < 0) {
		log_warn("participant closed: unusable media request", "participant", c->p->sid,
		        "identity", c->p->identity, "request",
		        log_fmt("%u", (unsigned)req->which_message), "why", why, "err",
		        lk_strerror(rc));
		ds_rtc_depart(c, why != NULL ? why : "media request");
		/* LeaveRequest action DISCONNECT: a retry would send the same SDP. */
		ds_rtc_leave_and_close(c, livekit_DisconnectReason_STATE_MISMATCH,
		        livekit_LeaveRequest_Action_DISCONNECT, 1007);
	}
}

static void
ds_rtc_request(struct ds_rtc_conn *c, const livekit_SignalRequest *req)
{
	livekit_SignalResponse resp;
	livekit_Pong pong;

	log_debug("signal request", "participant", c->p->sid, "request",
	        log_fmt("%u", (unsigned)req->which_message));
	memset(&resp, 0, sizeof(resp));
	switch (req->which_message) {
	case livekit_SignalRequest_ping_req_tag:
		/* Ping{timestamp} -> Pong{last_ping_timestamp (1), timestamp (2)} in ms. */
		memset(&pong, 0, sizeof(pong));
		pong.last_ping_timestamp =
		        req->message.ping_req != NULL ? req->message.ping_req->timestamp : 0;
		pong.timestamp = lk_wall_ms();
		resp.which_message = livekit_SignalResponse_pong_resp_tag;
		resp.message.pong_resp = &pong;
		(void)ds_rtc_send(c, &resp);
		break;
	case livekit_SignalRequest_ping_tag:
		/* Legacy ping (14) -> pong (18): the server's time in ms. */
		resp.which_message = livekit_SignalResponse_pong_tag;
		resp.message.pong = lk_wall_ms();
		(void)ds_rtc_send(c, &resp);
		break;
	case livekit_SignalRequest_leave_tag:
		ds_rtc_depart(c, "client leave");
		ws_close(c->ws, 1000, "leave");
		break;
	case livekit_SignalRequest_offer_tag:
	case livekit_SignalRequest_answer_tag:
	case livekit_SignalRequest_trickle_tag:
	case livekit_SignalRequest_add_track_tag:
	case livekit_SignalRequest_mute_tag:
	case livekit_SignalRequest_subscription_tag:
	case livekit_SignalRequest_update_metadata_tag:
		ds_rtc_media_request(c, req);
		break;
	default:
		/* Oneof members this server does not know decode as 0: skip them. */
		break;
	}
}

static void
ds_rtc_on_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct ds_rtc_conn *c = arg;
	livekit_SignalRequest req;
	int rc;

	if (c->p == NULL)
		return; /* left or removed; the close is under way */
	if (!binary) {
		/* livekit also takes protojson text frames; this server speaks binary only. */
		log_warn("signal connection closed: text frame", "participant", c->p->sid,
		        "identity", c->p->identity);
		ws_close(ws, 1003, "binary protobuf frames only");
		return;
	}
	rc = lkpb_decode(livekit_SignalRequest_fields, &req, data, len, DS_RTC_MAX_MSG);
	if (rc < 0) {
		log_warn("signal connection closed: malformed SignalRequest", "participant",
		        c->p->sid, "identity", c->p->identity, "bytes", log_fmt("%zu", len), "err",
		        lk_strerror(rc));
		ws_close(ws, 1007, "malformed SignalRequest");
		return;
	}
	ds_rtc_request(c, &req);
	lkpb_free(livekit_SignalRequest_fields, &req);
}

/* ---- connection lifetime ---- */

static void
ds_rtc_conn_free(struct ds_rtc_conn *c)
{
	struct ds_rtc_conn **pp;
	int i;

	for (pp = &c->rtc->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->rtc->nconns--;
			break;
		}
	}
	if (c->ws != NULL)
		ws_free(c->ws);
	ds_sfu_peer_free(c->peer);
	for (i = 0; i < c->nattrs; i++) {
		free(c->attr_keys[i]);
		free(c->attr_vals[i]);
	}
	free(c->attr_keys);
	free(c->attr_vals);
	free(c->room_name);
	free(c->identity);
	free(c->name);
	free(c->metadata);
	free(c);
}

static void
ds_rtc_on_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct ds_rtc_conn *c = arg;

	if (c->ws == NULL)
		c->ws = ws;
	ds_rtc_depart(c, "signal closed");
	log_debug("signal connection closed", "room", c->room_name, "identity", c->identity, "code",
	        log_fmt("%d", code), "reason", reason);
	ds_rtc_conn_free(c);
}

static void
ds_rtc_on_ws(struct ws *ws, void *arg)
{
	struct ds_rtc_conn *c = arg;

	c->ws = ws;
	if (c->resume) {
		/*
		 * A resume (reconnect=1) needs the old session's transport state,
		 * which this server does not keep: like livekit-server for an
		 * unknown session, answer leave{STATE_MISMATCH, RECONNECT} so
		 * that the client does a full rejoin.
		 */
		log_info("resume refused: full rejoin requested", "room", c->room_name, "identity",
		        c->identity, "sid", c->sid_hint);
		ds_rtc_leave_and_close(c, livekit_DisconnectReason_STATE_MISMATCH,
		        livekit_LeaveRequest_Action_RECONNECT, 1000);
		return;
	}
	ds_rtc_join(c);
}

static const struct ws_cbs ds_rtc_ws_cbs = {
        .on_open = NULL,
        .on_message = ds_rtc_on_message,
        .on_close = ds_rtc_on_close,
};

static void
ds_rtc_ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ds_rtc *rtc = w->data;
	struct ds_rtc_conn *c, *next;
	int64_t now = lk_mono_ms();

	for (c = rtc->conns; c != NULL; c = next) {
		next = c->next;
		if (c->ws == NULL) {
			/* The upgrade never completed (client gone before the hand-over). */
			if (now - c->created_ms > DS_RTC_IDLE_CLOSE_MS)
				ds_rtc_conn_free(c);
			continue;
		}
		if (ws_idle_ms(c->ws) > DS_RTC_IDLE_CLOSE_MS) {
			log_info("signal connection closed: peer silent", "room", c->room_name,
			        "identity", c->identity, "idle_ms",
			        log_fmt("%lld", (long long)ws_idle_ms(c->ws)));
			ws_abort(c->ws);
			continue;
		}
		/* livekit-server pings every signalling socket every 10 s. */
		(void)ws_ping(c->ws);
	}
}

/* ---- HTTP side ---- */

int
ds_rtc_path(const char *path)
{
	return strcmp(path, "/rtc") == 0 || strncmp(path, "/rtc/", 5) == 0;
}

/* livekit's boolValue: only "1" and "true" are true. */
static int
ds_rtc_query_bool(const char *v, int def)
{
	if (v == NULL)
		return def;
	return strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

static int
ds_rtc_query_int(const char *v, int def, int min, int max)
{
	char *end;
	long x;

	if (v == NULL || v[0] == '\0')
		return def;
	x = strtol(v, &end, 10);
	if (*end != '\0' || x < min || x > max)
		return def;
	return (int)x;
}

static struct ds_rtc_conn *
ds_rtc_conn_new(struct ds_rtc *rtc, struct http_req *req, const struct ds_auth *a)
{
	struct ds_rtc_conn *c = lk_xcalloc(1, sizeof(*c));
	const char *key, *sid;
	json_t *val;

	c->rtc = rtc;
	c->created_ms = lk_mono_ms();
	/* The room comes only from the token's video.room (rtc-protocol.md 1.2). */
	c->room_name = lk_xstrdup(ds_auth_grant_str(a, "room"));
	c->identity = lk_xstrdup(a->identity);
	c->name = lk_xstrdup(a->name);
	c->metadata = lk_xstrdup(a->metadata);
	c->kind = ds_auth_kind(a);
	c->perm.can_subscribe = ds_auth_grant_default_true(a, "canSubscribe");
	c->perm.can_publish = ds_auth_grant_default_true(a, "canPublish");
	c->perm.can_publish_data = ds_auth_grant_default_true(a, "canPublishData");
	c->perm.hidden = ds_auth_grant(a, "hidden");
	c->perm.can_update_metadata = ds_auth_grant(a, "canUpdateOwnMetadata");
	c->perm.agent = ds_auth_grant(a, "agent");
	if (a->attributes != NULL) {
		json_object_foreach(a->attributes, key, val)
		{
			if (c->nattrs >= DS_MAX_ATTRS)
				break;
			if (!json_is_string(val))
				continue;
			c->attr_keys =
			        lk_xrealloc(c->attr_keys, (size_t)(c->nattrs + 1) * sizeof(char *));
			c->attr_vals =
			        lk_xrealloc(c->attr_vals, (size_t)(c->nattrs + 1) * sizeof(char *));
			c->attr_keys[c->nattrs] = lk_xstrdup(key);
			c->attr_vals[c->nattrs] = lk_xstrdup(json_string_value(val));
			c->nattrs++;
		}
	}
	/* v0 query (rtc-protocol.md 1.3): protocol decides behaviour; missing = 0. */
	c->protocol = ds_rtc_query_int(http_req_query(req, "protocol"), 0, 0, 1000);
	c->auto_subscribe = ds_rtc_query_bool(http_req_query(req, "auto_subscribe"), 1);
	lk_strlcpy(c->sdk, http_req_query(req, "sdk") != NULL ? http_req_query(req, "sdk") : "",
	        sizeof(c->sdk));
	c->resume = ds_rtc_query_bool(http_req_query(req, "reconnect"), 0);
	sid = http_req_query(req, "sid");
	lk_strlcpy(c->sid_hint, sid != NULL ? sid : "", sizeof(c->sid_hint));
	c->next = rtc->conns;
	rtc->conns = c;
	rtc->nconns++;
	return c;
}

void
ds_rtc_handle(struct ds_rtc *rtc, struct http_req *req, const char *path)
{
	const char *why = NULL;
	struct ds_auth a;
	struct ds_rtc_conn *c;
	int validate;

	/* Single-PC signalling is not served: 404 makes rtc-node and JS fall back to /rtc. */
	if (strcmp(path, "/rtc/v1") == 0 || strncmp(path, "/rtc/v1/", 8) == 0) {
		http_reply_text(req, 404,
		        "not found: single peer connection (/rtc/v1) is not "
		        "supported, use /rtc");
		return;
	}
	validate = strcmp(path, "/rtc/validate") == 0;
	if (!validate && strcmp(path, "/rtc") != 0 && strcmp(path, "/rtc/") != 0) {
		http_reply_text(req, 404, "not found");
		return;
	}
	if (!validate && !http_req_is_ws_upgrade(req)) {
		http_reply_text(req, 404, "not found: /rtc expects a WebSocket upgrade");
		return;
	}
	if (ds_auth_request(rtc->ds, req, &a, &why) < 0 || ds_auth_check_rtc(&a, &why) < 0) {
		log_info("rtc connection refused", "path", path, "err", why);
		http_reply_text(req, 401, why);
		ds_auth_clear(&a);
		return;
	}
	if (validate) {
		http_reply_text(req, 200, "success");
		ds_auth_clear(&a);
		return;
	}
	c = ds_rtc_conn_new(rtc, req, &a);
	ds_auth_clear(&a);
	http_reply_ws(req, DS_RTC_MAX_MSG, &ds_rtc_ws_cbs, c, ds_rtc_on_ws, c);
}

struct ds_rtc *
ds_rtc_new(struct ds *ds)
{
	struct ds_rtc *rtc = lk_xcalloc(1, sizeof(*rtc));

	rtc->ds = ds;
	rtc->loop = ds->loop;
	lk_make_id("ND_", rtc->node_id, sizeof(rtc->node_id));
	ev_timer_init(&rtc->ping, ds_rtc_ping_cb, DS_RTC_WS_PING_S, DS_RTC_WS_PING_S);
	rtc->ping.data = rtc;
	ev_timer_start(rtc->loop, &rtc->ping);
	return rtc;
}

void
ds_rtc_free(struct ds_rtc *rtc)
{
	struct ds_participant *p;

	if (rtc == NULL)
		return;
	ev_timer_stop(rtc->loop, &rtc->ping);
	while (rtc->conns != NULL) {
		p = rtc->conns->p;
		if (p != NULL) {
			/* The room table outlives this; it must not call back into a freed conn. */
			p->kick = NULL;
			p->kick_arg = NULL;
		}
		ds_rtc_conn_free(rtc->conns);
	}
	free(rtc);
}

int
ds_rtc_count(const struct ds_rtc *rtc)
{
	return rtc->nconns;
}

void
ds_rtc_set_sfu(struct ds_rtc *rtc, struct ds_sfu *sfu)
{
	rtc->sfu = sfu;
}
