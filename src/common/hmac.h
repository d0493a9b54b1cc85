/*
 * hmac: HMAC-SHA1 (RFC 2104) that never touches the heap, for the per-packet
 * and periodic paths: SRTP authentication (RFC 3711 §4.2.1) and STUN
 * MESSAGE-INTEGRITY (RFC 8489 §14.5). OpenSSL's HMAC() and EVP_MAC fetch and
 * free a context on every call; the state here is plain SHA_CTX copies.
 */
#ifndef LK_COMMON_HMAC_H
#define LK_COMMON_HMAC_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

#define LK_HMAC_SHA1_LEN 20

struct lk_hmac_sha1 {
	SHA_CTX inner; /* after the block key XOR ipad */
	SHA_CTX outer; /* after the block key XOR opad */
	SHA_CTX msg; /* the message in progress: inner plus updates */
};

/* Keys the state and starts a message. Any key length (a key longer than
 * a SHA-1 block is hashed first, as RFC 2104 §2 says). 0 or LK_EIO. */
int lk_hmac_sha1_init(struct lk_hmac_sha1 *h, const void *key, size_t keylen);
/* Starts a new message under the same key. */
void lk_hmac_sha1_start(struct lk_hmac_sha1 *h);
int lk_hmac_sha1_update(struct lk_hmac_sha1 *h, const void *data, size_t len);
/* Finishes the message; the next one needs lk_hmac_sha1_start. */
int lk_hmac_sha1_final(struct lk_hmac_sha1 *h, uint8_t mac[LK_HMAC_SHA1_LEN]);
/* One message in one call. */
int lk_hmac_sha1(const void *key, size_t keylen, const void *data, size_t len,
        uint8_t mac[LK_HMAC_SHA1_LEN]);
/* Wipes the key material. */
void lk_hmac_sha1_clear(struct lk_hmac_sha1 *h);

#endif
