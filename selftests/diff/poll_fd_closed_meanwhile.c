// SPDX-License-Identifier: GPL-2.0
/*
 * A socket closed by another thread while poll(), select() or epoll_wait()
 * waits on it, then its peer writes: poll() wakes and reports POLLNVAL
 * alone (the fd names nothing now), select() counts the fd as ready (the
 * kernel takes an fd closed during the call as readable and writable;
 * closed before, it is EBADF), and epoll_wait() sees nothing (the close
 * removed the registration). Under libvelo poll() added the ring's POLLIN
 * to POLLNVAL, and select() said EBADF.
 */
#include "diff.h"

static int target, kind, result, in_read_set, in_write_set;
static short revents;

static void *waiter(void *arg)
{
	struct pollfd p = { target, POLLIN, 0 };
	struct timeval tv = { 2, 0 };
	struct epoll_event ev;
	fd_set r, w;

	(void)arg;
	switch (kind) {
	case 0:
		result = poll(&p, 1, 2000);
		revents = p.revents;
		break;
	case 1:
		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(target, &r);
		result = select(target + 1, &r, &w, NULL, &tv);
		in_read_set = FD_ISSET(target, &r);
		in_write_set = FD_ISSET(target, &w);
		break;
	default:
		result = epoll_wait(target, &ev, 1, 500);
		break;
	}
	return NULL;
}

/* The waiter of @k starts on @fd; @s is closed under it; its peer @c writes. */
static void closed_under(int k, int fd, int c, int s)
{
	pthread_t t;

	kind = k;
	target = fd;
	NEED(pthread_create(&t, NULL, waiter, NULL) == 0);
	msleep(100);
	SHOW(close(s));
	msleep(50);
	SHOW(send(c, "x", 1, MSG_NOSIGNAL));
	NEED(pthread_join(t, NULL) == 0);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int c, s, ep;
	fd_set r;

	tcp_pair(&c, &s);
	closed_under(0, s, c, s);
	say("poll: %d %s", result, pollmask(revents));
	close(c);

	tcp_pair(&c, &s);
	closed_under(1, s, c, s);
	say("select: %d, readable: %s, writable: %s", result, YN(in_read_set), YN(in_write_set));
	FD_ZERO(&r);
	FD_SET(s, &r);
	SHOW(select(s + 1, &r, NULL, NULL, NULL));
	close(c);

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	ev.data.fd = s;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	closed_under(2, ep, c, s);
	say("epoll_wait: %d", result);
	close(ep);
	close(c);
	return 0;
}
