/*
 * transport: the wire side of one WebRTC peer connection in lk-jobproc and
 * lk-devserver: a UDP socket on the libev loop, the ICE agent (ice.c),
 * DTLS-SRTP (dtls.c, srtp.c) and the RFC 7983 demultiplexer between them.
 *
 * Each received datagram is counted once: in rx_stun, rx_dtls, rx_rtp or
 * rx_rtcp when it was handled, in rx_dropped_test when drop_rtp_rate took
 * it, and in rx_garbage otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "rtc/demux.h"
#include "rtc/dtls.h"
#include "rtc/ice.h"
#include "rtc/sdp.h"
#include "rtc/srtp.h"
#include "rtc/stun.h"
#include "rtc/transport.h"

#define RT_RX_BUF 2048
#define RT_RX_BURST 64 /* datagrams per wakeup, so one busy peer cannot starve the loop */
#define RT_CAND_LEN 192
#define RT_FP_LEN 256

struct rtc_transport {
	struct ev_loop *loop;
	struct rtc_transport_cbs cbs;
	void *arg;
	const struct rtc_cert *cert;
	enum rtc_ice_mode mode;
	double drop_rtp_rate;
	uint64_t rng;

	int fd;
	uint16_t port;
	ev_io rio;
	ev_timer ice_timer;
	ev_timer dtls_timer;

	struct ice_agent *ice;
	char cand[ICE_MAX_LOCAL][RT_CAND_LEN];
	int n_cand;

	enum rtc_transport_state st;
	int have_remote;
	int ice_failed; /* FAILED came from ICE: an ICE restart may recover */
	char fingerprint[RT_FP_LEN];
	enum rtc_dtls_role dtls_role;
	struct rtc_dtls *dtls;
	int dtls_dead;
	struct rtc_srtp *srtp;

	/* The selected pair's remote address: media and DTLS go there. */
	struct sockaddr_in peer;
	int have_peer;
	/* Where DTLS came from before ICE selected a pair (server role). */
	struct sockaddr_in dtls_src;
	int have_dtls_src;

	/* Callbacks may free the transport: that is deferred until the
	 * outermost entry point returns. */
	int busy;
	int dead;

	struct rtc_transport_stats stats;
	uint8_t rx[RT_RX_BUF];
	uint8_t tx[RT_RX_BUF + RTC_SRTP_MAX_TRAILER];
};

static int64_t
rt_now(const struct rtc_transport *t)
{
	return (int64_t)(ev_now(t->loop) * 1000.0);
}

static void
rt_enter(struct rtc_transport *t)
{
	t->busy++;
}

static void rt_destroy(struct rtc_transport *t);

/* Returns 1 when the transport is gone (freed from a callback). */
static int
rt_leave(struct rtc_transport *t)
{
	if (--t->busy == 0 && t->dead) {
		rt_destroy(t);
		return 1;
	}
	return 0;
}

