# src/rtc/transport.mk: the ICE agent (ice.c, sans-IO) and the transport
# that runs it with DTLS-SRTP on a UDP socket of the libev loop
# (transport.c). Part of librtc.a; whatever links transport.o also needs
# $(EV_LIBS) $(SRTP_LIBS) $(OPENSSL_LIBS).
src_rtc_librtc_a_SOURCES += \
	src/rtc/ice.c src/rtc/ice.h \
	src/rtc/transport.c src/rtc/transport.h

TRANSPORT_LIBS = src/rtc/librtc.a src/common/libcommon.a $(SRTP_LIBS) $(OPENSSL_LIBS) \
	$(EV_LIBS) $(JANSSON_LIBS)

# check_ice: two agents exchanging STUN in memory with a simulated clock.
# check_transport: two transports over 127.0.0.1 on one loop.
check_PROGRAMS += tests/unit/check_ice tests/unit/check_transport
TESTS += tests/unit/check_ice tests/unit/check_transport

tests_unit_check_ice_SOURCES = tests/unit/check_ice.c
tests_unit_check_ice_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_ice_LDADD = $(TRANSPORT_LIBS) $(CHECK_LIBS)

tests_unit_check_transport_SOURCES = tests/unit/check_transport.c tests/common/loop_check.c \
	tests/common/loop_check.h
tests_unit_check_transport_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_transport_LDADD = $(TRANSPORT_LIBS) $(CHECK_LIBS)
