/*
 * check_buf: unit tests for src/common/buf.c, the limited growable byte
 * buffer used by encoders and write queues.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

START_TEST(test_append_and_grow)
{
	struct buf b;
	char chunk[100];
	size_t i;

	buf_init(&b, 0);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	for (i = 0; i < 100; i++) {
		memset(chunk, (int)i, sizeof(chunk));
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	}
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_uint_ge(b.cap, b.len);
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(b.data[i * 100 + 99], i);
	ck_assert_int_eq(buf_append(&b, NULL, 0), 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_ge(b.cap, 10000);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_limit_is_hard)
{
	struct buf b;
	char x[64];

	memset(x, 'x', sizeof(x));
	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, x, 64), 0);
	ck_assert_int_eq(buf_append(&b, x, 36), 0);
	ck_assert_uint_eq(b.len, 100);
	ck_assert_uint_le(b.cap, 100);
	ck_assert_int_eq(buf_append(&b, x, 1), LK_ETOOBIG);
	ck_assert_int_eq(buf_reserve(&b, 1), LK_ETOOBIG);
	ck_assert_uint_eq(b.len, 100);
	ck_assert_int_eq(buf_reserve(&b, 0), 0);
	/* Overflowing size arithmetic is refused, not wrapped. */
	buf_reset(&b);
	ck_assert_int_eq(buf_append(&b, x, 10), 0);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), LK_ETOOBIG);
	buf_free(&b);

	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, x, 10), 0);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 5), LK_ETOOBIG);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	struct buf b;
	char big[500];

	buf_init(&b, 0);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "a", 42), 0);
	ck_assert_int_eq(buf_printf(&b, ";%s", ""), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert(memcmp(b.data, "a=42;", 5) == 0);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "%s", big), 0);
	ck_assert_uint_eq(b.len, 5 + 499);
	ck_assert_int_eq(b.data[b.len - 1], 'y');
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_at_limit)
{
	struct buf b;

	/* Exactly filling the limit works (no room for a NUL is needed). */
	buf_init(&b, 8);
	ck_assert_int_eq(buf_printf(&b, "%s", "abcd"), 0);
	ck_assert_int_eq(buf_printf(&b, "%d", 1234), 0);
	ck_assert_uint_eq(b.len, 8);
	ck_assert(memcmp(b.data, "abcd1234", 8) == 0);
	ck_assert_int_eq(buf_printf(&b, "%c", 'z'), LK_ETOOBIG);
	ck_assert_uint_eq(b.len, 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_consume)
{
	struct buf b;

	buf_init(&b, 0);
	buf_append(&b, "hello world", 11);
	buf_consume(&b, 6);
	ck_assert_uint_eq(b.len, 5);
	ck_assert(memcmp(b.data, "world", 5) == 0);
	buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, 5);
	buf_consume(&b, 99);
	ck_assert_uint_eq(b.len, 0);
	buf_append(&b, "x", 1);
	ck_assert_int_eq(b.data[0], 'x');
	buf_free(&b);
	/* Consuming from an empty, never-allocated buffer is harmless. */
	buf_init(&b, 0);
	buf_consume(&b, 3);
	buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_append_and_grow);
	tcase_add_test(tc, test_limit_is_hard);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_printf_at_limit);
	tcase_add_test(tc, test_consume);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
