#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Differential socket-API suite: every program built from selftests/diff/*.c
# is run on the kernel's sockets and under LD_PRELOAD=libvelo.so; its stdout
# and exit status must be identical. One KTAP case per program; on a
# difference the two transcripts are diffed as "# " lines.
#
# A program listed in selftests/diff/KNOWN_FAILING ("name reason...") is
# still run, but a difference is reported as "# SKIP known failing: reason".
#
# env: VELO_TOP, VELO_BUILD (exported by selftests/Makefile), VELO_DIFF_DIR
# (the built programs; default $VELO_BUILD/selftests/diff), VELO_DIFF_TIMEOUT
# (seconds per run, default 30; 15 for programs in KNOWN_FAILING, which
# often hang), VELO_DIFF_BUDGET (seconds for the whole
# suite, default 500, within run.sh's 600: programs left when it is spent
# are reported as failed, "not run"), VELO_DIFF_ONLY (a grep -E filter),
# VELO_DIFF_KNOWN (the known-failing list, default selftests/diff/
# KNOWN_FAILING), VELO_DIFF_VELO_ENV (more VAR=value words for the libvelo
# run; api_diff_wire.sh sets VELO_WIRE=on), VELO_DIFF_SKIP_KNOWN=1 (the
# known-failing programs are not run at all, only reported as SKIP).
#
# usage: api_diff.sh                run the suite
#        api_diff.sh --repeat N     run each program N times natively and
#                                   check the transcripts are identical
#                                   (determinism check for test authors)
set -u

top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VELO_BUILD:-$top/build}
dir=${VELO_DIFF_DIR:-$build/selftests/diff}
lib=$build/libvelo.so
tmo=${VELO_DIFF_TIMEOUT:-30}
budget=${VELO_DIFF_BUDGET:-500}
known=${VELO_DIFF_KNOWN:-$top/selftests/diff/KNOWN_FAILING}
read -ra velo_env <<<"${VELO_DIFF_VELO_ENV:-}"

progs=()
for p in "$dir"/*; do
	[ -f "$p" ] && [ -x "$p" ] || continue
	n=$(basename "$p")
	if [ -n "${VELO_DIFF_ONLY:-}" ] && ! printf '%s\n' "$n" | grep -qE "$VELO_DIFF_ONLY"; then
		continue
	fi
	progs+=("$p")
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apidiff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run PROG OUTFILE [ENV...]: transcript = stdout + "exit: <status>"
run() {
	local prog=$1 out=$2 rc
	shift 2
	(cd "$tmp" && exec env "$@" timeout -k 5 "$tmo" "$prog" </dev/null >"$out" 2>"$out.err")
	rc=$?
	case $rc in
	124|137) echo "exit: TIMEOUT after ${tmo}s (hang)" >>"$out" ;;
	*) echo "exit: $rc" >>"$out" ;;
	esac
	return 0
}

if [ "${1:-}" = "--repeat" ]; then
	reps=${2:-5} bad=0
	for p in "${progs[@]}"; do
		n=$(basename "$p")
		run "$p" "$tmp/ref" -u LD_PRELOAD
		for i in $(seq 2 "$reps"); do
			run "$p" "$tmp/again" -u LD_PRELOAD
			if ! cmp -s "$tmp/ref" "$tmp/again"; then
				echo "NONDETERMINISTIC: $n (run $i)"
				diff "$tmp/ref" "$tmp/again" | head -20
				bad=1
				break
			fi
		done
		grep -q '^exit: 0$' "$tmp/ref" || { echo "NATIVE NONZERO: $n: $(tail -1 "$tmp/ref")"; bad=1; }
	done
	[ $bad -eq 0 ] && echo "all ${#progs[@]} deterministic over $reps runs"
	exit $bad
fi

echo "KTAP version 1"
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib missing"
	exit 4
fi
if [ ${#progs[@]} -eq 0 ]; then
	echo "1..0 # SKIP no diff programs in $dir"
	exit 4
fi
echo "1..${#progs[@]}"

fail=0 i=0
start=$SECONDS
for p in "${progs[@]}"; do
	i=$((i + 1))
	n=$(basename "$p")
	reason=""
	[ -f "$known" ] && reason=$(awk -v n="$n" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' "$known")
	if [ -n "$reason" ] && [ -n "${VELO_DIFF_SKIP_KNOWN:-}" ]; then
		echo "ok $i $n # SKIP known failing: $reason (not run)"
		continue
	fi
	if [ $((SECONDS - start)) -ge "$budget" ]; then
		if [ -n "$reason" ]; then
			echo "ok $i $n # SKIP known failing: $reason (not run: time budget spent)"
		else
			echo "not ok $i $n # not run: suite time budget (${budget}s) spent"
			fail=1
		fi
		continue
	fi
	run "$p" "$tmp/native" -u LD_PRELOAD
	if [ -n "$reason" ]; then
		tmo_saved=$tmo
		tmo=${VELO_DIFF_KNOWN_TIMEOUT:-15}
		run "$p" "$tmp/velo" LD_PRELOAD="$lib" "${velo_env[@]}"
		tmo=$tmo_saved
	else
		run "$p" "$tmp/velo" LD_PRELOAD="$lib" "${velo_env[@]}"
	fi
	if ! grep -q '^exit: 0$' "$tmp/native"; then
		# the reference run itself failed: a broken test or environment
		echo "not ok $i $n # native run failed"
		sed 's/^/# native: /' "$tmp/native" | tail -n 20
		sed 's/^/# stderr: /' "$tmp/native.err" | tail -n 5
		fail=1
	elif cmp -s "$tmp/native" "$tmp/velo"; then
		[ -n "$reason" ] && echo "# $n: listed in KNOWN_FAILING but now passes"
		echo "ok $i $n"
	else
		diff -u --label native --label libvelo "$tmp/native" "$tmp/velo" | head -n 60 | sed 's/^/# /'
		[ -s "$tmp/velo.err" ] && sed 's/^/# libvelo stderr: /' "$tmp/velo.err" | head -n 10
		if [ -n "$reason" ]; then
			echo "ok $i $n # SKIP known failing: $reason"
		else
			echo "not ok $i $n"
			fail=1
		fi
	fi
done
[ $fail -eq 0 ]
