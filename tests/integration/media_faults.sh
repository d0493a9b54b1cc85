#!/bin/bash
# Media under hostile and lossy networks, and a hostile server.
# (a) While a one-off `tone` job (440 Hz) is heard by a real rtc-node
#     participant, thousands of garbage UDP datagrams (random bytes; bytes
#     behind a first byte of 0x00, 0x16 and 0x80; plausible STUN, DTLS, RTP
#     and RTCP headers with nonsense behind them) hit every media port of
#     lk-devserver and of the job. Proves that garbage is counted and
#     dropped: the tone still arrives at 440 +- 5 Hz, nothing crashed, the
#     dev server's rx_garbage (/debug/rtc) and the job's (end-of-job log
#     line) rose, and the job still ends with exit code 0.
# (b) lk-devserver --rtc-drop-rate 0.1 drops 10 % of the RTP it receives:
#     the listener still hears 440 +- 5 Hz above -40 dBFS (Opus concealment)
#     and the server counted what it dropped.
# (c) A fake LiveKit server (fake_livekit.mjs) gives a real lk-supervisor
#     jobs whose room signalling sends malformed SDP offers (text garbage,
#     control characters, a truncated offer): each job fails and the
#     supervisor reports UpdateJobStatus JS_FAILED with an error naming the
#     SDP problem, and stays registered.
. "$(dirname "$0")/netns.sh"
netns_enter 5 "$@"
need_rtc_node

# ---- (a) garbage on every media port while a tone flows ----
start_media_devserver
DS_A=$DS_PID
"$BUILDDIR/lk-jobproc" --script tone --freq 440 --url "$DS_URL" --room garbage-room \
	--api-key "$API_KEY" --api-secret "$API_SECRET" --identity toner --duration 40s \
	>"$WORK/jobproc.log" 2>&1 &
JPID=$!
PIDS="$PIDS $JPID"
peer bob listen --url "$DS_URL" --room garbage-room --identity bob --from toner --seconds 10 --timeout 60
BOB=$PEER_PID
bob_subscribed() { grep -q 'subscribed to' "$WORK/bob.log"; }
wait_until 40 "bob subscribed to the tone" bob_subscribed
has_ports() { [ -n "$(udp_ports_of "$1")" ]; }
wait_until 10 "dev server media ports" has_ports "$DS_A"
wait_until 10 "job media ports" has_ports "$JPID"
DS_PORTS=$(udp_ports_of "$DS_A" | tr '\n' ' ')
JP_PORTS=$(udp_ports_of "$JPID" | tr '\n' ' ')
log "media ports: dev server $DS_PORTS; job $JP_PORTS"
ds_rtc >"$WORK/rtc0.json" || fail "GET /debug/rtc failed"
G0=$(rtc_sum "$WORK/rtc0.json" rx_garbage)
# shellcheck disable=SC2086
udp_garbage 250 $DS_PORTS $JP_PORTS >"$WORK/garbage.json" || fail "garbage sender failed"
log "garbage: $(cat "$WORK/garbage.json")"
# Counted now, while bob (whose transports got garbage too) is still in.
ds_rtc >"$WORK/rtc1.json" || fail "GET /debug/rtc failed after the garbage"
G1=$(rtc_sum "$WORK/rtc1.json" rx_garbage)
peer_wait bob "$BOB" 60
expect_tone "$WORK/bob.json" 440 5 -40 toner
kill -0 "$DS_A" 2>/dev/null || fail "dev server died under garbage"
kill -0 "$JPID" 2>/dev/null || fail "job died under garbage: $(tail -5 "$WORK/jobproc.log")"
log "dev server rx_garbage: $G0 -> $G1"
[ "$((G1 - G0))" -ge 100 ] || fail "dev server rx_garbage rose by $((G1 - G0)), want >= 100"
jp_gone() { ! kill -0 "$JPID" 2>/dev/null; }
wait_until 60 "tone job ended after --duration" jp_gone
rc=0; wait "$JPID" || rc=$?
[ "$rc" = 0 ] || fail "tone job exited $rc after the garbage, want 0"
# One "media transport closed" line per peer connection, with its counters.
grep rx_garbage "$WORK/jobproc.log" | while read -r l; do log "job: $l"; done
JG=$(grep -o '"rx_garbage":"\?[0-9]*' "$WORK/jobproc.log" | grep -o '[0-9]*$' | awk '{n += $1} END {print n + 0}')
[ "$(grep -c rx_garbage "$WORK/jobproc.log")" -ge 1 ] || fail "the job logged no rx_garbage counter at its end"
[ "$JG" -ge 100 ] || fail "job rx_garbage is $JG, want >= 100"
log "(a) ok: tone survived garbage; rx_garbage dev server +$((G1 - G0)), job $JG"

