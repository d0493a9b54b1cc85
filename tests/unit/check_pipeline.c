/*
 * check_pipeline: lk-jobproc's audio paths without sockets (Opus RTP of a
 * 440 Hz tone with 10% loss and reordering reaches the tap as 24 kHz
 * frames at 440 Hz; the out path writes continuous RTP; the 20 ms pacer
 * (ticks after the arrivals that are due with them);
 * no allocation per frame after warm-up), the RTCP statistics and reports
 * (RFC 3550: loss, jitter, SR sender info, LSR/DLSR, compounds that parse
 * back) and media.c's offer/answer logic on a subscriber offer in the dev
 * server's format (rtc-protocol.md §5.1).
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
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "audio/analyze.h"
#include "audio/codec.h"
#include "audio/tone.h"
#include "common/buf.h"
#include "common/err.h"
#include "../common/alloc_count.h"
#include "common/log.h"
#include "jobproc/media.h"
#include "jobproc/pipeline.h"
#include "rtc/rtp.h"
#include "rtc/sdp.h"

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

/* Who ran first, when an arrival and a tick were due together. */
struct t_order {
	char seq[8];
	int n;
	int fd;
	ev_io io;
};

static void
t_order_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct t_order *t = w->data;
	char c;

	ck_assert_int_eq(read(t->fd, &c, 1), 1);
	ev_io_stop(loop, w);
	if (t->n < 7)
		t->seq[t->n++] = 'a';
}

static void
t_order_tick(struct pipeline_pacer *p, void *arg)
{
	struct t_order *t = arg;

	if (t->n < 7)
		t->seq[t->n++] = 't';
	pipeline_pacer_stop(p);
}

