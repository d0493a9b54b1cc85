/*
 * wav: a buffered WAV writer (16-bit PCM mono) for lk-jobproc's record
 * script, and a strict WAV parser for tests and analysis. The parser takes
 * untrusted bytes: every length is checked before it is used.
 */
#ifndef LK_AUDIO_WAV_H
#define LK_AUDIO_WAV_H

#include <stddef.h>
#include <stdint.h>

/* The canonical header: RIFF, WAVE, a 16-byte fmt chunk, the data chunk's head. */
#define AUD_WAV_HEADER_LEN 44
/* Bytes buffered before each write(2): 16384 samples, 0.68 s at 24 kHz. */
#define AUD_WAV_BUF_LEN 32768
/* RIFF sizes are 32-bit: the data chunk can hold this much at most (even). */
#define AUD_WAV_MAX_DATA (0xFFFFFFFFu - 36u - 1u)
/* The parser refuses files with more chunks than this. */
#define AUD_WAV_MAX_CHUNKS 64

struct aud_wav_writer;

/*
 * Create (truncate) path, a seekable file since the sizes are patched in
 * place, and write a header for 16-bit mono at rate (1..384000). NULL on
 * failure, with *err (may be NULL) set to a negative errno (-ENOSPC on a
 * full disk) or lk_err.
 */
struct aud_wav_writer *aud_wav_writer_new(const char *path, int rate, int *err);

/*
 * Append n samples. They go through a fixed buffer; each full buffer is
 * written out and the header's sizes are brought up to date, so a killed
 * process leaves a valid file. Returns 0, or a negative errno / lk_err
 * (LK_ETOOBIG past the 4 GiB RIFF limit, where nothing is appended). A write
 * error is sticky: later calls return it too, and the file keeps the
 * samples that reached it. Callers should ignore SIGXFSZ so that a file-size
 * limit gives -EFBIG here instead of killing the process.
 */
int aud_wav_writer_write(struct aud_wav_writer *w, const int16_t *pcm, size_t n);

/*
 * Write what is buffered, fix the RIFF and data sizes, and close the file.
 * Returns 0 or the first error seen since _new. Later calls return the same.
 */
int aud_wav_writer_finish(struct aud_wav_writer *w);

/* Samples accepted so far (written or buffered). */
uint64_t aud_wav_writer_samples(const struct aud_wav_writer *w);

/* Finishes (ignoring its result) if needed, then releases w. */
void aud_wav_writer_free(struct aud_wav_writer *w);

struct aud_wav_info {
	int rate;
	int channels; /* 1 or 2 */
	int bits; /* always 16 */
	uint32_t frames; /* samples per channel */
	const uint8_t *data; /* inside the parsed buffer: little-endian samples */
	size_t data_len; /* frames * channels * 2 */
};

/*
 * Parse a whole WAV file held in buf. Accepts 16-bit PCM (format tag 1),
 * mono or stereo, one fmt chunk before one data chunk, other chunks skipped.
 * Returns 0; LK_EINVAL for malformed or truncated input; LK_ETYPE for a
 * well-formed but unsupported format; LK_ETRAIL for bytes after the RIFF
 * chunk; LK_ETOOBIG for too many chunks.
 */
int aud_wav_parse(const uint8_t *buf, size_t len, struct aud_wav_info *info);

/*
 * Copy up to cap frames from a parsed file into host-order mono samples
 * (stereo is averaged). Returns the number of samples written.
 */
size_t aud_wav_read_mono(const struct aud_wav_info *info, int16_t *out, size_t cap);

struct aud_wav_pcm {
	int16_t *samples; /* mono, malloc'd */
	size_t n;
	int rate;
	int channels; /* of the file */
};

/*
 * Read, parse and convert the file at path (at most max_bytes long, else
 * LK_ETOOBIG). On success fills pcm, to be released by aud_wav_pcm_free.
 */
int aud_wav_read_file(const char *path, size_t max_bytes, struct aud_wav_pcm *pcm);
void aud_wav_pcm_free(struct aud_wav_pcm *pcm);

#endif
