/*
 * check_dtls: unit tests for src/rtc/cert.c and src/rtc/dtls.c: two
 * associations wired back to back in memory (handshake, key export,
 * fingerprint checks, loss and retransmission, garbage, close_notify), the
 * exported keys driving SRTP, and interop with the openssl command-line
 * tool over UDP loopback (those tests are left out when it is missing).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "common/util.h"
#include "rtc/cert.h"
#include "rtc/dtls.h"
#include "rtc/srtp.h"

#define INBOX_MAX 64
#define DGRAM_MAX 2048

struct peer {
	struct rtc_dtls *d;
	struct peer *other;
	/* Datagrams sent by the other side, not yet fed to d. */
	uint8_t inbox[INBOX_MAX][DGRAM_MAX];
	size_t inbox_len[INBOX_MAX];
	int inbox_n;
	int sent; /* datagrams d handed to send */
	int drop_first; /* drop this many of them */
	int drop_from; /* ... starting at this index */
	int connected, failed, closed;
	int free_on_failed;
	struct rtc_srtp_keys keys;
	char why[256];
};

static void
peer_send(const uint8_t *data, size_t len, void *arg)
{
	struct peer *p = arg;
	struct peer *o = p->other;
	int idx = p->sent++;

	ck_assert_uint_le(len, 1200); /* RTC_DTLS_MTU */
	ck_assert_uint_gt(len, 0);
	if (idx >= p->drop_from && idx < p->drop_from + p->drop_first)
		return;
	if (o == NULL)
		return;
	ck_assert_int_lt(o->inbox_n, INBOX_MAX);
	memcpy(o->inbox[o->inbox_n], data, len);
	o->inbox_len[o->inbox_n++] = len;
}

static void
peer_connected(const struct rtc_srtp_keys *keys, void *arg)
{
	struct peer *p = arg;

	p->connected++;
	p->keys = *keys;
}

static void
peer_failed(const char *why, void *arg)
{
	struct peer *p = arg;

	ck_assert_ptr_nonnull(why);
	p->failed++;
	lk_strlcpy(p->why, why, sizeof(p->why));
	if (p->free_on_failed) {
		rtc_dtls_free(p->d);
		p->d = NULL;
	}
}

static void
peer_closed(void *arg)
{
	struct peer *p = arg;

	p->closed++;
}

static const struct rtc_dtls_cbs peer_cbs = {
        .send = peer_send,
        .connected = peer_connected,
        .failed = peer_failed,
        .closed = peer_closed,
};

/* Feed queued datagrams (FIFO) to one side; returns how many. */
static int
peer_deliver(struct peer *p)
{
	static uint8_t buf[DGRAM_MAX];
	int n = 0;

	while (p->inbox_n > 0) {
		size_t len = p->inbox_len[0];

		memcpy(buf, p->inbox[0], len);
		memmove(&p->inbox[0], &p->inbox[1], (size_t)(p->inbox_n - 1) * DGRAM_MAX);
		memmove(&p->inbox_len[0], &p->inbox_len[1],
		        (size_t)(p->inbox_n - 1) * sizeof(size_t));
		p->inbox_n--;
		n++;
		if (p->d != NULL)
			rtc_dtls_feed(p->d, buf, len);
	}
	return n;
}

static void
pump(struct peer *a, struct peer *b)
{
	int guard = 0;

	while (peer_deliver(a) + peer_deliver(b) > 0)
		ck_assert_int_lt(++guard, 100);
}

/* Wait out one side's retransmission timer and fire it. */
static void
peer_fire_timer(struct peer *p)
{
	int64_t ms = rtc_dtls_timeout_ms(p->d);

	ck_assert_int_ge(ms, 0);
	if (ms > 0)
		usleep((useconds_t)ms * 1000 + 2000);
	rtc_dtls_on_timeout(p->d);
}

struct pair {
	struct rtc_cert *cc, *sc;
	struct peer *client, *server;
};

static void
pair_init(struct pair *pr, const char *client_sees, const char *server_sees)
{
	pr->cc = rtc_cert_new();
	pr->sc = rtc_cert_new();
	ck_assert_ptr_nonnull(pr->cc);
	ck_assert_ptr_nonnull(pr->sc);
	pr->client = calloc(1, sizeof(*pr->client));
	pr->server = calloc(1, sizeof(*pr->server));
	ck_assert_ptr_nonnull(pr->client);
	ck_assert_ptr_nonnull(pr->server);
	pr->client->other = pr->server;
	pr->server->other = pr->client;
	pr->client->d = rtc_dtls_new(pr->cc, RTC_DTLS_CLIENT,
	        client_sees ? client_sees : rtc_cert_fingerprint(pr->sc), &peer_cbs, pr->client);
	pr->server->d = rtc_dtls_new(pr->sc, RTC_DTLS_SERVER,
	        server_sees ? server_sees : rtc_cert_fingerprint(pr->cc), &peer_cbs, pr->server);
	ck_assert_ptr_nonnull(pr->client->d);
	ck_assert_ptr_nonnull(pr->server->d);
}

