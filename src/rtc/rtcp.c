/*
 * rtcp: RTCP compound framing with SR/RR decode and the SR/RR writers
 * (RFC 3550 §6). Pure; runs in the media paths of lk-jobproc and
 * lk-devserver.
 */
#include <string.h>

#include "common/err.h"
#include "rtc/rtcp.h"

/* RFC 3550 §6.4.1: RTCP is version 2, like RTP. */
#define RTCP_VERSION 2

static uint16_t
rtcp_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
rtcp_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void
rtcp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
rtcp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
rtcp_read_rb(const uint8_t *b, struct rtcp_rb *rb)
{
	uint32_t lost = ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];

	rb->ssrc = rtcp_be32(b);
	rb->fraction_lost = b[4];
	/* RFC 3550 §6.4.1: cumulative lost is a signed 24-bit value. */
	if (lost & 0x800000)
		lost |= 0xFF000000u;
	rb->cum_lost = (int32_t)lost;
	rb->ext_high_seq = rtcp_be32(b + 8);
	rb->jitter = rtcp_be32(b + 12);
	rb->lsr = rtcp_be32(b + 16);
	rb->dlsr = rtcp_be32(b + 20);
}

int
rtcp_next(const uint8_t *p, size_t len, size_t *off, struct rtcp_pkt *pkt)
{
	size_t plen, content, need;
	const uint8_t *q;
	int i;

	memset(pkt, 0, offsetof(struct rtcp_pkt, rb));
	if (p == NULL || *off > len)
		return LK_EINVAL;
	if (*off == len)
		return 0;
	if (len - *off < RTCP_HEADER_LEN)
		return LK_EINVAL;
	q = p + *off;
	/* RFC 3550 §6.4.1 / A.2: V=2, P, count, PT, length in words - 1. */
	if ((q[0] >> 6) != RTCP_VERSION)
		return LK_EINVAL;
	pkt->padding = (q[0] >> 5) & 1;
	pkt->count = q[0] & 0x1F;
	pkt->type = q[1];
	/* RFC 5761 §4: RTCP packet types live in 192..223. */
	if (pkt->type < 192 || pkt->type > 223)
		return LK_EINVAL;
	plen = 4u * ((size_t)rtcp_be16(q + 2) + 1);
	if (plen > len - *off)
		return LK_EINVAL;
	content = plen;
	if (pkt->padding) {
		/* RFC 3550 A.2: only the last packet of a compound is padded. */
		if (*off + plen != len)
			return LK_EINVAL;
		if (q[plen - 1] == 0 || q[plen - 1] > plen - RTCP_HEADER_LEN)
			return LK_EINVAL;
		content = plen - q[plen - 1];
	}
	pkt->raw = q;
	pkt->len = plen;
	if (content >= 8)
		pkt->ssrc = rtcp_be32(q + 4);
	switch (pkt->type) {
	case RTCP_SR:
		/* RFC 3550 §6.4.1: header + SSRC + 20 bytes sender info + blocks;
		 * anything after the blocks is a profile extension, skipped. */
		need = 28 + 24u * pkt->count;
		if (content < need)
			return LK_EINVAL;
		pkt->ntp = ((uint64_t)rtcp_be32(q + 8) << 32) | rtcp_be32(q + 12);
		pkt->rtp_ts = rtcp_be32(q + 16);
		pkt->packet_count = rtcp_be32(q + 20);
		pkt->octet_count = rtcp_be32(q + 24);
		for (i = 0; i < pkt->count; i++)
			rtcp_read_rb(q + 28 + 24 * i, &pkt->rb[i]);
		pkt->n_rb = pkt->count;
		break;
	case RTCP_RR:
		/* RFC 3550 §6.4.2: header + SSRC + blocks. */
		need = 8 + 24u * pkt->count;
		if (content < need)
			return LK_EINVAL;
		for (i = 0; i < pkt->count; i++)
			rtcp_read_rb(q + 8 + 24 * i, &pkt->rb[i]);
		pkt->n_rb = pkt->count;
		break;
	default:
		/* SDES, BYE, APP, feedback, XR: framed by length and skipped. */
		break;
	}
	*off += plen;
	return 1;
}

int
rtcp_validate(const uint8_t *p, size_t len)
{
	struct rtcp_pkt pkt;
	size_t off = 0;
	int n = 0, rc;

	while ((rc = rtcp_next(p, len, &off, &pkt)) == 1)
		n++;
	if (rc < 0)
		return rc;
	return n > 0 ? n : LK_EINVAL;
}

static void
rtcp_write_rb(uint8_t *b, const struct rtcp_rb *rb)
{
	int32_t lost = rb->cum_lost;

	/* RFC 3550 §6.4.1: clamp to the signed 24-bit range. */
	if (lost > 0x7FFFFF)
		lost = 0x7FFFFF;
	if (lost < -0x800000)
		lost = -0x800000;
	rtcp_put32(b, rb->ssrc);
	b[4] = rb->fraction_lost;
	b[5] = (uint8_t)((uint32_t)lost >> 16);
	b[6] = (uint8_t)((uint32_t)lost >> 8);
	b[7] = (uint8_t)lost;
	rtcp_put32(b + 8, rb->ext_high_seq);
	rtcp_put32(b + 12, rb->jitter);
	rtcp_put32(b + 16, rb->lsr);
	rtcp_put32(b + 20, rb->dlsr);
}

int
rtcp_write_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_out *sr)
{
	size_t n;
	int i;

	if (buf == NULL || sr == NULL || sr->n_rb < 0 || sr->n_rb > RTCP_MAX_RB ||
	        (sr->n_rb > 0 && sr->rb == NULL))
		return LK_EINVAL;
	n = 28 + 24u * (size_t)sr->n_rb;
	if (n > cap)
		return LK_ETOOBIG;
	buf[0] = (uint8_t)((RTCP_VERSION << 6) | sr->n_rb);
	buf[1] = RTCP_SR;
	rtcp_put16(buf + 2, (uint16_t)(n / 4 - 1));
	rtcp_put32(buf + 4, sr->ssrc);
	rtcp_put32(buf + 8, (uint32_t)(sr->ntp >> 32));
	rtcp_put32(buf + 12, (uint32_t)sr->ntp);
	rtcp_put32(buf + 16, sr->rtp_ts);
	rtcp_put32(buf + 20, sr->packet_count);
	rtcp_put32(buf + 24, sr->octet_count);
	for (i = 0; i < sr->n_rb; i++)
		rtcp_write_rb(buf + 28 + 24 * i, &sr->rb[i]);
	return (int)n;
}

int
rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, int n_rb)
{
	size_t n;
	int i;

	if (buf == NULL || n_rb < 0 || n_rb > RTCP_MAX_RB || (n_rb > 0 && rb == NULL))
		return LK_EINVAL;
	n = 8 + 24u * (size_t)n_rb;
	if (n > cap)
		return LK_ETOOBIG;
	buf[0] = (uint8_t)((RTCP_VERSION << 6) | n_rb);
	buf[1] = RTCP_RR;
	rtcp_put16(buf + 2, (uint16_t)(n / 4 - 1));
	rtcp_put32(buf + 4, ssrc);
	for (i = 0; i < n_rb; i++)
		rtcp_write_rb(buf + 8 + 24 * i, &rb[i]);
	return (int)n;
}
