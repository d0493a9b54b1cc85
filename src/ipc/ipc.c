/*
 * ipc: pack and strict unpack of the supervisor <-> job process messages.
 * Runs in lk-supervisor and lk-jobproc. Each message type's field list is
 * declared once in ipc_schema[]; ipc_pack and ipc_unpack both walk it, so
 * the two directions cannot disagree about order or types.
 */
#include <stddef.h>
#include <string.h>

#include <msgpack.h>

#include "common/err.h"
#include "ipc/ipc.h"

/*
 * Why unpacking does not use msgpack-c's unpacker: msgpack_unpack_next
 * allocates room for a container's declared size before its elements are
 * known to exist (a 5-byte array32 header asks its zone for 64 GiB), and it
 * accepts any shape. This schema is one flat array of scalars, so the reader
 * below understands exactly the encodings a field may use, allocates
 * nothing, and returns views into the caller's datagram (the str/bin payload
 * bytes are never copied). Packing does use msgpack-c's packer, writing into
 * the caller's buffer.
 */

enum ipc_fkind {
	IPC_F_U32, /* uint32_t, non-negative msgpack integer */
	IPC_F_U64, /* uint64_t */
	IPC_F_I32, /* int32_t, any msgpack integer that fits */
	IPC_F_I64, /* int64_t */
	IPC_F_BOOL, /* uint8_t 0/1 as msgpack bool */
	IPC_F_OUTCOME, /* uint8_t enum ipc_outcome as integer 0..1 */
	IPC_F_STR, /* struct ipc_str as msgpack str */
	IPC_F_BIN, /* struct ipc_str as msgpack bin */
};

struct ipc_field {
	enum ipc_fkind kind;
	size_t off; /* offset in struct ipc_msg */
};

struct ipc_schema {
	const char *name;
	const struct ipc_field *fields;
	unsigned nfields;
};

#define IPC_FIELD(kind, member)                                                                    \
	{                                                                                          \
		kind, offsetof(struct ipc_msg, u.member)                                           \
	}

static const struct ipc_field ipc_f_init[] = {
        IPC_FIELD(IPC_F_U32, init.ping_interval_ms),
        IPC_FIELD(IPC_F_U32, init.ping_timeout_ms),
        IPC_FIELD(IPC_F_STR, init.log_level),
        IPC_FIELD(IPC_F_STR, init.log_format),
};
static const struct ipc_field ipc_f_init_ok[] = {
        IPC_FIELD(IPC_F_I32, init_ok.pid),
};
static const struct ipc_field ipc_f_ping[] = {
        IPC_FIELD(IPC_F_I64, ping.ts_ms),
};
static const struct ipc_field ipc_f_pong[] = {
        IPC_FIELD(IPC_F_I64, pong.last_ts_ms),
        IPC_FIELD(IPC_F_I64, pong.ts_ms),
        IPC_FIELD(IPC_F_U64, pong.rss_kb),
        IPC_FIELD(IPC_F_U64, pong.cpu_ms),
};
static const struct ipc_field ipc_f_start_job[] = {
        IPC_FIELD(IPC_F_BIN, start_job.job),
        IPC_FIELD(IPC_F_STR, start_job.url),
        IPC_FIELD(IPC_F_STR, start_job.token),
        IPC_FIELD(IPC_F_STR, start_job.identity),
        IPC_FIELD(IPC_F_STR, start_job.worker_id),
        IPC_FIELD(IPC_F_STR, start_job.script),
        IPC_FIELD(IPC_F_STR, start_job.script_args),
};
static const struct ipc_field ipc_f_shutdown[] = {
        IPC_FIELD(IPC_F_STR, shutdown.reason),
};
static const struct ipc_field ipc_f_status[] = {
        IPC_FIELD(IPC_F_BOOL, status.room_joined),
        IPC_FIELD(IPC_F_U32, status.participants),
        IPC_FIELD(IPC_F_U64, status.audio_in_frames),
        IPC_FIELD(IPC_F_U64, status.audio_out_frames),
};
static const struct ipc_field ipc_f_exiting[] = {
        IPC_FIELD(IPC_F_STR, exiting.reason),
        IPC_FIELD(IPC_F_OUTCOME, exiting.outcome),
        IPC_FIELD(IPC_F_STR, exiting.error),
};

