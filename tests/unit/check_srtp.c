/*
 * check_srtp: unit tests for src/rtc/srtp.c and srtp_crypto.c: RTP and
 * RTCP round trips in both directions for every profile, tampering,
 * duplicates, reordering, capacity and length checks, an independent
 * RFC 3711 computation (OpenSSL AES-CTR + HMAC-SHA1) that pins the key
 * layout and direction, the RFC 3711 Appendix B vectors on the AES-CM
 * transform, byte-for-byte equality with libsrtp2's stock transforms, and
 * no allocation per packet.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>

#include "common/err.h"
#include "common/util.h"
#include "../common/alloc_count.h"
#include "rtc/srtp.h"
#include "rtc/srtp_crypto.h"

struct profile_case {
	enum rtc_srtp_profile id;
	size_t key_len, salt_len, rtp_trailer, rtcp_trailer;
};

static const struct profile_case profiles[] = {
        {RTC_SRTP_AES128_CM_SHA1_80, 16, 14, 10, 14},
        {RTC_SRTP_AEAD_AES_128_GCM, 16, 12, 16, 20},
        {RTC_SRTP_AEAD_AES_256_GCM, 32, 12, 16, 20},
};

#define NPROFILES ((int)(sizeof(profiles) / sizeof(profiles[0])))

static void
make_keys(struct rtc_srtp_keys *k, const struct profile_case *pc)
{
	memset(k, 0, sizeof(*k));
	k->profile = pc->id;
	k->key_len = pc->key_len;
	k->salt_len = pc->salt_len;
	ck_assert_int_eq(lk_random(k->client_key, sizeof(k->client_key)), 0);
	ck_assert_int_eq(lk_random(k->server_key, sizeof(k->server_key)), 0);
	ck_assert_int_eq(lk_random(k->client_salt, sizeof(k->client_salt)), 0);
	ck_assert_int_eq(lk_random(k->server_salt, sizeof(k->server_salt)), 0);
}

/* An Opus-like RTP packet: V=2, PT 111, one-byte extension block, payload. */
static size_t
make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
	static const uint8_t ext[] = {0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00};
	size_t i;

	buf[0] = 0x90;
	buf[1] = 111;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[4] = 0;
	buf[5] = 0;
	buf[6] = (uint8_t)(seq >> 4);
	buf[7] = (uint8_t)(seq << 4);
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;
	memcpy(buf + 12, ext, sizeof(ext));
	for (i = 0; i < payload; i++)
		buf[20 + i] = (uint8_t)(i * 7 + seq);
	return 20 + payload;
}

/* A sender report without report blocks (RFC 3550 §6.4.1), 28 bytes. */
static size_t
make_sr(uint8_t *buf, uint32_t ssrc, uint32_t n)
{
	memset(buf, 0, 28);
	buf[0] = 0x80;
	buf[1] = 200;
	buf[3] = 6;
	buf[4] = (uint8_t)(ssrc >> 24);
	buf[5] = (uint8_t)(ssrc >> 16);
	buf[6] = (uint8_t)(ssrc >> 8);
	buf[7] = (uint8_t)ssrc;
	buf[8] = (uint8_t)n;
	buf[20] = (uint8_t)(n * 3);
	return 28;
}

/* Protect on one side, unprotect on the other, compare. */
static void
roundtrip_rtp(
        struct rtc_srtp *from, struct rtc_srtp *to, uint16_t seq, uint32_t ssrc, size_t trailer)
{
	uint8_t orig[300], buf[300 + 32];
	size_t n = make_rtp(orig, seq, ssrc, 160), len = n;

	memcpy(buf, orig, n);
	ck_assert_int_eq(rtc_srtp_protect_rtp(from, buf, &len, sizeof(buf)), 0);
	ck_assert_uint_eq(len, n + trailer);
	ck_assert(memcmp(buf, orig, 12) == 0); /* header in the clear */
	ck_assert(memcmp(buf + 20, orig + 20, 160) != 0); /* payload encrypted */
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(to, buf, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert(memcmp(buf, orig, n) == 0);
}

static void
roundtrip_rtcp(
        struct rtc_srtp *from, struct rtc_srtp *to, uint32_t ssrc, uint32_t i, size_t trailer)
{
	uint8_t orig[28], buf[28 + 32];
	size_t n = make_sr(orig, ssrc, i), len = n;

