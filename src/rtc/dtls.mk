# src/rtc/dtls.mk: the DTLS-SRTP half of a transport: the process's
# certificate (cert.c), the DTLS 1.2 handshake with use_srtp (dtls.c,
# OpenSSL) and SRTP/SRTCP protection (srtp.c, libsrtp2, with the OpenSSL
# transforms of srtp_crypto.c installed in it). Part of librtc.a;
# whatever links these objects also needs $(OPENSSL_LIBS) $(SRTP_LIBS).
src_rtc_librtc_a_SOURCES += \
	src/rtc/cert.c src/rtc/cert.h \
	src/rtc/dtls.c src/rtc/dtls.h \
	src/rtc/srtp.c src/rtc/srtp.h \
	src/rtc/srtp_crypto.c src/rtc/srtp_crypto.h

DTLS_LIBS = src/rtc/librtc.a src/common/libcommon.a $(SRTP_LIBS) $(OPENSSL_LIBS)

# check_dtls runs two associations back to back in memory, and against
# the openssl command-line tool over UDP loopback when it is installed.
check_PROGRAMS += tests/unit/check_dtls tests/unit/check_srtp
TESTS += tests/unit/check_dtls tests/unit/check_srtp

tests_unit_check_dtls_SOURCES = tests/unit/check_dtls.c
tests_unit_check_dtls_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_dtls_LDADD = $(DTLS_LIBS) $(CHECK_LIBS)

# check_srtp also counts allocations per packet.
tests_unit_check_srtp_SOURCES = tests/unit/check_srtp.c tests/common/alloc_count.c \
	tests/common/alloc_count.h tests/common/alloc_wrap.h
tests_unit_check_srtp_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_srtp_LDADD = $(DTLS_LIBS) $(CHECK_LIBS)

# Fuzz: arbitrary datagrams into a server-role association.
check_PROGRAMS += tests/fuzz/replay_dtls
TESTS += tests/fuzz/replay_dtls
tests_fuzz_replay_dtls_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_dtls.c
tests_fuzz_replay_dtls_LDADD = $(DTLS_LIBS)
EXTRA_DIST += tests/fuzz/corpus/dtls

# Fuzz: arbitrary SRTP/SRTCP packets into an association, and arbitrary
# plaintext through protect and the peer's unprotect (all three profiles).
check_PROGRAMS += tests/fuzz/replay_srtp
TESTS += tests/fuzz/replay_srtp
tests_fuzz_replay_srtp_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_srtp.c
tests_fuzz_replay_srtp_LDADD = $(DTLS_LIBS)
EXTRA_DIST += tests/fuzz/corpus/srtp
