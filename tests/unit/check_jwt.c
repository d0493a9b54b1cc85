/*
 * check_jwt: unit tests for src/common/jwt.c. Verifies real tokens signed
 * by livekit-server-sdk (fixtures/jwt/, see its README) at fixed times, the
 * leeway edges, every rejection path, and that our own tokens verify here
 * and, when Node and the test peers are installed, in livekit-server-sdk.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "common/jwt.h"
#include "common/util.h"

static const char *
srcdir(void)
{
	const char *s = getenv("LK_SRCDIR");

	return s != NULL && *s != '\0' ? s : LK_SRCDIR;
}

/* Issuer -> secret table passed as the lookup's arg. */
struct keys {
	const char *iss[3];
	const char *secret[3];
};

static const struct keys good_keys = {
        {"devkey", "APIotherkey", NULL},
        {"secret", "a-much-longer-secret-of-the-second-key-0123456789", NULL},
};

static const char *
lookup(const char *iss, void *arg)
{
	const struct keys *k = arg;
	int i;

	for (i = 0; k->iss[i] != NULL; i++)
		if (strcmp(k->iss[i], iss) == 0)
			return k->secret[i];
	return NULL;
}

static int
verify(const char *tok, const struct keys *k, int64_t now, json_t **claims)
{
	return jwt_verify_hs256(tok, lookup, (void *)k, now, JWT_LEEWAY_S, claims);
}

static json_t *
fixture(const char *name)
{
	char path[4096];
	json_error_t e;
	json_t *f;

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/jwt/%s.json", srcdir(), name);
	f = json_load_file(path, 0, &e);
	ck_assert_msg(f != NULL, "%s: %s", path, e.text);
	return f;
}

static const char *
fstr(json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key));
}

static int64_t
fint(json_t *f, const char *key)
{
	return json_integer_value(json_object_get(f, key));
}

static const char *const fixture_names[] = {"participant", "agent", "worker"};

START_TEST(test_sdk_tokens_verify)
{
	json_t *f = fixture(fixture_names[_i]), *c = NULL;
	const char *tok = fstr(f, "token");
	int64_t nbf = fint(f, "nbf"), exp = fint(f, "exp");

	ck_assert_int_gt(exp, nbf);
	ck_assert_int_eq(verify(tok, &good_keys, nbf + 10, &c), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), fstr(f, "key"));
	ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), exp);
	ck_assert(json_equal(json_object_get(c, "video"), json_object_get(f, "video")));
	if (fstr(f, "sub")[0] != '\0')
		ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), fstr(f, "sub"));
	if (fstr(f, "name") != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(c, "name")), fstr(f, "name"));
	json_decref(c);
	json_decref(f);
}
END_TEST

START_TEST(test_sdk_tokens_time_window)
{
	json_t *f = fixture(fixture_names[_i]), *c = NULL;
	const char *tok = fstr(f, "token");
	int64_t nbf = fint(f, "nbf"), exp = fint(f, "exp");

	/* exp and nbf hold with JWT_LEEWAY_S (60 s) either side, inclusive. */
	ck_assert_int_eq(verify(tok, &good_keys, exp + 60, &c), 0);
	json_decref(c);
	ck_assert_int_eq(verify(tok, &good_keys, exp + 61, &c), LK_EEXPIRED);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(verify(tok, &good_keys, exp + 86400, &c), LK_EEXPIRED);
	ck_assert_int_eq(verify(tok, &good_keys, nbf - 60, &c), 0);
	json_decref(c);
	ck_assert_int_eq(verify(tok, &good_keys, nbf - 61, &c), LK_EEXPIRED);
	ck_assert_ptr_null(c);
	/* Without leeway the edges are exact. */
	ck_assert_int_eq(
	        jwt_verify_hs256(tok, lookup, (void *)&good_keys, exp + 1, 0, &c), LK_EEXPIRED);
	ck_assert_int_eq(
	        jwt_verify_hs256(tok, lookup, (void *)&good_keys, nbf - 1, 0, &c), LK_EEXPIRED);
	ck_assert_int_eq(jwt_verify_hs256(tok, lookup, (void *)&good_keys, exp, 0, &c), 0);
	json_decref(c);
	json_decref(f);
}
END_TEST

