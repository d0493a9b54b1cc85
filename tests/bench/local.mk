# Benchmark tools, built by `make bench` (scripts/bench.sh), never by `make check`.
EXTRA_PROGRAMS += tests/bench/bench_spawn
tests_bench_bench_spawn_SOURCES = tests/bench/bench_spawn.c
tests_bench_bench_spawn_LDADD = src/ipc/libipc.a src/common/libcommon.a $(MSGPACK_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS)
CLEANFILES += tests/bench/bench_spawn
