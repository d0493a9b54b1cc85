/*
 * ring: fixed-capacity frame ring with pacing counters, used per track in
 * lk-jobproc between the network side and the script. All frames are
 * allocated in _new; push and pop only copy.
 */
#include <stdlib.h>
#include <string.h>

#include "audio/ring.h"
#include "common/err.h"

struct aud_ring {
	size_t frame, cap, prefill;
	size_t head, count; /* oldest frame's slot, frames held */
	int started; /* delivered since creation or the last underrun */
	int ever; /* delivered at least once: later silence is an underrun */
	double frame_us; /* nominal spacing of arrivals; 0 = jitter not tracked */
	int64_t last_us;
	int have_last;
	double jitter_us;
	struct aud_ring_stats st;
	int16_t data[]; /* cap * frame samples */
};

static void
aud_ring_set_err(int *err, int val)
{
	if (err != NULL)
		*err = val;
}

struct aud_ring *
aud_ring_new(const struct aud_ring_opts *o, int *err)
{
	struct aud_ring *r;

	if (o == NULL || o->frame_samples == 0 || o->frame_samples > AUD_RING_MAX_FRAME_SAMPLES ||
	        o->capacity == 0 || o->capacity > AUD_RING_MAX_FRAMES || o->prefill > o->capacity ||
	        o->rate < 0) {
		aud_ring_set_err(err, LK_EINVAL);
		return NULL;
	}
	/* Both factors are bounded above, so the product cannot overflow. */
	r = calloc(1, sizeof(*r) + o->capacity * o->frame_samples * sizeof(int16_t));
	if (r == NULL) {
		aud_ring_set_err(err, LK_ENOMEM);
		return NULL;
	}
	r->frame = o->frame_samples;
	r->cap = o->capacity;
	r->prefill = o->prefill;
	if (o->rate > 0)
		r->frame_us = (double)o->frame_samples * 1e6 / (double)o->rate;
	aud_ring_set_err(err, 0);
	return r;
}

void
aud_ring_free(struct aud_ring *r)
{
	free(r);
}

int
aud_ring_push(struct aud_ring *r, const int16_t *frame)
{
	size_t slot;
	int dropped = 0;

	if (r->count == r->cap) {
		r->head = (r->head + 1) % r->cap;
		r->count--;
		r->st.overflows++;
		dropped = 1;
	}
	slot = (r->head + r->count) % r->cap;
	memcpy(r->data + slot * r->frame, frame, r->frame * sizeof(int16_t));
	r->count++;
	r->st.pushed++;
	if (r->count > r->st.max_depth)
		r->st.max_depth = r->count;
	return dropped;
}

int
aud_ring_push_at(struct aud_ring *r, const int16_t *frame, int64_t arrival_us)
{
	double d;

	if (r->frame_us > 0 && r->have_last) {
		/*
		 * RFC 3550 §6.4.1: D is the change in transit time; frames are
		 * sent every frame_us, so D = arrival spacing - frame_us, and
		 * J += (|D| - J) / 16.
		 */
		d = (double)(arrival_us - r->last_us) - r->frame_us;
		if (d < 0)
			d = -d;
		r->jitter_us += (d - r->jitter_us) / 16.0;
	}
	r->last_us = arrival_us;
	r->have_last = 1;
	return aud_ring_push(r, frame);
}

int
aud_ring_pop(struct aud_ring *r, int16_t *out)
{
	size_t need = r->prefill > 1 ? r->prefill : 1;

	if (!r->started && r->count >= need)
		r->started = 1;
	if (!r->started || r->count == 0) {
		memset(out, 0, r->frame * sizeof(int16_t));
		if (r->ever)
			r->st.underruns++;
		/* Empty after delivering: gather the prefill again before resuming. */
		r->started = 0;
		return LK_EAGAIN;
	}
	memcpy(out, r->data + r->head * r->frame, r->frame * sizeof(int16_t));
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->st.popped++;
	r->ever = 1;
	return 0;
}

size_t
aud_ring_depth(const struct aud_ring *r)
{
	return r->count;
}

size_t
aud_ring_frame_samples(const struct aud_ring *r)
{
	return r->frame;
}

void
aud_ring_get_stats(const struct aud_ring *r, struct aud_ring_stats *st)
{
	*st = r->st;
	st->depth = r->count;
	st->jitter_ms = r->jitter_us / 1000.0;
}

void
aud_ring_clear(struct aud_ring *r)
{
	r->head = 0;
	r->count = 0;
	r->started = 0;
	r->ever = 0;
	r->have_last = 0;
}
