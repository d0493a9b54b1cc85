/*
 * media: the two peer connections of a job in lk-jobproc (rtc-protocol.md
 * §2.5, §5.2). Subscriber PC: the server offers, we answer; each remote
 * audio m-line becomes a track whose RTP goes through its own pipeline_in
 * to the taps. Publisher PC: add_track, then we offer one Opus track fed
 * by a script source on a 20 ms pacer. Signalling goes out through the
 * owner's callbacks (the room owns the media).
 */
#ifndef LK_MEDIA_H
#define LK_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "jobproc/room.h"
#include "jobproc/tap.h"
#include "rtc/sdp.h"
#include "rtc/transport.h"

struct buf;
struct ev_loop;
struct media;

/* Rust SDK's TRACK_PUBLISH_TIMEOUT (rtc-protocol.md §2.5): 10 s for track_published. */
#define MEDIA_PUBLISH_TIMEOUT_MS 10000
/* Sizes of ids kept from SDP (mids, track and participant sids). */
#define MEDIA_ID_MAX 96
#define MEDIA_MAX_SSRC 4
/* Remote trickle candidates kept while their transport does not exist yet. */
#define MEDIA_MAX_PENDING_CAND 32
/* The name of our published track (AddTrackRequest.name). */
#define MEDIA_TRACK_NAME "agent-audio"

/* livekit_rtc.proto SignalTarget. */
enum media_target {
	MEDIA_TARGET_PUBLISHER = 0,
	MEDIA_TARGET_SUBSCRIBER = 1,
};

struct media_cbs {
	/* SignalRequest.answer (subscriber) / .offer (publisher). */
	int (*send_answer)(const char *sdp, uint32_t id, void *arg);
	int (*send_offer)(const char *sdp, uint32_t id, void *arg);
	/* SignalRequest.trickle: candidate_init is RTCIceCandidateInit JSON. */
	int (*send_trickle)(enum media_target target, const char *candidate_init, void *arg);
	/* SignalRequest.add_track{cid, name, AUDIO, MICROPHONE, disable_red}. */
	int (*send_add_track)(const char *cid, const char *name, void *arg);
	/* Identity of a remote participant, or NULL when unknown. */
	const char *(*identity)(const char *participant_sid, void *arg);
	void (*track_subscribed)(const struct room_track *t, void *arg);
	void (*track_unsubscribed)(const struct room_track *t, void *arg);
	/* Fatal for the job: a malformed or unanswerable SDP, a failed
	 * transport, a publication the server never confirmed. Called once. */
	void (*failed)(const char *why, void *arg);
};

/* A script's audio for the published track. */
struct media_source {
	/* Fill one 20 ms frame: n = rate / 50 samples at the script rate. */
	void (*fill)(int16_t *pcm, size_t n, void *arg);
	void *arg;
};

struct media_stats {
	uint64_t audio_in_frames; /* 20 ms frames handed to the taps */
	uint64_t audio_out_frames; /* 20 ms frames sent on the published track */
	unsigned tracks; /* subscribed audio tracks now */
	int subscriber_connected;
	int publisher_connected;
	uint64_t unknown_ssrc; /* RTP of no track */
};

struct media *media_new(struct ev_loop *loop, const struct media_cbs *cbs, void *arg);
/* Ends tracks and transports at once (no callbacks) and frees. */
void media_free(struct media *m);
/* No sockets: offers are answered with placeholder ICE/DTLS values
 * (unit tests and the fuzz target; see room_expect_join). */
void media_set_offline(struct media *m);
/* The rate taps get and sources give (TAP_DEFAULT_RATE); before any track. */
int media_set_script_rate(struct media *m, int rate);
int media_script_rate(const struct media *m);

/* ---- signalling from the room ---- */

/* The room is joined: a publication asked for earlier starts now. */
void media_on_joined(struct media *m);
/*
 * SignalResponse.offer for the subscriber PC: answer it (send_answer),
 * create or keep the transport, trickle our candidates, update the tracks.
 * 0, or a negative lk_err after failed() was called.
 */
