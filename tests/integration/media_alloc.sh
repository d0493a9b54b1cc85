#!/bin/bash
# No heap allocation per audio frame in a real job process. lk-supervisor
# runs an `echo` job whose lk-jobproc has tests/common/alloc_preload.so
# preloaded: it counts every malloc, calloc, realloc and memalign-family
# call, including those made inside libsrtp2, OpenSSL, libopus, libev and
# libc, and records the call stack of each one made inside a window. A real
# rtc-node participant speaks to the agent and hears itself back, so the
# whole media path runs: SRTP in, Opus decode, the script, Opus encode, SRTP
# out, RTCP reports, STATUS and PING/PONG on the IPC socket. After a warm-up
# of 3 s of audio the window lasts 8 s and a little more (it closes at the
# first STATUS report after that): about 450 frames each way.
# Passes when every allocation in the window comes from the periodic
# control traffic listed in PERIODIC below (each stack at most once per
# second) or is a one-off (a stack seen once); anything that recurs
# elsewhere (a per-frame or per-packet allocation anywhere) fails, with its
# call stacks printed. The same run prints
# "media_job_allocs_per_frame X" for the media benchmark when started as
#   tests/integration/media_alloc.sh --bench
# (key value lines on stdout, no verdict). Skipped under AddressSanitizer,
# which owns malloc.
BENCH=0
if [ "${1:-}" = --bench ]; then BENCH=1; fi
. "$(dirname "$0")/netns.sh"
netns_enter 6 "$@"
if [ "$BENCH" = 1 ]; then
	# Only "key value" lines on stdout.
	log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fi
need_rtc_node
if grep -q '^SAN_CFLAGS = .*-fsanitize=address' "$BUILDDIR/Makefile" 2>/dev/null ||
	ldd "$BUILDDIR/lk-jobproc" 2>/dev/null | grep -q libasan; then
	skip "AddressSanitizer owns malloc in this build: allocations cannot be counted"
fi
for tool in addr2line readelf nm; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool (binutils) not installed: allocation stacks cannot be named"
done
PRELOAD="$BUILDDIR/tests/common/alloc_preload.so"
[ -f "$PRELOAD" ] || fail "$PRELOAD is not built (make check builds it; make tests/common/alloc_preload.so)"
WARMUP_S=${MEDIA_ALLOC_WARMUP_S:-3}
WINDOW_S=${MEDIA_ALLOC_WINDOW_S:-8}
# Control traffic that still allocates, a few times per window whatever the
# audio does. A stack through one of these functions is allowed, at most
# WINDOW_S times. Remove an entry when its allocations are gone.
#  - room_send_ping: SignalRequest.ping_req every ping_interval (5 s):
#    wslay's event queue copies each message it sends.
#  - ws_io_cb: messages received on the signal WebSocket (the pong_resp of
#    each ping): wslay buffers each message, nanopb allocates the
#    SignalResponse's pointer fields, and wslay answers a WebSocket ping
#    with a queued pong.
PERIODIC="room_send_ping ws_io_cb"

# lk-supervisor starts job processes through this wrapper: only they get the
# counter, one count file per process (%p is the pid).
cat >"$WORK/lk-jobproc-counted" <<EOF
#!/bin/sh
LD_PRELOAD="$PRELOAD" LK_ALLOC_COUNT_FILE="$WORK/allocs.%p" LK_ALLOC_TRACE=1 exec "$BUILDDIR/lk-jobproc" "\$@"
EOF
chmod +x "$WORK/lk-jobproc-counted"

start_media_devserver
start_supervisor --agent-name alloc-agent --script-from-metadata --jobproc "$WORK/lk-jobproc-counted"
dispatch_job alloc-room alloc-agent '{"script":"echo"}'
log "job $JOB_ID"
wait_until 20 "echo job RUNNING" ds_job_is "$JOB_ID" JS_RUNNING

# job_field FIELD: one field of our job in the supervisor's /debug/jobs.
job_field() {
	http_get "$SUP_HTTP/debug/jobs" | node -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			const j = JSON.parse(s).find(x => x.job_id === process.argv[1]);
			process.stdout.write(j ? String(j[process.argv[2]]) : "");
		});' "$JOB_ID" "$1"
}
JPID=$(job_field pid)
[ -n "$JPID" ] && [ "$JPID" -gt 0 ] || fail "no pid for job $JOB_ID in /debug/jobs"
COUNT_FILE="$WORK/allocs.$JPID"
has_count() { [ -s "$COUNT_FILE" ]; }
wait_until 10 "the job's allocation count ($COUNT_FILE)" has_count

peer speaker both --url "$DS_URL" --room alloc-room --identity speaker --from "agent-$JOB_ID" \
	--freq 440 --stats 1 --timeout 60
both_ways() { [ "$(job_field audio_in_frames)" -gt 0 ] && [ "$(job_field audio_out_frames)" -gt 0 ]; }
wait_until 40 "audio flowing both ways through the job" both_ways
log "audio flows; warming up for ${WARMUP_S}s"
sleep "$WARMUP_S"

