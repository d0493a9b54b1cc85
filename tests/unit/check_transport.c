/*
 * check_transport: two real transports (src/rtc/transport.c) on one libev
 * loop over 127.0.0.1: a full controlling agent against an ICE-lite one,
 * through ICE, DTLS and SRTP to RTP/RTCP both ways, with garbage datagrams
 * thrown at the ports. Every test ends with no active watchers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "rtc/cert.h"
#include "rtc/dtls.h"
#include "rtc/sdp.h"
#include "rtc/transport.h"
#include "../common/loop_check.h"

#define MAX_PKT 400

struct peer {
	struct rtc_transport *t;
	const char *name;
	enum rtc_transport_state st;
	int n_states;
	enum rtc_transport_state seen[16];
	char why[96];
	int n_cand;
	int n_rtp, n_rtcp;
	uint32_t rtp_bad; /* packets whose contents did not match */
	int free_on; /* free the transport in on_state at this state (0 = never) */
};

static struct ev_loop *loop;
static struct rtc_cert *cert_a, *cert_b;

static void
peer_state(struct rtc_transport *t, enum rtc_transport_state st, const char *why, void *arg)
{
	struct peer *p = arg;

	ck_assert_ptr_eq(p->t == NULL ? t : p->t, t);
	p->st = st;
	if (p->n_states < 16)
		p->seen[p->n_states++] = st;
	snprintf(p->why, sizeof(p->why), "%s", why);
	if (p->free_on != 0 && (int)st == p->free_on) {
		rtc_transport_free(t);
		p->t = NULL;
	}
}

static void
peer_candidate(struct rtc_transport *t, const char *cand, void *arg)
{
	struct peer *p = arg;
	struct sdp_candidate c;

	(void)t;
	p->n_cand++;
	/* "candidate:<foundation> 1 udp <priority> <ip> <port> typ host generation 0" */
	ck_assert_int_eq(sdp_candidate_parse(cand, strlen(cand), &c), 0);
	ck_assert_int_eq(c.component, 1);
	ck_assert_int_eq(c.transport, SDP_TRANSPORT_UDP);
	ck_assert_int_eq(c.type, SDP_CAND_HOST);
	ck_assert_int_eq(c.generation, 0);
	ck_assert_ptr_nonnull(strstr(cand, " typ host generation 0"));
	ck_assert(strncmp(cand, "candidate:", 10) == 0);
}

/* Test RTP: PT 111, seq n, payload bytes derived from seq and a tag. */
static size_t
make_rtp(uint8_t *b, uint16_t seq, uint8_t tag)
{
	size_t i, n = 12 + 40 + (seq % 7);

	memset(b, 0, 12);
	b[0] = 0x80;
	b[1] = 111;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = 0;
	b[5] = 0;
	b[6] = (uint8_t)(seq >> 4);
	b[7] = (uint8_t)(seq << 4);
	b[8] = 0x11;
	b[9] = 0x22;
	b[10] = 0x33;
	b[11] = tag;
	for (i = 12; i < n; i++)
		b[i] = (uint8_t)(tag + seq + i);
	return n;
}

static void
peer_rtp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct peer *p = arg;
	uint8_t want[128];
	uint16_t seq;
	size_t n;

	(void)t;
	p->n_rtp++;
	if (len < 12) {
		p->rtp_bad++;
		return;
	}
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	n = make_rtp(want, seq, pkt[11]);
	if (n != len || memcmp(want, pkt, n) != 0)
		p->rtp_bad++;
}

static void
peer_rtcp(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg)
{
	struct peer *p = arg;

	(void)t;
	p->n_rtcp++;
	/* Our RR: V=2, PT 201, length 1, sender SSRC 0x0A0B0C0D. */
	if (len != 8 || pkt[1] != 201 || pkt[4] != 0x0A || pkt[7] != 0x0D)
		p->rtp_bad++;
}

static const struct rtc_transport_cbs peer_cbs = {
        .on_state = peer_state,
        .on_candidate = peer_candidate,
        .on_rtp = peer_rtp,
        .on_rtcp = peer_rtcp,
};

static void
setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	cert_a = rtc_cert_new();
	cert_b = rtc_cert_new();
	ck_assert_ptr_nonnull(cert_a);
	ck_assert_ptr_nonnull(cert_b);
}

static void
teardown(void)
{
	rtc_cert_free(cert_a);
	rtc_cert_free(cert_b);
	ev_loop_destroy(loop);
}

