/*
 * room: the /rtc v0 signalling client of lk-jobproc (rtc-protocol.md §1,
 * §2.1-2.5, §5.2): WebSocket connect with a Bearer token, JoinResponse,
 * ping_req keepalive with the server's ping_timeout, participant tracking
 * from ParticipantUpdate, leave in both directions, and the signalling of
 * its media (offer/answer, trickle, add_track/track_published).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "jobproc/media.h"
#include "jobproc/room.h"
#include "net/ws.h"
#include "proto/lkpb.h"

#define ROOM_STR(x) #x
#define ROOM_XSTR(x) ROOM_STR(x)

enum room_state {
	ROOM_IDLE, /* room_new, not connected */
	ROOM_CONNECTING, /* WebSocket upgrade, or waiting for SignalResponse.join */
	ROOM_JOINED,
	ROOM_ENDED, /* ended on its own; on_disconnected was called */
	ROOM_CLOSING, /* room_close: leave sent, waiting for the socket to close */
	ROOM_CLOSED, /* room_close finished */
};

struct room {
	struct ev_loop *loop;
	struct room_events ev;
	void *arg;
	enum room_state state;
	struct ws *ws;
	struct media *media;

	char *sid;
	char *name;
	char *local_sid;
	char *local_identity;
	struct room_participant *parts;
	size_t nparts, capparts;

	int64_t ping_interval_ms;
	int64_t ping_timeout_ms;
	int64_t rtt_ms;

	ev_timer join_timer; /* connect + first message */
	ev_timer ping_timer; /* SignalRequest.ping_req every ping_interval */
	ev_timer silence_timer; /* no message for ping_timeout -> disconnected */
	ev_timer close_timer; /* bounds room_close, and defers its done callback */

	void (*close_done)(struct room *room, void *arg);
	void *close_arg;

	/* One encoding buffer for every SignalRequest: after the first
	 * messages it has the room it needs, so the periodic pings do not
	 * allocate. */
	struct buf tx;
};

/* livekit_models.proto DisconnectReason names, for logs and reasons. */
static const char *const room_disconnect_reasons[] = {
        "UNKNOWN_REASON",
        "CLIENT_INITIATED",
        "DUPLICATE_IDENTITY",
        "SERVER_SHUTDOWN",
        "PARTICIPANT_REMOVED",
        "ROOM_DELETED",
        "STATE_MISMATCH",
        "JOIN_FAILURE",
        "MIGRATION",
        "SIGNAL_CLOSE",
        "ROOM_CLOSED",
        "USER_UNAVAILABLE",
        "USER_REJECTED",
        "SIP_TRUNK_FAILURE",
        "CONNECTION_TIMEOUT",
        "MEDIA_FAILURE",
        "AGENT_ERROR",
};

static const char *
room_reason_name(int reason)
{
	if (reason >= 0 &&
	        (size_t)reason <
	                sizeof(room_disconnect_reasons) / sizeof(room_disconnect_reasons[0]))
		return room_disconnect_reasons[reason];
	return "UNKNOWN_REASON";
}

static const char *
room_msg_name(pb_size_t which)
{
	switch (which) {
	case livekit_SignalResponse_join_tag:
		return "join";
	case livekit_SignalResponse_answer_tag:
		return "answer";
	case livekit_SignalResponse_offer_tag:
		return "offer";
	case livekit_SignalResponse_trickle_tag:
		return "trickle";
	case livekit_SignalResponse_update_tag:
		return "update";
	case livekit_SignalResponse_track_published_tag:
		return "track_published";
	case livekit_SignalResponse_leave_tag:
		return "leave";
	case livekit_SignalResponse_mute_tag:
		return "mute";
	case livekit_SignalResponse_speakers_changed_tag:
		return "speakers_changed";
	case livekit_SignalResponse_room_update_tag:
		return "room_update";
	case livekit_SignalResponse_refresh_token_tag:
		return "refresh_token";
	case livekit_SignalResponse_track_unpublished_tag:
		return "track_unpublished";
	case livekit_SignalResponse_pong_tag:
		return "pong";
	case livekit_SignalResponse_reconnect_tag:
		return "reconnect";
	case livekit_SignalResponse_pong_resp_tag:
		return "pong_resp";
	case livekit_SignalResponse_request_response_tag:
		return "request_response";
	case livekit_SignalResponse_track_subscribed_tag:
		return "track_subscribed";
	case livekit_SignalResponse_media_sections_requirement_tag:
		return "media_sections_requirement";
	case 0:
		return "empty or unknown";
	default:
		return "other";
	}
}

