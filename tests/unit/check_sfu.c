/*
 * check_sfu: lk-devserver's SFU (src/devserver/sfu.c) against client-side
 * transports of src/rtc on one loop over 127.0.0.1: subscriber offers and
 * answers, a publisher offer with the extra sections rtc-node sends, RTP
 * forwarded with the subscriber's SSRC and no header extension, the drop
 * rate, garbage datagrams, malformed SDP and a leave. Every test ends with
 * no active watchers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <ev.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "rtc/cert.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"
#include "rtc/transport.h"
#include "devserver/rooms.h"
#include "devserver/sfu.h"
#include "../common/loop_check.h"

#define PUB_SSRC 0x01020304u

/* Stand-in for rooms.c (this test links only sfu.c): the arena is a list of blocks. */
void *
ds_arena_alloc(struct ds_arena *a, size_t size)
{
	void *p = lk_xcalloc(1, size > 0 ? size : 1);

	a->ptrs = lk_xrealloc(a->ptrs, (size_t)(a->n + 1) * sizeof(void *));
	a->ptrs[a->n++] = p;
	return p;
}

void
ds_arena_free(struct ds_arena *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	memset(a, 0, sizeof(*a));
}

/* A client: a participant's signalling view and its two client-side transports. */
struct cli {
	const char *name;
	struct ds_participant part;
	struct ds_sfu_peer *peer;
	struct rtc_transport *pub, *sub;
	enum rtc_transport_state pub_st, sub_st;
	int sub_remote_set, pub_remote_set;
	char *offer; /* last subscriber offer from the server */
	int n_offers;
	char *answer; /* last publisher answer */
	char track_sid[40];
	int n_published;
	int n_changed, n_active;
	/* media received on the subscriber transport */
	int n_rtp, rtp_bad, n_rtcp;
	uint32_t rtp_ssrc;
	uint16_t last_seq;
};

static struct ev_loop *loop;
static struct rtc_cert *cli_cert;
static struct ds_sfu *sfu;
static int room_key;

static void
cli_state(struct rtc_transport *t, enum rtc_transport_state st, const char *why, void *arg)
{
	struct cli *c = arg;

	(void)why;
	if (t == c->pub || c->pub == NULL)
		c->pub_st = st;
	else
		c->sub_st = st;
}

static void
cli_candidate(struct rtc_transport *t, const char *cand, void *arg)
{
	(void)t;
	(void)cand;
	(void)arg;
}

/* Forwarded packets: the offered SSRC, PT 111, no extension, the test payload. */
static void
cli_rtp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct cli *c = arg;
	struct rtp_hdr h;
	size_t i;

	(void)t;
	if (rtp_parse(pkt, len, &h) < 0 || h.pt != 111 || h.extension || h.cc != 0 ||
	        h.ssrc != c->rtp_ssrc || h.payload_len != 40) {
		c->rtp_bad++;
		return;
	}
	for (i = 0; i < h.payload_len; i++)
		if (h.payload[i] != (uint8_t)(h.seq + i))
			c->rtp_bad++;
	/* Sequence numbers continue one by one (loopback loses nothing). */
	if (c->n_rtp > 0 && h.seq != (uint16_t)(c->last_seq + 1))
		c->rtp_bad++;
	c->last_seq = h.seq;
	c->n_rtp++;
}

static void
cli_rtcp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct cli *c = arg;

	(void)t;
	(void)pkt;
	(void)len;
	c->n_rtcp++;
}

static const struct rtc_transport_cbs cli_tp_cbs = {
        .on_state = cli_state,
        .on_candidate = cli_candidate,
        .on_rtp = cli_rtp,
        .on_rtcp = cli_rtcp,
};

/* ---- the SFU's signalling callbacks ---- */