START_TEST(test_pacer_ticks_after_arrivals)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct timespec late = {0, 30 * 1000 * 1000};
	struct pipeline_pacer p;
	struct t_order t;
	int fds[2];

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(pipe(fds), 0);
	t.fd = fds[0];
	ev_io_init(&t.io, t_order_io, fds[0], EV_READ);
	t.io.data = &t;
	ev_io_start(loop, &t.io);
	pipeline_pacer_init(&p, loop, t_order_tick, &t);
	pipeline_pacer_start(&p);
	/* The process was not scheduled for 30 ms: a packet arrived and the
	 * first tick fell due meanwhile. The tick must see the packet. */
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	nanosleep(&late, NULL);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_str_eq(t.seq, "at");
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	close(fds[0]);
	close(fds[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- RTCP (RFC 3550 §6.4, A.1, A.3, A.8) ---- */

#define T_SSRC 0x11223344u
#define T_T0 ((int64_t)7000000000) /* an arbitrary monotonic start, in us */

/* Packets first..first+n-1 of a 20 ms stream, paced exactly, except the
 * ones skip() says are lost. */
static void
t_rx_stream(struct pipeline_rx_stat *rx, uint16_t seq0, int first, int n, int (*skip)(int))
{
	for (int i = first; i < first + n; i++) {
		if (skip && skip(i))
			continue;
		pipeline_rx_rtp(rx, (uint16_t)(seq0 + i), 5000u + (uint32_t)i * AUD_OPUS_FRAME,
		        T_T0 + (int64_t)i * 20000);
	}
}

static int
t_skip_10(int i)
{
	/* 10 of packets 0..99, never the first or the last. */
	return i % 10 == 3;
}

static int
t_skip_4_of_50(int i)
{
	return i == 120 || i == 121 || i == 130 || i == 140;
}

START_TEST(test_rtcp_loss_accounting)
{
	struct pipeline_rx_stat rx;
	struct rtcp_rb rb;

	pipeline_rx_init(&rx, T_SSRC);
	/* Nothing yet: no report block (RFC 3550 §6.4). */
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0, &rb), 0);

	/* 100 packets across the sequence wrap, 10 lost. */
	t_rx_stream(&rx, 65500, 0, 100, t_skip_10);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 2000000, &rb), 1);
	ck_assert_uint_eq(rb.ssrc, T_SSRC);
	ck_assert_int_eq(rb.cum_lost, 10);
	/* 10/100 in 1/256 units. */
	ck_assert_uint_eq(rb.fraction_lost, (10 << 8) / 100);
	/* One wrap: 65500 + 99 = 65599 -> cycle 1, seq 63. */
	ck_assert_uint_eq(rb.ext_high_seq, 0x10000u + 63);
	ck_assert_uint_eq(rb.lsr, 0);
	ck_assert_uint_eq(rb.dlsr, 0);
	/* Nothing since that report: no block, and the counts stay. */
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 2100000, &rb), 0);

	/* 50 more, all there, two of them twice: the interval's loss is
	 * negative, so 0, and the total goes down by the duplicates. */
	t_rx_stream(&rx, 65500, 100, 50, NULL);
	pipeline_rx_rtp(&rx, (uint16_t)(65500 + 110), 5000u + 110 * AUD_OPUS_FRAME, T_T0 + 3000000);
	pipeline_rx_rtp(&rx, (uint16_t)(65500 + 111), 5000u + 111 * AUD_OPUS_FRAME, T_T0 + 3000100);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 3100000, &rb), 1);
	ck_assert_uint_eq(rb.fraction_lost, 0);
	ck_assert_int_eq(rb.cum_lost, 8);
	ck_assert_uint_eq(rb.ext_high_seq, 0x10000u + 113);

	/* 50 more with 4 lost, in a shuffled order: reordering is not loss. */
	{
		int order[50], n = 0;

		for (int i = 150; i < 200; i++)
			if (!t_skip_4_of_50(i - 30))
				order[n++] = i;
		for (int k = 0; k + 1 < n; k += 3) {
			int tmp = order[k];
			order[k] = order[k + 1];
			order[k + 1] = tmp;
		}
		for (int k = 0; k < n; k++)
			pipeline_rx_rtp(&rx, (uint16_t)(65500 + order[k]),
			        5000u + (uint32_t)order[k] * AUD_OPUS_FRAME,
			        T_T0 + (int64_t)k * 20000 + 4000000);
		ck_assert_int_eq(n, 46);
	}
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 5000000, &rb), 1);
	ck_assert_uint_eq(rb.fraction_lost, (4 << 8) / 50);
	ck_assert_int_eq(rb.cum_lost, 12);
	ck_assert_uint_eq(rb.ext_high_seq, 0x10000u + 163);

	/* One packet far ahead is not believed (A.1), two in a row are: the
	 * sender restarted and the counts start again from there. */
	pipeline_rx_rtp(&rx, 30000, 1, T_T0 + 6000000);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 6000000, &rb), 0);
	pipeline_rx_rtp(&rx, 30001, 961, T_T0 + 6020000);
	pipeline_rx_rtp(&rx, 30003, 2881, T_T0 + 6060000);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 6100000, &rb), 1);
	ck_assert_uint_eq(rb.ext_high_seq, 30003);
	ck_assert_int_eq(rb.cum_lost, 1);
	ck_assert_uint_eq(rb.fraction_lost, 256 / 3);
}
END_TEST

START_TEST(test_rtcp_jitter)
{
	struct pipeline_rx_stat rx;
	struct rtcp_rb rb;

	/* Perfectly paced (whatever the constant network delay): zero. */
	pipeline_rx_init(&rx, T_SSRC);
	t_rx_stream(&rx, 1, 0, 250, NULL);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 6000000, &rb), 1);
	ck_assert_uint_eq(rb.jitter, 0);
	ck_assert_int_eq(rb.cum_lost, 0);
	ck_assert_uint_eq(rb.fraction_lost, 0);

	/* The same stream arriving up to 4 ms early or late: J converges near
	 * E|D| (RFC 3550 A.8), 8/3 ms = 128 units at 48 kHz for uniform
	 * noise; at most 8 ms (384) by construction. */
	pipeline_rx_init(&rx, T_SSRC);
	t_seed = 99;
	for (int i = 0; i < 500; i++) {
		int64_t noise = (int64_t)(t_rand() % 8001) - 4000;
		pipeline_rx_rtp(&rx, (uint16_t)i, (uint32_t)i * AUD_OPUS_FRAME,
		        T_T0 + (int64_t)i * 20000 + noise);
	}
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 11000000, &rb), 1);
	ck_assert_uint_gt(rb.jitter, 40);
	ck_assert_uint_lt(rb.jitter, 384);

	/* Packets that carry the same 20 ms of audio but arrive 10 ms apart
	 * (a sender that bursts): every D is 480, so J tends to 480. */
	pipeline_rx_init(&rx, T_SSRC);
	for (int i = 0; i < 400; i++)
		pipeline_rx_rtp(&rx, (uint16_t)i, (uint32_t)i * AUD_OPUS_FRAME,
		        T_T0 + (int64_t)i * 20000 + (i % 2) * 10000);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 9000000, &rb), 1);
	ck_assert_uint_ge(rb.jitter, 470);
	ck_assert_uint_le(rb.jitter, 480);
}
END_TEST

