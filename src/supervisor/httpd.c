/*
 * httpd: health, readiness, WorkerInfo, Prometheus metrics and the job
 * table over HTTP (agent-protocol.md §5.1 for / and /worker). Runs in
 * lk-supervisor on its libev loop; handlers only read state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <config.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/http.h"
#include "supervisor/agent.h"
#include "supervisor/config.h"
#include "supervisor/httpd.h"
#include "supervisor/load.h"
#include "supervisor/pool.h"

#define SUP_METRICS_MAX (256 * 1024)

struct sup_httpd {
	struct http_server *srv;
	struct sup_httpd_src src;
	char agent_name[257];
};

static uint64_t
sup_httpd_self_rss_bytes(void)
{
	unsigned long long size, rss;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	if (n != 2)
		return 0;
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct sup_httpd_rss {
	uint64_t rss_kb;
	uint64_t pss_kb;
};

static void
sup_httpd_sum_rss(const struct sup_job_info *info, void *arg)
{
	struct sup_httpd_rss *r = arg;

	r->rss_kb += info->rss_kb;
	r->pss_kb += info->pss_kb;
}

static void
sup_httpd_metric(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
sup_httpd_metrics(const struct sup_httpd_src *src, struct buf *b)
{
	struct sup_agent_stats as;
	struct sup_pool_stats ps;
	struct sup_httpd_rss jr = {0, 0};
	unsigned running = 0, idle = 0, children = 0;

	sup_agent_stats(src->agent, &as);
	memset(&ps, 0, sizeof(ps));
	if (src->pool != NULL) {
		sup_pool_stats(src->pool, &ps);
		running = sup_pool_running(src->pool);
		idle = sup_pool_idle(src->pool);
		children = sup_pool_children(src->pool);
		sup_pool_foreach(src->pool, sup_httpd_sum_rss, &jr);
	}

	sup_httpd_metric(b, "lk_worker_info", "gauge", "Build and registration of this worker.");
	buf_printf(b, "lk_worker_info{version=\"%s\",commit=\"%s\",job_type=\"%s\"} 1\n",
	        PACKAGE_VERSION, LK_GIT_COMMIT, sup_config_job_type_name(src->job_type));
	sup_httpd_metric(
	        b, "lk_worker_registered", "gauge", "1 while registered with the LiveKit server.");
	buf_printf(b, "lk_worker_registered %d\n", sup_agent_registered(src->agent));
	sup_httpd_metric(b, "lk_worker_draining", "gauge", "1 while draining after SIGTERM.");
	buf_printf(b, "lk_worker_draining %d\n", sup_agent_draining(src->agent));
	sup_httpd_metric(b, "lk_worker_load", "gauge", "CPU load reported to the server (0..1).");
	buf_printf(b, "lk_worker_load %.4f\n", sup_load_get(src->load));
	sup_httpd_metric(b, "lk_worker_max_jobs", "gauge", "Configured --max-jobs.");
	buf_printf(b, "lk_worker_max_jobs %u\n", src->max_jobs);
	sup_httpd_metric(b, "lk_jobs_running", "gauge", "Jobs whose process is not yet reaped.");
	buf_printf(b, "lk_jobs_running %u\n", running);
	sup_httpd_metric(b, "lk_jobs_reserved", "gauge",
	        "Slots held for accepted jobs awaiting their assignment.");
	buf_printf(b, "lk_jobs_reserved %u\n", sup_agent_reserved(src->agent));
	sup_httpd_metric(
	        b, "lk_jobs_idle_processes", "gauge", "Prewarmed job processes waiting for a job.");
	buf_printf(b, "lk_jobs_idle_processes %u\n", idle);
	sup_httpd_metric(b, "lk_job_processes", "gauge", "Job processes alive, of any state.");
	buf_printf(b, "lk_job_processes %u\n", children);
	sup_httpd_metric(b, "lk_jobs_started_total", "counter", "Jobs handed to a job process.");
	buf_printf(b, "lk_jobs_started_total %llu\n", (unsigned long long)ps.jobs_started);
	sup_httpd_metric(b, "lk_jobs_succeeded_total", "counter", "Jobs that ended JS_SUCCESS.");
	buf_printf(b, "lk_jobs_succeeded_total %llu\n", (unsigned long long)ps.jobs_succeeded);
	sup_httpd_metric(b, "lk_jobs_failed_total", "counter", "Jobs that ended JS_FAILED.");
	buf_printf(b, "lk_jobs_failed_total %llu\n", (unsigned long long)ps.jobs_failed);
	sup_httpd_metric(b, "lk_jobs_killed_total", "counter",
	        "Job processes killed by the supervisor, by reason.");
	buf_printf(b, "lk_jobs_killed_total{reason=\"ping_timeout\"} %llu\n",
	        (unsigned long long)ps.killed_ping_timeout);
	buf_printf(b, "lk_jobs_killed_total{reason=\"memory_limit\"} %llu\n",
	        (unsigned long long)ps.killed_memory);
	buf_printf(b, "lk_jobs_killed_total{reason=\"close_timeout\"} %llu\n",
	        (unsigned long long)ps.killed_close_timeout);
	buf_printf(b, "lk_jobs_killed_total{reason=\"job_timeout\"} %llu\n",
	        (unsigned long long)ps.killed_job_timeout);
	sup_httpd_metric(b, "lk_job_processes_spawned_total", "counter",
	        "Job processes started (prewarmed or on demand).");
	buf_printf(b, "lk_job_processes_spawned_total %llu\n", (unsigned long long)ps.spawned);
	sup_httpd_metric(b, "lk_job_process_spawn_failures_total", "counter",
	        "Job processes that failed to start or initialise.");
	buf_printf(b, "lk_job_process_spawn_failures_total %llu\n",
	        (unsigned long long)ps.spawn_failures);
	sup_httpd_metric(b, "lk_ipc_malformed_total", "counter",
	        "Malformed IPC messages from job processes.");
	buf_printf(b, "lk_ipc_malformed_total %llu\n", (unsigned long long)ps.malformed_ipc);
	sup_httpd_metric(b, "lk_agent_reconnects_total", "counter",
	        "Connection attempts to the LiveKit server after the first.");
	buf_printf(b, "lk_agent_reconnects_total %llu\n", (unsigned long long)as.reconnects);
	sup_httpd_metric(b, "lk_agent_registrations_total", "counter",
	        "RegisterWorkerResponse messages accepted.");
	buf_printf(b, "lk_agent_registrations_total %llu\n", (unsigned long long)as.registrations);
	sup_httpd_metric(b, "lk_agent_protocol_errors_total", "counter",
	        "Malformed or unexpected server messages (each dropped the connection).");
	buf_printf(
	        b, "lk_agent_protocol_errors_total %llu\n", (unsigned long long)as.protocol_errors);
	sup_httpd_metric(b, "lk_availability_requests_total", "counter",
	        "AvailabilityRequest answers, by answer.");
	buf_printf(b, "lk_availability_requests_total{answer=\"accept\"} %llu\n",
	        (unsigned long long)as.availability_accept);
	buf_printf(b, "lk_availability_requests_total{answer=\"reject\"} %llu\n",
	        (unsigned long long)as.availability_reject);
	sup_httpd_metric(
	        b, "lk_assignments_total", "counter", "JobAssignment messages, by outcome.");
	buf_printf(b, "lk_assignments_total{result=\"started\"} %llu\n",
	        (unsigned long long)as.assignments);
	buf_printf(b, "lk_assignments_total{result=\"unknown_job\"} %llu\n",
	        (unsigned long long)as.assignments_unknown);
	buf_printf(b, "lk_assignments_total{result=\"timed_out\"} %llu\n",
	        (unsigned long long)as.reservations_expired);
	sup_httpd_metric(b, "lk_job_terminations_total", "counter",
	        "JobTermination messages from the server.");
	buf_printf(b, "lk_job_terminations_total %llu\n", (unsigned long long)as.terminations);
	sup_httpd_metric(b, "lk_job_status_dropped_total", "counter",
	        "UpdateJobStatus messages lost to a full queue while disconnected.");
	buf_printf(b, "lk_job_status_dropped_total %llu\n", (unsigned long long)as.status_dropped);
	sup_httpd_metric(b, "lk_process_resident_memory_bytes", "gauge",
	        "Resident memory of lk-supervisor itself.");
	buf_printf(b, "lk_process_resident_memory_bytes %llu\n",
	        (unsigned long long)sup_httpd_self_rss_bytes());
	sup_httpd_metric(b, "lk_jobs_resident_memory_bytes", "gauge",
	        "Sum of the running jobs' resident memory (last samples).");
	buf_printf(
	        b, "lk_jobs_resident_memory_bytes %llu\n", (unsigned long long)jr.rss_kb * 1024ull);
	sup_httpd_metric(b, "lk_jobs_proportional_memory_bytes", "gauge",
	        "Sum of the running jobs' proportional set size (last samples).");
	return buf_printf(b, "lk_jobs_proportional_memory_bytes %llu\n",
	        (unsigned long long)jr.pss_kb * 1024ull);
}

static char *
sup_httpd_dump(json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

static char *
sup_httpd_worker_json(const struct sup_httpd_src *src)
{
	unsigned running = src->pool != NULL ? sup_pool_running(src->pool) : 0;

	/* WorkerInfo (livekit_agent_worker.proto) with the proto field names, plus worker_id. */
	return sup_httpd_dump(json_pack("{s:s, s:s, s:f, s:s, s:f, s:i, s:s}", "worker_type",
	        sup_config_job_type_name(src->job_type), "agent_name",
	        src->agent_name != NULL ? src->agent_name : "", "active_jobs", (double)running,
	        "sdk_version", PACKAGE_VERSION, "worker_load", sup_load_get(src->load),
	        "protocol_version", 1, "worker_id", sup_agent_worker_id(src->agent)));
}