static char *
room_dup(const char *s)
{
	return lk_xstrdup(s ? s : "");
}

static void
room_stop_timers(struct room *room)
{
	ev_timer_stop(room->loop, &room->join_timer);
	ev_timer_stop(room->loop, &room->ping_timer);
	ev_timer_stop(room->loop, &room->silence_timer);
}

/* ---- participants ---- */

static void
room_part_clear(struct room_participant *p)
{
	free(p->sid);
	free(p->identity);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

static struct room_participant *
room_part_find(struct room *room, const char *sid)
{
	for (size_t i = 0; i < room->nparts; i++)
		if (strcmp(room->parts[i].sid, sid) == 0)
			return &room->parts[i];
	return NULL;
}

static struct room_participant *
room_part_add(struct room *room, const livekit_ParticipantInfo *pi)
{
	struct room_participant *p;

	if (room->nparts == room->capparts) {
		size_t cap = room->capparts ? room->capparts * 2 : 8;
		room->parts = lk_xrealloc(room->parts, cap * sizeof(*room->parts));
		room->capparts = cap;
	}
	p = &room->parts[room->nparts++];
	p->sid = room_dup(pi->sid);
	p->identity = room_dup(pi->identity);
	p->name = room_dup(pi->name);
	p->kind = pi->kind;
	return p;
}

static void
room_part_update(struct room_participant *p, const livekit_ParticipantInfo *pi)
{
	if (pi->identity && strcmp(p->identity, pi->identity) != 0) {
		free(p->identity);
		p->identity = room_dup(pi->identity);
	}
	if (pi->name && strcmp(p->name, pi->name) != 0) {
		free(p->name);
		p->name = room_dup(pi->name);
	}
	p->kind = pi->kind;
}

static void
room_parts_free(struct room *room)
{
	for (size_t i = 0; i < room->nparts; i++)
		room_part_clear(&room->parts[i]);
	free(room->parts);
	room->parts = NULL;
	room->nparts = room->capparts = 0;
}

/* ---- sending ---- */

static int
room_send(struct room *room, const livekit_SignalRequest *req)
{
	int rc;

	if (!room->ws || !ws_is_open(room->ws))
		return LK_ECLOSED;
	buf_reset(&room->tx);
	rc = lkpb_encode(livekit_SignalRequest_fields, req, &room->tx);
	if (rc == 0)
		rc = ws_send(room->ws, 1, room->tx.data,
		        room->tx.len); /* §1.5: one binary message per SignalRequest */
	if (rc < 0)
		log_debug("signal send failed", "type", log_fmt("%u", (unsigned)req->which_message),
		        "err", lk_strerror(rc));
	return rc;
}

static void
room_send_ping(struct room *room)
{
	livekit_SignalRequest req = livekit_SignalRequest_init_zero;
	livekit_Ping ping = livekit_Ping_init_zero;

	/* §1.6: SignalRequest.ping_req (16) Ping{timestamp (unix ms), rtt (ms)} */
	ping.timestamp = lk_wall_ms();
	ping.rtt = room->rtt_ms > 0 ? room->rtt_ms : 0;
	req.which_message = livekit_SignalRequest_ping_req_tag;
	req.message.ping_req = &ping;
	room_send(room, &req);
}

static int
room_send_leave(struct room *room)
{
	livekit_SignalRequest req = livekit_SignalRequest_init_zero;
	livekit_LeaveRequest leave = livekit_LeaveRequest_init_zero;

	/* §1.7: LeaveRequest{reason=CLIENT_INITIATED, action=DISCONNECT} */
	leave.reason = livekit_DisconnectReason_CLIENT_INITIATED;
	leave.action = livekit_LeaveRequest_Action_DISCONNECT;
	req.which_message = livekit_SignalRequest_leave_tag;
	req.message.leave = &leave;
	return room_send(room, &req);
}

/* ---- media signalling out ---- */

static int
room_send_sdp(struct room *room, int offer, const char *sdp, uint32_t id)
{
	livekit_SignalRequest req = livekit_SignalRequest_init_zero;
	livekit_SessionDescription sd = livekit_SessionDescription_init_zero;

	/* §2.6: SessionDescription{type, sdp, id}; an answer echoes the offer's id. */
	sd.type = (char *)(offer ? "offer" : "answer");
	sd.sdp = (char *)sdp;
	sd.id = id;
	if (offer) {
		req.which_message = livekit_SignalRequest_offer_tag;
		req.message.offer = &sd;
	} else {
		req.which_message = livekit_SignalRequest_answer_tag;
		req.message.answer = &sd;
	}
	return room_send(room, &req);
}

static int
room_media_send_answer(const char *sdp, uint32_t id, void *arg)
{
	return room_send_sdp(arg, 0, sdp, id);
}

static int
room_media_send_offer(const char *sdp, uint32_t id, void *arg)
{
	return room_send_sdp(arg, 1, sdp, id);
}

static int
room_media_send_trickle(enum media_target target, const char *candidate_init, void *arg)
{
	livekit_SignalRequest req = livekit_SignalRequest_init_zero;
	livekit_TrickleRequest tr = livekit_TrickleRequest_init_zero;

	/* §2.6: TrickleRequest{candidateInit (JSON), target}; never an empty one. */
	tr.candidateInit = (char *)candidate_init;
	tr.target = target == MEDIA_TARGET_SUBSCRIBER ? livekit_SignalTarget_SUBSCRIBER
	                                              : livekit_SignalTarget_PUBLISHER;
	req.which_message = livekit_SignalRequest_trickle_tag;
	req.message.trickle = &tr;
	return room_send(arg, &req);
}

static int
room_media_send_add_track(const char *cid, const char *name, void *arg)
{
	livekit_SignalRequest req = livekit_SignalRequest_init_zero;
	livekit_AddTrackRequest at = livekit_AddTrackRequest_init_zero;

	/* §5.2: plain Opus from a C client: AUDIO, MICROPHONE, disable_red. */
	at.cid = (char *)cid;
	at.name = (char *)name;
	at.type = livekit_TrackType_AUDIO;
	at.source = livekit_TrackSource_MICROPHONE;
	at.disable_red = true;
	req.which_message = livekit_SignalRequest_add_track_tag;
	req.message.add_track = &at;
	return room_send(arg, &req);
}

/* ---- ending ---- */

/* The room ended on its own: report once, close the socket if it is still there. */
static void
room_end(struct room *room, const char *why, int failed)
{
	char reason[256];

	if (room->state != ROOM_CONNECTING && room->state != ROOM_JOINED)
		return;
	/* why may live in log_fmt's ring, which the callbacks below reuse. */
	lk_strlcpy(reason, why, sizeof(reason));
	room->state = ROOM_ENDED;
	room_stop_timers(room);
	if (room->ws)
		ws_close(room->ws, 1000, failed ? "error" : "disconnected");
	if (failed)
		log_error("room ended", "reason", reason);
	else
		log_info("room ended", "reason", reason);
	if (room->ev.on_disconnected)
		room->ev.on_disconnected(room, reason, failed, room->arg);
}

static void
room_close_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct room *room = w->data;

	if (room->ws) {
		log_debug("signal close handshake timed out; dropping the socket");
		ws_free(room->ws);
		room->ws = NULL;
	}
	room->state = ROOM_CLOSED;
	if (room->close_done) {
		void (*done)(struct room *, void *) = room->close_done;
		room->close_done = NULL;
		done(room, room->close_arg);
	}
}

