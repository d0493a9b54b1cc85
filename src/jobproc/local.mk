# src/jobproc: lk-jobproc, the process that runs one job: job context,
# /rtc signalling client, media (peer connections, audio pipelines, taps),
# scripts. The library holds everything but main() so that the unit tests
# and the fuzz target link the same code.
noinst_LIBRARIES += src/jobproc/libjobproc.a
src_jobproc_libjobproc_a_SOURCES = \
	src/jobproc/job.c src/jobproc/job.h \
	src/jobproc/room.c src/jobproc/room.h \
	src/jobproc/media.c src/jobproc/media.h \
	src/jobproc/pipeline.c src/jobproc/pipeline.h \
	src/jobproc/tap.h \
	src/jobproc/scripts.c src/jobproc/scripts.h
# The generated protobuf headers must exist before room.c compiles.
$(src_jobproc_libjobproc_a_OBJECTS): $(PROTO_GEN_H)

JOBPROC_LIBS = src/jobproc/libjobproc.a src/rtc/librtc.a src/audio/libaudio.a \
	src/net/libnet.a src/ipc/libipc.a src/proto/libproto.a src/common/libcommon.a \
	$(EV_LIBS) $(WSLAY_LIBS) $(SRTP_LIBS) $(OPENSSL_LIBS) $(OPUS_LIBS) $(SPEEXDSP_LIBS) \
	$(MSGPACK_LIBS) $(JANSSON_LIBS) $(NANOPB_LIBS) -lm

bin_PROGRAMS += lk-jobproc
lk_jobproc_SOURCES = src/jobproc/main.c
lk_jobproc_LDADD = $(JOBPROC_LIBS)
$(lk_jobproc_OBJECTS): $(PROTO_GEN_H)

check_PROGRAMS += tests/unit/check_job
TESTS += tests/unit/check_job
tests_unit_check_job_SOURCES = tests/unit/check_job.c
tests_unit_check_job_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_job_LDADD = $(JOBPROC_LIBS) $(CHECK_LIBS)
$(tests_unit_check_job_OBJECTS): $(PROTO_GEN_H)

# The audio paths (loss, reordering, the tap's frequency, RTP out, the
# pacer, allocations after warm-up) and the offer/answer logic of media.c
# on captured offers, all without sockets.
check_PROGRAMS += tests/unit/check_pipeline
TESTS += tests/unit/check_pipeline
tests_unit_check_pipeline_SOURCES = tests/unit/check_pipeline.c tests/common/alloc_count.c tests/common/alloc_count.h tests/common/alloc_wrap.h
tests_unit_check_pipeline_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_pipeline_LDADD = $(JOBPROC_LIBS) $(CHECK_LIBS)
$(tests_unit_check_pipeline_OBJECTS): $(PROTO_GEN_H)

# The room's SignalResponse handler (decode plus join/participant state,
# subscriber offers answered offline, trickle and track_published).
check_PROGRAMS += tests/fuzz/replay_room
TESTS += tests/fuzz/replay_room
tests_fuzz_replay_room_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_room.c
tests_fuzz_replay_room_LDADD = $(JOBPROC_LIBS)
$(tests_fuzz_replay_room_OBJECTS): $(PROTO_GEN_H)
