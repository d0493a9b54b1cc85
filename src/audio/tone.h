/*
 * tone: a sine generator with phase continuity across frames and frequency
 * changes, for lk-jobproc's tone script and for tests.
 */
#ifndef LK_AUDIO_TONE_H
#define LK_AUDIO_TONE_H

#include <stddef.h>
#include <stdint.h>

struct aud_tone;

/*
 * freq in Hz, 0 < freq < rate / 2; amplitude 0..1 of full scale (peak
 * 32767); rate 1000..384000. NULL on failure, with *err (may be NULL) set
 * to a negative lk_err.
 */
struct aud_tone *aud_tone_new(double freq, double amplitude, int rate, int *err);
void aud_tone_free(struct aud_tone *t);

/* Write the next n samples; the phase carries over to the next call. */
void aud_tone_fill(struct aud_tone *t, int16_t *pcm, size_t n);
/* Change frequency or amplitude from the next sample on, without a jump in phase. */
int aud_tone_set_freq(struct aud_tone *t, double freq);
int aud_tone_set_amplitude(struct aud_tone *t, double amplitude);

#endif
