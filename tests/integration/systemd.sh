#!/bin/bash
# The systemd unit passes `systemd-analyze verify` (with ExecStart pointed at
# the built binary, since verify checks that it exists), and declares what
# the drain needs: Type=notify, KillMode=mixed, and a TimeoutStopSec longer
# than the drain timeout.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze not installed"
UNIT="$SRCDIR/systemd/lk-supervisor.service"
grep -q '^Type=notify' "$UNIT" || fail "not Type=notify"
grep -q '^KillMode=mixed' "$UNIT" || fail "not KillMode=mixed"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\).*/\1/p' "$UNIT")
drain=$(sed -n 's/.*LK_DRAIN_TIMEOUT=\([0-9]*\)s.*/\1/p' "$UNIT" "$SRCDIR/systemd/lk-supervisor.env.example" | head -1)
[ -n "$stop" ] && [ -n "$drain" ] || fail "TimeoutStopSec ($stop) or LK_DRAIN_TIMEOUT ($drain) not found"
[ "$stop" -gt "$drain" ] || fail "TimeoutStopSec=$stop is not longer than the drain timeout $drain"
mkdir -p "$WORK/unit"
sed "s|/usr/local/bin/lk-supervisor|$BUILDDIR/lk-supervisor|g" "$UNIT" >"$WORK/unit/lk-supervisor.service"
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$WORK/unit/lk-supervisor.service" 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "systemd-analyze verify failed"
echo "$out" | grep -v 'Failed to .*(bus|Bus)' | grep -qi 'lk-supervisor.service' && fail "verify printed warnings about the unit"
log "ok: unit verified"
