#!/bin/bash
# The real Node agents worker against lk-devserver. A @livekit/agents 1.9
# worker registers on /agent, a dispatch made with livekit-server-sdk is
# offered to it, it accepts, receives the assignment with a room token
# signed by lk-devserver, and runs the agent's entry function in a job
# process, which then signals into the room on /rtc with that token (after
# rtc-node's /rtc/v1 attempt gets the 404 that sends it to /rtc). The room
# join itself cannot complete until lk-devserver forwards media, so this
# test stops at: registered, job RUNNING, entry ran with the job's id, the
# job's participant identity reached /rtc.
. "$(dirname "$0")/lib.sh"
need_node
[ -d "$NODE_MODULES/@livekit/agents" ] || skip "@livekit/agents not installed"
start_devserver
MARKER="$WORK/marker"
: >"$MARKER"
LIVEKIT_URL="$DS_URL" LIVEKIT_API_KEY=$API_KEY LIVEKIT_API_SECRET=$API_SECRET \
	LK_MARKER="$MARKER" LK_HEALTH_PORT=$(free_port) LK_AGENT_NAME=node-agent \
	node "$SRCDIR/tests/integration/node_agent.mjs" start >"$WORK/node-worker.log" 2>&1 &
PIDS="$PIDS $!"
registered() { grep -q 'worker registered' "$WORK/devserver.log" && grep -q '1\.9\.0' "$WORK/devserver.log"; }
wait_until 60 "Node worker registered (version 1.9.0)" registered

dispatch_job node-room node-agent '{"from":"node test"}'
log "dispatch $DISPATCH_ID job $JOB_ID"
wait_until 15 "job RUNNING (availability accepted, assignment sent)" ds_job_is "$JOB_ID" JS_RUNNING
ident=$(ds_job_status "$JOB_ID" participant_identity)
[ "$ident" = "agent-$JOB_ID" ] || fail "participant identity '$ident', want agent-$JOB_ID"
entry_ran() { grep -q "^entry $JOB_ID " "$MARKER"; }
wait_until 30 "the agent's entry function ran for $JOB_ID" entry_ran
grep -q "room=node-room" "$MARKER" || fail "entry saw the wrong room: $(cat "$MARKER")"
joined_rtc() { grep -q "agent-$JOB_ID" "$WORK/devserver.log"; }
wait_until 30 "the job's participant signalled on /rtc" joined_rtc
log "marker: $(tr '\n' ';' <"$MARKER")"
log "ok: Node agents worker registered, accepted and ran a job from lk-devserver"
