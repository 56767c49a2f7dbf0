// SPDX-License-Identifier: GPL-2.0
/*
 * epoll wake-ups with many threads sleeping without a timeout: every
 * readiness change must reach a sleeper, none may be reported twice.
 *  1. EPOLLONESHOT (half of them also EPOLLET) re-armed with EPOLL_CTL_MOD
 *     while data is still queued: 8 threads, 48 loopback sockets and 8
 *     pipes holding 40 bytes each, one byte consumed per event. Every event
 *     fires again to exactly one thread: nobody handles a member while
 *     another thread does, and no recv finds it empty.
 *  2. Level-triggered, 6 threads, 32 sockets and 4 pipes, bytes sent in
 *     bursts by a producer thread: every byte arrives.
 *  3. EPOLLEXCLUSIVE: 4 threads each with its own epoll holding the same
 *     16 sockets: every byte arrives.
 *  4. EPOLL_CTL_ADD of sockets already readable while 4 threads sleep on
 *     a set holding only a pipe: each is reported (ONESHOT: once).
 *  5. A relay on one EPOLLONESHOT socket: the thread handling an event
 *     writes the next byte itself, re-arms with EPOLL_CTL_MOD and stays
 *     away until another thread has handled that byte, so every step
 *     needs the re-arm (or the byte) to wake a sleeper.
 * A lost wake-up shows as a short count after a generous bound (the
 * sleepers are then released through a level-triggered stop pipe).
 */
#include "diff.h"
#include <stdatomic.h>
#include <stdbool.h>

#define STOP 0xffffffffu

static int ep;
static int rfd[64];        /* what a member's data.u32 reads from */
static int stop_pipe[2];
static atomic_int total, spurious, overlap;
static atomic_int busy[64], handled[64];
static int per_member, nmembers;

static void stop_workers(pthread_t *t, int n)
{
	int i;

	NEED(write(stop_pipe[1], "s", 1) == 1);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	NEED(read(stop_pipe[0], (char[1]){ 0 }, 1) == 1);
}

static void wait_total(int want)
{
	long end = now_ms() + 8000;

	while (atomic_load(&total) < want && now_ms() < end)
		msleep(2);
}

/* ------------------------------------------------------ 1: ONESHOT re-arm */

static void *oneshot_worker(void *arg)
{
	struct epoll_event ev[4];
	int n, i;

	(void)arg;
	for (;;) {
		n = epoll_wait(ep, ev, 4, -1);
		for (i = 0; i < n; i++) {
			uint32_t k = ev[i].data.u32;
			struct epoll_event re = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = k };
			char c;

			if (k == STOP)
				return NULL;
			if (atomic_exchange(&busy[k], 1))
				atomic_fetch_add(&overlap, 1);
			if (read(rfd[k], &c, 1) != 1)
				atomic_fetch_add(&spurious, 1);
			atomic_store(&busy[k], 0);
			if (atomic_fetch_add(&handled[k], 1) + 1 < per_member) {
				if (k & 1)
					re.events |= EPOLLET;
				NEED(epoll_ctl(ep, EPOLL_CTL_MOD, rfd[k], &re) == 0);
			}
			atomic_fetch_add(&total, 1);
		}
	}
}

static void add_stop(int e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = STOP };

	NEED(epoll_ctl(e, EPOLL_CTL_ADD, stop_pipe[0], &ev) == 0);
}

static void phase_oneshot(int l, uint16_t port)
{
	enum { NS = 48, NP = 8, NT = 8, PER = 40 };
	int wr[NS + NP], i, odd = 0, done = 0;
	pthread_t t[NT];
	char buf[PER];

	nmembers = NS + NP;
	per_member = PER;
	ep = epoll_create1(0);
	NEED(ep >= 0);
	add_stop(ep);
	for (i = 0; i < nmembers; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

		if (i < NS) {
			rfd[i] = tcp_connect(port);
			wr[i] = accept(l, NULL, NULL);
			NEED(rfd[i] >= 0 && wr[i] >= 0);
		} else {
			int p[2];

			NEED(pipe(p) == 0);
			rfd[i] = p[0];
			wr[i] = p[1];
		}
		set_nonblock(rfd[i], 1);
		if (i & 1)
			ev.events |= EPOLLET;
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev) == 0);
	}
	for (i = 0; i < NT; i++)
		NEED(pthread_create(&t[i], NULL, oneshot_worker, NULL) == 0);
	memset(buf, 'o', sizeof(buf));
	for (i = 0; i < nmembers; i++)
		NEED(write(wr[i], buf, PER) == PER);
	wait_total(nmembers * PER);
	stop_workers(t, NT);
	for (i = 0; i < nmembers; i++) {
		odd += atomic_load(&handled[i]) != PER;
		done += atomic_load(&handled[i]);
	}
	say("oneshot re-arm: events %d of %d, members not handled exactly %d times: %d",
	    done, nmembers * PER, PER, odd);
	say("oneshot re-arm: handled by two threads at once %d, empty reads %d",
	    atomic_load(&overlap), atomic_load(&spurious));
	for (i = 0; i < nmembers; i++) {
		close(rfd[i]);
		close(wr[i]);
	}
	close(ep);
}

