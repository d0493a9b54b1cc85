/*
 * lk-devserver: a LiveKit-compatible server for local runs and tests (the
 * process itself). Configuration, the HTTP routing of /, /twirp, /rtc,
 * /agent, /debug/jobs and /debug/rtc, signals and the one libev loop.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/http.h"
#include "devserver/auth.h"
#include "devserver/ds.h"
#include "devserver/rooms.h"
#include "devserver/rtc.h"
#include "devserver/sfu.h"
#include "devserver/twirp.h"

#define DS_MAX_BODY (1024 * 1024)

struct ds_main {
	struct ds ds;
	struct ds_rtc *rtc;
	struct ds_sfu *sfu;
	struct http_server *http;
};

struct ds_opts {
	char *bind;
	long port;
	char *keys;
	char *rtc_ip;
	char *rtc_port_range;
	double rtc_drop_rate;
	int log_level;
	int log_format;
};

static const char *const ds_log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const ds_log_formats[] = {"json", "console", NULL};

/*
 * The first up, non-loopback IPv4 address: what ICE candidates will carry
 * (libwebrtc in rtc-node ignores loopback candidates).
 */
static void
ds_main_detect_ip(char *out, size_t outlen)
{
	struct ifaddrs *ifa, *i;
	const struct sockaddr_in *sin;
	int found = 0;

	lk_strlcpy(out, "127.0.0.1", outlen);
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL && !found; i = i->ifa_next) {
			if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
				continue;
			if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
			found = inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outlen) != NULL;
		}
		freeifaddrs(ifa);
	}
	if (!found) {
		lk_strlcpy(out, "127.0.0.1", outlen);
		log_warn("no non-loopback IPv4 address: ICE candidates use 127.0.0.1, which "
		         "libwebrtc clients ignore (set --rtc-ip)");
	}
}

/* "MIN-MAX" UDP ports for the media transports. 0 or -1. */
static int
ds_main_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;
	int n = 0;

	if (sscanf(s, "%u-%u%n", &a, &b, &n) != 2 || s[n] != '\0' || a == 0 || a > b || b > 65535)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* GET /debug/rtc: media counters for tests and humans (dev server only, no auth). */
static void
ds_main_debug_rtc(struct ds_main *m, struct http_req *req)
{
	char *s = m->sfu != NULL ? ds_sfu_debug_json(m->sfu) : NULL;

	if (s == NULL) {
		http_reply_text(req, 500, "could not encode the media table");
		return;
	}
	http_reply(req, 200, "application/json", s, strlen(s));
	free(s);
}

/* livekit-server strips a leading "//" (the Rust SDK appends "/rtc" to a URL ending in "/"). */
static const char *
ds_main_path(struct http_req *req)
{
	const char *path = http_req_path(req);

	while (path[0] == '/' && path[1] == '/')
		path++;
	return path;
}

static void
ds_main_agent(struct ds_main *m, struct http_req *req)
{
	struct ds_auth a;
	const char *why = NULL;

	if (!http_req_is_ws_upgrade(req)) {
		http_reply_text(req, 404, "not found: /agent expects a WebSocket upgrade");
		return;
	}
	if (ds_auth_request(&m->ds, req, &a, &why) < 0 || ds_auth_check_agent(&a, &why) < 0) {
		log_info("agent connection refused", "err", why);
		http_reply_text(req, 401, why);
		ds_auth_clear(&a);
		return;
	}
	ds_auth_clear(&a);
	ds_agents_accept(m->ds.agents, req);
}

