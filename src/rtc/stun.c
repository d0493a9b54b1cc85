/*
 * stun: RFC 8489 message parsing and building with the RFC 8445 ICE
 * attributes, MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT
 * (CRC-32, own table). Pure; runs in the ICE code of lk-jobproc and
 * lk-devserver.
 */
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/hmac.h"
#include "common/util.h"
#include "rtc/stun.h"

/* CRC-32 with the reflected polynomial 0xEDB88320 (ITU-T V.42, the one
 * RFC 8489 §14.7 points to). */
/* clang-format off */
static const uint32_t stun_crc_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
	0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
	0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
	0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
	0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
	0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
	0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
	0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
	0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
	0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
	0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
	0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
	0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
	0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
	0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
	0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
	0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
	0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
	0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
	0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
	0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
	0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
	0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
	0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
	0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
	0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
	0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
	0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
	0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
	0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
	0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
	0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
	0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
	0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
	0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};
/* clang-format on */

uint32_t
stun_crc32(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;
	size_t i;

	for (i = 0; i < len; i++)
		c = stun_crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static uint16_t
stun_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
stun_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
stun_be64(const uint8_t *p)
{
	return ((uint64_t)stun_be32(p) << 32) | stun_be32(p + 4);
}

static void
stun_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
stun_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
stun_is_stun(const uint8_t *p, size_t len)
{
	/* RFC 8489 §5: two zero bits, length a multiple of 4, the cookie. */
	return p != NULL && len >= STUN_HEADER_LEN && (p[0] & 0xC0) == 0 && (p[3] & 3) == 0 &&
	        stun_be32(p + 4) == STUN_MAGIC_COOKIE;
}

/* XOR-MAPPED-ADDRESS / MAPPED-ADDRESS value (RFC 8489 §14.1, §14.2). */
static int
stun_parse_addr(const uint8_t *v, size_t n, const uint8_t *hdr, int xored, struct stun_addr *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (n < 4)
		return LK_EINVAL;
	if (v[1] == 0x01 && n == 8) {
		a->family = 4;
		memcpy(a->addr, v + 4, 4);
	} else if (v[1] == 0x02 && n == 20) {
		a->family = 6;
		memcpy(a->addr, v + 4, 16);
	} else {
		return LK_EINVAL;
	}
	a->port = stun_be16(v + 2);
	if (xored) {
		/* X-Port is xored with the cookie's top half, X-Address with
		 * the cookie (IPv4) or cookie || transaction id (IPv6). */
		a->port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (i = 0; i < (a->family == 4 ? 4u : 16u); i++)
			a->addr[i] ^= hdr[4 + i];
	}
	return 0;
}

int
stun_parse(const uint8_t *p, size_t len, struct stun_msg *m)
{
	size_t off, msglen, alen, padded;
	uint16_t t, atype;
	const uint8_t *v;
	int after_integrity = 0, rc;

	memset(m, 0, sizeof(*m));
	if (p == NULL || len < STUN_HEADER_LEN)
		return LK_EINVAL;
	if (len > STUN_MAX_LEN)
		return LK_ETOOBIG;
	/* RFC 8489 §5: the two most significant bits are zero. */
	if ((p[0] & 0xC0) != 0)
		return LK_EINVAL;
	if (stun_be32(p + 4) != STUN_MAGIC_COOKIE)
		return LK_EINVAL;
	msglen = stun_be16(p + 2);
	/* RFC 8489 §5: attributes are padded, so the length is a multiple of 4. */
	if ((msglen & 3) != 0)
		return LK_EINVAL;
	if (STUN_HEADER_LEN + msglen > len)
		return LK_EINVAL;
	if (STUN_HEADER_LEN + msglen < len)
		return LK_ETRAIL;

	t = stun_be16(p);
	m->raw = p;
	m->len = len;
	m->type = t;
	/* RFC 8489 §5: M11..M0 interleaved with C1 (bit 8) and C0 (bit 4). */
	m->method = (uint16_t)(((t & 0x3E00) >> 2) | ((t & 0x00E0) >> 1) | (t & 0x000F));
	m->cls = (enum stun_class)(((t >> 7) & 2) | ((t >> 4) & 1));
	memcpy(m->tid, p + 8, STUN_TID_LEN);

	for (off = STUN_HEADER_LEN; off < len; off += 4 + padded) {
		if (len - off < 4)
			return LK_EINVAL;
		atype = stun_be16(p + off);
		alen = stun_be16(p + off + 2);
		padded = (alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return LK_EINVAL;
		v = p + off + 4;
		/* RFC 8489 §14.7: FINGERPRINT is the last attribute. */
		if (m->flags & STUN_F_FINGERPRINT)
			return LK_EINVAL;
		m->n_attrs++;
		/* RFC 8489 §14.5/§14.6: after a MESSAGE-INTEGRITY(-SHA256), all
		 * but FINGERPRINT (and -SHA256 after MI) are ignored. */
		if (after_integrity && atype != STUN_ATTR_FINGERPRINT &&
		        atype != STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
			continue;
		switch (atype) {
		case STUN_ATTR_USERNAME:
			/* RFC 8489 §14.3 (fewer than 509 bytes; RFC 5389 said 513). */
			if (alen > STUN_MAX_USERNAME)
				return LK_EINVAL;
			if (!(m->flags & STUN_F_USERNAME)) {
				m->flags |= STUN_F_USERNAME;
				m->username = v;
				m->username_len = alen;
			}
			break;
		case STUN_ATTR_XOR_MAPPED_ADDRESS:
		case STUN_ATTR_MAPPED_ADDRESS: {
			int xored = atype == STUN_ATTR_XOR_MAPPED_ADDRESS;
			unsigned flag = xored ? STUN_F_XOR_MAPPED : STUN_F_MAPPED;
			struct stun_addr a;

			rc = stun_parse_addr(v, alen, p, xored, &a);
			if (rc < 0)
				return rc;
			if (!(m->flags & flag)) {
				m->flags |= flag;
				if (xored)
					m->xor_mapped = a;
				else
					m->mapped = a;
			}
			break;
		}
		case STUN_ATTR_MESSAGE_INTEGRITY:
			/* RFC 8489 §14.5: HMAC-SHA1, 20 bytes. */
			if (alen != STUN_HMAC_LEN)
				return LK_EINVAL;
			if (!after_integrity) {
				m->flags |= STUN_F_INTEGRITY;
				m->integrity_off = off;
				after_integrity = 1;
			}
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			/* RFC 8489 §14.6: 16..32 bytes, a multiple of 4. */
			if (alen < 16 || alen > 32 || (alen & 3) != 0)
				return LK_EINVAL;
			m->flags |= STUN_F_INTEGRITY_SHA256;
			after_integrity = 1;
			break;
		case STUN_ATTR_FINGERPRINT:
			if (alen != 4 || off + 8 != len)
				return LK_EINVAL;
			m->flags |= STUN_F_FINGERPRINT;
			m->fingerprint_off = off;
			m->fingerprint = stun_be32(v);
			break;
		case STUN_ATTR_PRIORITY:
			/* RFC 8445 §16.1: 32-bit unsigned. */
			if (alen != 4)
				return LK_EINVAL;
			if (!(m->flags & STUN_F_PRIORITY)) {
				m->flags |= STUN_F_PRIORITY;
				m->priority = stun_be32(v);
			}
			break;
		case STUN_ATTR_USE_CANDIDATE:
			/* RFC 8445 §16.1: no content. */
			if (alen != 0)
				return LK_EINVAL;
			m->flags |= STUN_F_USE_CANDIDATE;
			break;
		case STUN_ATTR_ICE_CONTROLLED:
		case STUN_ATTR_ICE_CONTROLLING: {
			unsigned flag = atype == STUN_ATTR_ICE_CONTROLLING ? STUN_F_CONTROLLING
			                                                   : STUN_F_CONTROLLED;
			unsigned other =
			        flag == STUN_F_CONTROLLING ? STUN_F_CONTROLLED : STUN_F_CONTROLLING;

			/* RFC 8445 §16.1: 64-bit tie-breaker. */
			if (alen != 8)
				return LK_EINVAL;
			/* RFC 8445 §7.1.3: a request claims exactly one role. */
			if (m->flags & other)
				return LK_EINVAL;
			if (!(m->flags & flag)) {
				m->flags |= flag;
				m->tie_breaker = stun_be64(v);
			}
			break;
		}
		case STUN_ATTR_ERROR_CODE: {
			int cls, num;

			/* RFC 8489 §14.8: class 3..6, number 0..99, reason < 128 chars. */
			if (alen < 4 || alen > 4 + STUN_MAX_REASON)
				return LK_EINVAL;
			cls = v[2] & 0x07;
			num = v[3];
			if (cls < 3 || cls > 6 || num > 99)
				return LK_EINVAL;
			if (!(m->flags & STUN_F_ERROR_CODE)) {
				m->flags |= STUN_F_ERROR_CODE;
				m->error_code = cls * 100 + num;
				m->error_reason = v + 4;
				m->error_reason_len = alen - 4;
			}
			break;
		}
		case STUN_ATTR_UNKNOWN_ATTRIBUTES:
			if ((alen & 1) != 0)
				return LK_EINVAL;
			break;
		case STUN_ATTR_SOFTWARE:
		case STUN_ATTR_GOOG_NETWORK_INFO:
			break;
		default:
			/* RFC 8489 §5: 0x0000-0x7FFF are comprehension-required. */
			if (atype < 0x8000 && m->n_unknown < STUN_MAX_UNKNOWN)
				m->unknown[m->n_unknown++] = atype;
			break;
		}
	}
	return 0;
}

int
stun_check_integrity(const struct stun_msg *m, const void *key, size_t keylen)
{
	uint8_t tmp[STUN_MAX_LEN];
	uint8_t mac[LK_HMAC_SHA1_LEN];
	size_t off = m->integrity_off;

	if (!(m->flags & STUN_F_INTEGRITY))
		return LK_ENOTFOUND;
	if (off < STUN_HEADER_LEN || off + 4 + STUN_HMAC_LEN > m->len || m->len > sizeof(tmp) ||
	        keylen > 0x7FFFFFFF)
		return LK_EINVAL;
	/* RFC 8489 §14.5: the HMAC covers the message up to the attribute,
	 * with the header length field set as if MESSAGE-INTEGRITY were the
	 * last attribute (so a FINGERPRINT after it does not count). */
	memcpy(tmp, m->raw, off);
	stun_put16(tmp + 2, (uint16_t)(off + 4 + STUN_HMAC_LEN - STUN_HEADER_LEN));
	if (lk_hmac_sha1(key, keylen, tmp, off, mac) < 0)
		return LK_EIO;
	if (lk_memeq_ct(mac, m->raw + off + 4, STUN_HMAC_LEN) != 0)
		return LK_EAUTH;
	return 0;
}

int
stun_check_fingerprint(const struct stun_msg *m)
{
	if (!(m->flags & STUN_F_FINGERPRINT))
		return LK_ENOTFOUND;
	if (m->fingerprint_off < STUN_HEADER_LEN || m->fingerprint_off + 8 != m->len)
		return LK_EINVAL;
	/* RFC 8489 §14.7: CRC-32 of the message up to the attribute, xored
	 * with 0x5354554e; the header length already includes it. */
	if ((stun_crc32(m->raw, m->fingerprint_off) ^ STUN_FINGERPRINT_XOR) != m->fingerprint)
		return LK_EINVAL;
	return 0;
}

int
stun_check_username(const struct stun_msg *m, const char *local_ufrag, const char *remote_ufrag)
{
	size_t ll, rl;

	if (!(m->flags & STUN_F_USERNAME))
		return LK_ENOTFOUND;
	if (local_ufrag == NULL)
		return LK_EINVAL;
	ll = strlen(local_ufrag);
	/* RFC 8445 §7.3: USERNAME is "<receiver ufrag>:<sender ufrag>". */
	if (m->username_len < ll + 1 || memcmp(m->username, local_ufrag, ll) != 0 ||
	        m->username[ll] != ':')
		return LK_EAUTH;
	if (remote_ufrag == NULL)
		return 0;
	rl = strlen(remote_ufrag);
	if (m->username_len != ll + 1 + rl || memcmp(m->username + ll + 1, remote_ufrag, rl) != 0)
		return LK_EAUTH;
	return 0;
}

int
stun_addr_from_sockaddr(struct stun_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return LK_EINVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		a->family = 4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		a->family = 6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
		return 0;
	}
	return LK_EINVAL;
}

int
stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr *sa, size_t salen)
{
	if (a->family == 4 && salen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)sa;

		memset(s4, 0, sizeof(*s4));
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->addr, 4);
		return 0;
	}
	if (a->family == 6 && salen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)sa;

		memset(s6, 0, sizeof(*s6));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return 0;
	}
	return LK_EINVAL;
}

