// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_NOTSENT_LOWAT: with bytes the peer's window does not take yet, a
 * writer is not writable (poll, epoll) once twice the unsent bytes reach
 * the mark, and a non-blocking send stops (EAGAIN) long before the send
 * buffer is full; the peer reading the data makes it writable again (an
 * edge-triggered EPOLLOUT arrives). Read back, 0 (the sysctl's value), and
 * raising the mark makes the socket writable at once.
 */
#include "diff.h"
#include <linux/sockios.h>

#define LOWAT 16384

static int notsent(int fd)
{
	int v = -1;

	NEED(ioctl(fd, SIOCOUTQNSD, &v) == 0);
	return v;
}

static void set_lowat(int fd, int v)
{
	say("TCP_NOTSENT_LOWAT %d = %s", v,
	    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)) ? errname(errno) : "0");
}

static long fill(int fd)
{
	static char buf[4096];
	long total = 0;
	ssize_t n;

	while ((n = send(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += n;
	NEED(n < 0 && errno == EAGAIN);
	return total;
}

static long drain(int fd, long want)
{
	static char buf[65536];
	long got = 0;
	ssize_t n;

	while (got < want && wait_ev(fd, POLLIN, 5000) && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += n;
	return got;
}

int main(void)
{
	int l, c, s, ep, v, small = 8192, big = 1 << 20;
	socklen_t vl = sizeof(v);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	uint16_t port;
	long sent;

	l = tcp_listener(&port);
	NEED(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)) == 0);
	{
		union sa a;
		socklen_t al = sa_loop(&a, AF_INET, port);

		NEED(connect(c, &a.sa, al) == 0);
	}
	s = accept(l, NULL, NULL);
	NEED(s >= 0);

	NEED(getsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &vl) == 0);
	say("default %d", v);
	set_lowat(c, LOWAT);
	NEED(getsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &vl) == 0);
	say("read back %d", v);

	sent = fill(c);
	msleep(100); /* what the window takes has gone */
	sent += fill(c);
	say("stopped long before the send buffer filled: %s", YN(sent < 512 * 1024));
	say("unsent >= the mark: %s", YN(notsent(c) >= LOWAT));
	say("poll: %s", pollmask(poll1(c, POLLOUT, 0)));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	say("epoll: %d", epoll_wait(ep, &ev, 1, 0));

	set_lowat(c, 1 << 30);
	say("mark raised, poll: %s", pollmask(poll1(c, POLLOUT, 0)));
	v = epoll_wait(ep, &ev, 1, 1000);
	say("epoll: %d %s", v, epmask(v > 0 ? ev.events : 0));
	set_lowat(c, LOWAT);
	say("mark back, poll: %s", pollmask(poll1(c, POLLOUT, 0)));
	sent += fill(c);

	say("peer read all: %s", YN(drain(s, sent) == sent));
	v = epoll_wait(ep, &ev, 1, 5000);
	say("epoll after the peer read: %d %s", v, epmask(ev.events));
	say("unsent %d", notsent(c));
	say("poll: %s", pollmask(poll1(c, POLLOUT, 0)));

	set_lowat(c, 0);
	NEED(getsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &vl) == 0);
	say("read back %d", v);
	set_lowat(c, -1);
	NEED(getsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &vl) == 0);
	say("read back %d", v);
	close(ep);
	close(c);
	close(s);
	close(l);
	return 0;
}
