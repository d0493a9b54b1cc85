/*
 * http: HTTP/1.1 server on a libev loop, libmicrohttpd in external epoll
 * mode (no threads of its own), with WebSocket upgrades handed to ws.c.
 * Runs in lk-supervisor (health, metrics) and lk-devserver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/http.h"
#include "net/httphead.h"
#include "net/ws.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
/* Idle keep-alive and stalled uploads are dropped after this. */
#define HTTP_CONN_TIMEOUT_S 30u

/*
 * One upgrade: created by http_reply_ws, owned by the request until MHD
 * hands the socket over, then by the server (ups list) until the ws lets
 * go of the socket, then queued on `closing` until MHD is told.
 */
struct http_up {
	struct http_server *srv; /* NULL once the server is gone */
	struct MHD_UpgradeResponseHandle *urh;
	struct ws *ws;
	struct http_up *next;
	size_t max_msg;
	struct ws_cbs cbs;
	void *cb_arg;
	http_ws_ready_fn on_ws;
	void *ws_arg;
};

struct http_server {
	struct ev_loop *loop;
	struct MHD_Daemon *daemon;
	ev_io io;
	ev_timer timer;
	http_handler_fn handler;
	void *arg;
	size_t max_body;
	uint16_t port;
	struct http_up *ups;
	struct http_up *closing;
	int freeing;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method; /* MHD's strings, valid until the request completes */
	const char *path;
	struct buf body;
	int too_big;
	int handled;
	int replied;
	struct http_up *up; /* upgrade queued but not yet handed over */
};

static void http_service(struct http_server *srv);

__attribute__((format(printf, 2, 0))) static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug("http server", "detail", line);
}

static void
http_unlink_up(struct http_up **head, struct http_up *up)
{
	struct http_up **pp;

	for (pp = head; *pp; pp = &(*pp)->next) {
		if (*pp == up) {
			*pp = up->next;
			up->next = NULL;
			return;
		}
	}
}

/* Tell MHD about sockets the ws layer released (outside MHD_run). */
static int
http_flush_closing(struct http_server *srv)
{
	struct http_up *up;
	int n = 0;

	while ((up = srv->closing) != NULL) {
		srv->closing = up->next;
		MHD_upgrade_action(up->urh, MHD_UPGRADE_ACTION_CLOSE);
		free(up);
		n++;
	}
	return n;
}

static void
http_rearm(struct http_server *srv)
{
	MHD_UNSIGNED_LONG_LONG to;

	ev_timer_stop(srv->loop, &srv->timer);
	/* MHD_get_timeout: 0 when MHD has ready work without a new event. */
	if (MHD_get_timeout(srv->daemon, &to) == MHD_YES) {
		ev_timer_set(&srv->timer, (double)to / 1000.0, 0.);
		ev_timer_start(srv->loop, &srv->timer);
	}
}

static void
http_service(struct http_server *srv)
{
	http_flush_closing(srv);
	MHD_run(srv->daemon);
	/* Upgraded sockets released during MHD_run: close them now. */
	if (http_flush_closing(srv) > 0)
		MHD_run(srv->daemon);
	http_rearm(srv);
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	http_service(w->data);
}

static void
http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	http_service(w->data);
}

/* ws close_fd hook: the ws is done with an upgraded socket. */
static void
http_ws_close_fd(int fd, void *carg)
{
	struct http_up *up = carg;
	struct http_server *srv = up->srv;

	if (srv == NULL) {
		/* Server already stopped; MHD closed the socket itself. */
		free(up);
		return;
	}
	http_unlink_up(&srv->ups, up);
	up->ws = NULL;
	/*
	 * MHD_upgrade_action(CLOSE) runs from the service callback, never
	 * inside a ws or MHD callback; the zero timer gets there next turn.
	 */
	up->next = srv->closing;
	srv->closing = up;
	if (!srv->freeing) {
		ev_timer_stop(srv->loop, &srv->timer);
		ev_timer_set(&srv->timer, 0., 0.);
		ev_timer_start(srv->loop, &srv->timer);
	}
}

static void
http_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct http_up *up = cls;
	struct http_req *req = con_cls;
	struct http_server *srv = up->srv;
	struct ws *ws;

	if (req != NULL && req->up == up)
		req->up = NULL;
	up->urh = urh;
	up->next = srv->ups;
	srv->ups = up;
	ws = ws_accept(srv->loop, sock, (const uint8_t *)extra_in, extra_in_size, up->max_msg,
	        http_ws_close_fd, up, &up->cbs, up->cb_arg);
	if (ws == NULL) {
		log_warn("websocket accept failed", "path", req ? req->path : NULL);
		http_unlink_up(&srv->ups, up);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(up);
		return;
	}
	up->ws = ws;
	if (up->on_ws)
		up->on_ws(ws, up->ws_arg);
	else
		ws_free(ws);
}

