/*
 * jwt: HS256 JSON Web Tokens as LiveKit uses them (OpenSSL HMAC, jansson
 * claims). Signing for the worker's and the dev server's tokens; strict
 * verification (issuer -> secret, signature, exp/nbf with leeway) for the
 * dev server. Untrusted input: lengths are bounded before decoding.
 */
#ifndef LK_JWT_H
#define LK_JWT_H

#include <stdint.h>
#include <jansson.h>

#define JWT_MAX_LEN 16384
#define JWT_LEEWAY_S 60

/* Sign claims with HS256 (header {"alg":"HS256","typ":"JWT"}). *out is malloc'd. */
int jwt_sign_hs256(const json_t *claims, const char *secret, char **out);

/* Returns the secret for an issuer (API key), or NULL if unknown. */
typedef const char *(*jwt_secret_fn)(const char *iss, void *arg);

/*
 * Verify a token: alg must be HS256, iss must map to a secret, the
 * signature must match, and exp/nbf (when present) must hold at now_s with
 * leeway_s. On success *claims is a new reference the caller json_decref()s.
 * Errors: LK_EINVAL (malformed), LK_ETOOBIG, LK_EAUTH (unknown iss, bad
 * signature, wrong alg), LK_EEXPIRED.
 */
int jwt_verify_hs256(const char *token, jwt_secret_fn lookup, void *arg, int64_t now_s,
        int64_t leeway_s, json_t **claims);

/*
 * A LiveKit access token: {iss, sub (identity, may be ""), nbf=now,
 * exp=now+ttl, name?, kind?, metadata?, attributes?, video=<grants>}.
 * video_grants is a JSON object (borrowed). *out is malloc'd.
 */
struct jwt_access {
	const char *api_key;
	const char *api_secret;
	const char *identity; /* may be NULL */
	const char *name; /* may be NULL */
	const char *kind; /* "agent", or NULL */
	const char *metadata; /* may be NULL */
	json_t *attributes; /* object or NULL (borrowed) */
	int64_t ttl_s;
	int64_t now_s; /* 0 = current time */
};
int jwt_access_token(const struct jwt_access *a, const json_t *video_grants, char **out);

#endif
