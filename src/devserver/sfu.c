/*
 * sfu: lk-devserver's audio SFU. Each participant has a publisher and a
 * subscriber transport (ICE-lite, DTLS server, SRTP). Publisher offers are
 * answered with one recvonly Opus m-line per published track; subscriber
 * offers carry one sendonly Opus m-line per remote track, renegotiated one
 * offer at a time. Opus RTP is forwarded with a per-subscriber SSRC and
 * sequence space. Runs in lk-devserver on the main loop.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "rtc/cert.h"
#include "rtc/rtcp.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"
#include "rtc/transport.h"
#include "devserver/rooms.h"
#include "devserver/sfu.h"

#define DS_SFU_OPUS_PT 111 /* livekit's registered Opus payload type */
#define DS_SFU_OPUS_FMTP "minptime=10;useinbandfec=1"
#define DS_SFU_OPUS_FRAME 960 /* 20 ms at 48 kHz: the gap assumed at a source switch */
#define DS_SFU_MAX_SLOTS SDP_MAX_MEDIA
#define DS_SFU_MAX_CAND 8
#define DS_SFU_PKT_CAP 2048 /* plaintext RTP fits a 1500-byte datagram */
#define DS_SFU_MAX_CANDINIT 4096 /* TrickleRequest.candidateInit JSON */
#define DS_SFU_NTP_OFFSET 2208988800ULL /* seconds from 1900 to 1970 (RFC 5905) */

struct ds_sfu_peer;

/* A track a participant publishes (AddTrackRequest, then a publisher m-line). */
struct ds_sfu_track {
	struct ds_sfu_peer *owner;
	uint64_t serial; /* never reused, unlike pointers */
	char sid[32]; /* TR_A... */
	char *cid; /* AddTrackRequest.cid: the client's track id (a=msid) */
	char *name;
	int source; /* TrackSource */
	int muted;
	int published; /* bound to a sendonly m-line of an answered offer */
	char mid[32]; /* that m-line's mid ("" while pending) */
	uint8_t pt; /* the offer's Opus payload type */
	uint32_t ssrc; /* from a=ssrc, or learned from the first packet */
	int has_ssrc;
	uint64_t rx_rtp, forwarded, dropped, tx_rtp;
	struct ds_sfu_track *next;
};

/* One m-line of a subscriber's offers; mids stay stable, slots are never removed. */
struct ds_sfu_slot {
	char mid[8];
	int app; /* the m=application section */
	struct ds_sfu_track *track; /* NULL: inactive */
	uint64_t serial; /* track->serial, or 0 */
	uint64_t offered; /* serial as the last offer described it */
	int in_offer; /* has appeared in an offer */
	int negotiated; /* the client answered the current binding */
	uint32_t ssrc; /* our SSRC towards this subscriber */
	char stream[80]; /* a=msid stream id "PA_pub|TR_track" */
	char track_id[40];
	char cname[40];
	/* Rewriting: out = in + delta (mod 2^16 / 2^32). */
	int started;
	uint32_t src_ssrc;
	uint16_t seq_delta, last_seq;
	uint32_t ts_delta, last_ts;
	int64_t last_ms;
	uint32_t packets, octets; /* RTCP SR sender counts */
	uint64_t tx_rtp;
};

/* One transport of a peer. */
struct ds_sfu_tp {
	struct ds_sfu_peer *peer;
	const char *name; /* "publisher" / "subscriber" */
	struct rtc_transport *t;
	struct sdp_candidate cand[DS_SFU_MAX_CAND];
	int ncand;
	int remote_set;
	char remote_ufrag[SDP_CAND_UFRAG];
	enum rtc_transport_state state;
	int connected_once;
};

struct ds_sfu_peer {
	struct ds_sfu *sfu;
	const void *room_key;
	char *room_name;
	char *identity;
	char sid[32];
	int can_subscribe;
	int can_publish;
	int hidden;
	struct ds_sfu_peer_cbs cbs;
	void *arg;
	int closing;
	struct ds_sfu_tp pub, sub;
	struct ds_sfu_track *tracks;
	int ntracks;
	struct ds_sfu_slot slots[DS_SFU_MAX_SLOTS];
	int nslots;
	uint64_t sess_id, sess_version;
	uint32_t offer_id;
	int offers_sent;
	int in_flight; /* a subscriber offer waits for its answer */
	int full_warned;
	uint64_t rx_unknown; /* RTP no track claims (SSRC, payload type) */
	uint64_t rx_bad_rtp;
	uint64_t rx_sub_rtp; /* RTP on the subscriber PC (the client sends none) */
	struct ds_sfu_peer *next;
};

struct ds_sfu {
	struct ev_loop *loop;
	struct ds_sfu_opts opts;
	char *rtc_ip;
	struct rtc_cert *cert;
	struct sdp_fingerprint fp;
	struct ds_sfu_peer *peers;
	int npeers;
	ev_timer flush; /* deferred subscriber negotiation */
	ev_timer sr; /* RTCP sender reports */
	uint64_t serial;
	uint32_t rng;
	struct sdp_out *out; /* scratch description for the writer */
	uint8_t pkt[DS_SFU_PKT_CAP]; /* forwarding scratch: no allocation per packet */
	uint8_t rtcp[128];
};

static void ds_sfu_schedule(struct ds_sfu *sfu);

/* ---- small helpers ---- */

static const char *
ds_sfu_state_name(enum rtc_transport_state st)
{
	switch (st) {
	case RTC_TS_NEW:
		return "new";
	case RTC_TS_CHECKING:
		return "checking";
	case RTC_TS_ICE_CONNECTED:
		return "ice_connected";
	case RTC_TS_CONNECTED:
		return "connected";
	case RTC_TS_FAILED:
		return "failed";
	case RTC_TS_CLOSED:
		return "closed";
	}
	return "unknown";
}

/* xorshift32: the drop decision needs speed, not quality. */
static double
ds_sfu_rand01(struct ds_sfu *sfu)
{
	uint32_t x = sfu->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	sfu->rng = x;
	return (double)(x >> 8) / (double)(1u << 24);
}

static int
ds_sfu_same_room(const struct ds_sfu_peer *a, const struct ds_sfu_peer *b)
{
	return a->room_key == b->room_key;
}

/* Published tracks of a peer. */
static int
ds_sfu_published_count(const struct ds_sfu_peer *peer)
{
	const struct ds_sfu_track *t;
	int n = 0;

	for (t = peer->tracks; t != NULL; t = t->next)
		n += t->published;
	return n;
}

/* An SSRC no slot of this subscriber uses (RFC 3550 §8: random, unique in the session). */
static uint32_t
ds_sfu_new_ssrc(const struct ds_sfu_peer *peer)
{
	uint32_t s;
	int i, clash;

	do {
		s = lk_random_u32();
		clash = s == 0;
		for (i = 0; i < peer->nslots && !clash; i++)
			clash = peer->slots[i].ssrc == s;
	} while (clash);
	return s;
}

