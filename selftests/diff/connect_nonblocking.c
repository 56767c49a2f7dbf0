// SPDX-License-Identifier: GPL-2.0
/*
 * Non-blocking connect to a listening loopback port: EINPROGRESS, then
 * POLLOUT (poll, epoll, select writable), SO_ERROR 0, a second connect
 * reports EISCONN, getpeername works, data flows; IPv4 and IPv6; also
 * connect with SOCK_NONBLOCK at socket() and O_NONBLOCK via fcntl, bind
 * before connect (the chosen source port is kept), and connect to
 * 0.0.0.0 / :: (means local host on Linux).
 *
 * Across namespaces the listeners are the peer's, except for the 0.0.0.0 /
 * :: part: "this host" is the program's own namespace, so that listener is
 * its own, on loopback in either mode.
 */
#include "diff.h"

static void one(int fam, int how)
{
	int l, c, s, err = -1, r, ep;
	uint16_t port;
	union sa a;
	socklen_t al, el = sizeof(err);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
	char b[8];

	say("-- %s, %s", fam == AF_INET ? "IPv4" : "IPv6",
	    how ? "fcntl O_NONBLOCK" : "SOCK_NONBLOCK");
	l = tcp_listener_fam(fam, 8, &port);
	c = socket(fam, SOCK_STREAM | (how ? 0 : SOCK_NONBLOCK), 0);
	if (how)
		set_nonblock(c, 1);
	al = sa_loop(&a, fam, port);
	r = connect(c, &a.sa, al);
	say("connect = %d %s", r, r < 0 ? errname(errno) : "");
	NEED(wait_ev(c, POLLOUT, 5000));
	say("poll = %s", pollmask(poll1(c, POLL_ALL, 0)));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOW(epoll_wait(ep, &ev, 1, 0));
	say("epoll = %s", epmask(ev.events));
	close(ep);
	SHOW(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el));
	say("SO_ERROR = %s", errname(err));
	SHOW(connect(c, &a.sa, al));
	SHOW(connect(c, &a.sa, al));
	say("peer port == listener: %s", YN(peer_port(c) == port));
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	SHOW(send(c, "nb", 2, 0));
	NEED(wait_ev(s, POLLIN, 5000));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(recv(c, b, sizeof(b), 0));
	close(c);
	close(s);
	close(l);
}

int main(void)
{
	int l, c, s, one_ = 1;
	uint16_t port, src;
	union sa a;
	socklen_t al;

	one(AF_INET, 0);
	one(AF_INET, 1);
	one(AF_INET6, 0);
	one(AF_INET6, 1);

	/* bind to a source port (on the program's own address) first */
	l = tcp_listener(&port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	al = sa_self(&a, AF_INET, 0);
	NEED(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_)) == 0);
	SHOW(bind(c, &a.sa, al));
	src = local_port(c);
	al = sa_loop(&a, AF_INET, port);
	SHOW(connect(c, &a.sa, al));
	s = accept(l, NULL, NULL);
	say("source port kept: %s, server sees it: %s", YN(local_port(c) == src),
	    YN(peer_port(s) == src));
	close(c);
	close(s);
	close(l);

	/* 0.0.0.0 means this host: a listener of its own, on loopback */
	l = tcp_listener_lo(AF_INET, 128, &port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	a.in.sin_port = htons(port);
	SHOW(connect(c, &a.sa, sizeof(a.in)));
	s = accept(l, NULL, NULL);
	say("accepted: %s", YN(s >= 0));
	al = sizeof(a);
	getpeername(c, &a.sa, &al);
	say("peer address is 127.0.0.1: %s", YN(a.in.sin_addr.s_addr == htonl(INADDR_LOOPBACK)));
	close(c);
	close(s);
	close(l);
	/* :: on IPv6 (a loopback listener of its own, as above) */
	l = tcp_listener_lo(AF_INET6, 8, &port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	SHOW(connect(c, &a.sa, sizeof(a.in6)));
	s = accept(l, NULL, NULL);
	say("accepted: %s", YN(s >= 0));
	close(c);
	close(s);
	close(l);
	return 0;
}
