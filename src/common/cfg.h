/*
 * cfg: table-driven configuration with one precedence rule for every binary:
 * command-line flags > environment > --config FILE (KEY=VALUE lines, the
 * systemd EnvironmentFile format) > defaults. A bad value is refused with a
 * message that names the key (flag or variable) and the expected form.
 */
#ifndef LK_CFG_H
#define LK_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type {
	CFG_STR, /* dst: char ** (owned by cfg; free with cfg_free) */
	CFG_INT, /* dst: long *; bounded by [min, max] when min < max */
	CFG_DOUBLE, /* dst: double *; bounded by [dmin, dmax] when dmin < dmax */
	CFG_BOOL, /* dst: int *; flag without value = 1; accepts 1/0/true/false/yes/no/on/off */
	CFG_DURATION, /* dst: int64_t * in ms; accepts "250ms", "30", "30s", "5m", "1h" (bare =
	                 seconds) */
	CFG_ENUM, /* dst: int * index into choices (case-insensitive match) */
};

struct cfg_opt {
	const char *flag; /* long flag without dashes ("max-jobs"), or NULL */
	const char *env; /* environment / config-file key ("LK_MAX_CONCURRENT_JOBS"), or NULL */
	const char *env_alias; /* second accepted environment key, or NULL */
	enum cfg_type type;
	void *dst;
	const char *def; /* default in text form, NULL = leave dst untouched */
	long long min, max; /* CFG_INT (units) and CFG_DURATION (ms) */
	double dmin, dmax; /* CFG_DOUBLE */
	const char *const *choices; /* CFG_ENUM: NULL-terminated */
	int secret; /* value never printed */
	const char *help;
};

/*
 * Fill every dst from the sources in precedence order. `--config FILE` is
 * recognised among argv (and the LK_CONFIG environment key). envp may be
 * NULL (then the process environment is used). Returns 0, or -1 with a
 * human message in err naming the key.
 */
int cfg_load(const struct cfg_opt *opts, size_t n, int argc, char **argv, char **envp, char *err,
        size_t errlen);

/*
 * cfg_load with the config file's text given in memory instead of read
 * from --config / LK_CONFIG (name is used in messages as "name:line").
 * For tests and fuzzing.
 */
int cfg_load_buf(const struct cfg_opt *opts, size_t n, int argc, char **argv, char **envp,
        const char *name, const char *data, size_t len, char *err, size_t errlen);

/* Print "--flag / ENV: help (default X)" lines for --help. */
void cfg_usage(const struct cfg_opt *opts, size_t n, FILE *out);

/* Free CFG_STR values that cfg_load stored. */
void cfg_free(const struct cfg_opt *opts, size_t n);

/* printf into a caller's error buffer (nothing when err is NULL or errlen 0). */
void cfg_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse helpers, also used by the table (0 or -1). */
int cfg_parse_duration_ms(const char *s, int64_t *out);
int cfg_parse_bool(const char *s, int *out);

#endif
