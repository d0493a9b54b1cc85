/*
 * media: lk-jobproc's subscriber and publisher peer connections
 * (rtc-protocol.md §2.5, §3, §5.2): SDP offer/answer, one rtc_transport per
 * PC, trickle both ways, remote audio tracks mapped from a=msid/a=ssrc to
 * participants and fed through pipeline_in to the taps, our published
 * Opus track paced at 20 ms, and RTCP (RFC 3550): receiver reports on the
 * subscriber PC, sender reports on the publisher PC.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>
#include <jansson.h>

#include "audio/codec.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "jobproc/media.h"
#include "jobproc/pipeline.h"
#include "rtc/cert.h"
#include "rtc/rtp.h"

/* Bound on the SDP we write (sdp.h parses at most SDP_MAX_TEXT). */
#define MEDIA_MAX_SDP SDP_MAX_TEXT
/* Longest RTCIceCandidateInit JSON taken from the server. */
#define MEDIA_MAX_CAND_JSON 4096
/* Opus as LiveKit registers it (rtc-protocol.md §3.1). */
#define MEDIA_OPUS_FMTP "minptime=10;useinbandfec=1"

enum media_pub_state {
	MEDIA_PUB_NONE = 0,
	MEDIA_PUB_WANTED, /* media_publish before the join */
	MEDIA_PUB_ADDING, /* add_track sent, waiting for track_published */
	MEDIA_PUB_OFFERED, /* offer sent, waiting for the answer */
	MEDIA_PUB_ANSWERED, /* transport running; frames flow once connected */
};

struct media_track {
	struct media *m;
	struct room_track t; /* views into the strings below */
	char mid[MEDIA_ID_MAX];
	char sid[MEDIA_ID_MAX];
	char psid[MEDIA_ID_MAX];
	char identity[256];
	uint32_t ssrc[MEDIA_MAX_SSRC];
	int n_ssrc;
	/* RTCP reception state of ssrc[k] (rx[k].ssrc says whose it is). */
	struct pipeline_rx_stat rx[MEDIA_MAX_SSRC];
	struct pipeline_in *in;
};

struct media_pc {
	struct media *m;
	enum media_target target;
	const char *name; /* "subscriber" / "publisher", for logs */
	struct rtc_transport *t;
	int creating; /* inside rtc_transport_new: candidates are read after */
	int trickled; /* our candidates went out by trickle */
	int remote_set;
	int connected;
	uint64_t version; /* o= session version of our descriptions */
	char remote_ufrag[256];
	char first_mid[MEDIA_ID_MAX];
	int first_index;
	/* RFC 3550 §6.2: our reports on this PC's RTP session. */
	ev_timer rtcp_timer;
	uint64_t rtcp_sent;
	uint64_t rtcp_errors;
};

struct media_pending_cand {
	enum media_target target;
	char *cand;
};

struct media {
	struct ev_loop *loop;
	struct media_cbs cbs;
	void *arg;
	int offline;
	int stopped;
	int failed;
	int joined;
	int rate;
	struct rtc_cert *cert;
	uint64_t sess_id;
	struct media_pc sub;
	struct media_pc pub;

	struct media_track *tracks[SDP_MAX_MEDIA];
	int n_tracks;
	const struct tap *taps[TAP_MAX];
	int n_taps;
	struct media_pending_cand pending[MEDIA_MAX_PENDING_CAND];
	int n_pending;

	uint64_t in_frames;
	uint64_t out_frames;
	uint64_t unknown_ssrc;

	/* RTCP: the sender SSRC of our receiver reports, the SRs we took
	 * LSR from, compounds that did not parse, where the next RR's
	 * blocks start when there are more sources than one RR holds. */
	uint32_t rtcp_ssrc;
	uint64_t rtcp_sr_in;
	uint64_t rtcp_bad_in;
	int rr_next;
	uint8_t rtcp[PIPELINE_RTCP_MAX];

	/* The published track. */
	enum media_pub_state pub_state;
	struct media_source src;
	char cid[40];
	char stream[40];
	char cname[24];
	char pub_sid[MEDIA_ID_MAX];
	ev_timer publish_timer;
	struct pipeline_out *out;
	struct pipeline_tx_stat tx;
	struct pipeline_pacer pacer;
	int16_t src_pcm[AUD_OPUS_FRAME];
	uint8_t rtp[PIPELINE_MAX_RTP];
};

/* Placeholders of an offline media (no transport): syntactically valid. */
static const char media_offline_ufrag[] = "offl";
static const char media_offline_pwd[] = "offlineofflineofflineoffline";
static const char media_offline_fp[] =
        "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00";

static void media_track_end(struct media *m, int i, int notify);
static void media_pub_connected(struct media *m);
static void media_rtcp_start(struct media_pc *pc);

/* ---- failure ---- */

static void __attribute__((format(printf, 2, 3))) media_fail(struct media *m, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (m->failed || m->stopped)
		return;
	m->failed = 1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_error("media failed", "err", why);
	if (m->cbs.failed)
		m->cbs.failed(why, m->arg);
}

/* ---- pure helpers ---- */

void
media_split_msid(const char *stream, const char *track, char *participant_sid, size_t plen,
        char *track_sid, size_t tlen)
{
	const char *bar = stream ? strchr(stream, '|') : NULL;

	participant_sid[0] = '\0';
	track_sid[0] = '\0';
	if (bar) {
		/* rtc-protocol.md §3.3: livekit's packed stream id "PA_x|TR_y". */
		size_t n = (size_t)(bar - stream);
		if (n < plen) {
			memcpy(participant_sid, stream, n);
			participant_sid[n] = '\0';
		}
		/* §2.7: the track sid is the second half when it starts with TR. */
		if (strncmp(bar + 1, "TR", 2) == 0) {
			lk_strlcpy(track_sid, bar + 1, tlen);
			return;
		}
	}
	if (track)
		lk_strlcpy(track_sid, track, tlen);
}

static int
media_fp_parse(const char *text, struct sdp_fingerprint *fp)
{
	char tmp[SDP_MAX_DIGEST * 3 + 32];
	int n = snprintf(tmp, sizeof(tmp), "sha-256 %s", text ? text : "");

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return LK_EINVAL;
	return sdp_fingerprint_parse(tmp, (size_t)n, fp);
}

