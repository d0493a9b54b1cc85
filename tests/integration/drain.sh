#!/bin/bash
# Drain. Two jobs run scripts that finish by themselves after a few seconds.
# SIGTERM to lk-supervisor must: report WS_FULL (not ready, draining in the
# metrics), refuse new jobs (a new dispatch stays unplaced), let the running
# jobs finish (both JS_SUCCESS), and exit 0.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
start_supervisor --agent-name drain-agent --script-from-metadata --drain-timeout 60s

# Long enough to outlast the set-up on a loaded machine, short enough to
# finish within the drain timeout.
dispatch_job room-1 drain-agent '{"script":"noop","script_args":"duration=12s"}'; JOB_1=$JOB_ID
wait_until 10 "job 1 RUNNING" ds_job_is "$JOB_1" JS_RUNNING
dispatch_job room-2 drain-agent '{"script":"noop","script_args":"duration=13s"}'; JOB_2=$JOB_ID
wait_until 10 "job 2 RUNNING" ds_job_is "$JOB_2" JS_RUNNING
ds_job_is "$JOB_1" JS_RUNNING || fail "job 1 ended before the drain began; the test set-up was too slow"

kill -TERM "$SUP_PID"
not_ready() { [ "$(http_status "$SUP_HTTP/health/ready")" = 503 ]; }
wait_until 5 "supervisor reports not ready while draining" not_ready
http_get "$SUP_HTTP/metrics" | grep -q '^lk_worker_draining 1' || fail "metrics do not show draining"
grep -q 'WS_FULL\|"status":"full"\|draining' "$WORK/supervisor.log" || fail "no drain/WS_FULL in the log"

dispatch_job room-3 drain-agent '{"script":"noop"}'; JOB_3=$JOB_ID
sleep 1
ds_job_is "$JOB_3" JS_RUNNING && fail "a draining supervisor took a new job"

wait_until 30 "job 1 finished" ds_job_is "$JOB_1" JS_SUCCESS
wait_until 30 "job 2 finished" ds_job_is "$JOB_2" JS_SUCCESS
rc=0
wait "$SUP_PID" || rc=$?
[ "$rc" = 0 ] || fail "supervisor exited $rc after draining, want 0"
ds_job_is "$JOB_3" JS_RUNNING && fail "job 3 ran on the drained supervisor"
log "ok: drained, exit 0"
