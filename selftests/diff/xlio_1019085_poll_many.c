// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 1019085 (poll limited in the number of fds): poll() and ppoll() over
 * 5000 TCP sockets (2500 connected pairs) plus a pipe; data is sent on a
 * fixed subset and exactly those are reported, with the right revents;
 * also epoll with all 5000 registered.
 */
#include "diff.h"

#define PAIRS 2500

int main(void)
{
	static int cl[PAIRS], sv[PAIRS];
	static struct pollfd pf[2 * PAIRS + 1];
	struct epoll_event *evs;
	int l, i, n, p[2], ep, bad = 0;
	uint16_t port;
	char b[4];
	long sum = 0;

	need_nofile(6000);
	l = tcp_listener_fam(AF_INET, 4096, &port);
	for (i = 0; i < PAIRS; i++) {
		cl[i] = tcp_connect(port);
		NEED(cl[i] >= 0);
		sv[i] = accept(l, NULL, NULL);
		NEED(sv[i] >= 0);
	}
	close(l);
	NEED(pipe(p) == 0);
	for (i = 0; i < PAIRS; i++) {
		pf[2 * i] = (struct pollfd){ .fd = cl[i], .events = POLLIN };
		pf[2 * i + 1] = (struct pollfd){ .fd = sv[i], .events = POLLIN };
	}
	pf[2 * PAIRS] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	SHOWL("poll 5001 fds, all idle", poll(pf, 2 * PAIRS + 1, 0));
	/* every 97th client and the last server get data; the pipe too */
	for (i = 0; i < PAIRS; i += 97)
		NEED(send(sv[i], "d", 1, 0) == 1);
	NEED(send(cl[PAIRS - 1], "e", 1, 0) == 1);
	NEED(write(p[1], "p", 1) == 1);
	for (i = 0; i < PAIRS; i += 97)
		NEED(wait_ev(cl[i], POLLIN, 5000));
	NEED(wait_ev(sv[PAIRS - 1], POLLIN, 5000));
	n = poll(pf, 2 * PAIRS + 1, 5000);
	say("poll = %d", n);
	for (i = 0; i < 2 * PAIRS + 1; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].revents != POLLIN)
			bad++;
		sum += i;
	}
	say("ready index sum %ld, revents not POLLIN: %d", sum, bad);
	say("last entries: %s %s", pollmask(pf[2 * PAIRS - 1].revents), pollmask(pf[2 * PAIRS].revents));
	/* ppoll with POLLOUT on all: every socket writable */
	for (i = 0; i < 2 * PAIRS + 1; i++)
		pf[i].events = POLLOUT;
	pf[2 * PAIRS].fd = p[1];
	{
		struct timespec ts = { 5, 0 };

		SHOWL("ppoll POLLOUT on 5001 fds", ppoll(pf, 2 * PAIRS + 1, &ts, NULL));
	}
	/* epoll with 5000 sockets */
	ep = epoll_create1(0);
	for (i = 0; i < PAIRS; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 2 * i };

		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, cl[i], &ev) == 0);
		ev.data.u32 = 2 * i + 1;
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, sv[i], &ev) == 0);
	}
	evs = calloc(2 * PAIRS, sizeof(*evs));
	NEED(evs);
	n = epoll_wait(ep, evs, 2 * PAIRS, 5000);
	sum = 0;
	for (i = 0; i < n; i++)
		sum += evs[i].data.u32;
	say("epoll_wait = %d, tag sum %ld", n, sum);
	for (i = 0; i < PAIRS; i += 97)
		NEED(recv(cl[i], b, sizeof(b), 0) == 1);
	NEED(recv(sv[PAIRS - 1], b, sizeof(b), 0) == 1);
	SHOWL("epoll_wait after draining", epoll_wait(ep, evs, 2 * PAIRS, 0));
	for (i = 0; i < PAIRS; i++) {
		pf[2 * i] = (struct pollfd){ .fd = cl[i], .events = POLLIN };
		pf[2 * i + 1] = (struct pollfd){ .fd = sv[i], .events = POLLIN };
	}
	SHOWL("poll after draining", poll(pf, 2 * PAIRS, 0));
	free(evs);
	return 0;
}
