#!/bin/bash
# `make bench`: measures lkworker against the Node @livekit/agents worker on
# this machine and prints one table. Numbers, not pass/fail.
#  - spawn: fork+exec -> INIT_OK of lk-jobproc (tests/bench/bench_spawn)
#  - idle lk-jobproc RSS and PSS
#  - dispatch latency: the dev server's availability request -> the worker's
#    UpdateJobStatus RUNNING, over 100 dispatches
#  - 100 concurrent noop jobs held: supervisor RSS and CPU, job PSS
#  - the Node worker's idle job process RSS/PSS and start time (fork -> prewarm)
#  - the audio paths per 20 ms frame, the media scenarios (tests/bench/media.sh)
#    and heap allocations in a live echo job (tests/bench/media_alloc.sh)
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
B=$(cd "$BUILD" && pwd)
export NODE_PATH="$SRC/tests/node_modules"
WORK=$(mktemp -d /tmp/lk-bench.XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# Below the ephemeral range, so an outgoing connection cannot take the port first.
free_port() { local p; while :; do p=$((10000 + RANDOM % 20000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }; done; }
kb() { awk -v k="$2:" '$1==k {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null; }
mb() { awk -v v="$1" 'BEGIN {printf "%.2f MB", v/1024}'; }

make -s -C "$B" tests/bench/bench_spawn tests/bench/bench_audio >/dev/null || exit 1
echo "measuring spawn and idle memory..." >&2
"$B/tests/bench/bench_spawn" "$B/lk-jobproc" 300 >"$WORK/spawn.txt" || exit 1
val() { awk -v k="$1" '$1==k {print $2}' "$2"; }
SPAWN_P50=$(val spawn_p50_us "$WORK/spawn.txt"); SPAWN_P99=$(val spawn_p99_us "$WORK/spawn.txt")
IDLE_RSS=$(val idle_rss_kb "$WORK/spawn.txt"); IDLE_PSS=$(val idle_pss_kb "$WORK/spawn.txt")

echo "measuring dispatch latency (100 dispatches)..." >&2
DS_PORT=$(free_port); HTTP_PORT=$(free_port)
"$B/lk-devserver" --port "$DS_PORT" --log-level warn >"$WORK/ds.log" 2>&1 & PIDS="$PIDS $!"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$DS_PORT/" >/dev/null && break; sleep 0.1; done
"$B/lk-supervisor" --url "ws://127.0.0.1:$DS_PORT" --api-key devkey --api-secret secret --agent-name bench \
	--max-jobs 120 --num-idle 4 --load-threshold 1000 --http-addr 127.0.0.1:$HTTP_PORT --log-level warn \
	>"$WORK/sup.log" 2>&1 &
SUP=$!; PIDS="$PIDS $SUP"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null && break; sleep 0.1; done
LK_URL="http://127.0.0.1:$DS_PORT" N=100 HOLD=0 node tests/bench/dispatch.mjs >/dev/null || { echo "dispatch run failed" >&2; exit 1; }
curl -s "http://127.0.0.1:$DS_PORT/debug/jobs" | node -e '
	let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
		const l = JSON.parse(s).filter(j => j.offered_at_ns && j.running_at_ns)
			.map(j => (Number(j.running_at_ns) - Number(j.offered_at_ns)) / 1e6).sort((a, b) => a - b);
		const q = p => l[Math.min(l.length - 1, Math.floor(l.length * p))];
		console.log(`${l.length} ${q(0.5).toFixed(2)} ${q(0.99).toFixed(2)}`);
	});' >"$WORK/dispatch.txt"
read -r DISP_N DISP_P50 DISP_P99 <"$WORK/dispatch.txt"

echo "holding 100 concurrent noop jobs..." >&2
LK_URL="http://127.0.0.1:$DS_PORT" N=100 HOLD=1 node tests/bench/dispatch.mjs >/dev/null || { echo "hold run failed" >&2; exit 1; }
sleep 2
HZ=$(getconf CLK_TCK)
t0=$(ticks $SUP); sleep 10; t1=$(ticks $SUP)
SUP_CPU=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN {printf "%.2f%%", (b-a)/hz/10*100}')
SUP_RSS=$(kb $SUP Rss)
JOB_PIDS=$(curl -s "http://127.0.0.1:$HTTP_PORT/debug/jobs" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).map(j=>j.pid).join(" ")))')
njobs=0; pss_total=0
for p in $JOB_PIDS; do v=$(kb "$p" Pss); [ -n "$v" ] && { pss_total=$((pss_total + v)); njobs=$((njobs + 1)); }; done
JOB_PSS_AVG=$(( njobs > 0 ? pss_total / njobs : 0 ))
# SIGKILL: the held jobs die with it (PR_SET_PDEATHSIG), no drain wanted here.
kill -KILL $SUP 2>/dev/null; wait $SUP 2>/dev/null

