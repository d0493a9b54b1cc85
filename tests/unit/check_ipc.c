/*
 * check_ipc: the IPC message codec and the socketpair peer. Round trips for
 * every message type, hostile datagrams (truncated, oversized, wrong version,
 * types, counts, trailing bytes, random), and peers on a real socketpair.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>
#include <msgpack.h>

#include "common/err.h"
#include "ipc/ipc.h"
#include "../common/loop_check.h"

/* ---- sample messages ---- */

static const uint8_t check_ipc_jobpb[] = {0x0a, 0x05, 'A', 'J', '_', 'x', 0x00, 0xff, 0x12, 0x00};

static struct ipc_msg
check_ipc_sample(enum ipc_type t)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = t;
	switch (t) {
	case IPC_INIT:
		m.u.init.ping_interval_ms = 2500;
		m.u.init.ping_timeout_ms = UINT32_MAX;
		m.u.init.log_level = ipc_cstr("debug");
		m.u.init.log_format = ipc_cstr("");
		break;
	case IPC_INIT_OK:
		m.u.init_ok.pid = INT32_MAX;
		break;
	case IPC_PING:
		m.u.ping.ts_ms = INT64_MIN;
		break;
	case IPC_PONG:
		m.u.pong.last_ts_ms = -1;
		m.u.pong.ts_ms = INT64_MAX;
		m.u.pong.rss_kb = UINT64_MAX;
		m.u.pong.cpu_ms = 0;
		break;
	case IPC_START_JOB:
		m.u.start_job.job.ptr = (const char *)check_ipc_jobpb;
		m.u.start_job.job.len = sizeof(check_ipc_jobpb);
		m.u.start_job.url = ipc_cstr("ws://127.0.0.1:7880");
		m.u.start_job.token = ipc_cstr("eyJhbGciOiJIUzI1NiJ9.e30.sig");
		m.u.start_job.identity = ipc_cstr("agent-AJ_x");
		m.u.start_job.worker_id = ipc_cstr("AW_1");
		m.u.start_job.script = ipc_cstr("noop");
		m.u.start_job.script_args = ipc_cstr("a=1 b=\xc3\xa9");
		break;
	case IPC_SHUTDOWN:
		m.u.shutdown.reason = ipc_cstr("job shutdown");
		break;
	case IPC_SHUTDOWN_ACK:
		break;
	case IPC_STATUS:
		m.u.status.room_joined = 1;
		m.u.status.participants = 3;
		m.u.status.audio_in_frames = 1ull << 40;
		m.u.status.audio_out_frames = 7;
		break;
	case IPC_EXITING:
		m.u.exiting.reason = ipc_cstr("room disconnected");
		m.u.exiting.outcome = IPC_OUTCOME_FAILURE;
		m.u.exiting.error = ipc_cstr("script failed: boom");
		break;
	}
	return m;
}

static const enum ipc_type check_ipc_types[] = {
        IPC_INIT,
        IPC_INIT_OK,
        IPC_PING,
        IPC_PONG,
        IPC_START_JOB,
        IPC_SHUTDOWN,
        IPC_SHUTDOWN_ACK,
        IPC_STATUS,
        IPC_EXITING,
};
#define CHECK_IPC_NTYPES (sizeof(check_ipc_types) / sizeof(check_ipc_types[0]))

static int
check_ipc_str_same(struct ipc_str a, struct ipc_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int
check_ipc_same(const struct ipc_msg *a, const struct ipc_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case IPC_INIT:
		return a->u.init.ping_interval_ms == b->u.init.ping_interval_ms &&
		        a->u.init.ping_timeout_ms == b->u.init.ping_timeout_ms &&
		        check_ipc_str_same(a->u.init.log_level, b->u.init.log_level) &&
		        check_ipc_str_same(a->u.init.log_format, b->u.init.log_format);
	case IPC_INIT_OK:
		return a->u.init_ok.pid == b->u.init_ok.pid;
	case IPC_PING:
		return a->u.ping.ts_ms == b->u.ping.ts_ms;
	case IPC_PONG:
		return a->u.pong.last_ts_ms == b->u.pong.last_ts_ms &&
		        a->u.pong.ts_ms == b->u.pong.ts_ms &&
		        a->u.pong.rss_kb == b->u.pong.rss_kb &&
		        a->u.pong.cpu_ms == b->u.pong.cpu_ms;
	case IPC_START_JOB:
		return check_ipc_str_same(a->u.start_job.job, b->u.start_job.job) &&
		        check_ipc_str_same(a->u.start_job.url, b->u.start_job.url) &&
		        check_ipc_str_same(a->u.start_job.token, b->u.start_job.token) &&
		        check_ipc_str_same(a->u.start_job.identity, b->u.start_job.identity) &&
		        check_ipc_str_same(a->u.start_job.worker_id, b->u.start_job.worker_id) &&
		        check_ipc_str_same(a->u.start_job.script, b->u.start_job.script) &&
		        check_ipc_str_same(a->u.start_job.script_args, b->u.start_job.script_args);
	case IPC_SHUTDOWN:
		return check_ipc_str_same(a->u.shutdown.reason, b->u.shutdown.reason);
	case IPC_SHUTDOWN_ACK:
		return 1;
	case IPC_STATUS:
		return a->u.status.room_joined == b->u.status.room_joined &&
		        a->u.status.participants == b->u.status.participants &&
		        a->u.status.audio_in_frames == b->u.status.audio_in_frames &&
		        a->u.status.audio_out_frames == b->u.status.audio_out_frames;
	case IPC_EXITING:
		return check_ipc_str_same(a->u.exiting.reason, b->u.exiting.reason) &&
		        a->u.exiting.outcome == b->u.exiting.outcome &&
		        check_ipc_str_same(a->u.exiting.error, b->u.exiting.error);
	}
	return 0;
}

