// fake_agent_server.mjs: the /agent side of a LiveKit server, alone, for the
// migration scenario. It registers the worker, offers one job whose room
// lives on another server (JobAssignment.url = ROOM_URL, token signed for
// it), and prints one line per event, among them
//   JOB_STATUS {"jobId":..,"status":..}   for every UpdateJobStatus
//   MIGRATE {"jobIds":[..]}                for every MigrateJobRequest
// With --no-job it only registers (the same server after a restart).
//   node fake_agent_server.mjs PORT ROOM_URL ROOM [--no-job]
import http from 'node:http';
import {
	AvailabilityRequest,
	Job,
	JobAssignment,
	JobStatus,
	JobType,
	RegisterWorkerResponse,
	Room,
	ServerInfo,
	ServerMessage,
	WorkerMessage,
} from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import { WebSocketServer } from 'ws';

const [port, roomUrl, room] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const offerJob = !process.argv.includes('--no-job');
const jobId = 'AJ_migrate0001';
const say = (what, obj) => console.log(obj === undefined ? what : `${what} ${JSON.stringify(obj)}`);
const job = () => new Job({ id: jobId, type: JobType.JT_ROOM, room: new Room({ sid: 'RM_migrate0001', name: room }) });

const server = http.createServer((req, res) => {
	res.writeHead(404);
	res.end();
});
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
	if (!req.url.startsWith('/agent')) return socket.destroy();
	wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
});

function serve(ws) {
	const send = (msg) => ws.send(new ServerMessage({ message: msg }).toBinary());
	ws.on('error', () => {});
	ws.on('message', async (data) => {
		const { case: c, value: v } = WorkerMessage.fromBinary(new Uint8Array(data)).message;
		if (c === 'register') {
			say('REGISTER', { agentName: v.agentName });
			send({ case: 'register', value: new RegisterWorkerResponse({ workerId: 'AW_fakemigrate', serverInfo: new ServerInfo({ protocol: 17, agentProtocol: 1 }) }) });
			if (offerJob) setTimeout(() => send({ case: 'availability', value: new AvailabilityRequest({ job: job() }) }), 200);
		} else if (c === 'availability' && v.available) {
			const at = new AccessToken('devkey', 'secret', { identity: v.participantIdentity || `agent-${jobId}`, ttl: '1h', kind: 'agent' });
			at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, agent: true });
			send({ case: 'assignment', value: new JobAssignment({ job: job(), url: roomUrl, token: await at.toJwt() }) });
			say('ASSIGNED', { jobId, url: roomUrl });
		} else if (c === 'updateJob') {
			say('JOB_STATUS', { jobId: v.jobId, status: JobStatus[v.status], error: v.error });
		} else if (c === 'migrateJob') {
			say('MIGRATE', { jobIds: v.jobIds });
		}
	});
}
server.listen(port, '127.0.0.1', () => say('LISTENING', { port }));
