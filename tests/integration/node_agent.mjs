// node_agent.mjs: a minimal agent for the real Node @livekit/agents worker,
// used to prove lk-devserver speaks the agent protocol the SDK expects (and,
// in `make bench`, to measure the Node job process). Each job process
// appends "prewarm <pid> <ms>" and "entry <job id> <pid>" lines to
// $LK_MARKER, then tries to join the room.
//   LIVEKIT_URL=ws://127.0.0.1:PORT LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//   LK_MARKER=/tmp/m LK_HEALTH_PORT=18081 node node_agent.mjs start
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ServerOptions, cli, defineAgent } from '@livekit/agents';

const marker = process.env.LK_MARKER ?? '/dev/null';
const note = (line) => appendFileSync(marker, line + '\n');

export default defineAgent({
	prewarm: async () => {
		note(`prewarm ${process.pid} ${Date.now()}`);
	},
	entry: async (ctx) => {
		note(`entry ${ctx.job.id} ${process.pid} room=${ctx.job.room?.name ?? ''}`);
		try {
			await ctx.connect();
			note(`connected ${ctx.job.id}`);
		} catch (e) {
			note(`connect-failed ${ctx.job.id} ${String(e?.message ?? e).split('\n')[0]}`);
		}
	},
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	cli.runApp(
		new ServerOptions({
			agent: fileURLToPath(import.meta.url),
			agentName: process.env.LK_AGENT_NAME ?? 'node-agent',
			port: Number(process.env.LK_HEALTH_PORT ?? 8081),
			numIdleProcesses: Number(process.env.LK_NUM_IDLE ?? 1),
			production: true,
			// The test machine is busy running the rest of the suite: report no
			// CPU load, or the worker would refuse jobs (threshold 0.7).
			loadFunc: async () => 0,
		}),
	);
}
