/*
 * buf: growable byte buffer with a hard limit, used by encoders and write
 * queues in every lkworker process. Returns LK_ETOOBIG past the limit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

void
buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (n > SIZE_MAX - b->len)
		return LK_ETOOBIG;
	need = b->len + n;
	if (b->limit != 0 && need > b->limit)
		return LK_ETOOBIG;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->limit != 0 && ncap > b->limit)
		ncap = b->limit;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return LK_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, n)) < 0)
		return rc;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return LK_EINVAL;
	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, (size_t)n)) < 0)
		return rc;
	va_start(ap, fmt);
	if (b->cap - b->len > (size_t)n) {
		vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	} else {
		/* At the limit there is no room for vsnprintf's NUL: go through a copy. */
		char *tmp = malloc((size_t)n + 1);

		if (tmp == NULL) {
			va_end(ap);
			return LK_ENOMEM;
		}
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		memcpy(b->data + b->len, tmp, (size_t)n);
		free(tmp);
	}
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