void
room_close(struct room *room, void (*done)(struct room *room, void *arg), void *arg)
{
	double after = 0.;

	room->close_done = done;
	room->close_arg = arg;
	room_stop_timers(room);
	if (room->state == ROOM_CLOSED || room->state == ROOM_CLOSING) {
		/* Already closed or closing: the pending timer reports. */
		if (ev_is_active(&room->close_timer))
			return;
	} else if (room->ws) {
		/* §1.7: leave, then close (ws_close sends the leave first). */
		if (room->state != ROOM_ENDED && ws_is_open(room->ws))
			room_send_leave(room);
		if (room->state != ROOM_ENDED)
			ws_close(room->ws, 1000, "leave");
		after = ROOM_CLOSE_TIMEOUT_MS / 1000.;
	}
	if (room->state != ROOM_CLOSED)
		room->state = room->ws ? ROOM_CLOSING : ROOM_CLOSED;
	ev_timer_stop(room->loop, &room->close_timer);
	ev_timer_set(&room->close_timer, after, 0.);
	ev_timer_start(room->loop, &room->close_timer);
}

/* ---- media events ---- */

static const char *
room_media_identity(const char *participant_sid, void *arg)
{
	const struct room_participant *p = room_part_find(arg, participant_sid);

	return p ? p->identity : NULL;
}