# ---- (b) 10 % RTP loss in the dev server ----
unset DS_PORT
start_media_devserver --rtc-drop-rate 0.1
peer bob2 listen --url "$DS_URL" --room lossy-room --identity bob2 --from alice2 --seconds 4 --timeout 90
BOB2=$PEER_PID
peer alice2 tone --url "$DS_URL" --room lossy-room --identity alice2 --freq 440 --seconds 120
peer_wait bob2 "$BOB2" 100
expect_tone "$WORK/bob2.json" 440 5 -40 alice2
ds_rtc >"$WORK/rtc-lossy.json" || fail "GET /debug/rtc failed"
log "lossy dev server /debug/rtc: $(cat "$WORK/rtc-lossy.json")"
# alice2's track: RTP received and dropped on purpose instead of forwarded.
RX=$(json_get "$WORK/rtc-lossy.json" 'j.tracks.filter((t) => t.identity === "alice2").reduce((n, t) => n + t.rx_rtp, 0)')
DROPPED=$(json_get "$WORK/rtc-lossy.json" 'j.tracks.filter((t) => t.identity === "alice2").reduce((n, t) => n + t.dropped, 0)')
log "alice2's track: $DROPPED of $RX packets dropped"
[ "$RX" -ge 100 ] || fail "only $RX RTP packets from alice2 reached the dev server"
# A binomial count: 3..25 % is many standard deviations wide at >= 100 packets.
awk -v d="$DROPPED" -v n="$RX" 'BEGIN {exit !(d >= 0.03 * n && d <= 0.25 * n)}' ||
	fail "$DROPPED of $RX packets dropped with --rtc-drop-rate 0.1"
log "(b) ok: 440 Hz heard through 10 % loss ($DROPPED of $RX packets dropped)"

# ---- (c) malformed SDP from a fake LiveKit server ----
FAKE_PORT=$(free_port)
node "$SRCDIR/tests/integration/fake_livekit.mjs" "$FAKE_PORT" garbage binary truncated >"$WORK/fake.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 10 "fake LiveKit server listening" grep -q listening "$WORK/fake.log"
DS_URL="ws://127.0.0.1:$FAKE_PORT"
start_supervisor --agent-name fake-agent
wait_until 90 "the three jobs with malformed SDP ended" grep -q ALL_JOBS_DONE "$WORK/fake.log"
for kind in garbage binary truncated; do
	line=$(grep '^JOB_STATUS' "$WORK/fake.log" | grep "\"kind\":\"$kind\"" | grep -v JS_RUNNING | tail -1)
	log "$kind SDP: $line"
	case "$line" in *'"status":"JS_FAILED"'*) ;; *) fail "job with $kind SDP did not end JS_FAILED: $line" ;; esac
	echo "$line" | grep -iq '"error":"[^"]*sdp' || fail "the error for the $kind SDP does not name the SDP: $line"
done
kill -0 "$SUP_PID" || fail "supervisor died"
supervisor_ready || fail "supervisor not registered after the failed jobs"
log "(c) ok: malformed SDP fails the job with a clear error"
