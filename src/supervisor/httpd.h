/*
 * httpd: lk-supervisor's HTTP endpoints: GET / (Python parity health),
 * /health/live, /health/ready, /worker (WorkerInfo JSON), /metrics
 * (Prometheus text) and /debug/jobs. Runs in lk-supervisor on its libev
 * loop through src/net/http; it only reads state, never changes it.
 */
#ifndef LK_SUP_HTTPD_H
#define LK_SUP_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct sup_httpd;
struct sup_agent;
struct sup_pool;
struct sup_load;

/* What the endpoints report on; pointers stay owned by the caller. */
struct sup_httpd_src {
	struct sup_agent *agent;
	struct sup_pool *pool; /* may be NULL */
	struct sup_load *load;
	const char *agent_name;
	int job_type;
	unsigned max_jobs;
};

struct sup_httpd *sup_httpd_new(struct ev_loop *loop, const char *host, uint16_t port,
        const struct sup_httpd_src *src, char *err, size_t errlen);
/* The port really bound (useful with port 0). */
uint16_t sup_httpd_port(const struct sup_httpd *h);
void sup_httpd_free(struct sup_httpd *h);

#endif
