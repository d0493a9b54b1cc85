/*
 * check_rtp: unit tests for src/rtc/rtp.c (headers, RFC 8285 extensions),
 * rtcp.c (compound framing, SR/RR writers) and rtp_reorder.c (order, gaps,
 * FEC hand-off, wraparound, hostile input).
 */
#include <check.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/rtcp.h"
#include "rtc/rtp.h"
#include "rtc/rtp_reorder.h"

/* An Opus packet as libwebrtc sends it: one-byte extensions (audio level
 * id 1, sdes:mid id 4 = "0"), no CSRC. */
/* clang-format off */
static const uint8_t opus_pkt[] = {
	0x90, 0xef, 0x12, 0x34, 0x00, 0x00, 0x03, 0xc0, 0xde, 0xad, 0xbe, 0xef,
	0xbe, 0xde, 0x00, 0x02, 0x10, 0xff, 0x40, 0x30, 0x00, 0x00, 0x00, 0x00,
	0xfc, 0x01, 0x02, 0x03, 0x04,
};
/* clang-format on */

/* SR without report blocks (V=2, RC=0, PT=200, length 6). */
/* clang-format off */
static const uint8_t sr_pkt[] = {
	0x80, 0xc8, 0x00, 0x06, 0x00, 0x00, 0x00, 0x55, 0xce, 0xa5, 0x18, 0x3a,
	0x39, 0xcc, 0x7d, 0x09, 0x23, 0xed, 0x19, 0x07, 0x00, 0x00, 0x01, 0x56,
	0x00, 0x03, 0x73, 0x50,
};
/* clang-format on */

START_TEST(test_parse_opus)
{
	struct rtp_hdr h;
	const uint8_t *d;
	size_t len, off = 0;
	uint8_t id;

	ck_assert_int_eq(rtp_parse(opus_pkt, sizeof(opus_pkt), &h), 0);
	ck_assert_uint_eq(h.marker, 1);
	ck_assert_uint_eq(h.pt, 111);
	ck_assert_uint_eq(h.seq, 0x1234);
	ck_assert_uint_eq(h.ts, 960);
	ck_assert_uint_eq(h.ssrc, 0xdeadbeef);
	ck_assert_uint_eq(h.extension, 1);
	ck_assert_uint_eq(h.ext_profile, RTP_EXT_ONE_BYTE);
	ck_assert_uint_eq(h.ext_len, 8);
	ck_assert_uint_eq(h.hdr_len, 24);
	ck_assert_uint_eq(h.payload_len, 5);
	ck_assert_uint_eq(h.payload[0], 0xfc);

	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 1);
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(d[0], 0xff);
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 1);
	ck_assert_uint_eq(id, 4);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(d[0], '0');
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 0);
	ck_assert_int_eq(rtp_ext_find(&h, 4, &d, &len), 1);
	ck_assert_int_eq(rtp_ext_find(&h, 3, &d, &len), 0);
}
END_TEST

START_TEST(test_write_roundtrip)
{
	static const uint8_t ext2[] = {0x05, 0x00, 0x07, 0x03, 'a', 'b', 'c', 0x00};
	uint8_t buf[128];
	struct rtp_hdr w, h;
	const uint8_t *d;
	size_t len, off = 0;
	uint8_t id;
	int n;

	memset(&w, 0, sizeof(w));
	w.marker = 1;
	w.pt = 111;
	w.seq = 65535;
	w.ts = 0xfffffc40u;
	w.ssrc = 42;
	w.cc = 2;
	w.csrc[0] = 7;
	w.csrc[1] = 8;
	w.extension = 1;
	w.ext_profile = RTP_EXT_TWO_BYTE | 0x3;
	w.ext = ext2;
	w.ext_len = sizeof(ext2);
	n = rtp_write_hdr(buf, sizeof(buf), &w);
	ck_assert_int_eq(n, 12 + 8 + 4 + 8);
	ck_assert_uint_eq((size_t)n, rtp_hdr_size(&w));
	memcpy(buf + n, "\x01\x02", 2);
	ck_assert_int_eq(rtp_parse(buf, (size_t)n + 2, &h), 0);
	ck_assert_uint_eq(h.marker, 1);
	ck_assert_uint_eq(h.pt, 111);
	ck_assert_uint_eq(h.seq, 65535);
	ck_assert_uint_eq(h.ts, 0xfffffc40u);
	ck_assert_uint_eq(h.cc, 2);
	ck_assert_uint_eq(h.csrc[1], 8);
	ck_assert_uint_eq(h.ext_profile, 0x1003);
	ck_assert_uint_eq(h.payload_len, 2);
	/* Two-byte form: id 5 with zero length, id 7 "abc", then padding. */
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 1);
	ck_assert_uint_eq(id, 5);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 1);
	ck_assert_uint_eq(id, 7);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(d, "abc", 3) == 0);
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 0);

	/* Capacity and argument checks. */
	ck_assert_int_eq(rtp_write_hdr(buf, (size_t)n - 1, &w), LK_ETOOBIG);
	w.ext_len = 6;
	ck_assert_int_eq(rtp_write_hdr(buf, sizeof(buf), &w), LK_EINVAL);
	w.ext_len = 8;
	w.pt = 128;
	ck_assert_int_eq(rtp_write_hdr(buf, sizeof(buf), &w), LK_EINVAL);
	w.pt = 0;
	w.cc = 16;
	ck_assert_int_eq(rtp_write_hdr(buf, sizeof(buf), &w), LK_EINVAL);
}
END_TEST