START_TEST(test_wrong_secret_or_issuer)
{
	static const struct keys wrong = {{"devkey", "APIotherkey", NULL},
	        {"secreT", "a-much-longer-secret-of-the-second-key-012345678", NULL}};
	static const struct keys none = {{NULL}, {NULL}};
	json_t *f = fixture(fixture_names[_i]), *c = NULL;
	int64_t now = fint(f, "nbf") + 1;

	ck_assert_int_eq(verify(fstr(f, "token"), &wrong, now, &c), LK_EAUTH);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(verify(fstr(f, "token"), &none, now, &c), LK_EAUTH);
	/* A bad signature wins over expiry: nothing unauthenticated is reported. */
	ck_assert_int_eq(verify(fstr(f, "token"), &wrong, fint(f, "exp") + 1000, &c), LK_EAUTH);
	json_decref(f);
}
END_TEST

/* Replace one segment of a token (0 header, 1 payload, 2 signature). */
static char *
with_segment(const char *tok, int which, const char *seg)
{
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	char *out = malloc(strlen(tok) + strlen(seg) + 4);

	if (which == 0)
		sprintf(out, "%s%s", seg, d1);
	else if (which == 1)
		sprintf(out, "%.*s.%s%s", (int)(d1 - tok), tok, seg, d2);
	else
		sprintf(out, "%.*s.%s", (int)(d2 - tok), tok, seg);
	return out;
}

static char *
b64url(const char *s)
{
	char *out = malloc(lk_b64_enclen(strlen(s)) + 1);

	lk_b64url_encode(s, strlen(s), out);
	return out;
}

START_TEST(test_tampering)
{
	json_t *f = fixture("participant"), *c = NULL;
	const char *tok = fstr(f, "token"), *d2 = strrchr(tok, '.');
	int64_t now = fint(f, "nbf") + 1;
	char *p, *enc, *t;
	int plen;

	/* Payload changed (identity swapped), signature kept. */
	p = malloc(4096);
	t = strdup(tok);
	*strrchr(t, '.') = '\0';
	plen = lk_b64url_decode(strchr(t, '.') + 1, strlen(strchr(t, '.') + 1), p, 4095);
	ck_assert_int_gt(plen, 0);
	free(t);
	p[plen] = '\0';
	ck_assert_ptr_nonnull(strstr(p, "\"alice\""));
	memcpy(strstr(p, "\"alice\""), "\"mally\"", 7);
	enc = b64url(p);
	t = with_segment(tok, 1, enc);
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EAUTH);
	free(t);
	free(enc);
	free(p);

	/* One signature character changed (the first: all its bits are used). */
	t = strdup(tok);
	t[d2 - tok + 1] = t[d2 - tok + 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EAUTH);
	free(t);

	/* Signature truncated, extended, empty. */
	t = strdup(tok);
	t[strlen(t) - 3] = '\0';
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EAUTH);
	free(t);
	t = malloc(strlen(tok) + 8);
	sprintf(t, "%sAAAA", tok);
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EAUTH);
	free(t);
	t = with_segment(tok, 2, "");
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EAUTH);
	free(t);
	ck_assert_ptr_null(c);
	json_decref(f);
}
END_TEST

START_TEST(test_alg_must_be_hs256)
{
	static const char *const hdrs[] = {"{\"alg\":\"none\"}",
	        "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}",
	        "{\"alg\":\"RS256\"}", "{\"typ\":\"JWT\"}", "{\"alg\":null}",
	        "{\"alg\":[\"HS256\"]}", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}"};
	json_t *f = fixture("participant"), *c = NULL;
	const char *tok = fstr(f, "token");
	int64_t now = fint(f, "nbf") + 1;
	char *enc, *t, *t2;
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		enc = b64url(hdrs[i]);
		t = with_segment(tok, 0, enc);
		ck_assert_msg(verify(t, &good_keys, now, &c) == LK_EAUTH, "accepted %s", hdrs[i]);
		/* The classic "alg":"none" token with an empty signature. */
		t2 = with_segment(t, 2, "");
		ck_assert_int_eq(verify(t2, &good_keys, now, &c), LK_EAUTH);
		free(t2);
		free(t);
		free(enc);
	}
	ck_assert_ptr_null(c);
	json_decref(f);
}
END_TEST

