/*
 * sdp_write: renders an sdp_out (offer or answer) as SDP text in the shape
 * libwebrtc and LiveKit expect (JSEP, BUNDLE, rtcp-mux, ICE, DTLS), and
 * starts answers by mirroring an offer. Pure; runs in the signalling code
 * of lk-jobproc and lk-devserver.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/buf.h"
#include "common/err.h"
#include "rtc/sdp.h"

/* Printable text that cannot break a line: no control characters. */
static int
sdp_w_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return 0;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return 0;
	return 1;
}

/* A non-empty token: text without spaces. */
static int
sdp_w_token_ok(const char *s)
{
	return sdp_w_text_ok(s) && *s != '\0' && strchr(s, ' ') == NULL;
}

static const char *
sdp_w_media_name(const struct sdp_out_media *m)
{
	if (m->media != NULL)
		return m->media;
	switch (m->type) {
	case SDP_MEDIA_AUDIO:
		return "audio";
	case SDP_MEDIA_VIDEO:
		return "video";
	case SDP_MEDIA_APPLICATION:
		return "application";
	default:
		return NULL;
	}
}

static const char *
sdp_w_proto(const struct sdp_out_media *m)
{
	if (m->proto != NULL)
		return m->proto;
	/* JSEP §5.1.2 / §5.1.3: the profiles WebRTC offers. */
	switch (m->type) {
	case SDP_MEDIA_AUDIO:
	case SDP_MEDIA_VIDEO:
		return "UDP/TLS/RTP/SAVPF";
	case SDP_MEDIA_APPLICATION:
		return "UDP/DTLS/SCTP";
	default:
		return NULL;
	}
}

static int
sdp_w_is_rtp(const struct sdp_out_media *m, const char *proto)
{
	return strstr(proto, "RTP/") != NULL ||
	        (m->proto == NULL && (m->type == SDP_MEDIA_AUDIO || m->type == SDP_MEDIA_VIDEO));
}

/* The m= line and c= line. */
static int
sdp_w_mline(const struct sdp_out_media *m, struct buf *b)
{
	const char *name = sdp_w_media_name(m), *proto = sdp_w_proto(m);
	const char *caddr = "0.0.0.0", *ctype = "IP4";
	unsigned port = m->rejected ? 0 : 9;
	unsigned char tmp[sizeof(struct in6_addr)];
	int i, rc, nfmt = 0;

	if (!sdp_w_token_ok(name) || !sdp_w_token_ok(proto))
		return LK_EINVAL;
	/* JSEP §5.2.1: port 9 and 0.0.0.0 unless a candidate gives a real
	 * default address; the peer uses ICE either way. */
	if (!m->rejected && m->n_cand > 0 && m->cand != NULL) {
		const struct sdp_candidate *c = &m->cand[0];

		if (memchr(c->address, '\0', sizeof(c->address)) != NULL) {
			if (inet_pton(AF_INET, c->address, tmp) == 1) {
				caddr = c->address;
				port = c->port;
			} else if (inet_pton(AF_INET6, c->address, tmp) == 1) {
				caddr = c->address;
				ctype = "IP6";
				port = c->port;
			}
		}
	}
	if ((rc = buf_printf(b, "m=%s %u %s", name, port, proto)) < 0)
		return rc;
	if (m->n_fmt > 0) {
		if (m->fmt == NULL)
			return LK_EINVAL;
		for (i = 0; i < m->n_fmt; i++) {
			if (!sdp_w_token_ok(m->fmt[i]))
				return LK_EINVAL;
			if ((rc = buf_printf(b, " %s", m->fmt[i])) < 0)
				return rc;
			nfmt++;
		}
	} else if (sdp_w_is_rtp(m, proto)) {
		for (i = 0; i < m->n_codec; i++) {
			if ((rc = buf_printf(b, " %u", (unsigned)m->codec[i].pt)) < 0)
				return rc;
			nfmt++;
		}
	} else if (m->type == SDP_MEDIA_APPLICATION) {
		/* RFC 8841 §4.1: the SCTP-over-DTLS format. */
		if ((rc = buf_printf(b, " webrtc-datachannel")) < 0)
			return rc;
		nfmt++;
	}
	/* RFC 8866 §5.14: at least one format. */
	if (nfmt == 0)
		return LK_EINVAL;
	return buf_printf(b, "\r\nc=IN %s %s\r\n", ctype, caddr);
}