START_TEST(test_rtcp_sender_report)
{
	struct pipeline_out_opts o = {
	        .in_rate = T_RATE, .pt = 111, .ssrc = 0xCAFEBABE, .seq = 65000, .ts = 0xFFFE0000};
	struct pipeline_out *out = pipeline_out_new(&o, NULL);
	struct aud_tone *tone = aud_tone_new(440, 0.3, T_RATE, NULL);
	struct pipeline_out_stats ost;
	struct pipeline_tx_stat tx;
	struct rtcp_sr_out sr, sr2;
	int16_t pcm[T_SFRAME];
	uint8_t pkt[PIPELINE_MAX_RTP];
	uint32_t last_ts = 0;
	int64_t now = T_T0;
	uint64_t ntp;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(tone);
	pipeline_tx_init(&tx, o.ssrc);
	/* No SR before anything was sent (RFC 3550 §6.4). */
	ck_assert_int_eq(pipeline_tx_report(&tx, now, 1, &sr), LK_EAGAIN);
	for (int i = 0; i < 120; i++) {
		struct rtp_hdr h;
		int len;

		aud_tone_fill(tone, pcm, T_SFRAME);
		len = pipeline_out_packet(out, pcm, pkt, sizeof(pkt));
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(rtp_parse(pkt, (size_t)len, &h), 0);
		last_ts = h.ts;
		now = T_T0 + (int64_t)i * 20000;
		ck_assert_int_eq(pipeline_tx_rtp(&tx, pkt, (size_t)len, now), 0);
	}
	ck_assert_int_eq(pipeline_tx_rtp(&tx, pkt, 5, now), LK_EINVAL); /* not counted */
	pipeline_out_get_stats(out, &ost);

	/* Right at the last packet: its own timestamp. */
	ck_assert_int_eq(pipeline_tx_report(&tx, now, 42, &sr), 0);
	ck_assert_uint_eq(sr.ssrc, 0xCAFEBABE);
	ck_assert_uint_eq(sr.ntp, 42);
	ck_assert_uint_eq(sr.rtp_ts, last_ts);
	ck_assert_uint_eq(sr.packet_count, 120);
	/* Octets: the Opus payloads, no headers (§6.4.1). */
	ck_assert_uint_eq(sr.octet_count, (uint32_t)ost.bytes);
	ck_assert_int_eq(sr.n_rb, 0);
	/* 1.25 s later: 60000 ticks of the 48 kHz clock on, across the
	 * 32-bit wrap of the timestamp. */
	ck_assert_int_eq(pipeline_tx_report(&tx, now + 1250000, 43, &sr2), 0);
	ck_assert_uint_eq(sr2.rtp_ts, last_ts + 60000u);
	ck_assert_uint_lt(sr2.rtp_ts, last_ts);
	ck_assert_uint_eq(sr2.packet_count, sr.packet_count);

	/* The NTP timestamp: 32.32 seconds since 1900 (RFC 3550 §4). */
	ck_assert_uint_eq(pipeline_ntp_from_unix_ns(0), (uint64_t)2208988800u << 32);
	ntp = pipeline_ntp_from_unix_ns(1500000000);
	ck_assert_uint_eq(ntp >> 32, 2208988801u);
	ck_assert_uint_eq((uint32_t)ntp, 0x80000000u);
	ntp = pipeline_ntp_from_unix_ns((int64_t)1700000000 * 1000000000 + 250000000);
	ck_assert_uint_eq(ntp >> 32, 1700000000u + 2208988800u);
	ck_assert_uint_eq((uint32_t)ntp, 0x40000000u);

	pipeline_out_free(out);
	aud_tone_free(tone);
}
END_TEST

/* Parse a compound the way media.c does; the first packet into *first,
 * the SDES chunk's SSRC and CNAME checked against ssrc and cname. */
static void
t_parse_compound(const uint8_t *buf, size_t len, uint8_t type, uint32_t ssrc, const char *cname,
        struct rtcp_pkt *first)
{
	struct rtcp_pkt p;
	size_t off = 0, cl = strlen(cname);

