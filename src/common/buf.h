/*
 * buf: growable byte buffer with a hard capacity limit, for encoders and
 * write queues. Not for per-frame audio paths (those use fixed arrays).
 */
#ifndef LK_BUF_H
#define LK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0 = no limit */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Make room for n more bytes; 0 or LK_ETOOBIG. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);

#endif
