/*
 * ice: the ICE agent of one transport (RFC 8445 full agent and ICE-lite,
 * RFC 7675 consent freshness), in lk-jobproc and lk-devserver. No sockets
 * and no clock: datagrams and milliseconds come in, STUN messages go out.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "rtc/ice.h"
#include "rtc/sdp.h"
#include "rtc/stun.h"

#define ICE_CONSENT_TIDS 4

enum ice_pair_state {
	ICE_PAIR_WAITING = 0,
	ICE_PAIR_INPROGRESS,
	ICE_PAIR_SUCCEEDED,
	ICE_PAIR_FAILED,
};

/* One remote transport address and the check state of the pair with it. */
struct ice_pair {
	struct stun_addr addr;
	uint32_t rprio; /* remote candidate priority */
	uint64_t prio; /* RFC 8445 §6.1.2.3 pair priority */
	enum ice_pair_state st;
	int trusted; /* a check passed with the credentials */
	int nominated; /* in the current ICE generation */
	int nominate_on_success; /* controlled: USE-CANDIDATE came first */
	uint64_t trig_seq; /* queued as a triggered check; 0 = no */
	/* The last check sent on this pair (kept to absorb late answers). */
	uint8_t tid[STUN_TID_LEN];
	int has_tid;
	int inflight;
	int use_cand; /* carried USE-CANDIDATE */
	int sent_controlling; /* the role the request claimed */
	int tx;
	int64_t rto;
	int64_t next_tx;
};

struct ice_agent {
	struct ice_cbs cbs;
	void *arg;
	int lite;
	int controlling;
	uint64_t tie;
	char ufrag[ICE_MAX_CRED + 1];
	char pwd[ICE_MAX_CRED + 1];
	char rufrag[ICE_MAX_CRED + 1];
	char rpwd[ICE_MAX_CRED + 1];
	int have_remote;
	int remote_lite;
	int local_restarted;
	uint32_t local_prio; /* best host candidate */
	int n_local;

	struct ice_pair pairs[ICE_MAX_PAIRS];
	int n_pairs;
	uint64_t trig_seq;

	enum ice_state st;
	int selected; /* pair media uses; -1 none */
	int have_nominated; /* a pair was nominated in this generation */
	int nominating; /* controlling: pair with USE-CANDIDATE in flight */
	int64_t start_ms;
	int64_t next_check_ms;
	int64_t first_valid_ms; /* 0 = no valid pair yet */
	int64_t last_consent_ms; /* full: last response on the selected pair */
	int64_t next_consent_ms;
	int64_t last_check_rx_ms; /* lite: last valid request */
	uint8_t consent_tid[ICE_CONSENT_TIDS][STUN_TID_LEN];
	int consent_next;

	struct ice_stats stats;
	uint8_t buf[STUN_MAX_LEN];
	char uname[2 * ICE_MAX_CRED + 2];
};

static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
ice_random_chars(char *out, size_t n)
{
	uint8_t rnd[ICE_MAX_CRED];
	size_t i;

	if (lk_random(rnd, n) != 0)
		for (i = 0; i < n; i++)
			rnd[i] = (uint8_t)lk_random_u32();
	/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/" (64 symbols). */
	for (i = 0; i < n; i++)
		out[i] = ice_chars[rnd[i] & 63];
	out[n] = '\0';
}

/* Credentials: 1..ICE_MAX_CRED visible characters; a ufrag never holds
 * ':' because USERNAME joins two of them with it (RFC 8445 §7.2.2). */
static int
ice_cred_ok(const char *s, int is_ufrag)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > ICE_MAX_CRED)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7F || (is_ufrag && ch == ':'))
			return 0;
	}
	return 1;
}

int
ice_addr_equal(const struct stun_addr *x, const struct stun_addr *y)
{
	size_t n;

	if (x->family != y->family || x->port != y->port)
		return 0;
	n = x->family == 6 ? 16 : 4;
	return memcmp(x->addr, y->addr, n) == 0;
}

const char *
ice_addr_str(const struct stun_addr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip)) == NULL)
		lk_strlcpy(ip, "?", sizeof(ip));
	snprintf(out, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)a->port);
	return out;
}

