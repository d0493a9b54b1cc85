// peer_lib.mjs: what the rtc-node test peers (peer_*.mjs) share: flags, an
// access token from livekit-server-sdk, joining a room with
// @livekit/rtc-node, publishing a sine tone from an AudioSource, reading a
// remote audio track through an AudioStream, and the analysis of what was
// heard (dominant frequency by a Goertzel scan, RMS level in dBFS).
// Every peer prints exactly one line "RESULT {json}" on stdout.
import { AccessToken } from 'livekit-server-sdk';
import {
	AudioFrame,
	AudioSource,
	AudioStream,
	LocalAudioTrack,
	Room,
	RoomEvent,
	TrackKind,
	TrackPublishOptions,
	TrackSource,
	dispose,
} from '@livekit/rtc-node';

export const RATE = 48000;
export const FRAME = RATE / 100; // 10 ms

// --name value flags into an object; numbers stay strings.
export function parseFlags(argv, defaults) {
	const o = { ...defaults };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
		const k = a.slice(2);
		if (!(k in defaults)) throw new Error(`unknown flag ${a}`);
		if (i + 1 >= argv.length) throw new Error(`flag ${a} needs a value`);
		o[k] = argv[++i];
	}
	for (const [k, v] of Object.entries(o)) if (v === undefined) throw new Error(`--${k} is required`);
	return o;
}

export function result(obj) {
	process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}

export function note(msg) {
	process.stderr.write(`[${new Date().toISOString()}] ${msg}\n`);
}

export async function token(room, identity) {
	const at = new AccessToken(process.env.LK_API_KEY ?? 'devkey', process.env.LK_API_SECRET ?? 'secret', {
		identity,
		name: identity,
		ttl: '1h',
	});
	at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
	return at.toJwt();
}

export async function join(url, room, identity) {
	const r = new Room();
	r.on(RoomEvent.Disconnected, (reason) => note(`${identity}: disconnected (${reason})`));
	r.on(RoomEvent.ParticipantConnected, (p) => note(`${identity}: participant ${p.identity} joined`));
	const t0 = Date.now();
	await r.connect(url, await token(room, identity), { autoSubscribe: true, dynacast: false });
	note(`${identity}: connected to ${room} in ${Date.now() - t0} ms`);
	return r;
}

// A sine generator with continuous phase; amplitude in full scale (0..1).
export function sine(freq, amplitude) {
	let phase = 0;
	const step = (2 * Math.PI * freq) / RATE;
	return (out) => {
		for (let i = 0; i < out.length; i++) {
			out[i] = Math.round(Math.sin(phase) * amplitude * 32767);
			phase += step;
			if (phase > 2 * Math.PI) phase -= 2 * Math.PI;
		}
	};
}

// Publishes a microphone track and returns {source, publication}.
export async function publishAudio(room, name, queueMs = 1000) {
	const source = new AudioSource(RATE, 1, queueMs);
	const track = LocalAudioTrack.createAudioTrack(name, source);
	const opts = new TrackPublishOptions();
	opts.source = TrackSource.SOURCE_MICROPHONE;
	const publication = await room.localParticipant.publishTrack(track, opts);
	note(`published ${name} as ${publication.sid}`);
	return { source, track, publication };
}

// Feeds `gen` into the source for `seconds` (10 ms frames). The AudioSource's
// queue paces the loop in real time. `stop()` returning true ends it early.
export async function feed(source, gen, seconds, stop = () => false) {
	const n = Math.round(seconds * 100);
	for (let i = 0; i < n && !stop(); i++) {
		const f = AudioFrame.create(RATE, 1, FRAME);
		gen(f.data, i);
		await source.captureFrame(f);
	}
}

// Resolves with {track, participant} for the first remote audio track,
// from participant `from` when given ('' = anyone).
export function waitAudioTrack(room, from) {
	return new Promise((resolve) => {
		const check = (track, pub, p) => {
			if (track.kind !== TrackKind.KIND_AUDIO) return false;
			if (from && p.identity !== from) {
				note(`ignoring audio track of ${p.identity}`);
				return false;
			}
			resolve({ track, participant: p });
			return true;
		};
		for (const p of room.remoteParticipants.values())
			for (const pub of p.trackPublications.values())
				if (pub.track && check(pub.track, pub, p)) return;
		room.on(RoomEvent.TrackSubscribed, check);
	});
}

