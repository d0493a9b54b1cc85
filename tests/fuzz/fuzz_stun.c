/*
 * fuzz_stun: feeds arbitrary datagrams to stun_parse and the integrity /
 * fingerprint checks (what every ICE agent does with inbound STUN), and
 * checks that what the builders write from parsed fields parses back to
 * the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_pwd[] = "fuzzpasswordfuzzpassword";

static void
fuzz_stun_roundtrip_request(const struct stun_msg *m)
{
	char user[STUN_MAX_USERNAME + 1];
	uint8_t out[STUN_MAX_LEN];
	struct stun_binding_req r;
	struct stun_msg m2;
	int n;

	if (!(m->flags & STUN_F_USERNAME) || m->username_len == 0 ||
	        memchr(m->username, '\0', m->username_len) != NULL)
		return;
	memcpy(user, m->username, m->username_len);
	user[m->username_len] = '\0';
	memset(&r, 0, sizeof(r));
	r.tid = m->tid;
	r.username = user;
	r.password = fuzz_pwd;
	r.priority = m->priority;
	r.controlling = (m->flags & STUN_F_CONTROLLING) != 0;
	r.tie_breaker = m->tie_breaker;
	r.use_candidate = (m->flags & STUN_F_USE_CANDIDATE) != 0;
	n = stun_build_binding_request(out, sizeof(out), &r);
	if (n < 0)
		abort();
	if (stun_parse(out, (size_t)n, &m2) != 0)
		abort();
	if (m2.username_len != m->username_len ||
	        memcmp(m2.username, m->username, m->username_len) != 0 ||
	        m2.priority != m->priority || m2.tie_breaker != m->tie_breaker ||
	        memcmp(m2.tid, m->tid, STUN_TID_LEN) != 0 ||
	        !!(m2.flags & STUN_F_USE_CANDIDATE) != r.use_candidate ||
	        !!(m2.flags & STUN_F_CONTROLLING) != r.controlling)
		abort();
	if (stun_check_integrity(&m2, fuzz_pwd, strlen(fuzz_pwd)) != 0 ||
	        stun_check_fingerprint(&m2) != 0)
		abort();
}

static void
fuzz_stun_roundtrip_addr(const struct stun_msg *m, const struct stun_addr *a)
{
	uint8_t out[256];
	struct stun_msg m2;
	int n;

	n = stun_build_binding_success(out, sizeof(out), m->tid, a, fuzz_pwd);
	if (n < 0)
		abort();
	if (stun_parse(out, (size_t)n, &m2) != 0 || !(m2.flags & STUN_F_XOR_MAPPED))
		abort();
	if (m2.xor_mapped.family != a->family || m2.xor_mapped.port != a->port ||
	        memcmp(m2.xor_mapped.addr, a->addr, a->family == 4 ? 4 : 16) != 0)
		abort();
	if (stun_check_integrity(&m2, fuzz_pwd, strlen(fuzz_pwd)) != 0 ||
	        stun_check_fingerprint(&m2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m;
	struct stun_addr a;
	int rc;

	rc = stun_parse(data, size, &m);
	if (rc != 0) {
		if (rc != LK_EINVAL && rc != LK_ETOOBIG && rc != LK_ETRAIL)
			abort();
		/* Parsing a shorter prefix must not misbehave either. */
		if (size > STUN_HEADER_LEN)
			(void)stun_parse(data, size - 1, &m);
		return 0;
	}
	/* Everything the parser exposes lies inside the datagram. */
	if (m.len != size || m.raw != data)
		abort();
	if ((m.flags & STUN_F_USERNAME) &&
	        (m.username < data || m.username + m.username_len > data + size ||
	                m.username_len > STUN_MAX_USERNAME))
		abort();
	if ((m.flags & STUN_F_INTEGRITY) && m.integrity_off + 4 + STUN_HMAC_LEN > size)
		abort();
	if ((m.flags & STUN_F_FINGERPRINT) && m.fingerprint_off + 8 != size)
		abort();
	if ((m.flags & STUN_F_ERROR_CODE) &&
	        (m.error_code < 300 || m.error_code > 699 ||
	                m.error_reason + m.error_reason_len > data + size))
		abort();
	if (m.n_unknown < 0 || m.n_unknown > STUN_MAX_UNKNOWN)
		abort();
	rc = stun_check_integrity(&m, fuzz_pwd, strlen(fuzz_pwd));
	if (rc != 0 && rc != LK_EAUTH && rc != LK_ENOTFOUND)
		abort();
	rc = stun_check_fingerprint(&m);
	if (rc != 0 && rc != LK_EINVAL && rc != LK_ENOTFOUND)
		abort();
	(void)stun_check_username(&m, "fuzz", NULL);
	fuzz_stun_roundtrip_request(&m);
	if (m.flags & STUN_F_XOR_MAPPED)
		fuzz_stun_roundtrip_addr(&m, &m.xor_mapped);
	if (m.flags & STUN_F_MAPPED)
		fuzz_stun_roundtrip_addr(&m, &m.mapped);
	/* An address made of the transaction id, both families. */
	memset(&a, 0, sizeof(a));
	a.family = (m.tid[0] & 1) ? 6 : 4;
	a.port = (uint16_t)(m.tid[1] << 8 | m.tid[2]);
	memcpy(a.addr, m.tid, STUN_TID_LEN);
	fuzz_stun_roundtrip_addr(&m, &a);
	return 0;
}
