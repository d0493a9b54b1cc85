# netns.sh: shell functions for the media scenarios, which run real WebRTC peers
# (@livekit/rtc-node, i.e. libwebrtc). libwebrtc never uses loopback
# addresses, so each media scenario re-executes itself inside a network
# namespace of its own with one non-loopback interface (10.77.N.1/24). Every
# process of the scenario runs in there and no packet leaves it. Sourced,
# not run; netns_enter also sources lib.sh once inside.
#
# Usage, at the top of a scenario:
#   . "$(dirname "$0")/netns.sh"
#   netns_enter N "$@"

netns_skip() {
	printf '[%s] SKIP: %s\n' "$(basename "$0" .sh)" "$*"
	exit 77
}

# netns_enter N ARGS...: outside, re-run "$0" ARGS in a new network
# namespace; inside, give it lo and an interface with 10.77.N.1 (RTC_IP),
# then source lib.sh.
netns_enter() {
	local n=$1
	shift
	if [ "${LK_NETNS:-}" != "$n" ]; then
		[ "$(id -u)" = 0 ] || netns_skip "a network namespace needs root (unshare --net)"
		command -v unshare >/dev/null 2>&1 || netns_skip "unshare (util-linux) not installed"
		command -v ip >/dev/null 2>&1 || netns_skip "ip (iproute2) not installed"
		unshare --net --fork -- true 2>/dev/null || netns_skip "unshare --net is not permitted here"
		export LK_NETNS=$n
		# unshare itself ignores SIGTERM and SIGINT while it waits; if it is
		# killed, --kill-child passes SIGTERM on, and the trap below turns
		# that into an exit that runs lib.sh's cleanup.
		exec unshare --net --fork --kill-child=SIGTERM -- /bin/bash "$0" "$@"
	fi
	RTC_IP=10.77.$n.1
	ip link set lo up || netns_skip "cannot bring lo up in the namespace"
	# A dummy interface where the kernel has it, else a veth pair (both
	# ends here: libwebrtc only wants an interface that is up and running).
	if ip link add lkm0 type dummy 2>/dev/null; then
		:
	else
		ip link add lkm0 type veth peer name lkm1 || netns_skip "neither dummy nor veth interfaces available"
		ip link set lkm1 up
	fi
	if ! ip addr add "$RTC_IP/24" dev lkm0 || ! ip link set lkm0 up; then
		netns_skip "cannot configure $RTC_IP"
	fi
	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
	trap 'exit 143' TERM
	trap 'exit 130' INT
	log "in network namespace: $(ip -4 -o addr show lkm0 | awk '{print $4}')" >&2
}

need_rtc_node() {
	need_node
	[ -d "$NODE_MODULES/@livekit/rtc-node" ] || skip "@livekit/rtc-node missing (run make setup)"
	node -e 'require("@livekit/rtc-node")' >/dev/null 2>&1 || skip "@livekit/rtc-node does not load here"
}

# start_media_devserver [flags]: lk-devserver whose ICE candidates are on
# RTC_IP. Signalling stays on 127.0.0.1 (plain TCP, not libwebrtc's business).
start_media_devserver() {
	start_devserver --rtc-ip "$RTC_IP" "$@"
}

# peer NAME SCRIPT ARGS...: start tests/integration/peer_SCRIPT.mjs in the
# background; stdout in $WORK/NAME.out, stderr in $WORK/NAME.log. Sets PEER_PID.
peer() {
	local name=$1 script=$2
	shift 2
	node "$SRCDIR/tests/integration/peer_$script.mjs" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
	PEER_PID=$!
	PIDS="$PIDS $PEER_PID"
}

# peer_wait NAME PID TIMEOUT_S: wait for a peer to exit; its RESULT line
# goes to $WORK/NAME.json. Fails if it printed none or reported an error.
peer_wait() {
	local name=$1 pid=$2 t=$3 rc=0
	peer_gone() { ! kill -0 "$1" 2>/dev/null; }
	wait_until "$t" "peer $name to finish" peer_gone "$pid"
	wait "$pid" 2>/dev/null || rc=$?
	sed -n 's/^RESULT //p' "$WORK/$name.out" >"$WORK/$name.json"
	[ -s "$WORK/$name.json" ] || fail "peer $name (exit $rc) printed no result"
	log "peer $name: $(cat "$WORK/$name.json")"
	if grep -q '"error"' "$WORK/$name.json"; then fail "peer $name: $(cat "$WORK/$name.json")"; fi
	[ "$rc" = 0 ] || fail "peer $name exited $rc"
}

# json_get FILE EXPR: evaluates a JS expression over the object `j` parsed from FILE.
json_get() {
	node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const v = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
		process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}

