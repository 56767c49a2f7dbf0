// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 977899: connect() to a local port nobody listens on must fail at once
 * with ECONNREFUSED (not time out). Blocking and non-blocking (EINPROGRESS,
 * then poll reports POLLOUT|POLLERR|POLLHUP, SO_ERROR = ECONNREFUSED once,
 * then 0), IPv4 and IPv6; the port is held bound (not listening) by another
 * socket so nobody can listen on it meanwhile. Also a port whose listener
 * was just closed.
 */
#include "diff.h"

static void one(int family)
{
	union sa a;
	socklen_t al;
	uint16_t port;
	int hold = reserve_port(family, &port), fd, err, r;
	socklen_t el = sizeof(err);
	long t0;
	struct epoll_event ev;
	int ep;

	say("-- %s", family == AF_INET ? "IPv4" : "IPv6");
	al = sa_loop(&a, family, port);
	fd = socket(family, SOCK_STREAM, 0);
	t0 = now_ms();
	SHOWL("blocking connect", connect(fd, &a.sa, al));
	say("failed within 2s: %s", YN(now_ms() - t0 < 2000));
	err = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	say("SO_ERROR after = %s", errname(err));
	say("TCP state = %s", tcp_state_name(tcp_state(fd)));
	SHOWL("second connect", connect(fd, &a.sa, al));
	close(fd);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, &a.sa, al);
	say("nonblocking connect = %d %s", r, r < 0 ? errname(errno) : "");
	r = poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 5000);
	say("poll revents = %s", pollmask(r));
	ep = epoll_create1(0);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.u64 = 7;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	memset(&ev, 0, sizeof(ev));
	SHOWL("epoll_wait", epoll_wait(ep, &ev, 1, 5000));
	say("epoll events = %s", epmask(ev.events));
	el = sizeof(err);
	err = -1;
	SHOWL("getsockopt SO_ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el));
	say("SO_ERROR = %s", errname(err));
	err = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	say("SO_ERROR again = %s", errname(err));
	memset(&ev, 0, sizeof(ev));
	SHOWL("epoll_wait after SO_ERROR read", epoll_wait(ep, &ev, 1, 0));
	say("epoll events = %s", epmask(ev.events));
	say("poll revents now = %s", pollmask(poll1(fd, POLLIN | POLLOUT | POLLRDHUP, 0)));
	{
		char b[4];

		SHOWL("recv", recv(fd, b, sizeof(b), 0));
		SHOWL("send", send(fd, b, sizeof(b), MSG_NOSIGNAL));
	}
	close(ep);
	close(fd);

	/* nonblocking: error reported by the next connect() call instead */
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, &a.sa, al);
	say("nonblocking connect = %d %s", r, r < 0 ? errname(errno) : "");
	NEED(wait_ev(fd, POLLOUT, 5000));
	SHOWL("connect again reports", connect(fd, &a.sa, al));
	SHOWL("and again", connect(fd, &a.sa, al));
	close(fd);
	close(hold);

	/* a listener that was just closed */
	{
		int l = tcp_listener_fam(family, 8, &port);

		close(l);
		fd = tcp_connect_fam(family, port);
		say("connect to just-closed listener = %d %s", fd, fd < 0 ? errname(errno) : "");
		if (fd >= 0)
			close(fd);
	}
}

int main(void)
{
	one(AF_INET);
	one(AF_INET6);
	return 0;
}
