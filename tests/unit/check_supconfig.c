/*
 * check_supconfig: lk-supervisor's configuration: defaults, precedence
 * (flags > environment > --config FILE > defaults), refusal of bad values
 * with the key named, URL and address derivation, start-up checks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/config.h"

#define ARGV(...) ((const char *[]){"lk-supervisor", __VA_ARGS__, NULL})

static const char *no_env[] = {NULL};

/* Load with argv (NULL-terminated) and envp; returns cfg_load's result. */
static int
load(struct sup_config *c, const char **argv, const char **envp, char *err, size_t errlen)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	err[0] = '\0';
	return sup_config_load(c, argc, (char **)argv, (char **)envp, err, errlen);
}

/* Expect a refusal whose message names key. */
static void
expect_bad(const char **argv, const char **envp, const char *key)
{
	struct sup_config c;
	char err[512];

	ck_assert_int_ne(load(&c, argv, envp, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, key) != NULL, "error \"%s\" does not name %s", err, key);
	sup_config_free(&c);
}

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/check_supconfig.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_defaults)
{
	struct sup_config c;
	char err[512];
	const char *slash;

	ck_assert_int_eq(
	        load(&c, (const char *[]){"lk-supervisor", NULL}, no_env, err, sizeof(err)), 0);
	ck_assert_str_eq(c.url, "ws://127.0.0.1:7880");
	ck_assert_str_eq(c.agent_url, "ws://127.0.0.1:7880/agent");
	ck_assert_str_eq(c.room_url, "ws://127.0.0.1:7880");
	ck_assert_str_eq(c.api_key, "");
	ck_assert_str_eq(c.agent_name, "");
	ck_assert_str_eq(c.namespace_, "");
	ck_assert_int_eq(c.job_type, 0);
	ck_assert_int_eq(c.max_jobs, 8);
	ck_assert_int_eq(c.num_idle, sup_config_default_idle());
	ck_assert(c.num_idle >= 1 && c.num_idle <= 4);
	ck_assert_double_eq_tol(c.load_threshold, 0.7, 1e-9);
	ck_assert_str_eq(c.script, "noop");
	ck_assert_str_eq(c.script_args, "");
	ck_assert_int_eq(c.script_from_metadata, 0);
	ck_assert_int_eq(c.http_enabled, 1);
	ck_assert_str_eq(c.http_host, "127.0.0.1");
	ck_assert_uint_eq(c.http_port, 8081);
	ck_assert_int_eq(c.drain_timeout_ms, 3600000);
	ck_assert_int_eq(c.job_timeout_ms, 0);
	ck_assert_int_eq(c.ping_timeout_ms, 60000);
	ck_assert_int_eq(c.close_timeout_ms, 10000);
	ck_assert_int_eq(c.mem_warn_mb, 1000);
	ck_assert_int_eq(c.mem_limit_mb, 0);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_int_eq(c.log_format, LOG_FORMAT_JSON);
	ck_assert_int_eq(c.dry_run, 0);
	ck_assert_int_eq(c.healthz, 0);
	/* Default job process: beside our own executable. */
	slash = strrchr(c.jobproc_path, '/');
	ck_assert_ptr_nonnull(slash);
	ck_assert_str_eq(slash, "/lk-jobproc");
	sup_config_free(&c);
}
END_TEST

START_TEST(test_precedence)
{
	struct sup_config c;
	char err[512], arg[600];
	char *file = write_tmp("# comment\n"
	                       "LK_MAX_CONCURRENT_JOBS=3\n"
	                       "LK_NUM_IDLE=2\n"
	                       "LIVEKIT_AGENT_NAME=from-file\n"
	                       "LK_SCRIPT=echo\n"
	                       "LK_LOAD_THRESHOLD=0.5\n");
	const char *env[] = {"LK_MAX_CONCURRENT_JOBS=5", "LIVEKIT_AGENT_NAME=from-env",
	        "LK_LOAD_THRESHOLD=0.6", NULL};

	snprintf(arg, sizeof(arg), "--config=%s", file);
	ck_assert_int_eq(load(&c, ARGV(arg, "--max-jobs", "7"), env, err, sizeof(err)), 0);
	ck_assert_int_eq(c.max_jobs, 7); /* flag beats env and file */
	ck_assert_str_eq(c.agent_name, "from-env"); /* env beats file */
	ck_assert_double_eq_tol(c.load_threshold, 0.6, 1e-9);
	ck_assert_int_eq(c.num_idle, 2); /* file beats default */
	ck_assert_str_eq(c.script, "echo");
	ck_assert_int_eq(c.drain_timeout_ms, 3600000); /* default */
	sup_config_free(&c);

	/* Without the flag the environment wins. */
	ck_assert_int_eq(load(&c, ARGV("--config", file), env, err, sizeof(err)), 0);
	ck_assert_int_eq(c.max_jobs, 5);
	sup_config_free(&c);
	/* Without the environment the file wins. */
	ck_assert_int_eq(load(&c, ARGV("--config", file), no_env, err, sizeof(err)), 0);
	ck_assert_int_eq(c.max_jobs, 3);
	ck_assert_str_eq(c.agent_name, "from-file");
	sup_config_free(&c);
	unlink(file);
	free(file);
}
END_TEST

