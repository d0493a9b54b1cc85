/*
 * check_util: unit tests for src/common/util.c (clocks, random ids,
 * base64/base64url, string and memory helpers), src/common/err.c and
 * src/common/hmac.c (RFC 2202 vectors, and OpenSSL's HMAC() as an oracle).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "common/hmac.h"
#include "common/util.h"

START_TEST(test_clocks_move_forward)
{
	int64_t m1, m2, s1, ms, ns, s2;

	m1 = lk_mono_ms();
	s1 = lk_wall_s();
	ms = lk_wall_ms();
	ns = lk_wall_ns();
	s2 = lk_wall_s();
	m2 = lk_mono_ms();
	ck_assert_int_ge(m2, m1);
	/* Wall clock is after 2020-01-01, and the units agree in order (no timing). */
	ck_assert_int_gt(ms, 1577836800000LL);
	ck_assert_int_le(s1, ms / 1000);
	ck_assert_int_le(ms, ns / 1000000);
	ck_assert_int_le(ns / 1000000000, s2);
}
END_TEST

START_TEST(test_random_fills)
{
	uint8_t a[64], b[64];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(lk_random(a, sizeof(a)), 0);
	ck_assert_int_eq(lk_random(b, sizeof(b)), 0);
	/* 512 random bits twice in a row are not equal. */
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert_int_eq(lk_random(a, 0), 0);
}
END_TEST

START_TEST(test_make_id_shape)
{
	char id[32], id2[32], small[6];
	size_t i;

	lk_make_id("AJ_", id, sizeof(id));
	ck_assert_uint_eq(strlen(id), 15);
	ck_assert(strncmp(id, "AJ_", 3) == 0);
	for (i = 3; i < 15; i++)
		ck_assert_msg(
		        strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		                id[i]) != NULL,
		        "bad char %c", id[i]);
	lk_make_id("AJ_", id2, sizeof(id2));
	ck_assert_str_ne(id, id2);
	/* A short buffer is truncated, never overrun. */
	memset(small, 'x', sizeof(small));
	lk_make_id("RM_", small, sizeof(small));
	ck_assert_uint_eq(strlen(small), 5);
}
END_TEST