/* --- running the loop until something holds --- */

typedef int (*cond_fn)(void *);

struct waiter {
	cond_fn cond;
	void *arg;
	int timed_out;
};

static void
wait_poll_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct waiter *wt = w->data;

	(void)revents;
	if (wt->cond(wt->arg))
		ev_break(l, EVBREAK_ONE);
}

static void
wait_deadline_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct waiter *wt = w->data;

	(void)revents;
	wt->timed_out = 1;
	ev_break(l, EVBREAK_ONE);
}

/* Runs the loop until cond holds or `secs` pass (a generous deadline:
 * no timing is asserted). */
static int
run_until(cond_fn cond, void *arg, double secs)
{
	struct waiter wt = {cond, arg, 0};
	ev_timer poll, deadline;

	if (cond(arg))
		return 1;
	ev_timer_init(&poll, wait_poll_cb, 0.005, 0.005);
	poll.data = &wt;
	ev_timer_init(&deadline, wait_deadline_cb, secs, 0.0);
	deadline.data = &wt;
	ev_timer_start(loop, &poll);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	ev_timer_stop(loop, &poll);
	ev_timer_stop(loop, &deadline);
	return cond(arg);
}

/* --- building a pair --- */

static struct rtc_transport *
peer_open(struct peer *p, const char *name, enum rtc_ice_mode mode, enum rtc_ice_role role,
        const struct rtc_cert *cert, double drop)
{
	struct rtc_transport_opts o;
	char err[256];

	memset(p, 0, sizeof(*p));
	p->name = name;
	memset(&o, 0, sizeof(o));
	o.ice_mode = mode;
	o.ice_role = role;
	o.cert = cert;
	o.bind_ip = "127.0.0.1";
	o.gather_loopback = 1;
	o.drop_rtp_rate = drop;
	p->t = rtc_transport_new(loop, &o, &peer_cbs, p, err, sizeof(err));
	ck_assert_msg(p->t != NULL, "transport: %s", err);
	ck_assert_int_eq(p->n_cand, 1);
	ck_assert_ptr_nonnull(rtc_transport_candidate(p->t, 0));
	ck_assert_ptr_null(rtc_transport_candidate(p->t, 1));
	ck_assert_int_eq(rtc_transport_state(p->t), RTC_TS_NEW);
	return p->t;
}

/* What the offer/answer would carry, both ways. */
static void
exchange(struct peer *full, struct peer *lite, const struct rtc_cert *full_cert,
        const struct rtc_cert *lite_cert, enum rtc_dtls_role full_role, int lite_is_lite)
{
	int i;
	const char *c;

	for (i = 0; (c = rtc_transport_candidate(lite->t, i)) != NULL; i++)
		ck_assert_int_eq(rtc_transport_add_remote_candidate(full->t, c), 0);
	for (i = 0; (c = rtc_transport_candidate(full->t, i)) != NULL; i++)
		ck_assert_int_eq(rtc_transport_add_remote_candidate(lite->t, c), 0);
	ck_assert_int_eq(rtc_transport_set_remote(lite->t, rtc_transport_ufrag(full->t),
	                         rtc_transport_pwd(full->t), 0,
	                         full_cert ? rtc_cert_fingerprint(full_cert) : NULL,
	                         full_role == RTC_DTLS_CLIENT ? RTC_DTLS_SERVER : RTC_DTLS_CLIENT),
	        0);
	ck_assert_int_eq(rtc_transport_set_remote(full->t, rtc_transport_ufrag(lite->t),
	                         rtc_transport_pwd(lite->t), lite_is_lite,
	                         lite_cert ? rtc_cert_fingerprint(lite_cert) : NULL, full_role),
	        0);
	ck_assert_int_eq(rtc_transport_state(full->t), RTC_TS_CHECKING);
}

struct two {
	struct peer *a, *b;
	enum rtc_transport_state want;
	int n;
};

static int
both_in(void *arg)
{
	struct two *w = arg;

	return w->a->st == w->want && w->b->st == w->want;
}

static int
both_got(void *arg)
{
	struct two *w = arg;

	return w->a->n_rtp >= w->n && w->b->n_rtp >= w->n;
}

static int
any_failed(const struct peer *p)
{
	int i;

	for (i = 0; i < p->n_states; i++)
		if (p->seen[i] == RTC_TS_FAILED || p->seen[i] == RTC_TS_CLOSED)
			return 1;
	return 0;
}

