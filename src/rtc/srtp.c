/*
 * srtp: SRTP/SRTCP (RFC 3711, RFC 7714) for one DTLS-SRTP association on
 * libsrtp2: one outbound and one inbound session keyed from the DTLS
 * export. Runs in the transports of lk-jobproc and lk-devserver.
 *
 * No allocation per packet: Debian's libsrtp2 does its AES and HMAC on
 * NSS, which allocates on every packet, so the process-wide set-up
 * replaces those transforms in libsrtp's crypto kernel with the OpenSSL
 * ones in srtp_crypto.c, which allocate only when a session is keyed.
 * libsrtp itself allocates per session and per new SSRC, not per packet.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <srtp2/srtp.h>

#include "common/err.h"
#include "common/log.h"
#include "rtc/srtp.h"
#include "rtc/srtp_crypto.h"

/*
 * Replay window (packets). libsrtp2 2.5 has no switch to turn replay
 * checks off the way livekit does; a wide window keeps late packets
 * (20 s of 20 ms audio) and only exact duplicates are refused, which
 * unprotect reports apart from authentication failures.
 */
#define RTC_SRTP_WINDOW 1024

struct rtc_srtp {
	srtp_t out;
	srtp_t in;
	size_t rtp_trailer; /* bytes protect adds to RTP */
	size_t rtcp_trailer; /* ... and to RTCP (tag + 4-byte E|SRTCP index) */
};

/* Process-wide libsrtp set-up: 0 not yet, 1 done, -1 failed (for good). */
static int rtc_srtp_ready;

/*
 * srtp_init() once, then our transforms before any session exists: a
 * session keeps the transforms it was created with. Every process is
 * single-threaded.
 */
static int
rtc_srtp_init(void)
{
	srtp_err_status_t st;

	if (rtc_srtp_ready != 0)
		return rtc_srtp_ready > 0 ? 0 : LK_EINVAL;
	rtc_srtp_ready = -1;
	st = srtp_init();
	if (st != srtp_err_status_ok) {
		log_error("srtp init failed", "status", log_fmt("%d", (int)st));
		return LK_EINVAL;
	}
	if (rtc_srtp_crypto_install() < 0)
		return LK_EINVAL;
	rtc_srtp_ready = 1;
	return 0;
}

static int
rtc_srtp_err(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		return LK_EAUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		/* A duplicate or a packet older than the window: drop it quietly. */
		return LK_EAGAIN;
	case srtp_err_status_alloc_fail:
		return LK_ENOMEM;
	default:
		return LK_EINVAL;
	}
}

/* One session for one direction: key || salt is libsrtp's master key layout. */
static int
rtc_srtp_session(srtp_t *out, const struct rtc_srtp_keys *keys, const uint8_t *key,
        const uint8_t *salt, srtp_ssrc_type_t dir)
{
	uint8_t master[32 + 14];
	srtp_policy_t pol;
	srtp_err_status_t st;

	memset(&pol, 0, sizeof(pol));
	switch (keys->profile) {
	case RTC_SRTP_AES128_CM_SHA1_80:
		/* RFC 5764 §4.1.2: SRTP and SRTCP both with 80-bit HMAC-SHA1 tags. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
		break;
	case RTC_SRTP_AEAD_AES_128_GCM:
		/* RFC 7714 §14.2: 16-octet tags. */
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
		break;
	case RTC_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtcp);
		break;
	default:
		return LK_EINVAL;
	}
	memcpy(master, key, keys->key_len);
	memcpy(master + keys->key_len, salt, keys->salt_len);
	pol.ssrc.type = dir;
	pol.key = master;
	pol.window_size = RTC_SRTP_WINDOW;
	/* RTP retransmissions (NACK) resend a sequence number with the same payload. */
	pol.allow_repeat_tx = 1;
	pol.next = NULL;
	st = srtp_create(out, &pol);
	memset(master, 0, sizeof(master));
	if (st != srtp_err_status_ok) {
		*out = NULL;
		return rtc_srtp_err(st);
	}
	return 0;
}

