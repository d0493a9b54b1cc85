/*
 * rtcp: RTCP compound packets (RFC 3550 §6): framing, SR/RR decode, SR/RR
 * writers. Pure, no allocation; used by the media paths of lk-jobproc and
 * lk-devserver.
 */
#ifndef LK_RTC_RTCP_H
#define LK_RTC_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum rtcp_type {
	RTCP_SR = 200,
	RTCP_RR = 201,
	RTCP_SDES = 202,
	RTCP_BYE = 203,
	RTCP_APP = 204,
	RTCP_RTPFB = 205,
	RTCP_PSFB = 206,
	RTCP_XR = 207,
};

#define RTCP_HEADER_LEN 4
#define RTCP_MAX_RB 31

/* RFC 3550 §6.4.1 report block. */
struct rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cum_lost; /* 24-bit signed */
	uint32_t ext_high_seq;
	uint32_t jitter;
	uint32_t lsr;
	uint32_t dlsr;
};

/* One packet of a compound: SR and RR are decoded, others only framed. */
struct rtcp_pkt {
	uint8_t type;
	uint8_t count; /* RC / FMT / SC field */
	uint8_t padding;
	const uint8_t *raw; /* whole packet, header included */
	size_t len;
	uint32_t ssrc; /* sender SSRC (SR, RR, RTPFB, PSFB, APP, XR) or 0 */
	/* SR sender info (RFC 3550 §6.4.1) */
	uint64_t ntp;
	uint32_t rtp_ts;
	uint32_t packet_count;
	uint32_t octet_count;
	int n_rb;
	struct rtcp_rb rb[RTCP_MAX_RB];
};

/*
 * Iterate a compound packet: *off starts at 0. Returns 1 with a packet,
 * 0 at the end, LK_EINVAL when the compound is malformed (version, length
 * fields not summing to the datagram, a report count beyond the packet,
 * padding on other than the last packet).
 */
int rtcp_next(const uint8_t *p, size_t len, size_t *off, struct rtcp_pkt *pkt);
/* Validate a whole compound; returns the packet count or LK_EINVAL. */
int rtcp_validate(const uint8_t *p, size_t len);

/* SR / RR writers; return the bytes written or a negative error. */
struct rtcp_sr_out {
	uint32_t ssrc;
	uint64_t ntp;
	uint32_t rtp_ts;
	uint32_t packet_count;
	uint32_t octet_count;
	int n_rb;
	const struct rtcp_rb *rb;
};
int rtcp_write_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_out *sr);
int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, int n_rb);

#endif