static void
ds_main_handle(struct http_req *req, void *arg)
{
	struct ds_main *m = arg;
	const char *path = ds_main_path(req);

	log_debug("http request", "method", http_req_method(req), "path", path);
	if (strcmp(path, "/") == 0) {
		/* livekit-server's health answer. */
		http_reply_text(req, 200, "OK");
	} else if (strncmp(path, DS_TWIRP_PREFIX, strlen(DS_TWIRP_PREFIX)) == 0) {
		ds_twirp_handle(&m->ds, req, path);
	} else if (ds_rtc_path(path)) {
		ds_rtc_handle(m->rtc, req, path);
	} else if (strcmp(path, "/agent") == 0 || strcmp(path, "/agent/") == 0) {
		ds_main_agent(m, req);
	} else if (strcmp(path, "/debug/jobs") == 0 && strcmp(http_req_method(req), "GET") == 0) {
		/* Dev server only, no auth: the job table for tests and humans. */
		ds_twirp_debug_jobs(&m->ds, req);
	} else if (strcmp(path, "/debug/rtc") == 0 && strcmp(http_req_method(req), "GET") == 0) {
		ds_main_debug_rtc(m, req);
	} else {
		http_reply_text(req, 404, "not found");
	}
}

static void
ds_main_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("lk-devserver stopping", "signal", log_fmt("%d", w->signum));
	ev_break(loop, EVBREAK_ALL);
}

static void
ds_main_usage(FILE *out, const struct cfg_opt *opts, size_t n)
{
	fprintf(out,
	        "usage: lk-devserver [options]\n"
	        "A LiveKit-compatible server for local runs and tests.\n\n");
	cfg_usage(opts, n, out);
	fprintf(out,
	        "  --version: print the version and exit\n"
	        "  --help: print this help and exit\n");
}

