// SPDX-License-Identifier: GPL-2.0
/*
 * A socket closed by another thread while poll() or epoll_wait() waits on
 * it, then its peer writes: poll() wakes and reports POLLNVAL alone (the
 * fd names nothing now), and epoll_wait() sees nothing (the close removed
 * the registration). Under libvelo poll() added the ring's POLLIN to
 * POLLNVAL.
 */
#include "diff.h"

static int target, kind, result;
static short revents;

static void *waiter(void *arg)
{
	struct pollfd p = { target, POLLIN, 0 };
	struct epoll_event ev;

	(void)arg;
	switch (kind) {
	case 0:
		result = poll(&p, 1, 2000);
		revents = p.revents;
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

	tcp_pair(&c, &s);
	closed_under(0, s, c, s);
	say("poll: %d %s", result, pollmask(revents));
	close(c);

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	ev.data.fd = s;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	closed_under(1, ep, c, s);
	say("epoll_wait: %d", result);
	close(ep);
	close(c);
	return 0;
}
