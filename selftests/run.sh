#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kselftest-style runner: runs each test program of a group, streams a KTAP
# document (program output indented as "# ..." like kselftest's runner) and
# ends with a "# totals: pass=N fail=N skip=N" line counting every leaf case.
#
# usage: run.sh GROUP PROGRAM...
# A program's own "ok"/"not ok" lines are its cases; a program that prints
# none is one case. Exit 4 means skip, as in kselftest. Each program is
# bounded by VELO_TEST_TIMEOUT seconds (default 600).
group=$1
shift
timeout=${VELO_TEST_TIMEOUT:-600}
tmp=${TMPDIR:-/tmp}/velo-run.$$
pass=0 fail=0 skip=0 n=0

echo "KTAP version 1"
echo "1..$#"
for prog in "$@"; do
	n=$((n + 1))
	name=$(basename "$prog")
	echo "# selftests: $group: $name"
	dir=$(dirname "$prog")
	: >"$tmp"
	# stream the output, indented, while keeping a copy to count the cases
	{ ( cd "$dir" && exec timeout -k 5 "$timeout" "./$name" ) 2>&1; echo $? >"$tmp.rc"; } |
		while IFS= read -r line; do
			printf '# %s\n' "$line"
			printf '%s\n' "$line" >>"$tmp"
		done
	rc=$(cat "$tmp.rc")
	p=$(grep -cE '^ok [0-9]+ ' "$tmp" | head -n1)
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$tmp" | head -n1)
	f=$(grep -cE '^not ok [0-9]+ ' "$tmp" | head -n1)
	p=$((p - s))
	if [ "$rc" -eq 0 ] && [ $((p + s + f)) -eq 0 ]; then
		p=1
	elif [ "$rc" -eq 4 ] && [ $((p + s + f)) -eq 0 ]; then
		s=1
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ]; then
		# crashed, timed out or failed without saying which case
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok $n selftests: $group: $name # TIMEOUT ${timeout}s"
	elif [ "$rc" -eq 4 ]; then
		echo "ok $n selftests: $group: $name # SKIP"
	elif [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "ok $n selftests: $group: $name"
	else
		echo "not ok $n selftests: $group: $name # exit=$rc"
	fi
done
rm -f "$tmp" "$tmp.rc"
echo "# totals: pass=$pass fail=$fail skip=$skip"
[ "$fail" -eq 0 ]
