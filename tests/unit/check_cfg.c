/*
 * check_cfg: unit tests for src/common/cfg.c: precedence (flag > env >
 * config file > default), flag forms, every bad-value path naming its key,
 * durations, bounds, config file syntax and errors, usage and cfg_free.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"

static char *o_url, *o_secret;
static long o_jobs, o_envonly;
static double o_load;
static int o_dry, o_fmt;
static int64_t o_drain;

static const char *const fmt_choices[] = {"json", "console", NULL};

static const struct cfg_opt opts[] = {
        {.flag = "url",
                .env = "LIVEKIT_URL",
                .type = CFG_STR,
                .dst = &o_url,
                .def = "ws://localhost:7880",
                .help = "server URL"},
        {.flag = "max-jobs",
                .env = "LK_MAX_CONCURRENT_JOBS",
                .env_alias = "LK_MAX_JOBS",
                .type = CFG_INT,
                .dst = &o_jobs,
                .def = "4",
                .min = 1,
                .max = 1000,
                .help = "concurrent jobs"},
        {.flag = "load-threshold",
                .env = "LK_LOAD_THRESHOLD",
                .type = CFG_DOUBLE,
                .dst = &o_load,
                .def = "0.75",
                .dmin = 0.0,
                .dmax = 1.0,
                .help = "load"},
        {.flag = "dry-run",
                .env = "LK_DRY_RUN",
                .type = CFG_BOOL,
                .dst = &o_dry,
                .def = "false",
                .help = "do nothing"},
        {.flag = "drain-timeout",
                .env = "LK_DRAIN_TIMEOUT",
                .type = CFG_DURATION,
                .dst = &o_drain,
                .def = "30m",
                .min = 1000,
                .max = 3600000,
                .help = "drain"},
        {.flag = "log-format",
                .env = "LK_LOG_FORMAT",
                .type = CFG_ENUM,
                .dst = &o_fmt,
                .def = "json",
                .choices = fmt_choices,
                .help = "log format"},
        {.flag = "api-secret",
                .env = "LIVEKIT_API_SECRET",
                .type = CFG_STR,
                .dst = &o_secret,
                .secret = 1,
                .help = "API secret"},
        {.env = "LK_ENV_ONLY", .type = CFG_INT, .dst = &o_envonly, .def = "5", .help = "no flag"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* NULL-terminated string vectors for argv/envp, freed by the teardown. */
static char *pool[256];
static size_t npool;
static char **vecs[64];
static size_t nvecs;

static char **
vec(const char *first, ...)
{
	char **v = calloc(17, sizeof(char *));
	const char *s;
	va_list ap;
	int i = 0;

	ck_assert_ptr_nonnull(v);
	ck_assert(nvecs < 64 && npool + 16 <= 256);
	va_start(ap, first);
	for (s = first; s != NULL && i < 16; s = va_arg(ap, const char *)) {
		v[i] = strdup(s);
		pool[npool++] = v[i++];
	}
	va_end(ap);
	vecs[nvecs++] = v;
	return v;
}

static void
setup(void)
{
	o_url = o_secret = NULL;
	o_jobs = o_envonly = -1;
	o_load = -1;
	o_dry = o_fmt = -1;
	o_drain = -1;
}

static void
teardown(void)
{
	cfg_free(opts, NOPTS);
	while (npool > 0)
		free(pool[--npool]);
	while (nvecs > 0)
		free(vecs[--nvecs]);
}

static char errbuf[512];

/* Load with argv (after the program name), envp and an in-memory file. */
static int
load(char **args, char **env, const char *file)
{
	char *argv[20] = {(char *)"prog"};
	int argc = 1, i;

	for (i = 0; args != NULL && args[i] != NULL; i++)
		argv[argc++] = args[i];
	errbuf[0] = '\0';
	if (file != NULL)
		return cfg_load_buf(opts, NOPTS, argc, argv, env, "test.env", file, strlen(file),
		        errbuf, sizeof(errbuf));
	return cfg_load(opts, NOPTS, argc, argv, env, errbuf, sizeof(errbuf));
}

