/*
 * check_stun: unit tests for src/rtc/stun.c: the RFC 5769 sample messages,
 * a Binding request captured from libwebrtc (rtc-node), builder round
 * trips, and hostile input (truncation, bit flips, bad lengths).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/err.h"
#include "rtc/stun.h"

/* RFC 5769 §2.1 sample request (USERNAME padded with spaces). */
/* clang-format off */
static const uint8_t rfc5769_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};
/* clang-format on */

/* RFC 5769 §2.2 sample IPv4 response. */
/* clang-format off */
static const uint8_t rfc5769_response_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};
/* clang-format on */

/* RFC 5769 §2.3 sample IPv6 response. */
/* clang-format off */
static const uint8_t rfc5769_response_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};
/* clang-format on */

static const char rfc5769_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/*
 * A connectivity check sent by @livekit/rtc-node 0.13.35 (libwebrtc m144)
 * to an ICE-lite answer with ice-ufrag "capu" / ice-pwd
 * "capturepasswordcapture1": USERNAME "capu:mppA", GOOG-NETWORK-INFO,
 * ICE-CONTROLLING, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT.
 */
/* clang-format off */
static const uint8_t libwebrtc_request[] = {
	0x00, 0x01, 0x00, 0x4c, 0x21, 0x12, 0xa4, 0x42, 0x2f, 0x63, 0x77, 0x73,
	0x5a, 0x31, 0x74, 0x6e, 0x44, 0x4e, 0x51, 0x75, 0x00, 0x06, 0x00, 0x09,
	0x63, 0x61, 0x70, 0x75, 0x3a, 0x6d, 0x70, 0x70, 0x41, 0x00, 0x00, 0x00,
	0xc0, 0x57, 0x00, 0x04, 0x00, 0x01, 0x00, 0x32, 0x80, 0x2a, 0x00, 0x08,
	0x99, 0x3a, 0x88, 0xef, 0x07, 0x44, 0x43, 0xa1, 0x00, 0x24, 0x00, 0x04,
	0x6e, 0x7f, 0x1e, 0xff, 0x00, 0x08, 0x00, 0x14, 0x0f, 0x04, 0x4c, 0x0d,
	0x7c, 0xc9, 0x92, 0x34, 0x75, 0x67, 0xe3, 0x62, 0xf3, 0x23, 0x66, 0x99,
	0x7a, 0x84, 0x7d, 0xc1, 0x80, 0x28, 0x00, 0x04, 0xd0, 0x88, 0xcc, 0xa4,
};
/* clang-format on */

static const uint8_t tid_rfc[STUN_TID_LEN] = {
        0xb7,
        0xe7,
        0xa7,
        0x01,
        0xbc,
        0x34,
        0xd6,
        0x86,
        0xfa,
        0x87,
        0xdf,
        0xae,
};

struct vector {
	const uint8_t *p;
	size_t len;
	const char *pwd;
};

static const struct vector vectors[] = {
        {rfc5769_request, sizeof(rfc5769_request), rfc5769_password},
        {rfc5769_response_v4, sizeof(rfc5769_response_v4), rfc5769_password},
        {rfc5769_response_v6, sizeof(rfc5769_response_v6), rfc5769_password},
        {libwebrtc_request, sizeof(libwebrtc_request), "capturepasswordcapture1"},
};