START_TEST(test_padding_and_errors)
{
	uint8_t buf[64];
	struct rtp_hdr h;

	/* 4 payload bytes, then 3 bytes of padding (count 3). */
	memcpy(buf,
	        "\xa0\x6f\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	        "abcd\0\0\x03",
	        19);
	ck_assert_int_eq(rtp_parse(buf, 19, &h), 0);
	ck_assert_uint_eq(h.pad_len, 3);
	ck_assert_uint_eq(h.payload_len, 4);
	buf[18] = 0;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), LK_EINVAL);
	buf[18] = 8;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), LK_EINVAL);
	buf[18] = 7;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), 0);
	ck_assert_uint_eq(h.payload_len, 0);
	/* Padding bit with no byte after the header. */
	ck_assert_int_eq(rtp_parse(buf, 12, &h), LK_EINVAL);
	/* Version 1 and 3. */
	buf[0] = 0x40;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), LK_EINVAL);
	buf[0] = 0xc0;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), LK_EINVAL);
	/* 15 CSRCs announced, 7 bytes present. */
	buf[0] = 0x8f;
	ck_assert_int_eq(rtp_parse(buf, 19, &h), LK_EINVAL);
	/* Extension length past the end. */
	memcpy(buf,
	        "\x90\x6f\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\xbe\xde\x00\x04"
	        "abcd",
	        20);
	ck_assert_int_eq(rtp_parse(buf, 20, &h), LK_EINVAL);
	ck_assert_int_eq(rtp_parse(buf, 11, &h), LK_EINVAL);
	ck_assert_int_eq(rtp_parse(NULL, 0, &h), LK_EINVAL);
}
END_TEST

START_TEST(test_ext_malformed)
{
	uint8_t buf[64];
	struct rtp_hdr h;
	const uint8_t *d;
	size_t len, off = 0;
	uint8_t id;

	/* One-byte element claiming 4 bytes with 3 left in the block. */
	memcpy(buf,
	        "\x90\x6f\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\xbe\xde\x00\x01"
	        "\x13\x01\x02\x03",
	        20);
	ck_assert_int_eq(rtp_parse(buf, 20, &h), 0);
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), LK_EINVAL);
	ck_assert_int_eq(rtp_ext_find(&h, 1, &d, &len), LK_EINVAL);
	/* ID 15 ends processing (RFC 8285 §4.2). */
	buf[16] = 0xf0;
	off = 0;
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), 0);
	/* Two-byte element whose length byte is missing / too long. */
	memcpy(buf + 12,
	        "\x10\x00\x00\x01"
	        "\x00\x00\x00\x07",
	        8);
	ck_assert_int_eq(rtp_parse(buf, 20, &h), 0);
	off = 0;
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), LK_EINVAL);
	memcpy(buf + 16, "\x07\x05\x00\x00", 4);
	off = 0;
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), LK_EINVAL);
	/* An unknown profile is not walked. */
	memcpy(buf + 12, "\x12\x34\x00\x01", 4);
	ck_assert_int_eq(rtp_parse(buf, 20, &h), 0);
	off = 0;
	ck_assert_int_eq(rtp_ext_next(&h, &off, &id, &d, &len), LK_ENOTFOUND);
}
END_TEST

