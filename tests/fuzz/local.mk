# Fuzz targets: each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput
# and is linked with replay.c into replay_<name>, which `make check` runs
# over tests/fuzz/corpus/<name>/. The targets are declared in the local.mk
# of the library they exercise, following this pattern:
#
#   check_PROGRAMS += tests/fuzz/replay_ipc
#   TESTS += tests/fuzz/replay_ipc
#   tests_fuzz_replay_ipc_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ipc.c
#   tests_fuzz_replay_ipc_LDADD = src/ipc/libipc.a src/common/libcommon.a $(MSGPACK_LIBS)
EXTRA_DIST += tests/fuzz/corpus
