/*
 * alloc_count: the malloc replacement behind tests/common/alloc_count.h.
 * Linked only into test and benchmark binaries, never into lkworker.
 */
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
static inline void
alloc_wrap_hook(void)
{
	__atomic_add_fetch(&t_allocs, 1, __ATOMIC_RELAXED);
}

#include "alloc_wrap.h"
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
