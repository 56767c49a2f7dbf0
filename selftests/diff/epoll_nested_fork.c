// SPDX-License-Identifier: GPL-2.0
/*
 * Nested epoll (an epoll fd registered in another epoll fd, readable when
 * the inner one has events, also edge-triggered) and an epoll fd shared
 * across fork (registrations made in the child are seen by the parent and
 * the other way round; a child's close of its copies does not remove the
 * parent's registrations).
 */
#include "diff.h"

static const char *ev1(int ep, int timeout)
{
	struct epoll_event ev;
	static char b[4][96];
	static int slot;
	char *p = b[slot++ & 3];
	int n = epoll_wait(ep, &ev, 1, timeout);

	if (n <= 0)
		snprintf(p, 96, "n=%d", n);
	else
		snprintf(p, 96, "n=1 [%llu:%s]", (unsigned long long)ev.data.u64, epmask(ev.events));
	return p;
}

int main(void)
{
	int c, s, inner, outer, ep, c2, s2, sync[2], back[2];
	struct epoll_event ev;
	char b[8], t;
	pid_t pid;

	tcp_pair(&c, &s);
	inner = epoll_create1(0);
	outer = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.u64 = 10;
	NEED(epoll_ctl(inner, EPOLL_CTL_ADD, c, &ev) == 0);
	ev.data.u64 = 20;
	SHOW(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
	say("outer idle: %s", ev1(outer, 0));
	say("poll inner idle = %s", pollmask(poll1(inner, POLLIN | POLLOUT, 0)));
	SHOW(send(s, "n", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	say("outer: %s", ev1(outer, 1000));
	say("poll inner = %s", pollmask(poll1(inner, POLLIN | POLLOUT, 0)));
	say("inner: %s", ev1(inner, 0));
	SHOW(recv(c, b, sizeof(b), 0));
	say("outer after drain: %s", ev1(outer, 0));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 21;
	SHOW(epoll_ctl(outer, EPOLL_CTL_MOD, inner, &ev));
	SHOW(send(s, "m", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	say("outer ET: %s", ev1(outer, 1000));
	say("outer ET again: %s", ev1(outer, 0));
	SHOW(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev)); /* loop: ELOOP */
	SHOW(recv(c, b, sizeof(b), 0));
	close(outer);
	close(inner);

	/* an epoll fd shared across fork */
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.u64 = 1;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	tcp_pair(&c2, &s2);
	NEED(pipe(sync) == 0 && pipe(back) == 0);
	pid = fork();
	NEED(pid >= 0);
	if (pid == 0) {
		int ok = 1;
		struct epoll_event e2 = { .events = EPOLLIN, .data.u64 = 2 };

		/* child: add c2 to the shared set, see c's event, then close all */
		ok &= epoll_ctl(ep, EPOLL_CTL_ADD, c2, &e2) == 0;
		ok &= write(back[1], "a", 1) == 1;
		ok &= read(sync[0], &t, 1) == 1; /* the parent saw the event */
		close(c);
		close(c2);
		close(ep);
		_exit(ok ? 0 : 1);
	}
	NEED(read(back[0], &t, 1) == 1);
	SHOW(send(s2, "c", 1, 0));
	NEED(wait_ev(c2, POLLIN, 5000));
	say("parent sees child's registration: %s", ev1(ep, 1000));
	NEED(write(sync[1], "b", 1) == 1);
	say("child %s", status_str(wait_child(pid)));
	say("after child closed its copies: %s", ev1(ep, 0));
	SHOW(send(s, "d", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	{
		struct epoll_event e[4];
		int n = epoll_wait(ep, e, 4, 0), i, seen1 = 0, seen2 = 0;

		for (i = 0; i < n; i++) {
			seen1 |= e[i].data.u64 == 1;
			seen2 |= e[i].data.u64 == 2;
		}
		say("both registrations report: n=%d tag1=%d tag2=%d", n, seen1, seen2);
	}
	close(ep);
	close(c);
	close(s);
	close(c2);
	close(s2);
	return 0;
}
