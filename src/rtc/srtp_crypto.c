/*
 * srtp_crypto: OpenSSL versions of the transforms libsrtp2 runs per packet
 * (AES-ICM, AES-GCM, HMAC-SHA1), installed in its crypto kernel by
 * src/rtc/srtp.c. Runs in the transports of lk-jobproc and lk-devserver.
 *
 * Debian builds libsrtp2 on NSS, which allocates on every packet (14 times
 * per AES-CM packet, 5 per AES-GCM packet). Here every OpenSSL context is made
 * when libsrtp allocates the transform and is only re-keyed or re-IVed
 * afterwards: OpenSSL 3.0 resets the IV of an existing AES-CTR or AES-GCM
 * context in place, and HMAC-SHA1 is common/hmac's, which restarts from SHA_CTX copies.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "common/hmac.h"
#include "common/log.h"
#include "rtc/srtp_crypto.h"

/* ---- what the cipher transforms share ---- */

/*
 * One OpenSSL cipher context per libsrtp transform, made when libsrtp
 * allocates the transform; one allocation holds libsrtp's handle and our
 * state (the handle's state points back at it).
 */
struct rtc_evp {
	srtp_cipher_t c;
	EVP_CIPHER_CTX *ctx;
	int key_size; /* ICM: AES key bytes, 16, 24 or 32 */
	uint8_t salt[16]; /* ICM: session salt, low 16 bits zero: the counter offset */
	int tag_len; /* GCM: 8 or 16 */
	srtp_cipher_direction_t dir; /* GCM: from the last set_iv */
};

static srtp_err_status_t
rtc_evp_alloc(srtp_cipher_t **cp, const srtp_cipher_type_t *type, const EVP_CIPHER *evp,
        int key_len, struct rtc_evp **out)
{
	struct rtc_evp *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return srtp_err_status_alloc_fail;
	e->ctx = EVP_CIPHER_CTX_new();
	if (e->ctx == NULL || EVP_CipherInit_ex(e->ctx, evp, NULL, NULL, NULL, 1) != 1) {
		EVP_CIPHER_CTX_free(e->ctx);
		free(e);
		return srtp_err_status_alloc_fail;
	}
	e->dir = srtp_direction_any;
	e->c.type = type;
	e->c.state = e;
	e->c.key_len = key_len;
	e->c.algorithm = (int)type->id;
	*cp = &e->c;
	*out = e;
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_evp_dealloc(srtp_cipher_t *c)
{
	struct rtc_evp *e = (struct rtc_evp *)c;

	EVP_CIPHER_CTX_free(e->ctx);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	return srtp_err_status_ok;
}

/* ---- AES-ICM (RFC 3711 §4.1.1), also libsrtp's key derivation (§4.3.3) ---- */

static const srtp_cipher_type_t rtc_icm_128, rtc_icm_192, rtc_icm_256;

static srtp_err_status_t
rtc_icm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
	const srtp_cipher_type_t *type;
	const EVP_CIPHER *evp;
	struct rtc_evp *e;
	srtp_err_status_t st;

	/* key_len counts the 14-byte salt after the key, as libsrtp's KDF does. */
	switch (key_len) {
	case SRTP_AES_ICM_128_KEY_LEN_WSALT:
		type = &rtc_icm_128;
		evp = EVP_aes_128_ctr();
		break;
	case SRTP_AES_ICM_192_KEY_LEN_WSALT:
		type = &rtc_icm_192;
		evp = EVP_aes_192_ctr();
		break;
	case SRTP_AES_ICM_256_KEY_LEN_WSALT:
		type = &rtc_icm_256;
		evp = EVP_aes_256_ctr();
		break;
	default:
		return srtp_err_status_bad_param;
	}
	(void)tag_len;
	st = rtc_evp_alloc(cp, type, evp, key_len, &e);
	if (st == srtp_err_status_ok)
		e->key_size = key_len - SRTP_SALT_LEN;
	return st;
}

