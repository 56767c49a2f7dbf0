// SPDX-License-Identifier: GPL-2.0
/*
 * The readiness of a TCP socket in each state, as poll (all events
 * requested), epoll (all events) and select (read/write/except) report it:
 * fresh, bound, listening idle / with a pending connection, connecting to
 * a full backlog, connected idle / with data / with a full send buffer,
 * after the peer's SHUT_WR, after our SHUT_WR, both, after RST, after a
 * refused connect, after our SHUT_RD, IPv6 the same.
 */
#include "diff.h"

static void show_state(const char *what, int fd)
{
	int ep = epoll_create1(0), n;
	struct epoll_event ev = { .events = EPOLL_ALL };
	fd_set r, w, e;
	struct timeval tv = { 0, 0 };

	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	ev.events = 0;
	n = epoll_wait(ep, &ev, 1, 0);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(fd, &r);
	FD_SET(fd, &w);
	FD_SET(fd, &e);
	NEED(select(fd + 1, &r, &w, &e, &tv) >= 0);
	say("%-28s poll=%s", what, pollmask(poll1(fd, POLL_ALL, 0)));
	say("%-28s epoll=%s", "", n ? epmask(ev.events) : "(none)");
	say("%-28s select r=%d w=%d e=%d", "", FD_ISSET(fd, &r), FD_ISSET(fd, &w),
	    FD_ISSET(fd, &e));
	close(ep);
}

static void all(int fam)
{
	int fd, l, c, s, c2, sz = 8192;
	uint16_t port;
	union sa a;
	socklen_t al;
	struct linger lg = { 1, 0 };

	say("===== %s", fam == AF_INET ? "IPv4" : "IPv6");
	fd = socket(fam, SOCK_STREAM, 0);
	show_state("fresh", fd);
	al = sa_self(&a, fam, 0); /* bound to its own address */
	NEED(bind(fd, &a.sa, al) == 0);
	show_state("bound", fd);
	close(fd);

	l = tcp_listener_fam(fam, 0, &port);
	show_state("listening, idle", l);
	c = tcp_connect_fam(fam, port);
	NEED(c >= 0 && wait_ev(l, POLLIN, 5000));
	show_state("listening, 1 pending", l);
	/* backlog 0 holds one; the next connect stays in SYN_SENT */
	c2 = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
	al = sa_loop(&a, fam, port);
	NEED(connect(c2, &a.sa, al) < 0 && errno == EINPROGRESS);
	show_state("connecting (SYN dropped)", c2);
	close(c2);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	show_state("listening, after accept", l);
	close(l);

	show_state("connected idle", c);
	NEED(send(s, "data", 4, 0) == 4);
	NEED(wait_ev(c, POLLIN, 5000));
	show_state("connected with data", c);
	{
		char b[8];

		NEED(recv(c, b, sizeof(b), 0) == 4);
	}
	NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	NEED(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	set_nonblock(c, 1);
	{
		static char junk[1 << 16];

		while (send(c, junk, sizeof(junk), 0) > 0)
			;
	}
	show_state("send buffer full", c);
	close(c);
	close(s);

	tcp_pair_fam(fam, &c, &s);
	NEED(shutdown(s, SHUT_WR) == 0);
	NEED(wait_ev(c, POLLRDHUP, 5000));
	show_state("after peer SHUT_WR", c);
	NEED(wait_state(s, TCP_FIN_WAIT2, 5000));
	show_state("after own SHUT_WR (peer)", s);
	NEED(shutdown(c, SHUT_WR) == 0);
	NEED(wait_state(c, TCP_CLOSE, 5000));
	NEED(wait_ev(s, POLLRDHUP, 5000));
	show_state("both SHUT_WR (last acker)", c);
	show_state("both SHUT_WR (first closer)", s);
	close(c);
	close(s);

	tcp_pair_fam(fam, &c, &s);
	NEED(shutdown(c, SHUT_RD) == 0);
	show_state("after own SHUT_RD", c);
	close(c);
	close(s);

	tcp_pair_fam(fam, &c, &s);
	NEED(shutdown(c, SHUT_RDWR) == 0);
	NEED(wait_state(c, TCP_FIN_WAIT2, 5000));
	show_state("after own SHUT_RDWR", c);
	close(c);
	close(s);

	tcp_pair_fam(fam, &c, &s);
	NEED(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	close(s);
	NEED(wait_ev(c, POLLERR, 5000));
	show_state("after peer RST", c);
	close(c);

	tcp_pair_fam(fam, &c, &s);
	close(s);
	NEED(wait_ev(c, POLLRDHUP, 5000));
	show_state("after peer close", c);
	close(c);

	{
		int hold = reserve_port(fam, &port);

		c = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
		al = sa_loop(&a, fam, port);
		connect(c, &a.sa, al);
		NEED(wait_ev(c, POLLERR, 5000));
		show_state("connect refused", c);
		close(c);
		close(hold);
	}
}

int main(void)
{
	all(AF_INET);
	all(AF_INET6);
	return 0;
}
