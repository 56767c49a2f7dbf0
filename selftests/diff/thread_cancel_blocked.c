// SPDX-License-Identifier: GPL-2.0
/*
 * pthread_cancel() of a thread blocked in a socket call (recv, read,
 * recv(MSG_WAITALL), poll, select, epoll_wait, accept, a send on a full
 * socket): the thread ends at the cancellation point, and the socket goes
 * on as before: data still arrives, readiness is still reported, EOF is
 * still seen. Under libvelo a canceled reader and poller used to leave
 * their sleeper counts on the loopback channel, and a later read of the
 * socket hung.
 */
#include <linux/sockios.h>

#include "diff.h"

static int target;

static void *in_recv(void *a)
{
	char b[16];

	(void)a;
	recv(target, b, sizeof(b), 0);
	return NULL;
}

static void *in_read(void *a)
{
	char b[16];

	(void)a;
	read(target, b, sizeof(b));
	return NULL;
}

static void *in_waitall(void *a)
{
	char b[64];

	(void)a;
	recv(target, b, sizeof(b), MSG_WAITALL);
	return NULL;
}

static void *in_poll(void *a)
{
	struct pollfd p = { target, POLLIN, 0 };

	(void)a;
	poll(&p, 1, -1);
	return NULL;
}

static void *in_select(void *a)
{
	fd_set r;

	(void)a;
	FD_ZERO(&r);
	FD_SET(target, &r);
	select(target + 1, &r, NULL, NULL, NULL);
	return NULL;
}

static void *in_epoll_wait(void *a)
{
	struct epoll_event e;

	(void)a;
	epoll_wait(target, &e, 1, -1);
	return NULL;
}

static void *in_accept(void *a)
{
	(void)a;
	accept(target, NULL, NULL);
	return NULL;
}

static void *in_send(void *a)
{
	static char b[1 << 20];

	(void)a;
	for (;;)
		send(target, b, sizeof(b), 0);
	return NULL;
}

/* Runs fn on @fd in a thread, cancels it once it is blocked, joins it. */
static void cancel_blocked(const char *what, void *(*fn)(void *), int fd)
{
	pthread_t t;
	void *res;

	target = fd;
	NEED(pthread_create(&t, NULL, fn, NULL) == 0);
	msleep(100);
	NEED(pthread_cancel(t) == 0);
	NEED(pthread_join(t, &res) == 0);
	say("%s: %s", what, res == PTHREAD_CANCELED ? "canceled" : "returned");
}

static void exchange(int c, int s)
{
	char b[64];
	ssize_t r;

	SHOW(write(c, "data", 4));
	SHOW(poll1(s, POLLIN, 2000));
	r = read(s, b, sizeof(b));
	say("read %zd", r);
}

/*
 * What the canceled writer on @c queued goes on to @s: read it all (until
 * @c has nothing unacknowledged), then @s is empty.
 */
static void drain_left(int c, int s)
{
	static char b[1 << 16];
	long deadline = now_ms() + 10000;
	size_t got = 0;
	int outq = 1;
	ssize_t r;

	set_nonblock(s, 1);
	while (now_ms() < deadline) {
		while ((r = read(s, b, sizeof(b))) > 0)
			got += (size_t)r;
		if (!outq)
			break;
		NEED(ioctl(c, SIOCOUTQ, &outq) == 0);
		if (outq)
			msleep(5);
	}
	set_nonblock(s, 0);
	say("the canceled writer's data: %s, all: %s", got ? "read" : "none", YN(!outq));
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int c, s, ep, l, a, acc, round;
	uint16_t port;
	char b[64];

	tcp_pair(&c, &s);
	exchange(c, s);
	for (round = 0; round < 2; round++) {
		cancel_blocked("recv", in_recv, s);
		exchange(c, s);
		cancel_blocked("read", in_read, s);
		cancel_blocked("poll", in_poll, s);
		exchange(c, s);
		cancel_blocked("recv(MSG_WAITALL)", in_waitall, s);
		exchange(c, s);
		cancel_blocked("select", in_select, s);
		exchange(c, s);
	}
	ep = epoll_create1(0);
	ev.data.fd = s;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	cancel_blocked("epoll_wait", in_epoll_wait, ep);
	SHOW(write(c, "x", 1));
	SHOW(epoll_wait(ep, &ev, 1, 2000));
	SHOW(read(s, b, sizeof(b)));
	cancel_blocked("send on a full socket", in_send, c);
	drain_left(c, s);
	exchange(c, s);

	l = tcp_listener(&port);
	cancel_blocked("accept", in_accept, l);
	a = tcp_connect(port);
	NEED(a >= 0);
	acc = accept(l, NULL, NULL);
	say("accept after: %s", acc >= 0 ? "fd" : errname(errno));
	close(acc);
	close(a);
	close(l);

	cancel_blocked("recv before EOF", in_recv, s);
	SHOW(close(c));
	SHOW(read(s, b, sizeof(b)));
	SHOW(poll1(s, POLLIN | POLLRDHUP, 1000));
	close(s);
	close(ep);
	return 0;
}
