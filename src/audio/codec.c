/*
 * codec: Opus decoder and encoder handles for lk-jobproc's audio tracks.
 * All state is allocated in _new; decoding and encoding a frame allocate
 * nothing (libopus works in its own state and on the stack).
 */
#include <stdlib.h>

#include <opus.h>

#include "audio/codec.h"
#include "common/err.h"

struct aud_opus_dec {
	OpusDecoder *od;
	struct aud_opus_dec_stats st;
};

struct aud_opus_enc {
	OpusEncoder *oe;
};

static int
aud_opus_err(int oerr)
{
	switch (oerr) {
	case OPUS_BUFFER_TOO_SMALL:
		return LK_ETOOBIG;
	case OPUS_ALLOC_FAIL:
		return LK_ENOMEM;
	case OPUS_BAD_ARG:
	case OPUS_INVALID_PACKET:
		return LK_EINVAL;
	default:
		return LK_EIO;
	}
}

static void
aud_opus_set_err(int *err, int val)
{
	if (err != NULL)
		*err = val;
}

struct aud_opus_dec *
aud_opus_dec_new(int *err)
{
	struct aud_opus_dec *dec;
	int oerr = OPUS_OK;

	dec = calloc(1, sizeof(*dec));
	if (dec == NULL) {
		aud_opus_set_err(err, LK_ENOMEM);
		return NULL;
	}
	/* One channel: libopus downmixes stereo packets into it. */
	dec->od = opus_decoder_create(AUD_OPUS_RATE, 1, &oerr);
	if (dec->od == NULL || oerr != OPUS_OK) {
		aud_opus_set_err(err, aud_opus_err(oerr));
		free(dec);
		return NULL;
	}
	aud_opus_set_err(err, 0);
	return dec;
}

void
aud_opus_dec_free(struct aud_opus_dec *dec)
{
	if (dec == NULL)
		return;
	opus_decoder_destroy(dec->od);
	free(dec);
}

int
aud_opus_packet_samples(const uint8_t *pkt, size_t len)
{
	int n;

	if (pkt == NULL || len == 0 || len > AUD_OPUS_MAX_PACKET_IN)
		return LK_EINVAL;
	n = opus_packet_get_nb_samples(pkt, (opus_int32)len, AUD_OPUS_RATE);
	/* RFC 6716 §3.2.5: more than 120 ms in one packet is invalid. */
	if (n <= 0 || n > AUD_OPUS_MAX_SAMPLES)
		return LK_EINVAL;
	return n;
}

int
aud_opus_dec_decode(
        struct aud_opus_dec *dec, const uint8_t *pkt, size_t len, int16_t *pcm, size_t cap)
{
	int n, got;

	/* An empty payload would make libopus run PLC; loss is the caller's call. */
	if (pkt == NULL || len == 0) {
		dec->st.corrupt++;
		return LK_EINVAL;
	}
	if (len > AUD_OPUS_MAX_PACKET_IN) {
		dec->st.corrupt++;
		return LK_ETOOBIG;
	}
	n = aud_opus_packet_samples(pkt, len);
	if (n < 0) {
		dec->st.corrupt++;
		return n;
	}
	if ((size_t)n > cap)
		return LK_ETOOBIG;
	got = opus_decode(dec->od, pkt, (opus_int32)len, pcm, n, 0);
	if (got < 0) {
		dec->st.corrupt++;
		return aud_opus_err(got);
	}
	dec->st.packets++;
	return got;
}

static int
aud_opus_dec_check_gap(size_t n)
{
	/* opus_decode: PLC and FEC sizes must be whole 2.5 ms units. */
	if (n == 0 || n > AUD_OPUS_MAX_SAMPLES || n % (AUD_OPUS_RATE / 400) != 0)
		return LK_EINVAL;
	return 0;
}

int
aud_opus_dec_conceal(struct aud_opus_dec *dec, int16_t *pcm, size_t n)
{
	int got;

	if (aud_opus_dec_check_gap(n) < 0)
		return LK_EINVAL;
	got = opus_decode(dec->od, NULL, 0, pcm, (int)n, 0);
	if (got < 0)
		return aud_opus_err(got);
	dec->st.concealed++;
	return got;
}

int
aud_opus_dec_recover(
        struct aud_opus_dec *dec, const uint8_t *next, size_t len, int16_t *pcm, size_t n)
{
	int got;

	if (aud_opus_dec_check_gap(n) < 0)
		return LK_EINVAL;
	if (next == NULL || len == 0 || aud_opus_packet_samples(next, len) < 0)
		return aud_opus_dec_conceal(dec, pcm, n);
	/* decode_fec=1: the LBRR copy of the previous frame inside `next`. */
	got = opus_decode(dec->od, next, (opus_int32)len, pcm, (int)n, 1);
	if (got < 0) {
		/* A next packet libopus refuses still leaves the gap to fill. */
		return aud_opus_dec_conceal(dec, pcm, n);
	}
	dec->st.recovered++;
	return got;
}

