#!/bin/bash
# `make run` stays true: scripts/demo.sh (what `make run` runs after the
# build) exits 0; its record agent heard the one-off tone caller at 440 Hz
# over WebRTC and says where the WAV is; the job ended JS_SUCCESS; and
# nothing the demo started is left running.
. "$(dirname "$0")/lib.sh"
need_node
DEMO_PORT=$(free_port)
DEMO_HTTP=127.0.0.1:$(free_port)
rc=0
LK_DEMO_PORT=$DEMO_PORT LK_DEMO_HTTP=$DEMO_HTTP timeout 120 "$SRCDIR/scripts/demo.sh" "$BUILDDIR" \
	>"$WORK/demo.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -n 30 "$WORK/demo.out"; fail "the demo exited $rc"; }
heard=$(grep 'the caller at' "$WORK/demo.out") || { tail -n 30 "$WORK/demo.out"; fail "the demo does not say what the agent heard"; }
log "$heard"
hz=$(printf '%s\n' "$heard" | sed -n 's/.*the caller at \([0-9.]*\) Hz.*/\1/p')
awk -v f="$hz" 'BEGIN { exit !(f >= 435 && f <= 445) }' || fail "the agent heard '$hz' Hz, want 440 +- 5"
wav=$(sed -n 's/.*WAV (24 kHz, 16-bit mono): \(.*\)$/\1/p' "$WORK/demo.out")
[ -s "$wav" ] || fail "the demo names WAV '$wav', which is missing or empty"
grep -q '"status":"JS_SUCCESS"' "$WORK/demo.out" || fail "the demo's job did not end JS_SUCCESS"
left=$(pgrep -f -- "--port $DEMO_PORT|$DEMO_HTTP" || true)
[ -z "$left" ] || fail "the demo left processes running: $left"
# The demo keeps its logs for the user; this run's are not needed.
LOGS=$(sed -n 's/.*demo done (logs: \(\/tmp\/lkworker-demo\.[^)]*\)).*/\1/p' "$WORK/demo.out")
[ -n "$LOGS" ] && rm -rf "$LOGS"
log "ok: make run's demo works end to end ($wav)"