static int
check_ipc_in(struct ipc_str s, const uint8_t *buf, size_t n)
{
	return (const uint8_t *)s.ptr >= buf && (const uint8_t *)s.ptr + s.len <= buf + n;
}

/* ---- codec ---- */

START_TEST(test_roundtrip_every_type)
{
	uint8_t buf[4096];
	struct ipc_msg in, out;
	size_t i;
	int n;

	for (i = 0; i < CHECK_IPC_NTYPES; i++) {
		in = check_ipc_sample(check_ipc_types[i]);
		n = ipc_pack(&in, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(ipc_unpack(buf, (size_t)n, &out), 0);
		ck_assert_msg(
		        check_ipc_same(&in, &out), "round trip of %s", ipc_type_name(in.type));
		/* The library's own comparison agrees with the field-by-field one above. */
		ck_assert(ipc_msg_equal(&in, &out));
		ck_assert_str_ne(ipc_type_name(in.type), "UNKNOWN");
	}
	/* views point into the datagram, not into a copy */
	in = check_ipc_sample(IPC_START_JOB);
	n = ipc_pack(&in, buf, sizeof(buf));
	ck_assert_int_eq(ipc_unpack(buf, (size_t)n, &out), 0);
	ck_assert(check_ipc_in(out.u.start_job.job, buf, (size_t)n));
	/* One differing field makes the messages unequal. */
	ck_assert(ipc_msg_equal(&in, &out));
	out.u.start_job.script = ipc_cstr("another-script");
	ck_assert(!ipc_msg_equal(&in, &out));
	ck_assert(check_ipc_in(out.u.start_job.script_args, buf, (size_t)n));
	ck_assert(memchr(out.u.start_job.job.ptr, 0, out.u.start_job.job.len) != NULL);
	ck_assert_str_eq(ipc_type_name((enum ipc_type)42), "UNKNOWN");
}
END_TEST

/* msgpack-c's own unpacker reads what ipc_pack writes as [1, type, fields...]. */
START_TEST(test_pack_is_msgpack)
{
	uint8_t buf[4096];
	struct ipc_msg in;
	msgpack_unpacked u;
	msgpack_object *a;
	size_t i, off;
	int n;

	for (i = 0; i < CHECK_IPC_NTYPES; i++) {
		in = check_ipc_sample(check_ipc_types[i]);
		n = ipc_pack(&in, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		msgpack_unpacked_init(&u);
		off = 0;
		ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)buf, (size_t)n, &off),
		        MSGPACK_UNPACK_SUCCESS);
		ck_assert_uint_eq(off, (size_t)n);
		ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
		ck_assert_uint_ge(u.data.via.array.size, 2);
		a = u.data.via.array.ptr;
		ck_assert_int_eq(a[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		ck_assert_uint_eq(a[0].via.u64, IPC_VERSION);
		ck_assert_uint_eq(a[1].via.u64, (uint64_t)in.type);
		if (in.type == IPC_START_JOB) {
			ck_assert_uint_eq(u.data.via.array.size, 9);
			ck_assert_int_eq(a[2].type, MSGPACK_OBJECT_BIN);
			ck_assert_int_eq(a[3].type, MSGPACK_OBJECT_STR);
		}
		if (in.type == IPC_STATUS)
			ck_assert_int_eq(a[2].type, MSGPACK_OBJECT_BOOLEAN);
		if (in.type == IPC_PING)
			ck_assert_int_eq(a[2].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
		msgpack_unpacked_destroy(&u);
	}
}
END_TEST

START_TEST(test_truncated_every_offset)
{
	uint8_t buf[4096];
	struct ipc_msg in, out;
	size_t i, k;
	int n;

	for (i = 0; i < CHECK_IPC_NTYPES; i++) {
		in = check_ipc_sample(check_ipc_types[i]);
		n = ipc_pack(&in, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		for (k = 0; k < (size_t)n; k++) {
			/* an exact-size heap copy so a read past the cut is a real overread */
			uint8_t *cut = malloc(k ? k : 1);
			memcpy(cut, buf, k);
			ck_assert_msg(ipc_unpack(cut, k, &out) == LK_EINVAL, "%s cut at %zu of %d",
			        ipc_type_name(in.type), k, n);
			free(cut);
		}
	}
	ck_assert_int_eq(ipc_unpack(NULL, 0, &out), LK_EINVAL);
}
END_TEST

START_TEST(test_oversized)
{
	uint8_t *big = calloc(1, IPC_MAX_MSG + 16);
	uint8_t small[8];
	struct ipc_msg in, out;
	int n;

	/* the limit is checked before the content: even a valid prefix is refused */
	in = check_ipc_sample(IPC_SHUTDOWN_ACK);
	n = ipc_pack(&in, big, IPC_MAX_MSG);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ipc_unpack(big, IPC_MAX_MSG + 1, &out), LK_ETOOBIG);

	/* a job blob that cannot fit */
	in = check_ipc_sample(IPC_START_JOB);
	in.u.start_job.job.ptr = (const char *)big;
	in.u.start_job.job.len = IPC_MAX_MSG;
	ck_assert_int_eq(ipc_pack(&in, big + 8, IPC_MAX_MSG), LK_ETOOBIG);
	/* too small an output buffer */
	in = check_ipc_sample(IPC_EXITING);
	ck_assert_int_eq(ipc_pack(&in, small, sizeof(small)), LK_ETOOBIG);

	/* exactly IPC_MAX_MSG bytes is allowed: bin32 header 5 + fixed part */
	{
		uint8_t *blob = calloc(1, IPC_MAX_MSG);
		struct ipc_msg m;
		memset(&m, 0, sizeof(m));
		m.type = IPC_START_JOB;
		/* [1,5,bin32(L),"","","","","",""] = 1+1+1+5+L+6 */
		m.u.start_job.job.ptr = (const char *)blob;
		m.u.start_job.job.len = IPC_MAX_MSG - 14;
		n = ipc_pack(&m, big, IPC_MAX_MSG + 16);
		ck_assert_int_eq(n, IPC_MAX_MSG);
		ck_assert_int_eq(ipc_unpack(big, (size_t)n, &out), 0);
		ck_assert_uint_eq(out.u.start_job.job.len, IPC_MAX_MSG - 14);
		m.u.start_job.job.len++;
		ck_assert_int_eq(ipc_pack(&m, big, IPC_MAX_MSG + 16), LK_ETOOBIG);
		free(blob);
	}
	free(big);
}
END_TEST

/*
 * Hostile messages are built with msgpack-c's packer from a spec string,
 * one character per array element:
 * u uint 5, i int -5, s str "x", b bin "x", T true, n nil, f float 1.5,
 * a array [], m map {}, U uint64 max, I int64 min, B 2^32, P 2^31, 2 uint 2,
 * 0 uint 0, 1 uint 1, V the version (1).
 */
struct check_ipc_buf {
	uint8_t data[512];
	size_t len;
};

static int
check_ipc_buf_write(void *d, const char *buf, size_t len)
{
	struct check_ipc_buf *b = d;

	ck_assert_uint_le(b->len + len, sizeof(b->data));
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return 0;
}

static void
check_ipc_pack_elem(msgpack_packer *pk, char c)
{
	switch (c) {
	case 'u':
		msgpack_pack_uint8(pk, 5);
		break;
	case 'i':
		msgpack_pack_int8(pk, -5);
		break;
	case 's':
		msgpack_pack_str_with_body(pk, "x", 1);
		break;
	case 'b':
		msgpack_pack_bin_with_body(pk, "x", 1);
		break;
	case 'T':
		msgpack_pack_true(pk);
		break;
	case 'n':
		msgpack_pack_nil(pk);
		break;
	case 'f':
		msgpack_pack_double(pk, 1.5);
		break;
	case 'a':
		msgpack_pack_array(pk, 0);
		break;
	case 'm':
		msgpack_pack_map(pk, 0);
		break;
	case 'U':
		msgpack_pack_uint64(pk, UINT64_MAX);
		break;
	case 'I':
		msgpack_pack_int64(pk, INT64_MIN);
		break;
	case 'B':
		msgpack_pack_uint64(pk, 1ull << 32);
		break;
	case 'P':
		msgpack_pack_uint64(pk, 1ull << 31);
		break;
	case '2':
		msgpack_pack_uint8(pk, 2);
		break;
	case 'V':
		msgpack_pack_uint8(pk, IPC_VERSION);
		break;
	case '0':
		msgpack_pack_uint8(pk, 0);
		break;
	case '1':
		msgpack_pack_uint8(pk, 1);
		break;
	default:
		ck_abort_msg("bad spec char %c", c);
	}
}

/* [version, type, spec...] */
static int
check_ipc_try(int type, const char *spec)
{
	struct check_ipc_buf b = {.len = 0};
	msgpack_packer pk;
	struct ipc_msg out;
	size_t i, n = strlen(spec);

	msgpack_packer_init(&pk, &b, check_ipc_buf_write);
	msgpack_pack_array(&pk, 2 + n);
	msgpack_pack_uint8(&pk, IPC_VERSION);
	msgpack_pack_int32(&pk, type);
	for (i = 0; i < n; i++)
		check_ipc_pack_elem(&pk, spec[i]);
	return ipc_unpack(b.data, b.len, &out);
}

/* the valid element kinds per type, and the wrong ones per field kind */
static const struct {
	int type;
	const char *spec; /* valid */
	const char
	        *fields; /* field classes: 3=u32 6=u64 1=i32 4=i64 s=str b=bin o=bool c=outcome */
} check_ipc_specs[] = {
        {IPC_INIT, "uuss", "33ss"},
        {IPC_INIT_OK, "u", "1"},
        {IPC_PING, "i", "4"},
        {IPC_PONG, "iiuu", "4466"},
        {IPC_START_JOB, "bssssss", "bssssss"},
        {IPC_SHUTDOWN, "s", "s"},
        {IPC_SHUTDOWN_ACK, "", ""},
        {IPC_STATUS, "Tuuu", "o366"},
        {IPC_EXITING, "s1s", "scs"},
};

static const char *
check_ipc_wrong_for(char cls)
{
	switch (cls) {
	case '3':
		return "isbTnfamB";
	case '6':
		return "isbTnfamI";
	case '1':
		return "sbTnfamPUI";
	case '4':
		return "sbTnfamU";
	case 's':
		return "ubTnam";
	case 'b':
		return "usTnam";
	case 'o':
		return "uisn2";
	case 'c':
		return "2iTsn";
	}
	return "";
}

START_TEST(test_valid_specs_and_encodings)
{
	struct ipc_msg out;
	size_t i;
	/* integers may come in any msgpack width when the value fits */
	static const uint8_t ping_i64[] = {0x93, 0x01, 0x03, 0xd3, 0, 0, 0, 0, 0, 0, 0, 5};
	static const uint8_t ping_u64[] = {0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0xd0, 0xfb};
	static const uint8_t initok_neg[] = {0x93, 0x01, 0x02, 0xd2, 0x80, 0, 0, 0};
	static const uint8_t arr16[] = {0xdc, 0, 3, 0x01, 0x06, 0xd9, 0x01, 'x'};

	for (i = 0; i < sizeof(check_ipc_specs) / sizeof(check_ipc_specs[0]); i++)
		ck_assert_msg(check_ipc_try(check_ipc_specs[i].type, check_ipc_specs[i].spec) == 0,
		        "spec %zu", i);
	ck_assert_int_eq(ipc_unpack(ping_i64, sizeof(ping_i64), &out), 0);
	ck_assert_int_eq(out.u.ping.ts_ms, 5);
	ck_assert_int_eq(ipc_unpack(ping_u64, sizeof(ping_u64), &out), 0);
	ck_assert_int_eq(out.u.ping.ts_ms, -5);
	ck_assert_int_eq(ipc_unpack(initok_neg, sizeof(initok_neg), &out), 0);
	ck_assert_int_eq(out.u.init_ok.pid, INT32_MIN);
	ck_assert_int_eq(ipc_unpack(arr16, sizeof(arr16), &out), 0);
	ck_assert_int_eq(out.type, IPC_SHUTDOWN);
	ck_assert(ipc_str_eq(out.u.shutdown.reason, "x"));
}
END_TEST

START_TEST(test_wrong_field_types)
{
	size_t i, f, w;
	char spec[16];
	const char *wrong;
	int rc;

	for (i = 0; i < sizeof(check_ipc_specs) / sizeof(check_ipc_specs[0]); i++) {
		for (f = 0; f < strlen(check_ipc_specs[i].spec); f++) {
			wrong = check_ipc_wrong_for(check_ipc_specs[i].fields[f]);
			ck_assert(wrong[0] != '\0');
			for (w = 0; wrong[w]; w++) {
				strcpy(spec, check_ipc_specs[i].spec);
				spec[f] = wrong[w];
				rc = check_ipc_try(check_ipc_specs[i].type, spec);
				ck_assert_msg(rc == LK_ETYPE, "type %d field %zu as %c: rc %d",
				        check_ipc_specs[i].type, f, wrong[w], rc);
			}
		}
	}
}
END_TEST

START_TEST(test_wrong_counts)
{
	size_t i;
	char spec[16];
	struct ipc_msg out;
	static const uint8_t only_version[] = {0x91, 0x01};

	for (i = 0; i < sizeof(check_ipc_specs) / sizeof(check_ipc_specs[0]); i++) {
		strcpy(spec, check_ipc_specs[i].spec);
		strcat(spec, "u");
		ck_assert_int_eq(check_ipc_try(check_ipc_specs[i].type, spec), LK_ETYPE);
		if (spec[1] != '\0') {
			strcpy(spec, check_ipc_specs[i].spec);
			spec[strlen(spec) - 1] = '\0';
			ck_assert_int_eq(check_ipc_try(check_ipc_specs[i].type, spec), LK_ETYPE);
		}
	}
	ck_assert_int_eq(ipc_unpack(only_version, sizeof(only_version), &out), LK_ETYPE);
}
END_TEST

START_TEST(test_version_and_type)
{
	struct ipc_msg out;
	static const uint8_t v2[] = {0x93, 0x02, 0x03, 0x00};
	static const uint8_t v0[] = {0x93, 0x00, 0x03, 0x00};
	static const uint8_t vneg[] = {0x93, 0xff, 0x03, 0x00};
	static const uint8_t vstr[] = {0x93, 0xa1, '1', 0x03, 0x00};
	static const uint8_t vnil[] = {0x92, 0xc0, 0x07};
	/* a future version with a different shape is still "wrong version" */
	static const uint8_t v2long[] = {0x95, 0x02, 0x63, 0x00, 0x00, 0x00};
	static const uint8_t t0[] = {0x92, 0x01, 0x00};
	static const uint8_t t10[] = {0x92, 0x01, 0x0a};
	static const uint8_t tneg[] = {0x92, 0x01, 0xff};
	static const uint8_t tstr[] = {0x93, 0x01, 0xa4, 'P', 'I', 'N', 'G', 0x00};
	static const uint8_t tbig[] = {0x92, 0x01, 0xcf, 1, 0, 0, 0, 0, 0, 0, 7};
	static const uint8_t empty_arr[] = {0x90};
	static const uint8_t map[] = {0x81, 0x01, 0x07};
	static const uint8_t num[] = {0x07};
	static const uint8_t nil[] = {0xc0};
	static const uint8_t never[] = {0xc1};
	/* a 4-billion element array header costs nothing: the count is only compared */
	static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x03, 0x00};

	ck_assert_int_eq(ipc_unpack(v2, sizeof(v2), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(v0, sizeof(v0), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(vneg, sizeof(vneg), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(vstr, sizeof(vstr), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(vnil, sizeof(vnil), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(v2long, sizeof(v2long), &out), LK_EVERSION);
	ck_assert_int_eq(ipc_unpack(t0, sizeof(t0), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(t10, sizeof(t10), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(tneg, sizeof(tneg), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(tstr, sizeof(tstr), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(tbig, sizeof(tbig), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(empty_arr, sizeof(empty_arr), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(map, sizeof(map), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(num, sizeof(num), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(nil, sizeof(nil), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(never, sizeof(never), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(huge, sizeof(huge), &out), LK_ETYPE);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	uint8_t buf[8192];
	struct ipc_msg in, out;
	size_t i;
	int n, m;

	for (i = 0; i < CHECK_IPC_NTYPES; i++) {
		in = check_ipc_sample(check_ipc_types[i]);
		n = ipc_pack(&in, buf, sizeof(buf) / 2);
		ck_assert_int_gt(n, 0);
		buf[n] = 0x00;
		ck_assert_int_eq(ipc_unpack(buf, (size_t)n + 1, &out), LK_ETRAIL);
		/* two messages in one datagram */
		m = ipc_pack(&in, buf + n, sizeof(buf) / 2);
		ck_assert_int_eq(ipc_unpack(buf, (size_t)(n + m), &out), LK_ETRAIL);
	}
}
END_TEST

/* a string whose declared length runs past the datagram */
START_TEST(test_lengths_past_end)
{
	struct ipc_msg out;
	static const uint8_t str8[] = {0x93, 0x01, 0x06, 0xd9, 0x05, 'a', 'b'};
	static const uint8_t str32[] = {0x93, 0x01, 0x06, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
	static const uint8_t bin32[] = {0x99, 0x01, 0x05, 0xc6, 0x7f, 0xff, 0xff, 0xff, 'a'};
	static const uint8_t fix[] = {0x93, 0x01, 0x06, 0xa5, 'a'};

	ck_assert_int_eq(ipc_unpack(str8, sizeof(str8), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(str32, sizeof(str32), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(bin32, sizeof(bin32), &out), LK_EINVAL);
	ck_assert_int_eq(ipc_unpack(fix, sizeof(fix), &out), LK_EINVAL);
}
END_TEST

static uint64_t check_ipc_rng = 0x9e3779b97f4a7c15ull;

static uint32_t
check_ipc_rand(void)
{
	check_ipc_rng ^= check_ipc_rng << 13;
	check_ipc_rng ^= check_ipc_rng >> 7;
	check_ipc_rng ^= check_ipc_rng << 17;
	return (uint32_t)(check_ipc_rng >> 16);
}

/* random bytes and random mutations of valid messages never crash; accepted ones round trip */
START_TEST(test_random_bytes)
{
	uint8_t valid[4096], *buf, re[4096];
	struct ipc_msg in, out, again;
	size_t len, k;
	int i, n, accepted = 0, rn;

	for (i = 0; i < 200000; i++) {
		if (i % 2 == 0) {
			len = check_ipc_rand() % 48;
			buf = malloc(len ? len : 1);
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)check_ipc_rand();
			/* bias towards plausible starts */
			if (len > 1 && (i & 4)) {
				buf[0] = (uint8_t)(0x90 + check_ipc_rand() % 10);
				buf[1] = IPC_VERSION;
			}
		} else {
			in = check_ipc_sample(check_ipc_types[check_ipc_rand() % CHECK_IPC_NTYPES]);
			n = ipc_pack(&in, valid, sizeof(valid));
			len = (size_t)n;
			buf = malloc(len);
			memcpy(buf, valid, len);
			for (k = 0; k < 1 + check_ipc_rand() % 3; k++)
				buf[check_ipc_rand() % len] = (uint8_t)check_ipc_rand();
		}
		if (ipc_unpack(buf, len, &out) == 0) {
			accepted++;
			rn = ipc_pack(&out, re, sizeof(re));
			ck_assert_int_gt(rn, 0);
			ck_assert_uint_le((size_t)rn, len);
			ck_assert_int_eq(ipc_unpack(re, (size_t)rn, &again), 0);
			ck_assert(check_ipc_same(&out, &again));
		}
		free(buf);
	}
	ck_assert_int_gt(accepted, 0);
}
END_TEST

START_TEST(test_pack_rejects)
{
	uint8_t buf[256];
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (enum ipc_type)0;
	ck_assert_int_eq(ipc_pack(&m, buf, sizeof(buf)), LK_EINVAL);
	m.type = (enum ipc_type)10;
	ck_assert_int_eq(ipc_pack(&m, buf, sizeof(buf)), LK_EINVAL);
	m = check_ipc_sample(IPC_EXITING);
	m.u.exiting.outcome = 2;
	ck_assert_int_eq(ipc_pack(&m, buf, sizeof(buf)), LK_EINVAL);
	m = check_ipc_sample(IPC_SHUTDOWN);
	m.u.shutdown.reason.ptr = NULL;
	ck_assert_int_eq(ipc_pack(&m, buf, sizeof(buf)), LK_EINVAL);
	m.u.shutdown.reason.len = 0;
	ck_assert_int_gt(ipc_pack(&m, buf, sizeof(buf)), 0);
	ck_assert_int_eq(ipc_pack(NULL, buf, sizeof(buf)), LK_EINVAL);
}
END_TEST

START_TEST(test_str_helpers)
{
	char small[4];
	struct ipc_str s = ipc_cstr(NULL);

	ck_assert_uint_eq(s.len, 0);
	ck_assert_ptr_nonnull(s.ptr);
	ck_assert(ipc_str_eq(s, ""));
	ck_assert(ipc_str_eq(s, NULL));
	s = ipc_cstr("hello");
	ck_assert(ipc_str_eq(s, "hello"));
	ck_assert(!ipc_str_eq(s, "hell"));
	ck_assert(!ipc_str_eq(s, "hello!"));
	ck_assert_uint_eq(ipc_str_copy(small, sizeof(small), s), 5);
	ck_assert_str_eq(small, "hel");
}
END_TEST

/* ---- peer over a real socketpair ---- */

struct check_side {
	struct ipc_peer *peer;
	int nmsg;
	int nclose;
	int close_err;
	int free_on_msg; /* free the peer inside on_msg after this many messages */
	int free_on_close; /* free the peer inside on_close */
	enum ipc_type last_type;
	int64_t next_seq; /* heavy traffic: expected sequence */
	int bad; /* a message arrived out of order or damaged */
	struct ipc_msg copy_check;
};

static void
check_side_msg(struct ipc_peer *peer, const struct ipc_msg *msg, void *arg)
{
	struct check_side *s = arg;

	s->nmsg++;
	s->last_type = msg->type;
	if (msg->type == IPC_PING) {
		if (msg->u.ping.ts_ms != s->next_seq)
			s->bad++;
		s->next_seq++;
	}
	if (msg->type == IPC_START_JOB) {
		/* identity carries the sequence number, job bytes repeat it */
		char want[32];
		uint32_t k;
		snprintf(want, sizeof(want), "seq-%lld", (long long)s->next_seq);
		if (!ipc_str_eq(msg->u.start_job.identity, want))
			s->bad++;
		for (k = 0; k < msg->u.start_job.job.len; k++)
			if ((uint8_t)msg->u.start_job.job.ptr[k] != (uint8_t)(s->next_seq + k))
				s->bad++;
		s->next_seq++;
	}
	if (s->free_on_msg && s->nmsg == s->free_on_msg) {
		ipc_peer_free(peer);
		s->peer = NULL;
	}
}

static void
check_side_close(struct ipc_peer *peer, int err, void *arg)
{
	struct check_side *s = arg;

	s->nclose++;
	s->close_err = err;
	if (s->free_on_close) {
		ipc_peer_free(peer);
		s->peer = NULL;
	}
}

static struct ev_loop *check_loop;
static int check_fds[2];

static void
check_pair(struct check_side *a, struct check_side *b)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, check_fds), 0);
	a->peer = ipc_peer_new(check_loop, check_fds[0], check_side_msg, check_side_close, a);
	b->peer = ipc_peer_new(check_loop, check_fds[1], check_side_msg, check_side_close, b);
	ck_assert_ptr_nonnull(a->peer);
	ck_assert_ptr_nonnull(b->peer);
}

static int check_deadline_hit;
static const int *check_wait_flag;
static int check_wait_want;

static void
check_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	check_deadline_hit = 1;
	ev_break(loop, EVBREAK_ONE);
}

/* before each poll: stop as soon as the condition holds (callbacks may
 * have run at the start of ev_run without any poll) */
static void
check_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)w;
	(void)revents;
	if (*check_wait_flag >= check_wait_want)
		ev_break(loop, EVBREAK_ONE);
}

/* Run the loop until *flag >= want or 10 s pass. */
static void
check_run_until(const int *flag, int want)
{
	ev_timer t;
	ev_prepare p;

	check_deadline_hit = 0;
	check_wait_flag = flag;
	check_wait_want = want;
	ev_timer_init(&t, check_deadline_cb, 10.0, 0);
	ev_timer_start(check_loop, &t);
	ev_prepare_init(&p, check_prepare_cb);
	ev_prepare_start(check_loop, &p);
	while (*flag < want && !check_deadline_hit)
		ev_run(check_loop, 0);
	ev_prepare_stop(check_loop, &p);
	ev_timer_stop(check_loop, &t);
	ck_assert_msg(*flag >= want, "timed out waiting (%d < %d)", *flag, want);
}

/* Run a few idle iterations so that anything pending gets delivered. */
static void
check_settle(void)
{
	int i;

	for (i = 0; i < 5; i++)
		ev_run(check_loop, EVRUN_NOWAIT);
}

static void
check_loop_setup(void)
{
	check_loop = ev_loop_new(EVFLAG_AUTO);
}

static void
check_loop_teardown(void)
{
	ev_loop_destroy(check_loop);
}

START_TEST(test_peer_exchange)
{
	struct check_side a, b;
	struct ipc_msg m;
	size_t i;

	check_pair(&a, &b);
	for (i = 0; i < CHECK_IPC_NTYPES; i++) {
		m = check_ipc_sample(check_ipc_types[i]);
		if (m.type == IPC_PING)
			m.u.ping.ts_ms = 0;
		if (m.type == IPC_START_JOB) {
			m.u.start_job.identity = ipc_cstr("seq-1");
			m.u.start_job.job.len = 0;
		}
		ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	}
	m = check_ipc_sample(IPC_PONG);
	ck_assert_int_eq(ipc_peer_send(b.peer, &m), 0);
	check_run_until(&b.nmsg, (int)CHECK_IPC_NTYPES);
	check_run_until(&a.nmsg, 1);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(a.last_type, IPC_PONG);
	ck_assert_int_eq(b.last_type, IPC_EXITING);
	ck_assert_int_ge(ipc_peer_fd(a.peer), 0);
	ipc_peer_free(a.peer);
	check_run_until(&b.nclose, 1);
	ck_assert_int_eq(b.close_err, 0); /* EOF */
	ck_assert_int_eq(ipc_peer_send(b.peer, &m), LK_ECLOSED);
	ipc_peer_free(b.peer);
	loop_check_no_watchers(check_loop);
}
END_TEST

/* Both sides send far more than the socket buffers hold; all arrives in order. */
START_TEST(test_peer_heavy_traffic)
{
	struct check_side a, b;
	struct ipc_msg m;
	static uint8_t job[2][60000];
	char ident[32];
	int i, k, n = 200;

	check_pair(&a, &b);
	for (i = 0; i < n; i++) {
		for (k = 0; k < (int)sizeof(job[0]); k++)
			job[0][k] = (uint8_t)(i + k);
		snprintf(ident, sizeof(ident), "seq-%d", i);
		m = check_ipc_sample(IPC_START_JOB);
		m.u.start_job.job.ptr = (const char *)job[0];
		m.u.start_job.job.len = sizeof(job[0]);
		m.u.start_job.identity = ipc_cstr(ident);
		ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
		ck_assert_int_eq(ipc_peer_send(b.peer, &m), 0);
	}
	/* 12 MB each way cannot all be in the kernel: most of it waited in the queues */
	check_run_until(&a.nmsg, n);
	check_run_until(&b.nmsg, n);
	ck_assert_int_eq(a.bad, 0);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(a.nclose + b.nclose, 0);
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
	loop_check_no_watchers(check_loop);
}
END_TEST

/* A message of the maximum size crosses the socket. */
START_TEST(test_peer_max_size)
{
	struct check_side a, b;
	struct ipc_msg m;
	uint8_t *blob = malloc(IPC_MAX_MSG);
	int k;

	check_pair(&a, &b);
	memset(&m, 0, sizeof(m));
	m.type = IPC_START_JOB;
	for (k = 0; k < IPC_MAX_MSG; k++)
		blob[k] = (uint8_t)k;
	m.u.start_job.job.ptr = (const char *)blob;
	m.u.start_job.job.len = IPC_MAX_MSG - 14 - 5; /* identity "seq-0" */
	m.u.start_job.identity = ipc_cstr("seq-0");
	ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	check_run_until(&b.nmsg, 1);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(b.nclose, 0);
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
	free(blob);
	loop_check_no_watchers(check_loop);
}
END_TEST

START_TEST(test_peer_queue_bound)
{
	struct check_side a, b;
	struct ipc_msg m;
	int sent = 0, rc;

	check_pair(&a, &b);
	memset(&m, 0, sizeof(m));
	m.type = IPC_PING;
	for (;;) {
		m.u.ping.ts_ms = sent;
		rc = ipc_peer_send(a.peer, &m);
		if (rc != 0)
			break;
		sent++;
		ck_assert_int_lt(sent, 100000);
	}
	ck_assert_int_eq(rc, LK_EAGAIN);
	ck_assert_int_ge(sent, IPC_QUEUE_MAX);
	check_run_until(&b.nmsg, sent);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(b.next_seq, sent);
	/* the queue drained: sending works again */
	m.u.ping.ts_ms = sent;
	ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	check_run_until(&b.nmsg, sent + 1);
	ipc_peer_free(a.peer);
	ipc_peer_free(b.peer);
	loop_check_no_watchers(check_loop);
}
END_TEST

static void
check_malformed_case(const void *data, size_t len, int want_err)
{
	struct check_side a, b;
	struct ipc_msg m = check_ipc_sample(IPC_SHUTDOWN_ACK);

	check_pair(&a, &b);
	/* one good message first, then the bad one, then more good ones */
	ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	ck_assert_int_eq(ipc_peer_send_raw(a.peer, data, len), 0);
	ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	ck_assert_int_eq(ipc_peer_send_raw(a.peer, data, len), 0);
	check_run_until(&b.nclose, 1);
	check_settle();
	ck_assert_int_eq(b.nmsg, 1);
	ck_assert_int_eq(b.nclose, 1);
	ck_assert_int_eq(b.close_err, want_err);
	ck_assert_int_eq(ipc_peer_send(b.peer, &m), LK_ECLOSED);
	ipc_peer_free(b.peer);
	/* the sender sees the other end go away */
	check_run_until(&a.nclose, 1);
	ck_assert_int_eq(a.nclose, 1);
	ipc_peer_free(a.peer);
	loop_check_no_watchers(check_loop);
}

START_TEST(test_peer_malformed_closes)
{
	static const uint8_t never[] = {0xc1, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
	static const uint8_t v2[] = {0x92, 0x02, 0x07};
	static const uint8_t trail[] = {0x92, 0x01, 0x07, 0x00};
	static const uint8_t wrongtype[] = {0x93, 0x01, 0x03, 0xa1, 'x'};
	uint8_t *big = calloc(1, IPC_MAX_MSG + 100);

	check_malformed_case(never, sizeof(never), LK_EINVAL);
	check_malformed_case(v2, sizeof(v2), LK_EVERSION);
	check_malformed_case(trail, sizeof(trail), LK_ETRAIL);
	check_malformed_case(wrongtype, sizeof(wrongtype), LK_ETYPE);
	/* an empty datagram is not EOF */
	check_malformed_case("", 0, LK_EINVAL);
	/* larger than IPC_MAX_MSG: detected through MSG_TRUNC */
	big[0] = 0x91;
	check_malformed_case(big, IPC_MAX_MSG + 100, LK_ETOOBIG);
	free(big);
}
END_TEST

START_TEST(test_peer_free_inside_callbacks)
{
	struct check_side a, b;
	struct ipc_msg m = check_ipc_sample(IPC_STATUS);
	int i;

	check_pair(&a, &b);
	b.free_on_msg = 2;
	a.free_on_close = 1; /* a notices EOF and frees itself from on_close */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	check_run_until(&b.nmsg, 2);
	check_settle();
	ck_assert_int_eq(b.nmsg, 2);
	ck_assert_int_eq(b.nclose, 0);
	ck_assert_ptr_null(b.peer);
	check_run_until(&a.nclose, 1);
	ck_assert_ptr_null(a.peer);
	loop_check_no_watchers(check_loop);
}
END_TEST

/* ipc_peer_flush writes out what the queue holds while nobody runs the loop. */
START_TEST(test_peer_flush)
{
	struct check_side a;
	struct ipc_msg m, out;
	uint8_t buf[IPC_MAX_MSG / 4];
	static uint8_t job[30000];
	int fds[2], sent = 0, got = 0, rounds = 0;
	ssize_t n;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
	a.peer = ipc_peer_new(check_loop, fds[0], check_side_msg, check_side_close, &a);
	ck_assert_ptr_nonnull(a.peer);
	memset(&m, 0, sizeof(m));
	m.type = IPC_START_JOB;
	m.u.start_job.job.ptr = (const char *)job;
	m.u.start_job.job.len = sizeof(job);
	for (sent = 0; sent < 100; sent++)
		ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	while (got < sent) {
		ck_assert_int_lt(rounds++, 10000);
		ipc_peer_flush(a.peer, 10);
		while ((n = recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			ck_assert_int_eq(ipc_unpack(buf, (size_t)n, &out), 0);
			ck_assert_int_eq(out.type, IPC_START_JOB);
			got++;
		}
	}
	ck_assert_int_eq(got, sent);
	ipc_peer_free(a.peer);
	close(fds[1]);
	loop_check_no_watchers(check_loop);
}
END_TEST

/* What the other side sent before it went away is read on demand, then EOF. */
START_TEST(test_peer_read_pending)
{
	struct check_side a, b;
	struct ipc_msg m = check_ipc_sample(IPC_EXITING);
	int i;

	check_pair(&a, &b);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ipc_peer_send(a.peer, &m), 0);
	ipc_peer_free(a.peer);
	ck_assert_int_eq(b.nmsg, 0);
	ipc_peer_read_pending(b.peer);
	ck_assert_int_eq(b.nmsg, 3);
	ck_assert_int_eq(b.last_type, IPC_EXITING);
	ck_assert_int_eq(b.nclose, 1);
	ck_assert_int_eq(b.close_err, 0);
	ipc_peer_read_pending(b.peer); /* closed: nothing more */
	ck_assert_int_eq(b.nclose, 1);
	ipc_peer_free(b.peer);
	loop_check_no_watchers(check_loop);
}
END_TEST

START_TEST(test_peer_send_to_closed)
{
	struct check_side a;
	struct ipc_msg m = check_ipc_sample(IPC_PING);
	int fds[2], rc;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
	a.peer = ipc_peer_new(check_loop, fds[0], check_side_msg, check_side_close, &a);
	close(fds[1]);
	rc = ipc_peer_send(a.peer, &m);
	ck_assert_int_lt(rc, 0); /* -EPIPE, reported once more through on_close */
	ck_assert_int_eq(a.nclose, 0); /* never from inside a send */
	check_run_until(&a.nclose, 1);
	check_settle();
	ck_assert_int_eq(a.nclose, 1);
	ipc_peer_free(a.peer);
	ck_assert_ptr_null(ipc_peer_new(check_loop, -1, check_side_msg, check_side_close, &a));
	loop_check_no_watchers(check_loop);
}
END_TEST

static Suite *
check_ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("codec");
	TCase *tp = tcase_create("peer");

	tcase_add_test(tc, test_roundtrip_every_type);
	tcase_add_test(tc, test_pack_is_msgpack);
	tcase_add_test(tc, test_truncated_every_offset);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_valid_specs_and_encodings);
	tcase_add_test(tc, test_wrong_field_types);
	tcase_add_test(tc, test_wrong_counts);
	tcase_add_test(tc, test_version_and_type);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_test(tc, test_lengths_past_end);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_pack_rejects);
	tcase_add_test(tc, test_str_helpers);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, check_loop_setup, check_loop_teardown);
	tcase_add_test(tp, test_peer_exchange);
	tcase_add_test(tp, test_peer_heavy_traffic);
	tcase_add_test(tp, test_peer_max_size);
	tcase_add_test(tp, test_peer_queue_bound);
	tcase_add_test(tp, test_peer_malformed_closes);
	tcase_add_test(tp, test_peer_free_inside_callbacks);
	tcase_add_test(tp, test_peer_flush);
	tcase_add_test(tp, test_peer_read_pending);
	tcase_add_test(tp, test_peer_send_to_closed);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(check_ipc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
