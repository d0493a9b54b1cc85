/*
 * jwt: HS256 JSON Web Tokens (RFC 7519 / RFC 7515) as LiveKit uses them:
 * signing for the worker's and the dev server's tokens, strict verification
 * for the dev server. Claims are jansson objects; HMAC comes from OpenSSL.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "common/jwt.h"
#include "common/util.h"

#define JWT_SIG_LEN 32 /* HMAC-SHA256 output */

/* RFC 7515 §4.1.1 "alg", §4.1.9 "typ"; LiveKit signs with HS256 only. */
static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int
jwt_hmac(const char *secret, const char *data, size_t len, unsigned char mac[JWT_SIG_LEN])
{
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, len, mac,
	            &maclen) == NULL ||
	        maclen != JWT_SIG_LEN)
		return LK_EIO;
	return 0;
}

int
jwt_sign_hs256(const json_t *claims, const char *secret, char **out)
{
	unsigned char mac[JWT_SIG_LEN];
	char *payload, *tok;
	size_t plen, hlen, cap, len;
	int rc;

	*out = NULL;
	if (!json_is_object(claims) || secret == NULL)
		return LK_EINVAL;
	payload = json_dumps(claims, JSON_COMPACT);
	if (payload == NULL)
		return LK_ENOMEM;
	plen = strlen(payload);
	hlen = sizeof(jwt_header) - 1;
	cap = lk_b64_enclen(hlen) + 1 + lk_b64_enclen(plen) + 1 + lk_b64_enclen(JWT_SIG_LEN) + 1;
	tok = malloc(cap);
	if (tok == NULL) {
		free(payload);
		return LK_ENOMEM;
	}
	/* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(sig) */
	len = lk_b64url_encode(jwt_header, hlen, tok);
	tok[len++] = '.';
	len += lk_b64url_encode(payload, plen, tok + len);
	free(payload);
	if ((rc = jwt_hmac(secret, tok, len, mac)) < 0) {
		free(tok);
		return rc;
	}
	tok[len++] = '.';
	lk_b64url_encode(mac, sizeof(mac), tok + len);
	*out = tok;
	return 0;
}

/* Decode one base64url segment into a JSON object. */
static int
jwt_decode_json(const char *seg, size_t n, json_t **out)
{
	unsigned char *raw;
	json_error_t jerr;
	int len;

	*out = NULL;
	if (n == 0)
		return LK_EINVAL;
	raw = malloc(n); /* decoded length is at most 3/4 of n */
	if (raw == NULL)
		return LK_ENOMEM;
	len = lk_b64url_decode(seg, n, raw, n);
	if (len <= 0) {
		free(raw);
		return LK_EINVAL;
	}
	/* json_loadb rejects trailing bytes after the value unless asked not to. */
	*out = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (*out == NULL)
		return LK_EINVAL;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return LK_EINVAL;
	}
	return 0;
}

/* A NumericDate claim (RFC 7519 §2): absent (0, *present = 0) or a number. */
static int
jwt_numeric_date(json_t *claims, const char *name, double *v, int *present)
{
	json_t *j = json_object_get(claims, name);

	*present = 0;
	if (j == NULL)
		return 0;
	if (!json_is_number(j))
		return LK_EINVAL;
	*v = json_number_value(j);
	*present = 1;
	return 0;
}

