// SPDX-License-Identifier: GPL-2.0
/*
 * A socket whose send side filled up is writable again (POLLOUT, a poll or
 * epoll_wait sleeping for it woken, an EPOLLET edge) only once a good part
 * of its buffer is free, as sk_stream_is_writeable() (a third of it): the
 * peer reading a byte, or a hundred, wakes nobody. Reading everything does.
 */
#include "diff.h"
#include <stdatomic.h>

static struct {
	pthread_t t;
	int fd, ep;
	atomic_int polled, waited;
} sleeper;

static void *poll_sleeper(void *arg)
{
	struct pollfd p = { .fd = sleeper.fd, .events = POLLOUT };

	(void)arg;
	atomic_store(&sleeper.polled, poll(&p, 1, 5000) == 1 ? p.revents : -1);
	return NULL;
}

static void *epoll_sleeper(void *arg)
{
	struct epoll_event e;

	(void)arg;
	atomic_store(&sleeper.waited, epoll_wait(sleeper.ep, &e, 1, 5000) == 1 ? (int)e.events : -1);
	return NULL;
}

/* Read until nothing more comes: the kernel refills what reads make room for. */
static void read_all(int fd)
{
	while (drain_recv(fd))
		msleep(50);
}

static void read_some(int fd, size_t n)
{
	static char b[128];

	NEED(read_full(fd, b, n) == (ssize_t)n);
	msleep(100);
}

static void state(const char *what, int c, int et)
{
	struct epoll_event e;
	int n = epoll_wait(et, &e, 1, 0);

	say("%s: poll %s, sleepers %s/%s, EPOLLET %d %s", what,
	    pollmask(poll1(c, POLLOUT, 0) > 0 ? POLLOUT : 0),
	    atomic_load(&sleeper.polled) ? pollmask((short)atomic_load(&sleeper.polled)) : "asleep",
	    atomic_load(&sleeper.waited) ? epmask((uint32_t)atomic_load(&sleeper.waited)) : "asleep",
	    n, n > 0 ? epmask(e.events) : "");
}

static void run(int family)
{
	struct epoll_event lt = { .events = EPOLLOUT }, edge = { .events = EPOLLOUT | EPOLLET };
	pthread_t pt, et;
	int c, s, ep = epoll_create1(0);

	say("%s", family == AF_INET ? "IPv4" : "IPv6");
	tcp_pair_fam(family, &c, &s);
	fill_send(c);
	NEED(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &edge) == 0);
	sleeper.fd = c;
	sleeper.ep = epoll_create1(0);
	NEED(sleeper.ep >= 0 && epoll_ctl(sleeper.ep, EPOLL_CTL_ADD, c, &lt) == 0);
	atomic_store(&sleeper.polled, 0);
	atomic_store(&sleeper.waited, 0);
	NEED(pthread_create(&pt, NULL, poll_sleeper, NULL) == 0);
	NEED(pthread_create(&et, NULL, epoll_sleeper, NULL) == 0);
	msleep(50);
	state("filled", c, ep);
	read_some(s, 1);
	state("the peer read 1 byte", c, ep);
	read_some(s, 100);
	state("the peer read 100 more", c, ep);
	read_all(s);
	pthread_join(pt, NULL);
	pthread_join(et, NULL);
	state("the peer read everything", c, ep);
	SHOW(send(c, "x", 1, 0));
	state("we sent a byte", c, ep);
	close(sleeper.ep);
	close(ep);
	close(c);
	close(s);
}

int main(void)
{
	run(AF_INET);
	run(AF_INET6);
	return 0;
}
