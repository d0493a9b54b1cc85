/*
 * check_audio: unit tests for src/audio, one Check suite per module: codec
 * (Opus round trips, loss with PLC/FEC), resample, ring, tone, wav and
 * analyze. Allocation counts live in check_audio_alloc.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opus.h>

#include "audio/analyze.h"
#include "audio/codec.h"
#include "audio/resample.h"
#include "audio/ring.h"
#include "audio/tone.h"
#include "audio/wav.h"
#include "common/err.h"

#define FRAME AUD_OPUS_FRAME

/* A deterministic generator, so a loss pattern is the same on every run. */
static uint32_t
t_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
t_tone(int16_t *pcm, size_t n, double freq, double amp, int rate)
{
	struct aud_tone *t = aud_tone_new(freq, amp, rate, NULL);

	ck_assert_ptr_nonnull(t);
	aud_tone_fill(t, pcm, n);
	aud_tone_free(t);
}

static double
t_peak(const int16_t *pcm, size_t n, int rate)
{
	double f = 0;

	ck_assert_int_eq(aud_analyze_peak(pcm, n, rate, 20, rate / 2.0, &f), 0);
	return f;
}

/*
 * Encode nframes of a tone, drop packets with probability loss_pct, and
 * decode the rest as a receiver would: a lost packet followed by a received
 * one is rebuilt from its FEC (when fec), otherwise concealed.
 */
static void
t_opus_run(const struct aud_opus_enc_opts *eo, double freq, int nframes, int loss_pct, int fec,
        int16_t *out, struct aud_opus_dec_stats *st, int *nlost)
{
	struct aud_opus_enc *enc = aud_opus_enc_new(eo, NULL);
	struct aud_opus_dec *dec = aud_opus_dec_new(NULL);
	static uint8_t pkts[200][AUD_OPUS_MAX_PACKET];
	int lens[200], lost[200], i, n;
	int16_t *in = malloc((size_t)nframes * FRAME * sizeof(int16_t));
	uint32_t seed = 0x2545F491;

	ck_assert_int_le(nframes, 200);
	ck_assert_ptr_nonnull(enc);
	ck_assert_ptr_nonnull(dec);
	ck_assert_ptr_nonnull(in);
	t_tone(in, (size_t)nframes * FRAME, freq, 0.5, AUD_OPUS_RATE);
	*nlost = 0;
	for (i = 0; i < nframes; i++) {
		lens[i] =
		        aud_opus_enc_encode(enc, in + (size_t)i * FRAME, pkts[i], sizeof(pkts[i]));
		ck_assert_int_gt(lens[i], 0);
		ck_assert_int_le(lens[i], AUD_OPUS_MAX_PACKET);
		lost[i] = i > 0 && (int)(t_rand(&seed) % 100) < loss_pct;
		*nlost += lost[i];
	}
	for (i = 0; i < nframes; i++) {
		int16_t *o = out + (size_t)i * FRAME;

		if (!lost[i])
			n = aud_opus_dec_decode(dec, pkts[i], (size_t)lens[i], o, FRAME);
		else if (fec && i + 1 < nframes && !lost[i + 1])
			n = aud_opus_dec_recover(dec, pkts[i + 1], (size_t)lens[i + 1], o, FRAME);
		else
			n = aud_opus_dec_conceal(dec, o, FRAME);
		ck_assert_int_eq(n, FRAME);
	}
	aud_opus_dec_get_stats(dec, st);
	free(in);
	aud_opus_dec_free(dec);
	aud_opus_enc_free(enc);
}

/* ---- codec ---- */

START_TEST(test_opus_tone_440)
{
	static int16_t out[100 * FRAME];
	struct aud_opus_dec_stats st;
	int nlost;
	double f;

	t_opus_run(NULL, 440, 100, 0, 0, out, &st, &nlost);
	ck_assert_uint_eq(st.packets, 100);
	ck_assert_uint_eq(st.concealed + st.recovered + st.corrupt, 0);
	/* The last second, past the codec's start-up. */
	f = t_peak(out + 50 * FRAME, 50 * FRAME, AUD_OPUS_RATE);
	ck_assert_msg(fabs(f - 440) <= 5, "dominant %.2f Hz", f);
	/* A 0.5 sine is -9 dBFS; the codec keeps it within a few dB. */
	ck_assert_double_gt(aud_analyze_rms_dbfs(out + 50 * FRAME, 50 * FRAME), -15);
}
END_TEST

START_TEST(test_opus_tone_660_audio_app)
{
	struct aud_opus_enc_opts eo = {
	        .bitrate = 64000, .app = AUD_OPUS_APP_AUDIO, .complexity = 5};
	static int16_t out[100 * FRAME];
	struct aud_opus_dec_stats st;
	int nlost;
	double f;

	t_opus_run(&eo, 660, 100, 0, 0, out, &st, &nlost);
	f = t_peak(out + 50 * FRAME, 50 * FRAME, AUD_OPUS_RATE);
	ck_assert_msg(fabs(f - 660) <= 5, "dominant %.2f Hz", f);
	ck_assert_double_gt(aud_analyze_rms_dbfs(out + 50 * FRAME, 50 * FRAME), -15);
}
END_TEST

START_TEST(test_opus_loss_10pct)
{
	static int16_t out[150 * FRAME];
	struct aud_opus_dec_stats st;
	int nlost, fec;
	double f;

	for (fec = 0; fec <= 1; fec++) {
		t_opus_run(NULL, 440, 150, 10, fec, out, &st, &nlost);
		ck_assert_int_ge(nlost, 5);
		ck_assert_uint_eq(st.concealed + st.recovered, (uint64_t)nlost);
		ck_assert_uint_eq(st.packets + (uint64_t)nlost, 150);
		if (fec)
			ck_assert_uint_gt(st.recovered, 0);
		else
			ck_assert_uint_eq(st.recovered, 0);
		f = t_peak(out + 50 * FRAME, 100 * FRAME, AUD_OPUS_RATE);
		ck_assert_msg(fabs(f - 440) <= 5, "fec=%d dominant %.2f Hz", fec, f);
		ck_assert_double_gt(aud_analyze_rms_dbfs(out + 50 * FRAME, 100 * FRAME), -20);
	}
}
END_TEST

/*
 * FEC must carry real information: on a signal whose pitch jumps every
 * 60 ms, PLC (which extends the last pitch) misses the lost frame, while
 * the LBRR copy in the next packet brings it back. Compared against the
 * same stream decoded without loss.
 */
