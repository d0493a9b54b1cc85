#!/bin/bash
# One-off job mode. `lk-jobproc --script noop --url ... --room ...` signs its
# own token, joins the room (seen by RoomServiceClient.listParticipants),
# finishes after --duration and exits 0; a usage error exits 2 with a
# message naming the flag; the `fail` script exits 1; killing the server
# mid-job ends the job with "room disconnected".
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
JP="$BUILDDIR/lk-jobproc"

"$JP" --script noop --url "$DS_URL" --room oneoff --api-key $API_KEY --api-secret $API_SECRET \
	--identity solo --duration 8s >"$WORK/jobproc.log" 2>&1 &
JPID=$!
PIDS="$PIDS $JPID"
solo_in_room() { node_api list-participants oneoff | grep -q '"identity":"solo"'; }
wait_until 10 "one-off job joined room oneoff" solo_in_room
rc=0; wait "$JPID" || rc=$?
[ "$rc" = 0 ] || fail "noop one-off exited $rc, want 0"

rc=0; "$JP" --script noop --url "$DS_URL" >"$WORK/usage.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "missing --room exited $rc, want 2"
grep -q -- '--room\|room' "$WORK/usage.log" || fail "usage error does not name --room"
rc=0; "$JP" --script no-such-script --url "$DS_URL" --room x --api-key $API_KEY --api-secret $API_SECRET >"$WORK/usage2.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown script exited $rc, want 2"

rc=0; "$JP" --script fail --url "$DS_URL" --room failing --api-key $API_KEY --api-secret $API_SECRET >"$WORK/fail.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "fail script exited $rc, want 1"

rc=0; "$JP" --script noop --url "$DS_URL" --room r --token not.a.jwt >"$WORK/badtoken.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a refused token exited $rc, want 1 (room join failed)"

"$JP" --script noop --url "$DS_URL" --room doomed --api-key $API_KEY --api-secret $API_SECRET \
	--identity doomed >"$WORK/doomed.log" 2>&1 &
JPID=$!
PIDS="$PIDS $JPID"
doomed_in_room() { node_api list-participants doomed | grep -q '"identity":"doomed"'; }
wait_until 10 "job joined room doomed" doomed_in_room
kill -KILL "$DS_PID"
t0=$(now_ms)
jp_gone() { ! kill -0 "$JPID" 2>/dev/null; }
wait_until 10 "one-off job ended after the server died" jp_gone
log "job ended $(($(now_ms) - t0)) ms after the server died"
rc=0; wait "$JPID" || rc=$?
grep -q 'room disconnected' "$WORK/doomed.log" || fail "no 'room disconnected' reason logged"
log "exit code after room disconnect: $rc"
log "ok: one-off mode"