static void
sup_httpd_job_json(const struct sup_job_info *info, void *arg)
{
	json_t *arr = arg;
	int64_t age = info->started_ms > 0 ? lk_mono_ms() - info->started_ms : 0;

	json_array_append_new(arr,
	        json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:I}", "job_id",
	                info->job_id != NULL ? info->job_id : "", "room",
	                info->room != NULL ? info->room : "", "pid", info->pid, "status",
	                sup_agent_status_name(info->status), "state",
	                info->state != NULL ? info->state : "", "age_ms", (json_int_t)age, "rss_kb",
	                (json_int_t)info->rss_kb, "pss_kb", (json_int_t)info->pss_kb, "room_joined",
	                info->room_joined, "participants", (json_int_t)info->participants,
	                "audio_in_frames", (json_int_t)info->audio_in_frames, "audio_out_frames",
	                (json_int_t)info->audio_out_frames));
}

static char *
sup_httpd_jobs_json(const struct sup_httpd_src *src)
{
	json_t *arr = json_array();

	if (arr != NULL && src->pool != NULL)
		sup_pool_foreach(src->pool, sup_httpd_job_json, arr);
	return sup_httpd_dump(arr);
}

static void
sup_httpd_reply_json(struct http_req *req, char *body)
{
	if (body == NULL) {
		http_reply_text(req, 500, "internal error");
		return;
	}
	http_reply(req, 200, "application/json", body, strlen(body));
	free(body);
}

