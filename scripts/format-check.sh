#!/bin/sh
# `make format-check`: the formatting test on its own.
exec "$(dirname "$0")/../tests/format.sh"