START_TEST(test_crc32)
{
	/* The CRC-32 check value. */
	ck_assert_uint_eq(stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
	ck_assert_uint_eq(stun_crc32(NULL, 0), 0);
}
END_TEST

START_TEST(test_rfc5769_request)
{
	struct stun_msg m;

	ck_assert_int_eq(stun_parse(rfc5769_request, sizeof(rfc5769_request), &m), 0);
	ck_assert_uint_eq(m.type, STUN_BINDING_REQUEST);
	ck_assert_uint_eq(m.method, STUN_METHOD_BINDING);
	ck_assert_int_eq(m.cls, STUN_CLASS_REQUEST);
	ck_assert(memcmp(m.tid, tid_rfc, STUN_TID_LEN) == 0);
	ck_assert(m.flags & STUN_F_USERNAME);
	ck_assert_uint_eq(m.username_len, 9);
	ck_assert(memcmp(m.username, "evtj:h6vY", 9) == 0);
	ck_assert(m.flags & STUN_F_PRIORITY);
	ck_assert_uint_eq(m.priority, 0x6e0001ffu);
	ck_assert(m.flags & STUN_F_CONTROLLED);
	ck_assert(!(m.flags & STUN_F_CONTROLLING));
	ck_assert(m.tie_breaker == 0x932ff9b151263b36ull);
	ck_assert(!(m.flags & STUN_F_USE_CANDIDATE));
	ck_assert_int_eq(m.n_unknown, 0);
	ck_assert_int_eq(stun_check_integrity(&m, rfc5769_password, strlen(rfc5769_password)), 0);
	ck_assert_int_eq(stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBT", 22), LK_EAUTH);
	ck_assert_int_eq(stun_check_integrity(&m, "", 0), LK_EAUTH);
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	ck_assert_int_eq(stun_check_username(&m, "evtj", "h6vY"), 0);
	ck_assert_int_eq(stun_check_username(&m, "evtj", NULL), 0);
	ck_assert_int_eq(stun_check_username(&m, "evt", NULL), LK_EAUTH);
	ck_assert_int_eq(stun_check_username(&m, "h6vY", "evtj"), LK_EAUTH);
	ck_assert_int_eq(stun_check_username(&m, "evtj", "h6v"), LK_EAUTH);
	ck_assert_int_eq(stun_check_username(&m, "evtj", "h6vYY"), LK_EAUTH);
	ck_assert(stun_is_stun(rfc5769_request, sizeof(rfc5769_request)));
}
END_TEST

START_TEST(test_rfc5769_responses)
{
	struct stun_msg m;
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11,
	        0x22, 0x33, 0x44, 0x55, 0x66, 0x77};

	ck_assert_int_eq(stun_parse(rfc5769_response_v4, sizeof(rfc5769_response_v4), &m), 0);
	ck_assert_uint_eq(m.type, STUN_BINDING_SUCCESS);
	ck_assert_int_eq(m.cls, STUN_CLASS_SUCCESS);
	ck_assert(m.flags & STUN_F_XOR_MAPPED);
	ck_assert_uint_eq(m.xor_mapped.family, 4);
	ck_assert_uint_eq(m.xor_mapped.port, 32853);
	ck_assert(memcmp(m.xor_mapped.addr, "\xc0\x00\x02\x01", 4) == 0);
	ck_assert_int_eq(stun_check_integrity(&m, rfc5769_password, strlen(rfc5769_password)), 0);
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	/* No USERNAME in a response. */
	ck_assert_int_eq(stun_check_username(&m, "evtj", NULL), LK_ENOTFOUND);

	ck_assert_int_eq(stun_parse(rfc5769_response_v6, sizeof(rfc5769_response_v6), &m), 0);
	ck_assert_uint_eq(m.xor_mapped.family, 6);
	ck_assert_uint_eq(m.xor_mapped.port, 32853);
	ck_assert(memcmp(m.xor_mapped.addr, v6, 16) == 0);
	ck_assert_int_eq(stun_check_integrity(&m, rfc5769_password, strlen(rfc5769_password)), 0);
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);
}
END_TEST

START_TEST(test_libwebrtc_request)
{
	struct stun_msg m;
	const char *pwd = "capturepasswordcapture1";

	ck_assert_int_eq(stun_parse(libwebrtc_request, sizeof(libwebrtc_request), &m), 0);
	ck_assert_uint_eq(m.type, STUN_BINDING_REQUEST);
	ck_assert_int_eq(stun_check_username(&m, "capu", "mppA"), 0);
	ck_assert(m.flags & STUN_F_CONTROLLING);
	ck_assert(m.tie_breaker == 0x993a88ef074443a1ull);
	ck_assert_uint_eq(m.priority, 0x6e7f1effu);
	/* GOOG-NETWORK-INFO is comprehension-optional: not "unknown". */
	ck_assert_int_eq(m.n_unknown, 0);
	ck_assert_int_eq(m.n_attrs, 6);
	ck_assert_int_eq(stun_check_integrity(&m, pwd, strlen(pwd)), 0);
	ck_assert_int_eq(
	        stun_check_integrity(&m, rfc5769_password, strlen(rfc5769_password)), LK_EAUTH);
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);
}
END_TEST

