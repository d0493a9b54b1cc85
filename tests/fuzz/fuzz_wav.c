/*
 * fuzz_wav: feeds arbitrary bytes to the strict WAV parser (src/audio/wav.c)
 * and, when it accepts them, converts the samples into an exactly sized
 * buffer, checking that every reported length stays inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "audio/wav.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aud_wav_info info;
	int16_t *pcm;
	size_t n;
	int rc;

	rc = aud_wav_parse(data, size, &info);
	if (rc < 0) {
		if (rc != LK_EINVAL && rc != LK_ETYPE && rc != LK_ETRAIL && rc != LK_ETOOBIG)
			abort();
		if (info.data != NULL || info.frames != 0)
			abort();
		return 0;
	}
	if (info.channels < 1 || info.channels > 2 || info.bits != 16 || info.rate < 1)
		abort();
	if (info.data < data || info.data_len > size ||
	        (size_t)(info.data - data) > size - info.data_len)
		abort();
	if (info.data_len != (size_t)info.frames * (size_t)info.channels * 2)
		abort();
	/* Exactly frames samples, so ASan sees any write past them. */
	pcm = malloc(info.frames > 0 ? (size_t)info.frames * sizeof(int16_t) : 1);
	if (pcm == NULL)
		return 0;
	n = aud_wav_read_mono(&info, pcm, info.frames);
	if (n != info.frames)
		abort();
	/* A smaller buffer is honoured too. */
	if (info.frames > 1 && aud_wav_read_mono(&info, pcm, info.frames / 2) != info.frames / 2)
		abort();
	free(pcm);
	return 0;
}