/* The transport's host candidates, parsed once for the SDP writer. */
static void
ds_sfu_tp_load_candidates(struct ds_sfu_tp *tp)
{
	const char *c;
	int i;

	tp->ncand = 0;
	for (i = 0; tp->ncand < DS_SFU_MAX_CAND && (c = rtc_transport_candidate(tp->t, i)) != NULL;
	        i++) {
		if (sdp_candidate_parse(c, strlen(c), &tp->cand[tp->ncand]) == 0)
			tp->ncand++;
		else
			log_warn("local candidate not usable", "candidate", c);
	}
}

/* The first section the peer did not reject: it carries the BUNDLE transport's parameters. */
static const struct sdp_media *
ds_sfu_first_live(const struct sdp_session *s)
{
	int i;

	for (i = 0; i < s->n_media; i++)
		if (s->media[i]->port != 0)
			return s->media[i];
	return NULL;
}

/*
 * Hand the peer's ICE credentials and DTLS fingerprint to a transport.
 * peer_setup is the peer's a=setup: its "active" (or actpass, which we
 * answer passive) makes us the DTLS server (RFC 5763 §5).
 */
static int
ds_sfu_tp_set_remote(struct ds_sfu_tp *tp, const struct sdp_session *s, const char **why)
{
	const struct sdp_media *m = ds_sfu_first_live(s);
	char fp[SDP_MAX_DIGEST * 3 + 8];
	enum rtc_dtls_role role;
	int i, j, rc;

	if (m == NULL) {
		*why = "every section is rejected";
		return LK_EINVAL;
	}
	if (m->ice_ufrag == NULL || m->ice_pwd == NULL || m->ice_ufrag[0] == '\0' ||
	        m->ice_pwd[0] == '\0') {
		*why = "no a=ice-ufrag / a=ice-pwd";
		return LK_EINVAL;
	}
	/* RFC 8827 §6.5: DTLS-SRTP needs the fingerprint; libwebrtc always sends sha-256. */
	if (sdp_fingerprint_sha256_value(&m->fp, fp, sizeof(fp)) < 0) {
		*why = "no sha-256 a=fingerprint";
		return LK_EINVAL;
	}
	role = m->setup == SDP_SETUP_PASSIVE ? RTC_DTLS_CLIENT : RTC_DTLS_SERVER;
	/* The first call wins unless the peer restarted ICE (a new ufrag, RFC 8839 §4.4.1.1.2). */
	if (!tp->remote_set || strcmp(tp->remote_ufrag, m->ice_ufrag) != 0) {
		rc = rtc_transport_set_remote(
		        tp->t, m->ice_ufrag, m->ice_pwd, s->ice_lite, fp, role);
		if (rc < 0) {
			*why = "transport refused the ICE/DTLS parameters";
			return rc;
		}
		if (tp->remote_set)
			log_info("ice restart", "participant", tp->peer->sid, "pc", tp->name);
		tp->remote_set = 1;
		lk_strlcpy(tp->remote_ufrag, m->ice_ufrag, sizeof(tp->remote_ufrag));
	}
	/* ICE-lite learns the peer's address from its checks; candidates are extra. */
	for (i = 0; i < s->n_media; i++) {
		const struct sdp_media *sm = s->media[i];
		char line[256];

		for (j = 0; j < sm->n_cand; j++)
			if (sdp_candidate_format(&sm->cand[j], line, sizeof(line)) >= 0)
				(void)rtc_transport_add_remote_candidate(tp->t, line);
	}
	return 0;
}

/* ---- tracks ---- */

static void
ds_sfu_track_pb(const struct ds_sfu_track *t, livekit_TrackInfo *out)
{
	memset(out, 0, sizeof(*out));
	/* livekit_models.proto TrackInfo: sid (1) "TR_", type (2) AUDIO, name (3), muted (4). */
	out->sid = (char *)t->sid;
	out->type = livekit_TrackType_AUDIO;
	out->name = t->name;
	out->muted = t->muted;
	out->source = (livekit_TrackSource)t->source; /* (9) */
	out->mime_type = (char *)"audio/opus"; /* (11) */
	if (t->mid[0] != '\0')
		out->mid = (char *)t->mid; /* (12) */
}

static struct ds_sfu_track *
ds_sfu_track_by_cid(struct ds_sfu_peer *peer, const char *cid)
{
	struct ds_sfu_track *t;

	for (t = peer->tracks; t != NULL; t = t->next)
		if (strcmp(t->cid, cid) == 0)
			return t;
	return NULL;
}

static struct ds_sfu_track *
ds_sfu_track_by_mid(struct ds_sfu_peer *peer, const char *mid)
{
	struct ds_sfu_track *t;

	for (t = peer->tracks; t != NULL; t = t->next)
		if (t->mid[0] != '\0' && strcmp(t->mid, mid) == 0)
			return t;
	return NULL;
}

/* Unbind a track from every subscriber (their next offer marks it inactive), unlink, free. */
static void
ds_sfu_track_remove(struct ds_sfu_track *t)
{
	struct ds_sfu_peer *owner = t->owner, *q;
	struct ds_sfu_track **pp;
	int i;

	for (q = owner->sfu->peers; q != NULL; q = q->next) {
		for (i = 0; i < q->nslots; i++) {
			struct ds_sfu_slot *s = &q->slots[i];

			if (s->track != t)
				continue;
			s->track = NULL;
			s->serial = 0;
			s->negotiated = 0;
		}
	}
	for (pp = &owner->tracks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			owner->ntracks--;
			break;
		}
	}
	log_info("track unpublished", "participant", owner->sid, "identity", owner->identity,
	        "track", t->sid, "rx_rtp", log_fmt("%llu", (unsigned long long)t->rx_rtp),
	        "forwarded", log_fmt("%llu", (unsigned long long)t->forwarded), "dropped",
	        log_fmt("%llu", (unsigned long long)t->dropped));
	free(t->cid);
	free(t->name);
	free(t);
	ds_sfu_schedule(owner->sfu);
}

/* ---- subscriber offers ---- */

static struct ds_sfu_slot *
ds_sfu_slot_for(struct ds_sfu_peer *q, const struct ds_sfu_track *t)
{
	int i;

	for (i = 0; i < q->nslots; i++)
		if (q->slots[i].track == t)
			return &q->slots[i];
	return NULL;
}

/*
 * A slot for a new subscription: a new m-line while there is room, else
 * an inactive one whose inactivity the client already accepted (mids
 * stay stable; m-lines are never removed, JSEP §5.2.2).
 */
static struct ds_sfu_slot *
ds_sfu_slot_alloc(struct ds_sfu_peer *q)
{
	struct ds_sfu_slot *s;
	int i;

	if (q->nslots < DS_SFU_MAX_SLOTS) {
		s = &q->slots[q->nslots];
		memset(s, 0, sizeof(*s));
		snprintf(s->mid, sizeof(s->mid), "%d", q->nslots);
		q->nslots++;
		return s;
	}
	for (i = 0; i < q->nslots; i++) {
		s = &q->slots[i];
		if (!s->app && s->track == NULL && s->in_offer && s->offered == 0 && s->negotiated)
			return s;
	}
	return NULL;
}

