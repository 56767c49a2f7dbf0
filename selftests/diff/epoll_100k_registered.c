// SPDX-License-Identifier: GPL-2.0
/*
 * 100,000 sockets registered in one epoll set (50,000 loopback connections,
 * both ends), or as many as RLIMIT_NOFILE allows where it cannot be raised
 * that far (at least 10,000): idle, it reports nothing; data on a few
 * members reports exactly those (the first, one in the middle, the last),
 * level-triggered until read; a peer's close reports its end; every member
 * still works at the end (one byte each way on every 1,000th connection).
 */
#include "diff.h"

#define CONNS_MAX 50000
#define LISTENERS 4 /* 4-tuples enough for every connection on one address */

static int cli[CONNS_MAX], srv[CONNS_MAX], conns;

/* The members one epoll_wait reports, sorted, as "a,b,..." ("-" for none). */
static const char *ready(int ep, int timeout)
{
	static struct epoll_event evs[16];
	static char b[256];
	int n = epoll_wait(ep, evs, 16, timeout), i, j, len = 0;

	if (n < 0)
		return errname(errno);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && evs[j - 1].data.u32 > evs[j].data.u32; j--) {
			struct epoll_event t = evs[j];

			evs[j] = evs[j - 1];
			evs[j - 1] = t;
		}
	b[0] = 0;
	for (i = 0; i < n; i++)
		len += snprintf(b + len, sizeof(b) - len, "%s%u%s", i ? "," : "",
				evs[i].data.u32, (evs[i].events & EPOLLRDHUP) ? "(rdhup)" : "");
	return n ? b : "-";
}

static void connect_all(void)
{
	uint16_t ports[LISTENERS];
	int l[LISTENERS], i;

	for (i = 0; i < LISTENERS; i++)
		l[i] = tcp_listener_fam(AF_INET, 4096, &ports[i]);
	for (i = 0; i < conns; i++) {
		cli[i] = tcp_connect(ports[i % LISTENERS]);
		srv[i] = accept(l[i % LISTENERS], NULL, NULL);
		NEED(cli[i] >= 0 && srv[i] >= 0);
	}
	for (i = 0; i < LISTENERS; i++)
		close(l[i]);
}

static void add(int ep, int fd, uint32_t id)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = id };

	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
}

static void take(int fd)
{
	char b[16];

	NEED(recv(fd, b, sizeof(b), 0) > 0);
}

/* Connections for 2 * CONNS_MAX fds, or as many as the hard limit allows. */
static int how_many(void)
{
	struct rlimit rl;
	rlim_t want = 2 * CONNS_MAX + 64;

	NEED(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max < want) {
		rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			NEED(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	NEED(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	return (int)((rl.rlim_cur - 64) / 2);
}

int main(void)
{
	int ep, i, ok = 0;
	char b;

	conns = how_many();
	if (conns < 5000) {
		say("RLIMIT_NOFILE under 10,064: not tested here");
		return 0;
	}
	connect_all();
	ep = epoll_create1(0);
	NEED(ep >= 0);
	/* server ends are members 0..conns-1, client ends conns.. */
	for (i = 0; i < conns; i++) {
		add(ep, srv[i], i);
		add(ep, cli[i], conns + i);
	}
	say("registered, idle: %s", ready(ep, 0));
	NEED(send(cli[0], "a", 1, 0) == 1);
	NEED(send(cli[conns / 2], "b", 1, 0) == 1);
	NEED(send(srv[conns - 1], "c", 1, 0) == 1);
	NEED(wait_ev(cli[conns - 1], POLLIN, 5000) == POLLIN);
	NEED(wait_ev(srv[0], POLLIN, 5000) == POLLIN && wait_ev(srv[conns / 2], POLLIN, 5000) == POLLIN);
	say("three with data: %s", ready(ep, 0));
	say("again, unread: %s", ready(ep, 0));
	take(srv[0]);
	take(srv[conns / 2]);
	take(cli[conns - 1]);
	say("read: %s", ready(ep, 0));
	close(cli[777]);
	NEED(wait_ev(srv[777], POLLIN, 5000) == POLLIN);
	say("peer of 777 closed: %s", ready(ep, 0));
	NEED(epoll_ctl(ep, EPOLL_CTL_DEL, srv[777], NULL) == 0);
	close(srv[777]);
	say("after DEL: %s", ready(ep, 0));
	for (i = 0; i < conns; i += 1000) {
		if (i == 0)
			continue;
		ok += send(cli[i], "x", 1, 0) == 1 && recv(srv[i], &b, 1, 0) == 1 &&
		      send(srv[i], "y", 1, 0) == 1 && recv(cli[i], &b, 1, 0) == 1;
	}
	say("every 1000th connection, one byte each way: %s",
	    ok == (conns - 1) / 1000 ? "all" : "not all");
	say("drained: %s", ready(ep, 0));
	close(ep);
	for (i = 0; i < conns; i++) {
		if (i == 777)
			continue;
		close(cli[i]);
		close(srv[i]);
	}
	return 0;
}