START_TEST(test_malformed)
{
	json_t *f = fixture("participant"), *c = NULL;
	const char *tok = fstr(f, "token");
	int64_t now = fint(f, "nbf") + 1;
	char *t;

	ck_assert_int_eq(verify("", &good_keys, now, &c), LK_EINVAL);
	ck_assert_int_eq(verify("abc", &good_keys, now, &c), LK_EINVAL);
	ck_assert_int_eq(verify("a.b", &good_keys, now, &c), LK_EINVAL);
	ck_assert_int_eq(verify("..", &good_keys, now, &c), LK_EINVAL);
	ck_assert_int_eq(jwt_verify_hs256(NULL, lookup, NULL, now, 60, &c), LK_EINVAL);
	/* Four segments. */
	t = malloc(strlen(tok) + 4);
	sprintf(t, "%s.x", tok);
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	free(t);
	/* Bad base64url: a character outside the alphabet, standard alphabet, whitespace. */
	t = strdup(tok);
	t[5] = '!';
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	strcpy(t, tok);
	t[strchr(tok, '.') - tok + 3] = '+';
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	strcpy(t, tok);
	t[strlen(t) - 3] = ' ';
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	free(t);
	/* Header that is not JSON / not an object. */
	t = with_segment(tok, 0, "bm90IGpzb24"); /* "not json" */
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	free(t);
	t = with_segment(tok, 0, "WyJIUzI1NiJd"); /* ["HS256"] */
	ck_assert_int_eq(verify(t, &good_keys, now, &c), LK_EINVAL);
	free(t);
	ck_assert_ptr_null(c);
	json_decref(f);
}
END_TEST

START_TEST(test_length_bound)
{
	char *t = malloc(JWT_MAX_LEN + 2);
	json_t *c = NULL;

	memset(t, 'A', JWT_MAX_LEN + 1);
	t[JWT_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(verify(t, &good_keys, 0, &c), LK_ETOOBIG);
	/* At the limit it is parsed (and refused as malformed, not as too big). */
	t[JWT_MAX_LEN] = '\0';
	t[100] = '.';
	t[200] = '.';
	ck_assert_int_eq(verify(t, &good_keys, 0, &c), LK_EINVAL);
	ck_assert_ptr_null(c);
	free(t);
}
END_TEST

/* A token over arbitrary header and payload text, correctly signed. */
static char *
sign_raw(const char *hdr, const char *payload, const char *secret)
{
	char *h = b64url(hdr), *p = b64url(payload), *t;
	unsigned char mac[32];
	unsigned int maclen = 0;
	size_t len;

	t = malloc(strlen(h) + strlen(p) + 64);
	len = (size_t)sprintf(t, "%s.%s", h, p);
	ck_assert_ptr_nonnull(HMAC(
	        EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)t, len, mac, &maclen));
	t[len++] = '.';
	lk_b64url_encode(mac, maclen, t + len);
	free(h);
	free(p);
	return t;
}

static int
verify_raw(const char *hdr, const char *payload, int64_t now)
{
	char *t = sign_raw(hdr, payload, "secret");
	json_t *c = NULL;
	int rc = verify(t, &good_keys, now, &c);

	ck_assert(rc == 0 ? c != NULL : c == NULL);
	json_decref(c);
	free(t);
	return rc;
}

START_TEST(test_claims_checked)
{
	const char *h = "{\"alg\":\"HS256\"}";

	/* The signing input is checked first; this helper itself is correct. */
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\"}", 5), 0);
	ck_assert_int_eq(verify_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
	                         "{\"iss\":\"devkey\"}", 5),
	        0);
	/* Payload must be one JSON object, nothing after it, no duplicate keys. */
	ck_assert_int_eq(verify_raw(h, "[\"iss\",\"devkey\"]", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "\"devkey\"", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\"} x", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\"}{}", 5), LK_EINVAL);
	ck_assert_int_eq(
	        verify_raw(h, "{\"iss\":\"devkey\",\"iss\":\"APIotherkey\"}", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\"", 5), LK_EINVAL);
	/* iss must be a string naming a known key. */
	ck_assert_int_eq(verify_raw(h, "{}", 5), LK_EAUTH);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":1}", 5), LK_EAUTH);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"nobody\"}", 5), LK_EAUTH);
	/* exp/nbf must be numbers when present; reals are compared too. */
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"exp\":\"100\"}", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"nbf\":null}", 5), LK_EINVAL);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"exp\":100.5}", 160), 0);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"exp\":100.5}", 161), LK_EEXPIRED);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"nbf\":1e3}", 940), 0);
	ck_assert_int_eq(verify_raw(h, "{\"iss\":\"devkey\",\"nbf\":1e3}", 939), LK_EEXPIRED);
}
END_TEST

