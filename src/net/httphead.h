/*
 * httphead: strict parser for the HTTP/1.1 response head a WebSocket client
 * reads after its upgrade request (RFC 9112 §4-5, RFC 6455 §4.1). Internal
 * to src/net; runs in every process that opens a WebSocket client.
 */
#ifndef LK_NET_HTTPHEAD_H
#define LK_NET_HTTPHEAD_H

#include <stddef.h>
#include <stdint.h>

/* Largest head accepted; a longer one is refused, not buffered further. */
#define HTTPHEAD_MAX 16384
#define HTTPHEAD_MAX_FIELDS 64

struct httphead_field {
	const char *name; /* points into the parsed bytes, not NUL-terminated */
	size_t namelen;
	const char *value; /* optional whitespace trimmed */
	size_t valuelen;
};

struct httphead {
	int status; /* 100..599 */
	size_t nfields;
	struct httphead_field fields[HTTPHEAD_MAX_FIELDS];
};

/*
 * Parse a response head from data[0..len). Returns the head's length
 * (through the empty line) when complete, 0 when more bytes are needed,
 * LK_EINVAL for a malformed head or LK_ETOOBIG when no head ends within
 * HTTPHEAD_MAX bytes or it has too many fields. The fields point into data.
 */
int httphead_parse_response(const uint8_t *data, size_t len, struct httphead *out);

/* First field named name (case-insensitive), or NULL; *vlen gets its length. */
const char *httphead_get(const struct httphead *h, const char *name, size_t *vlen);

/* True when a comma-separated field value lists token (case-insensitive). */
int httphead_has_token(const char *value, size_t vlen, const char *token);

/*
 * Check a complete response head against RFC 6455 §4.1 (client side):
 * status 101, "Upgrade: websocket", "Connection: upgrade", and the
 * Sec-WebSocket-Accept matching expect_accept; no extension or subprotocol
 * was offered, so none may be selected. 0, LK_EINVAL (not 101, or a
 * missing or wrong field) or LK_EAUTH (Sec-WebSocket-Accept differs).
 */
int httphead_check_ws_upgrade(const struct httphead *h, const char *expect_accept);

#endif