echo "measuring the Node @livekit/agents worker (3 idle job processes)..." >&2
MARK="$WORK/node.marker"; : >"$MARK"
LIVEKIT_URL="ws://127.0.0.1:$DS_PORT" LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret LK_MARKER="$MARK" \
	LK_HEALTH_PORT=$(free_port) LK_NUM_IDLE=3 node tests/integration/node_agent.mjs start >"$WORK/node.log" 2>&1 &
NODE=$!; PIDS="$PIDS $NODE"
for _ in $(seq 600); do [ "$(grep -c '^prewarm' "$MARK")" -ge 3 ] && break; sleep 0.1; done
sleep 15 # let the idle processes settle, as in the reference measurement
BTIME=$(awk '$1=="btime"{print $2}' /proc/stat)
n_rss=0; n_pss=0; n=0; starts=""
while read -r _ pid at; do
	[ -r "/proc/$pid/smaps_rollup" ] || continue
	n_rss=$((n_rss + $(kb "$pid" Rss))); n_pss=$((n_pss + $(kb "$pid" Pss))); n=$((n + 1))
	st=$(awk '{print $22}' "/proc/$pid/stat")
	starts="$starts $(( at - (BTIME * 1000 + st * 1000 / HZ) ))"
done < <(grep '^prewarm' "$MARK")
if [ "$n" -gt 0 ]; then
	NODE_RSS=$((n_rss / n)); NODE_PSS=$((n_pss / n))
	NODE_START=$(echo $starts | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
else
	NODE_RSS=0; NODE_PSS=0; NODE_START=0
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "1/%.0f", a/b; else print "n/a" }'; }
printf '\n%-44s %16s %16s %10s\n' "measure" "lkworker" "Node agents" "ratio"
printf '%-44s %16s %16s %10s\n' "--------------------------------------------" "----------------" "----------------" "----------"
printf '%-44s %16s %16s %10s\n' "idle job process PSS" "$(mb "$IDLE_PSS")" "$(mb "$NODE_PSS")" "$(ratio "$NODE_PSS" "$IDLE_PSS")"
printf '%-44s %16s %16s %10s\n' "idle job process RSS" "$(mb "$IDLE_RSS")" "$(mb "$NODE_RSS")" "$(ratio "$NODE_RSS" "$IDLE_RSS")"
printf '%-44s %16s %16s %10s\n' "job process start p50 (lk: fork+exec->INIT_OK)" "$(awk -v v="$SPAWN_P50" 'BEGIN{printf "%.2f ms", v/1000}')" "${NODE_START} ms" "$(ratio "$NODE_START" "$(awk -v v="$SPAWN_P50" 'BEGIN{print v/1000}')")"
printf '%-44s %16s %16s %10s\n' "job process start p99" "$(awk -v v="$SPAWN_P99" 'BEGIN{printf "%.2f ms", v/1000}')" "" ""
printf '%-44s %16s %16s %10s\n' "dispatch availability->RUNNING p50 (n=$DISP_N)" "$DISP_P50 ms" "" ""
printf '%-44s %16s %16s %10s\n' "dispatch availability->RUNNING p99" "$DISP_P99 ms" "" ""
printf '%-44s %16s %16s %10s\n' "supervisor RSS, 100 noop jobs held" "$(mb "$SUP_RSS")" "" ""
printf '%-44s %16s %16s %10s\n' "supervisor CPU, 100 noop jobs held" "$SUP_CPU" "" ""
printf '%-44s %16s %16s %10s\n' "job process PSS avg, 100 held ($njobs)" "$(mb "$JOB_PSS_AVG")" "" ""
printf '\ntargets: idle job PSS <= 2 MB, spawn p50 <= 5 ms, dispatch p99 <= 20 ms\n'

