/*
 * hmac: HMAC-SHA1 on SHA_CTX copies. SHA1_Init/Update/Final are deprecated
 * in OpenSSL 3 but are its only SHA-1 state that copies without a heap
 * allocation; EVP_MD_CTX_copy_ex duplicates the provider context.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/err.h"
#include "common/hmac.h"

int
lk_hmac_sha1_init(struct lk_hmac_sha1 *h, const void *key, size_t keylen)
{
	uint8_t pad[SHA_CBLOCK];
	size_t i;
	int ok = 1;

	memset(pad, 0, sizeof(pad));
	if (keylen > SHA_CBLOCK)
		ok = SHA1(key, keylen, pad) != NULL;
	else if (keylen > 0)
		memcpy(pad, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	ok = ok && SHA1_Init(&h->inner) && SHA1_Update(&h->inner, pad, sizeof(pad));
	/* 0x36 ^ 0x5c turns ipad into opad. */
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && SHA1_Init(&h->outer) && SHA1_Update(&h->outer, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	h->msg = h->inner;
	return ok ? 0 : LK_EIO;
}

void
lk_hmac_sha1_start(struct lk_hmac_sha1 *h)
{
	h->msg = h->inner;
}

int
lk_hmac_sha1_update(struct lk_hmac_sha1 *h, const void *data, size_t len)
{
	if (len > 0 && !SHA1_Update(&h->msg, data, len))
		return LK_EIO;
	return 0;
}

int
lk_hmac_sha1_final(struct lk_hmac_sha1 *h, uint8_t mac[LK_HMAC_SHA1_LEN])
{
	uint8_t md[SHA_DIGEST_LENGTH];
	SHA_CTX outer = h->outer;
	int ok;

	ok = SHA1_Final(md, &h->msg) && SHA1_Update(&outer, md, sizeof(md)) &&
	        SHA1_Final(mac, &outer);
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(&outer, sizeof(outer));
	return ok ? 0 : LK_EIO;
}

int
lk_hmac_sha1(
        const void *key, size_t keylen, const void *data, size_t len, uint8_t mac[LK_HMAC_SHA1_LEN])
{
	struct lk_hmac_sha1 h;
	int rc;

	rc = lk_hmac_sha1_init(&h, key, keylen);
	if (rc == 0)
		rc = lk_hmac_sha1_update(&h, data, len);
	if (rc == 0)
		rc = lk_hmac_sha1_final(&h, mac);
	lk_hmac_sha1_clear(&h);
	return rc;
}

void
lk_hmac_sha1_clear(struct lk_hmac_sha1 *h)
{
	OPENSSL_cleanse(h, sizeof(*h));
}
