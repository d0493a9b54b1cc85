#!/bin/bash
# The `make run` demo: lk-devserver and lk-supervisor on loopback, a room
# created with livekit-server-sdk (automatic dispatch), and the job shown
# starting, running and ending. Everything it starts is stopped at the end.
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

say "starting lk-supervisor --max-jobs 8 (logs below)"
# Like the Python worker in dev mode, the demo does not refuse jobs for CPU load
# (the machine is often still busy from the build).
"$B/lk-supervisor" --url "$URL" --api-key devkey --api-secret secret --max-jobs 8 --num-idle 1 --load-threshold 1000 \
	--http-addr "$HTTP_ADDR" --log-format console 2>&1 | sed -u 's/^/  supervisor | /' &
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
LK_URL="http://127.0.0.1:$DS_PORT" node tests/integration/api.mjs list-participants demo
curl -s "http://$HTTP_ADDR/metrics" | grep -E '^lk_jobs_(running|started_total)'

say "deleting room 'demo': the job gets JobTermination and ends"
LK_URL="http://127.0.0.1:$DS_PORT" node tests/integration/api.mjs delete-room demo >/dev/null
sleep 2
say "final job status recorded by the server:"
curl -s "http://127.0.0.1:$DS_PORT/debug/jobs"; echo
curl -s "http://$HTTP_ADDR/metrics" | grep -E '^lk_jobs_(running|succeeded_total|failed_total)'
say "demo done (server log: $LOGDIR/devserver.log); stopping"