/* Every proper prefix of a valid message is rejected, never read past. */
START_TEST(test_truncated_everywhere)
{
	struct stun_msg m;
	size_t v, n;

	for (v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		for (n = 0; n < vectors[v].len; n++) {
			/* An exact-size heap copy so ASan sees any overread. */
			uint8_t *p = malloc(n ? n : 1);

			memcpy(p, vectors[v].p, n);
			ck_assert_int_lt(stun_parse(p, n, &m), 0);
			free(p);
		}
	}
}
END_TEST

/* Any single bit flip is caught by the parser or by the two checks. */
START_TEST(test_bit_flips_detected)
{
	struct stun_msg m;
	uint8_t buf[128];
	size_t v, i;
	int bit;

	for (v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		for (i = 0; i < vectors[v].len; i++) {
			for (bit = 0; bit < 8; bit++) {
				int ok;

				memcpy(buf, vectors[v].p, vectors[v].len);
				buf[i] ^= (uint8_t)(1u << bit);
				ok = stun_parse(buf, vectors[v].len, &m) == 0 &&
				        stun_check_fingerprint(&m) == 0 &&
				        stun_check_integrity(
				                &m, vectors[v].pwd, strlen(vectors[v].pwd)) == 0;
				ck_assert_msg(!ok, "flip of byte %zu bit %d in vector %zu accepted",
				        i, bit, v);
			}
		}
	}
}
END_TEST

START_TEST(test_header_errors)
{
	struct stun_msg m;
	uint8_t buf[sizeof(rfc5769_request) + 8];
	uint8_t big[STUN_MAX_LEN + 4];

	memcpy(buf, rfc5769_request, sizeof(rfc5769_request));
	ck_assert_int_eq(stun_parse(NULL, 0, &m), LK_EINVAL);
	/* Trailing bytes after the declared length. */
	memset(buf + sizeof(rfc5769_request), 0, 8);
	ck_assert_int_eq(stun_parse(buf, sizeof(rfc5769_request) + 4, &m), LK_ETRAIL);
	/* Length not a multiple of four. */
	buf[3] = 0x57;
	ck_assert_int_eq(stun_parse(buf, sizeof(rfc5769_request), &m), LK_EINVAL);
	buf[3] = 0x58;
	/* Top bits set (RTP-like), wrong cookie. */
	buf[0] = 0x80;
	ck_assert_int_eq(stun_parse(buf, sizeof(rfc5769_request), &m), LK_EINVAL);
	ck_assert(!stun_is_stun(buf, sizeof(rfc5769_request)));
	buf[0] = 0x00;
	buf[4] = 0x22;
	ck_assert_int_eq(stun_parse(buf, sizeof(rfc5769_request), &m), LK_EINVAL);
	/* Oversized datagrams are refused before reading them. */
	memset(big, 0, sizeof(big));
	memcpy(big, rfc5769_request, 20);
	ck_assert_int_eq(stun_parse(big, sizeof(big), &m), LK_ETOOBIG);
}
END_TEST

/* Build a message with raw attributes (type, len, value bytes). */
static size_t
raw_msg(uint8_t *out, const uint8_t *attrs, size_t alen)
{
	memcpy(out,
	        "\x00\x01\x00\x00\x21\x12\xa4\x42"
	        "abcdefghijkl",
	        20);
	out[2] = (uint8_t)(alen >> 8);
	out[3] = (uint8_t)alen;
	memcpy(out + 20, attrs, alen);
	return 20 + alen;
}

