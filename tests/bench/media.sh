#!/bin/bash
# Media benchmarks (numbers, not pass/fail), printed as "key value" lines
# on stdout; progress goes to stderr. Runs inside a network namespace of its
# own like the media scenarios (root and unshare needed; exits 77 without).
#  - echo round trip, mouth to ear: an rtc-node participant publishes a
#    60 ms 1 kHz burst every 800 ms to an `echo` job through lk-devserver
#    and times each burst until it hears it back (median over 12 bursts)
#  - the same bursts one way between two ordinary rtc-node participants
#    (one node process joined twice, so one clock), mouth -> lk-devserver
#    -> ear: the baseline. Capture, playout and one hop through the server
#    are in both, so echo added = round-trip median - direct median is
#    what the echo job and its second hop through the server add. The
#    job's own share is also printed: the mean time a frame waited in its
#    echo ring, from the job's last log line.
#  - concurrent `echo` jobs with one live rtc-node speaker each, ramped
#    1, 2, 4, 8, ... rooms. Each speaker talks (440 Hz) and listens to its
#    agent. Per level over an 8 s window: the share of 10 ms frames each
#    speaker hears back loud (echo continuity; a job underrun or a lost
#    packet makes a gap), the packets each agent sends (lk-devserver's
#    /debug/rtc; 50/s is every 20 ms frame), CPU and RSS per job (/proc).
#    A level holds when every room's continuity is >= 98 % and every agent
#    sends >= 48 packets/s. The ramp stops at the first level that does not
#    hold, at MEDIA_BENCH_MAX_ROOMS (default 16), or when the time budget
#    (MEDIA_BENCH_BUDGET_S, default 165 s) would be exceeded. At the end the
#    jobs are stopped and their own counters (echo frames in/out, underruns,
#    trims, from their last log lines) are summed.
# MEDIA_BENCH_MAX_ROOMS=0 measures the latencies only; MEDIA_BENCH_BURSTS
# (default 12) and MEDIA_BENCH_WARMUP (2) set the timed and untimed bursts.
#   tests/bench/media.sh [BUILD_DIR]     (default: $LK_BUILDDIR, else ./build)
if [ $# -ge 1 ] && [ -z "${LK_NETNS:-}" ]; then
	LK_BUILDDIR=$(cd "$1" && pwd) || exit 1
	export LK_BUILDDIR
fi
. "$(dirname "$0")/../integration/netns.sh"
netns_enter 9 "$@"
need_rtc_node
# Only "key value" lines on stdout.
log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
T_START=$(date +%s)
BUDGET=${MEDIA_BENCH_BUDGET_S:-165}
MAX_ROOMS=${MEDIA_BENCH_MAX_ROOMS:-16}
BURSTS=${MEDIA_BENCH_BURSTS:-12}
WARMUP=${MEDIA_BENCH_WARMUP:-2}
HZ=$(getconf CLK_TCK)
say() { printf '%s\n' "$*" >&2; }
kv() { printf '%s %s\n' "$1" "$2"; }
elapsed() { echo $(($(date +%s) - T_START)); }

start_media_devserver --log-level warn
start_supervisor --agent-name bench-echo --script-from-metadata --max-jobs 64 --num-idle 2 --log-level info

# ---- baseline: one way between two ordinary participants ----
say "measuring the direct one-way time..."
peer direct rtt --url "$DS_URL" --room direct-room --identity direct --direct 1 --bursts "$BURSTS" --period 800 --warmup "$WARMUP"
peer_wait direct "$PEER_PID" 90
kv media_direct_median_ms "$(json_get "$WORK/direct.json" j.median_ms)"
kv media_direct_min_ms "$(json_get "$WORK/direct.json" j.min_ms)"
kv media_direct_max_ms "$(json_get "$WORK/direct.json" j.max_ms)"
kv media_direct_missed "$(json_get "$WORK/direct.json" j.missed)"

# ---- round trip through one echo job ----
say "measuring the echo round trip..."
dispatch_job rtt-room bench-echo '{"script":"echo"}'
wait_until 20 "echo job RUNNING" ds_job_is "$JOB_ID" JS_RUNNING
peer rtt rtt --url "$DS_URL" --room rtt-room --identity rtt --from "agent-$JOB_ID" --bursts "$BURSTS" --period 800 --warmup "$WARMUP"
peer_wait rtt "$PEER_PID" 90
kv media_rtt_median_ms "$(json_get "$WORK/rtt.json" j.median_ms)"
kv media_rtt_min_ms "$(json_get "$WORK/rtt.json" j.min_ms)"
kv media_rtt_max_ms "$(json_get "$WORK/rtt.json" j.max_ms)"
kv media_rtt_missed "$(json_get "$WORK/rtt.json" j.missed)"
kv media_echo_added_ms "$(node -e 'const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")).median_ms);
	console.log(a === null || b === null ? "null" : a - b)' "$WORK/rtt.json" "$WORK/direct.json")"
