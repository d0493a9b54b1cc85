/*
 * check_ws: WebSocket connections (src/net/ws.c) with both ends on one
 * libev loop over 127.0.0.1: ws_connect clients against ws_accept servers
 * behind http_reply_ws, raw hostile peers, a TLS peer, and the URL/handshake
 * helpers.
 */
#include <check.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "net/http.h"
#include "net/httphead.h"
#include "net/ws.h"
#include "net_rawclient.h"

#define MAX_SIDES 32
#define MAX_MSGS 8

struct wt;

struct side {
	struct wt *wt;
	struct ws *ws;
	int idx;
	int opens;
	int closes;
	int code;
	int http_status;
	char reason[256];
	int freed;
	int nmsgs;
	int binary[MAX_MSGS];
	struct buf msg[MAX_MSGS];
};

enum wt_mode {
	M_ECHO, /* client sends two messages, server echoes, client closes */
	M_LARGE, /* 1 MiB each way */
	M_OVERSIZE, /* client sends past the server's max_msg */
	M_PING, /* server pings; idle time resets */
	M_SRV_FREE, /* server frees its ws inside on_message */
	M_CLI_FREE, /* client frees its ws inside on_message */
	M_SRV_CLOSE, /* server closes with 4000 after the first message */
	M_SEND_CLOSE, /* server sends three messages and closes at once */
	M_ABORT, /* client aborts after open */
	M_SINK, /* server only records */
};

struct wt {
	struct ev_loop *loop;
	struct http_server *srv;
	enum wt_mode mode;
	size_t srv_max_msg;
	struct side cli[MAX_SIDES];
	int ncli;
	struct side svr[MAX_SIDES];
	int nsvr;
	struct rawc raw[MAX_SIDES];
	int nraw;
	int (*done)(struct wt *wt);
	ev_timer guard;
	ev_timer poll;
	int ping_phase;
	int64_t t_ping;
	int ping_ok;
	uint8_t *big;
	size_t bigsize;
};

/* ---- harness ---------------------------------------------------------- */

static void
wt_check(struct wt *wt)
{
	if (wt->done && wt->done(wt)) {
		ev_timer_stop(wt->loop, &wt->guard);
		ev_timer_stop(wt->loop, &wt->poll);
		ev_break(wt->loop, EVBREAK_ALL);
	}
}

static void
side_record(struct side *s, int binary, const uint8_t *data, size_t len)
{
	ck_assert_int_lt(s->nmsgs, MAX_MSGS);
	s->binary[s->nmsgs] = binary;
	buf_init(&s->msg[s->nmsgs], 0);
	ck_assert_int_eq(buf_append(&s->msg[s->nmsgs], data, len), 0);
	s->nmsgs++;
}

static void
side_close(struct side *s, int code, int http_status, const char *reason)
{
	ck_assert_int_eq(s->closes, 0); /* exactly once */
	ck_assert_ptr_nonnull(reason);
	s->closes++;
	s->code = code;
	s->http_status = http_status;
	lk_strlcpy(s->reason, reason, sizeof(s->reason));
}

/* server side */

static void
svr_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct side *s = arg;
	struct wt *wt = s->wt;

	ck_assert_ptr_eq(ws, s->ws);
	side_record(s, binary, data, len);
	switch (wt->mode) {
	case M_ECHO:
	case M_LARGE:
		ck_assert_int_eq(ws_send(ws, binary, data, len), 0);
		break;
	case M_SRV_FREE:
		ws_free(ws);
		s->freed = 1;
		s->ws = NULL;
		break;
	case M_SEND_CLOSE:
		if (s->nmsgs == 1) {
			ck_assert_int_eq(ws_send(ws, 1, "one", 3), 0);
			ck_assert_int_eq(ws_send(ws, 1, "two", 3), 0);
			ck_assert_int_eq(ws_send(ws, 0, "three", 5), 0);
			ws_close(ws, 4001, "after three");
		}
		break;
	case M_SRV_CLOSE:
		ws_close(ws, 4000, "server says bye");
		/* After ws_close nothing more may be queued. */
		ck_assert_int_eq(ws_send(ws, 0, "x", 1), LK_ECLOSED);
		ck_assert_int_eq(ws_is_open(ws), 0);
		break;
	default:
		break;
	}
	wt_check(wt);
}

static void
svr_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct side *s = arg;

	ck_assert_ptr_eq(ws, s->ws);
	side_close(s, code, http_status, reason);
	wt_check(s->wt);
}

static const struct ws_cbs svr_cbs = {NULL, svr_message, svr_close};