static void
room_media_track_subscribed(const struct room_track *t, void *arg)
{
	struct room *room = arg;

	if (room->ev.on_track_subscribed)
		room->ev.on_track_subscribed(room, t, room->arg);
}

static void
room_media_track_unsubscribed(const struct room_track *t, void *arg)
{
	struct room *room = arg;

	if (room->ev.on_track_unsubscribed)
		room->ev.on_track_unsubscribed(room, t, room->arg);
}

static void
room_media_failed(const char *why, void *arg)
{
	/* A media failure ends the room as an error: the job fails with why. */
	room_end(arg, why, 1);
}

static const struct media_cbs room_media_cbs = {
        .send_answer = room_media_send_answer,
        .send_offer = room_media_send_offer,
        .send_trickle = room_media_send_trickle,
        .send_add_track = room_media_send_add_track,
        .identity = room_media_identity,
        .track_subscribed = room_media_track_subscribed,
        .track_unsubscribed = room_media_track_unsubscribed,
        .failed = room_media_failed,
};

/* ---- timers ---- */

static void
room_join_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct room *room = w->data;

	room_end(room,
	        log_fmt("room join failed: no join response within %d s",
	                ROOM_JOIN_TIMEOUT_MS / 1000),
	        1);
}

static void
room_ping_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	room_send_ping(w->data);
}

static void
room_silence_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct room *room = w->data;

	/* §1.6: nothing received for ping_timeout: the server is gone. */
	log_warn("signal ping timeout", "ping_timeout_ms",
	        log_fmt("%lld", (long long)room->ping_timeout_ms));
	/* A silent server will not finish a close handshake either: drop it. */
	if (room->ws) {
		ws_free(room->ws);
		room->ws = NULL;
	}
	room_end(room, "room disconnected", 0);
}

/* ---- receiving ---- */

