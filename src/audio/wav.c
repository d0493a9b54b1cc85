/*
 * wav: RIFF/WAVE writing (record script of lk-jobproc) and strict parsing
 * (tests, analysis). The writer's buffer is allocated once in _new; appending
 * a frame copies into it and, when full, writes it out, never allocating.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/wav.h"
#include "common/err.h"

/* WAVE_FORMAT_PCM in the fmt chunk's wFormatTag. */
#define AUD_WAV_FORMAT_PCM 1

struct aud_wav_writer {
	int fd;
	int rate;
	int err; /* first error, sticky */
	int finished;
	uint64_t file_data; /* data bytes that reached the file */
	uint64_t samples; /* samples accepted */
	size_t fill; /* bytes in buf */
	uint8_t buf[AUD_WAV_BUF_LEN];
};

static void
aud_wav_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static void
aud_wav_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)((v >> 8) & 0xff);
	p[2] = (uint8_t)((v >> 16) & 0xff);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t
aud_wav_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
aud_wav_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	        ((uint32_t)p[3] << 24);
}

/* Write all of p, retrying short writes; *done gets the bytes that made it. */
static int
aud_wav_write_all(int fd, const uint8_t *p, size_t n, size_t *done)
{
	ssize_t k;

	*done = 0;
	while (*done < n) {
		k = write(fd, p + *done, n - *done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return LK_EIO;
		*done += (size_t)k;
	}
	return 0;
}

static void
aud_wav_header(uint8_t *h, int rate, uint32_t data_len)
{
	memcpy(h, "RIFF", 4);
	/* RIFF chunk size: everything after this field (4 + 24 + 8 + data). */
	aud_wav_put32(h + 4, 36u + data_len);
	memcpy(h + 8, "WAVE", 4);
	memcpy(h + 12, "fmt ", 4);
	aud_wav_put32(h + 16, 16);
	aud_wav_put16(h + 20, AUD_WAV_FORMAT_PCM);
	aud_wav_put16(h + 22, 1); /* nChannels */
	aud_wav_put32(h + 24, (uint32_t)rate); /* nSamplesPerSec */
	aud_wav_put32(h + 28, (uint32_t)rate * 2u); /* nAvgBytesPerSec */
	aud_wav_put16(h + 32, 2); /* nBlockAlign */
	aud_wav_put16(h + 34, 16); /* wBitsPerSample */
	memcpy(h + 36, "data", 4);
	aud_wav_put32(h + 40, data_len);
}

/* Bring the two size fields up to the bytes on disk (whole samples only). */
static int
aud_wav_fix_sizes(struct aud_wav_writer *w)
{
	uint8_t v[4];
	uint32_t data_len = (uint32_t)(w->file_data & ~(uint64_t)1);
	ssize_t k;

	aud_wav_put32(v, 36u + data_len);
	k = pwrite(w->fd, v, 4, 4); /* RIFF chunk size */
	if (k == 4) {
		aud_wav_put32(v, data_len);
		k = pwrite(w->fd, v, 4, 40); /* data chunk size */
	}
	if (k < 0)
		return -errno;
	return k == 4 ? 0 : LK_EIO;
}

static int
aud_wav_flush(struct aud_wav_writer *w)
{
	size_t done = 0;
	int rc;

	if (w->fill == 0)
		return 0;
	rc = aud_wav_write_all(w->fd, w->buf, w->fill, &done);
	w->file_data += done;
	w->fill = 0;
	if (rc < 0) {
		w->err = rc;
		return rc;
	}
	/* Best effort: finish() repeats it and reports a failure. */
	(void)aud_wav_fix_sizes(w);
	return 0;
}

struct aud_wav_writer *
aud_wav_writer_new(const char *path, int rate, int *err)
{
	struct aud_wav_writer *w;
	uint8_t h[AUD_WAV_HEADER_LEN];
	size_t done;
	int rc;

	if (path == NULL || rate < 1 || rate > 384000) {
		if (err != NULL)
			*err = LK_EINVAL;
		return NULL;
	}
	w = malloc(sizeof(*w));
	if (w == NULL) {
		if (err != NULL)
			*err = LK_ENOMEM;
		return NULL;
	}
	memset(w, 0, offsetof(struct aud_wav_writer, buf));
	w->rate = rate;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = -errno;
		goto fail;
	}
	aud_wav_header(h, rate, 0);
	rc = aud_wav_write_all(w->fd, h, sizeof(h), &done);
	if (rc < 0) {
		close(w->fd);
		goto fail;
	}
	if (err != NULL)
		*err = 0;
	return w;
fail:
	free(w);
	if (err != NULL)
		*err = rc;
	return NULL;
}

