// SPDX-License-Identifier: GPL-2.0
/*
 * Families velo does not accelerate must behave as always next to
 * accelerated TCP: UDP echo over loopback v4/v6 (connected and not,
 * recvfrom addresses compared relatively, MSG_TRUNC on UDP, EMSGSIZE,
 * ECONNREFUSED reported on a connected UDP socket after ICMP), UNIX stream
 * socketpair and UNIX datagram, a UNIX listener by path, and
 * SOCK_SEQPACKET. All in one process that also holds a TCP connection.
 * Both UDP ends are the program's own, on loopback in either mode (across
 * namespaces only the TCP connection goes to the peer).
 */
#include "diff.h"

static void udp(int fam)
{
	union sa a, from;
	socklen_t al = sa_lo(&a, fam, 0), fl;
	int u1 = socket(fam, SOCK_DGRAM, 0), u2 = socket(fam, SOCK_DGRAM, 0);
	char b[100];
	uint16_t p1;

	say("-- UDP %s", fam == AF_INET ? "v4" : "v6");
	NEED(bind(u1, &a.sa, al) == 0);
	p1 = local_port(u1);
	al = sa_lo(&a, fam, p1);
	SHOW(sendto(u2, "ping", 4, 0, &a.sa, al));
	fl = sizeof(from);
	memset(b, 0, sizeof(b));
	SHOW(recvfrom(u1, b, sizeof(b), 0, &from.sa, &fl));
	say("got \"%s\" from family %d, port == sender's: %s", b, from.sa.sa_family,
	    YN(sa_port(&from) == local_port(u2)));
	SHOW(sendto(u1, "pong", 4, 0, &from.sa, fl));
	SHOW(recv(u2, b, sizeof(b), 0));
	SHOW(sendto(u2, "0123456789", 10, 0, &a.sa, al));
	NEED(wait_ev(u1, POLLIN, 5000));
	SHOW(recv(u1, b, 4, MSG_PEEK | MSG_TRUNC));
	SHOW(recv(u1, b, 4, MSG_TRUNC));
	SHOW(recv(u1, b, 4, MSG_DONTWAIT));
	{
		static char big[70000];

		SHOW(sendto(u2, big, sizeof(big), 0, &a.sa, al));
	}
	/* connected UDP to a closed port: ECONNREFUSED after the ICMP */
	close(u1);
	SHOW(connect(u2, &a.sa, al));
	SHOW(send(u2, "x", 1, 0));
	NEED(wait_ev(u2, POLLERR, 5000));
	SHOW(recv(u2, b, sizeof(b), MSG_DONTWAIT));
	SHOW(recv(u2, b, sizeof(b), MSG_DONTWAIT));
	close(u2);
}

int main(void)
{
	int c, s, sp[2], l, cu, su;
	char b[64];
	struct sockaddr_un un;
	char path[] = "/tmp/vdiff-unix.XXXXXX";

	tcp_pair(&c, &s);
	udp(AF_INET);
	udp(AF_INET6);

	say("-- UNIX stream socketpair");
	NEED(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	SHOW(send(sp[0], "unix", 4, 0));
	SHOW(recv(sp[1], b, sizeof(b), 0));
	SHOW(shutdown(sp[0], SHUT_WR));
	SHOW(recv(sp[1], b, sizeof(b), 0));
	say("poll = %s", pollmask(poll1(sp[1], POLL_ALL, 0)));
	close(sp[0]);
	close(sp[1]);

	say("-- UNIX dgram / seqpacket");
	NEED(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0);
	SHOW(send(sp[0], "d1", 2, 0));
	SHOW(send(sp[0], "d22", 3, 0));
	SHOW(recv(sp[1], b, 1, 0));
	SHOW(recv(sp[1], b, sizeof(b), 0));
	close(sp[0]);
	close(sp[1]);
	NEED(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0);
	SHOW(send(sp[0], "rec1", 4, 0));
	SHOW(recv(sp[1], b, 2, 0));
	close(sp[0]);
	SHOW(recv(sp[1], b, sizeof(b), 0));
	close(sp[1]);

	say("-- UNIX listener by path");
	NEED(mkdtemp(path));
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/s", path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW(bind(l, (struct sockaddr *)&un, sizeof(un)));
	SHOW(listen(l, 4));
	cu = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW(connect(cu, (struct sockaddr *)&un, sizeof(un)));
	su = accept(l, NULL, NULL);
	SHOW(send(cu, "path", 4, 0));
	SHOW(recv(su, b, sizeof(b), 0));
	{
		int v = -1;
		socklen_t vl = sizeof(v);

		getsockopt(su, SOL_SOCKET, SO_DOMAIN, &v, &vl);
		say("SO_DOMAIN = %d", v);
	}
	close(cu);
	close(su);
	close(l);
	unlink(un.sun_path);
	rmdir(path);

	/* the TCP connection is unaffected */
	SHOW(send(c, "tcp", 3, 0));
	SHOW(recv(s, b, 3, MSG_WAITALL));
	close(c);
	close(s);
	return 0;
}