static void
svr_ready(struct ws *ws, void *arg)
{
	struct side *s = arg;
	struct wt *wt = s->wt;
	static const char m1[] = "first from server";
	static const char m2[] = "second from server";

	s->ws = ws;
	s->opens++;
	ck_assert_int_eq(ws_is_open(ws), 1);
	if (wt->mode == M_PING)
		ev_timer_start(wt->loop, &wt->poll);
	if (wt->mode == M_CLI_FREE) {
		ck_assert_int_eq(ws_send(ws, 0, m1, strlen(m1)), 0);
		ck_assert_int_eq(ws_send(ws, 0, m2, strlen(m2)), 0);
	}
}

static void
wt_handler(struct http_req *req, void *arg)
{
	struct wt *wt = arg;
	struct side *s;

	if (strcmp(http_req_path(req), "/ws") == 0 && http_req_is_ws_upgrade(req)) {
		ck_assert_int_lt(wt->nsvr, MAX_SIDES);
		s = &wt->svr[wt->nsvr];
		s->wt = wt;
		s->idx = wt->nsvr++;
		http_reply_ws(req, wt->srv_max_msg, &svr_cbs, s, svr_ready, s);
		return;
	}
	if (strcmp(http_req_path(req), "/deny") == 0) {
		http_reply_text(req, 401, "no token\n");
		return;
	}
	http_reply_text(req, 404, "not found\n");
}

/* client side */

static void
cli_open(struct ws *ws, void *arg)
{
	struct side *s = arg;
	struct wt *wt = s->wt;
	static const uint8_t bin[] = {'h', 'i', 0, 1, 2, 0xff};
	static const char text[] = "h\xc3\xa9llo, server";

	ck_assert_ptr_eq(ws, s->ws);
	s->opens++;
	ck_assert_int_eq(ws_is_open(ws), 1);
	switch (wt->mode) {
	case M_ECHO:
	case M_SRV_FREE:
	case M_SRV_CLOSE:
	case M_SEND_CLOSE:
		ck_assert_int_eq(ws_send(ws, 1, bin, sizeof(bin)), 0);
		ck_assert_int_eq(ws_send(ws, 0, text, strlen(text)), 0);
		break;
	case M_LARGE:
	case M_OVERSIZE:
		ck_assert_int_eq(ws_send(ws, 1, wt->big, wt->bigsize), 0);
		break;
	case M_ABORT:
		ws_abort(ws);
		/* on_close already ran, from inside ws_abort */
		ck_assert_int_eq(s->closes, 1);
		ck_assert_int_eq(ws_send(ws, 1, "x", 1), LK_ECLOSED);
		break;
	default:
		break;
	}
	wt_check(wt);
}

static void
cli_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct side *s = arg;
	struct wt *wt = s->wt;

	ck_assert_ptr_eq(ws, s->ws);
	side_record(s, binary, data, len);
	switch (wt->mode) {
	case M_ECHO:
		if (s->nmsgs == 2)
			ws_close(ws, 1000, "done");
		break;
	case M_LARGE:
		ws_close(ws, 1000, "done");
		break;
	case M_CLI_FREE:
		ws_free(ws);
		s->freed = 1;
		s->ws = NULL;
		break;
	default:
		break;
	}
	wt_check(wt);
}

static void
cli_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct side *s = arg;

	ck_assert_ptr_eq(ws, s->ws);
	side_close(s, code, http_status, reason);
	wt_check(s->wt);
}

static const struct ws_cbs cli_cbs = {cli_open, cli_message, cli_close};

static void
wt_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wt *wt = w->data;
	int i;

	/* Say what was still pending, then fail. */
	for (i = 0; i < wt->ncli; i++)
		fprintf(stderr, "client %d: opens=%d closes=%d msgs=%d\n", i, wt->cli[i].opens,
		        wt->cli[i].closes, wt->cli[i].nmsgs);
	for (i = 0; i < wt->nsvr; i++)
		fprintf(stderr, "server %d: opens=%d closes=%d msgs=%d\n", i, wt->svr[i].opens,
		        wt->svr[i].closes, wt->svr[i].nmsgs);
	for (i = 0; i < wt->nraw; i++)
		fprintf(stderr, "raw %d: done=%d sent=%zu/%zu read=%zu\n", i, wt->raw[i].done,
		        wt->raw[i].off, wt->raw[i].out.len, wt->raw[i].in.len);
	ck_abort_msg("websocket test did not finish");
}

