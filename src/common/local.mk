# src/common: logging, errors, clocks/ids/base64, buffers, backoff,
# configuration, JWT and HMAC-SHA1; linked into every lkworker binary.
noinst_LIBRARIES += src/common/libcommon.a
src_common_libcommon_a_SOURCES = \
	src/common/log.c src/common/log.h \
	src/common/err.c src/common/err.h \
	src/common/util.c src/common/util.h \
	src/common/buf.c src/common/buf.h \
	src/common/backoff.c src/common/backoff.h \
	src/common/cfg.c src/common/cfg.h \
	src/common/jwt.c src/common/jwt.h \
	src/common/hmac.c src/common/hmac.h

COMMON_TEST_LDADD = src/common/libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)

# Unit tests: one Check suite per module.
check_PROGRAMS += tests/unit/check_log tests/unit/check_util tests/unit/check_buf \
	tests/unit/check_backoff tests/unit/check_cfg tests/unit/check_jwt
TESTS += tests/unit/check_log tests/unit/check_util tests/unit/check_buf \
	tests/unit/check_backoff tests/unit/check_cfg tests/unit/check_jwt

tests_unit_check_log_SOURCES = tests/unit/check_log.c
tests_unit_check_log_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_log_LDADD = $(COMMON_TEST_LDADD)

tests_unit_check_util_SOURCES = tests/unit/check_util.c
tests_unit_check_util_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_util_LDADD = $(COMMON_TEST_LDADD)

tests_unit_check_buf_SOURCES = tests/unit/check_buf.c
tests_unit_check_buf_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_buf_LDADD = $(COMMON_TEST_LDADD)

tests_unit_check_backoff_SOURCES = tests/unit/check_backoff.c
tests_unit_check_backoff_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_backoff_LDADD = $(COMMON_TEST_LDADD)

tests_unit_check_cfg_SOURCES = tests/unit/check_cfg.c
tests_unit_check_cfg_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_cfg_LDADD = $(COMMON_TEST_LDADD)

# check_jwt verifies tokens made by livekit-server-sdk (fixtures/jwt/README.md).
tests_unit_check_jwt_SOURCES = tests/unit/check_jwt.c
tests_unit_check_jwt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_jwt_LDADD = $(COMMON_TEST_LDADD)
EXTRA_DIST += tests/unit/fixtures/jwt

# Fuzz targets (tests/fuzz/local.mk explains the replay driver).
check_PROGRAMS += tests/fuzz/replay_jwt tests/fuzz/replay_cfg
TESTS += tests/fuzz/replay_jwt tests/fuzz/replay_cfg
tests_fuzz_replay_jwt_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_jwt.c
tests_fuzz_replay_jwt_LDADD = src/common/libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
tests_fuzz_replay_cfg_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_cfg.c
tests_fuzz_replay_cfg_LDADD = src/common/libcommon.a