static int
room_on_join(struct room *room, const livekit_JoinResponse *j)
{
	const char *server_version = j->server_info && j->server_info->version
	        ? j->server_info->version
	        : (j->server_version ? j->server_version : "");

	/* §2.3: room and participant are required; the participant sid is ours. */
	if (!j->room) {
		room_end(room, "room join failed: join response without room", 1);
		return LK_EINVAL;
	}
	if (!j->participant || !j->participant->sid || !*j->participant->sid) {
		room_end(room, "room join failed: join response without participant sid", 1);
		return LK_EINVAL;
	}
	room->sid = room_dup(j->room->sid);
	room->name = room_dup(j->room->name);
	room->local_sid = room_dup(j->participant->sid);
	room->local_identity = room_dup(j->participant->identity);
	for (pb_size_t i = 0; i < j->other_participants_count; i++) {
		const livekit_ParticipantInfo *pi = &j->other_participants[i];
		if (!pi->sid || !*pi->sid || strcmp(pi->sid, room->local_sid) == 0 ||
		        pi->state == livekit_ParticipantInfo_State_DISCONNECTED ||
		        room_part_find(room, pi->sid))
			continue;
		room_part_add(room, pi);
	}

	/* §1.6: ping_timeout (10) and ping_interval (11) are seconds; 0 would
	 * mean no keepalive, so fall back to livekit-server's 15 / 5. */
	room->ping_interval_ms = (j->ping_interval > 0 ? (int64_t)j->ping_interval : 5) * 1000;
	room->ping_timeout_ms = (j->ping_timeout > 0 ? (int64_t)j->ping_timeout : 15) * 1000;

	room->state = ROOM_JOINED;
	ev_timer_stop(room->loop, &room->join_timer);
	ev_timer_set(
	        &room->ping_timer, room->ping_interval_ms / 1000., room->ping_interval_ms / 1000.);
	ev_timer_start(room->loop, &room->ping_timer);
	room->silence_timer.repeat = room->ping_timeout_ms / 1000.;
	ev_timer_again(room->loop, &room->silence_timer);

	log_debug("signal join response", "server_version", server_version, "ping_interval_s",
	        log_fmt("%d", j->ping_interval), "ping_timeout_s", log_fmt("%d", j->ping_timeout),
	        "subscriber_primary", j->subscriber_primary ? "true" : "false");
	/* A publication asked for before the join starts now, and one asked
	 * for from on_joined starts at once. */
	media_on_joined(room->media);
	if (room->ev.on_joined)
		room->ev.on_joined(room, room->arg);
	return 0;
}

static void
room_on_update(struct room *room, const livekit_ParticipantUpdate *u)
{
	/* §2.6: each entry is a full ParticipantInfo; DISCONNECTED removes it. */
	for (pb_size_t i = 0; i < u->participants_count && room->state == ROOM_JOINED; i++) {
		const livekit_ParticipantInfo *pi = &u->participants[i];
		struct room_participant *p;

		if (!pi->sid || !*pi->sid || strcmp(pi->sid, room->local_sid) == 0)
			continue;
		p = room_part_find(room, pi->sid);
		if (pi->state == livekit_ParticipantInfo_State_DISCONNECTED) {
			if (!p)
				continue;
			struct room_participant gone = *p;
			/* Remove before the callback, so the count it sees is current. */
			*p = room->parts[--room->nparts];
			if (room->ev.on_participant_left)
				room->ev.on_participant_left(room, &gone, room->arg);
			room_part_clear(&gone);
		} else if (p) {
			room_part_update(p, pi);
		} else {
			p = room_part_add(room, pi);
			if (room->ev.on_participant_joined)
				room->ev.on_participant_joined(room, p, room->arg);
		}
	}
}

static void
room_on_leave(struct room *room, const livekit_LeaveRequest *l)
{
	/* §1.7: DISCONNECT closes the room; RESUME/RECONNECT would need a
	 * resume, which this client does not do, so they end the room too. */
	log_info("server sent leave", "reason", room_reason_name(l->reason), "action",
	        log_fmt("%d", (int)l->action));
	room_end(room, log_fmt("room disconnected: %s", room_reason_name(l->reason)), 0);
}

