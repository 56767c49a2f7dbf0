// SPDX-License-Identifier: GPL-2.0
/*
 * getsockopt(SO_PEERNAME): the peer's address, as getpeername() gives it,
 * on a connected socket and an accepted one (across namespaces under
 * libvelo: the engine's, after a first accept()), IPv4 and IPv6; a length
 * shorter than the address gets its first bytes, a longer one EINVAL;
 * ENOTCONN on an unconnected socket and a listener; still the address
 * after the peer's FIN. Under libvelo a wire connection's kernel socket,
 * never connected, said ENOTCONN.
 */
#include "diff.h"

static void peername(const char *what, int fd, socklen_t len)
{
	union sa a, b;
	socklen_t bl = sizeof(b), l = len;
	int r;

	memset(&a, 0, sizeof(a));
	r = getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &a, &l);
	if (r) {
		say("%s, length %u: %s", what, len, errname(errno));
		return;
	}
	NEED(getpeername(fd, &b.sa, &bl) == 0);
	say("%s, length %u: 0, length %u, as getpeername(): %s", what, len, l,
	    YN(!memcmp(&a, &b, l < bl ? l : bl)));
}

static void one(int fam)
{
	socklen_t full = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	union sa a;
	socklen_t al = sa_self(&a, fam, 0);
	int l = socket(fam, SOCK_STREAM, 0), c, s, pc, ps;
	char buf[4];

	say("-- family %d", fam);
	NEED(l >= 0 && bind(l, &a.sa, al) == 0 && listen(l, 4) == 0);
	engine_listens(l);
	peername("listener", l, full);
	c = socket(fam, SOCK_STREAM, 0);
	peername("unconnected", c, full);
	close(c);
	/* ours to the peer's listener */
	tcp_pair_fam(fam, &c, &s);
	peername("connected", c, full);
	peername("connected", c, 4);
	peername("connected", c, full + 4);
	/* the peer's to our listener */
	al = sa_self(&a, fam, local_port(l));
	pc = peer_socket(fam);
	NEED(pc >= 0 && connect(pc, &a.sa, al) == 0);
	ps = accept(l, NULL, NULL);
	NEED(ps >= 0);
	peername("accepted", ps, full);
	peername("accepted", ps, 2);
	close(pc);
	NEED(recv(ps, buf, sizeof(buf), 0) == 0);
	peername("accepted, after the peer's FIN", ps, full);
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
