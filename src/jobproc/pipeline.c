/*
 * pipeline: lk-jobproc's per-track audio paths (RTP <-> Opus <-> PCM at the
 * script rate), the 20 ms pacer of the published track, and the RTCP
 * statistics and compound reports of both directions. Everything a frame
 * or a report touches is allocated in _new or embedded by the caller, so
 * steady state allocates nothing (tests/unit/check_pipeline.c counts).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/codec.h"
#include "audio/resample.h"
#include "common/err.h"
#include "jobproc/pipeline.h"
#include "rtc/rtp.h"

#define PIPELINE_FRAME_US ((int64_t)PIPELINE_FRAME_MS * 1000)

int
pipeline_rate_ok(int rate)
{
	return rate >= 8000 && rate <= AUD_OPUS_RATE && rate % (1000 / PIPELINE_FRAME_MS) == 0 &&
	        (AUD_OPUS_FRAME * (int64_t)rate) % AUD_OPUS_RATE == 0;
}

static void
pipeline_set_err(int *err, int v)
{
	if (err)
		*err = v;
}

/* ---- in ---- */

struct pipeline_in {
	struct pipeline_in_opts o;
	pipeline_frame_fn fn;
	void *arg;
	struct rtp_reorder *ro;
	struct aud_opus_dec *dec;
	struct aud_resample *rs;
	/* Length of the last packet, the best guess for a lost one's. */
	size_t last_samples;
	struct pipeline_in_stats st;
	/* 48 kHz samples not yet cut into 20 ms frames (packets may be 10-120 ms). */
	size_t acc_len;
	int16_t acc[AUD_OPUS_MAX_SAMPLES + AUD_OPUS_FRAME];
	int16_t dec_buf[AUD_OPUS_MAX_SAMPLES];
	int16_t out_buf[AUD_OPUS_FRAME];
};

struct pipeline_in *
pipeline_in_new(const struct pipeline_in_opts *o, pipeline_frame_fn fn, void *arg, int *err)
{
	struct pipeline_in *in;
	int rc = 0;

	if (!o || !fn || !pipeline_rate_ok(o->out_rate) || o->pt > 127) {
		pipeline_set_err(err, LK_EINVAL);
		return NULL;
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		pipeline_set_err(err, LK_ENOMEM);
		return NULL;
	}
	in->o = *o;
	in->fn = fn;
	in->arg = arg;
	in->last_samples = AUD_OPUS_FRAME;
	/* A payload bigger than one MTU is not an Opus packet we will see. */
	in->ro = rtp_reorder_new(PIPELINE_REORDER_SLOTS, PIPELINE_MAX_RTP, PIPELINE_REORDER_HOLD);
	in->dec = aud_opus_dec_new(&rc);
	if (in->dec)
		in->rs = aud_resample_new(
		        AUD_OPUS_RATE, o->out_rate, AUD_OPUS_FRAME, AUD_RESAMPLE_QUALITY, &rc);
	if (!in->ro || !in->dec || !in->rs) {
		pipeline_set_err(err, rc < 0 ? rc : LK_ENOMEM);
		pipeline_in_free(in);
		return NULL;
	}
	pipeline_set_err(err, 0);
	return in;
}

void
pipeline_in_free(struct pipeline_in *in)
{
	if (!in)
		return;
	rtp_reorder_free(in->ro);
	aud_opus_dec_free(in->dec);
	aud_resample_free(in->rs);
	free(in);
}

/* Append decoded 48 kHz audio; hand out every whole 20 ms frame. */
static void
pipeline_in_emit(struct pipeline_in *in, const int16_t *pcm, size_t n)
{
	size_t off = 0;

	memcpy(in->acc + in->acc_len, pcm, n * sizeof(*pcm));
	in->acc_len += n;
	while (in->acc_len - off >= AUD_OPUS_FRAME) {
		int m = aud_resample_process(in->rs, in->acc + off, in->out_buf);
		off += AUD_OPUS_FRAME;
		if (m <= 0)
			continue;
		in->st.frames++;
		in->fn(in->out_buf, (size_t)m, in->arg);
	}
	if (off > 0) {
		memmove(in->acc, in->acc + off, (in->acc_len - off) * sizeof(*in->acc));
		in->acc_len -= off;
	}
}

