/*
 * resample: fixed-frame sample-rate conversion (speexdsp) for lk-jobproc,
 * between the 48 kHz Opus side and a script's rate (24 kHz by default).
 * Every call takes one input frame and gives exactly one output frame.
 */
#ifndef LK_AUDIO_RESAMPLE_H
#define LK_AUDIO_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* speexdsp quality 0..10; 5 ("desktop") is ample for speech at 16-48 kHz. */
#define AUD_RESAMPLE_QUALITY 5
#define AUD_RESAMPLE_MIN_RATE 1000
#define AUD_RESAMPLE_MAX_RATE 384000

struct aud_resample;

/*
 * in_frame samples at in_rate per call, in_frame * out_rate / in_rate out;
 * that quotient must be whole (20 ms frames are, at every usual rate), or
 * LK_EINVAL. Equal rates copy. NULL on failure, with *err (may be NULL) set
 * to a negative lk_err.
 */
struct aud_resample *aud_resample_new(
        int in_rate, int out_rate, size_t in_frame, int quality, int *err);
void aud_resample_free(struct aud_resample *rs);

size_t aud_resample_in_frame(const struct aud_resample *rs);
size_t aud_resample_out_frame(const struct aud_resample *rs);
/* Delay the filter adds, in output samples. */
int aud_resample_latency(const struct aud_resample *rs);

/*
 * Convert one frame: reads in_frame samples from in, writes out_frame to
 * out. Returns out_frame, or a negative lk_err. in and out must not overlap.
 */
int aud_resample_process(struct aud_resample *rs, const int16_t *in, int16_t *out);

/* Forget history (a new stream on the same track). */
void aud_resample_reset(struct aud_resample *rs);

#endif
