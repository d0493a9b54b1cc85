/*
 * lk-supervisor: the long-lived worker process. main wires the pieces
 * (config, load, pool, agent link, HTTP, systemd notify) onto the default
 * libev loop and owns the process policy: exit codes, --dry-run, --healthz,
 * and the drain that SIGTERM/SIGINT starts (ARCHITECTURE.md, job lifecycle).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <config.h>
#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/agent.h"
#include "supervisor/config.h"
#include "supervisor/httpd.h"
#include "supervisor/load.h"
#include "supervisor/notify.h"
#include "supervisor/pool.h"

#define SUP_EXIT_CONFIG 2
#define SUP_HEALTHZ_DEADLINE_S 4.5
#define SUP_CLOSE_WAIT_MS 2000
#define SUP_PROGRESS_INTERVAL_S 0.2
/* After the ladder (close timeout, SIGTERM, SIGKILL) children are gone; this bounds a stuck reap.
 */
#define SUP_SHUTDOWN_GRACE_MS 15000

enum sup_phase {
	SUP_RUNNING = 0,
	SUP_DRAINING, /* no new jobs; waiting for running ones to end */
	SUP_SHUTDOWN, /* ladder sent to every job; waiting for children */
	SUP_CLOSING, /* closing the agent socket */
	SUP_DONE,
};

struct sup {
	struct ev_loop *loop;
	struct sup_config cfg;
	struct sup_notify *notify;
	struct sup_load *load;
	struct sup_pool *pool;
	struct sup_agent *agent;
	struct sup_httpd *httpd;
	ev_signal sigterm;
	ev_signal sigint;
	ev_timer drain_timer;
	ev_timer progress;
	ev_timer deadline;
	enum sup_phase phase;
	int exit_code;
};

static const char *const sup_level_names[] = {"debug", "info", "warn", "error"};
static const char *const sup_format_names[] = {"json", "console"};

static void sup_finish(struct sup *s);

static void
sup_status_line(struct sup *s, const char *what)
{
	char buf[320];

	snprintf(buf, sizeof(buf), "%s; %u jobs running", what,
	        s->pool != NULL ? sup_pool_running(s->pool) : 0);
	sup_notify_status(s->notify, buf);
}

/* ------------------------------------------------------------------ */
/* Drain and shutdown                                                  */

static void
sup_begin_shutdown(struct sup *s, const char *reason)
{
	if (s->phase >= SUP_SHUTDOWN)
		return;
	s->phase = SUP_SHUTDOWN;
	ev_timer_stop(s->loop, &s->drain_timer);
	log_info("stopping every job", "reason", reason, "running",
	        log_fmt("%u", sup_pool_running(s->pool)), "processes",
	        log_fmt("%u", sup_pool_children(s->pool)));
	sup_status_line(s, "stopping jobs");
	sup_agent_stop_starts(s->agent);
	/* The ladder per job: SHUTDOWN, close timeout, SIGTERM, SIGKILL (pool.h). */
	sup_pool_shutdown_all(s->pool, reason);
	ev_timer_set(&s->deadline,
	        (double)(s->cfg.close_timeout_ms + SUP_SHUTDOWN_GRACE_MS) / 1000.0, 0.0);
	ev_timer_start(s->loop, &s->deadline);
	ev_timer_again(s->loop, &s->progress);
}

static void
sup_check_progress(struct sup *s)
{
	/* Accepted jobs whose assignment is still due count as running (§3.8). */
	if (s->phase == SUP_DRAINING && sup_pool_running(s->pool) == 0 &&
	        sup_agent_reserved(s->agent) == 0) {
		log_info("drain complete: no job running");
		sup_begin_shutdown(s, "worker shutting down");
	}
	if (s->phase == SUP_SHUTDOWN && sup_pool_children(s->pool) == 0)
		sup_finish(s);
}

static void
sup_progress_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_check_progress(w->data);
}