static void
wt_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wt *wt = w->data;
	struct ws *svr = wt->svr[0].ws;
	int64_t elapsed;

	if (svr == NULL)
		return;
	if (wt->ping_phase == 0) {
		/* Let the server sit idle for a while so that a reset is visible. */
		if (ws_idle_ms(svr) < 50)
			return;
		wt->t_ping = lk_mono_ms();
		ck_assert_int_eq(ws_ping(svr), 0);
		wt->ping_phase = 1;
		return;
	}
	elapsed = lk_mono_ms() - wt->t_ping;
	/*
	 * Before the pong, idle >= elapsed + 50. Once the pong is in, the
	 * last receive is after the ping, so idle <= elapsed.
	 */
	if (wt->ping_phase == 1 && ws_idle_ms(svr) <= elapsed) {
		ck_assert_int_le(ws_idle_ms(wt->cli[0].ws), elapsed);
		wt->ping_ok = 1;
		wt->ping_phase = 2;
		ev_timer_stop(loop, w);
		ws_close(svr, 1000, "pinged");
	}
}

static void
wt_setup(struct wt *wt, enum wt_mode mode, size_t srv_max_msg)
{
	struct http_server_opts o;
	char err[256];

	memset(wt, 0, sizeof(*wt));
	wt->loop = ev_loop_new(EVFLAG_AUTO);
	wt->mode = mode;
	wt->srv_max_msg = srv_max_msg;
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.handler = wt_handler;
	o.arg = wt;
	wt->srv = http_server_new(wt->loop, &o, err, sizeof(err));
	ck_assert_msg(wt->srv != NULL, "http_server_new: %s", err);
	ev_timer_init(&wt->guard, wt_guard, 20., 0.);
	wt->guard.data = wt;
	ev_timer_start(wt->loop, &wt->guard);
	ev_timer_init(&wt->poll, wt_poll, 0.01, 0.01);
	wt->poll.data = wt;
}

static struct side *
wt_client(struct wt *wt, const char *url, int timeout_ms)
{
	struct side *s = &wt->cli[wt->ncli];
	struct ws_client_opts o;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.bearer = "token.for.test";
	o.connect_timeout_ms = timeout_ms;
	s->wt = wt;
	s->idx = wt->ncli++;
	s->ws = ws_connect(wt->loop, &o, &cli_cbs, s);
	ck_assert_ptr_nonnull(s->ws);
	return s;
}

static const char *
wt_url(struct wt *wt, const char *path)
{
	static char url[128];

	snprintf(
	        url, sizeof(url), "ws://127.0.0.1:%u%s", (unsigned)http_server_port(wt->srv), path);
	return url;
}

static void
side_free(struct side *s)
{
	int i;

	if (s->ws && !s->freed)
		ws_free(s->ws);
	s->ws = NULL;
	for (i = 0; i < s->nmsgs; i++)
		buf_free(&s->msg[i]);
}

static void
wt_teardown(struct wt *wt)
{
	int i;

	for (i = 0; i < wt->ncli; i++)
		side_free(&wt->cli[i]);
	for (i = 0; i < wt->nsvr; i++)
		side_free(&wt->svr[i]);
	for (i = 0; i < wt->nraw; i++)
		rawc_free(&wt->raw[i]);
	http_server_free(wt->srv);
	ev_timer_stop(wt->loop, &wt->guard);
	ev_timer_stop(wt->loop, &wt->poll);
	/* Returns only when no watcher is left active. */
	ev_run(wt->loop, 0);
	ev_loop_destroy(wt->loop);
	free(wt->big);
}

static int
done_all_closed(struct wt *wt)
{
	int i;

	for (i = 0; i < wt->ncli; i++)
		if (!wt->cli[i].closes && !wt->cli[i].freed)
			return 0;
	if (wt->nsvr < wt->ncli)
		return 0;
	for (i = 0; i < wt->nsvr; i++)
		if (!wt->svr[i].closes && !wt->svr[i].freed)
			return 0;
	return 1;
}

static int
done_clients_closed(struct wt *wt)
{
	int i;

	for (i = 0; i < wt->ncli; i++)
		if (!wt->cli[i].closes)
			return 0;
	return 1;
}

static void
wt_fill_big(struct wt *wt, size_t n)
{
	wt->bigsize = n;
	wt->big = malloc(n);
	ck_assert_ptr_nonnull(wt->big);
	ck_assert_int_eq(lk_random(wt->big, n), 0);
}

/* ---- client <-> server ------------------------------------------------ */

