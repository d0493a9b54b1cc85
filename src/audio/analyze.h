/*
 * analyze: measurements on PCM buffers for tests and diagnostics in
 * lk-jobproc: the dominant frequency and the RMS level. Not for per-frame
 * use: the frequency search allocates scratch for its FFT.
 */
#ifndef LK_AUDIO_ANALYZE_H
#define LK_AUDIO_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

/* Longest buffer aud_analyze_peak takes (about 22 s at 48 kHz). */
#define AUD_ANALYZE_MAX_SAMPLES ((size_t)1 << 20)
/* What aud_analyze_rms_dbfs reports for digital silence. */
#define AUD_DBFS_MIN (-120.0)

/*
 * Frequency in Hz of the strongest sinusoid between fmin and fmax
 * (0 <= fmin < fmax <= rate / 2). A Hann-windowed FFT finds the peak bin,
 * then the windowed spectrum is maximised around it, so a steady tone is
 * found to well under 0.1 Hz from 1 s of audio. Needs at least 64 samples.
 * Returns 0; LK_EINVAL for bad arguments; LK_ETOOBIG past
 * AUD_ANALYZE_MAX_SAMPLES; LK_ENOTFOUND for silence; LK_ENOMEM.
 */
int aud_analyze_peak(
        const int16_t *pcm, size_t n, int rate, double fmin, double fmax, double *freq);

/*
 * RMS level in dB relative to full scale (32768): a full-scale square wave
 * is 0 dBFS, a full-scale sine -3.01 dBFS. Silence or n == 0 gives
 * AUD_DBFS_MIN.
 */
double aud_analyze_rms_dbfs(const int16_t *pcm, size_t n);

#endif
