#!/bin/bash
# Losing the agent link with a job running. The job's room lives on
# lk-devserver while the worker's /agent link goes to a separate fake
# LiveKit server (JobAssignment.url points at the dev server). The fake
# server is killed: proves that the job keeps running in its room, that
# lk-supervisor reconnects with backoff, and that after re-registering it
# sends MigrateJobRequest naming the live job (agent-protocol.md §3.10).
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
FAKE_PORT=$(free_port)
fake() {
	node "$SRCDIR/tests/integration/fake_agent_server.mjs" "$FAKE_PORT" "$DS_URL" mig-room "$@" \
		>>"$WORK/fake.log" 2>&1 &
	FAKE_PID=$!
	PIDS="$PIDS $FAKE_PID"
	wait_until 15 "fake agent server listening" grep -q "LISTENING" "$WORK/fake.log"
}
fake
SAVED_DS_URL=$DS_URL
DS_URL="ws://127.0.0.1:$FAKE_PORT"
start_supervisor
DS_URL=$SAVED_DS_URL
running() { grep -q 'JOB_STATUS {"jobId":"AJ_migrate0001","status":"JS_RUNNING"' "$WORK/fake.log"; }
wait_until 15 "job RUNNING reported to the fake server" running
in_room() { node_api list-participants mig-room | grep -q '"identity":"agent-AJ_migrate0001"'; }
wait_until 10 "the job joined its room on the dev server" in_room

kill -KILL "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
: >"$WORK/fake.log"
sleep 3
in_room || fail "the job left its room when the agent link dropped"
http_get "$SUP_HTTP/debug/jobs" | grep -q AJ_migrate0001 || fail "the supervisor dropped the job"

fake --no-job
migrated() { grep -q 'MIGRATE {"jobIds":\["AJ_migrate0001"\]}' "$WORK/fake.log"; }
wait_until 30 "MigrateJobRequest after re-registering" migrated
grep -q REGISTER "$WORK/fake.log" || fail "no re-registration seen"
in_room || fail "the job is gone after the reconnect"
log "ok: job survived the lost agent link and was migrated"