static int
cli_send(void *arg, const livekit_SignalResponse *resp)
{
	struct cli *c = arg;

	switch (resp->which_message) {
	case livekit_SignalResponse_offer_tag:
		ck_assert_str_eq(resp->message.offer->type, "offer");
		free(c->offer);
		c->offer = lk_xstrdup(resp->message.offer->sdp);
		c->n_offers++;
		break;
	case livekit_SignalResponse_answer_tag:
		ck_assert_str_eq(resp->message.answer->type, "answer");
		free(c->answer);
		c->answer = lk_xstrdup(resp->message.answer->sdp);
		break;
	case livekit_SignalResponse_track_published_tag:
		ck_assert_ptr_nonnull(resp->message.track_published->track);
		lk_strlcpy(c->track_sid, resp->message.track_published->track->sid,
		        sizeof(c->track_sid));
		ck_assert_str_eq(resp->message.track_published->cid, "mic");
		ck_assert_str_eq(resp->message.track_published->track->mime_type, "audio/opus");
		c->n_published++;
		break;
	default:
		ck_abort_msg("unexpected SignalResponse %u", (unsigned)resp->which_message);
	}
	return 0;
}

static void
cli_changed(void *arg)
{
	((struct cli *)arg)->n_changed++;
}

static void
cli_active(void *arg)
{
	((struct cli *)arg)->n_active++;
}

static const struct ds_sfu_peer_cbs cli_sfu_cbs = {cli_send, cli_changed, cli_active};

/* ---- running the loop ---- */

typedef int (*cond_fn)(void *);

struct waiter {
	cond_fn cond;
	void *arg;
};

static void
wait_poll_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct waiter *wt = w->data;

	(void)revents;
	if (wt->cond(wt->arg))
		ev_break(l, EVBREAK_ONE);
}

static void
wait_deadline_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ONE);
}

/* Run until cond holds or a generous deadline passes (no timing is asserted). */
static int
run_until(cond_fn cond, void *arg)
{
	struct waiter wt = {cond, arg};
	ev_timer poll, deadline;

	if (cond(arg))
		return 1;
	ev_timer_init(&poll, wait_poll_cb, 0.005, 0.005);
	poll.data = &wt;
	ev_timer_init(&deadline, wait_deadline_cb, 10.0, 0.0);
	ev_timer_start(loop, &poll);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	ev_timer_stop(loop, &poll);
	ev_timer_stop(loop, &deadline);
	return cond(arg);
}

/* Let the loop run for a short while (packets in flight land). */
static void
run_for(double secs)
{
	ev_timer t;

	ev_timer_init(&t, wait_deadline_cb, secs, 0.0);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

/* ---- clients ---- */

static struct rtc_transport *
cli_transport(struct cli *c)
{
	struct rtc_transport_opts o;
	struct rtc_transport *t;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.ice_mode = RTC_ICE_FULL;
	o.ice_role = RTC_ICE_CONTROLLING;
	o.cert = cli_cert;
	o.bind_ip = "127.0.0.1";
	o.gather_loopback = 1;
	t = rtc_transport_new(loop, &o, &cli_tp_cbs, c, err, sizeof(err));
	ck_assert_msg(t != NULL, "client transport: %s", err);
	return t;
}

static void
cli_join(struct cli *c, const char *name, const char *sid)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	c->name = name;
	lk_strlcpy(c->part.sid, sid, sizeof(c->part.sid));
	c->part.identity = (char *)name;
	c->part.perm.can_publish = 1;
	c->part.perm.can_subscribe = 1;
	c->peer = ds_sfu_peer_new(
	        sfu, &room_key, "room", &c->part, &cli_sfu_cbs, c, err, sizeof(err));
	ck_assert_msg(c->peer != NULL, "peer: %s", err);
	c->pub = cli_transport(c);
	c->sub = cli_transport(c);
}

static void
cli_free(struct cli *c)
{
	ds_sfu_peer_free(c->peer);
	rtc_transport_free(c->pub);
	rtc_transport_free(c->sub);
	free(c->offer);
	free(c->answer);
}

