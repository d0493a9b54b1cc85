/*
 * util: time, random ids, base64/base64url, small string helpers.
 * Pure functions used by every process.
 */
#ifndef LK_UTIL_H
#define LK_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t lk_mono_ms(void);
/* Wall clock: unix milliseconds / seconds / nanoseconds. */
int64_t lk_wall_ms(void);
int64_t lk_wall_s(void);
int64_t lk_wall_ns(void);

/* Cryptographically random bytes (getrandom); 0 or negative error. */
int lk_random(void *buf, size_t len);
uint32_t lk_random_u32(void);

/*
 * LiveKit-style id: prefix + 12 base62 characters ("AJ_", "RM_", "PA_",
 * "TR_", "AW_", "AD_"). out must hold strlen(prefix) + 13 bytes.
 */
void lk_make_id(const char *prefix, char *out, size_t outlen);

/*
 * base64 (RFC 4648). Encoders write a NUL-terminated string into out
 * (size needed: lk_b64_enclen(n) + 1) and return its length.
 * url variants use -_ and no padding; the url decoder accepts padding too.
 * Decoders return the decoded length or a negative error for bad input.
 */
size_t lk_b64_enclen(size_t n);
size_t lk_b64_encode(const void *in, size_t n, char *out);
size_t lk_b64url_encode(const void *in, size_t n, char *out);
int lk_b64_decode(const char *in, size_t n, void *out, size_t outcap);
int lk_b64url_decode(const char *in, size_t n, void *out, size_t outcap);

/*
 * Read a small text file (/proc, cgroup) into buf, NUL-terminated, at most
 * cap - 1 bytes. Returns the length or a negated errno.
 */
long lk_read_text_file(const char *path, char *buf, size_t cap);

/* Bounded string copy; always NUL-terminates; returns strlen(src). */
size_t lk_strlcpy(char *dst, const char *src, size_t size);
/* strdup that aborts on OOM (allowed: OOM is a fatal condition everywhere). */
char *lk_xstrdup(const char *s);
void *lk_xmalloc(size_t n);
void *lk_xcalloc(size_t n, size_t m);
void *lk_xrealloc(void *p, size_t n);

/* Constant-time memory compare: 0 when equal. */
int lk_memeq_ct(const void *a, const void *b, size_t n);

#endif
