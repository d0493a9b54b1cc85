#!/bin/sh
# Runs every test of one build directory (unit suites, fuzz corpus replay,
# integration scenarios) and prints one summary line.
set -u
build=${1:-build}
jobs=${2:-2}
cd "$(dirname "$0")/.." || exit 1
rc=0
make --no-print-directory -C "$build" -j"$jobs" check || rc=$?
log="$build/test-suite.log"
if [ -f "$log" ]; then
	pass=$(grep -h '^# PASS:' "$log" | awk '{s+=$3} END {print s+0}')
	fail=$(grep -h -E '^# (FAIL|ERROR|XPASS):' "$log" | awk '{s+=$3} END {print s+0}')
	skip=$(grep -h '^# SKIP:' "$log" | awk '{s+=$3} END {print s+0}')
	[ "$rc" -eq 0 ] || grep -h -E '^(FAIL|ERROR|SKIP):' "$build"/test-suite.log "$build"/*/*.log 2>/dev/null | head -40
	echo "$pass passed, $fail failed, $skip skipped"
fi
exit $rc
