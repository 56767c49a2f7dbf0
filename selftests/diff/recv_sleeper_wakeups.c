// SPDX-License-Identifier: GPL-2.0
/*
 * A thread blocked in recv and a thread blocked in epoll_wait (or poll) on
 * the same socket, both asleep when data comes: both wake. The reader takes
 * part of the data, the rest is still readable, so the waiter reports it
 * (Linux wakes every sleeper of the socket; the waiter looks at the socket
 * after the reader or before, and finds data either way). Twenty rounds
 * each: epoll level- and edge-triggered, poll; then six with the waiter
 * wanting EPOLLOUT/POLLOUT on a full send side while the reader's recv
 * sleeps, woken by the peer reading (fewer: filling a send side that
 * autotunes across namespaces takes the kernel half a second a round).
 * The peer reads until the waiter woke: a sender the peer's ACKs reach in
 * its own call chain (Linux over loopback or a veth) refills the peer
 * within one drain and frees its whole queue; one that answers a moment
 * later, as over a real link, may need the peer to read again before a
 * third of its buffer is free. A waiter never woken gives up after 10 s.
 */
#include "diff.h"
#include <stdatomic.h>

#define ROUNDS 20
#define ROUNDS_OUT 6
#define WAITER_MS 10000

static int c, s, ep = -1; /* ep < 0: the waiter polls */
static atomic_int waiter_woke, reader_got;
static uint32_t want_events, got_events;

static void *waiter(void *arg)
{
	struct pollfd p = { .fd = s, .events = (short)want_events };
	struct epoll_event ev = { 0 };
	int n;

	(void)arg;
	if (ep >= 0) {
		while ((n = epoll_wait(ep, &ev, 1, WAITER_MS)) < 0 && errno == EINTR)
			;
		got_events = ev.events;
	} else {
		while ((n = poll(&p, 1, WAITER_MS)) < 0 && errno == EINTR)
			;
		got_events = (uint16_t)p.revents;
	}
	atomic_store(&waiter_woke, n == 1);
	return NULL;
}

static void *reader(void *arg)
{
	char b;

	(void)arg;
	atomic_store(&reader_got, (int)recv(s, &b, 1, 0));
	return NULL;
}

/* Both asleep, then wake(); did each wake, and with what? */
static int round_once(uint32_t want, void (*wake)(void))
{
	struct epoll_event ev = { .events = want };
	pthread_t te, tr;
	long end;
	int ok;

	atomic_store(&waiter_woke, 0);
	atomic_store(&reader_got, -2);
	want_events = want;
	if (ep >= 0)
		NEED(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == 0);
	NEED(pthread_create(&tr, NULL, reader, NULL) == 0);
	NEED(pthread_create(&te, NULL, waiter, NULL) == 0);
	msleep(30);
	wake();
	end = now_ms() + 5000;
	while ((!atomic_load(&waiter_woke) || atomic_load(&reader_got) == -2) && now_ms() < end)
		msleep(1);
	ok = atomic_load(&waiter_woke) && atomic_load(&reader_got) == 1 &&
	     (got_events & want & (EPOLLIN | EPOLLOUT));
	if (!atomic_load(&waiter_woke)) {
		/* let it go: a byte it can see */
		NEED(send(c, "z", 1, 0) == 1);
	}
	if (atomic_load(&reader_got) == -2)
		NEED(send(c, "z", 1, 0) == 1);
	pthread_join(te, NULL);
	pthread_join(tr, NULL);
	return ok;
}

static void send_two(void)
{
	NEED(send(c, "ab", 2, 0) == 2);
}

static void drain_s(void)
{
	drain_recv(s);
}

/* Our (s's) send side full, to the kernel's and the ring's limits. */
static void fill_s(void)
{
	fill_send(s);
}

static void peer_reads_then_sends(void)
{
	long end = now_ms() + 3000;

	do {
		drain_recv(c);
		msleep(30);
	} while (!atomic_load(&waiter_woke) && now_ms() < end);
	NEED(send(c, "x", 1, 0) == 1); /* for the reader */
}

static void rounds(const char *what, int n, uint32_t want, void (*before)(void),
		   void (*wake)(void))
{
	int i, ok = 0;

	for (i = 0; i < n; i++) {
		if (before)
			before();
		ok += round_once(want, wake);
		drain_s();
	}
	say("%s: both woke, the waiter reported it: %d of %d", what, ok, n);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	rounds("level-triggered EPOLLIN", ROUNDS, EPOLLIN, NULL, send_two);
	rounds("edge-triggered EPOLLIN", ROUNDS, EPOLLIN | EPOLLET, NULL, send_two);
	rounds("level-triggered EPOLLOUT", ROUNDS_OUT, EPOLLOUT, fill_s, peer_reads_then_sends);
	close(ep);
	ep = -1;
	rounds("poll POLLIN", ROUNDS, POLLIN, NULL, send_two);
	rounds("poll POLLIN, again", ROUNDS, POLLIN, NULL, send_two);
	rounds("poll POLLOUT", ROUNDS_OUT, POLLOUT, fill_s, peer_reads_then_sends);
	close(c);
	close(s);
	return 0;
}
