// peer_listen.mjs: an rtc-node participant that joins a room, waits for a
// remote audio track (from --from IDENTITY, or anyone's), reads --seconds of
// it from the first non-silent frame on, and reports what it heard.
//   node peer_listen.mjs --url WS --room R --identity ID [--from ID]
//        [--seconds 3] [--timeout 60]
// Prints RESULT {"from","freq","level_dbfs","frames","active_frames",
// "received_frames"}; freq is the dominant frequency (100..2000 Hz) and
// level_dbfs the RMS level of the non-silent part. The caller judges them.
import { analyse, join, leave, listen, note, parseFlags, result, run, waitAudioTrack } from './peer_lib.mjs';

const o = parseFlags(process.argv.slice(2), {
	url: undefined, room: undefined, identity: undefined, from: '', seconds: '3', timeout: '60',
});
const timeout = Number(o.timeout);
const deadline = Date.now() + (timeout - 5) * 1000;

run(async () => {
	const room = await join(o.url, o.room, o.identity);
	const { track, participant } = await waitAudioTrack(room, o.from);
	note(`${o.identity}: subscribed to ${participant.identity}'s track ${track.sid}`);
	const { samples, received_frames } = await listen(track, Number(o.seconds), deadline);
	const a = analyse(samples);
	result({ from: participant.identity, ...a, received_frames });
	await leave(room);
	return 0;
}, timeout);
