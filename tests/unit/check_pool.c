/*
 * check_pool: the supervisor's process pool with real fork/exec of
 * fake_jobproc (tests/unit/fake_jobproc.c), which acts out the script named
 * in START_JOB. Every death must become exactly one final status with the
 * right text, the idle pool must refill, and nothing may be left behind:
 * no children, no active watchers.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "common/err.h"
#include "supervisor/pool.h"
#include "../common/loop_check.h"

#define CHECK_POOL_TIMEOUT_S 30

static char check_fake[4096];

struct check_rec {
	char job[32];
	int status;
	char err[256];
	int had_err;
};

static struct check_rec check_recs[64];
static int check_nrec;
static int check_in_call; /* inside a sup_pool_* call: no status may arrive */
static struct sup_pool *check_p;
static const char *check_free_on; /* free the pool from on_status of this job's final */

static void
check_on_status(const char *job_id, int status, const char *error, void *arg)
{
	struct check_rec *r;

	(void)arg;
	ck_assert_msg(!check_in_call, "status reported from inside a sup_pool_* call");
	ck_assert_int_lt(check_nrec, 64);
	r = &check_recs[check_nrec++];
	snprintf(r->job, sizeof(r->job), "%s", job_id);
	r->status = status;
	r->had_err = error != NULL;
	snprintf(r->err, sizeof(r->err), "%s", error ? error : "");
	if (check_free_on && status != SUP_JS_RUNNING && strcmp(job_id, check_free_on) == 0) {
		sup_pool_free(check_p);
		check_p = NULL;
	}
}

static const struct check_rec *
check_final(const char *job)
{
	int i;

	for (i = 0; i < check_nrec; i++)
		if (strcmp(check_recs[i].job, job) == 0 && check_recs[i].status != SUP_JS_RUNNING)
			return &check_recs[i];
	return NULL;
}

static int
check_count(const char *job, int status)
{
	int i, n = 0;

	for (i = 0; i < check_nrec; i++)
		if (strcmp(check_recs[i].job, job) == 0 && check_recs[i].status == status)
			n++;
	return n;
}

/* RUNNING exactly once and first, then exactly one final status. */
static void
check_running_then_final(const char *job)
{
	int i, first = -1;

	for (i = 0; i < check_nrec; i++)
		if (strcmp(check_recs[i].job, job) == 0) {
			first = i;
			break;
		}
	ck_assert_int_ge(first, 0);
	ck_assert_int_eq(check_recs[first].status, SUP_JS_RUNNING);
	ck_assert_int_eq(check_count(job, SUP_JS_RUNNING), 1);
	ck_assert_int_eq(check_count(job, SUP_JS_SUCCESS) + check_count(job, SUP_JS_FAILED), 1);
}

/* ---- loop helpers ---- */

typedef int (*check_pred)(void);

static check_pred check_wait_pred;
static int check_deadline_hit;

static void
check_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	check_deadline_hit = 1;
	ev_break(loop, EVBREAK_ONE);
}

static void
check_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)w;
	(void)revents;
	if (check_wait_pred && check_wait_pred())
		ev_break(loop, EVBREAK_ONE);
}

/* Run the default loop until pred holds (1) or timeout_s passes (0). */
static int
check_run(check_pred pred, double timeout_s)
{
	struct ev_loop *loop = EV_DEFAULT;
	ev_timer t;
	ev_prepare p;

	check_deadline_hit = 0;
	check_wait_pred = pred;
	ev_timer_init(&t, check_deadline_cb, timeout_s, 0);
	ev_timer_start(loop, &t);
	ev_prepare_init(&p, check_prepare_cb);
	ev_prepare_start(loop, &p);
	while (!(pred && pred()) && !check_deadline_hit)
		ev_run(loop, 0);
	ev_prepare_stop(loop, &p);
	ev_timer_stop(loop, &t);
	check_wait_pred = NULL;
	return pred ? pred() : 0;
}

/* Free the pool (unless a callback did) and prove nothing is left. */
static void
check_end(void)
{
	struct ev_loop *loop = EV_DEFAULT;

	if (check_p) {
		sup_pool_free(check_p);
		check_p = NULL;
	}
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	loop_check_no_watchers(loop);
}

static struct sup_pool_opts
check_opts(void)
{
	struct sup_pool_opts o;

	memset(&o, 0, sizeof(o));
	o.jobproc_path = check_fake;
	o.num_idle = 0;
	o.ping_interval_ms = 200;
	o.ping_timeout_ms = 20000;
	o.init_timeout_ms = 15000;
	o.close_timeout_ms = 5000;
	o.log_level = "debug";
	o.log_format = "console";
	return o;
}