static void
ds_sfu_slot_bind(struct ds_sfu_peer *q, struct ds_sfu_slot *s, struct ds_sfu_track *t)
{
	s->track = t;
	s->serial = t->serial;
	s->negotiated = 0;
	s->ssrc = ds_sfu_new_ssrc(q);
	/* rtc-protocol.md 3.3: stream id "PA_pub|TR_track"; the Rust SDK splits it at '|'. */
	snprintf(s->stream, sizeof(s->stream), "%s|%s", t->owner->sid, t->sid);
	lk_strlcpy(s->track_id, t->sid, sizeof(s->track_id));
	lk_strlcpy(s->cname, t->owner->sid, sizeof(s->cname));
	s->started = 0;
	s->packets = 0;
	s->octets = 0;
}

/* Bind every published track of the others in the room that q does not receive yet. */
static void
ds_sfu_sub_sync(struct ds_sfu_peer *q)
{
	struct ds_sfu_peer *o;
	struct ds_sfu_track *t;
	struct ds_sfu_slot *s;

	if (!q->can_subscribe)
		return;
	for (o = q->sfu->peers; o != NULL; o = o->next) {
		/* Hidden participants are never announced, so their tracks would be dropped. */
		if (o == q || o->closing || o->hidden || !ds_sfu_same_room(o, q))
			continue;
		for (t = o->tracks; t != NULL; t = t->next) {
			if (!t->published || ds_sfu_slot_for(q, t) != NULL)
				continue;
			s = ds_sfu_slot_alloc(q);
			if (s == NULL) {
				if (!q->full_warned)
					log_warn("subscriber has no free m-line", "participant",
					        q->sid, "track", t->sid);
				q->full_warned = 1;
				continue;
			}
			ds_sfu_slot_bind(q, s, t);
			log_info("track subscribed", "participant", q->sid, "identity", q->identity,
			        "track", t->sid, "mid", s->mid, "ssrc", log_fmt("%u", s->ssrc));
		}
	}
}

static int
ds_sfu_sub_changed(const struct ds_sfu_peer *q)
{
	int i;

	for (i = 0; i < q->nslots; i++)
		if (!q->slots[i].in_offer || q->slots[i].offered != q->slots[i].serial)
			return 1;
	return 0;
}

/* Fill the writer's session fields: ICE-lite, our credentials, fingerprint, BUNDLE. */
static void
ds_sfu_out_session(
        struct ds_sfu_peer *peer, struct ds_sfu_tp *tp, struct sdp_out *o, enum sdp_setup setup)
{
	o->sess_id = peer->sess_id;
	o->sess_version = ++peer->sess_version;
	/* RFC 8839 §5.3: we only answer checks; the client is controlling and nominates. */
	o->ice_lite = 1;
	o->ice_trickle = 0;
	o->ice_ufrag = rtc_transport_ufrag(tp->t);
	o->ice_pwd = rtc_transport_pwd(tp->t);
	o->fp = peer->sfu->fp;
	o->setup = setup;
	o->bundle = 1;
}

/* SignalResponse.offer / .answer with the written SDP. */
static int
ds_sfu_send_sd(struct ds_sfu_peer *peer, int offer, struct buf *b)
{
	livekit_SignalResponse resp;
	livekit_SessionDescription sd;

	if (buf_append(b, "", 1) < 0)
		return LK_ETOOBIG;
	memset(&sd, 0, sizeof(sd));
	/* livekit_rtc.proto SessionDescription: type (1), sdp (2), id (3). */
	sd.type = (char *)(offer ? "offer" : "answer");
	sd.sdp = (char *)b->data;
	if (offer)
		sd.id = ++peer->offer_id;
	memset(&resp, 0, sizeof(resp));
	if (offer) {
		resp.which_message = livekit_SignalResponse_offer_tag;
		resp.message.offer = &sd;
	} else {
		resp.which_message = livekit_SignalResponse_answer_tag;
		resp.message.answer = &sd;
	}
	return peer->cbs.send(peer->arg, &resp);
}

/*
 * The subscriber offer (we offer on the SUBSCRIBER PC): m=application
 * first so that there is always a section to connect (rtc-protocol.md
 * §0 #5), then one Opus m-line per slot, sendonly with msid and ssrc when
 * bound, inactive otherwise. Host candidates in every section; no trickle.
 */
static void
ds_sfu_sub_offer(struct ds_sfu_peer *q)
{
	struct sdp_out *o = q->sfu->out;
	struct buf b;
	int i, rc;

	memset(o, 0, sizeof(*o));
	ds_sfu_out_session(q, &q->sub, o, SDP_SETUP_ACTPASS);
	for (i = 0; i < q->nslots; i++) {
		const struct ds_sfu_slot *s = &q->slots[i];
		struct sdp_out_media *m = &o->media[i];

		m->mid = s->mid;
		m->cand = q->sub.cand;
		m->n_cand = q->sub.ncand;
		if (s->app) {
			/* RFC 8841: SCTP over DTLS; the data channels themselves are not served. */
			m->type = SDP_MEDIA_APPLICATION;
			m->sctp_port = DS_SFU_SCTP_PORT;
			m->max_message_size = DS_SFU_MAX_MESSAGE;
			continue;
		}
		m->type = SDP_MEDIA_AUDIO;
		m->rtcp_mux = 1; /* libwebrtc's rtcp-mux policy is "require" */
		m->n_codec = 1;
		m->codec[0].pt = DS_SFU_OPUS_PT;
		m->codec[0].name = "opus";
		m->codec[0].clock = 48000;
		m->codec[0].channels = 2;
		m->codec[0].fmtp = DS_SFU_OPUS_FMTP;
		if (s->track == NULL) {
			m->dir = SDP_DIR_INACTIVE;
			continue;
		}
		m->dir = SDP_DIR_SENDONLY;
		m->msid_stream = s->stream;
		m->msid_track = s->track_id;
		m->ssrc = s->ssrc;
		m->cname = s->cname;
	}
	o->n_media = q->nslots;
	buf_init(&b, SDP_MAX_TEXT);
	rc = sdp_write(o, &b);
	if (rc == 0)
		rc = ds_sfu_send_sd(q, 1, &b);
	if (rc < 0) {
		log_error(
		        "subscriber offer not sent", "participant", q->sid, "err", lk_strerror(rc));
		buf_free(&b);
		return;
	}
	log_info("subscriber offer sent", "participant", q->sid, "identity", q->identity, "id",
	        log_fmt("%u", q->offer_id), "sections", log_fmt("%d", q->nslots), "bytes",
	        log_fmt("%zu", b.len - 1));
	buf_free(&b);
	for (i = 0; i < q->nslots; i++) {
		q->slots[i].in_offer = 1;
		q->slots[i].offered = q->slots[i].serial;
	}
	q->offers_sent++;
	q->in_flight = 1;
}

