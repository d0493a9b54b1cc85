/*
 * config: lk-supervisor's option table, its checks and derived values (agent
 * URL, HTTP address, job process path). Runs in lk-supervisor at start-up;
 * a bad value is reported with the key that carried it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/config.h"
#include "supervisor/load.h"

#define SUP_AGENT_PATH "/agent"
#define SUP_SCRIPT_MAX 64
/* Metadata larger than this is the application's, never a script choice. */
#define SUP_METADATA_JSON_MAX 65536

/* LK_JOB_TYPE: the proto names first; index % 3 is the JobType value. */
static const char *const sup_job_types[] = {
        "JT_ROOM",
        "JT_PUBLISHER",
        "JT_PARTICIPANT",
        "room",
        "publisher",
        "participant",
        NULL,
};
/* LK_LOG_LEVEL: the index is the enum log_level; "warning" (4) folds into warn. */
static const char *const sup_log_level_choices[] = {
        "debug",
        "info",
        "warn",
        "error",
        "warning",
        NULL,
};
static const char *const sup_log_formats[] = {"json", "console", NULL};

long
sup_config_default_idle(void)
{
	unsigned n = sup_load_nproc();

	/* min(CPUs, 4), as the Python pool sizes its prewarmed set. */
	return n < 4 ? (long)n : 4;
}

const char *
sup_config_job_type_name(int job_type)
{
	if (job_type >= 0 && job_type < 3)
		return sup_job_types[job_type];
	return "JT_ROOM";
}

static void
sup_config_add(struct sup_config *c, const char *flag, const char *env, const char *alias,
        enum cfg_type type, void *dst, const char *def, const char *help)
{
	struct cfg_opt *o;

	if (c->nopts >= SUP_CFG_MAX_OPTS)
		abort(); /* the table below is fixed: a programming error, caught by the first run
		          */
	o = &c->opts[c->nopts++];
	memset(o, 0, sizeof(*o));
	o->flag = flag;
	o->env = env;
	o->env_alias = alias;
	o->type = type;
	o->dst = dst;
	o->def = def;
	o->help = help;
}

static void
sup_config_bounds(struct sup_config *c, long long min, long long max)
{
	c->opts[c->nopts - 1].min = min;
	c->opts[c->nopts - 1].max = max;
}

