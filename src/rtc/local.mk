# src/rtc: WebRTC wire formats as pure functions over bytes (STUN/ICE
# attributes, SDP, RTP/RTCP with a reorder buffer, RFC 7983 demux);
# linked into lk-jobproc and lk-devserver.
noinst_LIBRARIES += src/rtc/librtc.a
src_rtc_librtc_a_SOURCES = \
	src/rtc/demux.c src/rtc/demux.h \
	src/rtc/stun.c src/rtc/stun.h \
	src/rtc/sdp.c src/rtc/sdp_write.c src/rtc/sdp.h \
	src/rtc/rtp.c src/rtc/rtp.h \
	src/rtc/rtcp.c src/rtc/rtcp.h \
	src/rtc/rtp_reorder.c src/rtc/rtp_reorder.h

RTC_LIBS = src/rtc/librtc.a src/common/libcommon.a $(OPENSSL_LIBS) $(JANSSON_LIBS)

# Unit tests: one Check suite per module.
check_PROGRAMS += tests/unit/check_stun tests/unit/check_sdp tests/unit/check_rtp \
	tests/unit/check_demux
TESTS += tests/unit/check_stun tests/unit/check_sdp tests/unit/check_rtp \
	tests/unit/check_demux

tests_unit_check_stun_SOURCES = tests/unit/check_stun.c
tests_unit_check_stun_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_stun_LDADD = $(RTC_LIBS) $(CHECK_LIBS)

# check_sdp parses offers captured from @livekit/rtc-node
# (tests/unit/fixtures/sdp/README.md).
tests_unit_check_sdp_SOURCES = tests/unit/check_sdp.c
tests_unit_check_sdp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_sdp_LDADD = $(RTC_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/unit/fixtures/sdp

tests_unit_check_rtp_SOURCES = tests/unit/check_rtp.c
tests_unit_check_rtp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_rtp_LDADD = $(RTC_LIBS) $(CHECK_LIBS)

tests_unit_check_demux_SOURCES = tests/unit/check_demux.c
tests_unit_check_demux_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_demux_LDADD = $(RTC_LIBS) $(CHECK_LIBS)

# Fuzz targets (tests/fuzz/local.mk explains the replay driver).
check_PROGRAMS += tests/fuzz/replay_stun tests/fuzz/replay_sdp tests/fuzz/replay_rtp \
	tests/fuzz/replay_demux
TESTS += tests/fuzz/replay_stun tests/fuzz/replay_sdp tests/fuzz/replay_rtp \
	tests/fuzz/replay_demux
tests_fuzz_replay_stun_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_stun.c
tests_fuzz_replay_stun_LDADD = $(RTC_LIBS)
tests_fuzz_replay_sdp_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sdp.c
tests_fuzz_replay_sdp_LDADD = $(RTC_LIBS)
tests_fuzz_replay_rtp_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_rtp.c
tests_fuzz_replay_rtp_LDADD = $(RTC_LIBS)
tests_fuzz_replay_demux_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_demux.c
tests_fuzz_replay_demux_LDADD = $(RTC_LIBS)
EXTRA_DIST += tests/fuzz/corpus/stun tests/fuzz/corpus/sdp tests/fuzz/corpus/rtp \
	tests/fuzz/corpus/demux
