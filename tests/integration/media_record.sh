#!/bin/bash
# Recording agent end to end. lk-supervisor runs a dispatch with metadata
# {"script":"record","script_args":"dir=..."}; a real rtc-node participant
# (alice) publishes a 440 Hz sine for a few seconds and leaves. Proves the
# job subscribes, decodes and writes what it heard: after the dispatch is
# deleted and the job ended with JS_SUCCESS, <dir>/<room>-alice.wav is a
# well-formed RIFF/WAVE file (PCM, 24000 Hz, mono, 16 bit; header parsed
# here, independently of the job's WAV writer) with at least 3 s of sound
# whose dominant frequency is 440 +- 5 Hz.
. "$(dirname "$0")/netns.sh"
netns_enter 3 "$@"
need_rtc_node
start_media_devserver
start_supervisor --agent-name rec-agent --script-from-metadata
REC="$WORK/rec"
mkdir -p "$REC"

dispatch_job rec-room rec-agent '{"script":"record","script_args":"dir='"$REC"'"}'
log "job $JOB_ID"
wait_until 20 "record job RUNNING" ds_job_is "$JOB_ID" JS_RUNNING
agent_in_room() { node_api list-participants rec-room | grep -q "\"identity\":\"agent-$JOB_ID\""; }
wait_until 20 "agent-$JOB_ID joined rec-room" agent_in_room

peer alice tone --url "$DS_URL" --room rec-room --identity alice --freq 440 --seconds 6
peer_wait alice "$PEER_PID" 90

node_api delete-dispatch "$DISPATCH_ID" rec-room >/dev/null || fail "deleteDispatch"
wait_until 20 "record job SUCCESS after deleteDispatch" ds_job_is "$JOB_ID" JS_SUCCESS
WAV="$REC/rec-room-alice.wav"
[ -f "$WAV" ] || fail "no $WAV (files: $(ls -la "$REC"))"
log "recorded $(stat -c %s "$WAV") bytes: $(ls "$REC")"

# RIFF header parsed chunk by chunk; the samples analysed like the peers do.
node --input-type=module -e '
	import { readFileSync } from "node:fs";
	import { analyse } from "'"$SRCDIR"'/tests/integration/peer_lib.mjs";
	const b = readFileSync(process.argv[1]);
	const bad = (m) => { console.log(`BAD ${m}`); process.exit(1); };
	if (b.length < 44 || b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE") bad("not RIFF/WAVE");
	if (b.readUInt32LE(4) !== b.length - 8) bad(`RIFF size ${b.readUInt32LE(4)} but file has ${b.length - 8} bytes after it`);
	let off = 12, fmt = null, data = null;
	while (off + 8 <= b.length) {
		const id = b.toString("ascii", off, off + 4), len = b.readUInt32LE(off + 4);
		if (off + 8 + len > b.length) bad(`chunk ${id} of ${len} bytes overruns the file`);
		if (id === "fmt ") fmt = { format: b.readUInt16LE(off + 8), channels: b.readUInt16LE(off + 10),
			rate: b.readUInt32LE(off + 12), byteRate: b.readUInt32LE(off + 16),
			align: b.readUInt16LE(off + 20), bits: b.readUInt16LE(off + 22) };
		if (id === "data") data = b.subarray(off + 8, off + 8 + len);
		off += 8 + len + (len & 1);
	}
	if (!fmt || !data) bad("fmt or data chunk missing");
	if (fmt.format !== 1 || fmt.channels !== 1 || fmt.rate !== 24000 || fmt.bits !== 16 ||
		fmt.align !== 2 || fmt.byteRate !== 48000) bad(`format ${JSON.stringify(fmt)}, want PCM 24000 Hz mono 16 bit`);
	const s = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~1)));
	const a = analyse(s, 24000);
	console.log(JSON.stringify({ ...fmt, seconds: s.length / 24000, ...a }));
' "$WAV" >"$WORK/wav.json" || fail "WAV check: $(cat "$WORK/wav.json")"
log "WAV: $(cat "$WORK/wav.json")"
node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1])); j.from = "alice";
	require("fs").writeFileSync(process.argv[1], JSON.stringify(j));' "$WORK/wav.json"
expect_tone "$WORK/wav.json" 440 5 -40 alice
# alice spoke for 6 s: the file must hold most of it, not a fragment.
[ "$(json_get "$WORK/wav.json" 'j.active_frames >= 300')" = true ] ||
	fail "the WAV holds only $(json_get "$WORK/wav.json" j.active_frames) non-silent 10 ms frames of alice's 6 s"
kill -0 "$SUP_PID" || fail "supervisor died"
log "ok: the record agent wrote alice's 440 Hz to $WAV"