static void
sup_drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	log_warn("drain timeout reached, stopping the remaining jobs", "running",
	        log_fmt("%u", sup_pool_running(s->pool)), "drain_timeout_ms",
	        log_fmt("%lld", (long long)s->cfg.drain_timeout_ms));
	sup_begin_shutdown(s, "drain timeout");
}

static void
sup_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	if (s->phase == SUP_SHUTDOWN) {
		log_error("job processes outlived the shutdown ladder; exiting without them",
		        "processes", log_fmt("%u", sup_pool_children(s->pool)));
		sup_finish(s);
	} else if (s->cfg.healthz) {
		log_error("healthz failed: no registration in time", "url", s->cfg.agent_url);
		s->exit_code = 1;
		s->phase = SUP_DONE;
		ev_break(loop, EVBREAK_ALL);
	}
}

static void
sup_begin_drain(struct sup *s, const char *signame)
{
	s->phase = SUP_DRAINING;
	log_info("draining", "signal", signame, "running", log_fmt("%u", sup_pool_running(s->pool)),
	        "drain_timeout_ms", log_fmt("%lld", (long long)s->cfg.drain_timeout_ms));
	sup_notify_stopping(s->notify, "draining");
	/* WS_FULL at once and no new jobs (agent-protocol.md §3.8). */
	sup_agent_set_draining(s->agent);
	sup_pool_stop_idle(s->pool);
	ev_timer_set(&s->drain_timer, (double)s->cfg.drain_timeout_ms / 1000.0, 0.0);
	ev_timer_start(s->loop, &s->drain_timer);
	ev_timer_again(s->loop, &s->progress);
	sup_check_progress(s);
}

static void
sup_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;
	const char *name = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";

	switch (s->phase) {
	case SUP_RUNNING:
		sup_begin_drain(s, name);
		break;
	case SUP_DRAINING:
		/* A second signal skips the wait for running jobs. */
		log_info("second signal: not waiting for running jobs", "signal", name);
		sup_begin_shutdown(s, "worker shutting down");
		sup_check_progress(s);
		break;
	default:
		log_info("already shutting down", "signal", name);
		break;
	}
}

static void
sup_agent_closed_cb(struct sup_agent *agent, void *arg)
{
	struct sup *s = arg;

	s->phase = SUP_DONE;
	ev_break(s->loop, EVBREAK_ALL);
}

/* Children are gone and their final statuses were handed to the agent: say goodbye. */
static void
sup_finish(struct sup *s)
{
	if (s->phase >= SUP_CLOSING)
		return;
	s->phase = SUP_CLOSING;
	ev_timer_stop(s->loop, &s->progress);
	ev_timer_stop(s->loop, &s->deadline);
	ev_timer_stop(s->loop, &s->drain_timer);
	log_info("closing the agent connection");
	sup_agent_close(s->agent, SUP_CLOSE_WAIT_MS);
}

/* ------------------------------------------------------------------ */
/* Agent and pool callbacks                                            */

static void
sup_on_registered(struct sup_agent *agent, const char *worker_id, int first, void *arg)
{
	struct sup *s = arg;
	char buf[160];

	snprintf(buf, sizeof(buf), "registered as %s", worker_id);
	if (first)
		sup_notify_ready(s->notify, buf);
	else
		sup_status_line(s, buf);
}

static void
sup_on_disconnected(struct sup_agent *agent, const char *reason, void *arg)
{
	struct sup *s = arg;

	sup_status_line(s, "not connected to livekit");
}

static void
sup_on_oneshot(struct sup_agent *agent, int ok, const char *reason, void *arg)
{
	struct sup *s = arg;

	s->exit_code = ok ? 0 : 1;
	if (ok)
		log_info("healthz ok");
	else
		log_error("healthz failed", "reason", reason, "url", s->cfg.agent_url);
	s->phase = SUP_CLOSING;
	sup_agent_close(agent, 500);
}