/* Any prefix either fails or parses into lengths inside the prefix. */
START_TEST(test_truncated_everywhere)
{
	struct rtp_hdr h;
	size_t n;

	for (n = 0; n <= sizeof(opus_pkt); n++) {
		uint8_t *p = malloc(n ? n : 1);
		int rc;

		memcpy(p, opus_pkt, n);
		rc = rtp_parse(p, n, &h);
		if (n < 24)
			ck_assert_int_eq(rc, LK_EINVAL);
		else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(h.hdr_len + h.payload_len + h.pad_len, n);
		}
		free(p);
	}
}
END_TEST

START_TEST(test_rtcp_sr_vector)
{
	struct rtcp_pkt pkt;
	size_t off = 0;

	ck_assert_int_eq(rtcp_next(sr_pkt, sizeof(sr_pkt), &off, &pkt), 1);
	ck_assert_uint_eq(pkt.type, RTCP_SR);
	ck_assert_uint_eq(pkt.ssrc, 0x55);
	ck_assert(pkt.ntp == 0xcea5183a39cc7d09ull);
	ck_assert_uint_eq(pkt.rtp_ts, 0x23ed1907);
	ck_assert_uint_eq(pkt.packet_count, 0x156);
	ck_assert_uint_eq(pkt.octet_count, 0x37350);
	ck_assert_int_eq(pkt.n_rb, 0);
	ck_assert_int_eq(rtcp_next(sr_pkt, sizeof(sr_pkt), &off, &pkt), 0);
	ck_assert_int_eq(rtcp_validate(sr_pkt, sizeof(sr_pkt)), 1);
}
END_TEST

static size_t
build_compound(uint8_t *buf, size_t cap)
{
	struct rtcp_rb rb[2];
	struct rtcp_sr_out sr;
	size_t n = 0;
	int rc;

	memset(rb, 0, sizeof(rb));
	rb[0].ssrc = 0x11111111;
	rb[0].fraction_lost = 25;
	rb[0].cum_lost = -3;
	rb[0].ext_high_seq = 0x00012345;
	rb[0].jitter = 77;
	rb[0].lsr = 0xaabbccdd;
	rb[0].dlsr = 65536;
	rb[1].ssrc = 0x22222222;
	rb[1].cum_lost = 0x7fffffff; /* clamped to 24 bits */
	memset(&sr, 0, sizeof(sr));
	sr.ssrc = 0xabcdef01;
	sr.ntp = 0x0102030405060708ull;
	sr.rtp_ts = 48000;
	sr.packet_count = 50;
	sr.octet_count = 5000;
	sr.n_rb = 2;
	sr.rb = rb;
	rc = rtcp_write_sr(buf, cap, &sr);
	ck_assert_int_eq(rc, 28 + 48);
	n += (size_t)rc;
	/* An SDES chunk (skipped by length), then an RR. */
	{
		/* SDES: SSRC, CNAME "ab", END, zero padding to a word. */
		static const uint8_t sdes[16] = {0x81, 0xca, 0x00, 0x03, 0xab, 0xcd, 0xef, 0x01,
		        0x01, 0x02, 'a', 'b', 0, 0, 0, 0};

		memcpy(buf + n, sdes, sizeof(sdes));
	}
	n += 16;
	rc = rtcp_write_rr(buf + n, cap - n, 0x99, rb, 1);
	ck_assert_int_eq(rc, 8 + 24);
	n += (size_t)rc;
	return n;
}

