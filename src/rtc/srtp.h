/*
 * srtp: SRTP/SRTCP protection with libsrtp2 for one DTLS-SRTP association:
 * an outbound session keyed with our side's key and an inbound one with
 * the peer's, any SSRC, replay protection off (as livekit). In-place
 * operations on caller buffers with room for the auth tag. No allocation
 * per packet: Debian's libsrtp2 runs its ciphers on NSS, which allocates
 * for every packet, so the first rtc_srtp_new() installs the OpenSSL
 * transforms of srtp_crypto.c in libsrtp and fails if that is refused.
 */
#ifndef LK_RTC_SRTP_H
#define LK_RTC_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include "rtc/dtls.h"

#define RTC_SRTP_MAX_TRAILER 16 /* auth tag / AEAD tag, + MKI none */

struct rtc_srtp;

/* we_are_client: our DTLS role (the client writes with client_key). */
struct rtc_srtp *rtc_srtp_new(const struct rtc_srtp_keys *keys, int we_are_client);
void rtc_srtp_free(struct rtc_srtp *s);
/*
 * Protect in place: buf holds *len plaintext bytes and has room for
 * RTC_SRTP_MAX_TRAILER more; *len becomes the protected length.
 */
int rtc_srtp_protect_rtp(struct rtc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int rtc_srtp_protect_rtcp(struct rtc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
/* Unprotect in place; *len becomes the plaintext length. Negative on auth failure. */
int rtc_srtp_unprotect_rtp(struct rtc_srtp *s, uint8_t *buf, size_t *len);
int rtc_srtp_unprotect_rtcp(struct rtc_srtp *s, uint8_t *buf, size_t *len);

/*
 * Unprotect returns LK_EAUTH when authentication fails and
 * LK_EAGAIN for a duplicate (replayed) packet; protect returns LK_ETOOBIG
 * when cap - *len is below the trailer. SRTCP adds a 4-byte index after
 * the tag, so with an AEAD-GCM profile it needs 20 bytes, not 16.
 */
#define RTC_SRTCP_MAX_TRAILER 20
/* Bytes protect adds under the negotiated profile (rtcp: 0 for RTP, 1 for RTCP). */
size_t rtc_srtp_trailer(const struct rtc_srtp *s, int rtcp);

#endif