	ck_assert_int_eq(len % 4, 0);
	ck_assert_int_eq(rtcp_validate(buf, len), 2);
	ck_assert_int_eq(rtcp_next(buf, len, &off, first), 1);
	ck_assert_uint_eq(first->type, type);
	ck_assert_uint_eq(first->ssrc, ssrc);
	ck_assert_int_eq(rtcp_next(buf, len, &off, &p), 1);
	/* RFC 3550 §6.5: SDES, one chunk: SSRC, CNAME item, a null octet. */
	ck_assert_uint_eq(p.type, RTCP_SDES);
	ck_assert_uint_eq(p.count, 1);
	ck_assert_uint_eq(p.ssrc, ssrc);
	ck_assert_uint_ge(p.len, 8 + 2 + cl + 1);
	ck_assert_uint_le(p.len, 8 + 2 + cl + 4);
	ck_assert_uint_eq(p.raw[8], 1);
	ck_assert_uint_eq(p.raw[9], cl);
	ck_assert(memcmp(p.raw + 10, cname, cl) == 0);
	for (size_t i = 10 + cl; i < p.len; i++)
		ck_assert_uint_eq(p.raw[i], 0);
	ck_assert_int_eq(rtcp_next(buf, len, &off, &p), 0);
}

START_TEST(test_rtcp_lsr_dlsr)
{
	struct rtcp_sr_out sr = {.ssrc = T_SSRC,
	        .ntp = 0xAABBCCDD11223344ull,
	        .rtp_ts = 777,
	        .packet_count = 10,
	        .octet_count = 1000};
	struct pipeline_rx_stat rx;
	struct rtcp_pkt p;
	struct rtcp_rb rb;
	uint8_t buf[PIPELINE_RTCP_MAX];
	int n;

	pipeline_rx_init(&rx, T_SSRC);
	t_rx_stream(&rx, 100, 0, 50, NULL);
	/* The server's SR, written, parsed back and taken as media.c does. */
	n = pipeline_rtcp_sr(buf, sizeof(buf), &sr, "srvcname");
	ck_assert_int_gt(n, 0);
	t_parse_compound(buf, (size_t)n, RTCP_SR, T_SSRC, "srvcname", &p);
	ck_assert_uint_eq(p.ntp, sr.ntp);
	ck_assert_uint_eq(p.rtp_ts, 777);
	ck_assert_uint_eq(p.packet_count, 10);
	ck_assert_uint_eq(p.octet_count, 1000);
	pipeline_rx_sr(&rx, p.ntp, T_T0 + 1000000);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 1250000, &rb), 1);
	/* LSR: the middle 32 bits; DLSR: 0.25 s in 1/65536 s. */
	ck_assert_uint_eq(rb.lsr, 0xCCDD1122u);
	ck_assert_uint_eq(rb.dlsr, 16384);

	/* An SR before any RTP of the source is kept for later reports. */
	pipeline_rx_init(&rx, T_SSRC);
	pipeline_rx_sr(&rx, 0x0000000100020000ull, T_T0);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0, &rb), 0);
	t_rx_stream(&rx, 100, 0, 10, NULL);
	ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 2000000, &rb), 1);
	ck_assert_uint_eq(rb.lsr, 0x00010002u);
	ck_assert_uint_eq(rb.dlsr, 2 * 65536);
}
END_TEST

