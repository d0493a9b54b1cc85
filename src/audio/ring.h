/*
 * ring: a fixed-capacity ring of int16 frames that paces 20 ms frames
 * between the network and a script in lk-jobproc, with overflow, underrun
 * and arrival-jitter counters. Single-threaded (the job's event loop).
 */
#ifndef LK_AUDIO_RING_H
#define LK_AUDIO_RING_H

#include <stddef.h>
#include <stdint.h>

#define AUD_RING_MAX_FRAMES 4096
#define AUD_RING_MAX_FRAME_SAMPLES 5760

struct aud_ring;

struct aud_ring_opts {
	size_t frame_samples; /* samples per frame, 1..AUD_RING_MAX_FRAME_SAMPLES */
	size_t capacity; /* frames held, 1..AUD_RING_MAX_FRAMES */
	size_t prefill; /* frames to gather before delivering, at start and after
	                   an underrun; 0 or 1 = deliver at once; <= capacity */
	size_t trim_after; /* 0 = never trim; else see aud_ring_pop */
	int rate; /* sample rate, for the jitter estimate */
};

struct aud_ring_stats {
	uint64_t pushed;
	uint64_t popped; /* frames delivered */
	uint64_t overflows; /* oldest frames dropped because the ring was full */
	uint64_t underruns; /* pops answered with silence after delivery began */
	uint64_t trims; /* frames dropped because the delay was not needed */
	size_t depth; /* frames held now */
	size_t max_depth; /* high-water mark since creation */
	size_t trim_after; /* pops a trim needs now (grows after a bad trim) */
	double jitter_ms; /* RFC 3550 §6.4.1-style interarrival jitter of push_at */
	double wait_ms; /* mean time from push_at to pop_at of delivered frames */
	double wait_max_ms;
};

/* NULL on failure, with *err (may be NULL) set to a negative lk_err. */
struct aud_ring *aud_ring_new(const struct aud_ring_opts *opts, int *err);
void aud_ring_free(struct aud_ring *r);

/*
 * Copy one frame in. When the ring is full the oldest frame is dropped
 * (live audio keeps the newest): returns 1 then, 0 otherwise.
 */
int aud_ring_push(struct aud_ring *r, const int16_t *frame);
/* The same, with the frame's arrival time (any monotonic microseconds). */
int aud_ring_push_at(struct aud_ring *r, const int16_t *frame, int64_t arrival_us);

/*
 * Copy the oldest frame out: 0. When nothing can be delivered (empty, or
 * still gathering the prefill) out gets silence and the result is LK_EAGAIN.
 *
 * An underrun delays every later frame by the pops it answered with
 * silence, for good. With trim_after set, the ring takes such delay away
 * again once it has not been needed: when trim_after pops in a
 * row each left another frame waiting (every frame arrived at least one
 * pop early), the next frame is dropped. An underrun within trim_after
 * pops of a trim means the trim was wrong: trim_after doubles, up to
 * AUD_RING_TRIM_MAX_FACTOR times the configured value.
 */
#define AUD_RING_TRIM_MAX_FACTOR 16
int aud_ring_pop(struct aud_ring *r, int16_t *out);
/* The same at now_us (push_at's clock): the frame's wait is counted. */
int aud_ring_pop_at(struct aud_ring *r, int16_t *out, int64_t now_us);

size_t aud_ring_depth(const struct aud_ring *r);
size_t aud_ring_frame_samples(const struct aud_ring *r);
void aud_ring_get_stats(const struct aud_ring *r, struct aud_ring_stats *st);
/* Drop every held frame (counters stay); the prefill and trim_after apply
 * again as configured. */
void aud_ring_clear(struct aud_ring *r);

#endif
