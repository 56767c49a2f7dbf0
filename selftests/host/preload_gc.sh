#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libvelo's start-up collection of leftovers in /dev/shm/velo-<uid> (files of
# killed processes) goes on where the last process stopped: dead epoll watch
# areas behind more young channel files than one start looks at (tmpfs lists
# new files first) are removed within a few starts; young files are kept.
lib=$VELO_BUILD/libvelo.so
[ -f "$lib" ] || exit 4
# shellcheck source=selftests/lib/ktap.sh
source "$VELO_TOP/selftests/lib/ktap.sh"
dir=/dev/shm/velo-$(id -u)
tag=gc$$
mkdir -p -m 700 "$dir"
trap 'rm -f "$dir"/ep-*"$tag"* "$dir"/"$tag"-young-*' EXIT

# A watch area (8-byte id, then its creator's pid) of a pid that cannot be live.
dead_area() { printf '\1\0\0\0\0\0\0\0\377\377\377\177' >"$dir/ep-$tag$1"; }
# A channel file nobody attached to yet: young (under 60 s), so kept.
young_chan() { head -c 8192 /dev/zero >"$dir/$tag-young-$1"; }

echo "KTAP version 1"
echo "1..2"
for i in $(seq 300); do dead_area "$i"; done
sleep 0.1
for i in $(seq 300); do young_chan "$i"; done
for start in 1 2 3 4; do
	LD_PRELOAD=$lib /bin/true
done
left=$(find "$dir" -name "ep-$tag*" | wc -l)
[ "$left" -eq 0 ] && report OK "dead areas behind 300 young files removed in 4 starts" ||
	report FAIL "dead areas behind 300 young files removed in 4 starts" "$left of 300 left"
young=$(find "$dir" -name "$tag-young-*" | wc -l)
[ "$young" -eq 300 ] && report OK "young channel files kept" ||
	report FAIL "young channel files kept" "$young of 300 left"
exit $fail
