/*
 * check_pipeline: lk-jobproc's audio paths without sockets (Opus RTP of a
 * 440 Hz tone with 10% loss and reordering reaches the tap as 24 kHz
 * frames at 440 Hz; the out path writes continuous RTP; the 20 ms pacer;
 * no allocation per frame after warm-up) and media.c's offer/answer logic
 * on a subscriber offer in the dev server's format (rtc-protocol.md §5.1).
 * This binary replaces malloc to count allocations (as check_audio_alloc);
 * under AddressSanitizer that one test skips its count.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <ev.h>

#include "audio/analyze.h"
#include "audio/codec.h"
#include "audio/tone.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "jobproc/media.h"
#include "jobproc/pipeline.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"

#if defined(__SANITIZE_ADDRESS__)
#define T_HOOKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_HOOKED 0
#endif
#endif
#ifndef T_HOOKED
#define T_HOOKED 1
#endif

static unsigned long t_allocs;

#if T_HOOKED
/* glibc's own entry points, exported for exactly this kind of wrapper. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);
void *memalign(size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);

void *
malloc(size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

void *
memalign(size_t align, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

static unsigned long
t_count(void)
{
	return __atomic_load_n(&t_allocs, __ATOMIC_RELAXED);
}

static void
setup(void)
{
	log_init("check_pipeline");
	log_set_level(LOG_ERROR);
}

/* ---- a sender: Opus RTP of a tone ---- */

#define T_RATE 24000
#define T_SFRAME (T_RATE / 50)
#define T_PACKETS 200 /* 4 s */

struct t_pkt {
	uint8_t data[PIPELINE_MAX_RTP];
	size_t len;
	uint16_t seq;
};

/* n packets of a freq tone, sequence numbers from seq0 (wrapping). */
static void
t_make_stream(struct t_pkt *pkts, int n, double freq, uint16_t seq0)
{
	struct aud_opus_enc_opts eo = {.loss_pct = 10};
	struct aud_opus_enc *enc = aud_opus_enc_new(&eo, NULL);
	struct aud_tone *tone = aud_tone_new(freq, 0.5, AUD_OPUS_RATE, NULL);
	int16_t pcm[AUD_OPUS_FRAME];
	struct rtp_hdr h;

	ck_assert_ptr_nonnull(enc);
	ck_assert_ptr_nonnull(tone);
	for (int i = 0; i < n; i++) {
		int hl, len;

		memset(&h, 0, sizeof(h));
		h.pt = PIPELINE_OPUS_PT;
		h.seq = (uint16_t)(seq0 + i);
		h.ts = 1000u + (uint32_t)i * AUD_OPUS_FRAME;
		h.ssrc = 0x11223344;
		h.marker = i == 0;
		hl = rtp_write_hdr(pkts[i].data, sizeof(pkts[i].data), &h);
		ck_assert_int_gt(hl, 0);
		aud_tone_fill(tone, pcm, AUD_OPUS_FRAME);
		len = aud_opus_enc_encode(
		        enc, pcm, pkts[i].data + hl, sizeof(pkts[i].data) - (size_t)hl);
		ck_assert_int_gt(len, 2);
		pkts[i].len = (size_t)hl + (size_t)len;
		pkts[i].seq = h.seq;
	}
	aud_tone_free(tone);
	aud_opus_enc_free(enc);
}

/* The tap: every frame's samples, one after another. */
struct t_tap {
	int16_t *pcm;
	size_t n, cap;
	size_t frames, bad_sizes;
};

static void
t_tap_frame(const int16_t *pcm, size_t n, void *arg)
{
	struct t_tap *t = arg;

	t->frames++;
	if (n != T_SFRAME)
		t->bad_sizes++;
	if (t->n + n <= t->cap) {
		memcpy(t->pcm + t->n, pcm, n * sizeof(*pcm));
		t->n += n;
	}
}

static uint32_t t_seed;

static uint32_t
t_rand(void)
{
	t_seed = t_seed * 1103515245u + 12345u;
	return t_seed >> 16;
}

static double
t_peak(const struct t_tap *tap, size_t skip)
{
	double f = 0;

	ck_assert_uint_gt(tap->n, skip + T_RATE);
	ck_assert_int_eq(aud_analyze_peak(tap->pcm + skip, tap->n - skip, T_RATE, 50, 4000, &f), 0);
	return f;
}

/* ---- in path ---- */