/* -------------------------------------------------- 2 and 3: byte counts */

static atomic_long got_bytes;
static int xeps[4];

static void *bytes_worker(void *arg)
{
	int e = arg ? *(int *)arg : ep;
	struct epoll_event ev[8];
	int n, i;

	for (;;) {
		n = epoll_wait(e, ev, 8, -1);
		for (i = 0; i < n; i++) {
			uint32_t k = ev[i].data.u32;
			char b[64];
			ssize_t r;

			if (k == STOP)
				return NULL;
			while ((r = read(rfd[k], b, sizeof(b))) > 0)
				atomic_fetch_add(&got_bytes, r);
		}
	}
}

struct burst {
	int *wr, n, rounds;
	long sent;
};

static void *producer(void *arg)
{
	struct burst *b = arg;
	unsigned int seed = 7;
	int r, j;

	for (r = 0; r < b->rounds; r++) {
		int k = rand_r(&seed) % b->n, len = 1 + rand_r(&seed) % 5;

		for (j = 0; j < len; j++) {
			NEED(write(b->wr[k], "b", 1) == 1);
			b->sent++;
		}
		if (r % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void wait_bytes(long want)
{
	long end = now_ms() + 8000;

	while (atomic_load(&got_bytes) < want && now_ms() < end)
		msleep(2);
}

static void phase_bytes(int l, uint16_t port, bool exclusive)
{
	enum { NS = 32, NP = 4 };
	int nt = exclusive ? 4 : 6, n = exclusive ? 16 : NS + NP, wr[NS + NP], i, j;
	struct burst b = { wr, n, 4000, 0 };
	pthread_t t[6], pt;

	atomic_store(&got_bytes, 0);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	add_stop(ep);
	for (j = 0; j < 4; j++) {
		xeps[j] = epoll_create1(0);
		NEED(xeps[j] >= 0);
		add_stop(xeps[j]);
	}
	for (i = 0; i < n; i++) {
		if (i < NS) {
			rfd[i] = tcp_connect(port);
			wr[i] = accept(l, NULL, NULL);
			NEED(rfd[i] >= 0 && wr[i] >= 0);
		} else {
			int p[2];

			NEED(pipe(p) == 0);
			rfd[i] = p[0];
			wr[i] = p[1];
		}
		set_nonblock(rfd[i], 1);
		if (exclusive) {
			for (j = 0; j < 4; j++) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
							  .data.u32 = i };

				NEED(epoll_ctl(xeps[j], EPOLL_CTL_ADD, rfd[i], &ev) == 0);
			}
		} else {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

			NEED(epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev) == 0);
		}
	}
	for (i = 0; i < nt; i++)
		NEED(pthread_create(&t[i], NULL, bytes_worker, exclusive ? &xeps[i] : NULL) == 0);
	NEED(pthread_create(&pt, NULL, producer, &b) == 0);
	pthread_join(pt, NULL);
	wait_bytes(b.sent);
	say("%s: bytes sent %ld, all received: %s", exclusive ? "exclusive" : "level", b.sent,
	    YN(atomic_load(&got_bytes) == b.sent));
	stop_workers(t, nt);
	for (i = 0; i < n; i++) {
		close(rfd[i]);
		close(wr[i]);
	}
	for (j = 0; j < 4; j++)
		close(xeps[j]);
	close(ep);
}

/* --------------------------------------------- 4: ADD of a ready socket */