static void
expect_err(char **args, char **env, const char *file, const char *msg)
{
	ck_assert_int_eq(load(args, env, file), -1);
	ck_assert_str_eq(errbuf, msg);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(load(NULL, vec(NULL), NULL), 0);
	ck_assert_str_eq(o_url, "ws://localhost:7880");
	ck_assert_int_eq(o_jobs, 4);
	ck_assert_double_eq(o_load, 0.75);
	ck_assert_int_eq(o_dry, 0);
	ck_assert_int_eq(o_drain, 30 * 60 * 1000);
	ck_assert_int_eq(o_fmt, 0);
	ck_assert_int_eq(o_envonly, 5);
	/* No default: left untouched. */
	ck_assert_ptr_null(o_secret);
}
END_TEST

START_TEST(test_precedence)
{
	const char *file = "LK_MAX_CONCURRENT_JOBS=10\nLIVEKIT_URL=ws://file\n";
	char **env = vec("LK_MAX_CONCURRENT_JOBS=20", "LIVEKIT_URL=ws://env", NULL);
	char **flags = vec("--max-jobs", "30", NULL);

	ck_assert_int_eq(load(flags, env, file), 0);
	ck_assert_int_eq(o_jobs, 30);
	ck_assert_str_eq(o_url, "ws://env");
	ck_assert_int_eq(load(NULL, env, file), 0);
	ck_assert_int_eq(o_jobs, 20);
	ck_assert_int_eq(load(NULL, vec(NULL), file), 0);
	ck_assert_int_eq(o_jobs, 10);
	ck_assert_str_eq(o_url, "ws://file");
	ck_assert_int_eq(load(NULL, vec(NULL), ""), 0);
	ck_assert_int_eq(o_jobs, 4);
	ck_assert_str_eq(o_url, "ws://localhost:7880");
	/* The last of a repeated flag wins. */
	ck_assert_int_eq(load(vec("--max-jobs=1", "--max-jobs=2", NULL), env, NULL), 0);
	ck_assert_int_eq(o_jobs, 2);
}
END_TEST

