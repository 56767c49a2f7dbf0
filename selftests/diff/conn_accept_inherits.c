// SPDX-License-Identifier: GPL-2.0
/*
 * What an accepted socket inherits from its listener, as Linux's clone of
 * the listening socket copies it: SO_MARK, SO_PRIORITY, SO_REUSEADDR,
 * SO_REUSEPORT, SO_OOBINLINE, SO_KEEPALIVE, SO_DONTROUTE, SO_BROADCAST,
 * SO_BUSY_POLL, the buffer sizes, IP_FREEBIND, IP_TOS/IP_TTL, IP_RECVTOS,
 * IP_MTU_DISCOVER, IP_BIND_ADDRESS_NO_PORT, IPV6_V6ONLY, IPV6_TCLASS,
 * IPV6_RECVTCLASS, IPV6_MTU_DISCOVER, the TCP options (TCP_CORK too),
 * IPv4 and IPv6; each listener also after a first accept() said EAGAIN
 * (across namespaces under libvelo the engine listens from then on). A
 * wire connection the engine accepted got a fresh kernel socket's values
 * for all but the TCP options, the timeouts and buffers: IPV6_V6ONLY 0
 * under an IPV6_V6ONLY listener, SO_REUSEADDR 0, SO_MARK 0.
 */
#include "diff.h"
#include <netinet/tcp.h>
struct opt {
	int level, name;
	const char *n;
	int val;
};

static const struct opt opts[] = {
	{ SOL_SOCKET, SO_MARK, "SO_MARK", 7 },
	{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 5 },
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1 },
	{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1 },
	{ SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 1 },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1 },
	{ SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", 1 },
	{ SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 1 },
	{ SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL", 50 },
	{ SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 100000 },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 100000 },
	{ IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", 1 },
	{ IPPROTO_IP, IP_TOS, "IP_TOS", 0x20 },
	{ IPPROTO_IP, IP_TTL, "IP_TTL", 33 },
	{ IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", 1 },
	{ IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", IP_PMTUDISC_DONT },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", 1 },
	{ IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 1 },
	{ IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", 0x20 },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", 33 },
	{ IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", 1 },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", IPV6_PMTUDISC_DONT },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1 },
	{ IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", 1200 },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 77 },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 11 },
	{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 4 },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 9000 },
	{ IPPROTO_TCP, TCP_WINDOW_CLAMP, "TCP_WINDOW_CLAMP", 50000 },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", 70000 },
	{ IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, "TCP_THIN_LINEAR_TIMEOUTS", 1 },
	{ IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", 13 },
	{ IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT", 3 },
	{ IPPROTO_TCP, TCP_CORK, "TCP_CORK", 1 },
};
/* IP_ options on an AF_INET6 socket act on its IPv4 traffic: only IP_TOS here */
static int of_family(const struct opt *o, int fam)
{
	return fam == AF_INET ? o->level != IPPROTO_IPV6 : o->level != IPPROTO_IP || o->name == IP_TOS;
}

static void run(int fam, int accept_first)
{
	union sa a;
	socklen_t al = sa_self(&a, fam, 0);
	int l = socket(fam, SOCK_STREAM, 0), c, s;
	unsigned int i;

	say("-- family %d%s", fam, accept_first ? ", after an accept()" : "");
	NEED(l >= 0);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (of_family(&opts[i], fam) &&
		    setsockopt(l, opts[i].level, opts[i].name, &opts[i].val, sizeof(int)))
			say("set %s: %s", opts[i].n, errname(errno));
	NEED(bind(l, &a.sa, al) == 0 && listen(l, 8) == 0);
	if (accept_first)
		engine_listens(l);
	al = sa_self(&a, fam, local_port(l));
	c = peer_socket(fam);
	NEED(c >= 0 && connect(c, &a.sa, al) == 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		int v = -1, r;
		socklen_t vl = sizeof(v);

		if (!of_family(&opts[i], fam))
			continue;
		r = getsockopt(s, opts[i].level, opts[i].name, &v, &vl);
		say("accepted %s = %d%s%s", opts[i].n, v, r ? " " : "", r ? errname(errno) : "");
	}
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	for (int after = 0; after < 2; after++) {
		run(AF_INET, after);
		run(AF_INET6, after);
	}
	return 0;
}