/* One negotiation pass: every subscriber with changes and no offer in flight gets an offer. */
static void
ds_sfu_flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ds_sfu *sfu = w->data;
	struct ds_sfu_peer *q;

	(void)loop;
	(void)revents;
	for (q = sfu->peers; q != NULL; q = q->next) {
		if (q->closing)
			continue;
		ds_sfu_sub_sync(q);
		/* One offer in flight per subscriber: the rest waits for the answer. */
		if (q->in_flight)
			continue;
		if (q->offers_sent == 0 || ds_sfu_sub_changed(q))
			ds_sfu_sub_offer(q);
	}
}

/*
 * Negotiation runs from the loop, not from the request that changed
 * something: the ParticipantUpdate sent by that request goes out first,
 * and a room being torn down sends no offers to participants already gone.
 */
static void
ds_sfu_schedule(struct ds_sfu *sfu)
{
	if (!ev_is_active(&sfu->flush)) {
		ev_timer_set(&sfu->flush, 0., 0.);
		ev_timer_start(sfu->loop, &sfu->flush);
	}
}

/* ---- RTCP sender reports ---- */

static void
ds_sfu_sr_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ds_sfu *sfu = w->data;
	struct ds_sfu_peer *q;
	struct rtcp_sr_out sr;
	int64_t now_ns = lk_wall_ns(), now_ms = lk_mono_ms();
	uint64_t ntp;
	int i, n;

	(void)loop;
	(void)revents;
	/* RFC 3550 §4: NTP timestamp, 32.32 fixed point seconds since 1900. */
	ntp = ((uint64_t)(now_ns / 1000000000) + DS_SFU_NTP_OFFSET) << 32;
	ntp |= (uint64_t)(((now_ns % 1000000000) << 32) / 1000000000);
	for (q = sfu->peers; q != NULL; q = q->next) {
		if (q->closing || q->sub.state != RTC_TS_CONNECTED)
			continue;
		for (i = 0; i < q->nslots; i++) {
			struct ds_sfu_slot *s = &q->slots[i];

			if (s->track == NULL || !s->negotiated || !s->started)
				continue;
			memset(&sr, 0, sizeof(sr));
			sr.ssrc = s->ssrc;
			sr.ntp = ntp;
			/* RFC 3550 §6.4.1: the RTP time of "now", extrapolated at 48 kHz. */
			sr.rtp_ts = s->last_ts + (uint32_t)((now_ms - s->last_ms) * 48);
			sr.packet_count = s->packets;
			sr.octet_count = s->octets;
			n = rtcp_write_sr(sfu->rtcp, sizeof(sfu->rtcp), &sr);
			if (n > 0)
				(void)rtc_transport_send_rtcp(q->sub.t, sfu->rtcp, (size_t)n);
		}
	}
}

/* ---- forwarding ---- */

/* The track an incoming packet belongs to, by SSRC or by elimination. */
static struct ds_sfu_track *
ds_sfu_track_for_rtp(struct ds_sfu_peer *peer, uint32_t ssrc)
{
	struct ds_sfu_track *t, *only = NULL;
	int n = 0;

	for (t = peer->tracks; t != NULL; t = t->next) {
		if (!t->published)
			continue;
		if (t->has_ssrc && t->ssrc == ssrc)
			return t;
		only = t;
		n++;
	}
	/*
	 * libwebrtc may leave out a=ssrc and rely on the mid header
	 * extension, which this server does not negotiate: with a single
	 * published track an unknown SSRC (SRTP-authenticated, so from this
	 * client) can only be that track's.
	 */
	if (n != 1)
		return NULL;
	if (!only->has_ssrc || only->ssrc != ssrc)
		log_info("track ssrc learned from rtp", "participant", peer->sid, "track",
		        only->sid, "ssrc", log_fmt("%u", ssrc));
	only->ssrc = ssrc;
	only->has_ssrc = 1;
	return only;
}

static void
ds_sfu_forward(struct ds_sfu *sfu, struct ds_sfu_track *t, const struct rtp_hdr *h)
{
	struct ds_sfu_peer *q;
	struct rtp_hdr out;
	int64_t now = lk_mono_ms();
	size_t len;
	int i;

	/* Header extensions and CSRCs are stripped: the subscriber SDP negotiates none. */
	if (h->payload_len > sizeof(sfu->pkt) - RTP_HEADER_LEN)
		return;
	memcpy(sfu->pkt + RTP_HEADER_LEN, h->payload, h->payload_len);
	len = RTP_HEADER_LEN + h->payload_len;
	memset(&out, 0, sizeof(out));
	out.marker = h->marker;
	out.pt = DS_SFU_OPUS_PT;
	for (q = sfu->peers; q != NULL; q = q->next) {
		if (q == t->owner || q->closing || !ds_sfu_same_room(q, t->owner) ||
		        q->sub.state != RTC_TS_CONNECTED)
			continue;
		for (i = 0; i < q->nslots; i++) {
			struct ds_sfu_slot *s = &q->slots[i];

			if (s->track != t || !s->negotiated)
				continue;
			if (!s->started) {
				/* Timestamps and sequence numbers keep the publisher's values. */
				s->seq_delta = 0;
				s->ts_delta = 0;
				s->src_ssrc = h->ssrc;
				s->started = 1;
				s->last_seq = (uint16_t)(h->seq - 1);
			} else if (s->src_ssrc != h->ssrc) {
				/* A new source stream: continue our sequence and timeline. */
				s->seq_delta = (uint16_t)(s->last_seq + 1 - h->seq);
				s->ts_delta = s->last_ts + DS_SFU_OPUS_FRAME - h->ts;
				s->src_ssrc = h->ssrc;
			}
			out.seq = (uint16_t)(h->seq + s->seq_delta);
			out.ts = h->ts + s->ts_delta;
			out.ssrc = s->ssrc;
			if (rtp_seq_newer(out.seq, s->last_seq)) {
				s->last_seq = out.seq;
				s->last_ts = out.ts;
				s->last_ms = now;
			}
			if (rtp_write_hdr(sfu->pkt, sizeof(sfu->pkt), &out) != RTP_HEADER_LEN)
				continue;
			if (rtc_transport_send_rtp(q->sub.t, sfu->pkt, len) < 0)
				continue;
			s->tx_rtp++;
			s->packets++;
			s->octets += (uint32_t)h->payload_len;
			t->tx_rtp++;
		}
	}
}

/* ---- transport callbacks ---- */

static void
ds_sfu_on_state(struct rtc_transport *t, enum rtc_transport_state st, const char *why, void *arg)
{
	struct ds_sfu_tp *tp = arg;
	struct ds_sfu_peer *peer = tp->peer;

	(void)t;
	tp->state = st;
	log_info("transport state", "participant", peer->sid, "identity", peer->identity, "pc",
	        tp->name, "state", ds_sfu_state_name(st), "why", why);
	if (peer->closing)
		return;
	if (st == RTC_TS_CONNECTED && !tp->connected_once) {
		tp->connected_once = 1;
		/* livekit marks a participant ACTIVE once its primary (subscriber) PC connects. */
		if (tp == &peer->sub && peer->cbs.active != NULL)
			peer->cbs.active(peer->arg);
	}
}

static void
ds_sfu_on_candidate(struct rtc_transport *t, const char *candidate, void *arg)
{
	/* Host candidates are read back with rtc_transport_candidate and put in the SDP. */
	(void)t;
	(void)candidate;
	(void)arg;
}