# expect_tone FILE FREQ TOL FLOOR_DBFS [FROM]: the peer result in FILE heard
# FREQ +- TOL Hz at a level above FLOOR_DBFS (from participant FROM).
expect_tone() {
	local f=$1 freq=$2 tol=$3 floor=$4 from=${5:-} verdict
	verdict=$(node -e '
		const [file, freq, tol, floor, from] = process.argv.slice(1);
		const j = JSON.parse(require("fs").readFileSync(file, "utf8"));
		const why = [];
		if (j.freq === null || j.freq === undefined) why.push("no audio above -60 dBFS was heard");
		else if (Math.abs(j.freq - Number(freq)) > Number(tol)) why.push(`heard ${j.freq} Hz, want ${freq} +- ${tol}`);
		if (j.level_dbfs !== null && j.level_dbfs < Number(floor)) why.push(`level ${j.level_dbfs} dBFS below ${floor}`);
		if (from && j.from !== from) why.push(`track came from ${j.from}, want ${from}`);
		if (j.active_frames < 100) why.push(`only ${j.active_frames} non-silent 10 ms frames`);
		process.stdout.write(why.length ? why.join("; ") : "ok");' "$f" "$freq" "$tol" "$floor" "$from")
	[ "$verdict" = ok ] || fail "$(basename "$f" .json): $verdict"
	log "heard $(json_get "$f" j.freq) Hz at $(json_get "$f" j.level_dbfs) dBFS from $(json_get "$f" j.from) ($(json_get "$f" j.active_frames) active frames): ok"
}

# ds_rtc: the dev server's media counters (GET /debug/rtc).
ds_rtc() { http_get "http://127.0.0.1:$DS_PORT/debug/rtc"; }

# udp_ports_of PID: the UDP ports PID has bound on RTC_IP (or the wildcard).
udp_ports_of() {
	ss -Hunap 2>/dev/null | awk -v pid="pid=$1," -v ip="$RTC_IP" '
		index($0, pid) {
			n = split($4, a, ":"); port = a[n]; addr = substr($4, 1, length($4) - length(port) - 1)
			if (addr == ip || addr == "0.0.0.0" || addr == "*") print port
		}' | sort -un
}

# rtc_sum FILE FIELD: FIELD summed over the transports (publisher and
# subscriber) of every participant in a /debug/rtc document. Participants
# that left are gone from it, so take it while they are connected.
rtc_sum() {
	node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		let n = 0;
		for (const p of j.participants ?? []) for (const t of [p.publisher, p.subscriber]) n += Number(t?.[process.argv[2]] ?? 0);
		process.stdout.write(String(n));' "$1" "$2"
}

# udp_garbage PER_KIND PORT...: sends hostile datagrams from RTC_IP to each
# RTC_IP:PORT, PER_KIND of each kind: random bytes; random bytes behind a
# first byte of 0x00 (STUN range), 0x16 (DTLS handshake) and 0x80 (RTP);
# and plausible headers with nonsense behind them (STUN with the magic
# cookie, a DTLS record header, RTP with payload type 111, RTCP SR).
# Prints {"sent":N,...}.
udp_garbage() {
	node -e '
		const dgram = require("dgram"), { randomBytes, randomInt } = require("crypto");
		const [ip, perKind, ...ports] = process.argv.slice(1);
		const rnd = (min, max) => randomBytes(randomInt(min, max + 1));
		const lead = (b0) => () => { const b = rnd(1, 1200); b[0] = b0; return b; };
		const kinds = {
			random: () => rnd(1, 1400),
			stun_byte: lead(0x00), dtls_byte: lead(0x16), rtp_byte: lead(0x80),
			stun_header: () => { const b = rnd(20, 600); b.writeUInt16BE(0x0001, 0);
				b.writeUInt16BE(randomInt(0, 65536), 2); b.writeUInt32BE(0x2112a442, 4); return b; },
			dtls_header: () => { const b = rnd(13, 600); b[0] = 0x16; b[1] = 0xfe; b[2] = 0xfd;
				b.writeUInt16BE(randomInt(0, 65536), 11); return b; },
			rtp_header: () => { const b = rnd(12, 300); b[0] = 0x80; b[1] = 0x6f; return b; },
			rtcp_sr: () => { const b = rnd(4, 100); b[0] = 0x80 | randomInt(0, 32); b[1] = 200; return b; },
		};
		const names = Object.keys(kinds);
		const todo = [];
		for (const p of ports) for (const k of names) for (let i = 0; i < Number(perKind); i++) todo.push([Number(p), k]);
		for (let i = todo.length - 1; i > 0; i--) { const j = randomInt(0, i + 1); [todo[i], todo[j]] = [todo[j], todo[i]]; }
		const s = dgram.createSocket("udp4");
		let sent = 0, errors = 0, i = 0;
		s.bind(0, ip, () => {
			const burst = () => {
				for (let n = 0; n < 20 && i < todo.length; n++, i++) {
					const [port, k] = todo[i];
					s.send(kinds[k](), port, ip, (e) => { if (e) errors++; else sent++; });
				}
				if (i < todo.length) setTimeout(burst, 4);
				else setTimeout(() => { console.log(JSON.stringify({ sent, errors, ports: ports.map(Number), kinds: names })); s.close(); }, 200);
			};
			burst();
		});' "$RTC_IP" "$@"
}
