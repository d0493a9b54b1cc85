/*
 * dtls: one DTLS 1.2 association for DTLS-SRTP (RFC 5764) on OpenSSL,
 * sans-IO through a datagram BIO of our own; exports the SRTP keys once
 * the peer's certificate matched its SDP fingerprint. Runs in the
 * transports of lk-jobproc and lk-devserver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "rtc/cert.h"
#include "rtc/dtls.h"

/*
 * Largest datagram a DTLS flight is packed into: leaves room for IP/UDP
 * headers and a TURN channel header under a 1280-byte path MTU.
 */
#define RTC_DTLS_MTU 1200
/* Largest UDP payload accepted from the caller. */
#define RTC_DTLS_MAX_DATAGRAM 65535
/* Retransmission timer: livekit retransmits every 100 ms; we back off from there. */
#define RTC_DTLS_TIMER_FIRST_US 100000u
#define RTC_DTLS_TIMER_MAX_US 4000000u
/* RFC 5764 §4.2 exporter label. */
#define RTC_DTLS_EXPORT_LABEL "EXTRACTOR-dtls_srtp"
/*
 * Server preference (OpenSSL picks the first of our profiles the client
 * offered). AES128_CM_SHA1_80 first: every peer offers it and its SRTCP
 * trailer (14 bytes) fits RTC_SRTP_MAX_TRAILER. A peer acting as DTLS
 * server may still choose GCM, which srtp.c supports.
 */
#define RTC_DTLS_SRTP_PROFILES "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM"

enum rtc_dtls_state {
	RTC_DTLS_HANDSHAKE = 0,
	RTC_DTLS_CONNECTED,
	RTC_DTLS_FAILED,
	RTC_DTLS_CLOSED,
};

struct rtc_dtls {
	SSL_CTX *ctx;
	SSL *ssl;
	enum rtc_dtls_role role;
	enum rtc_dtls_state state;
	struct rtc_dtls_cbs cbs;
	void *arg;
	uint8_t remote_fp[32];
	int fp_mismatch;
	/* The datagram being fed; the BIO hands it to OpenSSL in one read. */
	const uint8_t *rx;
	size_t rx_len;
	struct rtc_srtp_keys keys;
	char why[256];
	/* Inside a call into OpenSSL: a callback's rtc_dtls_free is deferred to its end. */
	int busy;
	int free_pending;
};

static BIO_METHOD *rtc_dtls_bio_method;

static void rtc_dtls_release(struct rtc_dtls *d);

/* Every write OpenSSL makes is one datagram: its flush packs a flight up to the MTU. */
static int
rtc_dtls_bio_write(BIO *b, const char *data, int len)
{
	struct rtc_dtls *d = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (d != NULL && d->cbs.send != NULL)
		d->cbs.send((const uint8_t *)data, (size_t)len, d->arg);
	return len;
}

/* Datagram semantics: a read returns the whole fed datagram (truncated to outl) once. */
static int
rtc_dtls_bio_read(BIO *b, char *out, int outl)
{
	struct rtc_dtls *d = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (d == NULL || d->rx == NULL || outl <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	n = d->rx_len < (size_t)outl ? d->rx_len : (size_t)outl;
	memcpy(out, d->rx, n);
	d->rx = NULL;
	d->rx_len = 0;
	return (int)n;
}

static long
rtc_dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct rtc_dtls *d = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return d != NULL && d->rx != NULL ? (long)d->rx_len : 0;
	case BIO_CTRL_WPENDING:
		return 0;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return RTC_DTLS_MTU;
	default:
		return 0;
	}
}

