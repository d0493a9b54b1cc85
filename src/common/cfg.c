/*
 * cfg: table-driven configuration for every lkworker binary. Precedence:
 * command-line flags > environment > --config FILE (systemd EnvironmentFile
 * KEY=VALUE lines) > defaults. Runs once at start-up; never exits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cfg.h"
#include "common/err.h"

extern char **environ;

/* A config file is a handful of lines; anything bigger is a mistake. */
#define CFG_FILE_MAX (1024 * 1024)

/* Where a value came from, for error messages that name the key. */
struct cfg_src {
	const char *val;
	char where[320];
};

/* A parsed value, held until every option has parsed (all or nothing). */
union cfg_val {
	char *s;
	long l;
	double d;
	int i;
	int64_t ms;
};

/*
 * CFG_STR values cfg_load stored, so cfg_free frees only what cfg owns and
 * never a caller's initial pointer left in place.
 */
static struct {
	char **v;
	size_t n, cap;
} cfg_owned;

void
cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
cfg_parse_duration_ms(const char *s, int64_t *out)
{
	int64_t v = 0, mul;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*p))
		return -1; /* also refuses "", "-5", "+5" and leading spaces */
	while (isdigit((unsigned char)*p)) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		mul = 1000; /* a bare number is seconds */
	else if (strcmp(p, "ms") == 0)
		mul = 1;
	else if (strcmp(p, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mul = 3600 * 1000;
	else
		return -1;
	if (v > INT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
cfg_parse_int(const char *s, long *out)
{
	char *end;
	long long v;

	if (s == NULL || (!isdigit((unsigned char)*s) && *s != '-' && *s != '+'))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < LONG_MIN || v > LONG_MAX)
		return -1;
	*out = (long)v;
	return 0;
}

static int
cfg_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* "1500ms", "30s", "5m", "1h": the largest unit that divides the value. */
static void
cfg_fmt_duration(long long ms, char *out, size_t outlen)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(out, outlen, "%lldh", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(out, outlen, "%lldm", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(out, outlen, "%llds", ms / 1000);
	else
		snprintf(out, outlen, "%lldms", ms);
}

/* Parse one value for opt; on failure write "<where>: expected ..., got ...". */
static int
cfg_parse_value(const struct cfg_opt *o, const struct cfg_src *src, union cfg_val *out, char *err,
        size_t errlen)
{
	char expect[512], a[32], b[32], got[160];
	const char *s = src->val;
	size_t i, len;
	int ok = 0;

	expect[0] = '\0';
	switch (o->type) {
	case CFG_STR:
		out->s = strdup(s);
		if (out->s == NULL) {
			cfg_errf(err, errlen, "%s: out of memory", src->where);
			return -1;
		}
		return 0;
	case CFG_INT:
		ok = cfg_parse_int(s, &out->l) == 0 &&
		        (o->min >= o->max || (out->l >= o->min && out->l <= o->max));
		if (o->min < o->max)
			snprintf(expect, sizeof(expect), "an integer between %lld and %lld", o->min,
			        o->max);
		else
			snprintf(expect, sizeof(expect), "an integer");
		break;
	case CFG_DOUBLE:
		ok = cfg_parse_double(s, &out->d) == 0 &&
		        (o->dmin >= o->dmax || (out->d >= o->dmin && out->d <= o->dmax));
		if (o->dmin < o->dmax)
			snprintf(expect, sizeof(expect), "a number between %g and %g", o->dmin,
			        o->dmax);
		else
			snprintf(expect, sizeof(expect), "a number");
		break;
	case CFG_BOOL:
		ok = cfg_parse_bool(s, &out->i) == 0;
		snprintf(expect, sizeof(expect), "a boolean (true/false, yes/no, on/off, 1/0)");
		break;
	case CFG_DURATION:
		ok = cfg_parse_duration_ms(s, &out->ms) == 0 &&
		        (o->min >= o->max || (out->ms >= o->min && out->ms <= o->max));
		if (o->min < o->max) {
			cfg_fmt_duration(o->min, a, sizeof(a));
			cfg_fmt_duration(o->max, b, sizeof(b));
			snprintf(expect, sizeof(expect),
			        "a duration between %s and %s (e.g. 250ms, 30s, 5m, 1h)", a, b);
		} else {
			snprintf(expect, sizeof(expect), "a duration (e.g. 250ms, 30s, 5m, 1h)");
		}
		break;
	case CFG_ENUM:
		snprintf(expect, sizeof(expect), "one of ");
		for (i = 0; o->choices != NULL && o->choices[i] != NULL; i++) {
			if (!ok && strcasecmp(s, o->choices[i]) == 0) {
				out->i = (int)i;
				ok = 1;
			}
			len = strlen(expect);
			snprintf(expect + len, sizeof(expect) - len, "%s%s", i ? "|" : "",
			        o->choices[i]);
		}
		break;
	}
	if (ok)
		return 0;
	if (o->secret)
		snprintf(got, sizeof(got), "(value hidden)");
	else if (strlen(s) > 100)
		snprintf(got, sizeof(got), "\"%.100s...\"", s);
	else
		snprintf(got, sizeof(got), "\"%s\"", s);
	cfg_errf(err, errlen, "%s: expected %s, got %s", src->where, expect, got);
	return -1;
}

static const char *
cfg_env_get(char **envp, const char *key)
{
	size_t klen;
	char **e;

	if (key == NULL)
		return NULL;
	klen = strlen(key);
	for (e = envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
			return *e + klen + 1;
	return NULL;
}

static int
cfg_find_key(const struct cfg_opt *opts, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((opts[i].env != NULL && strcmp(opts[i].env, key) == 0) ||
		        (opts[i].env_alias != NULL && strcmp(opts[i].env_alias, key) == 0))
			return (int)i;
	return -1;
}

static int
cfg_valid_key(const char *k)
{
	if (!(isalpha((unsigned char)*k) || *k == '_'))
		return 0;
	for (k++; *k != '\0'; k++)
		if (!(isalnum((unsigned char)*k) || *k == '_'))
			return 0;
	return 1;
}

static char *
cfg_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Parse EnvironmentFile text into fvals[] (strdup'd, last line wins) and
 * fsrc[] (file:line: KEY). Unknown keys are errors: a typo must not pass
 * silently.
 */
static int
cfg_parse_text(const struct cfg_opt *opts, size_t n, const char *name, const char *data, size_t len,
        char **fvals, struct cfg_src *fsrc, char *err, size_t errlen)
{
	char *text, *line, *next, *eq, *key, *val;
	size_t vlen;
	int lineno = 0, idx, rc = -1;

	if (len > CFG_FILE_MAX) {
		cfg_errf(err, errlen, "%s: larger than %d bytes", name, CFG_FILE_MAX);
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		cfg_errf(err, errlen, "%s: contains a NUL byte", name);
		return -1;
	}
	text = malloc(len + 1);
	if (text == NULL) {
		cfg_errf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(text, data, len);
	text[len] = '\0';
	for (line = text; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line = cfg_trim(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (strncmp(line, "export", 6) == 0 && (line[6] == ' ' || line[6] == '\t'))
			line = cfg_trim(line + 7);
		eq = strchr(line, '=');
		if (eq == NULL) {
			cfg_errf(err, errlen, "%s:%d: expected KEY=VALUE", name, lineno);
			goto out;
		}
		*eq = '\0';
		key = cfg_trim(line);
		val = cfg_trim(eq + 1);
		if (!cfg_valid_key(key)) {
			cfg_errf(err, errlen, "%s:%d: invalid key \"%.64s\"", name, lineno, key);
			goto out;
		}
		idx = cfg_find_key(opts, n, key);
		if (idx < 0) {
			cfg_errf(err, errlen, "%s:%d: unknown key %s", name, lineno, key);
			goto out;
		}
		/* Optional surrounding quotes, as systemd's EnvironmentFile allows. */
		vlen = strlen(val);
		if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') && val[vlen - 1] == val[0]) {
			val[vlen - 1] = '\0';
			val++;
		}
		free(fvals[idx]);
		fvals[idx] = strdup(val);
		if (fvals[idx] == NULL) {
			cfg_errf(err, errlen, "%s: out of memory", name);
			goto out;
		}
		snprintf(fsrc[idx].where, sizeof(fsrc[idx].where), "%.200s:%d: %s", name, lineno,
		        key);
	}
	rc = 0;
out:
	free(text);
	return rc;
}

static int
cfg_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *p;
	size_t n;

	if (f == NULL) {
		cfg_errf(err, errlen, "--config %s: %s", path, strerror(errno));
		return -1;
	}
	/* One byte more than the limit tells "too big" from "exactly at it". */
	p = malloc(CFG_FILE_MAX + 1);
	if (p == NULL) {
		fclose(f);
		cfg_errf(err, errlen, "--config %s: out of memory", path);
		return -1;
	}
	n = fread(p, 1, CFG_FILE_MAX + 1, f);
	if (ferror(f)) {
		cfg_errf(err, errlen, "--config %s: read error", path);
		fclose(f);
		free(p);
		return -1;
	}
	fclose(f);
	*data = p;
	*len = n;
	return 0;
}

static int
cfg_own(char *s)
{
	char **v;

	if (cfg_owned.n == cfg_owned.cap) {
		size_t cap = cfg_owned.cap ? cfg_owned.cap * 2 : 16;

		v = realloc(cfg_owned.v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		cfg_owned.v = v;
		cfg_owned.cap = cap;
	}
	cfg_owned.v[cfg_owned.n++] = s;
	return 0;
}

/* Forget s as owned; 1 if it was. */
static int
cfg_disown(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < cfg_owned.n; i++) {
		if (cfg_owned.v[i] == s) {
			cfg_owned.v[i] = cfg_owned.v[--cfg_owned.n];
			return 1;
		}
	}
	return 0;
}

static const struct cfg_opt *
cfg_find_flag(const struct cfg_opt *opts, size_t n, const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (opts[i].flag != NULL && strlen(opts[i].flag) == nlen &&
		        strncmp(opts[i].flag, name, nlen) == 0)
			return &opts[i];
	return NULL;
}

static int
cfg_load_impl(const struct cfg_opt *opts, size_t n, int argc, char **argv, char **envp,
        const char *buf_name, const char *buf, size_t buf_len, char *err, size_t errlen)
{
	struct cfg_src *flag_src = NULL, *fsrc = NULL, src;
	union cfg_val *vals = NULL;
	char **fvals = NULL, *fdata = NULL;
	const char *cfg_path = NULL, *arg, *eq, *v;
	const struct cfg_opt *o;
	unsigned char *have = NULL;
	size_t i, nlen, flen = 0;
	int k, rc = -1, has_config_opt;

	if (envp == NULL)
		envp = environ;
	flag_src = calloc(n ? n : 1, sizeof(*flag_src));
	fsrc = calloc(n ? n : 1, sizeof(*fsrc));
	vals = calloc(n ? n : 1, sizeof(*vals));
	fvals = calloc(n ? n : 1, sizeof(*fvals));
	have = calloc(n ? n : 1, 1);
	if (flag_src == NULL || fsrc == NULL || vals == NULL || fvals == NULL || have == NULL) {
		cfg_errf(err, errlen, "configuration: out of memory");
		goto out;
	}
	has_config_opt = cfg_find_flag(opts, n, "config", 6) != NULL;

	/* 1. Flags: "--name value", "--name=value", or a bare "--name" for a bool. */
	for (k = 1; k < argc; k++) {
		arg = argv[k];
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			cfg_errf(err, errlen, "unexpected argument \"%.200s\"", arg);
			goto out;
		}
		eq = strchr(arg + 2, '=');
		nlen = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
		o = cfg_find_flag(opts, n, arg + 2, nlen);
		if (o == NULL && !(nlen == 6 && strncmp(arg + 2, "config", 6) == 0)) {
			cfg_errf(err, errlen, "unknown flag --%.*s", (int)(nlen > 200 ? 200 : nlen),
			        arg + 2);
			goto out;
		}
		if (eq != NULL) {
			v = eq + 1;
		} else if (o != NULL && o->type == CFG_BOOL) {
			v = "true";
		} else if (k + 1 < argc) {
			v = argv[++k];
		} else {
			cfg_errf(err, errlen, "--%.*s: missing value",
			        (int)(nlen > 200 ? 200 : nlen), arg + 2);
			goto out;
		}
		if (o == NULL) {
			cfg_path = v;
			continue;
		}
		i = (size_t)(o - opts);
		flag_src[i].val = v;
		snprintf(flag_src[i].where, sizeof(flag_src[i].where), "--%s", o->flag);
	}
	if (cfg_path == NULL && !has_config_opt)
		cfg_path = cfg_env_get(envp, "LK_CONFIG");
	if (cfg_path != NULL && *cfg_path == '\0')
		cfg_path = NULL;

	/* 2. The config file (lowest source above defaults). */
	if (buf != NULL) {
		if (cfg_parse_text(opts, n, buf_name, buf, buf_len, fvals, fsrc, err, errlen) < 0)
			goto out;
	} else if (cfg_path != NULL) {
		if (cfg_read_file(cfg_path, &fdata, &flen, err, errlen) < 0)
			goto out;
		if (cfg_parse_text(opts, n, cfg_path, fdata, flen, fvals, fsrc, err, errlen) < 0)
			goto out;
	}

	/* 3. Pick each option's source by precedence and parse it. */
	for (i = 0; i < n; i++) {
		o = &opts[i];
		src.val = NULL;
		if (flag_src[i].val != NULL) {
			src = flag_src[i];
		} else if ((v = cfg_env_get(envp, o->env)) != NULL &&
		        (*v != '\0' || o->type == CFG_STR)) {
			src.val = v;
			snprintf(src.where, sizeof(src.where), "%s", o->env);
		} else if ((v = cfg_env_get(envp, o->env_alias)) != NULL &&
		        (*v != '\0' || o->type == CFG_STR)) {
			src.val = v;
			snprintf(src.where, sizeof(src.where), "%s", o->env_alias);
		} else if (fvals[i] != NULL && (fvals[i][0] != '\0' || o->type == CFG_STR)) {
			src = fsrc[i];
			src.val = fvals[i];
		} else if (o->def != NULL) {
			src.val = o->def;
			snprintf(src.where, sizeof(src.where), "default of %s",
			        o->flag          ? o->flag
			                : o->env ? o->env
			                         : "option");
		}
		if (src.val == NULL)
			continue; /* leave dst untouched */
		if (cfg_parse_value(o, &src, &vals[i], err, errlen) < 0)
			goto out;
		have[i] = 1;
	}

	/* 4. Every value parsed: store them all. */
	for (i = 0; i < n; i++) {
		if (!have[i])
			continue;
		o = &opts[i];
		switch (o->type) {
		case CFG_STR: {
			char **dst = o->dst;

			if (cfg_own(vals[i].s) < 0) {
				cfg_errf(err, errlen, "configuration: out of memory");
				goto out;
			}
			if (cfg_disown(*dst))
				free(*dst);
			*dst = vals[i].s;
			vals[i].s = NULL;
			have[i] = 0;
			break;
		}
		case CFG_INT:
			*(long *)o->dst = vals[i].l;
			break;
		case CFG_DOUBLE:
			*(double *)o->dst = vals[i].d;
			break;
		case CFG_BOOL:
		case CFG_ENUM:
			*(int *)o->dst = vals[i].i;
			break;
		case CFG_DURATION:
			*(int64_t *)o->dst = vals[i].ms;
			break;
		}
	}
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		if (fvals != NULL)
			free(fvals[i]);
		if (have != NULL && vals != NULL && have[i] && opts[i].type == CFG_STR)
			free(vals[i].s);
	}
	free(flag_src);
	free(fsrc);
	free(vals);
	free(fvals);
	free(have);
	free(fdata);
	return rc;
}

int
cfg_load(const struct cfg_opt *opts, size_t n, int argc, char **argv, char **envp, char *err,
        size_t errlen)
{
	return cfg_load_impl(opts, n, argc, argv, envp, NULL, NULL, 0, err, errlen);
}

int
cfg_load_buf(const struct cfg_opt *opts, size_t n, int argc, char **argv, char **envp,
        const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	return cfg_load_impl(opts, n, argc, argv, envp, name ? name : "config", data ? data : "",
	        len, err, errlen);
}

static const char *
cfg_metavar(enum cfg_type t)
{
	switch (t) {
	case CFG_STR:
		return " STR";
	case CFG_INT:
		return " N";
	case CFG_DOUBLE:
		return " X";
	case CFG_BOOL:
		return "";
	case CFG_DURATION:
		return " DUR";
	case CFG_ENUM:
		return " CHOICE";
	}
	return "";
}

void
cfg_usage(const struct cfg_opt *opts, size_t n, FILE *out)
{
	const struct cfg_opt *o;
	size_t i, j;

	for (i = 0; i < n; i++) {
		o = &opts[i];
		fprintf(out, " ");
		if (o->flag != NULL)
			fprintf(out, " --%s%s", o->flag, cfg_metavar(o->type));
		if (o->flag != NULL && o->env != NULL)
			fprintf(out, " /");
		if (o->env != NULL)
			fprintf(out, " %s", o->env);
		if (o->env_alias != NULL)
			fprintf(out, " (or %s)", o->env_alias);
		fprintf(out, ": %s", o->help ? o->help : "");
		if (o->type == CFG_ENUM && o->choices != NULL) {
			fprintf(out, " [");
			for (j = 0; o->choices[j] != NULL; j++)
				fprintf(out, "%s%s", j ? "|" : "", o->choices[j]);
			fprintf(out, "]");
		}
		if (o->def != NULL)
			fprintf(out, " (default %s)", o->secret ? "hidden" : o->def);
		fprintf(out, "\n");
	}
	if (cfg_find_flag(opts, n, "config", 6) == NULL)
		fprintf(out,
		        "  --config FILE / LK_CONFIG: read KEY=VALUE lines (below the "
		        "environment in precedence)\n");
}

void
cfg_free(const struct cfg_opt *opts, size_t n)
{
	size_t i;
	char **dst;

	for (i = 0; i < n; i++) {
		if (opts[i].type != CFG_STR || opts[i].dst == NULL)
			continue;
		dst = opts[i].dst;
		if (cfg_disown(*dst)) {
			free(*dst);
			*dst = NULL;
		}
	}
	if (cfg_owned.n == 0) {
		free(cfg_owned.v);
		cfg_owned.v = NULL;
		cfg_owned.cap = 0;
	}
}