static void
send_rtp_burst(struct peer *from, uint8_t tag, uint16_t first, int n)
{
	uint8_t b[128];
	int i;

	for (i = 0; i < n; i++) {
		size_t len = make_rtp(b, (uint16_t)(first + i), tag);

		ck_assert_int_eq(rtc_transport_send_rtp(from->t, b, len), 0);
	}
}

static void
send_rr(struct peer *from)
{
	static const uint8_t rr[8] = {0x80, 201, 0x00, 0x01, 0x0A, 0x0B, 0x0C, 0x0D};

	ck_assert_int_eq(rtc_transport_send_rtcp(from->t, rr, sizeof(rr)), 0);
}

static int
rtcp_both(void *arg)
{
	struct two *w = arg;

	return w->a->n_rtcp >= 1 && w->b->n_rtcp >= 1;
}

static void
connect_and_talk(enum rtc_dtls_role full_role)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 0};
	struct rtc_transport_stats sa, sb;
	uint8_t pkt[64];

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0);
	ck_assert_int_eq(rtc_transport_send_rtp(a.t, pkt, make_rtp(pkt, 1, 1)), LK_EAGAIN);
	exchange(&a, &b, cert_a, cert_b, full_role, 1);
	ck_assert_msg(run_until(both_in, &w, 20), "not connected: full=%d (%s) lite=%d (%s)", a.st,
	        a.why, b.st, b.why);
	/* The path went through ICE first. */
	ck_assert_int_eq(a.seen[0], RTC_TS_CHECKING);
	ck_assert_int_eq(a.seen[1], RTC_TS_ICE_CONNECTED);
	ck_assert_int_eq(a.seen[2], RTC_TS_CONNECTED);
	ck_assert_int_eq(b.seen[b.n_states - 2], RTC_TS_ICE_CONNECTED);

	w.n = 50;
	send_rtp_burst(&a, 0xA, 1000, 50);
	send_rtp_burst(&b, 0xB, 2000, 50);
	ck_assert_msg(
	        run_until(both_got, &w, 10), "rtp: full got %d, lite got %d", a.n_rtp, b.n_rtp);
	w.n = 100;
	send_rtp_burst(&a, 0xA, 1050, 50);
	send_rtp_burst(&b, 0xB, 2050, 50);
	ck_assert_msg(
	        run_until(both_got, &w, 10), "rtp: full got %d, lite got %d", a.n_rtp, b.n_rtp);
	send_rr(&a);
	send_rr(&b);
	ck_assert(run_until(rtcp_both, &w, 10));
	ck_assert_uint_eq(a.rtp_bad, 0);
	ck_assert_uint_eq(b.rtp_bad, 0);

	rtc_transport_stats(a.t, &sa);
	rtc_transport_stats(b.t, &sb);
	ck_assert_uint_eq(sa.tx_rtp, 100);
	ck_assert_uint_eq(sb.rx_rtp, 100);
	ck_assert_uint_eq(sb.tx_rtp, 100);
	ck_assert_uint_eq(sa.rx_rtp, 100);
	ck_assert_uint_eq(sa.tx_rtcp, 1);
	ck_assert_uint_eq(sb.rx_rtcp, 1);
	ck_assert_uint_gt(sa.rx_stun, 0);
	ck_assert_uint_gt(sb.rx_stun, 0);
	ck_assert_uint_gt(sa.rx_dtls, 0);
	ck_assert_uint_gt(sb.rx_dtls, 0);
	ck_assert_uint_eq(sa.rx_garbage, 0);
	ck_assert_uint_eq(sb.rx_garbage, 0);
	ck_assert_uint_eq(sa.rx_datagrams, sa.rx_stun + sa.rx_dtls + sa.rx_rtp + sa.rx_rtcp);
	ck_assert(!any_failed(&a) && !any_failed(&b));

	rtc_transport_free(a.t);
	rtc_transport_free(b.t);
	loop_check_no_watchers(loop);
}

START_TEST(full_client_lite_server)
{
	connect_and_talk(RTC_DTLS_CLIENT);
}
END_TEST

START_TEST(full_server_lite_client)
{
	connect_and_talk(RTC_DTLS_SERVER);
}
END_TEST

/* Full against full (controlling and controlled), as lk-jobproc meets a
 * full-ICE livekit-server. */
