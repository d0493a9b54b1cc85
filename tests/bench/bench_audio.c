/*
 * bench_audio: CPU time and heap allocations per 20 ms frame of lk-jobproc's
 * two media paths, inbound (Opus decode -> 48k->24k -> per-participant tap
 * writing a WAV) and outbound (24k->48k -> Opus encode), and of each stage
 * alone. Prints "key value" lines for scripts/bench.sh. Benchmark only.
 *
 * Usage: bench_audio [frames]   (default 3000, i.e. 60 s of audio per path)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/codec.h"
#include "audio/resample.h"
#include "audio/tone.h"
#include "audio/wav.h"
#include "../common/alloc_count.h"

#define BENCH_RATE 24000
#define BENCH_SFRAME (BENCH_RATE / 50)
#define BENCH_WARM 50

static int64_t
bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct bench_span {
	int64_t t0;
	unsigned long a0;
};

static void
bench_begin(struct bench_span *s)
{
	s->a0 = alloc_count();
	s->t0 = bench_cpu_ns();
}

static void
bench_end(const struct bench_span *s, const char *name, int frames)
{
	int64_t ns = bench_cpu_ns() - s->t0;
	unsigned long allocs = alloc_count() - s->a0;

	printf("%s_ns_per_frame %lld\n", name, (long long)(ns / frames));
	if (alloc_count_active())
		printf("%s_allocs_per_frame %.3f\n", name, (double)allocs / frames);
	else
		printf("%s_allocs_per_frame -1\n", name);
}

static void
bench_die(const char *what)
{
	fprintf(stderr, "bench_audio: %s failed\n", what);
	exit(1);
}

int
main(int argc, char **argv)
{
	int frames = argc > 1 ? atoi(argv[1]) : 3000, total, i, len;
	struct aud_opus_enc *enc;
	struct aud_opus_dec *dec;
	struct aud_resample *down, *up;
	struct aud_tone *tone48, *tone24;
	struct aud_wav_writer *wav;
	struct bench_span sp;
	uint8_t(*pkts)[AUD_OPUS_MAX_PACKET];
	int *lens;
	int16_t *pcm48, *pcm24, out48[AUD_OPUS_FRAME], out24[BENCH_SFRAME];
	uint8_t pkt[AUD_OPUS_MAX_PACKET];
	const char *tmp = getenv("TMPDIR");
	char path[512];
	int fd;

	if (frames < 10 || frames > 1000000) {
		fprintf(stderr, "usage: bench_audio [frames (10..1000000)]\n");
		return 2;
	}
	total = frames + BENCH_WARM;
	pkts = malloc((size_t)total * sizeof(*pkts));
	lens = malloc((size_t)total * sizeof(*lens));
	pcm48 = malloc((size_t)total * AUD_OPUS_FRAME * sizeof(int16_t));
	pcm24 = malloc((size_t)total * BENCH_SFRAME * sizeof(int16_t));
	enc = aud_opus_enc_new(NULL, NULL);
	dec = aud_opus_dec_new(NULL);
	down = aud_resample_new(
	        AUD_OPUS_RATE, BENCH_RATE, AUD_OPUS_FRAME, AUD_RESAMPLE_QUALITY, NULL);
	up = aud_resample_new(BENCH_RATE, AUD_OPUS_RATE, BENCH_SFRAME, AUD_RESAMPLE_QUALITY, NULL);
	tone48 = aud_tone_new(440, 0.5, AUD_OPUS_RATE, NULL);
	tone24 = aud_tone_new(440, 0.5, BENCH_RATE, NULL);
	if (!pkts || !lens || !pcm48 || !pcm24 || !enc || !dec || !down || !up || !tone48 ||
	        !tone24)
		bench_die("set-up");
	snprintf(path, sizeof(path), "%s/bench_audio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		bench_die("mkstemp");
	close(fd);
	wav = aud_wav_writer_new(path, BENCH_RATE, NULL);
	unlink(path);
	if (wav == NULL)
		bench_die("wav open");
	aud_tone_fill(tone48, pcm48, (size_t)total * AUD_OPUS_FRAME);
	aud_tone_fill(tone24, pcm24, (size_t)total * BENCH_SFRAME);
	for (i = 0; i < total; i++) {
		lens[i] = aud_opus_enc_encode(
		        enc, pcm48 + (size_t)i * AUD_OPUS_FRAME, pkts[i], sizeof(pkts[i]));
		if (lens[i] <= 0)
			bench_die("encode");
	}
	aud_opus_enc_free(enc);
	enc = aud_opus_enc_new(NULL, NULL);
	if (enc == NULL)
		bench_die("encoder");

	printf("audio_frames %d\n", frames);
	printf("audio_script_rate %d\n", BENCH_RATE);
	printf("audio_opus_complexity %d\n", AUD_OPUS_COMPLEXITY);

	/* Inbound: the whole path per frame, then each stage alone. */
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_opus_dec_decode(dec, pkts[i], (size_t)lens[i], out48, AUD_OPUS_FRAME) !=
		                AUD_OPUS_FRAME ||
		        aud_resample_process(down, out48, out24) != BENCH_SFRAME ||
		        aud_wav_writer_write(wav, out24, BENCH_SFRAME) != 0)
			bench_die("inbound path");
	}
	bench_end(&sp, "decode_resample_tap", frames);
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_opus_dec_decode(dec, pkts[i], (size_t)lens[i], out48, AUD_OPUS_FRAME) !=
		        AUD_OPUS_FRAME)
			bench_die("decode");
	}
	bench_end(&sp, "opus_decode", frames);
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_resample_process(down, pcm48 + (size_t)i * AUD_OPUS_FRAME, out24) !=
		        BENCH_SFRAME)
			bench_die("resample down");
	}
	bench_end(&sp, "resample_48k_24k", frames);
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_opus_dec_conceal(dec, out48, AUD_OPUS_FRAME) != AUD_OPUS_FRAME)
			bench_die("conceal");
	}
	bench_end(&sp, "opus_plc", frames);

	/* Outbound. */
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_resample_process(up, pcm24 + (size_t)i * BENCH_SFRAME, out48) !=
		        AUD_OPUS_FRAME)
			bench_die("resample up");
		len = aud_opus_enc_encode(enc, out48, pkt, sizeof(pkt));
		if (len <= 0)
			bench_die("encode");
	}
	bench_end(&sp, "resample_encode", frames);
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_resample_process(up, pcm24 + (size_t)i * BENCH_SFRAME, out48) !=
		        AUD_OPUS_FRAME)
			bench_die("resample up");
	}
	bench_end(&sp, "resample_24k_48k", frames);
	for (i = 0; i < total; i++) {
		if (i == BENCH_WARM)
			bench_begin(&sp);
		if (aud_opus_enc_encode(
		            enc, pcm48 + (size_t)i * AUD_OPUS_FRAME, pkt, sizeof(pkt)) <= 0)
			bench_die("encode");
	}
	bench_end(&sp, "opus_encode", frames);
	/* For comparison, libopus's highest complexity (jobs use the default). */
	{
		struct aud_opus_enc_opts o10 = {.complexity = 10};
		struct aud_opus_enc *enc10 = aud_opus_enc_new(&o10, NULL);

		if (enc10 == NULL)
			bench_die("encoder");
		for (i = 0; i < total; i++) {
			if (i == BENCH_WARM)
				bench_begin(&sp);
			if (aud_opus_enc_encode(enc10, pcm48 + (size_t)i * AUD_OPUS_FRAME, pkt,
			            sizeof(pkt)) <= 0)
				bench_die("encode");
		}
		bench_end(&sp, "opus_encode_complexity10", frames);
		aud_opus_enc_free(enc10);
	}

	if (aud_wav_writer_finish(wav) != 0)
		bench_die("wav finish");
	aud_wav_writer_free(wav);
	aud_tone_free(tone24);
	aud_tone_free(tone48);
	aud_resample_free(up);
	aud_resample_free(down);
	aud_opus_dec_free(dec);
	aud_opus_enc_free(enc);
	free(pcm24);
	free(pcm48);
	free(lens);
	free(pkts);
	return 0;
}