static void
check_new(const struct sup_pool_opts *o)
{
	check_nrec = 0;
	check_free_on = NULL;
	check_in_call = 1;
	check_p = sup_pool_new(EV_DEFAULT, o, check_on_status, NULL);
	check_in_call = 0;
	ck_assert_ptr_nonnull(check_p);
}

static int
check_start(const char *job, const char *script, const char *args)
{
	static const uint8_t pb[] = {0x0a, 0x03, 'A', 'J', '_'};
	struct sup_job_start s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.job_id = job;
	s.room = "room-1";
	s.job_pb = pb;
	s.job_pb_len = sizeof(pb);
	s.url = "ws://127.0.0.1:1";
	s.token = "tok";
	s.identity = "agent-x";
	s.worker_id = "AW_test";
	s.script = script;
	s.script_args = args;
	check_in_call = 1;
	rc = sup_pool_start_job(check_p, &s);
	check_in_call = 0;
	return rc;
}

/* ---- predicates ---- */

static const char *check_job;

static int
check_have_final(void)
{
	return check_final(check_job) != NULL;
}

static int
check_have_running(void)
{
	return check_count(check_job, SUP_JS_RUNNING) > 0;
}

static unsigned check_want;

static int
check_idle_reached(void)
{
	return check_p && sup_pool_idle(check_p) >= check_want;
}

static int
check_no_children(void)
{
	return check_p == NULL || sup_pool_children(check_p) == 0;
}

static int
check_never(void)
{
	return 0;
}

/* Run until job has its final status; returns that record. */
static const struct check_rec *
check_wait_final(const char *job, double timeout_s)
{
	check_job = job;
	ck_assert_msg(check_run(check_have_final, timeout_s), "no final status for %s", job);
	return check_final(job);
}

static void
check_wait_running(const char *job)
{
	check_job = job;
	ck_assert_msg(check_run(check_have_running, 15), "no RUNNING for %s", job);
}

static void
check_wait_idle(unsigned n)
{
	check_want = n;
	ck_assert_msg(check_run(check_idle_reached, 15), "idle pool did not reach %u", n);
}

static struct sup_pool_stats
check_stats(void)
{
	struct sup_pool_stats st;

	sup_pool_stats(check_p, &st);
	return st;
}

/* Children of this process, from /proc/PID/stat (field 4 is the parent). */
static int
check_child_pids(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], buf[512], *rp;
	int n = 0, ppid;
	FILE *f;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) != NULL &&
		        sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
			out[n++] = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return n;
}

/* ---- tests ---- */

START_TEST(test_ok_on_prewarmed_process)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;
	struct sup_pool_stats st;

	o.num_idle = 1;
	check_new(&o);
	check_wait_idle(1);
	ck_assert_int_eq(check_start("AJ_ok", "ok", ""), 0);
	/* taken from the idle pool: handed over at once */
	ck_assert_uint_eq(sup_pool_running(check_p), 1);
	r = check_wait_final("AJ_ok", 15);
	ck_assert_int_eq(r->status, SUP_JS_SUCCESS);
	ck_assert(!r->had_err);
	check_running_then_final("AJ_ok");
	/* the pool refills to num_idle */
	check_wait_idle(1);
	st = check_stats();
	ck_assert_uint_ge(st.spawned, 2);
	ck_assert_uint_eq(st.jobs_started, 1);
	ck_assert_uint_eq(st.jobs_succeeded, 1);
	ck_assert_uint_eq(st.jobs_failed, 0);
	ck_assert_uint_eq(sup_pool_running(check_p), 0);
	/* a second job id equal to a running one is refused; unknown terminate ignored */
	ck_assert_int_eq(sup_pool_terminate(check_p, "AJ_nope", "x"), 0);
	check_end();
}
END_TEST

static int check_seen_starting;

static void
check_foreach_cb(const struct sup_job_info *info, void *arg)
{
	(void)arg;
	if (strcmp(info->job_id, "AJ_cold") == 0 && strcmp(info->state, "starting") == 0 &&
	        strcmp(info->room, "room-1") == 0 && info->pid > 0)
		check_seen_starting++;
}