START_TEST(test_attribute_errors)
{
	struct stun_msg m;
	uint8_t buf[256];
	size_t n;

	/* Attribute length runs past the message. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x06\x00\x09"
	                         "abcd",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* Padding missing: value 5 bytes, only 4 + 4 present after header. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x06\x00\x05"
	                         "abcd",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* A repeated attribute: the first one counts. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x25\x00\x00"
	                         "\x00\x25\x00\x00",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), 0);
	ck_assert(m.flags & STUN_F_USE_CANDIDATE);
	/* Fixed-size attributes with wrong sizes. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x24\x00\x08"
	                         "12345678",
	        12);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x25\x00\x04"
	                         "1234",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x80\x2a\x00\x04"
	                         "1234",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x08\x00\x10"
	                         "0123456789abcdef",
	        20);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x80\x28\x00\x08"
	                         "12345678",
	        12);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* XOR-MAPPED-ADDRESS: unknown family, v4 family with v6 length. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x20\x00\x08"
	                         "\x00\x03\x00\x01"
	                         "abcd",
	        12);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x20\x00\x14"
	                         "\x00\x01\x00\x01"
	                         "abcdefghijklmnop",
	        24);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* ERROR-CODE with class 2 / number 100. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x09\x00\x04"
	                         "\x00\x00\x02\x00",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x09\x00\x04"
	                         "\x00\x00\x04\x64",
	        8);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* Both roles at once. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x80\x29\x00\x08"
	                         "12345678"
	                         "\x80\x2a\x00\x08"
	                         "12345678",
	        24);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* FINGERPRINT not last. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x80\x28\x00\x04"
	                         "1234"
	                         "\x00\x25\x00\x00",
	        12);
	ck_assert_int_eq(stun_parse(buf, n, &m), LK_EINVAL);
	/* USERNAME over the limit (516 bytes), and at it (512). */
	{
		uint8_t a[4 + 516], big[20 + sizeof(a)];

		a[0] = 0x00;
		a[1] = 0x06;
		a[2] = 0x02;
		a[3] = 0x04;
		memset(a + 4, 'u', 516);
		n = raw_msg(big, a, sizeof(a));
		ck_assert_int_eq(stun_parse(big, n, &m), LK_EINVAL);
		a[3] = 0x00;
		n = raw_msg(big, a, 4 + 512);
		ck_assert_int_eq(stun_parse(big, n, &m), 0);
		ck_assert_uint_eq(m.username_len, 512);
	}
}
END_TEST

START_TEST(test_unknown_and_after_integrity)
{
	struct stun_msg m;
	uint8_t buf[256];
	size_t n;

	/* Two comprehension-required unknowns, one optional unknown. */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x33\x00\x00"
	                         "\x7f\xff\x00\x01"
	                         "x\0\0\0"
	                         "\x80\x99\x00\x00",
	        16);
	ck_assert_int_eq(stun_parse(buf, n, &m), 0);
	ck_assert_int_eq(m.n_unknown, 2);
	ck_assert_uint_eq(m.unknown[0], 0x0033);
	ck_assert_uint_eq(m.unknown[1], 0x7fff);
	ck_assert_int_eq(stun_check_integrity(&m, "k", 1), LK_ENOTFOUND);
	ck_assert_int_eq(stun_check_fingerprint(&m), LK_ENOTFOUND);

	/* A PRIORITY after MESSAGE-INTEGRITY is ignored (RFC 8489 §14.5). */
	n = raw_msg(buf,
	        (const uint8_t *)"\x00\x08\x00\x14"
	                         "0123456789abcdefghij"
	                         "\x00\x24\x00\x04"
	                         "\x00\x00\x00\x07",
	        32);
	ck_assert_int_eq(stun_parse(buf, n, &m), 0);
	ck_assert(m.flags & STUN_F_INTEGRITY);
	ck_assert(!(m.flags & STUN_F_PRIORITY));
	ck_assert_int_eq(m.integrity_off, 20);
	ck_assert_int_eq(stun_check_integrity(&m, "k", 1), LK_EAUTH);
}
END_TEST

START_TEST(test_build_request_roundtrip)
{
	uint8_t buf[256], tid[STUN_TID_LEN];
	struct stun_binding_req r;
	struct stun_msg m;
	int n, controlling;

	memset(tid, 0x5a, sizeof(tid));
	for (controlling = 0; controlling <= 1; controlling++) {
		memset(&r, 0, sizeof(r));
		r.tid = tid;
		r.username = "remoteUfrag:loc1";
		r.password = "theRemotePasswordIs22+";
		r.priority = 0x6e7f00ffu;
		r.controlling = controlling;
		r.tie_breaker = 0x0102030405060708ull;
		r.use_candidate = controlling;
		n = stun_build_binding_request(buf, sizeof(buf), &r);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(n % 4, 0);
		ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
		ck_assert_uint_eq(m.type, STUN_BINDING_REQUEST);
		ck_assert(memcmp(m.tid, tid, STUN_TID_LEN) == 0);
		ck_assert_int_eq(stun_check_username(&m, "remoteUfrag", "loc1"), 0);
		ck_assert_uint_eq(m.priority, r.priority);
		ck_assert(m.tie_breaker == r.tie_breaker);
		ck_assert_int_eq(!!(m.flags & STUN_F_CONTROLLING), controlling);
		ck_assert_int_eq(!!(m.flags & STUN_F_CONTROLLED), !controlling);
		ck_assert_int_eq(!!(m.flags & STUN_F_USE_CANDIDATE), controlling);
		ck_assert_int_eq(stun_check_integrity(&m, r.password, strlen(r.password)), 0);
		ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	}
}
END_TEST

