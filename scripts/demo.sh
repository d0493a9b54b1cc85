#!/bin/bash
# The `make run` demo: lk-devserver and lk-supervisor (every job runs the
# `record` script), a room created with livekit-server-sdk (automatic
# dispatch), and a one-off `lk-jobproc --script tone` as the caller that
# talks to the agent over WebRTC for a few seconds. The job is shown
# starting, hearing and ending; then what the agent heard (frequency,
# level) and where its WAV file is. Everything it starts is stopped at the
# end.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
B=$(cd "$BUILD" && pwd)
export NODE_PATH="$SRC/tests/node_modules"
DS_PORT=${LK_DEMO_PORT:-7880}
HTTP_ADDR=${LK_DEMO_HTTP:-127.0.0.1:8081}
LOGDIR=$(mktemp -d /tmp/lkworker-demo.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT INT TERM
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_busy "$DS_PORT"; then DS_PORT=$((DS_PORT + 100)); fi
if port_busy "${HTTP_ADDR##*:}"; then HTTP_ADDR=127.0.0.1:$((${HTTP_ADDR##*:} + 100)); fi
URL="ws://127.0.0.1:$DS_PORT"

say "starting lk-devserver on $URL (keys devkey:secret)"
"$B/lk-devserver" --port "$DS_PORT" --log-format console >"$LOGDIR/devserver.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$DS_PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

say "starting lk-supervisor --max-jobs 8 --script record (logs below)"
# Like the Python worker in dev mode, the demo does not refuse jobs for CPU load
# (the machine is often still busy from the build).
# (Process substitution, so that $! is the supervisor itself and the cleanup
# can stop it.)
"$B/lk-supervisor" --url "$URL" --api-key devkey --api-secret secret --max-jobs 8 --num-idle 1 --load-threshold 1000 \
	--script record --script-args "dir=$LOGDIR" \
	--http-addr "$HTTP_ADDR" --log-format console > >(sed -u 's/^/  supervisor | /' | tee "$LOGDIR/supervisor.log") 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do curl -fs "http://$HTTP_ADDR/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
echo "  health:  http://$HTTP_ADDR/health/ready  -> $(curl -s "http://$HTTP_ADDR/health/ready")"
echo "  metrics: http://$HTTP_ADDR/metrics"
echo "  jobs:    http://$HTTP_ADDR/debug/jobs"

say "creating room 'demo' with livekit-server-sdk: automatic dispatch starts a job"
LK_URL="http://127.0.0.1:$DS_PORT" node tests/integration/api.mjs create-room demo >/dev/null
sleep 2
say "job running:"
curl -s "http://$HTTP_ADDR/debug/jobs"; echo

say "a caller joins: one-off lk-jobproc --script tone --freq 440 for 5 s"
"$B/lk-jobproc" --script tone --freq 440 --url "$URL" --room demo --api-key devkey --api-secret secret \
	--identity caller --duration 5s --log-format console >"$LOGDIR/caller.log" 2>&1 &
CALLER=$!
PIDS="$PIDS $CALLER"
sleep 3
say "while the caller talks:"
LK_URL="http://127.0.0.1:$DS_PORT" node tests/integration/api.mjs list-participants demo
curl -s "http://$HTTP_ADDR/debug/jobs"; echo
curl -s "http://$HTTP_ADDR/metrics" | grep -E '^lk_jobs_(running|started_total)'
wait "$CALLER"
echo "  caller exited with $? (log: $LOGDIR/caller.log)"

say "deleting room 'demo': the job gets JobTermination and ends"
LK_URL="http://127.0.0.1:$DS_PORT" node tests/integration/api.mjs delete-room demo >/dev/null
sleep 2
say "final job status recorded by the server:"
curl -s "http://127.0.0.1:$DS_PORT/debug/jobs"; echo
curl -s "http://$HTTP_ADDR/metrics" | grep -E '^lk_jobs_(running|succeeded_total|failed_total)'
say "what the agent heard:"
heard=$(grep 'recording written' "$LOGDIR/supervisor.log" | grep 'identity=caller' | tail -n 1)
if [ -n "$heard" ]; then
	val() { printf '%s\n' "$heard" | sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p"; }
	echo "  the caller at $(val heard_hz) Hz, $(val level_dbfs) dBFS, $(val seconds) s"
	echo "  WAV (24 kHz, 16-bit mono): $(val path)"
else
	echo "  nothing was recorded: see $LOGDIR/supervisor.log and $LOGDIR/caller.log"
fi
say "demo done (logs: $LOGDIR); stopping"