const char *
ice_state_name(enum ice_state st)
{
	switch (st) {
	case ICE_STATE_NEW:
		return "new";
	case ICE_STATE_CHECKING:
		return "checking";
	case ICE_STATE_CONNECTED:
		return "connected";
	case ICE_STATE_FAILED:
		return "failed";
	}
	return "?";
}

static uint32_t
ice_local_prio(const struct ice_agent *a)
{
	return a->n_local > 0 ? a->local_prio : sdp_candidate_priority(SDP_CAND_HOST, 65535, 1);
}

/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the
 * controlling agent's candidate priority, D the controlled one's. */
static uint64_t
ice_pair_prio(const struct ice_agent *a, uint32_t rprio)
{
	uint64_t g = a->controlling ? ice_local_prio(a) : rprio;
	uint64_t d = a->controlling ? rprio : ice_local_prio(a);
	uint64_t lo = g < d ? g : d, hi = g < d ? d : g;

	return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

static void
ice_reprioritise(struct ice_agent *a)
{
	int i;

	for (i = 0; i < a->n_pairs; i++)
		a->pairs[i].prio = ice_pair_prio(a, a->pairs[i].rprio);
}

static void
ice_set_state(struct ice_agent *a, enum ice_state st, const char *why)
{
	if (a->st == st)
		return;
	a->st = st;
	if (a->cbs.state != NULL)
		a->cbs.state(st, why, a->arg);
}

static void
ice_fail(struct ice_agent *a, const char *why)
{
	int i;

	for (i = 0; i < a->n_pairs; i++) {
		a->pairs[i].inflight = 0;
		a->pairs[i].trig_seq = 0;
	}
	a->nominating = -1;
	ice_set_state(a, ICE_STATE_FAILED, why);
}

struct ice_agent *
ice_agent_new(const struct ice_config *cfg, const struct ice_cbs *cbs, void *arg)
{
	struct ice_agent *a;

	if ((cfg->ufrag != NULL && !ice_cred_ok(cfg->ufrag, 1)) ||
	        (cfg->pwd != NULL && !ice_cred_ok(cfg->pwd, 0)))
		return NULL;
	a = lk_xcalloc(1, sizeof(*a));
	if (cbs != NULL)
		a->cbs = *cbs;
	a->arg = arg;
	a->lite = cfg->lite != 0;
	/* RFC 8445 §6.1.1: a lite agent is always controlled. */
	a->controlling = a->lite ? 0 : cfg->controlling != 0;
	a->tie = cfg->tie_breaker;
	while (a->tie == 0 && lk_random(&a->tie, sizeof(a->tie)) == 0 && a->tie == 0)
		;
	if (a->tie == 0)
		a->tie = ((uint64_t)lk_random_u32() << 32) | lk_random_u32() | 1;
	if (cfg->ufrag != NULL)
		lk_strlcpy(a->ufrag, cfg->ufrag, sizeof(a->ufrag));
	else
		ice_random_chars(a->ufrag, ICE_UFRAG_LEN);
	if (cfg->pwd != NULL)
		lk_strlcpy(a->pwd, cfg->pwd, sizeof(a->pwd));
	else
		ice_random_chars(a->pwd, ICE_PWD_LEN);
	a->st = ICE_STATE_NEW;
	a->selected = -1;
	a->nominating = -1;
	return a;
}

void
ice_agent_free(struct ice_agent *a)
{
	free(a);
}

const char *
ice_agent_ufrag(const struct ice_agent *a)
{
	return a->ufrag;
}

const char *
ice_agent_pwd(const struct ice_agent *a)
{
	return a->pwd;
}

int
ice_agent_controlling(const struct ice_agent *a)
{
	return a->controlling;
}

enum ice_state
ice_agent_state(const struct ice_agent *a)
{
	return a->st;
}

void
ice_agent_stats(const struct ice_agent *a, struct ice_stats *out)
{
	*out = a->stats;
}

int
ice_agent_add_local(struct ice_agent *a, uint32_t priority)
{
	if (a->n_local >= ICE_MAX_LOCAL)
		return LK_ETOOBIG;
	if (a->n_local == 0 || priority > a->local_prio)
		a->local_prio = priority;
	a->n_local++;
	ice_reprioritise(a);
	return 0;
}

int
ice_agent_selected(const struct ice_agent *a, struct stun_addr *out)
{
	if (a->selected < 0 || a->st != ICE_STATE_CONNECTED)
		return LK_ENOTFOUND;
	*out = a->pairs[a->selected].addr;
	return 0;
}

static int
ice_find(const struct ice_agent *a, const struct stun_addr *addr)
{
	int i;

	for (i = 0; i < a->n_pairs; i++)
		if (ice_addr_equal(&a->pairs[i].addr, addr))
			return i;
	return -1;
}

int
ice_agent_is_trusted(const struct ice_agent *a, const struct stun_addr *addr)
{
	int i = ice_find(a, addr);

	return i >= 0 && a->pairs[i].trusted;
}

static int
ice_add_pair(struct ice_agent *a, const struct stun_addr *addr, uint32_t rprio)
{
	struct ice_pair *p;

	if (a->n_pairs >= ICE_MAX_PAIRS)
		return -1;
	p = &a->pairs[a->n_pairs];
	memset(p, 0, sizeof(*p));
	p->addr = *addr;
	p->rprio = rprio;
	p->prio = ice_pair_prio(a, rprio);
	p->st = ICE_PAIR_WAITING;
	return a->n_pairs++;
}

static void
ice_trigger(struct ice_agent *a, struct ice_pair *p)
{
	if (p->trig_seq == 0)
		p->trig_seq = ++a->trig_seq;
}

/* The selected pair changes; the first selection connects. */
static void
ice_select(struct ice_agent *a, int idx, int64_t now)
{
	int changed = a->selected != idx;

	a->selected = idx;
	/* Lite before the peer's credentials: remember, connect later. */
	if (!a->have_remote || a->st == ICE_STATE_FAILED)
		return;
	if (changed && a->cbs.selected != NULL)
		a->cbs.selected(&a->pairs[idx].addr, a->arg);
	if (a->st != ICE_STATE_CONNECTED) {
		/* RFC 7675 §5.1: consent starts with the working pair. */
		a->last_consent_ms = now;
		a->next_consent_ms = now + ICE_CONSENT_INTERVAL_MS;
		a->last_check_rx_ms = now;
		ice_set_state(a, ICE_STATE_CONNECTED, "pair selected");
	}
}

static void
ice_switch_role(struct ice_agent *a, const char *why)
{
	int i;

	a->controlling = !a->controlling;
	a->stats.role_switches++;
	log_debug("ice role switched", "role", a->controlling ? "controlling" : "controlled", "why",
	        why);
	ice_reprioritise(a);
	if (!a->controlling) {
		a->nominating = -1;
		for (i = 0; i < a->n_pairs; i++)
			a->pairs[i].use_cand = 0;
	}
}

static void
ice_send(struct ice_agent *a, int n, const struct stun_addr *to)
{
	if (n > 0 && a->cbs.send != NULL)
		a->cbs.send(a->buf, (size_t)n, to, a->arg);
}

static int
ice_build_request(struct ice_agent *a, const uint8_t *tid, int use_cand)
{
	struct stun_binding_req r;

	/* RFC 8445 §7.2.2: USERNAME "<their ufrag>:<our ufrag>", integrity
	 * keyed by their password, PRIORITY of a peer-reflexive candidate of
	 * ours (§7.1.1). */
	snprintf(a->uname, sizeof(a->uname), "%s:%s", a->rufrag, a->ufrag);
	memset(&r, 0, sizeof(r));
	r.tid = tid;
	r.username = a->uname;
	r.password = a->rpwd;
	r.priority = sdp_candidate_priority(
	        SDP_CAND_PRFLX, (uint16_t)((ice_local_prio(a) >> 8) & 0xFFFF), 1);
	r.controlling = a->controlling;
	r.tie_breaker = a->tie;
	r.use_candidate = use_cand && a->controlling;
	return stun_build_binding_request(a->buf, sizeof(a->buf), &r);
}

static void
ice_transmit(struct ice_agent *a, struct ice_pair *p)
{
	ice_send(a, ice_build_request(a, p->tid, p->use_cand), &p->addr);
}

/* A new transaction on a pair (ordinary, triggered or nominating). */
static void
ice_start_check(struct ice_agent *a, struct ice_pair *p, int64_t now)
{
	if (lk_random(p->tid, sizeof(p->tid)) != 0)
		return;
	p->has_tid = 1;
	p->inflight = 1;
	p->trig_seq = 0;
	p->sent_controlling = a->controlling;
	p->use_cand = p->use_cand && a->controlling;
	p->tx = 1;
	p->rto = ICE_RTO_MS;
	p->next_tx = now + p->rto;
	if (p->st != ICE_PAIR_SUCCEEDED)
		p->st = ICE_PAIR_INPROGRESS;
	a->stats.checks_sent++;
	ice_transmit(a, p);
}

/* Controlling agent, regular nomination (RFC 8445 §8.1.1): once a pair is
 * valid and no better pair is still being checked (or after a short wait),
 * repeat the check of the best valid pair with USE-CANDIDATE. */
static void
ice_maybe_nominate(struct ice_agent *a, int64_t now)
{
	int i, best = -1, better_pending = 0;

	if (a->lite || !a->controlling || !a->have_remote || a->have_nominated ||
	        a->nominating >= 0 || a->st == ICE_STATE_FAILED)
		return;
	for (i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].st == ICE_PAIR_SUCCEEDED &&
		        (best < 0 || a->pairs[i].prio > a->pairs[best].prio))
			best = i;
	if (best < 0)
		return;
	for (i = 0; i < a->n_pairs; i++) {
		const struct ice_pair *p = &a->pairs[i];

		if ((p->st == ICE_PAIR_WAITING || p->st == ICE_PAIR_INPROGRESS) &&
		        p->prio > a->pairs[best].prio)
			better_pending = 1;
	}
	if (better_pending && now - a->first_valid_ms < ICE_NOMINATE_WAIT_MS)
		return;
	a->nominating = best;
	a->pairs[best].use_cand = 1;
	a->stats.nominations++;
	ice_start_check(a, &a->pairs[best], now);
	a->next_check_ms = now + ICE_TA_MS;
}

