// peer_both.mjs: an rtc-node participant that publishes a sine tone and at
// the same time listens to a remote audio track (--from IDENTITY, e.g. an
// echo agent), so that what it hears is its own voice coming back.
//   node peer_both.mjs --url WS --room R --identity ID --from ID
//        [--freq 440] [--seconds 3] [--timeout 60] [--stats 0]
// Prints RESULT like peer_listen.mjs, plus "sent_frames".
// With --stats 1 (for benchmarks) it speaks and listens until --timeout
// instead, and prints every second a cumulative line
//   STAT {"t":<ms since epoch>,"frames":N,"active":N}
// where active counts the 10 ms frames heard above -40 dBFS.
import { AudioStream } from '@livekit/rtc-node';
import {
	RATE, analyse, feed, join, leave, listen, note, parseFlags, publishAudio, result, rmsDbfs, run, sine,
	waitAudioTrack,
} from './peer_lib.mjs';

const o = parseFlags(process.argv.slice(2), {
	url: undefined, room: undefined, identity: undefined, from: '', freq: '440', seconds: '3',
	timeout: '60', amplitude: '0.3', stats: '0',
});
const timeout = Number(o.timeout);
const deadline = Date.now() + (timeout - 5) * 1000;

run(async () => {
	const room = await join(o.url, o.room, o.identity);
	const { source } = await publishAudio(room, `tone-${o.freq}`);
	const gen = sine(Number(o.freq), Number(o.amplitude));
	let done = false;
	let sent = 0;
	const speaking = feed(source, (d) => { gen(d); sent++; }, timeout, () => done);
	const { track, participant } = await waitAudioTrack(room, o.from);
	note(`${o.identity}: subscribed to ${participant.identity}'s track ${track.sid}`);
	if (o.stats === '1') {
		const reader = new AudioStream(track, { sampleRate: RATE, numChannels: 1 }).getReader();
		let frames = 0;
		let active = 0;
		const tick = setInterval(() => process.stdout.write(`STAT ${JSON.stringify({ t: Date.now(), frames, active })}\n`), 1000);
		for (;;) {
			const r = await reader.read();
			if (r.done) break;
			const n = Math.max(1, Math.round(r.value.samplesPerChannel / (RATE / 100)));
			frames += n;
			if (rmsDbfs(r.value.data) > -40) active += n;
		}
		clearInterval(tick);
		done = true;
		await speaking;
		await leave(room);
		return 0;
	}
	const { samples, received_frames } = await listen(track, Number(o.seconds), deadline);
	done = true;
	await speaking;
	const a = analyse(samples);
	result({ from: participant.identity, ...a, received_frames, sent_frames: sent });
	await leave(room);
	return 0;
}, timeout);