int media_on_offer(struct media *m, const char *sdp, size_t len, uint32_t id);
/* SignalResponse.answer for the publisher PC. 0 or negative (failed). */
int media_on_answer(struct media *m, const char *sdp, size_t len);
/* SignalResponse.trickle: a remote candidate (RTCIceCandidateInit JSON). */
int media_on_trickle(struct media *m, enum media_target target, const char *candidate_init);
/* SignalResponse.track_published{cid, track.sid}. */
int media_on_track_published(struct media *m, const char *cid, const char *track_sid);

/* ---- scripts ---- */

/* Up to TAP_MAX taps; the struct must outlive its registration. 0 or LK_ETOOBIG. */
int media_add_tap(struct media *m, const struct tap *tap);
void media_remove_tap(struct media *m, const struct tap *tap);
/*
 * Publish one audio track fed by src (copied): add_track now if joined
 * (else at the join), then the publisher PC; frames flow once it connects.
 * 0, or LK_EINVAL when already publishing.
 */
int media_publish(struct media *m, const struct media_source *src);
/*
 * Stop: flush and end every track (taps' on_end, track_unsubscribed),
 * stop publishing, close both transports and log their counters
 * (garbage datagrams included). Idempotent; signalling is ignored after.
 */
void media_stop(struct media *m);
void media_get_stats(const struct media *m, struct media_stats *st);
/* The AddTrackRequest.cid of our publication, "" before add_track. */
const char *media_publish_cid(const struct media *m);

/* ---- offer/answer logic (pure, no sockets; exposed for the unit tests) ---- */

/* Our side of a description. */
struct media_local {
	const char *ufrag;
	const char *pwd;
	const char *fingerprint; /* sha-256, "AB:CD:..." (rtc_cert_fingerprint) */
	const struct sdp_candidate *cand;
	int n_cand;
	uint64_t sess_id;
	uint64_t sess_version;
};

/* The peer's transport parameters and the roles they give us. */
struct media_remote {
	int valid; /* some section was accepted */
	char ufrag[256];
	char pwd[256];
	char fingerprint[SDP_MAX_DIGEST * 3 + 1]; /* "AB:CD:..." */
	int ice_lite;
	enum rtc_ice_role our_ice_role;
	enum rtc_dtls_role our_dtls_role;
	int first_index; /* m-line that carries the BUNDLE transport */
	char first_mid[MEDIA_ID_MAX];
};

/* An accepted audio m-line of a subscriber offer. */
struct media_audio_line {
	int index;
	int recv; /* the server sends on it (offered sendonly/sendrecv) */
	uint8_t pt; /* Opus payload type */
	char mid[MEDIA_ID_MAX];
	char track_sid[MEDIA_ID_MAX];
	char participant_sid[MEDIA_ID_MAX];
	uint32_t ssrc[MEDIA_MAX_SSRC];
	int n_ssrc;
};

struct media_answer {
	struct media_remote remote;
	struct media_audio_line audio[SDP_MAX_MEDIA];
	int n_audio;
	int n_accepted;
};

/*
 * Answer a subscriber offer (JSEP §5.3): every section in order; audio
 * with Opus (only) accepted receive-only, m=application accepted (DTLS
 * only), video and anything else rejected (port 0); BUNDLE over the
 * accepted ones; our ICE, fingerprint, setup (active unless the offer said
 * active) and candidates. Fills ans and appends the SDP to out. 0, or
 * LK_EINVAL with the reason in err (an offer we cannot answer).
 */
int media_answer_offer(const struct sdp_session *offer, const struct media_local *local,
        struct media_answer *ans, struct buf *out, char *err, size_t errlen);

/* Our publisher track in an offer. */
struct media_pub_desc {
	const char *cid; /* AddTrackRequest.cid = a=msid track id */
	const char *stream; /* a=msid stream id */
	uint32_t ssrc;
	const char *cname;
};

/* The publisher offer: BUNDLE, one m=audio sendonly Opus section, mid "0". */
int media_build_offer(
        const struct media_local *local, const struct media_pub_desc *pub, struct buf *out);
/*
 * Check the server's answer to media_build_offer and take its transport
 * parameters (our DTLS role from its a=setup). 0 or LK_EINVAL with err.
 */
int media_check_answer(
        const struct sdp_session *answer, struct media_remote *remote, char *err, size_t errlen);

/* Split an a=msid stream id "PA_x|TR_y" (livekit packed stream id). */
void media_split_msid(const char *stream, const char *track, char *participant_sid, size_t plen,
        char *track_sid, size_t tlen);

#endif