/* The server's ICE/DTLS parameters from its SDP into a client transport (we are DTLS client). */
static void
cli_take_remote(struct rtc_transport *t, const struct sdp_session *s, int *done)
{
	const struct sdp_media *m = s->media[0];
	char fp[SDP_MAX_DIGEST * 3 + 16];
	int i;

	ck_assert(s->ice_lite);
	ck_assert_int_gt(sdp_fingerprint_format(&m->fp, fp, sizeof(fp)), 0);
	ck_assert_int_gt(m->n_cand, 0);
	if (*done)
		return;
	ck_assert_int_eq(rtc_transport_set_remote(t, m->ice_ufrag, m->ice_pwd, 1,
	                         strchr(fp, ' ') + 1, RTC_DTLS_CLIENT),
	        0);
	for (i = 0; i < m->n_cand; i++) {
		char line[256];

		ck_assert_int_gt(sdp_candidate_format(&m->cand[i], line, sizeof(line)), 0);
		ck_assert_int_eq(rtc_transport_add_remote_candidate(t, line), 0);
	}
	*done = 1;
}

static void
cli_out_session(struct sdp_out *o, struct rtc_transport *t, enum sdp_setup setup)
{
	char line[SDP_MAX_DIGEST * 3 + 16];

	o->sess_id = 42;
	o->sess_version = 1;
	o->ice_ufrag = rtc_transport_ufrag(t);
	o->ice_pwd = rtc_transport_pwd(t);
	snprintf(line, sizeof(line), "sha-256 %s", rtc_cert_fingerprint(cli_cert));
	ck_assert_int_eq(sdp_fingerprint_parse(line, strlen(line), &o->fp), 0);
	o->setup = setup;
	o->bundle = 1;
}

/*
 * Answer the pending subscriber offer as libwebrtc does: every section
 * accepted, audio sendonly -> recvonly with Opus, setup active. Returns
 * the SSRC the offer gives the sendonly section with mid `mid` (0: none).
 */
static uint32_t
cli_answer_sub(struct cli *c, const char *want_mid, const char *want_stream)
{
	struct sdp_session *s = NULL;
	struct sdp_out *o = lk_xcalloc(1, sizeof(*o));
	livekit_SessionDescription sd;
	const char *why = NULL;
	struct buf b;
	uint32_t ssrc = 0;
	int i;

	ck_assert_ptr_nonnull(c->offer);
	ck_assert_int_eq(sdp_parse(c->offer, strlen(c->offer), &s), 0);
	ck_assert_int_ge(s->n_media, 1);
	/* Section 0 is always the data section. */
	ck_assert_int_eq(s->media[0]->type, SDP_MEDIA_APPLICATION);
	ck_assert_int_eq(s->media[0]->setup, SDP_SETUP_ACTPASS);
	ck_assert_int_eq(s->n_bundle, s->n_media);
	cli_take_remote(c->sub, s, &c->sub_remote_set);
	ck_assert_int_eq(sdp_out_mirror(o, s), 0);
	cli_out_session(o, c->sub, SDP_SETUP_ACTIVE);
	for (i = 0; i < s->n_media; i++) {
		const struct sdp_media *m = s->media[i];
		struct sdp_out_media *om = &o->media[i];

		om->rejected = 0;
		if (m->type == SDP_MEDIA_APPLICATION) {
			om->sctp_port = 5000;
			continue;
		}
		ck_assert_int_eq(m->type, SDP_MEDIA_AUDIO);
		ck_assert(m->rtcp_mux);
		ck_assert_int_eq(m->n_codec, 1);
		ck_assert_int_eq(m->codec[0].pt, 111);
		ck_assert_int_eq(m->n_ext, 0);
		om->fmt = NULL;
		om->n_fmt = 0;
		om->rtcp_mux = 1;
		sdp_out_codec_from(&om->codec[0], &m->codec[0]);
		om->n_codec = 1;
		om->dir = sdp_dir_answer(m->dir, 0, 1);
		if (want_mid != NULL && strcmp(m->mid, want_mid) == 0) {
			ck_assert_int_eq(m->dir, SDP_DIR_SENDONLY);
			ck_assert_str_eq(m->msid_stream, want_stream);
			ck_assert_int_eq(m->n_ssrc, 1);
			ck_assert_str_eq(m->ssrc[0].msid_stream, want_stream);
			ssrc = m->ssrc[0].ssrc;
		}
	}
	buf_init(&b, 0);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	memset(&sd, 0, sizeof(sd));
	sd.type = (char *)"answer";
	sd.sdp = (char *)b.data;
	ck_assert_int_eq(ds_sfu_peer_answer(c->peer, &sd, &why), 0);
	buf_free(&b);
	free(o);
	sdp_free(s);
	free(c->offer);
	c->offer = NULL;
	return ssrc;
}