static void
room_on_pong(struct room *room, const livekit_Pong *p)
{
	int64_t rtt = lk_wall_ms() - p->last_ping_timestamp;

	/* §1.6: Pong.last_ping_timestamp (1) echoes our Ping.timestamp. */
	if (p->last_ping_timestamp > 0 && rtt >= 0 && rtt < 600000)
		room->rtt_ms = rtt;
}

static int
room_on_sdp(struct room *room, const livekit_SessionDescription *sd, int offer)
{
	const char *sdp = sd->sdp ? sd->sdp : "";

	/* §2.6: type is "offer" / "answer"; anything else cannot be applied. */
	if (!sd->type || strcmp(sd->type, offer ? "offer" : "answer") != 0) {
		room_end(room,
		        log_fmt("malformed SDP from server: %s with type \"%s\"",
		                offer ? "offer" : "answer", sd->type ? sd->type : ""),
		        1);
		return LK_EINVAL;
	}
	if (offer)
		return media_on_offer(room->media, sdp, strlen(sdp), sd->id);
	return media_on_answer(room->media, sdp, strlen(sdp));
}

int
room_handle_message(struct room *room, const uint8_t *data, size_t len)
{
	livekit_SignalResponse msg;
	int rc = 0;

	if (room->state != ROOM_CONNECTING && room->state != ROOM_JOINED)
		return 0;
	rc = lkpb_decode(livekit_SignalResponse_fields, &msg, data, len, ROOM_MAX_MSG);
	if (rc < 0) {
		room_end(room,
		        log_fmt("malformed signal message: %s (%zu bytes)", lk_strerror(rc), len),
		        1);
		return rc;
	}
	/* §1.6: any message resets the ping timeout. */
	if (room->state == ROOM_JOINED)
		ev_timer_again(room->loop, &room->silence_timer);

	if (room->state == ROOM_CONNECTING) {
		/* §1.5: the first server message must be join. */
		if (msg.which_message != livekit_SignalResponse_join_tag || !msg.message.join) {
			room_end(room,
			        log_fmt("room join failed: first signal message was %s, not join",
			                room_msg_name(msg.which_message)),
			        1);
			rc = LK_EINVAL;
		} else {
			rc = room_on_join(room, msg.message.join);
		}
		lkpb_free(livekit_SignalResponse_fields, &msg);
		return rc;
	}

	switch (msg.which_message) {
	case livekit_SignalResponse_join_tag:
		log_warn("signal join received twice; ignored");
		break;
	case livekit_SignalResponse_update_tag:
		if (msg.message.update)
			room_on_update(room, msg.message.update);
		break;
	case livekit_SignalResponse_leave_tag:
		if (msg.message.leave)
			room_on_leave(room, msg.message.leave);
		break;
	case livekit_SignalResponse_pong_resp_tag:
		if (msg.message.pong_resp)
			room_on_pong(room, msg.message.pong_resp);
		break;
	case livekit_SignalResponse_offer_tag:
		/* §2.5: the server offers on the subscriber PC; we answer. */
		if (msg.message.offer)
			rc = room_on_sdp(room, msg.message.offer, 1);
		break;
	case livekit_SignalResponse_answer_tag:
		/* The answer to our publisher offer. */
		if (msg.message.answer)
			rc = room_on_sdp(room, msg.message.answer, 0);
		break;
	case livekit_SignalResponse_trickle_tag:
		/* §2.6: TrickleRequest{candidateInit, target}. */
		if (msg.message.trickle)
			media_on_trickle(room->media,
			        msg.message.trickle->target == livekit_SignalTarget_SUBSCRIBER
			                ? MEDIA_TARGET_SUBSCRIBER
			                : MEDIA_TARGET_PUBLISHER,
			        msg.message.trickle->candidateInit);
		break;
	case livekit_SignalResponse_track_published_tag:
		/* §2.6: TrackPublishedResponse{cid (echo), track}. */
		if (msg.message.track_published)
			media_on_track_published(room->media, msg.message.track_published->cid,
			        msg.message.track_published->track
			                ? msg.message.track_published->track->sid
			                : NULL);
		break;
	default:
		log_debug("signal message ignored", "type", room_msg_name(msg.which_message));
		break;
	}
	lkpb_free(livekit_SignalResponse_fields, &msg);
	return rc;
}

