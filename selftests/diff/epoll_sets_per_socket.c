// SPDX-License-Identifier: GPL-2.0
/*
 * One connection in several epoll sets at once (1 to 4 sets, level- and
 * edge-triggered, and the same socket twice in one set through a dup):
 * every set reports the data, both when its waiter already sleeps in
 * epoll_wait and when it looks without waiting; after the data is read,
 * none reports it any more. Then space: a full send side in every set
 * for EPOLLOUT, each set's sleeping waiter woken by the peer reading.
 */
#include "diff.h"
#include <stdatomic.h>

#define MAXSETS 4

static int eps[MAXSETS];
static atomic_int woke[MAXSETS];
static uint32_t got[MAXSETS];

static void *waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct epoll_event ev;

	while (epoll_wait(eps[i], &ev, 1, 5000) != 1)
		;
	got[i] = ev.events;
	atomic_store(&woke[i], 1);
	return NULL;
}

/* Waiters asleep in every set, then wake(); which ones woke, with what. */
static void sleep_phase(const char *what, int nsets, void (*wake)(void))
{
	pthread_t t[MAXSETS];
	int i, all = 1;
	long end;

	for (i = 0; i < nsets; i++) {
		atomic_store(&woke[i], 0);
		NEED(pthread_create(&t[i], NULL, waiter, (void *)(intptr_t)i) == 0);
	}
	msleep(50);
	wake();
	end = now_ms() + 5000;
	for (i = 0; i < nsets; i++) {
		while (!atomic_load(&woke[i]) && now_ms() < end)
			msleep(1);
		all &= atomic_load(&woke[i]);
	}
	for (i = 0; i < nsets; i++)
		pthread_join(t[i], NULL);
	say("%s, %d set(s): every sleeper woke: %s, events %s", what, nsets, YN(all),
	    epmask(got[0]));
}

static void look_phase(const char *what, int nsets)
{
	int i, n = 0;

	for (i = 0; i < nsets; i++) {
		struct epoll_event ev;

		n += epoll_wait(eps[i], &ev, 1, 0) == 1;
	}
	say("%s, %d set(s): sets reporting at once: %d", what, nsets, n);
}

static int c, s;

static void send_data(void)
{
	NEED(send(c, "data", 4, 0) == 4);
}

static void read_data(void)
{
	char b[16];

	NEED(recv(s, b, sizeof(b), 0) == 4);
}

/*
 * A fixed send buffer: the peer's reads must free a third of it, which an
 * autotuned buffer may outgrow beyond what one drain of the receiver frees
 * (the engine's receive window is fixed).
 */
static void fill_s(void)
{
	int sz = 128 * 1024;

	NEED(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	fill_send(s);
}

static void drain_c(void)
{
	drain_recv(c);
}

static void in_sets(int nsets, uint32_t mode, const char *what)
{
	int i;

	for (i = 0; i < nsets; i++) {
		struct epoll_event ev = { .events = EPOLLIN | mode, .data.u32 = i };

		eps[i] = epoll_create1(0);
		NEED(eps[i] >= 0);
		NEED(epoll_ctl(eps[i], EPOLL_CTL_ADD, s, &ev) == 0);
	}
	sleep_phase(what, nsets, send_data);
	look_phase(what, nsets);
	read_data();
	look_phase(mode ? "edge, after the read" : "level, after the read", nsets);
	send_data();
	look_phase(what, nsets);
	read_data();
	for (i = 0; i < nsets; i++)
		close(eps[i]);
}

static void out_sets(int nsets)
{
	int i;

	fill_s();
	for (i = 0; i < nsets; i++) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };

		eps[i] = epoll_create1(0);
		NEED(eps[i] >= 0);
		NEED(epoll_ctl(eps[i], EPOLL_CTL_ADD, s, &ev) == 0);
	}
	look_phase("full send side", nsets);
	sleep_phase("full send side, peer reads", nsets, drain_c);
	for (i = 0; i < nsets; i++)
		close(eps[i]);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int n, d, k;

	tcp_pair(&c, &s);
	for (n = 1; n <= MAXSETS; n++)
		in_sets(n, 0, "level-triggered");
	for (n = 1; n <= MAXSETS; n++)
		in_sets(n, EPOLLET, "edge-triggered");
	for (n = 1; n <= MAXSETS; n++)
		out_sets(n);

	/* the socket twice in one set: both registrations report */
	d = dup(s);
	NEED(d >= 0);
	eps[0] = epoll_create1(0);
	NEED(eps[0] >= 0);
	NEED(epoll_ctl(eps[0], EPOLL_CTL_ADD, s, &ev) == 0);
	NEED(epoll_ctl(eps[0], EPOLL_CTL_ADD, d, &ev) == 0);
	send_data();
	{
		struct epoll_event evs[4];

		k = epoll_wait(eps[0], evs, 4, 5000);
		say("a socket and its dup in one set: events reported: %d", k);
	}
	read_data();
	close(eps[0]);
	close(d);
	close(c);
	close(s);
	return 0;
}