	memcpy(buf, orig, n);
	ck_assert_int_eq(rtc_srtp_protect_rtcp(from, buf, &len, sizeof(buf)), 0);
	ck_assert_uint_eq(len, n + trailer);
	ck_assert(memcmp(buf, orig, 8) == 0); /* RFC 3711 §3.4: first 8 bytes clear */
	ck_assert(memcmp(buf + 8, orig + 8, 20) != 0);
	ck_assert_int_eq(rtc_srtp_unprotect_rtcp(to, buf, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert(memcmp(buf, orig, n) == 0);
}

START_TEST(test_roundtrip)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *client, *server;
	uint16_t seq;
	uint32_t i;

	make_keys(&k, pc);
	client = rtc_srtp_new(&k, 1);
	server = rtc_srtp_new(&k, 0);
	ck_assert_ptr_nonnull(client);
	ck_assert_ptr_nonnull(server);
	ck_assert_uint_eq(rtc_srtp_trailer(client, 0), pc->rtp_trailer);
	ck_assert_uint_eq(rtc_srtp_trailer(client, 1), pc->rtcp_trailer);
	ck_assert_uint_le(pc->rtp_trailer, RTC_SRTP_MAX_TRAILER);
	ck_assert_uint_le(pc->rtcp_trailer, RTC_SRTCP_MAX_TRAILER);
	/* Through the 16-bit sequence wrap (the rollover counter moves). */
	for (seq = 65530, i = 0; i < 12; seq++, i++) {
		roundtrip_rtp(client, server, seq, 0x11223344, pc->rtp_trailer);
		roundtrip_rtp(server, client, (uint16_t)(seq + 1000), 0x55667788, pc->rtp_trailer);
		/* A second SSRC each way (any-SSRC sessions). */
		roundtrip_rtp(client, server, (uint16_t)(seq * 3), 0x0a0b0c0d, pc->rtp_trailer);
	}
	for (i = 0; i < 5; i++) {
		roundtrip_rtcp(client, server, 0x11223344, i, pc->rtcp_trailer);
		roundtrip_rtcp(server, client, 0x55667788, i, pc->rtcp_trailer);
	}
	rtc_srtp_free(client);
	rtc_srtp_free(server);
}
END_TEST

/* Each direction has its own key: a side cannot open what it sent itself. */
START_TEST(test_directions_differ)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *client, *client2;
	uint8_t buf[300];
	size_t len;

	make_keys(&k, pc);
	client = rtc_srtp_new(&k, 1);
	client2 = rtc_srtp_new(&k, 1);
	ck_assert_ptr_nonnull(client);
	ck_assert_ptr_nonnull(client2);
	len = make_rtp(buf, 1, 42, 100);
	ck_assert_int_eq(rtc_srtp_protect_rtp(client, buf, &len, sizeof(buf)), 0);
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(client2, buf, &len), LK_EAUTH);
	len = make_sr(buf, 42, 1);
	ck_assert_int_eq(rtc_srtp_protect_rtcp(client, buf, &len, sizeof(buf)), 0);
	ck_assert_int_eq(rtc_srtp_unprotect_rtcp(client2, buf, &len), LK_EAUTH);
	rtc_srtp_free(client);
	rtc_srtp_free(client2);
}
END_TEST

/* Any flipped bit fails authentication; the untouched packet still opens afterwards. */
START_TEST(test_tamper)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *tx, *rx;
	uint8_t prot[300], buf[300];
	size_t plen, len, pos;
	int rtcp;

	make_keys(&k, pc);
	tx = rtc_srtp_new(&k, 0);
	rx = rtc_srtp_new(&k, 1);
	ck_assert_ptr_nonnull(tx);
	ck_assert_ptr_nonnull(rx);
	for (rtcp = 0; rtcp < 2; rtcp++) {
		plen = rtcp ? make_sr(prot, 7, 1) : make_rtp(prot, 100, 7, 80);
		if (rtcp)
			ck_assert_int_eq(rtc_srtp_protect_rtcp(tx, prot, &plen, sizeof(prot)), 0);
		else
			ck_assert_int_eq(rtc_srtp_protect_rtp(tx, prot, &plen, sizeof(prot)), 0);
		/* Header bytes, payload and tag (the SRTCP E flag selects decryption, skip it). */
		for (pos = 1; pos < plen; pos += 3) {
			memcpy(buf, prot, plen);
			len = plen;
			buf[pos] ^= 0x10;
			if (rtcp)
				ck_assert_int_lt(rtc_srtp_unprotect_rtcp(rx, buf, &len), 0);
			else
				ck_assert_int_lt(rtc_srtp_unprotect_rtp(rx, buf, &len), 0);
		}
		memcpy(buf, prot, plen);
		len = plen;
		buf[plen - 1] ^= 1;
		if (rtcp)
			ck_assert_int_eq(rtc_srtp_unprotect_rtcp(rx, buf, &len), LK_EAUTH);
		else
			ck_assert_int_eq(rtc_srtp_unprotect_rtp(rx, buf, &len), LK_EAUTH);
		memcpy(buf, prot, plen);
		len = plen;
		if (rtcp)
			ck_assert_int_eq(rtc_srtp_unprotect_rtcp(rx, buf, &len), 0);
		else
			ck_assert_int_eq(rtc_srtp_unprotect_rtp(rx, buf, &len), 0);
	}
	rtc_srtp_free(tx);
	rtc_srtp_free(rx);
}
END_TEST