START_TEST(test_sign_known_answer)
{
	/* Expected token computed independently (Python hmac + base64). */
	static const char expect[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	                             "eyJpc3MiOiJkZXZrZXkiLCJzdWIiOiJib2IiLCJleHAiOjIwMDAwMDAwMDB9."
	                             "CAFPjSBSW-Kf5NhAed1KaAakPv3PojwQjMiY3VeaKUk";
	json_t *claims = json_pack(
	        "{s:s, s:s, s:I}", "iss", "devkey", "sub", "bob", "exp", (json_int_t)2000000000);
	json_t *c = NULL;
	char *tok = NULL;

	ck_assert_int_eq(jwt_sign_hs256(claims, "secret", &tok), 0);
	ck_assert_str_eq(tok, expect);
	ck_assert_int_eq(verify(tok, &good_keys, 1999999999, &c), 0);
	ck_assert(json_equal(c, claims));
	json_decref(c);
	free(tok);
	/* Only objects are signed. */
	tok = (char *)1;
	ck_assert_int_eq(jwt_sign_hs256(json_object_get(claims, "iss"), "secret", &tok), LK_EINVAL);
	ck_assert_ptr_null(tok);
	json_decref(claims);
}
END_TEST

static json_t *
agent_grants(void)
{
	return json_pack("{s:b, s:b, s:s}", "agent", 1, "roomJoin", 1, "room", "r \"1\"");
}

START_TEST(test_access_token_claims)
{
	json_t *grants = agent_grants(), *attrs = json_pack("{s:s}", "k", "v"), *c = NULL;
	struct jwt_access a = {
	        .api_key = "devkey",
	        .api_secret = "secret",
	        .identity = "agent-AJ_1",
	        .name = "Agent",
	        .kind = "agent",
	        .metadata = "{\"m\":1}",
	        .attributes = attrs,
	        .ttl_s = 3600,
	        .now_s = 1700000000,
	};
	char *tok = NULL;
	const char *d1;
	char hdr[64];

	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), 0);
	/* agent-protocol.md §1.2: header {"alg":"HS256","typ":"JWT"}. */
	d1 = strchr(tok, '.');
	ck_assert_int_eq(lk_b64url_decode(tok, (size_t)(d1 - tok), hdr, sizeof(hdr) - 1), 27);
	hdr[27] = '\0';
	ck_assert_str_eq(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	ck_assert_int_eq(verify(tok, &good_keys, 1700000001, &c), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), "devkey");
	ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), "agent-AJ_1");
	ck_assert_str_eq(json_string_value(json_object_get(c, "name")), "Agent");
	ck_assert_str_eq(json_string_value(json_object_get(c, "kind")), "agent");
	ck_assert_str_eq(json_string_value(json_object_get(c, "metadata")), "{\"m\":1}");
	ck_assert_int_eq(json_integer_value(json_object_get(c, "nbf")), 1700000000);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), 1700003600);
	ck_assert(json_equal(json_object_get(c, "attributes"), attrs));
	ck_assert(json_equal(json_object_get(c, "video"), grants));
	json_decref(c);
	ck_assert_int_eq(verify(tok, &good_keys, 1700003661, &c), LK_EEXPIRED);
	free(tok);
	json_decref(grants);
	json_decref(attrs);
}
END_TEST