/* ---- writer ---- */

void
stun_w_begin(struct stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
        const uint8_t tid[STUN_TID_LEN])
{
	w->buf = buf;
	w->cap = cap > STUN_MAX_LEN ? STUN_MAX_LEN : cap;
	w->len = 0;
	w->err = 0;
	w->sealed = 0;
	if (buf == NULL || tid == NULL || (type & 0xC000) != 0) {
		w->err = LK_EINVAL;
		return;
	}
	if (w->cap < STUN_HEADER_LEN) {
		w->err = LK_ETOOBIG;
		return;
	}
	stun_put16(buf, type);
	stun_put16(buf + 2, 0);
	stun_put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	w->len = STUN_HEADER_LEN;
}

/* Reserve an attribute of n value bytes; returns its value pointer. */
static uint8_t *
stun_w_reserve(struct stun_writer *w, uint16_t type, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	uint8_t *a;

	if (w->err != 0)
		return NULL;
	if (w->sealed) {
		/* Nothing may follow FINGERPRINT. */
		w->err = LK_EINVAL;
		return NULL;
	}
	if (n > 0xFFFF || padded + 4 > w->cap - w->len) {
		w->err = LK_ETOOBIG;
		return NULL;
	}
	a = w->buf + w->len;
	stun_put16(a, type);
	stun_put16(a + 2, (uint16_t)n);
	/* RFC 8489 §14: padding bytes are written as zero. */
	memset(a + 4 + n, 0, padded - n);
	w->len += 4 + padded;
	stun_put16(w->buf + 2, (uint16_t)(w->len - STUN_HEADER_LEN));
	return a + 4;
}