/* The transport parameters of one accepted section (session values are inherited). */
static int
media_take_remote(const struct sdp_session *s, const struct sdp_media *sm, struct media_remote *r,
        char *err, size_t errlen)
{
	if (!sm->ice_ufrag || !*sm->ice_ufrag || !sm->ice_pwd || !*sm->ice_pwd) {
		snprintf(err, errlen, "no ICE credentials (a=ice-ufrag/a=ice-pwd) for mid %s",
		        sm->mid ? sm->mid : "?");
		return LK_EINVAL;
	}
	if (strlen(sm->ice_ufrag) >= sizeof(r->ufrag) || strlen(sm->ice_pwd) >= sizeof(r->pwd)) {
		snprintf(err, errlen, "ICE credentials too long");
		return LK_EINVAL;
	}
	/* RFC 8827 §6.5: a WebRTC description always has a fingerprint. */
	if (sdp_fingerprint_sha256_value(&sm->fp, r->fingerprint, sizeof(r->fingerprint)) < 0) {
		snprintf(err, errlen, "no sha-256 DTLS fingerprint for mid %s",
		        sm->mid ? sm->mid : "?");
		return LK_EINVAL;
	}
	lk_strlcpy(r->ufrag, sm->ice_ufrag, sizeof(r->ufrag));
	lk_strlcpy(r->pwd, sm->ice_pwd, sizeof(r->pwd));
	r->ice_lite = s->ice_lite;
	return 0;
}

static void
media_set_local(struct sdp_out *o, const struct media_local *local)
{
	o->sess_id = local->sess_id;
	o->sess_version = local->sess_version;
	o->ice_ufrag = local->ufrag;
	o->ice_pwd = local->pwd;
	o->ice_trickle = 1;
	o->bundle = 1;
}

int
media_answer_offer(const struct sdp_session *offer, const struct media_local *local,
        struct media_answer *ans, struct buf *out, char *err, size_t errlen)
{
	struct sdp_out *o;
	enum sdp_setup their_setup = SDP_SETUP_UNSET;
	int first = -1, rc;

	memset(ans, 0, sizeof(*ans));
	o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return LK_ENOMEM;
	}
	/* JSEP §5.3.1: one answer section per offered one, same order, the
	 * rejected ones mirrored with port 0. */
	rc = sdp_out_mirror(o, offer);
	if (rc < 0) {
		snprintf(err, errlen, "too many m-lines");
		free(o);
		return LK_EINVAL;
	}
	for (int i = 0; i < offer->n_media; i++) {
		const struct sdp_media *om = offer->media[i];
		struct sdp_out_media *am = &o->media[i];
		const struct sdp_codec *c;

		if (om->port == 0 || !om->mid || !*om->mid || strlen(om->mid) >= MEDIA_ID_MAX)
			continue;
		/* One transport per PC: only BUNDLEd sections (RFC 8843), or the
		 * first usable one when the offer does not bundle. */
		if (offer->n_bundle > 0 ? !sdp_in_bundle(offer, om->mid) : first >= 0)
			continue;
		if (om->type == SDP_MEDIA_AUDIO && om->is_rtp) {
			/* §3.1: answer Opus only, so plain Opus is what gets sent. */
			c = sdp_media_find_codec(om, "opus", AUD_OPUS_RATE, 0);
			if (!c)
				continue;
			am->rejected = 0;
			am->fmt = NULL;
			am->n_fmt = 0;
			sdp_out_codec_from(&am->codec[0], c);
			am->n_codec = 1;
			/* RFC 3264 §6.1: sendonly -> recvonly; we never send here. */
			am->dir = sdp_dir_answer(om->dir, 0, 1);
			/* RFC 5761 §5.1.3: mux only when offered (libwebrtc always does). */
			am->rtcp_mux = om->rtcp_mux;
			if (ans->n_audio < SDP_MAX_MEDIA) {
				struct media_audio_line *l = &ans->audio[ans->n_audio++];
				const char *stream = om->msid_stream, *track = om->msid_track;

				if (!stream && om->n_ssrc > 0) {
					stream = om->ssrc[0].msid_stream;
					track = om->ssrc[0].msid_track;
				}
				l->index = i;
				l->recv = am->dir == SDP_DIR_RECVONLY;
				l->pt = c->pt;
				lk_strlcpy(l->mid, om->mid, sizeof(l->mid));
				media_split_msid(stream, track, l->participant_sid,
				        sizeof(l->participant_sid), l->track_sid,
				        sizeof(l->track_sid));
				for (int k = 0; k < om->n_ssrc && l->n_ssrc < MEDIA_MAX_SSRC; k++)
					l->ssrc[l->n_ssrc++] = om->ssrc[k].ssrc;
			}
		} else if (om->type == SDP_MEDIA_APPLICATION && !om->is_rtp && om->proto &&
		        strstr(om->proto, "DTLS/SCTP")) {
			/* §0 #7, §3.4: accepted so the PC has a transport even when
			 * this is the only section; we run DTLS but no SCTP. */
			am->rejected = 0;
			am->sctp_port = om->sctp_port ? om->sctp_port : 5000;
			am->max_message_size = om->max_message_size ? om->max_message_size : 65536;
		} else {
			continue; /* video and anything else: rejected (port 0) */
		}
		am->cand = local->cand;
		am->n_cand = local->n_cand;
		ans->n_accepted++;
		if (first < 0) {
			first = i;
			rc = media_take_remote(offer, om, &ans->remote, err, errlen);
			if (rc < 0) {
				free(o);
				return rc;
			}
			their_setup = om->setup;
			ans->remote.first_index = i;
			lk_strlcpy(ans->remote.first_mid, om->mid, sizeof(ans->remote.first_mid));
		}
	}
	if (first >= 0) {
		ans->remote.valid = 1;
		/* RFC 8445 §6.1.1: a full agent facing a lite one controls;
		 * otherwise the offerer controls. */
		ans->remote.our_ice_role =
		        offer->ice_lite ? RTC_ICE_CONTROLLING : RTC_ICE_CONTROLLED;
		/* RFC 5763 §5 / RFC 4145: actpass -> we answer active (DTLS
		 * client); passive -> active; active -> passive (server). */
		switch (their_setup) {
		case SDP_SETUP_ACTIVE:
			o->setup = SDP_SETUP_PASSIVE;
			ans->remote.our_dtls_role = RTC_DTLS_SERVER;
			break;
		case SDP_SETUP_HOLDCONN:
			snprintf(err, errlen, "a=setup:holdconn offered (no DTLS connection)");
			free(o);
			return LK_EINVAL;
		default:
			o->setup = SDP_SETUP_ACTIVE;
			ans->remote.our_dtls_role = RTC_DTLS_CLIENT;
			break;
		}
	} else {
		o->setup = SDP_SETUP_ACTIVE;
	}
	media_set_local(o, local);
	if (media_fp_parse(local->fingerprint, &o->fp) < 0) {
		snprintf(err, errlen, "local fingerprint is invalid");
		free(o);
		return LK_EINVAL;
	}
	rc = sdp_write(o, out);
	free(o);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write the answer (%s)", lk_strerror(rc));
		return LK_EINVAL;
	}
	return 0;
}

