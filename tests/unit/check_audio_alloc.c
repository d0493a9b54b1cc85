/*
 * check_audio_alloc: proves the per-frame audio paths of lk-jobproc allocate
 * nothing once warmed up. This binary replaces malloc and friends (glibc
 * supports that), so calls from libopus, libspeexdsp and libc count as well
 * as ours. Under AddressSanitizer, which owns malloc, it skips (exit 77).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/codec.h"
#include "audio/resample.h"
#include "audio/ring.h"
#include "audio/tone.h"
#include "audio/wav.h"
#include "common/err.h"
#include "../common/alloc_count.h"

/* The counter sees our calls and those made inside shared libraries. */
START_TEST(test_counter_works)
{
	unsigned long before = alloc_count();
	char *volatile s;
	struct aud_opus_dec *dec;

	s = malloc(16);
	ck_assert_uint_eq(alloc_count(), before + 1);
	free(s);
	s = strdup("x"); /* libc's own malloc call */
	ck_assert_uint_ge(alloc_count(), before + 2);
	free(s);
	before = alloc_count();
	dec = aud_opus_dec_new(NULL); /* calloc here, malloc inside libopus */
	ck_assert_uint_ge(alloc_count(), before + 2);
	aud_opus_dec_free(dec);
}
END_TEST

#define T_WARM 50
#define T_FRAMES 500
#define T_RATE 24000
#define T_SFRAME (T_RATE / 50)

/*
 * Inside the measured loops nothing may call ck_assert: each passing check
 * records a mark point, which allocates. Loops count bad results instead.
 */
struct t_tap {
	struct aud_wav_writer *wav;
	uint64_t samples;
	int errors;
};

/* A per-participant tap as the record script has it: on_frame(participant, pcm, n). */
static void
t_on_frame(struct t_tap *tap, const char *participant, const int16_t *pcm, size_t n)
{
	(void)participant;
	if (aud_wav_writer_write(tap->wav, pcm, n) != 0)
		tap->errors++;
	tap->samples += n;
}

/*
 * Inbound: Opus packet -> decode (with 10% loss: FEC or PLC) -> ring (the
 * pacing between network and script) -> 48k->24k -> tap writing a WAV.
 */
START_TEST(test_inbound_path_allocates_nothing)
{
	static uint8_t pkts[T_WARM + T_FRAMES + 1][AUD_OPUS_MAX_PACKET];
	static int lens[T_WARM + T_FRAMES + 1];
	static int16_t pcm[AUD_OPUS_FRAME], paced[AUD_OPUS_FRAME], small[T_SFRAME];
	struct aud_ring_opts ro = {.frame_samples = AUD_OPUS_FRAME,
	        .capacity = 8,
	        .prefill = 2,
	        .rate = AUD_OPUS_RATE};
	struct aud_opus_enc *enc = aud_opus_enc_new(NULL, NULL);
	struct aud_tone *tone = aud_tone_new(440, 0.5, AUD_OPUS_RATE, NULL);
	struct aud_opus_dec *dec = aud_opus_dec_new(NULL);
	struct aud_resample *rs =
	        aud_resample_new(AUD_OPUS_RATE, T_RATE, AUD_OPUS_FRAME, AUD_RESAMPLE_QUALITY, NULL);
	struct aud_ring *ring = aud_ring_new(&ro, NULL);
	struct aud_opus_dec_stats st;
	struct t_tap tap = {0};
	char path[] = "/tmp/check_audio_alloc.XXXXXX";
	unsigned long before = 0, used;
	int fd, i, n, lost, bad = 0;
	uint32_t seed = 12345;

	ck_assert_ptr_nonnull(enc);
	ck_assert_ptr_nonnull(tone);
	ck_assert_ptr_nonnull(dec);
	ck_assert_ptr_nonnull(rs);
	ck_assert_ptr_nonnull(ring);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	tap.wav = aud_wav_writer_new(path, T_RATE, NULL);
	/* The open descriptor is all the writer needs; nothing is left behind. */
	unlink(path);
	ck_assert_ptr_nonnull(tap.wav);
	/* The sender side runs first, so only the receiver is measured. */
	for (i = 0; i < T_WARM + T_FRAMES + 1; i++) {
		aud_tone_fill(tone, pcm, AUD_OPUS_FRAME);
		lens[i] = aud_opus_enc_encode(enc, pcm, pkts[i], sizeof(pkts[i]));
		ck_assert_int_gt(lens[i], 0);
	}
	for (i = 0; i < T_WARM + T_FRAMES; i++) {
		if (i == T_WARM)
			before = alloc_count();
		seed = seed * 1103515245u + 12345u;
		lost = i > 0 && (seed >> 16) % 10 == 0;
		if (!lost)
			n = aud_opus_dec_decode(dec, pkts[i], (size_t)lens[i], pcm, AUD_OPUS_FRAME);
		else if (i % 2)
			n = aud_opus_dec_recover(
			        dec, pkts[i + 1], (size_t)lens[i + 1], pcm, AUD_OPUS_FRAME);
		else
			n = aud_opus_dec_conceal(dec, pcm, AUD_OPUS_FRAME);
		bad += n != AUD_OPUS_FRAME;
		aud_ring_push_at(ring, pcm, (int64_t)i * 20000);
		if (aud_ring_pop(ring, paced) < 0)
			continue;
		bad += aud_resample_process(rs, paced, small) != T_SFRAME;
		t_on_frame(&tap, "PA_test", small, T_SFRAME);
	}
	used = alloc_count() - before;
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(tap.errors, 0);
	aud_opus_dec_get_stats(dec, &st);
	/* The measured span includes loss handling and WAV buffer flushes to disk. */
	ck_assert_uint_gt(st.concealed, 0);
	ck_assert_uint_gt(st.recovered, 0);
	ck_assert_uint_gt(tap.samples * 2, 2 * AUD_WAV_BUF_LEN);
	ck_assert_msg(used == 0, "%lu allocations in %d frames", used, T_FRAMES);
	ck_assert_int_eq(aud_wav_writer_finish(tap.wav), 0);
	aud_wav_writer_free(tap.wav);
	aud_ring_free(ring);
	aud_resample_free(rs);
	aud_opus_dec_free(dec);
	aud_tone_free(tone);
	aud_opus_enc_free(enc);
}
END_TEST

