# src/devserver: lk-devserver, the LiveKit-compatible server for local runs
# and tests (Twirp RoomService/AgentDispatchService, /rtc signalling, the
# audio SFU, /agent worker protocol), its unit tests and the Twirp JSON
# fuzz target.

DS_CORE_SOURCES = \
	src/devserver/ds.h \
	src/devserver/auth.c src/devserver/auth.h \
	src/devserver/rooms.c src/devserver/rooms.h \
	src/devserver/twirp.c src/devserver/twirp.h
DS_LIBS = src/rtc/librtc.a src/net/libnet.a src/proto/libproto.a src/common/libcommon.a \
	$(EV_LIBS) $(WSLAY_LIBS) $(SRTP_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(MHD_LIBS) \
	$(NANOPB_LIBS) -lm
# /rtc signalling and the SFU behind it (media transports from src/rtc).
DS_RTC_SOURCES = src/devserver/rtc.c src/devserver/rtc.h \
	src/devserver/sfu.c src/devserver/sfu.h

bin_PROGRAMS += lk-devserver
lk_devserver_SOURCES = src/devserver/main.c \
	$(DS_CORE_SOURCES) \
	$(DS_RTC_SOURCES) \
	src/devserver/agents.c src/devserver/agents_opts.h
lk_devserver_LDADD = $(DS_LIBS)
# The generated protobuf headers must exist before the first compile.
$(lk_devserver_OBJECTS): $(PROTO_GEN_H)

# Unit tests: the core files linked with stand-ins for the agents half of ds.h.
check_PROGRAMS += tests/unit/check_devserver
TESTS += tests/unit/check_devserver
tests_unit_check_devserver_SOURCES = tests/unit/check_devserver.c $(DS_CORE_SOURCES) \
	$(DS_RTC_SOURCES)
tests_unit_check_devserver_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_devserver_LDADD = $(DS_LIBS) $(CHECK_LIBS)
$(tests_unit_check_devserver_OBJECTS): $(PROTO_GEN_H)

# Fuzz target: the Twirp JSON request decoders (corpus in tests/fuzz/corpus/twirp_json/).
check_PROGRAMS += tests/fuzz/replay_twirp_json
TESTS += tests/fuzz/replay_twirp_json
tests_fuzz_replay_twirp_json_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_twirp_json.c \
	$(DS_CORE_SOURCES)
tests_fuzz_replay_twirp_json_LDADD = $(DS_LIBS)
$(tests_fuzz_replay_twirp_json_OBJECTS): $(PROTO_GEN_H)

# The /agent endpoint on its own, with stand-ins for the rest of ds.h.
check_PROGRAMS += tests/unit/check_agents
TESTS += tests/unit/check_agents
tests_unit_check_agents_SOURCES = tests/unit/check_agents.c \
	src/devserver/agents.c src/devserver/agents_opts.h src/devserver/ds.h
tests_unit_check_agents_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_agents_LDADD = $(DS_LIBS) $(CHECK_LIBS)
$(tests_unit_check_agents_OBJECTS): $(PROTO_GEN_H)

# The SFU against client transports of src/rtc over 127.0.0.1 (rooms.c's
# arena is stood in by the test).
check_PROGRAMS += tests/unit/check_sfu
TESTS += tests/unit/check_sfu
tests_unit_check_sfu_SOURCES = tests/unit/check_sfu.c \
	src/devserver/sfu.c src/devserver/sfu.h tests/common/loop_check.c tests/common/loop_check.h
tests_unit_check_sfu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_sfu_LDADD = $(DS_LIBS) $(CHECK_LIBS)
$(tests_unit_check_sfu_OBJECTS): $(PROTO_GEN_H)