static void
http_completed(
        void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;

	if (req == NULL)
		return;
	/* An upgrade that never happened (the peer left before the 101). */
	free(req->up);
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_req *req = *con_cls;
	const char *cl;
	char *end;
	unsigned long long clen;

	if (req == NULL) {
		/* First call: headers only (MHD calls again for the body and at the end). */
		req = lk_xcalloc(1, sizeof(*req));
		req->srv = srv;
		req->conn = conn;
		req->method = method;
		req->path = url;
		buf_init(&req->body, srv->max_body);
		*con_cls = req;
		cl = MHD_lookup_connection_value(
		        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			errno = 0;
			clen = strtoull(cl, &end, 10);
			if (errno == 0 && end != cl && clen > srv->max_body) {
				/* RFC 9110 §15.5.14: refuse before reading the body. */
				http_reply_text(req, MHD_HTTP_CONTENT_TOO_LARGE,
				        "request body too large\n");
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->replied && !req->too_big &&
		        buf_append(&req->body, upload_data, *upload_data_size) < 0) {
			/* Chunked body past the limit: keep draining, answer 413 at the end. */
			req->too_big = 1;
			buf_free(&req->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->replied || req->handled)
		return MHD_YES;
	req->handled = 1;
	if (req->too_big) {
		http_reply_text(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
		return MHD_YES;
	}
	srv->handler(req, srv->arg);
	if (!req->replied) {
		log_debug("http handler did not reply", "method", req->method, "path", req->path);
		http_reply_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	}
	return MHD_YES;
}

struct http_server *
http_server_new(struct ev_loop *loop, const struct http_server_opts *opts, char *err, size_t errlen)
{
	struct http_server *srv;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *info;
	const char *bind = opts && opts->bind ? opts->bind : "127.0.0.1";
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (err && errlen)
		err[0] = '\0';
	if (loop == NULL || opts == NULL || opts->handler == NULL) {
		if (err)
			snprintf(err, errlen, "http server: no handler");
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, bind, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(opts->port);
	} else if (inet_pton(AF_INET6, bind, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(opts->port);
		flags |= MHD_USE_IPv6;
	} else {
		if (err)
			snprintf(err, errlen, "http server: bad bind address \"%s\"", bind);
		return NULL;
	}
	srv = lk_xcalloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->handler = opts->handler;
	srv->arg = opts->arg;
	srv->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
	/* No MHD threads: MHD_USE_EPOLL without an internal polling thread. */
	srv->daemon = MHD_start_daemon(flags, opts->port, NULL, NULL, http_access, srv,
	        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	        (const struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
	        MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		if (err)
			snprintf(err, errlen, "http server: cannot listen on %s:%u: %s", bind,
			        (unsigned)opts->port, errno ? strerror(errno) : "start failed");
		free(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : opts->port;
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		if (err)
			snprintf(err, errlen, "http server: no epoll fd");
		MHD_stop_daemon(srv->daemon);
		free(srv);
		return NULL;
	}
	/* MHD's epoll fd turns readable when any of its sockets is ready. */
	ev_io_init(&srv->io, http_io_cb, info->epoll_fd, EV_READ);
	srv->io.data = srv;
	ev_io_start(loop, &srv->io);
	ev_init(&srv->timer, http_timer_cb);
	srv->timer.data = srv;
	http_rearm(srv);
	return srv;
}

uint16_t
http_server_port(const struct http_server *srv)
{
	return srv ? srv->port : 0;
}

void
http_server_free(struct http_server *srv)
{
	struct http_up *up, *next;
	struct ws *ws;

	if (srv == NULL)
		return;
	srv->freeing = 1;
	/*
	 * MHD_stop_daemon closes upgraded sockets behind the application's
	 * back, so end each live WebSocket first (its owner gets on_close).
	 */
	for (;;) {
		for (up = srv->ups; up != NULL && up->ws == NULL; up = up->next)
			;
		if (up == NULL)
			break;
		ws = up->ws;
		/* The hook unlinks up; if ws_abort was a no-op, skip it next time. */
		up->ws = NULL;
		ws_abort(ws);
	}
	/* A ws freed inside its own callback may still hold its socket. */
	for (up = srv->ups; up != NULL; up = next) {
		next = up->next;
		MHD_upgrade_action(up->urh, MHD_UPGRADE_ACTION_CLOSE);
		up->srv = NULL;
		up->urh = NULL;
		up->next = NULL;
	}
	srv->ups = NULL;
	http_flush_closing(srv);
	ev_io_stop(srv->loop, &srv->io);
	ev_timer_stop(srv->loop, &srv->timer);
	MHD_stop_daemon(srv->daemon);
	free(srv);
}

const char *
http_req_method(const struct http_req *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_req *req)
{
	return req->path;
}

const char *
http_req_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_req_query(const struct http_req *req, const char *name)
{
	const char *v = NULL;
	size_t vlen = 0;

	/* MHD decodes %xx and '+'; "?flag" without '=' has a NULL value. */
	if (MHD_lookup_connection_value_n(
	            req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, &vlen) != MHD_YES)
		return NULL;
	return v ? v : "";
}

const uint8_t *
http_req_body(const struct http_req *req, size_t *len)
{
	static const uint8_t empty[1];

	if (len)
		*len = req->body.len;
	return req->body.data ? req->body.data : empty;
}

int
http_req_is_ws_upgrade(const struct http_req *req)
{
	const char *up = http_req_header(req, MHD_HTTP_HEADER_UPGRADE);

	return strcmp(req->method, "GET") == 0 && up != NULL &&
	        httphead_has_token(up, strlen(up), "websocket") &&
	        http_req_header(req, "Sec-WebSocket-Key") != NULL;
}

void
http_reply(struct http_req *req, unsigned status, const char *content_type, const void *body,
        size_t len)
{
	struct MHD_Response *resp;

	if (req->replied) {
		log_debug("http second reply ignored", "path", req->path);
		return;
	}
	req->replied = 1;
	resp = MHD_create_response_from_buffer(
	        len, (void *)(body && len ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (resp == NULL) {
		log_warn("http reply failed", "path", req->path, "err", "out of memory");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	        content_type ? content_type : "text/plain; charset=utf-8");
	if (MHD_queue_response(req->conn, status, resp) != MHD_YES)
		log_debug("http reply not queued", "path", req->path, "status",
		        log_fmt("%u", status));
	MHD_destroy_response(resp);
}

void
http_reply_text(struct http_req *req, unsigned status, const char *text)
{
	http_reply(req, status, NULL, text, text ? strlen(text) : 0);
}

void
http_reply_ws(struct http_req *req, size_t max_msg, const struct ws_cbs *cbs, void *cb_arg,
        http_ws_ready_fn on_ws, void *ws_arg)
{
	const char *key, *ver, *conn;
	struct MHD_Response *resp;
	struct http_up *up;
	uint8_t raw[32];
	char accept[32];

	if (req->replied) {
		log_debug("http second reply ignored", "path", req->path);
		return;
	}
	key = http_req_header(req, "Sec-WebSocket-Key");
	ver = http_req_header(req, "Sec-WebSocket-Version");
	conn = http_req_header(req, MHD_HTTP_HEADER_CONNECTION);
	/* RFC 6455 §4.2.1: GET, Upgrade/Connection tokens, version 13 and a
	 * key that is base64 of exactly 16 bytes. */
	if (!http_req_is_ws_upgrade(req) || conn == NULL ||
	        !httphead_has_token(conn, strlen(conn), "upgrade") || ver == NULL ||
	        strcmp(ver, "13") != 0 || strlen(key) != 24 ||
	        lk_b64_decode(key, strlen(key), raw, sizeof(raw)) != 16) {
		http_reply_text(req, MHD_HTTP_BAD_REQUEST, "bad websocket upgrade\n");
		return;
	}
	ws_accept_key(key, accept, sizeof(accept));
	up = lk_xcalloc(1, sizeof(*up));
	up->srv = req->srv;
	up->max_msg = max_msg;
	if (cbs)
		up->cbs = *cbs;
	up->cb_arg = cb_arg;
	up->on_ws = on_ws;
	up->ws_arg = ws_arg;
	req->replied = 1;
	resp = MHD_create_response_for_upgrade(http_upgraded, up);
	if (resp == NULL) {
		free(up);
		req->replied = 0;
		http_reply_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
		return;
	}
	/* RFC 6455 §4.2.2 item 5; MHD adds "Connection: Upgrade" itself. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	if (MHD_queue_response(req->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp) != MHD_YES) {
		log_debug("websocket upgrade not queued", "path", req->path);
		free(up);
	} else {
		req->up = up;
	}
	MHD_destroy_response(resp);
}