int
aud_wav_writer_write(struct aud_wav_writer *w, const int16_t *pcm, size_t n)
{
	size_t i, room, take;

	if (w->err < 0)
		return w->err;
	if (w->finished)
		return LK_EINVAL;
	if (n > AUD_WAV_MAX_DATA / 2 || w->file_data + w->fill + (uint64_t)n * 2 > AUD_WAV_MAX_DATA)
		return LK_ETOOBIG;
	while (n > 0) {
		room = (sizeof(w->buf) - w->fill) / 2;
		take = n < room ? n : room;
		/* WAV samples are little-endian whatever the host is. */
		for (i = 0; i < take; i++)
			aud_wav_put16(w->buf + w->fill + 2 * i, (uint16_t)pcm[i]);
		w->fill += take * 2;
		w->samples += take;
		pcm += take;
		n -= take;
		if (w->fill == sizeof(w->buf) && aud_wav_flush(w) < 0)
			return w->err;
	}
	return 0;
}

int
aud_wav_writer_finish(struct aud_wav_writer *w)
{
	int rc;

	if (w->finished)
		return w->err;
	w->finished = 1;
	if (w->err == 0)
		(void)aud_wav_flush(w);
	/* Even after a write error, the header then describes what is on disk. */
	rc = aud_wav_fix_sizes(w);
	if (rc < 0 && w->err == 0)
		w->err = rc;
	if (close(w->fd) < 0 && w->err == 0)
		w->err = -errno;
	w->fd = -1;
	return w->err;
}

uint64_t
aud_wav_writer_samples(const struct aud_wav_writer *w)
{
	return w->samples;
}

void
aud_wav_writer_free(struct aud_wav_writer *w)
{
	if (w == NULL)
		return;
	(void)aud_wav_writer_finish(w);
	free(w);
}

/* The fmt chunk (body of sz bytes); sets info's format fields. */
static int
aud_wav_parse_fmt(const uint8_t *b, uint32_t sz, struct aud_wav_info *info)
{
	uint16_t tag, channels, align, bits;
	uint32_t rate, byte_rate;

	if (sz < 16)
		return LK_EINVAL;
	tag = aud_wav_get16(b);
	channels = aud_wav_get16(b + 2);
	rate = aud_wav_get32(b + 4);
	byte_rate = aud_wav_get32(b + 8);
	align = aud_wav_get16(b + 12);
	bits = aud_wav_get16(b + 14);
	if (tag != AUD_WAV_FORMAT_PCM)
		return LK_ETYPE;
	/* PCM: a 16-byte WAVEFORMAT, or 18 with an empty cbSize extension. */
	if (sz != 16 && !(sz == 18 && aud_wav_get16(b + 16) == 0))
		return LK_EINVAL;
	if (channels == 0 || rate == 0 || rate > 384000)
		return LK_EINVAL;
	if (channels > 2 || bits != 16)
		return LK_ETYPE;
	if (align != channels * 2u || byte_rate != rate * align)
		return LK_EINVAL;
	info->rate = (int)rate;
	info->channels = channels;
	info->bits = bits;
	return 0;
}

