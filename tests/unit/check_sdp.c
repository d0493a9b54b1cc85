/*
 * check_sdp: unit tests for src/rtc/sdp.c and sdp_write.c. Parses offers
 * captured from @livekit/rtc-node (fixtures/sdp/, see its README), answers
 * the publisher offer the way the dev server will, writes a subscriber
 * offer, re-parses both, and feeds hostile text (truncation at every
 * offset, limits, malformed lines).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "rtc/sdp.h"

static const char *
srcdir(void)
{
	const char *s = getenv("LK_SRCDIR");

	return s != NULL && *s != '\0' ? s : LK_SRCDIR;
}

/* Fixture text (NUL-terminated copy) and its length. */
static char *
load(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *t;
	long n;

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/sdp/%s", srcdir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	t = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(t, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	t[n] = '\0';
	*len = (size_t)n;
	return t;
}

static struct sdp_session *
parse_ok(const char *text, size_t len)
{
	struct sdp_session *s = NULL;
	int rc = sdp_parse(text, len, &s);

	ck_assert_msg(rc == 0, "sdp_parse failed: %d", rc);
	ck_assert_ptr_nonnull(s);
	return s;
}

static int
parse_rc(const char *text)
{
	struct sdp_session *s = NULL;
	int rc = sdp_parse(text, strlen(text), &s);

	if (rc == 0)
		sdp_free(s);
	else
		ck_assert_ptr_null(s);
	return rc;
}

