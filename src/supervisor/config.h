/*
 * config: lk-supervisor's settings (flags > environment > --config FILE >
 * defaults, through src/common/cfg) and the checks and derived values built
 * from them: the agent WebSocket URL, the HTTP listen address, the job
 * process path. Runs in lk-supervisor at start-up.
 */
#ifndef LK_SUP_CONFIG_H
#define LK_SUP_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"

#define SUP_CFG_MAX_OPTS 48

struct sup_config {
	char *url; /* LIVEKIT_URL as given (ws/wss/http/https) */
	char *api_key;
	char *api_secret; /* never logged */
	char *agent_name;
	char *namespace_; /* "" = not sent */
	int job_type; /* livekit_agent.proto JobType: 0 JT_ROOM, 1 JT_PUBLISHER, 2 JT_PARTICIPANT */
	long max_jobs;
	long num_idle;
	double load_threshold;
	char *script;
	char *script_args;
	int script_from_metadata; /* job metadata {"script","script_args"} picks the script */
	char *http_addr;
	int64_t drain_timeout_ms;
	int64_t job_timeout_ms;
	int64_t ping_timeout_ms;
	int64_t close_timeout_ms;
	long mem_warn_mb;
	long mem_limit_mb;
	int log_level; /* enum log_level */
	int log_format; /* enum log_format */
	char *jobproc; /* as given; "" = lk-jobproc beside our own executable */
	int dry_run;
	int healthz;
	int version;
	int help;

	/* Derived by sup_config_load. */
	char *agent_url; /* ws(s)://host[:port]/path/agent */
	char *room_url; /* ws(s)://host[:port]/path for jobs */
	char *jobproc_path; /* jobproc, or the default resolved through /proc/self/exe */
	int http_enabled; /* LK_HTTP_ADDR=off turns the HTTP server off */
	char http_host[64];
	uint16_t http_port;

	/* The table cfg_load filled; kept for cfg_free and --help. */
	struct cfg_opt opts[SUP_CFG_MAX_OPTS];
	size_t nopts;
	char num_idle_def[16];
	int raw_job_type; /* enum index as parsed, folded into job_type */
	int raw_log_level;
};

/*
 * Load and check everything. envp NULL = the process environment. Returns 0,
 * or -1 with a message naming the key in err. Derived fields are filled on
 * success. The caller calls sup_config_free in both cases.
 */
int sup_config_load(
        struct sup_config *c, int argc, char **argv, char **envp, char *err, size_t errlen);
void sup_config_free(struct sup_config *c);
void sup_config_usage(struct sup_config *c, FILE *out);

/*
 * Checks for --dry-run and for a real start: credentials present and, when
 * need_jobproc, the job process path executable. 0, or -1 with a message
 * naming the key.
 */
int sup_config_check_runtime(
        const struct sup_config *c, int need_jobproc, char *err, size_t errlen);

/*
 * LIVEKIT_URL -> WebSocket URL: http->ws, https->wss, trailing '/' stripped,
 * suffix ("/agent", or "" for the room URL jobs get) added before any query.
 * 0, or -1 when the URL has no ws/wss/http/https scheme or no host.
 */
int sup_config_ws_url(const char *url, const char *suffix, char **out);

/*
 * Script choice for a job (--script-from-metadata): a JSON object in
 * Job.metadata may name "script" and "script_args"; otherwise (NULL, not
 * JSON, not an object, keys absent) the configured ones. Returns 0, or -1
 * with a reason in err when the metadata names an invalid script or args.
 */
int sup_config_pick_script(const char *metadata, const char *def_script, const char *def_args,
        char *script, size_t scriptlen, char *args, size_t argslen, char *err, size_t errlen);

/* A script name: 1-64 letters, digits, '-', '_' or '.'. */
int sup_config_valid_script(const char *s);

/*
 * LK_HTTP_ADDR: "host:port", "[v6]:port", ":port" (all interfaces), "port"
 * (loopback), "off". Port 0 picks a free port. 0 or -1.
 */
int sup_config_parse_http_addr(
        const char *s, int *enabled, char *host, size_t hostlen, uint16_t *port);

/* Default --num-idle: min(CPUs, 4). */
long sup_config_default_idle(void);

/* Names for logs and /worker. */
const char *sup_config_job_type_name(int job_type);

#endif
