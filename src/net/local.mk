# src/net: WebSocket client/server connections (wslay + OpenSSL on libev)
# and the HTTP server (libmicrohttpd in external epoll mode).
noinst_LIBRARIES += src/net/libnet.a
src_net_libnet_a_SOURCES = \
	src/net/ws.c src/net/ws.h \
	src/net/http.c src/net/http.h \
	src/net/httphead.c src/net/httphead.h

NET_TEST_LDADD = src/net/libnet.a src/common/libcommon.a \
	$(MHD_LIBS) $(WSLAY_LIBS) $(OPENSSL_LIBS) $(EV_LIBS)

check_PROGRAMS += tests/unit/check_ws tests/unit/check_http
TESTS += tests/unit/check_ws tests/unit/check_http
tests_unit_check_ws_SOURCES = tests/unit/check_ws.c tests/unit/net_rawclient.h
tests_unit_check_ws_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_ws_LDADD = $(NET_TEST_LDADD) $(CHECK_LIBS)
tests_unit_check_http_SOURCES = tests/unit/check_http.c tests/unit/net_rawclient.h
tests_unit_check_http_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_http_LDADD = $(NET_TEST_LDADD) $(CHECK_LIBS)

# Fuzz targets (replayed over tests/fuzz/corpus/<name>/ by make check).
check_PROGRAMS += tests/fuzz/replay_ws_handshake tests/fuzz/replay_ws_frames
TESTS += tests/fuzz/replay_ws_handshake tests/fuzz/replay_ws_frames
tests_fuzz_replay_ws_handshake_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_handshake.c
tests_fuzz_replay_ws_handshake_LDADD = $(NET_TEST_LDADD)
tests_fuzz_replay_ws_frames_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_frames.c
tests_fuzz_replay_ws_frames_LDADD = $(NET_TEST_LDADD)
