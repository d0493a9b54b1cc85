// peer_rtt.mjs: mouth-to-ear round trip through an echo agent. An rtc-node
// participant publishes silence with a short 1 kHz burst every --period ms,
// listens to the agent's track (--from), and times each burst from the
// moment its first frame was handed to the AudioSource until the first
// loud frame of its echo came out of the AudioStream. Frames are paced on
// the wall clock and the AudioSource has no queue (each frame goes to
// libwebrtc as it is captured), so no queue hides or adds delay: with a
// queue the source's own 10 ms clock drains it, and every stall of this
// process would leave a backlog that delays all later bursts.
// With --direct 1 there is no agent: the same process joins the room a
// second time as ID-ear, and that participant listens to ID's own track.
// This times one hop mouth -> server -> ear between two ordinary
// participants with the same clock and the same onset detection, the
// baseline that the echo round trip is compared with.
//   node peer_rtt.mjs --url WS --room R --identity ID (--from ID | --direct 1)
//        [--bursts 12] [--period 800] [--burst-ms 60] [--timeout 90]
// Prints RESULT {"rtt_ms":[...],"median_ms","min_ms","max_ms","missed",
// "direct","late_frames"} (with --direct 1, rtt_ms holds the one-way
// times; late_frames counts frames captured over 10 ms after their time,
// a sign that this process was starved and the numbers are noisier).
import { AudioFrame, AudioStream } from '@livekit/rtc-node';
import { FRAME, RATE, join, leave, note, parseFlags, publishAudio, result, rmsDbfs, run, sine, waitAudioTrack } from './peer_lib.mjs';

const o = parseFlags(process.argv.slice(2), {
	url: undefined, room: undefined, identity: undefined, from: '', direct: '0', bursts: '12',
	period: '800', 'burst-ms': '60', timeout: '90', warmup: '2',
});
const direct = o.direct === '1';
if (!direct && !o.from) throw new Error('--from is required unless --direct 1');
const bursts = Number(o.bursts);
const period = Number(o.period);
const burstFrames = Math.round(Number(o['burst-ms']) / 10);
const warmup = Number(o.warmup);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

run(async () => {
	const room = await join(o.url, o.room, o.identity);
	const { source } = await publishAudio(room, 'rtt', 0);
	// The ear: this participant itself, or a second one for --direct.
	const earRoom = direct ? await join(o.url, o.room, `${o.identity}-ear`) : room;
	const from = direct ? o.identity : o.from;
	const { track } = await waitAudioTrack(earRoom, from);
	note(`${direct ? `${o.identity}-ear` : o.identity}: listening to ${from}`);

	// Ear: onset of loudness after at least 100 ms of quiet.
	const onsets = [];
	let stop = false;
	const ear = (async () => {
		const reader = new AudioStream(track, { sampleRate: RATE, numChannels: 1 }).getReader();
		let quiet = 0;
		while (!stop) {
			const r = await reader.read();
			if (r.done) break;
			const loud = rmsDbfs(r.value.data) > -35;
			if (loud && quiet >= 10) onsets.push(now());
			quiet = loud ? 0 : quiet + 1;
		}
		reader.releaseLock();
	})();

	// Mouth: warm-up bursts (not timed) then timed ones, paced on the clock.
	const gen = sine(1000, 0.5);
	const sent = [];
	const total = warmup + bursts;
	const framesPerPeriod = Math.round(period / 10);
	const t0 = now();
	let late = 0;
	for (let i = 0; i < total * framesPerPeriod; i++) {
		await sleep(t0 + i * 10 - now());
		if (now() - (t0 + i * 10) > 10) late++;
		const f = AudioFrame.create(RATE, 1, FRAME);
		const k = i % framesPerPeriod;
		if (k < burstFrames) gen(f.data);
		if (k === 0) sent.push(now());
		await source.captureFrame(f);
	}
	await sleep(period);
	stop = true;

	// Each timed burst: the first onset after it was sent and before the next one.
	const rtt = [];
	let missed = 0;
	for (let b = warmup; b < total; b++) {
		const end = b + 1 < total ? sent[b + 1] : sent[b] + period;
		const hit = onsets.find((t) => t >= sent[b] && t < end);
		if (hit === undefined) missed++;
		else rtt.push(Math.round(hit - sent[b]));
	}
	const s = [...rtt].sort((a, b) => a - b);
	result({
		rtt_ms: rtt,
		median_ms: s.length ? s[Math.floor(s.length / 2)] : null,
		min_ms: s.length ? s[0] : null,
		max_ms: s.length ? s[s.length - 1] : null,
		missed,
		direct,
		late_frames: late,
	});
	await Promise.race([ear, sleep(500)]);
	if (direct) await earRoom.disconnect().catch((e) => note(`disconnect: ${e?.message ?? e}`));
	await leave(room);
	return 0;
}, Number(o.timeout));
