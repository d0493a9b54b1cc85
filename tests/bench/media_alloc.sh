#!/bin/bash
# Heap allocations per audio frame in a live `echo` job process (a number,
# not pass/fail), printed as "key value" lines on stdout:
#   media_job_allocs_per_frame                 all allocations in an 8 s window / frames in
#   media_job_allocs_per_frame_excl_control    the same without the periodic control traffic
#   media_job_allocs_window, media_job_allocs_control_window, media_job_frames_window
# It is tests/integration/media_alloc.sh without the verdict (see there what
# runs and what counts); it needs root and unshare like the media scenarios,
# and tests/common/alloc_preload.so built in BUILD_DIR.
#   tests/bench/media_alloc.sh [BUILD_DIR]     (default: $LK_BUILDDIR, else ./build)
if [ $# -ge 1 ]; then
	LK_BUILDDIR=$(cd "$1" && pwd) || exit 1
	export LK_BUILDDIR
fi
exec "$(dirname "$0")/../integration/media_alloc.sh" --bench