START_TEST(test_rtcnode_v0_offer)
{
	size_t len;
	char *t = load("rtcnode-v0-publisher-offer.sdp", &len);
	struct sdp_session *s = parse_ok(t, len);
	const struct sdp_media *m;
	const struct sdp_codec *c;
	int i;

	ck_assert_str_eq(s->origin_user, "-");
	ck_assert_str_eq(s->sess_id, "215380122264215331");
	ck_assert(s->sess_version == 3);
	ck_assert_int_eq(s->n_media, 7);
	ck_assert_int_eq(s->n_bundle, 7);
	ck_assert_str_eq(s->bundle[0], "7");
	ck_assert_str_eq(s->bundle[6], "13");
	ck_assert_int_eq(s->extmap_allow_mixed, 1);
	ck_assert_int_eq(s->ice_lite, 0);
	for (i = 0; i < 7; i++) {
		char mid[16];

		m = s->media[i];
		snprintf(mid, sizeof(mid), "%d", 7 + i);
		ck_assert_str_eq(m->mid, mid);
		ck_assert_int_eq(sdp_in_bundle(s, mid), 1);
		ck_assert_int_eq(m->type,
		        i < 3           ? SDP_MEDIA_AUDIO
		                : i < 6 ? SDP_MEDIA_VIDEO
		                        : SDP_MEDIA_APPLICATION);
		ck_assert_uint_eq(m->port, 9);
		ck_assert_str_eq(m->ice_ufrag, "mppA");
		ck_assert_str_eq(m->ice_pwd, "45ffUog7yhA4h1SCXCWxh9yn");
		ck_assert_str_eq(m->ice_options, "trickle");
		ck_assert_str_eq(m->fp.hash, "sha-256");
		ck_assert_uint_eq(m->fp.len, 32);
		ck_assert_uint_eq(m->fp.digest[0], 0xA4);
		ck_assert_uint_eq(m->fp.digest[31], 0x8C);
		ck_assert_int_eq(m->setup, SDP_SETUP_ACTPASS);
		ck_assert_int_eq(m->n_cand, 0);
		if (i < 6) {
			ck_assert_int_eq(m->is_rtp, 1);
			ck_assert_str_eq(m->proto, "UDP/TLS/RTP/SAVPF");
			ck_assert_int_eq(m->dir, SDP_DIR_RECVONLY);
			ck_assert_int_eq(m->rtcp_mux, 1);
			ck_assert_int_eq(m->rtcp_rsize, 1);
			ck_assert_ptr_null(m->msid_stream);
			ck_assert_int_eq(m->n_ssrc, 0);
		}
	}
	/* Audio: opus/48000/2 with libwebrtc's fmtp and feedback. */
	m = s->media[0];
	ck_assert_int_eq(m->n_fmt, 8);
	ck_assert_int_eq(m->n_codec, 8);
	c = sdp_media_find_codec(m, "OPUS", 48000, 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->pt, 111);
	ck_assert_str_eq(c->fmtp, "minptime=10;stereo=1;useinbandfec=1");
	ck_assert_int_eq(c->n_fb, 1);
	ck_assert_str_eq(c->fb[0], "transport-cc");
	c = sdp_media_codec(m, 63);
	ck_assert_str_eq(c->name, "red");
	ck_assert_str_eq(c->fmtp, "111/111");
	c = sdp_media_codec(m, 0);
	ck_assert_str_eq(c->name, "PCMU");
	ck_assert_uint_eq(c->clock, 8000);
	ck_assert_uint_eq(c->channels, 1);
	ck_assert_ptr_null(sdp_media_codec(m, 96));
	ck_assert_int_eq(m->n_ext, 4);
	ck_assert_uint_eq(sdp_media_ext_id(m, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1);
	ck_assert_uint_eq(sdp_media_ext_id(m, "urn:ietf:params:rtp-hdrext:sdes:mid"), 4);
	ck_assert_uint_eq(sdp_media_ext_id(m, "urn:x"), 0);
	/* Video: 23 payload types, VP8 first with five feedback types. */
	m = s->media[3];
	ck_assert_int_eq(m->n_codec, 23);
	ck_assert_str_eq(m->codec[0].name, "VP8");
	ck_assert_int_eq(m->codec[0].n_fb, 5);
	ck_assert_str_eq(m->codec[0].fb[4], "nack pli");
	ck_assert_str_eq(sdp_media_codec(m, 97)->fmtp, "apt=96");
	ck_assert_int_eq(m->n_ext, 11);
	/* Data channel section. */
	m = s->media[6];
	ck_assert_str_eq(m->proto, "UDP/DTLS/SCTP");
	ck_assert_int_eq(m->is_rtp, 0);
	ck_assert_int_eq(m->n_fmt, 1);
	ck_assert_str_eq(m->fmt[0], "webrtc-datachannel");
	ck_assert_uint_eq(m->sctp_port, 5000);
	ck_assert_uint_eq(m->max_message_size, 262144);
	ck_assert_ptr_eq(sdp_find_mid(s, "13"), m);
	ck_assert_ptr_null(sdp_find_mid(s, "14"));
	sdp_free(s);
	free(t);
}
END_TEST

START_TEST(test_rtcnode_v1_offer)
{
	size_t len;
	char *t = load("rtcnode-v1-join-offer.sdp", &len);
	struct sdp_session *s = parse_ok(t, len);

	ck_assert_int_eq(s->n_media, 7);
	ck_assert_str_eq(s->media[0]->mid, "0");
	ck_assert_str_eq(s->media[6]->mid, "6");
	ck_assert_int_eq(s->media[6]->type, SDP_MEDIA_APPLICATION);
	ck_assert_int_eq(s->media[2]->dir, SDP_DIR_RECVONLY);
	sdp_free(s);
	free(t);
}
END_TEST

START_TEST(test_rtcnode_mic_offer)
{
	size_t len;
	char *t = load("rtcnode-publisher-mic-offer.sdp", &len);
	struct sdp_session *s = parse_ok(t, len);
	const struct sdp_media *m;

	ck_assert_int_eq(s->n_media, 8);
	ck_assert(s->sess_version == 4);
	m = s->media[7];
	ck_assert_str_eq(m->mid, "14");
	ck_assert_int_eq(m->dir, SDP_DIR_SENDONLY);
	ck_assert_str_eq(m->msid_stream, "-");
	ck_assert_str_eq(m->msid_track, "6f1c8a52-3d0e-4b7a-9c41-2e5d7b9a0f13");
	ck_assert_int_eq(m->n_ssrc, 1);
	ck_assert_uint_eq(m->ssrc[0].ssrc, 2843115967u);
	ck_assert_str_eq(m->ssrc[0].cname, "Xy3kP9qLm2Rt7VwB");
	ck_assert_str_eq(m->ssrc[0].msid_stream, "-");
	ck_assert_str_eq(m->ssrc[0].msid_track, "6f1c8a52-3d0e-4b7a-9c41-2e5d7b9a0f13");
	ck_assert_int_eq(sdp_in_bundle(s, "14"), 1);
	sdp_free(s);
	free(t);
}
END_TEST

/* The hand-written answer libwebrtc accepted in the capture. */
START_TEST(test_accepted_answer)
{
	size_t len;
	char *t = load("rtcnode-accepted-answer.sdp", &len);
	struct sdp_session *s = parse_ok(t, len);
	const struct sdp_media *m;

	ck_assert_int_eq(s->ice_lite, 1);
	ck_assert_int_eq(s->n_bundle, 1);
	ck_assert_int_eq(s->n_media, 7);
	ck_assert_uint_eq(s->media[0]->port, 0);
	ck_assert_int_eq(s->media[0]->dir, SDP_DIR_INACTIVE);
	ck_assert_int_eq(s->media[3]->n_fmt, 23);
	m = s->media[6];
	ck_assert_int_eq(m->setup, SDP_SETUP_ACTIVE);
	ck_assert_int_eq(m->n_cand, 1);
	ck_assert_str_eq(m->cand[0].address, "10.77.0.1");
	ck_assert_uint_eq(m->cand[0].port, 9999);
	ck_assert_int_eq(m->cand[0].type, SDP_CAND_HOST);
	ck_assert_int_eq(m->cand[0].generation, 0);
	sdp_free(s);
	free(t);
}
END_TEST

static void
set_transport(struct sdp_out *o, const char *ufrag, int lite, enum sdp_setup setup)
{
	size_t i;

	o->sess_id = 4611686018427387904ull;
	o->sess_version = 2;
	o->ice_lite = lite;
	o->ice_ufrag = ufrag;
	o->ice_pwd = "abcdefghijklmnopqrstuv";
	o->setup = setup;
	o->bundle = 1;
	strcpy(o->fp.hash, "sha-256");
	o->fp.len = 32;
	for (i = 0; i < 32; i++)
		o->fp.digest[i] = (uint8_t)(i * 7);
}

static void
host_candidate(struct sdp_candidate *c, const char *addr, uint16_t port)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->foundation, "1");
	c->component = 1;
	c->transport = SDP_TRANSPORT_UDP;
	c->priority = sdp_candidate_priority(SDP_CAND_HOST, 65535, 1);
	strcpy(c->address, addr);
	c->port = port;
	c->type = SDP_CAND_HOST;
	c->generation = 0;
}