static void
sup_config_table(struct sup_config *c)
{
	const long long s = 1000, day = 86400 * s;

	c->nopts = 0;
	snprintf(c->num_idle_def, sizeof(c->num_idle_def), "%ld", sup_config_default_idle());

	sup_config_add(c, "url", "LIVEKIT_URL", NULL, CFG_STR, &c->url, "ws://127.0.0.1:7880",
	        "LiveKit server URL (ws, wss, http or https)");
	sup_config_add(c, "api-key", "LIVEKIT_API_KEY", NULL, CFG_STR, &c->api_key, "",
	        "API key that signs the worker token");
	sup_config_add(c, "api-secret", "LIVEKIT_API_SECRET", NULL, CFG_STR, &c->api_secret, "",
	        "API secret");
	c->opts[c->nopts - 1].secret = 1;
	sup_config_add(c, "agent-name", "LIVEKIT_AGENT_NAME", "LK_AGENT_NAME", CFG_STR,
	        &c->agent_name, "", "agent name to register (empty = automatic dispatch)");
	sup_config_add(c, "namespace", "LK_NAMESPACE", NULL, CFG_STR, &c->namespace_, "",
	        "worker namespace (sent only when set)");
	sup_config_add(c, "job-type", "LK_JOB_TYPE", NULL, CFG_ENUM, &c->raw_job_type, "JT_ROOM",
	        "job type this worker registers for");
	c->opts[c->nopts - 1].choices = sup_job_types;
	sup_config_add(c, "max-jobs", "LK_MAX_CONCURRENT_JOBS", NULL, CFG_INT, &c->max_jobs, "8",
	        "most jobs run at once");
	sup_config_bounds(c, 1, 10000);
	sup_config_add(c, "num-idle", "LK_NUM_IDLE", NULL, CFG_INT, &c->num_idle, c->num_idle_def,
	        "prewarmed idle job processes, min(CPUs, 4) by default");
	sup_config_bounds(c, 0, 256);
	sup_config_add(c, "load-threshold", "LK_LOAD_THRESHOLD", NULL, CFG_DOUBLE,
	        &c->load_threshold, "0.7", "refuse jobs at or above this CPU load (0..1)");
	c->opts[c->nopts - 1].dmin = 0.01;
	c->opts[c->nopts - 1].dmax = 1000.0;
	sup_config_add(c, "script", "LK_SCRIPT", NULL, CFG_STR, &c->script, "noop",
	        "script every job runs");
	sup_config_add(c, "script-args", "LK_SCRIPT_ARGS", NULL, CFG_STR, &c->script_args, "",
	        "arguments for the script");
	sup_config_add(c, "script-from-metadata", "LK_SCRIPT_FROM_METADATA", NULL, CFG_BOOL,
	        &c->script_from_metadata, "0",
	        "take script and script_args from the job's JSON metadata when present");
	sup_config_add(c, "http-addr", "LK_HTTP_ADDR", NULL, CFG_STR, &c->http_addr,
	        "127.0.0.1:8081",
	        "health/metrics address: host:port, :port, port, or off (port 0 = any)");
	sup_config_add(c, "drain-timeout", "LK_DRAIN_TIMEOUT", NULL, CFG_DURATION,
	        &c->drain_timeout_ms, "3600s", "how long SIGTERM waits for running jobs");
	sup_config_bounds(c, 0, 7 * day);
	sup_config_add(c, "job-timeout", "LK_JOB_TIMEOUT", NULL, CFG_DURATION, &c->job_timeout_ms,
	        "0", "longest a job may run (0 = no limit)");
	sup_config_bounds(c, 0, 30 * day);
	sup_config_add(c, "ping-timeout", "LK_PING_TIMEOUT", NULL, CFG_DURATION,
	        &c->ping_timeout_ms, "60s",
	        "kill a job process that answers no ping for this long");
	sup_config_bounds(c, 100, 3600 * s);
	sup_config_add(c, "close-timeout", "LK_CLOSE_TIMEOUT", NULL, CFG_DURATION,
	        &c->close_timeout_ms, "10s", "wait after SHUTDOWN before SIGTERM");
	sup_config_bounds(c, 0, 3600 * s);
	sup_config_add(c, "job-memory-warn-mb", "LK_JOB_MEMORY_WARN_MB", NULL, CFG_INT,
	        &c->mem_warn_mb, "1000", "warn when a job process uses more (0 = off)");
	sup_config_bounds(c, 0, 1 << 20);
	sup_config_add(c, "job-memory-limit-mb", "LK_JOB_MEMORY_LIMIT_MB", NULL, CFG_INT,
	        &c->mem_limit_mb, "0", "kill a job process that uses more (0 = off)");
	sup_config_bounds(c, 0, 1 << 20);
	sup_config_add(c, "log-level", "LK_LOG_LEVEL", "LIVEKIT_LOG_LEVEL", CFG_ENUM,
	        &c->raw_log_level, "info", "log verbosity");
	c->opts[c->nopts - 1].choices = sup_log_level_choices;
	sup_config_add(c, "log-format", "LK_LOG_FORMAT", NULL, CFG_ENUM, &c->log_format, "json",
	        "log line format");
	c->opts[c->nopts - 1].choices = sup_log_formats;
	sup_config_add(c, "jobproc", "LK_JOBPROC", NULL, CFG_STR, &c->jobproc, "",
	        "path of lk-jobproc (default: beside lk-supervisor)");
	sup_config_add(c, "dry-run", NULL, NULL, CFG_BOOL, &c->dry_run, "0",
	        "check the configuration and exit");
	sup_config_add(c, "healthz", NULL, NULL, CFG_BOOL, &c->healthz, "0",
	        "connect, register once and exit 0 on success, 1 on failure");
	sup_config_add(
	        c, "version", NULL, NULL, CFG_BOOL, &c->version, "0", "print the version and exit");
	sup_config_add(c, "help", NULL, NULL, CFG_BOOL, &c->help, "0", "print this help and exit");
}

