/*
 * auth: token lookup, HS256 verification and the per-endpoint grant checks
 * of lk-devserver (livekit-server pkg/service/auth.go semantics: an admin
 * call needs roomAdmin for exactly the request's room). Runs in lk-devserver.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/jwt.h"
#include "common/util.h"
#include "net/http.h"
#include "devserver/auth.h"
#include "devserver/ds.h"

const char *
ds_secret_for(const char *api_key, void *arg)
{
	struct ds *ds = arg;
	int i;

	if (ds == NULL || api_key == NULL)
		return NULL;
	for (i = 0; i < ds->nkeys; i++)
		if (strcmp(ds->keys[i].key, api_key) == 0)
			return ds->keys[i].secret;
	return NULL;
}

const char *
ds_auth_token(const char *authorization, const char *access_token)
{
	/* livekit-server reads the header first, then the query parameter. */
	if (authorization != NULL && authorization[0] != '\0') {
		if (strncasecmp(authorization, "Bearer ", 7) != 0)
			return NULL;
		authorization += 7;
		while (*authorization == ' ')
			authorization++;
		return authorization[0] != '\0' ? authorization : NULL;
	}
	if (access_token != NULL && access_token[0] != '\0')
		return access_token;
	return NULL;
}

static const char *
ds_auth_claim_str(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : "";
}

int
ds_auth_verify(
        struct ds *ds, const char *token, int64_t now_s, struct ds_auth *out, const char **why)
{
	json_t *claims = NULL, *video, *attrs;
	int rc;

	memset(out, 0, sizeof(*out));
	if (token == NULL) {
		*why = "authorization required: no access token";
		return LK_EAUTH;
	}
	rc = jwt_verify_hs256(token, ds_secret_for, ds, now_s, JWT_LEEWAY_S, &claims);
	if (rc < 0) {
		switch (rc) {
		case LK_EEXPIRED:
			*why = "invalid token: expired or not yet valid";
			break;
		case LK_EAUTH:
			*why = "invalid token: unknown API key or bad signature";
			break;
		case LK_ETOOBIG:
			*why = "invalid token: too long";
			break;
		default:
			*why = "invalid token: malformed";
			break;
		}
		return rc == LK_EEXPIRED ? LK_EEXPIRED : LK_EAUTH;
	}
	if (!json_is_object(claims)) {
		json_decref(claims);
		*why = "invalid token: claims are not an object";
		return LK_EAUTH;
	}
	video = json_object_get(claims, "video");
	attrs = json_object_get(claims, "attributes");
	out->claims = claims;
	out->video = json_is_object(video) ? video : NULL;
	out->api_key = ds_auth_claim_str(claims, "iss");
	out->identity = ds_auth_claim_str(claims, "sub");
	out->name = ds_auth_claim_str(claims, "name");
	out->kind = ds_auth_claim_str(claims, "kind");
	out->metadata = ds_auth_claim_str(claims, "metadata");
	out->attributes = json_is_object(attrs) ? attrs : NULL;
	return 0;
}

int
ds_auth_request(struct ds *ds, struct http_req *req, struct ds_auth *out, const char **why)
{
	const char *tok = ds_auth_token(
	        http_req_header(req, "Authorization"), http_req_query(req, "access_token"));

	return ds_auth_verify(ds, tok, lk_wall_s(), out, why);
}

void
ds_auth_clear(struct ds_auth *a)
{
	if (a->claims != NULL)
		json_decref(a->claims);
	memset(a, 0, sizeof(*a));
}

int
ds_auth_grant(const struct ds_auth *a, const char *grant)
{
	return a->video != NULL && json_is_true(json_object_get(a->video, grant));
}

const char *
ds_auth_grant_str(const struct ds_auth *a, const char *grant)
{
	return ds_auth_claim_str(a->video, grant);
}

int
ds_auth_grant_default_true(const struct ds_auth *a, const char *grant)
{
	json_t *v = a->video != NULL ? json_object_get(a->video, grant) : NULL;

	/* VideoGrant canPublish/canSubscribe/canPublishData: nil means allowed. */
	return v == NULL || json_is_null(v) || json_is_true(v);
}