START_TEST(test_opus_fec_beats_plc)
{
	enum { N = 250 };
	static int16_t in[N * FRAME], ref[N * FRAME], plc[N * FRAME], fec[N * FRAME];
	static uint8_t pk[N][AUD_OPUS_MAX_PACKET];
	struct aud_opus_enc *enc = aud_opus_enc_new(NULL, NULL);
	struct aud_opus_dec *d_ref = aud_opus_dec_new(NULL), *d_plc = aud_opus_dec_new(NULL),
	                    *d_fec = aud_opus_dec_new(NULL);
	struct aud_tone *tone = aud_tone_new(300, 0.5, AUD_OPUS_RATE, NULL);
	struct aud_opus_dec_stats st;
	double e_plc = 0, e_fec = 0, a, b;
	uint32_t seed = 7;
	int len[N], i, k;

	for (i = 0; i < N; i++) {
		if (i % 3 == 0)
			ck_assert_int_eq(aud_tone_set_freq(tone, 200 + t_rand(&seed) % 800), 0);
		aud_tone_fill(tone, in + i * FRAME, FRAME);
		len[i] = aud_opus_enc_encode(enc, in + i * FRAME, pk[i], sizeof(pk[i]));
		ck_assert_int_gt(len[i], 0);
	}
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(
		        aud_opus_dec_decode(d_ref, pk[i], len[i], ref + i * FRAME, FRAME), FRAME);
		if (i > 10 && i % 10 == 5) {
			ck_assert_int_eq(
			        aud_opus_dec_conceal(d_plc, plc + i * FRAME, FRAME), FRAME);
			ck_assert_int_eq(aud_opus_dec_recover(d_fec, pk[i + 1], len[i + 1],
			                         fec + i * FRAME, FRAME),
			        FRAME);
			for (k = i * FRAME; k < (i + 1) * FRAME; k++) {
				a = ref[k] - plc[k];
				b = ref[k] - fec[k];
				e_plc += a * a;
				e_fec += b * b;
			}
		} else {
			ck_assert_int_eq(
			        aud_opus_dec_decode(d_plc, pk[i], len[i], plc + i * FRAME, FRAME),
			        FRAME);
			ck_assert_int_eq(
			        aud_opus_dec_decode(d_fec, pk[i], len[i], fec + i * FRAME, FRAME),
			        FRAME);
		}
	}
	aud_opus_dec_get_stats(d_fec, &st);
	ck_assert_uint_eq(st.recovered, 24);
	ck_assert_msg(e_fec < 0.5 * e_plc, "fec error %.3g vs plc %.3g", e_fec, e_plc);
	aud_tone_free(tone);
	aud_opus_dec_free(d_ref);
	aud_opus_dec_free(d_plc);
	aud_opus_dec_free(d_fec);
	aud_opus_enc_free(enc);
}
END_TEST

/* A stereo stream (sprop-stereo=1) reaches the mono decoder downmixed. */
START_TEST(test_opus_stereo_downmix)
{
	static int16_t mono[FRAME], st_pcm[2 * FRAME], out[100 * FRAME];
	uint8_t pkt[AUD_OPUS_MAX_PACKET];
	struct aud_tone *tone = aud_tone_new(440, 0.5, AUD_OPUS_RATE, NULL);
	struct aud_opus_dec *dec = aud_opus_dec_new(NULL);
	OpusEncoder *oe;
	int oerr, i, k, len;
	double f;

	oe = opus_encoder_create(AUD_OPUS_RATE, 2, OPUS_APPLICATION_AUDIO, &oerr);
	ck_assert_ptr_nonnull(oe);
	ck_assert_int_eq(opus_encoder_ctl(oe, OPUS_SET_FORCE_CHANNELS(2)), OPUS_OK);
	for (i = 0; i < 100; i++) {
		aud_tone_fill(tone, mono, FRAME);
		/* The tone in the left channel only: a downmix halves it. */
		for (k = 0; k < FRAME; k++) {
			st_pcm[2 * k] = mono[k];
			st_pcm[2 * k + 1] = 0;
		}
		len = opus_encode(oe, st_pcm, FRAME, pkt, sizeof(pkt));
		ck_assert_int_gt(len, 0);
		/* TOC byte, RFC 6716 §3.1: the s bit marks a stereo packet. */
		ck_assert_int_eq((pkt[0] >> 2) & 1, 1);
		ck_assert_int_eq(
		        aud_opus_dec_decode(dec, pkt, (size_t)len, out + i * FRAME, FRAME), FRAME);
	}
	f = t_peak(out + 50 * FRAME, 50 * FRAME, AUD_OPUS_RATE);
	ck_assert_msg(fabs(f - 440) <= 5, "dominant %.2f Hz", f);
	ck_assert_double_gt(aud_analyze_rms_dbfs(out + 50 * FRAME, 50 * FRAME), -20);
	opus_encoder_destroy(oe);
	aud_opus_dec_free(dec);
	aud_tone_free(tone);
}
END_TEST

START_TEST(test_opus_bad_packets)
{
	static int16_t in[2 * FRAME], out[2 * FRAME];
	uint8_t pkt[AUD_OPUS_MAX_PACKET * 2];
	struct aud_opus_dec *dec = aud_opus_dec_new(NULL);
	struct aud_opus_dec_stats st;
	OpusEncoder *oe;
	int oerr, len;
	/* Code 3 (RFC 6716 §3.2.5) with a frame count of 0: invalid. */
	const uint8_t zero_frames[] = {0x03, 0x00};
	/* Code 3 with 63 frames of 20 ms: 1.26 s, over the 120 ms limit. */
	const uint8_t too_long[] = {0x0b, 0x3f, 0, 0, 0};
	/* Code 1 (two frames of equal size) with an odd payload: invalid. */
	const uint8_t odd_cbr[] = {0x01, 0xaa, 0xbb, 0xcc};

	ck_assert_ptr_nonnull(dec);
	ck_assert_int_eq(aud_opus_dec_decode(dec, NULL, 0, out, FRAME), LK_EINVAL);
	ck_assert_int_eq(aud_opus_dec_decode(dec, pkt, 0, out, FRAME), LK_EINVAL);
	ck_assert_int_eq(
	        aud_opus_dec_decode(dec, zero_frames, sizeof(zero_frames), out, FRAME), LK_EINVAL);
	ck_assert_int_eq(
	        aud_opus_dec_decode(dec, too_long, sizeof(too_long), out, FRAME), LK_EINVAL);
	ck_assert_int_eq(aud_opus_dec_decode(dec, odd_cbr, sizeof(odd_cbr), out, FRAME), LK_EINVAL);
	ck_assert_int_eq(
	        aud_opus_dec_decode(dec, pkt, AUD_OPUS_MAX_PACKET_IN + 1, out, FRAME), LK_ETOOBIG);
	ck_assert_int_eq(aud_opus_packet_samples(too_long, sizeof(too_long)), LK_EINVAL);
	aud_opus_dec_get_stats(dec, &st);
	ck_assert_uint_eq(st.corrupt, 6);
	ck_assert_uint_eq(st.packets, 0);

	/* A valid 40 ms packet needs room for 1920 samples. */
	oe = opus_encoder_create(AUD_OPUS_RATE, 1, OPUS_APPLICATION_VOIP, &oerr);
	ck_assert_ptr_nonnull(oe);
	t_tone(in, 2 * FRAME, 440, 0.5, AUD_OPUS_RATE);
	len = opus_encode(oe, in, 2 * FRAME, pkt, sizeof(pkt));
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(aud_opus_packet_samples(pkt, (size_t)len), 2 * FRAME);
	ck_assert_int_eq(aud_opus_dec_decode(dec, pkt, (size_t)len, out, FRAME), LK_ETOOBIG);
	ck_assert_int_eq(aud_opus_dec_decode(dec, pkt, (size_t)len, out, 2 * FRAME), 2 * FRAME);
	opus_encoder_destroy(oe);

	/* Loss sizes: whole 2.5 ms units up to 120 ms. */
	ck_assert_int_eq(aud_opus_dec_conceal(dec, out, 0), LK_EINVAL);
	ck_assert_int_eq(aud_opus_dec_conceal(dec, out, 100), LK_EINVAL);
	ck_assert_int_eq(aud_opus_dec_conceal(dec, out, AUD_OPUS_MAX_SAMPLES + 120), LK_EINVAL);
	ck_assert_int_eq(aud_opus_dec_conceal(dec, out, 2 * FRAME), 2 * FRAME);
	/* A broken "next" packet still fills the gap (by PLC). */
	ck_assert_int_eq(
	        aud_opus_dec_recover(dec, zero_frames, sizeof(zero_frames), out, FRAME), FRAME);
	aud_opus_dec_get_stats(dec, &st);
	ck_assert_uint_eq(st.concealed, 2);
	ck_assert_uint_eq(st.recovered, 0);
	aud_opus_dec_reset(dec);
	aud_opus_dec_free(dec);
}
END_TEST

