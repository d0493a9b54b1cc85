// hostile_server.mjs: a fake LiveKit server that answers lk-supervisor's
// /agent connection with bad input, a different case on each connection:
// garbage, a truncated protobuf, an oversize frame, a text frame, a valid
// RegisterWorkerResponse followed by garbage, then a good registration
// forever. It prints one line per connection.
//   node hostile_server.mjs PORT
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
// ServerMessage.register{worker_id "AW_hostile", server_info{protocol 17}}
const registered = Buffer.from([0x0a, 0x10, 0x0a, 0x0a, ...Buffer.from('AW_hostile'), 0x1a, 0x02, 0x18, 0x11]);
const cases = [
	['garbage', (ws) => ws.send(Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0x01, 0x02, 0x03]))],
	['truncated', (ws) => ws.send(registered.subarray(0, 7))],
	['oversize', (ws) => ws.send(Buffer.alloc(4 << 20, 0x0a))],
	['text', (ws) => ws.send('{"register":{"workerId":"AW_text"}}')],
	['register-then-garbage', (ws) => { ws.send(registered); setTimeout(() => ws.send(Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])), 300); }],
];
let n = 0;
const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
	const c = cases[n++];
	ws.on('error', () => {});
	ws.once('message', () => {
		if (c) { console.log(`connection ${n}: ${c[0]}`); c[1](ws); }
		else { console.log(`connection ${n}: good registration`); ws.send(registered); }
	});
	ws.on('close', (code) => console.log(`connection ${n} closed ${code}`));
});
console.log(`listening ${port}`);
