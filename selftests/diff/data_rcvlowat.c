// SPDX-License-Identifier: GPL-2.0
/*
 * SO_RCVLOWAT on TCP: with lowat 10 and 5 bytes queued, poll/epoll/select
 * do not report readable and a blocking recv waits; once 10 bytes are
 * there the socket is readable; a recv with a buffer smaller than lowat
 * returns what it can; EOF makes it readable regardless. Values read back.
 */
#include "diff.h"

static int g_s;

static void *late(void *arg)
{
	(void)arg;
	msleep(200);
	NEED(send(g_s, "67890", 5, 0) == 5);
	return NULL;
}

static void state(int c, const char *what)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	fd_set r;
	struct timeval tv = { 0, 0 };

	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	FD_ZERO(&r);
	FD_SET(c, &r);
	say("%s: poll=%s epoll=%d select=%d", what, pollmask(poll1(c, POLLIN, 0)),
	    epoll_wait(ep, &ev, 1, 0), select(c + 1, &r, NULL, NULL, &tv));
	close(ep);
}

int main(void)
{
	int c, s, v = 10, q = 0;
	socklen_t l = sizeof(v);
	char b[64];
	pthread_t t;
	long t0;

	tcp_pair(&c, &s);
	g_s = s;
	v = -1;
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	say("default SO_RCVLOWAT = %d", v);
	v = 10;
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	v = 0;
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	say("SO_RCVLOWAT = %d", v);
	SHOW(send(s, "12345", 5, 0));
	{
		long end = now_ms() + 5000;

		while (ioctl(c, FIONREAD, &q) == 0 && q < 5 && now_ms() < end)
			msleep(2);
	}
	msleep(50);
	state(c, "5 of 10 queued");
	NEED(pthread_create(&t, NULL, late, NULL) == 0);
	/*
	 * (A blocking recv here may sleep forever on Linux when the late bytes
	 * are coalesced into the queued skb: sk_wait_data wakes on a new tail
	 * skb only. So wait with poll, which Linux does wake.)
	 */
	t0 = now_ms();
	say("poll POLLIN once 10 queued: %s", pollmask(poll1(c, POLLIN, 5000)));
	say("poll waited for the lowat: %s", YN(now_ms() - t0 >= 150));
	pthread_join(t, NULL);
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), 0));
	say("got \"%s\"", b);
	SHOW(send(s, "abcdefghijkl", 12, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	state(c, "12 of 10 queued");
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, 4, 0));
	say("got \"%s\"", b);
	state(c, "8 of 10 queued");
	memset(b, 0, sizeof(b));
	SHOW(recv(c, b, sizeof(b), MSG_DONTWAIT));
	say("got \"%s\"", b);
	SHOW(send(s, "xy", 2, 0));
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	state(c, "2 queued + EOF");
	SHOW(recv(c, b, sizeof(b), 0));
	SHOW(recv(c, b, sizeof(b), 0));
	v = 0;
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	say("SO_RCVLOWAT after 0 = %d", v);
	v = -5;
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	say("SO_RCVLOWAT after -5 = %d", v);
	close(c);
	close(s);
	return 0;
}
