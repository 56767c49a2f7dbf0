// SPDX-License-Identifier: GPL-2.0
/*
 * A thread waiting in epoll_wait, poll, ppoll or select for something that
 * is not there sleeps (it uses next to no CPU), and wakes when it comes:
 *  1. epoll_wait for EPOLLOUT on a connection whose send side is full:
 *     woken by the peer reading, then (full again) by shutdown(SHUT_WR)
 *     from another thread;
 *  2. epoll_wait for EPOLLRDHUP only, with unread data queued: woken by the
 *     peer's FIN;
 *  3. poll, select (write set) and ppoll for POLLOUT on a full send side:
 *     woken by the peer reading, or by shutdown(SHUT_WR);
 *  4. poll for POLLOUT while data from the peer sits unread (a doorbell
 *     beside it must not wake the poll), woken by the peer reading.
 * Level-triggered registrations, 300 ms of waiting each.
 */
#include "diff.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/select.h>

static int c, s, ep;
static atomic_int woke;

enum how { EPOLL, POLL, SELECT, PPOLL };
static enum how how;
static uint32_t got;	/* as an epoll mask, or poll revents */
static long cpu_ms;

static long thread_cpu_ms(void)
{
	struct rusage ru;

	NEED(getrusage(RUSAGE_THREAD, &ru) == 0);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* One wait with no timeout, on ep, or on c for POLLOUT. */
static uint32_t wait_once(void)
{
	struct pollfd p = { .fd = c, .events = POLLOUT };
	struct epoll_event ev;
	fd_set w;

	switch (how) {
	case EPOLL:
		while (epoll_wait(ep, &ev, 1, -1) != 1)
			;
		return ev.events;
	case SELECT:
		FD_ZERO(&w);
		FD_SET(c, &w);
		NEED(select(c + 1, NULL, &w, NULL, NULL) == 1);
		return FD_ISSET(c, &w) ? POLLOUT : 0;
	case PPOLL:
		NEED(ppoll(&p, 1, NULL, NULL) == 1);
		return p.revents;
	default:
		NEED(poll(&p, 1, -1) == 1);
		return p.revents;
	}
}

static void *waiter(void *arg)
{
	long c0 = thread_cpu_ms();

	(void)arg;
	got = wait_once();
	cpu_ms = thread_cpu_ms() - c0;
	atomic_store(&woke, 1);
	return NULL;
}

/* Start the waiter, let it wait 300 ms, run wake(), report. */
static void wait_phase(const char *what, void (*wake)(void))
{
	pthread_t t;
	long end;

	atomic_store(&woke, 0);
	NEED(pthread_create(&t, NULL, waiter, NULL) == 0);
	msleep(300);
	say("%s: woken before: %s", what, YN(atomic_load(&woke)));
	wake();
	end = now_ms() + 5000;
	while (!atomic_load(&woke) && now_ms() < end)
		msleep(1);
	say("%s: woken after: %s", what, YN(atomic_load(&woke)));
	if (!atomic_load(&woke))
		return; /* leaves the thread behind: the transcript shows it */
	pthread_join(t, NULL);
	say("%s: events %s, slept (under 100 ms of CPU): %s", what,
	    how == EPOLL ? epmask(got) : pollmask((short)got), YN(cpu_ms < 100));
}

static void drain_peer(void)
{
	drain_recv(s);
}

static void shut_wr(void)
{
	NEED(shutdown(c, SHUT_WR) == 0);
}

static void peer_fin(void)
{
	NEED(shutdown(s, SHUT_WR) == 0);
}

static void poll_phase(enum how h, const char *what, void (*wake)(void))
{
	how = h;
	fill_send(c);
	wait_phase(what, wake);
}

/* A new connection; with data from the peer left unread when unread. */
static void open_pair(bool unread)
{
	tcp_pair(&c, &s);
	if (unread) {
		NEED(send(s, "data", 4, 0) == 4);
		NEED(wait_ev(c, POLLIN, 5000) == POLLIN);
	}
}

static void close_pair(void)
{
	close(c);
	close(s);
}

static void epoll_phases(void)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = 1 };

	how = EPOLL;
	open_pair(false);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	fill_send(c);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	wait_phase("epoll, full, peer reads", drain_peer);
	fill_send(c);
	wait_phase("epoll, full, shutdown(SHUT_WR)", shut_wr);
	close(ep);
	close_pair();

	open_pair(true);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	ev.events = EPOLLRDHUP;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	wait_phase("epoll, unread data, RDHUP only, peer FIN", peer_fin);
	close(ep);
	close_pair();
}

int main(void)
{
	epoll_phases();

	open_pair(false);
	poll_phase(POLL, "poll, full, peer reads", drain_peer);
	poll_phase(SELECT, "select, full, peer reads", drain_peer);
	poll_phase(PPOLL, "ppoll, full, shutdown(SHUT_WR)", shut_wr);
	close_pair();

	open_pair(true);
	poll_phase(POLL, "poll, full, unread data, peer reads", drain_peer);
	close_pair();
	return 0;
}
