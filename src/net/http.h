/*
 * http: a small HTTP/1.1 server on a libev loop, built on libmicrohttpd
 * (external epoll mode, no threads of its own). Used by lk-supervisor
 * (health, metrics) and lk-devserver (Twirp, /agent and /rtc upgrades).
 * Request bodies are bounded; a larger body gets 413 without reaching the
 * handler.
 */
#ifndef LK_HTTP_H
#define LK_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct http_server;
struct http_req;
struct ws_cbs;
struct ws;

/*
 * Called once per complete request. The handler must answer with exactly
 * one http_reply* call before returning.
 */
typedef void (*http_handler_fn)(struct http_req *req, void *arg);

struct http_server_opts {
	const char *bind; /* "127.0.0.1", "0.0.0.0", "::" */
	uint16_t port; /* 0 = pick a free port */
	size_t max_body; /* 0 = 1 MiB */
	http_handler_fn handler;
	void *arg;
};

struct http_server *http_server_new(
        struct ev_loop *loop, const struct http_server_opts *opts, char *err, size_t errlen);
uint16_t http_server_port(const struct http_server *srv);
void http_server_free(struct http_server *srv);

const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req); /* without the query */
/* Case-insensitive header lookup; NULL if absent. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Decoded query parameter; NULL if absent. */
const char *http_req_query(const struct http_req *req, const char *name);
const uint8_t *http_req_body(const struct http_req *req, size_t *len);
/* True for a GET with "Upgrade: websocket" and a Sec-WebSocket-Key. */
int http_req_is_ws_upgrade(const struct http_req *req);

/* Reply with a body (copied). content_type may be NULL for text/plain. */
void http_reply(struct http_req *req, unsigned status, const char *content_type, const void *body,
        size_t len);
/* Convenience: status + NUL-terminated text. */
void http_reply_text(struct http_req *req, unsigned status, const char *text);

/*
 * Accept a WebSocket upgrade (101 + Sec-WebSocket-Accept). When the socket
 * is handed over, on_ws(ws, ws_arg) is called with the new connection whose
 * callbacks are cbs/cb_arg; the caller owns it from then on.
 */
typedef void (*http_ws_ready_fn)(struct ws *ws, void *ws_arg);
void http_reply_ws(struct http_req *req, size_t max_msg, const struct ws_cbs *cbs, void *cb_arg,
        http_ws_ready_fn on_ws, void *ws_arg);

#endif
