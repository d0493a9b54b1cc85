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
	int rate; /* sample rate, for the jitter estimate */
};

struct aud_ring_stats {
	uint64_t pushed;
	uint64_t popped; /* frames delivered */
	uint64_t overflows; /* oldest frames dropped because the ring was full */
	uint64_t underruns; /* pops answered with silence after delivery began */
	size_t depth; /* frames held now */
	size_t max_depth; /* high-water mark since creation */
	double jitter_ms; /* RFC 3550 §6.4.1-style interarrival jitter of push_at */
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
 */
int aud_ring_pop(struct aud_ring *r, int16_t *out);

size_t aud_ring_depth(const struct aud_ring *r);
size_t aud_ring_frame_samples(const struct aud_ring *r);
void aud_ring_get_stats(const struct aud_ring *r, struct aud_ring_stats *st);
/* Drop every held frame (counters stay); the prefill applies again. */
void aud_ring_clear(struct aud_ring *r);

#endif
