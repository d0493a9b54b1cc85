/*
 * check_http: the libmicrohttpd server on a libev loop (src/net/http.c),
 * driven by raw TCP clients on the same loop over 127.0.0.1: methods,
 * bodies, limits, header and query lookup, concurrency, teardown.
 */
#include <check.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "net/http.h"
#include "net_rawclient.h"

#define NCLIENTS_MAX 64

struct ht {
	struct ev_loop *loop;
	struct http_server *srv;
	struct rawc rc[NCLIENTS_MAX];
	int nclients;
	int pending;
	int handled;
	ev_timer guard;
};

static void
ht_handler(struct http_req *req, void *arg)
{
	struct ht *ht = arg;
	const char *path = http_req_path(req);
	const char *q1, *q2, *q3, *h1, *h2;
	const uint8_t *body;
	size_t len;
	char out[1024];

	ht->handled++;
	if (strcmp(path, "/hello") == 0) {
		q1 = http_req_query(req, "name");
		q2 = http_req_query(req, "flag");
		q3 = http_req_query(req, "absent");
		h1 = http_req_header(req, "X-Test");
		h2 = http_req_header(req, "X-Absent");
		snprintf(out, sizeof(out), "%s %s name=%s flag=%s absent=%s x=%s xa=%s ws=%d",
		        http_req_method(req), path, q1 ? q1 : "(null)", q2 ? q2 : "(null)",
		        q3 ? q3 : "(null)", h1 ? h1 : "(null)", h2 ? h2 : "(null)",
		        http_req_is_ws_upgrade(req));
		http_reply(req, 200, "text/plain", out, strlen(out));
	} else if (strcmp(path, "/echo") == 0) {
		body = http_req_body(req, &len);
		http_reply(req, 200, "application/octet-stream", body, len);
	} else if (strcmp(path, "/noreply") == 0) {
		/* The server must answer 500 for us. */
	} else if (strcmp(path, "/twice") == 0) {
		http_reply_text(req, 202, "first\n");
		http_reply_text(req, 203, "second\n");
	} else {
		http_reply_text(req, 404, "not found\n");
	}
}

static void
ht_client_done(struct rawc *rc)
{
	struct ht *ht = rc->arg;

	if (--ht->pending == 0) {
		ev_timer_stop(ht->loop, &ht->guard);
		ev_break(ht->loop, EVBREAK_ALL);
	}
}

static void
ht_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	ck_abort_msg("http test did not finish");
}

static void
ht_setup(struct ht *ht, size_t max_body)
{
	struct http_server_opts o;
	char err[256];

	memset(ht, 0, sizeof(*ht));
	ht->loop = ev_loop_new(EVFLAG_AUTO);
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.port = 0;
	o.max_body = max_body;
	o.handler = ht_handler;
	o.arg = ht;
	ht->srv = http_server_new(ht->loop, &o, err, sizeof(err));
	ck_assert_msg(ht->srv != NULL, "http_server_new: %s", err);
	ck_assert_uint_ne(http_server_port(ht->srv), 0);
	ev_timer_init(&ht->guard, ht_guard, 20., 0.);
	ev_timer_start(ht->loop, &ht->guard);
}

static struct rawc *
ht_client(struct ht *ht, const char *req, size_t len)
{
	struct rawc *rc = &ht->rc[ht->nclients++];

	ck_assert_int_eq(rawc_start(rc, ht->loop, http_server_port(ht->srv), req, len), 0);
	rc->on_done = ht_client_done;
	rc->arg = ht;
	ht->pending++;
	return rc;
}

static void
ht_teardown(struct ht *ht)
{
	int i;

	for (i = 0; i < ht->nclients; i++)
		rawc_free(&ht->rc[i]);
	http_server_free(ht->srv);
	ev_timer_stop(ht->loop, &ht->guard);
	/* Returns only when no watcher is left active. */
	ev_run(ht->loop, 0);
	ev_loop_destroy(ht->loop);
}

static const char *
ht_body(struct rawc *rc)
{
	size_t n;
	const char *b = rawc_body(rc, &n);

	return b ? b : "";
}