# sample_frames: the job's frame counters (in, out), just after the job
# reported them (STATUS, once a second), so that the window's edges and the
# counters' moments differ by little.
sample_frames() {
	local in0 in out
	in0=$(job_field audio_in_frames)
	for _ in $(seq 1 30); do
		in=$(job_field audio_in_frames)
		[ "$in" != "$in0" ] && break
		sleep 0.05
	done
	out=$(job_field audio_out_frames)
	echo "$in $out"
}
read -r IN0 OUT0 <<<"$(sample_frames)"
: >"$COUNT_FILE.start" # the window opens: every allocation's stack is recorded
sleep "$WINDOW_S"
read -r IN1 OUT1 <<<"$(sample_frames)"
: >"$COUNT_FILE.stop"
kill -0 "$JPID" 2>/dev/null || fail "job process $JPID died during the window"
window_closed() { grep -q '^window [0-9]* closed' "$COUNT_FILE.sites"; }
wait_until 5 "the job's allocation window to close" window_closed
node "$SRCDIR/tests/common/alloc_sites.mjs" --json "$COUNT_FILE.sites" >"$WORK/sites.json" ||
	fail "cannot resolve $COUNT_FILE.sites"
FIN=$((IN1 - IN0))
FOUT=$((OUT1 - OUT0))

# Verdict, per call stack: through one of PERIODIC's functions and at most
# once per second: control traffic. Seen once in the window: a one-off (a
# buffer reaching a new high-water mark, such as libev's arrays of pending
# watchers); up to ONEOFF_MAX of those are reported, not failed. Anything
# else fails: a per-frame or per-packet allocation recurs hundreds of times.
ONEOFF_MAX=4
read -r ALLOCS CONTROL ONEOFF BAD VERDICT <<<"$(node -e '
	const fs = require("fs");
	const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
	const periodic = process.argv[2].split(/\s+/).filter(Boolean);
	const max = Number(process.argv[3]), oneoffMax = Number(process.argv[4]);
	let control = 0, oneoff = 0, bad = 0;
	const why = [], shown = [];
	if (j.untraced > 0) why.push(`${j.untraced} allocations without a stack`);
	if (Math.abs(j.window - j.traced) > 2) why.push(`window counted ${j.window} allocations but ${j.traced} were traced`);
	for (const s of j.sites) {
		const ctl = s.frames.some((f) => periodic.some((p) => f.startsWith(p + " ")));
		let kind;
		if (ctl && s.count <= max) { control += s.count; continue; }
		if (!ctl && s.count === 1) { oneoff++; kind = "one-off"; }
		else { bad += s.count; kind = "FAIL"; }
		shown.push(`${kind}: ${s.count} x\n` + s.frames.map((f) => `    ${f}\n`).join(""));
	}
	if (bad > 0) why.push(`${bad} allocations recurring outside the periodic control traffic`);
	if (oneoff > oneoffMax) why.push(`${oneoff} one-off allocations (more than ${oneoffMax})`);
	fs.writeFileSync(process.argv[5], shown.join(""));
	console.log(j.window, control, oneoff, bad, why.length ? why.join("; ").replace(/ /g, "_") : "ok");' \
	"$WORK/sites.json" "$PERIODIC" "$WINDOW_S" "$ONEOFF_MAX" "$WORK/verdict.txt")"
[ -n "$VERDICT" ] || fail "cannot classify the allocations of the window ($WORK/sites.json)"
per_frame() { awk -v a="$1" -v f="$FIN" 'BEGIN {printf "%.3f", (f > 0 ? a / f : -1)}'; }
log "window ${WINDOW_S}s: $FIN frames in, $FOUT frames out, $ALLOCS allocations ($(per_frame "$ALLOCS") per frame): $CONTROL periodic control traffic, $ONEOFF one-off, $BAD other"

# The window must really have carried audio both ways (20 ms frames: 50/s),
# or a count of 0 would prove nothing.
min_frames=$((WINDOW_S * 50 * 3 / 4))
[ "$FIN" -ge "$min_frames" ] || fail "only $FIN frames in during the window (want >= $min_frames)"
[ "$FOUT" -ge "$min_frames" ] || fail "only $FOUT frames out during the window (want >= $min_frames)"

node "$SRCDIR/tests/common/alloc_sites.mjs" "$COUNT_FILE.sites" 12 >"$WORK/sites.txt" 2>&1
if [ "$BENCH" = 1 ]; then
	[ "$ALLOCS" = 0 ] || cat "$WORK/sites.txt" >&2
	kv() { printf '%s %s\n' "$1" "$2"; }
	kv media_job_allocs_per_frame "$(per_frame "$ALLOCS")"
	kv media_job_allocs_per_frame_excl_control "$(per_frame $((ALLOCS - CONTROL)))"
	kv media_job_allocs_window "$ALLOCS"
	kv media_job_allocs_control_window "$CONTROL"
	kv media_job_frames_window "$FIN"
	exit 0
fi
[ -s "$WORK/verdict.txt" ] && cat "$WORK/verdict.txt" >&2
[ "$VERDICT" = ok ] || fail "${VERDICT//_/ }"
[ "$CONTROL" = 0 ] || log "periodic control traffic allocated $CONTROL times (see PERIODIC in this script)"
node_api delete-dispatch "$DISPATCH_ID" alloc-room >/dev/null || fail "deleteDispatch"
wait_until 20 "echo job SUCCESS after deleteDispatch" ds_job_is "$JOB_ID" JS_SUCCESS
log "ok: no allocation per frame in ${WINDOW_S}s of audio ($FIN frames in, $FOUT out)"