static srtp_err_status_t
rtc_icm_init(void *state, const uint8_t *key)
{
	struct rtc_evp *st = state;

	memcpy(st->salt, key + st->key_size, SRTP_SALT_LEN);
	st->salt[14] = 0;
	st->salt[15] = 0;
	if (EVP_EncryptInit_ex(st->ctx, NULL, NULL, key, NULL) != 1)
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* Counter block = salt XOR iv; libsrtp's iv already holds SSRC and index (or the KDF label). */
static srtp_err_status_t
rtc_icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct rtc_evp *st = state;
	uint8_t ctr[16];
	int i;

	for (i = 0; i < 16; i++)
		ctr[i] = st->salt[i] ^ iv[i];
	if (EVP_EncryptInit_ex(st->ctx, NULL, NULL, NULL, ctr) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* XOR the keystream in place; encryption and decryption are the same. */
static srtp_err_status_t
rtc_icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct rtc_evp *st = state;
	int n = 0;

	if (*len == 0)
		return srtp_err_status_ok;
	if (*len > INT_MAX)
		return srtp_err_status_bad_param;
	if (EVP_EncryptUpdate(st->ctx, buf, &n, buf, (int)*len) != 1 || n != (int)*len)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/*
 * Known answers libsrtp checks before it accepts a transform (it also runs
 * the ones of the transform being replaced): the all-zero plaintext under a
 * zero index gives the keystream.
 */
static uint8_t rtc_icm_zero_iv[16];
static const uint8_t rtc_icm_zero[32];

/* RFC 3711 Appendix B.2: session key, session salt, keystream blocks 0 and 1. */
static const uint8_t rtc_icm_128_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {0x2b, 0x7e, 0x15, 0x16,
        0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2,
        0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t rtc_icm_128_ks[32] = {0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1,
        0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
        0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};

/* RFC 6188 §7.3 (AES-192-CM), same salt. */
static const uint8_t rtc_icm_192_key[SRTP_AES_ICM_192_KEY_LEN_WSALT] = {0xea, 0xb2, 0x34, 0x76,
        0x4e, 0x51, 0x7b, 0x2d, 0x3d, 0x16, 0x0d, 0x58, 0x7d, 0x8c, 0x86, 0x21, 0x97, 0x40, 0xf6,
        0x5f, 0x99, 0xb6, 0xbc, 0xf7, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
        0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t rtc_icm_192_ks[32] = {0x35, 0x09, 0x6c, 0xba, 0x46, 0x10, 0x02, 0x8d, 0xc1,
        0xb5, 0x75, 0x03, 0x80, 0x4c, 0xe3, 0x7c, 0x5d, 0xe9, 0x86, 0x29, 0x1d, 0xcc, 0xe1, 0x61,
        0xd5, 0x16, 0x5e, 0xc4, 0x56, 0x8f, 0x5c, 0x9a};

/* RFC 6188 §7.1 (AES-256-CM), same salt. */
static const uint8_t rtc_icm_256_key[SRTP_AES_ICM_256_KEY_LEN_WSALT] = {0x57, 0xf8, 0x2f, 0xe3,
        0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92, 0x2e, 0xc4, 0xcb,
        0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98, 0xf0, 0xf1,
        0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t rtc_icm_256_ks[32] = {0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11,
        0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4, 0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6,
        0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac};

/* One known answer and one transform type per AES key size. */
#define RTC_ICM_TYPE(bits)                                                                         \
	static const srtp_cipher_test_case_t rtc_icm_##bits##_kat = {                              \
	        .key_length_octets = SRTP_AES_ICM_##bits##_KEY_LEN_WSALT,                          \
	        .key = rtc_icm_##bits##_key,                                                       \
	        .idx = rtc_icm_zero_iv,                                                            \
	        .plaintext_length_octets = 32,                                                     \
	        .plaintext = rtc_icm_zero,                                                         \
	        .ciphertext_length_octets = 32,                                                    \
	        .ciphertext = rtc_icm_##bits##_ks,                                                 \
	};                                                                                         \
	static const srtp_cipher_type_t rtc_icm_##bits = {                                         \
	        .alloc = rtc_icm_alloc,                                                            \
	        .dealloc = rtc_evp_dealloc,                                                        \
	        .init = rtc_icm_init,                                                              \
	        .encrypt = rtc_icm_crypt,                                                          \
	        .decrypt = rtc_icm_crypt,                                                          \
	        .set_iv = rtc_icm_set_iv,                                                          \
	        .description = "AES-" #bits " counter mode (lkworker, OpenSSL)",                   \
	        .test_data = &rtc_icm_##bits##_kat,                                                \
	        .id = SRTP_AES_ICM_##bits,                                                         \
	}
RTC_ICM_TYPE(128);
RTC_ICM_TYPE(192);
RTC_ICM_TYPE(256);

/* ---- AES-GCM (RFC 7714) ---- */

static const srtp_cipher_type_t rtc_gcm_128, rtc_gcm_256;

static srtp_err_status_t
rtc_gcm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
	const srtp_cipher_type_t *type;
	const EVP_CIPHER *evp;
	struct rtc_evp *e;
	srtp_err_status_t st;

	/* key_len counts the 12-byte salt; libsrtp builds the IV from it itself (RFC 7714 §8.1). */
	switch (key_len) {
	case SRTP_AES_GCM_128_KEY_LEN_WSALT:
		type = &rtc_gcm_128;
		evp = EVP_aes_128_gcm();
		break;
	case SRTP_AES_GCM_256_KEY_LEN_WSALT:
		type = &rtc_gcm_256;
		evp = EVP_aes_256_gcm();
		break;
	default:
		return srtp_err_status_bad_param;
	}
	/* RFC 7714 §14.2 uses 16-octet tags; libsrtp also offers 8. */
	if (tag_len != 8 && tag_len != 16)
		return srtp_err_status_bad_param;
	st = rtc_evp_alloc(cp, type, evp, key_len, &e);
	if (st == srtp_err_status_ok)
		e->tag_len = tag_len;
	return st;
}

/* Only the AES key is used here; the salt after it is libsrtp's business. */
static srtp_err_status_t
rtc_gcm_init(void *state, const uint8_t *key)
{
	struct rtc_evp *st = state;

	st->dir = srtp_direction_any;
	if (EVP_CipherInit_ex(st->ctx, NULL, NULL, key, NULL, -1) != 1)
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* Starts one packet: the 12-byte IV, and which way the packet goes. */
static srtp_err_status_t
rtc_gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct rtc_evp *st = state;

	if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
		return srtp_err_status_bad_param;
	st->dir = dir;
	if (EVP_CipherInit_ex(st->ctx, NULL, NULL, NULL, iv, dir == srtp_direction_encrypt) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* May be called more than once per packet: SRTCP adds its E|index word after the header. */
static srtp_err_status_t
rtc_gcm_set_aad(void *state, const uint8_t *aad, uint32_t len)
{
	struct rtc_evp *st = state;
	int n = 0;

	if (len == 0)
		return srtp_err_status_ok;
	if (len > INT_MAX)
		return srtp_err_status_bad_param;
	if (EVP_CipherUpdate(st->ctx, NULL, &n, aad, (int)len) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_gcm_update(struct rtc_evp *st, uint8_t *buf, unsigned int len)
{
	int n = 0;

	if (len == 0)
		return srtp_err_status_ok;
	if (len > INT_MAX)
		return srtp_err_status_bad_param;
	if (EVP_CipherUpdate(st->ctx, buf, &n, buf, (int)len) != 1 || n != (int)len)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* In place; the tag comes from get_tag afterwards. */
static srtp_err_status_t
rtc_gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct rtc_evp *st = state;

	if (st->dir != srtp_direction_encrypt)
		return srtp_err_status_bad_param;
	return rtc_gcm_update(st, buf, *len);
}

static srtp_err_status_t
rtc_gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
	struct rtc_evp *st = state;
	int n = 0;

	if (st->dir != srtp_direction_encrypt)
		return srtp_err_status_bad_param;
	/* GCM's final step writes no bytes; it completes the tag. */
	if (EVP_CipherFinal_ex(st->ctx, tag, &n) != 1 ||
	        EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_AEAD_GET_TAG, st->tag_len, tag) != 1)
		return srtp_err_status_cipher_fail;
	*len = (uint32_t)st->tag_len;
	return srtp_err_status_ok;
}

/*
 * *len covers the ciphertext and the tag after it. The plaintext is written
 * in place and *len shrinks by the tag, or auth_fail when the tag is wrong.
 */
static srtp_err_status_t
rtc_gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct rtc_evp *st = state;
	unsigned int n;
	srtp_err_status_t rc;
	int out = 0;

	if (st->dir != srtp_direction_decrypt)
		return srtp_err_status_bad_param;
	if (*len < (unsigned int)st->tag_len)
		return srtp_err_status_bad_param;
	n = *len - (unsigned int)st->tag_len;
	if (EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_AEAD_SET_TAG, st->tag_len, buf + n) != 1)
		return srtp_err_status_cipher_fail;
	rc = rtc_gcm_update(st, buf, n);
	if (rc != srtp_err_status_ok)
		return rc;
	if (EVP_CipherFinal_ex(st->ctx, buf + n, &out) != 1)
		return srtp_err_status_auth_fail;
	*len = n;
	return srtp_err_status_ok;
}

/*
 * The Galois/Counter Mode specification (McGrew and Viega), test cases 4
 * (AES-128) and 16 (AES-256): 60 bytes of plaintext, 20 of AAD, and the
 * ciphertext followed by the 16-byte tag. The 12 bytes after each key are
 * a salt, which the transform ignores.
 */
static uint8_t rtc_gcm_iv[12] = {
        0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t rtc_gcm_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
        0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t rtc_gcm_pt[60] = {0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59,
        0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e,
        0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53,
        0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6,
        0x57, 0xba, 0x63, 0x7b, 0x39};

static const uint8_t rtc_gcm_128_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {0xfe, 0xff, 0xe9, 0x92,
        0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08, 0x01, 0x02, 0x03,
        0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
static const uint8_t rtc_gcm_128_ct[76] = {0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b,
        0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0,
        0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93,
        0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05, 0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a,
        0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91, 0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94,
        0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};

static const uint8_t rtc_gcm_256_key[SRTP_AES_GCM_256_KEY_LEN_WSALT] = {0xfe, 0xff, 0xe9, 0x92,
        0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08, 0xfe, 0xff, 0xe9,
        0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08, 0x01, 0x02,
        0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
static const uint8_t rtc_gcm_256_ct[76] = {0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4,
        0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42, 0x7d, 0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9,
        0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa, 0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb,
        0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56, 0x82, 0x88, 0x38, 0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba,
        0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62, 0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e, 0x17, 0x68, 0xcd,
        0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};

#define RTC_GCM_TYPE(bits)                                                                         \
	static const srtp_cipher_test_case_t rtc_gcm_##bits##_kat = {                              \
	        .key_length_octets = SRTP_AES_GCM_##bits##_KEY_LEN_WSALT,                          \
	        .key = rtc_gcm_##bits##_key,                                                       \
	        .idx = rtc_gcm_iv,                                                                 \
	        .plaintext_length_octets = 60,                                                     \
	        .plaintext = rtc_gcm_pt,                                                           \
	        .ciphertext_length_octets = 76,                                                    \
	        .ciphertext = rtc_gcm_##bits##_ct,                                                 \
	        .aad_length_octets = 20,                                                           \
	        .aad = rtc_gcm_aad,                                                                \
	        .tag_length_octets = 16,                                                           \
	};                                                                                         \
	static const srtp_cipher_type_t rtc_gcm_##bits = {                                         \
	        .alloc = rtc_gcm_alloc,                                                            \
	        .dealloc = rtc_evp_dealloc,                                                        \
	        .init = rtc_gcm_init,                                                              \
	        .set_aad = rtc_gcm_set_aad,                                                        \
	        .encrypt = rtc_gcm_encrypt,                                                        \
	        .decrypt = rtc_gcm_decrypt,                                                        \
	        .set_iv = rtc_gcm_set_iv,                                                          \
	        .get_tag = rtc_gcm_get_tag,                                                        \
	        .description = "AES-" #bits " GCM (lkworker, OpenSSL)",                            \
	        .test_data = &rtc_gcm_##bits##_kat,                                                \
	        .id = SRTP_AES_GCM_##bits,                                                         \
	}
RTC_GCM_TYPE(128);
RTC_GCM_TYPE(256);

/* ---- HMAC-SHA1 (RFC 2104; RFC 3711 §4.2.1), on common/hmac ---- */

struct rtc_hmac_auth {
	srtp_auth_t a;
	struct lk_hmac_sha1 st;
};

static const srtp_auth_type_t rtc_hmac_sha1;

static srtp_err_status_t
rtc_hmac_alloc(srtp_auth_t **ap, int key_len, int out_len)
{
	struct rtc_hmac_auth *ha;

	if (key_len < 0 || out_len < 0 || out_len > LK_HMAC_SHA1_LEN)
		return srtp_err_status_bad_param;
	ha = calloc(1, sizeof(*ha));
	if (ha == NULL)
		return srtp_err_status_alloc_fail;
	ha->a.type = &rtc_hmac_sha1;
	ha->a.state = &ha->st;
	ha->a.out_len = out_len;
	ha->a.key_len = key_len;
	ha->a.prefix_len = 0; /* no keystream prefix (that is for universal hashes) */
	*ap = &ha->a;
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_hmac_dealloc(srtp_auth_t *a)
{
	struct rtc_hmac_auth *ha = (struct rtc_hmac_auth *)a;

	OPENSSL_cleanse(ha, sizeof(*ha));
	free(ha);
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_hmac_init(void *state, const uint8_t *key, int key_len)
{
	if (key_len < 0)
		return srtp_err_status_bad_param;
	if (lk_hmac_sha1_init(state, key, (size_t)key_len) < 0)
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_hmac_start(void *state)
{
	lk_hmac_sha1_start(state);
	return srtp_err_status_ok;
}

static srtp_err_status_t
rtc_hmac_update(void *state, const uint8_t *buf, int len)
{
	if (len < 0)
		return srtp_err_status_bad_param;
	if (lk_hmac_sha1_update(state, buf, (size_t)len) < 0)
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

/* Adds the last bytes (SRTP's ROC) and writes the first tag_len bytes of the MAC. */
static srtp_err_status_t
rtc_hmac_compute(void *state, const uint8_t *buf, int len, int tag_len, uint8_t *tag)
{
	uint8_t md[LK_HMAC_SHA1_LEN];

	if (len < 0 || tag_len < 0 || tag_len > LK_HMAC_SHA1_LEN)
		return srtp_err_status_bad_param;
	if (lk_hmac_sha1_update(state, buf, (size_t)len) < 0 || lk_hmac_sha1_final(state, md) < 0)
		return srtp_err_status_auth_fail;
	memcpy(tag, md, (size_t)tag_len);
	return srtp_err_status_ok;
}

/* RFC 2202 §3, test case 1. */
static const uint8_t rtc_hmac_key[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
        0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t rtc_hmac_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t rtc_hmac_tag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
        0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};

static const srtp_auth_test_case_t rtc_hmac_kat = {
        .key_length_octets = sizeof(rtc_hmac_key),
        .key = rtc_hmac_key,
        .data_length_octets = sizeof(rtc_hmac_data),
        .data = rtc_hmac_data,
        .tag_length_octets = sizeof(rtc_hmac_tag),
        .tag = rtc_hmac_tag,
};

static const srtp_auth_type_t rtc_hmac_sha1 = {
        .alloc = rtc_hmac_alloc,
        .dealloc = rtc_hmac_dealloc,
        .init = rtc_hmac_init,
        .compute = rtc_hmac_compute,
        .update = rtc_hmac_update,
        .start = rtc_hmac_start,
        .description = "HMAC-SHA1 (lkworker, OpenSSL)",
        .test_data = &rtc_hmac_kat,
        .id = SRTP_HMAC_SHA1,
};

/* ---- installation ---- */

static const srtp_cipher_type_t *const rtc_srtp_ciphers[] = {
        &rtc_icm_128, &rtc_icm_192, &rtc_icm_256, &rtc_gcm_128, &rtc_gcm_256};

const srtp_cipher_type_t *
rtc_srtp_crypto_cipher(srtp_cipher_type_id_t id)
{
	size_t i;

	for (i = 0; i < sizeof(rtc_srtp_ciphers) / sizeof(rtc_srtp_ciphers[0]); i++)
		if (rtc_srtp_ciphers[i]->id == id)
			return rtc_srtp_ciphers[i];
	return NULL;
}

const srtp_auth_type_t *
rtc_srtp_crypto_hmac_sha1(void)
{
	return &rtc_hmac_sha1;
}

int
rtc_srtp_crypto_install(void)
{
	srtp_err_status_t st;
	size_t i;

	/*
	 * libsrtp runs our known answers and those of the transform it had
	 * before swapping; a refusal leaves that one in place, so it is an
	 * error, not something to run on with.
	 */
	for (i = 0; i < sizeof(rtc_srtp_ciphers) / sizeof(rtc_srtp_ciphers[0]); i++) {
		st = srtp_replace_cipher_type(rtc_srtp_ciphers[i], rtc_srtp_ciphers[i]->id);
		if (st != srtp_err_status_ok) {
			log_error("srtp crypto install failed", "transform",
			        rtc_srtp_ciphers[i]->description, "status", log_fmt("%d", (int)st));
			return LK_EINVAL;
		}
	}
	st = srtp_replace_auth_type(&rtc_hmac_sha1, SRTP_HMAC_SHA1);
	if (st != srtp_err_status_ok) {
		log_error("srtp crypto install failed", "transform", rtc_hmac_sha1.description,
		        "status", log_fmt("%d", (int)st));
		return LK_EINVAL;
	}
	return 0;
}
