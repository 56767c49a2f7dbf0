#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The wire path's backend choice where velo.ko is not loaded (the VM's
# selftests/vm/wire_ko.c covers velo.ko): a python client under libvelo with
# VELO_WIRE=on echoes a line through a kernel server in another namespace
# over veth, then runs veloctl on itself.
#   VELO_WIRE_BACKEND unset   auto: no /dev/velo, so AF_XDP; veloctl shows
#                             wire_stacks_xdp 1 and top's WIRE column "xdp"
#   VELO_WIRE_BACKEND=ko      a warning; the kernel makes the connection
#   VELO_WIRE_BACKEND=bogus   a warning; auto as above
# Needs root (namespaces); exit 4 (skip) without, or with /dev/velo.
#
# env: VELO_TOP, VELO_BUILD
set -u

top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${VELO_BUILD:-$top/build}
lib=$build/libvelo.so

echo "KTAP version 1"
if [ ! -f "$lib" ] || [ "$(id -u)" -ne 0 ] || [ -e /dev/velo ]; then
	echo "1..0 # SKIP needs root, $lib and no velo.ko"
	exit 4
fi

nc=vbc$$ ns=vbs$$ cip=10.78.0.1 sip=10.78.0.2 port=7441
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wire-backend.XXXXXX")
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null;
	ip netns del $nc 2>/dev/null; ip netns del $ns 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

ip netns add "$nc" && ip netns add "$ns" &&
	ip link add "$nc" type veth peer name "$ns" &&
	ip link set "$nc" netns "$nc" && ip link set "$ns" netns "$ns" &&
	ip -n "$nc" addr add "$cip/24" dev "$nc" && ip -n "$ns" addr add "$sip/24" dev "$ns" &&
	ip -n "$nc" link set "$nc" up && ip -n "$ns" link set "$ns" up || {
	echo "1..0 # SKIP no namespaces"
	exit 4
}

# A kernel echo server, one line per connection, any number of connections.
ip netns exec "$ns" python3 -c '
import socketserver, sys
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline())
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer((sys.argv[1], int(sys.argv[2])), Echo).serve_forever()
' "$sip" "$port" &
server=$!
for _ in $(seq 50); do
	ip netns exec "$ns" ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done

# shellcheck source=selftests/lib/ktap.sh
source "$top/selftests/lib/ktap.sh"

# client NAME [VELO_WIRE_BACKEND]: the echo under libvelo, then veloctl on itself
# (python, not bash's /dev/tcp: bash dup2()s the socket and closes it, which
# the wire path does not survive yet)
client() {
	ip netns exec "$nc" env LD_PRELOAD="$lib" VELO_WIRE=on VELO_LOG=debug \
		${2:+VELO_WIRE_BACKEND=$2} python3 -c '
import os, socket, subprocess, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"hello\n")
if s.makefile().readline() != "hello\n":
    sys.exit(2)
env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
for cmd in (["sockets"], ["top", "-n", "1"]):
    subprocess.run([sys.argv[3] + "/veloctl", cmd[0], str(os.getpid())] + cmd[1:], env=env,
                   check=True)
' "$sip" "$port" "$build" >"$tmp/$1.out" 2>"$tmp/$1.log"
}

# check NAME DESCRIPTION COMMAND...: one case
check() {
	local name=$1 what=$2
	shift 2
	if "$@"; then
		report OK "$name"
	else
		echo "# $what"
		grep -v libbpf "$tmp/$name.log" | tail -n 5 | sed 's/^/# /'
		report FAIL "$name"
	fi
}

auto_ok() { # NAME: the echo on AF_XDP, and veloctl says so
	client "$1" "${2:-}" &&
		grep -q "stack on $nc: AF_XDP" "$tmp/$1.log" &&
		grep -q "through the engine" "$tmp/$1.log" &&
		grep -Eq "wire_stacks_xdp +1$" "$tmp/$1.out" &&
		grep -Eq "wire_stacks_ko +0$" "$tmp/$1.out" &&
		grep -Eq " xdp +$" "$tmp/$1.out"
}

forced_ko_falls_back() {
	client ko ko &&
		grep -q "backend ko forced, but velo.ko makes no stack on $nc" "$tmp/ko.log" &&
		! grep -q "through the engine" "$tmp/ko.log" &&
		grep -Eq "wire_stacks_ko +0$" "$tmp/ko.out"
}

bogus_warns() {
	auto_ok bogus bogus &&
		grep -q "VELO_WIRE_BACKEND=bogus is not auto, ko or xdp; ignored" "$tmp/bogus.log"
}

echo "1..3"
check auto "auto did not use AF_XDP, or veloctl did not show it" auto_ok auto
check ko "a forced ko did not warn and fall back to the kernel" forced_ko_falls_back
check bogus "a bad VELO_WIRE_BACKEND was not reported, or auto failed" bogus_warns
exit $fail