static void
ice_send_error(struct ice_agent *a, const struct stun_msg *m, const struct stun_addr *from,
        int code, int with_integrity)
{
	/* RFC 8489 §6.3.4: a 400/401 to a request that failed authentication
	 * carries no MESSAGE-INTEGRITY; 420 and 487 are authenticated. */
	int n = stun_build_binding_error(a->buf, sizeof(a->buf), m->tid, code,
	        with_integrity ? a->pwd : NULL,
	        code == STUN_ERR_UNKNOWN_ATTRIBUTE ? m->unknown : NULL,
	        code == STUN_ERR_UNKNOWN_ATTRIBUTE ? m->n_unknown : 0);

	a->stats.errors_sent++;
	ice_send(a, n, from);
}

/* RFC 8445 §7.3: a Binding request to us. */
static int
ice_on_request(
        struct ice_agent *a, const struct stun_msg *m, const struct stun_addr *from, int64_t now)
{
	struct ice_pair *p;
	int idx, n;

	a->stats.requests_rx++;
	if (!(m->flags & STUN_F_USERNAME) || !(m->flags & STUN_F_INTEGRITY)) {
		ice_send_error(a, m, from, STUN_ERR_BAD_REQUEST, 0);
		return 0;
	}
	/* USERNAME "<our ufrag>:<their ufrag>" (the remote part only once we
	 * know it), then MESSAGE-INTEGRITY keyed by our password (§7.3). */
	if (stun_check_username(m, a->ufrag, a->have_remote ? a->rufrag : NULL) != 0 ||
	        stun_check_integrity(m, a->pwd, strlen(a->pwd)) != 0) {
		ice_send_error(a, m, from, STUN_ERR_UNAUTHORIZED, 0);
		return 0;
	}
	if (m->n_unknown > 0) {
		ice_send_error(a, m, from, STUN_ERR_UNKNOWN_ATTRIBUTE, 1);
		return 0;
	}
	/* §7.3.1.1 role conflicts. */
	if (a->lite) {
		if (m->flags & STUN_F_CONTROLLED) {
			/* Both sides controlled: only the full peer can switch. */
			ice_send_error(a, m, from, STUN_ERR_ROLE_CONFLICT, 1);
			return 0;
		}
	} else if (a->controlling && (m->flags & STUN_F_CONTROLLING)) {
		if (a->tie >= m->tie_breaker) {
			ice_send_error(a, m, from, STUN_ERR_ROLE_CONFLICT, 1);
			return 0;
		}
		ice_switch_role(a, "peer controlling with larger tie-breaker");
	} else if (!a->controlling && (m->flags & STUN_F_CONTROLLED)) {
		if (a->tie >= m->tie_breaker) {
			ice_switch_role(a, "peer controlled with smaller tie-breaker");
		} else {
			ice_send_error(a, m, from, STUN_ERR_ROLE_CONFLICT, 1);
			return 0;
		}
	}
	/* §7.3.1.4: success with XOR-MAPPED-ADDRESS = the source, keyed by
	 * our password, with FINGERPRINT. */
	n = stun_build_binding_success(a->buf, sizeof(a->buf), m->tid, from, a->pwd);
	ice_send(a, n, from);