START_TEST(test_ok_on_fresh_process)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	check_new(&o);
	ck_assert_int_eq(check_start("AJ_cold", "ok", ""), 0);
	/* START_JOB waits for INIT_OK of the new process */
	sup_pool_foreach(check_p, check_foreach_cb, NULL);
	ck_assert_int_eq(check_seen_starting, 1);
	ck_assert_int_eq(check_start("AJ_cold", "ok", ""), LK_EINVAL);
	r = check_wait_final("AJ_cold", 15);
	ck_assert_int_eq(r->status, SUP_JS_SUCCESS);
	check_running_then_final("AJ_cold");
	ck_assert(check_run(check_no_children, 5));
	ck_assert_uint_eq(sup_pool_idle(check_p), 0); /* num_idle 0: none kept */
	check_end();
}
END_TEST

START_TEST(test_segv_is_signal_11)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	check_new(&o);
	ck_assert_int_eq(check_start("AJ_segv", "segv", ""), 0);
	r = check_wait_final("AJ_segv", 15);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_msg(strstr(r->err, "signal 11") != NULL, "error: %s", r->err);
	ck_assert_msg(strstr(r->err, "SIGSEGV") != NULL, "error: %s", r->err);
	check_running_then_final("AJ_segv");
	ck_assert_uint_eq(check_stats().jobs_failed, 1);
	check_end();
}
END_TEST

START_TEST(test_exit_code_3_with_error_text)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	check_new(&o);
	ck_assert_int_eq(check_start("AJ_exit3", "exit3", ""), 0);
	r = check_wait_final("AJ_exit3", 15);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "exit code 3: script failed: boom");
	check_running_then_final("AJ_exit3");
	check_end();
}
END_TEST

START_TEST(test_ping_timeout_kills)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	o.ping_interval_ms = 100;
	o.ping_timeout_ms = 1000;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_hang", "hang", ""), 0);
	r = check_wait_final("AJ_hang", 20);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "ping timeout");
	check_running_then_final("AJ_hang");
	ck_assert_uint_eq(check_stats().killed_ping_timeout, 1);
	check_end();
}
END_TEST

START_TEST(test_malformed_ipc_fails_job_not_pool)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	o.num_idle = 1;
	check_new(&o);
	check_wait_idle(1);
	ck_assert_int_eq(check_start("AJ_bad", "garbage", ""), 0);
	r = check_wait_final("AJ_bad", 15);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_msg(strncmp(r->err, "malformed ipc: ", 15) == 0, "error: %s", r->err);
	check_running_then_final("AJ_bad");
	ck_assert_uint_eq(check_stats().malformed_ipc, 1);
	/* the pool keeps working */
	ck_assert_int_eq(check_start("AJ_after", "ok", ""), 0);
	r = check_wait_final("AJ_after", 15);
	ck_assert_int_eq(r->status, SUP_JS_SUCCESS);
	check_end();
}
END_TEST

START_TEST(test_spawn_failure_reported)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	o.jobproc_path = "/nonexistent/lk-jobproc";
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_nospawn", "ok", ""), 0);
	r = check_wait_final("AJ_nospawn", 15);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_msg(strstr(r->err, "spawn failed") != NULL, "error: %s", r->err);
	ck_assert_msg(strstr(r->err, strerror(ENOENT)) != NULL, "error: %s", r->err);
	/* it never ran: no RUNNING */
	ck_assert_int_eq(check_count("AJ_nospawn", SUP_JS_RUNNING), 0);
	ck_assert_int_eq(check_count("AJ_nospawn", SUP_JS_FAILED), 1);
	ck_assert_uint_eq(check_stats().spawn_failures, 1);
	ck_assert_uint_eq(check_stats().spawned, 0);
	ck_assert(check_run(check_no_children, 5));
	check_end();
}
END_TEST

/* A binary that cannot start makes the idle pool back off, not spin. */
START_TEST(test_spawn_failure_backs_off)
{
	struct sup_pool_opts o = check_opts();
	struct sup_pool_stats st;

	o.jobproc_path = "/nonexistent/lk-jobproc";
	o.num_idle = 2;
	check_new(&o);
	check_run(check_never, 3.0);
	st = check_stats();
	ck_assert_uint_ge(st.spawn_failures, 2);
	/* a fork loop would have made hundreds */
	ck_assert_uint_le(st.spawn_failures, 20);
	ck_assert_uint_eq(sup_pool_idle(check_p), 0);
	check_end();
}
END_TEST

/* Processes that die right after INIT_OK are replaced with a delay too. */
START_TEST(test_dying_idle_backs_off)
{
	struct sup_pool_opts o = check_opts();
	struct sup_pool_stats st;

	setenv("FAKE_JOBPROC_MODE", "exitinit", 1);
	o.num_idle = 1;
	check_new(&o);
	check_run(check_never, 3.0);
	st = check_stats();
	ck_assert_uint_ge(st.spawned, 2);
	ck_assert_uint_le(st.spawned, 20);
	unsetenv("FAKE_JOBPROC_MODE");
	check_end();
}
END_TEST

