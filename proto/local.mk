# proto: the LiveKit .proto subset and its nanopb code. The generated
# proto/*.pb.[ch] are build products written to $(builddir)/proto/ (found
# through -I$(builddir)/proto in AM_CPPFLAGS) and compiled into
# src/proto/libproto.a together with the lkpb glue.

PROTO_FILES = proto/livekit_models.proto proto/livekit_agent.proto \
	proto/livekit_agent_dispatch.proto proto/livekit_room.proto proto/livekit_rtc.proto
PROTO_OPTIONS = proto/livekit_models.options proto/livekit_agent.options \
	proto/livekit_agent_dispatch.options proto/livekit_room.options proto/livekit_rtc.options
PROTO_GEN_C = proto/livekit_models.pb.c proto/livekit_agent.pb.c \
	proto/livekit_agent_dispatch.pb.c proto/livekit_room.pb.c proto/livekit_rtc.pb.c
PROTO_GEN_H = proto/livekit_models.pb.h proto/livekit_agent.pb.h \
	proto/livekit_agent_dispatch.pb.h proto/livekit_room.pb.h proto/livekit_rtc.pb.h

EXTRA_DIST += $(PROTO_FILES) $(PROTO_OPTIONS) proto/README.md
BUILT_SOURCES += $(PROTO_GEN_H)
CLEANFILES += $(PROTO_GEN_C) $(PROTO_GEN_H) proto/gen.stamp

# One generator run writes all five pairs (the files import each other);
# the stamp stands for all of them. The .options files sit next to the
# .proto files and are found through -I. A submessage field that is not
# FT_POINTER would break lkpb.h's ownership rules, so it fails the build.
proto/gen.stamp: $(PROTO_FILES:%=$(srcdir)/%) $(PROTO_OPTIONS:%=$(srcdir)/%)
	@$(MKDIR_P) proto
	@rm -f proto/gen.tmp
	@touch proto/gen.tmp
	$(AM_V_GEN)$(NANOPB_GEN) -q --error-on-unmatched -I$(srcdir)/proto -D proto \
		$(PROTO_FILES:%=$(srcdir)/%)
	@if grep -n 'STATIC.*MESSAGE' $(PROTO_GEN_H); then \
		echo "proto: submessage fields above must be FT_POINTER in the .options" >&2; \
		rm -f $(PROTO_GEN_C) $(PROTO_GEN_H) proto/gen.tmp; exit 1; fi
	@mv -f proto/gen.tmp $@

# Recover when a generated file was removed but the stamp is still there.
$(PROTO_GEN_C) $(PROTO_GEN_H): proto/gen.stamp
	@test -f $@ || { rm -f proto/gen.stamp; $(MAKE) $(AM_MAKEFLAGS) proto/gen.stamp; }

noinst_LIBRARIES += src/proto/libproto.a
src_proto_libproto_a_SOURCES = src/proto/lkpb.c src/proto/lkpb.h
nodist_src_proto_libproto_a_SOURCES = $(PROTO_GEN_C) $(PROTO_GEN_H)
# Targets built on their own (not through all/check, which honour
# BUILT_SOURCES) still need the headers before the first compile.
$(src_proto_libproto_a_OBJECTS): $(PROTO_GEN_H)

# Unit tests: Node worker captures and @livekit/protocol encodings decoded,
# re-encoded byte for byte; hostile input.
PROTO_TEST_LIBS = src/proto/libproto.a src/common/libcommon.a $(NANOPB_LIBS)
check_PROGRAMS += tests/unit/check_proto
TESTS += tests/unit/check_proto
tests_unit_check_proto_SOURCES = tests/unit/check_proto.c
tests_unit_check_proto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_proto_LDADD = $(PROTO_TEST_LIBS) $(CHECK_LIBS)
$(tests_unit_check_proto_OBJECTS): $(PROTO_GEN_H)

# Fuzz targets for the four WebSocket frame decoders, replayed over
# tests/fuzz/corpus/<name>/ by `make check`.
check_PROGRAMS += tests/fuzz/replay_server_message tests/fuzz/replay_worker_message \
	tests/fuzz/replay_signal_request tests/fuzz/replay_signal_response
TESTS += tests/fuzz/replay_server_message tests/fuzz/replay_worker_message \
	tests/fuzz/replay_signal_request tests/fuzz/replay_signal_response
tests_fuzz_replay_server_message_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_server_message.c
tests_fuzz_replay_server_message_LDADD = $(PROTO_TEST_LIBS)
tests_fuzz_replay_worker_message_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_worker_message.c
tests_fuzz_replay_worker_message_LDADD = $(PROTO_TEST_LIBS)
tests_fuzz_replay_signal_request_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_signal_request.c
tests_fuzz_replay_signal_request_LDADD = $(PROTO_TEST_LIBS)
tests_fuzz_replay_signal_response_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_signal_response.c
tests_fuzz_replay_signal_response_LDADD = $(PROTO_TEST_LIBS)
$(tests_fuzz_replay_server_message_OBJECTS) $(tests_fuzz_replay_worker_message_OBJECTS) \
$(tests_fuzz_replay_signal_request_OBJECTS) $(tests_fuzz_replay_signal_response_OBJECTS): \
	$(PROTO_GEN_H)