static void
ds_sfu_on_rtp(struct rtc_transport *tr, uint8_t *pkt, size_t len, void *arg)
{
	struct ds_sfu_tp *tp = arg;
	struct ds_sfu_peer *peer = tp->peer;
	struct ds_sfu *sfu = peer->sfu;
	struct ds_sfu_track *t;
	struct rtp_hdr h;

	(void)tr;
	if (peer->closing)
		return;
	if (tp != &peer->pub) {
		peer->rx_sub_rtp++;
		return;
	}
	if (rtp_parse(pkt, len, &h) < 0) {
		peer->rx_bad_rtp++;
		return;
	}
	t = ds_sfu_track_for_rtp(peer, h.ssrc);
	if (t == NULL || h.pt != t->pt) {
		peer->rx_unknown++;
		return;
	}
	t->rx_rtp++;
	/* --rtc-drop-rate: simulated loss, counted, before any subscriber sees it. */
	if (sfu->opts.drop_rate > 0 && ds_sfu_rand01(sfu) < sfu->opts.drop_rate) {
		t->dropped++;
		return;
	}
	t->forwarded++;
	ds_sfu_forward(sfu, t, &h);
}

static void
ds_sfu_on_rtcp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	/* Receiver reports, NACK, transport-cc, REMB: audio plays without them
	 * (rtc-protocol.md 3.5). */
	(void)t;
	(void)pkt;
	(void)len;
	(void)arg;
}

static const struct rtc_transport_cbs ds_sfu_tp_cbs = {
        .on_state = ds_sfu_on_state,
        .on_candidate = ds_sfu_on_candidate,
        .on_rtp = ds_sfu_on_rtp,
        .on_rtcp = ds_sfu_on_rtcp,
};

static int
ds_sfu_tp_open(
        struct ds_sfu_peer *peer, struct ds_sfu_tp *tp, const char *name, char *err, size_t errlen)
{
	struct ds_sfu *sfu = peer->sfu;
	struct rtc_transport_opts o;

	memset(&o, 0, sizeof(o));
	tp->peer = peer;
	tp->name = name;
	o.ice_mode = RTC_ICE_LITE;
	o.ice_role = RTC_ICE_CONTROLLED;
	o.cert = sfu->cert;
	o.bind_ip = NULL;
	o.port_min = sfu->opts.port_min;
	o.port_max = sfu->opts.port_max;
	o.advertise_ip = sfu->rtc_ip;
	o.gather_loopback = sfu->opts.gather_loopback;
	tp->t = rtc_transport_new(sfu->loop, &o, &ds_sfu_tp_cbs, tp, err, errlen);
	if (tp->t == NULL)
		return LK_EIO;
	tp->state = rtc_transport_state(tp->t);
	ds_sfu_tp_load_candidates(tp);
	return 0;
}

/* ---- peers ---- */

struct ds_sfu_peer *
ds_sfu_peer_new(struct ds_sfu *sfu, const void *room_key, const char *room_name,
        const struct ds_participant *p, const struct ds_sfu_peer_cbs *cbs, void *arg, char *err,
        size_t errlen)
{
	struct ds_sfu_peer *peer = lk_xcalloc(1, sizeof(*peer));

	peer->sfu = sfu;
	peer->room_key = room_key;
	peer->room_name = lk_xstrdup(room_name);
	peer->identity = lk_xstrdup(p->identity);
	lk_strlcpy(peer->sid, p->sid, sizeof(peer->sid));
	peer->can_subscribe = p->perm.can_subscribe;
	peer->can_publish = p->perm.can_publish;
	peer->hidden = p->perm.hidden;
	peer->cbs = *cbs;
	peer->arg = arg;
	/* RFC 8866 §5.2: sess-id fits a signed 64-bit integer. */
	peer->sess_id = (((uint64_t)lk_random_u32() << 32) | lk_random_u32()) >> 2;
	if (ds_sfu_tp_open(peer, &peer->pub, "publisher", err, errlen) < 0 ||
	        ds_sfu_tp_open(peer, &peer->sub, "subscriber", err, errlen) < 0) {
		if (peer->pub.t != NULL)
			rtc_transport_free(peer->pub.t);
		free(peer->room_name);
		free(peer->identity);
		free(peer);
		return NULL;
	}
	/* Slot 0: the data section, always present (rtc-protocol.md §0 #5). */
	peer->slots[0].app = 1;
	lk_strlcpy(peer->slots[0].mid, "0", sizeof(peer->slots[0].mid));
	peer->nslots = 1;
	peer->next = sfu->peers;
	sfu->peers = peer;
	sfu->npeers++;
	log_info("media transports open", "participant", peer->sid, "identity", peer->identity,
	        "publisher_port", log_fmt("%u", (unsigned)rtc_transport_port(peer->pub.t)),
	        "subscriber_port", log_fmt("%u", (unsigned)rtc_transport_port(peer->sub.t)));
	ds_sfu_schedule(sfu);
	return peer;
}

void
ds_sfu_peer_free(struct ds_sfu_peer *peer)
{
	struct ds_sfu *sfu;
	struct ds_sfu_peer **pp;

	if (peer == NULL)
		return;
	sfu = peer->sfu;
	peer->closing = 1;
	while (peer->tracks != NULL)
		ds_sfu_track_remove(peer->tracks);
	rtc_transport_free(peer->pub.t);
	rtc_transport_free(peer->sub.t);
	for (pp = &sfu->peers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == peer) {
			*pp = peer->next;
			sfu->npeers--;
			break;
		}
	}
	free(peer->room_name);
	free(peer->identity);
	free(peer);
}

/* ---- signalling requests ---- */

int
ds_sfu_peer_add_track(
        struct ds_sfu_peer *peer, const livekit_AddTrackRequest *req, const char **why)
{
	struct ds_sfu *sfu = peer->sfu;
	struct ds_sfu_track *t;
	livekit_SignalResponse resp;
	livekit_TrackPublishedResponse pr;
	livekit_TrackInfo info;
	const char *prefix;