struct rtc_srtp *
rtc_srtp_new(const struct rtc_srtp_keys *keys, int we_are_client)
{
	struct rtc_srtp *s;
	size_t tag;

	if (keys == NULL)
		return NULL;
	switch (keys->profile) {
	case RTC_SRTP_AES128_CM_SHA1_80:
		if (keys->key_len != 16 || keys->salt_len != 14)
			return NULL;
		tag = 10;
		break;
	case RTC_SRTP_AEAD_AES_128_GCM:
		if (keys->key_len != 16 || keys->salt_len != 12)
			return NULL;
		tag = 16;
		break;
	case RTC_SRTP_AEAD_AES_256_GCM:
		if (keys->key_len != 32 || keys->salt_len != 12)
			return NULL;
		tag = 16;
		break;
	default:
		return NULL;
	}
	if (rtc_srtp_init() < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->rtp_trailer = tag;
	s->rtcp_trailer = tag + 4; /* RFC 3711 §3.4: E flag and SRTCP index */
	/* RFC 5764 §4.2: the DTLS client writes with the client key and salt. */
	if (rtc_srtp_session(&s->out, keys, we_are_client ? keys->client_key : keys->server_key,
	            we_are_client ? keys->client_salt : keys->server_salt, ssrc_any_outbound) < 0 ||
	        rtc_srtp_session(&s->in, keys, we_are_client ? keys->server_key : keys->client_key,
	                we_are_client ? keys->server_salt : keys->client_salt,
	                ssrc_any_inbound) < 0) {
		rtc_srtp_free(s);
		return NULL;
	}
	return s;
}

void
rtc_srtp_free(struct rtc_srtp *s)
{
	if (s == NULL)
		return;
	if (s->out != NULL)
		srtp_dealloc(s->out);
	if (s->in != NULL)
		srtp_dealloc(s->in);
	free(s);
}

size_t
rtc_srtp_trailer(const struct rtc_srtp *s, int rtcp)
{
	return rtcp ? s->rtcp_trailer : s->rtp_trailer;
}

/* Shared checks: the header is there and the trailer fits within cap. */
static int
rtc_srtp_protect_check(size_t len, size_t cap, size_t min, size_t trailer)
{
	if (len < min)
		return LK_EINVAL;
	if (cap > INT_MAX || len > cap || cap - len < trailer)
		return LK_ETOOBIG;
	return 0;
}

int
rtc_srtp_protect_rtp(struct rtc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	int n, rc;

	if (s == NULL || buf == NULL || len == NULL)
		return LK_EINVAL;
	/* RFC 3550 §5.1: 12-byte fixed header. */
	rc = rtc_srtp_protect_check(*len, cap, 12, s->rtp_trailer);
	if (rc < 0)
		return rc;
	n = (int)*len;
	rc = rtc_srtp_err(srtp_protect(s->out, buf, &n));
	if (rc < 0)
		return rc;
	*len = (size_t)n;
	return 0;
}

int
rtc_srtp_protect_rtcp(struct rtc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	int n, rc;

	if (s == NULL || buf == NULL || len == NULL)
		return LK_EINVAL;
	/* RFC 3550 §6.4.1: header and sender SSRC. */
	rc = rtc_srtp_protect_check(*len, cap, 8, s->rtcp_trailer);
	if (rc < 0)
		return rc;
	n = (int)*len;
	rc = rtc_srtp_err(srtp_protect_rtcp(s->out, buf, &n));
	if (rc < 0)
		return rc;
	*len = (size_t)n;
	return 0;
}

int
rtc_srtp_unprotect_rtp(struct rtc_srtp *s, uint8_t *buf, size_t *len)
{
	int n, rc;

	if (s == NULL || buf == NULL || len == NULL)
		return LK_EINVAL;
	if (*len < 12 + s->rtp_trailer)
		return LK_EINVAL;
	if (*len > INT_MAX)
		return LK_ETOOBIG;
	n = (int)*len;
	rc = rtc_srtp_err(srtp_unprotect(s->in, buf, &n));
	if (rc < 0)
		return rc;
	*len = (size_t)n;
	return 0;
}

int
rtc_srtp_unprotect_rtcp(struct rtc_srtp *s, uint8_t *buf, size_t *len)
{
	int n, rc;

	if (s == NULL || buf == NULL || len == NULL)
		return LK_EINVAL;
	if (*len < 8 + s->rtcp_trailer)
		return LK_EINVAL;
	if (*len > INT_MAX)
		return LK_ETOOBIG;
	n = (int)*len;
	rc = rtc_srtp_err(srtp_unprotect_rtcp(s->in, buf, &n));
	if (rc < 0)
		return rc;
	*len = (size_t)n;
	return 0;
}
