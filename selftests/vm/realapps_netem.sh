#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real programs (nginx and curl, redis, sockperf, iperf3), one side under
# libvelo on velo.ko's soft provider, the other the guest kernel's, through
# the guest kernel's real sch_netem on both veth ends: 1 ms delay with a
# quarter of the packets not delayed (reordering) and 1% loss, each way.
# selftests/host/realapps_wire.sh (copied into the guest) does the work;
# the host's kernel has no sch_netem.
here=$(cd "$(dirname "$0")" && pwd)
# nginx runs as "user root": the guest's /etc has no passwd
[ -f /etc/passwd ] || echo "root:x:0:0:root:/:/bin/sh" >/etc/passwd
[ -f /etc/group ] || echo "root:x:0:" >/etc/group
export VELO_TOP=$here/../.. VELO_BUILD=/usr/lib
export VELO_REALAPPS_NETEM="delay 1ms reorder 25% 50% loss 1%"
export VELO_REALAPPS_TIMEOUT=120 VELO_REALAPPS_REQUESTS=2000
exec bash "$here/../host/realapps_wire.sh"
