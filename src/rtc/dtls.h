/*
 * dtls: one DTLS 1.2 association for DTLS-SRTP (RFC 5764) over OpenSSL
 * memory BIOs, client or server role. Sans-IO: the caller feeds received
 * datagrams and sends what the send callback hands out; retransmissions
 * are driven by rtc_dtls_timeout_ms/rtc_dtls_on_timeout from the caller's
 * loop. Offers use_srtp with SRTP_AES128_CM_SHA1_80 (and the AEAD-GCM
 * profiles); checks the peer certificate against the SDP fingerprint.
 */
#ifndef LK_RTC_DTLS_H
#define LK_RTC_DTLS_H

#include <stddef.h>
#include <stdint.h>

struct rtc_cert;
struct rtc_dtls;

enum rtc_dtls_role {
	RTC_DTLS_CLIENT = 0, /* a=setup:active: sends the ClientHello */
	RTC_DTLS_SERVER = 1, /* a=setup:passive */
};

/* use_srtp protection profiles (RFC 5764 §4.1.2, RFC 7714). */
enum rtc_srtp_profile {
	RTC_SRTP_NONE = 0,
	RTC_SRTP_AES128_CM_SHA1_80 = 0x0001,
	RTC_SRTP_AEAD_AES_128_GCM = 0x0007,
	RTC_SRTP_AEAD_AES_256_GCM = 0x0008,
};

/* Keys exported with "EXTRACTOR-dtls_srtp" after the handshake. */
struct rtc_srtp_keys {
	enum rtc_srtp_profile profile;
	uint8_t client_key[32];
	uint8_t server_key[32];
	uint8_t client_salt[14];
	uint8_t server_salt[14];
	size_t key_len; /* 16 or 32 */
	size_t salt_len; /* 14 (CM) or 12 (GCM) */
};

struct rtc_dtls_cbs {
	/* A datagram to send to the peer (copy it; the buffer is reused). */
	void (*send)(const uint8_t *data, size_t len, void *arg);
	/* Handshake done and the fingerprint matched: keys for SRTP. */
	void (*connected)(const struct rtc_srtp_keys *keys, void *arg);
	/* Fatal: handshake failure, fingerprint mismatch, alert, timeout. */
	void (*failed)(const char *why, void *arg);
	/* The peer sent close_notify. */
	void (*closed)(void *arg);
};

/*
 * remote_fingerprint: "sha-256" value from the peer's SDP ("AB:CD:..."),
 * compared with the peer certificate's digest at the end of the handshake.
 */
struct rtc_dtls *rtc_dtls_new(const struct rtc_cert *cert, enum rtc_dtls_role role,
        const char *remote_fingerprint, const struct rtc_dtls_cbs *cbs, void *arg);
void rtc_dtls_free(struct rtc_dtls *d);
/* Client role: send the ClientHello. Server role: no-op (waits). */
int rtc_dtls_start(struct rtc_dtls *d);
/* A received DTLS datagram (first byte 20..63). 0 or negative lk_err. */
int rtc_dtls_feed(struct rtc_dtls *d, const uint8_t *data, size_t len);
/* Milliseconds until rtc_dtls_on_timeout should run, or -1 for no timer. */
int64_t rtc_dtls_timeout_ms(struct rtc_dtls *d);
void rtc_dtls_on_timeout(struct rtc_dtls *d);
/* Send close_notify. */
void rtc_dtls_close(struct rtc_dtls *d);
int rtc_dtls_is_connected(const struct rtc_dtls *d);

#endif
