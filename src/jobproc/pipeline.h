/*
 * pipeline: the per-track audio paths of lk-jobproc, without sockets. In:
 * RTP -> reorder -> Opus decode (PLC, FEC) -> 48 kHz 20 ms frames ->
 * resample to the script rate. Out: script frames -> 48 kHz -> Opus -> RTP.
 * Plus the 20 ms pacer that drives the out path, and the RTCP bookkeeping
 * of both (reception statistics, sender info, report writing). All memory
 * is allocated by _new or embedded by the caller; a frame or a report
 * allocates nothing.
 */
#ifndef LK_PIPELINE_H
#define LK_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "rtc/rtcp.h"

/* One media frame: 20 ms (RFC 7587 §4.2: Opus over RTP is usually 20 ms). */
#define PIPELINE_FRAME_MS 20
/* RTP payload type LiveKit registers for Opus (rtc-protocol.md §3.1). */
#define PIPELINE_OPUS_PT 111
/* Reorder window and how many packets may queue behind a hole before it
 * counts as lost: 3 x 20 ms of extra delay at most. */
#define PIPELINE_REORDER_SLOTS 32
#define PIPELINE_REORDER_HOLD 3
/* Largest RTP packet the paths handle (one Ethernet MTU of UDP payload). */
#define PIPELINE_MAX_RTP 1500

/* Samples in one 20 ms frame at rate (rate / 50). */
#define PIPELINE_FRAME_SAMPLES(rate) ((size_t)(rate) / (1000 / PIPELINE_FRAME_MS))

/* A script rate pipelines accept: whole 20 ms frames, 8..48 kHz. */
int pipeline_rate_ok(int rate);

/* ---- in: one remote track ---- */

struct pipeline_in;

/* One 20 ms frame at the output rate; pcm is valid only during the call. */
typedef void (*pipeline_frame_fn)(const int16_t *pcm, size_t n, void *arg);

struct pipeline_in_opts {
	uint8_t pt; /* Opus payload type negotiated for the track */
	int out_rate; /* script rate */
};

struct pipeline_in_stats {
	uint64_t packets; /* RTP packets accepted */
	uint64_t malformed; /* not RTP, or an empty payload */
	uint64_t wrong_pt; /* another payload type (RED, CN, ...) */
	uint64_t late, duplicate, reset; /* reorder buffer */
	uint64_t concealed; /* lost packets filled by PLC */
	uint64_t recovered; /* lost packets rebuilt from the next one's FEC */
	uint64_t corrupt; /* packets libopus refused (concealed) */
	uint64_t frames; /* frames delivered */
};

/* NULL on failure with *err (may be NULL) set to a negative lk_err. */
struct pipeline_in *pipeline_in_new(
        const struct pipeline_in_opts *o, pipeline_frame_fn fn, void *arg, int *err);
void pipeline_in_free(struct pipeline_in *in);
/*
 * One plaintext RTP packet of the track. Frames that became ready are
 * delivered before this returns. 0, or LK_EINVAL for a packet that is not
 * Opus RTP of this track (counted, dropped).
 */
int pipeline_in_rtp(struct pipeline_in *in, const uint8_t *pkt, size_t len);
/* Deliver what the reorder buffer still holds, concealing holes (track end). */
void pipeline_in_flush(struct pipeline_in *in);
void pipeline_in_get_stats(const struct pipeline_in *in, struct pipeline_in_stats *st);

/* ---- out: our published track ---- */

struct pipeline_out;

struct pipeline_out_opts {
	int in_rate; /* script rate */
	uint8_t pt;
	uint32_t ssrc;
	uint16_t seq; /* first sequence number */
	uint32_t ts; /* first RTP timestamp */
	int complexity; /* Opus complexity 1..10; 0 = AUD_OPUS_COMPLEXITY */
	int bitrate; /* 0 = 32 kb/s */
};

struct pipeline_out_stats {
	uint64_t frames;
	uint64_t bytes; /* Opus payload bytes */
	uint16_t next_seq;
	uint32_t next_ts;
};

struct pipeline_out *pipeline_out_new(const struct pipeline_out_opts *o, int *err);
void pipeline_out_free(struct pipeline_out *out);
/* Samples of one input frame (in_rate / 50). */
size_t pipeline_out_frame_samples(const struct pipeline_out *out);
/*
 * Encode one 20 ms frame at the script rate into one RTP packet in pkt:
 * PT, SSRC, sequence +1 and timestamp +960 per frame (RFC 7587 §4.1: the
 * RTP clock is 48 kHz whatever the audio), marker on the first packet.
 * Returns the packet length or a negative lk_err.
 */
int pipeline_out_packet(struct pipeline_out *out, const int16_t *pcm, uint8_t *pkt, size_t cap);
/* The next packet gets the marker bit (talkspurt start, RFC 3551 §4.1). */
void pipeline_out_mark(struct pipeline_out *out);
void pipeline_out_get_stats(const struct pipeline_out *out, struct pipeline_out_stats *st);

/* ---- pacer: a 20 ms clock on the job's loop ---- */

/*
 * Calls tick once per 20 ms frame, on deadlines counted from the start on
 * the monotonic clock, so timer latency does not accumulate into drift. A
 * late loop gets the missed ticks at once, up to PIPELINE_PACER_CATCHUP;
 * beyond that the clock restarts from now (a stall is not replayed).
 */
#define PIPELINE_PACER_CATCHUP 5

