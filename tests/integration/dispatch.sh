#!/bin/bash
# Dispatch end to end. Proves that a dispatch made with the real
# livekit-server-sdk (AgentDispatchClient.createDispatch) reaches
# lk-supervisor through lk-devserver's /agent protocol, that a job process
# runs the `noop` script and joins the room over /rtc signalling (it shows up
# in RoomServiceClient.listParticipants as an agent), and that
# deleteDispatch ends the job (JobTermination -> shutdown ladder -> exit 0)
# with the dev server recording JS_SUCCESS.
. "$(dirname "$0")/lib.sh"
need_node

start_devserver
start_supervisor --agent-name test-agent

node_api create-room demo >/dev/null || fail "createRoom"
node_api create-dispatch demo test-agent '{"hello":"world"}' >"$WORK/dispatch.json" || fail "createDispatch"
DISPATCH_ID=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).id)' "$WORK/dispatch.json")
case "$DISPATCH_ID" in AD_*) ;; *) fail "dispatch id '$DISPATCH_ID' is not AD_..." ;; esac
log "dispatch $DISPATCH_ID"

job_ids() { node_api job-ids demo | tr -d '[]"'; }
has_job() { [ -n "$(job_ids)" ]; }
wait_until 10 "dispatch has a job" has_job
JOB_ID=$(job_ids)
log "job $JOB_ID"
wait_until 10 "job RUNNING on the dev server" ds_job_is "$JOB_ID" JS_RUNNING
agent_in_room() { node_api list-participants demo | grep -q "\"identity\":\"agent-$JOB_ID\""; }
wait_until 10 "agent-$JOB_ID joined room demo" agent_in_room
http_get "$SUP_HTTP/debug/jobs" | grep -q "$JOB_ID" || fail "supervisor /debug/jobs does not list $JOB_ID"

node_api delete-dispatch "$DISPATCH_ID" demo >/dev/null || fail "deleteDispatch"
wait_until 15 "job SUCCESS after deleteDispatch" ds_job_is "$JOB_ID" JS_SUCCESS
agent_gone() { ! agent_in_room; }
wait_until 10 "agent left the room" agent_gone
grep -q '"job_id":"'"$JOB_ID"'"' "$WORK/supervisor.log" || fail "supervisor log lines do not carry job_id"
kill -0 "$SUP_PID" || fail "supervisor died"
log "ok: dispatch -> RUNNING -> in room -> deleteDispatch -> SUCCESS"