static int
check_refilled(void)
{
	struct sup_pool_stats st;

	sup_pool_stats(check_p, &st);
	return st.spawned >= 3 && sup_pool_idle(check_p) == 2;
}

START_TEST(test_idle_pool_refills)
{
	struct sup_pool_opts o = check_opts();
	pid_t pids[16];
	int n;

	o.num_idle = 2;
	check_new(&o);
	check_wait_idle(2);
	ck_assert_uint_eq(sup_pool_children(check_p), 2);
	ck_assert_uint_eq(sup_pool_running(check_p), 0);
	n = check_child_pids(pids, 16);
	ck_assert_int_eq(n, 2);
	/* an idle process dies: it is replaced, no status is reported */
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
	ck_assert(check_run(check_refilled, 15));
	ck_assert_uint_eq(sup_pool_children(check_p), 2);
	ck_assert_int_eq(check_nrec, 0);
	/* drain: idle processes go and are not replaced */
	check_in_call = 1;
	sup_pool_stop_idle(check_p);
	check_in_call = 0;
	ck_assert(check_run(check_no_children, 5));
	check_run(check_never, 0.5);
	ck_assert_uint_eq(sup_pool_children(check_p), 0);
	check_end();
}
END_TEST

START_TEST(test_terminate_graceful_is_success)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	check_new(&o);
	ck_assert_int_eq(check_start("AJ_wait", "wait", ""), 0);
	check_wait_running("AJ_wait");
	check_in_call = 1;
	ck_assert_int_eq(sup_pool_terminate(check_p, "AJ_wait", "room deleted"), 0);
	check_in_call = 0;
	r = check_wait_final("AJ_wait", 15);
	ck_assert_int_eq(r->status, SUP_JS_SUCCESS);
	check_running_then_final("AJ_wait");
	check_end();
}
END_TEST

/* SHUTDOWN ignored -> close timeout -> SIGTERM ignored -> SIGKILL. */
START_TEST(test_shutdown_ladder_escalates)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;
	struct sup_pool_stats st;

	o.close_timeout_ms = 300;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_stub", "stubborn", ""), 0);
	check_wait_running("AJ_stub");
	ck_assert_int_eq(sup_pool_terminate(check_p, "AJ_stub", "room deleted"), 0);
	r = check_wait_final("AJ_stub", 20);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "close timeout");
	check_running_then_final("AJ_stub");
	sup_pool_stats(check_p, &st);
	ck_assert_uint_eq(st.killed_close_timeout, 1);
	ck_assert_uint_eq(st.killed_job_timeout, 0);
	check_end();
}
END_TEST

START_TEST(test_job_timeout)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;
	struct sup_pool_stats st;

	o.job_timeout_ms = 300;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_long", "wait", ""), 0);
	r = check_wait_final("AJ_long", 20);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "job timeout");
	check_running_then_final("AJ_long");
	sup_pool_stats(check_p, &st);
	ck_assert_uint_eq(st.killed_job_timeout, 1);
	check_end();
}
END_TEST

START_TEST(test_init_timeout)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	setenv("FAKE_JOBPROC_MODE", "noinit", 1);
	o.init_timeout_ms = 300;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_noinit", "ok", ""), 0);
	r = check_wait_final("AJ_noinit", 15);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "init timeout");
	ck_assert_int_eq(check_count("AJ_noinit", SUP_JS_RUNNING), 0);
	unsetenv("FAKE_JOBPROC_MODE");
	check_end();
}
END_TEST

/* Terminated while its process is still starting: ends without having run. */
START_TEST(test_terminate_before_start)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	setenv("FAKE_JOBPROC_MODE", "noinit", 1);
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_early", "ok", ""), 0);
	check_in_call = 1;
	ck_assert_int_eq(sup_pool_terminate(check_p, "AJ_early", "room deleted"), 0);
	check_in_call = 0;
	r = check_wait_final("AJ_early", 15);
	ck_assert_int_eq(r->status, SUP_JS_SUCCESS);
	ck_assert_int_eq(check_count("AJ_early", SUP_JS_RUNNING), 0);
	unsetenv("FAKE_JOBPROC_MODE");
	check_end();
}
END_TEST

