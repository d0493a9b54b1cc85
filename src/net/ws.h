/*
 * ws: one WebSocket connection on a libev loop (RFC 6455 framing by wslay,
 * TCP or TLS by OpenSSL). Client role: connect to ws:// or wss:// with a
 * Bearer token and do the HTTP upgrade. Server role: take a socket that an
 * HTTP server already upgraded. Used by lk-supervisor (/agent), lk-jobproc
 * (/rtc) and lk-devserver (both, server side). Incoming messages over
 * max_msg are refused with close code 1009.
 */
#ifndef LK_WS_H
#define LK_WS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ws;

struct ws_cbs {
	/* Client: the upgrade succeeded. Server: not called. */
	void (*on_open)(struct ws *ws, void *arg);
	/* One complete message. */
	void (*on_message)(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg);
	/*
	 * The connection ended (close frame, EOF, error, timeout, failed connect
	 * or upgrade). Called exactly once. code: the close code, or 1006 when
	 * there was none; http_status: the upgrade's HTTP status when the
	 * upgrade was refused (e.g. 401), else 0. reason: human text.
	 * ws_free may be called from inside any callback.
	 */
	void (*on_close)(struct ws *ws, int code, int http_status, const char *reason, void *arg);
};

struct ws_client_opts {
	const char *url; /* ws://host:port/path?query or wss://... */
	const char *bearer; /* JWT for "Authorization: Bearer", or NULL */
	size_t max_msg; /* 0 = 2 MiB */
	int connect_timeout_ms; /* 0 = 10000; covers TCP + TLS + upgrade */
	int tls_insecure; /* skip certificate verification (tests only) */
};

struct ws *ws_connect(struct ev_loop *loop, const struct ws_client_opts *opts,
        const struct ws_cbs *cbs, void *arg);

/*
 * Server side: fd is an already-upgraded socket (the 101 was sent). pending
 * holds bytes the HTTP layer read past the request head. close_fd, if set,
 * is called instead of close(fd) when the connection ends.
 */
struct ws *ws_accept(struct ev_loop *loop, int fd, const uint8_t *pending, size_t npending,
        size_t max_msg, void (*close_fd)(int fd, void *carg), void *carg, const struct ws_cbs *cbs,
        void *arg);

/* Queue one message. 0, or LK_ECLOSED / LK_ETOOBIG. */
int ws_send(struct ws *ws, int binary, const void *data, size_t len);
/* Send a ping control frame (the peer's pong is handled internally). */
int ws_ping(struct ws *ws);
/* Start a graceful close (close frame, then EOF); on_close follows. */
void ws_close(struct ws *ws, int code, const char *reason);
/* Drop at once without a close frame (tests: simulate a dead peer). */
void ws_abort(struct ws *ws);
/* Milliseconds since anything (data or control frame) was last received. */
int64_t ws_idle_ms(const struct ws *ws);
int ws_is_open(const struct ws *ws);
/* Free; safe inside callbacks (deferred). Does not call on_close. */
void ws_free(struct ws *ws);

/* Build the Sec-WebSocket-Accept value for a key (out >= 29 bytes). */
void ws_accept_key(const char *key, char *out, size_t outlen);

/*
 * URL helpers: split ws(s)/http(s) URLs. Returns 0 or LK_EINVAL. path
 * includes the query ("/" when empty).
 */
struct ws_url {
	int tls;
	char host[256];
	char port[8];
	char path[2048];
};
int ws_parse_url(const char *url, struct ws_url *out);

#endif
