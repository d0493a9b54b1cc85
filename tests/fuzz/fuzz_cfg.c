/*
 * fuzz_cfg: feeds arbitrary bytes to the configuration loader, as a
 * --config file (the usual case) or, after a leading "ARGV\n", as
 * newline-separated command-line arguments; and to the value parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *f_str, *f_secret;
static long f_int;
static double f_dbl;
static int f_bool, f_enum;
static int64_t f_dur;
static const char *const f_choices[] = {"json", "console", NULL};

static const struct cfg_opt f_opts[] = {
        {.flag = "url", .env = "LIVEKIT_URL", .type = CFG_STR, .dst = &f_str, .def = "ws://x"},
        {.flag = "max-jobs",
                .env = "LK_MAX_CONCURRENT_JOBS",
                .env_alias = "LK_MAX_JOBS",
                .type = CFG_INT,
                .dst = &f_int,
                .def = "4",
                .min = 1,
                .max = 1000},
        {.flag = "load",
                .env = "LK_LOAD_THRESHOLD",
                .type = CFG_DOUBLE,
                .dst = &f_dbl,
                .def = "0.5",
                .dmin = 0,
                .dmax = 1},
        {.flag = "dry-run", .env = "LK_DRY_RUN", .type = CFG_BOOL, .dst = &f_bool},
        {.flag = "drain",
                .env = "LK_DRAIN_TIMEOUT",
                .type = CFG_DURATION,
                .dst = &f_dur,
                .def = "30s",
                .min = 0,
                .max = 3600000},
        {.flag = "log-format",
                .env = "LK_LOG_FORMAT",
                .type = CFG_ENUM,
                .dst = &f_enum,
                .def = "json",
                .choices = f_choices},
        {.flag = "api-secret",
                .env = "LIVEKIT_API_SECRET",
                .type = CFG_STR,
                .dst = &f_secret,
                .secret = 1},
};
#define F_NOPTS (sizeof(f_opts) / sizeof(f_opts[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *envp[] = {NULL};
	char *argv[33], err[256], *text, *p, *nl;
	int argc = 0, b;
	int64_t ms;

	if (size > 2 * 1024 * 1024)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	cfg_parse_duration_ms(text, &ms);
	cfg_parse_bool(text, &b);

	if (size >= 5 && memcmp(text, "ARGV\n", 5) == 0) {
		argv[argc++] = (char *)"fuzz";
		for (p = text + 5; p != NULL && argc < 32; p = nl) {
			nl = strchr(p, '\n');
			if (nl != NULL)
				*nl++ = '\0';
			argv[argc++] = p;
		}
		argv[argc] = NULL;
		/* With the file text given in memory, --config names no file to open. */
		cfg_load_buf(
		        f_opts, F_NOPTS, argc, argv, envp, "fuzz.env", "", 0, err, sizeof(err));
	} else {
		argv[0] = (char *)"fuzz";
		argv[1] = NULL;
		cfg_load_buf(f_opts, F_NOPTS, 1, argv, envp, "fuzz.env", (const char *)data, size,
		        err, sizeof(err));
	}
	cfg_free(f_opts, F_NOPTS);
	free(text);
	return 0;
}
