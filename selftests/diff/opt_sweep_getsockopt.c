// SPDX-License-Identifier: GPL-2.0
/*
 * Every socket option number of SOL_SOCKET, IPPROTO_TCP and the family's
 * IP level, read on a connected socket, an accepted one (across
 * namespaces under libvelo: the engine's, after a first accept()), its
 * listener, and the accepted one after the peer's FIN: what getsockopt()
 * answers and the length it gives (not the values: cookies, clocks and
 * counters differ run to run). Under libvelo a wire connection's kernel
 * socket, never connected, said ENOTCONN for SO_PEERNAME, IPV6_PATHMTU
 * and IPV6_ADDRFORM.
 */
#include "diff.h"

static void sweep(const char *what, int fd, int level, const char *lname, int last)
{
	unsigned char buf[512];
	socklen_t l;
	int r;

	for (int name = 1; name <= last; name++) {
		l = sizeof(buf);
		memset(buf, 0, sizeof(buf));
		r = getsockopt(fd, level, name, buf, &l);
		say("%s: %s %d: %s, length %u", what, lname, name, r ? errname(errno) : "0",
		    r ? 0 : l);
	}
}

static void all(const char *what, int fd, int fam)
{
	sweep(what, fd, SOL_SOCKET, "SOL_SOCKET", 80);
	sweep(what, fd, IPPROTO_TCP, "IPPROTO_TCP", 40);
	if (fam == AF_INET)
		sweep(what, fd, IPPROTO_IP, "IPPROTO_IP", 80);
	else
		sweep(what, fd, IPPROTO_IPV6, "IPPROTO_IPV6", 80);
}

static void one(int fam)
{
	union sa a;
	socklen_t al = sa_self(&a, fam, 0);
	int l = socket(fam, SOCK_STREAM, 0), c, s, pc, ps;
	char b[4];

	say("-- family %d", fam);
	NEED(l >= 0 && bind(l, &a.sa, al) == 0 && listen(l, 4) == 0);
	engine_listens(l);
	tcp_pair_fam(fam, &c, &s);
	NEED(send(s, "abc", 3, 0) == 3 && recv(c, b, 1, 0) == 1);
	all("connected", c, fam);
	al = sa_self(&a, fam, local_port(l));
	pc = peer_socket(fam);
	NEED(pc >= 0 && connect(pc, &a.sa, al) == 0);
	ps = accept(l, NULL, NULL);
	NEED(ps >= 0 && send(pc, "abc", 3, 0) == 3 && recv(ps, b, 1, 0) == 1);
	all("accepted", ps, fam);
	all("listener", l, fam);
	close(pc);
	NEED(recv(ps, b, sizeof(b), 0) == 2 && recv(ps, b, sizeof(b), 0) == 0);
	all("accepted, after the peer's FIN", ps, fam);
	close(ps);
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	one(AF_INET);
	one(AF_INET6);
	return 0;
}