START_TEST(test_ws_echo_text_binary)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_ECHO, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws?room=r1"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(c->opens, 1);
	ck_assert_int_eq(s->opens, 1);
	ck_assert_int_eq(s->nmsgs, 2);
	ck_assert_int_eq(c->nmsgs, 2);
	ck_assert_int_eq(c->binary[0], 1);
	ck_assert_uint_eq(c->msg[0].len, 6);
	ck_assert_int_eq(memcmp(c->msg[0].data, "hi\0\1\2\xff", 6), 0);
	ck_assert_int_eq(c->binary[1], 0);
	ck_assert_uint_eq(c->msg[1].len, strlen("h\xc3\xa9llo, server"));
	ck_assert_int_eq(memcmp(c->msg[1].data, "h\xc3\xa9llo, server", c->msg[1].len), 0);
	ck_assert_int_eq(c->code, 1000);
	ck_assert_int_eq(s->code, 1000);
	ck_assert_str_eq(s->reason, "done");
	ck_assert_int_eq(c->http_status, 0);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_large_both_ways)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_LARGE, 2u << 20);
	wt_fill_big(&wt, 1u << 20);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(s->nmsgs, 1);
	ck_assert_uint_eq(s->msg[0].len, wt.bigsize);
	ck_assert_int_eq(memcmp(s->msg[0].data, wt.big, wt.bigsize), 0);
	ck_assert_int_eq(c->nmsgs, 1);
	ck_assert_int_eq(c->binary[0], 1);
	ck_assert_uint_eq(c->msg[0].len, wt.bigsize);
	ck_assert_int_eq(memcmp(c->msg[0].data, wt.big, wt.bigsize), 0);
	ck_assert_int_eq(c->code, 1000);
	ck_assert_int_eq(s->code, 1000);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_oversize_1009)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_OVERSIZE, 1024);
	wt_fill_big(&wt, 64 * 1024);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(s->nmsgs, 0);
	ck_assert_int_eq(s->code, 1009);
	ck_assert_int_eq(c->code, 1009);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_ping_updates_idle)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_PING, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(wt.ping_ok, 1);
	ck_assert_int_eq(s->code, 1000);
	ck_assert_int_eq(c->code, 1000);
	ck_assert_str_eq(c->reason, "pinged");
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_server_close_code)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_SRV_CLOSE, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(c->code, 4000);
	ck_assert_str_eq(c->reason, "server says bye");
	ck_assert_int_eq(s->code, 4000);
	/* The client's second message arrived after the server's close: dropped. */
	ck_assert_int_eq(s->nmsgs, 1);
	wt_teardown(&wt);
}
END_TEST

/*
 * wslay writes queued control frames before queued data; a close asked for
 * right after sends must still let those messages out first.
 */