START_TEST(test_http_get_query_headers)
{
	static const char req[] = "GET /hello?name=a%20b+c&flag HTTP/1.1\r\n"
	                          "Host: localhost\r\n"
	                          "x-tEsT: v1\r\n"
	                          "Connection: close\r\n\r\n";
	struct ht ht;
	struct rawc *rc;

	ht_setup(&ht, 0);
	rc = ht_client(&ht, req, strlen(req));
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 200);
	ck_assert_str_eq(
	        ht_body(rc), "GET /hello name=a b c flag= absent=(null) x=v1 xa=(null) ws=0");
	ck_assert_ptr_nonnull(memmem(rc->in.data, rc->in.len, "Content-Type: text/plain", 24));
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_post_body)
{
	struct ht ht;
	struct rawc *rc;
	struct buf req;
	char body[3000];
	size_t n;
	const char *got;
	int i;

	for (i = 0; i < (int)sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	buf_init(&req, 0);
	buf_printf(&req,
	        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
	        "Connection: close\r\n\r\n",
	        sizeof(body));
	buf_append(&req, body, sizeof(body));
	ht_setup(&ht, 4096);
	rc = ht_client(&ht, (const char *)req.data, req.len);
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 200);
	got = rawc_body(rc, &n);
	ck_assert_uint_eq(n, sizeof(body));
	ck_assert_int_eq(memcmp(got, body, n), 0);
	buf_free(&req);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_post_chunked)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\n"
	                          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	                          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct ht ht;
	struct rawc *rc;

	ht_setup(&ht, 64);
	rc = ht_client(&ht, req, strlen(req));
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 200);
	ck_assert_str_eq(ht_body(rc), "hello world");
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_404_and_500)
{
	static const char r404[] = "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static const char r500[] = "GET /noreply HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static const char rtwice[] = "GET /twice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct ht ht;
	struct rawc *a, *b, *c;

	ht_setup(&ht, 0);
	a = ht_client(&ht, r404, strlen(r404));
	b = ht_client(&ht, r500, strlen(r500));
	c = ht_client(&ht, rtwice, strlen(rtwice));
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(a), 404);
	ck_assert_str_eq(ht_body(a), "not found\n");
	ck_assert_int_eq(rawc_status(b), 500);
	/* The first reply wins; the second is ignored. */
	ck_assert_int_eq(rawc_status(c), 202);
	ck_assert_str_eq(ht_body(c), "first\n");
	ck_assert_int_eq(ht.handled, 3);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_413_content_length)
{
	/* The head announces more than max_body: refused before the body. */
	static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
	                          "Connection: close\r\n\r\n";
	struct ht ht;
	struct rawc *rc;

	ht_setup(&ht, 1024);
	rc = ht_client(&ht, req, strlen(req));
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 413);
	ck_assert_int_eq(ht.handled, 0);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_413_chunked)
{
	/* No length up front: the body is counted as it arrives. */
	struct ht ht;
	struct rawc *rc;
	struct buf req;
	char chunk[500];
	int i;

	memset(chunk, 'z', sizeof(chunk));
	buf_init(&req, 0);
	buf_printf(&req,
	        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	        "Connection: close\r\n\r\n");
	for (i = 0; i < 6; i++) {
		buf_printf(&req, "%zx\r\n", sizeof(chunk));
		buf_append(&req, chunk, sizeof(chunk));
		buf_printf(&req, "\r\n");
	}
	buf_printf(&req, "0\r\n\r\n");
	ht_setup(&ht, 1024);
	rc = ht_client(&ht, (const char *)req.data, req.len);
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 413);
	ck_assert_int_eq(ht.handled, 0);
	buf_free(&req);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_many_clients)
{
	static const char req[] =
	        "GET /hello?name=n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct ht ht;
	int i;

	ht_setup(&ht, 0);
	for (i = 0; i < NCLIENTS_MAX; i++)
		ht_client(&ht, req, strlen(req));
	ev_run(ht.loop, 0);
	for (i = 0; i < NCLIENTS_MAX; i++) {
		ck_assert_int_eq(rawc_status(&ht.rc[i]), 200);
		ck_assert_ptr_nonnull(strstr(ht_body(&ht.rc[i]), "name=n "));
	}
	ck_assert_int_eq(ht.handled, NCLIENTS_MAX);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_keepalive)
{
	/* Two requests on one connection, the second closing it. */
	static const char req[] =
	        "GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET /hello?name=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct ht ht;
	struct rawc *rc;

	ht_setup(&ht, 0);
	rc = ht_client(&ht, req, strlen(req));
	ev_run(ht.loop, 0);
	ck_assert_int_eq(rawc_status(rc), 200);
	ck_assert_ptr_nonnull(memmem(rc->in.data, rc->in.len, "name=1 ", 7));
	ck_assert_ptr_nonnull(memmem(rc->in.data, rc->in.len, "name=2 ", 7));
	ck_assert_int_eq(ht.handled, 2);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_garbage_request)
{
	static const char req[] = "\x01\x02 not http at all\r\n\r\n";
	struct ht ht;
	struct rawc *rc;

	ht_setup(&ht, 0);
	rc = ht_client(&ht, req, sizeof(req) - 1);
	ev_run(ht.loop, 0);
	ck_assert_int_ne(rawc_status(rc), 200);
	ck_assert_int_eq(ht.handled, 0);
	ht_teardown(&ht);
}
END_TEST

START_TEST(test_http_bad_bind)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct http_server_opts o;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.bind = "not-an-address";
	o.handler = ht_handler;
	ck_assert_ptr_null(http_server_new(loop, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not-an-address"));
	o.bind = "127.0.0.1";
	o.handler = NULL;
	ck_assert_ptr_null(http_server_new(loop, &o, err, sizeof(err)));
	ev_run(loop, 0);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_http_port_in_use)
{
	struct ht ht;
	struct http_server_opts o;
	char err[256];

	ht_setup(&ht, 0);
	memset(&o, 0, sizeof(o));
	o.bind = "127.0.0.1";
	o.port = http_server_port(ht.srv);
	o.handler = ht_handler;
	ck_assert_ptr_null(http_server_new(ht.loop, &o, err, sizeof(err)));
	ck_assert_msg(err[0] != '\0', "no error text");
	ht_teardown(&ht);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("server");

	tcase_add_test(tc, test_http_get_query_headers);
	tcase_add_test(tc, test_http_post_body);
	tcase_add_test(tc, test_http_post_chunked);
	tcase_add_test(tc, test_http_404_and_500);
	tcase_add_test(tc, test_http_413_content_length);
	tcase_add_test(tc, test_http_413_chunked);
	tcase_add_test(tc, test_http_many_clients);
	tcase_add_test(tc, test_http_keepalive);
	tcase_add_test(tc, test_http_garbage_request);
	tcase_add_test(tc, test_http_bad_bind);
	tcase_add_test(tc, test_http_port_in_use);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