static void
pair_free(struct pair *pr)
{
	rtc_dtls_free(pr->client->d);
	rtc_dtls_free(pr->server->d);
	free(pr->client);
	free(pr->server);
	rtc_cert_free(pr->cc);
	rtc_cert_free(pr->sc);
}

static void
assert_same_keys(const struct peer *a, const struct peer *b)
{
	ck_assert_int_eq(a->keys.profile, b->keys.profile);
	ck_assert_uint_eq(a->keys.key_len, b->keys.key_len);
	ck_assert_uint_eq(a->keys.salt_len, b->keys.salt_len);
	ck_assert(memcmp(a->keys.client_key, b->keys.client_key, a->keys.key_len) == 0);
	ck_assert(memcmp(a->keys.server_key, b->keys.server_key, a->keys.key_len) == 0);
	ck_assert(memcmp(a->keys.client_salt, b->keys.client_salt, a->keys.salt_len) == 0);
	ck_assert(memcmp(a->keys.server_salt, b->keys.server_salt, a->keys.salt_len) == 0);
	/* The two directions are keyed differently. */
	ck_assert(memcmp(a->keys.client_key, a->keys.server_key, a->keys.key_len) != 0);
}

START_TEST(test_cert)
{
	struct rtc_cert *a = rtc_cert_new(), *b = rtc_cert_new();
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	char hex[3 * 32];
	const char *fp;
	X509 *x;
	X509_NAME *name;
	char cn[64];
	EVP_PKEY *pub;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	fp = rtc_cert_fingerprint(a);
	ck_assert_uint_eq(strlen(fp), 95);
	for (i = 0; i < 95; i++) {
		if (i % 3 == 2)
			ck_assert_int_eq(fp[i], ':');
		else
			ck_assert(strchr("0123456789ABCDEF", fp[i]) != NULL);
	}
	ck_assert_str_ne(fp, rtc_cert_fingerprint(b));

	x = rtc_cert_x509(a);
	ck_assert_int_eq(X509_digest(x, EVP_sha256(), md, &mdlen), 1);
	ck_assert_uint_eq(mdlen, 32);
	for (i = 0; i < 32; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, i < 31 ? "%02X:" : "%02X", md[i]);
	ck_assert_str_eq(hex, fp);

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	name = X509_get_subject_name(x);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "lkworker");
	ck_assert_int_eq(X509_NAME_cmp(name, X509_get_issuer_name(x)), 0);
	/* Valid now; not before about a day ago, not after about 30 days. */
	ck_assert_int_lt(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
	ck_assert_int_gt(X509_cmp_current_time(X509_get0_notAfter(x)), 0);
	ck_assert_int_gt(
	        X509_cmp_time(X509_get0_notBefore(x), &(time_t){time(NULL) - 2 * 86400}), 0);
	ck_assert_int_lt(
	        X509_cmp_time(X509_get0_notAfter(x), &(time_t){time(NULL) + 31 * 86400}), 0);
	ck_assert_int_gt(
	        X509_cmp_time(X509_get0_notAfter(x), &(time_t){time(NULL) + 29 * 86400}), 0);
	/* Self-signed with the key it carries, which is an EC P-256 key. */
	pub = X509_get0_pubkey(x);
	ck_assert_int_eq(X509_verify(x, pub), 1);
	ck_assert_int_eq(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_get_bits(pub), 256);
	ck_assert_int_eq(EVP_PKEY_eq(pub, rtc_cert_pkey(a)), 1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	rtc_cert_free(a);
	rtc_cert_free(b);
	rtc_cert_free(NULL);
}
END_TEST

START_TEST(test_handshake)
{
	struct pair pr;

	pair_init(&pr, NULL, NULL);
	ck_assert_int_eq(rtc_dtls_start(pr.server->d), 0);
	ck_assert_int_eq(pr.server->sent, 0); /* the server waits */
	ck_assert_int_eq(rtc_dtls_timeout_ms(pr.server->d), -1);
	ck_assert_int_eq(rtc_dtls_start(pr.client->d), 0);
	ck_assert_int_eq(pr.client->sent, 1); /* ClientHello */
	ck_assert_int_ge(rtc_dtls_timeout_ms(pr.client->d), 0);
	ck_assert(!rtc_dtls_is_connected(pr.client->d));
	pump(pr.client, pr.server);

	ck_assert_int_eq(pr.client->connected, 1);
	ck_assert_int_eq(pr.server->connected, 1);
	ck_assert_int_eq(pr.client->failed + pr.server->failed, 0);
	ck_assert(rtc_dtls_is_connected(pr.client->d));
	ck_assert(rtc_dtls_is_connected(pr.server->d));
	assert_same_keys(pr.client, pr.server);
	/* Our own preference: the profile every WebRTC stack offers. */
	ck_assert_int_eq(pr.client->keys.profile, RTC_SRTP_AES128_CM_SHA1_80);
	ck_assert_uint_eq(pr.client->keys.key_len, 16);
	ck_assert_uint_eq(pr.client->keys.salt_len, 14);
	pair_free(&pr);
}
END_TEST

START_TEST(test_fingerprint_lowercase)
{
	struct pair pr;
	char lower[96];
	size_t i;

	/* RFC 8122 §5: hex digits in either case; the client is told the server's in lower case. */
	pair_init(&pr, NULL, NULL);
	rtc_dtls_free(pr.client->d);
	lk_strlcpy(lower, rtc_cert_fingerprint(pr.sc), sizeof(lower));
	for (i = 0; lower[i]; i++)
		if (lower[i] >= 'A' && lower[i] <= 'F')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	ck_assert_str_ne(lower, rtc_cert_fingerprint(pr.sc));
	pr.client->d = rtc_dtls_new(pr.cc, RTC_DTLS_CLIENT, lower, &peer_cbs, pr.client);
	ck_assert_ptr_nonnull(pr.client->d);
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.client->connected, 1);
	ck_assert_int_eq(pr.server->connected, 1);
	pair_free(&pr);
}
END_TEST

