# Media scenarios: real WebRTC peers (@livekit/rtc-node) against lk-devserver,
# lk-supervisor and lk-jobproc, each scenario inside a network namespace of
# its own (libwebrtc ignores loopback). Without root or unshare they exit 77
# (SKIP). Each script begins with what it proves.
MEDIA_TESTS = \
	tests/integration/media_sfu.sh \
	tests/integration/media_echo.sh \
	tests/integration/media_record.sh \
	tests/integration/media_tone.sh \
	tests/integration/media_faults.sh \
	tests/integration/media_alloc.sh

TESTS += $(MEDIA_TESTS)
EXTRA_DIST += $(MEDIA_TESTS) tests/integration/netns.sh tests/integration/peer_lib.mjs \
	tests/integration/peer_tone.mjs tests/integration/peer_listen.mjs \
	tests/integration/peer_both.mjs tests/integration/peer_rtt.mjs \
	tests/integration/fake_livekit.mjs tests/bench/media.sh

# The allocation counter preloaded into lk-jobproc by media_alloc.sh and the
# media benchmark (LD_PRELOAD; see the file). A shared object, built as a
# program so that no libtool is needed; never sanitized (a sanitizer owns
# malloc, and media_alloc.sh skips in such a build).
check_PROGRAMS += tests/common/alloc_preload.so
tests_common_alloc_preload_so_SOURCES = tests/common/alloc_preload.c tests/common/alloc_wrap.h
tests_common_alloc_preload_so_CFLAGS = -std=gnu11 -g -O2 $(WARN_CFLAGS) -fPIC
tests_common_alloc_preload_so_LDFLAGS = -shared -fPIC
tests_common_alloc_preload_so_LDADD = -lpthread
EXTRA_DIST += tests/common/alloc_sites.mjs tests/bench/media_alloc.sh
