/*
 * rtp: RTP headers (RFC 3550) and RFC 8285 header extensions: parse, walk,
 * write. Pure, no allocation; used by the media paths of lk-jobproc and
 * lk-devserver.
 */
#ifndef LK_RTC_RTP_H
#define LK_RTC_RTP_H

#include <stddef.h>
#include <stdint.h>

/* The media path wants all three; RTCP and the reorder buffer have their
 * own headers. */
#include "rtc/rtcp.h"
#include "rtc/rtp_reorder.h"

#define RTP_VERSION 2
#define RTP_HEADER_LEN 12
#define RTP_MAX_CSRC 15
/* RFC 8285 §4.2 / §4.3 "defined by profile" values. */
#define RTP_EXT_ONE_BYTE 0xBEDE
#define RTP_EXT_TWO_BYTE 0x1000 /* upper 12 bits; the low 4 are appbits */

/*
 * A parsed RTP header. ext/payload point into the parsed packet. For
 * writing, the same struct is the input (ext_len a multiple of 4).
 */
struct rtp_hdr {
	uint8_t padding; /* P bit */
	uint8_t extension; /* X bit */
	uint8_t cc; /* CSRC count */
	uint8_t marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint32_t csrc[RTP_MAX_CSRC];
	uint16_t ext_profile; /* "defined by profile" when extension */
	const uint8_t *ext; /* extension data after its 4-byte header */
	size_t ext_len; /* bytes (length field * 4) */
	size_t hdr_len; /* offset of the payload */
	const uint8_t *payload;
	size_t payload_len; /* padding excluded */
	uint8_t pad_len;
};

/* 0 or LK_EINVAL (version, lengths, padding count, extension bounds). */
int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *h);

/* Header length rtp_write_hdr will produce. */
size_t rtp_hdr_size(const struct rtp_hdr *h);
/*
 * Write the header of h (V=2, P=0) into buf; the payload goes after it.
 * Returns the header length, LK_ETOOBIG or LK_EINVAL.
 */
int rtp_write_hdr(uint8_t *buf, size_t cap, const struct rtp_hdr *h);

/*
 * Walk the RFC 8285 elements of a one-byte (0xBEDE) or two-byte (0x100X)
 * extension block. *off starts at 0. Returns 1 with an element, 0 at the
 * end, LK_EINVAL on a malformed block, LK_ENOTFOUND for another profile.
 */
int rtp_ext_next(
        const struct rtp_hdr *h, size_t *off, uint8_t *id, const uint8_t **data, size_t *len);
/* First element with this id: 1 found, 0 absent, negative on error. */
int rtp_ext_find(const struct rtp_hdr *h, uint8_t id, const uint8_t **data, size_t *len);

/* 16-bit sequence comparison with wraparound: a is newer than b. */
static inline int
rtp_seq_newer(uint16_t a, uint16_t b)
{
	return a != b && (uint16_t)(a - b) < 0x8000;
}

#endif
