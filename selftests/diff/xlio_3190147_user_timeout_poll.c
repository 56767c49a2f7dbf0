// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3190147 (TCP_USER_TIMEOUT not supported with select/poll): the
 * option set and read back (values, EINVAL for negative), inherited by
 * accepted sockets from the listener; on a healthy connection with
 * TCP_USER_TIMEOUT 300 ms, select/poll/ppoll/pselect/epoll wait their full
 * timeout (nothing unacknowledged, so the user timeout must not fire),
 * report data when it comes, and the connection keeps working.
 * The loopback cannot lose segments, so the timeout itself (ETIMEDOUT with
 * POLLERR after unacknowledged data outlives it) is not exercised here.
 */
#include "diff.h"

static int get(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l) < 0)
		return -errno;
	return v;
}

int main(void)
{
	int fd, l, c, s, v, ep;
	uint16_t port;
	fd_set r;
	struct timeval tv;
	struct timespec ts;
	struct pollfd p;
	struct epoll_event ev = { .events = EPOLLIN };
	long t0;
	char b[8];

	fd = socket(AF_INET, SOCK_STREAM, 0);
	say("default = %d", get(fd));
	v = 300;
	SHOW(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)));
	say("now = %d", get(fd));
	v = -1;
	SHOW(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)));
	say("now = %d", get(fd));
	v = 0;
	SHOW(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)));
	say("now = %d", get(fd));
	close(fd);

	l = tcp_listener(&port);
	v = 300;
	NEED(setsockopt(l, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)) == 0);
	c = tcp_connect(port);
	s = accept(l, NULL, NULL);
	NEED(c >= 0 && s >= 0);
	say("accepted inherits = %d", get(s));
	NEED(setsockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)) == 0);

	t0 = now_ms();
	FD_ZERO(&r);
	FD_SET(c, &r);
	tv = (struct timeval){ 0, 800000 };
	SHOWL("select idle 800 ms", select(c + 1, &r, NULL, NULL, &tv));
	say("  waited the full timeout: %s", YN(now_ms() - t0 >= 750));
	t0 = now_ms();
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	SHOWL("poll idle 800 ms", poll(&p, 1, 800));
	say("  waited the full timeout: %s, revents %s", YN(now_ms() - t0 >= 750), pollmask(p.revents));
	ts = (struct timespec){ 0, 500000000 };
	SHOWL("ppoll idle 500 ms", ppoll(&p, 1, &ts, NULL));
	FD_ZERO(&r);
	FD_SET(c, &r);
	SHOWL("pselect idle 500 ms", pselect(c + 1, &r, NULL, NULL, &ts, NULL));
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	SHOWL("epoll_wait idle 500 ms", epoll_wait(ep, &ev, 1, 500));
	say("state = %s", tcp_state_name(tcp_state(c)));
	/* traffic both ways, then data wakes select and poll */
	SHOW(send(c, "ping", 4, 0));
	SHOW(recv(s, b, 4, MSG_WAITALL));
	{
		pid_t pid = fork();

		NEED(pid >= 0);
		if (pid == 0) {
			msleep(200);
			_exit(send(s, "pong", 4, 0) == 4 ? 0 : 1);
		}
		FD_ZERO(&r);
		FD_SET(c, &r);
		tv = (struct timeval){ 5, 0 };
		SHOWL("select until data", select(c + 1, &r, NULL, NULL, &tv));
		say("writer %s", status_str(wait_child(pid)));
	}
	p.revents = 0;
	SHOWL("poll with data", poll(&p, 1, 0));
	say("  revents %s", pollmask(p.revents));
	SHOW(recv(c, b, 4, 0));
	{
		int e = -1;
		socklen_t el = sizeof(e);

		getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el);
		say("SO_ERROR = %s", errname(e));
	}
	close(ep);
	close(c);
	close(s);
	close(l);
	return 0;
}