/* Late packets inside the window open; an exact duplicate is refused apart from auth failures. */
START_TEST(test_reorder_and_duplicates)
{
	const struct profile_case *pc = &profiles[_i];
	static const int order[] = {9, 3, 0, 7, 1, 8, 2, 6, 4, 5};
	uint8_t pkts[10][300], buf[300];
	size_t lens[10], len;
	struct rtc_srtp_keys k;
	struct rtc_srtp *tx, *rx;
	int i;

	make_keys(&k, pc);
	tx = rtc_srtp_new(&k, 1);
	rx = rtc_srtp_new(&k, 0);
	ck_assert_ptr_nonnull(tx);
	ck_assert_ptr_nonnull(rx);
	for (i = 0; i < 10; i++) {
		lens[i] = make_rtp(pkts[i], (uint16_t)(500 + i * 50), 99, 60);
		ck_assert_int_eq(rtc_srtp_protect_rtp(tx, pkts[i], &lens[i], sizeof(pkts[i])), 0);
	}
	for (i = 0; i < 10; i++) {
		memcpy(buf, pkts[order[i]], lens[order[i]]);
		len = lens[order[i]];
		ck_assert_int_eq(rtc_srtp_unprotect_rtp(rx, buf, &len), 0);
	}
	memcpy(buf, pkts[4], lens[4]);
	len = lens[4];
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(rx, buf, &len), LK_EAGAIN);
	/* A retransmission with the same sequence number and payload protects again. */
	len = make_rtp(buf, 950, 99, 60);
	ck_assert_int_eq(rtc_srtp_protect_rtp(tx, buf, &len, sizeof(buf)), 0);
	ck_assert_uint_eq(len, lens[9]);
	ck_assert(memcmp(buf, pkts[9], len) == 0);

	len = make_sr(buf, 99, 1);
	ck_assert_int_eq(rtc_srtp_protect_rtcp(tx, buf, &len, sizeof(buf)), 0);
	memcpy(pkts[0], buf, len);
	lens[0] = len;
	ck_assert_int_eq(rtc_srtp_unprotect_rtcp(rx, buf, &len), 0);
	memcpy(buf, pkts[0], lens[0]);
	len = lens[0];
	ck_assert_int_eq(rtc_srtp_unprotect_rtcp(rx, buf, &len), LK_EAGAIN);
	rtc_srtp_free(tx);
	rtc_srtp_free(rx);
}
END_TEST

START_TEST(test_lengths_and_capacity)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *tx, *rx;
	uint8_t buf[300], copy[300];
	size_t len, n;

	make_keys(&k, pc);
	tx = rtc_srtp_new(&k, 1);
	rx = rtc_srtp_new(&k, 0);
	ck_assert_ptr_nonnull(tx);
	ck_assert_ptr_nonnull(rx);
	n = make_rtp(buf, 1, 5, 40);
	memcpy(copy, buf, n);
	len = n;
	ck_assert_int_eq(rtc_srtp_protect_rtp(tx, buf, &len, n + pc->rtp_trailer - 1), LK_ETOOBIG);
	ck_assert_uint_eq(len, n);
	ck_assert(memcmp(buf, copy, n) == 0);
	ck_assert_int_eq(rtc_srtp_protect_rtp(tx, buf, &len, n - 1), LK_ETOOBIG);
	len = 11;
	ck_assert_int_eq(rtc_srtp_protect_rtp(tx, buf, &len, sizeof(buf)), LK_EINVAL);
	len = n;
	ck_assert_int_eq(rtc_srtp_protect_rtp(tx, buf, &len, n + pc->rtp_trailer), 0);

	n = make_sr(buf, 5, 1);
	len = n;
	ck_assert_int_eq(
	        rtc_srtp_protect_rtcp(tx, buf, &len, n + pc->rtcp_trailer - 1), LK_ETOOBIG);
	len = 7;
	ck_assert_int_eq(rtc_srtp_protect_rtcp(tx, buf, &len, sizeof(buf)), LK_EINVAL);
	len = n;
	ck_assert_int_eq(rtc_srtp_protect_rtcp(tx, buf, &len, n + pc->rtcp_trailer), 0);

	/* Too short to hold a header and a tag. */
	len = 12 + pc->rtp_trailer - 1;
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(rx, buf, &len), LK_EINVAL);
	len = 8 + pc->rtcp_trailer - 1;
	ck_assert_int_eq(rtc_srtp_unprotect_rtcp(rx, buf, &len), LK_EINVAL);
	/* Garbage of a plausible length fails cleanly. */
	memset(buf, 0x80, sizeof(buf));
	len = 100;
	ck_assert_int_lt(rtc_srtp_unprotect_rtp(rx, buf, &len), 0);
	len = 100;
	ck_assert_int_lt(rtc_srtp_unprotect_rtcp(rx, buf, &len), 0);
	ck_assert_int_eq(rtc_srtp_protect_rtp(NULL, buf, &len, sizeof(buf)), LK_EINVAL);
	rtc_srtp_free(tx);
	rtc_srtp_free(rx);
	rtc_srtp_free(NULL);
}
END_TEST

