# src/supervisor pool: lk-supervisor's job processes (spawn, pings, memory,
# timeouts, shutdown ladder). SUP_POOL_SOURCES is listed in lk-supervisor's
# sources; check_pool runs the same files against a fake job process.
SUP_POOL_SOURCES = \
	src/supervisor/pool.c src/supervisor/pool.h \
	src/supervisor/pool_int.h \
	src/supervisor/pool_spawn.c \
	src/supervisor/pool_mem.c

check_PROGRAMS += tests/unit/check_pool tests/unit/fake_jobproc
TESTS += tests/unit/check_pool
tests_unit_check_pool_SOURCES = $(SUP_POOL_SOURCES) tests/unit/check_pool.c \
	tests/common/loop_check.c tests/common/loop_check.h
tests_unit_check_pool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_pool_LDADD = src/ipc/libipc.a src/common/libcommon.a \
	$(MSGPACK_LIBS) $(EV_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS) -lm
# started by check_pool in place of lk-jobproc; never installed
tests_unit_fake_jobproc_SOURCES = tests/unit/fake_jobproc.c
tests_unit_fake_jobproc_LDADD = src/ipc/libipc.a src/common/libcommon.a \
	$(MSGPACK_LIBS) $(EV_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) -lm
