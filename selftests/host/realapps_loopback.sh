#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real programs over loopback under velo, with their data checked:
#   curl <-> nginx       static files of several sizes, sha256 compared
#   redis-cli/-benchmark <-> redis-server   1 MiB SET/GET compared, benchmark
#   sockperf             ping-pong and throughput short runs
#   iperf3               short run, both directions
# each in three placements: both ends accelerated, accelerated client with a
# plain (kernel-only) server, plain client with an accelerated server.
# Accelerated = run through $VELO_TOP/scripts/velo-run when it exists, else
# LD_PRELOAD=$VELO_BUILD/libvelo.so. One KTAP case per app and placement;
# figures are printed as "# " diagnostics. Exit 4 (skip) when libvelo.so is
# missing; an app whose programs are missing is a skipped case. A case listed
# in selftests/diff/KNOWN_FAILING as "realapps:<id> reason" (ids: nginx-both,
# nginx-plainserver, nginx-plainclient, redis-..., sockperf-..., iperf-...)
# that fails is reported as "# SKIP known failing: reason".
#
# env: VELO_TOP, VELO_BUILD; VELO_REALAPPS_ONLY (grep -E on case names);
# VELO_REALAPPS_BUDGET (seconds, default 480: cases left when it is spent
# fail as "not run", so the script ends within run.sh's limit).
set -u

top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VELO_BUILD:-$top/build}
lib=$build/libvelo.so
known=$top/selftests/diff/KNOWN_FAILING

echo "KTAP version 1"
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib missing"
	exit 4
fi
if [ -x "$top/scripts/velo-run" ]; then
	ACC=("$top/scripts/velo-run")
else
	ACC=(env LD_PRELOAD="$lib")
