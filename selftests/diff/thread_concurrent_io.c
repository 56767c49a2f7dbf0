// SPDX-License-Identifier: GPL-2.0
/*
 * Threads sharing sockets:
 *  - two threads send 2000 self-describing 100-byte records each on one
 *    socket (well within its SO_SNDBUF of 1 MiB, so no send ever waits:
 *    the default buffer grows with cwnd from 46 KB, and a send that waits
 *    for room may be interleaved, natively too): every record arrives
 *    whole (one send() is never interleaved with another);
 *  - two threads recv concurrently from one socket: together they get
 *    every byte exactly once (order-independent sum and count);
 *  - four threads epoll_wait on one epoll set of 200 sockets registered
 *    EPOLLONESHOT: each readable socket is handled by exactly one thread,
 *    exactly once, until re-armed.
 */
#include "diff.h"

#define REC 100
#define NREC 2000

static int g_c, g_s;

static void *rec_sender(void *arg)
{
	int t = (int)(long)arg, i;
	char r[REC];

	for (i = 0; i < NREC; i++) {
		memset(r, 'a' + t, REC);
		snprintf(r, REC, "%d:%06d:", t, i);
		r[REC - 1] = '\n';
		NEED(send(g_c, r, REC, 0) == REC);
	}
	return NULL;
}

struct rx {
	uint64_t sum;
	size_t n;
};

static void *sum_receiver(void *arg)
{
	struct rx *x = arg;
	unsigned char b[777];
	ssize_t r, i;

	while ((r = recv(g_s, b, sizeof(b), 0)) > 0) {
		for (i = 0; i < r; i++)
			x->sum += b[i];
		x->n += r;
	}
	return NULL;
}

#define NSOCK 200
static int ep, cl[NSOCK], sv[NSOCK];
static volatile int handled[NSOCK];
static volatile int total, stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *ep_worker(void *arg)
{
	struct epoll_event ev[8];
	int n, i;

	(void)arg;
	while (!stop) {
		n = epoll_wait(ep, ev, 8, 100);
		for (i = 0; i < n; i++) {
			int k = ev[i].data.u32;
			char b[4];

			NEED(recv(cl[k], b, sizeof(b), 0) == 1);
			pthread_mutex_lock(&mu);
			handled[k]++;
			total++;
			pthread_mutex_unlock(&mu);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	static char buf[2 * NREC * REC];
	size_t got = 0;
	int i, bad = 0, seen[2] = { 0, 0 };
	int next[2] = { 0, 0 };

	/* 1: records from two senders stay whole */
	tcp_pair(&g_c, &g_s);
	i = 1 << 20;
	NEED(setsockopt(g_c, SOL_SOCKET, SO_SNDBUF, &i, sizeof(i)) == 0);
	NEED(pthread_create(&t[0], NULL, rec_sender, (void *)0L) == 0);
	NEED(pthread_create(&t[1], NULL, rec_sender, (void *)1L) == 0);
	while (got < sizeof(buf)) {
		ssize_t r = recv(g_s, buf + got, sizeof(buf) - got, 0);

		NEED(r > 0);
		got += r;
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	for (i = 0; i < 2 * NREC; i++) {
		char *r = buf + (size_t)i * REC;
		int th, k, j;

		if (sscanf(r, "%d:%d:", &th, &k) != 2 || th < 0 || th > 1 || r[REC - 1] != '\n') {
			bad++;
			continue;
		}
		for (j = 10; j < REC - 1; j++)
			if (r[j] != 'a' + th && r[j] != 0)
				break;
		if (j != REC - 1 || k != next[th])
			bad++;
		next[th] = k + 1;
		seen[th]++;
	}
	say("records: thread0 %d, thread1 %d, broken or out of order %d", seen[0], seen[1], bad);
	close(g_c);
	close(g_s);

	/* 2: two receivers share the bytes */
	{
		struct rx a = { 0, 0 }, b = { 0, 0 };
		uint64_t want = 0;
		static unsigned char src[3000000];
		size_t k;

		tcp_pair(&g_c, &g_s);
		pattern(src, sizeof(src), 0, 23);
		for (k = 0; k < sizeof(src); k++)
			want += src[k];
		NEED(pthread_create(&t[0], NULL, sum_receiver, &a) == 0);
		NEED(pthread_create(&t[1], NULL, sum_receiver, &b) == 0);
		NEED(write_full(g_c, src, sizeof(src)) == (ssize_t)sizeof(src));
		NEED(shutdown(g_c, SHUT_WR) == 0);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		say("two receivers: bytes %zu, byte sum equal: %s", a.n + b.n,
		    YN(a.sum + b.sum == want));
		close(g_c);
		close(g_s);
	}

	/* 3: ONESHOT dispatch across 4 threads */
	{
		uint16_t port;
		int l = tcp_listener_fam(AF_INET, 512, &port), twice = 0, missed = 0;

		ep = epoll_create1(0);
		for (i = 0; i < NSOCK; i++) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

			cl[i] = tcp_connect(port);
			sv[i] = accept(l, NULL, NULL);
			NEED(cl[i] >= 0 && sv[i] >= 0);
			NEED(epoll_ctl(ep, EPOLL_CTL_ADD, cl[i], &ev) == 0);
		}
		close(l);
		for (i = 0; i < 4; i++)
			NEED(pthread_create(&t[i], NULL, ep_worker, NULL) == 0);
		for (i = 0; i < NSOCK; i++)
			NEED(send(sv[i], "x", 1, 0) == 1);
		{
			long end = now_ms() + 10000;

			while (total < NSOCK && now_ms() < end)
				msleep(5);
		}
		/* a second byte on every socket: not re-armed, so nobody handles it */
		for (i = 0; i < NSOCK; i++)
			NEED(send(sv[i], "y", 1, 0) == 1);
		msleep(300);
		say("first round handled %d", total);
		for (i = 0; i < NSOCK; i++) {
			twice += handled[i] > 1;
			missed += handled[i] == 0;
		}
		say("handled twice %d, missed %d", twice, missed);
		/* re-arm all: each second byte handled once */
		for (i = 0; i < NSOCK; i++) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

			NEED(epoll_ctl(ep, EPOLL_CTL_MOD, cl[i], &ev) == 0);
		}
		{
			long end = now_ms() + 10000;

			while (total < 2 * NSOCK && now_ms() < end)
				msleep(5);
		}
		stop = 1;
		for (i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		twice = 0;
		for (i = 0; i < NSOCK; i++)
			twice += handled[i] != 2;
		say("after re-arm: total %d, sockets not handled exactly twice %d", total, twice);
		for (i = 0; i < NSOCK; i++) {
			close(cl[i]);
			close(sv[i]);
		}
		close(ep);
	}
	return 0;
}
