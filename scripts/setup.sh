#!/bin/sh
# Installs what lkworker needs to build and test, only where it is missing:
# Debian packages (apt-get, as root) and the npm test peers (npm ci from the
# committed lockfile). Fast when everything is already there.
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential autoconf automake libtool pkg-config git ca-certificates
 libev-dev libwslay-dev libssl-dev libsrtp2-dev libopus-dev libspeexdsp-dev
 libmsgpack-dev nanopb libnanopb-dev check libmicrohttpd-dev libjansson-dev
 protobuf-compiler python3-protobuf nodejs npm iproute2 procps curl openssl
 systemd clang-format"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		# nodejs/npm may come from elsewhere (e.g. a preinstalled Node); accept a working binary.
		case "$p" in
		nodejs) command -v node >/dev/null 2>&1 && continue ;;
		npm) command -v npm >/dev/null 2>&1 && continue ;;
		esac
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "setup: installing Debian packages:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: not root; run as root or install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# npm test peers, pinned by tests/package-lock.json.
if [ ! -f tests/node_modules/.package-lock.json ] ||
	! cmp -s tests/package-lock.json tests/node_modules/.lk-lock-stamp 2>/dev/null; then
	echo "setup: installing npm test peers (npm ci)"
	(cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	cp tests/package-lock.json tests/node_modules/.lk-lock-stamp
fi
