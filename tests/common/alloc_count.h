/*
 * alloc_count: counts heap allocations in a test or benchmark binary by
 * replacing malloc and its relatives (so calls made inside shared
 * libraries count too). Under AddressSanitizer, which owns malloc, nothing
 * is replaced and alloc_count_active() is 0: callers skip their checks.
 */
#ifndef LK_TESTS_ALLOC_COUNT_H
#define LK_TESTS_ALLOC_COUNT_H

/* 1 when the counting hooks are linked in and working. */
int alloc_count_active(void);
/* Allocations (malloc, calloc, realloc, memalign family) so far. */
unsigned long alloc_count(void);

#endif