export function rmsDbfs(x, from = 0, to = x.length) {
	let s = 0;
	for (let i = from; i < to; i++) s += x[i] * x[i];
	const n = Math.max(1, to - from);
	const rms = Math.sqrt(s / n) / 32768;
	return rms > 0 ? 20 * Math.log10(rms) : -200;
}

// Power of frequency f in the Hann-windowed block x (Goertzel).
function goertzel(x, win, f, rate) {
	const c = 2 * Math.cos((2 * Math.PI * f) / rate);
	let s1 = 0;
	let s2 = 0;
	for (let i = 0; i < x.length; i++) {
		const s = x[i] * win[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

// Dominant frequency in 100..2000 Hz: a 2 Hz scan, refined to 0.1 Hz.
export function dominant(x, rate = RATE) {
	const win = new Float64Array(x.length);
	for (let i = 0; i < x.length; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (x.length - 1));
	let best = 100;
	let bp = -1;
	for (let f = 100; f <= 2000; f += 2) {
		const p = goertzel(x, win, f, rate);
		if (p > bp) { bp = p; best = f; }
	}
	let fine = best;
	for (let f = best - 3; f <= best + 3; f += 0.1) {
		const p = goertzel(x, win, f, rate);
		if (p > bp) { bp = p; fine = f; }
	}
	return Math.round(fine * 10) / 10;
}

// Analyses int16 mono samples at `rate`: the active part (10 ms blocks
// above -60 dBFS) gives the level and, over at most 1 s from its middle,
// the dominant frequency.
export function analyse(samples, rate = RATE) {
	const block = rate / 100;
	const active = [];
	let frames = 0;
	for (let i = 0; i + block <= samples.length; i += block) {
		frames++;
		if (rmsDbfs(samples, i, i + block) > -60) active.push(i);
	}
	const out = { frames, active_frames: active.length, freq: null, level_dbfs: null };
	if (active.length === 0) return out;
	const a = new Int16Array(active.length * block);
	active.forEach((off, k) => a.set(samples.subarray(off, off + block), k * block));
	out.level_dbfs = Math.round(rmsDbfs(a) * 10) / 10;
	const n = Math.min(a.length, rate);
	const start = Math.floor((a.length - n) / 2);
	const x = new Float64Array(n);
	for (let i = 0; i < n; i++) x[i] = a[start + i];
	out.freq = dominant(x, rate);
	return out;
}

// Reads `track` until `seconds` of audio have arrived after the first
// active (non-silent) frame, or until `deadline` (ms since epoch).
// Returns the int16 samples from the first active frame on.
export async function listen(track, seconds, deadline) {
	const stream = new AudioStream(track, { sampleRate: RATE, numChannels: 1 });
	const reader = stream.getReader();
	const want = Math.round(seconds * RATE);
	const buf = new Int16Array(want);
	let have = 0;
	let got = 0;
	let timer;
	const timeout = new Promise((r) => { timer = setInterval(() => { if (Date.now() > deadline) r(null); }, 100); });
	try {
		while (have < want) {
			const next = await Promise.race([reader.read(), timeout]);
			if (next === null || next.done) break;
			const f = next.value;
			got++;
			let d = f.data;
			if (f.channels > 1) {
				const m = new Int16Array(f.samplesPerChannel);
				for (let i = 0; i < m.length; i++) m[i] = d[i * f.channels];
				d = m;
			}
			if (have === 0 && rmsDbfs(d) <= -60) continue;
			const n = Math.min(d.length, want - have);
			buf.set(d.subarray(0, n), have);
			have += n;
		}
	} finally {
		clearInterval(timer);
		reader.releaseLock();
		stream.cancel().catch(() => {});
	}
	return { samples: buf.subarray(0, have), received_frames: got };
}

export async function leave(room) {
	try {
		await room.disconnect();
	} catch (e) {
		note(`disconnect: ${e?.message ?? e}`);
	}
	await dispose();
}

// Runs main(); prints RESULT {"error"} and exits 1 on an exception or when
// `timeout_s` passes.
export function run(main, timeoutS) {
	const t = setTimeout(() => {
		result({ error: `timed out after ${timeoutS} s` });
		process.exit(1);
	}, timeoutS * 1000);
	main()
		.then((code) => {
			clearTimeout(t);
			process.exit(code ?? 0);
		})
		.catch((e) => {
			clearTimeout(t);
			note(e?.stack ?? String(e));
			result({ error: String(e?.message ?? e) });
			process.exit(1);
		});
}
