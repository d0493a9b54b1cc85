#!/bin/bash
# Capacity. With --max-jobs 2, two dispatched jobs run and a third is
# refused: the supervisor answers the availability request with
# available=false (counted in its metrics) and reports WS_FULL, so the dev
# server cannot place the third job.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
start_supervisor --agent-name cap-agent --max-jobs 2

dispatch_job room-1 cap-agent ''; JOB_1=$JOB_ID
dispatch_job room-2 cap-agent ''; JOB_2=$JOB_ID
wait_until 10 "job 1 RUNNING" ds_job_is "$JOB_1" JS_RUNNING
wait_until 10 "job 2 RUNNING" ds_job_is "$JOB_2" JS_RUNNING
dispatch_job room-3 cap-agent ''; JOB_3=$JOB_ID
sleep 2
st=$(ds_job_status "$JOB_3")
[ "$st" = JS_RUNNING ] && fail "third job was placed with --max-jobs 2"
log "third job state: $st"
running=$(http_get "$SUP_HTTP/metrics" | awk '$1=="lk_jobs_running"{print $2}')
[ "$running" = 2 ] || fail "lk_jobs_running=$running, want 2"
log "ok: third job refused"