#define IPC_SCHEMA(name, f)                                                                        \
	{                                                                                          \
		name, f, sizeof(f) / sizeof((f)[0])                                                \
	}

/* Indexed by enum ipc_type; index 0 is unused. */
static const struct ipc_schema ipc_schema[] = {
        [IPC_INIT] = IPC_SCHEMA("INIT", ipc_f_init),
        [IPC_INIT_OK] = IPC_SCHEMA("INIT_OK", ipc_f_init_ok),
        [IPC_PING] = IPC_SCHEMA("PING", ipc_f_ping),
        [IPC_PONG] = IPC_SCHEMA("PONG", ipc_f_pong),
        [IPC_START_JOB] = IPC_SCHEMA("START_JOB", ipc_f_start_job),
        [IPC_SHUTDOWN] = IPC_SCHEMA("SHUTDOWN", ipc_f_shutdown),
        [IPC_SHUTDOWN_ACK] = {"SHUTDOWN_ACK", NULL, 0},
        [IPC_STATUS] = IPC_SCHEMA("STATUS", ipc_f_status),
        [IPC_EXITING] = IPC_SCHEMA("EXITING", ipc_f_exiting),
};

#define IPC_NTYPES (sizeof(ipc_schema) / sizeof(ipc_schema[0]))

static const struct ipc_schema *
ipc_schema_get(int64_t type)
{
	if (type <= 0 || (uint64_t)type >= IPC_NTYPES || ipc_schema[type].name == NULL)
		return NULL;
	return &ipc_schema[type];
}

const char *
ipc_type_name(enum ipc_type t)
{
	const struct ipc_schema *s = ipc_schema_get((int64_t)t);

	return s ? s->name : "UNKNOWN";
}

struct ipc_str
ipc_cstr(const char *s)
{
	struct ipc_str r;

	r.ptr = s ? s : "";
	r.len = s ? (uint32_t)strnlen(s, IPC_MAX_MSG) : 0;
	return r;
}