struct pipeline_pacer {
	struct ev_loop *loop;
	ev_timer timer;
	int64_t start_us;
	uint64_t ticks; /* ticks since start */
	uint64_t restarts; /* stalls longer than the catch-up */
	int running;
	void (*tick)(struct pipeline_pacer *p, void *arg);
	void *arg;
};

void pipeline_pacer_init(struct pipeline_pacer *p, struct ev_loop *loop,
        void (*tick)(struct pipeline_pacer *p, void *arg), void *arg);
void pipeline_pacer_start(struct pipeline_pacer *p);
void pipeline_pacer_stop(struct pipeline_pacer *p);
int pipeline_pacer_active(const struct pipeline_pacer *p);
/* CLOCK_MONOTONIC in microseconds: the clock of the pacer and of RTCP. */
int64_t pipeline_mono_us(void);

/* ---- RTCP (RFC 3550 §6): statistics and reports, no sockets ---- */

/* RFC 3550 §6.2: the minimum report interval (Tmin), used as the interval. */
#define PIPELINE_RTCP_INTERVAL_MS 5000
/* RFC 7587 §4.1: the RTP clock of Opus, whatever the audio rate. */
#define PIPELINE_RTP_RATE 48000
/* Room for one compound report: 31 report blocks plus SDES fit one MTU. */
#define PIPELINE_RTCP_MAX 1200
/* RFC 3550 §6.5.1: CNAME text is at most 255 octets. */
#define PIPELINE_CNAME_MAX 255

/*
 * What we know of one remote sender (RFC 3550 A.1, A.3, A.8), embedded
 * per track and SSRC by the caller. Fields are pipeline.c's; read them
 * through pipeline_rx_report.
 */
struct pipeline_rx_stat {
	uint32_t ssrc;
	int started; /* a packet was counted: the sequence state is valid */
	uint16_t max_seq; /* highest sequence number seen */
	uint32_t cycles; /* sequence wraps, shifted left 16 */
	uint32_t base_seq;
	uint32_t bad_seq; /* RFC 3550 A.1: the next of a large jump, or > 0xFFFF */
	uint32_t received;
	uint32_t expected_prior, received_prior; /* at the last report */
	int have_transit;
	uint32_t transit; /* arrival - RTP timestamp, 48 kHz units */
	uint64_t jitter16; /* interarrival jitter x 16 (A.8's integer form) */
	int have_sr;
	uint32_t lsr; /* middle 32 bits of the last SR's NTP timestamp */
	int64_t lsr_at_us; /* when that SR arrived (pipeline_mono_us) */
};

/* A fresh state for ssrc: nothing received, no SR. */
void pipeline_rx_init(struct pipeline_rx_stat *rx, uint32_t ssrc);
/* One RTP packet of rx->ssrc (any payload type) arrived at arrival_us. */
void pipeline_rx_rtp(struct pipeline_rx_stat *rx, uint16_t seq, uint32_t ts, int64_t arrival_us);
/* An SR from rx->ssrc (its NTP timestamp) arrived at arrival_us. */
void pipeline_rx_sr(struct pipeline_rx_stat *rx, uint64_t ntp, int64_t arrival_us);
/*
 * The report block for rx at now_us (RFC 3550 §6.4.1): loss since the
 * last report and in all, extended highest sequence number, jitter,
 * LSR/DLSR. Starts the next reporting interval. Returns 1 with rb filled,
 * 0 when nothing arrived since the last report (§6.4: no block then).
 */
int pipeline_rx_report(struct pipeline_rx_stat *rx, int64_t now_us, struct rtcp_rb *rb);

/* Our sender's counters (RFC 3550 §6.4.1 sender info). */
struct pipeline_tx_stat {
	uint32_t ssrc;
	uint32_t packets; /* sender's packet count (mod 2^32) */
	uint32_t octets; /* payload octets, headers and padding excluded */
	int started;
	uint32_t last_ts; /* RTP timestamp of the last packet sent */
	int64_t last_us; /* when it was sent (pipeline_mono_us) */
};

void pipeline_tx_init(struct pipeline_tx_stat *tx, uint32_t ssrc);
/* One RTP packet handed to the transport at now_us. 0, or LK_EINVAL (not RTP). */
int pipeline_tx_rtp(struct pipeline_tx_stat *tx, const uint8_t *pkt, size_t len, int64_t now_us);
/*
 * Sender info for an SR written at now_us, when the wall clock said ntp:
 * the RTP timestamp of that instant is the last packet's plus the time
 * since it was sent, at 48 kHz. No report blocks. 0, or LK_EAGAIN before
 * the first packet (§6.4: no SR from a participant that has not sent).
 */
int pipeline_tx_report(
        const struct pipeline_tx_stat *tx, int64_t now_us, uint64_t ntp, struct rtcp_sr_out *sr);

/* Unix nanoseconds -> 64-bit NTP timestamp (RFC 3550 §4: 32.32 s since 1900). */
uint64_t pipeline_ntp_from_unix_ns(int64_t ns);

/*
 * Compound reports (RFC 3550 §6.1: a report first, then SDES with our
 * CNAME): an SR, or an RR from ssrc with n_rb blocks. Return the length
 * or LK_EINVAL / LK_ETOOBIG.
 */
int pipeline_rtcp_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_out *sr, const char *cname);
int pipeline_rtcp_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, int n_rb,
        const char *cname);

#endif
