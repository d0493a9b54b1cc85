#!/bin/bash
# Formatting: every C file under src/ and tests/ matches the committed
# .clang-format (tabs, 100 columns, return type on its own line).
set -u
SRCDIR=${LK_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: clang-format not installed"; exit 77; }
cd "$SRCDIR" || exit 1
bad=0
for f in $(find src tests -name '*.[ch]' -not -path 'tests/node_modules/*' | sort); do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
[ "$bad" = 0 ] || exit 1
echo "all C files formatted"