void
stun_w_attr(struct stun_writer *w, uint16_t type, const void *val, size_t len)
{
	uint8_t *v = stun_w_reserve(w, type, len);

	if (v != NULL && len > 0)
		memcpy(v, val, len);
}

void
stun_w_u32(struct stun_writer *w, uint16_t type, uint32_t val)
{
	uint8_t *v = stun_w_reserve(w, type, 4);

	if (v != NULL)
		stun_put32(v, val);
}

void
stun_w_u64(struct stun_writer *w, uint16_t type, uint64_t val)
{
	uint8_t *v = stun_w_reserve(w, type, 8);

	if (v != NULL) {
		stun_put32(v, (uint32_t)(val >> 32));
		stun_put32(v + 4, (uint32_t)val);
	}
}

void
stun_w_xor_addr(struct stun_writer *w, uint16_t type, const struct stun_addr *a)
{
	size_t alen, i;
	uint8_t *v;

	if (w->err == 0 && (a == NULL || (a->family != 4 && a->family != 6)))
		w->err = LK_EINVAL;
	if (w->err != 0)
		return;
	alen = a->family == 4 ? 4 : 16;
	v = stun_w_reserve(w, type, 4 + alen);
	if (v == NULL)
		return;
	/* RFC 8489 §14.2: family 0x01/0x02, X-Port, X-Address. */
	v[0] = 0;
	v[1] = a->family == 4 ? 0x01 : 0x02;
	stun_put16(v + 2, (uint16_t)(a->port ^ (STUN_MAGIC_COOKIE >> 16)));
	for (i = 0; i < alen; i++)
		v[4 + i] = (uint8_t)(a->addr[i] ^ w->buf[4 + i]);
}