START_TEST(test_ws_close_after_send_delivers_queued)
{
	struct wt wt;
	struct side *c;

	wt_setup(&wt, M_SEND_CLOSE, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->nmsgs, 3);
	ck_assert_int_eq(memcmp(c->msg[0].data, "one", 3), 0);
	ck_assert_int_eq(memcmp(c->msg[1].data, "two", 3), 0);
	ck_assert_int_eq(memcmp(c->msg[2].data, "three", 5), 0);
	ck_assert_int_eq(c->code, 4001);
	ck_assert_str_eq(c->reason, "after three");
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_refused_upgrade_401)
{
	struct wt wt;
	struct side *c;

	wt_setup(&wt, M_SINK, 0);
	wt.done = done_clients_closed;
	c = wt_client(&wt, wt_url(&wt, "/deny"), 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->opens, 0);
	ck_assert_int_eq(c->code, 1006);
	ck_assert_int_eq(c->http_status, 401);
	ck_assert_str_eq(c->reason, "upgrade refused: HTTP 401");
	ck_assert_int_eq(wt.nsvr, 0);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_connect_closed_port)
{
	struct wt wt;
	struct side *c;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char url[64];
	int fd;

	/* A port that was just free: bound, never listened on, closed. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/x", (unsigned)ntohs(sin.sin_port));

	wt_setup(&wt, M_SINK, 0);
	wt.done = done_clients_closed;
	c = wt_client(&wt, url, 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->opens, 0);
	ck_assert_int_eq(c->code, 1006);
	ck_assert_int_eq(c->http_status, 0);
	ck_assert_msg(strstr(c->reason, "connect") != NULL, "reason: %s", c->reason);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_connect_timeout)
{
	/* A listener that never accepts: TCP connects, the upgrade never answers. */
	struct wt wt;
	struct side *c;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char url[64];
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/x", (unsigned)ntohs(sin.sin_port));

	wt_setup(&wt, M_SINK, 0);
	wt.done = done_clients_closed;
	c = wt_client(&wt, url, 200);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->opens, 0);
	ck_assert_int_eq(c->code, 1006);
	ck_assert_str_eq(c->reason, "connect timeout");
	close(fd);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_bad_dns_and_url)
{
	struct wt wt;
	struct side *c;
	struct ws_client_opts o;

	wt_setup(&wt, M_SINK, 0);
	wt.done = done_clients_closed;
	/* .invalid never resolves (RFC 6761 §6.4); reported through on_close. */
	c = wt_client(&wt, "ws://host.invalid:9/x", 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->code, 1006);
	ck_assert_msg(strstr(c->reason, "resolve") != NULL, "reason: %s", c->reason);

	memset(&o, 0, sizeof(o));
	o.url = "ftp://x/";
	ck_assert_ptr_null(ws_connect(wt.loop, &o, &cli_cbs, NULL));
	o.url = "ws://127.0.0.1:1/";
	o.bearer = "abc\r\nX-Injected: 1";
	ck_assert_ptr_null(ws_connect(wt.loop, &o, &cli_cbs, NULL));
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_free_in_server_on_message)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_SRV_FREE, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(s->freed, 1);
	ck_assert_int_eq(s->nmsgs, 1);
	ck_assert_int_eq(s->closes, 0); /* ws_free does not call on_close */
	ck_assert_int_eq(c->closes, 1);
	ck_assert_int_eq(c->code, 1006);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_free_in_client_on_message)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_CLI_FREE, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(c->freed, 1);
	ck_assert_int_eq(c->nmsgs, 1);
	ck_assert_int_eq(c->closes, 0);
	ck_assert_int_eq(s->closes, 1);
	ck_assert_int_eq(s->code, 1006);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_abort)
{
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_ABORT, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	s = &wt.svr[0];
	ck_assert_int_eq(c->code, 1006);
	ck_assert_str_eq(c->reason, "aborted");
	ck_assert_int_eq(s->code, 1006);
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_many_clients)
{
	struct wt wt;
	int i;

	wt_setup(&wt, M_ECHO, 0);
	wt.done = done_all_closed;
	for (i = 0; i < MAX_SIDES; i++)
		wt_client(&wt, wt_url(&wt, "/ws"), 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(wt.nsvr, MAX_SIDES);
	for (i = 0; i < MAX_SIDES; i++) {
		ck_assert_int_eq(wt.cli[i].nmsgs, 2);
		ck_assert_int_eq(wt.cli[i].code, 1000);
		ck_assert_int_eq(wt.svr[i].code, 1000);
	}
	wt_teardown(&wt);
}
END_TEST

START_TEST(test_ws_server_free_with_open_ws)
{
	/* Freeing the HTTP server ends its live WebSockets through on_close. */
	struct wt wt;
	struct side *c, *s;

	wt_setup(&wt, M_SINK, 0);
	wt.done = done_all_closed;
	c = wt_client(&wt, wt_url(&wt, "/ws"), 0);
	while (c->opens == 0 || wt.nsvr == 0 || wt.svr[0].ws == NULL)
		ev_run(wt.loop, EVRUN_ONCE);
	s = &wt.svr[0];
	http_server_free(wt.srv);
	wt.srv = NULL;
	ck_assert_int_eq(s->closes, 1);
	ck_assert_int_eq(s->code, 1006);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(c->closes, 1);
	wt_teardown(&wt);
}
END_TEST

/* ---- hostile raw peers ------------------------------------------------ */

static int
done_raw(struct wt *wt)
{
	int i;

	for (i = 0; i < wt->nraw; i++)
		if (!wt->raw[i].done)
			return 0;
	for (i = 0; i < wt->nsvr; i++)
		if (wt->svr[i].opens && !wt->svr[i].closes)
			return 0;
	return 1;
}

static void
raw_done(struct rawc *rc)
{
	wt_check(rc->arg);
}

START_TEST(test_ws_server_garbage)
{
	static const char head[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	                           "Connection: Upgrade\r\n"
	                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                           "Sec-WebSocket-Version: 13\r\n\r\n";
	static const struct {
		const char *bytes;
		size_t len;
	} junk[] = {
	        {"\x00\x01\x02\x03 random garbage \xff\xfe", 22},
	        /* unmasked frame from a client (RFC 6455 §5.1) */
	        {"\x82\x03"
	         "abc",
	                5},
	        /* reserved opcode 0x3 */
	        {"\x83\x80\x00\x00\x00\x00", 6},
	        /* 64-bit length with the top bit set */
	        {"\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14},
	        /* fragmented control frame */
	        {"\x09\x80\x00\x00\x00\x00", 6},
	        /* invalid UTF-8 in a text frame */
	        {"\x81\x82\x00\x00\x00\x00\xc3\x28", 8},
	        /* close frame with a 1-byte payload */
	        {"\x88\x81\x00\x00\x00\x00\x03", 7},
	        /* a truncated header, then EOF */
	        {"\x82", 1},
	};
	struct wt wt;
	struct buf b;
	size_t i;

	wt_setup(&wt, M_SINK, 1024);
	wt.done = done_raw;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		buf_init(&b, 0);
		buf_append(&b, head, strlen(head));
		buf_append(&b, junk[i].bytes, junk[i].len);
		ck_assert_int_eq(
		        rawc_start(&wt.raw[i], wt.loop, http_server_port(wt.srv), b.data, b.len),
		        0);
		wt.raw[i].on_done = raw_done;
		wt.raw[i].arg = &wt;
		wt.nraw++;
		buf_free(&b);
	}
	/* The truncated header needs the peer's EOF to end. */
	wt.raw[wt.nraw - 1].shut_wr = 1;
	ev_run(wt.loop, 0);
	ck_assert_int_eq(wt.nsvr, (int)wt.nraw);
	for (i = 0; i < (size_t)wt.nsvr; i++) {
		ck_assert_int_eq(wt.svr[i].closes, 1);
		ck_assert_int_eq(wt.svr[i].nmsgs, 0);
		ck_assert_msg(wt.svr[i].code == 1002 || wt.svr[i].code == 1005 ||
		                wt.svr[i].code == 1006 || wt.svr[i].code == 1007 ||
		                wt.svr[i].code == 1009,
		        "code %d", wt.svr[i].code);
		ck_assert_ptr_nonnull(memmem(
		        wt.raw[i].in.data, wt.raw[i].in.len, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28));
	}
	wt_teardown(&wt);
}
END_TEST

static int
done_bad_upgrade(struct wt *wt)
{
	int i;

	for (i = 0; i < wt->nraw; i++)
		if (wt->raw[i].in.len == 0 ||
		        memmem(wt->raw[i].in.data, wt->raw[i].in.len, "bad websocket upgrade\n",
		                22) == NULL)
			return 0;
	return 1;
}

static void
raw_read(struct rawc *rc)
{
	wt_check(rc->arg);
}

START_TEST(test_ws_server_bad_upgrade_request)
{
	/* Wrong version and a short key: 400, and no WebSocket is created. */
	static const char r1[] =
	        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	        "Sec-WebSocket-Version: 8\r\n\r\n";
	static const char r2[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	                         "Connection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"
	                         "Sec-WebSocket-Version: 13\r\n\r\n";
	struct wt wt;
	int i;

	wt_setup(&wt, M_SINK, 0);
	/* The connection stays open for the next request: done once the 400 is in. */
	wt.done = done_bad_upgrade;
	ck_assert_int_eq(
	        rawc_start(&wt.raw[0], wt.loop, http_server_port(wt.srv), r1, strlen(r1)), 0);
	ck_assert_int_eq(
	        rawc_start(&wt.raw[1], wt.loop, http_server_port(wt.srv), r2, strlen(r2)), 0);
	wt.nraw = 2;
	for (i = 0; i < 2; i++) {
		wt.raw[i].on_read = raw_read;
		wt.raw[i].arg = &wt;
	}
	ev_run(wt.loop, 0);
	ck_assert_int_eq(rawc_status(&wt.raw[0]), 400);
	ck_assert_int_eq(rawc_status(&wt.raw[1]), 400);
	for (i = 0; i < wt.nsvr; i++)
		ck_assert_int_eq(wt.svr[i].opens, 0);
	wt_teardown(&wt);
}
END_TEST

/* ---- TLS --------------------------------------------------------------- */

static EVP_PKEY *
tls_make_cert(X509 **out)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;

	ck_assert_ptr_nonnull(pkey);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, pkey, EVP_sha256()), 0);
	*out = x;
	return pkey;
}