static int
rtc_dtls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *
rtc_dtls_bio_meth(void)
{
	BIO_METHOD *m;

	/* Created once per process and kept: processes are single-threaded. */
	if (rtc_dtls_bio_method != NULL)
		return rtc_dtls_bio_method;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rtc_dtls");
	if (m == NULL)
		return NULL;
	if (BIO_meth_set_write(m, rtc_dtls_bio_write) != 1 ||
	        BIO_meth_set_read(m, rtc_dtls_bio_read) != 1 ||
	        BIO_meth_set_ctrl(m, rtc_dtls_bio_ctrl) != 1 ||
	        BIO_meth_set_create(m, rtc_dtls_bio_create) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	rtc_dtls_bio_method = m;
	return m;
}

/* RFC 8122 §5 fingerprint: 32 hex pairs joined by ':', either case. */
static int
rtc_dtls_parse_fingerprint(const char *s, uint8_t out[32])
{
	size_t n = 0;

	if (s == NULL || strlen(s) != 3 * 32 - 1)
		return LK_EINVAL;
	if (OPENSSL_hexstr2buf_ex(out, 32, &n, s, ':') != 1 || n != 32)
		return LK_EINVAL;
	return 0;
}

/* 1 when the certificate's SHA-256 digest is the one the peer's SDP announced. */
static int
rtc_dtls_peer_matches(const struct rtc_dtls *d, X509 *peer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (peer == NULL || X509_digest(peer, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		return 0;
	return CRYPTO_memcmp(md, d->remote_fp, 32) == 0;
}

/*
 * Replaces chain building: WebRTC certificates are self-signed and
 * authenticated only by the fingerprint in the signalled SDP (RFC 8122 §5),
 * so the leaf is checked here and a mismatch aborts the handshake with an
 * alert before any key is derived.
 */
static int
rtc_dtls_cert_verify(X509_STORE_CTX *sctx, void *unused)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct rtc_dtls *d = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

	if (d == NULL)
		return 0;
	if (!rtc_dtls_peer_matches(d, X509_STORE_CTX_get0_cert(sctx))) {
		d->fp_mismatch = 1;
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

static unsigned int
rtc_dtls_timer_cb(SSL *ssl, unsigned int timer_us)
{
	if (timer_us == 0)
		return RTC_DTLS_TIMER_FIRST_US;
	if (timer_us >= RTC_DTLS_TIMER_MAX_US / 2)
		return RTC_DTLS_TIMER_MAX_US;
	return timer_us * 2;
}

/* Report a failure (the handshake is over; later feeds return LK_ECLOSED). */
static void
rtc_dtls_fail(struct rtc_dtls *d, const char *what)
{
	unsigned long e = ERR_get_error();
	char ebuf[200];

	d->state = RTC_DTLS_FAILED;
	if (d->fp_mismatch)
		snprintf(d->why, sizeof(d->why),
		        "dtls: peer certificate does not match the SDP fingerprint");
	else if (e != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		snprintf(d->why, sizeof(d->why), "dtls: %s: %s", what, ebuf);
	} else
		snprintf(d->why, sizeof(d->why), "dtls: %s", what);
	ERR_clear_error();
	if (d->cbs.failed != NULL)
		d->cbs.failed(d->why, d->arg);
}

static int
rtc_dtls_profile_lens(unsigned long id, size_t *key_len, size_t *salt_len)
{
	switch (id) {
	case RTC_SRTP_AES128_CM_SHA1_80: /* RFC 5764 §4.1.2 */
		*key_len = 16;
		*salt_len = 14;
		return 0;
	case RTC_SRTP_AEAD_AES_128_GCM: /* RFC 7714 §14.2 */
		*key_len = 16;
		*salt_len = 12;
		return 0;
	case RTC_SRTP_AEAD_AES_256_GCM:
		*key_len = 32;
		*salt_len = 12;
		return 0;
	default:
		return LK_EINVAL;
	}
}

/* Handshake done: check the peer again, then export the SRTP keys. */
static void
rtc_dtls_finish(struct rtc_dtls *d)
{
	const SRTP_PROTECTION_PROFILE *prof;
	uint8_t km[2 * (32 + 14)];
	size_t kl, sl;

	if (!rtc_dtls_peer_matches(d, SSL_get0_peer_certificate(d->ssl))) {
		d->fp_mismatch = 1;
		rtc_dtls_fail(d, "peer certificate");
		return;
	}
	prof = SSL_get_selected_srtp_profile(d->ssl);
	if (prof == NULL || rtc_dtls_profile_lens(prof->id, &kl, &sl) < 0) {
		rtc_dtls_fail(d, "no SRTP protection profile negotiated (use_srtp)");
		return;
	}
	/* RFC 5764 §4.2: 2 * (key + salt) bytes, no context. */
	if (SSL_export_keying_material(d->ssl, km, 2 * (kl + sl), RTC_DTLS_EXPORT_LABEL,
	            strlen(RTC_DTLS_EXPORT_LABEL), NULL, 0, 0) != 1) {
		rtc_dtls_fail(d, "export keying material");
		return;
	}
	/* client_write_key | server_write_key | client_write_salt | server_write_salt */
	d->keys.profile = (enum rtc_srtp_profile)prof->id;
	d->keys.key_len = kl;
	d->keys.salt_len = sl;
	memcpy(d->keys.client_key, km, kl);
	memcpy(d->keys.server_key, km + kl, kl);
	memcpy(d->keys.client_salt, km + 2 * kl, sl);
	memcpy(d->keys.server_salt, km + 2 * kl + sl, sl);
	OPENSSL_cleanse(km, sizeof(km));
	d->state = RTC_DTLS_CONNECTED;
	if (d->cbs.connected != NULL)
		d->cbs.connected(&d->keys, d->arg);
}

/* Run OpenSSL on whatever is pending (a fed datagram, or nothing on start). */
static void
rtc_dtls_step(struct rtc_dtls *d)
{
	uint8_t scratch[2048];
	int ret, err;

	ERR_clear_error();
	if (d->state == RTC_DTLS_HANDSHAKE) {
		ret = SSL_do_handshake(d->ssl);
		if (ret == 1) {
			rtc_dtls_finish(d);
			return;
		}
		err = SSL_get_error(d->ssl, ret);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return;
		rtc_dtls_fail(d, "handshake");
		return;
	}
	if (d->state != RTC_DTLS_CONNECTED)
		return;
	/*
	 * After the handshake DTLS carries no media: records are read only so
	 * OpenSSL answers a retransmitted final flight and sees alerts.
	 * Application data (data channels) is not used and is discarded.
	 */
	for (;;) {
		ret = SSL_read(d->ssl, scratch, sizeof(scratch));
		if (ret > 0)
			continue;
		err = SSL_get_error(d->ssl, ret);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return;
		if (err == SSL_ERROR_ZERO_RETURN) {
			/* close_notify (RFC 5246 §7.2.1, which RFC 6347 keeps) */
			d->state = RTC_DTLS_CLOSED;
			ERR_clear_error();
			if (d->cbs.closed != NULL)
				d->cbs.closed(d->arg);
			return;
		}
		rtc_dtls_fail(d, "read");
		return;
	}
}

struct rtc_dtls *
rtc_dtls_new(const struct rtc_cert *cert, enum rtc_dtls_role role, const char *remote_fingerprint,
        const struct rtc_dtls_cbs *cbs, void *arg)
{
	struct rtc_dtls *d;
	BIO_METHOD *meth;
	BIO *bio;

	if (cert == NULL || cbs == NULL || (role != RTC_DTLS_CLIENT && role != RTC_DTLS_SERVER))
		return NULL;
	meth = rtc_dtls_bio_meth();
	if (meth == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	if (rtc_dtls_parse_fingerprint(remote_fingerprint, d->remote_fp) < 0)
		goto fail;
	d->role = role;
	d->cbs = *cbs;
	d->arg = arg;
	d->state = RTC_DTLS_HANDSHAKE;

	d->ctx = SSL_CTX_new(DTLS_method());
	if (d->ctx == NULL)
		goto fail;
	/* DTLS 1.2 only: libwebrtc offers newer versions and negotiates down. */
	if (SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) != 1 ||
	        SSL_CTX_set_max_proto_version(d->ctx, DTLS1_2_VERSION) != 1)
		goto fail;
	if (SSL_CTX_use_certificate(d->ctx, rtc_cert_x509(cert)) != 1 ||
	        SSL_CTX_use_PrivateKey(d->ctx, rtc_cert_pkey(cert)) != 1 ||
	        SSL_CTX_check_private_key(d->ctx) != 1)
		goto fail;
	/* RFC 5763 §5: both ends present certificates; the server asks for the client's. */
	SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(d->ctx, rtc_dtls_cert_verify, NULL);
	/* RFC 5764 §4.1: use_srtp. Note the inverted return convention (0 = ok). */
	if (SSL_CTX_set_tlsext_use_srtp(d->ctx, RTC_DTLS_SRTP_PROFILES) != 0)
		goto fail;
	/* The MTU is ours to set (no socket to query); no tickets, no renegotiation. */
	SSL_CTX_set_options(
	        d->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);

	d->ssl = SSL_new(d->ctx);
	if (d->ssl == NULL)
		goto fail;
	SSL_set_app_data(d->ssl, d);
	bio = BIO_new(meth);
	if (bio == NULL)
		goto fail;
	BIO_set_data(bio, d);
	/* One BIO for both directions: SSL_set_bio takes a single reference. */
	SSL_set_bio(d->ssl, bio, bio);
	if (SSL_set_mtu(d->ssl, RTC_DTLS_MTU) <= 0) /* returns the MTU set, 0 if refused */
		goto fail;
	DTLS_set_timer_cb(d->ssl, rtc_dtls_timer_cb);
	if (role == RTC_DTLS_CLIENT)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	ERR_clear_error();
	return d;
fail:
	ERR_clear_error();
	rtc_dtls_release(d);
	return NULL;
}

static void
rtc_dtls_release(struct rtc_dtls *d)
{
	SSL_free(d->ssl);
	SSL_CTX_free(d->ctx);
	OPENSSL_cleanse(&d->keys, sizeof(d->keys));
	free(d);
}

/*
 * Any callback may free the association: the free then waits until the
 * public call that ran the callback returns (see rtc_dtls_leave).
 */
void
rtc_dtls_free(struct rtc_dtls *d)
{
	if (d == NULL)
		return;
	if (d->busy > 0) {
		d->free_pending = 1;
		return;
	}
	rtc_dtls_release(d);
}

static void
rtc_dtls_enter(struct rtc_dtls *d)
{
	d->busy++;
}

/* Ends a public call: forgets the fed datagram and runs a deferred free. */
static void
rtc_dtls_leave(struct rtc_dtls *d)
{
	if (--d->busy > 0)
		return;
	d->rx = NULL;
	d->rx_len = 0;
	if (d->free_pending)
		rtc_dtls_release(d);
}

int
rtc_dtls_start(struct rtc_dtls *d)
{
	if (d == NULL)
		return LK_EINVAL;
	if (d->state != RTC_DTLS_HANDSHAKE)
		return LK_ECLOSED;
	/* The client's first step writes the ClientHello; the server waits for one. */
	if (d->role == RTC_DTLS_CLIENT) {
		rtc_dtls_enter(d);
		rtc_dtls_step(d);
		rtc_dtls_leave(d);
	}
	return 0;
}

int
rtc_dtls_feed(struct rtc_dtls *d, const uint8_t *data, size_t len)
{
	if (d == NULL || (data == NULL && len > 0))
		return LK_EINVAL;
	if (d->state != RTC_DTLS_HANDSHAKE && d->state != RTC_DTLS_CONNECTED)
		return LK_ECLOSED;
	if (len == 0)
		return LK_EINVAL;
	if (len > RTC_DTLS_MAX_DATAGRAM)
		return LK_ETOOBIG;
	/* RFC 7983 §7: DTLS datagrams start with a content type in 20..63. */
	if (data[0] < 20 || data[0] > 63)
		return LK_EINVAL;
	rtc_dtls_enter(d);
	d->rx = data;
	d->rx_len = len;
	rtc_dtls_step(d);
	rtc_dtls_leave(d);
	return 0;
}

int64_t
rtc_dtls_timeout_ms(struct rtc_dtls *d)
{
	struct timeval tv;

	if (d == NULL || (d->state != RTC_DTLS_HANDSHAKE && d->state != RTC_DTLS_CONNECTED))
		return -1;
	if (DTLSv1_get_timeout(d->ssl, &tv) != 1)
		return -1;
	return (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

void
rtc_dtls_on_timeout(struct rtc_dtls *d)
{
	if (d == NULL || (d->state != RTC_DTLS_HANDSHAKE && d->state != RTC_DTLS_CONNECTED))
		return;
	rtc_dtls_enter(d);
	ERR_clear_error();
	/* Retransmits the last flight when the timer has expired; fails after too many. */
	if (DTLSv1_handle_timeout(d->ssl) < 0)
		rtc_dtls_fail(d, "handshake timed out");
	ERR_clear_error();
	rtc_dtls_leave(d);
}

void
rtc_dtls_close(struct rtc_dtls *d)
{
	if (d == NULL || (d->state != RTC_DTLS_HANDSHAKE && d->state != RTC_DTLS_CONNECTED))
		return;
	rtc_dtls_enter(d);
	ERR_clear_error();
	d->state = RTC_DTLS_CLOSED;
	/* Sends close_notify after the handshake; during it there is nothing to close. */
	if (SSL_is_init_finished(d->ssl))
		SSL_shutdown(d->ssl);
	ERR_clear_error();
	rtc_dtls_leave(d);
}

int
rtc_dtls_is_connected(const struct rtc_dtls *d)
{
	return d != NULL && d->state == RTC_DTLS_CONNECTED;
}