static const char *
rt_state_name(enum rtc_transport_state st)
{
	static const char *const names[] = {
	        "new", "checking", "ice-connected", "connected", "failed", "closed"};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static void
rt_set_state(struct rtc_transport *t, enum rtc_transport_state st, const char *why)
{
	if (t->dead || t->st == st || t->st == RTC_TS_CLOSED)
		return;
	/* FAILED is final, except that an ICE restart may recover from an
	 * ICE failure (rt_on_ice_state). */
	if (t->st == RTC_TS_FAILED && !(st == RTC_TS_CHECKING && t->ice_failed && !t->dtls_dead))
		return;
	log_debug("rtc transport state", "port", log_fmt("%u", (unsigned)t->port), "from",
	        rt_state_name(t->st), "to", rt_state_name(st), "why", why);
	t->st = st;
	if (st == RTC_TS_CHECKING)
		t->ice_failed = 0;
	if (t->cbs.on_state != NULL)
		t->cbs.on_state(t, st, why, t->arg);
}

static void
rt_sendto(struct rtc_transport *t, const uint8_t *data, size_t len, const struct sockaddr_in *to,
        int media)
{
	ssize_t n;

	do
		n = sendto(t->fd, data, len, 0, (const struct sockaddr *)to, sizeof(*to));
	while (n < 0 && errno == EINTR);
	if (n < 0 && media)
		t->stats.tx_errors++;
}

/* --- timers --- */

static void
rt_ice_rearm(struct rtc_transport *t)
{
	int64_t ms;

	if (t->dead)
		return;
	ms = ice_agent_next_ms(t->ice, rt_now(t));
	ev_timer_stop(t->loop, &t->ice_timer);
	if (ms < 0)
		return;
	ev_timer_set(&t->ice_timer, (double)ms / 1000.0, 0.0);
	ev_timer_start(t->loop, &t->ice_timer);
}

static void
rt_dtls_rearm(struct rtc_transport *t)
{
	int64_t ms;

	if (t->dead)
		return;
	ev_timer_stop(t->loop, &t->dtls_timer);
	if (t->dtls == NULL || t->dtls_dead)
		return;
	ms = rtc_dtls_timeout_ms(t->dtls);
	if (ms < 0)
		return;
	ev_timer_set(&t->dtls_timer, (double)ms / 1000.0, 0.0);
	ev_timer_start(t->loop, &t->dtls_timer);
}

static void
rt_ice_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rtc_transport *t = w->data;

	(void)loop;
	(void)revents;
	rt_enter(t);
	ice_agent_tick(t->ice, rt_now(t));
	rt_ice_rearm(t);
	rt_leave(t);
}

static void
rt_dtls_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rtc_transport *t = w->data;

	(void)loop;
	(void)revents;
	rt_enter(t);
	if (t->dtls != NULL && !t->dtls_dead)
		rtc_dtls_on_timeout(t->dtls);
	rt_dtls_rearm(t);
	rt_leave(t);
}

/* --- DTLS --- */

static void
rt_dtls_send(const uint8_t *data, size_t len, void *arg)
{
	struct rtc_transport *t = arg;

	/* To the selected pair; before ICE selects one (server role), back to
	 * where the peer's DTLS came from. */
	if (t->have_peer)
		rt_sendto(t, data, len, &t->peer, 0);
	else if (t->have_dtls_src)
		rt_sendto(t, data, len, &t->dtls_src, 0);
}

static void
rt_dtls_connected(const struct rtc_srtp_keys *keys, void *arg)
{
	struct rtc_transport *t = arg;

	if (t->dead)
		return;
	/* RFC 5764 §4.2: the client writes with the client key. */
	t->srtp = rtc_srtp_new(keys, t->dtls_role == RTC_DTLS_CLIENT);
	if (t->srtp == NULL) {
		t->dtls_dead = 1;
		rt_set_state(t, RTC_TS_FAILED, "srtp setup failed");
		return;
	}
	log_debug("rtc dtls connected", "port", log_fmt("%u", (unsigned)t->port), "profile",
	        log_fmt("0x%04x", (unsigned)keys->profile));
	if (ice_agent_state(t->ice) == ICE_STATE_CONNECTED)
		rt_set_state(t, RTC_TS_CONNECTED, "dtls connected");
}

static void
rt_dtls_failed(const char *why, void *arg)
{
	struct rtc_transport *t = arg;

	t->dtls_dead = 1;
	rt_set_state(t, RTC_TS_FAILED, why);
}

static void
rt_dtls_closed(void *arg)
{
	struct rtc_transport *t = arg;

	t->dtls_dead = 1;
	rt_set_state(t, RTC_TS_CLOSED, "dtls close_notify");
}

static const struct rtc_dtls_cbs rt_dtls_cbs = {
        .send = rt_dtls_send,
        .connected = rt_dtls_connected,
        .failed = rt_dtls_failed,
        .closed = rt_dtls_closed,
};

/* Creates the association once the peer's fingerprint is known; the
 * client sends its ClientHello at once. Without a certificate the
 * transport runs ICE only. */