	idx = ice_find(a, from);
	if (idx < 0) {
		/* §7.3.1.3: an unknown source is a peer-reflexive candidate with
		 * the PRIORITY of the request. */
		uint32_t prio = (m->flags & STUN_F_PRIORITY)
		        ? m->priority
		        : sdp_candidate_priority(SDP_CAND_PRFLX, 65535, 1);

		idx = ice_add_pair(a, from, prio);
		if (idx < 0)
			return 0;
	}
	p = &a->pairs[idx];
	p->trusted = 1;
	if (a->lite) {
		/* RFC 8445 §2.5: the controlling full peer decides. Until it
		 * nominates, the last address that checked us is used. */
		a->last_check_rx_ms = now;
		if (m->flags & STUN_F_USE_CANDIDATE) {
			if (!p->nominated)
				log_debug("ice pair nominated by peer", "lite", "1");
			p->nominated = 1;
			a->have_nominated = 1;
			ice_select(a, idx, now);
		} else if (!a->have_nominated) {
			p->st = ICE_PAIR_SUCCEEDED;
			ice_select(a, idx, now);
		}
		return 0;
	}
	if (!a->controlling && (m->flags & STUN_F_USE_CANDIDATE)) {
		/* §7.3.1.5: nominated once our own check on it succeeded. */
		if (p->st == ICE_PAIR_SUCCEEDED) {
			p->nominated = 1;
			a->have_nominated = 1;
			ice_select(a, idx, now);
		} else {
			p->nominate_on_success = 1;
		}
	}
	/* §7.3.1.4 triggered check, unless one is running or it worked. */
	if (!p->inflight && p->st != ICE_PAIR_SUCCEEDED) {
		p->st = ICE_PAIR_WAITING;
		ice_trigger(a, p);
	}
	return 0;
}