/* Someone else's certificate: both checks (client of the server, server of the client). */
START_TEST(test_fingerprint_mismatch)
{
	struct rtc_cert *other = rtc_cert_new();
	struct pair pr;
	int side = _i;

	ck_assert_ptr_nonnull(other);
	if (side == 0)
		pair_init(&pr, rtc_cert_fingerprint(other), NULL);
	else
		pair_init(&pr, NULL, rtc_cert_fingerprint(other));
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.client->connected + pr.server->connected, 0);
	if (side == 0) {
		ck_assert_int_eq(pr.client->failed, 1);
		ck_assert_ptr_nonnull(strstr(pr.client->why, "fingerprint"));
	} else {
		ck_assert_int_eq(pr.server->failed, 1);
		ck_assert_ptr_nonnull(strstr(pr.server->why, "fingerprint"));
		/* The server's alert ends the client too. */
		ck_assert_int_eq(pr.client->failed, 1);
	}
	/* A failed association takes no more input and runs no timer. */
	ck_assert_int_eq(rtc_dtls_feed(side == 0 ? pr.client->d : pr.server->d,
	                         (const uint8_t *)"\x16\xfe\xfd", 3),
	        LK_ECLOSED);
	ck_assert_int_eq(rtc_dtls_timeout_ms(side == 0 ? pr.client->d : pr.server->d), -1);
	pair_free(&pr);
	rtc_cert_free(other);
}
END_TEST

/* The failed callback may free the association (the free waits for the call to return). */
START_TEST(test_free_in_callback)
{
	struct rtc_cert *other = rtc_cert_new();
	struct pair pr;

	ck_assert_ptr_nonnull(other);
	pair_init(&pr, NULL, rtc_cert_fingerprint(other));
	pr.server->free_on_failed = 1;
	pr.client->free_on_failed = 1;
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.server->failed, 1);
	ck_assert_ptr_null(pr.server->d);
	ck_assert_int_eq(pr.client->failed, 1);
	ck_assert_ptr_null(pr.client->d);
	pair_free(&pr);
	rtc_cert_free(other);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct rtc_cert *c = rtc_cert_new();
	struct rtc_dtls *d;
	char fp[96];
	struct peer p;
	uint8_t big[70000];

	memset(&p, 0, sizeof(p));
	ck_assert_ptr_nonnull(c);
	lk_strlcpy(fp, rtc_cert_fingerprint(c), sizeof(fp));
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, NULL, &peer_cbs, &p));
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, "", &peer_cbs, &p));
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, "AB:CD", &peer_cbs, &p));
	ck_assert_ptr_null(rtc_dtls_new(NULL, RTC_DTLS_SERVER, fp, &peer_cbs, &p));
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, fp, NULL, &p));
	ck_assert_ptr_null(rtc_dtls_new(c, (enum rtc_dtls_role)7, fp, &peer_cbs, &p));
	fp[94] = 'G';
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, fp, &peer_cbs, &p));
	fp[94] = rtc_cert_fingerprint(c)[94];
	fp[2] = '-';
	ck_assert_ptr_null(rtc_dtls_new(c, RTC_DTLS_SERVER, fp, &peer_cbs, &p));
	fp[2] = ':';
	d = rtc_dtls_new(c, RTC_DTLS_SERVER, fp, &peer_cbs, &p);
	ck_assert_ptr_nonnull(d);
	p.d = d;
	/* RFC 7983: only 20..63 is DTLS; nothing else reaches OpenSSL. */
	ck_assert_int_eq(rtc_dtls_feed(d, (const uint8_t *)"", 0), LK_EINVAL);
	ck_assert_int_eq(rtc_dtls_feed(d, (const uint8_t *)"\x00\x01", 2), LK_EINVAL);
	ck_assert_int_eq(rtc_dtls_feed(d, (const uint8_t *)"\x80\x01", 2), LK_EINVAL);
	ck_assert_int_eq(rtc_dtls_feed(d, (const uint8_t *)"\x40\x01", 2), LK_EINVAL);
	memset(big, 22, sizeof(big));
	ck_assert_int_eq(rtc_dtls_feed(d, big, sizeof(big)), LK_ETOOBIG);
	ck_assert_int_eq(rtc_dtls_feed(d, big, 3000), 0);
	ck_assert_int_eq(p.failed + p.connected, 0);
	ck_assert_int_eq(rtc_dtls_is_connected(d), 0);
	rtc_dtls_free(d);
	rtc_dtls_free(NULL);
	rtc_cert_free(c);
}
END_TEST