static void
pipeline_in_conceal(struct pipeline_in *in)
{
	int n = aud_opus_dec_conceal(in->dec, in->dec_buf, in->last_samples);

	if (n > 0)
		pipeline_in_emit(in, in->dec_buf, (size_t)n);
}

static void
pipeline_in_decode(struct pipeline_in *in, const uint8_t *data, size_t len)
{
	int n = aud_opus_dec_decode(in->dec, data, len, in->dec_buf, AUD_OPUS_MAX_SAMPLES);

	if (n <= 0) {
		/* A packet libopus refuses is as good as lost: conceal it. */
		in->st.corrupt++;
		pipeline_in_conceal(in);
		return;
	}
	in->last_samples = (size_t)n;
	pipeline_in_emit(in, in->dec_buf, (size_t)n);
}

static void
pipeline_in_gap(struct pipeline_in *in, const uint8_t *next, size_t next_len)
{
	int n;

	if (next && next_len > 0) {
		/* RFC 6716 §2.1.7 / RFC 7587 §3.3: the next packet carries a
		 * low-rate copy of this one (useinbandfec=1). */
		n = aud_opus_dec_recover(in->dec, next, next_len, in->dec_buf, in->last_samples);
		if (n > 0) {
			in->st.recovered++;
			pipeline_in_emit(in, in->dec_buf, (size_t)n);
			return;
		}
	}
	in->st.concealed++;
	pipeline_in_conceal(in);
}

static void
pipeline_in_drain(struct pipeline_in *in, int force)
{
	struct rtp_reorder_out out;
	int r;

	while ((r = rtp_reorder_pop(in->ro, force, &out)) != RTP_REORDER_NONE) {
		if (r == RTP_REORDER_PACKET)
			pipeline_in_decode(in, out.data, out.len);
		else
			pipeline_in_gap(in, out.fec_data, out.fec_len);
	}
}

int
pipeline_in_rtp(struct pipeline_in *in, const uint8_t *pkt, size_t len)
{
	struct rtp_hdr h;
	int rc;

	if (rtp_parse(pkt, len, &h) < 0 || h.payload_len == 0) {
		in->st.malformed++;
		return LK_EINVAL;
	}
	if (h.pt != in->o.pt) {
		in->st.wrong_pt++;
		return LK_EINVAL;
	}
	rc = rtp_reorder_push(in->ro, h.seq, h.ts, h.marker, h.payload, h.payload_len);
	switch (rc) {
	case RTP_REORDER_STORED:
		break;
	case RTP_REORDER_RESET:
		/* A far jump (sender restart): new stream state in the decoder too. */
		in->st.reset++;
		aud_opus_dec_reset(in->dec);
		break;
	case RTP_REORDER_LATE:
		in->st.late++;
		return 0;
	case RTP_REORDER_DUPLICATE:
		in->st.duplicate++;
		return 0;
	default:
		in->st.malformed++;
		return LK_EINVAL;
	}
	in->st.packets++;
	pipeline_in_drain(in, 0);
	return 0;
}

void
pipeline_in_flush(struct pipeline_in *in)
{
	pipeline_in_drain(in, 1);
}

void
pipeline_in_get_stats(const struct pipeline_in *in, struct pipeline_in_stats *st)
{
	*st = in->st;
}

/* ---- out ---- */

struct pipeline_out {
	struct pipeline_out_opts o;
	struct aud_opus_enc *enc;
	struct aud_resample *rs;
	size_t in_frame;
	uint16_t seq;
	uint32_t ts;
	int marker;
	struct pipeline_out_stats st;
	int16_t pcm48[AUD_OPUS_FRAME];
	uint8_t opus[AUD_OPUS_MAX_PACKET];
};