START_TEST(test_rtcp_compound_parse_back)
{
	struct rtcp_rb rb[RTCP_MAX_RB];
	struct rtcp_sr_out sr = {.ssrc = 0xCAFEBABE,
	        .ntp = ((uint64_t)3900000000u << 32) | 0x12345678u,
	        .rtp_ts = 0xFFFFFF00u,
	        .packet_count = 1234,
	        .octet_count = 98765};
	char cname[PIPELINE_CNAME_MAX + 2];
	uint8_t buf[PIPELINE_RTCP_MAX];
	struct rtcp_pkt p;
	int n;

	/* A full RR (the writer's limit of blocks) from our random SSRC. */
	for (int i = 0; i < RTCP_MAX_RB; i++) {
		struct pipeline_rx_stat rx;

		pipeline_rx_init(&rx, 0x1000u + (uint32_t)i);
		t_rx_stream(&rx, (uint16_t)(i * 1000), 0, 40 + i, i % 2 ? t_skip_10 : NULL);
		pipeline_rx_sr(&rx, (uint64_t)i << 24, T_T0);
		ck_assert_int_eq(pipeline_rx_report(&rx, T_T0 + 500000, &rb[i]), 1);
	}
	n = pipeline_rtcp_rr(buf, sizeof(buf), 0xDEADBEEF, rb, RTCP_MAX_RB, "abcdefghijkl");
	ck_assert_int_gt(n, 0);
	t_parse_compound(buf, (size_t)n, RTCP_RR, 0xDEADBEEF, "abcdefghijkl", &p);
	ck_assert_int_eq(p.n_rb, RTCP_MAX_RB);
	for (int i = 0; i < RTCP_MAX_RB; i++) {
		ck_assert_uint_eq(p.rb[i].ssrc, 0x1000u + (uint32_t)i);
		ck_assert_uint_eq(p.rb[i].fraction_lost, rb[i].fraction_lost);
		ck_assert_int_eq(p.rb[i].cum_lost, rb[i].cum_lost);
		ck_assert_int_eq(p.rb[i].cum_lost, i % 2 ? (40 + i + 6) / 10 : 0);
		ck_assert_uint_eq(p.rb[i].ext_high_seq, rb[i].ext_high_seq);
		ck_assert_uint_eq(p.rb[i].jitter, 0);
		ck_assert_uint_eq(p.rb[i].lsr, (uint32_t)((uint64_t)i << 8));
		ck_assert_uint_eq(p.rb[i].dlsr, 32768);
	}
	ck_assert_int_eq(
	        pipeline_rtcp_rr(buf, sizeof(buf), 1, rb, RTCP_MAX_RB + 1, "x"), LK_EINVAL);
	ck_assert_int_lt(
	        pipeline_rtcp_rr(buf, (size_t)n - 4, 1, rb, RTCP_MAX_RB, "abcdefghijkl"), 0);

	/* An empty RR (nothing heard) is still a valid compound (§6.1). */
	n = pipeline_rtcp_rr(buf, sizeof(buf), 0xDEADBEEF, NULL, 0, "c");
	ck_assert_int_eq(n, 8 + 12);
	t_parse_compound(buf, (size_t)n, RTCP_RR, 0xDEADBEEF, "c", &p);
	ck_assert_int_eq(p.n_rb, 0);

	/* The SR compound. */
	n = pipeline_rtcp_sr(buf, sizeof(buf), &sr, "abcdefghijkl");
	ck_assert_int_gt(n, 0);
	t_parse_compound(buf, (size_t)n, RTCP_SR, 0xCAFEBABE, "abcdefghijkl", &p);
	ck_assert_uint_eq(p.ntp, sr.ntp);
	ck_assert_uint_eq(p.rtp_ts, sr.rtp_ts);
	ck_assert_uint_eq(p.packet_count, 1234);
	ck_assert_uint_eq(p.octet_count, 98765);
	ck_assert_int_eq(p.n_rb, 0);

	/* Every CNAME length pads to 32 bits with at least one null octet. */
	for (size_t cl = 1; cl <= PIPELINE_CNAME_MAX; cl++) {
		memset(cname, 'a' + (int)(cl % 26), cl);
		cname[cl] = '\0';
		n = pipeline_rtcp_rr(buf, sizeof(buf), 7, NULL, 0, cname);
		ck_assert_int_gt(n, 0);
		t_parse_compound(buf, (size_t)n, RTCP_RR, 7, cname, &p);
	}
	memset(cname, 'a', PIPELINE_CNAME_MAX + 1);
	cname[PIPELINE_CNAME_MAX + 1] = '\0';
	ck_assert_int_eq(pipeline_rtcp_rr(buf, sizeof(buf), 7, NULL, 0, cname), LK_EINVAL);
	ck_assert_int_eq(pipeline_rtcp_rr(buf, sizeof(buf), 7, NULL, 0, ""), LK_EINVAL);
	ck_assert_int_eq(pipeline_rtcp_sr(buf, 20, &sr, "abc"), LK_ETOOBIG);
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
	uint8_t pkt[PIPELINE_MAX_RTP], rtcp[PIPELINE_RTCP_MAX];
	struct pipeline_rx_stat rx;
	struct pipeline_tx_stat tx;
	struct rtcp_sr_out sr;
	struct rtcp_rb rb[1];
	struct rtcp_pkt rp;
	unsigned long before = 0, used;
	int bad = 0, reports = 0;

	if (!alloc_count_active()) {
		/* Under ASan the count would be meaningless: say so, run the path anyway. */
		fprintf(stderr,
		        "check_pipeline: allocation count skipped (sanitizer owns malloc)\n");
	}
	if (alloc_count_active()) {
		/* The counter sees allocations (else the zero below proves nothing). */
		unsigned long c0 = alloc_count();
		char *volatile x = malloc(8);
		ck_assert_uint_eq(alloc_count(), c0 + 1);
		free(x);
	}
	t_make_stream(pkts, T_WARM + T_MEASURED, 440, 0);
	in = pipeline_in_new(&io, t_tap_frame, &tap, NULL);
	out = pipeline_out_new(&oo, NULL);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(tone);
	pipeline_rx_init(&rx, 0x11223344);
	pipeline_tx_init(&tx, 1);
	for (int i = 0; i < T_WARM + T_MEASURED; i++) {
		int64_t now = T_T0 + (int64_t)i * 20000;
		int len;

		if (i == T_WARM)
			before = alloc_count();
		/* Every 10th packet lost: concealment and FEC are measured too. */
		if (i % 10 != 5) {
			/* As media.c: RTCP statistics, then the audio path. */
			pipeline_rx_rtp(
			        &rx, pkts[i].seq, 1000u + (uint32_t)i * AUD_OPUS_FRAME, now);
			if (pipeline_in_rtp(in, pkts[i].data, pkts[i].len) != 0)
				bad++;
		}
		aud_tone_fill(tone, pcm, T_SFRAME);
		len = pipeline_out_packet(out, pcm, pkt, sizeof(pkt));
		if (len <= 0 || pipeline_tx_rtp(&tx, pkt, (size_t)len, now) != 0)
			bad++;
		if (i % 50 != 49)
			continue;
		/* A report round: RR and SR written, parsed back, LSR taken. */
		reports++;
		if (pipeline_rx_report(&rx, now, rb) != 1 || rb[0].fraction_lost != 256 / 10)
			bad++;
		len = pipeline_rtcp_rr(rtcp, sizeof(rtcp), 2, rb, 1, "abcdefghijkl");
		if (len <= 0 || rtcp_validate(rtcp, (size_t)len) != 2)
			bad++;
		if (pipeline_tx_report(&tx, now, pipeline_ntp_from_unix_ns(now * 1000), &sr) != 0)
			bad++;
		len = pipeline_rtcp_sr(rtcp, sizeof(rtcp), &sr, "abcdefghijkl");
		{
			size_t off = 0;
			if (len <= 0 || rtcp_next(rtcp, (size_t)len, &off, &rp) != 1 ||
			        rp.type != RTCP_SR)
				bad++;
			else
				pipeline_rx_sr(&rx, rp.ntp, now);
		}
	}
	used = alloc_count() - before;
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(reports, (T_WARM + T_MEASURED) / 50);
	ck_assert_uint_eq(tx.packets, T_WARM + T_MEASURED);
	ck_assert_uint_ge(tap.frames, T_WARM + T_MEASURED - 4);
	if (alloc_count_active())
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
	TCase *tr = tcase_create("rtcp");
	TCase *tm = tcase_create("media");

	tcase_add_checked_fixture(tp, setup, NULL);
	tcase_set_timeout(tp, 60);
	tcase_add_test(tp, test_in_tone_with_loss_and_reordering);
	tcase_add_test(tp, test_in_drops_garbage);
	tcase_add_test(tp, test_in_rejects_bad_options);
	tcase_add_test(tp, test_out_rtp_continuous);
	tcase_add_test(tp, test_pacer_ticks_and_stops);
	tcase_add_test(tp, test_pacer_ticks_after_arrivals);
	tcase_add_test(tp, test_steady_state_allocates_nothing);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tr, setup, NULL);
	tcase_add_test(tr, test_rtcp_loss_accounting);
	tcase_add_test(tr, test_rtcp_jitter);
	tcase_add_test(tr, test_rtcp_sender_report);
	tcase_add_test(tr, test_rtcp_lsr_dlsr);
	tcase_add_test(tr, test_rtcp_compound_parse_back);
	suite_add_tcase(s, tr);

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