START_TEST(test_opus_encoder_options)
{
	struct aud_opus_enc_opts eo = {.bitrate = 5000};
	struct aud_opus_enc *enc;
	static int16_t in[FRAME];
	uint8_t pkt[AUD_OPUS_MAX_PACKET];
	int err = 0, len_lo, len_hi, i;

	ck_assert_ptr_null(aud_opus_enc_new(&eo, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	eo.bitrate = 32000;
	eo.app = (enum aud_opus_app)7;
	ck_assert_ptr_null(aud_opus_enc_new(&eo, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	eo.app = AUD_OPUS_APP_VOIP;
	eo.complexity = 11;
	ck_assert_ptr_null(aud_opus_enc_new(&eo, &err));
	eo.complexity = 0;
	eo.loss_pct = 101;
	ck_assert_ptr_null(aud_opus_enc_new(&eo, &err));
	enc = aud_opus_enc_new(NULL, &err);
	ck_assert_ptr_nonnull(enc);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(aud_opus_enc_encode(enc, in, pkt, 0), LK_ETOOBIG);
	ck_assert_int_eq(aud_opus_enc_set_bitrate(enc, 1000), LK_EINVAL);
	ck_assert_int_eq(aud_opus_enc_set_loss(enc, -1), LK_EINVAL);
	ck_assert_int_eq(aud_opus_enc_set_loss(enc, 0), 0);
	/* The bitrate setting shows in the packet sizes. */
	ck_assert_int_eq(aud_opus_enc_set_bitrate(enc, 12000), 0);
	for (i = 0, len_lo = 0; i < 20; i++) {
		t_tone(in, FRAME, 440, 0.5, AUD_OPUS_RATE);
		len_lo = aud_opus_enc_encode(enc, in, pkt, sizeof(pkt));
	}
	ck_assert_int_eq(aud_opus_enc_set_bitrate(enc, 96000), 0);
	for (i = 0, len_hi = 0; i < 20; i++) {
		t_tone(in, FRAME, 440, 0.5, AUD_OPUS_RATE);
		len_hi = aud_opus_enc_encode(enc, in, pkt, sizeof(pkt));
	}
	ck_assert_int_gt(len_lo, 0);
	ck_assert_int_gt(len_hi, 2 * len_lo);
	aud_opus_enc_free(enc);
	aud_opus_enc_free(NULL);
	aud_opus_dec_free(NULL);
}
END_TEST

/* ---- resample ---- */

START_TEST(test_resample_48_24_48)
{
	enum { N = 100 };
	static int16_t in[N * FRAME], mid[N * FRAME / 2], back[N * FRAME];
	struct aud_resample *down =
	        aud_resample_new(48000, 24000, FRAME, AUD_RESAMPLE_QUALITY, NULL);
	struct aud_resample *up =
	        aud_resample_new(24000, 48000, FRAME / 2, AUD_RESAMPLE_QUALITY, NULL);
	double f, lvl_in, lvl_back;
	int i;

	ck_assert_ptr_nonnull(down);
	ck_assert_ptr_nonnull(up);
	ck_assert_uint_eq(aud_resample_out_frame(down), FRAME / 2);
	ck_assert_uint_eq(aud_resample_in_frame(up), FRAME / 2);
	ck_assert_uint_eq(aud_resample_out_frame(up), FRAME);
	ck_assert_int_gt(aud_resample_latency(down), 0);
	t_tone(in, N * FRAME, 440, 0.5, 48000);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(
		        aud_resample_process(down, in + i * FRAME, mid + i * FRAME / 2), FRAME / 2);
		ck_assert_int_eq(
		        aud_resample_process(up, mid + i * FRAME / 2, back + i * FRAME), FRAME);
	}
	f = t_peak(mid + N * FRAME / 4, N * FRAME / 4, 24000);
	ck_assert_msg(fabs(f - 440) <= 1, "24 kHz: %.3f Hz", f);
	f = t_peak(back + N * FRAME / 2, N * FRAME / 2, 48000);
	ck_assert_msg(fabs(f - 440) <= 1, "back at 48 kHz: %.3f Hz", f);
	lvl_in = aud_analyze_rms_dbfs(in + N * FRAME / 2, N * FRAME / 2);
	lvl_back = aud_analyze_rms_dbfs(back + N * FRAME / 2, N * FRAME / 2);
	ck_assert_msg(fabs(lvl_in - lvl_back) < 0.5, "level %.2f -> %.2f dBFS", lvl_in, lvl_back);
	aud_resample_free(down);
	aud_resample_free(up);
}
END_TEST

START_TEST(test_resample_rate_pairs)
{
	static const int pairs[][2] = {{48000, 16000}, {16000, 48000}, {44100, 48000},
	        {48000, 44100}, {48000, 8000}, {22050, 16000}, {32000, 24000}};
	static int16_t in[50 * 960], out[50 * 960];
	size_t p, inf, outf, i;
	struct aud_resample *rs;
	double f;

	for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		inf = (size_t)pairs[p][0] / 50;
		outf = (size_t)pairs[p][1] / 50;
		rs = aud_resample_new(pairs[p][0], pairs[p][1], inf, 3, NULL);
		ck_assert_ptr_nonnull(rs);
		ck_assert_uint_eq(aud_resample_out_frame(rs), outf);
		t_tone(in, 50 * inf, 1000, 0.5, pairs[p][0]);
		for (i = 0; i < 50; i++)
			ck_assert_int_eq(
			        aud_resample_process(rs, in + i * inf, out + i * outf), (int)outf);
		f = t_peak(out + 10 * outf, 40 * outf, pairs[p][1]);
		ck_assert_msg(
		        fabs(f - 1000) <= 1, "%d -> %d: %.3f Hz", pairs[p][0], pairs[p][1], f);
		aud_resample_free(rs);
	}
}
END_TEST

START_TEST(test_resample_args_and_reset)
{
	static int16_t in[FRAME], out[FRAME];
	struct aud_resample *rs;
	int err = 0, i;

	/* 100 samples at 48 kHz are 91.875 at 44.1 kHz: no fixed frame. */
	ck_assert_ptr_null(aud_resample_new(48000, 44100, 100, 5, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	ck_assert_ptr_null(aud_resample_new(48000, 24000, 0, 5, &err));
	ck_assert_ptr_null(aud_resample_new(48000, 24000, FRAME, 11, &err));
	ck_assert_ptr_null(aud_resample_new(48000, 24000, FRAME, -1, &err));
	ck_assert_ptr_null(aud_resample_new(999, 24000, 999 / 50, 5, &err));
	ck_assert_ptr_null(aud_resample_new(48000, 400000, FRAME, 5, &err));
	ck_assert_ptr_null(aud_resample_new(48000, 24000, 48001, 5, &err));
	ck_assert_int_eq(err, LK_EINVAL);

	/* Equal rates copy. */
	rs = aud_resample_new(24000, 24000, 480, 5, &err);
	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(aud_resample_latency(rs), 0);
	t_tone(in, 480, 440, 0.5, 24000);
	ck_assert_int_eq(aud_resample_process(rs, in, out), 480);
	ck_assert_mem_eq(in, out, 480 * sizeof(int16_t));
	aud_resample_free(rs);

	/* After reset, silence in gives silence out: no history is left. */
	rs = aud_resample_new(48000, 24000, FRAME, 5, &err);
	ck_assert_ptr_nonnull(rs);
	t_tone(in, FRAME, 440, 0.9, 48000);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(aud_resample_process(rs, in, out), FRAME / 2);
	memset(in, 0, sizeof(in));
	aud_resample_reset(rs);
	ck_assert_int_eq(aud_resample_process(rs, in, out), FRAME / 2);
	for (i = 0; i < FRAME / 2; i++)
		ck_assert_int_eq(out[i], 0);
	aud_resample_free(rs);
	aud_resample_free(NULL);
}
END_TEST

/* ---- ring ---- */

static void
t_frame(int16_t *f, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		f[i] = (int16_t)(v * 10 + (int)(i % 7));
}

START_TEST(test_ring_fifo_and_overflow)
{
	struct aud_ring_opts o = {.frame_samples = 480, .capacity = 4, .rate = 24000};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int16_t in[480], out[480], want[480];
	int i;

	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(aud_ring_frame_samples(r), 480);
	for (i = 0; i < 6; i++) {
		t_frame(in, 480, i);
		ck_assert_int_eq(aud_ring_push(r, in), i >= 4 ? 1 : 0);
	}
	ck_assert_uint_eq(aud_ring_depth(r), 4);
	/* The oldest two were dropped: frames 2..5 remain, in order. */
	for (i = 2; i < 6; i++) {
		ck_assert_int_eq(aud_ring_pop(r, out), 0);
		t_frame(want, 480, i);
		ck_assert_mem_eq(out, want, sizeof(out));
	}
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.pushed, 6);
	ck_assert_uint_eq(st.popped, 4);
	ck_assert_uint_eq(st.overflows, 2);
	ck_assert_uint_eq(st.underruns, 0);
	ck_assert_uint_eq(st.max_depth, 4);
	ck_assert_uint_eq(st.depth, 0);
	aud_ring_free(r);
}
END_TEST

START_TEST(test_ring_underrun_and_prefill)
{
	struct aud_ring_opts o = {.frame_samples = 960, .capacity = 8, .prefill = 3};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int16_t in[960], out[960];
	int i;

	ck_assert_ptr_nonnull(r);
	/* Start-up: silence while gathering, not counted as underruns. */
	memset(out, 0x55, sizeof(out));
	ck_assert_int_eq(aud_ring_pop(r, out), LK_EAGAIN);
	for (i = 0; i < 960; i++)
		ck_assert_int_eq(out[i], 0);
	t_frame(in, 960, 1);
	aud_ring_push(r, in);
	aud_ring_push(r, in);
	ck_assert_int_eq(aud_ring_pop(r, out), LK_EAGAIN);
	aud_ring_push(r, in);
	ck_assert_int_eq(aud_ring_pop(r, out), 0);
	ck_assert_mem_eq(out, in, sizeof(in));
	ck_assert_int_eq(aud_ring_pop(r, out), 0);
	ck_assert_int_eq(aud_ring_pop(r, out), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.underruns, 0);
	/* Starved: each silent pop counts, and the prefill applies again. */
	ck_assert_int_eq(aud_ring_pop(r, out), LK_EAGAIN);
	aud_ring_push(r, in);
	ck_assert_int_eq(aud_ring_pop(r, out), LK_EAGAIN);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.underruns, 2);
	aud_ring_push(r, in);
	aud_ring_push(r, in);
	ck_assert_int_eq(aud_ring_pop(r, out), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.popped, 4);
	ck_assert_uint_eq(st.depth, 2);
	aud_ring_clear(r);
	ck_assert_uint_eq(aud_ring_depth(r), 0);
	ck_assert_int_eq(aud_ring_pop(r, out), LK_EAGAIN);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.underruns, 2);
	aud_ring_free(r);
}
END_TEST

START_TEST(test_ring_jitter)
{
	struct aud_ring_opts o = {.frame_samples = 960, .capacity = 4, .rate = 48000};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int16_t f[960], out[960];
	int64_t t = 1000000;
	int i;

	ck_assert_ptr_nonnull(r);
	memset(f, 0, sizeof(f));
	/* Arrivals exactly every 20 ms: no jitter. */
	for (i = 0; i < 50; i++, t += 20000) {
		aud_ring_push_at(r, f, t);
		aud_ring_pop(r, out);
	}
	aud_ring_get_stats(r, &st);
	ck_assert_double_lt(st.jitter_ms, 1e-9);
	/* Alternating 15 and 25 ms: |D| = 5 ms each time, J converges to 5 ms. */
	for (i = 0; i < 200; i++) {
		t += i % 2 ? 15000 : 25000;
		aud_ring_push_at(r, f, t);
		aud_ring_pop(r, out);
	}
	aud_ring_get_stats(r, &st);
	ck_assert_msg(st.jitter_ms > 4.9 && st.jitter_ms < 5.01, "jitter %.3f ms", st.jitter_ms);
	ck_assert_uint_eq(st.overflows, 0);
	ck_assert_uint_eq(st.underruns, 0);
	aud_ring_free(r);
}
END_TEST

/* Pushes frame v (t_frame); v < 0 pushes nothing. */
static void
t_ring_push(struct aud_ring *r, int v)
{
	int16_t in[960];

	if (v < 0)
		return;
	t_frame(in, 960, v);
	aud_ring_push(r, in);
}

/* One pacer tick after frame v arrived (v < 0: nothing arrived): the
 * pop's result, and the value of the frame played in *got (-1: silence). */
static int
t_ring_step(struct aud_ring *r, int v, int *got)
{
	int16_t out[960];
	int rc;

	t_ring_push(r, v);
	rc = aud_ring_pop(r, out);
	*got = rc == 0 ? out[0] / 10 : -1;
	return rc;
}

START_TEST(test_ring_trim)
{
	struct aud_ring_opts o = {
	        .frame_samples = 960, .capacity = 8, .prefill = 1, .trim_after = 4};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int i, got, next = 0, v = 0;

	ck_assert_ptr_nonnull(r);
	/* Two frames of delay that no arrival needs: each pop leaves frames
	 * waiting. Every 4 such pops one frame is dropped. */
	t_ring_push(r, v++);
	t_ring_push(r, v++);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
		/* In order; a trim skips exactly one frame. */
		ck_assert_msg(got == next || got == next + 1, "pop %d got frame %d, want %d", i,
		        got, next);
		next = got + 1;
		if (i == 3) {
			aud_ring_get_stats(r, &st);
			ck_assert_uint_eq(st.trims, 1);
			ck_assert_uint_eq(st.depth, 1);
		}
	}
	/* Down to no spare frame: nothing more to take away. */
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trims, 2);
	ck_assert_uint_eq(st.depth, 0);
	ck_assert_uint_eq(st.underruns, 0);
	ck_assert_uint_eq(st.popped, 20);
	ck_assert_uint_eq(st.pushed, 22);
	aud_ring_free(r);
}
END_TEST