static void
sup_httpd_handle(struct http_req *req, void *arg)
{
	struct sup_httpd *h = arg;
	const char *method = http_req_method(req), *path = http_req_path(req);
	int registered = sup_agent_registered(h->src.agent);
	int draining = sup_agent_draining(h->src.agent);

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_reply_text(req, 405, "method not allowed");
		return;
	}
	if (strcmp(path, "/") == 0) {
		/* Node worker parity: 503 while the agent socket is not registered. */
		if (registered)
			http_reply_text(req, 200, "OK");
		else
			http_reply_text(req, 503, "not connected to livekit");
	} else if (strcmp(path, "/health/live") == 0) {
		http_reply_text(req, 200, "OK");
	} else if (strcmp(path, "/health/ready") == 0) {
		if (registered && !draining)
			http_reply_text(req, 200, "OK");
		else
			http_reply_text(
			        req, 503, draining ? "draining" : "not connected to livekit");
	} else if (strcmp(path, "/worker") == 0) {
		sup_httpd_reply_json(req, sup_httpd_worker_json(&h->src));
	} else if (strcmp(path, "/debug/jobs") == 0) {
		sup_httpd_reply_json(req, sup_httpd_jobs_json(&h->src));
	} else if (strcmp(path, "/metrics") == 0) {
		struct buf b;

		buf_init(&b, SUP_METRICS_MAX);
		if (sup_httpd_metrics(&h->src, &b) < 0)
			http_reply_text(req, 500, "metrics too large");
		else
			http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data,
			        b.len);
		buf_free(&b);
	} else {
		http_reply_text(req, 404, "not found");
	}
}

struct sup_httpd *
sup_httpd_new(struct ev_loop *loop, const char *host, uint16_t port,
        const struct sup_httpd_src *src, char *err, size_t errlen)
{
	struct sup_httpd *h = lk_xcalloc(1, sizeof(*h));
	struct http_server_opts o;

	h->src = *src;
	lk_strlcpy(h->agent_name, src->agent_name != NULL ? src->agent_name : "",
	        sizeof(h->agent_name));
	h->src.agent_name = h->agent_name;
	memset(&o, 0, sizeof(o));
	o.bind = host;
	o.port = port;
	o.max_body = 4096; /* GET only: no request needs a body */
	o.handler = sup_httpd_handle;
	o.arg = h;
	h->srv = http_server_new(loop, &o, err, errlen);
	if (h->srv == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

uint16_t
sup_httpd_port(const struct sup_httpd *h)
{
	return http_server_port(h->srv);
}

void
sup_httpd_free(struct sup_httpd *h)
{
	if (h == NULL)
		return;
	http_server_free(h->srv);
	free(h);
}
