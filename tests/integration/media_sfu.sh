#!/bin/bash
# Audio through lk-devserver's SFU alone. Two real WebRTC participants
# (@livekit/rtc-node, i.e. libwebrtc) join one room: alice publishes a
# 440 Hz sine as her microphone, bob subscribes and listens. Proves that
# the dev server's signalling, ICE-lite, DTLS-SRTP and RTP forwarding are
# accepted by libwebrtc in both directions: bob hears 440 +- 5 Hz from
# alice at a level above -40 dBFS, and the dev server's /debug/rtc counters
# show the packets. Runs in a network namespace of its own (10.77.1.1).
. "$(dirname "$0")/netns.sh"
netns_enter 1 "$@"
need_rtc_node
start_media_devserver

peer bob listen --url "$DS_URL" --room sfu --identity bob --from alice --seconds 3 --timeout 90
BOB=$PEER_PID
peer alice tone --url "$DS_URL" --room sfu --identity alice --freq 440 --seconds 120
ALICE=$PEER_PID
peer_wait bob "$BOB" 100
expect_tone "$WORK/bob.json" 440 5 -40 alice

ds_rtc >"$WORK/rtc.json" || fail "GET /debug/rtc failed"
log "dev server /debug/rtc: $(cat "$WORK/rtc.json")"
kill -0 "$ALICE" 2>/dev/null || fail "alice's peer ended early: $(tail -5 "$WORK/alice.log")"
kill -0 "$DS_PID" || fail "dev server died"
log "ok: 440 Hz from alice reached bob through the SFU"