int
aud_wav_parse(const uint8_t *buf, size_t len, struct aud_wav_info *out)
{
	struct aud_wav_info tmp, *info = &tmp;
	size_t off, end, padded;
	uint32_t riff, sz, block;
	int have_fmt = 0, have_data = 0, chunks = 0, rc;
	const uint8_t *id;

	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	if (buf == NULL || len < 12)
		return LK_EINVAL;
	if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
		return LK_EINVAL;
	riff = aud_wav_get32(buf + 4);
	if (riff < 4 || (uint64_t)riff + 8 > len)
		return LK_EINVAL;
	if ((uint64_t)riff + 8 < len)
		return LK_ETRAIL;
	end = (size_t)riff + 8;
	off = 12;
	while (off < end) {
		if (++chunks > AUD_WAV_MAX_CHUNKS)
			return LK_ETOOBIG;
		if (end - off < 8)
			return LK_EINVAL;
		id = buf + off;
		sz = aud_wav_get32(buf + off + 4);
		off += 8;
		/* RIFF: a chunk of odd size is followed by one pad byte. */
		padded = (size_t)sz + (sz & 1u);
		if (sz > end - off || padded > end - off)
			return LK_EINVAL;
		if (memcmp(id, "fmt ", 4) == 0) {
			if (have_fmt)
				return LK_EINVAL;
			rc = aud_wav_parse_fmt(buf + off, sz, info);
			if (rc < 0)
				return rc;
			have_fmt = 1;
		} else if (memcmp(id, "data", 4) == 0) {
			if (!have_fmt || have_data)
				return LK_EINVAL;
			block = (uint32_t)info->channels * 2u;
			if (sz % block != 0)
				return LK_EINVAL;
			info->data = buf + off;
			info->data_len = sz;
			info->frames = sz / block;
			have_data = 1;
		}
		off += padded;
	}
	if (!have_fmt || !have_data)
		return LK_EINVAL;
	*out = tmp;
	return 0;
}

size_t
aud_wav_read_mono(const struct aud_wav_info *info, int16_t *out, size_t cap)
{
	size_t n = info->frames < cap ? info->frames : cap, i;
	const uint8_t *p = info->data;
	int l, r;

	for (i = 0; i < n; i++) {
		if (info->channels == 2) {
			l = (int16_t)aud_wav_get16(p + 4 * i);
			r = (int16_t)aud_wav_get16(p + 4 * i + 2);
			out[i] = (int16_t)((l + r) / 2);
		} else {
			out[i] = (int16_t)aud_wav_get16(p + 2 * i);
		}
	}
	return n;
}

int
aud_wav_read_file(const char *path, size_t max_bytes, struct aud_wav_pcm *pcm)
{
	struct aud_wav_info info;
	struct stat st;
	uint8_t *raw = NULL;
	size_t len, got = 0;
	ssize_t k;
	int fd, rc;

	memset(pcm, 0, sizeof(*pcm));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LK_EINVAL;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes ||
	        (uint64_t)st.st_size > (uint64_t)UINT32_MAX + 8) {
		rc = LK_ETOOBIG;
		goto out;
	}
	len = (size_t)st.st_size;
	raw = malloc(len > 0 ? len : 1);
	if (raw == NULL) {
		rc = LK_ENOMEM;
		goto out;
	}
	while (got < len) {
		k = read(fd, raw + got, len - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -errno;
			goto out;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	/* A file that shrank while being read is parsed as what was read. */
	rc = aud_wav_parse(raw, got, &info);
	if (rc < 0)
		goto out;
	pcm->samples = malloc(info.frames > 0 ? (size_t)info.frames * sizeof(int16_t) : 1);
	if (pcm->samples == NULL) {
		rc = LK_ENOMEM;
		goto out;
	}
	pcm->n = aud_wav_read_mono(&info, pcm->samples, info.frames);
	pcm->rate = info.rate;
	pcm->channels = info.channels;
	rc = 0;
out:
	free(raw);
	close(fd);
	return rc;
}

void
aud_wav_pcm_free(struct aud_wav_pcm *pcm)
{
	free(pcm->samples);
	pcm->samples = NULL;
	pcm->n = 0;
}