START_TEST(test_rtcp_compound)
{
	uint8_t buf[256];
	struct rtcp_pkt pkt;
	size_t n = build_compound(buf, sizeof(buf)), off = 0;

	ck_assert_int_eq(rtcp_validate(buf, n), 3);
	ck_assert_int_eq(rtcp_next(buf, n, &off, &pkt), 1);
	ck_assert_uint_eq(pkt.type, RTCP_SR);
	ck_assert_uint_eq(pkt.ssrc, 0xabcdef01);
	ck_assert(pkt.ntp == 0x0102030405060708ull);
	ck_assert_int_eq(pkt.n_rb, 2);
	ck_assert_uint_eq(pkt.rb[0].ssrc, 0x11111111);
	ck_assert_uint_eq(pkt.rb[0].fraction_lost, 25);
	ck_assert_int_eq(pkt.rb[0].cum_lost, -3);
	ck_assert_uint_eq(pkt.rb[0].ext_high_seq, 0x12345);
	ck_assert_uint_eq(pkt.rb[0].jitter, 77);
	ck_assert_uint_eq(pkt.rb[0].lsr, 0xaabbccdd);
	ck_assert_uint_eq(pkt.rb[0].dlsr, 65536);
	ck_assert_int_eq(pkt.rb[1].cum_lost, 0x7fffff);
	ck_assert_int_eq(rtcp_next(buf, n, &off, &pkt), 1);
	ck_assert_uint_eq(pkt.type, RTCP_SDES);
	ck_assert_uint_eq(pkt.len, 16);
	ck_assert_int_eq(rtcp_next(buf, n, &off, &pkt), 1);
	ck_assert_uint_eq(pkt.type, RTCP_RR);
	ck_assert_uint_eq(pkt.ssrc, 0x99);
	ck_assert_int_eq(pkt.n_rb, 1);
	ck_assert_int_eq(pkt.rb[0].cum_lost, -3);
	ck_assert_int_eq(rtcp_next(buf, n, &off, &pkt), 0);
	ck_assert_uint_eq(off, n);
}
END_TEST

/* A prefix of a compound is valid exactly at packet boundaries. */
START_TEST(test_rtcp_truncated_everywhere)
{
	uint8_t buf[256];
	size_t n = build_compound(buf, sizeof(buf)), i;

	for (i = 0; i <= n; i++) {
		uint8_t *p = malloc(i ? i : 1);
		int rc, boundary = i == 76 || i == 92 || i == n;

		memcpy(p, buf, i);
		rc = rtcp_validate(p, i);
		if (boundary)
			ck_assert_int_gt(rc, 0);
		else
			ck_assert_int_eq(rc, LK_EINVAL);
		free(p);
	}
}
END_TEST

START_TEST(test_rtcp_errors)
{
	uint8_t buf[256];
	size_t n = build_compound(buf, sizeof(buf));
	struct rtcp_rb rb;

	/* Length field beyond the datagram. */
	buf[3] = 0x20;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL);
	buf[3] = 18;
	/* Report count larger than the packet holds. */
	buf[0] = 0x85;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL);
	buf[0] = 0x82;
	/* Padding on the first packet of a compound. */
	buf[0] = 0xa2;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL);
	buf[0] = 0x82;
	/* Version 1; a type outside 192..223. */
	buf[0] = 0x42;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL);
	buf[0] = 0x82;
	buf[1] = 111;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL);
	buf[1] = RTCP_SR;
	ck_assert_int_eq(rtcp_validate(buf, n), 3);
	/* Padding on the last packet: the count is checked. */
	buf[n - 32] |= 0x20;
	buf[n - 1] = 4;
	ck_assert_int_eq(rtcp_validate(buf, n), LK_EINVAL); /* padding eats the RR block */
	buf[n - 32] &= (uint8_t)~0x20;
	ck_assert_int_eq(rtcp_validate(buf, 0), LK_EINVAL);
	ck_assert_int_eq(rtcp_validate(buf, 3), LK_EINVAL);
	/* Writers refuse bad counts and small buffers. */
	memset(&rb, 0, sizeof(rb));
	ck_assert_int_eq(rtcp_write_rr(buf, 31, 1, &rb, 1), LK_ETOOBIG);
	ck_assert_int_eq(rtcp_write_rr(buf, sizeof(buf), 1, &rb, 32), LK_EINVAL);
	ck_assert_int_eq(rtcp_write_rr(buf, sizeof(buf), 1, NULL, 1), LK_EINVAL);
	ck_assert_int_eq(rtcp_write_rr(buf, 8, 1, NULL, 0), 8);
}
END_TEST

static void
push_seq(struct rtp_reorder *r, uint16_t seq, int expect)
{
	uint8_t p[4] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0xaa, 0xbb};

	ck_assert_int_eq(rtp_reorder_push(r, seq, (uint32_t)seq * 960, 0, p, sizeof(p)), expect);
}

static void
pop_expect(struct rtp_reorder *r, int force, int kind, uint16_t seq)
{
	struct rtp_reorder_out o;

	ck_assert_int_eq(rtp_reorder_pop(r, force, &o), kind);
	if (kind == RTP_REORDER_NONE)
		return;
	ck_assert_uint_eq(o.seq, seq);
	if (kind == RTP_REORDER_PACKET) {
		ck_assert_uint_eq(o.len, 4);
		ck_assert_uint_eq(o.data[0], (uint8_t)(seq >> 8));
		ck_assert_uint_eq(o.data[1], (uint8_t)seq);
		ck_assert_uint_eq(o.ts, (uint32_t)seq * 960);
	}
}

