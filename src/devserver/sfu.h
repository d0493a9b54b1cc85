/*
 * sfu: lk-devserver's audio forwarding unit. Per participant one publisher
 * and one subscriber transport (ICE-lite, DTLS server, SRTP), the SDP of
 * both peer connections (publisher answers, subscriber offers with one
 * sendonly Opus m-line per remote track) and the RTP forwarding between
 * them. Runs in lk-devserver on the main loop; rtc.c owns the signalling.
 */
#ifndef LK_DS_SFU_H
#define LK_DS_SFU_H

#include <stddef.h>
#include <stdint.h>

#include "proto/lkpb.h"

struct ev_loop;
struct ds_arena;
struct ds_participant;
struct ds_sfu;
struct ds_sfu_peer;

#define DS_SFU_SCTP_PORT 5000 /* a=sctp-port of the m=application sections */
#define DS_SFU_MAX_MESSAGE 262144 /* a=max-message-size, as libwebrtc offers */
#define DS_SFU_SR_INTERVAL_S 5.0 /* RTCP sender reports per outgoing stream */
#define DS_SFU_MAX_TRACKS 16 /* published tracks per participant */

struct ds_sfu_opts {
	const char *rtc_ip; /* advertised in host candidates */
	uint16_t port_min; /* UDP port range of the transports */
	uint16_t port_max;
	double drop_rate; /* fraction of forwarded RTP dropped on purpose (tests) */
	int gather_loopback; /* unit tests only */
};

/* How a peer reaches its signalling connection (rtc.c). */
struct ds_sfu_peer_cbs {
	/* Send one SignalResponse to this participant. */
	int (*send)(void *arg, const livekit_SignalResponse *resp);
	/*
	 * The participant's published tracks changed (or its media became
	 * active): broadcast its ParticipantUpdate now. The subscriber offers
	 * that carry the change follow later, so the update is always first
	 * (rtc-protocol.md 2.7 rule 2).
	 */
	void (*changed)(void *arg);
	/* The subscriber transport connected for the first time (state ACTIVE). */
	void (*active)(void *arg);
};

/* The certificate and the opts are kept; NULL with a reason in err. */
struct ds_sfu *ds_sfu_new(
        struct ev_loop *loop, const struct ds_sfu_opts *opts, char *err, size_t errlen);
/* Frees every peer left (without signalling) and the certificate. */
void ds_sfu_free(struct ds_sfu *sfu);

/*
 * Media for a participant who just joined: both transports are opened at
 * once. room_key groups peers (the room they are in); p is copied from
 * (sid, identity, permissions), not kept. The first subscriber offer goes
 * out on the next loop iteration, after the JoinResponse. NULL with a
 * reason in err (no free port).
 */
struct ds_sfu_peer *ds_sfu_peer_new(struct ds_sfu *sfu, const void *room_key, const char *room_name,
        const struct ds_participant *p, const struct ds_sfu_peer_cbs *cbs, void *arg, char *err,
        size_t errlen);
/*
 * The participant left: its tracks are unpublished (the other
 * subscribers get offers with inactive m-lines), its transports freed.
 * No callback of this peer runs any more. NULL is ignored.
 */
void ds_sfu_peer_free(struct ds_sfu_peer *peer);

/*
 * Signalling requests for the SFU. A negative return means the request
 * was unusable in a way that breaks the session (malformed SDP): the
 * caller closes that participant. why names the problem.
 */
int ds_sfu_peer_add_track(
        struct ds_sfu_peer *peer, const livekit_AddTrackRequest *req, const char **why);
int ds_sfu_peer_offer(
        struct ds_sfu_peer *peer, const livekit_SessionDescription *sd, const char **why);
int ds_sfu_peer_answer(
        struct ds_sfu_peer *peer, const livekit_SessionDescription *sd, const char **why);
int ds_sfu_peer_trickle(
        struct ds_sfu_peer *peer, const livekit_TrickleRequest *req, const char **why);
int ds_sfu_peer_mute(
        struct ds_sfu_peer *peer, const livekit_MuteTrackRequest *req, const char **why);

/*
 * Fill ParticipantInfo.tracks (4) and is_publisher (13) with the peer's
 * published tracks; arrays come from the arena. NULL peer: nothing.
 */
void ds_sfu_peer_tracks_pb(
        const struct ds_sfu_peer *peer, struct ds_arena *a, livekit_ParticipantInfo *info);

/*
 * GET /debug/rtc (JSON text, malloc'd, NULL on failure):
 * {"participants":[{identity, sid, room, tracks:[...], subscriptions:[{mid,
 * track, ssrc, negotiated, tx_rtp}], publisher:{state, port, rx_* / tx_*
 * transport counters, rx_garbage}, subscriber:{...}, rx_rtp, tx_rtp,
 * rx_garbage, rx_unknown, rx_bad_rtp, offers_sent, offer_in_flight}],
 * "tracks":[{sid, participant, identity, cid, mid, published, muted, ssrc,
 * rx_rtp, forwarded, dropped, tx_rtp}], drop_rate, rtc_ip}.
 * Per track: rx_rtp = packets received for it, dropped = removed by the
 * drop rate, forwarded = the rest (rx_rtp = forwarded + dropped), tx_rtp =
 * copies sent to subscribers.
 */
char *ds_sfu_debug_json(const struct ds_sfu *sfu);

#endif