START_TEST(test_ring_trim_backs_off)
{
	struct aud_ring_opts o = {
	        .frame_samples = 960, .capacity = 8, .prefill = 1, .trim_after = 4};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int i, k, got, v = 0;

	ck_assert_ptr_nonnull(r);
	/* A late frame with no trim before it: trimming keeps its pace. */
	ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
	ck_assert_int_eq(t_ring_step(r, -1, &got), LK_EAGAIN);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.underruns, 1);
	ck_assert_uint_eq(st.trim_after, 4);
	/* The late frame arrives: from now on one frame behind, trimmed
	 * after 4 pops. */
	t_ring_push(r, v++);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trims, 1);
	ck_assert_uint_eq(st.depth, 0);
	/* A late frame right after the trim: it was wrong, wait twice as long. */
	ck_assert_int_eq(t_ring_step(r, -1, &got), LK_EAGAIN);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trim_after, 8);
	/* One behind again: 7 pops with a spare frame do not trim, 8 do. */
	t_ring_push(r, v++);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trims, 1);
	ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trims, 2);
	/* A late frame long after a trim does not slow trimming down. */
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
	ck_assert_int_eq(t_ring_step(r, -1, &got), LK_EAGAIN);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trim_after, 8);
	/* Backing off stops at AUD_RING_TRIM_MAX_FACTOR times the setting. */
	for (i = 0; i < 5; i++) {
		t_ring_push(r, v++);
		aud_ring_get_stats(r, &st);
		for (k = 0; k < (int)st.trim_after; k++)
			ck_assert_int_eq(t_ring_step(r, v++, &got), 0);
		ck_assert_int_eq(t_ring_step(r, -1, &got), LK_EAGAIN);
	}
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trims, 7);
	ck_assert_uint_eq(st.trim_after, 4 * AUD_RING_TRIM_MAX_FACTOR);
	/* A new stream starts from the setting again. */
	aud_ring_clear(r);
	aud_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.trim_after, 4);
	aud_ring_free(r);
}
END_TEST