/* Outbound: script (tone at 24 kHz) -> ring -> 24k->48k -> Opus encode. */
START_TEST(test_outbound_path_allocates_nothing)
{
	static int16_t small[T_SFRAME], paced[T_SFRAME], pcm[AUD_OPUS_FRAME];
	uint8_t pkt[AUD_OPUS_MAX_PACKET];
	struct aud_ring_opts ro = {.frame_samples = T_SFRAME, .capacity = 4, .rate = T_RATE};
	struct aud_tone *tone = aud_tone_new(440, 0.5, T_RATE, NULL);
	struct aud_ring *ring = aud_ring_new(&ro, NULL);
	struct aud_resample *rs =
	        aud_resample_new(T_RATE, AUD_OPUS_RATE, T_SFRAME, AUD_RESAMPLE_QUALITY, NULL);
	struct aud_opus_enc *enc = aud_opus_enc_new(NULL, NULL);
	unsigned long before = 0, used;
	uint64_t bytes = 0;
	int i, len, bad = 0;

	ck_assert_ptr_nonnull(tone);
	ck_assert_ptr_nonnull(ring);
	ck_assert_ptr_nonnull(rs);
	ck_assert_ptr_nonnull(enc);
	for (i = 0; i < T_WARM + T_FRAMES; i++) {
		if (i == T_WARM)
			before = alloc_count();
		aud_tone_fill(tone, small, T_SFRAME);
		aud_ring_push(ring, small);
		bad += aud_ring_pop(ring, paced) != 0;
		bad += aud_resample_process(rs, paced, pcm) != AUD_OPUS_FRAME;
		len = aud_opus_enc_encode(enc, pcm, pkt, sizeof(pkt));
		bad += len <= 0;
		bytes += len > 0 ? (uint64_t)len : 0;
		/* A bitrate change from congestion control mid-stream is also free. */
		if (i == T_WARM + T_FRAMES / 2)
			bad += aud_opus_enc_set_bitrate(enc, 24000) != 0;
	}
	used = alloc_count() - before;
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_gt(bytes, 0);
	ck_assert_msg(used == 0, "%lu allocations in %d frames", used, T_FRAMES);
	aud_opus_enc_free(enc);
	aud_resample_free(rs);
	aud_ring_free(ring);
	aud_tone_free(tone);
}
END_TEST

int
main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (!alloc_count_active()) {
		printf("check_audio_alloc: skipped: AddressSanitizer owns malloc in this build\n");
		return 77;
	}
	s = suite_create("audio_alloc");
	tc = tcase_create("audio_alloc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_counter_works);
	tcase_add_test(tc, test_inbound_path_allocates_nothing);
	tcase_add_test(tc, test_outbound_path_allocates_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
