// SPDX-License-Identifier: GPL-2.0
/*
 * epoll triggering: level-triggered reports a readable socket on every
 * wait until drained; EPOLLET reports once per new arrival (not again
 * while unread; again when more data comes, even if the old is unread);
 * EPOLLOUT with EPOLLET; EPOLLONESHOT fires once then stays silent until
 * re-armed with EPOLL_CTL_MOD; EPOLLEXCLUSIVE add; CTL errors (EEXIST,
 * ENOENT, EINVAL).
 */
#include "diff.h"

static int ep;

static void wait_show(const char *what)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0), i;
	char line[256] = "";

	for (i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " [%llu:%s]",
			 (unsigned long long)ev[i].data.u64, epmask(ev[i].events));
	say("%s: n=%d%s", what, n, line);
}

/* send and wait until it is queued on the peer */
static void push(int from, int to, const char *d)
{
	int q0 = 0, q = 0;
	long end = now_ms() + 5000;

	ioctl(to, FIONREAD, &q0);
	NEED(send(from, d, strlen(d), 0) == (ssize_t)strlen(d));
	while (ioctl(to, FIONREAD, &q) == 0 && q < q0 + (int)strlen(d) && now_ms() < end)
		msleep(2);
}

int main(void)
{
	int c, s;
	char b[64];
	struct epoll_event ev;

	tcp_pair(&c, &s);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u64 = 1;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	wait_show("LT idle");
	push(s, c, "abc");
	wait_show("LT data");
	wait_show("LT data again");
	SHOW(recv(c, b, 1, 0));
	wait_show("LT partly read");
	SHOW(recv(c, b, sizeof(b), 0));
	wait_show("LT drained");

	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 2;
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev));
	wait_show("ET idle");
	push(s, c, "abc");
	wait_show("ET data");
	wait_show("ET data again (not reported)");
	SHOW(recv(c, b, 1, 0));
	wait_show("ET after partial read (not reported)");
	push(s, c, "def");
	wait_show("ET more data arrives");
	wait_show("ET again");
	SHOW(recv(c, b, sizeof(b), 0));
	wait_show("ET drained");
	SHOW(shutdown(s, SHUT_WR));
	NEED(wait_ev(c, POLLRDHUP, 5000));
	wait_show("ET after peer FIN");
	wait_show("ET after peer FIN again");
	close(c);
	close(s);

	/* EPOLLOUT edge: reported at add, then only after the buffer frees up */
	tcp_pair(&c, &s);
	ev.events = EPOLLOUT | EPOLLET;
	ev.data.u64 = 3;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	wait_show("ET OUT at add");
	wait_show("ET OUT again");
	SHOW(send(c, "x", 1, 0));
	NEED(wait_ev(s, POLLIN, 5000));
	msleep(20);
	wait_show("ET OUT after a send (acked)");
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev));

	/* ONESHOT */
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 4;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	push(s, c, "123");
	wait_show("ONESHOT first");
	wait_show("ONESHOT disarmed");
	push(s, c, "456");
	wait_show("ONESHOT disarmed, more data");
	ev.data.u64 = 5;
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev));
	wait_show("ONESHOT rearmed");
	wait_show("ONESHOT disarmed again");
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));

	/* EPOLLEXCLUSIVE */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.u64 = 6;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	wait_show("EXCLUSIVE with data");
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	SHOW(epoll_ctl(ep, 99, c, &ev));
	SHOW(epoll_create(0));
	SHOW(epoll_create1(12345));
	SHOW(epoll_wait(ep, &ev, 0, 0));
	close(c);
	close(s);
	close(ep);
	return 0;
}
