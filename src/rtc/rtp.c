/*
 * rtp: RTP header parse/write (RFC 3550 §5) and RFC 8285 extension
 * walking. Pure; runs in the media paths of lk-jobproc and lk-devserver.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/rtp.h"

static uint16_t
rtp_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
rtp_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void
rtp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
rtp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *h)
{
	size_t off;
	int i;

	memset(h, 0, sizeof(*h));
	if (p == NULL || len < RTP_HEADER_LEN)
		return LK_EINVAL;
	/* RFC 3550 §5.1: V=2, P, X, CC, M, PT, seq, timestamp, SSRC. */
	if ((p[0] >> 6) != RTP_VERSION)
		return LK_EINVAL;
	h->padding = (p[0] >> 5) & 1;
	h->extension = (p[0] >> 4) & 1;
	h->cc = p[0] & 0x0F;
	h->marker = p[1] >> 7;
	h->pt = p[1] & 0x7F;
	h->seq = rtp_be16(p + 2);
	h->ts = rtp_be32(p + 4);
	h->ssrc = rtp_be32(p + 8);
	off = RTP_HEADER_LEN;
	if (len - off < 4u * h->cc)
		return LK_EINVAL;
	for (i = 0; i < h->cc; i++, off += 4)
		h->csrc[i] = rtp_be32(p + off);
	if (h->extension) {
		/* RFC 3550 §5.3.1: 16-bit profile, length in 32-bit words. */
		if (len - off < 4)
			return LK_EINVAL;
		h->ext_profile = rtp_be16(p + off);
		h->ext_len = 4u * rtp_be16(p + off + 2);
		off += 4;
		if (len - off < h->ext_len)
			return LK_EINVAL;
		h->ext = p + off;
		off += h->ext_len;
	}
	if (h->padding) {
		/* RFC 3550 §5.1: the last octet counts the padding, itself
		 * included, so it is at least 1 and within the payload area. */
		if (off == len)
			return LK_EINVAL;
		h->pad_len = p[len - 1];
		if (h->pad_len == 0 || h->pad_len > len - off)
			return LK_EINVAL;
	}
	h->hdr_len = off;
	h->payload = p + off;
	h->payload_len = len - off - h->pad_len;
	return 0;
}

size_t
rtp_hdr_size(const struct rtp_hdr *h)
{
	return RTP_HEADER_LEN + 4u * h->cc + (h->extension ? 4 + h->ext_len : 0);
}

int
rtp_write_hdr(uint8_t *buf, size_t cap, const struct rtp_hdr *h)
{
	size_t n, off;
	int i;

	if (buf == NULL || h == NULL || h->cc > RTP_MAX_CSRC || h->pt > 127)
		return LK_EINVAL;
	if (h->extension &&
	        ((h->ext_len & 3) != 0 || h->ext_len > 4u * 0xFFFF ||
	                (h->ext_len > 0 && h->ext == NULL)))
		return LK_EINVAL;
	n = rtp_hdr_size(h);
	if (n > cap)
		return LK_ETOOBIG;
	buf[0] = (uint8_t)((RTP_VERSION << 6) | (h->extension ? 0x10 : 0) | h->cc);
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->pt);
	rtp_put16(buf + 2, h->seq);
	rtp_put32(buf + 4, h->ts);
	rtp_put32(buf + 8, h->ssrc);
	off = RTP_HEADER_LEN;
	for (i = 0; i < h->cc; i++, off += 4)
		rtp_put32(buf + off, h->csrc[i]);
	if (h->extension) {
		rtp_put16(buf + off, h->ext_profile);
		rtp_put16(buf + off + 2, (uint16_t)(h->ext_len / 4));
		if (h->ext_len > 0)
			memcpy(buf + off + 4, h->ext, h->ext_len);
	}
	return (int)n;
}

int
rtp_ext_next(const struct rtp_hdr *h, size_t *off, uint8_t *id, const uint8_t **data, size_t *len)
{
	const uint8_t *e = h->ext;
	size_t n = h->ext_len, l;

	if (!h->extension || n == 0)
		return 0;
	if (h->ext_profile == RTP_EXT_ONE_BYTE) {
		while (*off < n) {
			uint8_t b = e[*off];

			/* RFC 8285 §4.2: a zero byte is padding. */
			if (b == 0) {
				(*off)++;
				continue;
			}
			/* RFC 8285 §4.2: ID 15 is reserved; stop processing. */
			if ((b >> 4) == 15) {
				*off = n;
				return 0;
			}
			l = (size_t)(b & 0x0F) + 1;
			if (l > n - *off - 1)
				return LK_EINVAL;
			*id = b >> 4;
			*data = e + *off + 1;
			*len = l;
			*off += 1 + l;
			return 1;
		}
		return 0;
	}
	if ((h->ext_profile & 0xFFF0) == RTP_EXT_TWO_BYTE) {
		while (*off < n) {
			/* RFC 8285 §4.3: a zero ID byte is padding. */
			if (e[*off] == 0) {
				(*off)++;
				continue;
			}
			if (n - *off < 2)
				return LK_EINVAL;
			l = e[*off + 1];
			if (l > n - *off - 2)
				return LK_EINVAL;
			*id = e[*off];
			*data = e + *off + 2;
			*len = l;
			*off += 2 + l;
			return 1;
		}
		return 0;
	}
	return LK_ENOTFOUND;
}

int
rtp_ext_find(const struct rtp_hdr *h, uint8_t id, const uint8_t **data, size_t *len)
{
	size_t off = 0;
	uint8_t eid;
	int rc;

	while ((rc = rtp_ext_next(h, &off, &eid, data, len)) == 1)
		if (eid == id)
			return 1;
	return rc;
}
