/*
 * demux: classifies a datagram that arrived on a WebRTC 5-tuple as STUN,
 * DTLS, RTP or RTCP by its first bytes (RFC 7983). Pure; used by the media
 * loop of lk-jobproc and lk-devserver before any parser runs.
 */
#ifndef LK_RTC_DEMUX_H
#define LK_RTC_DEMUX_H

#include <stddef.h>
#include <stdint.h>

enum rtc_pkt_kind {
	RTC_PKT_UNKNOWN = 0, /* callers count and drop these */
	RTC_PKT_STUN,
	RTC_PKT_DTLS,
	RTC_PKT_RTP,
	RTC_PKT_RTCP,
	RTC_PKT_KIND_COUNT
};

/* Per-kind datagram counters a caller keeps per transport. */
struct rtc_demux_stats {
	uint64_t n[RTC_PKT_KIND_COUNT];
};

/*
 * Kind of a datagram. Only the first two bytes are looked at; the parser
 * of that kind still validates the whole datagram. An empty datagram and an
 * RTP-range datagram shorter than two bytes are RTC_PKT_UNKNOWN.
 */
enum rtc_pkt_kind rtc_demux_classify(const uint8_t *p, size_t len);

/* Classify and count in one step (stats may be NULL). */
enum rtc_pkt_kind rtc_demux_count(struct rtc_demux_stats *stats, const uint8_t *p, size_t len);

/* "stun", "dtls", "rtp", "rtcp" or "unknown". */
const char *rtc_demux_kind_name(enum rtc_pkt_kind kind);

#endif