static int
sdp_w_codec(const struct sdp_out_codec *c, struct buf *b)
{
	int rc, i;

	if (c->pt > 127 || !sdp_w_token_ok(c->name) || c->clock == 0 ||
	        strchr(c->name, '/') != NULL)
		return LK_EINVAL;
	/* RFC 8866 §6.6: channels only when more than one. */
	if (c->channels > 1)
		rc = buf_printf(b, "a=rtpmap:%u %s/%u/%u\r\n", (unsigned)c->pt, c->name,
		        (unsigned)c->clock, (unsigned)c->channels);
	else
		rc = buf_printf(
		        b, "a=rtpmap:%u %s/%u\r\n", (unsigned)c->pt, c->name, (unsigned)c->clock);
	if (rc < 0)
		return rc;
	if (c->n_fb < 0 || c->n_fb > SDP_OUT_MAX_FB)
		return LK_EINVAL;
	for (i = 0; i < c->n_fb; i++) {
		if (!sdp_w_text_ok(c->fb[i]) || c->fb[i][0] == '\0')
			return LK_EINVAL;
		if ((rc = buf_printf(b, "a=rtcp-fb:%u %s\r\n", (unsigned)c->pt, c->fb[i])) < 0)
			return rc;
	}
	if (c->fmtp != NULL) {
		if (!sdp_w_text_ok(c->fmtp) || c->fmtp[0] == '\0')
			return LK_EINVAL;
		if ((rc = buf_printf(b, "a=fmtp:%u %s\r\n", (unsigned)c->pt, c->fmtp)) < 0)
			return rc;
	}
	return 0;
}

/* "stream track" or "stream" for a=msid and a=ssrc msid. */
static int
sdp_w_msid_ok(const struct sdp_out_media *m)
{
	return m->msid_stream == NULL ||
	        (sdp_w_token_ok(m->msid_stream) &&
	                (m->msid_track == NULL || sdp_w_token_ok(m->msid_track)));
}

