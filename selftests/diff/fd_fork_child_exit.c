// SPDX-License-Identifier: GPL-2.0
/*
 * A forked child uses a connection and ends with _exit() (no exit
 * handlers run): the parent's close is then the last one, as on Linux,
 * and the peer sees the connection closed (EOF, then EPIPE after the RST
 * its write provokes). And a child that deletes a member from the epoll
 * set it shares with its parent deletes it for both.
 */
#include "diff.h"

static void ready(int ep, const char *when)
{
	struct epoll_event evs[4];
	int n = epoll_wait(ep, evs, 4, 0), i;

	for (i = 0; i < n; i++)
		say("%s: member %u %s", when, evs[i].data.u32, epmask(evs[i].events));
	say("%s: %d ready", when, n);
}

static void child_exit(int fam)
{
	int c, s, i;
	char b[8];
	pid_t pid;

	say("-- %s", fam == AF_INET ? "ipv4" : "ipv6");
	tcp_pair_fam(fam, &c, &s);
	set_nonblock(s, 1);
	SHOW(send(c, "a", 1, 0));
	SHOW(recv(s, b, sizeof(b), 0));
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		say("child: send = %zd", send(c, "b", 1, 0));
		fflush(stdout);
		_exit(0);
	}
	say("child %s", status_str(wait_child(pid)));
	SHOW(recv(s, b, sizeof(b), 0));
	SHOW(close(c));
	NEED(wait_ev(s, POLLRDHUP, 2000) & POLLRDHUP);
	SHOW(recv(s, b, sizeof(b), 0));
	for (i = 0; i < 3; i++) {
		SHOW(send(s, "c", 1, MSG_NOSIGNAL));
		msleep(20);
	}
	close(s);
}

static void child_deletes(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int c, s, ep = epoll_create1(0);
	pid_t pid;

	say("-- a child's EPOLL_CTL_DEL");
	tcp_pair(&c, &s);
	NEED(ep >= 0);
	ev.data.u32 = 1;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	ev.data.u32 = 2;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	SHOW(send(c, "a", 1, 0));
	ready(ep, "before");
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		say("child: DEL = %d", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
		fflush(stdout);
		_exit(0);
	}
	say("child %s", status_str(wait_child(pid)));
	ready(ep, "after");
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	ready(ep, "added again");
	close(ep);
	close(c);
	close(s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	child_exit(AF_INET);
	child_exit(AF_INET6);
	child_deletes();
	return 0;
}
