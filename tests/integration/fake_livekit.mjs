// fake_livekit.mjs: a hostile LiveKit server, just enough of it to hand a
// real lk-supervisor one job whose room signalling then sends a malformed
// SDP offer. /agent: RegisterWorkerResponse, one AvailabilityRequest, and on
// acceptance a JobAssignment whose `url` points back here. /rtc: a valid
// JoinResponse (RM_/PA_ sids, non-zero ping interval and timeout), then a
// subscriber offer whose sdp is garbage. /rtc/v1 answers 404 as the dev
// server does. One job per kind of bad SDP, one after the other: the next
// is offered when the previous one ended. Prints one line per event on
// stdout, among them
//   JOB_STATUS {"jobId":..,"kind":..,"status":"JS_FAILED","error":..}
// for every UpdateJobStatus the worker sends.
//   node fake_livekit.mjs PORT [KIND...]   KIND: garbage | binary | truncated (default: all)
import http from 'node:http';
import {
	AvailabilityRequest,
	Job,
	JobAssignment,
	JobStatus,
	JobType,
	JoinResponse,
	ParticipantInfo,
	ParticipantInfo_State,
	RegisterWorkerResponse,
	Room,
	ServerInfo,
	ServerMessage,
	SessionDescription,
	SignalRequest,
	SignalResponse,
	WorkerMessage,
	WorkerPong,
} from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const kinds = process.argv.length > 3 ? process.argv.slice(3) : ['garbage', 'binary', 'truncated'];
const self = `ws://127.0.0.1:${port}`;
const jobId = (kind) => `AJ_fake_${kind}`;
const roomOf = (kind) => `fake-${kind}`;

const say = (what, obj) => console.log(obj === undefined ? what : `${what} ${JSON.stringify(obj)}`);

const badSdps = {
	// Looks like the start of an SDP, then is not one.
	garbage: 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nm=audio banana UDP/TLS/RTP/SAVPF x\r\nthis is not sdp at all\r\n',
	// Control characters and no line structure at all.
	binary: '\u0001\u0002\u00ff\u00fe\u0007\u001b[garbage\u007f',
	// A plausible offer with an Opus track, cut off in the middle of its
	// ICE credentials: no ice-pwd, no fingerprint, no setup, no ssrc.
	truncated: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=ice-lite\r\n' +
		'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n' +
		'a=msid:PA_fakeother0001|TR_fakeaudio0001 TR_fakeaudio0001\r\na=rtpmap:111 opus/48000/2\r\n' +
		'a=ice-ufrag:fake\r\na=ice-pw',
};
for (const k of kinds) {
	if (badSdps[k] === undefined) {
		console.error(`unknown SDP kind ${k}`);
		process.exit(2);
	}
}

function serverInfo() {
	return new ServerInfo({ version: '0.0.0-fake', protocol: 17, agentProtocol: 1 });
}

function job(agentName, kind) {
	return new Job({
		id: jobId(kind),
		dispatchId: `AD_fake_${kind}`,
		type: JobType.JT_ROOM,
		room: new Room({ sid: `RM_fake_${kind}`, name: roomOf(kind) }),
		agentName,
		metadata: '{"script":"noop"}',
	});
}

async function roomToken(identity, kind) {
	const at = new AccessToken('devkey', 'secret', { identity, ttl: '1h', kind: 'agent' });
	at.addGrant({ roomJoin: true, room: roomOf(kind), canPublish: true, canSubscribe: true, agent: true });
	return at.toJwt();
}

