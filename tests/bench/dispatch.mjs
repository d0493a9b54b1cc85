// dispatch.mjs: for `make bench`. Creates N dispatches one after another
// through livekit-server-sdk, waiting for each job to be RUNNING on the dev
// server before the next; with HOLD=1 they are all kept running at the end,
// otherwise each dispatch is deleted once its job runs.
//   LK_URL=http://127.0.0.1:PORT N=100 HOLD=0 AGENT=bench node dispatch.mjs
import { AgentDispatchClient } from 'livekit-server-sdk';

const url = process.env.LK_URL;
const n = Number(process.env.N ?? 100);
const hold = process.env.HOLD === '1';
const agent = process.env.AGENT ?? 'bench';
const client = new AgentDispatchClient(url, 'devkey', 'secret');
const base = url.replace(/^ws/, 'http');

async function jobs() {
	const r = await fetch(`${base}/debug/jobs`);
	return r.json();
}
async function waitRunning(dispatchId) {
	for (let i = 0; i < 1000; i++) {
		const j = (await jobs()).find((x) => x.dispatch_id === dispatchId);
		if (j && j.status === 'JS_RUNNING') return j;
		if (j && (j.status === 'JS_FAILED' || j.status === 'JS_SUCCESS')) throw new Error(`job ${j.id} ended: ${j.status} ${j.error}`);
		await new Promise((r) => setTimeout(r, 2));
	}
	throw new Error(`dispatch ${dispatchId} never ran`);
}
for (let i = 0; i < n; i++) {
	const room = `bench-${process.pid}-${i}`;
	const d = await client.createDispatch(room, agent);
	await waitRunning(d.id);
	if (!hold) await client.deleteDispatch(d.id, room);
}
console.log(`done ${n}`);
