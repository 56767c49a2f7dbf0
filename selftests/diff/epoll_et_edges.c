// SPDX-License-Identifier: GPL-2.0
/*
 * What an edge of an EPOLLET registration reports, and what makes one.
 * Data arriving is an edge, and it reports everything that is ready
 * (EPOLLIN with EPOLLOUT); the peer reading what we sent is none while our
 * send buffer never ran out of space, but space coming back after a send
 * found none is one (SOCK_NOSPACE). Data is no edge for EPOLLOUT alone;
 * shutdowns either way and a reset are; a one-shot re-armed reports what
 * is ready. A set inside another set (or polled)
 * is readable while a level-triggered member is ready, also after it was
 * reported.
 */
#include "diff.h"

static void wait_show(int ep, int ms, const char *what)
{
	struct epoll_event evs[4];
	int n = epoll_wait(ep, evs, 4, ms);

	say("%s: %d %s", what, n, n > 0 ? epmask(evs[0].events) : "");
}

static void close3(int ep, int c, int s)
{
	close(ep);
	close(c);
	close(s);
}

static int watch(int fd, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.fd = fd };
	int ep = epoll_create1(0);

	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == 0);
	return ep;
}

static void edges(void)
{
	int c, s, ep;
	char b[8];

	tcp_pair_fam(AF_INET, &c, &s);
	ep = watch(c, EPOLLIN | EPOLLOUT | EPOLLET);
	wait_show(ep, 0, "registered");
	wait_show(ep, 0, "again");
	SHOW(send(c, "abc", 3, 0));
	wait_show(ep, 100, "after our send");
	NEED(wait_ev(s, POLLIN, 1000));
	SHOW(recv(s, b, sizeof(b), 0));
	wait_show(ep, 100, "after the peer read it");
	SHOW(send(s, "x", 1, 0));
	wait_show(ep, 1000, "after the peer sent");
	wait_show(ep, 100, "again");
	SHOW(recv(c, b, sizeof(b), 0));
	wait_show(ep, 100, "after our read");
	SHOW(shutdown(s, SHUT_WR));
	wait_show(ep, 1000, "after the peer's shutdown");
	wait_show(ep, 100, "again");
	close3(ep, c, s);
}

/* EPOLLOUT alone, shutdowns both ways, a reset, a one-shot re-armed. */
static void more_edges(void)
{
	struct linger lg = { 1, 0 };
	struct epoll_event e;
	int c, s, ep;
	char b[8];
	ssize_t n;

	tcp_pair_fam(AF_INET, &c, &s);
	ep = watch(c, EPOLLOUT | EPOLLET);
	wait_show(ep, 0, "EPOLLOUT alone, registered");
	SHOW(send(s, "x", 1, 0));
	wait_show(ep, 200, "the peer sent (not wanted)");
	SHOW(shutdown(c, SHUT_WR));
	wait_show(ep, 200, "our SHUT_WR");
	SHOW(shutdown(s, SHUT_WR));
	wait_show(ep, 500, "the peer's SHUT_WR");
	close3(ep, c, s);

	tcp_pair_fam(AF_INET, &c, &s);
	ep = watch(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	wait_show(ep, 0, "registered");
	NEED(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	SHOW(close(s));
	wait_show(ep, 500, "the peer's reset");
	wait_show(ep, 100, "again");
	n = recv(c, b, sizeof(b), 0);
	say("recv: %zd %s", n, n < 0 ? errname(errno) : "");
	wait_show(ep, 100, "after the recv");
	close(ep);
	close(c);

	tcp_pair_fam(AF_INET, &c, &s);
	ep = watch(c, EPOLLIN | EPOLLET | EPOLLONESHOT);
	SHOW(send(s, "a", 1, 0));
	wait_show(ep, 500, "one-shot");
	SHOW(send(s, "b", 1, 0));
	wait_show(ep, 200, "one-shot, disarmed");
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLET | EPOLLONESHOT, .data.fd = c };
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, c, &e));
	wait_show(ep, 500, "re-armed");
	wait_show(ep, 100, "again");
	close3(ep, c, s);
}

static void space_back(void)
{
	struct epoll_event ev;
	int c, s, ep, i, n = 0;

	tcp_pair_fam(AF_INET, &c, &s);
	set_nonblock(c, 1);
	ep = watch(c, EPOLLOUT | EPOLLET);
	wait_show(ep, 0, "registered");
	fill_send(c);
	say("send when full: %s", send(c, "z", 1, MSG_DONTWAIT) < 0 ? errname(errno) : "sent");
	wait_show(ep, 100, "full");
	/* how much the peer must read first depends on buffer sizes: not shown */
	for (i = 0; i < 100 && !n; i++) {
		drain_recv(s);
		n = epoll_wait(ep, &ev, 1, 100);
	}
	say("as the peer reads: %d %s", n, n > 0 ? epmask(ev.events) : "");
	wait_show(ep, 100, "again");
	close3(ep, c, s);
}

static void nested(uint32_t inner_events, const char *what)
{
	int c, s, ep, outer;
	struct pollfd p;

	say("nested, member %s", what);
	tcp_pair_fam(AF_INET, &c, &s);
	ep = watch(s, inner_events);
	SHOW(send(c, "x", 1, 0));
	wait_show(ep, 1000, "inner");
	outer = watch(ep, EPOLLIN);
	wait_show(outer, 100, "outer");
	wait_show(ep, 100, "inner again");
	p = (struct pollfd){ .fd = ep, .events = POLLIN };
	SHOW(poll(&p, 1, 100));
	SHOW(send(c, "y", 1, 0));
	wait_show(outer, 1000, "outer after more data");
	close(outer);
	close3(ep, c, s);
}

int main(void)
{
	edges();
	more_edges();
	space_back();
	nested(EPOLLIN, "level-triggered");
	nested(EPOLLIN | EPOLLET, "edge-triggered");
	return 0;
}