/*
 * AddTrackRequest{cid "mic"} and a publisher offer shaped like rtc-node's
 * after a /rtc/v1 fallback: recvonly audio and video, the data section,
 * then the sendonly microphone (a=msid:- mic, a=ssrc).
 */
static void
cli_publish(struct cli *c)
{
	livekit_AddTrackRequest add;
	livekit_SessionDescription sd;
	struct sdp_out *o = lk_xcalloc(1, sizeof(*o));
	struct sdp_session *s = NULL;
	const char *why = NULL;
	struct buf b;
	struct sdp_out_media *m;

	memset(&add, 0, sizeof(add));
	add.cid = (char *)"mic";
	add.name = (char *)"microphone";
	add.type = livekit_TrackType_AUDIO;
	add.source = livekit_TrackSource_MICROPHONE;
	ck_assert_int_eq(ds_sfu_peer_add_track(c->peer, &add, &why), 0);
	ck_assert_int_eq(c->n_published, 1);
	ck_assert_int_eq(strncmp(c->track_sid, "TR_AM", 5), 0);

	cli_out_session(o, c->pub, SDP_SETUP_ACTPASS);
	m = &o->media[0];
	m->type = SDP_MEDIA_AUDIO;
	m->mid = "0";
	m->dir = SDP_DIR_RECVONLY;
	m->rtcp_mux = 1;
	m->codec[0] =
	        (struct sdp_out_codec){111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {0}, 0};
	m->codec[1] = (struct sdp_out_codec){0, "PCMU", 8000, 1, NULL, {0}, 0};
	m->n_codec = 2;
	m = &o->media[1];
	m->type = SDP_MEDIA_VIDEO;
	m->mid = "1";
	m->dir = SDP_DIR_RECVONLY;
	m->rtcp_mux = 1;
	m->codec[0] = (struct sdp_out_codec){96, "VP8", 90000, 1, NULL, {0}, 0};
	m->n_codec = 1;
	m = &o->media[2];
	m->type = SDP_MEDIA_APPLICATION;
	m->mid = "2";
	m->sctp_port = 5000;
	m = &o->media[3];
	m->type = SDP_MEDIA_AUDIO;
	m->mid = "3";
	m->dir = SDP_DIR_SENDONLY;
	m->rtcp_mux = 1;
	m->codec[0] = (struct sdp_out_codec){63, "red", 48000, 2, "111/111", {0}, 0};
	m->codec[1] =
	        (struct sdp_out_codec){111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {0}, 0};
	m->n_codec = 2;
	m->ext[0] = (struct sdp_out_ext){4, "urn:ietf:params:rtp-hdrext:sdes:mid"};
	m->n_ext = 1;
	m->msid_stream = "-";
	m->msid_track = "mic";
	m->ssrc = PUB_SSRC;
	m->cname = "cli";
	o->n_media = 4;
	buf_init(&b, 0);
	ck_assert_int_eq(sdp_write(o, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	memset(&sd, 0, sizeof(sd));
	sd.type = (char *)"offer";
	sd.sdp = (char *)b.data;
	ck_assert_int_eq(ds_sfu_peer_offer(c->peer, &sd, &why), 0);
	buf_free(&b);
	free(o);

	/* The answer: same sections in order; only the microphone is received, as Opus 111. */
	ck_assert_ptr_nonnull(c->answer);
	ck_assert_int_eq(sdp_parse(c->answer, strlen(c->answer), &s), 0);
	ck_assert_int_eq(s->n_media, 4);
	ck_assert_int_eq(s->media[0]->dir, SDP_DIR_INACTIVE);
	ck_assert_int_eq(s->media[1]->dir, SDP_DIR_INACTIVE);
	ck_assert_int_eq(s->media[1]->type, SDP_MEDIA_VIDEO);
	ck_assert_int_eq(s->media[2]->type, SDP_MEDIA_APPLICATION);
	ck_assert_int_ne(s->media[2]->port, 0);
	ck_assert_int_eq(s->media[2]->sctp_port, 5000);
	ck_assert_int_eq(s->media[3]->dir, SDP_DIR_RECVONLY);
	ck_assert_int_eq(s->media[3]->n_codec, 1);
	ck_assert_int_eq(s->media[3]->codec[0].pt, 111);
	ck_assert_int_eq(s->media[3]->n_ext, 0);
	ck_assert_int_eq(s->media[3]->setup, SDP_SETUP_PASSIVE);
	ck_assert_int_eq(s->n_bundle, 4);
	cli_take_remote(c->pub, s, &c->pub_remote_set);
	sdp_free(s);
	/* ParticipantUpdate time: the track is published. */
	ck_assert_int_eq(c->n_changed, 1);
}

/* Test RTP from the publisher: SSRC PUB_SSRC, a one-byte header extension, 40 payload bytes. */
static void
cli_send_rtp(struct cli *c, uint16_t seq)
{
	uint8_t b[128];
	int i;

	memset(b, 0, sizeof(b));
	b[0] = 0x90; /* V=2, X=1 */
	b[1] = 111;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[7] = (uint8_t)seq; /* timestamp */
	b[8] = 0x01;
	b[9] = 0x02;
	b[10] = 0x03;
	b[11] = 0x04;
	/* RFC 8285 one-byte block: id 4 (mid), len 1 -> "3", padded to 4 bytes. */
	b[12] = 0xBE;
	b[13] = 0xDE;
	b[14] = 0;
	b[15] = 1;
	b[16] = 0x40;
	b[17] = '3';
	for (i = 0; i < 40; i++)
		b[20 + i] = (uint8_t)(seq + i);
	ck_assert_int_eq(rtc_transport_send_rtp(c->pub, b, 60), 0);
}

/* ---- conditions ---- */

static int
has_offer(void *arg)
{
	return ((struct cli *)arg)->offer != NULL;
}

struct pair {
	struct cli *a, *b;
	int n;
};

static int
all_connected(void *arg)
{
	struct pair *p = arg;

	return p->a->pub_st == RTC_TS_CONNECTED && p->a->sub_st == RTC_TS_CONNECTED &&
	        p->b->sub_st == RTC_TS_CONNECTED;
}

static int
b_got(void *arg)
{
	struct pair *p = arg;

	return p->b->n_rtp >= p->n;
}

/* A counter from /debug/rtc: <identity>.<obj>.<key>, or tracks[0].<key> for identity NULL. */
static long long
debug_num(const char *identity, const char *obj, const char *key)
{
	char *s = ds_sfu_debug_json(sfu);
	json_t *root, *v = NULL, *parts;
	long long n;
	size_t i;

	ck_assert_ptr_nonnull(s);
	root = json_loads(s, 0, NULL);
	free(s);
	ck_assert_ptr_nonnull(root);
	if (identity == NULL) {
		v = json_array_get(json_object_get(root, "tracks"), 0);
	} else {
		parts = json_object_get(root, "participants");
		for (i = 0; i < json_array_size(parts); i++)
			if (strcmp(json_string_value(
			                   json_object_get(json_array_get(parts, i), "identity")),
			            identity) == 0)
				v = json_array_get(parts, i);
	}
	if (obj != NULL)
		v = json_object_get(v, obj);
	v = json_object_get(v, key);
	ck_assert_msg(json_is_integer(v), "debug json has no %s", key);
	n = json_integer_value(v);
	json_decref(root);
	return n;
}

static int
all_rtp_counted(void *arg)
{
	return debug_num(NULL, NULL, "rx_rtp") >= *(int *)arg;
}

/*
 * alice publishes, bob subscribes: both join, answer their first offer,
 * alice publishes; bob gets a renegotiated offer with her track; media
 * connects and RTP goes through.
 */
static void
two_clients(struct cli *a, struct cli *b, uint32_t *ssrc)
{
	char stream[96];
	struct pair p = {a, b, 0};

	cli_join(a, "alice", "PA_alice");
	cli_join(b, "bob", "PA_bob");
	ck_assert(run_until(has_offer, a));
	ck_assert(run_until(has_offer, b));
	/* The first offer holds the data section only. */
	ck_assert_int_eq(cli_answer_sub(a, NULL, NULL), 0);
	ck_assert_int_eq(cli_answer_sub(b, NULL, NULL), 0);
	cli_publish(a);
	ck_assert(run_until(has_offer, b));
	ck_assert_int_eq(b->n_offers, 2);
	snprintf(stream, sizeof(stream), "PA_alice|%s", a->track_sid);
	*ssrc = cli_answer_sub(b, "1", stream);
	ck_assert_uint_ne(*ssrc, 0);
	b->rtp_ssrc = *ssrc;
	ck_assert_msg(run_until(all_connected, &p), "transports: %d %d %d", a->pub_st, a->sub_st,
	        b->sub_st);
	ck_assert_int_eq(b->n_active, 1);
	/* alice's own offer count did not move: she subscribes to nothing. */
	ck_assert_int_eq(a->n_offers, 1);
}

static void
sfu_start(double drop)
{
	struct ds_sfu_opts o;
	char err[256];

	loop = ev_loop_new(EVFLAG_AUTO);
	cli_cert = rtc_cert_new();
	ck_assert_ptr_nonnull(cli_cert);
	memset(&o, 0, sizeof(o));
	o.rtc_ip = "127.0.0.1";
	o.drop_rate = drop;
	o.gather_loopback = 1;
	sfu = ds_sfu_new(loop, &o, err, sizeof(err));
	ck_assert_msg(sfu != NULL, "sfu: %s", err);
}

static void
sfu_stop(void)
{
	ds_sfu_free(sfu);
	sfu = NULL;
	loop_check_no_watchers(loop);
	rtc_cert_free(cli_cert);
	ev_loop_destroy(loop);
}

START_TEST(test_forward)
{
	struct cli a, b;
	struct pair p = {&a, &b, 30};
	uint32_t ssrc;
	uint16_t i;

	sfu_start(0);
	two_clients(&a, &b, &ssrc);
	for (i = 0; i < 30; i++)
		cli_send_rtp(&a, (uint16_t)(1000 + i));
	ck_assert_msg(run_until(b_got, &p), "bob got %d of 30", b.n_rtp);
	ck_assert_int_eq(b.rtp_bad, 0);
	ck_assert_int_eq(debug_num(NULL, NULL, "forwarded"), 30);
	ck_assert_int_eq(debug_num(NULL, NULL, "dropped"), 0);

	/* alice leaves: bob's next offer keeps mid 1, inactive, without msid. */
	ds_sfu_peer_free(a.peer);
	a.peer = NULL;
	ck_assert(run_until(has_offer, &b));
	{
		struct sdp_session *s = NULL;

		ck_assert_int_eq(sdp_parse(b.offer, strlen(b.offer), &s), 0);
		ck_assert_int_eq(s->n_media, 2);
		ck_assert_str_eq(s->media[1]->mid, "1");
		ck_assert_int_eq(s->media[1]->dir, SDP_DIR_INACTIVE);
		ck_assert_ptr_null(s->media[1]->msid_stream);
		sdp_free(s);
	}
	ck_assert_int_eq(cli_answer_sub(&b, NULL, NULL), 0);
	cli_free(&a);
	cli_free(&b);
	sfu_stop();
}
END_TEST

START_TEST(test_drop_all)
{
	struct cli a, b;
	uint32_t ssrc;
	uint16_t i;
	int n = 20;

	sfu_start(1.0);
	two_clients(&a, &b, &ssrc);
	for (i = 0; i < n; i++)
		cli_send_rtp(&a, (uint16_t)(7 + i));
	ck_assert(run_until(all_rtp_counted, &n));
	run_for(0.1);
	ck_assert_int_eq(b.n_rtp, 0);
	ck_assert_int_eq(debug_num(NULL, NULL, "dropped"), n);
	ck_assert_int_eq(debug_num(NULL, NULL, "forwarded"), 0);
	cli_free(&a);
	cli_free(&b);
	sfu_stop();
}
END_TEST

static int
garbage_counted(void *arg)
{
	return debug_num("bob", "subscriber", "rx_garbage") >= *(int *)arg;
}

START_TEST(test_hostile)
{
	struct cli a, b;
	livekit_SessionDescription sd;
	livekit_TrickleRequest tr;
	struct sockaddr_in sa;
	const char *why = NULL;
	uint8_t junk[300];
	uint32_t ssrc;
	uint16_t i;
	int fd, n = 50, k;

	sfu_start(0);
	two_clients(&a, &b, &ssrc);

	/* Random datagrams at bob's subscriber port: counted, dropped, harmless. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)debug_num("bob", "subscriber", "port"));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (k = 0; k < n; k++) {
		lk_random(junk, sizeof(junk));
		junk[0] = (uint8_t)(k % 4 == 0 ? 0x80 : k % 4 == 1 ? 22 : k % 4 == 2 ? 0 : 99);
		ck_assert_int_gt(
		        sendto(fd, junk, 20 + (size_t)k * 5, 0, (struct sockaddr *)&sa, sizeof(sa)),
		        0);
	}
	close(fd);
	ck_assert(run_until(garbage_counted, &n));

	/* Trickle that is not JSON, or not a candidate, is ignored. */
	memset(&tr, 0, sizeof(tr));
	tr.candidateInit = (char *)"{not json";
	ck_assert_int_eq(ds_sfu_peer_trickle(b.peer, &tr, &why), 0);
	tr.candidateInit = (char *)"{\"candidate\":\"candidate:x\",\"sdpMid\":\"0\"}";
	tr.target = livekit_SignalTarget_SUBSCRIBER;
	ck_assert_int_eq(ds_sfu_peer_trickle(b.peer, &tr, &why), 0);

	/* Malformed SDP is refused (the caller closes that participant). */
	memset(&sd, 0, sizeof(sd));
	sd.type = (char *)"offer";
	sd.sdp = (char *)"v=0\r\nnot an sdp\r\n";
	ck_assert_int_lt(ds_sfu_peer_offer(a.peer, &sd, &why), 0);
	ck_assert_ptr_nonnull(why);
	sd.sdp = NULL;
	ck_assert_int_lt(ds_sfu_peer_offer(a.peer, &sd, &why), 0);
	sd.type = (char *)"answer";
	sd.sdp = (char *)"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
	/* No offer in flight: an answer is ignored, not fatal. */
	ck_assert_int_eq(ds_sfu_peer_answer(b.peer, &sd, &why), 0);

	/* Media still flows after all that. */
	b.n_rtp = 0;
	for (i = 0; i < 10; i++)
		cli_send_rtp(&a, (uint16_t)(500 + i));
	{
		struct pair p = {&a, &b, 10};

		ck_assert(run_until(b_got, &p));
	}
	ck_assert_int_eq(b.rtp_bad, 0);
	cli_free(&a);
	cli_free(&b);
	sfu_stop();
}
END_TEST

static Suite *
sfu_suite(void)
{
	Suite *s = suite_create("sfu");
	TCase *tc = tcase_create("media");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_forward);
	tcase_add_test(tc, test_drop_all);
	tcase_add_test(tc, test_hostile);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sfu_suite());
	int failed;

	log_set_level(LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
