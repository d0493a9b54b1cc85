#!/bin/bash
# Crash isolation. Three jobs run on one lk-supervisor; one of them runs the
# `crash` script, which segfaults after joining its room. Proves that the
# crashing job is reported JS_FAILED with "signal 11", that the other two
# jobs keep running, and that the supervisor stays registered and still
# takes a new job afterwards.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
start_supervisor --agent-name crash-agent --script-from-metadata --max-jobs 8

dispatch_job room-a crash-agent '{"script":"noop"}'; JOB_A=$JOB_ID
dispatch_job room-b crash-agent '{"script":"crash"}'; JOB_B=$JOB_ID
dispatch_job room-c crash-agent '{"script":"noop"}'; JOB_C=$JOB_ID
log "jobs: ok=$JOB_A crash=$JOB_B ok=$JOB_C"

wait_until 15 "crashing job FAILED" ds_job_is "$JOB_B" JS_FAILED
err=$(ds_job_status "$JOB_B" error)
log "crash reported as: $err"
case "$err" in *"signal 11"*) ;; *) fail "error '$err' does not name signal 11" ;; esac

ds_job_is "$JOB_A" JS_RUNNING || fail "job A is no longer running: $(ds_job_status "$JOB_A")"
ds_job_is "$JOB_C" JS_RUNNING || fail "job C is no longer running: $(ds_job_status "$JOB_C")"
kill -0 "$SUP_PID" 2>/dev/null || fail "supervisor died"
supervisor_ready || fail "supervisor not ready after the crash"

dispatch_job room-d crash-agent '{"script":"noop"}'; JOB_D=$JOB_ID
wait_until 10 "new job RUNNING after the crash" ds_job_is "$JOB_D" JS_RUNNING
http_get "$SUP_HTTP/metrics" | grep -E '^lk_jobs_failed_total 1$' >/dev/null ||
	fail "metrics do not count exactly one failed job"
log "ok: crash isolated"