START_TEST(test_env_alias)
{
	ck_assert_int_eq(load(NULL, vec("LK_MAX_JOBS=7", NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 7);
	ck_assert_int_eq(
	        load(NULL, vec("LK_MAX_JOBS=7", "LK_MAX_CONCURRENT_JOBS=8", NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 8);
	/* The alias is a config-file key too. */
	ck_assert_int_eq(load(NULL, vec(NULL), "LK_MAX_JOBS=9"), 0);
	ck_assert_int_eq(o_jobs, 9);
	expect_err(NULL, vec("LK_MAX_JOBS=x", NULL), NULL,
	        "LK_MAX_JOBS: expected an integer between 1 and 1000, got \"x\"");
	/* A name that merely starts with a key is a different variable. */
	ck_assert_int_eq(load(NULL, vec("LK_MAX_JOBSX=3", "LK_MAX_JOB=3", NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 4);
}
END_TEST

START_TEST(test_empty_env_is_unset)
{
	/* An empty non-string value counts as unset; an empty string is a value. */
	ck_assert_int_eq(load(NULL, vec("LK_MAX_CONCURRENT_JOBS=", "LIVEKIT_URL=", NULL),
	                         "LK_MAX_CONCURRENT_JOBS=12"),
	        0);
	ck_assert_int_eq(o_jobs, 12);
	ck_assert_str_eq(o_url, "");
}
END_TEST

START_TEST(test_flag_forms)
{
	ck_assert_int_eq(
	        load(vec("--max-jobs", "5", "--url=ws://x:1/a=b", NULL), vec(NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 5);
	ck_assert_str_eq(o_url, "ws://x:1/a=b");
	/* A bare bool flag does not swallow the next argument. */
	ck_assert_int_eq(load(vec("--dry-run", "--max-jobs=6", NULL), vec(NULL), NULL), 0);
	ck_assert_int_eq(o_dry, 1);
	ck_assert_int_eq(o_jobs, 6);
	ck_assert_int_eq(load(vec("--dry-run=false", NULL), vec("LK_DRY_RUN=1", NULL), NULL), 0);
	ck_assert_int_eq(o_dry, 0);
	ck_assert_int_eq(load(vec("--dry-run=YES", NULL), vec(NULL), NULL), 0);
	ck_assert_int_eq(o_dry, 1);
	ck_assert_int_eq(load(NULL, vec("LK_DRY_RUN=on", NULL), NULL), 0);
	ck_assert_int_eq(o_dry, 1);
	ck_assert_int_eq(load(NULL, vec("LK_DRY_RUN=Off", NULL), NULL), 0);
	ck_assert_int_eq(o_dry, 0);
	/* "--dry-run false" leaves "false" as a stray argument. */
	expect_err(
	        vec("--dry-run", "false", NULL), vec(NULL), NULL, "unexpected argument \"false\"");
	/* A string flag takes the next argument even if it looks like a flag. */
	ck_assert_int_eq(load(vec("--api-secret", "--x", NULL), vec(NULL), NULL), 0);
	ck_assert_str_eq(o_secret, "--x");
	ck_assert_int_eq(load(vec("--api-secret=", NULL), vec(NULL), NULL), 0);
	ck_assert_str_eq(o_secret, "");
}
END_TEST

START_TEST(test_unknown_and_stray)
{
	expect_err(vec("--bogus", NULL), vec(NULL), NULL, "unknown flag --bogus");
	expect_err(vec("--bogus=1", NULL), vec(NULL), NULL, "unknown flag --bogus");
	expect_err(vec("--max-job", "3", NULL), vec(NULL), NULL, "unknown flag --max-job");
	expect_err(vec("-v", NULL), vec(NULL), NULL, "unexpected argument \"-v\"");
	expect_err(vec("--", NULL), vec(NULL), NULL, "unexpected argument \"--\"");
	expect_err(vec("--max-jobs", "3", "extra", NULL), vec(NULL), NULL,
	        "unexpected argument \"extra\"");
	expect_err(vec("--max-jobs", NULL), vec(NULL), NULL, "--max-jobs: missing value");
	expect_err(vec("--config", NULL), vec(NULL), NULL, "--config: missing value");
	/* An env-only option has no flag. */
	expect_err(vec("--env-only=3", NULL), vec(NULL), NULL, "unknown flag --env-only");
	/* Unknown environment variables are someone else's business. */
	ck_assert_int_eq(load(NULL, vec("LK_UNRELATED=1", "PATH=/bin", NULL), NULL), 0);
}
END_TEST

START_TEST(test_bad_values_name_the_key)
{
	expect_err(vec("--max-jobs", "abc", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"abc\"");
	expect_err(NULL, vec("LK_MAX_CONCURRENT_JOBS=abc", NULL), NULL,
	        "LK_MAX_CONCURRENT_JOBS: expected an integer between 1 and 1000, got \"abc\"");
	expect_err(NULL, vec(NULL), "# c\n\nLK_MAX_CONCURRENT_JOBS=abc\n",
	        "test.env:3: LK_MAX_CONCURRENT_JOBS: expected an integer between 1 and 1000, "
	        "got \"abc\"");
	expect_err(vec("--max-jobs=0", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"0\"");
	expect_err(vec("--max-jobs=1001", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"1001\"");
	expect_err(vec("--max-jobs=5x", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"5x\"");
	expect_err(vec("--max-jobs= 5", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \" 5\"");
	expect_err(vec("--max-jobs=99999999999999999999", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"99999999999999999999\"");
	expect_err(vec("--max-jobs=", NULL), vec(NULL), NULL,
	        "--max-jobs: expected an integer between 1 and 1000, got \"\"");
	expect_err(NULL, vec("LK_ENV_ONLY=1.5", NULL), NULL,
	        "LK_ENV_ONLY: expected an integer, got \"1.5\"");
	expect_err(vec("--load-threshold=1.5", NULL), vec(NULL), NULL,
	        "--load-threshold: expected a number between 0 and 1, got \"1.5\"");
	expect_err(NULL, vec("LK_LOAD_THRESHOLD=nan", NULL), NULL,
	        "LK_LOAD_THRESHOLD: expected a number between 0 and 1, got \"nan\"");
	expect_err(NULL, vec("LK_LOAD_THRESHOLD=1e999", NULL), NULL,
	        "LK_LOAD_THRESHOLD: expected a number between 0 and 1, got \"1e999\"");
	expect_err(vec("--dry-run=maybe", NULL), vec(NULL), NULL,
	        "--dry-run: expected a boolean (true/false, yes/no, on/off, 1/0), got \"maybe\"");
	expect_err(NULL, vec("LK_DRAIN_TIMEOUT=5x", NULL), NULL,
	        "LK_DRAIN_TIMEOUT: expected a duration between 1s and 1h (e.g. 250ms, 30s, 5m, 1h), "
	        "got \"5x\"");
	expect_err(NULL, vec("LK_DRAIN_TIMEOUT=2h", NULL), NULL,
	        "LK_DRAIN_TIMEOUT: expected a duration between 1s and 1h (e.g. 250ms, 30s, 5m, 1h), "
	        "got \"2h\"");
	expect_err(NULL, vec("LK_DRAIN_TIMEOUT=999ms", NULL), NULL,
	        "LK_DRAIN_TIMEOUT: expected a duration between 1s and 1h (e.g. 250ms, 30s, 5m, 1h), "
	        "got \"999ms\"");
	expect_err(vec("--log-format", "xml", NULL), vec(NULL), NULL,
	        "--log-format: expected one of json|console, got \"xml\"");
}
END_TEST

START_TEST(test_bounds_inclusive_and_values)
{
	ck_assert_int_eq(load(vec("--max-jobs=1", "--load-threshold=0", "--drain-timeout=1s",
	                              "--log-format=CONSOLE", NULL),
	                         vec(NULL), NULL),
	        0);
	ck_assert_int_eq(o_jobs, 1);
	ck_assert_double_eq(o_load, 0.0);
	ck_assert_int_eq(o_drain, 1000);
	ck_assert_int_eq(o_fmt, 1);
	ck_assert_int_eq(
	        load(vec("--max-jobs=1000", "--load-threshold=1", "--drain-timeout=1h", NULL),
	                vec(NULL), NULL),
	        0);
	ck_assert_int_eq(o_jobs, 1000);
	ck_assert_double_eq(o_load, 1.0);
	ck_assert_int_eq(o_drain, 3600000);
	ck_assert_int_eq(
	        load(NULL, vec("LK_ENV_ONLY=-42", "LK_DRAIN_TIMEOUT=1500ms", NULL), NULL), 0);
	ck_assert_int_eq(o_envonly, -42);
	ck_assert_int_eq(o_drain, 1500);
}
END_TEST

START_TEST(test_error_leaves_dst_untouched)
{
	o_jobs = 77;
	o_url = NULL;
	/* max-jobs parses, log-format does not: nothing is stored. */
	ck_assert_int_eq(
	        load(vec("--max-jobs=5", "--url=ws://y", "--log-format=x", NULL), vec(NULL), NULL),
	        -1);
	ck_assert_int_eq(o_jobs, 77);
	ck_assert_ptr_null(o_url);
}
END_TEST

START_TEST(test_secret_never_printed)
{
	static int64_t d;
	static const struct cfg_opt sopt[] = {
	        {.flag = "token-ttl",
	                .env = "LK_TOKEN_TTL",
	                .type = CFG_DURATION,
	                .dst = &d,
	                .secret = 1,
	                .def = "hunter2",
	                .help = "x"},
	};
	char *argv[] = {(char *)"prog", (char *)"--token-ttl=hunter2", NULL};
	char err[256];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(cfg_load(sopt, 1, 2, argv, vec(NULL), err, sizeof(err)), -1);
	ck_assert_ptr_null(strstr(err, "hunter2"));
	ck_assert_ptr_nonnull(strstr(err, "--token-ttl: expected a duration"));
	f = open_memstream(&text, &len);
	cfg_usage(sopt, 1, f);
	fclose(f);
	ck_assert_ptr_null(strstr(text, "hunter2"));
	free(text);
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
	        {"250ms", 250},
	        {"30", 30000},
	        {"30s", 30000},
	        {"5m", 300000},
	        {"1h", 3600000},
	        {"0", 0},
	        {"0ms", 0},
	        {"007s", 7000},
	        {"9223372036854775807ms", INT64_MAX},
	};
	static const char *const bad[] = {"", "-1", "-1s", "+1", " 1", "1 ", "1.5s", "1d", "ms",
	        "s", "1sec", "1S", "1mss", "9223372036854775807s", "99999999999999999999",
	        "2562047788015216h", "1h30m", "0x10"};
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		ck_assert_msg(cfg_parse_duration_ms(good[i].s, &v) == 0, "refused %s", good[i].s);
		ck_assert_int_eq(v, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		ck_assert_msg(cfg_parse_duration_ms(bad[i], &v) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(v, -1);
	}
}
END_TEST

START_TEST(test_bools)
{
	static const char *const t[] = {"1", "true", "TRUE", "yes", "Yes", "on"};
	static const char *const f[] = {"0", "false", "False", "no", "NO", "off"};
	static const char *const bad[] = {"", "2", "y", "n", "enable", "true ", "truex"};
	size_t i;
	int v;

	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(cfg_parse_bool(t[i], &v), 0);
		ck_assert_int_eq(v, 1);
		ck_assert_int_eq(cfg_parse_bool(f[i], &v), 0);
		ck_assert_int_eq(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cfg_parse_bool(bad[i], &v) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_file_syntax)
{
	const char *file = "# a comment\n"
	                   "\n"
	                   "   \t\n"
	                   "export LIVEKIT_URL=\"ws://quoted:7880\"\r\n"
	                   "  LK_MAX_CONCURRENT_JOBS = 12  \n"
	                   "LIVEKIT_API_SECRET='s p a c e'\n"
	                   "LK_LOG_FORMAT=console\n"
	                   "; also a comment\n"
	                   "LK_DRY_RUN=yes"; /* no final newline */

	ck_assert_int_eq(load(NULL, vec(NULL), file), 0);
	ck_assert_str_eq(o_url, "ws://quoted:7880");
	ck_assert_int_eq(o_jobs, 12);
	ck_assert_str_eq(o_secret, "s p a c e");
	ck_assert_int_eq(o_fmt, 1);
	ck_assert_int_eq(o_dry, 1);
	/* An unbalanced quote is kept, so the value is refused, naming the line. */
	expect_err(NULL, vec(NULL), "LK_LOAD_THRESHOLD=\"0.5\n",
	        "test.env:1: LK_LOAD_THRESHOLD: expected a number between 0 and 1, got \"\"0.5\"");
	/* A later line overrides an earlier one. */
	ck_assert_int_eq(load(NULL, vec(NULL), "LK_MAX_JOBS=3\nLK_MAX_JOBS=4\n"), 0);
	ck_assert_int_eq(o_jobs, 4);
}
END_TEST

START_TEST(test_file_errors)
{
	expect_err(NULL, vec(NULL), "LIVEKIT_URL=ws://a\nLK_TYPO=1\n",
	        "test.env:2: unknown key LK_TYPO");
	expect_err(NULL, vec(NULL), "# x\nLK_MAX_JOBS\n", "test.env:2: expected KEY=VALUE");
	expect_err(NULL, vec(NULL), "=5\n", "test.env:1: invalid key \"\"");
	expect_err(NULL, vec(NULL), "1KEY=5\n", "test.env:1: invalid key \"1KEY\"");
	expect_err(NULL, vec(NULL), "LK MAX=5\n", "test.env:1: invalid key \"LK MAX\"");
	ck_assert_int_eq(cfg_load_buf(opts, NOPTS, 0, NULL, vec(NULL), "nul.env", "A=1\0B=2", 7,
	                         errbuf, sizeof(errbuf)),
	        -1);
	ck_assert_str_eq(errbuf, "nul.env: contains a NUL byte");
}
END_TEST

/* Write text to a new temporary file; returns its malloc'd path. */
static char *
tmpfile_with(const char *text)
{
	char *path = strdup("/tmp/check_cfg.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_config_file_on_disk)
{
	char *path = tmpfile_with("LK_MAX_CONCURRENT_JOBS=11\nLK_DRY_RUN=true\n");
	char *flag_eq, msg[600];

	ck_assert_int_eq(load(vec("--config", path, NULL), vec(NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 11);
	ck_assert_int_eq(o_dry, 1);
	/* --config=FILE, and env still beats the file. */
	flag_eq = malloc(strlen(path) + 16);
	sprintf(flag_eq, "--config=%s", path);
	ck_assert_int_eq(load(vec(flag_eq, NULL), vec("LK_MAX_CONCURRENT_JOBS=21", NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 21);
	/* LK_CONFIG names the file when no flag does. */
	sprintf(flag_eq, "LK_CONFIG=%s", path);
	ck_assert_int_eq(load(NULL, vec(flag_eq, NULL), NULL), 0);
	ck_assert_int_eq(o_jobs, 11);
	unlink(path);
	/* A missing file is an error naming it. */
	snprintf(msg, sizeof(msg), "--config %s: No such file or directory", path);
	expect_err(vec("--config", path, NULL), vec(NULL), NULL, msg);
	expect_err(NULL, vec(flag_eq, NULL), NULL, msg);
	free(flag_eq);
	free(path);

	path = tmpfile_with("LIVEKIT_URL=ws://a\nBAD_KEY=1\n");
	snprintf(msg, sizeof(msg), "%s:2: unknown key BAD_KEY", path);
	expect_err(vec("--config", path, NULL), vec(NULL), NULL, msg);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_usage_lines)
{
	char *text = NULL, *p;
	size_t len = 0;
	int lines = 0;
	FILE *f = open_memstream(&text, &len);

	cfg_usage(opts, NOPTS, f);
	fclose(f);
	for (p = text; *p != '\0'; p++)
		lines += *p == '\n';
	/* One line per option plus the --config line. */
	ck_assert_int_eq(lines, (int)NOPTS + 1);
	ck_assert_ptr_nonnull(strstr(text,
	        "--max-jobs N / LK_MAX_CONCURRENT_JOBS (or LK_MAX_JOBS): "
	        "concurrent jobs (default 4)\n"));
	ck_assert_ptr_nonnull(strstr(text, "--dry-run / LK_DRY_RUN: do nothing (default false)\n"));
	ck_assert_ptr_nonnull(strstr(text, "[json|console]"));
	ck_assert_ptr_nonnull(strstr(text, "  LK_ENV_ONLY: no flag (default 5)\n"));
	ck_assert_ptr_nonnull(strstr(text, "--config FILE"));
	free(text);
}
END_TEST

START_TEST(test_free_only_owned)
{
	static char literal[] = "caller's";

	/* A caller's initial pointer that cfg never replaced is not freed. */
	o_secret = literal;
	ck_assert_int_eq(load(NULL, vec(NULL), NULL), 0);
	ck_assert_ptr_eq(o_secret, literal);
	cfg_free(opts, NOPTS);
	ck_assert_ptr_eq(o_secret, literal);
	ck_assert_ptr_null(o_url);
	/* Loading twice frees the first string (the leak checker would see it). */
	ck_assert_int_eq(load(vec("--url=a", NULL), vec(NULL), NULL), 0);
	ck_assert_int_eq(load(vec("--url=b", NULL), vec(NULL), NULL), 0);
	ck_assert_str_eq(o_url, "b");
	o_secret = NULL;
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("cfg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_env_alias);
	tcase_add_test(tc, test_empty_env_is_unset);
	tcase_add_test(tc, test_flag_forms);
	tcase_add_test(tc, test_unknown_and_stray);
	tcase_add_test(tc, test_bad_values_name_the_key);
	tcase_add_test(tc, test_bounds_inclusive_and_values);
	tcase_add_test(tc, test_error_leaves_dst_untouched);
	tcase_add_test(tc, test_secret_never_printed);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_file_syntax);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_config_file_on_disk);
	tcase_add_test(tc, test_usage_lines);
	tcase_add_test(tc, test_free_only_owned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