int
media_build_offer(
        const struct media_local *local, const struct media_pub_desc *pub, struct buf *out)
{
	struct sdp_out *o = calloc(1, sizeof(*o));
	struct sdp_out_media *am;
	int rc;

	if (!o)
		return LK_ENOMEM;
	media_set_local(o, local);
	/* JSEP §5.2.1 / RFC 5763 §5: the offerer says actpass. */
	o->setup = SDP_SETUP_ACTPASS;
	if (media_fp_parse(local->fingerprint, &o->fp) < 0) {
		free(o);
		return LK_EINVAL;
	}
	am = &o->media[0];
	am->type = SDP_MEDIA_AUDIO;
	am->mid = "0";
	am->dir = SDP_DIR_SENDONLY;
	am->rtcp_mux = 1;
	am->n_codec = 1;
	am->codec[0].pt = PIPELINE_OPUS_PT;
	am->codec[0].name = "opus";
	am->codec[0].clock = AUD_OPUS_RATE;
	am->codec[0].channels = 2; /* RFC 7587 §7: always opus/48000/2 */
	am->codec[0].fmtp = MEDIA_OPUS_FMTP;
	/* §3.3: livekit matches the m-line to the AddTrackRequest by cid. */
	am->msid_stream = pub->stream;
	am->msid_track = pub->cid;
	am->ssrc = pub->ssrc;
	am->cname = pub->cname;
	am->cand = local->cand;
	am->n_cand = local->n_cand;
	o->n_media = 1;
	rc = sdp_write(o, out);
	free(o);
	return rc;
}

int
media_check_answer(
        const struct sdp_session *answer, struct media_remote *r, char *err, size_t errlen)
{
	const struct sdp_media *m0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (answer->n_media < 1) {
		snprintf(err, errlen, "publisher answer has no m-line");
		return LK_EINVAL;
	}
	m0 = answer->media[0];
	if (m0->type != SDP_MEDIA_AUDIO || !m0->mid || strcmp(m0->mid, "0") != 0) {
		snprintf(err, errlen, "publisher answer does not answer our audio section (mid 0)");
		return LK_EINVAL;
	}
	if (m0->port == 0) {
		snprintf(err, errlen, "the server rejected our audio section");
		return LK_EINVAL;
	}
	{
		const struct sdp_codec *c = sdp_media_codec(m0, PIPELINE_OPUS_PT);
		if (!c || !c->name || strcasecmp(c->name, "opus") != 0) {
			snprintf(err, errlen, "publisher answer does not accept opus/%d",
			        PIPELINE_OPUS_PT);
			return LK_EINVAL;
		}
	}
	if (m0->dir != SDP_DIR_RECVONLY && m0->dir != SDP_DIR_SENDRECV &&
	        m0->dir != SDP_DIR_UNSET) {
		snprintf(err, errlen, "publisher answer is a=%s: the server does not receive",
		        sdp_dir_name(m0->dir));
		return LK_EINVAL;
	}
	rc = media_take_remote(answer, m0, r, err, errlen);
	if (rc < 0)
		return rc;
	/* RFC 5763 §5: the answerer picks; active means it connects to us. */
	switch (m0->setup) {
	case SDP_SETUP_ACTIVE:
		r->our_dtls_role = RTC_DTLS_SERVER;
		break;
	case SDP_SETUP_PASSIVE:
		r->our_dtls_role = RTC_DTLS_CLIENT;
		break;
	default:
		snprintf(err, errlen, "publisher answer has a=setup:%s (want active or passive)",
		        sdp_setup_name(m0->setup) ? sdp_setup_name(m0->setup) : "(none)");
		return LK_EINVAL;
	}
	/* RFC 8445 §6.1.1: the offerer controls (and a full agent always
	 * controls against a lite one). */
	r->our_ice_role = RTC_ICE_CONTROLLING;
	r->first_index = 0;
	lk_strlcpy(r->first_mid, "0", sizeof(r->first_mid));
	r->valid = 1;
	return 0;
}

/* ---- signalling out ---- */

static void
media_uuid(char out[37])
{
	uint8_t b[16];

	lk_random(b, sizeof(b));
	/* RFC 9562 §5.4: version 4, variant 10. */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	        b[13], b[14], b[15]);
}

static void
media_send_candidate(struct media *m, struct media_pc *pc, const char *cand)
{
	char line[512];
	json_t *j;
	char *txt;

	/* §2.6: RTCIceCandidateInit {candidate, sdpMid, sdpMLineIndex}; the
	 * candidate keeps its "candidate:" prefix. */
	snprintf(line, sizeof(line), "%s%s",
	        strncmp(cand, "candidate:", 10) == 0 ? "" : "candidate:", cand);
	j = json_pack("{s:s, s:s, s:i}", "candidate", line, "sdpMid", pc->first_mid,
	        "sdpMLineIndex", pc->first_index);
	if (!j)
		return;
	txt = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!txt)
		return;
	if (m->cbs.send_trickle)
		m->cbs.send_trickle(pc->target, txt, m->arg);
	free(txt);
}

static void
media_pc_trickle_all(struct media *m, struct media_pc *pc)
{
	const char *c;

	if (!pc->t || pc->trickled)
		return;
	pc->trickled = 1;
	for (int i = 0; (c = rtc_transport_candidate(pc->t, i)) != NULL; i++)
		media_send_candidate(m, pc, c);
}

/* ---- transports ---- */

static void
media_tr_state(struct rtc_transport *t, enum rtc_transport_state st, const char *why, void *arg)
{
	struct media_pc *pc = arg;
	struct media *m = pc->m;

	if (m->stopped)
		return;
	switch (st) {
	case RTC_TS_CONNECTED:
		if (pc->connected)
			break;
		pc->connected = 1;
		log_info("media connected", "pc", pc->name);
		media_rtcp_start(pc);
		if (pc == &m->pub)
			media_pub_connected(m);
		break;
	case RTC_TS_FAILED:
		pc->connected = 0;
		ev_timer_stop(m->loop, &pc->rtcp_timer);
		media_fail(m, "media connection failed (%s): %s", pc->name,
		        why && *why ? why : "transport failed");
		break;
	case RTC_TS_ICE_CONNECTED:
		log_debug("media ICE connected", "pc", pc->name);
		break;
	default:
		break;
	}
}

static void
media_tr_candidate(struct rtc_transport *t, const char *candidate, void *arg)
{
	struct media_pc *pc = arg;

	/* During creation the candidates are read back afterwards and go
	 * into the SDP; later ones (none for host-only gathering) trickle. */
	if (pc->creating || !pc->trickled || pc->m->stopped)
		return;
	media_send_candidate(pc->m, pc, candidate);
}

/* The RTCP state of tr's k-th SSRC, fresh when the SSRC changed. */
static struct pipeline_rx_stat *
media_track_rx(struct media_track *tr, int k)
{
	if (tr->rx[k].ssrc != tr->ssrc[k])
		pipeline_rx_init(&tr->rx[k], tr->ssrc[k]);
	return &tr->rx[k];
}

/* The track sending ssrc and the SSRC's index in it. With claim, an
 * m-line without a=ssrc takes the first SSRC nobody claimed. */
