/*
 * alloc_wrap: the malloc family, replaced for the allocation counters of
 * the tests (alloc_count.c, linked into test binaries, and alloc_preload.c,
 * preloaded into a real process). Every allocating entry point calls the
 * includer's hook first and then glibc's own implementation (__libc_malloc
 * and friends, exported for exactly this), so there is no dlsym
 * bootstrapping. free is replaced too, so that both halves come from the
 * same place.
 *
 * Include it once, in one .c file, after defining
 *   static inline void alloc_wrap_hook(void);
 * (always_inline when the hook looks at the call stack: the wrapper is
 * then the hook's caller).
 */
#ifndef LK_TESTS_ALLOC_WRAP_H
#define LK_TESTS_ALLOC_WRAP_H

#include <errno.h>
#include <stddef.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void *__libc_valloc(size_t n);
void *__libc_pvalloc(size_t n);
void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *reallocarray(void *p, size_t n, size_t m);
void free(void *p);
void *memalign(size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);

void *
malloc(size_t n)
{
	alloc_wrap_hook();
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	alloc_wrap_hook();
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	alloc_wrap_hook();
	return __libc_realloc(p, n);
}

void *
reallocarray(void *p, size_t n, size_t m)
{
	size_t bytes;

	alloc_wrap_hook();
	if (__builtin_mul_overflow(n, m, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, bytes);
}

void
free(void *p)
{
	__libc_free(p);
}

void *
memalign(size_t align, size_t n)
{
	alloc_wrap_hook();
	return __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	alloc_wrap_hook();
	return __libc_memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	alloc_wrap_hook();
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t n)
{
	alloc_wrap_hook();
	return __libc_valloc(n);
}

void *
pvalloc(size_t n)
{
	alloc_wrap_hook();
	return __libc_pvalloc(n);
}

#endif