START_TEST(full_full)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 20};

	peer_open(&a, "controlling", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "controlled", RTC_ICE_FULL, RTC_ICE_CONTROLLED, cert_b, 0);
	exchange(&a, &b, cert_a, cert_b, RTC_DTLS_SERVER, 0);
	ck_assert_msg(run_until(both_in, &w, 20), "not connected: %d (%s) %d (%s)", a.st, a.why,
	        b.st, b.why);
	send_rtp_burst(&a, 0xA, 1, 20);
	send_rtp_burst(&b, 0xB, 1, 20);
	ck_assert(run_until(both_got, &w, 10));
	ck_assert_uint_eq(a.rtp_bad + b.rtp_bad, 0);
	rtc_transport_free(b.t);
	rtc_transport_free(a.t);
	loop_check_no_watchers(loop);
}
END_TEST

struct garbage_wait {
	struct rtc_transport *t;
	uint64_t want;
};

static int
datagrams_seen(void *arg)
{
	struct garbage_wait *g = arg;
	struct rtc_transport_stats s;

	rtc_transport_stats(g->t, &s);
	return s.rx_datagrams >= g->want;
}

/* Random datagrams from a stranger, with first bytes in every RFC 7983
 * range, are counted as garbage and change nothing. */
START_TEST(garbage_counted_and_harmless)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 0};
	struct rtc_transport_stats s0, s1;
	struct garbage_wait g;
	struct sockaddr_in to;
	uint8_t buf[1500];
	unsigned seed = 7;
	int fd, i, k, sent = 0;

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0);
	exchange(&a, &b, cert_a, cert_b, RTC_DTLS_CLIENT, 1);
	ck_assert(run_until(both_in, &w, 20));
	w.n = 10;
	send_rtp_burst(&a, 0xA, 1, 10);
	send_rtp_burst(&b, 0xB, 1, 10);
	ck_assert(run_until(both_got, &w, 10));

	rtc_transport_stats(b.t, &s0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(rtc_transport_port(b.t));
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	for (i = 0; i < 600; i++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 300);
		static const uint8_t firsts[] = {
		        0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0xBF, 0x42, 0xFF};

		for (k = 0; k < (int)n; k++)
			buf[k] = (uint8_t)rand_r(&seed);
		buf[0] = firsts[i % sizeof(firsts)];
		if (i % 9 == 1 && n >= 20) {
			/* A STUN header with the magic cookie and a lying length. */
			buf[4] = 0x21;
			buf[5] = 0x12;
			buf[6] = 0xA4;
			buf[7] = 0x42;
		}
		if (i % 9 == 5 && n >= 2)
			buf[1] = 200; /* RTCP range */
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)n)
			sent++;
		if (i % 50 == 49) {
			g.t = b.t;
			g.want = s0.rx_datagrams + (uint64_t)sent;
			run_until(datagrams_seen, &g, 5);
		}
	}
	close(fd);
	g.t = b.t;
	g.want = s0.rx_datagrams + (uint64_t)sent;
	ck_assert(run_until(datagrams_seen, &g, 10));
	rtc_transport_stats(b.t, &s1);
	ck_assert_int_gt(sent, 500);
	ck_assert_uint_eq(s1.rx_garbage - s0.rx_garbage, (uint64_t)sent);
	ck_assert_uint_eq(s1.rx_rtp, s0.rx_rtp);
	ck_assert_uint_eq(s1.rx_dtls, s0.rx_dtls);
	ck_assert_int_eq(b.st, RTC_TS_CONNECTED);
	ck_assert_int_eq(a.st, RTC_TS_CONNECTED);

	/* Media still flows both ways. */
	w.n = 30;
	send_rtp_burst(&a, 0xA, 100, 20);
	send_rtp_burst(&b, 0xB, 100, 20);
	ck_assert(run_until(both_got, &w, 10));
	ck_assert_uint_eq(a.rtp_bad + b.rtp_bad, 0);
	ck_assert(!any_failed(&a) && !any_failed(&b));
	rtc_transport_free(a.t);
	rtc_transport_free(b.t);
	loop_check_no_watchers(loop);
}
END_TEST

struct drop_wait {
	struct rtc_transport *t;
	uint64_t n;
};

static int
drop_all_seen(void *arg)
{
	struct drop_wait *d = arg;
	struct rtc_transport_stats s;

	rtc_transport_stats(d->t, &s);
	return s.rx_rtp + s.rx_dropped_test >= d->n;
}

