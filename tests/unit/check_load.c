/*
 * check_load: lk-supervisor's CPU load: the cpu.stat, cpu.max, cfs and
 * /proc/stat parsers on fixture text, the utilisation arithmetic, the
 * 5-sample moving average, and source selection over fixture directories.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "supervisor/load.h"

START_TEST(test_parse_cpu_stat)
{
	uint64_t v = 0;

	ck_assert_int_eq(sup_load_parse_cpu_stat("usage_usec 123456\nuser_usec 100000\n"
	                                         "system_usec 23456\nnr_periods 0\n",
	                         &v),
	        0);
	ck_assert_uint_eq(v, 123456);
	ck_assert_int_eq(sup_load_parse_cpu_stat("nr_periods 0\nusage_usec 5", &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(sup_load_parse_cpu_stat("user_usec 1\nsystem_usec 2\n", &v), -1);
	ck_assert_int_eq(sup_load_parse_cpu_stat("usage_usec abc\n", &v), -1);
	ck_assert_int_eq(sup_load_parse_cpu_stat("usage_usecs 5\n", &v), -1);
	ck_assert_int_eq(sup_load_parse_cpu_stat("usage_usec 5x\n", &v), -1);
	ck_assert_int_eq(sup_load_parse_cpu_stat("usage_usec 99999999999999999999999\n", &v), -1);
	ck_assert_int_eq(sup_load_parse_cpu_stat("", &v), -1);
}
END_TEST

START_TEST(test_parse_cpu_max)
{
	double cpus = -1;

	ck_assert_int_eq(sup_load_parse_cpu_max("max 100000\n", &cpus), 0);
	ck_assert_double_eq(cpus, 0.0);
	ck_assert_int_eq(sup_load_parse_cpu_max("200000 100000\n", &cpus), 0);
	ck_assert_double_eq_tol(cpus, 2.0, 1e-9);
	ck_assert_int_eq(sup_load_parse_cpu_max("50000 100000", &cpus), 0);
	ck_assert_double_eq_tol(cpus, 0.5, 1e-9);
	ck_assert_int_eq(sup_load_parse_cpu_max("abc", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cpu_max("100000", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cpu_max("100 0", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cpu_max("100000 100000 7", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cpu_max("maxi 100000", &cpus), -1);
}
END_TEST

START_TEST(test_parse_cfs)
{
	double cpus = -1;

	ck_assert_int_eq(sup_load_parse_cfs("-1\n", "100000\n", &cpus), 0);
	ck_assert_double_eq(cpus, 0.0);
	ck_assert_int_eq(sup_load_parse_cfs("150000\n", "100000\n", &cpus), 0);
	ck_assert_double_eq_tol(cpus, 1.5, 1e-9);
	ck_assert_int_eq(sup_load_parse_cfs("150000", "0", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cfs("-12", "100000", &cpus), -1);
	ck_assert_int_eq(sup_load_parse_cfs("x", "100000", &cpus), -1);
}
END_TEST

START_TEST(test_parse_proc_stat)
{
	uint64_t busy = 0, total = 0;

	/* user nice system idle iowait irq softirq steal guest guest_nice */
	ck_assert_int_eq(sup_load_parse_proc_stat("cpu  3253 0 1691 61907 3887 0 66 6 0 0\n"
	                                          "cpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n",
	                         &busy, &total),
	        0);
	ck_assert_uint_eq(total, 3253 + 1691 + 61907 + 3887 + 66 + 6);
	ck_assert_uint_eq(busy, 3253 + 1691 + 66 + 6);
	/* Old kernels: only user nice system idle. */
	ck_assert_int_eq(sup_load_parse_proc_stat("cpu 1 2 3 4\n", &busy, &total), 0);
	ck_assert_uint_eq(total, 10);
	ck_assert_uint_eq(busy, 6);
	ck_assert_int_eq(sup_load_parse_proc_stat("cpu0 1 2 3 4\n", &busy, &total), -1);
	ck_assert_int_eq(sup_load_parse_proc_stat("cpu 1 2\n", &busy, &total), -1);
	ck_assert_int_eq(sup_load_parse_proc_stat("intr 1 2 3 4 5\n", &busy, &total), -1);
	ck_assert_int_eq(sup_load_parse_proc_stat("", &busy, &total), -1);
}
END_TEST