static int
ice_on_consent_response(
        struct ice_agent *a, const struct stun_msg *m, const struct stun_addr *from, int64_t now)
{
	int i;

	for (i = 0; i < ICE_CONSENT_TIDS; i++)
		if (memcmp(a->consent_tid[i], m->tid, STUN_TID_LEN) == 0)
			break;
	if (i == ICE_CONSENT_TIDS || a->selected < 0)
		return LK_ENOTFOUND;
	if (stun_check_integrity(m, a->rpwd, strlen(a->rpwd)) != 0)
		return LK_EAUTH;
	if (!ice_addr_equal(from, &a->pairs[a->selected].addr))
		return LK_EINVAL;
	if (m->cls == STUN_CLASS_SUCCESS) {
		/* RFC 7675 §5.1: an authenticated answer renews consent. */
		a->last_consent_ms = now;
	} else if (m->error_code == STUN_ERR_ROLE_CONFLICT && m->flags & STUN_F_ERROR_CODE) {
		ice_switch_role(a, "487 on a consent check");
	}
	return 0;
}

/* RFC 8445 §7.2.5: the answer to one of our checks. */
static int
ice_on_response(
        struct ice_agent *a, const struct stun_msg *m, const struct stun_addr *from, int64_t now)
{
	struct ice_pair *p = NULL;
	int i, idx = -1;

