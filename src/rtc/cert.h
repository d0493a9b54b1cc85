/*
 * cert: the DTLS identity of a process: an ECDSA P-256 self-signed
 * certificate and key (what libwebrtc generates too) and its SHA-256
 * fingerprint for a=fingerprint. One per process, shared by its transports.
 */
#ifndef LK_RTC_CERT_H
#define LK_RTC_CERT_H

struct rtc_cert;

/* A fresh key and certificate (CN "lkworker", valid 30 days). NULL on failure. */
struct rtc_cert *rtc_cert_new(void);
void rtc_cert_free(struct rtc_cert *c);
/* "sha-256" fingerprint as SDP writes it: 32 upper-case hex bytes joined by ':'. */
const char *rtc_cert_fingerprint(const struct rtc_cert *c);
/* The OpenSSL objects (X509 *, EVP_PKEY *), for dtls.c. */
void *rtc_cert_x509(const struct rtc_cert *c);
void *rtc_cert_pkey(const struct rtc_cert *c);

#endif
