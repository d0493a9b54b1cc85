/*
 * sdp: the bounded SDP parser (RFC 8866, JSEP/BUNDLE, RFC 8839 ICE and
 * RFC 8122 DTLS attributes) and candidate/fingerprint helpers. Pure;
 * runs in the signalling code of lk-jobproc and lk-devserver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "rtc/sdp.h"

/* A slice of the input: never NUL-terminated. */
struct sdp_sl {
	const char *p;
	size_t n;
};

static int
sdp_sl_eq(struct sdp_sl s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int
sdp_sl_caseeq(struct sdp_sl s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Next space-separated token of *rest; an empty slice at the end. */
static struct sdp_sl
sdp_sl_token(struct sdp_sl *rest)
{
	struct sdp_sl t;
	size_t i = 0;

	while (i < rest->n && rest->p[i] == ' ')
		i++;
	t.p = rest->p + i;
	while (i < rest->n && rest->p[i] != ' ')
		i++;
	t.n = (size_t)(rest->p + i - t.p);
	rest->p += i;
	rest->n -= i;
	return t;
}

/* Whether every byte of s is in set. */
static int
sdp_sl_all(struct sdp_sl s, const char *set)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (s.p[i] == '\0' || strchr(set, s.p[i]) == NULL)
			return 0;
	return 1;
}

/* s without leading and trailing spaces. */
static struct sdp_sl
sdp_sl_trim(struct sdp_sl s)
{
	while (s.n > 0 && s.p[0] == ' ') {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && s.p[s.n - 1] == ' ')
		s.n--;
	return s;
}

/* Decimal without sign or leading junk, at most max. */
static int
sdp_sl_uint(struct sdp_sl s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s.n == 0 || s.n > 20)
		return LK_EINVAL;
	for (i = 0; i < s.n; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return LK_EINVAL;
		d = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return LK_EINVAL;
		v = v * 10 + d;
	}
	if (v > max)
		return LK_EINVAL;
	*out = v;
	return 0;
}

/* Copy a slice into the session's arena as a NUL-terminated string. */
static const char *
sdp_dup(struct sdp_session *s, struct sdp_sl v)
{
	char *d;

	if (v.n + 1 > s->arena_cap - s->arena_len)
		return NULL;
	d = s->arena + s->arena_len;
	memcpy(d, v.p, v.n);
	d[v.n] = '\0';
	s->arena_len += v.n + 1;
	return d;
}

static int
sdp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
sdp_fingerprint_parse(const char *str, size_t len, struct sdp_fingerprint *fp)
{
	struct sdp_sl rest = {str, len}, hash, hex;
	size_t i, n = 0;

	memset(fp, 0, sizeof(*fp));
	/* RFC 8122 §5: hash-func SP fingerprint (hex pairs joined by ':'). */
	hash = sdp_sl_token(&rest);
	hex = sdp_sl_token(&rest);
	if (hash.n == 0 || hash.n >= sizeof(fp->hash) || hex.n == 0 || sdp_sl_token(&rest).n != 0)
		return LK_EINVAL;
	for (i = 0; i < hash.n; i++) {
		char c = hash.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		            c == '-'))
			return LK_EINVAL;
		fp->hash[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if ((hex.n + 1) % 3 != 0)
		return LK_EINVAL;
	for (i = 0; i < hex.n; i += 3) {
		int hi = sdp_hexval(hex.p[i]), lo = sdp_hexval(hex.p[i + 1]);

		if (hi < 0 || lo < 0 || (i + 2 < hex.n && hex.p[i + 2] != ':'))
			return LK_EINVAL;
		if (n >= SDP_MAX_DIGEST)
			return LK_EINVAL;
		fp->digest[n++] = (uint8_t)(hi << 4 | lo);
	}
	fp->len = n;
	return 0;
}

int
sdp_fingerprint_format(const struct sdp_fingerprint *fp, char *out, size_t cap)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t hl = strlen(fp->hash), i, o;

	if (fp->len == 0 || fp->len > SDP_MAX_DIGEST || hl == 0 || hl >= sizeof(fp->hash))
		return LK_EINVAL;
	if (cap < hl + 1 + fp->len * 3)
		return LK_ETOOBIG;
	memcpy(out, fp->hash, hl);
	o = hl;
	out[o++] = ' ';
	for (i = 0; i < fp->len; i++) {
		if (i > 0)
			out[o++] = ':';
		out[o++] = hx[fp->digest[i] >> 4];
		out[o++] = hx[fp->digest[i] & 15];
	}
	out[o] = '\0';
	return (int)o;
}

/* RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/". */
static int
sdp_ice_chars(struct sdp_sl s)
{
	size_t i;

	for (i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		            c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

/* Copy a token into a fixed field; LK_ETOOBIG if it does not fit. */
static int
sdp_copy_field(char *dst, size_t cap, struct sdp_sl v)
{
	if (v.n + 1 > cap)
		return LK_ETOOBIG;
	/* Clear the whole field: a repeated key leaves no stale tail. */
	memset(dst, 0, cap);
	memcpy(dst, v.p, v.n);
	return 0;
}

int
sdp_candidate_parse(const char *str, size_t len, struct sdp_candidate *c)
{
	struct sdp_sl rest = {str, len}, t, k, v;
	uint64_t u;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	c->generation = -1;
	if (str == NULL)
		return LK_EINVAL;
	/* A trickled candidate arrives on its own: no control characters
	 * (NUL, CR, LF, tab) may hide inside or after its fields. */
	for (i = 0; i < len; i++)
		if ((unsigned char)str[i] < 0x20 || str[i] == 0x7F)
			return LK_EINVAL;
	if (rest.n >= 10 && strncmp(rest.p, "candidate:", 10) == 0) {
		rest.p += 10;
		rest.n -= 10;
	}
	/* RFC 8839 §5.1: foundation SP component-id SP transport SP priority
	 * SP connection-address SP port SP "typ" SP cand-type [raddr][rport]
	 * *(SP extension-att-name SP extension-att-value) */
	t = sdp_sl_token(&rest);
	if (t.n == 0 || !sdp_ice_chars(t))
		return LK_EINVAL;
	if ((rc = sdp_copy_field(c->foundation, sizeof(c->foundation), t)) < 0)
		return rc;
	if (sdp_sl_uint(sdp_sl_token(&rest), 256, &u) < 0 || u < 1)
		return LK_EINVAL;
	c->component = (uint16_t)u;
	t = sdp_sl_token(&rest);
	if (t.n == 0)
		return LK_EINVAL;
	if (sdp_sl_caseeq(t, "udp"))
		c->transport = SDP_TRANSPORT_UDP;
	else if (sdp_sl_caseeq(t, "tcp"))
		c->transport = SDP_TRANSPORT_TCP;
	else
		return LK_ETYPE;
	if (sdp_sl_uint(sdp_sl_token(&rest), UINT32_MAX, &u) < 0)
		return LK_EINVAL;
	c->priority = (uint32_t)u;
	t = sdp_sl_token(&rest);
	if (t.n == 0)
		return LK_EINVAL;
	if ((rc = sdp_copy_field(c->address, sizeof(c->address), t)) < 0)
		return rc;
	if (sdp_sl_uint(sdp_sl_token(&rest), 65535, &u) < 0)
		return LK_EINVAL;
	c->port = (uint16_t)u;
	if (!sdp_sl_eq(sdp_sl_token(&rest), "typ"))
		return LK_EINVAL;
	t = sdp_sl_token(&rest);
	if (sdp_sl_eq(t, "host"))
		c->type = SDP_CAND_HOST;
	else if (sdp_sl_eq(t, "srflx"))
		c->type = SDP_CAND_SRFLX;
	else if (sdp_sl_eq(t, "prflx"))
		c->type = SDP_CAND_PRFLX;
	else if (sdp_sl_eq(t, "relay"))
		c->type = SDP_CAND_RELAY;
	else if (t.n == 0)
		return LK_EINVAL;
	else
		return LK_ETYPE;
	/* Name/value pairs: raddr, rport, and extensions (generation, ufrag,
	 * tcptype, libwebrtc's network-id / network-cost, ...). */
	for (;;) {
		k = sdp_sl_token(&rest);
		if (k.n == 0)
			break;
		v = sdp_sl_token(&rest);
		if (v.n == 0)
			return LK_EINVAL;
		if (sdp_sl_eq(k, "raddr")) {
			if ((rc = sdp_copy_field(c->raddr, sizeof(c->raddr), v)) < 0)
				return rc;
			c->has_raddr = 1;
		} else if (sdp_sl_eq(k, "rport")) {
			if (sdp_sl_uint(v, 65535, &u) < 0)
				return LK_EINVAL;
			c->rport = (uint16_t)u;
		} else if (sdp_sl_eq(k, "generation")) {
			if (sdp_sl_uint(v, INT32_MAX, &u) < 0)
				return LK_EINVAL;
			c->generation = (int)u;
		} else if (sdp_sl_eq(k, "ufrag")) {
			if ((rc = sdp_copy_field(c->ufrag, sizeof(c->ufrag), v)) < 0)
				return rc;
		} else if (sdp_sl_eq(k, "tcptype")) {
			if (!sdp_sl_eq(v, "active") && !sdp_sl_eq(v, "passive") &&
			        !sdp_sl_eq(v, "so"))
				return LK_EINVAL;
			sdp_copy_field(c->tcptype, sizeof(c->tcptype), v);
		}
	}
	/* RFC 8839 §5.1: rport only means something with raddr. */
	if (!c->has_raddr)
		c->rport = 0;
	return 0;
}

static const char *
sdp_cand_type_name(enum sdp_cand_type t)
{
	switch (t) {
	case SDP_CAND_HOST:
		return "host";
	case SDP_CAND_SRFLX:
		return "srflx";
	case SDP_CAND_PRFLX:
		return "prflx";
	case SDP_CAND_RELAY:
		return "relay";
	}
	return NULL;
}

/* A fixed field of a candidate is safe to write: NUL-terminated within
 * its array, non-empty, no space or control character. */
static int
sdp_cfield_ok(const char *f, size_t cap)
{
	const unsigned char *p = (const unsigned char *)f;

	if (memchr(f, '\0', cap) == NULL || *p == '\0')
		return 0;
	for (; *p; p++)
		if (*p <= ' ' || *p == 0x7F)
			return 0;
	return 1;
}

int
sdp_candidate_format(const struct sdp_candidate *c, char *out, size_t cap)
{
	const char *typ = sdp_cand_type_name(c->type);
	size_t o;
	int n;

	if (typ == NULL ||
	        (c->transport != SDP_TRANSPORT_UDP && c->transport != SDP_TRANSPORT_TCP) ||
	        !sdp_cfield_ok(c->foundation, sizeof(c->foundation)) ||
	        !sdp_cfield_ok(c->address, sizeof(c->address)) || c->component == 0)
		return LK_EINVAL;
	n = snprintf(out, cap, "candidate:%s %u %s %u %s %u typ %s", c->foundation,
	        (unsigned)c->component, c->transport == SDP_TRANSPORT_UDP ? "udp" : "tcp",
	        (unsigned)c->priority, c->address, (unsigned)c->port, typ);
	if (n < 0 || (size_t)n >= cap)
		return LK_ETOOBIG;
	o = (size_t)n;
	if (c->has_raddr) {
		if (!sdp_cfield_ok(c->raddr, sizeof(c->raddr)))
			return LK_EINVAL;
		n = snprintf(out + o, cap - o, " raddr %s rport %u", c->raddr, (unsigned)c->rport);
		if (n < 0 || (size_t)n >= cap - o)
			return LK_ETOOBIG;
		o += (size_t)n;
	}
	if (c->tcptype[0] != '\0') {
		if (!sdp_cfield_ok(c->tcptype, sizeof(c->tcptype)))
			return LK_EINVAL;
		n = snprintf(out + o, cap - o, " tcptype %s", c->tcptype);
		if (n < 0 || (size_t)n >= cap - o)
			return LK_ETOOBIG;
		o += (size_t)n;
	}
	if (c->generation >= 0) {
		n = snprintf(out + o, cap - o, " generation %d", c->generation);
		if (n < 0 || (size_t)n >= cap - o)
			return LK_ETOOBIG;
		o += (size_t)n;
	}
	if (c->ufrag[0] != '\0') {
		if (!sdp_cfield_ok(c->ufrag, sizeof(c->ufrag)))
			return LK_EINVAL;
		n = snprintf(out + o, cap - o, " ufrag %s", c->ufrag);
		if (n < 0 || (size_t)n >= cap - o)
			return LK_ETOOBIG;
		o += (size_t)n;
	}
	return (int)o;
}

uint32_t
sdp_candidate_priority(enum sdp_cand_type type, uint16_t local_pref, uint16_t component)
{
	uint32_t tp;

	/* RFC 8445 §5.1.2.2 recommended type preferences. */
	switch (type) {
	case SDP_CAND_HOST:
		tp = 126;
		break;
	case SDP_CAND_PRFLX:
		tp = 110;
		break;
	case SDP_CAND_SRFLX:
		tp = 100;
		break;
	default:
		tp = 0;
		break;
	}
	if (component < 1)
		component = 1;
	if (component > 256)
		component = 256;
	return (tp << 24) | ((uint32_t)local_pref << 8) | (uint32_t)(256 - component);
}

const char *
sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_DIR_SENDONLY:
		return "sendonly";
	case SDP_DIR_RECVONLY:
		return "recvonly";
	case SDP_DIR_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

const char *
sdp_setup_name(enum sdp_setup s)
{
	switch (s) {
	case SDP_SETUP_ACTPASS:
		return "actpass";
	case SDP_SETUP_ACTIVE:
		return "active";
	case SDP_SETUP_PASSIVE:
		return "passive";
	case SDP_SETUP_HOLDCONN:
		return "holdconn";
	default:
		return NULL;
	}
}

enum sdp_dir
sdp_dir_answer(enum sdp_dir offered, int we_send, int we_recv)
{
	int they_send, they_recv;

	if (offered == SDP_DIR_UNSET)
		offered = SDP_DIR_SENDRECV;
	they_send = offered == SDP_DIR_SENDRECV || offered == SDP_DIR_SENDONLY;
	they_recv = offered == SDP_DIR_SENDRECV || offered == SDP_DIR_RECVONLY;
	/* RFC 3264 §6.1: we may send only what they receive and receive only
	 * what they send. */
	we_send = we_send && they_recv;
	we_recv = we_recv && they_send;
	if (we_send && we_recv)
		return SDP_DIR_SENDRECV;
	if (we_send)
		return SDP_DIR_SENDONLY;
	if (we_recv)
		return SDP_DIR_RECVONLY;
	return SDP_DIR_INACTIVE;
}

/* ---- parser ---- */

struct sdp_parser {
	struct sdp_session *s;
	struct sdp_media *m; /* current section, NULL at session level */
};

static int
sdp_parse_dir(struct sdp_sl name, enum sdp_dir *d)
{
	if (sdp_sl_eq(name, "sendrecv"))
		*d = SDP_DIR_SENDRECV;
	else if (sdp_sl_eq(name, "sendonly"))
		*d = SDP_DIR_SENDONLY;
	else if (sdp_sl_eq(name, "recvonly"))
		*d = SDP_DIR_RECVONLY;
	else if (sdp_sl_eq(name, "inactive"))
		*d = SDP_DIR_INACTIVE;
	else
		return 0;
	return 1;
}

static int
sdp_parse_origin(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl user, id, ver, nt, at, addr;
	uint64_t u;

	/* RFC 8866 §5.2: o=<username> <sess-id> <sess-version> <nettype>
	 * <addrtype> <unicast-address> */
	user = sdp_sl_token(&v);
	id = sdp_sl_token(&v);
	ver = sdp_sl_token(&v);
	nt = sdp_sl_token(&v);
	at = sdp_sl_token(&v);
	addr = sdp_sl_token(&v);
	if (addr.n == 0 || sdp_sl_token(&v).n != 0 || at.n == 0 || nt.n == 0)
		return LK_EINVAL;
	/* sess-id is digits; libwebrtc writes up to 19 of them. */
	if (id.n == 0 || id.n > 32 || !sdp_sl_all(id, "0123456789"))
		return LK_EINVAL;
	if (sdp_sl_uint(ver, UINT64_MAX, &u) < 0)
		return LK_EINVAL;
	ps->s->sess_version = u;
	if ((ps->s->origin_user = sdp_dup(ps->s, user)) == NULL ||
	        (ps->s->sess_id = sdp_dup(ps->s, id)) == NULL ||
	        (ps->s->origin_addr = sdp_dup(ps->s, addr)) == NULL)
		return LK_ENOMEM;
	return 0;
}

static int
sdp_parse_mline(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_session *s = ps->s;
	struct sdp_sl media, port, proto, f;
	struct sdp_media *m;
	const char *slash;
	uint64_t u;

	if (s->n_media >= SDP_MAX_MEDIA)
		return LK_ETOOBIG;
	/* RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
	media = sdp_sl_token(&v);
	port = sdp_sl_token(&v);
	proto = sdp_sl_token(&v);
	if (media.n == 0 || port.n == 0 || proto.n == 0)
		return LK_EINVAL;
	if (!sdp_sl_all(media, "abcdefghijklmnopqrstuvwxyz"))
		return LK_EINVAL;
	slash = memchr(port.p, '/', port.n);
	if (slash != NULL) {
		struct sdp_sl cnt = {slash + 1, (size_t)(port.p + port.n - slash - 1)};

		if (sdp_sl_uint(cnt, 65535, &u) < 0)
			return LK_EINVAL;
		port.n = (size_t)(slash - port.p);
	}
	if (sdp_sl_uint(port, 65535, &u) < 0)
		return LK_EINVAL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return LK_ENOMEM;
	s->media[s->n_media++] = m;
	ps->m = m;
	m->port = (uint16_t)u;
	if ((m->media = sdp_dup(s, media)) == NULL || (m->proto = sdp_dup(s, proto)) == NULL)
		return LK_ENOMEM;
	if (sdp_sl_eq(media, "audio"))
		m->type = SDP_MEDIA_AUDIO;
	else if (sdp_sl_eq(media, "video"))
		m->type = SDP_MEDIA_VIDEO;
	else if (sdp_sl_eq(media, "application"))
		m->type = SDP_MEDIA_APPLICATION;
	else
		m->type = SDP_MEDIA_OTHER;
	/* RTP profiles: RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, ... */
	m->is_rtp = strstr(m->proto, "RTP/") != NULL;
	for (;;) {
		f = sdp_sl_token(&v);
		if (f.n == 0)
			break;
		if (m->n_fmt >= SDP_MAX_FMT)
			return LK_ETOOBIG;
		if ((m->fmt[m->n_fmt++] = sdp_dup(s, f)) == NULL)
			return LK_ENOMEM;
		if (m->is_rtp) {
			int i, dup = 0;

			/* RFC 3551: RTP formats are payload types 0..127. */
			if (sdp_sl_uint(f, 127, &u) < 0)
				return LK_EINVAL;
			for (i = 0; i < m->n_codec; i++)
				dup |= m->codec[i].pt == u;
			if (!dup) {
				m->codec[m->n_codec].pt = (uint8_t)u;
				m->codec[m->n_codec].channels = 1;
				m->n_codec++;
			}
		}
	}
	/* RFC 8866 §5.14: at least one format. */
	if (m->n_fmt == 0)
		return LK_EINVAL;
	return 0;
}

static struct sdp_codec *
sdp_codec_for(struct sdp_media *m, struct sdp_sl pt)
{
	uint64_t u;
	int i;

	if (m == NULL || !m->is_rtp || sdp_sl_uint(pt, 127, &u) < 0)
		return NULL;
	for (i = 0; i < m->n_codec; i++)
		if (m->codec[i].pt == u)
			return &m->codec[i];
	return NULL;
}

static int
sdp_parse_rtpmap(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl pt = sdp_sl_token(&v), enc = sdp_sl_token(&v), name, clock, ch = {NULL, 0};
	struct sdp_codec *c;
	const char *s1, *s2;
	uint64_t u;

	/* RFC 8866 §6.6: a=rtpmap:<pt> <encoding name>/<clock rate>[/<params>] */
	if (pt.n == 0 || enc.n == 0 || sdp_sl_token(&v).n != 0)
		return LK_EINVAL;
	if (sdp_sl_uint(pt, 127, &u) < 0)
		return LK_EINVAL;
	s1 = memchr(enc.p, '/', enc.n);
	if (s1 == NULL)
		return LK_EINVAL;
	name.p = enc.p;
	name.n = (size_t)(s1 - enc.p);
	clock.p = s1 + 1;
	clock.n = (size_t)(enc.p + enc.n - clock.p);
	s2 = memchr(clock.p, '/', clock.n);
	if (s2 != NULL) {
		ch.p = s2 + 1;
		ch.n = (size_t)(clock.p + clock.n - ch.p);
		clock.n = (size_t)(s2 - clock.p);
	}
	if (name.n == 0 || sdp_sl_uint(clock, UINT32_MAX, &u) < 0 || u == 0)
		return LK_EINVAL;
	c = sdp_codec_for(ps->m, pt);
	if (c == NULL || c->name != NULL)
		return 0; /* not on the m= line, or a repeat: ignored */
	c->clock = (uint32_t)u;
	if (ch.p != NULL) {
		if (sdp_sl_uint(ch, 255, &u) < 0 || u == 0)
			return LK_EINVAL;
		c->channels = (uint8_t)u;
	}
	if ((c->name = sdp_dup(ps->s, name)) == NULL)
		return LK_ENOMEM;
	return 0;
}

static int
sdp_parse_fmtp(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl pt = sdp_sl_token(&v);
	struct sdp_codec *c;

	/* RFC 8866 §6.15: a=fmtp:<format> <format specific parameters> */
	if (pt.n == 0)
		return LK_EINVAL;
	c = sdp_codec_for(ps->m, pt);
	if (c == NULL || c->fmtp != NULL)
		return 0;
	if ((c->fmtp = sdp_dup(ps->s, sdp_sl_trim(v))) == NULL)
		return LK_ENOMEM;
	return 0;
}

static int
sdp_parse_rtcpfb(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl pt = sdp_sl_token(&v), val = sdp_sl_trim(v);
	struct sdp_media *m = ps->m;
	const char *d;
	int i;

	/* RFC 4585 §4.2: a=rtcp-fb:<pt|*> <type> [<param>] */
	if (pt.n == 0 || val.n == 0)
		return LK_EINVAL;
	if (m == NULL || !m->is_rtp)
		return 0;
	if (!sdp_sl_eq(pt, "*") && sdp_codec_for(m, pt) == NULL)
		return 0; /* not on the m= line: ignored */
	if ((d = sdp_dup(ps->s, val)) == NULL)
		return LK_ENOMEM;
	for (i = 0; i < m->n_codec; i++) {
		struct sdp_codec *c = &m->codec[i];

		if (!sdp_sl_eq(pt, "*") && sdp_codec_for(m, pt) != c)
			continue;
		if (c->n_fb >= SDP_MAX_FB)
			return LK_ETOOBIG;
		c->fb[c->n_fb++] = d;
	}
	return 0;
}

static int
sdp_parse_extmap(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl idt = sdp_sl_token(&v), uri = sdp_sl_token(&v), dir = {NULL, 0};
	struct sdp_media *m = ps->m;
	struct sdp_extmap *e;
	const char *slash;
	uint64_t u;

	/* RFC 8285 §8: a=extmap:<id>[/<direction>] <URI> [<attributes>] */
	if (idt.n == 0 || uri.n == 0)
		return LK_EINVAL;
	slash = memchr(idt.p, '/', idt.n);
	if (slash != NULL) {
		dir.p = slash + 1;
		dir.n = (size_t)(idt.p + idt.n - dir.p);
		idt.n = (size_t)(slash - idt.p);
	}
	/* RFC 8285 §5: ids 1-14 (one-byte) and 1-255 (two-byte). */
	if (sdp_sl_uint(idt, 255, &u) < 0 || u == 0)
		return LK_EINVAL;
	if (m == NULL)
		return 0; /* session-level extmap: not used by libwebrtc or LiveKit */
	if (m->n_ext >= SDP_MAX_EXT)
		return LK_ETOOBIG;
	e = &m->ext[m->n_ext];
	e->id = (uint16_t)u;
	if (dir.p != NULL && !sdp_parse_dir(dir, &e->dir))
		return LK_EINVAL;
	if ((e->uri = sdp_dup(ps->s, uri)) == NULL)
		return LK_ENOMEM;
	m->n_ext++;
	return 0;
}

/* "<stream> [<track>]" into two arena strings (track may stay NULL). */
static int
sdp_parse_msid_value(
        struct sdp_session *s, struct sdp_sl v, const char **stream, const char **track)
{
	struct sdp_sl a = sdp_sl_token(&v), b = sdp_sl_token(&v);

	/* RFC 8830 §2: msid-id [SP msid-appdata]; both 1*64 token-char. */
	if (a.n == 0 || a.n > 64 || b.n > 64 || sdp_sl_token(&v).n != 0)
		return LK_EINVAL;
	if ((*stream = sdp_dup(s, a)) == NULL)
		return LK_ENOMEM;
	if (b.n > 0 && (*track = sdp_dup(s, b)) == NULL)
		return LK_ENOMEM;
	return 0;
}

static int
sdp_parse_ssrc(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_sl id = sdp_sl_token(&v), attr, val;
	struct sdp_media *m = ps->m;
	struct sdp_ssrc *e = NULL;
	const char *colon;
	uint64_t u;
	int i;

	/* RFC 5576 §4.1: a=ssrc:<ssrc-id> <attribute>[:<value>] */
	if (sdp_sl_uint(id, UINT32_MAX, &u) < 0)
		return LK_EINVAL;
	attr = sdp_sl_trim(v);
	if (attr.n == 0)
		return LK_EINVAL;
	val.p = attr.p + attr.n;
	val.n = 0;
	if (m == NULL)
		return 0;
	colon = memchr(attr.p, ':', attr.n);
	if (colon != NULL) {
		val.p = colon + 1;
		val.n = (size_t)(attr.p + attr.n - val.p);
		attr.n = (size_t)(colon - attr.p);
	}
	for (i = 0; i < m->n_ssrc; i++)
		if (m->ssrc[i].ssrc == u)
			e = &m->ssrc[i];
	if (e == NULL) {
		if (m->n_ssrc >= SDP_MAX_SSRC)
			return LK_ETOOBIG;
		e = &m->ssrc[m->n_ssrc++];
		e->ssrc = (uint32_t)u;
	}
	if (sdp_sl_eq(attr, "cname")) {
		if (val.n == 0)
			return LK_EINVAL;
		if (e->cname == NULL && (e->cname = sdp_dup(ps->s, val)) == NULL)
			return LK_ENOMEM;
	} else if (sdp_sl_eq(attr, "msid")) {
		if (e->msid_stream == NULL)
			return sdp_parse_msid_value(ps->s, val, &e->msid_stream, &e->msid_track);
	}
	return 0;
}

static int
sdp_parse_group(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_session *s = ps->s;
	struct sdp_sl sem = sdp_sl_token(&v), mid;

	/* RFC 5888 §5: a=group:<semantics> *(SP <identification-tag>) */
	if (sem.n == 0)
		return LK_EINVAL;
	if (!sdp_sl_eq(sem, "BUNDLE") || s->n_bundle > 0)
		return 0;
	for (;;) {
		mid = sdp_sl_token(&v);
		if (mid.n == 0)
			break;
		if (s->n_bundle >= SDP_MAX_MEDIA)
			return LK_ETOOBIG;
		if ((s->bundle[s->n_bundle++] = sdp_dup(s, mid)) == NULL)
			return LK_ENOMEM;
	}
	return 0;
}

static int
sdp_parse_candidate(struct sdp_parser *ps, struct sdp_sl v)
{
	struct sdp_media *m = ps->m;
	int rc;

	if (m == NULL)
		return 0;
	/* A bad or unusable candidate costs that candidate, not the session. */
	if (m->n_cand >= SDP_MAX_CAND) {
		m->n_cand_skipped++;
		return 0;
	}
	rc = sdp_candidate_parse(v.p, v.n, &m->cand[m->n_cand]);
	if (rc < 0) {
		m->n_cand_skipped++;
		return 0;
	}
	m->n_cand++;
	return 0;
}

static int
sdp_parse_attr(struct sdp_parser *ps, struct sdp_sl line)
{
	struct sdp_session *s = ps->s;
	struct sdp_media *m = ps->m;
	struct sdp_sl name = line, v = {line.p + line.n, 0};
	const char *colon = memchr(line.p, ':', line.n);
	enum sdp_dir dir;
	uint64_t u;

	if (colon != NULL) {
		name.n = (size_t)(colon - line.p);
		v.p = colon + 1;
		v.n = (size_t)(line.p + line.n - v.p);
	}
	if (name.n == 0)
		return LK_EINVAL;

	if (sdp_parse_dir(name, &dir)) {
		if (m != NULL)
			m->dir = dir;
		else
			s->dir = dir;
		return 0;
	}
	if (sdp_sl_eq(name, "group"))
		return m == NULL ? sdp_parse_group(ps, v) : 0;
	if (sdp_sl_eq(name, "ice-lite")) {
		/* RFC 8839 §5.3: session level only. */
		if (m == NULL)
			s->ice_lite = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "ice-ufrag") || sdp_sl_eq(name, "ice-pwd")) {
		const char **dst;
		int ufrag = name.n == 9;

		v = sdp_sl_trim(v);
		/* RFC 8839 §5.4: ufrag 4..256 ice-chars, pwd 22..256 (libwebrtc
		 * accepts shorter ones from old peers, so only the charset and
		 * the upper bound are enforced). */
		if (v.n == 0 || v.n > 256 || !sdp_ice_chars(v))
			return LK_EINVAL;
		if (m != NULL)
			dst = ufrag ? &m->ice_ufrag : &m->ice_pwd;
		else
			dst = ufrag ? &s->ice_ufrag : &s->ice_pwd;
		if (*dst == NULL && (*dst = sdp_dup(s, v)) == NULL)
			return LK_ENOMEM;
		return 0;
	}
	if (sdp_sl_eq(name, "ice-options")) {
		const char **dst = m != NULL ? &m->ice_options : &s->ice_options;

		if (*dst == NULL && (*dst = sdp_dup(s, sdp_sl_trim(v))) == NULL)
			return LK_ENOMEM;
		return 0;
	}
	if (sdp_sl_eq(name, "fingerprint")) {
		struct sdp_fingerprint *fp = m != NULL ? &m->fp : &s->fp;
		struct sdp_fingerprint tmp;

		if (sdp_fingerprint_parse(v.p, v.n, &tmp) < 0)
			return LK_EINVAL;
		/* Several fingerprints may be listed; the first one is kept. */
		if (fp->len == 0)
			*fp = tmp;
		return 0;
	}
	if (sdp_sl_eq(name, "setup")) {
		enum sdp_setup st;

		if (sdp_sl_eq(v, "actpass"))
			st = SDP_SETUP_ACTPASS;
		else if (sdp_sl_eq(v, "active"))
			st = SDP_SETUP_ACTIVE;
		else if (sdp_sl_eq(v, "passive"))
			st = SDP_SETUP_PASSIVE;
		else if (sdp_sl_eq(v, "holdconn"))
			st = SDP_SETUP_HOLDCONN;
		else
			return LK_EINVAL;
		if (m != NULL)
			m->setup = st;
		else
			s->setup = st;
		return 0;
	}
	if (sdp_sl_eq(name, "extmap-allow-mixed")) {
		if (m == NULL)
			s->extmap_allow_mixed = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "extmap"))
		return sdp_parse_extmap(ps, v);
	if (m == NULL)
		return 0; /* other session attributes: msid-semantic, ... */

	if (sdp_sl_eq(name, "mid")) {
		v = sdp_sl_trim(v);
		/* RFC 8843 §5 / RFC 5888: 1*32 token chars in practice. */
		if (v.n == 0 || v.n > 64 || memchr(v.p, ' ', v.n) != NULL)
			return LK_EINVAL;
		if (m->mid == NULL && (m->mid = sdp_dup(s, v)) == NULL)
			return LK_ENOMEM;
		return 0;
	}
	if (sdp_sl_eq(name, "rtpmap"))
		return sdp_parse_rtpmap(ps, v);
	if (sdp_sl_eq(name, "fmtp"))
		return sdp_parse_fmtp(ps, v);
	if (sdp_sl_eq(name, "rtcp-fb"))
		return sdp_parse_rtcpfb(ps, v);
	if (sdp_sl_eq(name, "msid")) {
		if (m->msid_stream != NULL)
			return 0;
		return sdp_parse_msid_value(s, v, &m->msid_stream, &m->msid_track);
	}
	if (sdp_sl_eq(name, "ssrc"))
		return sdp_parse_ssrc(ps, v);
	if (sdp_sl_eq(name, "rtcp-mux")) {
		m->rtcp_mux = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "rtcp-rsize")) {
		m->rtcp_rsize = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "bundle-only")) {
		m->bundle_only = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "candidate"))
		return sdp_parse_candidate(ps, v);
	if (sdp_sl_eq(name, "end-of-candidates")) {
		m->end_of_candidates = 1;
		return 0;
	}
	if (sdp_sl_eq(name, "sctp-port")) {
		/* RFC 8841 §5.2: a=sctp-port:<port> */
		if (sdp_sl_uint(sdp_sl_trim(v), 65535, &u) < 0)
			return LK_EINVAL;
		m->sctp_port = (uint16_t)u;
		return 0;
	}
	if (sdp_sl_eq(name, "max-message-size")) {
		/* RFC 8841 §6: a=max-message-size:<bytes> */
		if (sdp_sl_uint(sdp_sl_trim(v), UINT32_MAX, &u) < 0)
			return LK_EINVAL;
		m->max_message_size = (uint32_t)u;
		return 0;
	}
	return 0; /* unknown attribute: skipped */
}