static void
rt_dtls_ensure(struct rtc_transport *t)
{
	if (t->dtls != NULL || t->dtls_dead || t->cert == NULL || !t->have_remote || t->dead)
		return;
	t->dtls = rtc_dtls_new(t->cert, t->dtls_role, t->fingerprint, &rt_dtls_cbs, t);
	if (t->dtls == NULL) {
		t->dtls_dead = 1;
		rt_set_state(t, RTC_TS_FAILED, "dtls setup failed");
		return;
	}
	if (t->dtls_role == RTC_DTLS_CLIENT && rtc_dtls_start(t->dtls) != 0 && !t->dtls_dead) {
		t->dtls_dead = 1;
		rt_set_state(t, RTC_TS_FAILED, "dtls start failed");
		return;
	}
	rt_dtls_rearm(t);
}

/* --- ICE --- */

static void
rt_ice_send(const uint8_t *data, size_t len, const struct stun_addr *to, void *arg)
{
	struct rtc_transport *t = arg;
	struct sockaddr_in sa;

	if (stun_addr_to_sockaddr(to, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return;
	rt_sendto(t, data, len, &sa, 0);
}

static void
rt_ice_state(enum ice_state st, const char *why, void *arg)
{
	struct rtc_transport *t = arg;

	switch (st) {
	case ICE_STATE_NEW:
		break;
	case ICE_STATE_CHECKING:
		rt_set_state(t, RTC_TS_CHECKING, why);
		break;
	case ICE_STATE_CONNECTED:
		if (t->srtp != NULL) {
			rt_set_state(t, RTC_TS_CONNECTED, why);
		} else {
			rt_set_state(t, RTC_TS_ICE_CONNECTED, why);
			rt_dtls_ensure(t);
		}
		break;
	case ICE_STATE_FAILED:
		if (t->st != RTC_TS_FAILED && t->st != RTC_TS_CLOSED)
			t->ice_failed = 1;
		rt_set_state(t, RTC_TS_FAILED, why);
		break;
	}
}

static void
rt_ice_selected(const struct stun_addr *remote, void *arg)
{
	struct rtc_transport *t = arg;
	char s[64];

	if (stun_addr_to_sockaddr(remote, (struct sockaddr *)&t->peer, sizeof(t->peer)) != 0)
		return;
	t->have_peer = 1;
	log_debug("rtc ice pair selected", "port", log_fmt("%u", (unsigned)t->port), "remote",
	        ice_addr_str(remote, s, sizeof(s)));
}

static const struct ice_cbs rt_ice_cbs = {
        .send = rt_ice_send,
        .state = rt_ice_state,
        .selected = rt_ice_selected,
};

/* --- receive path --- */

static int
rt_from_peer(const struct rtc_transport *t, const struct sockaddr_in *from)
{
	return t->have_peer && from->sin_port == t->peer.sin_port &&
	        from->sin_addr.s_addr == t->peer.sin_addr.s_addr;
}

static double
rt_rand01(struct rtc_transport *t)
{
	/* xorshift64: a test-only knob does not need the kernel's entropy
	 * for every packet. */
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return (double)(t->rng >> 11) / 9007199254740992.0;
}

static void
rt_on_dtls(struct rtc_transport *t, size_t len, const struct sockaddr_in *from)
{
	struct stun_addr sa;

	/* Only from an address that passed an ICE check (RFC 8445 §11: no
	 * data before connectivity is verified), and only once the SDP gave
	 * us the fingerprint to check against. */
	if (stun_addr_from_sockaddr(&sa, (const struct sockaddr *)from) != 0 ||
	        (!rt_from_peer(t, from) && !ice_agent_is_trusted(t->ice, &sa)) || !t->have_remote ||
	        t->cert == NULL || t->dtls_dead) {
		t->stats.rx_garbage++;
		return;
	}
	if (t->dtls == NULL) {
		/* The client speaks first; as the server we wait for it. */
		if (t->dtls_role != RTC_DTLS_SERVER) {
			t->stats.rx_garbage++;
			return;
		}
		t->dtls_src = *from;
		t->have_dtls_src = 1;
		rt_dtls_ensure(t);
		if (t->dtls == NULL)
			return;
	} else if (!t->have_peer) {
		t->dtls_src = *from;
		t->have_dtls_src = 1;
	}
	t->stats.rx_dtls++;
	rtc_dtls_feed(t->dtls, t->rx, len);
	rt_dtls_rearm(t);
}

static void
rt_on_media(struct rtc_transport *t, size_t len, const struct sockaddr_in *from, int rtcp)
{
	int rc;

	if (t->srtp == NULL || t->st != RTC_TS_CONNECTED || !rt_from_peer(t, from)) {
		t->stats.rx_garbage++;
		return;
	}
	if (!rtcp && t->drop_rtp_rate > 0 && rt_rand01(t) < t->drop_rtp_rate) {
		t->stats.rx_dropped_test++;
		return;
	}
	rc = rtcp ? rtc_srtp_unprotect_rtcp(t->srtp, t->rx, &len)
	          : rtc_srtp_unprotect_rtp(t->srtp, t->rx, &len);
	if (rc != 0) {
		t->stats.rx_garbage++;
		return;
	}
	if (rtcp) {
		t->stats.rx_rtcp++;
		if (t->cbs.on_rtcp != NULL)
			t->cbs.on_rtcp(t, t->rx, len, t->arg);
	} else {
		t->stats.rx_rtp++;
		if (t->cbs.on_rtp != NULL)
			t->cbs.on_rtp(t, t->rx, len, t->arg);
	}
}

static void
rt_dispatch(struct rtc_transport *t, size_t len, const struct sockaddr_in *from)
{
	struct stun_addr sa;

	switch (rtc_demux_classify(t->rx, len)) {
	case RTC_PKT_STUN:
		if (stun_addr_from_sockaddr(&sa, (const struct sockaddr *)from) != 0 ||
		        ice_agent_recv(t->ice, t->rx, len, &sa, rt_now(t)) != 0) {
			t->stats.rx_garbage++;
		} else {
			t->stats.rx_stun++;
		}
		rt_ice_rearm(t);
		break;
	case RTC_PKT_DTLS:
		rt_on_dtls(t, len, from);
		break;
	case RTC_PKT_RTP:
		rt_on_media(t, len, from, 0);
		break;
	case RTC_PKT_RTCP:
		rt_on_media(t, len, from, 1);
		break;
	default:
		t->stats.rx_garbage++;
		break;
	}
}

static void
rt_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rtc_transport *t = w->data;
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	int i;

	(void)loop;
	(void)revents;
	rt_enter(t);
	for (i = 0; i < RT_RX_BURST && !t->dead; i++) {
		fl = sizeof(from);
		/* MSG_TRUNC: the real length, so an oversized datagram is seen
		 * as such rather than parsed cut short. */
		n = recvfrom(t->fd, t->rx, sizeof(t->rx), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or an ICMP error we have no use for */
		}
		t->stats.rx_datagrams++;
		if ((size_t)n > sizeof(t->rx) || fl < sizeof(from) || from.sin_family != AF_INET) {
			t->stats.rx_garbage++;
			continue;
		}
		rt_dispatch(t, (size_t)n, &from);
	}
	rt_leave(t);
}

/* --- set-up --- */

static int
rt_bind(struct rtc_transport *t, const struct rtc_transport_opts *o, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	uint32_t n, start, k;
	int rc = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (o->bind_ip != NULL && inet_pton(AF_INET, o->bind_ip, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "bad bind address %s", o->bind_ip);
		return LK_EINVAL;
	}
	if ((o->port_min == 0) != (o->port_max == 0) || o->port_min > o->port_max) {
		snprintf(err, errlen, "bad port range %u-%u", (unsigned)o->port_min,
		        (unsigned)o->port_max);
		return LK_EINVAL;
	}
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (o->port_min == 0) {
		sa.sin_port = 0;
		rc = bind(t->fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		/* A random start spreads transports over the range. */
		n = (uint32_t)o->port_max - o->port_min + 1;
		start = lk_random_u32() % n;
		for (k = 0; k < n; k++) {
			sa.sin_port = htons((uint16_t)(o->port_min + (start + k) % n));
			rc = bind(t->fd, (struct sockaddr *)&sa, sizeof(sa));
			if (rc == 0 || (errno != EADDRINUSE && errno != EACCES))
				break;
		}
	}
	if (rc != 0) {
		rc = -errno;
		snprintf(err, errlen, "bind %s ports %u-%u: %s",
		        o->bind_ip ? o->bind_ip : "0.0.0.0", (unsigned)o->port_min,
		        (unsigned)o->port_max, strerror(errno));
		return rc;
	}
	if (getsockname(t->fd, (struct sockaddr *)&sa, &sl) != 0) {
		rc = -errno;
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return rc;
	}
	t->port = ntohs(sa.sin_port);
	return 0;
}

static void
rt_add_candidate(struct rtc_transport *t, const char *ip)
{
	struct sdp_candidate c;
	int i;

	for (i = 0; i < t->n_cand; i++) {
		struct sdp_candidate o;

		if (sdp_candidate_parse(t->cand[i], strlen(t->cand[i]), &o) == 0 &&
		        strcmp(o.address, ip) == 0)
			return;
	}
	if (t->n_cand >= ICE_MAX_LOCAL)
		return;
	memset(&c, 0, sizeof(c));
	/* RFC 8445 §5.1.1.3: host candidates on different bases get
	 * different foundations. */
	snprintf(c.foundation, sizeof(c.foundation), "%d", t->n_cand + 1);
	c.component = 1;
	c.transport = SDP_TRANSPORT_UDP;
	/* §5.1.2.1: type preference 126 (host); the local preference orders
	 * the interfaces as getifaddrs lists them. */
	c.priority = sdp_candidate_priority(SDP_CAND_HOST, (uint16_t)(65535 - t->n_cand), 1);
	lk_strlcpy(c.address, ip, sizeof(c.address));
	c.port = t->port;
	c.type = SDP_CAND_HOST;
	c.generation = 0;
	if (sdp_candidate_format(&c, t->cand[t->n_cand], sizeof(t->cand[0])) < 0)
		return;
	ice_agent_add_local(t->ice, c.priority);
	t->n_cand++;
}

static int
rt_gather(struct rtc_transport *t, const struct rtc_transport_opts *o, char *err, size_t errlen)
{
	struct ifaddrs *ifs, *i;
	struct in_addr in;
	char ip[INET_ADDRSTRLEN];

	if (o->advertise_ip != NULL) {
		if (inet_pton(AF_INET, o->advertise_ip, &in) != 1) {
			snprintf(err, errlen, "bad advertised address %s", o->advertise_ip);
			return LK_EINVAL;
		}
		rt_add_candidate(t, o->advertise_ip);
		return 0;
	}
	/* Bound to one address: that is the only one that answers. */
	if (o->bind_ip != NULL && strcmp(o->bind_ip, "0.0.0.0") != 0) {
		rt_add_candidate(t, o->bind_ip);
		return 0;
	}
	if (getifaddrs(&ifs) != 0) {
		snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
		return -errno;
	}
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		        !(i->ifa_flags & IFF_UP))
			continue;
		if ((i->ifa_flags & IFF_LOOPBACK) && !o->gather_loopback)
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, ip,
		            sizeof(ip)) == NULL)
			continue;
		rt_add_candidate(t, ip);
	}
	freeifaddrs(ifs);
	if (t->n_cand == 0)
		log_warn("rtc transport has no host candidate", "port",
		        log_fmt("%u", (unsigned)t->port), "hint", "no IPv4 address is up");
	return 0;
}

