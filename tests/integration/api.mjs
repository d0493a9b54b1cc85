// api.mjs: drives lk-devserver through the real livekit-server-sdk
// (RoomServiceClient, AgentDispatchClient). Prints each result as JSON on
// stdout; a failed call prints the error and exits 1.
//   node api.mjs create-room NAME
//   node api.mjs list-rooms [NAME...]
//   node api.mjs delete-room NAME
//   node api.mjs list-participants ROOM
//   node api.mjs create-dispatch ROOM AGENT_NAME [METADATA]
//   node api.mjs list-dispatch ROOM
//   node api.mjs delete-dispatch DISPATCH_ID ROOM
//   node api.mjs job-ids ROOM           (ids of the room's dispatch jobs)
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';

const url = process.env.LK_URL ?? 'http://127.0.0.1:7880';
const key = process.env.LK_API_KEY ?? 'devkey';
const secret = process.env.LK_API_SECRET ?? 'secret';
const rooms = new RoomServiceClient(url, key, secret);
const dispatch = new AgentDispatchClient(url, key, secret);

const [cmd, ...args] = process.argv.slice(2);
const out = (v) => process.stdout.write(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)) + '\n');

try {
	switch (cmd) {
	case 'create-room':
		out(await rooms.createRoom({ name: args[0], emptyTimeout: 300 }));
		break;
	case 'list-rooms':
		out(await rooms.listRooms(args.length ? args : undefined));
		break;
	case 'delete-room':
		await rooms.deleteRoom(args[0]);
		out({ deleted: args[0] });
		break;
	case 'list-participants':
		out((await rooms.listParticipants(args[0])).map((p) => ({ sid: p.sid, identity: p.identity, kind: p.kind, state: p.state })));
		break;
	case 'create-dispatch':
		out(await dispatch.createDispatch(args[0], args[1], { metadata: args[2] ?? '' }));
		break;
	case 'list-dispatch':
		out(await dispatch.listDispatch(args[0]));
		break;
	case 'delete-dispatch':
		await dispatch.deleteDispatch(args[0], args[1]);
		out({ deleted: args[0] });
		break;
	case 'job-ids': {
		const ds = await dispatch.listDispatch(args[0]);
		out(ds.flatMap((d) => (d.state?.jobs ?? []).map((j) => j.id)));
		break;
	}
	default:
		console.error(`unknown command ${cmd}`);
		process.exit(2);
	}
} catch (e) {
	console.error(`api ${cmd} failed: ${e?.message ?? e}`);
	process.exit(1);
}
