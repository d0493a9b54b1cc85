/*
 * ice: one ICE agent (RFC 8445, one component, IPv4 UDP) as a sans-IO state
 * machine: full agent (checks, nomination, role conflicts) or ICE-lite,
 * with consent freshness (RFC 7675). The caller feeds datagrams and the
 * time; the agent hands back STUN messages to send. Used by transport.c in
 * lk-jobproc and lk-devserver.
 *
 * All local host candidates share one socket, so the kernel picks the
 * source address: the checklist holds one pair per remote address and the
 * pair priority uses our best local candidate. Nomination is regular
 * (RFC 8445 §8.1.1): the controlling agent checks pairs, then repeats the
 * check of the best valid pair with USE-CANDIDATE.
 */
#ifndef LK_RTC_ICE_H
#define LK_RTC_ICE_H

#include <stddef.h>
#include <stdint.h>

#include "rtc/stun.h"

struct sdp_candidate;
struct ice_agent;

#define ICE_UFRAG_LEN 8 /* RFC 8839 §5.4: at least 4 ice-chars */
#define ICE_PWD_LEN 24 /* at least 22 ice-chars */
#define ICE_MAX_CRED 256 /* longest remote ufrag/pwd accepted */
#define ICE_MAX_LOCAL 8 /* host candidates */
#define ICE_MAX_PAIRS 40 /* remote addresses (signalled and peer-reflexive) */

/* Timing (milliseconds). */
#define ICE_TA_MS 20 /* RFC 8445 §14.2 pacing of new checks */
#define ICE_RTO_MS 250 /* first retransmission of a check */
#define ICE_RTO_MAX_MS 1000
#define ICE_MAX_TX 7 /* transmissions before a pair fails */
#define ICE_NOMINATE_WAIT_MS 500 /* for a better pair before nominating */
#define ICE_CONSENT_INTERVAL_MS 5000 /* RFC 7675 §5.1: 4-6 s, randomised */
#define ICE_CONSENT_RETRY_MS 1000 /* once a response is overdue */
#define ICE_CONSENT_TIMEOUT_MS 30000 /* RFC 7675 §5.1: consent expires */
#define ICE_CHECKING_TIMEOUT_MS 30000

enum ice_state {
	ICE_STATE_NEW = 0, /* no remote credentials yet */
	ICE_STATE_CHECKING, /* checks running (lite: waiting for checks) */
	ICE_STATE_CONNECTED, /* a pair is selected */
	ICE_STATE_FAILED, /* no pair in time, or consent lost */
};

struct ice_config {
	int lite; /* answer checks only; always controlled */
	int controlling; /* full agent: initial role */
	uint64_t tie_breaker; /* 0: random */
	/* NULL: random ice-chars (ICE_UFRAG_LEN / ICE_PWD_LEN). */
	const char *ufrag;
	const char *pwd;
};

struct ice_cbs {
	/* A STUN message for `to` (copy it; the buffer is reused). */
	void (*send)(const uint8_t *data, size_t len, const struct stun_addr *to, void *arg);
	/* Every state change; why is a short static reason. */
	void (*state)(enum ice_state st, const char *why, void *arg);
	/* The selected remote address was set or changed. */
	void (*selected)(const struct stun_addr *remote, void *arg);
};

/* NULL on bad config (too long or empty credentials). */
struct ice_agent *ice_agent_new(const struct ice_config *cfg, const struct ice_cbs *cbs, void *arg);
void ice_agent_free(struct ice_agent *a);

const char *ice_agent_ufrag(const struct ice_agent *a);
const char *ice_agent_pwd(const struct ice_agent *a);
int ice_agent_controlling(const struct ice_agent *a);
enum ice_state ice_agent_state(const struct ice_agent *a);
const char *ice_state_name(enum ice_state st);

/* One of our host candidates (its priority feeds pair priorities). */
int ice_agent_add_local(struct ice_agent *a, uint32_t priority);

/*
 * The peer's credentials; starts checking. The same ufrag again is a
 * no-op; a different one is an ICE restart (RFC 8445 §9): remote
 * candidates and pairs are dropped and, unless ice_agent_restart_local ran
 * first, our own credentials are renewed. Returns 1 on a restart, 0 on the
 * first call, LK_EINVAL on bad credentials.
 */
int ice_agent_set_remote(
        struct ice_agent *a, const char *ufrag, const char *pwd, int remote_lite, int64_t now_ms);
/* New local credentials before we offer an ICE restart ourselves. */
void ice_agent_restart_local(struct ice_agent *a);

/*
 * A remote candidate. Those we cannot use (TCP, IPv6, mDNS names, other
 * components, another ufrag) are ignored with 0. LK_ETOOBIG when full.
 */
int ice_agent_add_remote(struct ice_agent *a, const struct sdp_candidate *c, int64_t now_ms);

/*
 * A STUN datagram from `from`. 0 when it was a well-formed message for us
 * (answered, even with an error); LK_EINVAL etc. for garbage (not parsed,
 * bad FINGERPRINT, unknown transaction, unauthenticated response).
 */
int ice_agent_recv(struct ice_agent *a, const uint8_t *p, size_t len, const struct stun_addr *from,
        int64_t now_ms);

/* Run timers. ice_agent_next_ms: ms until the next tick is due, -1 none. */
void ice_agent_tick(struct ice_agent *a, int64_t now_ms);
int64_t ice_agent_next_ms(const struct ice_agent *a, int64_t now_ms);

/* The selected remote address: 0, or LK_ENOTFOUND before one is chosen. */
int ice_agent_selected(const struct ice_agent *a, struct stun_addr *out);
/* 1 if `addr` proved it holds the credentials (valid check either way). */
int ice_agent_is_trusted(const struct ice_agent *a, const struct stun_addr *addr);

/* Counters for tests and logs. */
struct ice_stats {
	uint64_t checks_sent, retransmits, requests_rx, responses_rx;
	uint64_t errors_sent; /* 400/401/420/487 answers */
	uint64_t role_switches, nominations, consent_sent;
};
void ice_agent_stats(const struct ice_agent *a, struct ice_stats *out);

int ice_addr_equal(const struct stun_addr *x, const struct stun_addr *y);
/* "a.b.c.d:port" into out (>= 22 bytes). */
const char *ice_addr_str(const struct stun_addr *a, char *out, size_t cap);

#endif