START_TEST(test_ring_wait)
{
	struct aud_ring_opts o = {.frame_samples = 480, .capacity = 4, .rate = 24000};
	struct aud_ring *r = aud_ring_new(&o, NULL);
	struct aud_ring_stats st;
	int16_t f[480], out[480];

	ck_assert_ptr_nonnull(r);
	memset(f, 0, sizeof(f));
	aud_ring_push_at(r, f, 1000000);
	ck_assert_int_eq(aud_ring_pop_at(r, out, 1015000), 0);
	aud_ring_push_at(r, f, 1020000);
	ck_assert_int_eq(aud_ring_pop_at(r, out, 1025000), 0);
	/* Frames without a time, or popped without one, do not count. */
	aud_ring_push(r, f);
	ck_assert_int_eq(aud_ring_pop_at(r, out, 1090000), 0);
	aud_ring_push_at(r, f, 1100000);
	ck_assert_int_eq(aud_ring_pop(r, out), 0);
	aud_ring_get_stats(r, &st);
	ck_assert_msg(st.wait_ms > 9.99 && st.wait_ms < 10.01, "wait %.3f ms", st.wait_ms);
	ck_assert_msg(
	        st.wait_max_ms > 14.99 && st.wait_max_ms < 15.01, "max %.3f ms", st.wait_max_ms);
	ck_assert_uint_eq(st.popped, 4);
	aud_ring_free(r);
}
END_TEST

