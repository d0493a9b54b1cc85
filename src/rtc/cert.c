/*
 * cert: the process's DTLS identity (ECDSA P-256 key, self-signed X.509 v3
 * certificate) and its SHA-256 fingerprint in SDP form. Created once per
 * lk-jobproc / lk-devserver and shared by every transport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "rtc/cert.h"

#define RTC_CERT_DAY_S (24L * 60 * 60)

struct rtc_cert {
	EVP_PKEY *pkey;
	X509 *x509;
	/* RFC 8122 §5: 32 bytes as "AB:CD:..." (3 * 32 - 1 characters). */
	char fingerprint[3 * 32];
};

/* A positive random 64-bit serial (RFC 5280 §4.1.2.2: positive, <= 20 octets). */
static int
rtc_cert_set_serial(X509 *x)
{
	unsigned char raw[8];
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f;
	raw[0] |= 0x01;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn == NULL)
		return -1;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (ai == NULL)
		return -1;
	ok = X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	return ok == 1 ? 0 : -1;
}

static X509 *
rtc_cert_make_x509(EVP_PKEY *pkey)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 || rtc_cert_set_serial(x) < 0)
		goto fail;
	/* A day of slack for peers whose clock runs behind ours. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), -RTC_CERT_DAY_S) == NULL ||
	        X509_gmtime_adj(X509_getm_notAfter(x), 30 * RTC_CERT_DAY_S) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(
	            name, "CN", MBSTRING_ASC, (const unsigned char *)"lkworker", -1, -1, 0) != 1)
		goto fail;
	if (X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1)
		goto fail;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

struct rtc_cert *
rtc_cert_new(void)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct rtc_cert *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	/* The key type libwebrtc generates for its own certificates. */
	c->pkey = EVP_EC_gen("P-256");
	if (c->pkey == NULL)
		goto fail;
	c->x509 = rtc_cert_make_x509(c->pkey);
	if (c->x509 == NULL)
		goto fail;
	if (X509_digest(c->x509, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		goto fail;
	for (i = 0; i < mdlen; i++) {
		c->fingerprint[3 * i] = hex[md[i] >> 4];
		c->fingerprint[3 * i + 1] = hex[md[i] & 0x0f];
		c->fingerprint[3 * i + 2] = i + 1 < mdlen ? ':' : '\0';
	}
	return c;
fail:
	rtc_cert_free(c);
	return NULL;
}

void
rtc_cert_free(struct rtc_cert *c)
{
	if (c == NULL)
		return;
	X509_free(c->x509);
	EVP_PKEY_free(c->pkey);
	free(c);
}

const char *
rtc_cert_fingerprint(const struct rtc_cert *c)
{
	return c->fingerprint;
}

void *
rtc_cert_x509(const struct rtc_cert *c)
{
	return c->x509;
}

void *
rtc_cert_pkey(const struct rtc_cert *c)
{
	return c->pkey;
}