int
ds_auth_check_twirp(const struct ds_auth *a, const char *method, const char *room, const char **why)
{
	if (strcmp(method, "RoomService/CreateRoom") == 0 ||
	        strcmp(method, "RoomService/DeleteRoom") == 0) {
		if (ds_auth_grant(a, "roomCreate"))
			return 0;
		*why = "permissions denied: roomCreate grant required";
		return LK_EAUTH;
	}
	if (strcmp(method, "RoomService/ListRooms") == 0) {
		if (ds_auth_grant(a, "roomList"))
			return 0;
		*why = "permissions denied: roomList grant required";
		return LK_EAUTH;
	}
	/* Every other call is a per-room admin call (ListParticipants, dispatch). */
	if (!ds_auth_grant(a, "roomAdmin")) {
		*why = "permissions denied: roomAdmin grant required";
		return LK_EAUTH;
	}
	if (room == NULL || strcmp(ds_auth_grant_str(a, "room"), room) != 0) {
		*why = "permissions denied: token room does not match the request room";
		return LK_EAUTH;
	}
	return 0;
}

int
ds_auth_check_rtc(const struct ds_auth *a, const char **why)
{
	if (!ds_auth_grant(a, "roomJoin")) {
		*why = "permissions denied: roomJoin grant required";
		return LK_EAUTH;
	}
	if (ds_auth_grant_str(a, "room")[0] == '\0') {
		*why = "permissions denied: token has no room";
		return LK_EAUTH;
	}
	if (a->identity[0] == '\0') {
		*why = "permissions denied: token has no identity (sub)";
		return LK_EAUTH;
	}
	return 0;
}

int
ds_auth_check_agent(const struct ds_auth *a, const char **why)
{
	if (ds_auth_grant(a, "agent"))
		return 0;
	*why = "permissions denied: agent grant required";
	return LK_EAUTH;
}

int
ds_auth_kind(const struct ds_auth *a)
{
	/* livekit_models.proto ParticipantInfo.Kind; the claim is lower case. */
	static const struct {
		const char *name;
		int kind;
	} kinds[] = {
	        {"standard", 0},
	        {"ingress", 1},
	        {"egress", 2},
	        {"sip", 3},
	        {"agent", 4},
	        {"connector", 7},
	        {"bridge", 8},
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcasecmp(a->kind, kinds[i].name) == 0)
			return kinds[i].kind;
	return 0;
}

#define DS_MAX_KEYS 64

static void
ds_auth_trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

int
ds_auth_parse_keys(const char *spec, struct ds_key **keys, int *nkeys, char *err, size_t errlen)
{
	struct ds_key *k = NULL;
	const char *p, *end, *colon, *ks, *ke, *vs, *ve;
	int n = 0;

	*keys = NULL;
	*nkeys = 0;
	if (spec == NULL)
		spec = "";
	for (p = spec; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, ",\n");
		ks = p;
		ke = end;
		ds_auth_trim(&ks, &ke);
		if (ks == ke)
			continue; /* empty entry */
		colon = memchr(ks, ':', (size_t)(ke - ks));
		if (colon == NULL) {
			snprintf(err, errlen, "API keys: entry %d is not key:secret", n + 1);
			goto fail;
		}
		vs = colon + 1;
		ve = ke;
		ke = colon;
		ds_auth_trim(&ks, &ke);
		ds_auth_trim(&vs, &ve);
		if (ks == ke || vs == ve) {
			snprintf(err, errlen, "API keys: entry %d has an empty key or secret",
			        n + 1);
			goto fail;
		}
		if (n >= DS_MAX_KEYS) {
			snprintf(err, errlen, "API keys: more than %d keys", DS_MAX_KEYS);
			goto fail;
		}
		k = lk_xrealloc(k, (size_t)(n + 1) * sizeof(*k));
		k[n].key = strndup(ks, (size_t)(ke - ks));
		k[n].secret = strndup(vs, (size_t)(ve - vs));
		if (k[n].key == NULL || k[n].secret == NULL) {
			free(k[n].key);
			free(k[n].secret);
			snprintf(err, errlen, "API keys: out of memory");
			goto fail;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "API keys: none given (expected key:secret)");
		goto fail;
	}
	*keys = k;
	*nkeys = n;
	return 0;
fail:
	ds_auth_free_keys(k, n);
	return -1;
}

void
ds_auth_free_keys(struct ds_key *keys, int nkeys)
{
	int i;

	for (i = 0; i < nkeys; i++) {
		free(keys[i].key);
		/* Secrets do not linger in freed heap. */
		if (keys[i].secret != NULL)
			OPENSSL_cleanse(keys[i].secret, strlen(keys[i].secret));
		free(keys[i].secret);
	}
	free(keys);
}