node_api delete-dispatch "$DISPATCH_ID" rtt-room >/dev/null
wait_until 20 "rtt job ended" ds_job_is "$JOB_ID" JS_SUCCESS
# The job's own share: mean time a frame waited in its echo ring (the wait
# for the next 20 ms pacer tick included), from its last log line.
job_stat() {
	node -e '
		let v = "null";
		for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
			if (!l.includes("\"echo script stopped\"") || !l.includes(process.argv[2])) continue;
			v = JSON.parse(l)[process.argv[3]] ?? "null";
		}
		console.log(v);' "$WORK/supervisor.log" "$1" "$2"
}
kv media_echo_job_wait_ms "$(job_stat "\"job_id\":\"$JOB_ID\"" wait_ms)"
kv media_echo_job_wait_max_ms "$(job_stat "\"job_id\":\"$JOB_ID\"" wait_max_ms)"

# ---- ramp of concurrent echo jobs with a live speaker each ----
# job_pids: pid of each running job process (supervisor /debug/jobs).
job_pids() {
	http_get "$SUP_HTTP/debug/jobs" | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () =>
		console.log(JSON.parse(s).filter(j => j.job_id && j.status === "JS_RUNNING").map(j => j.pid).join(" ")))'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# agent_rtp FILE: RTP packets the dev server received from agent-* participants,
# per identity, as "identity packets" lines (from /debug/rtc).
agent_rtp() {
	node -e '
		const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const out = {};
		const walk = (v, who) => {
			if (!v || typeof v !== "object") return;
			const id = typeof v.identity === "string" ? v.identity : who;
			if (id && id.startsWith("agent-") && v.publisher && typeof v.publisher.rx_rtp === "number")
				out[id] = (out[id] ?? 0) + v.publisher.rx_rtp;
			for (const x of Object.values(v)) walk(x, id);
		};
		walk(j, "");
		for (const [k, n] of Object.entries(out)) console.log(k, n);' "$1"
}

# stat_at FILE T: "frames active" of a speaker's last STAT line at or before T (ms).
stat_at() {
	sed -n 's/^STAT //p' "$1" | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
		let r = [0, 0];
		for (const l of s.split("\n")) if (l) { const j = JSON.parse(l); if (j.t <= Number(process.argv[1])) r = [j.frames, j.active]; }
		console.log(r.join(" "));
	})' "$2"
}

