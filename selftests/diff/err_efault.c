// SPDX-License-Identifier: GPL-2.0
/*
 * EFAULT for bad user pointers where Linux reports it: send/recv/read/
 * write/sendmsg/recvmsg buffers, connect/bind addresses, getsockopt/
 * setsockopt values, getsockname length pointers, poll and epoll arrays.
 * A recv into a bad buffer with data queued fails without consuming it.
 */
#include "diff.h"

int main(void)
{
	int c, s, fd, ep;
	void *volatile bad = (void *)8;
	char b[16];
	socklen_t l = 4;
	struct epoll_event ev = { .events = EPOLLIN };

	signal(SIGPIPE, SIG_IGN);
	tcp_pair(&c, &s);
	SHOWL("send(bad)", send(c, bad, 10, 0));
	SHOWL("write(bad)", write(c, bad, 10));
	SHOW(send(s, "data", 4, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	msleep(10);
	SHOWL("recv(bad)", recv(c, bad, 10, 0));
	SHOWL("read(bad)", read(c, bad, 10));
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("data still there: \"%s\"", b);
	SHOWL("recv(bad) nothing queued, MSG_DONTWAIT", recv(c, bad, 10, MSG_DONTWAIT));
	SHOWL("sendmsg(bad msghdr)", sendmsg(c, bad, 0));
	SHOWL("recvmsg(bad msghdr)", recvmsg(c, bad, MSG_DONTWAIT));
	SHOWL("getsockopt(bad value)", getsockopt(c, SOL_SOCKET, SO_TYPE, bad, &l));
	SHOWL("getsockopt(bad len)", getsockopt(c, SOL_SOCKET, SO_TYPE, b, bad));
	SHOWL("setsockopt(bad value)", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, bad, 4));
	SHOWL("setsockopt(TCP, bad value)", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, bad, 4));
	SHOWL("getsockname(bad addr)", getsockname(c, bad, &l));
	SHOWL("getpeername(bad len)", getpeername(c, (struct sockaddr *)b, bad));
	SHOWL("ioctl FIONREAD bad", ioctl(c, FIONREAD, bad));
	SHOWL("poll(bad)", poll(bad, 1, 0));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOWL("epoll_ctl(bad event)", epoll_ctl(ep, EPOLL_CTL_MOD, c, bad));
	SHOW(send(s, "x", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	SHOWL("epoll_wait(bad events)", epoll_wait(ep, bad, 1, 0));
	close(ep);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOWL("connect(bad addr)", connect(fd, bad, sizeof(struct sockaddr_in)));
	SHOWL("bind(bad addr)", bind(fd, bad, sizeof(struct sockaddr_in)));
	SHOWL("accept(bad addr) on non-listener", accept(fd, bad, &l));
	close(fd);
	close(c);
	close(s);
	return 0;
}