void
stun_w_error_code(struct stun_writer *w, int code, const char *reason)
{
	size_t rl;
	uint8_t *v;

	if (w->err == 0 && (code < 300 || code > 699))
		w->err = LK_EINVAL;
	if (w->err != 0)
		return;
	if (reason == NULL)
		reason = stun_error_reason(code);
	rl = strlen(reason);
	if (rl > STUN_MAX_REASON) {
		w->err = LK_ETOOBIG;
		return;
	}
	v = stun_w_reserve(w, STUN_ATTR_ERROR_CODE, 4 + rl);
	if (v == NULL)
		return;
	/* RFC 8489 §14.8: 21 reserved bits, class (hundreds), number. */
	v[0] = 0;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rl);
}

void
stun_w_integrity(struct stun_writer *w, const void *key, size_t keylen)
{
	size_t before;
	uint8_t *v;

	if (w->err == 0 && keylen > 0x7FFFFFFF)
		w->err = LK_EINVAL;
	before = w->len;
	/* Reserving first sets the header length to include the attribute,
	 * which is what RFC 8489 §14.5 hashes. */
	v = stun_w_reserve(w, STUN_ATTR_MESSAGE_INTEGRITY, STUN_HMAC_LEN);
	if (v == NULL)
		return;
	if (lk_hmac_sha1(key, keylen, w->buf, before, v) < 0)
		w->err = LK_EIO;
}