static int
sdp_w_media(const struct sdp_out *o, const struct sdp_out_media *m, const char *fp, struct buf *b)
{
	const char *proto = sdp_w_proto(m);
	const char *setup = sdp_setup_name(o->setup);
	int rc, i, rtp;
	char cand[256];

	if ((rc = sdp_w_mline(m, b)) < 0)
		return rc;
	if (m->mid != NULL && !sdp_w_token_ok(m->mid))
		return LK_EINVAL;
	if (m->rejected) {
		/* JSEP §5.3.1: a rejected section keeps its mid and nothing of
		 * the transport. */
		if (m->mid != NULL && (rc = buf_printf(b, "a=mid:%s\r\n", m->mid)) < 0)
			return rc;
		return buf_printf(b, "a=inactive\r\n");
	}
	/* JSEP §5.2.1: every section names its mid. */
	if (m->mid == NULL)
		return LK_EINVAL;
	rtp = sdp_w_is_rtp(m, proto);
	/* ICE and DTLS attributes are repeated in every bundled section, as
	 * libwebrtc writes them (RFC 8843 §7.1.3 allows either way). */
	if ((rc = buf_printf(b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", o->ice_ufrag, o->ice_pwd)) <
	        0)
		return rc;
	if (o->ice_trickle && (rc = buf_printf(b, "a=ice-options:trickle\r\n")) < 0)
		return rc;
	if ((rc = buf_printf(
	             b, "a=fingerprint:%s\r\na=setup:%s\r\na=mid:%s\r\n", fp, setup, m->mid)) < 0)
		return rc;
	if (m->n_ext < 0 || m->n_ext > SDP_OUT_MAX_EXT)
		return LK_EINVAL;
	for (i = 0; i < m->n_ext; i++) {
		/* RFC 8285 §5: ids 1..255. */
		if (m->ext[i].id < 1 || m->ext[i].id > 255 || !sdp_w_token_ok(m->ext[i].uri))
			return LK_EINVAL;
		if ((rc = buf_printf(
		             b, "a=extmap:%u %s\r\n", (unsigned)m->ext[i].id, m->ext[i].uri)) < 0)
			return rc;
	}
	if (!sdp_w_msid_ok(m))
		return LK_EINVAL;
	if (rtp) {
		if ((rc = buf_printf(b, "a=%s\r\n", sdp_dir_name(m->dir))) < 0)
			return rc;
		/* RFC 8830 §2: a=msid:<stream id> <track id>. */
		if (m->msid_stream != NULL) {
			if (m->msid_track != NULL)
				rc = buf_printf(
				        b, "a=msid:%s %s\r\n", m->msid_stream, m->msid_track);
			else
				rc = buf_printf(b, "a=msid:%s\r\n", m->msid_stream);
			if (rc < 0)
				return rc;
		}
		/* RFC 5761 §5.1.3: libwebrtc requires rtcp-mux. */
		if (m->rtcp_mux && (rc = buf_printf(b, "a=rtcp-mux\r\n")) < 0)
			return rc;
		if (m->rtcp_rsize && (rc = buf_printf(b, "a=rtcp-rsize\r\n")) < 0)
			return rc;
		if (m->n_codec < 0 || m->n_codec > SDP_OUT_MAX_CODEC)
			return LK_EINVAL;
		for (i = 0; i < m->n_codec; i++)
			if ((rc = sdp_w_codec(&m->codec[i], b)) < 0)
				return rc;
		if (m->ssrc != 0) {
			/* RFC 5576 §4.1 cname, plus the msid libwebrtc also
			 * signals per SSRC. */
			if (!sdp_w_token_ok(m->cname))
				return LK_EINVAL;
			if ((rc = buf_printf(
			             b, "a=ssrc:%u cname:%s\r\n", (unsigned)m->ssrc, m->cname)) < 0)
				return rc;
			if (m->msid_stream != NULL) {
				if (m->msid_track != NULL)
					rc = buf_printf(b, "a=ssrc:%u msid:%s %s\r\n",
					        (unsigned)m->ssrc, m->msid_stream, m->msid_track);
				else
					rc = buf_printf(b, "a=ssrc:%u msid:%s\r\n",
					        (unsigned)m->ssrc, m->msid_stream);
				if (rc < 0)
					return rc;
			}
		}
	} else {
		/* RFC 8841 §5.2, §6. */
		if (m->sctp_port != 0 &&
		        (rc = buf_printf(b, "a=sctp-port:%u\r\n", (unsigned)m->sctp_port)) < 0)
			return rc;
		if (m->max_message_size != 0 &&
		        (rc = buf_printf(b, "a=max-message-size:%u\r\n",
		                 (unsigned)m->max_message_size)) < 0)
			return rc;
	}
	if (m->n_cand < 0 || (m->n_cand > 0 && m->cand == NULL))
		return LK_EINVAL;
	for (i = 0; i < m->n_cand; i++) {
		rc = sdp_candidate_format(&m->cand[i], cand, sizeof(cand));
		if (rc < 0)
			return rc;
		if ((rc = buf_printf(b, "a=%s\r\n", cand)) < 0)
			return rc;
	}
	if (m->end_of_candidates && (rc = buf_printf(b, "a=end-of-candidates\r\n")) < 0)
		return rc;
	return 0;
}

static int
sdp_w_all(const struct sdp_out *o, struct buf *b)
{
	char fp[SDP_MAX_DIGEST * 3 + 32];
	int i, rc, accepted = 0;

	if (o->n_media < 0 || o->n_media > SDP_MAX_MEDIA)
		return LK_EINVAL;
	for (i = 0; i < o->n_media; i++)
		accepted += !o->media[i].rejected;
	if (accepted > 0) {
		/* libwebrtc refuses a description without ICE credentials, a
		 * fingerprint (RFC 8827 §6.5) or a DTLS role. */
		if (!sdp_w_token_ok(o->ice_ufrag) || !sdp_w_token_ok(o->ice_pwd) ||
		        sdp_setup_name(o->setup) == NULL)
			return LK_EINVAL;
		if (sdp_fingerprint_format(&o->fp, fp, sizeof(fp)) < 0)
			return LK_EINVAL;
	}
	/* RFC 8866 §5: v, o, s, t; the origin address is not used by WebRTC. */
	rc = buf_printf(b, "v=0\r\no=- %llu %llu IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
	        (unsigned long long)o->sess_id, (unsigned long long)o->sess_version);
	if (rc < 0)
		return rc;
	/* RFC 8839 §5.3: session-level ice-lite. */
	if (o->ice_lite && (rc = buf_printf(b, "a=ice-lite\r\n")) < 0)
		return rc;
	if (o->bundle && accepted > 0) {
		/* RFC 8843 §7.1: the group holds every accepted section. */
		if ((rc = buf_printf(b, "a=group:BUNDLE")) < 0)
			return rc;
		for (i = 0; i < o->n_media; i++) {
			const struct sdp_out_media *m = &o->media[i];

			if (m->rejected)
				continue;
			if (!sdp_w_token_ok(m->mid))
				return LK_EINVAL;
			if ((rc = buf_printf(b, " %s", m->mid)) < 0)
				return rc;
		}
		if ((rc = buf_printf(b, "\r\n")) < 0)
			return rc;
	}
	if (o->extmap_allow_mixed && (rc = buf_printf(b, "a=extmap-allow-mixed\r\n")) < 0)
		return rc;
	if ((rc = buf_printf(b, "a=msid-semantic: WMS\r\n")) < 0)
		return rc;
	for (i = 0; i < o->n_media; i++)
		if ((rc = sdp_w_media(o, &o->media[i], fp, b)) < 0)
			return rc;
	return 0;
}

int
sdp_write(const struct sdp_out *o, struct buf *b)
{
	size_t start;
	int rc;

	if (o == NULL || b == NULL)
		return LK_EINVAL;
	start = b->len;
	rc = sdp_w_all(o, b);
	if (rc < 0)
		b->len = start; /* no half-written description */
	return rc;
}

int
sdp_out_mirror(struct sdp_out *ans, const struct sdp_session *offer)
{
	int i;

	if (ans == NULL || offer == NULL || offer->n_media > SDP_MAX_MEDIA)
		return LK_EINVAL;
	memset(ans, 0, sizeof(*ans));
	/* JSEP §5.3.1: an answer has the offer's sections, in order. */
	for (i = 0; i < offer->n_media; i++) {
		const struct sdp_media *om = offer->media[i];
		struct sdp_out_media *m = &ans->media[i];

		m->type = om->type;
		m->media = om->media;
		m->proto = om->proto;
		m->fmt = om->fmt;
		m->n_fmt = om->n_fmt;
		m->mid = om->mid;
		m->rejected = 1;
		m->dir = SDP_DIR_INACTIVE;
	}
	ans->n_media = offer->n_media;
	return 0;
}

void
sdp_out_codec_from(struct sdp_out_codec *oc, const struct sdp_codec *c)
{
	memset(oc, 0, sizeof(*oc));
	oc->pt = c->pt;
	oc->name = c->name;
	oc->clock = c->clock;
	oc->channels = c->channels;
	oc->fmtp = c->fmtp;
}