struct pipeline_out *
pipeline_out_new(const struct pipeline_out_opts *o, int *err)
{
	struct aud_opus_enc_opts eo;
	struct pipeline_out *out;
	int rc = 0;

	if (!o || !pipeline_rate_ok(o->in_rate) || o->pt > 127 || o->complexity < 0 ||
	        o->complexity > 10) {
		pipeline_set_err(err, LK_EINVAL);
		return NULL;
	}
	out = calloc(1, sizeof(*out));
	if (!out) {
		pipeline_set_err(err, LK_ENOMEM);
		return NULL;
	}
	out->o = *o;
	out->in_frame = PIPELINE_FRAME_SAMPLES(o->in_rate);
	out->seq = o->seq;
	out->ts = o->ts;
	out->marker = 1;
	memset(&eo, 0, sizeof(eo));
	eo.bitrate = o->bitrate;
	eo.app = AUD_OPUS_APP_VOIP;
	eo.complexity = o->complexity; /* 0: the codec's default */
	out->enc = aud_opus_enc_new(&eo, &rc);
	if (out->enc)
		out->rs = aud_resample_new(
		        o->in_rate, AUD_OPUS_RATE, out->in_frame, AUD_RESAMPLE_QUALITY, &rc);
	if (!out->enc || !out->rs) {
		pipeline_set_err(err, rc < 0 ? rc : LK_ENOMEM);
		pipeline_out_free(out);
		return NULL;
	}
	pipeline_set_err(err, 0);
	return out;
}

void
pipeline_out_free(struct pipeline_out *out)
{
	if (!out)
		return;
	aud_opus_enc_free(out->enc);
	aud_resample_free(out->rs);
	free(out);
}

size_t
pipeline_out_frame_samples(const struct pipeline_out *out)
{
	return out->in_frame;
}

void
pipeline_out_mark(struct pipeline_out *out)
{
	out->marker = 1;
}

int
pipeline_out_packet(struct pipeline_out *out, const int16_t *pcm, uint8_t *pkt, size_t cap)
{
	struct rtp_hdr h;
	int n, hl;

	if (aud_resample_process(out->rs, pcm, out->pcm48) != AUD_OPUS_FRAME)
		return LK_EINVAL;
	n = aud_opus_enc_encode(out->enc, out->pcm48, out->opus, sizeof(out->opus));
	if (n < 0)
		return n;
	memset(&h, 0, sizeof(h));
	h.marker = out->marker ? 1 : 0;
	h.pt = out->o.pt;
	h.seq = out->seq;
	h.ts = out->ts;
	h.ssrc = out->o.ssrc;
	hl = rtp_write_hdr(pkt, cap, &h);
	if (hl < 0)
		return hl;
	if ((size_t)hl + (size_t)n > cap)
		return LK_ETOOBIG;
	memcpy(pkt + hl, out->opus, (size_t)n);
	out->marker = 0;
	out->seq++;
	/* RFC 7587 §4.1: the timestamp counts 48 kHz samples. */
	out->ts += AUD_OPUS_FRAME;
	out->st.frames++;
	out->st.bytes += (uint64_t)n;
	return hl + n;
}

void
pipeline_out_get_stats(const struct pipeline_out *out, struct pipeline_out_stats *st)
{
	*st = out->st;
	st->next_seq = out->seq;
	st->next_ts = out->ts;
}

/* ---- pacer ---- */

int64_t
pipeline_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
pipeline_pacer_arm(struct pipeline_pacer *p)
{
	int64_t next = p->start_us + (int64_t)(p->ticks + 1) * PIPELINE_FRAME_US;
	int64_t wait = next - pipeline_mono_us();

	/* ev_timer counts from the loop's cached time; a short early wake-up
	 * only re-arms, the deadline itself stays on the monotonic clock. */
	ev_timer_set(&p->timer, wait > 0 ? wait / 1e6 : 0., 0.);
	ev_timer_start(p->loop, &p->timer);
}

