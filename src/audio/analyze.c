/*
 * analyze: dominant-frequency search (FFT peak, then a golden-section
 * maximisation of the windowed spectrum) and RMS level. Used by tests and
 * diagnostics of lk-jobproc; allocates its scratch per call.
 */
#include <math.h>
#include <stdlib.h>

#include "audio/analyze.h"
#include "common/err.h"

/* Golden-section steps: the bracket (two FFT bins) shrinks by 0.618 each. */
#define AUD_ANALYZE_REFINE_STEPS 40

/* In-place iterative radix-2 FFT of m (a power of two) complex points. */
static void
aud_analyze_fft(double *re, double *im, size_t m)
{
	size_t i, j, k, len, half;
	double t, wr, wi, ur, ui, vr, vi, ang, cr, ci, nr;

	/* Bit-reversal permutation. */
	for (i = 1, j = 0; i < m; i++) {
		size_t bit = m >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j |= bit;
		if (i < j) {
			t = re[i];
			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (len = 2; len <= m; len <<= 1) {
		half = len >> 1;
		ang = -2.0 * M_PI / (double)len;
		wr = cos(ang);
		wi = sin(ang);
		for (i = 0; i < m; i += len) {
			cr = 1.0;
			ci = 0.0;
			for (k = 0; k < half; k++) {
				ur = re[i + k];
				ui = im[i + k];
				vr = re[i + k + half] * cr - im[i + k + half] * ci;
				vi = re[i + k + half] * ci + im[i + k + half] * cr;
				re[i + k] = ur + vr;
				im[i + k] = ui + vi;
				re[i + k + half] = ur - vr;
				im[i + k + half] = ui - vi;
				nr = cr * wr - ci * wi;
				ci = cr * wi + ci * wr;
				cr = nr;
			}
		}
	}
}

/* |X(f)|^2 of the windowed signal at any frequency (Goertzel). */
static double
aud_analyze_power(const double *x, size_t n, double f, int rate)
{
	double coeff = 2.0 * cos(2.0 * M_PI * f / rate), s0, s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		s0 = x[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

int
aud_analyze_peak(const int16_t *pcm, size_t n, int rate, double fmin, double fmax, double *freq)
{
	double *re, *im, *keep, mean = 0, df, best = 0, p, a, b, c, d, pc, pd;
	size_t m, i, k, klo, khi, kbest = 0;
	const double g = (sqrt(5.0) - 1.0) / 2.0;

	if (pcm == NULL || freq == NULL || rate <= 0 || n < 64 || !(fmin >= 0) || !(fmax > fmin) ||
	        fmax > rate / 2.0)
		return LK_EINVAL;
	if (n > AUD_ANALYZE_MAX_SAMPLES)
		return LK_ETOOBIG;
	for (m = 1; m < n; m <<= 1)
		;
	/* re and im: the FFT; keep: the windowed signal for the refinement. */
	re = calloc(2 * m + n, sizeof(double));
	if (re == NULL)
		return LK_ENOMEM;
	im = re + m;
	keep = im + m;
	for (i = 0; i < n; i++)
		mean += pcm[i];
	mean /= (double)n;
	for (i = 0; i < n; i++) {
		/* Hann window; the mean is removed so DC does not leak into low bins. */
		double w = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)(n - 1));

		re[i] = (pcm[i] - mean) * w;
		keep[i] = re[i];
	}
	aud_analyze_fft(re, im, m);
	df = (double)rate / (double)m;
	klo = (size_t)ceil(fmin / df);
	khi = (size_t)floor(fmax / df);
	if (klo < 1)
		klo = 1;
	if (khi > m / 2)
		khi = m / 2;
	for (k = klo; k <= khi; k++) {
		p = re[k] * re[k] + im[k] * im[k];
		if (p > best) {
			best = p;
			kbest = k;
		}
	}
	if (kbest == 0 || best <= 0) {
		free(re);
		return LK_ENOTFOUND;
	}
	/*
	 * The true peak lies within half a bin of kbest and the Hann main lobe
	 * is four bins of 1/n wide (wider than df), so |X(f)| is unimodal
	 * over kbest +- 1 bin: a golden-section search finds its maximum.
	 */
	a = ((double)kbest - 1.0) * df;
	b = ((double)kbest + 1.0) * df;
	if (a < fmin)
		a = fmin;
	if (b > fmax)
		b = fmax;
	c = b - g * (b - a);
	d = a + g * (b - a);
	pc = aud_analyze_power(keep, n, c, rate);
	pd = aud_analyze_power(keep, n, d, rate);
	for (i = 0; i < AUD_ANALYZE_REFINE_STEPS; i++) {
		if (pc > pd) {
			b = d;
			d = c;
			pd = pc;
			c = b - g * (b - a);
			pc = aud_analyze_power(keep, n, c, rate);
		} else {
			a = c;
			c = d;
			pc = pd;
			d = a + g * (b - a);
			pd = aud_analyze_power(keep, n, d, rate);
		}
	}
	*freq = (a + b) / 2.0;
	free(re);
	return 0;
}

double
aud_analyze_rms_dbfs(const int16_t *pcm, size_t n)
{
	double sum = 0, db;
	size_t i;

	if (pcm == NULL || n == 0)
		return AUD_DBFS_MIN;
	for (i = 0; i < n; i++)
		sum += (double)pcm[i] * (double)pcm[i];
	if (sum <= 0)
		return AUD_DBFS_MIN;
	db = 10.0 * log10(sum / (double)n / (32768.0 * 32768.0));
	return db < AUD_DBFS_MIN ? AUD_DBFS_MIN : db;
}