	if (!a->have_remote)
		return LK_ENOTFOUND;
	for (i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].has_tid && memcmp(a->pairs[i].tid, m->tid, STUN_TID_LEN) == 0) {
			idx = i;
			p = &a->pairs[i];
			break;
		}
	if (p == NULL)
		return ice_on_consent_response(a, m, from, now);
	/* §7.2.5.2: responses are keyed by the peer's password. */
	if (stun_check_integrity(m, a->rpwd, strlen(a->rpwd)) != 0)
		return LK_EAUTH;
	a->stats.responses_rx++;
	if (!p->inflight)
		return 0; /* answer to a retransmission we already settled */
	p->inflight = 0;
	/* §7.2.5.2.1: the answer must come from where the request went. */
	if (!ice_addr_equal(from, &p->addr)) {
		p->st = ICE_PAIR_FAILED;
		if (a->nominating == idx)
			a->nominating = -1;
		return 0;
	}
	if (m->cls == STUN_CLASS_ERROR) {
		if (m->error_code == STUN_ERR_ROLE_CONFLICT) {
			/* §7.2.5.1: take the role opposite to the one the request
			 * claimed (unless we already did), and check again. */
			if (p->sent_controlling == a->controlling)
				ice_switch_role(a, "487 from peer");
			if (a->nominating == idx)
				a->nominating = -1;
			p->use_cand = 0;
			if (p->st != ICE_PAIR_SUCCEEDED)
				p->st = ICE_PAIR_WAITING;
			ice_trigger(a, p);
			return 0;
		}
		p->st = ICE_PAIR_FAILED;
		if (a->nominating == idx)
			a->nominating = -1;
		return 0;
	}
	p->trusted = 1;
	p->st = ICE_PAIR_SUCCEEDED;
	if (a->first_valid_ms == 0)
		a->first_valid_ms = now;
	if (idx == a->selected)
		a->last_consent_ms = now;
	if (a->controlling && p->use_cand && p->sent_controlling) {
		/* §8.1.1: a successful check with USE-CANDIDATE nominates. */
		p->use_cand = 0;
		p->nominated = 1;
		a->nominating = -1;
		a->have_nominated = 1;
		ice_select(a, idx, now);
	} else if (!a->controlling && p->nominate_on_success) {
		p->nominate_on_success = 0;
		p->nominated = 1;
		a->have_nominated = 1;
		ice_select(a, idx, now);
	}
	ice_maybe_nominate(a, now);
	return 0;
}

int
ice_agent_recv(struct ice_agent *a, const uint8_t *p, size_t len, const struct stun_addr *from,
        int64_t now_ms)
{
	struct stun_msg m;
	int rc;

	rc = stun_parse(p, len, &m);
	if (rc != 0)
		return rc;
	if (m.method != STUN_METHOD_BINDING)
		return LK_ETYPE;
	/* RFC 8445 §7.2.2: ICE messages carry FINGERPRINT; a bad one means
	 * this is not STUN at all (RFC 8489 §14.7). */
	if ((m.flags & STUN_F_FINGERPRINT) && stun_check_fingerprint(&m) != 0)
		return LK_EINVAL;
	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		return ice_on_request(a, &m, from, now_ms);
	case STUN_CLASS_INDICATION:
		return 0; /* RFC 8445 §11: keepalives need no answer */
	case STUN_CLASS_SUCCESS:
	case STUN_CLASS_ERROR:
		if (a->lite)
			return LK_ENOTFOUND; /* we never ask */
		return ice_on_response(a, &m, from, now_ms);
	}
	return LK_EINVAL;
}

int
ice_agent_add_remote(struct ice_agent *a, const struct sdp_candidate *c, int64_t now_ms)
{
	struct stun_addr addr;
	struct in_addr in;
	int idx;

	(void)now_ms;
	if (c->component != 1 || c->transport != SDP_TRANSPORT_UDP || c->port == 0)
		return 0;
	/* A trickled candidate of an older ICE generation. */
	if (c->ufrag[0] != '\0' && a->have_remote && strcmp(c->ufrag, a->rufrag) != 0)
		return 0;
	/* Our socket is IPv4: IPv6 and mDNS (".local") candidates are unusable. */
	if (inet_pton(AF_INET, c->address, &in) != 1)
		return 0;
	memset(&addr, 0, sizeof(addr));
	addr.family = 4;
	addr.port = c->port;
	memcpy(addr.addr, &in, 4);
	idx = ice_find(a, &addr);
	if (idx >= 0) {
		/* §7.3.1.3: a signalled candidate replaces a peer-reflexive one. */
		a->pairs[idx].rprio = c->priority;
		a->pairs[idx].prio = ice_pair_prio(a, c->priority);
		return 0;
	}
	if (ice_add_pair(a, &addr, c->priority) < 0)
		return LK_ETOOBIG;
	return 0;
}