/* ---- WebSocket callbacks ---- */

static void
room_ws_open(struct ws *ws, void *arg)
{
	log_debug("signal connected; waiting for join");
}

static void
room_ws_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct room *room = arg;

	if (!binary) {
		/* §1.5: the protocol is binary protobuf; a text (JSON) frame is skipped. */
		log_warn("signal text message ignored", "bytes", log_fmt("%zu", len));
		return;
	}
	room_handle_message(room, data, len);
}

static void
room_ws_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct room *room = arg;

	ws_free(ws);
	room->ws = NULL;
	switch (room->state) {
	case ROOM_CONNECTING:
		if (http_status && !(reason && strstr(reason, "HTTP")))
			room_end(room,
			        log_fmt("room join failed: HTTP %d%s%s", http_status,
			                reason && *reason ? ": " : "", reason ? reason : ""),
			        1);
		else
			room_end(room,
			        log_fmt("room join failed: %s",
			                reason && *reason ? reason : "connection closed"),
			        1);
		break;
	case ROOM_JOINED:
		log_info("signal connection closed", "code", log_fmt("%d", code), "reason",
		        reason ? reason : "");
		room_end(room, "room disconnected", 0);
		break;
	case ROOM_CLOSING:
		/* room_close is waiting (the server may close first after our
		 * leave): finish from the loop. */
		ev_timer_stop(room->loop, &room->close_timer);
		ev_timer_set(&room->close_timer, 0., 0.);
		ev_timer_start(room->loop, &room->close_timer);
		break;
	default:
		break;
	}
}

static const struct ws_cbs room_ws_cbs = {
        .on_open = room_ws_open,
        .on_message = room_ws_message,
        .on_close = room_ws_close,
};

/* ---- setup ---- */

int
room_build_url(const char *base, char *out, size_t outlen)
{
	/* §1.3 v0 query: protocol decides the server's behaviour; sdk=cpp is a
	 * ClientInfo.SDK name livekit-server knows. */
	static const char query[] = "protocol=" ROOM_XSTR(
	        ROOM_PROTOCOL) "&auto_subscribe=1&sdk=cpp&version=" PACKAGE_VERSION "&os=linux";
	const char *scheme, *rest, *q;
	size_t hostlen, pathlen;
	int n;

	if (!base)
		return LK_EINVAL;
	/* §1.1: http(s) becomes ws(s); the /rtc segment is appended to the path. */
	if (strncasecmp(base, "ws://", 5) == 0 || strncasecmp(base, "http://", 7) == 0)
		scheme = "ws";
	else if (strncasecmp(base, "wss://", 6) == 0 || strncasecmp(base, "https://", 8) == 0)
		scheme = "wss";
	else
		return LK_EINVAL;
	rest = strstr(base, "://") + 3;
	hostlen = strcspn(rest, "/?#");
	if (hostlen == 0)
		return LK_EINVAL;
	pathlen = strcspn(rest + hostlen, "?#");
	while (pathlen > 0 && rest[hostlen + pathlen - 1] == '/')
		pathlen--;
	q = rest + hostlen + strcspn(rest + hostlen, "?#");
	if (*q == '?')
		q++;
	else
		q = "";
	n = snprintf(out, outlen, "%s://%.*s%.*s/rtc?%s%s%.*s", scheme, (int)hostlen, rest,
	        (int)pathlen, rest + hostlen, query, *q ? "&" : "", (int)strcspn(q, "#"), q);
	if (n < 0 || (size_t)n >= outlen)
		return LK_ETOOBIG;
	return 0;
}

