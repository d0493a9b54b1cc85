/*
 * demux: RFC 7983 first-byte classification of datagrams on a WebRTC
 * 5-tuple (STUN / DTLS / RTP / RTCP). Pure; runs in the media loop of
 * lk-jobproc and lk-devserver.
 */
#include "rtc/demux.h"

enum rtc_pkt_kind
rtc_demux_classify(const uint8_t *p, size_t len)
{
	uint8_t b0, pt;

	if (p == NULL || len == 0)
		return RTC_PKT_UNKNOWN;
	b0 = p[0];
	/* RFC 7983 §7: [0..3] STUN. */
	if (b0 <= 3)
		return RTC_PKT_STUN;
	/* RFC 7983 §7: [20..63] DTLS. */
	if (b0 >= 20 && b0 <= 63)
		return RTC_PKT_DTLS;
	/* RFC 7983 §7: [128..191] RTP/RTCP; [16..19] ZRTP and [64..79] TURN
	 * channels are not used on these transports and fall to unknown. */
	if (b0 >= 128 && b0 <= 191) {
		if (len < 2)
			return RTC_PKT_UNKNOWN;
		/* RFC 5761 §4: with rtcp-mux, RTCP packet types 192..223 share
		 * the second byte with RTP's M bit + PT; RTP PTs 64..95 are
		 * never used for exactly this reason. */
		pt = p[1];
		if (pt >= 192 && pt <= 223)
			return RTC_PKT_RTCP;
		return RTC_PKT_RTP;
	}
	return RTC_PKT_UNKNOWN;
}

enum rtc_pkt_kind
rtc_demux_count(struct rtc_demux_stats *stats, const uint8_t *p, size_t len)
{
	enum rtc_pkt_kind k = rtc_demux_classify(p, len);

	if (stats != NULL)
		stats->n[k]++;
	return k;
}

const char *
rtc_demux_kind_name(enum rtc_pkt_kind kind)
{
	switch (kind) {
	case RTC_PKT_STUN:
		return "stun";
	case RTC_PKT_DTLS:
		return "dtls";
	case RTC_PKT_RTP:
		return "rtp";
	case RTC_PKT_RTCP:
		return "rtcp";
	default:
		return "unknown";
	}
}