	(void)why;
	if (req->cid == NULL || req->cid[0] == '\0') {
		log_warn("add_track ignored: no cid", "participant", peer->sid);
		return 0;
	}
	if (!peer->can_publish) {
		log_warn("add_track refused: no publish permission", "participant", peer->sid,
		        "cid", req->cid);
		return 0;
	}
	/* Only Opus audio is forwarded; the client times out on a video publish (10 s). */
	if (req->type != livekit_TrackType_AUDIO) {
		log_warn("add_track ignored: only audio tracks are served", "participant",
		        peer->sid, "cid", req->cid, "type", log_fmt("%d", (int)req->type));
		return 0;
	}
	t = ds_sfu_track_by_cid(peer, req->cid);
	if (t == NULL) {
		if (peer->ntracks >= DS_SFU_MAX_TRACKS) {
			log_warn("add_track refused: too many tracks", "participant", peer->sid,
			        "cid", req->cid);
			return 0;
		}
		t = lk_xcalloc(1, sizeof(*t));
		t->owner = peer;
		t->serial = ++sfu->serial;
		/* livekit's track sids: "TR_" + 'A' (audio) + a source letter. */
		prefix = req->source == livekit_TrackSource_MICROPHONE          ? "TR_AM"
		        : req->source == livekit_TrackSource_SCREEN_SHARE_AUDIO ? "TR_AS"
		                                                                : "TR_AU";
		lk_make_id(prefix, t->sid, sizeof(t->sid));
		t->cid = lk_xstrdup(req->cid);
		t->name = lk_xstrdup(req->name != NULL ? req->name : "");
		t->source = (int)req->source;
		t->muted = req->muted;
		t->pt = DS_SFU_OPUS_PT;
		t->next = peer->tracks;
		peer->tracks = t;
		peer->ntracks++;
		log_info("track pending", "participant", peer->sid, "identity", peer->identity,
		        "track", t->sid, "cid", t->cid, "name", t->name);
	}
	ds_sfu_track_pb(t, &info);
	memset(&pr, 0, sizeof(pr));
	/* TrackPublishedResponse: cid (1) echoes the request, track (2) must be set. */
	pr.cid = t->cid;
	pr.track = &info;
	memset(&resp, 0, sizeof(resp));
	resp.which_message = livekit_SignalResponse_track_published_tag;
	resp.message.track_published = &pr;
	(void)peer->cbs.send(peer->arg, &resp);
	return 0;
}

/* The pending track an offered sendonly audio section carries: a=msid track id = cid first. */
static struct ds_sfu_track *
ds_sfu_pending_for(struct ds_sfu_peer *peer, const struct sdp_media *m)
{
	struct ds_sfu_track *t, *first = NULL;
	const char *tid = m->msid_track;
	int i;

	if (tid == NULL)
		for (i = 0; i < m->n_ssrc && tid == NULL; i++)
			tid = m->ssrc[i].msid_track;
	for (t = peer->tracks; t != NULL; t = t->next) {
		if (t->published || t->mid[0] != '\0')
			continue;
		if (tid != NULL && strcmp(t->cid, tid) == 0)
			return t;
		first = t; /* the list is newest first: the last one seen is the oldest */
	}
	return first;
}

/* The publisher's SSRC for a section: the one whose msid names the track, else the first. */
static void
ds_sfu_track_take_ssrc(struct ds_sfu_track *t, const struct sdp_media *m)
{
	int i;

	if (m->n_ssrc == 0)
		return;
	for (i = 0; i < m->n_ssrc; i++) {
		if (m->ssrc[i].msid_track != NULL && strcmp(m->ssrc[i].msid_track, t->cid) == 0) {
			t->ssrc = m->ssrc[i].ssrc;
			t->has_ssrc = 1;
			return;
		}
	}
	t->ssrc = m->ssrc[0].ssrc;
	t->has_ssrc = 1;
}

/* First codec of a section with a name (an inactive answer still needs one, with rtpmap). */
static const struct sdp_codec *
ds_sfu_first_named(const struct sdp_media *m)
{
	int i;

	for (i = 0; i < m->n_codec; i++)
		if (m->codec[i].name != NULL)
			return &m->codec[i];
	return NULL;
}

/*
 * One offered audio section: bind it to a track (recvonly Opus) or
 * answer it inactive. Returns 1 when the published set changed.
 */
static int
ds_sfu_pub_audio(struct ds_sfu_peer *peer, const struct sdp_media *m, struct sdp_out_media *om)
{
	const struct sdp_codec *opus = sdp_media_find_codec(m, "opus", 48000, 2);
	struct ds_sfu_track *t = ds_sfu_track_by_mid(peer, m->mid), *want;
	int sending =
	        m->dir == SDP_DIR_SENDONLY || m->dir == SDP_DIR_SENDRECV || m->dir == SDP_DIR_UNSET;
	int changed = 0;

	if (t != NULL && (!sending || opus == NULL)) {
		/* The client stopped sending on this m-line: the track is gone. */
		ds_sfu_track_remove(t);
		t = NULL;
		changed = 1;
	}
	if (sending && opus != NULL) {
		/* A replaced sender: the m-line now carries another AddTrackRequest's cid. */
		if (t != NULL && m->msid_track != NULL && strcmp(t->cid, m->msid_track) != 0 &&
		        (want = ds_sfu_pending_for(peer, m)) != NULL &&
		        strcmp(want->cid, m->msid_track) == 0) {
			ds_sfu_track_remove(t);
			t = NULL;
			changed = 1;
		}
		if (t == NULL)
			t = ds_sfu_pending_for(peer, m);
	}
	if (t != NULL && sending && opus != NULL) {
		/* RFC 3264 §6.1: sendonly -> recvonly; Opus only, no extmaps, no feedback. */
		om->dir = sdp_dir_answer(m->dir, 0, 1);
		sdp_out_codec_from(&om->codec[0], opus);
		om->n_codec = 1;
		t->pt = opus->pt;
		ds_sfu_track_take_ssrc(t, m);
		if (!t->published) {
			t->published = 1;
			lk_strlcpy(t->mid, m->mid, sizeof(t->mid));
			changed = 1;
			log_info("track published", "participant", peer->sid, "identity",
			        peer->identity, "track", t->sid, "cid", t->cid, "mid", t->mid,
			        "ssrc", t->has_ssrc ? log_fmt("%u", t->ssrc) : "unsignalled");
		}
		return changed;
	}
	om->dir = SDP_DIR_INACTIVE;
	if (opus == NULL)
		opus = ds_sfu_first_named(m);
	if (opus != NULL) {
		sdp_out_codec_from(&om->codec[0], opus);
		om->n_codec = 1;
	}
	return changed;
}