int
ipc_str_eq(struct ipc_str s, const char *c)
{
	size_t n = c ? strlen(c) : 0;

	return n == s.len && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

/* Size of the struct member behind one field kind. */
static size_t
ipc_field_size(enum ipc_fkind kind)
{
	switch (kind) {
	case IPC_F_U32:
	case IPC_F_I32:
		return 4;
	case IPC_F_U64:
	case IPC_F_I64:
		return 8;
	case IPC_F_BOOL:
	case IPC_F_OUTCOME:
		return 1;
	case IPC_F_STR:
	case IPC_F_BIN:
		return sizeof(struct ipc_str);
	}
	return 0;
}

int
ipc_msg_equal(const struct ipc_msg *a, const struct ipc_msg *b)
{
	const struct ipc_schema *sc;
	unsigned i;

	if (a->type != b->type || (sc = ipc_schema_get((int64_t)a->type)) == NULL)
		return 0;
	for (i = 0; i < sc->nfields; i++) {
		const struct ipc_field *f = &sc->fields[i];
		const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;

		if (f->kind == IPC_F_STR || f->kind == IPC_F_BIN) {
			const struct ipc_str *sa = (const void *)pa, *sb = (const void *)pb;

			if (sa->len != sb->len ||
			        (sa->len > 0 && memcmp(sa->ptr, sb->ptr, sa->len) != 0))
				return 0;
		} else if (memcmp(pa, pb, ipc_field_size(f->kind)) != 0) {
			return 0;
		}
	}
	return 1;
}

size_t
ipc_str_copy(char *dst, size_t dstlen, struct ipc_str s)
{
	size_t n = s.len;

	if (dstlen == 0)
		return s.len;
	if (n >= dstlen)
		n = dstlen - 1;
	if (n > 0)
		memcpy(dst, s.ptr, n);
	dst[n] = '\0';
	return s.len;
}

/* ---- pack ---- */

struct ipc_wr {
	uint8_t *out;
	size_t cap;
	size_t len;
};

/* msgpack-c write callback: append into the caller's fixed buffer. */
static int
ipc_wr_cb(void *data, const char *buf, size_t len)
{
	struct ipc_wr *w = data;

	if (len > w->cap - w->len)
		return -1;
	memcpy(w->out + w->len, buf, len);
	w->len += len;
	return 0;
}

static int
ipc_pack_field(msgpack_packer *pk, const struct ipc_field *f, const struct ipc_msg *msg)
{
	const char *base = (const char *)msg + f->off;
	const struct ipc_str *s;
	uint8_t u8;

	switch (f->kind) {
	case IPC_F_U32:
		return msgpack_pack_uint32(pk, *(const uint32_t *)(const void *)base) ? LK_ETOOBIG
		                                                                      : 0;
	case IPC_F_U64:
		return msgpack_pack_uint64(pk, *(const uint64_t *)(const void *)base) ? LK_ETOOBIG
		                                                                      : 0;
	case IPC_F_I32:
		return msgpack_pack_int32(pk, *(const int32_t *)(const void *)base) ? LK_ETOOBIG
		                                                                    : 0;
	case IPC_F_I64:
		return msgpack_pack_int64(pk, *(const int64_t *)(const void *)base) ? LK_ETOOBIG
		                                                                    : 0;
	case IPC_F_BOOL:
		u8 = *(const uint8_t *)base;
		return (u8 ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? LK_ETOOBIG : 0;
	case IPC_F_OUTCOME:
		u8 = *(const uint8_t *)base;
		if (u8 > IPC_OUTCOME_FAILURE)
			return LK_EINVAL;
		return msgpack_pack_uint8(pk, u8) ? LK_ETOOBIG : 0;
	case IPC_F_STR:
	case IPC_F_BIN:
		s = (const struct ipc_str *)(const void *)base;
		if (s->len > IPC_MAX_MSG)
			return LK_ETOOBIG;
		if (s->len > 0 && s->ptr == NULL)
			return LK_EINVAL;
		if (f->kind == IPC_F_STR)
			return msgpack_pack_str_with_body(pk, s->ptr ? s->ptr : "", s->len)
			        ? LK_ETOOBIG
			        : 0;
		return msgpack_pack_bin_with_body(pk, s->ptr ? s->ptr : "", s->len) ? LK_ETOOBIG
		                                                                    : 0;
	}
	return LK_EINVAL;
}

int
ipc_pack(const struct ipc_msg *msg, uint8_t *out, size_t cap)
{
	const struct ipc_schema *s;
	struct ipc_wr w;
	msgpack_packer pk;
	unsigned i;
	int rc;

	if (msg == NULL || out == NULL)
		return LK_EINVAL;
	s = ipc_schema_get((int64_t)msg->type);
	if (s == NULL)
		return LK_EINVAL;
	w.out = out;
	w.cap = cap > IPC_MAX_MSG ? IPC_MAX_MSG : cap;
	w.len = 0;
	msgpack_packer_init(&pk, &w, ipc_wr_cb);
	/* [version, type, fields...] */
	if (msgpack_pack_array(&pk, 2 + s->nfields) || msgpack_pack_uint8(&pk, IPC_VERSION) ||
	        msgpack_pack_uint8(&pk, (uint8_t)msg->type))
		return LK_ETOOBIG;
	for (i = 0; i < s->nfields; i++) {
		rc = ipc_pack_field(&pk, &s->fields[i], msg);
		if (rc < 0)
			return rc;
	}
	return (int)w.len;
}

/* ---- strict unpack ---- */

struct ipc_rd {
	const uint8_t *p;
	const uint8_t *end;
};

static size_t
ipc_rd_left(const struct ipc_rd *r)
{
	return (size_t)(r->end - r->p);
}

/* Big-endian unsigned of n bytes; the caller has checked n bytes remain. */
static uint64_t
ipc_rd_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * One msgpack integer of any width. Non-negative values come back in *u
 * with *neg = 0, negative ones in *i with *neg = 1. LK_ETYPE if the next
 * object is not an integer, LK_EINVAL if it is cut short.
 */
static int
ipc_rd_int(struct ipc_rd *r, int *neg, uint64_t *u, int64_t *i)
{
	unsigned n;
	uint8_t b;
	uint64_t v;

	if (ipc_rd_left(r) < 1)
		return LK_EINVAL;
	b = *r->p;
	if (b <= 0x7f) { /* positive fixint */
		r->p++;
		*neg = 0;
		*u = b;
		return 0;
	}
	if (b >= 0xe0) { /* negative fixint */
		r->p++;
		*neg = 1;
		*i = (int8_t)b;
		return 0;
	}
	switch (b) {
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf: /* uint 8/16/32/64 */
		n = 1u << (b - 0xcc);
		if (ipc_rd_left(r) < 1 + n)
			return LK_EINVAL;
		*neg = 0;
		*u = ipc_rd_be(r->p + 1, n);
		r->p += 1 + n;
		return 0;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: /* int 8/16/32/64 */
		n = 1u << (b - 0xd0);
		if (ipc_rd_left(r) < 1 + n)
			return LK_EINVAL;
		v = ipc_rd_be(r->p + 1, n);
		r->p += 1 + n;
		/* sign-extend from n bytes */
		if (n < 8 && (v & (1ull << (8 * n - 1))))
			v |= ~0ull << (8 * n);
		if ((int64_t)v < 0) {
			*neg = 1;
			*i = (int64_t)v;
		} else {
			*neg = 0;
			*u = v;
		}
		return 0;
	default:
		return LK_ETYPE;
	}
}

/* An integer in [min, max] (signed fields). */
static int
ipc_rd_sint(struct ipc_rd *r, int64_t min, int64_t max, int64_t *out)
{
	uint64_t u = 0;
	int64_t i = 0;
	int neg = 0, rc;

	rc = ipc_rd_int(r, &neg, &u, &i);
	if (rc < 0)
		return rc;
	if (neg) {
		if (i < min)
			return LK_ETYPE;
		*out = i;
		return 0;
	}
	if (u > (uint64_t)max)
		return LK_ETYPE;
	*out = (int64_t)u;
	return 0;
}

/* A non-negative integer <= max (unsigned fields). */
static int
ipc_rd_uint(struct ipc_rd *r, uint64_t max, uint64_t *out)
{
	uint64_t u = 0;
	int64_t i = 0;
	int neg = 0, rc;

	rc = ipc_rd_int(r, &neg, &u, &i);
	if (rc < 0)
		return rc;
	if (neg || u > max)
		return LK_ETYPE;
	*out = u;
	return 0;
}

/* A str (bin = 0) or bin (bin = 1) whose payload lies inside the input. */
static int
ipc_rd_bytes(struct ipc_rd *r, int bin, struct ipc_str *out)
{
	unsigned hdr;
	uint64_t n;
	uint8_t b;

	if (ipc_rd_left(r) < 1)
		return LK_EINVAL;
	b = *r->p;
	if (!bin && b >= 0xa0 && b <= 0xbf) {
		hdr = 1;
		n = b & 0x1f;
	} else if ((!bin && b >= 0xd9 && b <= 0xdb) || (bin && b >= 0xc4 && b <= 0xc6)) {
		/* str8/16/32 or bin8/16/32: 1, 2 or 4 length bytes */
		unsigned lb = 1u << (b - (bin ? 0xc4 : 0xd9));
		if (ipc_rd_left(r) < 1 + lb)
			return LK_EINVAL;
		hdr = 1 + lb;
		n = ipc_rd_be(r->p + 1, lb);
	} else {
		return LK_ETYPE;
	}
	/* the length is checked against what is left before anything points at it */
	if (n > ipc_rd_left(r) - hdr)
		return LK_EINVAL;
	out->ptr = (const char *)r->p + hdr;
	out->len = (uint32_t)n;
	r->p += hdr + n;
	return 0;
}

static int
ipc_rd_field(struct ipc_rd *r, const struct ipc_field *f, struct ipc_msg *msg)
{
	char *base = (char *)msg + f->off;
	uint64_t u;
	int64_t i;
	int rc;

	switch (f->kind) {
	case IPC_F_U32:
		if ((rc = ipc_rd_uint(r, UINT32_MAX, &u)) < 0)
			return rc;
		*(uint32_t *)(void *)base = (uint32_t)u;
		return 0;
	case IPC_F_U64:
		if ((rc = ipc_rd_uint(r, UINT64_MAX, &u)) < 0)
			return rc;
		*(uint64_t *)(void *)base = u;
		return 0;
	case IPC_F_I32:
		if ((rc = ipc_rd_sint(r, INT32_MIN, INT32_MAX, &i)) < 0)
			return rc;
		*(int32_t *)(void *)base = (int32_t)i;
		return 0;
	case IPC_F_I64:
		if ((rc = ipc_rd_sint(r, INT64_MIN, INT64_MAX, &i)) < 0)
			return rc;
		*(int64_t *)(void *)base = i;
		return 0;
	case IPC_F_OUTCOME:
		if ((rc = ipc_rd_uint(r, IPC_OUTCOME_FAILURE, &u)) < 0)
			return rc;
		*(uint8_t *)base = (uint8_t)u;
		return 0;
	case IPC_F_BOOL:
		if (ipc_rd_left(r) < 1)
			return LK_EINVAL;
		if (*r->p != 0xc2 && *r->p != 0xc3)
			return LK_ETYPE;
		*(uint8_t *)base = *r->p == 0xc3;
		r->p++;
		return 0;
	case IPC_F_STR:
	case IPC_F_BIN:
		return ipc_rd_bytes(r, f->kind == IPC_F_BIN, (struct ipc_str *)(void *)base);
	}
	return LK_EINVAL;
}

int
ipc_unpack(const uint8_t *data, size_t len, struct ipc_msg *out)
{
	const struct ipc_schema *s;
	struct ipc_rd r;
	uint64_t count;
	int64_t v;
	unsigned i;
	uint8_t b;
	int rc;

	/* the size limit comes before any byte is looked at */
	if (len > IPC_MAX_MSG)
		return LK_ETOOBIG;
	if (out == NULL || (data == NULL && len > 0))
		return LK_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return LK_EINVAL;
	r.p = data;
	r.end = data + len;

	/* array header: fixarray, array16 or array32 */
	b = *r.p;
	if (b >= 0x90 && b <= 0x9f) {
		count = b & 0x0f;
		r.p++;
	} else if (b == 0xdc || b == 0xdd) {
		unsigned lb = b == 0xdc ? 2 : 4;
		if (ipc_rd_left(&r) < 1 + lb)
			return LK_EINVAL;
		count = ipc_rd_be(r.p + 1, lb);
		r.p += 1 + lb;
	} else {
		return LK_EINVAL;
	}
	if (count == 0)
		return LK_EINVAL;

	/* element 0: the protocol version, checked before anything else */
	rc = ipc_rd_sint(&r, INT64_MIN, INT64_MAX, &v);
	if (rc == LK_EINVAL)
		return rc;
	if (rc < 0 || v != IPC_VERSION)
		return LK_EVERSION;
	if (count < 2)
		return LK_ETYPE;

	/* element 1: a known message type */
	rc = ipc_rd_sint(&r, INT64_MIN, INT64_MAX, &v);
	if (rc < 0)
		return LK_EINVAL;
	s = ipc_schema_get(v);
	if (s == NULL)
		return LK_EINVAL;
	if (count != 2 + (uint64_t)s->nfields)
		return LK_ETYPE;
	out->type = (enum ipc_type)v;

	for (i = 0; i < s->nfields; i++) {
		rc = ipc_rd_field(&r, &s->fields[i], out);
		if (rc < 0)
			return rc;
	}
	if (r.p != r.end)
		return LK_ETRAIL;
	return 0;
}