START_TEST(test_in_tone_with_loss_and_reordering)
{
	static struct t_pkt pkts[T_PACKETS];
	int order[T_PACKETS], n = 0, lost = 0;
	struct pipeline_in_opts o = {.pt = PIPELINE_OPUS_PT, .out_rate = T_RATE};
	struct t_tap tap = {.cap = (size_t)T_PACKETS * T_SFRAME};
	struct pipeline_in_stats st;
	struct pipeline_in *in;
	double f;

	tap.pcm = calloc(tap.cap, sizeof(int16_t));
	/* Across the 16-bit sequence wrap. */
	t_make_stream(pkts, T_PACKETS, 440, 65500);
	in = pipeline_in_new(&o, t_tap_frame, &tap, NULL);
	ck_assert_ptr_nonnull(in);

	/* 10% loss (never the first or the last packet), then swap some
	 * neighbours: arrival order differs from sequence order. */
	t_seed = 7;
	for (int i = 0; i < T_PACKETS; i++) {
		if (i > 0 && i < T_PACKETS - 1 && t_rand() % 10 == 0) {
			lost++;
			continue;
		}
		order[n++] = i;
	}
	for (int k = 1; k + 1 < n - 1; k += 2)
		if (t_rand() % 4 == 0) {
			int tmp = order[k];
			order[k] = order[k + 1];
			order[k + 1] = tmp;
		}
	ck_assert_int_ge(lost, T_PACKETS / 20);
	for (int k = 0; k < n; k++)
		ck_assert_int_eq(pipeline_in_rtp(in, pkts[order[k]].data, pkts[order[k]].len), 0);
	pipeline_in_flush(in);
	pipeline_in_get_stats(in, &st);

	/* Every lost packet was filled, by FEC when the next one was there. */
	ck_assert_uint_eq(st.packets, (uint64_t)n);
	ck_assert_uint_eq(st.concealed + st.recovered, (uint64_t)lost);
	ck_assert_uint_gt(st.recovered, 0);
	ck_assert_uint_eq(st.late, 0);
	ck_assert_uint_eq(st.corrupt, 0);
	/* A continuous timeline: one 20 ms frame per sequence number. */
	ck_assert_uint_eq(st.frames, T_PACKETS);
	ck_assert_uint_eq(tap.frames, T_PACKETS);
	ck_assert_uint_eq(tap.bad_sizes, 0);
	/* Past the codec's and resampler's start-up. */
	f = t_peak(&tap, T_RATE / 5);
	ck_assert_msg(fabs(f - 440) <= 5, "dominant frequency %.2f Hz, want 440 +- 5", f);
	pipeline_in_free(in);
	free(tap.pcm);
}
END_TEST

START_TEST(test_in_drops_garbage)
{
	static struct t_pkt pkts[4];
	struct pipeline_in_opts o = {.pt = PIPELINE_OPUS_PT, .out_rate = T_RATE};
	struct t_tap tap = {.cap = 16 * T_SFRAME};
	struct pipeline_in_stats st;
	struct pipeline_in *in;
	uint8_t junk[64];

	tap.pcm = calloc(tap.cap, sizeof(int16_t));
	t_make_stream(pkts, 4, 440, 10);
	in = pipeline_in_new(&o, t_tap_frame, &tap, NULL);
	ck_assert_ptr_nonnull(in);
	memset(junk, 0xAB, sizeof(junk));
	ck_assert_int_eq(pipeline_in_rtp(in, junk, sizeof(junk)), LK_EINVAL); /* version 2? no */
	ck_assert_int_eq(pipeline_in_rtp(in, junk, 3), LK_EINVAL);
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[0].data, 12), LK_EINVAL); /* no payload */
	pkts[1].data[1] = (uint8_t)((pkts[1].data[1] & 0x80) | 63); /* RED */
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[1].data, pkts[1].len), LK_EINVAL);
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[0].data, pkts[0].len), 0);
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[0].data, pkts[0].len), 0); /* duplicate */
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[3].data, pkts[3].len), 0);
	ck_assert_int_eq(pipeline_in_rtp(in, pkts[2].data, pkts[2].len), 0);
	pipeline_in_flush(in);
	pipeline_in_get_stats(in, &st);
	ck_assert_uint_eq(st.malformed, 3);
	ck_assert_uint_eq(st.wrong_pt, 1);
	ck_assert_uint_eq(st.packets, 3);
	ck_assert_uint_eq(st.late + st.duplicate, 1);
	/* seq 11 went missing (it was the RED one): concealed or recovered. */
	ck_assert_uint_eq(st.concealed + st.recovered, 1);
	ck_assert_uint_eq(tap.frames, 4);
	pipeline_in_free(in);
	free(tap.pcm);
}
END_TEST

