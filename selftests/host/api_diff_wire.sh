#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The differential socket-API suite across network namespaces: each program
# of selftests/diff runs in one namespace, its peer (the listeners and
# bound sockets the diff.h helpers make) in another, joined by a veth; the
# kernel run against the libvelo run with VELO_WIRE=on, where the
# program's connections are the engine's on AF_XDP. Programs libvelo does
# not pass this way are in selftests/diff/KNOWN_FAILING_WIRE, with the
# reason, and are not run (most wait for their timeouts: the suite would
# not fit its time).
#
# env: as api_diff.sh (VELO_DIFF_ONLY, VELO_DIFF_BUDGET, ...).
top=${VELO_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
lib=${VELO_BUILD:-$top/build}/libvelo.so
if [ "$(id -u)" -ne 0 ] || [ ! -f "$lib" ]; then
	printf 'KTAP version 1\n1..0 # SKIP needs root and %s\n' "$lib"
	exit 4
fi
sut=vds$$ peer=vdp$$
trap 'ip netns del $sut 2>/dev/null; ip netns del $peer 2>/dev/null' EXIT
trap 'exit 130' INT TERM
ip netns add "$sut" && ip netns add "$peer" &&
	ip link add "$sut" type veth peer name "$peer" &&
	ip link set "$sut" netns "$sut" && ip link set "$peer" netns "$peer" &&
	ip -n "$sut" addr add 10.78.0.1/24 dev "$sut" &&
	ip -n "$peer" addr add 10.78.0.2/24 dev "$peer" &&
	ip -n "$sut" addr add fd78::1/64 dev "$sut" nodad &&
	ip -n "$peer" addr add fd78::2/64 dev "$peer" nodad &&
	ip -n "$sut" link set "$sut" up && ip -n "$peer" link set "$peer" up &&
	ip -n "$sut" link set lo up && ip -n "$peer" link set lo up || {
	printf 'KTAP version 1\n1..0 # SKIP no network namespaces\n'
	exit 4
}
ip netns exec "$sut" env VELO_DIFF_PEER_NS="$peer" VELO_DIFF_PEER4=10.78.0.2 \
	VELO_DIFF_PEER6=fd78::2 VELO_DIFF_VELO_ENV=VELO_WIRE=on \
	VELO_DIFF_KNOWN="${VELO_DIFF_KNOWN:-$top/selftests/diff/KNOWN_FAILING_WIRE}" VELO_DIFF_SKIP_KNOWN=1 \
	bash "$top/selftests/host/api_diff.sh"
