/*
 * check_ice: the ICE agent (src/rtc/ice.c) without sockets: two agents
 * exchange STUN through an in-memory network with a simulated clock, so
 * consent timeouts of 30 s run in no time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/ice.h"
#include "rtc/sdp.h"
#include "rtc/stun.h"

#define NET_MAX 256

struct side {
	struct ice_agent *a;
	struct stun_addr addr;
	enum ice_state st;
	char why[96];
	int n_selected;
	struct stun_addr sel;
	int drop_out; /* everything it sends is lost */
	int drop_next; /* the next n messages it sends are lost */
	int n_sent;
	uint8_t last[STUN_MAX_LEN];
	size_t last_len;
};

struct pkt {
	struct stun_addr from, to;
	uint8_t data[STUN_MAX_LEN];
	size_t len;
};

static struct pkt net[NET_MAX];
static int net_n;
static int64_t now;

static void
net_reset(void)
{
	net_n = 0;
	now = 1000000;
}

static void
side_send(const uint8_t *data, size_t len, const struct stun_addr *to, void *arg)
{
	struct side *s = arg;

	s->n_sent++;
	ck_assert_uint_le(len, STUN_MAX_LEN);
	memcpy(s->last, data, len);
	s->last_len = len;
	if (s->drop_out)
		return;
	if (s->drop_next > 0) {
		s->drop_next--;
		return;
	}
	ck_assert_int_lt(net_n, NET_MAX);
	net[net_n].from = s->addr;
	net[net_n].to = *to;
	memcpy(net[net_n].data, data, len);
	net[net_n].len = len;
	net_n++;
}

