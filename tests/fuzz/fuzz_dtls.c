/*
 * fuzz_dtls: arbitrary datagrams into one DTLS association, what a
 * transport does with every datagram whose first byte is 20..63. The
 * input is a role byte (even: server, odd: client that has sent its
 * ClientHello) then datagrams, each as a 2-byte big-endian length and
 * its bytes; a length running past the end takes the rest. Retransmission
 * timers are fired along the way without waiting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/cert.h"
#include "rtc/dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rtc_cert *fuzz_ours, *fuzz_peer;

static void
fuzz_dtls_send(const uint8_t *data, size_t len, void *arg)
{
	/* Touch every byte so a bad length shows up under ASan. */
	volatile uint8_t x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x ^= data[i];
	(void)x;
}

static void
fuzz_dtls_connected(const struct rtc_srtp_keys *keys, void *arg)
{
	if (keys->key_len > sizeof(keys->client_key) || keys->salt_len > sizeof(keys->client_salt))
		abort();
}

static void
fuzz_dtls_failed(const char *why, void *arg)
{
	if (why == NULL || strlen(why) == 0)
		abort();
}

static void
fuzz_dtls_closed(void *arg)
{
}

static const struct rtc_dtls_cbs fuzz_dtls_cbs = {
        .send = fuzz_dtls_send,
        .connected = fuzz_dtls_connected,
        .failed = fuzz_dtls_failed,
        .closed = fuzz_dtls_closed,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtc_dtls *d;
	size_t off = 1, n;
	int i = 0;

	if (size < 1)
		return 0;
	/* Key generation is slow: one pair of identities for the whole run. */
	if (fuzz_ours == NULL) {
		fuzz_ours = rtc_cert_new();
		fuzz_peer = rtc_cert_new();
		if (fuzz_ours == NULL || fuzz_peer == NULL)
			abort();
	}
	d = rtc_dtls_new(fuzz_ours, (data[0] & 1) ? RTC_DTLS_CLIENT : RTC_DTLS_SERVER,
	        rtc_cert_fingerprint(fuzz_peer), &fuzz_dtls_cbs, NULL);
	if (d == NULL)
		abort();
	rtc_dtls_start(d);
	while (off < size) {
		if (size - off < 2) {
			n = size - off;
		} else {
			n = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
			if (n > size - off)
				n = size - off;
		}
		rtc_dtls_feed(d, data + off, n);
		off += n;
		if (++i % 4 == 0) {
			rtc_dtls_timeout_ms(d);
			rtc_dtls_on_timeout(d);
		}
	}
	rtc_dtls_close(d);
	rtc_dtls_free(d);
	return 0;
}