START_TEST(drop_rtp_rate_drops_some)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 0};
	struct rtc_transport_stats s;
	struct drop_wait d;
	int i;

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0.5);
	exchange(&a, &b, cert_a, cert_b, RTC_DTLS_CLIENT, 1);
	ck_assert(run_until(both_in, &w, 20));
	d.t = b.t;
	for (i = 0; i < 10; i++) {
		send_rtp_burst(&a, 0xA, (uint16_t)(i * 40), 40);
		d.n = (uint64_t)(i + 1) * 40;
		run_until(drop_all_seen, &d, 5);
	}
	ck_assert(run_until(drop_all_seen, &d, 10));
	rtc_transport_stats(b.t, &s);
	ck_assert_uint_eq(s.rx_rtp + s.rx_dropped_test, 400);
	ck_assert_uint_gt(s.rx_rtp, 100);
	ck_assert_uint_gt(s.rx_dropped_test, 100);
	ck_assert_int_eq(b.n_rtp, (int)s.rx_rtp);
	rtc_transport_free(a.t);
	rtc_transport_free(b.t);
	loop_check_no_watchers(loop);
}
END_TEST

/* Without certificates the transport runs ICE alone. */
START_TEST(ice_only)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_ICE_CONNECTED, 0};
	uint8_t pkt[64];

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLED, NULL, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, NULL, 0);
	exchange(&a, &b, NULL, NULL, RTC_DTLS_CLIENT, 1);
	ck_assert(run_until(both_in, &w, 20));
	ck_assert_int_eq(rtc_transport_send_rtp(a.t, pkt, make_rtp(pkt, 1, 1)), LK_EAGAIN);
	rtc_transport_free(a.t);
	rtc_transport_free(b.t);
	loop_check_no_watchers(loop);
}
END_TEST

/* The owner may free a transport from its own callback. */
static int
freed_after_connect(void *arg)
{
	struct two *w = arg;
	int i, seen = 0;

	for (i = 0; i < w->a->n_states; i++)
		if (w->a->seen[i] == RTC_TS_CONNECTED)
			seen = 1;
	return seen && w->b->t == NULL;
}

static int
a_freed(void *arg)
{
	struct two *w = arg;

	return w->a->t == NULL;
}

START_TEST(free_from_callback)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 0};

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0);
	/* b lets go as soon as it is connected; its close_notify then
	 * closes a, which lets go in its callback as well. */
	b.free_on = RTC_TS_CONNECTED;
	a.free_on = RTC_TS_CLOSED;
	exchange(&a, &b, cert_a, cert_b, RTC_DTLS_CLIENT, 1);
	ck_assert_msg(run_until(freed_after_connect, &w, 20), "a=%d (%s)", a.st, a.why);
	ck_assert_msg(run_until(a_freed, &w, 10), "a=%d (%s)", a.st, a.why);
	ck_assert_int_eq(a.st, RTC_TS_CLOSED);
	loop_check_no_watchers(loop);
}
END_TEST

/* A close_notify from the peer closes the transport. */
START_TEST(peer_close_notify)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_CONNECTED, 0};

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0);
	exchange(&a, &b, cert_a, cert_b, RTC_DTLS_CLIENT, 1);
	ck_assert(run_until(both_in, &w, 20));
	rtc_transport_free(b.t);
	w.want = RTC_TS_CLOSED;
	w.b = &a;
	ck_assert_msg(run_until(both_in, &w, 10), "state %d (%s)", a.st, a.why);
	rtc_transport_free(a.t);
	loop_check_no_watchers(loop);
}
END_TEST

/* A wrong fingerprint in the SDP fails DTLS. */
START_TEST(fingerprint_mismatch_fails)
{
	struct peer a, b;
	struct two w = {&a, &b, RTC_TS_FAILED, 0};

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	peer_open(&b, "lite", RTC_ICE_LITE, RTC_ICE_CONTROLLED, cert_b, 0);
	/* Each side is told the other's fingerprint is its own. */
	exchange(&a, &b, cert_b, cert_a, RTC_DTLS_CLIENT, 1);
	w.b = &a;
	ck_assert_msg(run_until(both_in, &w, 20), "state %d (%s)", a.st, a.why);
	ck_assert_int_ne(b.st, RTC_TS_CONNECTED);
	rtc_transport_free(a.t);
	rtc_transport_free(b.t);
	loop_check_no_watchers(loop);
}
END_TEST