START_TEST(test_access_token_worker_minimal)
{
	json_t *grants = json_pack("{s:b}", "agent", 1), *c = NULL;
	struct jwt_access a = {.api_key = "APIotherkey",
	        .api_secret = "a-much-longer-secret-of-the-second-key-0123456789",
	        .ttl_s = 6 * 3600};
	int64_t now = lk_wall_s();
	char *tok = NULL;

	/* now_s = 0 means the current time; sub is "" for a worker (§1.2). */
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), 0);
	ck_assert_int_eq(verify(tok, &good_keys, now, &c), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), "");
	ck_assert_int_le(json_integer_value(json_object_get(c, "nbf")) - now, 5);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")) -
	                json_integer_value(json_object_get(c, "nbf")),
	        6 * 3600);
	ck_assert_ptr_null(json_object_get(c, "name"));
	ck_assert_ptr_null(json_object_get(c, "kind"));
	ck_assert_ptr_null(json_object_get(c, "metadata"));
	ck_assert_ptr_null(json_object_get(c, "attributes"));
	json_decref(c);
	free(tok);

	/* Refused: no ttl, no key, grants that are not an object, non-UTF-8 name. */
	a.ttl_s = 0;
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), LK_EINVAL);
	a.ttl_s = 10;
	a.api_key = NULL;
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), LK_EINVAL);
	a.api_key = "k";
	ck_assert_int_eq(jwt_access_token(&a, json_object_get(grants, "agent"), &tok), LK_EINVAL);
	a.name = "\xff";
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), LK_EINVAL);
	ck_assert_ptr_null(tok);
	json_decref(grants);
}
END_TEST

/*
 * Our token must pass livekit-server-sdk's TokenVerifier (jose under the
 * hood). Needs node and tests/node_modules; without them this is a no-op.
 */
START_TEST(test_access_token_accepted_by_sdk)
{
	json_t *grants = agent_grants();
	struct jwt_access a = {.api_key = "devkey",
	        .api_secret = "secret",
	        .identity = "agent-AJ_2",
	        .kind = "agent",
	        .ttl_s = 600};
	char mods[4096], cmd[8192], out[1024];
	char *tok = NULL;
	FILE *p;
	size_t n;
	int st;

	snprintf(mods, sizeof(mods), "%s/tests/node_modules/livekit-server-sdk", srcdir());
	if (access(mods, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
		fprintf(stderr,
		        "check_jwt: node or livekit-server-sdk missing, sdk check skipped\n");
		json_decref(grants);
		return;
	}
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), 0);
	/* The token is base64url and dots only: safe on a command line. */
	snprintf(cmd, sizeof(cmd),
	        "cd '%s/tests' && node -e '"
	        "const {TokenVerifier}=require(\"livekit-server-sdk\");"
	        "new TokenVerifier(\"devkey\",\"secret\").verify(process.argv[1])"
	        ".then(c=>{console.log(JSON.stringify(c));})"
	        ".catch(e=>{console.log(\"ERR \"+e);process.exit(1);})' '%s'",
	        srcdir(), tok);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sdk refused our token: %s", out);
	ck_assert_msg(strstr(out, "\"sub\":\"agent-AJ_2\"") != NULL, "claims: %s", out);
	ck_assert_msg(strstr(out, "\"agent\":true") != NULL, "claims: %s", out);
	free(tok);

	/* And the same verifier refuses a token signed with another secret. */
	a.api_secret = "not-the-secret";
	ck_assert_int_eq(jwt_access_token(&a, grants, &tok), 0);
	snprintf(cmd, sizeof(cmd),
	        "cd '%s/tests' && node -e '"
	        "const {TokenVerifier}=require(\"livekit-server-sdk\");"
	        "new TokenVerifier(\"devkey\",\"secret\").verify(process.argv[1])"
	        ".then(()=>process.exit(0)).catch(()=>process.exit(3))' '%s'",
	        srcdir(), tok);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	free(tok);
	json_decref(grants);
}
END_TEST

static Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");

	tcase_add_loop_test(tc, test_sdk_tokens_verify, 0, 3);
	tcase_add_loop_test(tc, test_sdk_tokens_time_window, 0, 3);
	tcase_add_loop_test(tc, test_wrong_secret_or_issuer, 0, 3);
	tcase_add_test(tc, test_tampering);
	tcase_add_test(tc, test_alg_must_be_hs256);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_claims_checked);
	tcase_add_test(tc, test_sign_known_answer);
	tcase_add_test(tc, test_access_token_claims);
	tcase_add_test(tc, test_access_token_worker_minimal);
	tcase_add_test(tc, test_access_token_accepted_by_sdk);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jwt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