static int
tls_read_full(SSL *ssl, void *buf, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		r = SSL_read(ssl, (char *)buf + got, (int)(n - got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Child process: a blocking TLS WebSocket echo for one message, then close. */
static void
tls_peer(int lfd, X509 *cert, EVP_PKEY *pkey, int nconn)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int k;

	signal(SIGPIPE, SIG_IGN); /* this test peer writes through plain write(2) */
	SSL_CTX_use_certificate(ctx, cert);
	SSL_CTX_use_PrivateKey(ctx, pkey);
	for (k = 0; k < nconn; k++) {
		char req[4096], resp[256], acc[32];
		uint8_t hdr[14], mask[4], payload[126];
		size_t n = 0, plen, i;
		char *key, *e;
		int fd = accept(lfd, NULL, NULL);
		SSL *ssl;

		if (fd < 0)
			_exit(2);
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto next; /* the verifying client refuses our certificate */
		while (n < sizeof(req) - 1) {
			int r = SSL_read(ssl, req + n, (int)(sizeof(req) - 1 - n));
			if (r <= 0)
				goto next;
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		key = strstr(req, "Sec-WebSocket-Key: ");
		if (key == NULL || strstr(req, "Authorization: Bearer token.for.test\r\n") == NULL)
			_exit(3);
		key += 19;
		e = strstr(key, "\r\n");
		*e = '\0';
		ws_accept_key(key, acc, sizeof(acc));
		snprintf(resp, sizeof(resp),
		        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		        acc);
		SSL_write(ssl, resp, (int)strlen(resp));
		/* One small masked frame from the client. */
		if (tls_read_full(ssl, hdr, 2) < 0)
			goto next;
		plen = hdr[1] & 0x7f;
		if (!(hdr[1] & 0x80) || plen > 125 || tls_read_full(ssl, mask, 4) < 0 ||
		        tls_read_full(ssl, payload, plen) < 0)
			_exit(4);
		for (i = 0; i < plen; i++)
			payload[i] ^= mask[i % 4];
		hdr[0] = 0x80 | (hdr[0] & 0x0f);
		hdr[1] = (uint8_t)plen;
		SSL_write(ssl, hdr, 2);
		SSL_write(ssl, payload, (int)plen);
		/* Close 1000, then wait for the client's close and EOF. */
		SSL_write(ssl, "\x88\x02\x03\xe8", 4);
		while (SSL_read(ssl, req, sizeof(req)) > 0)
			;
	next:
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
	_exit(0);
}

START_TEST(test_ws_tls)
{
	struct wt wt;
	struct side *a, *b;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char url[64];
	int lfd, status;
	pid_t pid;
	X509 *cert;
	EVP_PKEY *pkey = tls_make_cert(&cert);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, sizeof(url), "wss://127.0.0.1:%u/rtc?x=1", (unsigned)ntohs(sin.sin_port));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		tls_peer(lfd, cert, pkey, 2);
	close(lfd);

	wt_setup(&wt, M_ECHO, 0);
	wt.done = done_clients_closed;
	/* 1: without verification the handshake, echo and close work. */
	{
		struct ws_client_opts o;

		memset(&o, 0, sizeof(o));
		o.url = url;
		o.bearer = "token.for.test";
		o.tls_insecure = 1;
		a = &wt.cli[wt.ncli];
		a->wt = &wt;
		a->idx = wt.ncli++;
		a->ws = ws_connect(wt.loop, &o, &cli_cbs, a);
		ck_assert_ptr_nonnull(a->ws);
	}
	ev_run(wt.loop, 0);
	ck_assert_int_eq(a->opens, 1);
	ck_assert_int_eq(a->nmsgs, 1);
	ck_assert_uint_eq(a->msg[0].len, 6);
	ck_assert_int_eq(a->code, 1000);
	/* 2: with verification a self-signed certificate is refused. */
	ev_timer_start(wt.loop, &wt.guard);
	b = wt_client(&wt, url, 0);
	ev_run(wt.loop, 0);
	ck_assert_int_eq(b->opens, 0);
	ck_assert_int_eq(b->code, 1006);
	ck_assert_msg(strstr(b->reason, "certificate") != NULL, "reason: %s", b->reason);
	wt_teardown(&wt);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tls peer status %d", status);
	X509_free(cert);
	EVP_PKEY_free(pkey);
}
END_TEST

/* ---- helpers ----------------------------------------------------------- */

START_TEST(test_ws_accept_key_rfc)
{
	char out[32];

	/* RFC 6455 §1.3 example */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, 10);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_ws_parse_url)
{
	struct ws_url u;

	ck_assert_int_eq(ws_parse_url("ws://example.com/agent", &u), 0);
	ck_assert_int_eq(u.tls, 0);
	ck_assert_str_eq(u.host, "example.com");
	ck_assert_str_eq(u.port, "80");
	ck_assert_str_eq(u.path, "/agent");

	ck_assert_int_eq(ws_parse_url("wss://lk.example.com:7443/rtc?access_token=a.b&x=1", &u), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_str_eq(u.port, "7443");
	ck_assert_str_eq(u.path, "/rtc?access_token=a.b&x=1");

	ck_assert_int_eq(ws_parse_url("https://h", &u), 0);
	ck_assert_int_eq(u.tls, 1);
	ck_assert_str_eq(u.port, "443");
	ck_assert_str_eq(u.path, "/");

	ck_assert_int_eq(ws_parse_url("HTTP://10.0.0.1:8080?q=1#frag", &u), 0);
	ck_assert_int_eq(u.tls, 0);
	ck_assert_str_eq(u.host, "10.0.0.1");
	ck_assert_str_eq(u.port, "8080");
	ck_assert_str_eq(u.path, "/?q=1");

	ck_assert_int_eq(ws_parse_url("ws://[::1]:7880/agent", &u), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.port, "7880");
	ck_assert_int_eq(ws_parse_url("ws://[fe80::1]", &u), 0);
	ck_assert_str_eq(u.port, "80");

	ck_assert_int_eq(ws_parse_url("ftp://h/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://h:0/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://h:65536/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://h:/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://user@h/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://[::1/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://[nothex]/", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://h/a b", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url("ws://h/a\r\nX: y", &u), LK_EINVAL);
	ck_assert_int_eq(ws_parse_url(NULL, &u), LK_EINVAL);
}
END_TEST

START_TEST(test_httphead_parse)
{
	static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\n"
	                         "Upgrade: WebSocket\r\n"
	                         "connection: keep-alive, Upgrade\r\n"
	                         "Sec-WebSocket-Accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n"
	                         "\r\n\x81\x02hi";
	struct httphead h;
	const char *v;
	size_t vlen, headlen = strlen(ok) - 4;
	int rc;

	rc = httphead_parse_response((const uint8_t *)ok, strlen(ok), &h);
	ck_assert_int_eq(rc, (int)headlen);
	ck_assert_int_eq(h.status, 101);
	ck_assert_uint_eq(h.nfields, 3);
	v = httphead_get(&h, "SEC-WEBSOCKET-ACCEPT", &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vlen, 28);
	ck_assert_int_eq(httphead_check_ws_upgrade(&h, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
	ck_assert_int_eq(httphead_check_ws_upgrade(&h, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), LK_EAUTH);
	/* Every shorter prefix asks for more. */
	for (vlen = 0; vlen < headlen; vlen++)
		ck_assert_int_eq(httphead_parse_response((const uint8_t *)ok, vlen, &h), 0);

#define BAD(s) ck_assert_int_lt(httphead_parse_response((const uint8_t *)(s), strlen(s), &h), 0)
	BAD("HTTP/1.1 99 x\r\n\r\n");
	BAD("HTTP/1.1 2000\r\n\r\n");
	BAD("HTTP/2 200 OK\r\n\r\n");
	BAD("SSH-2.0-OpenSSH\r\n");
	BAD("HTTP/1.1 200 OK\nX: y\r\n\r\n");
	BAD("HTTP/1.1 200 OK\r\nX : y\r\n\r\n");
	BAD("HTTP/1.1 200 OK\r\n folded\r\n\r\n");
	BAD("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n");
	BAD("HTTP/1.1 200 OK\r\n: empty\r\n\r\n");
	BAD("HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n");
#undef BAD
	rc = httphead_parse_response((const uint8_t *)"HTTP/1.1 401 Unauthorized\r\n\r\n", 29, &h);
	ck_assert_int_eq(rc, 29);
	ck_assert_int_eq(h.status, 401);
	ck_assert_int_eq(httphead_check_ws_upgrade(&h, "x"), LK_EINVAL);
	ck_assert_int_eq(httphead_has_token("a, b ,Upgrade", 13, "upgrade"), 1);
	ck_assert_int_eq(httphead_has_token("upgrades", 8, "upgrade"), 0);
}
END_TEST

START_TEST(test_httphead_too_big)
{
	uint8_t *big = malloc(HTTPHEAD_MAX + 100);
	struct httphead h;
	size_t i;

	memcpy(big, "HTTP/1.1 101 OK\r\n", 17);
	for (i = 17; i < HTTPHEAD_MAX + 100; i++)
		big[i] = 'a';
	ck_assert_int_eq(httphead_parse_response(big, HTTPHEAD_MAX + 100, &h), LK_ETOOBIG);
	ck_assert_int_eq(httphead_parse_response(big, HTTPHEAD_MAX - 1, &h), 0);
	free(big);
}
END_TEST

static Suite *
ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("conn");
	TCase *th = tcase_create("helpers");

	tcase_add_test(tc, test_ws_echo_text_binary);
	tcase_add_test(tc, test_ws_large_both_ways);
	tcase_add_test(tc, test_ws_oversize_1009);
	tcase_add_test(tc, test_ws_ping_updates_idle);
	tcase_add_test(tc, test_ws_server_close_code);
	tcase_add_test(tc, test_ws_close_after_send_delivers_queued);
	tcase_add_test(tc, test_ws_refused_upgrade_401);
	tcase_add_test(tc, test_ws_connect_closed_port);
	tcase_add_test(tc, test_ws_connect_timeout);
	tcase_add_test(tc, test_ws_bad_dns_and_url);
	tcase_add_test(tc, test_ws_free_in_server_on_message);
	tcase_add_test(tc, test_ws_free_in_client_on_message);
	tcase_add_test(tc, test_ws_abort);
	tcase_add_test(tc, test_ws_many_clients);
	tcase_add_test(tc, test_ws_server_free_with_open_ws);
	tcase_add_test(tc, test_ws_server_garbage);
	tcase_add_test(tc, test_ws_server_bad_upgrade_request);
	tcase_add_test(tc, test_ws_tls);
	tcase_add_test(th, test_ws_accept_key_rfc);
	tcase_add_test(th, test_ws_parse_url);
	tcase_add_test(th, test_httphead_parse);
	tcase_add_test(th, test_httphead_too_big);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ws_suite());
	int failed;

	/* SIGPIPE stays fatal: the code under test must never raise it. */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