START_TEST(test_bad_keys)
{
	struct rtc_srtp_keys k;

	make_keys(&k, &profiles[0]);
	ck_assert_ptr_null(rtc_srtp_new(NULL, 1));
	k.profile = RTC_SRTP_NONE;
	ck_assert_ptr_null(rtc_srtp_new(&k, 1));
	k.profile = (enum rtc_srtp_profile)0x0002; /* SRTP_AES128_CM_SHA1_32: not offered */
	ck_assert_ptr_null(rtc_srtp_new(&k, 1));
	k.profile = RTC_SRTP_AES128_CM_SHA1_80;
	k.salt_len = 12;
	ck_assert_ptr_null(rtc_srtp_new(&k, 1));
	k.profile = RTC_SRTP_AEAD_AES_128_GCM;
	k.key_len = 32;
	ck_assert_ptr_null(rtc_srtp_new(&k, 1));
}
END_TEST

/* ---- RFC 3711 by hand, for SRTP_AES128_CM_HMAC_SHA1_80 ---- */

static void
ref_aes_ctr(const uint8_t key[16], const uint8_t iv[16], uint8_t *data, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int out = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(c, data, &out, data, (int)len), 1);
	ck_assert_int_eq(out, (int)len);
	EVP_CIPHER_CTX_free(c);
}

/* §4.3.1 with key_derivation_rate 0: x = label << 48 XOR master salt, AES-CM keystream. */
static void
ref_kdf(const uint8_t mkey[16], const uint8_t msalt[14], uint8_t label, uint8_t *out, size_t n)
{
	uint8_t iv[16];

	memset(iv, 0, sizeof(iv));
	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	memset(out, 0, n);
	ref_aes_ctr(mkey, iv, out, n);
}

/* §4.1.1: IV = k_s * 2^16 XOR SSRC * 2^64 XOR index * 2^16. */
static void
ref_iv(uint8_t iv[16], const uint8_t salt[14], const uint8_t ssrc[4], uint64_t index)
{
	int i;

	memset(iv, 0, 16);
	memcpy(iv, salt, 14);
	for (i = 0; i < 4; i++)
		iv[4 + i] ^= ssrc[i];
	for (i = 0; i < 6; i++)
		iv[13 - i] ^= (uint8_t)(index >> (8 * i));
}

/* Protect one RTP packet (ROC 0) or RTCP packet (index given) the RFC 3711 way. */
static size_t
ref_protect(const uint8_t mkey[16], const uint8_t msalt[14], int rtcp, uint8_t *pkt, size_t len,
        size_t hdr, uint32_t srtcp_index)
{
	uint8_t ke[16], ka[20], ks[14], iv[16], mac[20];
	uint8_t roc[4] = {0, 0, 0, 0};
	unsigned int maclen = 0;
	uint8_t *m;
	size_t mlen;

	ref_kdf(mkey, msalt, rtcp ? 3 : 0, ke, sizeof(ke));
	ref_kdf(mkey, msalt, rtcp ? 4 : 1, ka, sizeof(ka));
	ref_kdf(mkey, msalt, rtcp ? 5 : 2, ks, sizeof(ks));
	ref_iv(iv, ks, pkt + (rtcp ? 4 : 8), rtcp ? srtcp_index : ((uint64_t)pkt[2] << 8 | pkt[3]));
	ref_aes_ctr(ke, iv, pkt + hdr, len - hdr);
	if (rtcp) {
		/* §3.4: E flag (encrypted) and the 31-bit SRTCP index, authenticated. */
		pkt[len] = (uint8_t)(0x80 | srtcp_index >> 24);
		pkt[len + 1] = (uint8_t)(srtcp_index >> 16);
		pkt[len + 2] = (uint8_t)(srtcp_index >> 8);
		pkt[len + 3] = (uint8_t)srtcp_index;
		len += 4;
		m = pkt;
		mlen = len;
	} else {
		/* §4.2: the tag covers the packet and the ROC. */
		m = malloc(len + 4);
		ck_assert_ptr_nonnull(m);
		memcpy(m, pkt, len);
		memcpy(m + len, roc, 4);
		mlen = len + 4;
	}
	ck_assert_ptr_nonnull(HMAC(EVP_sha1(), ka, sizeof(ka), m, mlen, mac, &maclen));
	ck_assert_uint_eq(maclen, 20);
	if (m != pkt)
		free(m);
	memcpy(pkt + len, mac, 10);
	return len + 10;
}

