#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# libvelo end to end: scripts/demo (sockperf ping-pong, kernel then velo)
# must complete and find, in the velo server's statistics, that the data
# went through the shared-memory loopback channel.
top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
echo "KTAP version 1"
echo "1..1"
lib=${VELO_LIB:-${VELO_BUILD:-$top/build}/libvelo.so}
if [ ! -f "$lib" ]; then
	echo "ok 1 demo_shared_memory_path # SKIP $lib missing"
	exit 4
fi
if ! command -v sockperf >/dev/null || ! command -v ss >/dev/null; then
	echo "ok 1 demo_shared_memory_path # SKIP sockperf or ss missing"
	exit 4
fi
out=$(DEMO_SECONDS=1 DEMO_ROUNDS=1 DEMO_PORT=$((20000 + $$ % 20000)) VELO_LIB=$lib \
	"$top/scripts/demo" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "shared-memory path: USED"; then
	echo "ok 1 demo_shared_memory_path"
	exit 0
fi
echo "not ok 1 demo_shared_memory_path"
exit 1
