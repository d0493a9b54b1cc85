// hostile_client.mjs: sends bad input to lk-devserver's /agent endpoint, one
// connection per case, and reports how each connection ended. Then checks a
// well-formed registration still works on a fresh connection.
//   node hostile_client.mjs ws://127.0.0.1:PORT
import { AccessToken } from 'livekit-server-sdk';
import WebSocket from 'ws';

const base = process.argv[2];
const at = new AccessToken('devkey', 'secret', { ttl: '10m' });
at.addGrant({ agent: true });
const token = await at.toJwt();

// WorkerMessage.register{version "1.9.0", agent_name "test-agent", permissions}: bytes the Node worker sends.
const register = Buffer.from('0a1f1a05312e392e303a0a08011001180150015801420a746573742d6167656e74', 'hex');

function run(name, send) {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${base}/agent`, { headers: { authorization: `Bearer ${token}` }, maxPayload: 64 << 20 });
		const t = setTimeout(() => { ws.terminate(); resolve(`${name}: still open after 5 s`); }, 5000);
		ws.on('open', () => send(ws));
		ws.on('close', (code) => { clearTimeout(t); resolve(`${name}: closed ${code}`); });
		ws.on('error', (e) => { clearTimeout(t); resolve(`${name}: error ${e.message}`); });
	});
}

const cases = [
	['garbage', (ws) => ws.send(Buffer.from('this is not a protobuf \xff\xff\xff\xff\xff'))],
	['truncated', (ws) => ws.send(register.subarray(0, 12))],
	['oversize', (ws) => ws.send(Buffer.alloc(3 << 20, 0x41))],
	['not-register-first', (ws) => ws.send(Buffer.from('1a020801', 'hex'))],
	['register-then-garbage', (ws) => { ws.send(register); setTimeout(() => ws.send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), 200); }],
];
let bad = 0;
for (const [name, send] of cases) {
	const r = await run(name, send);
	console.log(r);
	if (!/closed|error/.test(r)) bad++;
}
// A well-formed worker is still served.
const ok = await new Promise((resolve) => {
	const ws = new WebSocket(`${base}/agent`, { headers: { authorization: `Bearer ${token}` } });
	const t = setTimeout(() => { ws.terminate(); resolve(false); }, 5000);
	ws.on('open', () => ws.send(register));
	ws.on('message', (d) => { clearTimeout(t); ws.close(); resolve(d[0] === 0x0a); });
	ws.on('error', () => resolve(false));
});
console.log(`fresh registration answered: ${ok}`);
process.exit(bad === 0 && ok ? 0 : 1);