static void
ice_start(struct ice_agent *a, int64_t now)
{
	a->start_ms = now;
	a->next_check_ms = now;
	a->last_check_rx_ms = now;
	ice_set_state(a, ICE_STATE_CHECKING, "remote credentials");
	/* Lite: a check may have come before the answer did. */
	if (a->lite && a->selected >= 0) {
		int idx = a->selected;

		a->selected = -1;
		ice_select(a, idx, now);
	}
}

void
ice_agent_restart_local(struct ice_agent *a)
{
	ice_random_chars(a->ufrag, ICE_UFRAG_LEN);
	ice_random_chars(a->pwd, ICE_PWD_LEN);
	a->local_restarted = 1;
}

int
ice_agent_set_remote(
        struct ice_agent *a, const char *ufrag, const char *pwd, int remote_lite, int64_t now_ms)
{
	int i, keep;

	if (!ice_cred_ok(ufrag, 1) || !ice_cred_ok(pwd, 0))
		return LK_EINVAL;
	if (a->have_remote && strcmp(ufrag, a->rufrag) == 0)
		return 0;
	lk_strlcpy(a->rufrag, ufrag, sizeof(a->rufrag));
	lk_strlcpy(a->rpwd, pwd, sizeof(a->rpwd));
	a->remote_lite = remote_lite != 0;
	/* RFC 8445 §6.1.1: facing a lite agent, the full agent controls. */
	if (a->remote_lite && !a->lite && !a->controlling)
		ice_switch_role(a, "peer is ice-lite");
	if (!a->have_remote) {
		a->have_remote = 1;
		ice_start(a, now_ms);
		return 0;
	}
	/* RFC 8445 §9 ICE restart: new credentials both ways (RFC 8839
	 * §4.4.1.1.2), a new checklist. The selected pair keeps carrying
	 * media until a new one is chosen, unless ICE had failed. */
	if (!a->local_restarted)
		ice_agent_restart_local(a);
	a->local_restarted = 0;
	keep = a->st == ICE_STATE_CONNECTED ? a->selected : -1;
	if (keep > 0)
		a->pairs[0] = a->pairs[keep];
	a->n_pairs = keep >= 0 ? 1 : 0;
	a->selected = keep >= 0 ? 0 : -1;
	for (i = 0; i < a->n_pairs; i++) {
		struct ice_pair *p = &a->pairs[i];

		p->st = ICE_PAIR_WAITING;
		p->trusted = 0;
		p->nominated = 0;
		p->nominate_on_success = 0;
		p->has_tid = 0;
		p->inflight = 0;
		p->use_cand = 0;
		p->trig_seq = 0;
	}
	memset(a->consent_tid, 0, sizeof(a->consent_tid));
	a->have_nominated = 0;
	a->nominating = -1;
	a->first_valid_ms = 0;
	a->next_check_ms = now_ms;
	if (a->st == ICE_STATE_CONNECTED) {
		a->start_ms = now_ms;
	} else {
		a->st = ICE_STATE_NEW;
		ice_start(a, now_ms);
	}
	return 1;
}

/* Next pair to check: the oldest triggered one, else (while no pair is
 * nominated) the best waiting one (RFC 8445 §6.1.4.2). */
static int
ice_next_pair(const struct ice_agent *a)
{
	int i, best = -1;

	for (i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].trig_seq != 0 &&
		        (best < 0 || a->pairs[i].trig_seq < a->pairs[best].trig_seq))
			best = i;
	if (best >= 0 || a->have_nominated)
		return best;
	for (i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].st == ICE_PAIR_WAITING &&
		        (best < 0 || a->pairs[i].prio > a->pairs[best].prio))
			best = i;
	return best;
}

static void
ice_send_consent(struct ice_agent *a, int64_t now)
{
	uint8_t *tid = a->consent_tid[a->consent_next];
	const struct ice_pair *p = &a->pairs[a->selected];

	if (lk_random(tid, STUN_TID_LEN) != 0)
		return;
	a->consent_next = (a->consent_next + 1) % ICE_CONSENT_TIDS;
	a->stats.consent_sent++;
	ice_send(a, ice_build_request(a, tid, 0), &p->addr);
	/* RFC 7675 §5.1: randomised interval (0.8-1.2 x); more often once an
	 * answer is overdue, so one lost packet does not cost consent. */
	if (now - a->last_consent_ms > ICE_CONSENT_INTERVAL_MS)
		a->next_consent_ms = now + ICE_CONSENT_RETRY_MS;
	else
		a->next_consent_ms = now + ICE_CONSENT_INTERVAL_MS * 8 / 10 +
		        (int64_t)(lk_random_u32() % (ICE_CONSENT_INTERVAL_MS * 4 / 10 + 1));
}

