// alloc_sites.mjs: turns the PATH.sites file written by alloc_preload.so
// (LK_ALLOC_TRACE=1) into readable call stacks, most frequent first.
//   node alloc_sites.mjs [--json] SITES_FILE [TOP]
// With --json it prints one document instead:
//   {"window":N,"closed":bool,"untraced":N,"traced":N,
//    "sites":[{"count":N,"frames":["function (file:line)", ...]}, ...]}
// Each address is mapped to its file through the copy of /proc/PID/maps at
// the end of the file, then to a function and source line with addr2line
// (lkworker is built with -g). For a stripped system library addr2line knows
// no name; the nearest exported symbol below the address is shown instead,
// marked "near" (a static function there is reported under its neighbour).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const json = args[0] === '--json';
if (json) args.shift();
const [file, topArg] = args;
if (!file) {
	console.error('usage: alloc_sites.mjs [--json] SITES_FILE [TOP]');
	process.exit(2);
}
const top = Number(topArg ?? (json ? 1e9 : 12));
const sites = [];
const maps = [];
let untraced = 0;
let window = 0;
let closed = false;
for (const line of readFileSync(file, 'utf8').split('\n')) {
	const w = line.split(/\s+/);
	if (w[0] === 'untraced') untraced = Number(w[1]);
	else if (w[0] === 'window') [window, closed] = [Number(w[1]), w[2] === 'closed'];
	else if (w[0] === 'site') sites.push({ count: Number(w[1]), pcs: w.slice(2).map((x) => BigInt(x)) });
	else {
		const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\/\S.*)$/.exec(line);
		if (m) maps.push({ start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), off: BigInt('0x' + m[3]), path: m[4] });
	}
}
sites.sort((a, b) => b.count - a.count);
const shown = sites.slice(0, top);

const run = (cmd, args) => {
	try {
		return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
	} catch {
		return '';
	}
};
// The LOAD segments of an ELF file, to turn a file offset into an address.
const segCache = new Map();
const segments = (path) => {
	if (!segCache.has(path)) {
		const s = [];
		for (const l of run('readelf', ['-lW', path]).split('\n')) {
			const m = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/.exec(l);
			if (m) s.push({ off: BigInt('0x' + m[1]), vaddr: BigInt('0x' + m[2]), size: BigInt('0x' + m[3]) });
		}
		segCache.set(path, s);
	}
	return segCache.get(path);
};
// Exported symbols of a file, sorted by address (for stripped libraries).
const symCache = new Map();
const symbols = (path) => {
	if (!symCache.has(path)) {
		const s = [];
		for (const l of run('nm', ['-D', '--defined-only', path]).split('\n')) {
			const m = /^([0-9a-f]+) [TtWi] (\S+)/.exec(l);
			if (m) s.push({ addr: BigInt('0x' + m[1]), name: m[2] });
		}
		s.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
		symCache.set(path, s);
	}
	return symCache.get(path);
};

// Where each distinct address lives: { path, vaddr } or null.
const where = new Map();
for (const s of shown) {
	for (const pc of s.pcs) {
		if (where.has(pc)) continue;
		const m = maps.find((x) => pc >= x.start && pc < x.end);
		if (!m) {
			where.set(pc, null);
			continue;
		}
		// A return address points after the call: look one byte back.
		const foff = pc - 1n - m.start + m.off;
		const seg = segments(m.path).find((g) => foff >= g.off && foff < g.off + g.size);
		where.set(pc, { path: m.path, vaddr: seg ? foff - seg.off + seg.vaddr : foff });
	}
}
// One addr2line run per file.
const names = new Map();
const byPath = new Map();
for (const [pc, w] of where) if (w) (byPath.get(w.path) ?? byPath.set(w.path, []).get(w.path)).push(pc);
for (const [path, pcs] of byPath) {
	const out = run('addr2line', ['-f', '-C', '-e', path, ...pcs.map((pc) => '0x' + where.get(pc).vaddr.toString(16))]).split('\n');
	const base = path.split('/').pop();
	pcs.forEach((pc, i) => {
		const fn = out[2 * i] ?? '??';
		const loc = (out[2 * i + 1] ?? '??:0').replace(/ \(discriminator \d+\)$/, '');
		const v = where.get(pc).vaddr;
		if (fn !== '??' && !loc.startsWith('??')) names.set(pc, `${fn} (${loc.split('/').slice(-2).join('/')})`);
		else if (fn !== '??') names.set(pc, `${fn} (${base}+0x${v.toString(16)})`);
		else {
			const syms = symbols(path);
			let near = null;
			for (const s of syms) if (s.addr <= v) near = s; else break;
			names.set(pc, near ? `near ${near.name}+0x${(v - near.addr).toString(16)} (${base})` : `${base}+0x${v.toString(16)}`);
		}
	});
}
const traced = sites.reduce((n, s) => n + s.count, 0);
const frames = (s) => s.pcs.map((pc) => names.get(pc) ?? '0x' + pc.toString(16));
if (json) {
	console.log(JSON.stringify({ window, closed, untraced, traced, sites: shown.map((s) => ({ count: s.count, frames: frames(s) })) }));
} else {
	console.log(`${window} allocations in the window${closed ? '' : ' (still open)'}: ${traced} traced in ${sites.length} distinct stacks, ${untraced} untraced`);
	for (const s of shown) {
		console.log(`${s.count} x`);
		for (const f of frames(s)) console.log(`    ${f}`);
	}
}
