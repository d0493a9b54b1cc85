#!/bin/bash
# Hostile input in both directions.
# 1. Garbage, truncated protobuf, an oversize frame and out-of-order
#    messages sent to lk-devserver's /agent: each bad connection is dropped
#    with a clear log line, the dev server stays up and still registers a
#    well-formed worker.
# 2. A hostile "LiveKit server" feeding lk-supervisor the same kinds of bad
#    input: each time the supervisor logs the error, drops the connection,
#    reconnects, stays alive, and registers once the server behaves.
. "$(dirname "$0")/lib.sh"
need_node
start_devserver
node "$SRCDIR/tests/integration/hostile_client.mjs" "$DS_URL" >"$WORK/client.log" 2>&1 ||
	{ cat "$WORK/client.log"; fail "dev server did not survive hostile clients"; }
cat "$WORK/client.log"
http_get "http://127.0.0.1:$DS_PORT/" >/dev/null || fail "dev server not answering"
kill -0 "$DS_PID" || fail "dev server died"
grep -Eiq 'malformed|invalid|too (big|large)|oversize|unexpected' "$WORK/devserver.log" || fail "no clear error logged by the dev server"

HS_PORT=$(free_port)
node "$SRCDIR/tests/integration/hostile_server.mjs" "$HS_PORT" >"$WORK/hostile-server.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 10 "hostile server listening" grep -q listening "$WORK/hostile-server.log"
DS_URL="ws://127.0.0.1:$HS_PORT"
start_supervisor_no_wait() {
	SUP_HTTP_PORT=$(free_port)
	SUP_HTTP="http://127.0.0.1:$SUP_HTTP_PORT"
	"$BUILDDIR/lk-supervisor" --url "$DS_URL" --api-key "$API_KEY" --api-secret "$API_SECRET" \
		--http-addr "127.0.0.1:$SUP_HTTP_PORT" --num-idle 0 --log-level debug \
		>>"$WORK/supervisor.log" 2>&1 &
	SUP_PID=$!
	PIDS="$PIDS $SUP_PID"
}
start_supervisor_no_wait
# Five bad connections, each followed by a backoff delay, before the good one.
wait_until 60 "the supervisor came back after every hostile case" grep -q 'good registration' "$WORK/hostile-server.log"
wait_until 10 "supervisor registered after the hostile cases" supervisor_ready
kill -0 "$SUP_PID" || fail "supervisor died"
n=$(grep -c '^connection .*closed' "$WORK/hostile-server.log")
[ "$n" -ge 5 ] || fail "only $n hostile connections were made"
grep -Eiq 'malformed|invalid|decode|too (big|large)|unexpected' "$WORK/supervisor.log" || fail "no clear error logged by the supervisor"
log "ok: both sides survived hostile input"
