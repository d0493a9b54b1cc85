/*
 * check_demux: unit tests for src/rtc/demux.c, the RFC 7983 first-byte
 * classification of datagrams on a WebRTC 5-tuple.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/demux.h"

/* The RFC 7983 §7 table, written out independently of the code. */
static enum rtc_pkt_kind
expected(uint8_t b0, uint8_t b1)
{
	if (b0 <= 3)
		return RTC_PKT_STUN;
	if (b0 >= 20 && b0 <= 63)
		return RTC_PKT_DTLS;
	if (b0 >= 128 && b0 <= 191)
		return (b1 >= 192 && b1 <= 223) ? RTC_PKT_RTCP : RTC_PKT_RTP;
	return RTC_PKT_UNKNOWN;
}

START_TEST(test_every_first_two_bytes)
{
	uint8_t d[2];
	unsigned b0, b1;

	for (b0 = 0; b0 < 256; b0++) {
		for (b1 = 0; b1 < 256; b1++) {
			d[0] = (uint8_t)b0;
			d[1] = (uint8_t)b1;
			ck_assert_int_eq(rtc_demux_classify(d, 2), expected(d[0], d[1]));
		}
	}
}
END_TEST

START_TEST(test_edges)
{
	static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	static const uint8_t hello[] = {22, 0xfe, 0xfd, 0, 0}; /* DTLS handshake */
	static const uint8_t rtp[] = {0x90, 0xef, 0x12, 0x34}; /* Opus, marker */
	static const uint8_t sr[] = {0x80, 0xc8, 0x00, 0x06}; /* RTCP SR */
	static const uint8_t fb[] = {0x8f, 0xcd, 0x00, 0x04}; /* transport-cc */
	static const uint8_t turn[] = {0x40, 0x00, 0x00, 0x04}; /* TURN channel */
	uint8_t one = 0x80;

	ck_assert_int_eq(rtc_demux_classify(NULL, 0), RTC_PKT_UNKNOWN);
	ck_assert_int_eq(rtc_demux_classify(stun, 0), RTC_PKT_UNKNOWN);
	/* An RTP-range byte alone cannot be told apart from RTCP. */
	ck_assert_int_eq(rtc_demux_classify(&one, 1), RTC_PKT_UNKNOWN);
	ck_assert_int_eq(rtc_demux_classify(stun, 1), RTC_PKT_STUN);
	ck_assert_int_eq(rtc_demux_classify(stun, sizeof(stun)), RTC_PKT_STUN);
	ck_assert_int_eq(rtc_demux_classify(hello, sizeof(hello)), RTC_PKT_DTLS);
	ck_assert_int_eq(rtc_demux_classify(rtp, sizeof(rtp)), RTC_PKT_RTP);
	ck_assert_int_eq(rtc_demux_classify(sr, sizeof(sr)), RTC_PKT_RTCP);
	ck_assert_int_eq(rtc_demux_classify(fb, sizeof(fb)), RTC_PKT_RTCP);
	ck_assert_int_eq(rtc_demux_classify(turn, sizeof(turn)), RTC_PKT_UNKNOWN);
}
END_TEST

START_TEST(test_count_and_names)
{
	struct rtc_demux_stats st;
	static const uint8_t rtp[] = {0x80, 0x6f};
	static const uint8_t junk[] = {0xff, 0xff};

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(rtc_demux_count(&st, rtp, 2), RTC_PKT_RTP);
	ck_assert_int_eq(rtc_demux_count(&st, rtp, 2), RTC_PKT_RTP);
	ck_assert_int_eq(rtc_demux_count(&st, junk, 2), RTC_PKT_UNKNOWN);
	ck_assert_int_eq(rtc_demux_count(NULL, junk, 2), RTC_PKT_UNKNOWN);
	ck_assert_uint_eq(st.n[RTC_PKT_RTP], 2);
	ck_assert_uint_eq(st.n[RTC_PKT_UNKNOWN], 1);
	ck_assert_uint_eq(st.n[RTC_PKT_STUN], 0);
	ck_assert_str_eq(rtc_demux_kind_name(RTC_PKT_STUN), "stun");
	ck_assert_str_eq(rtc_demux_kind_name(RTC_PKT_DTLS), "dtls");
	ck_assert_str_eq(rtc_demux_kind_name(RTC_PKT_RTP), "rtp");
	ck_assert_str_eq(rtc_demux_kind_name(RTC_PKT_RTCP), "rtcp");
	ck_assert_str_eq(rtc_demux_kind_name(RTC_PKT_UNKNOWN), "unknown");
	ck_assert_str_eq(rtc_demux_kind_name((enum rtc_pkt_kind)99), "unknown");
}
END_TEST

static Suite *
demux_suite(void)
{
	Suite *s = suite_create("demux");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_first_two_bytes);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_count_and_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(demux_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