struct rtc_transport *
rtc_transport_new(struct ev_loop *loop, const struct rtc_transport_opts *opts,
        const struct rtc_transport_cbs *cbs, void *arg, char *err, size_t errlen)
{
	struct rtc_transport *t;
	struct ice_config ic;
	char dummy[8];
	int i;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (loop == NULL || opts == NULL) {
		snprintf(err, errlen, "no loop or options");
		return NULL;
	}
	if (opts->drop_rtp_rate < 0 || opts->drop_rtp_rate > 1) {
		snprintf(err, errlen, "drop_rtp_rate outside 0..1");
		return NULL;
	}
	t = lk_xcalloc(1, sizeof(*t));
	t->loop = loop;
	if (cbs != NULL)
		t->cbs = *cbs;
	t->arg = arg;
	t->cert = opts->cert;
	t->mode = opts->ice_mode;
	t->drop_rtp_rate = opts->drop_rtp_rate;
	if (lk_random(&t->rng, sizeof(t->rng)) != 0 || t->rng == 0)
		t->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)lk_random_u32();
	t->fd = -1;
	t->st = RTC_TS_NEW;

	memset(&ic, 0, sizeof(ic));
	ic.lite = opts->ice_mode == RTC_ICE_LITE;
	ic.controlling = opts->ice_role == RTC_ICE_CONTROLLING;
	t->ice = ice_agent_new(&ic, &rt_ice_cbs, t);
	if (t->ice == NULL) {
		snprintf(err, errlen, "ice agent");
		rt_destroy(t);
		return NULL;
	}
	if (rt_bind(t, opts, err, errlen) != 0 || rt_gather(t, opts, err, errlen) != 0) {
		rt_destroy(t);
		return NULL;
	}
	ev_io_init(&t->rio, rt_io_cb, t->fd, EV_READ);
	t->rio.data = t;
	ev_timer_init(&t->ice_timer, rt_ice_timer_cb, 0.0, 0.0);
	t->ice_timer.data = t;
	ev_timer_init(&t->dtls_timer, rt_dtls_timer_cb, 0.0, 0.0);
	t->dtls_timer.data = t;
	ev_io_start(loop, &t->rio);
	log_debug("rtc transport open", "port", log_fmt("%u", (unsigned)t->port), "ice",
	        ic.lite ? "lite" : "full", "candidates", log_fmt("%d", t->n_cand));

	rt_enter(t);
	for (i = 0; i < t->n_cand && !t->dead; i++)
		if (t->cbs.on_candidate != NULL)
			t->cbs.on_candidate(t, t->cand[i], t->arg);
	if (rt_leave(t))
		return NULL;
	return t;
}

