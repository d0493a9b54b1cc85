/*
 * check_backoff: unit tests for src/common/backoff.c, the reconnect delay
 * schedule min(2 s * attempt, 10 s) + up to 1 s of jitter.
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "common/backoff.h"

START_TEST(test_base_schedule)
{
	ck_assert_uint_eq(backoff_base_ms(0), 0);
	ck_assert_uint_eq(backoff_base_ms(1), 2000);
	ck_assert_uint_eq(backoff_base_ms(2), 4000);
	ck_assert_uint_eq(backoff_base_ms(3), 6000);
	ck_assert_uint_eq(backoff_base_ms(4), 8000);
	ck_assert_uint_eq(backoff_base_ms(5), 10000);
	ck_assert_uint_eq(backoff_base_ms(6), 10000);
	ck_assert_uint_eq(backoff_base_ms(1000), 10000);
	/* A huge attempt count must not overflow into a short delay. */
	ck_assert_uint_eq(backoff_base_ms(UINT_MAX), 10000);
	ck_assert_uint_eq(backoff_base_ms(UINT_MAX / 2000 + 1), 10000);
}
END_TEST

START_TEST(test_jitter)
{
	ck_assert_uint_eq(backoff_delay_ms(0, 0), 0);
	ck_assert_uint_eq(backoff_delay_ms(0, 1000), 1000);
	ck_assert_uint_eq(backoff_delay_ms(0, 1001), 0);
	ck_assert_uint_eq(backoff_delay_ms(1, 500), 2500);
	ck_assert_uint_eq(backoff_delay_ms(9, 1000), 11000);
	ck_assert_uint_eq(backoff_delay_ms(9, UINT32_MAX), 10000 + UINT32_MAX % 1001);
	for (uint32_t r = 0; r < 5000; r += 37)
		ck_assert_uint_le(backoff_delay_ms(3, r), 6000 + BACKOFF_JITTER_MS);
}
END_TEST

static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("backoff");

	tcase_add_test(tc, test_base_schedule);
	tcase_add_test(tc, test_jitter);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(backoff_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