START_TEST(test_aliases_and_enums)
{
	struct sup_config c;
	char err[512];
	const char *env1[] = {"LK_AGENT_NAME=alias-name", "LK_JOB_TYPE=JT_PUBLISHER",
	        "LK_LOG_LEVEL=warning", "LK_LOG_FORMAT=console", NULL};
	const char *env2[] = {"LIVEKIT_AGENT_NAME=main-name", "LK_AGENT_NAME=alias-name",
	        "LK_JOB_TYPE=participant", NULL};

	ck_assert_int_eq(
	        load(&c, (const char *[]){"lk-supervisor", NULL}, env1, err, sizeof(err)), 0);
	ck_assert_str_eq(c.agent_name, "alias-name");
	ck_assert_int_eq(c.job_type, 1);
	ck_assert_str_eq(sup_config_job_type_name(c.job_type), "JT_PUBLISHER");
	ck_assert_int_eq(c.log_level, LOG_WARN);
	ck_assert_int_eq(c.log_format, LOG_FORMAT_CONSOLE);
	sup_config_free(&c);

	ck_assert_int_eq(
	        load(&c, (const char *[]){"lk-supervisor", NULL}, env2, err, sizeof(err)), 0);
	ck_assert_str_eq(c.agent_name, "main-name");
	ck_assert_int_eq(c.job_type, 2);
	sup_config_free(&c);

	ck_assert_int_eq(
	        load(&c,
	                ARGV("--job-type", "JT_ROOM", "--log-level", "debug", "--ping-timeout",
	                        "250ms", "--drain-timeout", "5m", "--http-addr", "127.0.0.1:0",
	                        "--script-from-metadata", "--dry-run"),
	                no_env, err, sizeof(err)),
	        0);
	ck_assert_int_eq(c.job_type, 0);
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_int_eq(c.ping_timeout_ms, 250);
	ck_assert_int_eq(c.drain_timeout_ms, 300000);
	ck_assert_uint_eq(c.http_port, 0);
	ck_assert_int_eq(c.script_from_metadata, 1);
	ck_assert_int_eq(c.dry_run, 1);
	sup_config_free(&c);
}
END_TEST

START_TEST(test_bad_values_name_the_key)
{
	char *file = write_tmp("LK_NUM_IDLE=lots\n");
	char arg[600];

	expect_bad((const char *[]){"x", NULL},
	        (const char *[]){"LK_MAX_CONCURRENT_JOBS=abc", NULL}, "LK_MAX_CONCURRENT_JOBS");
	expect_bad(ARGV("--max-jobs", "0"), no_env, "--max-jobs");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_LOAD_THRESHOLD=5000", NULL},
	        "LK_LOAD_THRESHOLD");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_JOB_TYPE=JT_FOO", NULL},
	        "LK_JOB_TYPE");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LIVEKIT_URL=ftp://host", NULL},
	        "LIVEKIT_URL");
	expect_bad(ARGV("--url", "http://"), no_env, "LIVEKIT_URL");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_HTTP_ADDR=somewhere:80", NULL},
	        "LK_HTTP_ADDR");
	expect_bad(ARGV("--http-addr", "127.0.0.1:70000"), no_env, "LK_HTTP_ADDR");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_DRAIN_TIMEOUT=forever", NULL},
	        "LK_DRAIN_TIMEOUT");
	expect_bad(ARGV("--ping-timeout", "1ms"), no_env, "--ping-timeout");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_SCRIPT=../../bin/sh", NULL},
	        "LK_SCRIPT");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_LOG_FORMAT=xml", NULL},
	        "LK_LOG_FORMAT");
	expect_bad((const char *[]){"x", NULL}, (const char *[]){"LK_JOB_MEMORY_LIMIT_MB=-5", NULL},
	        "LK_JOB_MEMORY_LIMIT_MB");
	expect_bad(ARGV("--no-such-flag"), no_env, "no-such-flag");
	snprintf(arg, sizeof(arg), "--config=%s", file);
	expect_bad(ARGV(arg), no_env, "LK_NUM_IDLE");
	expect_bad(ARGV("--config", "/nonexistent/lk.env"), no_env, "/nonexistent/lk.env");
	unlink(file);
	free(file);
}
END_TEST