void
ice_agent_tick(struct ice_agent *a, int64_t now)
{
	int i;

	if (!a->have_remote || a->st == ICE_STATE_FAILED)
		return;
	if (a->lite) {
		/* The lite side cannot ask: silence from the peer is the only
		 * sign that consent is gone. */
		if (now - a->last_check_rx_ms >= ICE_CONSENT_TIMEOUT_MS)
			ice_fail(a,
			        a->st == ICE_STATE_CONNECTED ? "consent lost: no checks for 30 s"
			                                     : "no checks received");
		return;
	}
	for (i = 0; i < a->n_pairs; i++) {
		struct ice_pair *p = &a->pairs[i];

		if (!p->inflight || now < p->next_tx)
			continue;
		if (p->tx >= ICE_MAX_TX) {
			/* RFC 8445 §7.2.5.3 (timeout): the pair failed. */
			p->inflight = 0;
			p->use_cand = 0;
			p->st = ICE_PAIR_FAILED;
			if (a->nominating == i)
				a->nominating = -1;
			continue;
		}
		p->tx++;
		p->rto = p->rto * 2 > ICE_RTO_MAX_MS ? ICE_RTO_MAX_MS : p->rto * 2;
		p->next_tx = now + p->rto;
		a->stats.retransmits++;
		ice_transmit(a, p);
	}
	if (now >= a->next_check_ms) {
		int idx = ice_next_pair(a);

		if (idx >= 0) {
			ice_start_check(a, &a->pairs[idx], now);
			a->next_check_ms = now + ICE_TA_MS;
		}
	}
	ice_maybe_nominate(a, now);
	if (a->st == ICE_STATE_CONNECTED && a->selected >= 0) {
		if (now - a->last_consent_ms >= ICE_CONSENT_TIMEOUT_MS) {
			ice_fail(a, "consent lost: no answers for 30 s");
			return;
		}
		if (now >= a->next_consent_ms)
			ice_send_consent(a, now);
	} else if (a->st == ICE_STATE_CHECKING && now - a->start_ms >= ICE_CHECKING_TIMEOUT_MS) {
		ice_fail(a, "no working candidate pair");
	}
}

static void
ice_min(int64_t *best, int64_t t)
{
	if (*best < 0 || t < *best)
		*best = t;
}

int64_t
ice_agent_next_ms(const struct ice_agent *a, int64_t now)
{
	int64_t at = -1;
	int i, pending = 0, valid = 0;

	if (!a->have_remote || a->st == ICE_STATE_FAILED)
		return -1;
	if (a->lite) {
		ice_min(&at, a->last_check_rx_ms + ICE_CONSENT_TIMEOUT_MS);
	} else {
		for (i = 0; i < a->n_pairs; i++) {
			const struct ice_pair *p = &a->pairs[i];

			if (p->inflight)
				ice_min(&at, p->next_tx);
			if (p->trig_seq != 0 || (!a->have_nominated && p->st == ICE_PAIR_WAITING))
				pending = 1;
			if (p->st == ICE_PAIR_SUCCEEDED)
				valid = 1;
		}
		if (pending)
			ice_min(&at, a->next_check_ms);
		if (valid && a->controlling && !a->have_nominated && a->nominating < 0)
			ice_min(&at, a->first_valid_ms + ICE_NOMINATE_WAIT_MS);
		if (a->st == ICE_STATE_CONNECTED && a->selected >= 0) {
			ice_min(&at, a->next_consent_ms);
			ice_min(&at, a->last_consent_ms + ICE_CONSENT_TIMEOUT_MS);
		} else if (a->st == ICE_STATE_CHECKING) {
			ice_min(&at, a->start_ms + ICE_CHECKING_TIMEOUT_MS);
		}
	}
	if (at < 0)
		return -1;
	return at > now ? at - now : 0;
}
