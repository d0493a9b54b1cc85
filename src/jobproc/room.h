/*
 * room: the /rtc (v0, dual peer connection) signalling client of a job
 * process: join, application-level ping, participant tracking, leave, and
 * the SDP/trickle/add_track messages of its media (media.h), which it owns.
 * Runs in lk-jobproc.
 */
#ifndef LK_ROOM_H
#define LK_ROOM_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct media;
struct room;

/* Client protocol version sent in the /rtc query (rtc-protocol.md §1.3). */
#define ROOM_PROTOCOL 16
/* How long the WebSocket connect plus the first SignalResponse.join may take. */
#define ROOM_JOIN_TIMEOUT_MS 10000
/* Largest SignalResponse accepted. */
#define ROOM_MAX_MSG (1024 * 1024)
/* After leave, how long the close handshake may take before the socket is dropped. */
#define ROOM_CLOSE_TIMEOUT_MS 1000

struct room_participant {
	char *sid; /* "PA_..." */
	char *identity;
	char *name;
	int kind; /* ParticipantInfo.Kind */
};

/* A subscribed remote audio track (one m-line of the subscriber PC). */
struct room_track {
	const char *sid; /* "TR_..." */
	const char *participant_sid; /* "PA_..." */
	const char *participant_identity; /* "" while the participant is unknown */
	const char *mid;
	uint32_t ssrc; /* first a=ssrc of the m-line, 0 when none */
};

/*
 * What a room reports to its owner. Every member may be NULL. The arg given
 * to room_new comes back in each call. Audio frames go to taps (tap.h).
 */
struct room_events {
	/* SignalResponse.join arrived: sids, names and other participants are known. */
	void (*on_joined)(struct room *room, void *arg);
	/* A participant appeared after the join (ParticipantUpdate). */
	void (*on_participant_joined)(
	        struct room *room, const struct room_participant *p, void *arg);
	/* A participant left (state DISCONNECTED); p is freed after the call. */
	void (*on_participant_left)(struct room *room, const struct room_participant *p, void *arg);
	/* A remote audio track arrived in a subscriber offer (and was answered). */
	void (*on_track_subscribed)(struct room *room, const struct room_track *t, void *arg);
	/* It left the offer, its m-line was recycled, or the media stopped. */
	void (*on_track_unsubscribed)(struct room *room, const struct room_track *t, void *arg);
	/*
	 * The room ended on its own (not after room_close): failed = 1 when it is
	 * an error (join failed, malformed message), 0 when the server went away
	 * or sent leave. Called at most once; the room stays allocated.
	 */
	void (*on_disconnected)(struct room *room, const char *reason, int failed, void *arg);
};

struct room *room_new(struct ev_loop *loop, const struct room_events *ev, void *arg);

/*
 * Build the /rtc signalling URL from a LiveKit URL (http -> ws, https ->
 * wss, base path kept, trailing '/' stripped) with the v0 query. 0, or
 * LK_EINVAL (unknown scheme, empty host) / LK_ETOOBIG.
 */
int room_build_url(const char *base, char *out, size_t outlen);

/* Connect and join; the result comes as on_joined or on_disconnected. 0 or LK_EINVAL. */
int room_connect(struct room *room, const char *url, const char *token);

/*
 * Wait for a join without a socket: the unit tests and the fuzz target then
 * feed SignalResponses with room_handle_message (sends are dropped, and the
 * media answers offers without opening transports: media_set_offline).
 */
void room_expect_join(struct room *room);

/*
 * Handle one binary SignalResponse as if it came from the WebSocket (the
 * WebSocket callback and the fuzz target use it). Returns 0, or a negative
 * lk_err after which the room has disconnected.
 */
int room_handle_message(struct room *room, const uint8_t *data, size_t len);

/*
 * Leave: send SignalRequest.leave{CLIENT_INITIATED, DISCONNECT}, close the
 * WebSocket, and call done once it is closed (or after ROOM_CLOSE_TIMEOUT_MS).
 * done runs from the loop, never inside this call. on_disconnected is not
 * called after room_close.
 */
void room_close(struct room *room, void (*done)(struct room *room, void *arg), void *arg);

int room_is_joined(const struct room *room);
/* The room's peer connections and tracks (never NULL). */
struct media *room_media(const struct room *room);
/* A remote participant by sid, or NULL. */
const struct room_participant *room_participant_find(const struct room *room, const char *sid);
const char *room_sid(const struct room *room); /* "" before the join */
const char *room_name(const struct room *room);
const char *room_local_sid(const struct room *room);
const char *room_local_identity(const struct room *room);
/* Remote participants currently in the room. */
size_t room_participant_count(const struct room *room);
const struct room_participant *room_participant_at(const struct room *room, size_t i);
/* Last measured signalling round trip (ms), -1 before the first pong. */
int64_t room_rtt_ms(const struct room *room);

/* Stops every watcher and closes the socket at once (no leave). */
void room_free(struct room *room);

#endif