int
sup_config_ws_url(const char *url, const char *suffix, char **out)
{
	const char *rest, *scheme, *q;
	size_t hostlen, pathlen, n;
	char *s;

	*out = NULL;
	if (strncasecmp(url, "ws://", 5) == 0) {
		scheme = "ws://";
		rest = url + 5;
	} else if (strncasecmp(url, "wss://", 6) == 0) {
		scheme = "wss://";
		rest = url + 6;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		scheme = "ws://";
		rest = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		scheme = "wss://";
		rest = url + 8;
	} else {
		return -1;
	}
	hostlen = strcspn(rest, "/?#");
	if (hostlen == 0)
		return -1;
	for (n = 0; n < hostlen; n++) {
		if (isspace((unsigned char)rest[n]) || rest[n] == '@')
			return -1;
	}
	/* The path ends at the query; trailing slashes go before "/agent" is added. */
	q = rest + hostlen + strcspn(rest + hostlen, "?#");
	pathlen = (size_t)(q - (rest + hostlen));
	while (pathlen > 0 && rest[hostlen + pathlen - 1] == '/')
		pathlen--;
	n = strlen(scheme) + hostlen + pathlen + strlen(suffix) + strlen(q) + 1;
	s = lk_xmalloc(n);
	snprintf(s, n, "%s%.*s%.*s%s%s", scheme, (int)hostlen, rest, (int)pathlen, rest + hostlen,
	        suffix, *q == '?' ? q : "");
	*out = s;
	return 0;
}

static int
sup_config_parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (*s == '\0' || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
sup_config_parse_http_addr(const char *s, int *enabled, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;
	char buf[64];
	unsigned char tmp[16];
	size_t n;

	*enabled = 1;
	if (strcasecmp(s, "off") == 0 || strcasecmp(s, "none") == 0) {
		*enabled = 0;
		lk_strlcpy(host, "", hostlen);
		*port = 0;
		return 0;
	}
	if (strchr(s, ':') == NULL) {
		/* A bare port listens on loopback only. */
		lk_strlcpy(host, "127.0.0.1", hostlen);
		return sup_config_parse_port(s, port);
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, tmp) != 1)
			return -1;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		n = (size_t)(colon - s);
		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (n == 0) {
			/* ":port" means every interface, like the Python worker's host "". */
			lk_strlcpy(buf, "0.0.0.0", sizeof(buf));
		} else if (strcasecmp(buf, "localhost") == 0) {
			lk_strlcpy(buf, "127.0.0.1", sizeof(buf));
		} else if (inet_pton(AF_INET, buf, tmp) != 1) {
			return -1;
		}
	}
	if (strlen(buf) >= hostlen)
		return -1;
	lk_strlcpy(host, buf, hostlen);
	return sup_config_parse_port(colon + 1, port);
}

int
sup_config_valid_script(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SUP_SCRIPT_MAX)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	}
	return 1;
}

static char *
sup_config_default_jobproc(void)
{
	char self[PATH_MAX], *slash, *out;
	ssize_t n;
	size_t len;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return lk_xstrdup("lk-jobproc");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return lk_xstrdup("lk-jobproc");
	slash[1] = '\0';
	len = strlen(self) + sizeof("lk-jobproc");
	out = lk_xmalloc(len);
	snprintf(out, len, "%slk-jobproc", self);
	return out;
}