int
main(int argc, char **argv)
{
	struct ds_main m;
	struct ds_opts o;
	struct http_server_opts hopts;
	struct ds_sfu_opts sopts;
	struct ev_loop *loop;
	ev_signal sigint, sigterm;
	char err[512], url[128];
	const char *host;
	int i, rc;
	const struct cfg_opt opts[] = {
	        {.flag = "bind",
	                .type = CFG_STR,
	                .dst = &o.bind,
	                .def = "127.0.0.1",
	                .help = "address to listen on"},
	        {.flag = "port",
	                .type = CFG_INT,
	                .dst = &o.port,
	                .def = "7880",
	                .min = 0,
	                .max = 65535,
	                .help = "TCP port for HTTP and WebSocket (0 = any free port)"},
	        {.flag = "keys",
	                .env = "LIVEKIT_KEYS",
	                .type = CFG_STR,
	                .dst = &o.keys,
	                .def = "devkey:secret",
	                .secret = 1,
	                .help = "API keys, key:secret[,key2:secret2] (LIVEKIT_KEYS: \"key: secret\")"},
	        {.flag = "rtc-ip",
	                .type = CFG_STR,
	                .dst = &o.rtc_ip,
	                .def = "auto",
	                .help = "IP address for ICE candidates, or auto (first non-loopback IPv4)"},
	        {.flag = "rtc-port-range",
	                .type = CFG_STR,
	                .dst = &o.rtc_port_range,
	                .def = "50000-60000",
	                .help = "UDP ports for the media transports, MIN-MAX"},
	        {.flag = "rtc-drop-rate",
	                .type = CFG_DOUBLE,
	                .dst = &o.rtc_drop_rate,
	                .def = "0",
	                .dmin = 0,
	                .dmax = 1,
	                .help = "fraction of forwarded RTP packets to drop (loss tests), 0..1"},
	        {.flag = "log-level",
	                .env = "LK_LOG_LEVEL",
	                .type = CFG_ENUM,
	                .dst = &o.log_level,
	                .def = "info",
	                .choices = ds_log_levels,
	                .help = "log level"},
	        {.flag = "log-format",
	                .env = "LK_LOG_FORMAT",
	                .type = CFG_ENUM,
	                .dst = &o.log_format,
	                .def = "json",
	                .choices = ds_log_formats,
	                .help = "log line format"},
	};
	const size_t nopts = sizeof(opts) / sizeof(opts[0]);

	log_init("lk-devserver");
	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("lk-devserver %s (%s)\n", PACKAGE_VERSION, LK_GIT_COMMIT);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ds_main_usage(stdout, opts, nopts);
			return 0;
		}
	}
	if (cfg_load(opts, nopts, argc, argv, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "lk-devserver: %s (see --help)\n", err);
		cfg_free(opts, nopts);
		return 2;
	}
	log_set_level((enum log_level)o.log_level);
	log_set_format((enum log_format)o.log_format);

	memset(&m, 0, sizeof(m));
	if (ds_auth_parse_keys(o.keys, &m.ds.keys, &m.ds.nkeys, err, sizeof(err)) < 0) {
		fprintf(stderr, "lk-devserver: --keys / LIVEKIT_KEYS: %s\n", err);
		cfg_free(opts, nopts);
		return 2;
	}
	memset(&sopts, 0, sizeof(sopts));
	if (ds_main_port_range(o.rtc_port_range, &sopts.port_min, &sopts.port_max) < 0) {
		fprintf(stderr,
		        "lk-devserver: --rtc-port-range: expected MIN-MAX with 1 <= MIN <= MAX <= "
		        "65535, got \"%s\"\n",
		        o.rtc_port_range);
		ds_auth_free_keys(m.ds.keys, m.ds.nkeys);
		cfg_free(opts, nopts);
		return 2;
	}
	if (strcmp(o.rtc_ip, "auto") == 0)
		ds_main_detect_ip(m.ds.rtc_ip, sizeof(m.ds.rtc_ip));
	else
		lk_strlcpy(m.ds.rtc_ip, o.rtc_ip, sizeof(m.ds.rtc_ip));
	sopts.rtc_ip = m.ds.rtc_ip;
	sopts.drop_rate = o.rtc_drop_rate;

	/* A peer that vanishes mid-write must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	loop = EV_DEFAULT;
	m.ds.loop = loop;
	ds_rooms_init(&m.ds);
	m.ds.agents = ds_agents_new(&m.ds);
	m.rtc = ds_rtc_new(&m.ds);
	m.sfu = ds_sfu_new(loop, &sopts, err, sizeof(err));
	if (m.sfu == NULL) {
		log_error("lk-devserver media setup failed", "err", err);
		rc = 1;
		goto out;
	}
	ds_rtc_set_sfu(m.rtc, m.sfu);

	memset(&hopts, 0, sizeof(hopts));
	hopts.bind = o.bind;
	hopts.port = (uint16_t)o.port;
	hopts.max_body = DS_MAX_BODY;
	hopts.handler = ds_main_handle;
	hopts.arg = &m;
	m.http = http_server_new(loop, &hopts, err, sizeof(err));
	rc = 0;
	if (m.http == NULL) {
		log_error("lk-devserver listen failed", "bind", o.bind, "port",
		        log_fmt("%ld", o.port), "err", err);
		rc = 1;
		goto out;
	}
	m.ds.port = http_server_port(m.http);

	ev_signal_init(&sigint, ds_main_signal_cb, SIGINT);
	ev_signal_init(&sigterm, ds_main_signal_cb, SIGTERM);
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);

	host = strcmp(o.bind, "0.0.0.0") == 0 || strcmp(o.bind, "::") == 0 ? "127.0.0.1" : o.bind;
	snprintf(url, sizeof(url), strchr(host, ':') != NULL ? "ws://[%s]:%u" : "ws://%s:%u", host,
	        (unsigned)m.ds.port);
	log_info("lk-devserver listening", "url", url, "bind", o.bind, "port",
	        log_fmt("%u", (unsigned)m.ds.port), "rtc_ip", m.ds.rtc_ip, "rtc_ports",
	        o.rtc_port_range, "rtc_drop_rate", log_fmt("%g", o.rtc_drop_rate), "api_key",
	        m.ds.keys[0].key, "keys", log_fmt("%d", m.ds.nkeys));
	ev_run(loop, 0);

	ev_signal_stop(loop, &sigint);
	ev_signal_stop(loop, &sigterm);
out:
	/* Stop taking requests first; then the sockets, then the tables they point into. */
	if (m.http != NULL)
		http_server_free(m.http);
	ds_rtc_free(m.rtc);
	ds_sfu_free(m.sfu);
	ds_agents_free(m.ds.agents);
	m.ds.agents = NULL;
	ds_rooms_free(&m.ds);
	ds_auth_free_keys(m.ds.keys, m.ds.nkeys);
	cfg_free(opts, nopts);
	if (rc == 0)
		log_info("lk-devserver stopped");
	return rc;
}
