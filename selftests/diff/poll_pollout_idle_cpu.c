// SPDX-License-Identifier: GPL-2.0
/*
 * A thread waiting in poll, ppoll or select for POLLOUT (writability) on a
 * connection whose send side is full sleeps (it uses next to no CPU), and
 * wakes when space appears:
 *  1. poll, woken by the peer reading;
 *  2. select (write set), woken by the peer reading;
 *  3. ppoll, woken by shutdown(SHUT_WR) from another thread;
 *  4. poll for POLLIN | POLLOUT while the peer's data also sits unread,
 *     woken by the peer reading.
 * 300 ms of waiting each.
 */
#include "diff.h"
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/select.h>

static int c, s;
static atomic_int woke;
static short got;
static long cpu_ms;
static char big[1 << 16];

enum how { POLL, SELECT, PPOLL };
static enum how how;
static short want;

static long thread_cpu_ms(void)
{
	struct rusage ru;

	NEED(getrusage(RUSAGE_THREAD, &ru) == 0);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* One wait for want on c, with no timeout; its result as poll revents. */
static short wait_once(void)
{
	struct pollfd p = { .fd = c, .events = want };
	fd_set w;

	switch (how) {
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
	say("%s: events %s, slept (under 100 ms of CPU): %s", what, pollmask(got),
	    YN(cpu_ms < 100));
}

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

static void phase(enum how h, short events, const char *what, void (*wake)(void))
{
	how = h;
	want = events;
	fill();
	wait_phase(what, wake);
}

int main(void)
{
	tcp_pair(&c, &s);
	phase(POLL, POLLOUT, "poll, full, peer reads", drain_peer);
	phase(SELECT, POLLOUT, "select, full, peer reads", drain_peer);
	phase(PPOLL, POLLOUT, "ppoll, full, shutdown(SHUT_WR)", shut_wr);
	close(c);
	close(s);

	tcp_pair(&c, &s);
	NEED(send(s, "data", 4, 0) == 4);
	NEED(wait_ev(c, POLLIN, 5000) == POLLIN);
	phase(POLL, POLLOUT, "poll, full, unread data, peer reads", drain_peer);
	close(c);
	close(s);
	return 0;
}
