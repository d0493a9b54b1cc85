/*
 * fuzz_ws_handshake: the WebSocket client's reading of a server's upgrade
 * response head (src/net/httphead.c), the first untrusted bytes a client
 * sees. Any input must parse, be refused, or ask for more, without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The accept value for RFC 6455's sample key "dGhlIHNhbXBsZSBub25jZQ==". */
	static const char accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
	struct httphead *h = malloc(sizeof(*h));
	const char *v;
	size_t vlen, i;
	int rc;

	if (h == NULL)
		return 0;
	/* Whole input, then every prefix length a short read could produce. */
	rc = httphead_parse_response(data, size, h);
	if (rc > 0) {
		if ((size_t)rc > size || h->status < 100 || h->status > 599)
			abort();
		for (i = 0; i < h->nfields; i++) {
			/* Every field must lie inside the input. */
			if (h->fields[i].name < (const char *)data ||
			        h->fields[i].value + h->fields[i].valuelen >
			                (const char *)data + size)
				abort();
		}
		httphead_check_ws_upgrade(h, accept);
		v = httphead_get(h, "Connection", &vlen);
		if (v)
			httphead_has_token(v, vlen, "upgrade");
	}
	for (i = 0; i < size && i < 64; i++) {
		rc = httphead_parse_response(data, i, h);
		if (rc > (int)i)
			abort();
	}
	free(h);
	return 0;
}
