/*
 * ws: one WebSocket connection on a libev loop, client or server role.
 * RFC 6455 framing by wslay, transport a non-blocking socket or an OpenSSL
 * TLS session. Runs in lk-supervisor, lk-jobproc and lk-devserver.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "net/httphead.h"
#include "net/ws.h"

#define WS_DEFAULT_MAX_MSG (2u << 20)
#define WS_DEFAULT_CONNECT_MS 10000
/* A peer that does not answer our close frame is dropped after this. */
#define WS_CLOSE_TIMEOUT_S 2.0
/* After a close we initiated on error, wait this long for the peer's EOF. */
#define WS_LINGER_TIMEOUT_S 2.0
/* Outgoing bytes queued but not yet written; ws_send refuses beyond it. */
#define WS_SENDQ_MAX ((size_t)64 << 20)
#define WS_READ_CHUNK 4096

/* RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum ws_state {
	WS_CONNECTING, /* TCP connect in progress */
	WS_TLS, /* TLS handshake */
	WS_UPGRADE, /* request out, 101 in */
	WS_OPEN, /* frames flow, including during the close handshake */
	WS_LINGER, /* our close frame is out after an error; await EOF */
	WS_CLOSED, /* socket gone, on_close delivered */
};

struct ws {
	struct ev_loop *loop;
	enum ws_state state;
	int server;
	int fd;
	ev_io io;
	ev_timer timer;
	int io_events;
	wslay_event_context_ptr wctx;
	struct ws_cbs cbs;
	void *arg;
	size_t max_msg;

	/* client */
	struct ws_url url;
	int tls_insecure;
	struct addrinfo *ai_list;
	struct addrinfo *ai_next;
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	BIO_METHOD *bio_meth;
	int ssl_read_wants_write;
	int ssl_write_wants_read;
	struct buf out; /* the upgrade request */
	size_t out_off;
	char accept[32];

	/* upgrade response, then the bytes after it, served to wslay first */
	struct buf in;
	size_t pend_off;

	/* server */
	void (*close_fd)(int fd, void *carg);
	void *carg;

	int64_t last_rx;
	int close_initiated; /* ws_close queued our close frame first */
	/*
	 * wslay sends queued control frames ahead of queued data, so a close
	 * asked for while messages wait is held here until they are written.
	 */
	int close_deferred;
	uint16_t close_code;
	uint8_t close_reason[123];
	size_t close_rlen;
	int eof;
	int rx_failed; /* the socket (not the peer's framing) failed a read */
	int proto_error; /* wslay refused the peer's bytes */
	int linger_code;

	/* failure noticed where callbacks must not run: reported from the timer */
	int fail_pending;
	int fail_code;
	int fail_http;

	/* Deferred free: ws_free inside a callback only marks the handle. */
	int depth;
	int dead;
	int notified;

	char errtext[320];
	char reason[128];
};

static void ws_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void ws_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void ws_connect_step(struct ws *ws);
static void ws_tls_step(struct ws *ws);
static void ws_upgrade_step(struct ws *ws);
static void ws_pump(struct ws *ws);

/* ---- helpers ---------------------------------------------------------- */

static void
ws_enter(struct ws *ws)
{
	ws->depth++;
}

static void ws_destroy(struct ws *ws);

static void
ws_leave(struct ws *ws)
{
	if (--ws->depth == 0 && ws->dead)
		ws_destroy(ws);
}

/* True when processing must stop: freed from a callback, or finished. */
static int
ws_gone(const struct ws *ws)
{
	return ws->dead || ws->state == WS_CLOSED;
}

static void
ws_set_events(struct ws *ws, int events)
{
	if (ws->fd < 0)
		events = 0;
	if (events == ws->io_events && (events == 0 || ev_is_active(&ws->io)))
		return;
	ev_io_stop(ws->loop, &ws->io);
	ws->io_events = events;
	if (events) {
		ev_io_set(&ws->io, ws->fd, events);
		ev_io_start(ws->loop, &ws->io);
	}
}

static void
ws_timer_arm(struct ws *ws, double after)
{
	ev_timer_stop(ws->loop, &ws->timer);
	ev_timer_set(&ws->timer, after, 0.);
	ev_timer_start(ws->loop, &ws->timer);
}

static void
ws_set_err_ssl(struct ws *ws, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[120];

	if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(ws->errtext, sizeof(ws->errtext), "%s: %s", what, ebuf);
	} else if (errno != 0) {
		snprintf(ws->errtext, sizeof(ws->errtext), "%s: %s", what, strerror(errno));
	} else {
		snprintf(ws->errtext, sizeof(ws->errtext), "%s failed", what);
	}
	ERR_clear_error();
}

