# src/audio: Opus codec, speexdsp resampler, frame rings, tone generator,
# WAV writer/parser and analysis; linked into lk-jobproc (never the supervisor).
noinst_LIBRARIES += src/audio/libaudio.a
src_audio_libaudio_a_SOURCES = \
	src/audio/codec.c src/audio/codec.h \
	src/audio/resample.c src/audio/resample.h \
	src/audio/ring.c src/audio/ring.h \
	src/audio/tone.c src/audio/tone.h \
	src/audio/wav.c src/audio/wav.h \
	src/audio/analyze.c src/audio/analyze.h

AUDIO_LIBS = src/audio/libaudio.a src/common/libcommon.a $(OPUS_LIBS) $(SPEEXDSP_LIBS) -lm

# Unit tests: one Check suite per module in check_audio; the allocation
# counts need their own binary (it replaces malloc) and skip under ASan.
check_PROGRAMS += tests/unit/check_audio tests/unit/check_audio_alloc
TESTS += tests/unit/check_audio tests/unit/check_audio_alloc
tests_unit_check_audio_SOURCES = tests/unit/check_audio.c
tests_unit_check_audio_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_audio_LDADD = $(AUDIO_LIBS) $(CHECK_LIBS)
tests_unit_check_audio_alloc_SOURCES = tests/unit/check_audio_alloc.c tests/common/alloc_count.c tests/common/alloc_count.h tests/common/alloc_wrap.h
tests_unit_check_audio_alloc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_audio_alloc_LDADD = $(AUDIO_LIBS) $(CHECK_LIBS)

# Fuzz target for the WAV parser (tests/fuzz/local.mk explains the replay).
check_PROGRAMS += tests/fuzz/replay_wav
TESTS += tests/fuzz/replay_wav
tests_fuzz_replay_wav_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_wav.c
tests_fuzz_replay_wav_LDADD = $(AUDIO_LIBS)

# Per-frame CPU time and allocations of the media paths, built by `make
# bench` (scripts/bench.sh), never by `make all` or `make check`.
EXTRA_PROGRAMS += tests/bench/bench_audio
tests_bench_bench_audio_SOURCES = tests/bench/bench_audio.c tests/common/alloc_count.c tests/common/alloc_count.h tests/common/alloc_wrap.h
tests_bench_bench_audio_LDADD = $(AUDIO_LIBS)
CLEANFILES += tests/bench/bench_audio