START_TEST(test_parse_u64)
{
	uint64_t v;

	ck_assert_int_eq(sup_load_parse_u64("50701989269\n", &v), 0);
	ck_assert_uint_eq(v, 50701989269ull);
	ck_assert_int_eq(sup_load_parse_u64("  7 ", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(sup_load_parse_u64("7 8", &v), -1);
	ck_assert_int_eq(sup_load_parse_u64("-7", &v), -1);
	ck_assert_int_eq(sup_load_parse_u64("", &v), -1);
}
END_TEST

START_TEST(test_utilisation)
{
	ck_assert_double_eq_tol(sup_load_utilisation(500000, 1000000, 2.0), 0.25, 1e-9);
	ck_assert_double_eq_tol(sup_load_utilisation(500000, 1000000, 0.5), 1.0, 1e-9);
	ck_assert_double_eq(sup_load_utilisation(5000000, 1000000, 2.0), 1.0); /* clamped */
	ck_assert_double_eq(sup_load_utilisation(5, 0, 2.0), 0.0);
	ck_assert_double_eq(sup_load_utilisation(5, 10, 0.0), 0.0);
}
END_TEST

START_TEST(test_moving_average)
{
	struct sup_load_avg a;
	int i;

	memset(&a, 0, sizeof(a));
	ck_assert_double_eq(sup_load_avg_get(&a), 0.0);
	sup_load_avg_push(&a, 0.2);
	sup_load_avg_push(&a, 0.4);
	ck_assert_double_eq_tol(sup_load_avg_get(&a), 0.3, 1e-9);
	memset(&a, 0, sizeof(a));
	for (i = 1; i <= 7; i++)
		sup_load_avg_push(&a, i / 10.0);
	/* The last five: 0.3 .. 0.7. */
	ck_assert_uint_eq(a.n, SUP_LOAD_SAMPLES);
	ck_assert_double_eq_tol(sup_load_avg_get(&a), 0.5, 1e-9);
}
END_TEST

static char tmpdir[64];

static void
put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void
mk(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_load.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
finish_loop(struct ev_loop *loop, struct sup_load *ld)
{
	sup_load_free(ld);
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	/* No watcher may be left behind. */
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(loop);
}

START_TEST(test_source_cgroup2)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sup_load_opts o = {0};
	struct sup_load *ld;
	char stat2[64];

	make_tmpdir();
	put("cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
	put("cpu.max", "100000 100000\n");
	o.cgroup_root = tmpdir;
	o.proc_stat = "/nonexistent";
	ld = sup_load_new(loop, &o);
	ck_assert_int_eq(sup_load_source(ld), SUP_LOAD_CGROUP2);
	ck_assert_str_eq(sup_load_source_name(sup_load_source(ld)), "cgroup2");
	/* Quota of one CPU (at most the CPUs we may run on). */
	ck_assert_double_eq_tol(sup_load_cpus(ld), 1.0, 1e-9);
	ck_assert_double_eq(sup_load_get(ld), 0.0);
	/* 1000 s of CPU time since the baseline: whatever the wall time, that is full load. */
	snprintf(stat2, sizeof(stat2), "usage_usec %llu\n", 1000ull + 1000000000ull);
	put("cpu.stat", stat2);
	sup_load_sample(ld);
	ck_assert_double_eq(sup_load_get(ld), 1.0);
	/* No usage since: a 0 sample halves the 2-sample average. */
	sup_load_sample(ld);
	ck_assert_double_eq_tol(sup_load_get(ld), 0.5, 1e-9);
	finish_loop(loop, ld);
}
END_TEST

START_TEST(test_source_cgroup1)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sup_load_opts o = {0};
	struct sup_load *ld;

	make_tmpdir();
	mk("cpuacct");
	mk("cpu");
	put("cpuacct/cpuacct.usage", "50701989269\n");
	put("cpu/cpu.cfs_quota_us", "-1\n");
	put("cpu/cpu.cfs_period_us", "100000\n");
	o.cgroup_root = tmpdir;
	ld = sup_load_new(loop, &o);
	ck_assert_int_eq(sup_load_source(ld), SUP_LOAD_CGROUP1);
	/* No quota: every CPU we may run on. */
	ck_assert(sup_load_cpus(ld) >= 1.0);
	finish_loop(loop, ld);
}
END_TEST

START_TEST(test_source_procstat)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sup_load_opts o = {0};
	struct sup_load *ld;
	char ps[256];

	make_tmpdir();
	snprintf(ps, sizeof(ps), "%s/stat", tmpdir);
	put("stat", "cpu  100 0 100 700 100 0 0 0 0 0\n");
	o.cgroup_root = tmpdir; /* empty: no cgroup files */
	o.proc_stat = ps;
	ld = sup_load_new(loop, &o);
	ck_assert_int_eq(sup_load_source(ld), SUP_LOAD_PROCSTAT);
	/* +50 busy jiffies out of +100: 0.5, independent of the wall clock. */
	put("stat", "cpu  125 0 125 740 110 0 0 0 0 0\n");
	sup_load_sample(ld);
	ck_assert_double_eq_tol(sup_load_get(ld), 0.5, 1e-9);
	/* A counter going backwards (reset) is skipped, not a negative load. */
	put("stat", "cpu  1 0 1 1 1 0 0 0 0 0\n");
	sup_load_sample(ld);
	ck_assert_double_eq_tol(sup_load_get(ld), 0.5, 1e-9);
	finish_loop(loop, ld);
}
END_TEST

START_TEST(test_source_none)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sup_load_opts o = {0};
	struct sup_load *ld;

	make_tmpdir();
	o.cgroup_root = tmpdir;
	o.proc_stat = "/nonexistent/stat";
	ld = sup_load_new(loop, &o);
	ck_assert_int_eq(sup_load_source(ld), SUP_LOAD_NONE);
	sup_load_sample(ld);
	ck_assert_double_eq(sup_load_get(ld), 0.0);
	finish_loop(loop, ld);
}
END_TEST

