/*
 * rtp_reorder: the per-stream reorder buffer: fixed slots allocated once,
 * packets copied in on push and handed out in sequence order on pop, holes
 * reported for concealment. Runs in the receive path of lk-jobproc.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/rtp_reorder.h"

struct rtp_reorder_slot {
	uint8_t used;
	uint8_t marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t len;
};

struct rtp_reorder {
	unsigned n; /* slots, a power of two */
	unsigned mask;
	unsigned hold;
	size_t max_payload;
	int started;
	uint32_t head; /* extended seq of the next item to hand out */
	unsigned count;
	struct rtp_reorder_slot *slots;
	uint8_t *data; /* n * max_payload bytes */
	struct rtp_reorder_stats stats;
};

/* RFC 3550 A.1 MAX_MISORDER: further back than this is a restart. */
#define RTP_REORDER_MAX_MISORDER 100
/* RFC 3550 A.1 MAX_DROPOUT: further ahead than this is a restart. */
#define RTP_REORDER_MAX_DROPOUT 3000

struct rtp_reorder *
rtp_reorder_new(unsigned slots, size_t max_payload, unsigned hold)
{
	struct rtp_reorder *r;
	unsigned n = 2;

	if (slots < 2 || slots > 1024 || max_payload == 0 || max_payload > 65535)
		return NULL;
	while (n < slots)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->n = n;
	r->mask = n - 1;
	r->hold = hold < n ? hold : n - 1;
	r->max_payload = max_payload;
	r->slots = calloc(n, sizeof(*r->slots));
	r->data = malloc((size_t)n * max_payload);
	if (r->slots == NULL || r->data == NULL) {
		rtp_reorder_free(r);
		return NULL;
	}
	return r;
}

void
rtp_reorder_free(struct rtp_reorder *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r->data);
	free(r);
}

static void
rtp_reorder_flush(struct rtp_reorder *r)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		r->slots[i].used = 0;
	r->stats.flushed += r->count;
	r->count = 0;
}

void
rtp_reorder_reset(struct rtp_reorder *r)
{
	rtp_reorder_flush(r);
	r->started = 0;
	r->head = 0;
}

int
rtp_reorder_push(struct rtp_reorder *r, uint16_t seq, uint32_t ts, uint8_t marker,
        const uint8_t *payload, size_t len)
{
	struct rtp_reorder_slot *s;
	int status = RTP_REORDER_STORED;
	int32_t d;
	unsigned idx;

	if (len > r->max_payload) {
		r->stats.too_big++;
		return LK_ETOOBIG;
	}
	if (len > 0 && payload == NULL)
		return LK_EINVAL;
	if (!r->started) {
		r->started = 1;
		r->head = seq;
	}
	/* Distance from the play-out point, modulo 2^16 (RFC 3550 A.1). */
	d = (int16_t)(uint16_t)(seq - (uint16_t)r->head);
	if (d < 0 && d >= -RTP_REORDER_MAX_MISORDER) {
		r->stats.late++;
		return RTP_REORDER_LATE;
	}
	if (d < 0 || d >= RTP_REORDER_MAX_DROPOUT) {
		/* A jump far out of the window (sender restart, huge loss):
		 * start over at this packet rather than stall. */
		rtp_reorder_flush(r);
		r->head = (uint32_t)((int64_t)r->head + d);
		d = 0;
		r->stats.reset++;
		status = RTP_REORDER_RESET;
	}
	while (d >= (int32_t)r->n) {
		/* A moderate jump past the window: slide forward; what falls
		 * out was never popped and is counted as skipped. */
		struct rtp_reorder_slot *old = &r->slots[r->head & r->mask];

		if (old->used) {
			old->used = 0;
			r->count--;
			r->stats.flushed++;
		}
		r->stats.skipped++;
		r->head++;
		d--;
	}
	idx = (r->head + (uint32_t)d) & r->mask;
	s = &r->slots[idx];
	if (s->used) {
		r->stats.duplicate++;
		return RTP_REORDER_DUPLICATE;
	}
	s->used = 1;
	s->seq = seq;
	s->ts = ts;
	s->marker = marker ? 1 : 0;
	s->len = (uint32_t)len;
	if (len > 0)
		memcpy(r->data + (size_t)idx * r->max_payload, payload, len);
	r->count++;
	r->stats.stored++;
	return status;
}

int
rtp_reorder_pop(struct rtp_reorder *r, int force, struct rtp_reorder_out *out)
{
	unsigned idx = r->head & r->mask, nidx;
	struct rtp_reorder_slot *s = &r->slots[idx];

	memset(out, 0, sizeof(*out));
	if (r->count == 0)
		return RTP_REORDER_NONE;
	out->seq = (uint16_t)r->head;
	out->ext_seq = r->head;
	if (s->used) {
		out->ts = s->ts;
		out->marker = s->marker;
		out->data = r->data + (size_t)idx * r->max_payload;
		out->len = s->len;
		s->used = 0;
		r->count--;
		r->head++;
		return RTP_REORDER_PACKET;
	}
	/* A hole: wait until enough packets queue behind it, then call it
	 * lost so the decoder conceals it (PLC, or FEC from the next one). */
	if (!force && r->count < r->hold)
		return RTP_REORDER_NONE;
	nidx = (r->head + 1) & r->mask;
	if (r->slots[nidx].used) {
		out->fec_data = r->data + (size_t)nidx * r->max_payload;
		out->fec_len = r->slots[nidx].len;
	}
	r->head++;
	r->stats.gaps++;
	return RTP_REORDER_GAP;
}

unsigned
rtp_reorder_count(const struct rtp_reorder *r)
{
	return r->count;
}

const struct rtp_reorder_stats *
rtp_reorder_stats(const struct rtp_reorder *r)
{
	return &r->stats;
}