START_TEST(test_ws_url)
{
	static const struct {
		const char *in, *suffix, *out;
	} ok[] = {
	        {"ws://127.0.0.1:7880", "/agent", "ws://127.0.0.1:7880/agent"},
	        {"http://host:7880/", "/agent", "ws://host:7880/agent"},
	        {"https://x.livekit.cloud", "/agent", "wss://x.livekit.cloud/agent"},
	        {"wss://h/base//", "/agent", "wss://h/base/agent"},
	        {"ws://h:1/?a=b", "/agent", "ws://h:1/agent?a=b"},
	        {"HTTP://h", "", "ws://h"},
	        {"https://h:443/", "", "wss://h:443"},
	};
	static const char *bad[] = {
	        "host:7880", "http://", "ftp://h", "ws:///path", "ws://a b/", ""};
	size_t i;
	char *out;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(sup_config_ws_url(ok[i].in, ok[i].suffix, &out), 0);
		ck_assert_str_eq(out, ok[i].out);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(
		        sup_config_ws_url(bad[i], "/agent", &out) != 0, "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(out);
	}
}
END_TEST

START_TEST(test_http_addr)
{
	char host[64];
	uint16_t port;
	int en;

	ck_assert_int_eq(
	        sup_config_parse_http_addr("127.0.0.1:0", &en, host, sizeof(host), &port), 0);
	ck_assert(en && port == 0 && strcmp(host, "127.0.0.1") == 0);
	ck_assert_int_eq(sup_config_parse_http_addr(":8081", &en, host, sizeof(host), &port), 0);
	ck_assert(en && port == 8081 && strcmp(host, "0.0.0.0") == 0);
	ck_assert_int_eq(sup_config_parse_http_addr("9000", &en, host, sizeof(host), &port), 0);
	ck_assert(en && port == 9000 && strcmp(host, "127.0.0.1") == 0);
	ck_assert_int_eq(sup_config_parse_http_addr("0", &en, host, sizeof(host), &port), 0);
	ck_assert(en && port == 0);
	ck_assert_int_eq(sup_config_parse_http_addr("[::1]:80", &en, host, sizeof(host), &port), 0);
	ck_assert(en && port == 80 && strcmp(host, "::1") == 0);
	ck_assert_int_eq(
	        sup_config_parse_http_addr("localhost:81", &en, host, sizeof(host), &port), 0);
	ck_assert(strcmp(host, "127.0.0.1") == 0 && port == 81);
	ck_assert_int_eq(sup_config_parse_http_addr("off", &en, host, sizeof(host), &port), 0);
	ck_assert_int_eq(en, 0);

	ck_assert_int_ne(
	        sup_config_parse_http_addr("example.com:80", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(sup_config_parse_http_addr("1.2.3.4:", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(
	        sup_config_parse_http_addr("1.2.3.4:65536", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(
	        sup_config_parse_http_addr("1.2.3.4:8x", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(sup_config_parse_http_addr("[::1]80", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(sup_config_parse_http_addr("[zz]:80", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(sup_config_parse_http_addr("", &en, host, sizeof(host), &port), 0);
	ck_assert_int_ne(sup_config_parse_http_addr("-1", &en, host, sizeof(host), &port), 0);
}
END_TEST

START_TEST(test_runtime_checks)
{
	struct sup_config c;
	char err[512], arg[600];
	char *plain = write_tmp("not a program\n");
	char *exe = write_tmp("#!/bin/sh\nexit 0\n");
	const char *env[] = {"LIVEKIT_API_KEY=devkey", "LIVEKIT_API_SECRET=s3cr3t-value", NULL};

	chmod(exe, 0755);
	chmod(plain, 0644);
	/* Credentials first. */
	ck_assert_int_eq(load(&c, (const char *[]){"x", NULL}, no_env, err, sizeof(err)), 0);
	ck_assert_int_ne(sup_config_check_runtime(&c, 0, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "LIVEKIT_API_KEY"));
	sup_config_free(&c);
	ck_assert_int_eq(load(&c, ARGV("--api-key", "k"), no_env, err, sizeof(err)), 0);
	ck_assert_int_ne(sup_config_check_runtime(&c, 0, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "LIVEKIT_API_SECRET"));
	sup_config_free(&c);

	/* The job process must be an executable file. */
	ck_assert_int_eq(
	        load(&c, ARGV("--jobproc", "/nonexistent/lk-jobproc"), env, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_config_check_runtime(&c, 0, err, sizeof(err)), 0);
	ck_assert_int_ne(sup_config_check_runtime(&c, 1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "LK_JOBPROC"));
	ck_assert_ptr_null(strstr(err, "s3cr3t-value"));
	sup_config_free(&c);
	snprintf(arg, sizeof(arg), "--jobproc=%s", plain);
	ck_assert_int_eq(load(&c, ARGV(arg), env, err, sizeof(err)), 0);
	ck_assert_int_ne(sup_config_check_runtime(&c, 1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "not an executable"));
	sup_config_free(&c);
	snprintf(arg, sizeof(arg), "--jobproc=%s", exe);
	ck_assert_int_eq(load(&c, ARGV(arg), env, err, sizeof(err)), 0);
	ck_assert_int_eq(sup_config_check_runtime(&c, 1, err, sizeof(err)), 0);
	ck_assert_str_eq(c.jobproc_path, exe);
	sup_config_free(&c);
	unlink(plain);
	unlink(exe);
	free(plain);
	free(exe);
}
END_TEST

START_TEST(test_valid_script)
{
	ck_assert(sup_config_valid_script("noop"));
	ck_assert(sup_config_valid_script("echo-v2.1_x"));
	ck_assert(!sup_config_valid_script(""));
	ck_assert(!sup_config_valid_script("a/b"));
	ck_assert(!sup_config_valid_script("a b"));
	ck_assert(!sup_config_valid_script(
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_pick_script)
{
	char script[65], args[32], err[128];
	char big[100];

	/* No metadata, plain text, JSON that is not an object, no keys: the defaults. */
	ck_assert_int_eq(sup_config_pick_script(NULL, "noop", "a=1", script, sizeof(script), args,
	                         sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(script, "noop");
	ck_assert_str_eq(args, "a=1");
	ck_assert_int_eq(sup_config_pick_script("hello world", "noop", "", script, sizeof(script),
	                         args, sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(script, "noop");
	ck_assert_int_eq(sup_config_pick_script("[1,2]", "noop", "", script, sizeof(script), args,
	                         sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_int_eq(sup_config_pick_script("{\"hello\":\"world\"}", "noop", "x", script,
	                         sizeof(script), args, sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(script, "noop");
	ck_assert_str_eq(args, "x");
	/* Both keys. */
	ck_assert_int_eq(
	        sup_config_pick_script("{\"script\":\"echo\",\"script_args\":\"duration=4s\"}",
	                "noop", "", script, sizeof(script), args, sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(script, "echo");
	ck_assert_str_eq(args, "duration=4s");
	/* Bad choices fail the job instead of running something else. */
	ck_assert_int_eq(sup_config_pick_script("{\"script\":\"../../bin/sh\"}", "noop", "", script,
	                         sizeof(script), args, sizeof(args), err, sizeof(err)),
	        -1);
	ck_assert_ptr_nonnull(strstr(err, "script"));
	ck_assert_int_eq(sup_config_pick_script("{\"script\":7}", "noop", "", script,
	                         sizeof(script), args, sizeof(args), err, sizeof(err)),
	        -1);
	/* A NUL inside a string is not JSON to the parser: the defaults stay. */
	ck_assert_int_eq(sup_config_pick_script("{\"script_args\":\"a\\u0000b\"}", "noop", "d",
	                         script, sizeof(script), args, sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(args, "d");
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"script_args\":\"", 16);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	ck_assert_int_eq(sup_config_pick_script(big, "noop", "", script, sizeof(script), args,
	                         sizeof(args), err, sizeof(err)),
	        -1);
	/* Duplicate keys are refused by the parser: the defaults stay. */
	ck_assert_int_eq(sup_config_pick_script("{\"script\":\"a\",\"script\":\"b\"}", "noop", "",
	                         script, sizeof(script), args, sizeof(args), err, sizeof(err)),
	        0);
	ck_assert_str_eq(script, "noop");
}
END_TEST

static Suite *
supconfig_suite(void)
{
	Suite *s = suite_create("supconfig");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_aliases_and_enums);
	tcase_add_test(tc, test_bad_values_name_the_key);
	tcase_add_test(tc, test_ws_url);
	tcase_add_test(tc, test_http_addr);
	tcase_add_test(tc, test_runtime_checks);
	tcase_add_test(tc, test_valid_script);
	tcase_add_test(tc, test_pick_script);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(supconfig_suite());
	int failed;

	log_init("check_supconfig");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
