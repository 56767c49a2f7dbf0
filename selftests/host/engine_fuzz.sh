#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A short bounded libFuzzer run (~30 s) of the TCP engine: arbitrary frames
# and socket calls into a stack with live connections, under ASan + UBSan.
# Skips when clang-14's libFuzzer is not installed.
top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
out=${VELO_BUILD:-$top/build}/fuzz
secs=${VELO_FUZZ_SECS:-30}

echo "KTAP version 1"
echo "1..1"
if ! command -v clang-14 >/dev/null 2>&1; then
	echo "ok 1 engine_fuzz # SKIP clang-14 not installed"
	exit 4
fi
if ! make -s -C "$top/fuzz" OUT="$out" >"$out.log" 2>&1; then
	sed 's/^/# /' "$out.log"
	echo "not ok 1 engine_fuzz # build failed"
	exit 1
fi
mkdir -p "$out/corpus"
cd "$out" || exit 1
if ./engine_fuzz -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 corpus >"$out/run.log" 2>&1; then
	grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' "$out/run.log" | sed 's/^/# /'
	tail -n 3 "$out/run.log" | grep -E 'cov:' | sed 's/^/# /'
	echo "ok 1 engine_fuzz"
	exit 0
fi
grep -E 'ERROR|runtime error|SUMMARY|^    #[0-9]' "$out/run.log" | head -n 40 | sed 's/^/# /'
echo "not ok 1 engine_fuzz"
exit 1