int
room_connect(struct room *room, const char *url, const char *token)
{
	struct ws_client_opts o;
	char *full;
	int rc;

	if (room->state != ROOM_IDLE)
		return LK_EINVAL;
	full = lk_xmalloc(strlen(url ? url : "") + 256);
	rc = room_build_url(url, full, strlen(url ? url : "") + 256);
	if (rc < 0) {
		free(full);
		return LK_EINVAL;
	}
	memset(&o, 0, sizeof(o));
	o.url = full;
	o.bearer = token; /* §1.2: Authorization: Bearer */
	o.max_msg = ROOM_MAX_MSG;
	o.connect_timeout_ms = ROOM_JOIN_TIMEOUT_MS;
	log_info("room connecting", "url", full);
	room->state = ROOM_CONNECTING;
	ev_timer_set(&room->join_timer, ROOM_JOIN_TIMEOUT_MS / 1000., 0.);
	ev_timer_start(room->loop, &room->join_timer);
	room->ws = ws_connect(room->loop, &o, &room_ws_cbs, room);
	free(full);
	if (!room->ws) {
		room_stop_timers(room);
		room->state = ROOM_IDLE;
		return LK_EINVAL;
	}
	return 0;
}

void
room_expect_join(struct room *room)
{
	if (room->state == ROOM_IDLE)
		room->state = ROOM_CONNECTING;
	media_set_offline(room->media);
}

struct room *
room_new(struct ev_loop *loop, const struct room_events *ev, void *arg)
{
	struct room *room = lk_xcalloc(1, sizeof(*room));

	room->loop = loop;
	if (ev)
		room->ev = *ev;
	room->arg = arg;
	room->state = ROOM_IDLE;
	room->rtt_ms = -1;
	buf_init(&room->tx, ROOM_MAX_MSG);
	ev_timer_init(&room->join_timer, room_join_timer_cb, 0., 0.);
	room->join_timer.data = room;
	ev_timer_init(&room->ping_timer, room_ping_timer_cb, 0., 0.);
	room->ping_timer.data = room;
	ev_init(&room->silence_timer, room_silence_timer_cb);
	room->silence_timer.data = room;
	ev_timer_init(&room->close_timer, room_close_timer_cb, 0., 0.);
	room->close_timer.data = room;
	room->media = media_new(loop, &room_media_cbs, room);
	return room;
}

void
room_free(struct room *room)
{
	if (!room)
		return;
	room_stop_timers(room);
	ev_timer_stop(room->loop, &room->close_timer);
	if (room->ws)
		ws_free(room->ws);
	media_free(room->media);
	room_parts_free(room);
	free(room->sid);
	free(room->name);
	free(room->local_sid);
	free(room->local_identity);
	buf_free(&room->tx);
	free(room);
}

int
room_is_joined(const struct room *room)
{
	return room->state == ROOM_JOINED;
}

const char *
room_sid(const struct room *room)
{
	return room->sid ? room->sid : "";
}

const char *
room_name(const struct room *room)
{
	return room->name ? room->name : "";
}

const char *
room_local_sid(const struct room *room)
{
	return room->local_sid ? room->local_sid : "";
}

const char *
room_local_identity(const struct room *room)
{
	return room->local_identity ? room->local_identity : "";
}

size_t
room_participant_count(const struct room *room)
{
	return room->nparts;
}

const struct room_participant *
room_participant_at(const struct room *room, size_t i)
{
	return i < room->nparts ? &room->parts[i] : NULL;
}

struct media *
room_media(const struct room *room)
{
	return room->media;
}

const struct room_participant *
room_participant_find(const struct room *room, const char *sid)
{
	return sid ? room_part_find((struct room *)room, sid) : NULL;
}

int64_t
room_rtt_ms(const struct room *room)
{
	return room->rtt_ms;
}
