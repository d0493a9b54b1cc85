/*
 * rtp_reorder: a fixed-window buffer that hands out the packets of one RTP
 * stream (Opus, RFC 7587) in sequence order and reports the holes. Memory
 * is allocated once; used by the receive path of lk-jobproc.
 */
#ifndef LK_RTC_RTP_REORDER_H
#define LK_RTC_RTP_REORDER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Orders packets of one stream by sequence number over a fixed window.
 * All memory is allocated once by rtp_reorder_new; push/pop copy into and
 * out of preallocated slots. Gaps are reported so the decoder can run PLC
 * or Opus in-band FEC (the next packet's payload is offered for that).
 */
struct rtp_reorder;

enum rtp_reorder_push {
	RTP_REORDER_STORED = 0,
	RTP_REORDER_DUPLICATE = 1, /* same seq already buffered: dropped */
	RTP_REORDER_LATE = 2, /* seq already played out: dropped */
	RTP_REORDER_RESET = 3, /* far jump (> 3000 ahead, > 100 back): restarted */
};

enum rtp_reorder_pop {
	RTP_REORDER_NONE = 0, /* nothing ready yet */
	RTP_REORDER_PACKET = 1, /* out holds the next packet */
	RTP_REORDER_GAP = 2, /* out.seq is missing; conceal it */
};

struct rtp_reorder_out {
	uint16_t seq;
	uint32_t ext_seq; /* sequence extended with a rollover count */
	uint32_t ts;
	uint8_t marker;
	const uint8_t *data; /* valid until the next push/pop */
	size_t len;
	/* On a gap: the next packet when it is already buffered (Opus FEC). */
	const uint8_t *fec_data;
	size_t fec_len;
};

struct rtp_reorder_stats {
	uint64_t stored, duplicate, late, reset, gaps, too_big, flushed;
	uint64_t skipped; /* sequence numbers jumped over by a window slide */
};

/*
 * slots: window size (rounded up to a power of two, 2..1024); max_payload:
 * largest payload kept (bigger ones are refused with LK_ETOOBIG); hold:
 * how many packets may wait behind a hole before it is declared lost.
 */
struct rtp_reorder *rtp_reorder_new(unsigned slots, size_t max_payload, unsigned hold);
void rtp_reorder_free(struct rtp_reorder *r);
void rtp_reorder_reset(struct rtp_reorder *r);
/* A packet of the stream: an enum rtp_reorder_push or LK_ETOOBIG. */
int rtp_reorder_push(struct rtp_reorder *r, uint16_t seq, uint32_t ts, uint8_t marker,
        const uint8_t *payload, size_t len);
/*
 * Next in-order item: a packet, or a gap when `hold` packets wait behind
 * the hole (or at once with force, e.g. when the playout clock needs a
 * frame now; force on an empty buffer returns NONE).
 */
int rtp_reorder_pop(struct rtp_reorder *r, int force, struct rtp_reorder_out *out);
/* Packets buffered right now. */
unsigned rtp_reorder_count(const struct rtp_reorder *r);
const struct rtp_reorder_stats *rtp_reorder_stats(const struct rtp_reorder *r);

#endif