START_TEST(test_build_success_roundtrip)
{
	uint8_t buf[128];
	struct stun_addr a, b;
	struct stun_msg m;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int n;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(53237);
	inet_pton(AF_INET, "10.77.0.1", &s4.sin_addr);
	ck_assert_int_eq(stun_addr_from_sockaddr(&a, (struct sockaddr *)&s4), 0);
	n = stun_build_binding_success(buf, sizeof(buf), tid_rfc, &a, "pwd");
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
	ck_assert_uint_eq(m.type, STUN_BINDING_SUCCESS);
	ck_assert_int_eq(m.xor_mapped.family, 4);
	ck_assert_uint_eq(m.xor_mapped.port, 53237);
	ck_assert(memcmp(m.xor_mapped.addr, &s4.sin_addr, 4) == 0);
	ck_assert_int_eq(stun_check_integrity(&m, "pwd", 3), 0);
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);

	/* The RFC 5769 address encodes to the RFC's X-Port / X-Address. */
	memset(&b, 0, sizeof(b));
	b.family = 4;
	b.port = 32853;
	memcpy(b.addr, "\xc0\x00\x02\x01", 4);
	n = stun_build_binding_success(buf, sizeof(buf), tid_rfc, &b, rfc5769_password);
	ck_assert_int_gt(n, 0);
	ck_assert(memcmp(buf + 24, "\x00\x01\xa1\x47\xe1\x12\xa6\x43", 8) == 0);

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(41349);
	inet_pton(AF_INET6, "fd00:77::1", &s6.sin6_addr);
	ck_assert_int_eq(stun_addr_from_sockaddr(&a, (struct sockaddr *)&s6), 0);
	n = stun_build_binding_success(buf, sizeof(buf), tid_rfc, &a, "pwd");
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
	ck_assert_int_eq(m.xor_mapped.family, 6);
	ck_assert_uint_eq(m.xor_mapped.port, 41349);
	ck_assert(memcmp(m.xor_mapped.addr, &s6.sin6_addr, 16) == 0);
	ck_assert_int_eq(stun_check_integrity(&m, "pwd", 3), 0);
	memset(&s6, 0xee, sizeof(s6));
	ck_assert_int_eq(
	        stun_addr_to_sockaddr(&m.xor_mapped, (struct sockaddr *)&s6, sizeof(s6)), 0);
	ck_assert_int_eq(s6.sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(s6.sin6_port), 41349);
	ck_assert_int_eq(stun_addr_to_sockaddr(&m.xor_mapped, (struct sockaddr *)&s4, sizeof(s4)),
	        LK_EINVAL);
	a.family = 5;
	ck_assert_int_eq(
	        stun_build_binding_success(buf, sizeof(buf), tid_rfc, &a, "pwd"), LK_EINVAL);
}
END_TEST

START_TEST(test_build_errors)
{
	static const int codes[] = {400, 401, 487};
	static const uint16_t unk[] = {0x0033, 0x7fff};
	uint8_t buf[256];
	struct stun_msg m;
	size_t i;
	int n;

	for (i = 0; i < 3; i++) {
		n = stun_build_binding_error(buf, sizeof(buf), tid_rfc, codes[i], "pwd", NULL, 0);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
		ck_assert_uint_eq(m.type, STUN_BINDING_ERROR);
		ck_assert_int_eq(m.cls, STUN_CLASS_ERROR);
		ck_assert_int_eq(m.error_code, codes[i]);
		ck_assert_uint_eq(m.error_reason_len, strlen(stun_error_reason(codes[i])));
		ck_assert(memcmp(m.error_reason, stun_error_reason(codes[i]), m.error_reason_len) ==
		        0);
		ck_assert_int_eq(stun_check_integrity(&m, "pwd", 3), 0);
		ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	}
	/* 401 without credentials, 420 listing the unknown attributes. */
	n = stun_build_binding_error(buf, sizeof(buf), tid_rfc, 401, NULL, NULL, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
	ck_assert(!(m.flags & STUN_F_INTEGRITY));
	ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	n = stun_build_binding_error(buf, sizeof(buf), tid_rfc, 420, "pwd", unk, 2);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stun_parse(buf, (size_t)n, &m), 0);
	ck_assert_int_eq(m.error_code, 420);
	ck_assert_int_eq(stun_check_integrity(&m, "pwd", 3), 0);
	ck_assert_int_eq(
	        stun_build_binding_error(buf, sizeof(buf), tid_rfc, 200, NULL, NULL, 0), LK_EINVAL);
	ck_assert_int_eq(
	        stun_build_binding_error(buf, sizeof(buf), tid_rfc, 420, NULL, NULL, 9), LK_EINVAL);
}
END_TEST

