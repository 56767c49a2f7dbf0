// SPDX-License-Identifier: GPL-2.0
/*
 * The HAProxy fd-generation case with a thread blocked in epoll_wait: while
 * it waits, the main thread closes a registered socket X, puts a new,
 * unregistered socket Y on the same fd number (dup2) and makes both X's old
 * peer and Y readable. The waiting thread must not wake (X's registration
 * went with its close, Y was never added); it wakes only when a registered
 * socket Z becomes readable, and then reports Z alone, with Z's tag. Then
 * Y is added under the reused number and reports with its own tag.
 */
#include "diff.h"

static int ep, done[2];
static volatile int waiting;
static struct epoll_event got[8];
static int ngot;

static void *waiter(void *arg)
{
	(void)arg;
	waiting = 1;
	ngot = epoll_wait(ep, got, 8, 10000);
	NEED(write(done[1], "w", 1) == 1);
	return NULL;
}

static void show_events(const char *what, int n, struct epoll_event *e)
{
	char line[256] = "";
	int i;

	for (i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " [tag%llu:%s]",
			 (unsigned long long)e[i].data.u64, epmask(e[i].events));
	say("%s: n=%d%s", what, n, line);
}

int main(void)
{
	int xc, xs, yc, ys, zc, zs, xno;
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t t;
	char b[8];

	tcp_pair(&xc, &xs);
	tcp_pair(&zc, &zs);
	tcp_pair(&yc, &ys);
	ep = epoll_create1(0);
	NEED(pipe(done) == 0);
	ev.data.u64 = 1;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, xc, &ev) == 0);
	ev.data.u64 = 3;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, zc, &ev) == 0);
	NEED(pthread_create(&t, NULL, waiter, NULL) == 0);
	while (!waiting)
		msleep(1);
	msleep(300);
	xno = xc;
	SHOWL("close registered X", close(xc));
	SHOWL("dup2 new socket Y onto X's number", dup2(yc, xno) == xno);
	close(yc);
	SHOWL("old peer of X sends", send(xs, "x", 1, MSG_NOSIGNAL));
	SHOWL("peer of Y sends", send(ys, "y", 1, 0));
	NEED(wait_ev(xno, POLLIN, 5000));
	say("waiter still blocked 300 ms later: %s", YN(!wait_ev(done[0], POLLIN, 300)));
	SHOWL("peer of registered Z sends", send(zs, "z", 1, 0));
	say("waiter woke: %s", YN(wait_ev(done[0], POLLIN, 5000)));
	pthread_join(t, NULL);
	show_events("waiter got", ngot, got);
	/* Y under the reused number: added now, reports with its own tag */
	ev.data.u64 = 2;
	SHOWL("ADD Y under the reused number", epoll_ctl(ep, EPOLL_CTL_ADD, xno, &ev));
	SHOW(recv(zc, b, sizeof(b), 0));
	{
		struct epoll_event e[8];
		int n = epoll_wait(ep, e, 8, 1000);

		show_events("after ADD", n, e);
	}
	SHOW(recv(xno, b, sizeof(b), 0));
	close(xno);
	close(xs);
	close(ys);
	close(zc);
	close(zs);
	close(ep);
	return 0;
}