echo "measuring the audio paths (src/audio, 20 ms frames)..." >&2
"$B/tests/bench/bench_audio" >"$WORK/audio.txt" || exit 1
us() { awk -v v="$(val "$1" "$WORK/audio.txt")" 'BEGIN {printf "%.1f us", v/1000}'; }
printf '\n%-44s %16s %16s\n' "audio path, per 20 ms frame" "CPU" "allocations"
printf '%-44s %16s %16s\n' "Opus decode + resample 48k->24k + tap" "$(us decode_resample_tap_ns_per_frame)" "$(val decode_resample_tap_allocs_per_frame "$WORK/audio.txt")"
printf '%-44s %16s %16s\n' "resample 24k->48k + Opus encode" "$(us resample_encode_ns_per_frame)" "$(val resample_encode_allocs_per_frame "$WORK/audio.txt")"
printf '%-44s %16s %16s\n' "Opus encode alone (complexity $(val audio_opus_complexity "$WORK/audio.txt"), as jobs)" "$(us opus_encode_ns_per_frame)" "$(val opus_encode_allocs_per_frame "$WORK/audio.txt")"
printf '%-44s %16s %16s\n' "Opus encode at complexity 10, for comparison" "$(us opus_encode_complexity10_ns_per_frame)" "$(val opus_encode_complexity10_allocs_per_frame "$WORK/audio.txt")"
printf '\ntargets: decode + resample <= 40 us per frame; encode <= 150 us per frame; 0 allocations\n'

# Media: the direct one-way baseline, the echo round trip (the difference is
# what an echo job adds) and concurrent echo jobs (tests/bench/media.sh runs
# in a network namespace of its own; it needs root, and says so otherwise).
echo "measuring media: echo round trip and concurrent echo jobs (about 3 min)..." >&2
if "$SRC/tests/bench/media.sh" "$B" >"$WORK/media.txt" 2>"$WORK/media.err"; then
	printf '\n%-44s %16s\n' "media (rtc-node peers through lk-devserver)" "value"
	while read -r k v; do printf '%-44s %16s\n' "$k" "$v"; done <"$WORK/media.txt"
else
	printf '\nmedia benchmark did not run: %s\n' "$(tail -n 1 "$WORK/media.err")"
fi

# Heap allocations in a live echo job process (LD_PRELOAD counter; also a
# pass/fail test, tests/integration/media_alloc.sh).
echo "measuring allocations per frame in a live echo job (about 25 s)..." >&2
make -s -C "$B" tests/common/alloc_preload.so >/dev/null || exit 1
if "$SRC/tests/bench/media_alloc.sh" "$B" >"$WORK/alloc.txt" 2>"$WORK/alloc.err"; then
	printf '\n%-44s %16s\n' "allocations, live echo job (8 s window)" "value"
	while read -r k v; do printf '%-44s %16s\n' "$k" "$v"; done <"$WORK/alloc.txt"
else
	printf '\nallocation benchmark did not run: %s\n' "$(tail -n 1 "$WORK/alloc.err")"
fi
