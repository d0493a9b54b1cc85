/*
 * fuzz_srtp: SRTP and SRTCP on arbitrary bytes, as a transport meets them
 * once DTLS is done: libsrtp2's header parsing with lkworker's OpenSSL
 * transforms (src/rtc/srtp_crypto.c). The first byte picks the profile
 * (low 2 bits: AES-CM-HMAC-SHA1-80, AES-128-GCM, AES-256-GCM), RTP or RTCP
 * (bit 2) and what is done with the rest (bit 3):
 *   0: unprotect it as a packet from the peer (it must be refused or come
 *      back no longer than it went in);
 *   1: protect it as our own plaintext and unprotect the result with the
 *      peer's association: a packet libsrtp accepts must come back exactly.
 * Sessions are keyed once, with fixed keys, in both DTLS roles.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SRTP_MAX 1500

/* [profile][0: we are the DTLS client, 1: we are the server] */
static struct rtc_srtp *fuzz_srtp[3][2];

static void
fuzz_srtp_keys(struct rtc_srtp_keys *k, int p)
{
	static const enum rtc_srtp_profile profiles[3] = {
	        RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_AEAD_AES_256_GCM};
	size_t i;

	memset(k, 0, sizeof(*k));
	k->profile = profiles[p];
	k->key_len = p == 2 ? 32 : 16;
	k->salt_len = p == 0 ? 14 : 12;
	for (i = 0; i < sizeof(k->client_key); i++) {
		k->client_key[i] = (uint8_t)(0x10 + i);
		k->server_key[i] = (uint8_t)(0x80 + i);
	}
	for (i = 0; i < sizeof(k->client_salt); i++) {
		k->client_salt[i] = (uint8_t)(0x40 + i);
		k->server_salt[i] = (uint8_t)(0xc0 + i);
	}
}

static void
fuzz_srtp_init(void)
{
	struct rtc_srtp_keys k;
	int p;

	for (p = 0; p < 3; p++) {
		fuzz_srtp_keys(&k, p);
		fuzz_srtp[p][0] = rtc_srtp_new(&k, 1);
		fuzz_srtp[p][1] = rtc_srtp_new(&k, 0);
		if (fuzz_srtp[p][0] == NULL || fuzz_srtp[p][1] == NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[FUZZ_SRTP_MAX + RTC_SRTCP_MAX_TRAILER];
	struct rtc_srtp *us, *peer;
	size_t len, in;
	int p, rtcp, rc;

	if (fuzz_srtp[0][0] == NULL)
		fuzz_srtp_init();
	if (size < 1 || size - 1 > FUZZ_SRTP_MAX)
		return 0;
	p = (data[0] & 3) % 3;
	rtcp = (data[0] >> 2) & 1;
	us = fuzz_srtp[p][0];
	peer = fuzz_srtp[p][1];
	in = size - 1;
	memcpy(buf, data + 1, in);
	len = in;
	if (!(data[0] & 8)) {
		rc = rtcp ? rtc_srtp_unprotect_rtcp(us, buf, &len)
		          : rtc_srtp_unprotect_rtp(us, buf, &len);
		if (rc == 0 && len > in)
			abort();
		return 0;
	}
	rc = rtcp ? rtc_srtp_protect_rtcp(us, buf, &len, sizeof(buf))
	          : rtc_srtp_protect_rtp(us, buf, &len, sizeof(buf));
	if (rc < 0)
		return 0;
	if (len != in + rtc_srtp_trailer(us, rtcp))
		abort();
	rc = rtcp ? rtc_srtp_unprotect_rtcp(peer, buf, &len)
	          : rtc_srtp_unprotect_rtp(peer, buf, &len);
	/* A replayed index (the same input twice) is refused as a duplicate. */
	if (rc == LK_EAGAIN)
		return 0;
	if (rc < 0 || len != in || memcmp(buf, data + 1, in) != 0)
		abort();
	return 0;
}
