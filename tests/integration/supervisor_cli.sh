#!/bin/bash
# lk-supervisor's command line: --version names the version and commit;
# --dry-run accepts a good configuration and refuses bad values with a
# message that names the key (flag, environment variable, config file);
# --healthz exits 0 against a live server and 1 against a dead one.
. "$(dirname "$0")/lib.sh"
SUP="$BUILDDIR/lk-supervisor"
"$SUP" --version | grep -Eq '^lk-supervisor [0-9]+\.[0-9]+\.[0-9]+.*commit' || fail "--version output: $("$SUP" --version)"

"$SUP" --dry-run --api-key k --api-secret s >"$WORK/ok.log" 2>&1 || fail "--dry-run refused a good configuration: $(cat "$WORK/ok.log")"
expect_refused() {
	local key=$1; shift
	local rc=0
	"$@" >"$WORK/bad.log" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "accepted a bad $key: $*"
	grep -q -- "$key" "$WORK/bad.log" || fail "message does not name $key: $(cat "$WORK/bad.log")"
}
expect_refused --max-jobs "$SUP" --dry-run --api-key k --api-secret s --max-jobs abc
expect_refused LK_MAX_CONCURRENT_JOBS env LK_MAX_CONCURRENT_JOBS=-3 "$SUP" --dry-run --api-key k --api-secret s
expect_refused LK_LOG_FORMAT env LK_LOG_FORMAT=xml "$SUP" --dry-run --api-key k --api-secret s
expect_refused --drain-timeout "$SUP" --dry-run --api-key k --api-secret s --drain-timeout soon
expect_refused --no-such-flag "$SUP" --dry-run --no-such-flag
printf 'LK_LOAD_THRESHOLD=lots\n' >"$WORK/bad.env"
expect_refused LK_LOAD_THRESHOLD "$SUP" --dry-run --api-key k --api-secret s --config "$WORK/bad.env"
expect_refused LIVEKIT_API_SECRET env -u LIVEKIT_API_SECRET "$SUP" --dry-run --api-key k
# A good config file is read, and a secret never appears in the output.
printf 'LIVEKIT_API_KEY=filekey\nLIVEKIT_API_SECRET=topsecretvalue\nLK_MAX_CONCURRENT_JOBS=3\n' >"$WORK/good.env"
"$SUP" --dry-run --config "$WORK/good.env" --log-level debug >"$WORK/good.log" 2>&1 || fail "good config file refused: $(cat "$WORK/good.log")"
grep -q topsecretvalue "$WORK/good.log" && fail "the API secret was printed"

start_devserver
"$SUP" --healthz --url "$DS_URL" --api-key $API_KEY --api-secret $API_SECRET >"$WORK/hz.log" 2>&1 || fail "--healthz against a live server: $(cat "$WORK/hz.log")"
DEAD=$(free_port)
rc=0; "$SUP" --healthz --url "ws://127.0.0.1:$DEAD" --api-key $API_KEY --api-secret $API_SECRET >"$WORK/hz2.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--healthz against a dead server exited $rc, want 1"
rc=0; "$SUP" --healthz --url "$DS_URL" --api-key $API_KEY --api-secret wrong >"$WORK/hz3.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--healthz with a wrong secret exited $rc, want 1"
log "ok: command line"