START_TEST(gather_and_ports)
{
	struct rtc_transport_opts o;
	struct rtc_transport *t, *t2;
	struct peer p, q;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[256];
	int fd, i, found_lo = 0;
	const char *c;
	uint16_t port;

	/* All addresses, loopback included. */
	memset(&o, 0, sizeof(o));
	o.ice_mode = RTC_ICE_LITE;
	o.gather_loopback = 1;
	memset(&p, 0, sizeof(p));
	t = rtc_transport_new(loop, &o, &peer_cbs, &p, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	for (i = 0; (c = rtc_transport_candidate(t, i)) != NULL; i++) {
		struct sdp_candidate cand;

		ck_assert_int_eq(sdp_candidate_parse(c, strlen(c), &cand), 0);
		ck_assert_uint_eq(cand.port, rtc_transport_port(t));
		if (strcmp(cand.address, "127.0.0.1") == 0)
			found_lo = 1;
	}
	ck_assert_int_eq(i, p.n_cand);
	ck_assert(found_lo);
	ck_assert_uint_ge(strlen(rtc_transport_ufrag(t)), 4);
	ck_assert_uint_ge(strlen(rtc_transport_pwd(t)), 22);
	rtc_transport_free(t);

	/* advertise_ip replaces gathering. */
	o.advertise_ip = "192.0.2.7";
	memset(&p, 0, sizeof(p));
	t = rtc_transport_new(loop, &o, &peer_cbs, &p, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(p.n_cand, 1);
	ck_assert_ptr_nonnull(strstr(rtc_transport_candidate(t, 0), " 192.0.2.7 "));
	rtc_transport_free(t);
	o.advertise_ip = NULL;

	/* A one-port range: taken by the first, refused to the second. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	o.bind_ip = "127.0.0.1";
	o.port_min = o.port_max = port;
	memset(&p, 0, sizeof(p));
	t = rtc_transport_new(loop, &o, &peer_cbs, &p, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_uint_eq(rtc_transport_port(t), port);
	memset(&q, 0, sizeof(q));
	err[0] = '\0';
	t2 = rtc_transport_new(loop, &o, &peer_cbs, &q, err, sizeof(err));
	ck_assert_ptr_null(t2);
	ck_assert_uint_gt(strlen(err), 0);
	rtc_transport_free(t);

	/* Bad options. */
	o.port_min = 2000;
	o.port_max = 1000;
	ck_assert_ptr_null(rtc_transport_new(loop, &o, &peer_cbs, &q, err, sizeof(err)));
	o.port_min = o.port_max = 0;
	o.bind_ip = "not-an-ip";
	ck_assert_ptr_null(rtc_transport_new(loop, &o, &peer_cbs, &q, err, sizeof(err)));
	loop_check_no_watchers(loop);
}
END_TEST

START_TEST(bad_remote_input)
{
	struct peer a;

	peer_open(&a, "full", RTC_ICE_FULL, RTC_ICE_CONTROLLING, cert_a, 0);
	ck_assert_int_lt(rtc_transport_add_remote_candidate(a.t, "candidate:garbage"), 0);
	ck_assert_int_lt(rtc_transport_add_remote_candidate(a.t, ""), 0);
	/* TCP: valid, ignored. */
	ck_assert_int_eq(
	        rtc_transport_add_remote_candidate(a.t,
	                "candidate:3 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active generation 0"),
	        0);
	ck_assert_int_lt(rtc_transport_set_remote(a.t, "", "x", 0, "AB", RTC_DTLS_CLIENT), 0);
	ck_assert_int_lt(rtc_transport_set_remote(
	                         a.t, "abcd", "0123456789012345678901", 0, NULL, RTC_DTLS_CLIENT),
	        0);
	ck_assert_int_eq(rtc_transport_state(a.t), RTC_TS_NEW);
	rtc_transport_free(a.t);
	loop_check_no_watchers(loop);
}
END_TEST

static Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_client_lite_server);
	tcase_add_test(tc, full_server_lite_client);
	tcase_add_test(tc, full_full);
	tcase_add_test(tc, garbage_counted_and_harmless);
	tcase_add_test(tc, drop_rtp_rate_drops_some);
	tcase_add_test(tc, ice_only);
	tcase_add_test(tc, free_from_callback);
	tcase_add_test(tc, peer_close_notify);
	tcase_add_test(tc, fingerprint_mismatch_fails);
	tcase_add_test(tc, gather_and_ports);
	tcase_add_test(tc, bad_remote_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