static void
sup_on_job_status(const char *job_id, int status, const char *error, void *arg)
{
	struct sup *s = arg;

	log_kv(status == SUP_JS_FAILED ? LOG_WARN : LOG_INFO, "job status", "job_id", job_id,
	        "status", sup_agent_status_name(status), "error", error != NULL ? error : "",
	        (const char *)0);
	/* UpdateJobStatus{job_id, status, error} (livekit_agent.proto fields 1-3). */
	sup_agent_job_status(s->agent, job_id, status, error);
	/* Drain progress is polled by the progress timer, not re-entered from the pool here. */
	if (status != SUP_JS_RUNNING)
		sup_status_line(s, s->phase == SUP_RUNNING ? "running" : "draining");
}

/* ------------------------------------------------------------------ */
/* Start-up                                                            */

static int
sup_print_version(void)
{
	printf("lk-supervisor %s (commit %s)\n", PACKAGE_VERSION, LK_GIT_COMMIT);
	return 0;
}

static void
sup_print_config(const struct sup_config *c, FILE *out)
{
	/* No secrets: only whether they are set. */
	fprintf(out,
	        "configuration ok\n"
	        "  url            %s (agent %s)\n"
	        "  api key        %s\n"
	        "  api secret     %s\n"
	        "  agent name     \"%s\"\n"
	        "  namespace      \"%s\"\n"
	        "  job type       %s\n"
	        "  max jobs       %ld\n"
	        "  idle processes %ld\n"
	        "  load threshold %.2f\n"
	        "  script         %s%s%s%s\n"
	        "  http           %s\n"
	        "  drain timeout  %lld ms\n"
	        "  job timeout    %lld ms\n"
	        "  ping timeout   %lld ms\n"
	        "  close timeout  %lld ms\n"
	        "  memory warn/limit %ld/%ld MB\n"
	        "  jobproc        %s\n",
	        c->url, c->agent_url, c->api_key, c->api_secret[0] != '\0' ? "set" : "missing",
	        c->agent_name, c->namespace_, sup_config_job_type_name(c->job_type), c->max_jobs,
	        c->num_idle, c->load_threshold, c->script, c->script_args[0] != '\0' ? " " : "",
	        c->script_args, c->script_from_metadata ? " (metadata may override)" : "",
	        c->http_enabled ? log_fmt("%s:%u", c->http_host, c->http_port) : "off",
	        (long long)c->drain_timeout_ms, (long long)c->job_timeout_ms,
	        (long long)c->ping_timeout_ms, (long long)c->close_timeout_ms, c->mem_warn_mb,
	        c->mem_limit_mb, c->jobproc_path);
}

static void
sup_agent_opts_from(const struct sup_config *c, struct sup_agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->agent_url = c->agent_url;
	o->worker_url = c->room_url;
	o->api_key = c->api_key;
	o->api_secret = c->api_secret;
	o->agent_name = c->agent_name;
	o->namespace_ = c->namespace_;
	o->job_type = c->job_type;
	o->max_jobs = (unsigned)c->max_jobs;
	o->load_threshold = c->load_threshold;
	o->script = c->script;
	o->script_args = c->script_args;
	o->script_from_metadata = c->script_from_metadata;
	o->oneshot = c->healthz;
}

static int
sup_run_healthz(struct sup *s)
{
	struct sup_agent_opts ao;
	struct sup_agent_cbs cbs = {.on_oneshot = sup_on_oneshot, .on_closed = sup_agent_closed_cb};

	sup_agent_opts_from(&s->cfg, &ao);
	/* Inside the overall deadline, so a silent server is reported as such. */
	ao.register_timeout_ms = (int)(SUP_HEALTHZ_DEADLINE_S * 1000) - 500;
	s->agent = sup_agent_new(s->loop, &ao, NULL, NULL, &cbs, s);
	s->exit_code = 1;
	ev_timer_init(&s->deadline, sup_deadline_cb, SUP_HEALTHZ_DEADLINE_S, 0.0);
	s->deadline.data = s;
	ev_timer_start(s->loop, &s->deadline);
	sup_agent_start(s->agent);
	if (s->phase != SUP_DONE)
		ev_run(s->loop, 0);
	ev_timer_stop(s->loop, &s->deadline);
	sup_agent_free(s->agent);
	s->agent = NULL;
	return s->exit_code;
}