static void
pipeline_pacer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pipeline_pacer *p = w->data;
	int64_t now = pipeline_mono_us();
	uint64_t due = (uint64_t)((now - p->start_us) / PIPELINE_FRAME_US);

	if (due > p->ticks + PIPELINE_PACER_CATCHUP) {
		/* The loop stalled: play one frame now and count from here. */
		p->restarts++;
		p->start_us = now - PIPELINE_FRAME_US;
		p->ticks = 0;
		due = 1;
	}
	while (p->ticks < due) {
		p->ticks++;
		p->tick(p, p->arg);
		/* The tick may have stopped (or restarted) the pacer. */
		if (!p->running || ev_is_active(&p->timer))
			return;
	}
	pipeline_pacer_arm(p);
}

void
pipeline_pacer_init(struct pipeline_pacer *p, struct ev_loop *loop,
        void (*tick)(struct pipeline_pacer *p, void *arg), void *arg)
{
	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->tick = tick;
	p->arg = arg;
	ev_timer_init(&p->timer, pipeline_pacer_cb, 0., 0.);
	/*
	 * When the loop wakes up late (the process was not scheduled), the
	 * packets that arrived meanwhile and the missed ticks are pending
	 * together. The lowest priority runs the ticks after the socket
	 * callbacks, so a tick plays what has arrived instead of finding its
	 * ring empty, which would add a frame of delay for good.
	 */
	ev_set_priority(&p->timer, EV_MINPRI);
	p->timer.data = p;
}

void
pipeline_pacer_start(struct pipeline_pacer *p)
{
	ev_timer_stop(p->loop, &p->timer);
	p->start_us = pipeline_mono_us();
	p->ticks = 0;
	p->running = 1;
	pipeline_pacer_arm(p);
}

void
pipeline_pacer_stop(struct pipeline_pacer *p)
{
	p->running = 0;
	if (p->loop)
		ev_timer_stop(p->loop, &p->timer);
}

int
pipeline_pacer_active(const struct pipeline_pacer *p)
{
	return p->running;
}

/* ---- RTCP ---- */

/* RFC 3550 A.1: a jump forward this small is a gap (loss); one within
 * MISORDER behind is a late or duplicate packet; anything else is a jump
 * that must repeat before it is believed. */
#define PIPELINE_MAX_DROPOUT 3000
#define PIPELINE_MAX_MISORDER 100
#define PIPELINE_SEQ_MOD 0x10000u
/* RFC 3550 §4: NTP seconds from 1900 to the Unix epoch. */
#define PIPELINE_NTP_UNIX_OFFSET 2208988800ull
/* RFC 3550 §6.5.1: SDES item type of the canonical name. */
#define PIPELINE_SDES_CNAME 1

void
pipeline_rx_init(struct pipeline_rx_stat *rx, uint32_t ssrc)
{
	memset(rx, 0, sizeof(*rx));
	rx->ssrc = ssrc;
	rx->bad_seq = PIPELINE_SEQ_MOD + 1;
}

/* RFC 3550 A.1 init_seq: this packet is the base of the counts. */
static void
pipeline_rx_start(struct pipeline_rx_stat *rx, uint16_t seq)
{
	rx->started = 1;
	rx->base_seq = seq;
	rx->max_seq = seq;
	rx->bad_seq = PIPELINE_SEQ_MOD + 1;
	rx->cycles = 0;
	rx->received = 0;
	rx->expected_prior = 0;
	rx->received_prior = 0;
	/* A new sequence space is a new timeline too. */
	rx->have_transit = 0;
	rx->jitter16 = 0;
}

/* The RTP clock reading of a monotonic instant (RFC 3550 A.8: arrival
 * time in timestamp units; only differences matter, so it may wrap). */
static uint32_t
pipeline_rtp_clock(int64_t us)
{
	return (uint32_t)((uint64_t)us * (PIPELINE_RTP_RATE / 1000) / 1000);
}