ROOMS=0
HELD=0
WINDOW=8
for LEVEL in 1 2 4 8 16 32 64; do
	[ "$LEVEL" -le "$MAX_ROOMS" ] || break
	# A level needs its speakers connected (~10 s) plus the window.
	if [ $(($(elapsed) + WINDOW + 25)) -gt "$BUDGET" ]; then
		say "time budget reached before $LEVEL rooms"
		break
	fi
	say "ramp: $LEVEL rooms..."
	while [ "$ROOMS" -lt "$LEVEL" ]; do
		ROOMS=$((ROOMS + 1))
		dispatch_job "load-$ROOMS" bench-echo '{"script":"echo"}'
		peer "speaker$ROOMS" both --url "$DS_URL" --room "load-$ROOMS" --identity "speaker$ROOMS" \
			--from "agent-$JOB_ID" --freq 440 --stats 1 --timeout 900
		DISPATCHES="${DISPATCHES:-} $DISPATCH_ID:load-$ROOMS"
	done
	# Every agent sends audio back before the window opens.
	all_echoing() {
		ds_rtc >"$WORK/r.json" && [ "$(agent_rtp "$WORK/r.json" | awk '$2 > 0' | wc -l)" -ge "$LEVEL" ]
	}
	if ! (wait_until 40 "$LEVEL agents echoing" all_echoing) >/dev/null 2>&1; then
		say "not every agent echoes at $LEVEL rooms"
		kv "media_ramp_${LEVEL}_held" 0
		break
	fi
	sleep 2
	PIDS_NOW=$(job_pids)
	ds_rtc >"$WORK/r0.json"
	t0=$(now_ms)
	declare -A T0=()
	for p in $PIDS_NOW; do T0[$p]=$(ticks "$p"); done
	sleep "$WINDOW"
	ds_rtc >"$WORK/r1.json"
	t1=$(now_ms)
	sleep 1.2 # the speakers' STAT line covering t1
	min_cont=100
	min_fps=1000
	for r in $(seq 1 "$LEVEL"); do
		read -r f0 a0 <<<"$(stat_at "$WORK/speaker$r.out" "$t0")"
		read -r f1 a1 <<<"$(stat_at "$WORK/speaker$r.out" "$t1")"
		read -r cont fps <<<"$(awk -v f="$((f1 - f0))" -v a="$((a1 - a0))" -v ms="$((t1 - t0))" \
			'BEGIN {printf "%.1f %.1f", (f > 0 ? 100 * a / f : 0), f / ms * 1000}')"
		min_cont=$(awk -v a="$cont" -v b="$min_cont" 'BEGIN {print (a < b) ? a : b}')
		min_fps=$(awk -v a="$fps" -v b="$min_fps" 'BEGIN {print (a < b) ? a : b}')
	done
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1000}')
	# Packets per second of the slowest agent (50/s = every 20 ms frame sent).
	min_rate=$(join -a1 <(agent_rtp "$WORK/r0.json" | sort) <(agent_rtp "$WORK/r1.json" | sort) |
		awk -v s="$secs" 'NF == 3 {r = ($3 - $2) / s; if (min == "" || r < min) min = r} END {printf "%.1f", min == "" ? 0 : min}')
	cpu_sum=0
	rss_sum=0
	n=0
	for p in $PIDS_NOW; do
		t=$(ticks "$p")
		cpu_sum=$(awk -v a="${T0[$p]}" -v b="$t" -v hz="$HZ" -v s="$secs" -v c="$cpu_sum" 'BEGIN {print c + (b - a) / hz / s * 100}')
		rss_sum=$((rss_sum + $(rss_kb "$p")))
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || n=1
	kv "media_ramp_${LEVEL}_min_echo_continuity_pct" "$min_cont"
	kv "media_ramp_${LEVEL}_min_heard_frames_per_s" "$min_fps"
	kv "media_ramp_${LEVEL}_min_agent_pps" "$min_rate"
	kv "media_ramp_${LEVEL}_job_cpu_pct" "$(awk -v c="$cpu_sum" -v n="$n" 'BEGIN {printf "%.1f", c / n}')"
	kv "media_ramp_${LEVEL}_job_rss_kb" "$((rss_sum / n))"
	kv "media_ramp_${LEVEL}_loadavg" "$(cut -d' ' -f1 /proc/loadavg)"
	if awk -v r="$min_rate" -v c="$min_cont" 'BEGIN {exit !(r >= 48 && c >= 98)}'; then
		kv "media_ramp_${LEVEL}_held" 1
		HELD=$LEVEL
	else
		kv "media_ramp_${LEVEL}_held" 0
		break
	fi
done
kv media_echo_jobs_held "$HELD"

# The jobs' own counters: end them and read their last log lines.
for d in ${DISPATCHES:-}; do node_api delete-dispatch "${d%%:*}" "${d#*:}" >/dev/null 2>&1; done
wait_jobs_ended() { [ "$(ds_count_status JS_RUNNING)" = 0 ]; }
(wait_until 30 "jobs ended" wait_jobs_ended) >/dev/null 2>&1
node -e '
	const t = { jobs: 0, frames_in: 0, frames_out: 0, underruns: 0, overflows: 0, trims: 0 };
	let wait = 0;
	for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
		if (!l.includes("\"echo script stopped\"") || !l.includes("load-")) continue;
		const j = JSON.parse(l);
		t.jobs++;
		for (const k of ["frames_in", "frames_out", "underruns", "overflows", "trims"]) t[k] += Number(j[k] ?? 0);
		wait += Number(j.wait_ms ?? 0);
	}
	for (const [k, v] of Object.entries(t)) console.log(`media_load_jobs_${k} ${v}`);
	// Mean over the jobs of the mean time a frame waited in the echo ring.
	console.log(`media_load_jobs_wait_ms ${t.jobs ? (wait / t.jobs).toFixed(1) : "null"}`);' "$WORK/supervisor.log"
kv media_bench_seconds "$(elapsed)"
