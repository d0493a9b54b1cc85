# src/ipc: supervisor <-> job process messages (msgpack over SOCK_SEQPACKET);
# linked into lk-supervisor and lk-jobproc.
noinst_LIBRARIES += src/ipc/libipc.a
src_ipc_libipc_a_SOURCES = \
	src/ipc/ipc.c src/ipc/ipc.h \
	src/ipc/peer.c

check_PROGRAMS += tests/unit/check_ipc
TESTS += tests/unit/check_ipc
tests_unit_check_ipc_SOURCES = tests/unit/check_ipc.c tests/common/loop_check.c tests/common/loop_check.h
tests_unit_check_ipc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_ipc_LDADD = src/ipc/libipc.a src/common/libcommon.a \
	$(MSGPACK_LIBS) $(EV_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS) -lm

check_PROGRAMS += tests/fuzz/replay_ipc
TESTS += tests/fuzz/replay_ipc
tests_fuzz_replay_ipc_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ipc.c
tests_fuzz_replay_ipc_LDADD = src/ipc/libipc.a src/common/libcommon.a \
	$(MSGPACK_LIBS) $(EV_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) -lm
EXTRA_DIST += tests/fuzz/corpus/ipc