START_TEST(test_ring_bad_opts)
{
	struct aud_ring_opts o = {.frame_samples = 0, .capacity = 4};
	int err = 0;

	ck_assert_ptr_null(aud_ring_new(&o, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	o.frame_samples = AUD_RING_MAX_FRAME_SAMPLES + 1;
	ck_assert_ptr_null(aud_ring_new(&o, &err));
	o.frame_samples = 960;
	o.capacity = 0;
	ck_assert_ptr_null(aud_ring_new(&o, &err));
	o.capacity = AUD_RING_MAX_FRAMES + 1;
	ck_assert_ptr_null(aud_ring_new(&o, &err));
	o.capacity = 4;
	o.prefill = 5;
	ck_assert_ptr_null(aud_ring_new(&o, &err));
	o.prefill = 0;
	o.trim_after = 1000001;
	ck_assert_ptr_null(aud_ring_new(&o, &err));
	ck_assert_ptr_null(aud_ring_new(NULL, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	aud_ring_free(NULL);
}
END_TEST

/* ---- tone ---- */

START_TEST(test_tone_frequency_and_level)
{
	static int16_t pcm[24000];
	struct aud_tone *t;
	double f;

	t_tone(pcm, 24000, 440, 0.5, 24000);
	f = t_peak(pcm, 24000, 24000);
	ck_assert_msg(fabs(f - 440) < 0.05, "%.4f Hz", f);
	/* A sine's RMS is its peak / sqrt 2: 20 log10(0.5) - 3.01 dB. */
	ck_assert_double_eq_tol(aud_analyze_rms_dbfs(pcm, 24000), 20 * log10(0.5) - 3.0103, 0.02);
	t = aud_tone_new(1000, 1.0, 16000, NULL);
	ck_assert_ptr_nonnull(t);
	aud_tone_fill(t, pcm, 16000);
	ck_assert_double_eq_tol(aud_analyze_rms_dbfs(pcm, 16000), -3.0103, 0.02);
	ck_assert_int_eq(aud_tone_set_amplitude(t, 0), 0);
	aud_tone_fill(t, pcm, 100);
	ck_assert_double_eq(aud_analyze_rms_dbfs(pcm, 100), AUD_DBFS_MIN);
	aud_tone_free(t);
}
END_TEST

START_TEST(test_tone_phase_continuity)
{
	static int16_t whole[4800], parts[4800];
	struct aud_tone *a = aud_tone_new(440, 0.8, 24000, NULL);
	struct aud_tone *b = aud_tone_new(440, 0.8, 24000, NULL);
	size_t off = 0, step = 1;
	int i, d, maxd = 0;

	aud_tone_fill(a, whole, 4800);
	while (off < 4800) {
		size_t n = step < 4800 - off ? step : 4800 - off;

		aud_tone_fill(b, parts + off, n);
		off += n;
		step = step * 3 % 17 + 1;
	}
	ck_assert_mem_eq(whole, parts, sizeof(whole));
	/* A frequency change keeps the phase: no jump bigger than the slope. */
	aud_tone_fill(a, whole, 2400);
	ck_assert_int_eq(aud_tone_set_freq(a, 660), 0);
	aud_tone_fill(a, whole + 2400, 2400);
	for (i = 1; i < 4800; i++) {
		d = abs(whole[i] - whole[i - 1]);
		if (d > maxd)
			maxd = d;
	}
	/* Steepest step of a 660 Hz sine of peak 0.8 * 32767 at 24 kHz, plus rounding. */
	ck_assert_int_le(maxd, (int)(2 * M_PI * 660 / 24000 * 0.8 * 32767) + 2);
	aud_tone_free(a);
	aud_tone_free(b);
}
END_TEST

START_TEST(test_tone_bad_args)
{
	struct aud_tone *t;
	int err = 0;

	ck_assert_ptr_null(aud_tone_new(12000, 0.5, 24000, &err));
	ck_assert_int_eq(err, LK_EINVAL);
	ck_assert_ptr_null(aud_tone_new(0, 0.5, 24000, &err));
	ck_assert_ptr_null(aud_tone_new(NAN, 0.5, 24000, &err));
	ck_assert_ptr_null(aud_tone_new(440, 1.5, 24000, &err));
	ck_assert_ptr_null(aud_tone_new(440, -0.1, 24000, &err));
	ck_assert_ptr_null(aud_tone_new(440, 0.5, 999, &err));
	t = aud_tone_new(440, 0.5, 24000, &err);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(aud_tone_set_freq(t, 13000), LK_EINVAL);
	ck_assert_int_eq(aud_tone_set_amplitude(t, 2), LK_EINVAL);
	aud_tone_free(t);
}
END_TEST

/* ---- wav ---- */

static char t_dir[256];

static void
t_wav_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t_dir, sizeof(t_dir), "%s/check_audio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(t_dir));
}

static void
t_wav_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_audio: could not remove %s\n", t_dir);
}

static uint8_t *
t_slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	FILE *f = fopen(path, "rb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	b = malloc(*len + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static uint32_t
t_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
t_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

START_TEST(test_wav_round_trip)
{
	enum { N = 36000 }; /* 1.5 s at 24 kHz: 72000 bytes, two buffer flushes */
	static int16_t pcm[N], back[N];
	struct aud_wav_writer *w;
	struct aud_wav_info info;
	struct aud_wav_pcm rd;
	char path[300];
	uint8_t *file;
	size_t len, i;
	int err = 1;
	double f;

	snprintf(path, sizeof(path), "%s/rt.wav", t_dir);
	t_tone(pcm, N, 440, 0.5, 24000);
	w = aud_wav_writer_new(path, 24000, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(err, 0);
	for (i = 0; i < N; i += 480)
		ck_assert_int_eq(aud_wav_writer_write(w, pcm + i, 480), 0);
	ck_assert_uint_eq(aud_wav_writer_samples(w), N);
	ck_assert_int_eq(aud_wav_writer_finish(w), 0);
	ck_assert_int_eq(aud_wav_writer_finish(w), 0);
	ck_assert_int_eq(aud_wav_writer_write(w, pcm, 1), LK_EINVAL);
	aud_wav_writer_free(w);

	file = t_slurp(path, &len);
	ck_assert_uint_eq(len, AUD_WAV_HEADER_LEN + 2 * N);
	ck_assert_mem_eq(file, "RIFF", 4);
	ck_assert_uint_eq(t_le32(file + 4), 36 + 2 * N);
	ck_assert_mem_eq(file + 8, "WAVEfmt ", 8);
	ck_assert_uint_eq(t_le32(file + 16), 16);
	ck_assert_uint_eq(t_le16(file + 20), 1); /* PCM */
	ck_assert_uint_eq(t_le16(file + 22), 1); /* mono */
	ck_assert_uint_eq(t_le32(file + 24), 24000); /* rate */
	ck_assert_uint_eq(t_le32(file + 28), 48000); /* bytes/s */
	ck_assert_uint_eq(t_le16(file + 32), 2); /* block align */
	ck_assert_uint_eq(t_le16(file + 34), 16); /* bits */
	ck_assert_mem_eq(file + 36, "data", 4);
	ck_assert_uint_eq(t_le32(file + 40), 2 * N);
	ck_assert_uint_eq(t_le16(file + 44 + 2 * 100), (uint16_t)pcm[100]);

	ck_assert_int_eq(aud_wav_parse(file, len, &info), 0);
	ck_assert_int_eq(info.rate, 24000);
	ck_assert_int_eq(info.channels, 1);
	ck_assert_int_eq(info.bits, 16);
	ck_assert_uint_eq(info.frames, N);
	ck_assert_ptr_eq(info.data, file + 44);
	ck_assert_uint_eq(aud_wav_read_mono(&info, back, N), N);
	ck_assert_mem_eq(back, pcm, sizeof(pcm));
	free(file);

	ck_assert_int_eq(aud_wav_read_file(path, 1 << 20, &rd), 0);
	ck_assert_uint_eq(rd.n, N);
	ck_assert_int_eq(rd.rate, 24000);
	ck_assert_mem_eq(rd.samples, pcm, sizeof(pcm));
	f = t_peak(rd.samples, rd.n, rd.rate);
	ck_assert_msg(fabs(f - 440) < 0.1, "%.3f Hz", f);
	aud_wav_pcm_free(&rd);
	ck_assert_int_eq(aud_wav_read_file(path, 1000, &rd), LK_ETOOBIG);
	ck_assert_ptr_null(rd.samples);
}
END_TEST

/* Each buffer written out updates the sizes: a killed recorder leaves a valid file. */
START_TEST(test_wav_valid_while_open)
{
	static int16_t pcm[20000];
	struct aud_wav_writer *w;
	struct aud_wav_info info;
	char path[300];
	uint8_t *file;
	size_t len;

	snprintf(path, sizeof(path), "%s/open.wav", t_dir);
	t_tone(pcm, 20000, 300, 0.3, 16000);
	w = aud_wav_writer_new(path, 16000, NULL);
	ck_assert_ptr_nonnull(w);
	file = t_slurp(path, &len);
	ck_assert_uint_eq(len, AUD_WAV_HEADER_LEN);
	ck_assert_int_eq(aud_wav_parse(file, len, &info), 0);
	ck_assert_uint_eq(info.frames, 0);
	free(file);
	ck_assert_int_eq(aud_wav_writer_write(w, pcm, 20000), 0);
	file = t_slurp(path, &len);
	ck_assert_uint_eq(len, AUD_WAV_HEADER_LEN + AUD_WAV_BUF_LEN);
	ck_assert_int_eq(aud_wav_parse(file, len, &info), 0);
	ck_assert_uint_eq(info.frames, AUD_WAV_BUF_LEN / 2);
	ck_assert_int_eq(info.rate, 16000);
	free(file);
	aud_wav_writer_free(w);
	file = t_slurp(path, &len);
	ck_assert_int_eq(aud_wav_parse(file, len, &info), 0);
	ck_assert_uint_eq(info.frames, 20000);
	free(file);
}
END_TEST

START_TEST(test_wav_full_disk)
{
	struct aud_wav_writer *w;
	int err = 0;

	/* /dev/full: every write fails with ENOSPC, the header's first. */
	w = aud_wav_writer_new("/dev/full", 24000, &err);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(err, -ENOSPC);
	ck_assert_str_eq(lk_strerror(err), strerror(ENOSPC));
	ck_assert_ptr_null(aud_wav_writer_new("/nonexistent-dir/x.wav", 24000, &err));
	ck_assert_int_eq(err, -ENOENT);
	ck_assert_ptr_null(aud_wav_writer_new("/tmp/x.wav", 0, &err));
	ck_assert_int_eq(err, LK_EINVAL);
}
END_TEST

/*
 * The writer in a child with a 8 KiB file-size limit (it stands in for a disk
 * that fills mid-recording; Check's own message file must not share the
 * limit). Exit status 0 when every result was as expected, else the step.
 */
static int
t_wav_limited_writer(const char *path)
{
	static int16_t pcm[480];
	struct rlimit rl = {.rlim_cur = 8192, .rlim_max = 8192};
	struct aud_wav_writer *w;
	int i, rc, failed_at = -1;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 1;
	t_tone(pcm, 480, 440, 0.5, 24000);
	w = aud_wav_writer_new(path, 24000, NULL);
	if (w == NULL)
		return 2;
	for (i = 0; i < 200; i++) {
		rc = aud_wav_writer_write(w, pcm, 480);
		if (rc < 0 && failed_at < 0)
			failed_at = i;
		/* Sticky: every later write repeats the error. */
		if (failed_at >= 0 && rc != -EFBIG)
			return 3;
	}
	/* The first 32 KiB flush is where the limit bites. */
	if (failed_at != AUD_WAV_BUF_LEN / 960)
		return 4;
	if (aud_wav_writer_finish(w) != -EFBIG)
		return 5;
	aud_wav_writer_free(w);
	return 0;
}

/*
 * The disk fills mid-recording: the write reports the error, later writes
 * and finish repeat it, and the file stays a valid WAV holding what
 * reached the disk.
 */
START_TEST(test_wav_disk_fills_mid_stream)
{
	static int16_t pcm[480];
	struct aud_wav_pcm rd;
	char path[300];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/full.wav", t_dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(t_wav_limited_writer(path));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(
	        WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer child: status %#x", status);
	ck_assert_int_eq(aud_wav_read_file(path, 1 << 20, &rd), 0);
	ck_assert_uint_eq(rd.n, (8192 - AUD_WAV_HEADER_LEN) / 2);
	t_tone(pcm, 480, 440, 0.5, 24000);
	ck_assert_mem_eq(rd.samples, pcm, sizeof(pcm));
	aud_wav_pcm_free(&rd);
}
END_TEST

START_TEST(test_wav_size_limit)
{
	static int16_t pcm[16];
	struct aud_wav_writer *w;
	char path[300];

	snprintf(path, sizeof(path), "%s/big.wav", t_dir);
	w = aud_wav_writer_new(path, 24000, NULL);
	ck_assert_ptr_nonnull(w);
	/* Refused before a single sample is read. */
	ck_assert_int_eq(aud_wav_writer_write(w, pcm, AUD_WAV_MAX_DATA / 2 + 1), LK_ETOOBIG);
	ck_assert_int_eq(aud_wav_writer_write(w, pcm, 16), 0);
	ck_assert_int_eq(aud_wav_writer_finish(w), 0);
	aud_wav_writer_free(w);
}
END_TEST

/* Build a RIFF file from chunks given as (id, body, body length) triples. */
static size_t
t_riff(uint8_t *out, const char *const *ids, const uint8_t *const *bodies, const size_t *lens,
        size_t n)
{
	size_t off = 12, i;

	memcpy(out, "RIFF", 4);
	memcpy(out + 8, "WAVE", 4);
	for (i = 0; i < n; i++) {
		memcpy(out + off, ids[i], 4);
		out[off + 4] = (uint8_t)(lens[i] & 0xff);
		out[off + 5] = (uint8_t)(lens[i] >> 8);
		out[off + 6] = 0;
		out[off + 7] = 0;
		memcpy(out + off + 8, bodies[i], lens[i]);
		off += 8 + lens[i];
		if (lens[i] & 1)
			out[off++] = 0;
	}
	out[4] = (uint8_t)((off - 8) & 0xff);
	out[5] = (uint8_t)((off - 8) >> 8);
	out[6] = 0;
	out[7] = 0;
	return off;
}

START_TEST(test_wav_parse_strict)
{
	/* PCM, 2 channels, 48 kHz, 192000 B/s, align 4, 16 bits. */
	static const uint8_t fmt_st[16] = {
	        1, 0, 2, 0, 0x80, 0xbb, 0, 0, 0, 0xee, 2, 0, 4, 0, 16, 0};
	/* PCM mono 24 kHz. */
	static const uint8_t fmt_mono[16] = {
	        1, 0, 1, 0, 0xc0, 0x5d, 0, 0, 0x80, 0xbb, 0, 0, 2, 0, 16, 0};
	/* IEEE float (tag 3), mono 24 kHz, 32 bits. */
	static const uint8_t fmt_float[16] = {
	        3, 0, 1, 0, 0xc0, 0x5d, 0, 0, 0, 0x77, 1, 0, 4, 0, 32, 0};
	/* Stereo frames (1000, 3000), (-2, -4). */
	static const uint8_t data_st[8] = {0xe8, 0x03, 0xb8, 0x0b, 0xfe, 0xff, 0xfc, 0xff};
	static const uint8_t junk[3] = {'a', 'b', 'c'};
	uint8_t buf[256];
	struct aud_wav_info info;
	int16_t out[4];
	size_t len;

	{
		const char *ids[] = {"junk", "fmt ", "data", "LIST"};
		const uint8_t *b[] = {junk, fmt_st, data_st, junk};
		const size_t l[] = {3, 16, 8, 3};

		len = t_riff(buf, ids, b, l, 4);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), 0);
		ck_assert_int_eq(info.channels, 2);
		ck_assert_int_eq(info.rate, 48000);
		ck_assert_uint_eq(info.frames, 2);
		ck_assert_uint_eq(aud_wav_read_mono(&info, out, 4), 2);
		ck_assert_int_eq(out[0], 2000);
		ck_assert_int_eq(out[1], -3);
		ck_assert_uint_eq(aud_wav_read_mono(&info, out, 1), 1);
		/* Trailing bytes after the RIFF chunk. */
		buf[len] = 0;
		ck_assert_int_eq(aud_wav_parse(buf, len + 1, &info), LK_ETRAIL);
		ck_assert_ptr_null(info.data);
		/* Truncated anywhere inside. */
		ck_assert_int_eq(aud_wav_parse(buf, len - 1, &info), LK_EINVAL);
		ck_assert_int_eq(aud_wav_parse(buf, 11, &info), LK_EINVAL);
		ck_assert_int_eq(aud_wav_parse(NULL, 0, &info), LK_EINVAL);
		/* The last chunk's pad byte is required. */
		buf[4] = (uint8_t)(buf[4] - 1);
		ck_assert_int_eq(aud_wav_parse(buf, len - 1, &info), LK_EINVAL);
	}
	{
		const char *ids[] = {"fmt ", "data"};
		const uint8_t *b[] = {fmt_float, data_st};
		const size_t l[] = {16, 8};

		len = t_riff(buf, ids, b, l, 2);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_ETYPE);
	}
	{
		/* data before fmt; a second fmt; no data; odd data for stereo. */
		const char *ids1[] = {"data", "fmt "};
		const uint8_t *b1[] = {data_st, fmt_mono};
		const size_t l1[] = {8, 16};
		const char *ids2[] = {"fmt ", "fmt ", "data"};
		const uint8_t *b2[] = {fmt_mono, fmt_mono, data_st};
		const size_t l2[] = {16, 16, 8};
		const char *ids3[] = {"fmt "};
		const uint8_t *b3[] = {fmt_mono};
		const size_t l3[] = {16};
		const char *ids4[] = {"fmt ", "data"};
		const uint8_t *b4[] = {fmt_st, data_st};
		const size_t l4[] = {16, 6};

		len = t_riff(buf, ids1, b1, l1, 2);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_EINVAL);
		len = t_riff(buf, ids2, b2, l2, 3);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_EINVAL);
		len = t_riff(buf, ids3, b3, l3, 1);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_EINVAL);
		len = t_riff(buf, ids4, b4, l4, 2);
		ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_EINVAL);
	}
}
END_TEST