/*
 * Garbage reaching either side mid-handshake: datagrams that do not parse
 * as DTLS records are dropped (RFC 6347 §4.1.2.7) and the handshake goes on.
 */
START_TEST(test_garbage_mid_handshake)
{
	static const uint8_t junk1[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 1};
	static const uint8_t junk2[] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 3, 0, 4, 1, 2, 3, 4};
	static const uint8_t junk3[] = {21, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40};
	static const uint8_t junk4[] = {20, 1};
	uint8_t rnd[600];
	struct pair pr;
	size_t i;

	lk_random(rnd, sizeof(rnd));
	rnd[0] = 22;
	pair_init(&pr, NULL, NULL);
	rtc_dtls_start(pr.client->d);
	/* The ClientHello is queued for the server; junk goes to both sides around it. */
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, junk1, sizeof(junk1)), 0);
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, junk2, sizeof(junk2)), 0);
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, junk3, sizeof(junk3)), 0);
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, rnd, sizeof(rnd)), 0);
	peer_deliver(pr.server);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rtc_dtls_feed(pr.client->d, junk1, sizeof(junk1)), 0);
		ck_assert_int_eq(rtc_dtls_feed(pr.client->d, junk2, sizeof(junk2)), 0);
		ck_assert_int_eq(rtc_dtls_feed(pr.client->d, junk4, sizeof(junk4)), 0);
		ck_assert_int_eq(rtc_dtls_feed(pr.client->d, rnd, sizeof(rnd)), 0);
	}
	peer_deliver(pr.client);
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, rnd, sizeof(rnd)), 0);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.client->failed + pr.server->failed, 0);
	ck_assert_int_eq(pr.client->connected, 1);
	ck_assert_int_eq(pr.server->connected, 1);
	assert_same_keys(pr.client, pr.server);
	/* And after it. */
	ck_assert_int_eq(rtc_dtls_feed(pr.server->d, rnd, sizeof(rnd)), 0);
	ck_assert_int_eq(rtc_dtls_feed(pr.client->d, junk2, sizeof(junk2)), 0);
	ck_assert(rtc_dtls_is_connected(pr.server->d));
	ck_assert(rtc_dtls_is_connected(pr.client->d));
	pair_free(&pr);
}
END_TEST

/*
 * Random-content datagrams with a plausible record header: the handshake
 * either still completes with equal keys or one side fails cleanly.
 */
START_TEST(test_random_records)
{
	uint8_t rnd[300];
	struct pair pr;
	int round;

	for (round = 0; round < 20; round++) {
		pair_init(&pr, NULL, NULL);
		rtc_dtls_start(pr.client->d);
		lk_random(rnd, sizeof(rnd));
		rnd[0] = (uint8_t)(20 + round % 4);
		rnd[1] = 0xfe;
		rnd[2] = 0xfd;
		rnd[11] = 0;
		rnd[12] = (uint8_t)(sizeof(rnd) - 13);
		rtc_dtls_feed(pr.server->d, rnd, sizeof(rnd));
		peer_deliver(pr.server);
		rtc_dtls_feed(pr.client->d, rnd, sizeof(rnd));
		pump(pr.client, pr.server);
		if (pr.client->failed + pr.server->failed == 0) {
			ck_assert_int_eq(pr.client->connected, 1);
			ck_assert_int_eq(pr.server->connected, 1);
			assert_same_keys(pr.client, pr.server);
		}
		pair_free(&pr);
	}
}
END_TEST

