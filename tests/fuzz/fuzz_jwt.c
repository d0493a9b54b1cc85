/*
 * fuzz_jwt: feeds arbitrary bytes as a token to jwt_verify_hs256 (the dev
 * server's check of every client token) with a fixed key table and clock,
 * and to the base64url decoder underneath it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jwt.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
fuzz_jwt_lookup(const char *iss, void *arg)
{
	(void)arg;
	if (strcmp(iss, "devkey") == 0)
		return "secret";
	if (strcmp(iss, "APIotherkey") == 0)
		return "a-much-longer-secret-of-the-second-key-0123456789";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok;
	uint8_t *raw;
	json_t *claims = NULL;
	int rc;

	if (size > 4 * JWT_MAX_LEN)
		return 0;
	tok = malloc(size + 1);
	if (tok == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	/* A time inside the seed tokens' validity, so accepted paths are reached. */
	rc = jwt_verify_hs256(tok, fuzz_jwt_lookup, NULL, 1795286400, JWT_LEEWAY_S, &claims);
	if (rc == 0) {
		if (claims == NULL || !json_is_object(claims))
			abort();
		json_decref(claims);
	} else if (claims != NULL) {
		abort();
	}
	/* The decoder alone, into an exactly sized buffer so ASan sees overruns. */
	raw = malloc(size / 4 * 3 + 3);
	if (raw != NULL) {
		rc = lk_b64url_decode(tok, size, raw, size / 4 * 3 + 3);
		if (rc > (int)(size / 4 * 3 + 3))
			abort();
		free(raw);
	}
	free(tok);
	return 0;
}