static void phase_add_ready(int l, uint16_t port)
{
	enum { NS = 16, NT = 4 };
	int wr[NS], i, odd = 0;
	pthread_t t[NT];

	for (i = 0; i < NS; i++) {
		atomic_store(&handled[i], 0);
		atomic_store(&busy[i], 0);
	}
	atomic_store(&total, 0);
	atomic_store(&spurious, 0);
	atomic_store(&overlap, 0);
	per_member = 1;
	ep = epoll_create1(0);
	NEED(ep >= 0);
	add_stop(ep);
	for (i = 0; i < NS; i++) {
		rfd[i] = tcp_connect(port);
		wr[i] = accept(l, NULL, NULL);
		NEED(rfd[i] >= 0 && wr[i] >= 0);
		set_nonblock(rfd[i], 1);
	}
	for (i = 0; i < NT; i++)
		NEED(pthread_create(&t[i], NULL, oneshot_worker, NULL) == 0);
	msleep(50); /* let them sleep (not needed for the result) */
	for (i = 0; i < NS; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

		NEED(write(wr[i], "a", 1) == 1);
		NEED(wait_ev(rfd[i], POLLIN, 5000) == POLLIN);
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev) == 0);
	}
	wait_total(NS);
	stop_workers(t, NT);
	for (i = 0; i < NS; i++)
		odd += atomic_load(&handled[i]) != 1;
	say("add ready: events %d of %d, not handled exactly once %d, empty reads %d",
	    atomic_load(&total), NS, odd, atomic_load(&spurious));
	for (i = 0; i < NS; i++) {
		close(rfd[i]);
		close(wr[i]);
	}
	close(ep);
}

/* ------------------------------------------------------- 5: the relay */

#define RELAY_STEPS 300

static atomic_int relay_step, relay_stalls;
static int relay_wr;

static void *relay_worker(void *arg)
{
	struct epoll_event ev;

	(void)arg;
	for (;;) {
		struct epoll_event re = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = 0 };
		long end;
		char c;
		int step;

		if (epoll_wait(ep, &ev, 1, -1) != 1)
			continue;
		if (ev.data.u32 == STOP)
			return NULL;
		if (read(rfd[0], &c, 1) != 1)
			atomic_fetch_add(&spurious, 1);
		step = atomic_fetch_add(&relay_step, 1) + 1;
		if (step >= RELAY_STEPS)
			continue;
		NEED(write(relay_wr, "r", 1) == 1);
		NEED(epoll_ctl(ep, EPOLL_CTL_MOD, rfd[0], &re) == 0);
		end = now_ms() + 3000;
		while (atomic_load(&relay_step) == step && now_ms() < end)
			sched_yield();
		if (atomic_load(&relay_step) == step) {
			atomic_fetch_add(&relay_stalls, 1);
			return NULL;
		}
	}
}

static void phase_relay(int l, uint16_t port)
{
	enum { NT = 4 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = 0 };
	pthread_t t[NT];
	int i;

	atomic_store(&spurious, 0);
	ep = epoll_create1(0);
	NEED(ep >= 0);
	add_stop(ep);
	rfd[0] = tcp_connect(port);
	relay_wr = accept(l, NULL, NULL);
	NEED(rfd[0] >= 0 && relay_wr >= 0);
	set_nonblock(rfd[0], 1);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, rfd[0], &ev) == 0);
	for (i = 0; i < NT; i++)
		NEED(pthread_create(&t[i], NULL, relay_worker, NULL) == 0);
	NEED(write(relay_wr, "r", 1) == 1);
	{
		long end = now_ms() + 10000;

		while (atomic_load(&relay_step) < RELAY_STEPS && !atomic_load(&relay_stalls) &&
		       now_ms() < end)
			msleep(2);
	}
	say("relay: steps %d of %d, stalled %s, empty reads %d",
	    atomic_load(&relay_step) < RELAY_STEPS ? atomic_load(&relay_step) : RELAY_STEPS,
	    RELAY_STEPS, YN(atomic_load(&relay_stalls)), atomic_load(&spurious));
	stop_workers(t, NT);
	close(rfd[0]);
	close(relay_wr);
	close(ep);
}

int main(void)
{
	uint16_t port;
	int l = tcp_listener_fam(AF_INET, 512, &port);

	NEED(l >= 0);
	NEED(pipe(stop_pipe) == 0);
	phase_oneshot(l, port);
	phase_bytes(l, port, false);
	phase_bytes(l, port, true);
	phase_add_ready(l, port);
	phase_relay(l, port);
	close(l);
	return 0;
}