/*
 * The dev server's publisher answer: the sendonly mic becomes recvonly
 * with opus only, other RTP sections inactive, the data section accepted.
 */
START_TEST(test_answer_publisher_offer)
{
	size_t len;
	char *t = load("rtcnode-publisher-mic-offer.sdp", &len);
	struct sdp_session *off = parse_ok(t, len), *ans;
	struct sdp_out *o = calloc(1, sizeof(*o));
	struct sdp_candidate cand[2];
	struct buf b;
	int i;

	ck_assert_int_eq(sdp_out_mirror(o, off), 0);
	set_transport(o, "srv1", 1, SDP_SETUP_ACTIVE);
	host_candidate(&cand[0], "10.77.0.1", 50000);
	host_candidate(&cand[1], "fd00:77::1", 50001);
	for (i = 0; i < off->n_media; i++) {
		const struct sdp_media *om = off->media[i];
		struct sdp_out_media *m = &o->media[i];
		const struct sdp_codec *c;

		if (om->is_rtp) {
			c = om->type == SDP_MEDIA_AUDIO ? sdp_media_find_codec(om, "opus", 48000, 2)
			                                : &om->codec[0];
			ck_assert_ptr_nonnull(c);
			m->rejected = 0;
			m->n_fmt = 0; /* formats from codec[] */
			m->n_codec = 1;
			sdp_out_codec_from(&m->codec[0], c);
			m->rtcp_mux = 1;
			if (om->type == SDP_MEDIA_AUDIO && om->dir == SDP_DIR_SENDONLY) {
				m->codec[0].fmtp = "minptime=10;useinbandfec=1";
				m->dir = sdp_dir_answer(om->dir, 0, 1);
			} else {
				m->dir = SDP_DIR_INACTIVE;
			}
		} else if (om->type == SDP_MEDIA_APPLICATION) {
			m->rejected = 0;
			m->sctp_port = 5000;
			m->max_message_size = 262144;
		}
		if (i == 0) {
			/* Candidates in the first bundled section. */
			m->cand = cand;
			m->n_cand = 2;
			m->end_of_candidates = 1;
		}
	}
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	ans = parse_ok((const char *)b.data, b.len - 1);

	ck_assert_int_eq(ans->ice_lite, 1);
	ck_assert_int_eq(ans->n_media, 8);
	ck_assert_int_eq(ans->n_bundle, 8);
	for (i = 0; i < 8; i++) {
		const struct sdp_media *m = ans->media[i];

		ck_assert_str_eq(m->mid, off->media[i]->mid);
		ck_assert_int_eq(m->type, off->media[i]->type);
		ck_assert_str_eq(m->proto, off->media[i]->proto);
		ck_assert_str_eq(ans->bundle[i], off->media[i]->mid);
		ck_assert_uint_ne(m->port, 0);
		ck_assert_str_eq(m->ice_ufrag, "srv1");
		ck_assert_str_eq(m->ice_pwd, "abcdefghijklmnopqrstuv");
		ck_assert_int_eq(m->setup, SDP_SETUP_ACTIVE);
		ck_assert_uint_eq(m->fp.len, 32);
		ck_assert(memcmp(m->fp.digest, o->fp.digest, 32) == 0);
		if (m->is_rtp) {
			ck_assert_int_eq(m->rtcp_mux, 1);
			ck_assert_int_eq(m->n_codec, 1);
			ck_assert_int_eq(m->dir, i == 7 ? SDP_DIR_RECVONLY : SDP_DIR_INACTIVE);
		}
	}
	/* The mic: opus 111 only, LiveKit's base fmtp. */
	ck_assert_uint_eq(ans->media[7]->codec[0].pt, 111);
	ck_assert_str_eq(ans->media[7]->codec[0].name, "opus");
	ck_assert_uint_eq(ans->media[7]->codec[0].channels, 2);
	ck_assert_str_eq(ans->media[7]->codec[0].fmtp, "minptime=10;useinbandfec=1");
	ck_assert_str_eq(ans->media[3]->codec[0].name, "VP8");
	/* The first candidate gives the default address. */
	ck_assert_uint_eq(ans->media[0]->port, 50000);
	ck_assert_int_eq(ans->media[0]->n_cand, 2);
	ck_assert_str_eq(ans->media[0]->cand[1].address, "fd00:77::1");
	ck_assert_int_eq(ans->media[0]->end_of_candidates, 1);
	ck_assert_uint_eq(ans->media[1]->port, 9);
	ck_assert_uint_eq(ans->media[6]->sctp_port, 5000);
	ck_assert_ptr_nonnull(strstr((const char *)b.data,
	        "\r\nm=audio 50000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.77.0.1\r\n"));

	sdp_free(ans);
	buf_free(&b);
	free(o);
	sdp_free(off);
	free(t);
}
END_TEST