// ---- /agent ----
function agentConnection(ws) {
	let agentName = '';
	let next = 0;
	const send = (msg) => ws.send(new ServerMessage({ message: msg }).toBinary());
	const offer = () => {
		if (next >= kinds.length) return say('ALL_JOBS_DONE');
		const kind = kinds[next++];
		say('agent: availability request', { jobId: jobId(kind), kind });
		send({ case: 'availability', value: new AvailabilityRequest({ job: job(agentName, kind) }) });
	};
	const kindOf = (id) => kinds.find((k) => jobId(k) === id);
	ws.on('message', async (data, isBinary) => {
		if (!isBinary) return say('agent: text frame ignored');
		let m;
		try {
			m = WorkerMessage.fromBinary(new Uint8Array(data));
		} catch (e) {
			return say('agent: undecodable frame', { error: String(e) });
		}
		const { case: c, value: v } = m.message;
		switch (c) {
		case 'register':
			agentName = v.agentName;
			say('agent: register', { agentName, version: v.version });
			send({ case: 'register', value: new RegisterWorkerResponse({ workerId: 'AW_fakeworker01', serverInfo: serverInfo() }) });
			setTimeout(offer, 200);
			break;
		case 'availability': {
			say('agent: availability response', { jobId: v.jobId, available: v.available, identity: v.participantIdentity });
			const kind = kindOf(v.jobId);
			if (!v.available || !kind) break;
			const identity = v.participantIdentity || `agent-${v.jobId}`;
			send({
				case: 'assignment',
				value: new JobAssignment({ job: job(agentName, kind), url: self, token: await roomToken(identity, kind) }),
			});
			say('agent: assignment sent', { url: self });
			break;
		}
		case 'updateJob':
			say('JOB_STATUS', { jobId: v.jobId, kind: kindOf(v.jobId), status: JobStatus[v.status], error: v.error });
			if (v.status === JobStatus.JS_FAILED || v.status === JobStatus.JS_SUCCESS) setTimeout(offer, 300);
			break;
		case 'ping':
			send({ case: 'pong', value: new WorkerPong({ lastTimestamp: v.timestamp, timestamp: BigInt(Date.now()) }) });
			break;
		case 'updateWorker':
			break;
		default:
			say(`agent: ${c}`);
		}
	});
	ws.on('close', (code) => say('agent: closed', { code }));
	ws.on('error', () => {});
}

// ---- /rtc ----
function rtcConnection(ws, identity, room) {
	const send = (msg) => ws.send(new SignalResponse({ message: msg }).toBinary());
	const kind = kinds.find((k) => roomOf(k) === room) ?? 'garbage';
	say('rtc: joined', { identity, room });
	send({
		case: 'join',
		value: new JoinResponse({
			room: new Room({ sid: `RM_fake_${kind}`, name: room }),
			participant: new ParticipantInfo({
				sid: 'PA_fakeagent0001',
				identity,
				state: ParticipantInfo_State.JOINED,
			}),
			otherParticipants: [],
			subscriberPrimary: true,
			pingInterval: 5,
			pingTimeout: 15,
			serverInfo: serverInfo(),
		}),
	});
	setTimeout(() => {
		say('rtc: sending malformed offer', { kind, sdp: badSdps[kind] });
		send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: badSdps[kind], id: 1 }) });
	}, 100);
	ws.on('message', (data, isBinary) => {
		if (!isBinary) return;
		try {
			const m = SignalRequest.fromBinary(new Uint8Array(data));
			say(`rtc: ${m.message.case}`);
		} catch (e) {
			say('rtc: undecodable frame', { error: String(e) });
		}
	});
	ws.on('close', (code) => say('rtc: closed', { code }));
	ws.on('error', () => {});
}

// Claims of the (unverified) token: identity and room.
function claimsOf(req) {
	const auth = req.headers.authorization ?? '';
	const url = new URL(req.url, 'http://x');
	const jwt = auth.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('access_token') ?? '';
	try {
		const c = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
		return { identity: c.sub ?? '', room: c.video?.room ?? '' };
	} catch {
		return { identity: '', room: '' };
	}
}

const wss = new WebSocketServer({ noServer: true });
const server = http.createServer((req, res) => {
	res.writeHead(404).end('not found');
});
server.on('upgrade', (req, socket, head) => {
	const path = new URL(req.url, 'http://x').pathname;
	say('upgrade', { path });
	if (path === '/agent') {
		wss.handleUpgrade(req, socket, head, agentConnection);
	} else if (path === '/rtc') {
		const { identity, room } = claimsOf(req);
		wss.handleUpgrade(req, socket, head, (ws) => rtcConnection(ws, identity, room));
	} else {
		socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
	}
});
server.listen(port, '127.0.0.1', () => say(`listening ${port}`));
