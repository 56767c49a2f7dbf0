// SPDX-License-Identifier: GPL-2.0
/*
 * Readiness of an epoll set after fork and when nested, with many idle
 * members: a child waiting on the level-triggered set it inherited is
 * woken by data on one member and reports that one; the parent, after the
 * fork, still reports each member that gets data (level- and
 * edge-triggered, looking without waiting and sleeping); a set inside
 * another set makes the outer one readable when one of its members gets
 * data, and then reports it. An edge-triggered or one-shot event the child
 * took from the shared set is gone for the parent too (one registration,
 * shared), until new data or a re-arm.
 */
#include "diff.h"
#include <stdatomic.h>

#define CONNS 32

static int cli[CONNS], srv[CONNS];

static void add_all(int ep, uint32_t mode)
{
	int i;

	for (i = 0; i < CONNS; i++) {
		struct epoll_event ev = { .events = EPOLLIN | mode, .data.u32 = i };

		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &ev) == 0);
	}
}

/* The members reported by one epoll_wait, as "i,j,..." ("-" for none). */
static const char *ready(int ep, int timeout)
{
	static char b[256];
	struct epoll_event evs[CONNS];
	int n = epoll_wait(ep, evs, CONNS, timeout), i, len = 0;

	b[0] = 0;
	for (i = 0; i < n; i++)
		len += snprintf(b + len, sizeof(b) - len, "%s%u", i ? "," : "", evs[i].data.u32);
	return n > 0 ? b : n == 0 ? "-" : errname(errno);
}

static void take(int i)
{
	char b[64];

	NEED(recv(srv[i], b, sizeof(b), 0) > 0);
}

static int delayed_conn;

static void *send_later(void *arg)
{
	(void)arg;
	msleep(50);
	NEED(send(cli[delayed_conn], "x", 1, 0) == 1);
	return NULL;
}

/* The ready members once a thread sends to conn 50 ms into a sleep. */
static const char *sleep_for(int ep, int conn)
{
	pthread_t t;
	const char *r;

	delayed_conn = conn;
	NEED(pthread_create(&t, NULL, send_later, NULL) == 0);
	r = ready(ep, 5000);
	pthread_join(t, NULL);
	return r;
}

static void after_fork(uint32_t mode, const char *what)
{
	int ep = epoll_create1(0);
	pid_t pid;

	NEED(ep >= 0);
	add_all(ep, mode);
	say("%s: before fork: %s", what, ready(ep, 0));
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		/* the child waits on the set it shares with us */
		diff_defer_output();
		if (!mode)
			say("%s: child, woken by conn 7: %s", what, sleep_for(ep, 7));
		exit(0);
	}
	say("%s: child: %s", what, status_str(wait_child(pid)));
	if (!mode) {
		say("%s: parent, conn 7 unread: %s", what, ready(ep, 0));
		take(7);
	}
	say("%s: parent, read: %s", what, ready(ep, 0));
	NEED(send(cli[20], "y", 1, 0) == 1);
	NEED(wait_ev(srv[20], POLLIN, 5000) == POLLIN);
	say("%s: parent, conn 20: %s", what, ready(ep, 0));
	say("%s: parent, again: %s", what, ready(ep, 0));
	take(20);
	say("%s: parent, sleeping, conn 31: %s", what, sleep_for(ep, 31));
	take(31);
	say("%s: parent, at the end: %s", what, ready(ep, 0));
	close(ep);
}

static void taken_by_child(uint32_t mode, const char *what)
{
	struct epoll_event ev = { .events = EPOLLIN | mode, .data.u32 = 3 };
	int ep = epoll_create1(0);
	pid_t pid;

	NEED(ep >= 0);
	add_all(ep, mode);
	NEED(send(cli[3], "z", 1, 0) == 1);
	NEED(wait_ev(srv[3], POLLIN, 5000) == POLLIN);
	pid = fork();
	NEED(pid >= 0);
	if (!pid) {
		diff_defer_output();
		say("%s: child takes: %s", what, ready(ep, 5000));
		exit(0);
	}
	say("%s: child: %s", what, status_str(wait_child(pid)));
	say("%s: parent, after the child: %s", what, ready(ep, 0));
	if (mode & EPOLLONESHOT) {
		NEED(epoll_ctl(ep, EPOLL_CTL_MOD, srv[3], &ev) == 0);
		say("%s: parent, re-armed: %s", what, ready(ep, 0));
	} else {
		NEED(send(cli[3], "w", 1, 0) == 1);
		NEED(wait_ev(srv[3], POLLIN, 5000) == POLLIN);
		say("%s: parent, more data: %s", what, ready(ep, 0));
	}
	say("%s: parent, again: %s", what, ready(ep, 0));
	take(3);
	close(ep);
}

static void nested(void)
{
	int inner = epoll_create1(0), outer = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 100 };

	NEED(inner >= 0 && outer >= 0);
	add_all(inner, 0);
	NEED(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) == 0);
	say("nested: outer, idle: %s", ready(outer, 0));
	say("nested: outer, sleeping, conn 12: %s", sleep_for(outer, 12));
	say("nested: inner: %s", ready(inner, 0));
	take(12);
	say("nested: inner, read: %s", ready(inner, 0));
	say("nested: outer, read: %s", ready(outer, 0));
	close(outer);
	close(inner);
}

int main(void)
{
	int i;

	need_nofile(2 * CONNS + 64);
	for (i = 0; i < CONNS; i++)
		tcp_pair(&cli[i], &srv[i]);
	after_fork(0, "level-triggered");
	after_fork(EPOLLET, "edge-triggered");
	taken_by_child(EPOLLET, "edge taken by the child");
	taken_by_child(EPOLLONESHOT, "one-shot taken by the child");
	nested();
	for (i = 0; i < CONNS; i++) {
		close(cli[i]);
		close(srv[i]);
	}
	return 0;
}