int
ds_sfu_peer_offer(struct ds_sfu_peer *peer, const livekit_SessionDescription *sd, const char **why)
{
	struct sdp_out *o = peer->sfu->out;
	struct sdp_session *s = NULL;
	struct buf b;
	enum sdp_setup setup;
	int i, rc, changed = 0;

	if (sd == NULL || sd->sdp == NULL || sd->type == NULL || strcmp(sd->type, "offer") != 0) {
		*why = "publisher offer without an SDP of type offer";
		return LK_EINVAL;
	}
	rc = sdp_parse(sd->sdp, strlen(sd->sdp), &s);
	if (rc < 0) {
		*why = "publisher offer SDP does not parse";
		return rc;
	}
	for (i = 0; i < s->n_media; i++) {
		if (s->media[i]->mid == NULL) {
			*why = "publisher offer section without a=mid";
			sdp_free(s);
			return LK_EINVAL;
		}
	}
	/* Transport first: a bad offer changes no track. */
	rc = ds_sfu_tp_set_remote(&peer->pub, s, why);
	if (rc < 0) {
		sdp_free(s);
		return rc;
	}
	/* JSEP §5.3.1: the answer mirrors the offer's sections in order. */
	if (sdp_out_mirror(o, s) < 0) {
		*why = "publisher offer has too many sections";
		sdp_free(s);
		return LK_EINVAL;
	}
	/* RFC 5763 §5: the offerer's actpass is answered passive (the client is the DTLS client).
	 */
	setup = ds_sfu_first_live(s)->setup == SDP_SETUP_PASSIVE ? SDP_SETUP_ACTIVE
	                                                         : SDP_SETUP_PASSIVE;
	ds_sfu_out_session(peer, &peer->pub, o, setup);
	for (i = 0; i < s->n_media; i++) {
		const struct sdp_media *m = s->media[i];
		struct sdp_out_media *om = &o->media[i];

		if (m->port == 0) {
			/* A section the client itself rejected loses its track, if any. */
			struct ds_sfu_track *t = ds_sfu_track_by_mid(peer, m->mid);

			if (t != NULL) {
				ds_sfu_track_remove(t);
				changed = 1;
			}
			continue;
		}
		om->cand = peer->pub.cand;
		om->n_cand = peer->pub.ncand;
		if (!m->is_rtp) {
			if (m->type == SDP_MEDIA_APPLICATION) {
				/* Accepted for DTLS (the PC connects); SCTP is not served. */
				om->rejected = 0;
				om->sctp_port = DS_SFU_SCTP_PORT;
				om->max_message_size = DS_SFU_MAX_MESSAGE;
			}
			continue;
		}
		om->rejected = 0;
		om->rtcp_mux = 1;
		/* The m= formats come from the codec we keep, not the whole offered list. */
		om->fmt = NULL;
		om->n_fmt = 0;
		if (m->type == SDP_MEDIA_AUDIO) {
			changed |= ds_sfu_pub_audio(peer, m, om);
		} else {
			const struct sdp_codec *c = ds_sfu_first_named(m);

			om->dir = SDP_DIR_INACTIVE;
			if (c != NULL) {
				sdp_out_codec_from(&om->codec[0], c);
				om->n_codec = 1;
			}
		}
		if (om->n_codec == 0) {
			/* Nothing to mirror with an rtpmap: reject (port 0) rather than guess. */
			om->rejected = 1;
			om->dir = SDP_DIR_INACTIVE;
		}
	}
	buf_init(&b, SDP_MAX_TEXT);
	rc = sdp_write(o, &b);
	if (rc == 0)
		rc = ds_sfu_send_sd(peer, 0, &b);
	if (rc < 0) {
		log_error("publisher answer not sent", "participant", peer->sid, "err",
		        lk_strerror(rc));
	} else {
		log_info("publisher answer sent", "participant", peer->sid, "identity",
		        peer->identity, "sections", log_fmt("%d", s->n_media), "published",
		        log_fmt("%d", ds_sfu_published_count(peer)));
	}
	buf_free(&b);
	sdp_free(s);
	if (changed) {
		/* ParticipantUpdate now; the subscriber offers follow from the loop. */
		if (peer->cbs.changed != NULL)
			peer->cbs.changed(peer->arg);
		ds_sfu_schedule(peer->sfu);
	}
	if (rc < 0) {
		*why = "publisher answer could not be written";
		return rc;
	}
	return 0;
}

int
ds_sfu_peer_answer(struct ds_sfu_peer *peer, const livekit_SessionDescription *sd, const char **why)
{
	struct sdp_session *s = NULL;
	int i, rc;

	if (sd == NULL || sd->sdp == NULL || sd->type == NULL || strcmp(sd->type, "answer") != 0) {
		*why = "subscriber answer without an SDP of type answer";
		return LK_EINVAL;
	}
	if (!peer->in_flight) {
		log_warn("subscriber answer ignored: no offer pending", "participant", peer->sid);
		return 0;
	}
	rc = sdp_parse(sd->sdp, strlen(sd->sdp), &s);
	if (rc < 0) {
		*why = "subscriber answer SDP does not parse";
		return rc;
	}
	rc = ds_sfu_tp_set_remote(&peer->sub, s, why);
	if (rc < 0) {
		sdp_free(s);
		return rc;
	}
	for (i = 0; i < peer->nslots; i++) {
		struct ds_sfu_slot *sl = &peer->slots[i];
		const struct sdp_media *m = sdp_find_mid(s, sl->mid);

		if (!sl->in_offer || sl->app)
			continue;
		/* Forward only once the client accepted the m-line with this binding. */
		sl->negotiated =
		        sl->offered == sl->serial && m != NULL && (m->port != 0 || sl->serial == 0);
	}
	peer->in_flight = 0;
	log_info("subscriber answer applied", "participant", peer->sid, "identity", peer->identity,
	        "sections", log_fmt("%d", s->n_media));
	sdp_free(s);
	/* Changes queued while the offer was in flight go out now. */
	ds_sfu_schedule(peer->sfu);
	return 0;
}

int
ds_sfu_peer_trickle(struct ds_sfu_peer *peer, const livekit_TrickleRequest *req, const char **why)
{
	struct ds_sfu_tp *tp;
	json_t *root, *cand;
	json_error_t jerr;
	const char *line;
	int rc;

	(void)why;
	if (req->candidateInit == NULL)
		return 0;
	if (strlen(req->candidateInit) > DS_SFU_MAX_CANDINIT) {
		log_warn("trickle ignored: candidate too long", "participant", peer->sid);
		return 0;
	}
	/* TrickleRequest.target (2): PUBLISHER 0, SUBSCRIBER 1. */
	tp = req->target == livekit_SignalTarget_SUBSCRIBER ? &peer->sub : &peer->pub;
	/* candidateInit (1) is a W3C RTCIceCandidateInit in JSON. */
	root = json_loads(req->candidateInit, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		log_warn("trickle ignored: candidateInit is not a JSON object", "participant",
		        peer->sid);
		json_decref(root);
		return 0;
	}
	cand = json_object_get(root, "candidate");
	line = json_is_string(cand) ? json_string_value(cand) : NULL;
	/* An empty candidate marks the end of candidates: nothing to add. */
	if (line != NULL && line[0] != '\0') {
		rc = rtc_transport_add_remote_candidate(tp->t, line);
		log_debug("remote candidate", "participant", peer->sid, "pc", tp->name, "candidate",
		        line, "err", rc < 0 ? lk_strerror(rc) : NULL);
	}
	json_decref(root);
	return 0;
}

int
ds_sfu_peer_mute(struct ds_sfu_peer *peer, const livekit_MuteTrackRequest *req, const char **why)
{
	struct ds_sfu_track *t;

	(void)why;
	if (req->sid == NULL)
		return 0;
	for (t = peer->tracks; t != NULL; t = t->next) {
		if (strcmp(t->sid, req->sid) != 0)
			continue;
		if (t->muted == (int)req->muted)
			return 0;
		/* MuteTrackRequest muted (2) -> TrackInfo.muted (4) in the next update. */
		t->muted = req->muted;
		log_info("track mute", "participant", peer->sid, "track", t->sid, "muted",
		        t->muted ? "true" : "false");
		if (t->published && peer->cbs.changed != NULL)
			peer->cbs.changed(peer->arg);
		return 0;
	}
	log_debug("mute ignored: unknown track", "participant", peer->sid, "track", req->sid);
	return 0;
}

