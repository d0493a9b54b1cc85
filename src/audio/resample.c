/*
 * resample: speexdsp resampler behind a fixed-frame interface, for the
 * per-track paths of lk-jobproc. The state and a small carry buffer are
 * allocated in _new; processing a frame allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "audio/resample.h"
#include "common/err.h"

/*
 * For frames that map to a whole number of output samples, speexdsp consumes
 * the whole input and gives exactly that number each call (the tests check
 * it). The carry buffer keeps the fixed-frame promise even if a call were to
 * end at another filter phase and hand out a sample more or less.
 */
#define AUD_RESAMPLE_SLACK 64

struct aud_resample {
	SpeexResamplerState *st; /* NULL when the rates are equal */
	int in_rate, out_rate;
	size_t in_frame, out_frame;
	size_t fill, cap;
	int16_t carry[]; /* cap samples */
};

static void
aud_resample_set_err(int *err, int val)
{
	if (err != NULL)
		*err = val;
}

struct aud_resample *
aud_resample_new(int in_rate, int out_rate, size_t in_frame, int quality, int *err)
{
	struct aud_resample *rs;
	uint64_t prod;
	size_t cap;
	int serr = RESAMPLER_ERR_SUCCESS;

	if (in_rate < AUD_RESAMPLE_MIN_RATE || in_rate > AUD_RESAMPLE_MAX_RATE ||
	        out_rate < AUD_RESAMPLE_MIN_RATE || out_rate > AUD_RESAMPLE_MAX_RATE ||
	        quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX ||
	        in_frame == 0 || in_frame > (size_t)in_rate) {
		aud_resample_set_err(err, LK_EINVAL);
		return NULL;
	}
	prod = (uint64_t)in_frame * (uint64_t)out_rate;
	if (prod % (uint64_t)in_rate != 0) {
		aud_resample_set_err(err, LK_EINVAL);
		return NULL;
	}
	cap = (size_t)(prod / (uint64_t)in_rate) + AUD_RESAMPLE_SLACK;
	rs = calloc(1, sizeof(*rs) + cap * sizeof(int16_t));
	if (rs == NULL) {
		aud_resample_set_err(err, LK_ENOMEM);
		return NULL;
	}
	rs->in_rate = in_rate;
	rs->out_rate = out_rate;
	rs->in_frame = in_frame;
	rs->out_frame = (size_t)(prod / (uint64_t)in_rate);
	rs->cap = cap;
	if (in_rate != out_rate) {
		rs->st = speex_resampler_init(
		        1, (spx_uint32_t)in_rate, (spx_uint32_t)out_rate, quality, &serr);
		if (rs->st == NULL || serr != RESAMPLER_ERR_SUCCESS) {
			aud_resample_set_err(
			        err, serr == RESAMPLER_ERR_ALLOC_FAILED ? LK_ENOMEM : LK_EINVAL);
			free(rs);
			return NULL;
		}
	}
	aud_resample_set_err(err, 0);
	return rs;
}

void
aud_resample_free(struct aud_resample *rs)
{
	if (rs == NULL)
		return;
	if (rs->st != NULL)
		speex_resampler_destroy(rs->st);
	free(rs);
}

size_t
aud_resample_in_frame(const struct aud_resample *rs)
{
	return rs->in_frame;
}

size_t
aud_resample_out_frame(const struct aud_resample *rs)
{
	return rs->out_frame;
}

int
aud_resample_latency(const struct aud_resample *rs)
{
	if (rs->st == NULL)
		return 0;
	return speex_resampler_get_output_latency(rs->st);
}

int
aud_resample_process(struct aud_resample *rs, const int16_t *in, int16_t *out)
{
	spx_uint32_t ilen, olen;
	size_t left = rs->in_frame, gap;

	if (rs->st == NULL) {
		memcpy(out, in, rs->in_frame * sizeof(int16_t));
		return (int)rs->out_frame;
	}
	while (left > 0) {
		ilen = (spx_uint32_t)left;
		olen = (spx_uint32_t)(rs->cap - rs->fill);
		if (olen == 0)
			return LK_EIO;
		if (speex_resampler_process_int(rs->st, 0, in, &ilen, rs->carry + rs->fill,
		            &olen) != RESAMPLER_ERR_SUCCESS)
			return LK_EIO;
		if (ilen == 0 && olen == 0)
			return LK_EIO;
		in += ilen;
		left -= ilen;
		rs->fill += olen;
	}
	if (rs->fill >= rs->out_frame) {
		memcpy(out, rs->carry, rs->out_frame * sizeof(int16_t));
		rs->fill -= rs->out_frame;
		memmove(rs->carry, rs->carry + rs->out_frame, rs->fill * sizeof(int16_t));
	} else {
		/* Short by a sample or two (only near the start): lead with silence. */
		gap = rs->out_frame - rs->fill;
		memset(out, 0, gap * sizeof(int16_t));
		memcpy(out + gap, rs->carry, rs->fill * sizeof(int16_t));
		rs->fill = 0;
	}
	return (int)rs->out_frame;
}

void
aud_resample_reset(struct aud_resample *rs)
{
	rs->fill = 0;
	if (rs->st != NULL)
		speex_resampler_reset_mem(rs->st);
}
