/*
 * srtp_crypto: the AES-ICM, AES-GCM and HMAC-SHA1 transforms that libsrtp2
 * runs for every packet, on OpenSSL, with every buffer and context made
 * when a session is keyed and nothing allocated per packet. Installed once
 * per process in lk-jobproc and lk-devserver by src/rtc/srtp.c.
 */
#ifndef LK_RTC_SRTP_CRYPTO_H
#define LK_RTC_SRTP_CRYPTO_H

#include <srtp2/srtp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

/*
 * Replace libsrtp's transforms for SRTP_AES_ICM_128/192/256,
 * SRTP_AES_GCM_128/256 and SRTP_HMAC_SHA1 with these. Call once after
 * srtp_init() and before any session exists; libsrtp runs its own known
 * answer tests on each one. 0, or LK_EINVAL (logged) when one is refused.
 */
int rtc_srtp_crypto_install(void);

/* The transforms themselves (id: a libsrtp cipher id), for tests; NULL if unknown. */
const srtp_cipher_type_t *rtc_srtp_crypto_cipher(srtp_cipher_type_id_t id);
const srtp_auth_type_t *rtc_srtp_crypto_hmac_sha1(void);

#endif
