#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real programs across two network namespaces joined by veth, one end under
# libvelo with VELO_WIRE=on (its TCP on the engine over AF_XDP), the other
# the kernel's, with their data checked:
#   nginx (velo) <- curl (kernel)      files of several sizes, cmp'ed
#   curl (velo)  -> nginx (kernel)     the same files
#   redis-server (velo) <- redis-cli   1 MiB SET/GET compared, redis-benchmark
#   sockperf ping-pong, iperf3         velo clients against kernel servers
# A case passes only if the velo side's debug log shows the engine made or
# accepted its connections. Needs root (namespaces); exit 4 (skip) without.
#
# env: VELO_TOP, VELO_BUILD; VELO_REALAPPS_NETEM (a tc netem spec put on
# both veth ends, e.g. "delay 1ms reorder 25% 50% loss 1%": skip where the
# kernel has no sch_netem; selftests/vm/realapps_netem.sh runs it so),
# VELO_REALAPPS_TIMEOUT (seconds per client run, default 15),
# VELO_REALAPPS_REQUESTS (redis-benchmark's, default 20000)
set -u

top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VELO_BUILD:-$top/build}
lib=$build/libvelo.so

echo "KTAP version 1"
if [ ! -f "$lib" ] || [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root and $lib"
	exit 4
fi

nc=vrc$$ ns=vrs$$ cip=10.79.0.1 sip=10.79.0.2
netem=${VELO_REALAPPS_NETEM:-} tmo=${VELO_REALAPPS_TIMEOUT:-15}
requests=${VELO_REALAPPS_REQUESTS:-20000}
# read: libvelo would warn of VELO_* settings it does not know
unset VELO_REALAPPS_NETEM VELO_REALAPPS_TIMEOUT VELO_REALAPPS_REQUESTS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/realapps-wire.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() { # servers are session leaders (setsid): their whole groups go
	local p i
	for p in "${pids[@]}"; do
		kill -9 -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
		# workers too: a dying one's AF_XDP socket could still take frames
		for i in $(seq 50); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
	done
	pids=()
}
trap 'cleanup; ip netns del $nc 2>/dev/null; ip netns del $ns 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

ip netns add "$nc" && ip netns add "$ns" &&
	ip link add "vrc$$" type veth peer name "vrs$$" &&
	ip link set "vrc$$" netns "$nc" && ip link set "vrs$$" netns "$ns" &&
	ip -n "$nc" addr add "$cip/24" dev "vrc$$" && ip -n "$ns" addr add "$sip/24" dev "vrs$$" &&
	ip -n "$nc" link set "vrc$$" up && ip -n "$ns" link set "vrs$$" up &&
	ip -n "$nc" link set lo up && ip -n "$ns" link set lo up || {
	echo "1..0 # SKIP no namespaces"
	exit 4
}
if [ -n "$netem" ]; then
	tc -n "$nc" qdisc add dev "vrc$$" root netem $netem &&
		tc -n "$ns" qdisc add dev "vrs$$" root netem $netem || {
		echo "1..0 # SKIP no sch_netem"
		exit 4
	}
	echo "# both directions through netem $netem"
fi

# env_for velo|kernel: the environment prefix of a program under velo or not
env_for() {
	if [ "$1" = velo ]; then
		how_env=(env LD_PRELOAD="$lib" VELO_WIRE=on VELO_LOG=debug)
	else
		how_env=(env -u LD_PRELOAD)
	fi
}

# in_ns NS velo|kernel LOG CMD...: a program in a namespace, its stderr to LOG
in_ns() {
	local n=$1 log=$3
	env_for "$2"
	shift 3
	ip netns exec "$n" "${how_env[@]}" "$@" 2>>"$log"
}

# serve HOW PORT NAME CMD...: a server in the server namespace, until it listens
serve() {
	local how=$1 port=$2 name=$3 i
	shift 3
	env_for "$how"
	# ip by path: busybox's setsid (the VM's) would run its own ip applet
	setsid "$(command -v ip)" netns exec "$ns" "${how_env[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
	pids+=($!)
	for i in $(seq 1 $((tmo * 10))); do
		ip netns exec "$ns" ss -Htln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "# $name did not start"; sed 's/^/# /' "$tmp/$name.log" | tail -5
	return 1
}

# shellcheck source=selftests/lib/ktap.sh
source "$top/selftests/lib/ktap.sh"

# engine_used LOG: the velo side made or accepted a connection on the engine
engine_used() { grep -q "through the engine" "$1"; }

mkdir -p "$tmp/www"
printf x >"$tmp/www/one"
head -c 100000 /dev/urandom >"$tmp/www/100k"
head -c 4194304 /dev/urandom >"$tmp/www/4m"
FILES="one 100k 4m"

nginx_conf() { # nginx_conf DIR PORT
	cat >"$1/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 2;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 256; }
http {
	access_log off;
	sendfile on;
	client_body_temp_path $1;
	proxy_temp_path $1;
	fastcgi_temp_path $1;
	uwsgi_temp_path $1;
	scgi_temp_path $1;
	server {
		listen $2;
		root $tmp/www;
	}
}
EOF
}

# nginx_case SERVER-HOW CLIENT-HOW: every file three times, compared
nginx_case() {
	local shw=$1 chw=$2 port=$((7420 + ${#1})) d=$tmp/nginx-$1 f r ok=1 vlog
	mkdir -p "$d"
	nginx_conf "$d" "$port"
	serve "$shw" "$port" "nginx-$shw" nginx -c "$d/nginx.conf" -p "$d" -e "$d/error.log" || ok=0
	for r in 1 2 3; do
		for f in $FILES; do
			[ $ok = 1 ] || break 2
			rm -f "$tmp/got"
			if ! in_ns "$nc" "$chw" "$tmp/curl-$chw.log" timeout "$tmo" curl -sS --fail \
				-o "$tmp/got" "http://$sip:$port/$f" || ! cmp -s "$tmp/got" "$tmp/www/$f"; then
				echo "# $f: curl failed or data differs (round $r)"
				grep -v libbpf "$tmp/curl-$chw.log" | tail -n 5 | sed 's/^/# /'
				ok=0
			fi
		done
	done
	cleanup
	vlog=$d/error.log # nginx's workers write their stderr there
	[ "$shw" = kernel ] && vlog=$tmp/curl-velo.log
	if [ $ok = 1 ] && ! engine_used "$vlog"; then
		echo "# the velo side did not use the engine"; tail -n 5 "$vlog" | sed 's/^/# /'
		ok=0
	fi
	report "$([ $ok = 1 ] && echo OK || echo FAIL)" "nginx-$shw-curl-$chw"
}

redis_case() {
	local port=7431 ok=1 c=(redis-cli -h "$sip" -p 7431)
	serve velo "$port" redis-velo redis-server --port "$port" --save '' --appendonly no \
		--protected-mode no || ok=0
	head -c 1048576 /dev/urandom | base64 -w0 | head -c 1048576 >"$tmp/value"
	if [ $ok = 1 ]; then
		in_ns "$nc" kernel /dev/null timeout "$tmo" "${c[@]}" -x set big <"$tmp/value" >/dev/null
		# --raw adds a newline
		in_ns "$nc" kernel /dev/null timeout "$tmo" "${c[@]}" --raw get big |
			head -c 1048576 >"$tmp/got"
		cmp -s "$tmp/got" "$tmp/value" || { echo "# GET differs from SET"; ok=0; }
		in_ns "$nc" kernel /dev/null timeout $((tmo * 4)) redis-benchmark -h "$sip" -p "$port" \
			-q -t set,get -n "$requests" -c 10 --csv >"$tmp/rb.out" || ok=0
		sed -n 's/^"\([A-Z]*\)","\([0-9.]*\)".*/# figure: redis \1 \2 req\/s/p' "$tmp/rb.out"
	fi
	cleanup
	if [ $ok = 1 ] && ! engine_used "$tmp/redis-velo.log"; then
		echo "# redis-server did not accept on the engine"
		ok=0
	fi
	report "$([ $ok = 1 ] && echo OK || echo FAIL)" "redis-server-velo-clients-kernel"
}

sockperf_case() {
	local port=7432 ok=1 log=$tmp/sockperf-velo.log
	serve kernel "$port" sockperf-k sockperf sr --tcp -i "$sip" -p "$port" || ok=0
	if [ $ok = 1 ] && in_ns "$nc" velo "$log" timeout $((tmo * 2)) sockperf pp --tcp -i "$sip" -p "$port" \
		-t 2 -m 64 --mps=1000000 >"$tmp/sp.out"; then
		sed -n 's/.*\(Summary: Latency is .*\)/# figure: \1/p' "$tmp/sp.out"
		grep -q "Summary: Latency" "$tmp/sp.out" || ok=0
	else
		ok=0
	fi
	cleanup
	[ $ok = 1 ] && ! engine_used "$log" && { echo "# sockperf did not use the engine"; ok=0; }
	report "$([ $ok = 1 ] && echo OK || echo FAIL)" "sockperf-velo-client"
}

iperf_case() {
	local port=7433 ok=1 log=$tmp/iperf-velo.log
	serve kernel "$port" iperf-k iperf3 -s -1 -B "$sip" -p "$port" || ok=0
	if [ $ok = 1 ] && in_ns "$nc" velo "$log" timeout $((tmo * 2)) iperf3 -c "$sip" -p "$port" -t 2 \
		>"$tmp/ip.out"; then
		sed -n 's/.* \([0-9.]* [GM]bits\/sec\).*receiver/# figure: iperf3 \1/p' "$tmp/ip.out"
	else
		ok=0
	fi
	cleanup
	[ $ok = 1 ] && ! engine_used "$log" && { echo "# iperf3 did not use the engine"; ok=0; }
	report "$([ $ok = 1 ] && echo OK || echo FAIL)" "iperf3-velo-client"
}

echo "1..5"
for c in "nginx_case velo kernel" "nginx_case kernel velo" redis_case sockperf_case iperf_case; do
	prog=${c%% *}
	case $prog in
	nginx_case) need="nginx curl" ;;
	redis_case) need="redis-server redis-cli redis-benchmark" ;;
	sockperf_case) need=sockperf ;;
	iperf_case) need=iperf3 ;;
	esac
	missing=
	for p in $need; do command -v "$p" >/dev/null || missing="$missing $p"; done
	if [ -n "$missing" ]; then
		report SKIP "$c" "missing:$missing"
		continue
	fi
	$c
done
exit $fail
