/*
 * httphead: strict HTTP/1.1 response head parser for the WebSocket client
 * upgrade (untrusted bytes from the server). Internal to src/net; runs in
 * every process that opens a WebSocket client.
 */
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "net/httphead.h"

static int
httphead_is_tchar(unsigned char c)
{
	/* RFC 9110 §5.6.2 tchar */
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
httphead_is_text(unsigned char c)
{
	/* HTAB / SP / VCHAR / obs-text: everything but the other controls */
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Length of the head through CRLF CRLF, 0 when it has not ended yet. */
static size_t
httphead_end(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 3; i < len; i++)
		if (data[i] == '\n' && data[i - 1] == '\r' && data[i - 2] == '\n' &&
		        data[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Status line: HTTP-version SP status-code [SP reason-phrase] (RFC 9112 §4). */
static int
httphead_status_line(const char *s, size_t n, struct httphead *out)
{
	size_t i;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return LK_EINVAL;
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return LK_EINVAL;
	out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (out->status < 100 || out->status > 599)
		return LK_EINVAL;
	if (n == 12)
		return 0;
	if (s[12] != ' ')
		return LK_EINVAL;
	for (i = 13; i < n; i++)
		if (!httphead_is_text((unsigned char)s[i]))
			return LK_EINVAL;
	return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5); no obs-fold. */
static int
httphead_field_line(const char *s, size_t n, struct httphead *out)
{
	struct httphead_field *f;
	size_t i = 0, vs, ve;

	while (i < n && httphead_is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return LK_EINVAL;
	if (out->nfields == HTTPHEAD_MAX_FIELDS)
		return LK_ETOOBIG;
	f = &out->fields[out->nfields];
	f->name = s;
	f->namelen = i;
	vs = i + 1;
	for (i = vs; i < n; i++)
		if (!httphead_is_text((unsigned char)s[i]))
			return LK_EINVAL;
	ve = n;
	while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
		vs++;
	while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;
	f->value = s + vs;
	f->valuelen = ve - vs;
	out->nfields++;
	return 0;
}

int
httphead_parse_response(const uint8_t *data, size_t len, struct httphead *out)
{
	const char *s = (const char *)data;
	size_t headlen, pos, eol;
	int first = 1, rc;

	memset(out, 0, sizeof(*out));
	/* Refuse a non-HTTP peer as soon as its first bytes show it. */
	if (memcmp(s, "HTTP/", len < 5 ? len : 5) != 0)
		return LK_EINVAL;
	headlen = httphead_end(data, len < HTTPHEAD_MAX ? len : HTTPHEAD_MAX);
	if (headlen == 0)
		return len >= HTTPHEAD_MAX ? LK_ETOOBIG : 0;
	for (pos = 0; pos < headlen - 2; pos = eol + 2) {
		/* Every line ends in CRLF; a bare CR or LF inside is malformed. */
		for (eol = pos; eol < headlen && s[eol] != '\r' && s[eol] != '\n'; eol++)
			;
		if (eol + 1 >= headlen || s[eol] != '\r' || s[eol + 1] != '\n')
			return LK_EINVAL;
		if (first) {
			rc = httphead_status_line(s + pos, eol - pos, out);
			first = 0;
		} else {
			rc = httphead_field_line(s + pos, eol - pos, out);
		}
		if (rc < 0)
			return rc;
	}
	if (first)
		return LK_EINVAL;
	return (int)headlen;
}

const char *
httphead_get(const struct httphead *h, const char *name, size_t *vlen)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->nfields; i++) {
		if (h->fields[i].namelen == n && strncasecmp(h->fields[i].name, name, n) == 0) {
			*vlen = h->fields[i].valuelen;
			return h->fields[i].value;
		}
	}
	*vlen = 0;
	return NULL;
}

int
httphead_has_token(const char *value, size_t vlen, const char *token)
{
	size_t tlen = strlen(token), i = 0, s, e;

	while (i <= vlen) {
		s = i;
		while (i < vlen && value[i] != ',')
			i++;
		e = i;
		while (s < e && (value[s] == ' ' || value[s] == '\t'))
			s++;
		while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(value + s, token, tlen) == 0)
			return 1;
		i++;
	}
	return 0;
}

int
httphead_check_ws_upgrade(const struct httphead *h, const char *expect_accept)
{
	const char *v;
	size_t vlen, i, naccept = 0;

	if (h->status != 101)
		return LK_EINVAL;
	/* RFC 6455 §4.1 client checks 2 and 3 */
	v = httphead_get(h, "Upgrade", &vlen);
	if (v == NULL || !httphead_has_token(v, vlen, "websocket"))
		return LK_EINVAL;
	v = httphead_get(h, "Connection", &vlen);
	if (v == NULL || !httphead_has_token(v, vlen, "upgrade"))
		return LK_EINVAL;
	/* §4.1 checks 5 and 6: nothing was offered, so nothing may be chosen. */
	if (httphead_get(h, "Sec-WebSocket-Extensions", &vlen) != NULL ||
	        httphead_get(h, "Sec-WebSocket-Protocol", &vlen) != NULL)
		return LK_EINVAL;
	for (i = 0; i < h->nfields; i++)
		if (h->fields[i].namelen == 20 &&
		        strncasecmp(h->fields[i].name, "Sec-WebSocket-Accept", 20) == 0)
			naccept++;
	/* §4.1 check 4: exactly one Sec-WebSocket-Accept, equal to ours */
	v = httphead_get(h, "Sec-WebSocket-Accept", &vlen);
	if (v == NULL || naccept != 1)
		return LK_EINVAL;
	if (vlen != strlen(expect_accept) || memcmp(v, expect_accept, vlen) != 0)
		return LK_EAUTH;
	return 0;
}