static void
rt_destroy(struct rtc_transport *t)
{
	if (t->fd >= 0) {
		ev_io_stop(t->loop, &t->rio);
		ev_timer_stop(t->loop, &t->ice_timer);
		ev_timer_stop(t->loop, &t->dtls_timer);
	}
	if (t->dtls != NULL)
		rtc_dtls_free(t->dtls);
	if (t->srtp != NULL)
		rtc_srtp_free(t->srtp);
	if (t->ice != NULL)
		ice_agent_free(t->ice);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

void
rtc_transport_free(struct rtc_transport *t)
{
	if (t == NULL || t->dead)
		return;
	/* Callbacks stop here: nothing reaches the owner once it let go. */
	t->dead = 1;
	ev_io_stop(t->loop, &t->rio);
	ev_timer_stop(t->loop, &t->ice_timer);
	ev_timer_stop(t->loop, &t->dtls_timer);
	/* RFC 5246 §7.2.1: tell the peer, so it does not wait 30 s for
	 * consent to run out. */
	if (t->dtls != NULL && !t->dtls_dead && rtc_dtls_is_connected(t->dtls))
		rtc_dtls_close(t->dtls);
	if (t->busy == 0)
		rt_destroy(t);
}

const char *
rtc_transport_ufrag(const struct rtc_transport *t)
{
	return ice_agent_ufrag(t->ice);
}

const char *
rtc_transport_pwd(const struct rtc_transport *t)
{
	return ice_agent_pwd(t->ice);
}

const char *
rtc_transport_candidate(const struct rtc_transport *t, int index)
{
	if (index < 0 || index >= t->n_cand)
		return NULL;
	return t->cand[index];
}

uint16_t
rtc_transport_port(const struct rtc_transport *t)
{
	return t->port;
}

enum rtc_transport_state
rtc_transport_state(const struct rtc_transport *t)
{
	return t->st;
}

void
rtc_transport_stats(const struct rtc_transport *t, struct rtc_transport_stats *out)
{
	*out = t->stats;
}

int
rtc_transport_restart_ice(struct rtc_transport *t)
{
	if (t->dead || t->st == RTC_TS_CLOSED)
		return LK_ECLOSED;
	ice_agent_restart_local(t->ice);
	return 0;
}

int
rtc_transport_set_remote(struct rtc_transport *t, const char *ufrag, const char *pwd,
        int remote_lite, const char *fingerprint_sha256, enum rtc_dtls_role our_dtls_role)
{
	int rc;

	if (t->dead || t->st == RTC_TS_CLOSED)
		return LK_ECLOSED;
	if (ufrag == NULL || pwd == NULL)
		return LK_EINVAL;
	if (!t->have_remote) {
		if (t->cert != NULL && fingerprint_sha256 == NULL)
			return LK_EINVAL;
		if (fingerprint_sha256 != NULL &&
		        lk_strlcpy(t->fingerprint, fingerprint_sha256, sizeof(t->fingerprint)) >=
		                sizeof(t->fingerprint))
			return LK_ETOOBIG;
		if (our_dtls_role != RTC_DTLS_CLIENT && our_dtls_role != RTC_DTLS_SERVER)
			return LK_EINVAL;
		t->dtls_role = our_dtls_role;
	}
	rt_enter(t);
	/* Set first: the agent may connect at once (a lite agent that was
	 * checked before the answer came) and DTLS needs the fingerprint. */
	t->have_remote = 1;
	rc = ice_agent_set_remote(t->ice, ufrag, pwd, remote_lite, rt_now(t));
	if (rc < 0 && ice_agent_state(t->ice) == ICE_STATE_NEW)
		t->have_remote = 0;
	rt_ice_rearm(t);
	if (rt_leave(t))
		return 0;
	return rc < 0 ? rc : 0;
}

int
rtc_transport_add_remote_candidate(struct rtc_transport *t, const char *candidate)
{
	struct sdp_candidate c;
	int rc;

	if (t->dead)
		return LK_ECLOSED;
	if (candidate == NULL)
		return LK_EINVAL;
	rc = sdp_candidate_parse(candidate, strlen(candidate), &c);
	if (rc == LK_ETYPE)
		return 0; /* TCP and the like: valid, of no use to us */
	if (rc != 0)
		return rc;
	rc = ice_agent_add_remote(t->ice, &c, rt_now(t));
	rt_ice_rearm(t);
	return rc;
}

static int
rt_send_media(struct rtc_transport *t, const uint8_t *pkt, size_t len, int rtcp)
{
	size_t n = len;
	int rc;

	if (t->dead || t->st != RTC_TS_CONNECTED || t->srtp == NULL || !t->have_peer)
		return LK_EAGAIN;
	if (len > sizeof(t->tx) - RTC_SRTP_MAX_TRAILER)
		return LK_ETOOBIG;
	memcpy(t->tx, pkt, len);
	rc = rtcp ? rtc_srtp_protect_rtcp(t->srtp, t->tx, &n, sizeof(t->tx))
	          : rtc_srtp_protect_rtp(t->srtp, t->tx, &n, sizeof(t->tx));
	if (rc != 0) {
		t->stats.tx_errors++;
		return rc;
	}
	if (sendto(t->fd, t->tx, n, 0, (const struct sockaddr *)&t->peer, sizeof(t->peer)) < 0) {
		rc = -errno;
		t->stats.tx_errors++;
		return rc;
	}
	if (rtcp)
		t->stats.tx_rtcp++;
	else
		t->stats.tx_rtp++;
	return 0;
}

int
rtc_transport_send_rtp(struct rtc_transport *t, const uint8_t *pkt, size_t len)
{
	return rt_send_media(t, pkt, len, 0);
}

int
rtc_transport_send_rtcp(struct rtc_transport *t, const uint8_t *pkt, size_t len)
{
	return rt_send_media(t, pkt, len, 1);
}