void
ds_sfu_peer_tracks_pb(
        const struct ds_sfu_peer *peer, struct ds_arena *a, livekit_ParticipantInfo *info)
{
	const struct ds_sfu_track *t;
	int n, i = 0;

	if (peer == NULL)
		return;
	n = ds_sfu_published_count(peer);
	if (n == 0)
		return;
	info->tracks = ds_arena_alloc(a, (size_t)n * sizeof(*info->tracks));
	for (t = peer->tracks; t != NULL && i < n; t = t->next)
		if (t->published)
			ds_sfu_track_pb(t, &info->tracks[i++]);
	info->tracks_count = (pb_size_t)i;
	/* ParticipantInfo.is_publisher (13). */
	info->is_publisher = true;
}

/* ---- /debug/rtc ---- */

static json_t *
ds_sfu_tp_json(const struct ds_sfu_tp *tp)
{
	struct rtc_transport_stats st;

	rtc_transport_stats(tp->t, &st);
	return json_pack("{s:s,s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "state",
	        ds_sfu_state_name(rtc_transport_state(tp->t)), "port",
	        (int)rtc_transport_port(tp->t), "remote_set", tp->remote_set, "rx_datagrams",
	        (json_int_t)st.rx_datagrams, "rx_stun", (json_int_t)st.rx_stun, "rx_dtls",
	        (json_int_t)st.rx_dtls, "rx_rtp", (json_int_t)st.rx_rtp, "rx_rtcp",
	        (json_int_t)st.rx_rtcp, "rx_garbage", (json_int_t)st.rx_garbage, "rx_dropped_test",
	        (json_int_t)st.rx_dropped_test, "tx_rtp", (json_int_t)st.tx_rtp, "tx_rtcp",
	        (json_int_t)st.tx_rtcp, "tx_errors", (json_int_t)st.tx_errors);
}

static json_t *
ds_sfu_track_json(const struct ds_sfu_track *t)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I}", "sid", t->sid,
	        "participant", t->owner->sid, "identity", t->owner->identity, "cid", t->cid, "mid",
	        t->mid, "published", t->published, "muted", t->muted, "ssrc",
	        (json_int_t)(t->has_ssrc ? t->ssrc : 0), "rx_rtp", (json_int_t)t->rx_rtp,
	        "forwarded", (json_int_t)t->forwarded, "dropped", (json_int_t)t->dropped, "tx_rtp",
	        (json_int_t)t->tx_rtp);
}

char *
ds_sfu_debug_json(const struct ds_sfu *sfu)
{
	json_t *root = json_object(), *parts = json_array(), *tracks = json_array();
	const struct ds_sfu_peer *p;
	const struct ds_sfu_track *t;
	char *s;
	int i;

	for (p = sfu->peers; p != NULL; p = p->next) {
		json_t *jp, *jt = json_array(), *js = json_array();
		struct rtc_transport_stats ps, ss;

		for (t = p->tracks; t != NULL; t = t->next) {
			json_array_append_new(jt, ds_sfu_track_json(t));
			json_array_append_new(tracks, ds_sfu_track_json(t));
		}
		for (i = 0; i < p->nslots; i++) {
			const struct ds_sfu_slot *sl = &p->slots[i];

			if (sl->app)
				continue;
			json_array_append_new(js,
			        json_pack("{s:s,s:s?,s:I,s:b,s:I}", "mid", sl->mid, "track",
			                sl->track != NULL ? sl->track->sid : NULL, "ssrc",
			                (json_int_t)sl->ssrc, "negotiated", sl->negotiated,
			                "tx_rtp", (json_int_t)sl->tx_rtp));
		}
		rtc_transport_stats(p->pub.t, &ps);
		rtc_transport_stats(p->sub.t, &ss);
		jp = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:i,s:b}",
		        "identity", p->identity, "sid", p->sid, "room", p->room_name, "tracks", jt,
		        "subscriptions", js, "publisher", ds_sfu_tp_json(&p->pub), "subscriber",
		        ds_sfu_tp_json(&p->sub), "rx_rtp", (json_int_t)(ps.rx_rtp + ss.rx_rtp),
		        "tx_rtp", (json_int_t)(ps.tx_rtp + ss.tx_rtp), "rx_garbage",
		        (json_int_t)(ps.rx_garbage + ss.rx_garbage), "rx_unknown",
		        (json_int_t)p->rx_unknown, "rx_bad_rtp", (json_int_t)p->rx_bad_rtp,
		        "offers_sent", p->offers_sent, "offer_in_flight", p->in_flight);
		json_array_append_new(parts, jp);
	}
	json_object_set_new(root, "participants", parts);
	json_object_set_new(root, "tracks", tracks);
	json_object_set_new(root, "drop_rate", json_real(sfu->opts.drop_rate));
	json_object_set_new(root, "rtc_ip", json_string(sfu->rtc_ip));
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* ---- lifetime ---- */

struct ds_sfu *
ds_sfu_new(struct ev_loop *loop, const struct ds_sfu_opts *opts, char *err, size_t errlen)
{
	struct ds_sfu *sfu;
	const char *fp;
	char line[SDP_MAX_DIGEST * 3 + 16];

	sfu = lk_xcalloc(1, sizeof(*sfu));
	sfu->loop = loop;
	sfu->opts = *opts;
	sfu->rtc_ip = lk_xstrdup(opts->rtc_ip != NULL ? opts->rtc_ip : "127.0.0.1");
	sfu->opts.rtc_ip = sfu->rtc_ip;
	/* One DTLS identity per process, shared by every transport (cert.h). */
	sfu->cert = rtc_cert_new();
	fp = sfu->cert != NULL ? rtc_cert_fingerprint(sfu->cert) : NULL;
	snprintf(line, sizeof(line), "sha-256 %s", fp != NULL ? fp : "");
	if (fp == NULL || sdp_fingerprint_parse(line, strlen(line), &sfu->fp) < 0) {
		snprintf(err, errlen, "DTLS certificate could not be created");
		rtc_cert_free(sfu->cert);
		free(sfu->rtc_ip);
		free(sfu);
		return NULL;
	}
	sfu->out = lk_xcalloc(1, sizeof(*sfu->out));
	sfu->rng = lk_random_u32() | 1;
	ev_timer_init(&sfu->flush, ds_sfu_flush_cb, 0., 0.);
	sfu->flush.data = sfu;
	ev_timer_init(&sfu->sr, ds_sfu_sr_cb, DS_SFU_SR_INTERVAL_S, DS_SFU_SR_INTERVAL_S);
	sfu->sr.data = sfu;
	ev_timer_start(loop, &sfu->sr);
	return sfu;
}

void
ds_sfu_free(struct ds_sfu *sfu)
{
	if (sfu == NULL)
		return;
	while (sfu->peers != NULL)
		ds_sfu_peer_free(sfu->peers);
	ev_timer_stop(sfu->loop, &sfu->flush);
	ev_timer_stop(sfu->loop, &sfu->sr);
	rtc_cert_free(sfu->cert);
	free(sfu->out);
	free(sfu->rtc_ip);
	free(sfu);
}
