/*
 * codec: Opus decoding and encoding for one audio track, in lk-jobproc.
 * A decoder per subscribed track gives 48 kHz mono (PLC and in-band FEC for
 * lost packets); an encoder per published track takes 20 ms mono frames.
 */
#ifndef LK_AUDIO_CODEC_H
#define LK_AUDIO_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* RFC 7587 §4.1: the RTP clock (and our PCM side) is always 48 kHz. */
#define AUD_OPUS_RATE 48000
/* One 20 ms frame at 48 kHz: the unit of the whole media path. */
#define AUD_OPUS_FRAME 960
/* RFC 6716 §3.2.1: the longest packet is 120 ms (5760 samples at 48 kHz). */
#define AUD_OPUS_MAX_SAMPLES 5760
/* Decoder input bound: 48 frames of 1275 bytes plus framing (RFC 6716 §3.2.5). */
#define AUD_OPUS_MAX_PACKET_IN 61440
/* Output buffer that always holds one encoded 20 ms packet (fits one RTP MTU). */
#define AUD_OPUS_MAX_PACKET 1275

struct aud_opus_dec;
struct aud_opus_enc;

struct aud_opus_dec_stats {
	uint64_t packets; /* packets decoded normally */
	uint64_t concealed; /* lost packets filled by PLC */
	uint64_t recovered; /* lost packets rebuilt from the next packet (FEC, else PLC) */
	uint64_t corrupt; /* packets libopus refused */
};

/*
 * A decoder with mono output. Stereo streams (sprop-stereo=1) are downmixed
 * by libopus, which fills a mono buffer from either kind of packet.
 * NULL on failure, with *err (may be NULL) set to a negative lk_err.
 */
struct aud_opus_dec *aud_opus_dec_new(int *err);
void aud_opus_dec_free(struct aud_opus_dec *dec);

/*
 * Decode one packet into pcm (cap samples). Returns the number of samples
 * written (960 for a 20 ms packet), LK_EINVAL for a malformed packet (count
 * it lost: conceal it), LK_ETOOBIG when cap is shorter than the packet.
 */
int aud_opus_dec_decode(
        struct aud_opus_dec *dec, const uint8_t *pkt, size_t len, int16_t *pcm, size_t cap);

/*
 * Fill n samples (a multiple of 120, i.e. 2.5 ms, up to 5760) for a lost
 * packet with packet loss concealment. Returns n or a negative lk_err.
 */
int aud_opus_dec_conceal(struct aud_opus_dec *dec, int16_t *pcm, size_t n);

/*
 * Rebuild the n samples lost just before `next` from next's in-band FEC data
 * (falls back to PLC inside libopus when next carries none), then the caller
 * decodes next itself with aud_opus_dec_decode. For a gap of several
 * packets, conceal all but the last and recover the last. Returns n or a
 * negative lk_err.
 */
int aud_opus_dec_recover(
        struct aud_opus_dec *dec, const uint8_t *next, size_t len, int16_t *pcm, size_t n);

/* Reset to the state of a new decoder (after a stream switch); keeps stats. */
void aud_opus_dec_reset(struct aud_opus_dec *dec);
void aud_opus_dec_get_stats(const struct aud_opus_dec *dec, struct aud_opus_dec_stats *st);

/* Samples at 48 kHz in a packet, from its TOC byte(s), or LK_EINVAL. */
int aud_opus_packet_samples(const uint8_t *pkt, size_t len);

enum aud_opus_app {
	AUD_OPUS_APP_VOIP = 0, /* speech-tuned; the default */
	AUD_OPUS_APP_AUDIO = 1,
};

struct aud_opus_enc_opts {
	int bitrate; /* bits/s, 6000..510000; 0 = 32000 */
	enum aud_opus_app app;
	int loss_pct; /* expected loss (sizes the FEC), 0..100; 0 = 10 */
	int complexity; /* 1..10; 0 = AUD_OPUS_COMPLEXITY */
};

/*
 * Default encoder complexity. On this project's reference machine (2.1 GHz
 * Xeon, Debian's float libopus 1.3.1) a 20 ms frame with FEC costs about
 * 100 us at 1, 250 us at 5 and 450 us at 10: most of it is SILK's
 * analysis, which complexity buys back little of for speech at 32 kb/s.
 * 1 keeps an agent's outbound path inside 150 us per frame.
 */
#define AUD_OPUS_COMPLEXITY 1

/*
 * An encoder for 48 kHz mono, 20 ms frames, in-band FEC on. opts may be NULL
 * (all defaults). NULL on failure, with *err set as for the decoder.
 */
struct aud_opus_enc *aud_opus_enc_new(const struct aud_opus_enc_opts *opts, int *err);
void aud_opus_enc_free(struct aud_opus_enc *enc);

/*
 * Encode one 20 ms frame (AUD_OPUS_FRAME samples) into out (cap bytes;
 * AUD_OPUS_MAX_PACKET always suffices). Returns the packet length or a
 * negative lk_err. A 1- or 2-byte packet means silence (no need to send it
 * under DTX, but sending it is valid).
 */
int aud_opus_enc_encode(struct aud_opus_enc *enc, const int16_t *pcm, uint8_t *out, size_t cap);
int aud_opus_enc_set_bitrate(struct aud_opus_enc *enc, int bitrate);
/* Expected loss from RTCP receiver reports: more loss, more FEC. */
int aud_opus_enc_set_loss(struct aud_opus_enc *enc, int loss_pct);

#endif
