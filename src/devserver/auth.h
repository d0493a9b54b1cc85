/*
 * auth: lk-devserver's access-token checks. Finds the token of a request
 * (Authorization: Bearer, else the access_token query parameter), verifies
 * it (HS256, 60 s leeway) and answers the per-endpoint grant questions the
 * way livekit-server does. Runs in lk-devserver only.
 */
#ifndef LK_DS_AUTH_H
#define LK_DS_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct ds;
struct ds_key;
struct http_req;

/* A verified token. Strings point into claims and live as long as it. */
struct ds_auth {
	json_t *claims; /* owned */
	json_t *video; /* the "video" grant object, borrowed; may be NULL */
	const char *api_key; /* iss */
	const char *identity; /* sub, "" when absent */
	const char *name; /* "" when absent */
	const char *kind; /* "" when absent */
	const char *metadata; /* "" when absent */
	json_t *attributes; /* object or NULL, borrowed */
};

/*
 * The token of a request: the Authorization header's Bearer value when the
 * header is present, else access_token. NULL when there is none (or the
 * header is not a Bearer one).
 */
const char *ds_auth_token(const char *authorization, const char *access_token);

/*
 * Verify token at now_s. 0 with *out filled, or a negative lk_err with
 * *why a short human reason ("invalid token", "token expired", ...).
 */
int ds_auth_verify(
        struct ds *ds, const char *token, int64_t now_s, struct ds_auth *out, const char **why);

/* ds_auth_token + ds_auth_verify for an HTTP request, at the current time. */
int ds_auth_request(struct ds *ds, struct http_req *req, struct ds_auth *out, const char **why);

void ds_auth_clear(struct ds_auth *a);

/* video.<grant> is JSON true. */
int ds_auth_grant(const struct ds_auth *a, const char *grant);
/* video.<grant> as a string, or "" when absent or not a string. */
const char *ds_auth_grant_str(const struct ds_auth *a, const char *grant);
/* A boolean permission that defaults to true when absent (canPublish...). */
int ds_auth_grant_default_true(const struct ds_auth *a, const char *grant);

/*
 * Grant decisions. Each returns 0 when allowed, else LK_EAUTH with *why.
 * Twirp: method is "Service/Method" ("RoomService/CreateRoom"); room is
 * the request's room (for the per-room admin calls).
 */
int ds_auth_check_twirp(
        const struct ds_auth *a, const char *method, const char *room, const char **why);
/* /rtc: roomJoin and a room; identity must be set. */
int ds_auth_check_rtc(const struct ds_auth *a, const char **why);
/* /agent: the agent grant. */
int ds_auth_check_agent(const struct ds_auth *a, const char **why);

/*
 * API keys from "key:secret[,key2:secret2]" (the --keys form) or the
 * livekit-server LIVEKIT_KEYS form "key: secret" (entries separated by
 * commas or newlines, blanks around key and secret ignored). 0 with a new
 * array in *keys, or -1 with a message (that never contains a secret).
 */
int ds_auth_parse_keys(
        const char *spec, struct ds_key **keys, int *nkeys, char *err, size_t errlen);
void ds_auth_free_keys(struct ds_key *keys, int nkeys);

/* ParticipantInfo.Kind from the token's "kind" claim (livekit_models.proto). */
int ds_auth_kind(const struct ds_auth *a);

#endif
