/*
 * alloc_count: the malloc replacement behind tests/common/alloc_count.h.
 * Linked only into test and benchmark binaries, never into lkworker.
 */
#include <errno.h>
#include <stddef.h>

#include "alloc_count.h"

#if defined(__SANITIZE_ADDRESS__)
#define T_HOOKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_HOOKED 0
#endif
#endif
#ifndef T_HOOKED
#define T_HOOKED 1
#endif

static unsigned long t_allocs;

#if T_HOOKED
/* glibc's own entry points, exported for exactly this kind of wrapper. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);
void *memalign(size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);

void *
malloc(size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

void *
memalign(size_t align, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	return __libc_memalign(align, n);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

int
alloc_count_active(void)
{
	return T_HOOKED;
}

unsigned long
alloc_count(void)
{
	return __atomic_load_n(&t_allocs, __ATOMIC_RELAXED);
}