fi
PLAIN=(env -u LD_PRELOAD)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/realapps.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}
trap 'cleanup; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# a free TCP port on 127.0.0.1, below the ephemeral range
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((21000 + (RANDOM * 32768 + RANDOM) % 11000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait until something listens on 127.0.0.1:$1 (ss: no probe connection)
wait_listen() {
	local i
	for i in $(seq 1 100); do
		ss -Htln "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# start NAME PLACEMENT CMD...: run a server in the background, remember it
start() {
	local name=$1 how=$2
	shift 2
	if [ "$how" = acc ]; then
		"${ACC[@]}" "$@" >"$tmp/$name.out" 2>&1 &
	else
		"${PLAIN[@]}" "$@" >"$tmp/$name.out" 2>&1 &
	fi
	pids+=($!)
}

# run PLACEMENT TIMEOUT CMD...: a client in the foreground, bounded
run() {
	local how=$1 t=$2
	shift 2
	if [ "$how" = acc ]; then
		timeout -k 5 "$t" "${ACC[@]}" "$@"
	else
		timeout -k 5 "$t" "${PLAIN[@]}" "$@"
	fi
}

# shellcheck source=selftests/lib/ktap.sh
source "$top/selftests/lib/ktap.sh"
diag() { sed 's/^/# /'; }

have() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || return 1
	done
}

# ---- test data ----
mkdir -p "$tmp/www"
: >"$tmp/www/empty"
printf x >"$tmp/www/one"
head -c 4096 /dev/urandom >"$tmp/www/4k"
head -c 100000 /dev/urandom >"$tmp/www/100k"
head -c 1048576 /dev/urandom >"$tmp/www/1m"
head -c 10485760 /dev/urandom >"$tmp/www/10m"
head -c 1048576 /dev/urandom | base64 -w0 | head -c 1048576 >"$tmp/redis-1m"
FILES="empty one 4k 100k 1m 10m"

# ---- nginx + curl ----
nginx_case() { # server-placement client-placement
	local sp=$1 cp=$2 port f ok=1 url urls=() outs=()
	port=$(free_port) || return 1
	mkdir -p "$tmp/nginx-$sp$cp"
	cat >"$tmp/nginx-$sp$cp/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $tmp/nginx-$sp$cp/nginx.pid;
error_log $tmp/nginx-$sp$cp/error.log;
events { worker_connections 256; }
http {
	access_log off;
	sendfile on;
	keepalive_requests 1000;
	client_body_temp_path $tmp/nginx-$sp$cp;
	proxy_temp_path $tmp/nginx-$sp$cp;
	fastcgi_temp_path $tmp/nginx-$sp$cp;
	uwsgi_temp_path $tmp/nginx-$sp$cp;
	scgi_temp_path $tmp/nginx-$sp$cp;
	server {
		listen 127.0.0.1:$port;
		root $tmp/www;
	}
}
EOF
	start nginx "$sp" nginx -c "$tmp/nginx-$sp$cp/nginx.conf" -p "$tmp/nginx-$sp$cp" -e "$tmp/nginx-$sp$cp/error.log"
	if ! wait_listen "$port"; then
		echo "nginx did not start"; cat "$tmp/nginx.out" "$tmp/nginx-$sp$cp/error.log" 2>/dev/null
		return 1
	fi
	# one connection per file, three rounds (giving up after 3 failures)
	local failures=0
	for round in 1 2 3; do
		for f in $FILES; do
			[ $failures -ge 3 ] && break 2
			rm -f "$tmp/got"
			if ! run "$cp" 15 curl -sS --fail -o "$tmp/got" "http://127.0.0.1:$port/$f"; then
				echo "curl $f failed (round $round)"; ok=0; failures=$((failures + 1)); continue
			fi
			if ! cmp -s "$tmp/got" "$tmp/www/$f"; then
				echo "$f: sha256 $(sha256sum <"$tmp/got" | cut -c1-16) != $(sha256sum <"$tmp/www/$f" | cut -c1-16)"
				ok=0
			fi
		done
	done
	# all files over one keep-alive connection
	for f in $FILES; do
		urls+=("http://127.0.0.1:$port/$f")
		outs+=(-o "$tmp/ka-$f")
	done
	if run "$cp" 30 curl -sS --fail "${outs[@]}" "${urls[@]}"; then
		for f in $FILES; do
			cmp -s "$tmp/ka-$f" "$tmp/www/$f" || { echo "keep-alive $f differs"; ok=0; }
		done
	else
		echo "keep-alive curl failed"; ok=0
	fi
	# a missing file is a 404, not a hang
	code=$(run "$cp" 10 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nosuch")
	[ "$code" = 404 ] || { echo "missing file: HTTP $code"; ok=0; }
	# throughput figure for the 10 MiB file
	run "$cp" 20 curl -s -o /dev/null -w 'figure: 10 MiB in %{time_total}s (%{speed_download} B/s)\n' \
		"http://127.0.0.1:$port/10m"
	cleanup
	[ $ok = 1 ]
}

# ---- redis ----
redis_case() {
	local sp=$1 cp=$2 port ok=1 size
	port=$(free_port) || return 1
	mkdir -p "$tmp/redis-$sp$cp"
	start redis "$sp" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$tmp/redis-$sp$cp" --daemonize no --protected-mode no --logfile ''
	if ! wait_listen "$port"; then
		echo "redis-server did not start"; cat "$tmp/redis.out"
		return 1
	fi
	r=$(run "$cp" 20 redis-cli -p "$port" -x SET big <"$tmp/redis-1m")
	[ "$r" = OK ] || { echo "SET: $r"; ok=0; }
	run "$cp" 20 redis-cli -p "$port" --raw GET big >"$tmp/redis-got"
	size=$(stat -c %s "$tmp/redis-1m")
	# redis-cli --raw adds a newline
	if [ "$(stat -c %s "$tmp/redis-got")" -ne $((size + 1)) ] ||
	   ! head -c "$size" "$tmp/redis-got" | cmp -s - "$tmp/redis-1m"; then
		echo "GET 1 MiB differs: sha256 $(head -c "$size" "$tmp/redis-got" | sha256sum | cut -c1-16) != $(sha256sum <"$tmp/redis-1m" | cut -c1-16)"
		ok=0
	fi
	r=$(run "$cp" 20 redis-cli -p "$port" STRLEN big)
	[ "$r" = "$size" ] || { echo "STRLEN: $r"; ok=0; }
	if ! run "$cp" 60 redis-benchmark -p "$port" -q -n 20000 -c 20 -t set,get,lpush,lpop --csv \
		>"$tmp/bench.csv" 2>&1; then
		echo "redis-benchmark failed:"; tail -5 "$tmp/bench.csv"; ok=0
	else
		n_lines=$(grep -c '^"\(SET\|GET\|LPUSH\|LPOP\)' "$tmp/bench.csv")
		[ "$n_lines" -eq 4 ] || { echo "redis-benchmark: $n_lines of 4 results"; ok=0; }
		awk -F'","' '/^"(SET|GET|LPUSH|LPOP)/ { gsub(/"/, "", $1); print "figure: " $1 " " $2 " req/s" }' \
			"$tmp/bench.csv"
	fi
	if ! run "$cp" 60 redis-benchmark -p "$port" -q -n 20000 -c 10 -P 16 -d 1000 -t set,get --csv \
		>"$tmp/bench2.csv" 2>&1; then
		echo "pipelined redis-benchmark failed"; ok=0
	else
		awk -F'","' '/^"(SET|GET)/ { gsub(/"/, "", $1); print "figure: pipelined 1000 B " $1 " " $2 " req/s" }' \
			"$tmp/bench2.csv"
	fi
	r=$(run "$cp" 10 redis-cli -p "$port" DBSIZE)
	[ -n "$r" ] || { echo "DBSIZE: no answer"; ok=0; }
	cleanup
	[ $ok = 1 ]
}

# ---- sockperf ----
sockperf_case() {
	local sp=$1 cp=$2 port ok=1
	port=$(free_port) || return 1
	start sockperf "$sp" sockperf server -i 127.0.0.1 -p "$port" --tcp
	if ! wait_listen "$port"; then
		echo "sockperf server did not start"; cat "$tmp/sockperf.out"
		return 1
	fi
	if run "$cp" 30 sockperf ping-pong -i 127.0.0.1 -p "$port" --tcp -t 2 -m 64 --mps=1000000 >"$tmp/pp" 2>&1 &&
	   grep -q 'Summary: Latency is' "$tmp/pp"; then
		grep 'Summary: Latency is' "$tmp/pp" | sed 's/.*Summary: /figure: ping-pong 64 B: /'
		grep -q 'dropped messages = 0' "$tmp/pp" || { grep 'dropped' "$tmp/pp"; ok=0; }
	else
		echo "sockperf ping-pong failed:"; tail -5 "$tmp/pp"; ok=0
	fi
	if run "$cp" 30 sockperf throughput -i 127.0.0.1 -p "$port" --tcp -t 2 -m 1400 >"$tmp/tp" 2>&1 &&
	   grep -q 'Summary: BandWidth is' "$tmp/tp"; then
		grep 'Summary: \(Message Rate\|BandWidth\)' "$tmp/tp" | sed 's/.*Summary: /figure: throughput 1400 B: /'
	else
		echo "sockperf throughput failed:"; tail -5 "$tmp/tp"; ok=0
	fi
	cleanup
	[ $ok = 1 ]
}

# ---- iperf3 ----
iperf_case() {
	local sp=$1 cp=$2 port ok=1 dir
	for dir in fwd rev; do
		port=$(free_port) || return 1
		start iperf3 "$sp" iperf3 -s -1 -B 127.0.0.1 -p "$port"
		if ! wait_listen "$port"; then
			echo "iperf3 server did not start"; cat "$tmp/iperf3.out"
			return 1
		fi
		extra=()
		[ $dir = rev ] && extra=(-R)
		if run "$cp" 30 iperf3 -c 127.0.0.1 -p "$port" -t 2 -f m "${extra[@]}" >"$tmp/ip" 2>&1; then
			line=$(grep -E 'receiver$' "$tmp/ip" | tail -1)
			if [ -z "$line" ]; then
				echo "iperf3 $dir: no receiver summary"; tail -3 "$tmp/ip"; ok=0
			else
				echo "figure: iperf3 $dir: $(echo "$line" | awk '{print $(NF-4), $(NF-3), $(NF-2), $(NF-1)}' | sed 's/^ *//')"
				# some data must have gone through
				echo "$line" | grep -qE ' 0\.00 Bytes' && { echo "iperf3 $dir moved nothing"; ok=0; }
			fi
		else
			echo "iperf3 $dir failed:"; tail -5 "$tmp/ip"; ok=0
		fi
		cleanup
	done
	[ $ok = 1 ]
}

cases=()
for app in nginx redis sockperf iperf; do
	for pl in "acc acc both both accelerated" \
		  "plain acc plainserver plain server, accelerated client" \
		  "acc plain plainclient accelerated server, plain client"; do
		cases+=("$app|$pl")
	done
done
if [ -n "${VELO_REALAPPS_ONLY:-}" ]; then
	sel=()
	for c in "${cases[@]}"; do
		printf '%s\n' "$c" | grep -qE "$VELO_REALAPPS_ONLY" && sel+=("$c")
	done
	cases=("${sel[@]}")
fi
echo "1..${#cases[@]}"
budget=${VELO_REALAPPS_BUDGET:-480}
for c in "${cases[@]}"; do
	app=${c%%|*}
	rest=${c#*|}
	sp=${rest%% *}
	rest=${rest#* }
	cp=${rest%% *}
	rest=${rest#* }
	id="$app-${rest%% *}"
	label=${rest#* }
	name="$id ($label)"
	reason=""
	[ -f "$known" ] && reason=$(awk -v n="realapps:$id" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' "$known")
	case $app in
	nginx) need=(nginx curl) ;;
	redis) need=(redis-server redis-cli redis-benchmark) ;;
	sockperf) need=(sockperf) ;;
	iperf) need=(iperf3) ;;
	esac
	if ! have "${need[@]}"; then
		report SKIP "$name" "${need[*]} missing"
		continue
	fi
	if [ "$SECONDS" -ge "$budget" ]; then
		if [ -n "$reason" ]; then
			report SKIP "$name" "known failing: $reason (not run: time budget spent)"
		else
			report FAIL "$name" "not run: time budget (${budget}s) spent"
		fi
		continue
	fi
	"${app}_case" "$sp" "$cp" >"$tmp/case.log" 2>&1
	rc=$?
	diag <"$tmp/case.log"
	if [ $rc -eq 0 ]; then
		[ -n "$reason" ] && echo "# $id: listed in KNOWN_FAILING but now passes"
		report OK "$name"
	elif [ -n "$reason" ]; then
		report SKIP "$name" "known failing: $reason"
	else
		report FAIL "$name"
	fi
done
[ $fail -eq 0 ]