static struct media_track *
media_track_by_ssrc(struct media *m, uint32_t ssrc, int claim, int *idx)
{
	for (int i = 0; i < m->n_tracks; i++) {
		struct media_track *tr = m->tracks[i];
		for (int k = 0; k < tr->n_ssrc; k++) {
			if (tr->ssrc[k] == ssrc) {
				*idx = k;
				return tr;
			}
		}
	}
	for (int i = 0; claim && i < m->n_tracks; i++) {
		struct media_track *tr = m->tracks[i];
		if (tr->n_ssrc == 0) {
			*idx = tr->n_ssrc;
			tr->ssrc[tr->n_ssrc++] = ssrc;
			tr->t.ssrc = ssrc;
			return tr;
		}
	}
	return NULL;
}

static void
media_tr_rtp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct media_pc *pc = arg;
	struct media *m = pc->m;
	struct media_track *tr;
	struct rtp_hdr h;
	uint32_t ssrc;
	int k = 0;

	if (pc != &m->sub || m->stopped || len < RTP_HEADER_LEN)
		return;
	/* RFC 3550 §5.1: SSRC at bytes 8..11. */
	ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
	tr = media_track_by_ssrc(m, ssrc, 1, &k);
	if (!tr) {
		m->unknown_ssrc++;
		return;
	}
	/* RFC 3550 A.1/A.8: every RTP packet of the source counts, whatever
	 * its payload type; the arrival time is read as it comes in. */
	if (rtp_parse(pkt, len, &h) == 0)
		pipeline_rx_rtp(media_track_rx(tr, k), h.seq, h.ts, pipeline_mono_us());
	pipeline_in_rtp(tr->in, pkt, len);
}

static void
media_tr_rtcp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct media_pc *pc = arg;
	struct media *m = pc->m;
	struct media_track *tr;
	struct rtcp_pkt p;
	int64_t now = pipeline_mono_us();
	size_t off = 0;
	int rc, k = 0;

	/* On the publisher PC the server reports on our stream; feedback
	 * (NACK, REMB, transport-cc) is not used for audio (§3.5). Only the
	 * subscriber PC's SRs matter: their NTP time is our RRs' LSR. */
	if (pc != &m->sub || m->stopped)
		return;
	while ((rc = rtcp_next(pkt, len, &off, &p)) == 1) {
		if (p.type != RTCP_SR)
			continue;
		tr = media_track_by_ssrc(m, p.ssrc, 0, &k);
		if (tr) {
			pipeline_rx_sr(media_track_rx(tr, k), p.ntp, now);
			m->rtcp_sr_in++;
		}
	}
	if (rc < 0)
		m->rtcp_bad_in++;
}

/* ---- RTCP reports ---- */

/* RFC 3550 §6.3.1: each interval is randomized over [0.5, 1.5] x, so
 * that the reports of many participants do not synchronize. */
static double
media_rtcp_jitter(double seconds)
{
	return seconds * (0.5 + lk_random_u32() / 4294967296.0);
}

/* One compound RR from our RTCP SSRC: a block per remote SSRC heard
 * since the last report, rotating when more than RTCP_MAX_RB are. */
static int
media_rtcp_rr(struct media *m, int64_t now)
{
	struct rtcp_rb rb[RTCP_MAX_RB];
	int total = m->n_tracks * MEDIA_MAX_SSRC, n = 0;

	if (m->rr_next >= total)
		m->rr_next = 0;
	for (int step = 0; step < total && n < RTCP_MAX_RB; step++) {
		int s = (m->rr_next + step) % total;
		struct media_track *tr = m->tracks[s / MEDIA_MAX_SSRC];
		int k = s % MEDIA_MAX_SSRC;

		if (k < tr->n_ssrc && pipeline_rx_report(media_track_rx(tr, k), now, &rb[n]))
			n++;
		/* §6.4: the sources left out come first next time. */
		if (n == RTCP_MAX_RB)
			m->rr_next = (s + 1) % total;
	}
	/* §6.1: with nothing to report the compound still starts with an RR. */
	return pipeline_rtcp_rr(m->rtcp, sizeof(m->rtcp), m->rtcp_ssrc, rb, n, m->cname);
}

/* An SR for our track once it has sent, else an empty RR. */
static int
media_rtcp_sr(struct media *m, int64_t now)
{
	struct rtcp_sr_out sr;
	uint64_t ntp = pipeline_ntp_from_unix_ns(lk_wall_ns());

	if (pipeline_tx_report(&m->tx, now, ntp, &sr) < 0)
		return pipeline_rtcp_rr(m->rtcp, sizeof(m->rtcp),
		        m->tx.ssrc ? m->tx.ssrc : m->rtcp_ssrc, NULL, 0, m->cname);
	return pipeline_rtcp_sr(m->rtcp, sizeof(m->rtcp), &sr, m->cname);
}

static void
media_rtcp_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct media_pc *pc = w->data;
	struct media *m = pc->m;
	int64_t now = pipeline_mono_us();
	int n;

	if (!pc->t || !pc->connected || m->stopped)
		return;
	n = pc == &m->pub ? media_rtcp_sr(m, now) : media_rtcp_rr(m, now);
	if (n > 0 && rtc_transport_send_rtcp(pc->t, m->rtcp, (size_t)n) == 0)
		pc->rtcp_sent++;
	else
		pc->rtcp_errors++;
	ev_timer_set(w, media_rtcp_jitter(PIPELINE_RTCP_INTERVAL_MS / 1000.), 0.);
	ev_timer_start(loop, w);
}

static void
media_rtcp_start(struct media_pc *pc)
{
	/* The first report comes soon after the connection (0.5-1.5 s), so
	 * the peer has an NTP/RTP mapping early; then one per interval. */
	if (ev_is_active(&pc->rtcp_timer))
		return;
	ev_timer_set(&pc->rtcp_timer, media_rtcp_jitter(1.), 0.);
	ev_timer_start(pc->m->loop, &pc->rtcp_timer);
}

static const struct rtc_transport_cbs media_tr_cbs = {
        .on_state = media_tr_state,
        .on_candidate = media_tr_candidate,
        .on_rtp = media_tr_rtp,
        .on_rtcp = media_tr_rtcp,
};

static int
media_pc_open(struct media *m, struct media_pc *pc, enum rtc_ice_role role)
{
	struct rtc_transport_opts o;
	char err[256] = "";

	if (!m->cert) {
		/* One DTLS identity per process, shared by both PCs. */
		m->cert = rtc_cert_new();
		if (!m->cert) {
			media_fail(m, "media setup failed: cannot create the DTLS certificate");
			return LK_EIO;
		}
	}
	memset(&o, 0, sizeof(o));
	o.ice_mode = RTC_ICE_FULL;
	o.ice_role = role;
	o.cert = m->cert;
	pc->creating = 1;
	pc->t = rtc_transport_new(m->loop, &o, &media_tr_cbs, pc, err, sizeof(err));
	pc->creating = 0;
	if (!pc->t) {
		media_fail(
		        m, "media transport failed (%s): %s", pc->name, *err ? err : "no socket");
		return LK_EIO;
	}
	log_debug("media transport open", "pc", pc->name, "port",
	        log_fmt("%u", (unsigned)rtc_transport_port(pc->t)), "ufrag",
	        rtc_transport_ufrag(pc->t));
	return 0;
}