START_TEST(test_memory_limit)
{
	struct sup_pool_opts o = check_opts();
	const struct check_rec *r;

	o.mem_warn_mb = 20;
	o.mem_limit_mb = 40;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_hog", "hog", "mb=80"), 0);
	r = check_wait_final("AJ_hog", 20);
	ck_assert_int_eq(r->status, SUP_JS_FAILED);
	ck_assert_str_eq(r->err, "memory limit");
	ck_assert_uint_eq(check_stats().killed_memory, 1);
	check_running_then_final("AJ_hog");
	check_end();
}
END_TEST

static int
check_two_finals(void)
{
	return check_final("AJ_a") && check_final("AJ_b");
}

START_TEST(test_shutdown_all)
{
	struct sup_pool_opts o = check_opts();

	o.num_idle = 1;
	check_new(&o);
	ck_assert_int_eq(check_start("AJ_a", "wait", ""), 0);
	ck_assert_int_eq(check_start("AJ_b", "wait", ""), 0);
	check_wait_running("AJ_a");
	check_wait_running("AJ_b");
	check_wait_idle(1);
	check_in_call = 1;
	sup_pool_shutdown_all(check_p, "worker draining");
	check_in_call = 0;
	ck_assert(check_run(check_two_finals, 15));
	ck_assert_int_eq(check_final("AJ_a")->status, SUP_JS_SUCCESS);
	ck_assert_int_eq(check_final("AJ_b")->status, SUP_JS_SUCCESS);
	check_running_then_final("AJ_a");
	check_running_then_final("AJ_b");
	ck_assert(check_run(check_no_children, 5));
	ck_assert_uint_eq(sup_pool_idle(check_p), 0);
	check_end();
}
END_TEST

/* on_status may free the pool; running children are killed and reaped. */
START_TEST(test_free_inside_status_callback)
{
	struct sup_pool_opts o = check_opts();

	check_new(&o);
	ck_assert_int_eq(check_start("AJ_stay", "wait", ""), 0);
	ck_assert_int_eq(check_start("AJ_quick", "ok", ""), 0);
	check_free_on = "AJ_quick";
	check_wait_final("AJ_quick", 15);
	ck_assert_ptr_null(check_p);
	ck_assert_ptr_null(check_final("AJ_stay"));
	check_end();
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct sup_pool_opts o = check_opts();
	struct ev_loop *other = ev_loop_new(EVFLAG_AUTO);

	/* child watchers need the default loop */
	ck_assert_ptr_null(sup_pool_new(other, &o, check_on_status, NULL));
	ev_loop_destroy(other);
	o.jobproc_path = NULL;
	ck_assert_ptr_null(sup_pool_new(EV_DEFAULT, &o, check_on_status, NULL));
	o = check_opts();
	check_new(&o);
	ck_assert_int_eq(check_start("", "ok", ""), LK_EINVAL);
	ck_assert_int_eq(sup_pool_start_job(check_p, NULL), LK_EINVAL);
	ck_assert_uint_eq(sup_pool_children(check_p), 0);
	check_end();
}
END_TEST

static Suite *
check_pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, CHECK_POOL_TIMEOUT_S);
	tcase_add_test(tc, test_ok_on_prewarmed_process);
	tcase_add_test(tc, test_ok_on_fresh_process);
	tcase_add_test(tc, test_segv_is_signal_11);
	tcase_add_test(tc, test_exit_code_3_with_error_text);
	tcase_add_test(tc, test_ping_timeout_kills);
	tcase_add_test(tc, test_malformed_ipc_fails_job_not_pool);
	tcase_add_test(tc, test_spawn_failure_reported);
	tcase_add_test(tc, test_spawn_failure_backs_off);
	tcase_add_test(tc, test_dying_idle_backs_off);
	tcase_add_test(tc, test_idle_pool_refills);
	tcase_add_test(tc, test_terminate_graceful_is_success);
	tcase_add_test(tc, test_shutdown_ladder_escalates);
	tcase_add_test(tc, test_job_timeout);
	tcase_add_test(tc, test_init_timeout);
	tcase_add_test(tc, test_terminate_before_start);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_shutdown_all);
	tcase_add_test(tc, test_free_inside_status_callback);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *b = getenv("LK_BUILDDIR");
	SRunner *sr;
	int failed;

	snprintf(check_fake, sizeof(check_fake), "%s/tests/unit/fake_jobproc", b ? b : LK_BUILDDIR);
	if (access(check_fake, X_OK) != 0) {
		fprintf(stderr, "check_pool: %s not built, skipping\n", check_fake);
		return 77;
	}
	sr = srunner_create(check_pool_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
