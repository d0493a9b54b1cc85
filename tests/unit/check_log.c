/*
 * check_log: unit tests for src/common/log.c. Each test captures stderr in
 * a pipe and parses what was written: JSON lines with the fixed fields and
 * escaped values, console lines, level filtering and log_fatal.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

static int cap_pipe[2];
static int cap_saved = -1;

/* Redirect stderr into a pipe; 64 KiB of pipe buffer is plenty per test. */
static void
cap_begin(void)
{
	ck_assert_int_eq(pipe(cap_pipe), 0);
	cap_saved = dup(STDERR_FILENO);
	ck_assert_int_ge(cap_saved, 0);
	ck_assert_int_ge(dup2(cap_pipe[1], STDERR_FILENO), 0);
	close(cap_pipe[1]);
}

/* Restore stderr and return everything written since cap_begin (malloc'd). */
static char *
cap_end(void)
{
	static char tmp[1 << 16];
	char *out;
	size_t len = 0;
	ssize_t n;

	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	while ((n = read(cap_pipe[0], tmp + len, sizeof(tmp) - 1 - len)) > 0)
		len += (size_t)n;
	close(cap_pipe[0]);
	tmp[len] = '\0';
	out = strdup(tmp);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Parse a single JSON line (must end in exactly one newline). */
static json_t *
parse_line(const char *s)
{
	json_error_t e;
	size_t len = strlen(s);
	json_t *j;

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(s[len - 1] == '\n', "line does not end in newline: %s", s);
	ck_assert_msg(strchr(s, '\n') == s + len - 1, "more than one line: %s", s);
	j = json_loads(s, 0, &e);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, s);
	ck_assert(json_is_object(j));
	return j;
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

START_TEST(test_json_fixed_fields)
{
	regex_t re;
	json_t *j;
	char *out;

	log_init("lk-test");
	cap_begin();
	log_info("job started", "job_id", "AJ_123", "n", log_fmt("%d", 7));
	out = cap_end();
	j = parse_line(out);
	ck_assert_int_eq(
	        regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
	                REG_EXTENDED | REG_NOSUB),
	        0);
	ck_assert_msg(regexec(&re, jstr(j, "ts"), 0, NULL, 0) == 0, "ts %s", jstr(j, "ts"));
	regfree(&re);
	ck_assert_str_eq(jstr(j, "level"), "info");
	ck_assert_str_eq(jstr(j, "msg"), "job started");
	ck_assert_str_eq(jstr(j, "service"), "lk-test");
	ck_assert_str_eq(jstr(j, "version"), PACKAGE_VERSION);
	ck_assert_str_eq(jstr(j, "commit"), LK_GIT_COMMIT);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), getpid());
	ck_assert_str_eq(jstr(j, "job_id"), "AJ_123");
	ck_assert_str_eq(jstr(j, "n"), "7");
	/* No context was set, so none is written. */
	ck_assert_ptr_null(json_object_get(j, "worker_id"));
	ck_assert_ptr_null(json_object_get(j, "room"));
	/* ts comes first, as log shippers expect. */
	ck_assert(strncmp(out, "{\"ts\":\"", 7) == 0);
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(test_context_fields)
{
	json_t *j;
	char *out;

	log_set_worker_id("AW_abc");
	log_set_job("AJ_1", "room \"1\"");
	cap_begin();
	log_warn("x");
	out = cap_end();
	j = parse_line(out);
	ck_assert_str_eq(jstr(j, "level"), "warn");
	ck_assert_str_eq(jstr(j, "worker_id"), "AW_abc");
	ck_assert_str_eq(jstr(j, "job_id"), "AJ_1");
	ck_assert_str_eq(jstr(j, "room"), "room \"1\"");
	json_decref(j);
	free(out);

	/* NULL and "" clear. */
	log_set_job(NULL, "");
	log_set_worker_id(NULL);
	cap_begin();
	log_error("y");
	out = cap_end();
	j = parse_line(out);
	ck_assert_ptr_null(json_object_get(j, "worker_id"));
	ck_assert_ptr_null(json_object_get(j, "job_id"));
	ck_assert_ptr_null(json_object_get(j, "room"));
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(test_json_escaping)
{
	json_t *j;
	char *out;

	cap_begin();
	log_info("m\"s\ng", "q", "a\"b\\c", "ctl", "t\tn\nr\r\x01\x1f\x7f", "utf8",
	        "caf\xc3\xa9 \xf0\x9f\x8e\xa4", "bad", "x\xff\xc3(y\xed\xa0\x80z", "nul", NULL);
	out = cap_end();
	j = parse_line(out);
	ck_assert_str_eq(jstr(j, "msg"), "m\"s\ng");
	ck_assert_str_eq(jstr(j, "q"), "a\"b\\c");
	ck_assert_str_eq(jstr(j, "ctl"), "t\tn\nr\r\x01\x1f\x7f");
	ck_assert_str_eq(jstr(j, "utf8"), "caf\xc3\xa9 \xf0\x9f\x8e\xa4");
	/* Invalid UTF-8 bytes (stray 0xff, truncated 2-byte, surrogate) become U+FFFD. */
	ck_assert_str_eq(
	        jstr(j, "bad"), "x\xef\xbf\xbd\xef\xbf\xbd(y\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
	ck_assert(json_is_null(json_object_get(j, "nul")));
	json_decref(j);
	free(out);
}
END_TEST

START_TEST(test_level_filter)
{
	char *out;

	ck_assert_int_eq(log_get_level(), LOG_INFO);
	cap_begin();
	log_debug("hidden");
	log_info("one");
	log_set_level(LOG_WARN);
	log_info("hidden2");
	log_warn("two");
	log_error("three");
	log_set_level(LOG_DEBUG);
	log_debug("four");
	out = cap_end();
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"one\""));
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"two\""));
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"three\""));
	ck_assert_ptr_nonnull(strstr(out, "\"level\":\"debug\",\"msg\":\"four\""));
	free(out);
}
END_TEST

