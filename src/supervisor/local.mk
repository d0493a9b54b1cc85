# src/supervisor: lk-supervisor (agent link, job pool, drain, load,
# health/metrics, systemd notify) and its unit tests. The pool's sources
# come from pool.mk as $(SUP_POOL_SOURCES).

bin_PROGRAMS += lk-supervisor
lk_supervisor_SOURCES = src/supervisor/main.c \
	src/supervisor/config.c src/supervisor/config.h \
	src/supervisor/agent.c src/supervisor/agent.h \
	src/supervisor/load.c src/supervisor/load.h \
	src/supervisor/httpd.c src/supervisor/httpd.h \
	src/supervisor/notify.c src/supervisor/notify.h \
	$(SUP_POOL_SOURCES)
lk_supervisor_LDADD = src/net/libnet.a src/ipc/libipc.a src/proto/libproto.a \
	src/common/libcommon.a $(EV_LIBS) $(WSLAY_LIBS) $(OPENSSL_LIBS) $(MSGPACK_LIBS) \
	$(JANSSON_LIBS) $(MHD_LIBS) $(NANOPB_LIBS) -lm
# The generated protobuf headers must exist before the first compile.
$(lk_supervisor_OBJECTS): $(PROTO_GEN_H)

EXTRA_DIST += systemd/lk-supervisor.service systemd/lk-supervisor.env.example

check_PROGRAMS += tests/unit/check_supconfig tests/unit/check_load
TESTS += tests/unit/check_supconfig tests/unit/check_load

tests_unit_check_supconfig_SOURCES = tests/unit/check_supconfig.c \
	src/supervisor/config.c src/supervisor/config.h \
	src/supervisor/load.c src/supervisor/load.h
tests_unit_check_supconfig_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_supconfig_LDADD = src/common/libcommon.a $(EV_LIBS) $(CHECK_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) -lm

tests_unit_check_load_SOURCES = tests/unit/check_load.c \
	src/supervisor/load.c src/supervisor/load.h
tests_unit_check_load_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_load_LDADD = src/common/libcommon.a $(EV_LIBS) $(CHECK_LIBS) $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) -lm
