/*
 * ring: fixed-capacity frame ring with pacing counters, used per track in
 * lk-jobproc between the network side and the script. All frames are
 * allocated in _new; push and pop only copy.
 */
#include <stdlib.h>
#include <string.h>

#include "audio/ring.h"
#include "common/err.h"

/* Arrival time of a frame pushed without one. */
#define AUD_RING_NO_TIME INT64_MIN
/* Bounds trim_after so that doubling it cannot overflow. */
#define AUD_RING_MAX_TRIM_AFTER 1000000

struct aud_ring {
	size_t frame, cap, prefill;
	size_t head, count; /* oldest frame's slot, frames held */
	int started; /* delivered since creation or the last underrun */
	int ever; /* delivered at least once: later silence is an underrun */
	size_t trim_base, trim_after; /* as configured, as now; 0 = no trims */
	size_t clean; /* pops in a row that left a frame waiting */
	size_t since_trim; /* pops since the last trim, up to trim_after */
	int trimmed; /* trimmed since creation or the last clear */
	double frame_us; /* nominal spacing of arrivals; 0 = jitter not tracked */
	int64_t last_us;
	int have_last;
	double jitter_us;
	double wait_sum_us;
	uint64_t waits;
	int64_t *at; /* arrival time of each slot's frame */
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
	        o->trim_after > AUD_RING_MAX_TRIM_AFTER || o->rate < 0) {
		aud_ring_set_err(err, LK_EINVAL);
		return NULL;
	}
	/* Both factors are bounded above, so the product cannot overflow. */
	r = calloc(1, sizeof(*r) + o->capacity * o->frame_samples * sizeof(int16_t));
	if (r != NULL)
		r->at = calloc(o->capacity, sizeof(*r->at));
	if (r == NULL || r->at == NULL) {
		free(r);
		aud_ring_set_err(err, LK_ENOMEM);
		return NULL;
	}
	r->frame = o->frame_samples;
	r->cap = o->capacity;
	r->prefill = o->prefill;
	r->trim_base = o->trim_after;
	r->trim_after = o->trim_after;
	if (o->rate > 0)
		r->frame_us = (double)o->frame_samples * 1e6 / (double)o->rate;
	aud_ring_set_err(err, 0);
	return r;
}

void
aud_ring_free(struct aud_ring *r)
{
	if (r == NULL)
		return;
	free(r->at);
	free(r);
}

static int
aud_ring_put(struct aud_ring *r, const int16_t *frame, int64_t arrival_us)
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
	r->at[slot] = arrival_us;
	r->count++;
	r->st.pushed++;
	if (r->count > r->st.max_depth)
		r->st.max_depth = r->count;
	return dropped;
}

int
aud_ring_push(struct aud_ring *r, const int16_t *frame)
{
	return aud_ring_put(r, frame, AUD_RING_NO_TIME);
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
	return aud_ring_put(r, frame, arrival_us);
}

/* A pop found the ring empty while it was delivering. */
static void
aud_ring_starved(struct aud_ring *r)
{
	/* The last trim took away delay that the arrivals needed after all:
	 * wait longer before the next one. */
	if (r->trimmed && r->since_trim < r->trim_after &&
	        r->trim_after < r->trim_base * AUD_RING_TRIM_MAX_FACTOR)
		r->trim_after *= 2;
}

/* After a delivering pop: drop a frame when the delay was not needed. */
static void
aud_ring_trim(struct aud_ring *r)
{
	if (r->since_trim < r->trim_after)
		r->since_trim++;
	if (r->count == 0) {
		r->clean = 0;
		return;
	}
	if (++r->clean < r->trim_after)
		return;
	/* Each of the last trim_after frames was here a pop before its turn:
	 * one pop less of delay would still have played them all in time. */
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->st.trims++;
	r->clean = 0;
	r->since_trim = 0;
	r->trimmed = 1;
}

static int
aud_ring_take(struct aud_ring *r, int16_t *out, int64_t now_us)
{
	size_t need = r->prefill > 1 ? r->prefill : 1;
	int64_t at;

	if (!r->started && r->count >= need)
		r->started = 1;
	if (!r->started || r->count == 0) {
		memset(out, 0, r->frame * sizeof(int16_t));
		if (r->ever)
			r->st.underruns++;
		if (r->started)
			aud_ring_starved(r);
		/* Empty after delivering: gather the prefill again before resuming. */
		r->started = 0;
		r->clean = 0;
		return LK_EAGAIN;
	}
	at = r->at[r->head];
	memcpy(out, r->data + r->head * r->frame, r->frame * sizeof(int16_t));
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->st.popped++;
	r->ever = 1;
	if (now_us != AUD_RING_NO_TIME && at != AUD_RING_NO_TIME && now_us >= at) {
		double w = (double)(now_us - at);

		r->wait_sum_us += w;
		r->waits++;
		if (w / 1000.0 > r->st.wait_max_ms)
			r->st.wait_max_ms = w / 1000.0;
	}
	if (r->trim_after > 0)
		aud_ring_trim(r);
	return 0;
}

int
aud_ring_pop(struct aud_ring *r, int16_t *out)
{
	return aud_ring_take(r, out, AUD_RING_NO_TIME);
}

int
aud_ring_pop_at(struct aud_ring *r, int16_t *out, int64_t now_us)
{
	return aud_ring_take(r, out, now_us);
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
	st->trim_after = r->trim_after;
	st->jitter_ms = r->jitter_us / 1000.0;
	st->wait_ms = r->waits > 0 ? r->wait_sum_us / (double)r->waits / 1000.0 : 0;
}

void
aud_ring_clear(struct aud_ring *r)
{
	r->head = 0;
	r->count = 0;
	r->started = 0;
	r->ever = 0;
	r->have_last = 0;
	r->trim_after = r->trim_base;
	r->clean = 0;
	r->since_trim = 0;
	r->trimmed = 0;
}
