#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# veloctl sockets / top read a live libvelo process's statistics: a sockperf
# server and client on loopback under libvelo, then what veloctl shows of
# the server while the connection lives.
lib=$VELO_BUILD/libvelo.so
veloctl=$VELO_BUILD/veloctl
port=$((20000 + $$ % 10000))	# below the ephemeral range, new each run
[ -f "$lib" ] && [ -x "$veloctl" ] && command -v sockperf >/dev/null || exit 4

echo "KTAP version 1"
echo "1..4"
LD_PRELOAD=$lib sockperf sr --tcp -i 127.0.0.1 -p $port >/dev/null 2>&1 &
server=$!
trap 'kill $server $client 2>/dev/null; wait 2>/dev/null' EXIT
for i in $(seq 50); do
	ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
LD_PRELOAD=$lib sockperf pp --tcp -i 127.0.0.1 -p $port -t 4 >/dev/null 2>&1 &
client=$!
sleep 2

n=0 failed=0
check() { # check NAME COMMAND...
	n=$((n + 1))
	name=$1
	shift
	if "$@"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=1
	fi
}
text=$("$veloctl" sockets $server)
json=$("$veloctl" sockets $server --json)
top=$("$veloctl" top $server -n 1)
check "sockets shows the accepted connection on the loopback path" \
	sh -c 'echo "$1" | grep -Eq "^ +[0-9]+ +loopback .*127\.0\.0\.1:$2 "' - "$text" $port
check "sockets counts the attached channel" \
	sh -c 'echo "$1" | grep -Eq "^ +loop_attached +1$"' - "$text"
check "sockets --json is one array with the process" \
	sh -c 'case "$1" in "[{\"pid\":$2,"*"}]") exit 0 ;; esac; exit 1' - "$(echo "$json" | tr -d '\n')" $server
check "top has a row for the process" \
	sh -c 'echo "$1" | grep -Eq "^ *$2 sockperf +2 +1 "' - "$top" $server
exit $failed