/* Release the transport: watchers, TLS, socket (through close_fd if set). */
static void
ws_teardown(struct ws *ws)
{
	ev_io_stop(ws->loop, &ws->io);
	ev_timer_stop(ws->loop, &ws->timer);
	ws->io_events = 0;
	if (ws->ssl) {
		SSL_free(ws->ssl);
		ws->ssl = NULL;
	}
	if (ws->ssl_ctx) {
		SSL_CTX_free(ws->ssl_ctx);
		ws->ssl_ctx = NULL;
	}
	if (ws->bio_meth) {
		BIO_meth_free(ws->bio_meth);
		ws->bio_meth = NULL;
	}
	if (ws->fd >= 0) {
		if (ws->close_fd)
			ws->close_fd(ws->fd, ws->carg);
		else
			close(ws->fd);
		ws->fd = -1;
	}
	if (ws->ai_list) {
		freeaddrinfo(ws->ai_list);
		ws->ai_list = ws->ai_next = NULL;
	}
}

/*
 * End the connection and report it. Callers hold ws_enter(), so a ws_free
 * from inside on_close is deferred until they ws_leave().
 */
static void
ws_finish(struct ws *ws, int code, int http_status, const char *reason)
{
	char text[sizeof(ws->errtext)];

	if (ws->state == WS_CLOSED)
		return;
	/* reason may point into ws, which teardown does not touch; copy anyway. */
	lk_strlcpy(text, reason ? reason : "", sizeof(text));
	ws_teardown(ws);
	ws->state = WS_CLOSED;
	log_debug("ws closed", "role", ws->server ? "server" : "client", "code",
	        log_fmt("%d", code), "http_status", log_fmt("%d", http_status), "reason", text);
	if (ws->notified || ws->dead)
		return;
	ws->notified = 1;
	if (ws->cbs.on_close)
		ws->cbs.on_close(ws, code, http_status, text, ws->arg);
}

/* Report a failure from the timer, where callbacks may run. */
static void
ws_fail_later(struct ws *ws, int code, int http_status)
{
	ev_io_stop(ws->loop, &ws->io);
	ws->io_events = 0;
	ws->fail_pending = 1;
	ws->fail_code = code;
	ws->fail_http = http_status;
	ws_timer_arm(ws, 0.);
}

/* ---- transport -------------------------------------------------------- */

#define WS_IO_AGAIN (-1)
#define WS_IO_ERR (-2)