/* Rejected sections mirror the offered type, proto and formats. */
START_TEST(test_answer_rejects_mirror)
{
	size_t len;
	char *t = load("rtcnode-v0-publisher-offer.sdp", &len);
	struct sdp_session *off = parse_ok(t, len), *ans;
	struct sdp_out *o = calloc(1, sizeof(*o));
	struct buf b;
	int i;

	ck_assert_int_eq(sdp_out_mirror(o, off), 0);
	set_transport(o, "srv2", 1, SDP_SETUP_PASSIVE);
	o->media[6].rejected = 0;
	o->media[6].sctp_port = 5000;
	buf_init(&b, 0);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ans = parse_ok((const char *)b.data, b.len);
	ck_assert_int_eq(ans->n_media, 7);
	ck_assert_int_eq(ans->n_bundle, 1);
	ck_assert_str_eq(ans->bundle[0], "13");
	for (i = 0; i < 6; i++) {
		const struct sdp_media *m = ans->media[i];

		ck_assert_uint_eq(m->port, 0);
		ck_assert_int_eq(m->n_fmt, off->media[i]->n_fmt);
		ck_assert_str_eq(m->fmt[m->n_fmt - 1], off->media[i]->fmt[m->n_fmt - 1]);
		ck_assert_str_eq(m->mid, off->media[i]->mid);
		ck_assert_ptr_null(m->ice_ufrag);
	}
	ck_assert_int_eq(ans->media[6]->setup, SDP_SETUP_PASSIVE);
	sdp_free(ans);
	buf_free(&b);
	free(o);
	sdp_free(off);
	free(t);
}
END_TEST