int
jwt_verify_hs256(const char *token, jwt_secret_fn lookup, void *arg, int64_t now_s,
        int64_t leeway_s, json_t **claims)
{
	const char *dot1, *dot2, *secret;
	unsigned char mac[JWT_SIG_LEN], sig[JWT_SIG_LEN + 3];
	json_t *hdr = NULL, *pl = NULL, *alg, *iss;
	size_t len;
	double exp, nbf;
	int rc, has_exp, has_nbf, siglen;

	*claims = NULL;
	if (token == NULL || lookup == NULL)
		return LK_EINVAL;
	/* Bound the length before touching the contents. */
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		return LK_ETOOBIG;
	/* RFC 7515 §7.1 compact serialization: exactly three segments. */
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return LK_EINVAL;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return LK_EINVAL;

	if ((rc = jwt_decode_json(token, (size_t)(dot1 - token), &hdr)) < 0)
		goto out;
	/* RFC 7515 §4.1.1: only HS256; "none" and every other alg are refused. */
	alg = json_object_get(hdr, "alg");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0) {
		rc = LK_EAUTH;
		goto out;
	}
	/* RFC 7515 §4.1.11: "crit" names extensions we would have to honour; we know none. */
	if (json_object_get(hdr, "crit") != NULL) {
		rc = LK_EAUTH;
		goto out;
	}
	if ((rc = jwt_decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pl)) < 0)
		goto out;

	/* The signature: exactly 32 bytes of base64url. */
	siglen = lk_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof(sig));
	if (siglen == LK_ETOOBIG || (siglen >= 0 && siglen != JWT_SIG_LEN)) {
		rc = LK_EAUTH;
		goto out;
	}
	if (siglen < 0) {
		rc = LK_EINVAL;
		goto out;
	}

	/* RFC 7519 §4.1.1 iss: LiveKit puts the API key here to select the secret. */
	iss = json_object_get(pl, "iss");
	if (!json_is_string(iss) || (secret = lookup(json_string_value(iss), arg)) == NULL) {
		rc = LK_EAUTH;
		goto out;
	}
	if ((rc = jwt_hmac(secret, token, (size_t)(dot2 - token), mac)) < 0)
		goto out;
	if (CRYPTO_memcmp(mac, sig, JWT_SIG_LEN) != 0) {
		rc = LK_EAUTH;
		goto out;
	}

	/* RFC 7519 §4.1.4 exp and §4.1.5 nbf, with leeway for clock skew. */
	if ((rc = jwt_numeric_date(pl, "exp", &exp, &has_exp)) < 0 ||
	        (rc = jwt_numeric_date(pl, "nbf", &nbf, &has_nbf)) < 0)
		goto out;
	if (has_exp && (double)now_s - (double)leeway_s > exp) {
		rc = LK_EEXPIRED;
		goto out;
	}
	if (has_nbf && (double)now_s + (double)leeway_s < nbf) {
		rc = LK_EEXPIRED;
		goto out;
	}
	*claims = pl;
	pl = NULL;
	rc = 0;
out:
	json_decref(hdr);
	json_decref(pl);
	return rc;
}

static int
jwt_set_str(json_t *o, const char *key, const char *v)
{
	json_t *s;

	if (v == NULL)
		return 0;
	s = json_string(v);
	if (s == NULL)
		return LK_EINVAL; /* not valid UTF-8 */
	return json_object_set_new(o, key, s) == 0 ? 0 : LK_ENOMEM;
}

int
jwt_access_token(const struct jwt_access *a, const json_t *video_grants, char **out)
{
	json_t *c;
	int64_t now;
	int rc;

	*out = NULL;
	if (a == NULL || a->api_key == NULL || a->api_secret == NULL || a->ttl_s <= 0)
		return LK_EINVAL;
	if (video_grants != NULL && !json_is_object(video_grants))
		return LK_EINVAL;
	if (a->attributes != NULL && !json_is_object(a->attributes))
		return LK_EINVAL;
	now = a->now_s != 0 ? a->now_s : lk_wall_s();
	c = json_object();
	if (c == NULL)
		return LK_ENOMEM;
	/* agent-protocol.md §1.2: iss = API key, sub = identity ("" for a worker). */
	if ((rc = jwt_set_str(c, "iss", a->api_key)) < 0 ||
	        (rc = jwt_set_str(c, "sub", a->identity ? a->identity : "")) < 0 ||
	        (rc = jwt_set_str(c, "name", a->name)) < 0 ||
	        (rc = jwt_set_str(c, "kind", a->kind)) < 0 ||
	        (rc = jwt_set_str(c, "metadata", a->metadata)) < 0)
		goto out;
	if (json_object_set_new(c, "nbf", json_integer(now)) != 0 ||
	        json_object_set_new(c, "exp", json_integer(now + a->ttl_s)) != 0) {
		rc = LK_ENOMEM;
		goto out;
	}
	if (a->attributes != NULL &&
	        json_object_set_new(c, "attributes", json_deep_copy(a->attributes)) != 0) {
		rc = LK_ENOMEM;
		goto out;
	}
	/* Grants as camelCase keys under "video" (auth/grants.go VideoGrant). */
	if (video_grants != NULL &&
	        json_object_set_new(c, "video", json_deep_copy(video_grants)) != 0) {
		rc = LK_ENOMEM;
		goto out;
	}
	rc = jwt_sign_hs256(c, a->api_secret, out);
out:
	json_decref(c);
	return rc;
}
