#!/bin/bash
# Dead LiveKit server. Two jobs run; lk-devserver is killed with SIGKILL.
# Proves that each job notices its room is gone (WebSocket closed) and ends
# (the bound checked here is generous; the measured time is printed), that
# lk-supervisor stays up and retries with backoff, and that it re-registers
# once the dev server is back on the same port.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
start_supervisor --agent-name rc-agent

dispatch_job room-x rc-agent ''; JOB_1=$JOB_ID
dispatch_job room-y rc-agent ''; JOB_2=$JOB_ID
wait_until 10 "job 1 RUNNING" ds_job_is "$JOB_1" JS_RUNNING
wait_until 10 "job 2 RUNNING" ds_job_is "$JOB_2" JS_RUNNING
sup_jobs() { http_get "$SUP_HTTP/debug/jobs"; }
has_two_jobs() { [ "$(sup_jobs | grep -o '"job_id"' | wc -l)" -ge 2 ]; }
wait_until 10 "supervisor shows both jobs" has_two_jobs
JOB_PIDS=$(sup_jobs | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).map(j=>j.pid).join(" ")))')
log "job pids: $JOB_PIDS"

kill -KILL "$DS_PID"
wait "$DS_PID" 2>/dev/null
t0=$(now_ms)
pids_gone() { for p in $JOB_PIDS; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_until 10 "job processes exit after the server died" pids_gone
log "jobs ended $(($(now_ms) - t0)) ms after the server died"
grep -q 'room disconnected' "$WORK/supervisor.log" || fail "no 'room disconnected' reason in the logs"
kill -0 "$SUP_PID" || fail "supervisor died with the server"
sleep 3
kill -0 "$SUP_PID" || fail "supervisor died while retrying"
grep -Eiq 'reconnect|retry' "$WORK/supervisor.log" || fail "no reconnect attempts logged"

start_devserver
wait_until 30 "supervisor re-registered" supervisor_ready
grep -c 'worker registered' "$WORK/devserver.log" | grep -q '^[1-9]' || fail "dev server saw no registration"
dispatch_job room-z rc-agent ''
wait_until 10 "a job runs after re-registering" ds_job_is "$JOB_ID" JS_RUNNING
log "ok: survived a dead server and re-registered"