/* The ClientHello is lost: the client's timer resends it. */
START_TEST(test_retransmit_client_hello)
{
	struct pair pr;

	pair_init(&pr, NULL, NULL);
	pr.client->drop_first = 1;
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.server->sent, 0);
	/* Firing early does nothing: the timer has not expired. */
	if (rtc_dtls_timeout_ms(pr.client->d) > 20) {
		rtc_dtls_on_timeout(pr.client->d);
		ck_assert_int_eq(pr.client->sent, 1);
	}
	peer_fire_timer(pr.client);
	ck_assert_int_eq(pr.client->sent, 2);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.client->connected, 1);
	ck_assert_int_eq(pr.server->connected, 1);
	assert_same_keys(pr.client, pr.server);
	pair_free(&pr);
}
END_TEST

/* Wait for the earlier of both timers and fire both (each acts only when due). */
static void
pair_fire_timers(struct pair *pr)
{
	int64_t c = rtc_dtls_timeout_ms(pr->client->d), s = rtc_dtls_timeout_ms(pr->server->d);
	int64_t ms = c < 0 ? s : (s < 0 || c < s ? c : s);

	ck_assert_int_ge(ms, 0);
	if (ms > 0)
		usleep((useconds_t)ms * 1000 + 2000);
	rtc_dtls_on_timeout(pr->client->d);
	rtc_dtls_on_timeout(pr->server->d);
}

/* The server's first flight is lost twice: timers resend until it gets through. */
START_TEST(test_retransmit_server_flight)
{
	struct pair pr;
	int guard = 0, sent;

	pair_init(&pr, NULL, NULL);
	pr.server->drop_first = 1000;
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	sent = pr.server->sent;
	ck_assert_int_gt(sent, 0);
	while (pr.server->sent == sent) {
		ck_assert_int_lt(++guard, 6);
		pair_fire_timers(&pr);
		pump(pr.client, pr.server);
	}
	/* Lost twice; from now on datagrams get through. */
	pr.server->drop_first = pr.server->sent;
	guard = 0;
	while (!pr.client->connected) {
		ck_assert_int_lt(++guard, 6);
		pair_fire_timers(&pr);
		pump(pr.client, pr.server);
	}
	ck_assert_int_eq(pr.server->connected, 1);
	assert_same_keys(pr.client, pr.server);
	pair_free(&pr);
}
END_TEST

/*
 * The server's final flight (ChangeCipherSpec, Finished) is lost: the
 * server is done, the client is not; the client's retransmitted Finished
 * reaches the connected server, which answers with its last flight again.
 */
START_TEST(test_retransmit_final_flight)
{
	struct pair pr;
	int guard = 0;

	pair_init(&pr, NULL, NULL);
	rtc_dtls_start(pr.client->d);
	peer_deliver(pr.server); /* ClientHello -> server flight 1 */
	peer_deliver(pr.client); /* -> client's Certificate ... Finished */
	pr.server->drop_from = pr.server->sent;
	pr.server->drop_first = 1000;
	peer_deliver(pr.server); /* server connects; its final flight is lost */
	ck_assert_int_eq(pr.server->connected, 1);
	ck_assert_int_eq(pr.client->connected, 0);
	pr.server->drop_first = 0;
	while (!pr.client->connected) {
		ck_assert_int_lt(++guard, 6);
		peer_fire_timer(pr.client);
		pump(pr.client, pr.server);
	}
	ck_assert_int_eq(pr.server->connected, 1);
	ck_assert_int_eq(pr.client->failed + pr.server->failed, 0);
	assert_same_keys(pr.client, pr.server);
	pair_free(&pr);
}
END_TEST

START_TEST(test_close_notify)
{
	struct pair pr;

	pair_init(&pr, NULL, NULL);
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.server->connected, 1);
	rtc_dtls_close(pr.client->d);
	ck_assert(!rtc_dtls_is_connected(pr.client->d));
	ck_assert_int_eq(rtc_dtls_timeout_ms(pr.client->d), -1);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.server->closed, 1);
	ck_assert_int_eq(pr.server->failed, 0);
	ck_assert(!rtc_dtls_is_connected(pr.server->d));
	ck_assert_int_eq(
	        rtc_dtls_feed(pr.server->d, (const uint8_t *)"\x17\xfe\xfd", 3), LK_ECLOSED);
	rtc_dtls_close(pr.client->d); /* twice is harmless */
	pair_free(&pr);
}
END_TEST