/* Session-level ICE/DTLS values apply to sections that do not set them. */
static void
sdp_inherit(struct sdp_session *s)
{
	int i;

	for (i = 0; i < s->n_media; i++) {
		struct sdp_media *m = s->media[i];

		if (m->ice_ufrag == NULL)
			m->ice_ufrag = s->ice_ufrag;
		if (m->ice_pwd == NULL)
			m->ice_pwd = s->ice_pwd;
		if (m->ice_options == NULL)
			m->ice_options = s->ice_options;
		if (m->fp.len == 0)
			m->fp = s->fp;
		if (m->setup == SDP_SETUP_UNSET)
			m->setup = s->setup;
		if (m->dir == SDP_DIR_UNSET)
			m->dir = s->dir;
	}
}

void
sdp_free(struct sdp_session *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_media; i++)
		free(s->media[i]);
	free(s->arena);
	free(s);
}

int
sdp_parse(const char *text, size_t len, struct sdp_session **out)
{
	struct sdp_parser ps;
	struct sdp_session *s;
	size_t pos = 0, nlines = 0, i;
	int rc = 0, seen_v = 0, seen_o = 0;

	*out = NULL;
	if (text == NULL)
		return LK_EINVAL;
	if (len > SDP_MAX_TEXT)
		return LK_ETOOBIG;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return LK_ENOMEM;
	/* Every copied string is a piece of one line plus a NUL, and a line
	 * is copied at most twice (a value and its split parts). */
	s->arena_cap = 2 * len + 64;
	s->arena = malloc(s->arena_cap);
	if (s->arena == NULL) {
		free(s);
		return LK_ENOMEM;
	}
	ps.s = s;
	ps.m = NULL;

	while (pos < len) {
		struct sdp_sl line, v;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		line.p = text + pos;
		line.n = end - pos;
		pos = nl != NULL ? end + 1 : len;
		/* RFC 8866 §5: CRLF, with a bare LF tolerated. */
		if (line.n > 0 && line.p[line.n - 1] == '\r')
			line.n--;
		if (line.n == 0)
			continue;
		if (++nlines > SDP_MAX_LINES || line.n > SDP_MAX_LINE) {
			rc = LK_ETOOBIG;
			break;
		}
		/* Control characters (NUL, a stray CR, ...) never belong in SDP
		 * and could smuggle lines into an answer that mirrors values. */
		for (i = 0; i < line.n; i++) {
			unsigned char c = (unsigned char)line.p[i];

			if ((c < 0x20 && c != '\t') || c == 0x7F)
				break;
		}
		if (i < line.n) {
			rc = LK_EINVAL;
			break;
		}
		/* RFC 8866 §5: <type>=<value>, type one lower-case letter. */
		if (line.n < 2 || line.p[0] < 'a' || line.p[0] > 'z' || line.p[1] != '=') {
			rc = LK_EINVAL;
			break;
		}
		v.p = line.p + 2;
		v.n = line.n - 2;
		if (!seen_v) {
			/* RFC 8866 §5.1: the first line is v=0. */
			if (line.p[0] != 'v' || !sdp_sl_eq(v, "0")) {
				rc = LK_EINVAL;
				break;
			}
			seen_v = 1;
			continue;
		}
		switch (line.p[0]) {
		case 'o':
			if (seen_o || ps.m != NULL)
				rc = LK_EINVAL;
			else
				rc = sdp_parse_origin(&ps, v);
			seen_o = 1;
			break;
		case 's':
			if (ps.m == NULL && s->name == NULL && (s->name = sdp_dup(s, v)) == NULL)
				rc = LK_ENOMEM;
			break;
		case 'm':
			rc = sdp_parse_mline(&ps, v);
			break;
		case 'a':
			rc = sdp_parse_attr(&ps, v);
			break;
		case 'v':
			rc = LK_EINVAL;
			break;
		case 'i':
		case 'u':
		case 'e':
		case 'p':
		case 'c':
		case 'b':
		case 't':
		case 'r':
		case 'z':
		case 'k':
			/* Informational, connection and timing lines: not used by
			 * ICE-based transports (JSEP §5.8). */
			break;
		default:
			/* RFC 8866 §5: an unknown type letter rejects the SDP. */
			rc = LK_EINVAL;
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && (!seen_v || !seen_o))
		rc = LK_EINVAL;
	if (rc < 0) {
		sdp_free(s);
		return rc;
	}
	sdp_inherit(s);
	*out = s;
	return 0;
}

const struct sdp_media *
sdp_find_mid(const struct sdp_session *s, const char *mid)
{
	int i;

	for (i = 0; i < s->n_media; i++)
		if (s->media[i]->mid != NULL && strcmp(s->media[i]->mid, mid) == 0)
			return s->media[i];
	return NULL;
}

int
sdp_in_bundle(const struct sdp_session *s, const char *mid)
{
	int i;

	for (i = 0; i < s->n_bundle; i++)
		if (strcmp(s->bundle[i], mid) == 0)
			return 1;
	return 0;
}

const struct sdp_codec *
sdp_media_find_codec(const struct sdp_media *m, const char *name, uint32_t clock, uint8_t channels)
{
	int i;

	for (i = 0; i < m->n_codec; i++) {
		const struct sdp_codec *c = &m->codec[i];

		if (c->name == NULL || strcasecmp(c->name, name) != 0)
			continue;
		if (clock != 0 && c->clock != clock)
			continue;
		if (channels != 0 && c->channels != channels)
			continue;
		return c;
	}
	return NULL;
}

const struct sdp_codec *
sdp_media_codec(const struct sdp_media *m, uint8_t pt)
{
	int i;

	for (i = 0; i < m->n_codec; i++)
		if (m->codec[i].pt == pt)
			return &m->codec[i];
	return NULL;
}

uint16_t
sdp_media_ext_id(const struct sdp_media *m, const char *uri)
{
	int i;

	for (i = 0; i < m->n_ext; i++)
		if (strcmp(m->ext[i].uri, uri) == 0)
			return m->ext[i].id;
	return 0;
}

int
sdp_fingerprint_sha256_value(const struct sdp_fingerprint *fp, char *out, size_t cap)
{
	char tmp[SDP_MAX_DIGEST * 3 + 32];
	const char *sp;

	if (fp->len == 0 || strcmp(fp->hash, "sha-256") != 0)
		return LK_EINVAL;
	if (sdp_fingerprint_format(fp, tmp, sizeof(tmp)) < 0)
		return LK_EINVAL;
	sp = strchr(tmp, ' ');
	if (sp == NULL || strlen(sp + 1) >= cap)
		return LK_EINVAL;
	memcpy(out, sp + 1, strlen(sp + 1) + 1);
	return 0;
}