START_TEST(test_wav_too_many_chunks)
{
	static const uint8_t fmt_mono[16] = {
	        1, 0, 1, 0, 0xc0, 0x5d, 0, 0, 0x80, 0xbb, 0, 0, 2, 0, 16, 0};
	static uint8_t buf[2048];
	struct aud_wav_info info;
	const char *ids[AUD_WAV_MAX_CHUNKS + 1];
	const uint8_t *b[AUD_WAV_MAX_CHUNKS + 1];
	size_t l[AUD_WAV_MAX_CHUNKS + 1], i, len;

	for (i = 0; i <= AUD_WAV_MAX_CHUNKS; i++) {
		ids[i] = "junk";
		b[i] = fmt_mono;
		l[i] = 0;
	}
	ids[0] = "fmt ";
	l[0] = 16;
	ids[AUD_WAV_MAX_CHUNKS - 1] = "data";
	len = t_riff(buf, ids, b, l, AUD_WAV_MAX_CHUNKS);
	ck_assert_int_eq(aud_wav_parse(buf, len, &info), 0);
	ids[AUD_WAV_MAX_CHUNKS - 1] = "junk";
	ids[AUD_WAV_MAX_CHUNKS] = "data";
	len = t_riff(buf, ids, b, l, AUD_WAV_MAX_CHUNKS + 1);
	ck_assert_int_eq(aud_wav_parse(buf, len, &info), LK_ETOOBIG);
}
END_TEST