int
sup_config_load(struct sup_config *c, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	sup_config_table(c);
	if (cfg_load(c->opts, c->nopts, argc, argv, envp, err, errlen) != 0)
		return -1;

	c->job_type = c->raw_job_type % 3;
	c->log_level = c->raw_log_level == 4 ? LOG_WARN : c->raw_log_level;

	if (sup_config_ws_url(c->url, SUP_AGENT_PATH, &c->agent_url) != 0 ||
	        sup_config_ws_url(c->url, "", &c->room_url) != 0) {
		cfg_errf(err, errlen,
		        "invalid LIVEKIT_URL (--url) \"%s\": want ws://, wss://, http:// or https:// "
		        "followed by a host",
		        c->url);
		return -1;
	}
	if (sup_config_parse_http_addr(c->http_addr, &c->http_enabled, c->http_host,
	            sizeof(c->http_host), &c->http_port) != 0) {
		cfg_errf(err, errlen,
		        "invalid LK_HTTP_ADDR (--http-addr) \"%s\": want host:port, [v6]:port, :port, "
		        "port or off, with a numeric address",
		        c->http_addr);
		return -1;
	}
	if (!sup_config_valid_script(c->script)) {
		cfg_errf(err, errlen,
		        "invalid LK_SCRIPT (--script) \"%s\": want a script name of letters, digits, "
		        "'-', '_' or '.'",
		        c->script);
		return -1;
	}
	if (strlen(c->agent_name) > 256) {
		cfg_errf(err, errlen,
		        "invalid LIVEKIT_AGENT_NAME (--agent-name): longer "
		        "than 256 bytes");
		return -1;
	}
	c->jobproc_path =
	        c->jobproc[0] != '\0' ? lk_xstrdup(c->jobproc) : sup_config_default_jobproc();
	return 0;
}

int
sup_config_pick_script(const char *metadata, const char *def_script, const char *def_args,
        char *script, size_t scriptlen, char *args, size_t argslen, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *s, *v;
	size_t n;

	lk_strlcpy(script, def_script, scriptlen);
	lk_strlcpy(args, def_args != NULL ? def_args : "", argslen);
	if (metadata == NULL || metadata[0] == '\0')
		return 0;
	n = strlen(metadata);
	if (n > SUP_METADATA_JSON_MAX)
		return 0; /* not ours to parse: far larger than any script choice */
	root = json_loadb(metadata, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return 0; /* plain-text metadata is the application's, not a script choice */
	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	s = json_object_get(root, "script");
	if (s != NULL) {
		if (!json_is_string(s) || !sup_config_valid_script(json_string_value(s)) ||
		        strlen(json_string_value(s)) >= scriptlen) {
			snprintf(err, errlen, "job metadata names an invalid script");
			json_decref(root);
			return -1;
		}
		lk_strlcpy(script, json_string_value(s), scriptlen);
	}
	v = json_object_get(root, "script_args");
	if (v != NULL) {
		/* Bounded by the caller's buffer (jansson refuses \u0000 by default). */
		if (!json_is_string(v) || json_string_length(v) >= argslen) {
			snprintf(err, errlen, "job metadata has invalid script_args");
			json_decref(root);
			return -1;
		}
		lk_strlcpy(args, json_string_value(v), argslen);
	}
	json_decref(root);
	return 0;
}

int
sup_config_check_runtime(const struct sup_config *c, int need_jobproc, char *err, size_t errlen)
{
	struct stat st;

	if (c->api_key == NULL || c->api_key[0] == '\0') {
		cfg_errf(err, errlen, "LIVEKIT_API_KEY (--api-key) is required");
		return -1;
	}
	if (c->api_secret == NULL || c->api_secret[0] == '\0') {
		cfg_errf(err, errlen, "LIVEKIT_API_SECRET (--api-secret) is required");
		return -1;
	}
	if (!need_jobproc)
		return 0;
	if (stat(c->jobproc_path, &st) != 0) {
		cfg_errf(err, errlen, "invalid LK_JOBPROC (--jobproc) \"%s\": %s", c->jobproc_path,
		        strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(c->jobproc_path, X_OK) != 0) {
		cfg_errf(err, errlen,
		        "invalid LK_JOBPROC (--jobproc) \"%s\": not an executable file",
		        c->jobproc_path);
		return -1;
	}
	return 0;
}

void
sup_config_usage(struct sup_config *c, FILE *out)
{
	if (c->nopts == 0)
		sup_config_table(c);
	fprintf(out,
	        "usage: lk-supervisor [--flag value]... [--config FILE]\n"
	        "Flags override the environment, which overrides --config FILE, which "
	        "overrides the defaults.\n\n");
	cfg_usage(c->opts, c->nopts, out);
}

void
sup_config_free(struct sup_config *c)
{
	if (c->nopts > 0)
		cfg_free(c->opts, c->nopts);
	free(c->agent_url);
	c->agent_url = NULL;
	free(c->room_url);
	c->room_url = NULL;
	free(c->jobproc_path);
	c->jobproc_path = NULL;
	c->nopts = 0;
}
