// SPDX-License-Identifier: GPL-2.0
/*
 * connect() to an address on the link that no host answers for: the
 * kernel's neighbour resolution fails (3 probes, a second apart) and
 * reports "host unreachable" to the connection's own host, which ends
 * the connection still opening: EHOSTUNREACH from a blocking connect, and
 * from SO_ERROR after POLLOUT|POLLERR|POLLHUP for a non-blocking one, each
 * a few seconds in; over IPv4 and IPv6. Across namespaces only (the
 * program's own address with another host number); on one host it says
 * so.
 */
#include "diff.h"

/* An address of the program's own subnet that nobody has. */
static socklen_t nobody(union sa *a, int family)
{
	socklen_t l = sa_self(a, family, 80);

	if (family == AF_INET)
		a->in.sin_addr.s_addr = htonl((ntohl(a->in.sin_addr.s_addr) & ~0xffu) | 99);
	else
		a->in6.sin6_addr.s6_addr[15] = 99;
	return l;
}

static const char *took_seconds(long t0)
{
	long ms = now_ms() - t0;

	return ms >= 2000 && ms < 6000 ? "a few seconds" : ms < 2000 ? "too little" : "too long";
}

static void one(int family)
{
	union sa a;
	socklen_t l = nobody(&a, family);
	int c = socket(family, SOCK_STREAM, 0), e = 0;
	socklen_t el = sizeof(e);
	long t0 = now_ms();

	say("-- %s", family == AF_INET ? "IPv4" : "IPv6");
	NEED(c >= 0);
	SHOW(connect(c, &a.sa, l));
	say("it took %s", took_seconds(t0));
	SHOW(connect(c, &a.sa, l));
	close(c);

	c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	NEED(c >= 0);
	SHOW(connect(c, &a.sa, l));
	t0 = now_ms();
	say("poll: %s", pollmask(poll1(c, POLLOUT, 8000)));
	say("it took %s", took_seconds(t0));
	NEED(getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el) == 0);
	say("SO_ERROR %s", e ? errname(e) : "0");
	close(c);
}

int main(void)
{
	if (!peer_env(AF_INET)) {
		say("one host: not tested here");
		return 0;
	}
	one(AF_INET);
	one(AF_INET6);
	return 0;
}