/* Closing before the handshake is done sends nothing and stops the timer. */
START_TEST(test_close_during_handshake)
{
	struct pair pr;
	int sent;

	pair_init(&pr, NULL, NULL);
	rtc_dtls_start(pr.client->d);
	sent = pr.client->sent;
	rtc_dtls_close(pr.client->d);
	ck_assert_int_eq(pr.client->sent, sent);
	ck_assert_int_eq(rtc_dtls_timeout_ms(pr.client->d), -1);
	ck_assert_int_eq(rtc_dtls_start(pr.client->d), LK_ECLOSED);
	pair_free(&pr);
}
END_TEST

/* The exported keys drive SRTP both ways: the client's packets open at the server and back. */
START_TEST(test_keys_drive_srtp)
{
	uint8_t pkt[256], orig[200];
	struct rtc_srtp *cs, *ss;
	struct pair pr;
	size_t len;

	pair_init(&pr, NULL, NULL);
	rtc_dtls_start(pr.client->d);
	pump(pr.client, pr.server);
	ck_assert_int_eq(pr.client->connected, 1);
	cs = rtc_srtp_new(&pr.client->keys, 1);
	ss = rtc_srtp_new(&pr.server->keys, 0);
	ck_assert_ptr_nonnull(cs);
	ck_assert_ptr_nonnull(ss);

	memset(orig, 0xab, sizeof(orig));
	orig[0] = 0x80;
	orig[1] = 111;
	memcpy(pkt, orig, sizeof(orig));
	len = sizeof(orig);
	ck_assert_int_eq(rtc_srtp_protect_rtp(cs, pkt, &len, sizeof(pkt)), 0);
	ck_assert_uint_eq(len, sizeof(orig) + 10);
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(ss, pkt, &len), 0);
	ck_assert_uint_eq(len, sizeof(orig));
	ck_assert(memcmp(pkt, orig, len) == 0);

	orig[11] = 0x77; /* another SSRC, the other way */
	memcpy(pkt, orig, sizeof(orig));
	len = sizeof(orig);
	ck_assert_int_eq(rtc_srtp_protect_rtp(ss, pkt, &len, sizeof(pkt)), 0);
	ck_assert_int_eq(rtc_srtp_unprotect_rtp(cs, pkt, &len), 0);
	ck_assert(memcmp(pkt, orig, len) == 0);
	rtc_srtp_free(cs);
	rtc_srtp_free(ss);
	pair_free(&pr);
}
END_TEST

/* ---- interop with the openssl command-line tool over UDP loopback ---- */

