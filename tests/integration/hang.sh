#!/bin/bash
# Hung job. A job runs the `hang` script, which blocks its event loop after
# joining, so it stops answering the supervisor's pings. Proves that the
# supervisor kills it once the ping timeout passes and reports JS_FAILED
# "ping timeout", while a healthy job beside it keeps running.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
start_supervisor --agent-name hang-agent --script-from-metadata --ping-timeout 3s

dispatch_job room-ok hang-agent '{"script":"noop"}'; JOB_OK=$JOB_ID
dispatch_job room-hang hang-agent '{"script":"hang"}'; JOB_HANG=$JOB_ID
t0=$(now_ms)
wait_until 30 "hung job FAILED" ds_job_is "$JOB_HANG" JS_FAILED
log "hung job failed $(($(now_ms) - t0)) ms after its dispatch was placed (ping timeout 3 s)"
err=$(ds_job_status "$JOB_HANG" error)
case "$err" in *"ping timeout"*) ;; *) fail "error '$err' is not 'ping timeout'" ;; esac
ds_job_is "$JOB_OK" JS_RUNNING || fail "healthy job stopped"
kill -0 "$SUP_PID" || fail "supervisor died"
log "ok: hung job killed"