/* ---- analyze ---- */

START_TEST(test_analyze_accuracy)
{
	static int16_t pcm[48000];
	double f;

	t_tone(pcm, 48000, 440, 0.5, 48000);
	ck_assert_int_eq(aud_analyze_peak(pcm, 48000, 48000, 20, 24000, &f), 0);
	ck_assert_msg(fabs(f - 440) < 0.05, "%.4f", f);
	t_tone(pcm, 24000, 1000.3, 0.2, 24000);
	ck_assert_int_eq(aud_analyze_peak(pcm, 24000, 24000, 0, 12000, &f), 0);
	ck_assert_msg(fabs(f - 1000.3) < 0.05, "%.4f", f);
	/* 100 ms still lands within a hertz. */
	t_tone(pcm, 4800, 440, 0.5, 48000);
	ck_assert_int_eq(aud_analyze_peak(pcm, 4800, 48000, 20, 24000, &f), 0);
	ck_assert_msg(fabs(f - 440) < 1, "%.4f", f);
}
END_TEST

START_TEST(test_analyze_dominant_and_band)
{
	static int16_t a[24000], b[24000];
	uint32_t seed = 99;
	double f;
	int i;

	t_tone(a, 24000, 440, 0.3, 24000);
	t_tone(b, 24000, 1000, 0.6, 24000);
	for (i = 0; i < 24000; i++)
		a[i] = (int16_t)(a[i] + b[i]);
	ck_assert_int_eq(aud_analyze_peak(a, 24000, 24000, 20, 12000, &f), 0);
	ck_assert_msg(fabs(f - 1000) < 0.1, "%.4f", f);
	ck_assert_int_eq(aud_analyze_peak(a, 24000, 24000, 20, 800, &f), 0);
	ck_assert_msg(fabs(f - 440) < 0.1, "%.4f", f);
	/* A weak tone in noise of the same peak amplitude. */
	t_tone(a, 24000, 440, 0.1, 24000);
	for (i = 0; i < 24000; i++)
		a[i] = (int16_t)(a[i] + (int)(t_rand(&seed) % 6554) - 3277);
	ck_assert_int_eq(aud_analyze_peak(a, 24000, 24000, 20, 12000, &f), 0);
	ck_assert_msg(fabs(f - 440) < 0.5, "%.4f", f);
	/* A DC offset does not win over the tone. */
	t_tone(a, 24000, 440, 0.1, 24000);
	for (i = 0; i < 24000; i++)
		a[i] = (int16_t)(a[i] + 20000);
	ck_assert_int_eq(aud_analyze_peak(a, 24000, 24000, 0, 12000, &f), 0);
	ck_assert_msg(fabs(f - 440) < 0.1, "%.4f", f);
}
END_TEST

START_TEST(test_analyze_args_and_rms)
{
	static int16_t pcm[1000];
	double f = -1;
	int i;

	ck_assert_int_eq(aud_analyze_peak(pcm, 1000, 24000, 20, 12000, &f), LK_ENOTFOUND);
	ck_assert_int_eq(aud_analyze_peak(pcm, 63, 24000, 20, 12000, &f), LK_EINVAL);
	ck_assert_int_eq(aud_analyze_peak(pcm, 1000, 24000, 500, 400, &f), LK_EINVAL);
	ck_assert_int_eq(aud_analyze_peak(pcm, 1000, 24000, 20, 12001, &f), LK_EINVAL);
	ck_assert_int_eq(aud_analyze_peak(pcm, 1000, 0, 20, 100, &f), LK_EINVAL);
	ck_assert_int_eq(aud_analyze_peak(pcm, 1000, 24000, NAN, 100, &f), LK_EINVAL);
	ck_assert_int_eq(aud_analyze_peak(NULL, 1000, 24000, 20, 100, &f), LK_EINVAL);
	ck_assert_int_eq(
	        aud_analyze_peak(pcm, AUD_ANALYZE_MAX_SAMPLES + 1, 24000, 20, 100, &f), LK_ETOOBIG);
	ck_assert_double_eq(f, -1);

	ck_assert_double_eq(aud_analyze_rms_dbfs(pcm, 1000), AUD_DBFS_MIN);
	ck_assert_double_eq(aud_analyze_rms_dbfs(pcm, 0), AUD_DBFS_MIN);
	for (i = 0; i < 1000; i++)
		pcm[i] = i % 2 ? -32768 : 32767;
	ck_assert_double_eq_tol(aud_analyze_rms_dbfs(pcm, 1000), 0, 0.001);
	for (i = 0; i < 1000; i++)
		pcm[i] = i % 2 ? -3277 : 3277;
	ck_assert_double_eq_tol(aud_analyze_rms_dbfs(pcm, 1000), -20, 0.01);
}
END_TEST

static Suite *
t_suite(const char *name, TCase **tc)
{
	Suite *s = suite_create(name);

	*tc = tcase_create(name);
	tcase_set_timeout(*tc, 60);
	suite_add_tcase(s, *tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int failed;

	s = t_suite("codec", &tc);
	tcase_add_test(tc, test_opus_tone_440);
	tcase_add_test(tc, test_opus_tone_660_audio_app);
	tcase_add_test(tc, test_opus_loss_10pct);
	tcase_add_test(tc, test_opus_fec_beats_plc);
	tcase_add_test(tc, test_opus_stereo_downmix);
	tcase_add_test(tc, test_opus_bad_packets);
	tcase_add_test(tc, test_opus_encoder_options);
	sr = srunner_create(s);

	s = t_suite("resample", &tc);
	tcase_add_test(tc, test_resample_48_24_48);
	tcase_add_test(tc, test_resample_rate_pairs);
	tcase_add_test(tc, test_resample_args_and_reset);
	srunner_add_suite(sr, s);

	s = t_suite("ring", &tc);
	tcase_add_test(tc, test_ring_fifo_and_overflow);
	tcase_add_test(tc, test_ring_underrun_and_prefill);
	tcase_add_test(tc, test_ring_jitter);
	tcase_add_test(tc, test_ring_trim);
	tcase_add_test(tc, test_ring_trim_backs_off);
	tcase_add_test(tc, test_ring_wait);
	tcase_add_test(tc, test_ring_bad_opts);
	srunner_add_suite(sr, s);

	s = t_suite("tone", &tc);
	tcase_add_test(tc, test_tone_frequency_and_level);
	tcase_add_test(tc, test_tone_phase_continuity);
	tcase_add_test(tc, test_tone_bad_args);
	srunner_add_suite(sr, s);

	s = t_suite("wav", &tc);
	tcase_add_checked_fixture(tc, t_wav_setup, t_wav_teardown);
	tcase_add_test(tc, test_wav_round_trip);
	tcase_add_test(tc, test_wav_valid_while_open);
	tcase_add_test(tc, test_wav_full_disk);
	tcase_add_test(tc, test_wav_disk_fills_mid_stream);
	tcase_add_test(tc, test_wav_size_limit);
	tcase_add_test(tc, test_wav_parse_strict);
	tcase_add_test(tc, test_wav_too_many_chunks);
	srunner_add_suite(sr, s);

	s = t_suite("analyze", &tc);
	tcase_add_test(tc, test_analyze_accuracy);
	tcase_add_test(tc, test_analyze_dominant_and_band);
	tcase_add_test(tc, test_analyze_args_and_rms);
	srunner_add_suite(sr, s);

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
