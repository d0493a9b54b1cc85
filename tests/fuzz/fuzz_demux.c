/*
 * fuzz_demux: classifies arbitrary datagrams as the media loop does
 * (RFC 7983) and checks the class against an independent table and
 * against what the STUN, RTP and RTCP parsers accept.
 */
#include <stdint.h>
#include <stdlib.h>

#include "rtc/demux.h"
#include "rtc/rtcp.h"
#include "rtc/rtp.h"
#include "rtc/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtc_demux_stats st = {{0}};
	enum rtc_pkt_kind k = rtc_demux_count(&st, data, size), want;
	struct stun_msg sm;
	struct rtp_hdr h;

	if (size == 0)
		want = RTC_PKT_UNKNOWN;
	else if (data[0] <= 3)
		want = RTC_PKT_STUN;
	else if (data[0] >= 20 && data[0] <= 63)
		want = RTC_PKT_DTLS;
	else if (data[0] >= 128 && data[0] <= 191 && size >= 2)
		want = (data[1] >= 192 && data[1] <= 223) ? RTC_PKT_RTCP : RTC_PKT_RTP;
	else
		want = RTC_PKT_UNKNOWN;
	if (k != want || st.n[k] != 1 || rtc_demux_classify(data, size) != k)
		abort();
	/* A valid STUN message has its top two bits clear. */
	if (stun_parse(data, size, &sm) == 0 && data[0] > 0x3F)
		abort();
	/* Valid RTP is in the RTP/RTCP range; a valid RTCP compound is RTCP. */
	if (rtp_parse(data, size, &h) == 0 && k != RTC_PKT_RTP && k != RTC_PKT_RTCP)
		abort();
	if (rtcp_validate(data, size) > 0 && k != RTC_PKT_RTCP)
		abort();
	return 0;
}