static void
side_state(enum ice_state st, const char *why, void *arg)
{
	struct side *s = arg;

	s->st = st;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void
side_selected(const struct stun_addr *remote, void *arg)
{
	struct side *s = arg;

	s->n_selected++;
	s->sel = *remote;
}

static const struct ice_cbs side_cbs = {
        .send = side_send,
        .state = side_state,
        .selected = side_selected,
};

static void
addr_set(struct stun_addr *a, uint8_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->addr[0] = 10;
	a->addr[3] = last;
	a->port = port;
}

static void
side_init(struct side *s, uint8_t last, uint16_t port, int lite, int controlling, uint64_t tie)
{
	struct ice_config cfg;

	memset(s, 0, sizeof(*s));
	addr_set(&s->addr, last, port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.lite = lite;
	cfg.controlling = controlling;
	cfg.tie_breaker = tie;
	s->a = ice_agent_new(&cfg, &side_cbs, s);
	ck_assert_ptr_nonnull(s->a);
	ck_assert_int_eq(
	        ice_agent_add_local(s->a, sdp_candidate_priority(SDP_CAND_HOST, 65535, 1)), 0);
	ck_assert_uint_eq(strlen(ice_agent_ufrag(s->a)), ICE_UFRAG_LEN);
	ck_assert_uint_eq(strlen(ice_agent_pwd(s->a)), ICE_PWD_LEN);
}

/* What the SDP would carry: `to` learns `from`'s host candidate. */
static void
give_candidate(struct side *to, const struct side *from)
{
	struct sdp_candidate c;
	char line[160];

	snprintf(line, sizeof(line), "candidate:1 1 udp %u 10.0.0.%u %u typ host generation 0",
	        (unsigned)sdp_candidate_priority(SDP_CAND_HOST, 65535, 1),
	        (unsigned)from->addr.addr[3], (unsigned)from->addr.port);
	ck_assert_int_eq(sdp_candidate_parse(line, strlen(line), &c), 0);
	ck_assert_int_eq(ice_agent_add_remote(to->a, &c, now), 0);
}

static void
give_credentials(struct side *to, const struct side *from, int from_lite)
{
	ck_assert_int_ge(ice_agent_set_remote(to->a, ice_agent_ufrag(from->a),
	                         ice_agent_pwd(from->a), from_lite, now),
	        0);
}

static struct side *sides[2];

static void
deliver(void)
{
	int i, k;

	/* Messages sent while delivering join the end of the queue. */
	for (i = 0; i < net_n; i++) {
		struct pkt p = net[i];

		for (k = 0; k < 2; k++)
			if (sides[k] != NULL && ice_addr_equal(&sides[k]->addr, &p.to))
				ice_agent_recv(sides[k]->a, p.data, p.len, &p.from, now);
	}
	net_n = 0;
}

/* Runs the pair of agents on the simulated clock until `until`. */
static void
run_until(int64_t until)
{
	int guard = 0;

	for (;;) {
		int64_t next = -1, n;
		int k;

		deliver();
		for (k = 0; k < 2; k++)
			if (sides[k] != NULL)
				ice_agent_tick(sides[k]->a, now);
		if (net_n > 0)
			continue;
		for (k = 0; k < 2; k++) {
			if (sides[k] == NULL)
				continue;
			n = ice_agent_next_ms(sides[k]->a, now);
			if (n >= 0 && (next < 0 || n < next))
				next = n;
		}
		if (next < 0 || now + next > until) {
			now = until;
			break;
		}
		now += next > 0 ? next : 1;
		ck_assert_int_lt(++guard, 1000000);
	}
}

static void
pair_up(struct side *x, struct side *y)
{
	sides[0] = x;
	sides[1] = y;
}

static void
side_free(struct side *s)
{
	ice_agent_free(s->a);
	s->a = NULL;
}

START_TEST(full_controlling_full_controlled)
{
	struct side x, y;
	struct ice_stats sx, sy;
	struct stun_addr sel;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	ck_assert_int_eq(ice_agent_state(x.a), ICE_STATE_NEW);
	give_candidate(&x, &y);
	give_candidate(&y, &x);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	ck_assert_int_eq(x.st, ICE_STATE_CHECKING);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ck_assert(ice_addr_equal(&x.sel, &y.addr));
	ck_assert(ice_addr_equal(&y.sel, &x.addr));
	ck_assert_int_eq(ice_agent_selected(x.a, &sel), 0);
	ck_assert(ice_addr_equal(&sel, &y.addr));
	ck_assert_int_eq(ice_agent_controlling(x.a), 1);
	ck_assert_int_eq(ice_agent_controlling(y.a), 0);
	ice_agent_stats(x.a, &sx);
	ice_agent_stats(y.a, &sy);
	ck_assert_uint_eq(sx.nominations, 1);
	ck_assert_uint_eq(sy.nominations, 0);
	ck_assert_uint_eq(sx.role_switches + sy.role_switches, 0);
	ck_assert(ice_agent_is_trusted(x.a, &y.addr));
	ck_assert(ice_agent_is_trusted(y.a, &x.addr));
	/* A minute of consent checks keeps both alive. */
	run_until(now + 60000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ice_agent_stats(y.a, &sy);
	ck_assert_uint_ge(sx.consent_sent, 9);
	ck_assert_uint_ge(sy.consent_sent, 9);
	ck_assert_int_eq(x.n_selected, 1);
	side_free(&x);
	side_free(&y);
}
END_TEST

/* Only the controlling side knows the other's candidate: the controlled
 * one learns a peer-reflexive candidate from the first check. */
START_TEST(peer_reflexive)
{
	struct side x, y;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ck_assert(ice_addr_equal(&y.sel, &x.addr));
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(full_lite)
{
	struct side x, l;
	struct ice_stats sx, sl;

	net_reset();
	/* Asked to be controlled, the full agent controls a lite peer. */
	side_init(&x, 1, 1000, 0, 0, 0);
	side_init(&l, 2, 2000, 1, 0, 0);
	pair_up(&x, &l);
	give_candidate(&x, &l);
	give_credentials(&x, &l, 1);
	give_credentials(&l, &x, 0);
	ck_assert_int_eq(ice_agent_controlling(x.a), 1);
	ck_assert_int_eq(ice_agent_controlling(l.a), 0);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	ck_assert(ice_addr_equal(&x.sel, &l.addr));
	ck_assert(ice_addr_equal(&l.sel, &x.addr));
	ice_agent_stats(l.a, &sl);
	ck_assert_uint_eq(sl.checks_sent, 0); /* lite never asks */
	run_until(now + 60000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ck_assert_uint_ge(sx.consent_sent, 9);
	side_free(&x);
	side_free(&l);
}
END_TEST

/* The lite side answers checks that arrive before the peer's answer SDP
 * and connects once the credentials come. */
START_TEST(lite_checked_before_answer)
{
	struct side x, l;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&l, 2, 2000, 1, 0, 0);
	pair_up(&x, &l);
	give_candidate(&x, &l);
	give_credentials(&x, &l, 1);
	run_until(now + 2000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_NEW);
	give_credentials(&l, &x, 0);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	ck_assert(ice_addr_equal(&l.sel, &x.addr));
	side_free(&x);
	side_free(&l);
}
END_TEST

START_TEST(role_conflict_both_controlling)
{
	struct side x, y;
	struct ice_stats sx, sy;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 100);
	side_init(&y, 2, 2000, 0, 1, 50);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_candidate(&y, &x);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	run_until(now + 5000);
	/* RFC 8445 §7.3.1.1: the larger tie-breaker keeps controlling. */
	ck_assert_int_eq(ice_agent_controlling(x.a), 1);
	ck_assert_int_eq(ice_agent_controlling(y.a), 0);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ice_agent_stats(y.a, &sy);
	ck_assert_uint_eq(sx.role_switches, 0);
	ck_assert_uint_eq(sy.role_switches, 1);
	ck_assert_uint_ge(sx.errors_sent, 1); /* the 487 */
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(role_conflict_both_controlled)
{
	struct side x, y;
	struct ice_stats sx, sy;

	net_reset();
	side_init(&x, 1, 1000, 0, 0, 100);
	side_init(&y, 2, 2000, 0, 0, 50);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_candidate(&y, &x);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(ice_agent_controlling(x.a), 1);
	ck_assert_int_eq(ice_agent_controlling(y.a), 0);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ice_agent_stats(y.a, &sy);
	ck_assert_uint_eq(sx.role_switches, 1);
	ck_assert_uint_eq(sy.role_switches, 0);
	side_free(&x);
	side_free(&y);
}
END_TEST

/* A full agent that wrongly claims the controlled role towards a lite
 * agent gets a 487 and takes control. */
START_TEST(role_conflict_with_lite)
{
	struct side x, l;
	struct ice_stats sx, sl;

	net_reset();
	side_init(&x, 1, 1000, 0, 0, 0);
	side_init(&l, 2, 2000, 1, 0, 0);
	pair_up(&x, &l);
	give_candidate(&x, &l);
	give_credentials(&x, &l, 0); /* the lite flag did not reach it */
	give_credentials(&l, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(ice_agent_controlling(x.a), 1);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ice_agent_stats(l.a, &sl);
	ck_assert_uint_eq(sx.role_switches, 1);
	ck_assert_uint_ge(sl.errors_sent, 1);
	side_free(&x);
	side_free(&l);
}
END_TEST

static void
build_check(uint8_t *buf, size_t cap, int *len, const char *user, const char *pwd)
{
	static const uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	struct stun_binding_req r;

	memset(&r, 0, sizeof(r));
	r.tid = tid;
	r.username = user;
	r.password = pwd;
	r.priority = 12345;
	r.controlling = 1;
	r.tie_breaker = 7;
	*len = stun_build_binding_request(buf, cap, &r);
	ck_assert_int_gt(*len, 0);
}

static int
last_error_code(const struct side *s, unsigned *flags)
{
	struct stun_msg m;

	ck_assert_int_eq(stun_parse(s->last, s->last_len, &m), 0);
	ck_assert_int_eq(m.cls, STUN_CLASS_ERROR);
	*flags = m.flags;
	return m.error_code;
}

START_TEST(bad_credentials_get_401)
{
	struct side x, y;
	struct stun_addr from;
	uint8_t buf[STUN_MAX_LEN];
	char user[128];
	unsigned flags;
	int len, sent;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	give_credentials(&y, &x, 0);
	addr_set(&from, 9, 999);
	snprintf(user, sizeof(user), "%s:%s", ice_agent_ufrag(y.a), ice_agent_ufrag(x.a));

	/* Right USERNAME, wrong password. */
	build_check(buf, sizeof(buf), &len, user, "not-the-password-at-all");
	sent = y.n_sent;
	ck_assert_int_eq(ice_agent_recv(y.a, buf, (size_t)len, &from, now), 0);
	ck_assert_int_eq(y.n_sent, sent + 1);
	ck_assert_int_eq(last_error_code(&y, &flags), 401);
	ck_assert(!(flags & STUN_F_INTEGRITY));

	/* Right password, USERNAME for someone else. */
	build_check(buf, sizeof(buf), &len, "nobody:here", ice_agent_pwd(y.a));
	ck_assert_int_eq(ice_agent_recv(y.a, buf, (size_t)len, &from, now), 0);
	ck_assert_int_eq(last_error_code(&y, &flags), 401);

	/* Our ufrag but a stale remote ufrag. */
	snprintf(user, sizeof(user), "%s:old", ice_agent_ufrag(y.a));
	build_check(buf, sizeof(buf), &len, user, ice_agent_pwd(y.a));
	ck_assert_int_eq(ice_agent_recv(y.a, buf, (size_t)len, &from, now), 0);
	ck_assert_int_eq(last_error_code(&y, &flags), 401);

	/* None of them taught the agent anything. */
	ck_assert(!ice_agent_is_trusted(y.a, &from));
	ck_assert_int_eq(y.st, ICE_STATE_CHECKING);
	run_until(now + 1000);
	ck_assert_int_eq(y.st, ICE_STATE_CHECKING);

	/* The right credentials: success, with our integrity. */
	snprintf(user, sizeof(user), "%s:%s", ice_agent_ufrag(y.a), ice_agent_ufrag(x.a));
	build_check(buf, sizeof(buf), &len, user, ice_agent_pwd(y.a));
	ck_assert_int_eq(ice_agent_recv(y.a, buf, (size_t)len, &from, now), 0);
	{
		struct stun_msg m;

		ck_assert_int_eq(stun_parse(y.last, y.last_len, &m), 0);
		ck_assert_int_eq(m.cls, STUN_CLASS_SUCCESS);
		ck_assert(m.flags & STUN_F_XOR_MAPPED);
		ck_assert(ice_addr_equal(&m.xor_mapped, &from));
		ck_assert_int_eq(
		        stun_check_integrity(&m, ice_agent_pwd(y.a), strlen(ice_agent_pwd(y.a))),
		        0);
		ck_assert_int_eq(stun_check_fingerprint(&m), 0);
	}
	ck_assert(ice_agent_is_trusted(y.a, &from));
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(lite_bad_integrity_401)
{
	struct side l;
	struct stun_addr from;
	uint8_t buf[STUN_MAX_LEN];
	char user[128];
	unsigned flags;
	int len;

	net_reset();
	side_init(&l, 2, 2000, 1, 0, 0);
	sides[0] = &l;
	sides[1] = NULL;
	addr_set(&from, 9, 999);
	snprintf(user, sizeof(user), "%s:peer", ice_agent_ufrag(l.a));
	build_check(buf, sizeof(buf), &len, user, "wrong-password-wrong-password");
	ck_assert_int_eq(ice_agent_recv(l.a, buf, (size_t)len, &from, now), 0);
	ck_assert_int_eq(last_error_code(&l, &flags), 401);
	ck_assert(!ice_agent_is_trusted(l.a, &from));
	ck_assert_int_eq(ice_agent_set_remote(l.a, "peer", "peerpasswordpeerpassword", 0, now), 0);
	ck_assert_int_eq(l.st, ICE_STATE_CHECKING);
	side_free(&l);
}
END_TEST

START_TEST(consent_lost_full)
{
	struct side x, y;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_candidate(&y, &x);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	/* y goes silent: x keeps consent for 30 s after the last answer. */
	y.drop_out = 1;
	run_until(now + 25000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	run_until(now + 10000);
	ck_assert_int_eq(x.st, ICE_STATE_FAILED);
	ck_assert_ptr_nonnull(strstr(x.why, "consent"));
	ck_assert_int_eq(ice_agent_next_ms(x.a, now), -1);
	/* y also asks and hears nothing back... it fails too. */
	ck_assert_int_eq(y.st, ICE_STATE_FAILED);
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(consent_lost_lite)
{
	struct side x, l;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&l, 2, 2000, 1, 0, 0);
	pair_up(&x, &l);
	give_candidate(&x, &l);
	give_credentials(&x, &l, 1);
	give_credentials(&l, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	x.drop_out = 1; /* the full peer vanishes */
	run_until(now + 20000);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	run_until(now + 15000);
	ck_assert_int_eq(l.st, ICE_STATE_FAILED);
	ck_assert_ptr_nonnull(strstr(l.why, "consent"));
	side_free(&x);
	side_free(&l);
}
END_TEST

START_TEST(checking_times_out)
{
	struct side x, y;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	y.drop_out = 1;
	give_candidate(&x, &y);
	give_credentials(&x, &y, 0);
	run_until(now + 20000);
	ck_assert_int_eq(x.st, ICE_STATE_CHECKING);
	run_until(now + 15000);
	ck_assert_int_eq(x.st, ICE_STATE_FAILED);
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(retransmits_recover_loss)
{
	struct side x, y;
	struct ice_stats sx;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	x.drop_next = 3;
	run_until(now + 10000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ck_assert_uint_ge(sx.retransmits, 3);
	side_free(&x);
	side_free(&y);
}
END_TEST

START_TEST(garbage_ignored)
{
	struct side x, y;
	struct stun_addr from;
	uint8_t buf[STUN_MAX_LEN], tid[STUN_TID_LEN] = {9};
	struct stun_writer w;
	int len, sent, i;
	unsigned seed = 1;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&y, 2, 2000, 0, 0, 0);
	pair_up(&x, &y);
	give_candidate(&x, &y);
	give_credentials(&x, &y, 0);
	give_credentials(&y, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	addr_set(&from, 9, 999);
	sent = x.n_sent;

	/* A success response to no transaction of ours. */
	len = stun_build_binding_success(buf, sizeof(buf), tid, &from, ice_agent_pwd(y.a));
	ck_assert_int_gt(len, 0);
	ck_assert_int_lt(ice_agent_recv(x.a, buf, (size_t)len, &y.addr, now), 0);
	/* A header whose length does not match the datagram. */
	ck_assert_int_lt(ice_agent_recv(x.a, buf, (size_t)len - 4, &y.addr, now), 0);
	/* A bad FINGERPRINT. */
	buf[len - 1] ^= 0xFF;
	ck_assert_int_lt(ice_agent_recv(x.a, buf, (size_t)len, &y.addr, now), 0);
	/* A request of another method. */
	stun_w_begin(&w, buf, sizeof(buf), 0x0003, tid);
	stun_w_fingerprint(&w);
	len = stun_w_finish(&w);
	ck_assert_int_gt(len, 0);
	ck_assert_int_lt(ice_agent_recv(x.a, buf, (size_t)len, &y.addr, now), 0);
	/* Random bytes behind a STUN-looking first byte. */
	for (i = 0; i < 2000; i++) {
		size_t n = 20 + (size_t)(rand_r(&seed) % 200), k;

		for (k = 0; k < n; k++)
			buf[k] = (uint8_t)rand_r(&seed);
		buf[0] &= 0x01;
		ice_agent_recv(x.a, buf, n, &from, now);
	}
	ck_assert_int_eq(x.n_sent, sent);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert(!ice_agent_is_trusted(x.a, &from));
	run_until(now + 10000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(y.st, ICE_STATE_CONNECTED);
	ck_assert(ice_addr_equal(&x.sel, &y.addr));
	side_free(&x);
	side_free(&y);
}
END_TEST

/* RFC 8445 §9: the full side offers a restart, the lite side answers with
 * new credentials; media stays on the old pair until the new one works. */
START_TEST(ice_restart)
{
	struct side x, l;
	struct ice_stats sx;
	char old_ufrag[ICE_MAX_CRED + 1], old_x_ufrag[ICE_MAX_CRED + 1];

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	side_init(&l, 2, 2000, 1, 0, 0);
	pair_up(&x, &l);
	give_candidate(&x, &l);
	give_credentials(&x, &l, 1);
	give_credentials(&l, &x, 0);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	snprintf(old_ufrag, sizeof(old_ufrag), "%s", ice_agent_ufrag(l.a));
	snprintf(old_x_ufrag, sizeof(old_x_ufrag), "%s", ice_agent_ufrag(x.a));

	ice_agent_restart_local(x.a);
	ck_assert_str_ne(ice_agent_ufrag(x.a), old_x_ufrag);
	ck_assert_int_eq(
	        ice_agent_set_remote(l.a, ice_agent_ufrag(x.a), ice_agent_pwd(x.a), 0, now), 1);
	ck_assert_str_ne(ice_agent_ufrag(l.a), old_ufrag);
	/* The same credentials again change nothing. */
	ck_assert_int_eq(
	        ice_agent_set_remote(l.a, ice_agent_ufrag(x.a), ice_agent_pwd(x.a), 0, now), 0);
	snprintf(old_x_ufrag, sizeof(old_x_ufrag), "%s", ice_agent_ufrag(x.a));
	ck_assert_int_eq(
	        ice_agent_set_remote(x.a, ice_agent_ufrag(l.a), ice_agent_pwd(l.a), 1, now), 1);
	ck_assert_str_eq(ice_agent_ufrag(x.a), old_x_ufrag); /* kept: we restarted first */
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	give_candidate(&x, &l);
	run_until(now + 5000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	ice_agent_stats(x.a, &sx);
	ck_assert_uint_eq(sx.nominations, 2);
	run_until(now + 60000);
	ck_assert_int_eq(x.st, ICE_STATE_CONNECTED);
	ck_assert_int_eq(l.st, ICE_STATE_CONNECTED);
	side_free(&x);
	side_free(&l);
}
END_TEST

START_TEST(unusable_candidates_ignored)
{
	struct side x;
	struct sdp_candidate c;
	static const char *const lines[] = {
	        "candidate:1 1 udp 2122262783 fd00::2 40000 typ host generation 0",
	        "candidate:2 1 udp 2122262783 abcd-1234.local 40000 typ host generation 0",
	        "candidate:3 2 udp 2122262782 10.0.0.7 40001 typ host generation 0",
	};
	size_t i;

	net_reset();
	side_init(&x, 1, 1000, 0, 1, 0);
	sides[0] = &x;
	sides[1] = NULL;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		ck_assert_int_eq(sdp_candidate_parse(lines[i], strlen(lines[i]), &c), 0);
		ck_assert_int_eq(ice_agent_add_remote(x.a, &c, now), 0);
	}
	ck_assert_int_eq(ice_agent_set_remote(x.a, "abcd", "0123456789012345678901", 0, now), 0);
	run_until(now + 1000);
	ck_assert_int_eq(x.n_sent, 0); /* nothing to check */
	ck_assert_int_eq(
	        ice_agent_set_remote(x.a, "a:b", "0123456789012345678901", 0, now), LK_EINVAL);
	side_free(&x);
}
END_TEST

static Suite *
ice_suite(void)
{
	Suite *s = suite_create("ice");
	TCase *tc = tcase_create("agent");

	tcase_add_test(tc, full_controlling_full_controlled);
	tcase_add_test(tc, peer_reflexive);
	tcase_add_test(tc, full_lite);
	tcase_add_test(tc, lite_checked_before_answer);
	tcase_add_test(tc, role_conflict_both_controlling);
	tcase_add_test(tc, role_conflict_both_controlled);
	tcase_add_test(tc, role_conflict_with_lite);
	tcase_add_test(tc, bad_credentials_get_401);
	tcase_add_test(tc, lite_bad_integrity_401);
	tcase_add_test(tc, consent_lost_full);
	tcase_add_test(tc, consent_lost_lite);
	tcase_add_test(tc, checking_times_out);
	tcase_add_test(tc, retransmits_recover_loss);
	tcase_add_test(tc, garbage_ignored);
	tcase_add_test(tc, ice_restart);
	tcase_add_test(tc, unusable_candidates_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ice_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