static const char *
openssl_bin(void)
{
	static const char *const cands[] = {
	        "/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"};
	size_t i;

	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

struct udp_peer {
	int fd;
	struct sockaddr_in to;
	int have_to;
	int connected, failed, closed;
	struct rtc_srtp_keys keys;
	char why[256];
};

static void
udp_send(const uint8_t *data, size_t len, void *arg)
{
	struct udp_peer *u = arg;

	if (u->have_to)
		sendto(u->fd, data, len, 0, (struct sockaddr *)&u->to, sizeof(u->to));
}

static void
udp_connected(const struct rtc_srtp_keys *keys, void *arg)
{
	struct udp_peer *u = arg;

	u->connected++;
	u->keys = *keys;
}

static void
udp_failed(const char *why, void *arg)
{
	struct udp_peer *u = arg;

	u->failed++;
	lk_strlcpy(u->why, why, sizeof(u->why));
}

static void
udp_closed(void *arg)
{
	struct udp_peer *u = arg;

	u->closed++;
}

static const struct rtc_dtls_cbs udp_cbs = {
        .send = udp_send,
        .connected = udp_connected,
        .failed = udp_failed,
        .closed = udp_closed,
};

static int
udp_bind_loopback(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
write_pem(const struct rtc_cert *c, const char *dir, char *cert_path, char *key_path)
{
	FILE *f;

	snprintf(cert_path, 512, "%s/cert.pem", dir);
	snprintf(key_path, 512, "%s/key.pem", dir);
	f = fopen(cert_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, rtc_cert_x509(c)), 1);
	fclose(f);
	f = fopen(key_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, rtc_cert_pkey(c), NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static pid_t
spawn(const char *const argv[], int in_fd, const char *out_path)
{
	pid_t pid = fork();
	int out;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || dup2(in_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/*
 * Runs the association over the socket until done() says so, the child
 * exits, or a generous hang guard passes (a failure, not a timing check).
 */
static void
udp_run(struct rtc_dtls *d, struct udp_peer *u, pid_t child, int *child_status,
        int (*done)(const struct udp_peer *))
{
	int64_t deadline = lk_mono_ms() + 30000;
	uint8_t buf[4096];
	struct sockaddr_in from;
	socklen_t fl;
	struct pollfd pfd;
	int64_t t;
	ssize_t n;
	pid_t w;

	*child_status = -1;
	while (!done(u)) {
		ck_assert_msg(lk_mono_ms() < deadline, "openssl interop hung");
		w = waitpid(child, child_status, WNOHANG);
		if (w == child)
			break;
		t = rtc_dtls_timeout_ms(d);
		pfd.fd = u->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, t < 0 || t > 50 ? 50 : (int)t) > 0) {
			fl = sizeof(from);
			n = recvfrom(u->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n <= 0)
				continue;
			if (!u->have_to) {
				u->to = from;
				u->have_to = 1;
			}
			rtc_dtls_feed(d, buf, (size_t)n);
		} else if (rtc_dtls_timeout_ms(d) == 0) {
			rtc_dtls_on_timeout(d);
		}
	}
}

static int
udp_done_closed(const struct udp_peer *u)
{
	return u->closed || u->failed;
}

static int
udp_done_connected(const struct udp_peer *u)
{
	return u->connected || u->failed;
}

static void
read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* "Keying material: <HEX>" from s_client/s_server against our export. */
static void
assert_keymat(const char *out, const struct rtc_srtp_keys *k)
{
	const char *p = strstr(out, "Keying material: ");
	uint8_t exp[2 * (32 + 14)], *q = exp;
	size_t i, n = 2 * (k->key_len + k->salt_len);
	unsigned int b;

	ck_assert_msg(p != NULL, "no keying material in openssl output:\n%s", out);
	p += strlen("Keying material: ");
	memcpy(q, k->client_key, k->key_len);
	q += k->key_len;
	memcpy(q, k->server_key, k->key_len);
	q += k->key_len;
	memcpy(q, k->client_salt, k->salt_len);
	q += k->salt_len;
	memcpy(q, k->server_salt, k->salt_len);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(p + 2 * i, "%2X", &b), 1);
		ck_assert_uint_eq(b, exp[i]);
	}
	ck_assert(p[2 * n] == '\n' || p[2 * n] == '\r');
}

struct interop_case {
	const char *profile;
	enum rtc_srtp_profile id;
	int keylen; /* exporter length */
};

static const struct interop_case interop_cases[] = {
        {"SRTP_AES128_CM_SHA1_80", RTC_SRTP_AES128_CM_SHA1_80, 60},
        {"SRTP_AEAD_AES_128_GCM", RTC_SRTP_AEAD_AES_128_GCM, 56},
        {"SRTP_AEAD_AES_256_GCM", RTC_SRTP_AEAD_AES_256_GCM, 88},
};

/* Our server role against `openssl s_client -dtls1_2 -use_srtp <profile>`. */
START_TEST(test_interop_s_client)
{
	const struct interop_case *ic = &interop_cases[_i];
	char dir[] = "/tmp/check_dtls.XXXXXX", certp[512], keyp[512], outp[512], target[64];
	char lenstr[16], out[16384];
	struct rtc_cert *ours = rtc_cert_new(), *theirs = rtc_cert_new();
	struct udp_peer u;
	struct rtc_dtls *d;
	uint16_t port;
	pid_t pid;
	int st, devnull;

	ck_assert_ptr_nonnull(ours);
	ck_assert_ptr_nonnull(theirs);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_pem(theirs, dir, certp, keyp);
	snprintf(outp, sizeof(outp), "%s/out.txt", dir);
	memset(&u, 0, sizeof(u));
	u.fd = udp_bind_loopback(&port);
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(lenstr, sizeof(lenstr), "%d", ic->keylen);
	d = rtc_dtls_new(ours, RTC_DTLS_SERVER, rtc_cert_fingerprint(theirs), &udp_cbs, &u);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(rtc_dtls_start(d), 0);
	{
		const char *const argv[] = {openssl_bin(), "s_client", "-dtls1_2", "-connect",
		        target, "-use_srtp", ic->profile, "-cert", certp, "-key", keyp,
		        "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", lenstr, NULL};

		/* stdin at EOF: s_client sends close_notify once the handshake is done. */
		devnull = open("/dev/null", O_RDONLY);
		ck_assert_int_ge(devnull, 0);
		pid = spawn(argv, devnull, outp);
		close(devnull);
	}
	udp_run(d, &u, pid, &st, udp_done_closed);
	if (st == -1)
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	read_file(outp, out, sizeof(out));
	ck_assert_msg(u.connected == 1 && u.failed == 0, "why=%s\nopenssl:\n%s", u.why, out);
	ck_assert_int_eq(u.keys.profile, ic->id);
	ck_assert_ptr_nonnull(strstr(out, "SRTP Extension negotiated, profile="));
	ck_assert_ptr_nonnull(strstr(out, ic->profile));
	assert_keymat(out, &u.keys);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "s_client status %d:\n%s", st, out);
	rtc_dtls_free(d);
	close(u.fd);
	unlink(certp);
	unlink(keyp);
	unlink(outp);
	rmdir(dir);
	rtc_cert_free(ours);
	rtc_cert_free(theirs);
}
END_TEST

