// peer_tone.mjs: an rtc-node participant that joins a room and publishes a
// microphone track carrying a sine tone, then leaves.
//   node peer_tone.mjs --url WS --room R --identity ID [--freq 440]
//        [--seconds 10] [--amplitude 0.3]
// Prints RESULT {"identity","track","freq","frames"}.
import { feed, join, leave, note, parseFlags, publishAudio, result, run, sine } from './peer_lib.mjs';

const o = parseFlags(process.argv.slice(2), {
	url: undefined, room: undefined, identity: undefined, freq: '440', seconds: '10', amplitude: '0.3',
});
const seconds = Number(o.seconds);

run(async () => {
	const room = await join(o.url, o.room, o.identity);
	const { source, publication } = await publishAudio(room, `tone-${o.freq}`);
	const gen = sine(Number(o.freq), Number(o.amplitude));
	let frames = 0;
	await feed(source, (d) => { gen(d); frames++; }, seconds);
	await source.waitForPlayout();
	note(`${o.identity}: sent ${frames} frames of ${o.freq} Hz`);
	result({ identity: o.identity, track: publication.sid, freq: Number(o.freq), frames });
	await leave(room);
	return 0;
}, seconds + 60);