START_TEST(test_reorder_basic)
{
	struct rtp_reorder *r = rtp_reorder_new(16, 1500, 3);
	struct rtp_reorder_out o;

	ck_assert_ptr_nonnull(r);
	pop_expect(r, 1, RTP_REORDER_NONE, 0);
	push_seq(r, 100, RTP_REORDER_STORED);
	push_seq(r, 102, RTP_REORDER_STORED);
	push_seq(r, 101, RTP_REORDER_STORED);
	push_seq(r, 101, RTP_REORDER_DUPLICATE);
	ck_assert_uint_eq(rtp_reorder_count(r), 3);
	pop_expect(r, 0, RTP_REORDER_PACKET, 100);
	pop_expect(r, 0, RTP_REORDER_PACKET, 101);
	pop_expect(r, 0, RTP_REORDER_PACKET, 102);
	pop_expect(r, 0, RTP_REORDER_NONE, 0);
	push_seq(r, 101, RTP_REORDER_LATE);
	/* A hole at 103: held until three packets wait behind it. */
	push_seq(r, 104, RTP_REORDER_STORED);
	pop_expect(r, 0, RTP_REORDER_NONE, 0);
	push_seq(r, 105, RTP_REORDER_STORED);
	pop_expect(r, 0, RTP_REORDER_NONE, 0);
	push_seq(r, 106, RTP_REORDER_STORED);
	ck_assert_int_eq(rtp_reorder_pop(r, 0, &o), RTP_REORDER_GAP);
	ck_assert_uint_eq(o.seq, 103);
	/* The next packet is offered for Opus in-band FEC. */
	ck_assert_ptr_nonnull(o.fec_data);
	ck_assert_uint_eq(o.fec_len, 4);
	ck_assert_uint_eq(o.fec_data[1], 104);
	pop_expect(r, 0, RTP_REORDER_PACKET, 104);
	pop_expect(r, 0, RTP_REORDER_PACKET, 105);
	pop_expect(r, 0, RTP_REORDER_PACKET, 106);
	/* force declares a hole lost at once, without a FEC source. */
	push_seq(r, 109, RTP_REORDER_STORED);
	ck_assert_int_eq(rtp_reorder_pop(r, 1, &o), RTP_REORDER_GAP);
	ck_assert_uint_eq(o.seq, 107);
	ck_assert_ptr_null(o.fec_data);
	pop_expect(r, 1, RTP_REORDER_GAP, 108);
	pop_expect(r, 1, RTP_REORDER_PACKET, 109);
	ck_assert_uint_eq(rtp_reorder_stats(r)->gaps, 3);
	ck_assert_uint_eq(rtp_reorder_stats(r)->duplicate, 1);
	ck_assert_uint_eq(rtp_reorder_stats(r)->late, 1);
	ck_assert_int_eq(rtp_reorder_push(r, 110, 0, 0, NULL, 1501), LK_ETOOBIG);
	rtp_reorder_free(r);
}
END_TEST

START_TEST(test_reorder_wraparound)
{
	struct rtp_reorder *r = rtp_reorder_new(8, 100, 2);
	struct rtp_reorder_out o;
	uint32_t first_ext;

	push_seq(r, 65534, RTP_REORDER_STORED);
	push_seq(r, 0, RTP_REORDER_STORED);
	push_seq(r, 65535, RTP_REORDER_STORED);
	push_seq(r, 1, RTP_REORDER_STORED);
	ck_assert_int_eq(rtp_reorder_pop(r, 0, &o), RTP_REORDER_PACKET);
	first_ext = o.ext_seq;
	ck_assert_uint_eq(o.seq, 65534);
	pop_expect(r, 0, RTP_REORDER_PACKET, 65535);
	ck_assert_int_eq(rtp_reorder_pop(r, 0, &o), RTP_REORDER_PACKET);
	ck_assert_uint_eq(o.seq, 0);
	/* The extended sequence keeps counting across the wrap. */
	ck_assert_uint_eq(o.ext_seq, first_ext + 2);
	pop_expect(r, 0, RTP_REORDER_PACKET, 1);
	push_seq(r, 65535, RTP_REORDER_LATE);
	rtp_reorder_free(r);
}
END_TEST