/* Our client role against `openssl s_server -dtls1_2 -use_srtp ... -verify 1`. */
START_TEST(test_interop_s_server)
{
	char dir[] = "/tmp/check_dtls.XXXXXX", certp[512], keyp[512], outp[512], portstr[16];
	char out[16384];
	struct rtc_cert *ours = rtc_cert_new(), *theirs = rtc_cert_new();
	struct udp_peer u;
	struct rtc_dtls *d;
	uint16_t port;
	pid_t pid, w;
	int st, pfd[2], probe;
	int64_t deadline;

	ck_assert_ptr_nonnull(ours);
	ck_assert_ptr_nonnull(theirs);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_pem(theirs, dir, certp, keyp);
	snprintf(outp, sizeof(outp), "%s/out.txt", dir);
	/* A free port for s_server (a race with other programs is possible but harmless here). */
	probe = udp_bind_loopback(&port);
	close(probe);
	snprintf(portstr, sizeof(portstr), "127.0.0.1:%u", port);
	memset(&u, 0, sizeof(u));
	u.fd = udp_bind_loopback(&(uint16_t){0});
	u.to.sin_family = AF_INET;
	u.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u.to.sin_port = htons(port);
	u.have_to = 1;
	ck_assert_int_eq(pipe(pfd), 0);
	{
		const char *const argv[] = {openssl_bin(), "s_server", "-dtls1_2", "-accept",
		        portstr, "-use_srtp", "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM",
		        "-cert", certp, "-key", keyp, "-verify", "1", "-keymatexport",
		        "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60", "-naccept", "1", NULL};

		/* s_server stops at EOF on stdin, so it gets a pipe we close at the end. */
		pid = spawn(argv, pfd[0], outp);
		close(pfd[0]);
	}
	d = rtc_dtls_new(ours, RTC_DTLS_CLIENT, rtc_cert_fingerprint(theirs), &udp_cbs, &u);
	ck_assert_ptr_nonnull(d);
	/* Until s_server listens, the ClientHello is lost and our timer resends it. */
	ck_assert_int_eq(rtc_dtls_start(d), 0);
	udp_run(d, &u, pid, &st, udp_done_connected);
	rtc_dtls_close(d);
	close(pfd[1]);
	deadline = lk_mono_ms() + 20000;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0) {
		ck_assert_msg(lk_mono_ms() < deadline, "s_server did not exit");
		usleep(10000);
	}
	read_file(outp, out, sizeof(out));
	ck_assert_msg(u.connected == 1 && u.failed == 0, "why=%s\nopenssl:\n%s", u.why, out);
	/* s_server prefers its first profile. */
	ck_assert_int_eq(u.keys.profile, RTC_SRTP_AES128_CM_SHA1_80);
	ck_assert_ptr_nonnull(
	        strstr(out, "SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80"));
	/* s_server saw our certificate (it asked for one with -verify). */
	ck_assert_ptr_nonnull(strstr(out, "CN = lkworker"));
	assert_keymat(out, &u.keys);
	rtc_dtls_free(d);
	close(u.fd);
	unlink(certp);
	unlink(keyp);
	unlink(outp);
	rmdir(dir);
	rtc_cert_free(ours);
	rtc_cert_free(theirs);
}
END_TEST

static Suite *
dtls_suite(void)
{
	Suite *s = suite_create("dtls");
	TCase *tc = tcase_create("core");
	TCase *io;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cert);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_fingerprint_lowercase);
	tcase_add_loop_test(tc, test_fingerprint_mismatch, 0, 2);
	tcase_add_test(tc, test_free_in_callback);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_garbage_mid_handshake);
	tcase_add_test(tc, test_random_records);
	tcase_add_test(tc, test_retransmit_client_hello);
	tcase_add_test(tc, test_retransmit_server_flight);
	tcase_add_test(tc, test_retransmit_final_flight);
	tcase_add_test(tc, test_close_notify);
	tcase_add_test(tc, test_close_during_handshake);
	tcase_add_test(tc, test_keys_drive_srtp);
	suite_add_tcase(s, tc);

	/* Needs the openssl binary; left out (and said so) when it is missing. */
	if (openssl_bin() != NULL) {
		io = tcase_create("openssl");
		tcase_set_timeout(io, 60);
		tcase_add_loop_test(io, test_interop_s_client, 0,
		        (int)(sizeof(interop_cases) / sizeof(interop_cases[0])));
		tcase_add_test(io, test_interop_s_server);
		suite_add_tcase(s, io);
	} else {
		fprintf(stderr, "check_dtls: no openssl binary, interop tests skipped\n");
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dtls_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
