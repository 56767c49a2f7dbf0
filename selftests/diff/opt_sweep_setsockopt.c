// SPDX-License-Identifier: GPL-2.0
/*
 * Every socket option number of SOL_SOCKET, IPPROTO_TCP and the family's
 * IP level, set to 0 and to 1 (an int) on a fresh connected socket: what
 * setsockopt() answers, and whether data still flows both ways after it.
 * Under libvelo a wire connection's kernel socket, never connected, took
 * what Linux refuses on a connection (TCP_FASTOPEN, TCP_FASTOPEN_CONNECT,
 * TCP_FASTOPEN_NO_COOKIE, IPV6_V6ONLY: EINVAL), and SO_RCVLOWAT 0 or 1
 * crashed the process. Not set: the filters and BPF programs (they take
 * pointers), SO_BINDTOIFINDEX 1 (loopback: the peer is elsewhere), and
 * the TCP_REPAIR family and TCP_ULP (they end the socket's normal life).
 */
#include "diff.h"

static int skipped(int level, int name)
{
	if (level == SOL_SOCKET)
		return name == SO_ATTACH_FILTER || name == SO_DETACH_FILTER ||
		       name == SO_ATTACH_BPF || name == SO_ATTACH_REUSEPORT_CBPF ||
		       name == SO_ATTACH_REUSEPORT_EBPF || name == SO_BINDTOIFINDEX;
	if (level == IPPROTO_TCP)
		return name == TCP_REPAIR || name == TCP_REPAIR_QUEUE || name == TCP_QUEUE_SEQ ||
		       name == TCP_REPAIR_OPTIONS || name == TCP_REPAIR_WINDOW || name == TCP_ULP ||
		       name == TCP_ZEROCOPY_RECEIVE;
	return 0;
}

static void sweep(int fam, int level, const char *lname, int last, int val)
{
	char b[4];
	int c, s, r, e, flows;

	for (int name = 1; name <= last; name++) {
		if (skipped(level, name))
			continue;
		tcp_pair_fam(fam, &c, &s);
		r = setsockopt(c, level, name, &val, sizeof(val));
		e = errno;
		flows = send(c, "x", 1, MSG_NOSIGNAL) == 1 && recv(s, b, 1, 0) == 1 &&
			send(s, "y", 1, MSG_NOSIGNAL) == 1 && recv(c, b, 1, 0) == 1;
		say("%s %d = %d: %s, data flows: %s", lname, name, val, r ? errname(e) : "0", YN(flows));
		close(c);
		close(s);
	}
}

int main(void)
{
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		say("-- family %d", fam);
		for (int val = 0; val < 2; val++) {
			sweep(fam, SOL_SOCKET, "SOL_SOCKET", 80, val);
			sweep(fam, IPPROTO_TCP, "IPPROTO_TCP", 40, val);
			if (fam == AF_INET)
				sweep(fam, IPPROTO_IP, "IPPROTO_IP", 80, val);
			else
				sweep(fam, IPPROTO_IPV6, "IPPROTO_IPV6", 80, val);
		}
	}
	return 0;
}