void
aud_opus_dec_reset(struct aud_opus_dec *dec)
{
	opus_decoder_ctl(dec->od, OPUS_RESET_STATE);
}

void
aud_opus_dec_get_stats(const struct aud_opus_dec *dec, struct aud_opus_dec_stats *st)
{
	*st = dec->st;
}

static int
aud_opus_enc_apply(OpusEncoder *oe, const struct aud_opus_enc_opts *o)
{
	int bitrate = o->bitrate ? o->bitrate : 32000;
	int loss = o->loss_pct ? o->loss_pct : 10;
	int complexity = o->complexity ? o->complexity : AUD_OPUS_COMPLEXITY;

	if (bitrate < 6000 || bitrate > 510000 || loss < 0 || loss > 100 || o->complexity < 0 ||
	        o->complexity > 10)
		return LK_EINVAL;
	if (opus_encoder_ctl(oe, OPUS_SET_BITRATE(bitrate)) != OPUS_OK)
		return LK_EINVAL;
	/* In-band FEC (LBRR) is only emitted when a loss rate is expected. */
	if (opus_encoder_ctl(oe, OPUS_SET_INBAND_FEC(1)) != OPUS_OK)
		return LK_EINVAL;
	if (opus_encoder_ctl(oe, OPUS_SET_PACKET_LOSS_PERC(loss)) != OPUS_OK)
		return LK_EINVAL;
	if (opus_encoder_ctl(oe, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK)
		return LK_EINVAL;
	return 0;
}

struct aud_opus_enc *
aud_opus_enc_new(const struct aud_opus_enc_opts *opts, int *err)
{
	static const struct aud_opus_enc_opts defaults;
	const struct aud_opus_enc_opts *o = opts != NULL ? opts : &defaults;
	struct aud_opus_enc *enc;
	int oerr = OPUS_OK, app, rc;

	if (o->app != AUD_OPUS_APP_VOIP && o->app != AUD_OPUS_APP_AUDIO) {
		aud_opus_set_err(err, LK_EINVAL);
		return NULL;
	}
	app = o->app == AUD_OPUS_APP_AUDIO ? OPUS_APPLICATION_AUDIO : OPUS_APPLICATION_VOIP;
	enc = calloc(1, sizeof(*enc));
	if (enc == NULL) {
		aud_opus_set_err(err, LK_ENOMEM);
		return NULL;
	}
	enc->oe = opus_encoder_create(AUD_OPUS_RATE, 1, app, &oerr);
	if (enc->oe == NULL || oerr != OPUS_OK) {
		aud_opus_set_err(err, aud_opus_err(oerr));
		free(enc);
		return NULL;
	}
	rc = aud_opus_enc_apply(enc->oe, o);
	if (rc < 0) {
		aud_opus_set_err(err, rc);
		aud_opus_enc_free(enc);
		return NULL;
	}
	aud_opus_set_err(err, 0);
	return enc;
}

void
aud_opus_enc_free(struct aud_opus_enc *enc)
{
	if (enc == NULL)
		return;
	opus_encoder_destroy(enc->oe);
	free(enc);
}

int
aud_opus_enc_encode(struct aud_opus_enc *enc, const int16_t *pcm, uint8_t *out, size_t cap)
{
	int n;

	if (cap == 0)
		return LK_ETOOBIG;
	if (cap > AUD_OPUS_MAX_PACKET_IN)
		cap = AUD_OPUS_MAX_PACKET_IN;
	n = opus_encode(enc->oe, pcm, AUD_OPUS_FRAME, out, (opus_int32)cap);
	if (n < 0)
		return aud_opus_err(n);
	return n;
}

int
aud_opus_enc_set_bitrate(struct aud_opus_enc *enc, int bitrate)
{
	if (bitrate < 6000 || bitrate > 510000)
		return LK_EINVAL;
	return opus_encoder_ctl(enc->oe, OPUS_SET_BITRATE(bitrate)) == OPUS_OK ? 0 : LK_EINVAL;
}

int
aud_opus_enc_set_loss(struct aud_opus_enc *enc, int loss_pct)
{
	if (loss_pct < 0 || loss_pct > 100)
		return LK_EINVAL;
	if (opus_encoder_ctl(enc->oe, OPUS_SET_PACKET_LOSS_PERC(loss_pct)) != OPUS_OK)
		return LK_EINVAL;
	return 0;
}