static int
sup_start_http(struct sup *s)
{
	struct sup_httpd_src hs;
	char err[256];
	const char *host;
	uint16_t port;

	if (!s->cfg.http_enabled) {
		log_info("http server disabled", "key", "LK_HTTP_ADDR");
		return 0;
	}
	memset(&hs, 0, sizeof(hs));
	hs.agent = s->agent;
	hs.pool = s->pool;
	hs.load = s->load;
	hs.agent_name = s->cfg.agent_name;
	hs.job_type = s->cfg.job_type;
	hs.max_jobs = (unsigned)s->cfg.max_jobs;
	s->httpd =
	        sup_httpd_new(s->loop, s->cfg.http_host, s->cfg.http_port, &hs, err, sizeof(err));
	if (s->httpd == NULL) {
		log_error("http server failed to start", "addr",
		        log_fmt("%s:%u", s->cfg.http_host, s->cfg.http_port), "err", err);
		return -1;
	}
	port = sup_httpd_port(s->httpd);
	/* A wildcard bind is reachable on loopback too; print a URL that works here. */
	host = strcmp(s->cfg.http_host, "0.0.0.0") == 0 ? "127.0.0.1"
	        : strcmp(s->cfg.http_host, "::") == 0   ? "[::1]"
	                                                : s->cfg.http_host;
	if (strchr(host, ':') != NULL && host[0] != '[')
		log_info("http server listening", "url", log_fmt("http://[%s]:%u/", host, port),
		        "health", log_fmt("http://[%s]:%u/health/ready", host, port), "metrics",
		        log_fmt("http://[%s]:%u/metrics", host, port), "port", log_fmt("%u", port));
	else
		log_info("http server listening", "url", log_fmt("http://%s:%u/", host, port),
		        "health", log_fmt("http://%s:%u/health/ready", host, port), "metrics",
		        log_fmt("http://%s:%u/metrics", host, port), "port", log_fmt("%u", port));
	return 0;
}

static int
sup_run(struct sup *s)
{
	struct sup_pool_opts po;
	struct sup_agent_opts ao;
	struct sup_agent_cbs cbs = {
	        .on_registered = sup_on_registered,
	        .on_disconnected = sup_on_disconnected,
	        .on_closed = sup_agent_closed_cb,
	};
	const struct sup_config *c = &s->cfg;

	s->notify = sup_notify_new(s->loop);
	s->load = sup_load_new(s->loop, NULL);
	log_info("lk-supervisor starting", "url", c->agent_url, "agent_name", c->agent_name,
	        "job_type", sup_config_job_type_name(c->job_type), "max_jobs",
	        log_fmt("%ld", c->max_jobs), "num_idle", log_fmt("%ld", c->num_idle),
	        "load_threshold", log_fmt("%.2f", c->load_threshold), "load_source",
	        sup_load_source_name(sup_load_source(s->load)), "cpus",
	        log_fmt("%.2f", sup_load_cpus(s->load)), "script", c->script, "jobproc",
	        c->jobproc_path);

	sup_agent_opts_from(c, &ao);
	s->agent = sup_agent_new(s->loop, &ao, NULL, s->load, &cbs, s);

	memset(&po, 0, sizeof(po));
	po.jobproc_path = c->jobproc_path;
	po.num_idle = (int)c->num_idle;
	po.ping_interval_ms = 2500;
	po.ping_timeout_ms = (int)c->ping_timeout_ms;
	po.init_timeout_ms = 10000;
	po.close_timeout_ms = (int)c->close_timeout_ms;
	po.job_timeout_ms = c->job_timeout_ms;
	po.mem_warn_mb = (int)c->mem_warn_mb;
	po.mem_limit_mb = (int)c->mem_limit_mb;
	po.log_level = sup_level_names[c->log_level];
	po.log_format = sup_format_names[c->log_format];
	s->pool = sup_pool_new(s->loop, &po, sup_on_job_status, s);
	if (s->pool == NULL) {
		log_error("job pool failed to start", "jobproc", c->jobproc_path);
		return 1;
	}
	sup_agent_set_pool(s->agent, s->pool);
	if (sup_start_http(s) < 0)
		return 1;

	ev_signal_init(&s->sigterm, sup_signal_cb, SIGTERM);
	s->sigterm.data = s;
	ev_signal_start(s->loop, &s->sigterm);
	ev_signal_init(&s->sigint, sup_signal_cb, SIGINT);
	s->sigint.data = s;
	ev_signal_start(s->loop, &s->sigint);
	ev_init(&s->progress, sup_progress_cb);
	s->progress.repeat = SUP_PROGRESS_INTERVAL_S;
	s->progress.data = s;
	ev_init(&s->drain_timer, sup_drain_timeout_cb);
	s->drain_timer.data = s;
	ev_init(&s->deadline, sup_deadline_cb);
	s->deadline.data = s;

	sup_notify_status(s->notify, "connecting to livekit");
	sup_agent_start(s->agent);
	ev_run(s->loop, 0);

	log_info("lk-supervisor stopped", "exit_code", log_fmt("%d", s->exit_code));
	return s->exit_code;
}

