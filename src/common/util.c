/*
 * util: clocks, random bytes and ids, base64/base64url, string and
 * allocation helpers. Pure functions linked into every lkworker process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/util.h"

static int64_t
lk_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
lk_mono_ms(void)
{
	return lk_clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t
lk_wall_ms(void)
{
	return lk_clock_ns(CLOCK_REALTIME) / 1000000;
}

int64_t
lk_wall_s(void)
{
	return lk_clock_ns(CLOCK_REALTIME) / 1000000000;
}

int64_t
lk_wall_ns(void)
{
	return lk_clock_ns(CLOCK_REALTIME);
}

int
lk_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

uint32_t
lk_random_u32(void)
{
	uint32_t v;

	/* getrandom(2) with flags 0 only fails on a kernel without it (< 3.17). */
	if (lk_random(&v, sizeof(v)) < 0)
		abort();
	return v;
}

static const char lk_base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
lk_make_id(const char *prefix, char *out, size_t outlen)
{
	char id[64];
	uint8_t rnd[32];
	size_t plen = strlen(prefix), i = 0, j;

	if (plen > sizeof(id) - 13)
		plen = sizeof(id) - 13;
	memcpy(id, prefix, plen);
	/* Rejection sampling (bytes >= 248 dropped) keeps the 62 symbols uniform. */
	while (i < 12) {
		if (lk_random(rnd, sizeof(rnd)) < 0)
			abort();
		for (j = 0; j < sizeof(rnd) && i < 12; j++)
			if (rnd[j] < 248)
				id[plen + i++] = lk_base62[rnd[j] % 62];
	}
	id[plen + 12] = '\0';
	if (outlen > 0)
		lk_strlcpy(out, id, outlen);
}

/* ---- base64 (RFC 4648 §4 and §5) ---- */

static const char lk_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char lk_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
lk_b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4;
}

static size_t
lk_b64_enc(const char *alpha, int pad, const void *in, size_t n, char *out)
{
	const uint8_t *s = in;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t
lk_b64_encode(const void *in, size_t n, char *out)
{
	return lk_b64_enc(lk_b64_std, 1, in, n, out);
}

size_t
lk_b64url_encode(const void *in, size_t n, char *out)
{
	return lk_b64_enc(lk_b64_url, 0, in, n, out);
}

static int
lk_b64_val(int url, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Strict decoder: only alphabet characters, padding only at the end and
 * only to a multiple of 4, and the unused low bits of the last symbol must
 * be zero (one canonical text per byte string, so a token cannot be altered
 * without changing its signature input).
 */
static int
lk_b64_dec(int url, const char *in, size_t n, void *out, size_t outcap)
{
	uint8_t *d = out;
	size_t i, o = 0, npad = 0, rem, need;
	uint32_t v = 0;
	int c, k = 0;

	/* The decoded length is returned as an int. */
	if (n > (size_t)INT_MAX)
		return LK_ETOOBIG;
	while (npad < 2 && npad < n && in[n - 1 - npad] == '=')
		npad++;
	if (npad > 0 && n % 4 != 0)
		return LK_EINVAL;
	if (npad == 0 && !url && n % 4 != 0)
		return LK_EINVAL;
	n -= npad;
	rem = n % 4;
	if (rem == 1)
		return LK_EINVAL;
	if (npad > 0 && 4 - rem != npad)
		return LK_EINVAL;
	need = n / 4 * 3 + (rem ? rem - 1 : 0);
	if (need > outcap)
		return LK_ETOOBIG;
	for (i = 0; i < n; i++) {
		c = lk_b64_val(url, (unsigned char)in[i]);
		if (c < 0)
			return LK_EINVAL;
		v = v << 6 | (uint32_t)c;
		if (++k == 4) {
			d[o++] = (uint8_t)(v >> 16);
			d[o++] = (uint8_t)(v >> 8);
			d[o++] = (uint8_t)v;
			v = 0;
			k = 0;
		}
	}
	if (k == 2) {
		if (v & 0xf)
			return LK_EINVAL;
		d[o++] = (uint8_t)(v >> 4);
	} else if (k == 3) {
		if (v & 0x3)
			return LK_EINVAL;
		d[o++] = (uint8_t)(v >> 10);
		d[o++] = (uint8_t)(v >> 2);
	}
	return (int)o;
}

int
lk_b64_decode(const char *in, size_t n, void *out, size_t outcap)
{
	return lk_b64_dec(0, in, n, out, outcap);
}

int
lk_b64url_decode(const char *in, size_t n, void *out, size_t outcap)
{
	return lk_b64_dec(1, in, n, out, outcap);
}

/* ---- strings and allocation ---- */

size_t
lk_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

static void
lk_oom(size_t n)
{
	/* Out of memory is fatal in every lkworker process (see util.h). */
	fprintf(stderr, "lkworker: out of memory allocating %zu bytes\n", n);
	abort();
}

char *
lk_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		lk_oom(strlen(s) + 1);
	return p;
}

void *
lk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		lk_oom(n);
	return p;
}

void *
lk_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		lk_oom(n * m);
	return p;
}

void *
lk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		lk_oom(n);
	return q;
}

int
lk_memeq_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}

long
lk_read_text_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if (cap == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (long)len;
}
