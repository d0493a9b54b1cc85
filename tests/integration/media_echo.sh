#!/bin/bash
# Echo agent end to end. lk-supervisor takes a dispatch whose metadata
# names the `echo` script ({"script":"echo"}, --script-from-metadata); its
# job process joins the room over real WebRTC. A real rtc-node participant
# publishes a 440 Hz sine and listens to the agent's track (identity
# agent-<job id>). Proves the whole media path of a job: subscribe (SRTP in,
# Opus decode), the script, publish (Opus encode, SRTP out) through the dev
# server's SFU: the participant hears 440 +- 5 Hz back above -40 dBFS.
# Then alice leaves and carol speaks 620 Hz to the same job and hears
# 620 +- 5 Hz back: the agent repeats whoever speaks, it does not play a
# tone of its own. Deleting the dispatch then ends the job with JS_SUCCESS.
. "$(dirname "$0")/netns.sh"
netns_enter 2 "$@"
need_rtc_node
start_media_devserver
start_supervisor --agent-name echo-agent --script-from-metadata

dispatch_job echo-room echo-agent '{"script":"echo"}'
log "job $JOB_ID"
wait_until 20 "echo job RUNNING" ds_job_is "$JOB_ID" JS_RUNNING

peer alice both --url "$DS_URL" --room echo-room --identity alice --from "agent-$JOB_ID" \
	--freq 440 --seconds 3 --timeout 90
peer_wait alice "$PEER_PID" 100
expect_tone "$WORK/alice.json" 440 5 -40 "agent-$JOB_ID"
peer carol both --url "$DS_URL" --room echo-room --identity carol --from "agent-$JOB_ID" \
	--freq 620 --seconds 3 --timeout 90
peer_wait carol "$PEER_PID" 100
expect_tone "$WORK/carol.json" 620 5 -40 "agent-$JOB_ID"

http_get "$SUP_HTTP/debug/jobs" >"$WORK/jobs.json" && log "supervisor /debug/jobs: $(cat "$WORK/jobs.json")"
ds_rtc >"$WORK/rtc.json" && log "dev server /debug/rtc: $(cat "$WORK/rtc.json")"
node_api delete-dispatch "$DISPATCH_ID" echo-room >/dev/null || fail "deleteDispatch"
wait_until 20 "echo job SUCCESS after deleteDispatch" ds_job_is "$JOB_ID" JS_SUCCESS
kill -0 "$SUP_PID" || fail "supervisor died"
log "ok: the echo agent sent 440 Hz and then 620 Hz back"