/* RFC 4648 §10 test vectors. */
static const char *const b64_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const b64_std[] = {
        "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const b64_url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

START_TEST(test_b64_rfc4648_vectors)
{
	char enc[32], dec[32];
	size_t n = strlen(b64_plain[_i]);
	int len;

	ck_assert_uint_eq(lk_b64_encode(b64_plain[_i], n, enc), strlen(b64_std[_i]));
	ck_assert_str_eq(enc, b64_std[_i]);
	ck_assert_uint_le(strlen(enc), lk_b64_enclen(n));
	ck_assert_uint_eq(lk_b64url_encode(b64_plain[_i], n, enc), strlen(b64_url[_i]));
	ck_assert_str_eq(enc, b64_url[_i]);

	len = lk_b64_decode(b64_std[_i], strlen(b64_std[_i]), dec, sizeof(dec));
	ck_assert_int_eq(len, (int)n);
	ck_assert(memcmp(dec, b64_plain[_i], n) == 0);
	/* The url decoder takes both padded and unpadded text. */
	len = lk_b64url_decode(b64_url[_i], strlen(b64_url[_i]), dec, sizeof(dec));
	ck_assert_int_eq(len, (int)n);
	ck_assert(memcmp(dec, b64_plain[_i], n) == 0);
	len = lk_b64url_decode(b64_std[_i], strlen(b64_std[_i]), dec, sizeof(dec));
	ck_assert_int_eq(len, (int)n);
}
END_TEST

START_TEST(test_b64_alphabets)
{
	const uint8_t raw[] = {0xfb, 0xff, 0xfe};
	char enc[8];
	uint8_t dec[8];

	lk_b64_encode(raw, 3, enc);
	ck_assert_str_eq(enc, "+//+");
	lk_b64url_encode(raw, 3, enc);
	ck_assert_str_eq(enc, "-__-");
	ck_assert_int_eq(lk_b64url_decode("-__-", 4, dec, sizeof(dec)), 3);
	ck_assert(memcmp(dec, raw, 3) == 0);
	ck_assert_int_eq(lk_b64_decode("+//+", 4, dec, sizeof(dec)), 3);
	/* Each decoder refuses the other alphabet. */
	ck_assert_int_lt(lk_b64url_decode("+//+", 4, dec, sizeof(dec)), 0);
	ck_assert_int_lt(lk_b64_decode("-__-", 4, dec, sizeof(dec)), 0);
}
END_TEST

START_TEST(test_b64_rejects_bad_input)
{
	uint8_t dec[16];

	ck_assert_int_eq(
	        lk_b64_decode("Zm9", 3, dec, sizeof(dec)), LK_EINVAL); /* std needs padding */
	ck_assert_int_eq(lk_b64_decode("Zm9v!", 5, dec, sizeof(dec)), LK_EINVAL);
	ck_assert_int_eq(lk_b64_decode("Zm 9v", 5, dec, sizeof(dec)), LK_EINVAL);
	ck_assert_int_eq(lk_b64_decode("Zg=a", 4, dec, sizeof(dec)), LK_EINVAL); /* pad inside */
	ck_assert_int_eq(lk_b64_decode("Z===", 4, dec, sizeof(dec)), LK_EINVAL);
	ck_assert_int_eq(lk_b64_decode("====", 4, dec, sizeof(dec)), LK_EINVAL);
	ck_assert_int_eq(
	        lk_b64_decode("Zh==", 4, dec, sizeof(dec)), LK_EINVAL); /* non-zero tail bits */
	ck_assert_int_eq(lk_b64url_decode("Z", 1, dec, sizeof(dec)), LK_EINVAL); /* 6 bits only */
	ck_assert_int_eq(
	        lk_b64url_decode("Zg=", 3, dec, sizeof(dec)), LK_EINVAL); /* half padding */
	ck_assert_int_eq(lk_b64url_decode("Zm9v\n", 5, dec, sizeof(dec)), LK_EINVAL);
	ck_assert_int_eq(lk_b64url_decode("Zm9v", 4, dec, 2), LK_ETOOBIG);
	/* n bounds the read: the NUL-less prefix decodes, the rest is ignored. */
	ck_assert_int_eq(lk_b64url_decode("Zm9v!!!", 4, dec, sizeof(dec)), 3);
}
END_TEST

START_TEST(test_b64_roundtrip_random)
{
	uint8_t raw[300], dec[300];
	char enc[420];
	size_t n;
	int len;

	for (n = 0; n < sizeof(raw); n += 7) {
		lk_random(raw, n);
		lk_b64_encode(raw, n, enc);
		len = lk_b64_decode(enc, strlen(enc), dec, sizeof(dec));
		ck_assert_int_eq(len, (int)n);
		ck_assert(memcmp(raw, dec, n) == 0);
		lk_b64url_encode(raw, n, enc);
		ck_assert(strchr(enc, '=') == NULL);
		len = lk_b64url_decode(enc, strlen(enc), dec, sizeof(dec));
		ck_assert_int_eq(len, (int)n);
		ck_assert(memcmp(raw, dec, n) == 0);
	}
}
END_TEST

START_TEST(test_strlcpy)
{
	char b[4];

	ck_assert_uint_eq(lk_strlcpy(b, "abcdef", sizeof(b)), 6);
	ck_assert_str_eq(b, "abc");
	ck_assert_uint_eq(lk_strlcpy(b, "ab", sizeof(b)), 2);
	ck_assert_str_eq(b, "ab");
	b[0] = 'z';
	ck_assert_uint_eq(lk_strlcpy(b, "ab", 0), 2);
	ck_assert_int_eq(b[0], 'z');
}
END_TEST

START_TEST(test_xalloc)
{
	char *s = lk_xstrdup("hello");
	int *v = lk_xcalloc(4, sizeof(int));

	ck_assert_str_eq(s, "hello");
	ck_assert_int_eq(v[0] | v[1] | v[2] | v[3], 0);
	v = lk_xrealloc(v, 100 * sizeof(int));
	v[99] = 1;
	free(v);
	free(s);
	free(lk_xmalloc(0));
}
END_TEST

#ifndef __SANITIZE_ADDRESS__
START_TEST(test_xmalloc_aborts_on_oom)
{
	/* No allocator satisfies this request: the process must abort. */
	volatile size_t huge = SIZE_MAX - 4096;

	lk_xmalloc(huge);
}
END_TEST
#endif

START_TEST(test_memeq_ct)
{
	ck_assert_int_eq(lk_memeq_ct("abcd", "abcd", 4), 0);
	ck_assert_int_ne(lk_memeq_ct("abcd", "abce", 4), 0);
	ck_assert_int_eq(lk_memeq_ct("abcd", "abce", 3), 0);
	ck_assert_int_eq(lk_memeq_ct("", "", 0), 0);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(lk_strerror(LK_EAUTH), "authentication failed");
	ck_assert_str_eq(lk_strerror(LK_ETOOBIG), "over size limit");
	ck_assert_str_eq(lk_strerror(0), "ok");
	ck_assert_str_eq(lk_strerror(-ENOENT), strerror(ENOENT));
	ck_assert_str_eq(lk_strerror(-EMFILE), strerror(EMFILE));
	ck_assert_str_eq(lk_strerror(-5000), "unknown error");
	ck_assert_str_eq(lk_strerror(42), "unknown error");
	/* Every lk_err has its own text. */
	for (int a = LK_ENOTFOUND; a <= LK_EINVAL; a++)
		for (int b = a + 1; b <= LK_EINVAL; b++)
			ck_assert_str_ne(lk_strerror(a), lk_strerror(b));
}
END_TEST

START_TEST(test_read_text_file)
{
	char path[] = "/tmp/lk-check-util-XXXXXX";
	char buf[8];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "usage_usec 42\n", 14), 14);
	close(fd);
	/* Truncated to cap - 1 bytes and NUL-terminated. */
	ck_assert_int_eq(lk_read_text_file(path, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "usage_u");
	unlink(path);
	ck_assert_int_eq(lk_read_text_file(path, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(lk_read_text_file(path, buf, 0), -EINVAL);
}
END_TEST

/* RFC 2202 §3: test cases 1, 2 and 6 (a key longer than one block). */
START_TEST(test_hmac_sha1_rfc2202)
{
	static const struct {
		uint8_t key_byte;
		size_t key_len;
		const char *key_text, *data, *mac_hex;
	} v[] = {
	        {0x0b, 20, NULL, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
	        {0, 0, "Jefe", "what do ya want for nothing?",
	                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
	        {0xaa, 80, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
	                "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
	};
	uint8_t key[80], mac[LK_HMAC_SHA1_LEN];
	char hex[2 * LK_HMAC_SHA1_LEN + 1];
	size_t i, j, klen;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].key_text) {
			klen = strlen(v[i].key_text);
			memcpy(key, v[i].key_text, klen);
		} else {
			klen = v[i].key_len;
			memset(key, v[i].key_byte, klen);
		}
		ck_assert_int_eq(lk_hmac_sha1(key, klen, v[i].data, strlen(v[i].data), mac), 0);
		for (j = 0; j < LK_HMAC_SHA1_LEN; j++)
			snprintf(hex + 2 * j, 3, "%02x", mac[j]);
		ck_assert_str_eq(hex, v[i].mac_hex);
	}
}
END_TEST

/* Keys of every length around the block size, messages fed in pieces and
 * restarted under one key, against OpenSSL's HMAC(). */
START_TEST(test_hmac_sha1_matches_openssl)
{
	uint8_t key[150], msg[300], mine[LK_HMAC_SHA1_LEN], ref[EVP_MAX_MD_SIZE];
	struct lk_hmac_sha1 h;
	unsigned int rlen;
	size_t klen, cut;

	ck_assert_int_eq(lk_random(key, sizeof(key)), 0);
	ck_assert_int_eq(lk_random(msg, sizeof(msg)), 0);
	for (klen = 0; klen <= sizeof(key); klen++) {
		size_t mlen = (klen * 7) % sizeof(msg);

		ck_assert_ptr_nonnull(HMAC(EVP_sha1(), key, (int)klen, msg, mlen, ref, &rlen));
		ck_assert_int_eq(lk_hmac_sha1_init(&h, key, klen), 0);
		for (cut = 0; cut <= mlen; cut += 37 + klen % 5) {
			lk_hmac_sha1_start(&h);
			ck_assert_int_eq(lk_hmac_sha1_update(&h, msg, cut), 0);
			ck_assert_int_eq(lk_hmac_sha1_update(&h, msg + cut, mlen - cut), 0);
			ck_assert_int_eq(lk_hmac_sha1_final(&h, mine), 0);
			ck_assert_mem_eq(mine, ref, LK_HMAC_SHA1_LEN);
		}
		lk_hmac_sha1_clear(&h);
	}
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, test_clocks_move_forward);
	tcase_add_test(tc, test_random_fills);
	tcase_add_test(tc, test_make_id_shape);
	tcase_add_loop_test(tc, test_b64_rfc4648_vectors, 0, 7);
	tcase_add_test(tc, test_b64_alphabets);
	tcase_add_test(tc, test_b64_rejects_bad_input);
	tcase_add_test(tc, test_b64_roundtrip_random);
	tcase_add_test(tc, test_strlcpy);
	tcase_add_test(tc, test_xalloc);
#ifndef __SANITIZE_ADDRESS__
	/* ASan reports an impossible size itself instead of returning NULL. */
	tcase_add_test_raise_signal(tc, test_xmalloc_aborts_on_oom, SIGABRT);
#endif
	tcase_add_test(tc, test_memeq_ct);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_read_text_file);
	tcase_add_test(tc, test_hmac_sha1_rfc2202);
	tcase_add_test(tc, test_hmac_sha1_matches_openssl);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(util_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
