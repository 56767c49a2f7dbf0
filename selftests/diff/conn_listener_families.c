// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners of each family on the wildcard address, and clients of each:
 * an IPv6 listener with IPV6_V6ONLY takes IPv6 clients only (an IPv4 one
 * is refused); without it, IPv4 clients too, as ::ffff:a.b.c.d in
 * accept(), getsockname() and getpeername(); an IPv4 listener, IPv4. Data
 * both ways, the accepted socket's IPV6_V6ONLY, EOF. (Across namespaces
 * the listener is the program's and the clients the peer's: under
 * libvelo the engine listens beside the kernel from the first accept()
 * on, so each case runs twice: the client before any accept() (the
 * kernel's connection) and after a first one said EAGAIN (the engine's;
 * a dual-stack listener's engine took IPv6 clients only, and IPv4 ones
 * went to the kernel).)
 */
#include "diff.h"

static void show_addr(const char *what, const union sa *a, socklen_t l)
{
	char b[INET6_ADDRSTRLEN];
	const void *in = a->sa.sa_family == AF_INET6 ? (const void *)&a->in6.sin6_addr :
						      (const void *)&a->in.sin_addr;

	NEED(inet_ntop(a->sa.sa_family, in, b, sizeof(b)));
	say("%s: family %d, length %u, %s", what, a->sa.sa_family, l, b);
}

static void names(int fd)
{
	union sa a;
	socklen_t l = sizeof(a);

	NEED(getsockname(fd, &a.sa, &l) == 0);
	show_addr("local", &a, l);
	l = sizeof(a);
	NEED(getpeername(fd, &a.sa, &l) == 0);
	show_addr("peer", &a, l);
}

static void one(int lfam, int v6only, int cfam, int accept_first)
{
	union sa a;
	socklen_t l = lfam == AF_INET6 ? sizeof(a.in6) : sizeof(a.in);
	uint16_t port;
	int ls = socket(lfam, SOCK_STREAM, 0), c, s;
	char buf[16];

	say("-- listener family %d, v6only %d; client family %d%s", lfam, v6only, cfam,
	    accept_first ? ", after an accept()" : "");
	NEED(ls >= 0);
	if (lfam == AF_INET6)
		NEED(setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == 0);
	memset(&a, 0, sizeof(a));
	a.sa.sa_family = (sa_family_t)lfam;
	listen_at(ls, &a, l, 4, &port);
	if (accept_first)
		engine_listens(ls);
	c = peer_socket(cfam);
	NEED(c >= 0);
	l = sa_self(&a, cfam, port);
	if (connect(c, &a.sa, l)) {
		say("connect: %s", errname(errno));
		close(c);
		close(ls);
		return;
	}
	l = sizeof(a);
	s = accept(ls, &a.sa, &l);
	NEED(s >= 0);
	show_addr("accepted from", &a, l);
	names(s);
	SHOW(send(c, "hello", 5, 0));
	SHOW(recv(s, buf, sizeof(buf), 0));
	SHOW(send(s, "back", 4, 0));
	SHOW(recv(c, buf, sizeof(buf), 0));
	if (lfam == AF_INET6)
		say("accepted IPV6_V6ONLY %d", int_opt(s, IPPROTO_IPV6, IPV6_V6ONLY));
	SHOW(shutdown(s, SHUT_WR));
	SHOW(recv(c, buf, sizeof(buf), 0));
	close(c);
	close(s);
	close(ls);
}

int main(void)
{
	for (int after = 0; after < 2; after++) {
		one(AF_INET6, 1, AF_INET6, after);
		one(AF_INET6, 0, AF_INET6, after);
		one(AF_INET6, 0, AF_INET, after);
		one(AF_INET6, 1, AF_INET, after);
		one(AF_INET, 0, AF_INET, after);
	}
	return 0;
}
