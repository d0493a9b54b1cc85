# Media scenarios: real WebRTC peers (@livekit/rtc-node) against lk-devserver,
# lk-supervisor and lk-jobproc, each scenario inside a network namespace of
# its own (libwebrtc ignores loopback). Without root or unshare they exit 77
# (SKIP). Each script begins with what it proves.
MEDIA_TESTS = \
	tests/integration/media_sfu.sh \
	tests/integration/media_echo.sh \
	tests/integration/media_record.sh \
	tests/integration/media_tone.sh \
	tests/integration/media_faults.sh

TESTS += $(MEDIA_TESTS)
EXTRA_DIST += $(MEDIA_TESTS) tests/integration/netns.sh tests/integration/peer_lib.mjs \
	tests/integration/peer_tone.mjs tests/integration/peer_listen.mjs \
	tests/integration/peer_both.mjs tests/integration/peer_rtt.mjs \
	tests/integration/fake_livekit.mjs tests/bench/media.sh