/* Our description parameters; cand must hold SDP_MAX_CAND. */
static void
media_pc_local(
        struct media *m, struct media_pc *pc, struct media_local *l, struct sdp_candidate *cand)
{
	const char *c;

	memset(l, 0, sizeof(*l));
	l->sess_id = m->sess_id;
	l->sess_version = ++pc->version;
	l->cand = cand;
	if (!pc->t) {
		l->ufrag = media_offline_ufrag;
		l->pwd = media_offline_pwd;
		l->fingerprint = media_offline_fp;
		return;
	}
	l->ufrag = rtc_transport_ufrag(pc->t);
	l->pwd = rtc_transport_pwd(pc->t);
	l->fingerprint = rtc_cert_fingerprint(m->cert);
	for (int i = 0; l->n_cand < SDP_MAX_CAND && (c = rtc_transport_candidate(pc->t, i)); i++)
		if (sdp_candidate_parse(c, strlen(c), &cand[l->n_cand]) == 0)
			l->n_cand++;
}

static void
media_add_remote_cand(struct media_pc *pc, const char *cand)
{
	int rc = rtc_transport_add_remote_candidate(pc->t, cand);

	if (rc < 0)
		log_debug("remote candidate ignored", "pc", pc->name, "candidate", cand, "err",
		        lk_strerror(rc));
}

/* Remote parameters into the transport (first time, or an ICE restart). */
static int
media_pc_set_remote(struct media *m, struct media_pc *pc, const struct sdp_session *s,
        const struct media_remote *r)
{
	char line[256];
	int rc;

	if (!pc->t)
		return 0;
	if (pc->remote_set && strcmp(pc->remote_ufrag, r->ufrag) == 0)
		return 0;
	rc = rtc_transport_set_remote(
	        pc->t, r->ufrag, r->pwd, r->ice_lite, r->fingerprint, r->our_dtls_role);
	if (rc < 0) {
		media_fail(m, "media transport failed (%s): remote parameters refused (%s)",
		        pc->name, lk_strerror(rc));
		return rc;
	}
	if (pc->remote_set)
		log_info("media ICE restart", "pc", pc->name);
	pc->remote_set = 1;
	lk_strlcpy(pc->remote_ufrag, r->ufrag, sizeof(pc->remote_ufrag));
	/* Candidates in the description (the dev server's ICE-lite offer has
	 * them all there). */
	for (int i = 0; i < s->n_media; i++) {
		const struct sdp_media *sm = s->media[i];
		if (sm->port == 0)
			continue;
		for (int k = 0; k < sm->n_cand; k++)
			if (sdp_candidate_format(&sm->cand[k], line, sizeof(line)) > 0)
				media_add_remote_cand(pc, line);
	}
	/* Trickled ones that came before the transport could take them. */
	for (int i = 0; i < m->n_pending;) {
		if (m->pending[i].target == pc->target) {
			media_add_remote_cand(pc, m->pending[i].cand);
			free(m->pending[i].cand);
			m->pending[i] = m->pending[--m->n_pending];
		} else {
			i++;
		}
	}
	return 0;
}

static void
media_pc_close(struct media *m, struct media_pc *pc)
{
	struct rtc_transport_stats st;

	ev_timer_stop(m->loop, &pc->rtcp_timer);
	if (!pc->t)
		return;
	rtc_transport_stats(pc->t, &st);
	/* Garbage (unknown first byte, bad STUN, failed SRTP) is dropped by
	 * the transport; its counters are the record of it. */
	log_info("media transport closed", "pc", pc->name, "rx_datagrams",
	        log_fmt("%llu", (unsigned long long)st.rx_datagrams), "rx_stun",
	        log_fmt("%llu", (unsigned long long)st.rx_stun), "rx_dtls",
	        log_fmt("%llu", (unsigned long long)st.rx_dtls), "rx_rtp",
	        log_fmt("%llu", (unsigned long long)st.rx_rtp), "rx_rtcp",
	        log_fmt("%llu", (unsigned long long)st.rx_rtcp), "rx_garbage",
	        log_fmt("%llu", (unsigned long long)st.rx_garbage), "tx_rtp",
	        log_fmt("%llu", (unsigned long long)st.tx_rtp), "tx_rtcp",
	        log_fmt("%llu", (unsigned long long)st.tx_rtcp), "rtcp_reports",
	        log_fmt("%llu", (unsigned long long)pc->rtcp_sent), "rtcp_report_errors",
	        log_fmt("%llu", (unsigned long long)pc->rtcp_errors), "tx_errors",
	        log_fmt("%llu", (unsigned long long)st.tx_errors));
	rtc_transport_free(pc->t);
	pc->t = NULL;
	pc->connected = 0;
}

/* ---- tracks ---- */

static void
media_track_identity(struct media *m, struct media_track *tr)
{
	const char *id = NULL;

	if (tr->identity[0] || !tr->psid[0])
		return;
	if (m->cbs.identity)
		id = m->cbs.identity(tr->psid, m->arg);
	if (id && *id)
		lk_strlcpy(tr->identity, id, sizeof(tr->identity));
}

static void
media_track_frame(const int16_t *pcm, size_t n, void *arg)
{
	struct media_track *tr = arg;
	struct media *m = tr->m;
	const struct tap *taps[TAP_MAX];
	int nt = m->n_taps;

	media_track_identity(m, tr);
	m->in_frames++;
	/* A copy: a tap may remove itself from inside its call. */
	memcpy(taps, m->taps, sizeof(taps[0]) * (size_t)nt);
	for (int i = 0; i < nt; i++)
		if (taps[i]->on_frame)
			taps[i]->on_frame(&tr->t, pcm, n, taps[i]->arg);
}

