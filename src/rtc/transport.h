/*
 * transport: one WebRTC transport (a BUNDLEd peer connection's wire side):
 * a UDP socket on a libev loop, ICE (full agent or ICE-lite), DTLS-SRTP and
 * the first-byte demultiplexer (RFC 7983). Media above it is plain RTP and
 * RTCP. Used by lk-jobproc (full ICE, one transport per PC) and
 * lk-devserver (ICE-lite, one per participant PC). Garbage datagrams are
 * counted and dropped; nothing from the network can crash it.
 */
#ifndef LK_RTC_TRANSPORT_H
#define LK_RTC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "rtc/dtls.h"

struct ev_loop;
struct rtc_cert;
struct rtc_transport;

enum rtc_ice_mode {
	RTC_ICE_FULL = 0, /* RFC 8445 full agent: checks both ways, nomination */
	RTC_ICE_LITE = 1, /* RFC 8445 §2.5: answers checks only (a=ice-lite) */
};

enum rtc_ice_role {
	RTC_ICE_CONTROLLING = 0,
	RTC_ICE_CONTROLLED = 1,
};

enum rtc_transport_state {
	RTC_TS_NEW = 0,
	RTC_TS_CHECKING, /* ICE running */
	RTC_TS_ICE_CONNECTED, /* a pair works; DTLS handshaking */
	RTC_TS_CONNECTED, /* DTLS done, SRTP keys in place: media flows */
	RTC_TS_FAILED, /* ICE failed, DTLS failed, consent lost */
	RTC_TS_CLOSED,
};

struct rtc_transport_opts {
	enum rtc_ice_mode ice_mode;
	enum rtc_ice_role ice_role; /* ignored for ICE-lite (always controlled) */
	const struct rtc_cert *cert;
	const char *bind_ip; /* NULL = all IPv4 addresses ("0.0.0.0") */
	uint16_t port_min; /* UDP port range; 0/0 = any free port */
	uint16_t port_max;
	/*
	 * Address advertised in the host candidate (lk-devserver --rtc-ip).
	 * NULL: one host candidate per non-loopback IPv4 interface address.
	 */
	const char *advertise_ip;
	/* Also gather 127.0.0.1 (unit tests only: libwebrtc ignores loopback). */
	int gather_loopback;
	/* Drop this fraction of received RTP (0..1; tests of loss, 0 = off). */
	double drop_rtp_rate;
};

struct rtc_transport_stats {
	uint64_t rx_datagrams;
	uint64_t rx_stun, rx_dtls, rx_rtp, rx_rtcp;
	uint64_t rx_garbage; /* unknown first byte, bad STUN, failed SRTP auth */
	uint64_t rx_dropped_test; /* drop_rtp_rate */
	uint64_t tx_rtp, tx_rtcp;
	uint64_t tx_errors;
};

struct rtc_transport_cbs {
	void (*on_state)(
	        struct rtc_transport *t, enum rtc_transport_state st, const char *why, void *arg);
	/* A local candidate, as the SDP attribute value ("candidate:1 1 udp ..."). */
	void (*on_candidate)(struct rtc_transport *t, const char *candidate, void *arg);
	/* Decrypted media. The buffer may be modified and is reused after return. */
	void (*on_rtp)(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg);
	void (*on_rtcp)(struct rtc_transport *t, uint8_t *pkt, size_t len, void *arg);
};

/*
 * Opens the socket and gathers host candidates (reported through
 * on_candidate before this returns, and available from
 * rtc_transport_candidate). NULL on failure, with a reason in err.
 */
struct rtc_transport *rtc_transport_new(struct ev_loop *loop, const struct rtc_transport_opts *opts,
        const struct rtc_transport_cbs *cbs, void *arg, char *err, size_t errlen);
void rtc_transport_free(struct rtc_transport *t);

/* Our ICE credentials for the SDP (a=ice-ufrag / a=ice-pwd). */
const char *rtc_transport_ufrag(const struct rtc_transport *t);
const char *rtc_transport_pwd(const struct rtc_transport *t);
/* Local host candidates (index 0..n-1), NULL past the end. */
const char *rtc_transport_candidate(const struct rtc_transport *t, int index);
uint16_t rtc_transport_port(const struct rtc_transport *t);

/*
 * The peer's parameters from its SDP: ICE credentials, whether it is
 * ICE-lite, its DTLS fingerprint, and our DTLS role (from a=setup: we are
 * the client when we answered "active" or the peer answered "passive").
 * Starts ICE (and DTLS once a pair works). Call again after an ICE restart
 * (new ufrag) only; otherwise the first call wins. 0 or negative lk_err.
 */
int rtc_transport_set_remote(struct rtc_transport *t, const char *ufrag, const char *pwd,
        int remote_lite, const char *fingerprint_sha256, enum rtc_dtls_role our_dtls_role);
/*
 * Before offering an ICE restart ourselves: new local credentials (read
 * them with rtc_transport_ufrag/pwd for the offer); the answer's
 * rtc_transport_set_remote then keeps them. When the peer restarts
 * (set_remote with a new ufrag and no restart_ice first), ours are renewed
 * too (RFC 8839 §4.4.1.1.2): read them after set_remote for the answer.
 * A transport made with opts.cert NULL runs ICE only (no DTLS, no media).
 */
int rtc_transport_restart_ice(struct rtc_transport *t);
/* A remote candidate (SDP a=candidate value or trickle "candidate:..."). */
int rtc_transport_add_remote_candidate(struct rtc_transport *t, const char *candidate);

enum rtc_transport_state rtc_transport_state(const struct rtc_transport *t);

/*
 * Send one RTP / RTCP packet (plaintext, any SSRC): protected into an
 * internal buffer and sent on the selected pair. LK_EAGAIN before
 * RTC_TS_CONNECTED. No allocation.
 */
int rtc_transport_send_rtp(struct rtc_transport *t, const uint8_t *pkt, size_t len);
int rtc_transport_send_rtcp(struct rtc_transport *t, const uint8_t *pkt, size_t len);

void rtc_transport_stats(const struct rtc_transport *t, struct rtc_transport_stats *out);

#endif