void
pipeline_rx_rtp(struct pipeline_rx_stat *rx, uint16_t seq, uint32_t ts, int64_t arrival_us)
{
	uint16_t udelta;
	uint32_t transit;
	int32_t d;
	uint64_t ad;

	/*
	 * No probation period (A.1's MIN_SEQUENTIAL): the SSRC came from
	 * signalling and SRTP authenticated the packet, so the first one
	 * already belongs to a valid source.
	 */
	if (!rx->started) {
		pipeline_rx_start(rx, seq);
	} else {
		udelta = (uint16_t)(seq - rx->max_seq);
		if (udelta < PIPELINE_MAX_DROPOUT) {
			/* In order, maybe after a gap; a smaller number wrapped. */
			if (seq < rx->max_seq)
				rx->cycles += PIPELINE_SEQ_MOD;
			rx->max_seq = seq;
		} else if (udelta <= PIPELINE_SEQ_MOD - PIPELINE_MAX_MISORDER) {
			/* A large jump: believed (the sender restarted) only when
			 * the next packet continues from it. */
			if (seq != rx->bad_seq) {
				rx->bad_seq = (uint32_t)(uint16_t)(seq + 1);
				return;
			}
			pipeline_rx_start(rx, seq);
		}
		/* else late or duplicate: counted, max_seq stays. */
	}
	rx->received++;

	/* RFC 3550 A.8: J += (|D| - J) / 16, with J kept x16 in integers. */
	transit = pipeline_rtp_clock(arrival_us) - ts;
	if (rx->have_transit) {
		d = (int32_t)(transit - rx->transit);
		ad = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
		rx->jitter16 = rx->jitter16 + ad - ((rx->jitter16 + 8) >> 4);
	}
	rx->transit = transit;
	rx->have_transit = 1;
}

void
pipeline_rx_sr(struct pipeline_rx_stat *rx, uint64_t ntp, int64_t arrival_us)
{
	/* RFC 3550 §6.4.1 LSR: the middle 32 bits of the SR's NTP timestamp. */
	rx->lsr = (uint32_t)(ntp >> 16);
	rx->lsr_at_us = arrival_us;
	rx->have_sr = 1;
}

int
pipeline_rx_report(struct pipeline_rx_stat *rx, int64_t now_us, struct rtcp_rb *rb)
{
	uint32_t ext_max, expected, exp_int, rec_int;
	int64_t lost, lost_int, dlsr;

	if (!rx->started || rx->received == rx->received_prior)
		return 0;
	/* RFC 3550 A.3. */
	ext_max = rx->cycles + rx->max_seq;
	expected = ext_max - rx->base_seq + 1;
	lost = (int64_t)expected - (int64_t)rx->received;
	/* §6.4.1: a signed 24-bit field (duplicates can make it negative). */
	if (lost > 0x7FFFFF)
		lost = 0x7FFFFF;
	if (lost < -0x800000)
		lost = -0x800000;
	exp_int = expected - rx->expected_prior;
	rx->expected_prior = expected;
	rec_int = rx->received - rx->received_prior;
	rx->received_prior = rx->received;
	lost_int = (int64_t)exp_int - (int64_t)rec_int;

	memset(rb, 0, sizeof(*rb));
	rb->ssrc = rx->ssrc;
	/* §6.4.1 fraction lost: 8-bit fixed point of this interval's loss;
	 * duplicates (a negative loss) report 0. */
	if (exp_int > 0 && lost_int > 0) {
		int64_t f = (lost_int << 8) / exp_int;
		rb->fraction_lost = (uint8_t)(f > 255 ? 255 : f);
	}
	rb->cum_lost = (int32_t)lost;
	rb->ext_high_seq = ext_max;
	rb->jitter = (uint32_t)(rx->jitter16 >> 4);
	if (rx->have_sr) {
		/* §6.4.1 DLSR: delay since that SR, in units of 1/65536 s. */
		dlsr = now_us - rx->lsr_at_us;
		if (dlsr < 0)
			dlsr = 0;
		dlsr = dlsr * 65536 / 1000000;
		rb->lsr = rx->lsr;
		rb->dlsr = dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr;
	}
	return 1;
}

