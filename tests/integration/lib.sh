# lib.sh: shared helpers for the integration scenarios. Each scenario starts
# real lkworker binaries (and real npm SDK peers) on loopback ports of its
# own, polls observable state (HTTP endpoints, logs), and cleans up every
# process it started. Sourced, not run.

set -u
BUILDDIR=${LK_BUILDDIR:-$(cd "$(dirname "$0")/../../build" && pwd)}
SRCDIR=${LK_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
NODE_MODULES="$SRCDIR/tests/node_modules"
export NODE_PATH="$NODE_MODULES"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lk-$TEST_NAME.XXXXXX")
PIDS=""
API_KEY=devkey
API_SECRET=secret

# Exit codes understood by automake's test driver.
SKIP=77

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
fail() {
	printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		printf -- '--- %s (last 40 lines) ---\n' "$(basename "$f")" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}
skip() { printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"; exit $SKIP; }

cleanup() {
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	if [ "${LK_KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

need_node() {
	command -v node >/dev/null 2>&1 || skip "node not installed"
	[ -d "$NODE_MODULES/livekit-server-sdk" ] || skip "npm peers missing (run make setup)"
}

# A TCP port nobody listens on, below the kernel's ephemeral range (outgoing
# connections take their local ports from that range, so a port picked
# there can be taken between the check and the bind).
free_port() {
	local p i lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ -n "$lo" ] && [ "$lo" -gt 12000 ] || lo=32768
	for i in $(seq 1 50); do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % (lo - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_until TIMEOUT_S DESCRIPTION COMMAND...: poll every 100 ms.
wait_until() {
	local t=$1 what=$2 end
	shift 2
	end=$(($(date +%s%N) / 1000000 + t * 1000))
	while [ $(($(date +%s%N) / 1000000)) -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	fail "timed out after ${t}s waiting for: $what"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

http_get() { curl -fsS --max-time 5 "$1"; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }

# start_devserver: sets DS_PORT, DS_URL, DS_PID; log in $WORK/devserver.log.
# A port lost to another process between free_port and the bind is retried.
start_devserver() {
	local fixed=${DS_PORT:-} try
	for try in 1 2 3; do
		DS_PORT=${fixed:-$(free_port)}
		DS_URL="ws://127.0.0.1:$DS_PORT"
		"$BUILDDIR/lk-devserver" --port "$DS_PORT" --keys "$API_KEY:$API_SECRET" "$@" \
			>>"$WORK/devserver.log" 2>&1 &
		DS_PID=$!
		PIDS="$PIDS $DS_PID"
		for _ in $(seq 1 100); do
			http_get "http://127.0.0.1:$DS_PORT/" >/dev/null 2>&1 && return 0
			kill -0 "$DS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$DS_PID" 2>/dev/null && break
		[ -z "$fixed" ] || break
	done
	fail "lk-devserver did not start on port $DS_PORT"
}

# start_supervisor [extra flags]: sets SUP_PID, SUP_HTTP; log in $WORK/supervisor.log
start_supervisor() {
	SUP_HTTP_PORT=$(free_port)
	SUP_HTTP="http://127.0.0.1:$SUP_HTTP_PORT"
	"$BUILDDIR/lk-supervisor" --url "$DS_URL" --api-key "$API_KEY" --api-secret "$API_SECRET" \
		--http-addr "127.0.0.1:$SUP_HTTP_PORT" --num-idle 1 --log-level debug --load-threshold 1000 "$@" \
		>>"$WORK/supervisor.log" 2>&1 &
	SUP_PID=$!
	PIDS="$PIDS $SUP_PID"
	wait_until 15 "lk-supervisor registered" supervisor_ready
}
supervisor_ready() { [ "$(http_status "$SUP_HTTP/health/ready")" = 200 ]; }

# node_api CMD ARGS...: livekit-server-sdk calls (see api.mjs).
node_api() { LK_URL="http://127.0.0.1:$DS_PORT" node "$SRCDIR/tests/integration/api.mjs" "$@"; }

# Devserver job table: job_field JOB_ID FIELD (from /debug/jobs).
ds_jobs() { http_get "http://127.0.0.1:$DS_PORT/debug/jobs"; }
ds_job_status() {
	ds_jobs | node -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			const j = JSON.parse(s).find(x => x.id === process.argv[1]);
			process.stdout.write(j ? String(j[process.argv[2]] ?? "") : "");
		});' "$1" "${2:-status}"
}
ds_job_is() { [ "$(ds_job_status "$1")" = "$2" ]; }
ds_count_status() {
	ds_jobs | node -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			process.stdout.write(String(JSON.parse(s).filter(x => x.status === process.argv[1]).length));
		});' "$1"
}

# dispatch_job ROOM AGENT METADATA: creates a dispatch, waits for its job,
# and sets DISPATCH_ID and JOB_ID.
dispatch_job() {
	local room=$1 agent=$2 meta=$3 did jid i
	node_api create-dispatch "$room" "$agent" "$meta" >"$WORK/d.json" || fail "createDispatch in $room"
	did=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).id)' "$WORK/d.json")
	for i in $(seq 1 100); do
		jid=$(node_api list-dispatch "$room" | node -e '
			let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
				const d = JSON.parse(s).find(x => x.id === process.argv[1]);
				const j = d && d.state && d.state.jobs && d.state.jobs[0];
				process.stdout.write(j ? j.id : "");
			});' "$did")
		[ -n "$jid" ] && break
		sleep 0.1
	done
	[ -n "$jid" ] || fail "dispatch $did has no job"
	DISPATCH_ID=$did
	JOB_ID=$jid
}
