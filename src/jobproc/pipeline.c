/*
 * pipeline: lk-jobproc's per-track audio paths (RTP <-> Opus <-> PCM at the
 * script rate) and the 20 ms pacer of the published track. Everything a
 * frame touches is allocated in _new, so steady-state frames allocate
 * nothing (tests/unit/check_pipeline.c counts).
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
	/* Complexity 5 is plenty for speech and halves the encoder's CPU. */
	eo.complexity = o->complexity ? o->complexity : 5;
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

static int64_t
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