static int
media_track_new(struct media *m, const struct media_audio_line *l)
{
	struct pipeline_in_opts po;
	struct media_track *tr;
	int rc = 0;

	if (m->n_tracks >= SDP_MAX_MEDIA)
		return LK_ETOOBIG;
	tr = lk_xcalloc(1, sizeof(*tr));
	tr->m = m;
	lk_strlcpy(tr->mid, l->mid, sizeof(tr->mid));
	lk_strlcpy(tr->sid, l->track_sid, sizeof(tr->sid));
	lk_strlcpy(tr->psid, l->participant_sid, sizeof(tr->psid));
	memcpy(tr->ssrc, l->ssrc, sizeof(tr->ssrc));
	tr->n_ssrc = l->n_ssrc;
	for (int k = 0; k < MEDIA_MAX_SSRC; k++)
		pipeline_rx_init(&tr->rx[k], tr->ssrc[k]);
	media_track_identity(m, tr);
	memset(&po, 0, sizeof(po));
	po.pt = l->pt;
	po.out_rate = m->rate;
	tr->in = pipeline_in_new(&po, media_track_frame, tr, &rc);
	if (!tr->in) {
		free(tr);
		return rc < 0 ? rc : LK_ENOMEM;
	}
	tr->t.sid = tr->sid;
	tr->t.participant_sid = tr->psid;
	tr->t.participant_identity = tr->identity;
	tr->t.mid = tr->mid;
	tr->t.ssrc = tr->n_ssrc ? tr->ssrc[0] : 0;
	m->tracks[m->n_tracks++] = tr;
	log_info("track subscribed", "track_sid", tr->sid, "participant_sid", tr->psid, "identity",
	        tr->identity, "mid", tr->mid, "ssrc", log_fmt("%u", (unsigned)tr->t.ssrc));
	if (m->cbs.track_subscribed)
		m->cbs.track_subscribed(&tr->t, m->arg);
	return 0;
}

static void
media_track_end(struct media *m, int i, int notify)
{
	struct media_track *tr = m->tracks[i];
	struct pipeline_in_stats st;

	m->tracks[i] = m->tracks[--m->n_tracks];
	if (notify) {
		const struct tap *taps[TAP_MAX];
		int nt = m->n_taps;

		/* The last frames still in the reorder buffer go out first. */
		pipeline_in_flush(tr->in);
		memcpy(taps, m->taps, sizeof(taps[0]) * (size_t)nt);
		for (int k = 0; k < nt; k++)
			if (taps[k]->on_end)
				taps[k]->on_end(&tr->t, taps[k]->arg);
	}
	pipeline_in_get_stats(tr->in, &st);
	log_info("track unsubscribed", "track_sid", tr->sid, "participant_sid", tr->psid,
	        "identity", tr->identity, "frames", log_fmt("%llu", (unsigned long long)st.frames),
	        "packets", log_fmt("%llu", (unsigned long long)st.packets), "concealed",
	        log_fmt("%llu", (unsigned long long)st.concealed), "recovered",
	        log_fmt("%llu", (unsigned long long)st.recovered), "late",
	        log_fmt("%llu", (unsigned long long)st.late), "wrong_pt",
	        log_fmt("%llu", (unsigned long long)st.wrong_pt));
	if (notify && m->cbs.track_unsubscribed)
		m->cbs.track_unsubscribed(&tr->t, m->arg);
	pipeline_in_free(tr->in);
	free(tr);
}

/* Apply an answered offer's audio lines: end what left, start what came. */
static int
media_update_tracks(struct media *m, const struct media_answer *ans)
{
	for (int i = 0; i < m->n_tracks;) {
		struct media_track *tr = m->tracks[i];
		const struct media_audio_line *l = NULL;

		for (int k = 0; k < ans->n_audio; k++)
			if (ans->audio[k].recv && strcmp(ans->audio[k].mid, tr->mid) == 0)
				l = &ans->audio[k];
		/* §5.2: a recycled m-line (same mid, another track) ends the old track. */
		if (!l || strcmp(l->track_sid, tr->sid) != 0 ||
		        strcmp(l->participant_sid, tr->psid) != 0) {
			media_track_end(m, i, 1);
			continue;
		}
		if (l->n_ssrc > 0) {
			memcpy(tr->ssrc, l->ssrc, sizeof(tr->ssrc));
			tr->n_ssrc = l->n_ssrc;
			tr->t.ssrc = tr->ssrc[0];
		}
		i++;
	}
	for (int k = 0; k < ans->n_audio; k++) {
		const struct media_audio_line *l = &ans->audio[k];
		int have = 0;

		if (!l->recv)
			continue;
		for (int i = 0; i < m->n_tracks && !have; i++)
			have = strcmp(m->tracks[i]->mid, l->mid) == 0;
		if (have)
			continue;
		int rc = media_track_new(m, l);
		if (rc < 0) {
			media_fail(m, "track setup failed: %s", lk_strerror(rc));
			return rc;
		}
		if (m->stopped || m->failed)
			return 0;
	}
	return 0;
}

/* ---- subscriber PC ---- */

int
media_on_offer(struct media *m, const char *sdp, size_t len, uint32_t id)
{
	struct sdp_session *off = NULL;
	struct sdp_candidate *cand = NULL;
	struct media_answer *ans = NULL;
	struct media_local loc;
	struct buf b;
	char err[256];
	int rc;

	if (m->stopped || m->failed)
		return 0;
	rc = sdp_parse(sdp, len, &off);
	if (rc < 0) {
		media_fail(m, "malformed SDP from server: subscriber offer does not parse (%s)",
		        lk_strerror(rc));
		return rc;
	}
	buf_init(&b, MEDIA_MAX_SDP);
	ans = lk_xcalloc(1, sizeof(*ans));
	cand = lk_xcalloc(SDP_MAX_CAND, sizeof(*cand));
	if (!m->sub.t && !m->offline) {
		/* RFC 8445 §6.1.1: against a lite server we control. */
		rc = media_pc_open(
		        m, &m->sub, off->ice_lite ? RTC_ICE_CONTROLLING : RTC_ICE_CONTROLLED);
		if (rc < 0)
			goto out;
	}
	media_pc_local(m, &m->sub, &loc, cand);
	rc = media_answer_offer(off, &loc, ans, &b, err, sizeof(err));
	if (rc == 0 && ans->remote.valid && m->sub.remote_set &&
	        strcmp(m->sub.remote_ufrag, ans->remote.ufrag) != 0) {
		/* The server restarts ICE: set_remote renews our credentials
		 * too (RFC 8839 §4.4.1.1.2), so the answer is written after it. */
		rc = media_pc_set_remote(m, &m->sub, off, &ans->remote);
		if (rc < 0)
			goto out;
		m->sub.trickled = 0;
		buf_reset(&b);
		media_pc_local(m, &m->sub, &loc, cand);
		rc = media_answer_offer(off, &loc, ans, &b, err, sizeof(err));
	}
	if (rc == 0)
		rc = buf_append(&b, "", 1);
	if (rc < 0) {
		media_fail(m, "malformed SDP from server: %s", err);
		goto out;
	}
	log_debug("subscriber offer answered", "m_lines", log_fmt("%d", off->n_media), "accepted",
	        log_fmt("%d", ans->n_accepted), "audio", log_fmt("%d", ans->n_audio));
	/* §2.5: the answer goes first; ICE starts and candidates trickle after it. */
	if (m->cbs.send_answer)
		m->cbs.send_answer((const char *)b.data, id, m->arg);
	if (ans->remote.valid) {
		lk_strlcpy(m->sub.first_mid, ans->remote.first_mid, sizeof(m->sub.first_mid));
		m->sub.first_index = ans->remote.first_index;
		rc = media_pc_set_remote(m, &m->sub, off, &ans->remote);
		if (rc < 0)
			goto out;
		media_pc_trickle_all(m, &m->sub);
	}
	rc = media_update_tracks(m, ans);
out:
	sdp_free(off);
	free(ans);
	free(cand);
	buf_free(&b);
	return rc < 0 ? rc : 0;
}

