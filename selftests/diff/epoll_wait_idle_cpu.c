// SPDX-License-Identifier: GPL-2.0
/*
 * A thread waiting in epoll_wait for something that is not there sleeps
 * (it uses next to no CPU), and wakes when it comes:
 *  1. EPOLLOUT on a connection whose send side is full: woken by the peer
 *     reading, then (full again) by shutdown(SHUT_WR) from another thread;
 *  2. EPOLLRDHUP only, with unread data queued: woken by the peer's FIN.
 * Level-triggered registrations, 300 ms of waiting each.
 */
#include "diff.h"
#include <stdatomic.h>
#include <sys/resource.h>

static int ep;
static atomic_int woke;
static uint32_t got;
static long cpu_ms;

static long thread_cpu_ms(void)
{
	struct rusage ru;

	NEED(getrusage(RUSAGE_THREAD, &ru) == 0);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void *waiter(void *arg)
{
	struct epoll_event ev;
	long c0 = thread_cpu_ms();

	(void)arg;
	while (epoll_wait(ep, &ev, 1, -1) != 1)
		;
	got = ev.events;
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
	say("%s: events %s, slept (under 100 ms of CPU): %s", what, epmask(got),
	    YN(cpu_ms < 100));
}

static int c, s;
static char big[1 << 16];

/* Until nothing more fits, even after the kernel moved what it could. */
static void fill(void)
{
	long sent;

	set_nonblock(c, 1);
	do {
		ssize_t r;

		sent = 0;
		while ((r = send(c, big, sizeof(big), 0)) > 0)
			sent += r;
		NEED(errno == EAGAIN);
		msleep(50);
	} while (sent);
}

static void drain_peer(void)
{
	char b[1 << 16];

	set_nonblock(s, 1);
	while (recv(s, b, sizeof(b), 0) > 0)
		;
}

static void shut_wr(void)
{
	NEED(shutdown(c, SHUT_WR) == 0);
}

static void peer_fin(void)
{
	NEED(shutdown(s, SHUT_WR) == 0);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = 1 };

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	fill();
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	wait_phase("full, peer reads", drain_peer);
	fill();
	wait_phase("full, shutdown(SHUT_WR)", shut_wr);
	close(c);
	close(s);
	close(ep);

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	NEED(send(s, "data", 4, 0) == 4);
	NEED(wait_ev(c, POLLIN, 5000) == POLLIN);
	ev.events = EPOLLRDHUP;
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	wait_phase("unread data, RDHUP only, peer FIN", peer_fin);
	close(c);
	close(s);
	close(ep);
	return 0;
}