START_TEST(test_long_line_stays_json)
{
	char *big = malloc(20001), *out;
	json_t *j;

	memset(big, 'a', 20000);
	big[20000] = '\0';
	big[9000] = '"'; /* escapes near the cut must not split */
	cap_begin();
	log_info("long", "first", "ok", "big", big, "after", "dropped?");
	out = cap_end();
	ck_assert_uint_le(strlen(out), 8192);
	j = parse_line(out);
	ck_assert_str_eq(jstr(j, "first"), "ok");
	ck_assert_uint_gt(strlen(jstr(j, "big")), 7000);
	ck_assert(strncmp(jstr(j, "big"), big, strlen(jstr(j, "big"))) == 0);
	json_decref(j);
	free(out);
	free(big);
}
END_TEST

START_TEST(test_console_format)
{
	regex_t re;
	char *out;

	log_set_format(LOG_FORMAT_CONSOLE);
	log_set_job("AJ_9", NULL);
	cap_begin();
	log_warn("job start failed", "id", "AJ_x", "err", "socketpair: EMFILE", "e", "", "q",
	        "a\"b", "n", NULL);
	out = cap_end();
	ck_assert_int_eq(regcomp(&re,
	                         "^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} WARN  job start failed "
	                         "job_id=AJ_9 id=AJ_x err=\"socketpair: EMFILE\" e=\"\" "
	                         "q=\"a\\\\\"b\" n=null\n$",
	                         REG_EXTENDED | REG_NOSUB),
	        0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "console line: %s", out);
	regfree(&re);
	free(out);
}
END_TEST

START_TEST(test_fmt_ring)
{
	const char *p[17];
	char big[400];
	int i;

	for (i = 0; i < 16; i++)
		p[i] = log_fmt("%d", i);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(atoi(p[i]), i);
	/* The 17th call reuses the oldest buffer. */
	p[16] = log_fmt("x");
	ck_assert_str_eq(p[0], "x");
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_uint_eq(strlen(log_fmt("%s", big)), 255);
}
END_TEST

START_TEST(test_parse_names)
{
	enum log_level l;
	enum log_format f;

	ck_assert_int_eq(log_parse_level("debug", &l), 0);
	ck_assert_int_eq(l, LOG_DEBUG);
	ck_assert_int_eq(log_parse_level("WARN", &l), 0);
	ck_assert_int_eq(l, LOG_WARN);
	ck_assert_int_eq(log_parse_level("error", &l), 0);
	ck_assert_int_eq(l, LOG_ERROR);
	ck_assert_int_eq(log_parse_level("verbose", &l), -1);
	ck_assert_int_eq(log_parse_level("", &l), -1);
	ck_assert_int_eq(log_parse_format("console", &f), 0);
	ck_assert_int_eq(f, LOG_FORMAT_CONSOLE);
	ck_assert_int_eq(log_parse_format("json", &f), 0);
	ck_assert_int_eq(f, LOG_FORMAT_JSON);
	ck_assert_int_eq(log_parse_format("text", &f), -1);
}
END_TEST

START_TEST(test_fatal_logs_and_exits)
{
	int st, fd[2];
	char buf[4096];
	ssize_t n;
	size_t len = 0;
	json_t *j;
	pid_t pid;

	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd[1], STDERR_FILENO);
		log_set_level(LOG_ERROR);
		log_fatal(3, "cannot bind %s:%d", "127.0.0.1", 8081);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd[0]);
	buf[len] = '\0';
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	j = parse_line(buf);
	ck_assert_str_eq(jstr(j, "level"), "error");
	ck_assert_str_eq(jstr(j, "msg"), "cannot bind 127.0.0.1:8081");
	json_decref(j);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_json_fixed_fields);
	tcase_add_test(tc, test_context_fields);
	tcase_add_test(tc, test_json_escaping);
	tcase_add_test(tc, test_level_filter);
	tcase_add_test(tc, test_long_line_stays_json);
	tcase_add_test(tc, test_console_format);
	tcase_add_test(tc, test_fmt_ring);
	tcase_add_test(tc, test_parse_names);
	tcase_add_test(tc, test_fatal_logs_and_exits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