int
media_on_trickle(struct media *m, enum media_target target, const char *candidate_init)
{
	struct media_pc *pc = target == MEDIA_TARGET_SUBSCRIBER ? &m->sub : &m->pub;
	json_error_t jerr;
	json_t *j, *c;
	size_t len = candidate_init ? strnlen(candidate_init, MEDIA_MAX_CAND_JSON + 1) : 0;
	int rc = 0;

	if (m->stopped || m->failed || len == 0)
		return 0;
	if (len > MEDIA_MAX_CAND_JSON) {
		log_warn("trickle candidate too long; ignored", "bytes", log_fmt("%zu", len));
		return LK_ETOOBIG;
	}
	j = json_loadb(candidate_init, len, JSON_REJECT_DUPLICATES, &jerr);
	c = j ? json_object_get(j, "candidate") : NULL;
	if (!json_is_string(c)) {
		log_warn("trickle candidate malformed; ignored", "pc", pc->name);
		json_decref(j);
		return LK_EINVAL;
	}
	/* An empty candidate is end-of-candidates (W3C RTCIceCandidateInit). */
	if (json_string_length(c) > 0) {
		if (pc->t && pc->remote_set) {
			media_add_remote_cand(pc, json_string_value(c));
		} else if (!m->offline && m->n_pending < MEDIA_MAX_PENDING_CAND) {
			m->pending[m->n_pending].target = target;
			m->pending[m->n_pending].cand = lk_xstrdup(json_string_value(c));
			m->n_pending++;
		} else if (!m->offline) {
			log_debug("early trickle candidate dropped", "pc", pc->name);
			rc = LK_ETOOBIG;
		}
	}
	json_decref(j);
	return rc;
}

/* ---- publisher PC ---- */

static void
media_publish_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct media *m = w->data;

	media_fail(m, "publish failed: no track_published for the audio track within %d s",
	        MEDIA_PUBLISH_TIMEOUT_MS / 1000);
}

static void
media_pub_start(struct media *m)
{
	media_uuid(m->cid);
	media_uuid(m->stream);
	m->pub_state = MEDIA_PUB_ADDING;
	log_info("publishing audio track", "cid", m->cid, "name", MEDIA_TRACK_NAME);
	/* §2.5: add_track, then wait (10 s, as the Rust SDK) for track_published. */
	if (m->cbs.send_add_track)
		m->cbs.send_add_track(m->cid, MEDIA_TRACK_NAME, m->arg);
	ev_timer_set(&m->publish_timer, MEDIA_PUBLISH_TIMEOUT_MS / 1000., 0.);
	ev_timer_start(m->loop, &m->publish_timer);
}

int
media_on_track_published(struct media *m, const char *cid, const char *track_sid)
{
	struct pipeline_out_opts po;
	struct media_pub_desc pd;
	struct sdp_candidate *cand;
	struct media_local loc;
	struct buf b;
	int rc = 0;

	if (m->stopped || m->failed)
		return 0;
	if (m->pub_state != MEDIA_PUB_ADDING || !cid || strcmp(cid, m->cid) != 0) {
		log_debug("track_published for another track ignored", "cid", cid ? cid : "");
		return 0;
	}
	ev_timer_stop(m->loop, &m->publish_timer);
	lk_strlcpy(m->pub_sid, track_sid ? track_sid : "", sizeof(m->pub_sid));
	log_info("track published", "cid", m->cid, "track_sid", m->pub_sid);

	memset(&po, 0, sizeof(po));
	po.in_rate = m->rate;
	po.pt = PIPELINE_OPUS_PT;
	do
		po.ssrc = lk_random_u32();
	while (po.ssrc == 0 || po.ssrc == m->rtcp_ssrc);
	/* RFC 3550 §5.1: random initial sequence number and timestamp. */
	po.seq = (uint16_t)lk_random_u32();
	po.ts = lk_random_u32();
	m->out = pipeline_out_new(&po, &rc);
	if (!m->out) {
		media_fail(m, "publish failed: encoder setup (%s)", lk_strerror(rc));
		return rc;
	}
	pipeline_tx_init(&m->tx, po.ssrc);
	if (!m->offline && media_pc_open(m, &m->pub, RTC_ICE_CONTROLLING) < 0)
		return LK_EIO;
	cand = lk_xcalloc(SDP_MAX_CAND, sizeof(*cand));
	media_pc_local(m, &m->pub, &loc, cand);
	memset(&pd, 0, sizeof(pd));
	pd.cid = m->cid;
	pd.stream = m->stream;
	pd.ssrc = po.ssrc;
	pd.cname = m->cname;
	buf_init(&b, MEDIA_MAX_SDP);
	rc = media_build_offer(&loc, &pd, &b);
	if (rc == 0)
		rc = buf_append(&b, "", 1);
	free(cand);
	if (rc < 0) {
		buf_free(&b);
		media_fail(m, "publish failed: cannot write the offer (%s)", lk_strerror(rc));
		return rc;
	}
	m->pub_state = MEDIA_PUB_OFFERED;
	lk_strlcpy(m->pub.first_mid, "0", sizeof(m->pub.first_mid));
	m->pub.first_index = 0;
	if (m->cbs.send_offer)
		m->cbs.send_offer((const char *)b.data, 0, m->arg);
	buf_free(&b);
	media_pc_trickle_all(m, &m->pub);
	return 0;
}

int
media_on_answer(struct media *m, const char *sdp, size_t len)
{
	struct sdp_session *s = NULL;
	struct media_remote r;
	char err[256];
	int rc;

	if (m->stopped || m->failed)
		return 0;
	if (m->pub_state != MEDIA_PUB_OFFERED) {
		log_debug("publisher answer without a pending offer ignored");
		return 0;
	}
	rc = sdp_parse(sdp, len, &s);
	if (rc < 0) {
		media_fail(m, "malformed SDP from server: publisher answer does not parse (%s)",
		        lk_strerror(rc));
		return rc;
	}
	rc = media_check_answer(s, &r, err, sizeof(err));
	if (rc < 0) {
		media_fail(m, "malformed SDP from server: %s", err);
		sdp_free(s);
		return rc;
	}
	m->pub_state = MEDIA_PUB_ANSWERED;
	rc = media_pc_set_remote(m, &m->pub, s, &r);
	sdp_free(s);
	log_debug("publisher answer applied", "dtls_role",
	        r.our_dtls_role == RTC_DTLS_CLIENT ? "client" : "server");
	return rc;
}