void
pipeline_tx_init(struct pipeline_tx_stat *tx, uint32_t ssrc)
{
	memset(tx, 0, sizeof(*tx));
	tx->ssrc = ssrc;
}

int
pipeline_tx_rtp(struct pipeline_tx_stat *tx, const uint8_t *pkt, size_t len, int64_t now_us)
{
	struct rtp_hdr h;

	if (rtp_parse(pkt, len, &h) < 0)
		return LK_EINVAL;
	/* §6.4.1: both counts wrap modulo 2^32; octets are payload only. */
	tx->packets++;
	tx->octets += (uint32_t)h.payload_len;
	tx->last_ts = h.ts;
	tx->last_us = now_us;
	tx->started = 1;
	return 0;
}

int
pipeline_tx_report(
        const struct pipeline_tx_stat *tx, int64_t now_us, uint64_t ntp, struct rtcp_sr_out *sr)
{
	int64_t el;

	if (!tx->started)
		return LK_EAGAIN;
	memset(sr, 0, sizeof(*sr));
	sr->ssrc = tx->ssrc;
	sr->ntp = ntp;
	/* §6.4.1: the RTP timestamp of the same instant as the NTP one, so a
	 * receiver can map the stream onto the wall clock. */
	el = now_us - tx->last_us;
	if (el < 0)
		el = 0;
	sr->rtp_ts = tx->last_ts + (uint32_t)((uint64_t)el * (PIPELINE_RTP_RATE / 1000) / 1000);
	sr->packet_count = tx->packets;
	sr->octet_count = tx->octets;
	return 0;
}

uint64_t
pipeline_ntp_from_unix_ns(int64_t ns)
{
	uint64_t sec = (uint64_t)(ns / 1000000000) + PIPELINE_NTP_UNIX_OFFSET;
	uint64_t frac = ((uint64_t)(ns % 1000000000) << 32) / 1000000000;

	return sec << 32 | frac;
}

static void
pipeline_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 3550 §6.5: one SDES chunk for ssrc with its CNAME item. */
static int
pipeline_rtcp_sdes(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t cl = cname ? strlen(cname) : 0, n;

	if (cl == 0 || cl > PIPELINE_CNAME_MAX)
		return LK_EINVAL;
	/* Header, SSRC, item type and length, text, then at least one null
	 * octet ending the item list, up to a 32-bit boundary. */
	n = (RTCP_HEADER_LEN + 4 + 2 + cl + 1 + 3) & ~(size_t)3;
	if (n > cap)
		return LK_ETOOBIG;
	memset(buf, 0, n);
	buf[0] = (uint8_t)(2 << 6 | 1); /* V=2, P=0, SC=1 */
	buf[1] = RTCP_SDES;
	buf[2] = (uint8_t)((n / 4 - 1) >> 8);
	buf[3] = (uint8_t)(n / 4 - 1);
	pipeline_put32(buf + 4, ssrc);
	buf[8] = PIPELINE_SDES_CNAME;
	buf[9] = (uint8_t)cl;
	memcpy(buf + 10, cname, cl);
	return (int)n;
}

int
pipeline_rtcp_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_out *sr, const char *cname)
{
	int n, k;

	if (!buf || !sr)
		return LK_EINVAL;
	n = rtcp_write_sr(buf, cap, sr);
	if (n < 0)
		return n;
	k = pipeline_rtcp_sdes(buf + n, cap - (size_t)n, sr->ssrc, cname);
	return k < 0 ? k : n + k;
}

int
pipeline_rtcp_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_rb *rb, int n_rb,
        const char *cname)
{
	int n, k;

	if (!buf)
		return LK_EINVAL;
	n = rtcp_write_rr(buf, cap, ssrc, rb, n_rb);
	if (n < 0)
		return n;
	k = pipeline_rtcp_sdes(buf + n, cap - (size_t)n, ssrc, cname);
	return k < 0 ? k : n + k;
}