/* A builder never writes past the capacity it was given. */
START_TEST(test_builder_capacity)
{
	uint8_t buf[256];
	struct stun_binding_req r;
	struct stun_addr a;
	size_t cap;
	int full, n;

	memset(&r, 0, sizeof(r));
	r.tid = tid_rfc;
	r.username = "a:b";
	r.password = "p";
	full = stun_build_binding_request(buf, sizeof(buf), &r);
	ck_assert_int_gt(full, 0);
	for (cap = 0; cap < (size_t)full; cap++) {
		memset(buf, 0xcc, sizeof(buf));
		n = stun_build_binding_request(buf, cap, &r);
		ck_assert_int_eq(n, LK_ETOOBIG);
		ck_assert_uint_eq(buf[cap], 0xcc);
	}
	ck_assert_int_eq(stun_build_binding_request(buf, (size_t)full, &r), full);
	memset(&a, 0, sizeof(a));
	a.family = 6;
	full = stun_build_binding_success(buf, sizeof(buf), tid_rfc, &a, "p");
	for (cap = 0; cap < (size_t)full; cap++) {
		memset(buf, 0xcc, sizeof(buf));
		ck_assert_int_eq(
		        stun_build_binding_success(buf, cap, tid_rfc, &a, "p"), LK_ETOOBIG);
		ck_assert_uint_eq(buf[cap], 0xcc);
	}
	r.username = "";
	ck_assert_int_eq(stun_build_binding_request(buf, sizeof(buf), &r), LK_EINVAL);
}
END_TEST

START_TEST(test_writer_rules)
{
	struct stun_writer w;
	uint8_t buf[128];

	stun_w_begin(&w, buf, sizeof(buf), STUN_BINDING_INDICATION, tid_rfc);
	stun_w_fingerprint(&w);
	ck_assert_int_eq(stun_w_finish(&w), 28);
	/* Nothing may follow FINGERPRINT. */
	stun_w_u32(&w, STUN_ATTR_PRIORITY, 1);
	ck_assert_int_eq(stun_w_finish(&w), LK_EINVAL);
	/* Top bits of the type must be zero. */
	stun_w_begin(&w, buf, sizeof(buf), 0xC001, tid_rfc);
	ck_assert_int_eq(stun_w_finish(&w), LK_EINVAL);
	/* Odd-length values are zero padded. */
	stun_w_begin(&w, buf, sizeof(buf), STUN_BINDING_REQUEST, tid_rfc);
	stun_w_attr(&w, STUN_ATTR_USERNAME, "abcde", 5);
	ck_assert_int_eq(stun_w_finish(&w), 32);
	ck_assert(memcmp(buf + 24, "abcde\0\0\0", 8) == 0);
	ck_assert_uint_eq(buf[3], 12);
}
END_TEST

static Suite *
stun_suite(void)
{
	Suite *s = suite_create("stun");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_crc32);
	tcase_add_test(tc, test_rfc5769_request);
	tcase_add_test(tc, test_rfc5769_responses);
	tcase_add_test(tc, test_libwebrtc_request);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_bit_flips_detected);
	tcase_add_test(tc, test_header_errors);
	tcase_add_test(tc, test_attribute_errors);
	tcase_add_test(tc, test_unknown_and_after_integrity);
	tcase_add_test(tc, test_build_request_roundtrip);
	tcase_add_test(tc, test_build_success_roundtrip);
	tcase_add_test(tc, test_build_errors);
	tcase_add_test(tc, test_builder_capacity);
	tcase_add_test(tc, test_writer_rules);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stun_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
