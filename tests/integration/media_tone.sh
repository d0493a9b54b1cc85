#!/bin/bash
# Tone agent. 1) One-off mode: `lk-jobproc --script tone --freq 660` signs
# its own token, joins the room over real WebRTC and publishes a 660 Hz
# tone; a real rtc-node participant hears 660 +- 5 Hz above -40 dBFS, and
# the job ends by itself after --duration with exit code 0. 2) Supervised:
# the same script dispatched with metadata {"script":"tone",
# "script_args":"freq=880"} through lk-supervisor; the listener hears
# 880 +- 5 Hz, which proves the script arguments reach the script.
. "$(dirname "$0")/netns.sh"
netns_enter 4 "$@"
need_rtc_node
start_media_devserver

"$BUILDDIR/lk-jobproc" --script tone --freq 660 --url "$DS_URL" --room tone-room \
	--api-key "$API_KEY" --api-secret "$API_SECRET" --identity toner --duration 45s \
	>"$WORK/jobproc.log" 2>&1 &
JPID=$!
PIDS="$PIDS $JPID"
peer bob listen --url "$DS_URL" --room tone-room --identity bob --from toner --seconds 3 --timeout 40
peer_wait bob "$PEER_PID" 50
expect_tone "$WORK/bob.json" 660 5 -40 toner
jp_gone() { ! kill -0 "$JPID" 2>/dev/null; }
wait_until 60 "one-off tone job ended after --duration" jp_gone
rc=0; wait "$JPID" || rc=$?
[ "$rc" = 0 ] || fail "one-off tone job exited $rc, want 0"
log "one-off tone job exited 0"

start_supervisor --agent-name tone-agent --script-from-metadata
dispatch_job tone-room2 tone-agent '{"script":"tone","script_args":"freq=880"}'
log "job $JOB_ID"
peer carol listen --url "$DS_URL" --room tone-room2 --identity carol --from "agent-$JOB_ID" \
	--seconds 3 --timeout 60
peer_wait carol "$PEER_PID" 70
expect_tone "$WORK/carol.json" 880 5 -40 "agent-$JOB_ID"
node_api delete-dispatch "$DISPATCH_ID" tone-room2 >/dev/null || fail "deleteDispatch"
wait_until 20 "tone job SUCCESS after deleteDispatch" ds_job_is "$JOB_ID" JS_SUCCESS
kill -0 "$DS_PID" || fail "dev server died"
log "ok: one-off 660 Hz and supervised 880 Hz tones heard"
