/*
 * tone: phase-accumulating sine generator (lk-jobproc's tone script, tests).
 * The phase is kept in cycles in [0, 1) so it never loses precision over a
 * long call.
 */
#include <math.h>
#include <stdlib.h>

#include "audio/tone.h"
#include "common/err.h"

struct aud_tone {
	double phase; /* cycles, [0, 1) */
	double step; /* cycles per sample */
	double peak; /* amplitude * 32767 */
	int rate;
};

static int
aud_tone_check(double freq, double amplitude, int rate)
{
	/* !(x > y) also refuses NaN. */
	if (rate < 1000 || rate > 384000 || !(freq > 0) || !(freq < rate / 2.0) ||
	        !(amplitude >= 0) || !(amplitude <= 1))
		return LK_EINVAL;
	return 0;
}

struct aud_tone *
aud_tone_new(double freq, double amplitude, int rate, int *err)
{
	struct aud_tone *t;

	if (aud_tone_check(freq, amplitude, rate) < 0) {
		if (err != NULL)
			*err = LK_EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		if (err != NULL)
			*err = LK_ENOMEM;
		return NULL;
	}
	t->rate = rate;
	t->step = freq / rate;
	t->peak = amplitude * 32767.0;
	if (err != NULL)
		*err = 0;
	return t;
}

void
aud_tone_free(struct aud_tone *t)
{
	free(t);
}

void
aud_tone_fill(struct aud_tone *t, int16_t *pcm, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* |peak| <= 32767, so the rounded value always fits int16. */
		pcm[i] = (int16_t)lrint(t->peak * sin(2.0 * M_PI * t->phase));
		t->phase += t->step;
		if (t->phase >= 1.0)
			t->phase -= 1.0;
	}
}

int
aud_tone_set_freq(struct aud_tone *t, double freq)
{
	if (aud_tone_check(freq, 0, t->rate) < 0)
		return LK_EINVAL;
	t->step = freq / t->rate;
	return 0;
}

int
aud_tone_set_amplitude(struct aud_tone *t, double amplitude)
{
	if (aud_tone_check(t->step * t->rate, amplitude, t->rate) < 0)
		return LK_EINVAL;
	t->peak = amplitude * 32767.0;
	return 0;
}