void
stun_w_fingerprint(struct stun_writer *w)
{
	size_t before = w->len;
	uint8_t *v = stun_w_reserve(w, STUN_ATTR_FINGERPRINT, 4);

	if (v == NULL)
		return;
	stun_put32(v, stun_crc32(w->buf, before) ^ STUN_FINGERPRINT_XOR);
	w->sealed = 1;
}

int
stun_w_finish(struct stun_writer *w)
{
	if (w->err != 0)
		return w->err;
	return (int)w->len;
}

/* ---- builders ---- */

int
stun_build_binding_request(uint8_t *buf, size_t cap, const struct stun_binding_req *r)
{
	struct stun_writer w;
	size_t ul;

	if (r == NULL || r->tid == NULL || r->username == NULL || r->password == NULL)
		return LK_EINVAL;
	ul = strlen(r->username);
	if (ul == 0 || ul > STUN_MAX_USERNAME)
		return LK_EINVAL;
	stun_w_begin(&w, buf, cap, STUN_BINDING_REQUEST, r->tid);
	/* RFC 8445 §7.2.2: USERNAME, PRIORITY, the role with its tie-breaker,
	 * USE-CANDIDATE when nominating, then integrity and fingerprint. */
	stun_w_attr(&w, STUN_ATTR_USERNAME, r->username, ul);
	stun_w_u32(&w, STUN_ATTR_PRIORITY, r->priority);
	stun_w_u64(&w, r->controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
	        r->tie_breaker);
	if (r->use_candidate)
		stun_w_attr(&w, STUN_ATTR_USE_CANDIDATE, NULL, 0);
	stun_w_integrity(&w, r->password, strlen(r->password));
	stun_w_fingerprint(&w);
	return stun_w_finish(&w);
}

int
stun_build_binding_success(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN],
        const struct stun_addr *mapped, const char *password)
{
	struct stun_writer w;

	if (password == NULL)
		return LK_EINVAL;
	stun_w_begin(&w, buf, cap, STUN_BINDING_SUCCESS, tid);
	/* RFC 8445 §7.3.1.4: XOR-MAPPED-ADDRESS = the request's source. */
	stun_w_xor_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
	stun_w_integrity(&w, password, strlen(password));
	stun_w_fingerprint(&w);
	return stun_w_finish(&w);
}

int
stun_build_binding_error(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN], int code,
        const char *password, const uint16_t *unknown, int n_unknown)
{
	struct stun_writer w;
	uint8_t list[2 * STUN_MAX_UNKNOWN];
	int i;

	if (n_unknown < 0 || n_unknown > STUN_MAX_UNKNOWN || (n_unknown > 0 && unknown == NULL))
		return LK_EINVAL;
	stun_w_begin(&w, buf, cap, STUN_BINDING_ERROR, tid);
	stun_w_error_code(&w, code, NULL);
	if (n_unknown > 0) {
		/* RFC 8489 §14.9: the 16-bit types a 420 did not understand. */
		for (i = 0; i < n_unknown; i++)
			stun_put16(list + 2 * i, unknown[i]);
		stun_w_attr(&w, STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 2 * (size_t)n_unknown);
	}
	if (password != NULL)
		stun_w_integrity(&w, password, strlen(password));
	stun_w_fingerprint(&w);
	return stun_w_finish(&w);
}

const char *
stun_error_reason(int code)
{
	switch (code) {
	case STUN_ERR_BAD_REQUEST:
		return "Bad Request";
	case STUN_ERR_UNAUTHORIZED:
		return "Unauthorized";
	case STUN_ERR_UNKNOWN_ATTRIBUTE:
		return "Unknown Attribute";
	case STUN_ERR_ROLE_CONFLICT:
		return "Role Conflict";
	case STUN_ERR_SERVER_ERROR:
		return "Server Error";
	default:
		return "Error";
	}
}