START_TEST(test_reorder_jumps)
{
	struct rtp_reorder *r = rtp_reorder_new(8, 100, 7);

	push_seq(r, 10, RTP_REORDER_STORED);
	push_seq(r, 12, RTP_REORDER_STORED);
	/* 20 is past the 8-slot window (10..17): it slides to 13..20,
	 * dropping 10 and 12 unplayed. */
	push_seq(r, 20, RTP_REORDER_STORED);
	ck_assert_uint_eq(rtp_reorder_count(r), 1);
	ck_assert_uint_eq(rtp_reorder_stats(r)->flushed, 2);
	ck_assert_uint_eq(rtp_reorder_stats(r)->skipped, 3);
	pop_expect(r, 1, RTP_REORDER_GAP, 13);
	rtp_reorder_reset(r);
	push_seq(r, 1000, RTP_REORDER_STORED);
	/* A sender restart far ahead or far back starts over. */
	push_seq(r, 9000, RTP_REORDER_RESET);
	pop_expect(r, 0, RTP_REORDER_PACKET, 9000);
	push_seq(r, 8000, RTP_REORDER_RESET);
	pop_expect(r, 0, RTP_REORDER_PACKET, 8000);
	push_seq(r, 7950, RTP_REORDER_LATE);
	ck_assert_ptr_null(rtp_reorder_new(1, 100, 0));
	ck_assert_ptr_null(rtp_reorder_new(2048, 100, 0));
	ck_assert_ptr_null(rtp_reorder_new(8, 0, 0));
	rtp_reorder_free(NULL);
	rtp_reorder_free(r);
}
END_TEST

/* Push/pop of a long lossy, reordered stream allocates nothing. */
START_TEST(test_reorder_no_alloc)
{
	struct rtp_reorder *r = rtp_reorder_new(32, 1500, 4);
	struct rtp_reorder_out o;
	uint8_t payload[160];
	struct mallinfo2 before, after;
	uint32_t i;
	unsigned packets = 0, gaps = 0;

	memset(payload, 7, sizeof(payload));
	before = mallinfo2();
	for (i = 0; i < 20000; i++) {
		/* Swap neighbours every 7th packet, drop every 50th. */
		uint16_t seq = (uint16_t)(i % 7 == 0 ? i + 1 : (i % 7 == 1 ? i - 1 : i));
		int rc;

		if (i % 50 == 3)
			continue;
		rtp_reorder_push(r, seq, i * 960, 0, payload, sizeof(payload));
		while ((rc = rtp_reorder_pop(r, 0, &o)) != RTP_REORDER_NONE) {
			if (rc == RTP_REORDER_PACKET)
				packets++;
			else
				gaps++;
		}
	}
	after = mallinfo2();
	ck_assert_uint_eq(before.uordblks, after.uordblks);
	ck_assert_uint_eq(before.hblkhd, after.hblkhd);
	ck_assert_uint_eq(gaps, rtp_reorder_stats(r)->gaps);
	ck_assert_uint_ge(packets, 19000);
	ck_assert_uint_gt(gaps, 300);
	rtp_reorder_free(r);
}
END_TEST

static Suite *
rtp_suite(void)
{
	Suite *s = suite_create("rtp");
	TCase *tc = tcase_create("rtp");
	TCase *tr = tcase_create("rtcp");
	TCase *tb = tcase_create("reorder");

	tcase_add_test(tc, test_parse_opus);
	tcase_add_test(tc, test_write_roundtrip);
	tcase_add_test(tc, test_padding_and_errors);
	tcase_add_test(tc, test_ext_malformed);
	tcase_add_test(tc, test_truncated_everywhere);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_rtcp_sr_vector);
	tcase_add_test(tr, test_rtcp_compound);
	tcase_add_test(tr, test_rtcp_truncated_everywhere);
	tcase_add_test(tr, test_rtcp_errors);
	suite_add_tcase(s, tr);
	tcase_add_test(tb, test_reorder_basic);
	tcase_add_test(tb, test_reorder_wraparound);
	tcase_add_test(tb, test_reorder_jumps);
	tcase_add_test(tb, test_reorder_no_alloc);
	suite_add_tcase(s, tb);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rtp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