START_TEST(test_rfc3711_reference)
{
	struct rtc_srtp_keys k;
	struct rtc_srtp *s;
	uint8_t ours[300], ref[300];
	size_t olen, rlen, n;
	uint32_t idx;
	int client = _i;

	make_keys(&k, &profiles[0]);
	s = rtc_srtp_new(&k, client);
	ck_assert_ptr_nonnull(s);

	n = make_rtp(ours, 4242, 0xcafebabe, 160);
	memcpy(ref, ours, n);
	olen = n;
	ck_assert_int_eq(rtc_srtp_protect_rtp(s, ours, &olen, sizeof(ours)), 0);
	rlen = ref_protect(client ? k.client_key : k.server_key,
	        client ? k.client_salt : k.server_salt, 0, ref, n, 20, 0);
	ck_assert_uint_eq(olen, rlen);
	ck_assert(memcmp(ours, ref, rlen) == 0);

	n = make_sr(ours, 0xcafebabe, 9);
	memcpy(ref, ours, n);
	olen = n;
	ck_assert_int_eq(rtc_srtp_protect_rtcp(s, ours, &olen, sizeof(ours)), 0);
	ck_assert_uint_eq(olen, n + 14);
	ck_assert(ours[n] & 0x80);
	idx = ((uint32_t)(ours[n] & 0x7f) << 24) | (uint32_t)ours[n + 1] << 16 |
	        (uint32_t)ours[n + 2] << 8 | ours[n + 3];
	rlen = ref_protect(client ? k.client_key : k.server_key,
	        client ? k.client_salt : k.server_salt, 1, ref, n, 8, idx);
	ck_assert_uint_eq(olen, rlen);
	ck_assert(memcmp(ours, ref, rlen) == 0);
	rtc_srtp_free(s);
}
END_TEST

/* ---- The OpenSSL transforms against libsrtp2's stock ones ---- */

/* Fixed keys, so that the stock output computed in main() can be compared. */
static void
fixed_keys(struct rtc_srtp_keys *k, const struct profile_case *pc)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	k->profile = pc->id;
	k->key_len = pc->key_len;
	k->salt_len = pc->salt_len;
	for (i = 0; i < sizeof(k->client_key); i++) {
		k->client_key[i] = (uint8_t)(0x11 * i + 3);
		k->server_key[i] = (uint8_t)(0xa5 ^ (7 * i));
	}
	for (i = 0; i < sizeof(k->client_salt); i++) {
		k->client_salt[i] = (uint8_t)(0xc0 + i);
		k->server_salt[i] = (uint8_t)(0x3c * i + 1);
	}
}

#define NREF 16
#define REF_MAX 1100

/* Packets the client sends: RTP of several sizes on two SSRCs across the sequence wrap, then RTCP.
 */
struct ref_pkt {
	int rtcp;
	size_t plain_len, prot_len;
	uint8_t plain[REF_MAX];
	uint8_t prot[REF_MAX + 32];
};

static struct ref_pkt refs[NPROFILES][NREF];
static int refs_ready;

static size_t
ref_plain(uint8_t *buf, int i)
{
	static const size_t payload[] = {0, 1, 15, 16, 17, 31, 160, 1000, 333, 48};
	size_t n, j;

	if (i < 10) {
		n = make_rtp(
		        buf, (uint16_t)(65531 + i), i % 2 ? 0x0badcafe : 0x12345678, payload[i]);
		return n;
	}
	/* RTCP: a sender report, then longer compound-looking bodies. */
	n = make_sr(buf, i % 2 ? 0x0badcafe : 0x12345678, (uint32_t)i);
	if (i >= 12) {
		for (j = n; j < n + (size_t)(i - 11) * 37; j++)
			buf[j] = (uint8_t)(j * 13 + i);
		n += (size_t)(i - 11) * 37;
	}
	return n;
}

/* Stock libsrtp2, configured independently of srtp.c: the client's outbound session. */
static void
ref_compute(void)
{
	uint8_t master[32 + 14];
	struct rtc_srtp_keys k;
	srtp_policy_t pol;
	srtp_t s;
	int p, i, n;

	if (srtp_init() != srtp_err_status_ok)
		return;
	for (p = 0; p < NPROFILES; p++) {
		fixed_keys(&k, &profiles[p]);
		memset(&pol, 0, sizeof(pol));
		if (profiles[p].id == RTC_SRTP_AES128_CM_SHA1_80) {
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
		} else if (profiles[p].id == RTC_SRTP_AEAD_AES_128_GCM) {
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
			srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
		} else {
			srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtp);
			srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtcp);
		}
		memcpy(master, k.client_key, k.key_len);
		memcpy(master + k.key_len, k.client_salt, k.salt_len);
		pol.ssrc.type = ssrc_any_outbound;
		pol.key = master;
		pol.window_size = 1024;
		if (srtp_create(&s, &pol) != srtp_err_status_ok)
			return;
		for (i = 0; i < NREF; i++) {
			struct ref_pkt *r = &refs[p][i];

			r->rtcp = i >= 10;
			r->plain_len = ref_plain(r->plain, i);
			memcpy(r->prot, r->plain, r->plain_len);
			n = (int)r->plain_len;
			if ((r->rtcp ? srtp_protect_rtcp(s, r->prot, &n)
			             : srtp_protect(s, r->prot, &n)) != srtp_err_status_ok)
				return;
			r->prot_len = (size_t)n;
		}
		srtp_dealloc(s);
	}
	/* Back to nothing, so that srtp.c's own set-up starts afresh. */
	if (srtp_shutdown() != srtp_err_status_ok)
		return;
	refs_ready = 1;
}