/* A subscriber offer as the dev server sends it: one audio track + data. */
START_TEST(test_subscriber_offer)
{
	struct sdp_out *o = calloc(1, sizeof(*o));
	struct sdp_session *s;
	struct sdp_out_media *m;
	struct sdp_candidate cand;
	struct buf b;

	set_transport(o, "sub1", 1, SDP_SETUP_ACTPASS);
	host_candidate(&cand, "10.77.0.1", 40000);
	m = &o->media[0];
	m->type = SDP_MEDIA_AUDIO;
	m->mid = "0";
	m->dir = SDP_DIR_SENDONLY;
	m->rtcp_mux = 1;
	m->n_codec = 1;
	m->codec[0].pt = 111;
	m->codec[0].name = "opus";
	m->codec[0].clock = 48000;
	m->codec[0].channels = 2;
	m->codec[0].fmtp = "minptime=10;useinbandfec=1";
	m->codec[0].fb[0] = "nack";
	m->codec[0].n_fb = 1;
	m->msid_stream = "PA_abcdefghijkl|TR_AMabcdefghij";
	m->msid_track = "TR_AMabcdefghij";
	m->ssrc = 305419896;
	m->cname = "PA_abcdefghijkl";
	m->cand = &cand;
	m->n_cand = 1;
	m = &o->media[1];
	m->type = SDP_MEDIA_APPLICATION;
	m->mid = "1";
	m->sctp_port = 5000;
	m->max_message_size = 65535;
	o->n_media = 2;
	buf_init(&b, 0);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	s = parse_ok((const char *)b.data, b.len - 1);
	ck_assert_int_eq(s->n_media, 2);
	ck_assert_int_eq(s->n_bundle, 2);
	ck_assert_int_eq(s->media[0]->setup, SDP_SETUP_ACTPASS);
	ck_assert_int_eq(s->media[0]->dir, SDP_DIR_SENDONLY);
	ck_assert_str_eq(s->media[0]->msid_stream, "PA_abcdefghijkl|TR_AMabcdefghij");
	ck_assert_str_eq(s->media[0]->msid_track, "TR_AMabcdefghij");
	ck_assert_int_eq(s->media[0]->n_ssrc, 1);
	ck_assert_uint_eq(s->media[0]->ssrc[0].ssrc, 305419896);
	ck_assert_str_eq(s->media[0]->ssrc[0].cname, "PA_abcdefghijkl");
	ck_assert_str_eq(s->media[0]->ssrc[0].msid_track, "TR_AMabcdefghij");
	ck_assert_str_eq(s->media[0]->codec[0].fb[0], "nack");
	ck_assert_str_eq(s->media[1]->fmt[0], "webrtc-datachannel");
	ck_assert_uint_eq(s->media[1]->max_message_size, 65535);
	ck_assert_ptr_nonnull(
	        strstr((const char *)b.data, "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n"));
	ck_assert_ptr_nonnull(strstr(
	        (const char *)b.data, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
	sdp_free(s);
	/* An IPv6 default candidate gives an IP6 connection line. */
	host_candidate(&cand, "fd00:77::1", 40002);
	buf_reset(&b);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	ck_assert_ptr_nonnull(strstr((const char *)b.data,
	        "m=audio 40002 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP6 fd00:77::1\r\n"));
	buf_free(&b);
	free(o);
}
END_TEST

START_TEST(test_writer_rejects_unsafe)
{
	struct sdp_out *o = calloc(1, sizeof(*o));
	struct buf b;

	set_transport(o, "w1", 0, SDP_SETUP_ACTIVE);
	o->media[0].type = SDP_MEDIA_APPLICATION;
	o->media[0].mid = "0";
	o->n_media = 1;
	buf_init(&b, 0);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	buf_reset(&b);
	/* Line injection through a borrowed string. */
	o->media[0].mid = "0\r\na=ice-lite";
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	ck_assert_uint_eq(b.len, 0);
	o->media[0].mid = "0 1";
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->media[0].mid = NULL;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->media[0].mid = "0";
	o->ice_pwd = NULL;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->ice_pwd = "p";
	o->fp.len = 0;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->fp.len = 32;
	o->setup = SDP_SETUP_UNSET;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->setup = SDP_SETUP_ACTIVE;
	o->media[0].type = SDP_MEDIA_OTHER;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	/* An RTP section needs at least one format. */
	o->media[0].type = SDP_MEDIA_AUDIO;
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->media[0].n_codec = 1;
	o->media[0].codec[0].pt = 0;
	o->media[0].codec[0].name = "PCMU";
	o->media[0].codec[0].clock = 8000;
	o->media[0].codec[0].fmtp = "a\nb";
	ck_assert_int_eq(sdp_write(o, &b), LK_EINVAL);
	o->media[0].codec[0].fmtp = NULL;
	ck_assert_int_eq(sdp_write(o, &b), 0);
	/* The buffer limit is honoured and nothing half-written stays. */
	buf_free(&b);
	buf_init(&b, 100);
	ck_assert_int_eq(sdp_write(o, &b), LK_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	free(o);
}
END_TEST

/* Candidates trickled by rtc-node (libwebrtc m144), and others. */
static const char *const real_candidates[] = {
        "candidate:3365022762 1 udp 2122194687 10.77.0.1 53237 typ host generation 0 ufrag bUA2 network-id 1 network-cost 50",
        "candidate:1965895688 1 udp 2122265343 fd00:77::1 41349 typ host generation 0 ufrag bUA2 network-id 2 network-cost 50",
        "candidate:909703358 1 tcp 1518214911 10.77.0.1 48273 typ host tcptype passive generation 0 ufrag bUA2 network-id 1 network-cost 50",
        "candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 53237 generation 0 ufrag bUA2",
        "candidate:2 1 UDP 16777215 198.51.100.1 3478 typ relay raddr 203.0.113.7 rport 61000",
        "3d5c1b4e 1 udp 2113937151 2f1e3c1a-7b6d-4a59-8e21-0c9d6f5a4b3e.local 50000 typ host generation 0",
};

START_TEST(test_candidates)
{
	struct sdp_candidate c, d;
	char out[256];
	size_t i;
	int n;

	ck_assert_int_eq(
	        sdp_candidate_parse(real_candidates[0], strlen(real_candidates[0]), &c), 0);
	ck_assert_str_eq(c.foundation, "3365022762");
	ck_assert_uint_eq(c.component, 1);
	ck_assert_int_eq(c.transport, SDP_TRANSPORT_UDP);
	ck_assert_uint_eq(c.priority, 2122194687u);
	ck_assert_str_eq(c.address, "10.77.0.1");
	ck_assert_uint_eq(c.port, 53237);
	ck_assert_int_eq(c.type, SDP_CAND_HOST);
	ck_assert_int_eq(c.generation, 0);
	ck_assert_str_eq(c.ufrag, "bUA2");
	ck_assert_int_eq(c.has_raddr, 0);
	ck_assert_int_eq(
	        sdp_candidate_parse(real_candidates[2], strlen(real_candidates[2]), &c), 0);
	ck_assert_int_eq(c.transport, SDP_TRANSPORT_TCP);
	ck_assert_str_eq(c.tcptype, "passive");
	ck_assert_int_eq(
	        sdp_candidate_parse(real_candidates[3], strlen(real_candidates[3]), &c), 0);
	ck_assert_int_eq(c.type, SDP_CAND_SRFLX);
	ck_assert_int_eq(c.has_raddr, 1);
	ck_assert_str_eq(c.raddr, "10.0.0.2");
	ck_assert_uint_eq(c.rport, 53237);
	ck_assert_int_eq(
	        sdp_candidate_parse(real_candidates[4], strlen(real_candidates[4]), &c), 0);
	ck_assert_int_eq(c.type, SDP_CAND_RELAY);
	ck_assert_int_eq(c.generation, -1);
	/* Format then parse gives the same candidate. */
	for (i = 0; i < sizeof(real_candidates) / sizeof(real_candidates[0]); i++) {
		ck_assert_int_eq(
		        sdp_candidate_parse(real_candidates[i], strlen(real_candidates[i]), &c), 0);
		n = sdp_candidate_format(&c, out, sizeof(out));
		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(strlen(out), (size_t)n);
		ck_assert_int_eq(sdp_candidate_parse(out, (size_t)n, &d), 0);
		ck_assert(memcmp(&c, &d, sizeof(c)) == 0);
		ck_assert_int_eq(sdp_candidate_format(&c, out, (size_t)n), LK_ETOOBIG);
	}
	ck_assert_uint_eq(sdp_candidate_priority(SDP_CAND_HOST, 65535, 1), 2130706431u);
	ck_assert_uint_eq(sdp_candidate_priority(SDP_CAND_PRFLX, 65535, 1), 1862270975u);
}
END_TEST

START_TEST(test_candidates_bad)
{
	static const char *const bad[] = {
	        "",
	        "candidate:",
	        "1 1 udp 2122194687 10.0.0.1 5000",
	        "1 1 udp 2122194687 10.0.0.1 5000 typ",
	        "1 0 udp 2122194687 10.0.0.1 5000 typ host",
	        "1 257 udp 2122194687 10.0.0.1 5000 typ host",
	        "1 1 udp 4294967296 10.0.0.1 5000 typ host",
	        "1 1 udp -1 10.0.0.1 5000 typ host",
	        "1 1 udp 1 10.0.0.1 65536 typ host",
	        "1 1 udp 1 10.0.0.1 5000 type host",
	        "1 1 udp 1 10.0.0.1 5000 typ host generation",
	        "1 1 udp 1 10.0.0.1 5000 typ host rport x",
	        "1 1 tcp 1 10.0.0.1 5000 typ host tcptype sideways",
	        "f@o 1 udp 1 10.0.0.1 5000 typ host",
	};
	struct sdp_candidate c;
	char longf[80], longa[200];
	const char *txt;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sdp_candidate_parse(bad[i], strlen(bad[i]), &c) == LK_EINVAL,
		        "accepted: %s", bad[i]);
	txt = "1 1 ssltcp 1 10.0.0.1 443 typ host";
	ck_assert_int_eq(sdp_candidate_parse(txt, strlen(txt), &c), LK_ETYPE);
	txt = "1 1 udp 1 10.0.0.1 5000 typ wormhole";
	ck_assert_int_eq(sdp_candidate_parse(txt, strlen(txt), &c), LK_ETYPE);
	/* A 33-character foundation, a 100-character address. */
	memset(longf, 'a', 33);
	snprintf(longf + 33, sizeof(longf) - 33, " 1 udp 1 10.0.0.1 1 typ host");
	ck_assert_int_eq(sdp_candidate_parse(longf, strlen(longf), &c), LK_ETOOBIG);
	snprintf(longa, sizeof(longa), "1 1 udp 1 %0100d 1 typ host", 7);
	ck_assert_int_eq(sdp_candidate_parse(longa, strlen(longa), &c), LK_ETOOBIG);
	/* The parser never reads past len, even inside a longer string. */
	ck_assert_int_eq(sdp_candidate_parse(real_candidates[0], 40, &c), LK_EINVAL);
}
END_TEST

#define MINI "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"

START_TEST(test_hostile_lines)
{
	struct sdp_session *s;
	const char *txt;
	char *big;
	size_t i, n;

	ck_assert_int_eq(parse_rc(MINI), 0);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=rtpmap:111 opus/48000/2\r\n"), 0);
	/* LF-only endings, no final newline, blank lines, unknown attributes. */
	ck_assert_int_eq(
	        parse_rc("v=0\no=- 1 1 IN IP4 x\n\nm=audio 9 RTP/AVP 0\na=x-foo:bar\na=y"), 0);
	ck_assert_int_eq(parse_rc(""), LK_EINVAL);
	ck_assert_int_eq(parse_rc("o=- 1 1 IN IP4 x\r\nv=0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc("v=1\r\no=- 1 1 IN IP4 x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc("v=0\r\ns=-\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "v=0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "o=- 1 1 IN IP4 x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc("v=0\r\no=- 1 IN IP4 x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc("v=0\r\no=- 1x 1 IN IP4 x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "x=unknown\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "A=0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "garbage\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "a=mid:0\rm=audio 9 RTP/AVP 0\r\n"), LK_EINVAL);
	/* Bad m= lines. */
	ck_assert_int_eq(parse_rc(MINI "m=audio 9 UDP/TLS/RTP/SAVPF\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio 70000 RTP/AVP 0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio x RTP/AVP 0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio 9/x RTP/AVP 0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=Audio 9 RTP/AVP 0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio 9 RTP/AVP opus\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio 9 RTP/AVP 128\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI "m=audio 9/2 RTP/AVP 0\r\n"), 0);
	/* Known attributes with bad values. */
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=rtpmap:111 opus\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=rtpmap:111 opus/0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=rtpmap:111 opus/48000/0\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=rtpmap:300 opus/48000\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=extmap:0 urn:x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=extmap:256 urn:x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=extmap:1/sideways urn:x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=setup:maybe\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=fingerprint:sha-256 AB:CD:E\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=fingerprint:sha-256 AB-CD\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=fingerprint:sha-256\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=ice-ufrag:a b\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=ice-pwd:\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=ssrc:4294967296 cname:x\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=ssrc:1 cname:\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=msid:a b c\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=sctp-port:65536\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=mid:\r\n"), LK_EINVAL);
	ck_assert_int_eq(parse_rc(MINI AUDIO "a=:x\r\n"), LK_EINVAL);
	/* A bad candidate costs the candidate only. */
	txt = MINI AUDIO "a=candidate:bogus\r\na=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n";
	ck_assert_int_eq(sdp_parse(txt, strlen(txt), &s), 0);
	ck_assert_int_eq(s->media[0]->n_cand, 1);
	ck_assert_int_eq(s->media[0]->n_cand_skipped, 1);
	sdp_free(s);
	/* Values for payload types not on the m= line are ignored. */
	txt = MINI AUDIO "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:* nack\r\n";
	ck_assert_int_eq(sdp_parse(txt, strlen(txt), &s), 0);
	ck_assert_ptr_null(s->media[0]->codec[0].name);
	ck_assert_int_eq(s->media[0]->codec[0].n_fb, 1);
	sdp_free(s);

	/* Line too long, too many lines, text too long. */
	n = strlen(MINI) + SDP_MAX_LINE + 16;
	big = malloc(n + 1);
	strcpy(big, MINI);
	strcat(big, "a=x:");
	i = strlen(big);
	memset(big + i, 'y', SDP_MAX_LINE);
	big[i + SDP_MAX_LINE] = '\0';
	ck_assert_int_eq(parse_rc(big), LK_ETOOBIG);
	free(big);
	n = strlen(MINI) + SDP_MAX_LINES * 4;
	big = malloc(n + 1);
	strcpy(big, MINI);
	for (i = strlen(MINI); i < n; i += 4)
		memcpy(big + i, "a=z\n", 4);
	big[n] = '\0';
	ck_assert_int_eq(parse_rc(big), LK_ETOOBIG);
	/* The same count of lines minus the header fits. */
	big[n - 4 * 4] = '\0';
	ck_assert_int_eq(parse_rc(big), 0);
	free(big);
	big = calloc(1, SDP_MAX_TEXT + 2);
	memset(big, '\n', SDP_MAX_TEXT + 1);
	ck_assert_int_eq(sdp_parse(big, SDP_MAX_TEXT + 1, &s), LK_ETOOBIG);
	free(big);
}
END_TEST

START_TEST(test_hostile_counts)
{
	struct buf b;
	int i;

	/* 65 sections. */
	buf_init(&b, 0);
	buf_printf(&b, MINI);
	for (i = 0; i <= SDP_MAX_MEDIA; i++)
		buf_printf(&b, "m=audio 9 RTP/AVP 0\r\n");
	buf_append(&b, "", 1);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	/* 65 formats. */
	buf_init(&b, 0);
	buf_printf(&b, MINI "m=audio 9 RTP/AVP");
	for (i = 0; i <= SDP_MAX_FMT; i++)
		buf_printf(&b, " %d", i);
	buf_append(&b, "\r\n", 3);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	/* 33 SSRCs, 33 extmaps, 17 feedback lines for one PT, 65 BUNDLE mids. */
	buf_init(&b, 0);
	buf_printf(&b, MINI AUDIO);
	for (i = 0; i <= SDP_MAX_SSRC; i++)
		buf_printf(&b, "a=ssrc:%d cname:x\r\n", i + 1);
	buf_append(&b, "", 1);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	buf_init(&b, 0);
	buf_printf(&b, MINI AUDIO);
	for (i = 0; i <= SDP_MAX_EXT; i++)
		buf_printf(&b, "a=extmap:%d urn:x:%d\r\n", i + 1, i);
	buf_append(&b, "", 1);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	buf_init(&b, 0);
	buf_printf(&b, MINI AUDIO);
	for (i = 0; i <= SDP_MAX_FB; i++)
		buf_printf(&b, "a=rtcp-fb:111 nack\r\n");
	buf_append(&b, "", 1);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	buf_init(&b, 0);
	buf_printf(&b, MINI "a=group:BUNDLE");
	for (i = 0; i <= SDP_MAX_MEDIA; i++)
		buf_printf(&b, " m%d", i);
	buf_append(&b, "\r\n", 3);
	ck_assert_int_eq(parse_rc((const char *)b.data), LK_ETOOBIG);
	buf_free(&b);
	/* 40 candidates: 32 kept, the rest skipped. */
	{
		struct sdp_session *s;

		buf_init(&b, 0);
		buf_printf(&b, MINI AUDIO);
		for (i = 0; i < 40; i++)
			buf_printf(
			        &b, "a=candidate:%d 1 udp 1 10.0.0.1 %d typ host\r\n", i, 1000 + i);
		ck_assert_int_eq(sdp_parse((const char *)b.data, b.len, &s), 0);
		ck_assert_int_eq(s->media[0]->n_cand, SDP_MAX_CAND);
		ck_assert_int_eq(s->media[0]->n_cand_skipped, 40 - SDP_MAX_CAND);
		sdp_free(s);
		buf_free(&b);
	}
}
END_TEST

/* Every prefix of a real offer parses or fails cleanly, within bounds. */
START_TEST(test_truncated_everywhere)
{
	size_t len, n;
	char *t = load("rtcnode-publisher-mic-offer.sdp", &len);

	for (n = 0; n <= len; n++) {
		char *p = malloc(n ? n : 1);
		struct sdp_session *s = NULL;
		int rc;

		memcpy(p, t, n);
		rc = sdp_parse(p, n, &s);
		if (rc == 0) {
			ck_assert_int_le(s->n_media, 8);
			ck_assert_uint_le(s->arena_len, s->arena_cap);
			sdp_free(s);
		} else {
			ck_assert_ptr_null(s);
		}
		free(p);
	}
	free(t);
}
END_TEST

START_TEST(test_session_level_inherit)
{
	struct sdp_session *s;
	const char *txt = MINI
	        "a=ice-ufrag:sess\r\na=ice-pwd:sesspwd\r\na=setup:passive\r\na=sendonly\r\n"
	        "a=fingerprint:SHA-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n"
	        "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:med1\r\n"
	        "m=audio 9 RTP/AVP 8\r\na=recvonly\r\na=setup:active\r\n";

	ck_assert_int_eq(sdp_parse(txt, strlen(txt), &s), 0);
	ck_assert_str_eq(s->media[0]->ice_ufrag, "med1");
	ck_assert_str_eq(s->media[0]->ice_pwd, "sesspwd");
	ck_assert_str_eq(s->media[1]->ice_ufrag, "sess");
	ck_assert_int_eq(s->media[0]->setup, SDP_SETUP_PASSIVE);
	ck_assert_int_eq(s->media[1]->setup, SDP_SETUP_ACTIVE);
	ck_assert_int_eq(s->media[0]->dir, SDP_DIR_SENDONLY);
	ck_assert_int_eq(s->media[1]->dir, SDP_DIR_RECVONLY);
	ck_assert_str_eq(s->media[1]->fp.hash, "sha-1");
	ck_assert_uint_eq(s->media[1]->fp.len, 20);
	ck_assert_uint_eq(s->media[1]->fp.digest[10], 0xAA);
	sdp_free(s);
}
END_TEST

START_TEST(test_fingerprint_and_dirs)
{
	struct sdp_fingerprint fp, fp2;
	char out[256];
	const char *in =
	        "sha-256 3D:39:1B:09:2C:F7:02:B4:22:9F:84:08:DB:BD:D1:69:43:39:EC:E5:97:AF:C0:DF:E3:DA:C6:14:1E:1A:0F:30";
	int n;

	ck_assert_int_eq(sdp_fingerprint_parse(in, strlen(in), &fp), 0);
	n = sdp_fingerprint_format(&fp, out, sizeof(out));
	ck_assert_int_eq(n, (int)strlen(in));
	ck_assert_str_eq(out, in);
	ck_assert_int_eq(sdp_fingerprint_parse(out, (size_t)n, &fp2), 0);
	ck_assert(memcmp(&fp, &fp2, sizeof(fp)) == 0);
	ck_assert_int_eq(sdp_fingerprint_format(&fp, out, (size_t)n), LK_ETOOBIG);
	/* The bare value, as the transport takes it. */
	ck_assert_int_eq(sdp_fingerprint_sha256_value(&fp, out, sizeof(out)), 0);
	ck_assert_str_eq(out, in + strlen("sha-256 "));
	ck_assert_int_eq(sdp_fingerprint_sha256_value(&fp, out, 10), LK_EINVAL);
	ck_assert_int_eq(
	        sdp_fingerprint_parse(
	                "sha-1 3D:39:1B:09:2C:F7:02:B4:22:9F:84:08:DB:BD:D1:69:43:39:EC:E5",
	                strlen("sha-1 3D:39:1B:09:2C:F7:02:B4:22:9F:84:08:DB:BD:D1:69:43:39:EC:E5"),
	                &fp2),
	        0);
	ck_assert_int_eq(sdp_fingerprint_sha256_value(&fp2, out, sizeof(out)), LK_EINVAL);

	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_SENDONLY, 1, 1), SDP_DIR_RECVONLY);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_SENDONLY, 1, 0), SDP_DIR_INACTIVE);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_RECVONLY, 1, 1), SDP_DIR_SENDONLY);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_RECVONLY, 0, 1), SDP_DIR_INACTIVE);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_UNSET, 1, 1), SDP_DIR_SENDRECV);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_SENDRECV, 0, 1), SDP_DIR_RECVONLY);
	ck_assert_int_eq(sdp_dir_answer(SDP_DIR_INACTIVE, 1, 1), SDP_DIR_INACTIVE);
	ck_assert_str_eq(sdp_dir_name(SDP_DIR_UNSET), "sendrecv");
	ck_assert_str_eq(sdp_setup_name(SDP_SETUP_HOLDCONN), "holdconn");
	ck_assert_ptr_null(sdp_setup_name(SDP_SETUP_UNSET));
}
END_TEST

static Suite *
sdp_suite(void)
{
	Suite *s = suite_create("sdp");
	TCase *tp = tcase_create("parse");
	TCase *tw = tcase_create("write");
	TCase *th = tcase_create("hostile");

	tcase_add_test(tp, test_rtcnode_v0_offer);
	tcase_add_test(tp, test_rtcnode_v1_offer);
	tcase_add_test(tp, test_rtcnode_mic_offer);
	tcase_add_test(tp, test_accepted_answer);
	tcase_add_test(tp, test_session_level_inherit);
	tcase_add_test(tp, test_candidates);
	tcase_add_test(tp, test_fingerprint_and_dirs);
	suite_add_tcase(s, tp);
	tcase_add_test(tw, test_answer_publisher_offer);
	tcase_add_test(tw, test_answer_rejects_mirror);
	tcase_add_test(tw, test_subscriber_offer);
	tcase_add_test(tw, test_writer_rejects_unsafe);
	suite_add_tcase(s, tw);
	tcase_add_test(th, test_candidates_bad);
	tcase_add_test(th, test_hostile_lines);
	tcase_add_test(th, test_hostile_counts);
	tcase_add_test(th, test_truncated_everywhere);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sdp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