/* The real machine: some source works and the timer produces values in range. */
static void
stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

START_TEST(test_real_sampling)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sup_load_opts o = {0};
	struct sup_load *ld;
	ev_timer stop;
	double v;

	o.interval_ms = 20;
	ld = sup_load_new(loop, &o);
	ck_assert_int_ne(sup_load_source(ld), SUP_LOAD_NONE);
	ev_timer_init(&stop, stop_cb, 0.15, 0.0);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	v = sup_load_get(ld);
	ck_assert(v >= 0.0 && v <= 1.0);
	ev_timer_stop(loop, &stop);
	finish_loop(loop, ld);
}
END_TEST

static Suite *
load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("parsers");
	TCase *src = tcase_create("sources");

	tcase_add_test(tc, test_parse_cpu_stat);
	tcase_add_test(tc, test_parse_cpu_max);
	tcase_add_test(tc, test_parse_cfs);
	tcase_add_test(tc, test_parse_proc_stat);
	tcase_add_test(tc, test_parse_u64);
	tcase_add_test(tc, test_utilisation);
	tcase_add_test(tc, test_moving_average);
	suite_add_tcase(s, tc);
	tcase_add_test(src, test_source_cgroup2);
	tcase_add_test(src, test_source_cgroup1);
	tcase_add_test(src, test_source_procstat);
	tcase_add_test(src, test_source_none);
	tcase_add_test(src, test_real_sampling);
	suite_add_tcase(s, src);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(load_suite());
	int failed;

	log_init("check_load");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