static void
sup_cleanup(struct sup *s)
{
	if (s->loop != NULL) {
		ev_signal_stop(s->loop, &s->sigterm);
		ev_signal_stop(s->loop, &s->sigint);
		ev_timer_stop(s->loop, &s->progress);
		ev_timer_stop(s->loop, &s->drain_timer);
		ev_timer_stop(s->loop, &s->deadline);
	}
	sup_httpd_free(s->httpd);
	sup_agent_free(s->agent);
	if (s->pool != NULL)
		sup_pool_free(s->pool);
	sup_load_free(s->load);
	sup_notify_free(s->notify);
	sup_config_free(&s->cfg);
}

int
main(int argc, char **argv)
{
	static struct sup s;
	char err[512];
	int rc;

	/* Alone on the command line these answer even when the environment is broken. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return sup_print_version();
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		sup_config_usage(&s.cfg, stdout);
		sup_config_free(&s.cfg);
		return 0;
	}
	log_init("lk-supervisor");
	if (sup_config_load(&s.cfg, argc, argv, NULL, err, sizeof(err)) != 0) {
		log_error("invalid configuration", "err", err);
		sup_config_free(&s.cfg);
		return SUP_EXIT_CONFIG;
	}
	if (s.cfg.version || s.cfg.help) {
		if (s.cfg.version)
			sup_print_version();
		else
			sup_config_usage(&s.cfg, stdout);
		sup_config_free(&s.cfg);
		return 0;
	}
	log_set_level((enum log_level)s.cfg.log_level);
	log_set_format((enum log_format)s.cfg.log_format);
	if (sup_config_check_runtime(&s.cfg, !s.cfg.healthz, err, sizeof(err)) != 0) {
		log_error("invalid configuration", "err", err);
		sup_config_free(&s.cfg);
		return SUP_EXIT_CONFIG;
	}
	if (s.cfg.dry_run) {
		sup_print_config(&s.cfg, stdout);
		sup_config_free(&s.cfg);
		return 0;
	}

	/* A peer closing a socket must show up as an error, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	/* The default loop: the pool's ev_child watchers only work there. */
	s.loop = ev_default_loop(EVFLAG_AUTO);
	if (s.loop == NULL) {
		log_error("libev default loop unavailable");
		sup_config_free(&s.cfg);
		return 1;
	}
	rc = s.cfg.healthz ? sup_run_healthz(&s) : sup_run(&s);
	sup_cleanup(&s);
	ev_loop_destroy(s.loop);
	return rc;
}