static void
media_pacer_tick(struct pipeline_pacer *p, void *arg)
{
	struct media *m = arg;
	size_t n = pipeline_out_frame_samples(m->out);
	int len;

	if (m->src.fill)
		m->src.fill(m->src_pcm, n, m->src.arg);
	else
		memset(m->src_pcm, 0, n * sizeof(m->src_pcm[0]));
	len = pipeline_out_packet(m->out, m->src_pcm, m->rtp, sizeof(m->rtp));
	if (len < 0) {
		log_warn("audio frame not encoded", "err", lk_strerror(len));
		return;
	}
	if (m->pub.t && rtc_transport_send_rtp(m->pub.t, m->rtp, (size_t)len) == 0) {
		m->out_frames++;
		/* RFC 3550 §6.4.1: the SR counts what was sent, and when. */
		pipeline_tx_rtp(&m->tx, m->rtp, (size_t)len, pipeline_mono_us());
	}
}

static void
media_pub_connected(struct media *m)
{
	if (!m->out || pipeline_pacer_active(&m->pacer))
		return;
	/* The first packet after (re)starting carries the marker (RFC 3551 §4.1). */
	pipeline_out_mark(m->out);
	pipeline_pacer_start(&m->pacer);
}

int
media_publish(struct media *m, const struct media_source *src)
{
	if (m->pub_state != MEDIA_PUB_NONE || !src || m->stopped)
		return LK_EINVAL;
	m->src = *src;
	m->pub_state = MEDIA_PUB_WANTED;
	if (m->joined)
		media_pub_start(m);
	return 0;
}

void
media_on_joined(struct media *m)
{
	m->joined = 1;
	if (m->pub_state == MEDIA_PUB_WANTED && !m->stopped && !m->failed)
		media_pub_start(m);
}

/* ---- taps, stats, lifetime ---- */

int
media_add_tap(struct media *m, const struct tap *tap)
{
	if (!tap)
		return LK_EINVAL;
	if (m->n_taps >= TAP_MAX)
		return LK_ETOOBIG;
	m->taps[m->n_taps++] = tap;
	return 0;
}

void
media_remove_tap(struct media *m, const struct tap *tap)
{
	for (int i = 0; i < m->n_taps; i++) {
		if (m->taps[i] == tap) {
			memmove(&m->taps[i], &m->taps[i + 1],
			        (size_t)(m->n_taps - i - 1) * sizeof(m->taps[0]));
			m->n_taps--;
			return;
		}
	}
}

int
media_set_script_rate(struct media *m, int rate)
{
	if (!pipeline_rate_ok(rate) || m->n_tracks > 0 || m->out)
		return LK_EINVAL;
	m->rate = rate;
	return 0;
}

int
media_script_rate(const struct media *m)
{
	return m->rate;
}

void
media_set_offline(struct media *m)
{
	m->offline = 1;
}

void
media_get_stats(const struct media *m, struct media_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->audio_in_frames = m->in_frames;
	st->audio_out_frames = m->out_frames;
	st->tracks = (unsigned)m->n_tracks;
	st->subscriber_connected = m->sub.connected;
	st->publisher_connected = m->pub.connected;
	st->unknown_ssrc = m->unknown_ssrc;
}

const char *
media_publish_cid(const struct media *m)
{
	return m->cid;
}

static void
media_release(struct media *m)
{
	ev_timer_stop(m->loop, &m->publish_timer);
	pipeline_pacer_stop(&m->pacer);
	while (m->n_tracks > 0)
		media_track_end(m, m->n_tracks - 1, 0); /* silently: the callbacks may be gone */
	if (m->pub.t || m->sub.t || m->out)
		log_info("media stopped", "audio_in_frames",
		        log_fmt("%llu", (unsigned long long)m->in_frames), "audio_out_frames",
		        log_fmt("%llu", (unsigned long long)m->out_frames), "unknown_ssrc_packets",
		        log_fmt("%llu", (unsigned long long)m->unknown_ssrc), "rtcp_sr_received",
		        log_fmt("%llu", (unsigned long long)m->rtcp_sr_in), "rtcp_malformed",
		        log_fmt("%llu", (unsigned long long)m->rtcp_bad_in));
	media_pc_close(m, &m->sub);
	media_pc_close(m, &m->pub);
	pipeline_out_free(m->out);
	m->out = NULL;
	for (int i = 0; i < m->n_pending; i++)
		free(m->pending[i].cand);
	m->n_pending = 0;
}

void
media_stop(struct media *m)
{
	if (m->stopped)
		return;
	/* Tracks end with their callbacks first, while nothing is stopped. */
	ev_timer_stop(m->loop, &m->publish_timer);
	pipeline_pacer_stop(&m->pacer);
	while (m->n_tracks > 0)
		media_track_end(m, m->n_tracks - 1, 1);
	m->stopped = 1;
	media_release(m);
}

struct media *
media_new(struct ev_loop *loop, const struct media_cbs *cbs, void *arg)
{
	struct media *m = lk_xcalloc(1, sizeof(*m));

	m->loop = loop;
	if (cbs)
		m->cbs = *cbs;
	m->arg = arg;
	m->rate = TAP_DEFAULT_RATE;
	/* RFC 8866 §5.2: sess-id, a number that fits 63 bits. */
	lk_random(&m->sess_id, sizeof(m->sess_id));
	m->sess_id &= 0x3fffffffffffffffULL;
	m->sub.m = m;
	m->sub.target = MEDIA_TARGET_SUBSCRIBER;
	m->sub.name = "subscriber";
	m->pub.m = m;
	m->pub.target = MEDIA_TARGET_PUBLISHER;
	m->pub.name = "publisher";
	ev_timer_init(&m->publish_timer, media_publish_timeout_cb, 0., 0.);
	m->publish_timer.data = m;
	ev_timer_init(&m->sub.rtcp_timer, media_rtcp_cb, 0., 0.);
	m->sub.rtcp_timer.data = &m->sub;
	ev_timer_init(&m->pub.rtcp_timer, media_rtcp_cb, 0., 0.);
	m->pub.rtcp_timer.data = &m->pub;
	/* RFC 3550 §6.5.1: one CNAME for all our SSRCs (the a=ssrc cname);
	 * §8.1: a random SSRC for the RRs of the PC where we do not send. */
	lk_make_id("", m->cname, sizeof(m->cname));
	do
		m->rtcp_ssrc = lk_random_u32();
	while (m->rtcp_ssrc == 0);
	pipeline_pacer_init(&m->pacer, loop, media_pacer_tick, m);
	return m;
}

void
media_free(struct media *m)
{
	if (!m)
		return;
	m->stopped = 1;
	media_release(m);
	rtc_cert_free(m->cert);
	free(m);
}