/* >0 bytes, 0 at EOF, WS_IO_AGAIN or WS_IO_ERR (errtext set). */
static ssize_t
ws_tr_read(struct ws *ws, void *buf, size_t len)
{
	ssize_t n;
	int r, e;

	if (len > INT32_MAX)
		len = INT32_MAX;
	if (ws->ssl) {
		ERR_clear_error();
		errno = 0;
		ws->ssl_read_wants_write = 0;
		r = SSL_read(ws->ssl, buf, (int)len);
		if (r > 0)
			return r;
		e = SSL_get_error(ws->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return WS_IO_AGAIN;
		if (e == SSL_ERROR_WANT_WRITE) {
			ws->ssl_read_wants_write = 1;
			return WS_IO_AGAIN;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
			return 0;
		ws_set_err_ssl(ws, "tls read");
		return WS_IO_ERR;
	}
	for (;;) {
		n = recv(ws->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return WS_IO_AGAIN;
		snprintf(ws->errtext, sizeof(ws->errtext), "recv: %s", strerror(errno));
		return WS_IO_ERR;
	}
}

/* >0 bytes written, WS_IO_AGAIN or WS_IO_ERR (errtext set). */
static ssize_t
ws_tr_write(struct ws *ws, const void *buf, size_t len, int more)
{
	ssize_t n;
	int r, e;

	if (len > INT32_MAX)
		len = INT32_MAX;
	if (ws->ssl) {
		ERR_clear_error();
		errno = 0;
		ws->ssl_write_wants_read = 0;
		r = SSL_write(ws->ssl, buf, (int)len);
		if (r > 0)
			return r;
		e = SSL_get_error(ws->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE)
			return WS_IO_AGAIN;
		if (e == SSL_ERROR_WANT_READ) {
			ws->ssl_write_wants_read = 1;
			return WS_IO_AGAIN;
		}
		ws_set_err_ssl(ws, "tls write");
		return WS_IO_ERR;
	}
	for (;;) {
		n = send(ws->fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return WS_IO_AGAIN;
		snprintf(ws->errtext, sizeof(ws->errtext), "send: %s",
		        n == 0 ? "wrote nothing" : strerror(errno));
		return WS_IO_ERR;
	}
}

/* ---- wslay callbacks -------------------------------------------------- */

static ssize_t
ws_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct ws *ws = user;
	size_t avail;
	ssize_t n;

	if (ws_gone(ws)) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	avail = ws->in.len - ws->pend_off;
	if (avail > 0) {
		if (len > avail)
			len = avail;
		memcpy(buf, ws->in.data + ws->pend_off, len);
		ws->pend_off += len;
		if (ws->pend_off == ws->in.len) {
			buf_free(&ws->in);
			ws->pend_off = 0;
		}
		return (ssize_t)len;
	}
	n = ws_tr_read(ws, buf, len);
	if (n > 0)
		return n;
	if (n == WS_IO_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n == 0) {
		ws->eof = 1;
		lk_strlcpy(ws->errtext, "connection closed by peer", sizeof(ws->errtext));
	}
	ws->rx_failed = 1;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static ssize_t
ws_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	struct ws *ws = user;
	ssize_t n;

	if (ws_gone(ws) || ws->fd < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	n = ws_tr_write(ws, data, len, flags & WSLAY_MSG_MORE);
	if (n > 0)
		return n;
	wslay_event_set_error(
	        ctx, n == WS_IO_AGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static int
ws_wslay_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	/* RFC 6455 §5.3: masking keys come from a strong source of entropy. */
	if (lk_random(buf, len) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return 0;
}

static void
ws_wslay_frame_start(wslay_event_context_ptr ctx,
        const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct ws *ws = user;

	/* Any frame, control frames included, proves the peer alive. */
	ws->last_rx = lk_mono_ms();
}

static void
ws_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	static const uint8_t empty[1];
	struct ws *ws = user;
	size_t n;

	if (ws_gone(ws))
		return;
	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (ws->close_initiated)
			return; /* RFC 6455 §1.4: data after our close is discarded */
		if (ws->cbs.on_message)
			ws->cbs.on_message(ws, arg->opcode == WSLAY_BINARY_FRAME,
			        arg->msg ? arg->msg : empty, arg->msg_length, ws->arg);
		break;
	case WSLAY_CONNECTION_CLOSE:
		/* RFC 6455 §5.5.1: optional 2-byte code, then a UTF-8 reason. */
		n = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
		if (n >= sizeof(ws->reason))
			n = sizeof(ws->reason) - 1;
		if (n > 0)
			memcpy(ws->reason, arg->msg + 2, n);
		ws->reason[n] = '\0';
		break;
	default:
		break;
	}
}

static const struct wslay_event_callbacks ws_wslay_cbs = {
        .recv_callback = ws_wslay_recv,
        .send_callback = ws_wslay_send,
        .genmask_callback = ws_wslay_genmask,
        .on_frame_recv_start_callback = ws_wslay_frame_start,
        .on_msg_recv_callback = ws_wslay_msg,
};

static int
ws_wslay_init(struct ws *ws)
{
	int r;

	if (ws->server)
		r = wslay_event_context_server_init(&ws->wctx, &ws_wslay_cbs, ws);
	else
		r = wslay_event_context_client_init(&ws->wctx, &ws_wslay_cbs, ws);
	if (r != 0)
		return LK_ENOMEM;
	/* Larger messages get close code 1009 (RFC 6455 §7.4.1). */
	wslay_event_config_set_max_recv_msg_length(ws->wctx, ws->max_msg);
	return 0;
}

/* ---- frames (open state) ---------------------------------------------- */

static void
ws_linger_read(struct ws *ws)
{
	uint8_t scratch[WS_READ_CHUNK];
	ssize_t n;

	/* Drain raw bytes (TLS records included) so close() does not RST. */
	for (;;) {
		n = recv(ws->fd, scratch, sizeof(scratch), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ws_finish(ws, ws->linger_code, 0, ws->reason[0] ? ws->reason : "closed");
		return;
	}
}

/* Both directions are done (wslay wants neither to read nor to write). */
static void
ws_done(struct ws *ws)
{
	int sent = wslay_event_get_status_code_sent(ws->wctx);
	int recvd = wslay_event_get_status_code_received(ws->wctx);
	int code;

	if (ws->ssl) {
		ERR_clear_error();
		SSL_shutdown(ws->ssl); /* close_notify; the answer is not awaited */
		ERR_clear_error();
	}
	if (wslay_event_get_close_received(ws->wctx)) {
		/* The closing handshake is complete (RFC 6455 §7.1.4). */
		code = ws->close_initiated ? sent : recvd;
		ws_finish(ws, code, 0, ws->reason[0] ? ws->reason : "closed");
		return;
	}
	/*
	 * wslay failed the connection (oversize, protocol or UTF-8 error) and
	 * sent its close frame. Half-close and drain until the peer's EOF so
	 * that the close frame is read before any reset (RFC 6455 §7.1.1).
	 */
	code = wslay_event_get_close_sent(ws->wctx) ? sent : 1006;
	if (ws->proto_error)
		code = 1002;
	if (code == 1009)
		lk_strlcpy(ws->reason, "message too big", sizeof(ws->reason));
	else if (code == 1002)
		lk_strlcpy(ws->reason, "protocol error", sizeof(ws->reason));
	else if (code == 1007)
		lk_strlcpy(ws->reason, "invalid payload data", sizeof(ws->reason));
	ws->linger_code = code;
	ws->state = WS_LINGER;
	shutdown(ws->fd, SHUT_WR);
	ws_set_events(ws, EV_READ);
	ws_timer_arm(ws, WS_LINGER_TIMEOUT_S);
	ws_linger_read(ws);
}

static void
ws_update_events(struct ws *ws)
{
	int want_r = wslay_event_want_read(ws->wctx);
	int want_w = wslay_event_want_write(ws->wctx);
	int ev = 0;

	if (!want_r && !want_w) {
		ws_done(ws);
		return;
	}
	if (want_r || ws->ssl_write_wants_read)
		ev |= EV_READ;
	if (want_w || ws->ssl_read_wants_write)
		ev |= EV_WRITE;
	ws_set_events(ws, ev);
}

static void
ws_io_failed(struct ws *ws)
{
	/* EOF after our own close frame went out: the peer just hung up. */
	if (ws->eof && ws->close_initiated && wslay_event_get_close_sent(ws->wctx)) {
		ws_finish(ws, wslay_event_get_status_code_sent(ws->wctx), 0, "closed");
		return;
	}
	ws_finish(ws, 1006, 0, ws->errtext[0] ? ws->errtext : "connection failed");
}

static void
ws_pump(struct ws *ws)
{
	int r;

	if (wslay_event_want_read(ws->wctx)) {
		ws->rx_failed = 0;
		r = wslay_event_recv(ws->wctx);
		if (ws_gone(ws) || ws->state != WS_OPEN)
			return;
		if (r != 0) {
			if (ws->rx_failed || r == WSLAY_ERR_NOMEM) {
				ws_io_failed(ws);
				return;
			}
			/*
			 * The frame parser refused the peer's bytes (a bad length
			 * or control frame): wslay queued a close frame and stopped
			 * reading. Send it, then end (RFC 6455 §7.1.7).
			 */
			ws->proto_error = 1;
		}
	}
	if (wslay_event_want_write(ws->wctx)) {
		r = wslay_event_send(ws->wctx);
		if (ws_gone(ws) || ws->state != WS_OPEN)
			return;
		if (r != 0) {
			ws_io_failed(ws);
			return;
		}
	}
	if (ws->close_deferred && wslay_event_get_queued_msg_count(ws->wctx) == 0) {
		/* Everything queued before ws_close is out: now the close frame. */
		ws->close_deferred = 0;
		wslay_event_queue_close(ws->wctx, ws->close_code, ws->close_reason, ws->close_rlen);
	}
	ws_update_events(ws);
}

/* ---- client: connect, TLS, upgrade ------------------------------------ */

static int
ws_is_ip_literal(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* Start a non-blocking connect to the next address; LK_EIO when none is left. */
static int
ws_connect_next(struct ws *ws)
{
	struct addrinfo *ai;
	int fd, one = 1;

	while ((ai = ws->ai_next) != NULL) {
		ws->ai_next = ai->ai_next;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		        ai->ai_protocol);
		if (fd < 0) {
			snprintf(ws->errtext, sizeof(ws->errtext), "socket: %s", strerror(errno));
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			snprintf(ws->errtext, sizeof(ws->errtext), "connect: %s", strerror(errno));
			close(fd);
			continue;
		}
		/* Writable means connected or failed; SO_ERROR tells which. */
		ws->fd = fd;
		ws_set_events(ws, EV_WRITE);
		return 0;
	}
	return LK_EIO;
}

static void
ws_connect_step(struct ws *ws)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err != 0) {
		snprintf(ws->errtext, sizeof(ws->errtext), "connect %.200s:%s: %s", ws->url.host,
		        ws->url.port, strerror(err));
		ws_set_events(ws, 0);
		close(ws->fd);
		ws->fd = -1;
		if (ws_connect_next(ws) < 0)
			ws_finish(ws, 1006, 0, ws->errtext);
		return;
	}
	freeaddrinfo(ws->ai_list);
	ws->ai_list = ws->ai_next = NULL;
	if (ws->url.tls) {
		ws->state = WS_TLS;
		ws_tls_step(ws);
	} else {
		ws->state = WS_UPGRADE;
		ws_upgrade_step(ws);
	}
}

/*
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a
 * peer reset; this one uses send(MSG_NOSIGNAL) so a dead peer is an error.
 */
#define WS_BIO_TYPE ((BIO_TYPE_START + 0x31) | BIO_TYPE_SOURCE_SINK)

static int
ws_bio_write(BIO *b, const char *data, int len)
{
	struct ws *ws = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(ws->fd, data, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
ws_bio_read(BIO *b, char *buf, int len)
{
	struct ws *ws = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = recv(ws->fd, buf, (size_t)len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
ws_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct ws *ws = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = ws->fd;
		return ws->fd;
	default:
		return 0;
	}
}

static int
ws_tls_setup(struct ws *ws)
{
	BIO *bio;
	const char *host = ws->url.host;
	X509_VERIFY_PARAM *param;

	ws->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (ws->ssl_ctx == NULL)
		return LK_ENOMEM;
	SSL_CTX_set_min_proto_version(ws->ssl_ctx, TLS1_2_VERSION);
	/* An EOF without close_notify reads as a plain EOF, as over TCP. */
	SSL_CTX_set_options(ws->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (!ws->tls_insecure) {
		if (SSL_CTX_set_default_verify_paths(ws->ssl_ctx) != 1)
			return LK_EIO;
		SSL_CTX_set_verify(ws->ssl_ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ws->ssl_ctx, SSL_VERIFY_NONE, NULL);
	}
	ws->ssl = SSL_new(ws->ssl_ctx);
	if (ws->ssl == NULL)
		return LK_ENOMEM;
	SSL_set_mode(ws->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	ws->bio_meth = BIO_meth_new(WS_BIO_TYPE, "lk-ws-socket");
	if (ws->bio_meth == NULL || BIO_meth_set_write(ws->bio_meth, ws_bio_write) != 1 ||
	        BIO_meth_set_read(ws->bio_meth, ws_bio_read) != 1 ||
	        BIO_meth_set_ctrl(ws->bio_meth, ws_bio_ctrl) != 1)
		return LK_ENOMEM;
	bio = BIO_new(ws->bio_meth);
	if (bio == NULL)
		return LK_ENOMEM;
	BIO_set_data(bio, ws);
	BIO_set_init(bio, 1);
	SSL_set_bio(ws->ssl, bio, bio);
	if (ws_is_ip_literal(host)) {
		/* RFC 6066 §3: no SNI for address literals; check the IP SAN. */
		if (!ws->tls_insecure) {
			param = SSL_get0_param(ws->ssl);
			if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
				return LK_EINVAL;
		}
	} else {
		if (SSL_set_tlsext_host_name(ws->ssl, host) != 1)
			return LK_EINVAL;
		if (!ws->tls_insecure && SSL_set1_host(ws->ssl, host) != 1)
			return LK_EINVAL;
	}
	SSL_set_connect_state(ws->ssl);
	return 0;
}

static void
ws_tls_step(struct ws *ws)
{
	long vr;
	int r, e;

	if (ws->ssl == NULL && ws_tls_setup(ws) < 0) {
		ws_set_err_ssl(ws, "tls setup");
		ws_finish(ws, 1006, 0, ws->errtext);
		return;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_connect(ws->ssl);
	if (r == 1) {
		ws->state = WS_UPGRADE;
		ws_upgrade_step(ws);
		return;
	}
	e = SSL_get_error(ws->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		ws_set_events(ws, EV_READ);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		ws_set_events(ws, EV_WRITE);
		return;
	}
	vr = SSL_get_verify_result(ws->ssl);
	if (vr != X509_V_OK) {
		snprintf(ws->errtext, sizeof(ws->errtext), "tls handshake: certificate: %s",
		        X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else {
		ws_set_err_ssl(ws, "tls handshake");
	}
	ws_finish(ws, 1006, 0, ws->errtext);
}

static void
ws_upgrade_done(struct ws *ws, size_t headlen)
{
	ws->pend_off = headlen;
	if (ws->pend_off == ws->in.len) {
		buf_free(&ws->in);
		ws->pend_off = 0;
	}
	buf_free(&ws->out);
	if (ws_wslay_init(ws) < 0) {
		ws_finish(ws, 1006, 0, "out of memory");
		return;
	}
	ev_timer_stop(ws->loop, &ws->timer);
	ws->state = WS_OPEN;
	ws->last_rx = lk_mono_ms();
	if (ws->cbs.on_open)
		ws->cbs.on_open(ws, ws->arg);
	if (ws_gone(ws) || ws->state != WS_OPEN)
		return;
	/* Frames may have arrived with the head; wslay reads those first. */
	ws_pump(ws);
}

static void
ws_upgrade_step(struct ws *ws)
{
	struct httphead head;
	ssize_t n;
	int rc;
	char why[64];

	while (ws->out_off < ws->out.len) {
		n = ws_tr_write(ws, ws->out.data + ws->out_off, ws->out.len - ws->out_off, 0);
		if (n == WS_IO_AGAIN) {
			ws_set_events(ws, ws->ssl_write_wants_read ? EV_READ : EV_WRITE);
			return;
		}
		if (n < 0) {
			ws_finish(ws, 1006, 0, ws->errtext);
			return;
		}
		ws->out_off += (size_t)n;
	}
	for (;;) {
		if (buf_reserve(&ws->in, WS_READ_CHUNK) < 0) {
			ws_finish(ws, 1006, 0, "upgrade response too large");
			return;
		}
		n = ws_tr_read(ws, ws->in.data + ws->in.len, WS_READ_CHUNK);
		if (n == WS_IO_AGAIN) {
			ws_set_events(ws, ws->ssl_read_wants_write ? EV_WRITE : EV_READ);
			return;
		}
		if (n == 0) {
			ws_finish(ws, 1006, 0, "connection closed during upgrade");
			return;
		}
		if (n < 0) {
			ws_finish(ws, 1006, 0, ws->errtext);
			return;
		}
		ws->in.len += (size_t)n;
		rc = httphead_parse_response(ws->in.data, ws->in.len, &head);
		if (rc == 0)
			continue;
		if (rc < 0) {
			ws_finish(ws, 1006, 0,
			        rc == LK_ETOOBIG ? "upgrade response too large"
			                         : "malformed upgrade response");
			return;
		}
		if (head.status != 101) {
			snprintf(why, sizeof(why), "upgrade refused: HTTP %d", head.status);
			ws_finish(ws, 1006, head.status, why);
			return;
		}
		if (httphead_check_ws_upgrade(&head, ws->accept) < 0) {
			ws_finish(ws, 1006, 0, "invalid upgrade response");
			return;
		}
		ws_upgrade_done(ws, (size_t)rc);
		return;
	}
}

/* ---- libev callbacks -------------------------------------------------- */

static void
ws_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ws *ws = w->data;

	ws_enter(ws);
	switch (ws->state) {
	case WS_CONNECTING:
		ws_connect_step(ws);
		break;
	case WS_TLS:
		ws_tls_step(ws);
		break;
	case WS_UPGRADE:
		ws_upgrade_step(ws);
		break;
	case WS_OPEN:
		ws_pump(ws);
		break;
	case WS_LINGER:
		ws_linger_read(ws);
		break;
	case WS_CLOSED:
		ws_set_events(ws, 0);
		break;
	}
	ws_leave(ws);
}

static void
ws_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ws *ws = w->data;

	ws_enter(ws);
	if (ws->fail_pending) {
		ws->fail_pending = 0;
		ws_finish(ws, ws->fail_code, ws->fail_http, ws->errtext);
	} else {
		switch (ws->state) {
		case WS_CONNECTING:
		case WS_TLS:
		case WS_UPGRADE:
			ws_finish(ws, 1006, 0, "connect timeout");
			break;
		case WS_OPEN:
			/* The peer never answered our close frame. */
			ws_finish(ws, ws->wctx ? wslay_event_get_status_code_sent(ws->wctx) : 1006,
			        0, "close timeout");
			break;
		case WS_LINGER:
			ws_finish(ws, ws->linger_code, 0, ws->reason[0] ? ws->reason : "closed");
			break;
		case WS_CLOSED:
			break;
		}
	}
	ws_leave(ws);
}

/* ---- public ----------------------------------------------------------- */

static struct ws *
ws_alloc(struct ev_loop *loop, const struct ws_cbs *cbs, void *arg, size_t max_msg)
{
	struct ws *ws = lk_xcalloc(1, sizeof(*ws));

	ws->loop = loop;
	ws->fd = -1;
	if (cbs)
		ws->cbs = *cbs;
	ws->arg = arg;
	ws->max_msg = max_msg ? max_msg : WS_DEFAULT_MAX_MSG;
	buf_init(&ws->out, HTTPHEAD_MAX);
	buf_init(&ws->in, HTTPHEAD_MAX + WS_READ_CHUNK);
	ev_init(&ws->io, ws_io_cb);
	ws->io.data = ws;
	ev_init(&ws->timer, ws_timer_cb);
	ws->timer.data = ws;
	ws->last_rx = lk_mono_ms();
	return ws;
}

static int
ws_header_safe(const char *s)
{
	/* A CR or LF would let a value inject header lines. */
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

struct ws *
ws_connect(struct ev_loop *loop, const struct ws_client_opts *opts, const struct ws_cbs *cbs,
        void *arg)
{
	struct addrinfo hints;
	struct ws *ws;
	uint8_t key[16];
	char key64[32], hostport[300];
	int rc, dflt;

	if (loop == NULL || opts == NULL || opts->url == NULL)
		return NULL;
	if (opts->bearer && !ws_header_safe(opts->bearer))
		return NULL;
	ws = ws_alloc(loop, cbs, arg, opts->max_msg);
	if (ws_parse_url(opts->url, &ws->url) < 0 || lk_random(key, sizeof(key)) < 0) {
		ws_destroy(ws);
		return NULL;
	}
	ws->tls_insecure = opts->tls_insecure;
	/* RFC 6455 §4.1: a random 16-byte nonce, base64; we expect its accept. */
	lk_b64_encode(key, sizeof(key), key64);
	ws_accept_key(key64, ws->accept, sizeof(ws->accept));
	dflt = strcmp(ws->url.port, ws->url.tls ? "443" : "80") == 0;
	snprintf(hostport, sizeof(hostport), "%s%s%s%s%s", strchr(ws->url.host, ':') ? "[" : "",
	        ws->url.host, strchr(ws->url.host, ':') ? "]" : "", dflt ? "" : ":",
	        dflt ? "" : ws->url.port);
	rc = buf_printf(&ws->out,
	        "GET %s HTTP/1.1\r\n"
	        "Host: %s\r\n"
	        "Upgrade: websocket\r\n"
	        "Connection: Upgrade\r\n"
	        "Sec-WebSocket-Key: %s\r\n"
	        "Sec-WebSocket-Version: 13\r\n",
	        ws->url.path, hostport, key64);
	if (rc >= 0 && opts->bearer)
		rc = buf_printf(&ws->out, "Authorization: Bearer %s\r\n", opts->bearer);
	if (rc >= 0)
		rc = buf_append(&ws->out, "\r\n", 2);
	if (rc < 0) {
		ws_destroy(ws);
		return NULL;
	}
	ws->state = WS_CONNECTING;
	ws_timer_arm(ws,
	        (opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : WS_DEFAULT_CONNECT_MS) /
	                1000.0);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Blocking resolution: connections are few and start-up bound. */
	rc = getaddrinfo(ws->url.host, ws->url.port, &hints, &ws->ai_list);
	if (rc != 0) {
		snprintf(ws->errtext, sizeof(ws->errtext), "resolve %.200s: %s", ws->url.host,
		        gai_strerror(rc));
		ws->ai_list = NULL;
		ws_fail_later(ws, 1006, 0);
		return ws;
	}
	ws->ai_next = ws->ai_list;
	if (ws_connect_next(ws) < 0)
		ws_fail_later(ws, 1006, 0);
	return ws;
}

struct ws *
ws_accept(struct ev_loop *loop, int fd, const uint8_t *pending, size_t npending, size_t max_msg,
        void (*close_fd)(int fd, void *carg), void *carg, const struct ws_cbs *cbs, void *arg)
{
	struct ws *ws;
	int fl, one = 1;

	if (loop == NULL || fd < 0)
		return NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ws = ws_alloc(loop, cbs, arg, max_msg);
	ws->server = 1;
	buf_init(&ws->in, 0);
	if ((npending > 0 && buf_append(&ws->in, pending, npending) < 0) || ws_wslay_init(ws) < 0) {
		ws_destroy(ws);
		return NULL;
	}
	/* Only now the handle owns fd: a NULL return above leaves it to the caller. */
	ws->fd = fd;
	ws->close_fd = close_fd;
	ws->carg = carg;
	ws->state = WS_OPEN;
	ws_set_events(ws, EV_READ);
	/* Bytes the HTTP layer already read are processed on the next turn. */
	if (npending > 0)
		ev_feed_event(loop, &ws->io, EV_READ);
	return ws;
}

int
ws_send(struct ws *ws, int binary, const void *data, size_t len)
{
	struct wslay_event_msg msg;
	int r;

	if (ws == NULL || ws->dead || ws->state != WS_OPEN || ws->close_initiated)
		return LK_ECLOSED;
	if (len > WS_SENDQ_MAX || wslay_event_get_queued_msg_length(ws->wctx) > WS_SENDQ_MAX - len)
		return LK_ETOOBIG;
	msg.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME;
	msg.msg = data;
	msg.msg_length = len;
	r = wslay_event_queue_msg(ws->wctx, &msg);
	if (r == WSLAY_ERR_NO_MORE_MSG)
		return LK_ECLOSED;
	if (r == WSLAY_ERR_NOMEM)
		return LK_ENOMEM;
	if (r != 0)
		return LK_EINVAL;
	ws_set_events(ws, ws->io_events | EV_WRITE);
	return 0;
}

int
ws_ping(struct ws *ws)
{
	struct wslay_event_msg msg = {WSLAY_PING, NULL, 0};

	if (ws == NULL || ws->dead || ws->state != WS_OPEN || ws->close_initiated)
		return LK_ECLOSED;
	if (wslay_event_queue_msg(ws->wctx, &msg) != 0)
		return LK_ECLOSED;
	ws_set_events(ws, ws->io_events | EV_WRITE);
	return 0;
}

void
ws_close(struct ws *ws, int code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;

	if (ws == NULL || ws->dead)
		return;
	if (ws->state == WS_CONNECTING || ws->state == WS_TLS || ws->state == WS_UPGRADE) {
		if (ws->fail_pending)
			return;
		/* No handshake yet: drop the socket, report from the loop. */
		ws_teardown(ws);
		lk_strlcpy(ws->errtext, reason && *reason ? reason : "closed", sizeof(ws->errtext));
		ws_fail_later(ws, code > 0 ? code : 1000, 0);
		return;
	}
	if (ws->state != WS_OPEN || ws->close_initiated)
		return;
	/* RFC 6455 §5.5: a control payload is at most 125 bytes. */
	if (rlen > 123)
		rlen = 123;
	while (rlen > 0 && ((unsigned char)reason[rlen] & 0xc0) == 0x80)
		rlen--; /* do not cut a UTF-8 sequence */
	if (code <= 0 || code > 4999)
		code = 1000;
	ws->close_initiated = 1;
	if (wslay_event_get_queued_msg_count(ws->wctx) > 0) {
		/* Messages sent before the close must reach the peer first. */
		ws->close_deferred = 1;
		ws->close_code = (uint16_t)code;
		if (rlen > 0)
			memcpy(ws->close_reason, reason, rlen);
		ws->close_rlen = rlen;
	} else if (wslay_event_queue_close(
	                   ws->wctx, (uint16_t)code, (const uint8_t *)reason, rlen) != 0) {
		return; /* a close is already on its way */
	}
	ws_timer_arm(ws, WS_CLOSE_TIMEOUT_S);
	ws_set_events(ws, ws->io_events | EV_WRITE);
}

void
ws_abort(struct ws *ws)
{
	if (ws == NULL || ws->dead || ws->state == WS_CLOSED)
		return;
	ws_enter(ws);
	ws->fail_pending = 0;
	ws_finish(ws, 1006, 0, "aborted");
	ws_leave(ws);
}

int64_t
ws_idle_ms(const struct ws *ws)
{
	return ws ? lk_mono_ms() - ws->last_rx : 0;
}

int
ws_is_open(const struct ws *ws)
{
	return ws && !ws->dead && ws->state == WS_OPEN && !ws->close_initiated &&
	        !wslay_event_get_close_received(ws->wctx) &&
	        wslay_event_get_read_enabled(ws->wctx) && wslay_event_get_write_enabled(ws->wctx);
}

static void
ws_destroy(struct ws *ws)
{
	ws_teardown(ws);
	if (ws->wctx)
		wslay_event_context_free(ws->wctx);
	buf_free(&ws->in);
	buf_free(&ws->out);
	free(ws);
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	ws->dead = 1;
	if (ws->depth > 0)
		return; /* still on the stack: ws_leave() frees it */
	ws_destroy(ws);
}

void
ws_accept_key(const char *key, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c;
	char b64[64];

	if (outlen == 0)
		return;
	out[0] = '\0';
	/* RFC 6455 §4.2.2: base64(SHA-1(key + GUID)) */
	c = EVP_MD_CTX_new();
	if (c == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	        EVP_DigestUpdate(c, key, strlen(key)) == 1 &&
	        EVP_DigestUpdate(c, ws_guid, sizeof(ws_guid) - 1) == 1 &&
	        EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 20) {
		lk_b64_encode(md, mdlen, b64);
		if (strlen(b64) < outlen)
			lk_strlcpy(out, b64, outlen);
	}
	EVP_MD_CTX_free(c);
}

/* ---- URL -------------------------------------------------------------- */

static int
ws_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	        c == '-' || c == '.' || c == '_';
}

int
ws_parse_url(const char *url, struct ws_url *out)
{
	static const struct {
		const char *scheme;
		int tls;
	} schemes[] = {
	        {"ws://", 0},
	        {"wss://", 1},
	        {"http://", 0},
	        {"https://", 1},
	};
	const char *p = NULL, *hs, *he, *ps = NULL, *pe, *path;
	struct in6_addr a6;
	size_t i, n;
	unsigned long port;

	if (url == NULL || out == NULL)
		return LK_EINVAL;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].scheme);
		if (strncasecmp(url, schemes[i].scheme, n) == 0) {
			p = url + n;
			out->tls = schemes[i].tls;
			break;
		}
	}
	if (p == NULL)
		return LK_EINVAL;
	/* authority = host [":" port]; userinfo is not accepted. */
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (he == NULL || he == hs)
			return LK_EINVAL;
		p = he + 1;
		if ((size_t)(he - hs) >= sizeof(out->host))
			return LK_EINVAL;
		memcpy(out->host, hs, (size_t)(he - hs));
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			return LK_EINVAL;
	} else {
		hs = p;
		while (ws_host_char(*p))
			p++;
		he = p;
		if (he == hs || (size_t)(he - hs) >= sizeof(out->host))
			return LK_EINVAL;
		memcpy(out->host, hs, (size_t)(he - hs));
	}
	if (*p == ':') {
		ps = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		pe = p;
		if (pe == ps || pe - ps > 5)
			return LK_EINVAL;
		port = strtoul(ps, NULL, 10);
		if (port == 0 || port > 65535)
			return LK_EINVAL;
		snprintf(out->port, sizeof(out->port), "%lu", port);
	} else {
		lk_strlcpy(out->port, out->tls ? "443" : "80", sizeof(out->port));
	}
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return LK_EINVAL;
	/* The fragment is never sent (RFC 6455 §3). */
	path = p;
	n = strcspn(path, "#");
	for (i = 0; i < n; i++)
		if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f)
			return LK_EINVAL;
	if (n + 2 > sizeof(out->path))
		return LK_EINVAL;
	if (n == 0 || path[0] == '?')
		out->path[0] = '/';
	memcpy(out->path + strlen(out->path), path, n);
	return 0;
}