/* Our transforms produce the stock bytes, and open what the stock ones sealed. */
START_TEST(test_same_bytes_as_stock)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *client, *server;
	uint8_t buf[REF_MAX + 32];
	size_t len;
	int i;

	ck_assert_msg(refs_ready, "stock libsrtp2 reference not computed");
	fixed_keys(&k, pc);
	client = rtc_srtp_new(&k, 1);
	server = rtc_srtp_new(&k, 0);
	ck_assert_ptr_nonnull(client);
	ck_assert_ptr_nonnull(server);
	for (i = 0; i < NREF; i++) {
		const struct ref_pkt *r = &refs[_i][i];

		ck_assert_uint_eq(
		        r->prot_len, r->plain_len + (r->rtcp ? pc->rtcp_trailer : pc->rtp_trailer));
		memcpy(buf, r->plain, r->plain_len);
		len = r->plain_len;
		if (r->rtcp)
			ck_assert_int_eq(rtc_srtp_protect_rtcp(client, buf, &len, sizeof(buf)), 0);
		else
			ck_assert_int_eq(rtc_srtp_protect_rtp(client, buf, &len, sizeof(buf)), 0);
		ck_assert_uint_eq(len, r->prot_len);
		ck_assert_msg(memcmp(buf, r->prot, len) == 0, "packet %d differs from stock", i);

		/*
		 * The stock packet with one bit of its tag flipped does not open
		 * (tried first: once the real one is in, a copy is a duplicate).
		 * The tag ends the packet, except for GCM SRTCP where the E|index
		 * word follows it (RFC 7714 §9.1): byte len - 5 is in the tag.
		 */
		memcpy(buf, r->prot, r->prot_len);
		len = r->prot_len;
		buf[len - 5] ^= 0x40;
		if (r->rtcp)
			ck_assert_int_eq(rtc_srtp_unprotect_rtcp(server, buf, &len), LK_EAUTH);
		else
			ck_assert_int_eq(rtc_srtp_unprotect_rtp(server, buf, &len), LK_EAUTH);

		memcpy(buf, r->prot, r->prot_len);
		len = r->prot_len;
		if (r->rtcp)
			ck_assert_int_eq(rtc_srtp_unprotect_rtcp(server, buf, &len), 0);
		else
			ck_assert_int_eq(rtc_srtp_unprotect_rtp(server, buf, &len), 0);
		ck_assert_uint_eq(len, r->plain_len);
		ck_assert(memcmp(buf, r->plain, len) == 0);
	}
	rtc_srtp_free(client);
	rtc_srtp_free(server);
}
END_TEST