START_TEST(test_in_rejects_bad_options)
{
	struct pipeline_in_opts o = {.pt = PIPELINE_OPUS_PT, .out_rate = 22001};
	int err = 0;

	ck_assert_ptr_null(pipeline_in_new(&o, t_tap_frame, NULL, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	o.out_rate = T_RATE;
	ck_assert_ptr_null(pipeline_in_new(&o, NULL, NULL, &err));
	ck_assert(pipeline_rate_ok(16000));
	ck_assert(pipeline_rate_ok(48000));
	ck_assert(pipeline_rate_ok(44100)); /* 882 samples per 20 ms */
	ck_assert(!pipeline_rate_ok(7950));
	ck_assert(!pipeline_rate_ok(96000));
}
END_TEST

/* ---- out path ---- */

START_TEST(test_out_rtp_continuous)
{
	struct pipeline_out_opts o = {
	        .in_rate = T_RATE, .pt = 111, .ssrc = 0xCAFEBABE, .seq = 65530, .ts = 0xFFFFF000};
	struct pipeline_out *out = pipeline_out_new(&o, NULL);
	struct aud_tone *tone = aud_tone_new(660, 0.3, T_RATE, NULL);
	struct pipeline_in_opts io = {.pt = 111, .out_rate = T_RATE};
	struct t_tap tap = {.cap = (size_t)T_PACKETS * T_SFRAME};
	struct aud_opus_dec *dec = aud_opus_dec_new(NULL);
	struct pipeline_out_stats ost;
	struct pipeline_in *in;
	int16_t pcm[T_SFRAME], dpcm[AUD_OPUS_MAX_SAMPLES];
	uint8_t pkt[PIPELINE_MAX_RTP];
	uint16_t seq = 0;
	uint32_t ts = 0;
	double f;

	tap.pcm = calloc(tap.cap, sizeof(int16_t));
	in = pipeline_in_new(&io, t_tap_frame, &tap, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(tone);
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_eq(pipeline_out_frame_samples(out), T_SFRAME);
	for (int i = 0; i < T_PACKETS; i++) {
		struct rtp_hdr h;
		int len;

		aud_tone_fill(tone, pcm, T_SFRAME);
		len = pipeline_out_packet(out, pcm, pkt, sizeof(pkt));
		ck_assert_int_gt(len, RTP_HEADER_LEN);
		ck_assert_int_eq(rtp_parse(pkt, (size_t)len, &h), 0);
		ck_assert_uint_eq(h.pt, 111);
		ck_assert_uint_eq(h.ssrc, 0xCAFEBABE);
		ck_assert_uint_eq(h.marker, i == 0);
		ck_assert_uint_eq(h.cc, 0);
		if (i > 0) {
			/* RFC 3550: +1 per packet; RFC 7587: +960 per 20 ms. */
			ck_assert_uint_eq(h.seq, (uint16_t)(seq + 1));
			ck_assert_uint_eq(h.ts, ts + AUD_OPUS_FRAME);
		} else {
			ck_assert_uint_eq(h.seq, 65530);
			ck_assert_uint_eq(h.ts, 0xFFFFF000u);
		}
		seq = h.seq;
		ts = h.ts;
		/* A valid 20 ms Opus packet. */
		ck_assert_int_eq(aud_opus_packet_samples(h.payload, h.payload_len), AUD_OPUS_FRAME);
		ck_assert_int_eq(aud_opus_dec_decode(
		                         dec, h.payload, h.payload_len, dpcm, AUD_OPUS_MAX_SAMPLES),
		        AUD_OPUS_FRAME);
		ck_assert_int_eq(pipeline_in_rtp(in, pkt, (size_t)len), 0);
	}
	pipeline_out_get_stats(out, &ost);
	ck_assert_uint_eq(ost.frames, T_PACKETS);
	ck_assert_uint_eq(ost.next_seq, (uint16_t)(65530 + T_PACKETS));
	/* Marker again after pipeline_out_mark (a new talkspurt). */
	pipeline_out_mark(out);
	{
		struct rtp_hdr h;
		int len = pipeline_out_packet(out, pcm, pkt, sizeof(pkt));
		ck_assert_int_eq(rtp_parse(pkt, (size_t)len, &h), 0);
		ck_assert_uint_eq(h.marker, 1);
	}
	/* Too small a buffer is an error, not an overflow. */
	ck_assert_int_lt(pipeline_out_packet(out, pcm, pkt, 8), 0);
	/* Out -> in: the far end hears the tone that was sent. */
	f = t_peak(&tap, T_RATE / 5);
	ck_assert_msg(fabs(f - 660) <= 5, "dominant frequency %.2f Hz, want 660 +- 5", f);
	pipeline_in_free(in);
	pipeline_out_free(out);
	aud_tone_free(tone);
	aud_opus_dec_free(dec);
	free(tap.pcm);
}
END_TEST

/* ---- pacer ---- */

struct t_pacer {
	int ticks, stop_at;
};

static void
t_pacer_tick(struct pipeline_pacer *p, void *arg)
{
	struct t_pacer *t = arg;

	if (++t->ticks == t->stop_at)
		pipeline_pacer_stop(p);
}

START_TEST(test_pacer_ticks_and_stops)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pipeline_pacer p;
	struct t_pacer t = {0, 5};

	pipeline_pacer_init(&p, loop, t_pacer_tick, &t);
	ck_assert(!pipeline_pacer_active(&p));
	pipeline_pacer_start(&p);
	ck_assert(pipeline_pacer_active(&p));
	/* The loop ends by itself: the pacer leaves no watcher behind. */
	ev_run(loop, 0);
	ck_assert_int_eq(t.ticks, 5);
	ck_assert(!pipeline_pacer_active(&p));
	ck_assert_uint_eq(p.ticks, 5);
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- allocations ---- */

#define T_WARM 50
#define T_MEASURED 300

/*
 * Inside the measured loop nothing may call ck_assert (each passing check
 * allocates a mark point); bad results are counted instead.
 */
START_TEST(test_steady_state_allocates_nothing)
{
	static struct t_pkt pkts[T_WARM + T_MEASURED];
	struct pipeline_in_opts io = {.pt = PIPELINE_OPUS_PT, .out_rate = T_RATE};
	struct pipeline_out_opts oo = {.in_rate = T_RATE, .pt = 111, .ssrc = 1};
	struct t_tap tap = {.cap = 0};
	struct pipeline_in *in;
	struct pipeline_out *out;
	struct aud_tone *tone = aud_tone_new(440, 0.3, T_RATE, NULL);
	int16_t pcm[T_SFRAME];
	uint8_t pkt[PIPELINE_MAX_RTP];
	unsigned long before = 0, used;
	int bad = 0;

	if (!T_HOOKED) {
		/* Under ASan the count would be meaningless: say so, run the path anyway. */
		fprintf(stderr,
		        "check_pipeline: allocation count skipped (sanitizer owns malloc)\n");
	}
	if (T_HOOKED) {
		/* The counter sees allocations (else the zero below proves nothing). */
		unsigned long c0 = t_count();
		char *volatile x = malloc(8);
		ck_assert_uint_eq(t_count(), c0 + 1);
		free(x);
	}
	t_make_stream(pkts, T_WARM + T_MEASURED, 440, 0);
	in = pipeline_in_new(&io, t_tap_frame, &tap, NULL);
	out = pipeline_out_new(&oo, NULL);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(tone);
	for (int i = 0; i < T_WARM + T_MEASURED; i++) {
		if (i == T_WARM)
			before = t_count();
		/* Every 10th packet lost: concealment and FEC are measured too. */
		if (i % 10 != 5 && pipeline_in_rtp(in, pkts[i].data, pkts[i].len) != 0)
			bad++;
		aud_tone_fill(tone, pcm, T_SFRAME);
		if (pipeline_out_packet(out, pcm, pkt, sizeof(pkt)) <= 0)
			bad++;
	}
	used = t_count() - before;
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_ge(tap.frames, T_WARM + T_MEASURED - 4);
	if (T_HOOKED)
		ck_assert_msg(
		        used == 0, "%lu allocations in %d frames after warm-up", used, T_MEASURED);
	pipeline_in_free(in);
	pipeline_out_free(out);
	aud_tone_free(tone);
}
END_TEST

/* ---- media: offer/answer ---- */

#define FP_SRV                                                                                       \
	"3D:39:1B:09:2C:F7:02:B4:22:9F:84:08:DB:BD:D1:69:43:39:EC:E5:97:AF:C0:DF:E3:DA:C6:14:1E:1A:" \
	"0F:31"
#define FP_OURS                                                                                      \
	"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:" \
	"88:99"

/*
 * A subscriber offer as lk-devserver writes it (rtc-protocol.md §5.1 and
 * src/devserver/sfu.c): ICE-lite, actpass, host candidates in every
 * section, m=application first, one sendonly Opus m-line bound to a track
 * (a=msid PA|TR TR, a=ssrc) and one inactive (an unbound slot). A video
 * section is added as livekit-server could send.
 */
static const char t_offer[] =
        "v=0\r\n"
        "o=- 4611731400430051336 3 IN IP4 127.0.0.1\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "a=ice-lite\r\n"
        "a=group:BUNDLE 0 1 2 3\r\n"
        "a=msid-semantic: WMS\r\n"
        "m=application 50000 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "c=IN IP4 10.77.2.1\r\n"
        "a=ice-ufrag:srvu\r\n"
        "a=ice-pwd:serverpasswordserverpassword\r\n"
        "a=fingerprint:sha-256 " FP_SRV "\r\n"
        "a=setup:actpass\r\n"
        "a=mid:0\r\n"
        "a=sctp-port:5000\r\n"
        "a=max-message-size:65536\r\n"
        "a=candidate:1 1 udp 2130706431 10.77.2.1 50000 typ host generation 0\r\n"
        "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\n"
        "c=IN IP4 10.77.2.1\r\n"
        "a=ice-ufrag:srvu\r\n"
        "a=ice-pwd:serverpasswordserverpassword\r\n"
        "a=fingerprint:sha-256 " FP_SRV "\r\n"
        "a=setup:actpass\r\n"
        "a=mid:1\r\n"
        "a=sendonly\r\n"
        "a=msid:PA_alice0000001|TR_AMalice00001 TR_AMalice00001\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
        "a=ssrc:305419896 cname:PA_alice0000001\r\n"
        "a=ssrc:305419896 msid:PA_alice0000001|TR_AMalice00001 TR_AMalice00001\r\n"
        "a=candidate:1 1 udp 2130706431 10.77.2.1 50000 typ host generation 0\r\n"
        "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\n"
        "c=IN IP4 10.77.2.1\r\n"
        "a=ice-ufrag:srvu\r\n"
        "a=ice-pwd:serverpasswordserverpassword\r\n"
        "a=fingerprint:sha-256 " FP_SRV "\r\n"
        "a=setup:actpass\r\n"
        "a=mid:2\r\n"
        "a=inactive\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
        "m=video 50000 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 10.77.2.1\r\n"
        "a=ice-ufrag:srvu\r\n"
        "a=ice-pwd:serverpasswordserverpassword\r\n"
        "a=fingerprint:sha-256 " FP_SRV "\r\n"
        "a=setup:actpass\r\n"
        "a=mid:3\r\n"
        "a=sendonly\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:96 VP8/90000\r\n";

static void
t_local(struct media_local *l, struct sdp_candidate *cand)
{
	static const char c[] =
	        "candidate:1 1 udp 2130706431 10.77.2.2 41000 typ host generation 0";

	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(sdp_candidate_parse(c, strlen(c), cand), 0);
	l->ufrag = "ours";
	l->pwd = "ourpasswordourpassword1";
	l->fingerprint = FP_OURS;
	l->cand = cand;
	l->n_cand = 1;
	l->sess_id = 42;
	l->sess_version = 1;
}

static struct sdp_session *
t_parse(const char *text, size_t len)
{
	struct sdp_session *s = NULL;

	ck_assert_int_eq(sdp_parse(text, len, &s), 0);
	return s;
}

START_TEST(test_answer_devserver_offer)
{
	struct sdp_session *off = t_parse(t_offer, strlen(t_offer)), *a;
	struct media_answer *ans = calloc(1, sizeof(*ans));
	struct sdp_candidate cand;
	struct media_local l;
	char err[256] = "";
	struct buf b;

	t_local(&l, &cand);
	buf_init(&b, 0);
	ck_assert_int_eq(media_answer_offer(off, &l, ans, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);

	/* What the transport is told. */
	ck_assert(ans->remote.valid);
	ck_assert_str_eq(ans->remote.ufrag, "srvu");
	ck_assert_str_eq(ans->remote.pwd, "serverpasswordserverpassword");
	ck_assert_str_eq(ans->remote.fingerprint, FP_SRV);
	ck_assert(ans->remote.ice_lite);
	/* RFC 8445 §6.1.1: we control against a lite server. */
	ck_assert_int_eq(ans->remote.our_ice_role, RTC_ICE_CONTROLLING);
	/* actpass offered -> we answer active -> DTLS client. */
	ck_assert_int_eq(ans->remote.our_dtls_role, RTC_DTLS_CLIENT);
	ck_assert_str_eq(ans->remote.first_mid, "0");
	ck_assert_int_eq(ans->remote.first_index, 0);
	ck_assert_int_eq(ans->n_accepted, 3); /* application + 2 audio */
	ck_assert_int_eq(ans->n_audio, 2);
	ck_assert(ans->audio[0].recv);
	ck_assert_str_eq(ans->audio[0].mid, "1");
	ck_assert_str_eq(ans->audio[0].participant_sid, "PA_alice0000001");
	ck_assert_str_eq(ans->audio[0].track_sid, "TR_AMalice00001");
	ck_assert_int_eq(ans->audio[0].n_ssrc, 1);
	ck_assert_uint_eq(ans->audio[0].ssrc[0], 305419896u);
	ck_assert_uint_eq(ans->audio[0].pt, 111);
	ck_assert(!ans->audio[1].recv); /* the inactive slot */

	/* The answer itself, as the server parses it. */
	a = t_parse((const char *)b.data, b.len - 1);
	ck_assert_int_eq(a->n_media, 4);
	ck_assert_int_eq(a->n_bundle, 3);
	ck_assert_str_eq(a->bundle[0], "0");
	ck_assert(!a->ice_lite);
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(a->media[i]->mid, off->media[i]->mid);
	/* m=application accepted (DTLS only). */
	ck_assert_uint_ne(a->media[0]->port, 0);
	ck_assert_uint_eq(a->media[0]->sctp_port, 5000);
	/* The track's m-line: recvonly, Opus 111 only, rtcp-mux. */
	ck_assert_uint_ne(a->media[1]->port, 0);
	ck_assert_int_eq(a->media[1]->dir, SDP_DIR_RECVONLY);
	ck_assert_int_eq(a->media[1]->n_codec, 1);
	ck_assert_uint_eq(a->media[1]->codec[0].pt, 111);
	ck_assert_str_eq(a->media[1]->codec[0].name, "opus");
	ck_assert(a->media[1]->rtcp_mux);
	ck_assert_int_eq(a->media[2]->dir, SDP_DIR_INACTIVE);
	/* Video rejected. */
	ck_assert_uint_eq(a->media[3]->port, 0);
	/* Our credentials, fingerprint, setup and candidate in the sections. */
	ck_assert_str_eq(a->media[1]->ice_ufrag, "ours");
	ck_assert_str_eq(a->media[1]->ice_pwd, "ourpasswordourpassword1");
	ck_assert_int_eq(a->media[1]->setup, SDP_SETUP_ACTIVE);
	ck_assert_str_eq(a->media[0]->fp.hash, "sha-256");
	ck_assert_uint_eq(a->media[0]->fp.digest[0], 0xAA);
	ck_assert_int_eq(a->media[0]->n_cand, 1);
	ck_assert_str_eq(a->media[0]->cand[0].address, "10.77.2.2");
	ck_assert_uint_eq(a->media[0]->cand[0].port, 41000);
	sdp_free(a);
	sdp_free(off);
	buf_free(&b);
	free(ans);
}
END_TEST

/* A copy of text with the first occurrence of from replaced by to. */
static char *
t_edit(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *out;

	ck_assert_ptr_nonnull(p);
	out = malloc(strlen(text) + strlen(to) + 1);
	memcpy(out, text, (size_t)(p - text));
	strcpy(out + (p - text), to);
	strcat(out, p + strlen(from));
	return out;
}

static char *
t_offer_edit(const char *from, const char *to)
{
	return t_edit(t_offer, from, to);
}

static int
t_answer_err(const char *text, char *err, size_t errlen)
{
	struct sdp_session *off = t_parse(text, strlen(text));
	struct media_answer *ans = calloc(1, sizeof(*ans));
	struct sdp_candidate cand;
	struct media_local l;
	struct buf b;
	int rc;

	t_local(&l, &cand);
	buf_init(&b, 0);
	rc = media_answer_offer(off, &l, ans, &b, err, errlen);
	sdp_free(off);
	buf_free(&b);
	free(ans);
	return rc;
}

START_TEST(test_answer_unanswerable)
{
	char err[256], *t;

	/* No fingerprint on the transport section. */
	t = t_offer_edit("a=fingerprint:sha-256 " FP_SRV "\r\na=setup:actpass\r\na=mid:0",
	        "a=setup:actpass\r\na=mid:0");
	ck_assert_int_eq(t_answer_err(t, err, sizeof(err)), LK_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "fingerprint"));
	free(t);
	/* No ICE password. */
	t = t_offer_edit("a=ice-pwd:serverpasswordserverpassword\r\n", "");
	ck_assert_int_eq(t_answer_err(t, err, sizeof(err)), LK_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "ICE"));
	free(t);
	/* holdconn: no DTLS at all. */
	t = t_offer_edit("a=setup:actpass", "a=setup:holdconn");
	ck_assert_int_eq(t_answer_err(t, err, sizeof(err)), LK_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "holdconn"));
	free(t);
}
END_TEST

START_TEST(test_answer_roles_and_recycling)
{
	struct sdp_session *off;
	struct media_answer *ans = calloc(1, sizeof(*ans));
	struct sdp_candidate cand;
	struct media_local l;
	char err[256], *t, *t2;
	struct buf b;

	t_local(&l, &cand);
	/* A full-ICE server that wants to be the DTLS client (setup:active). */
	t = t_offer_edit("a=ice-lite\r\n", "");
	t2 = t_offer_edit("a=setup:actpass\r\na=mid:0", "a=setup:active\r\na=mid:0");
	off = t_parse(t, strlen(t));
	buf_init(&b, 0);
	ck_assert_int_eq(media_answer_offer(off, &l, ans, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(ans->remote.our_ice_role, RTC_ICE_CONTROLLED);
	ck_assert_int_eq(ans->remote.our_dtls_role, RTC_DTLS_CLIENT);
	sdp_free(off);
	off = t_parse(t2, strlen(t2));
	buf_reset(&b);
	ck_assert_int_eq(media_answer_offer(off, &l, ans, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(ans->remote.our_dtls_role, RTC_DTLS_SERVER);
	ck_assert_ptr_nonnull(strstr((const char *)b.data, "a=setup:passive"));
	sdp_free(off);
	free(t);
	free(t2);

	/* A recycled m-line: mid 1 now carries bob's track. */
	t = t_offer_edit("a=msid:PA_alice0000001|TR_AMalice00001 TR_AMalice00001",
	        "a=msid:PA_bob000000001|TR_AMbob00000001 TR_AMbob00000001");
	off = t_parse(t, strlen(t));
	buf_reset(&b);
	ck_assert_int_eq(media_answer_offer(off, &l, ans, &b, err, sizeof(err)), 0);
	ck_assert_str_eq(ans->audio[0].mid, "1");
	ck_assert_str_eq(ans->audio[0].participant_sid, "PA_bob000000001");
	ck_assert_str_eq(ans->audio[0].track_sid, "TR_AMbob00000001");
	sdp_free(off);
	free(t);

	/* A removed track: its m-line rejected (port 0) stays rejected. */
	t = t_offer_edit("m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.77.2.1\r\n",
	        "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.77.2.1\r\n");
	off = t_parse(t, strlen(t));
	buf_reset(&b);
	ck_assert_int_eq(media_answer_offer(off, &l, ans, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(ans->n_audio, 1);
	ck_assert_str_eq(ans->audio[0].mid, "2");
	ck_assert_ptr_nonnull(strstr((const char *)b.data, "m=audio 0 "));
	sdp_free(off);
	free(t);
	buf_free(&b);
	free(ans);
}
END_TEST

START_TEST(test_publisher_offer_and_answer)
{
	struct media_pub_desc pd = {.cid = "5d3f8d1c-0d0e-4a52-9f43-3c1f0e2b7a11",
	        .stream = "0b7e21d9-8f7c-4d0e-a2a4-5d6c7b8a9f00",
	        .ssrc = 987654321,
	        .cname = "abcdefghijkl"};
	struct sdp_session *o, *a;
	struct media_remote r;
	struct sdp_candidate cand;
	struct media_local l;
	char err[256], *ans;
	struct buf b;

	t_local(&l, &cand);
	buf_init(&b, 0);
	ck_assert_int_eq(media_build_offer(&l, &pd, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	o = t_parse((const char *)b.data, b.len - 1);
	ck_assert_int_eq(o->n_media, 1);
	ck_assert_int_eq(o->n_bundle, 1);
	ck_assert_str_eq(o->media[0]->mid, "0");
	ck_assert_int_eq(o->media[0]->dir, SDP_DIR_SENDONLY);
	ck_assert_int_eq(o->media[0]->setup, SDP_SETUP_ACTPASS);
	ck_assert(o->media[0]->rtcp_mux);
	ck_assert_int_eq(o->media[0]->n_codec, 1);
	ck_assert_uint_eq(o->media[0]->codec[0].pt, 111);
	ck_assert_uint_eq(o->media[0]->codec[0].channels, 2);
	ck_assert_str_eq(o->media[0]->codec[0].fmtp, "minptime=10;useinbandfec=1");
	ck_assert_str_eq(o->media[0]->msid_track, pd.cid);
	ck_assert_str_eq(o->media[0]->msid_stream, pd.stream);
	ck_assert_int_eq(o->media[0]->n_ssrc, 1);
	ck_assert_uint_eq(o->media[0]->ssrc[0].ssrc, 987654321u);
	ck_assert_str_eq(o->media[0]->ssrc[0].cname, "abcdefghijkl");
	ck_assert_int_eq(o->media[0]->n_cand, 1);
	sdp_free(o);

	/* The dev server's answer shape: ICE-lite, passive -> we are the client. */
	{
		static const char answer[] =
		        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"
		        "a=group:BUNDLE 0\r\n"
		        "m=audio 50002 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.77.2.1\r\n"
		        "a=ice-ufrag:pubu\r\na=ice-pwd:publisherpasswordpublisher\r\n"
		        "a=fingerprint:sha-256 " FP_SRV "\r\n"
		        "a=setup:passive\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
		        "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
		        "a=candidate:1 1 udp 2130706431 10.77.2.1 50002 typ host\r\n";
		a = t_parse(answer, strlen(answer));
		ck_assert_int_eq(media_check_answer(a, &r, err, sizeof(err)), 0);
		ck_assert_int_eq(r.our_dtls_role, RTC_DTLS_CLIENT);
		ck_assert_int_eq(r.our_ice_role, RTC_ICE_CONTROLLING);
		ck_assert(r.ice_lite);
		ck_assert_str_eq(r.ufrag, "pubu");
		sdp_free(a);

		/* active -> we are the DTLS server. */
		ans = t_edit(answer, "setup:passive", "setup:active");
		a = t_parse(ans, strlen(ans));
		ck_assert_int_eq(media_check_answer(a, &r, err, sizeof(err)), 0);
		ck_assert_int_eq(r.our_dtls_role, RTC_DTLS_SERVER);
		sdp_free(a);
		free(ans);

		/* Rejected section: a clear error. */
		ans = t_edit(answer, "m=audio 50002", "m=audio 0");
		a = t_parse(ans, strlen(ans));
		ck_assert_int_eq(media_check_answer(a, &r, err, sizeof(err)), LK_EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "rejected"));
		sdp_free(a);
		free(ans);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_split_msid)
{
	char p[MEDIA_ID_MAX], t[MEDIA_ID_MAX];

	media_split_msid("PA_x|TR_y", "TR_y", p, sizeof(p), t, sizeof(t));
	ck_assert_str_eq(p, "PA_x");
	ck_assert_str_eq(t, "TR_y");
	/* §2.7: the stream half is used only when it starts with TR. */
	media_split_msid("PA_x|other", "TR_z", p, sizeof(p), t, sizeof(t));
	ck_assert_str_eq(p, "PA_x");
	ck_assert_str_eq(t, "TR_z");
	media_split_msid("-", "abc", p, sizeof(p), t, sizeof(t));
	ck_assert_str_eq(p, "");
	ck_assert_str_eq(t, "abc");
	media_split_msid(NULL, NULL, p, sizeof(p), t, sizeof(t));
	ck_assert_str_eq(p, "");
	ck_assert_str_eq(t, "");
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tp = tcase_create("paths");
	TCase *tm = tcase_create("media");

	tcase_add_checked_fixture(tp, setup, NULL);
	tcase_set_timeout(tp, 60);
	tcase_add_test(tp, test_in_tone_with_loss_and_reordering);
	tcase_add_test(tp, test_in_drops_garbage);
	tcase_add_test(tp, test_in_rejects_bad_options);
	tcase_add_test(tp, test_out_rtp_continuous);
	tcase_add_test(tp, test_pacer_ticks_and_stops);
	tcase_add_test(tp, test_steady_state_allocates_nothing);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tm, setup, NULL);
	tcase_add_test(tm, test_answer_devserver_offer);
	tcase_add_test(tm, test_answer_unanswerable);
	tcase_add_test(tm, test_answer_roles_and_recycling);
	tcase_add_test(tm, test_publisher_offer_and_answer);
	tcase_add_test(tm, test_split_msid);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipeline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