/* Keystream from the AES-ICM transform after iv: the counter block is salt XOR iv. */
static void
icm_output(const srtp_cipher_type_t *ct, const uint8_t *key, int key_len, const uint8_t iv[16],
        uint8_t *out, uint32_t n)
{
	srtp_cipher_t *c = NULL;
	uint8_t v[16];

	memcpy(v, iv, sizeof(v));
	ck_assert_int_eq(srtp_cipher_type_alloc(ct, &c, key_len, 0), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_init(c, key), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_set_iv(c, v, srtp_direction_encrypt), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_output(c, out, &n), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

static void
unhex(uint8_t *out, const char *hex)
{
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* RFC 3711 Appendix B.2: AES-CM keystream, including across the 16-bit counter's carry. */
START_TEST(test_rfc3711_b2_keystream)
{
	const srtp_cipher_type_t *ct = rtc_srtp_crypto_cipher(SRTP_AES_ICM_128);
	uint8_t key[30], iv[16], want[48], got[48], part[48];
	srtp_cipher_t *c = NULL;
	uint32_t n;

	ck_assert_ptr_nonnull(ct);
	unhex(key,
	        "2B7E151628AED2A6ABF7158809CF4F3C"
	        "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
	memset(iv, 0, sizeof(iv));
	unhex(want,
	        "E03EAD0935C95E80E166B16DD92B4EB4"
	        "D23513162B02D0F72A43A2FE4A5F97AB"
	        "41E95B3BB0A2E8DD477901E4FCA894C0");
	icm_output(ct, key, 30, iv, got, 48);
	ck_assert(memcmp(got, want, 48) == 0);

	/* Blocks 0xFEFF, 0xFF00 and 0xFF01: start the counter there through the iv. */
	iv[14] = 0xfe;
	iv[15] = 0xff;
	unhex(want,
	        "EC8CDF7398607CB0F2D21675EA9EA1E4"
	        "362B7C3C6773516318A077D7FC5073AE"
	        "6A2CC3787889374FBEB4C81B17BA6C44");
	icm_output(ct, key, 30, iv, got, 48);
	ck_assert(memcmp(got, want, 48) == 0);

	/* Output in uneven pieces continues the same keystream; a new iv restarts it. */
	ck_assert_int_eq(srtp_cipher_type_alloc(ct, &c, 30, 0), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_init(c, key), srtp_err_status_ok);
	ck_assert_int_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
	n = 7;
	ck_assert_int_eq(srtp_cipher_output(c, part, &n), srtp_err_status_ok);
	n = 41;
	ck_assert_int_eq(srtp_cipher_output(c, part + 7, &n), srtp_err_status_ok);
	ck_assert(memcmp(part, want, 48) == 0);
	ck_assert_int_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
	n = 5;
	ck_assert_int_eq(srtp_cipher_output(c, part, &n), srtp_err_status_ok);
	ck_assert(memcmp(part, want, 5) == 0);
	ck_assert_int_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}
END_TEST

/* RFC 3711 Appendix B.3: key derivation is AES-CM keyed with the master key, label in octet 7. */
START_TEST(test_rfc3711_b3_key_derivation)
{
	const srtp_cipher_type_t *ct = rtc_srtp_crypto_cipher(SRTP_AES_ICM_128);
	uint8_t master[30], iv[16], want[20], got[20];

	ck_assert_ptr_nonnull(ct);
	unhex(master,
	        "E1F97A0D3E018BE0D64FA32C06DE4139"
	        "0EC675AD498AFEEBB6960B3AABE6");
	memset(iv, 0, sizeof(iv));
	iv[7] = 0x00; /* cipher key */
	unhex(want, "C61E7A93744F39EE10734AFE3FF7A087");
	icm_output(ct, master, 30, iv, got, 16);
	ck_assert(memcmp(got, want, 16) == 0);
	iv[7] = 0x01; /* authentication key */
	unhex(want, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
	icm_output(ct, master, 30, iv, got, 20);
	ck_assert(memcmp(got, want, 20) == 0);
	iv[7] = 0x02; /* cipher salt */
	unhex(want, "30CBBC08863D8C85D49DB34A9AE1");
	icm_output(ct, master, 30, iv, got, 14);
	ck_assert(memcmp(got, want, 14) == 0);
}
END_TEST

/* The transforms refuse what they do not implement. */
START_TEST(test_transform_params)
{
	const srtp_cipher_type_t *icm = rtc_srtp_crypto_cipher(SRTP_AES_ICM_128);
	const srtp_cipher_type_t *gcm = rtc_srtp_crypto_cipher(SRTP_AES_GCM_128);
	const srtp_auth_type_t *hmac = rtc_srtp_crypto_hmac_sha1();
	srtp_cipher_t *c = NULL;
	srtp_auth_t *a = NULL;

	ck_assert_ptr_nonnull(icm);
	ck_assert_ptr_nonnull(gcm);
	ck_assert_ptr_nonnull(rtc_srtp_crypto_cipher(SRTP_AES_ICM_192));
	ck_assert_ptr_nonnull(rtc_srtp_crypto_cipher(SRTP_AES_ICM_256));
	ck_assert_ptr_nonnull(rtc_srtp_crypto_cipher(SRTP_AES_GCM_256));
	ck_assert_ptr_null(rtc_srtp_crypto_cipher(SRTP_NULL_CIPHER));
	ck_assert_int_eq(srtp_cipher_type_alloc(icm, &c, 16, 0), srtp_err_status_bad_param);
	ck_assert_int_eq(srtp_cipher_type_alloc(gcm, &c, 28, 12), srtp_err_status_bad_param);
	ck_assert_int_eq(srtp_cipher_type_alloc(gcm, &c, 30, 16), srtp_err_status_bad_param);
	ck_assert_int_eq(hmac->alloc(&a, 20, 21), srtp_err_status_bad_param);
	ck_assert_int_eq(hmac->alloc(&a, -1, 10), srtp_err_status_bad_param);
	/* The GCM transform only encrypts after an encrypting iv, and the reverse. */
	ck_assert_int_eq(srtp_cipher_type_alloc(gcm, &c, 28, 16), srtp_err_status_ok);
	ck_assert_int_eq(c->algorithm, SRTP_AES_GCM_128);
	ck_assert_int_eq(srtp_cipher_get_key_length(c), 28);
	{
		uint8_t key[28], iv[12], buf[32];
		uint32_t n = 16;

		memset(key, 1, sizeof(key));
		memset(iv, 2, sizeof(iv));
		memset(buf, 3, sizeof(buf));
		ck_assert_int_eq(srtp_cipher_init(c, key), srtp_err_status_ok);
		ck_assert_int_eq(
		        srtp_cipher_set_iv(c, iv, srtp_direction_any), srtp_err_status_bad_param);
		ck_assert_int_eq(
		        srtp_cipher_set_iv(c, iv, srtp_direction_decrypt), srtp_err_status_ok);
		ck_assert_int_eq(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_bad_param);
		n = 8; /* shorter than the tag */
		ck_assert_int_eq(srtp_cipher_decrypt(c, buf, &n), srtp_err_status_bad_param);
		n = 32; /* a wrong tag */
		ck_assert_int_eq(srtp_cipher_decrypt(c, buf, &n), srtp_err_status_auth_fail);
		ck_assert_uint_eq(n, 32);
	}
	ck_assert_int_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}
END_TEST

/*
 * After warm-up (sessions keyed, each SSRC seen once), protecting and
 * unprotecting allocate nothing: not for good packets, forged ones or
 * duplicates. Under a sanitizer, which owns malloc, the count is skipped.
 */
START_TEST(test_no_alloc_per_packet)
{
	const struct profile_case *pc = &profiles[_i];
	struct rtc_srtp_keys k;
	struct rtc_srtp *tx, *rx;
	uint8_t buf[1200], forged[1200], dup[1200];
	size_t len, flen, dup_len = 0;
	unsigned long before = 0, used;
	int i, bad = 0;

	if (!alloc_count_active())
		fprintf(stderr, "check_srtp: allocation count skipped (sanitizer owns malloc)\n");
	if (alloc_count_active()) {
		/* The counter sees allocations (else the zero below proves nothing). */
		unsigned long c0 = alloc_count();
		char *volatile x = malloc(8);
		ck_assert_uint_eq(alloc_count(), c0 + 1);
		free(x);
	}
	make_keys(&k, pc);
	tx = rtc_srtp_new(&k, 1);
	rx = rtc_srtp_new(&k, 0);
	ck_assert_ptr_nonnull(tx);
	ck_assert_ptr_nonnull(rx);
	for (i = 0; i < 300; i++) {
		uint32_t ssrc = i % 2 ? 0x01020304 : 0x0a0b0c0d;

		if (i == 20)
			before = alloc_count();
		len = make_rtp(buf, (uint16_t)(65000 + i * 7), ssrc, (size_t)(i * 37) % 1100);
		bad += rtc_srtp_protect_rtp(tx, buf, &len, sizeof(buf)) != 0;
		if (i % 5 == 0) {
			memcpy(dup, buf, len);
			dup_len = len;
		}
		/* A copy with a forged tag first (GCM decrypts in place before it checks). */
		memcpy(forged, buf, len);
		flen = len;
		forged[flen - 5] ^= 1;
		bad += rtc_srtp_unprotect_rtp(rx, forged, &flen) != LK_EAUTH;
		/* Forged, from an unseen SSRC: libsrtp adds streams only for packets that open. */
		forged[11] ^= (uint8_t)(i + 1);
		forged[10] ^= 0x80;
		bad += rtc_srtp_unprotect_rtp(rx, forged, &flen) != LK_EAUTH;
		bad += rtc_srtp_unprotect_rtp(rx, buf, &len) != 0;
		len = make_sr(buf, ssrc, (uint32_t)i);
		bad += rtc_srtp_protect_rtcp(tx, buf, &len, sizeof(buf)) != 0;
		memcpy(forged, buf, len);
		flen = len;
		forged[flen - 5] ^= 1;
		bad += rtc_srtp_unprotect_rtcp(rx, forged, &flen) != LK_EAUTH;
		bad += rtc_srtp_unprotect_rtcp(rx, buf, &len) != 0;
		if (i % 5 == 4) {
			/* The packet kept four rounds ago, again: a duplicate. */
			bad += rtc_srtp_unprotect_rtp(rx, dup, &dup_len) != LK_EAGAIN;
		}
	}
	used = alloc_count() - before;
	ck_assert_int_eq(bad, 0);
	if (alloc_count_active())
		ck_assert_msg(used == 0, "%lu allocations in 280 rounds after warm-up", used);
	rtc_srtp_free(tx);
	rtc_srtp_free(rx);
}
END_TEST

static Suite *
srtp_suite(void)
{
	Suite *s = suite_create("srtp");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_roundtrip, 0, NPROFILES);
	tcase_add_loop_test(tc, test_directions_differ, 0, NPROFILES);
	tcase_add_loop_test(tc, test_tamper, 0, NPROFILES);
	tcase_add_loop_test(tc, test_reorder_and_duplicates, 0, NPROFILES);
	tcase_add_loop_test(tc, test_lengths_and_capacity, 0, NPROFILES);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_loop_test(tc, test_rfc3711_reference, 0, 2);
	tcase_add_loop_test(tc, test_same_bytes_as_stock, 0, NPROFILES);
	tcase_add_test(tc, test_rfc3711_b2_keystream);
	tcase_add_test(tc, test_rfc3711_b3_key_derivation);
	tcase_add_test(tc, test_transform_params);
	tcase_add_loop_test(tc, test_no_alloc_per_packet, 0, NPROFILES);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/*
	 * Stock libsrtp2 output first, before anything installs srtp.c's
	 * transforms (that is process-wide and for good); forked or not, every
	 * test then compares against it.
	 */
	ref_compute();
	sr = srunner_create(srtp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
