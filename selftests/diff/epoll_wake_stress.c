// SPDX-License-Identifier: GPL-2.0
/*
 * No lost wake-up in epoll_wait: writers in another process send bursts to
 * random connections out of many, with random pauses, while this process
 * waits in epoll_wait(-1) and reads everything. Three rounds, one per kind
 * of registration: level-triggered (reads one small chunk per event),
 * edge-triggered (reads until EAGAIN) and one-shot (re-armed after each
 * read). Then the same with a second thread that blocks in recv on the
 * connections in turn, taking data (and wake-ups) the waiter also waits
 * for. Every byte must arrive (in order: checksums, when one reader), and
 * no wait may outlast 10 s (a lost wake-up sleeps forever). The writers'
 * process is forked before any epoll set exists (a set shared with a
 * child is another case, epoll_nested_fork).
 */
#include "diff.h"
#include <stdatomic.h>

#define CONNS 64
#define BYTES_PER_CONN 20000
#define TOTAL ((long)CONNS * BYTES_PER_CONN)

static int cli[CONNS], srv[CONNS], go[2], done[2];
static atomic_long got;
static atomic_int stop;
static uint32_t sums[CONNS];

static unsigned int rnd(unsigned int *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

/* One round of the writers: every connection gets BYTES_PER_CONN, in bursts. */
static void write_round(unsigned int st)
{
	long left[CONNS];
	unsigned int i, live = CONNS;
	char buf[512];

	for (i = 0; i < CONNS; i++)
		left[i] = BYTES_PER_CONN;
	while (live) {
		unsigned int c = rnd(&st) % CONNS;
		long n = 1 + rnd(&st) % sizeof(buf);

		if (!left[c])
			continue;
		if (n > left[c])
			n = left[c];
		pattern(buf, n, BYTES_PER_CONN - left[c], c);
		NEED(write_full(cli[c], buf, n) == n);
		left[c] -= n;
		live -= !left[c];
		if (rnd(&st) % 16 == 0)
			usleep(rnd(&st) % 2000);
	}
}

/* The writers' process: a round per byte on go, each acknowledged on done. */
static void writers(void)
{
	char r;

	close(go[1]);
	close(done[0]);
	while (read(go[0], &r, 1) == 1) {
		write_round((unsigned int)r);
		NEED(write(done[1], &r, 1) == 1);
	}
	_exit(0);
}

static int conn_of(int fd)
{
	int c;

	for (c = 0; c < CONNS; c++)
		if (srv[c] == fd)
			return c;
	return -1;
}

/* A second reader: blocks in recv (up to 20 ms) on the connections in turn. */
static void *blocking_reader(void *arg)
{
	char buf[64];
	int c = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		ssize_t n = recv(srv[c], buf, 1 + c % sizeof(buf), 0);

		if (n > 0)
			atomic_fetch_add(&got, n);
		c = (c + 1) % CONNS;
	}
	return NULL;
}

static void run(const char *what, uint32_t mode, int with_reader)
{
	static char round;
	int ep = epoll_create1(0), c, i, stalls = 0;
	pthread_t rd;

	NEED(ep >= 0);
	for (c = 0; c < CONNS; c++) {
		struct epoll_event ev = { .events = EPOLLIN | mode, .data.fd = srv[c] };

		sums[c] = 0;
		set_nonblock(srv[c], 1);
		NEED(epoll_ctl(ep, EPOLL_CTL_ADD, srv[c], &ev) == 0);
	}
	atomic_store(&got, 0);
	atomic_store(&stop, 0);
	if (with_reader) {
		struct timeval tv = { 0, 20000 };

		for (c = 0; c < CONNS; c++) {
			set_nonblock(srv[c], 0);
			NEED(setsockopt(srv[c], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
		}
		NEED(pthread_create(&rd, NULL, blocking_reader, NULL) == 0);
	}
	round++;
	NEED(write(go[1], &round, 1) == 1);
	for (long seen = 0, since = now_ms(); atomic_load(&got) < TOTAL;) {
		struct epoll_event evs[8];
		/* with a second reader, it may take the last bytes while we wait */
		int n = epoll_wait(ep, evs, 8, with_reader ? 100 : 10000);

		NEED(n >= 0 || errno == EINTR);
		if (atomic_load(&got) != seen) {
			seen = atomic_load(&got);
			since = now_ms();
		}
		if (now_ms() - since >= 10000) {
			stalls++;
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[4096];
			ssize_t r;

			c = conn_of(fd);
			NEED(c >= 0);
			do {
				r = recv(fd, buf, mode ? sizeof(buf) : 100, MSG_DONTWAIT);
				if (r > 0) {
					sums[c] = csum(sums[c], buf, r);
					atomic_fetch_add(&got, r);
				}
			} while (r > 0 && (mode & EPOLLET));
			NEED(r > 0 || errno == EAGAIN || errno == EWOULDBLOCK);
			if (mode & EPOLLONESHOT) {
				struct epoll_event ev = { .events = EPOLLIN | mode, .data.fd = fd };

				NEED(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0);
			}
		}
	}
	atomic_store(&stop, 1);
	if (with_reader)
		pthread_join(rd, NULL);
	NEED(read(done[0], &round, 1) == 1);
	say("%s: all bytes: %s, stalled: %s", what, YN(atomic_load(&got) == TOTAL), YN(stalls));
	for (c = 0; c < CONNS && !with_reader; c++) {
		char want[BYTES_PER_CONN];

		pattern(want, sizeof(want), 0, c);
		if (sums[c] != csum(0, want, sizeof(want))) {
			say("%s: connection %d: data differs", what, c);
			break;
		}
	}
	close(ep);
}

int main(void)
{
	int c;

	pid_t pid;

	need_nofile(2 * CONNS + 64);
	for (c = 0; c < CONNS; c++)
		tcp_pair(&cli[c], &srv[c]);
	NEED(pipe(go) == 0 && pipe(done) == 0);
	pid = fork();
	NEED(pid >= 0);
	if (!pid)
		writers();
	close(go[0]);
	close(done[1]);
	run("level-triggered", 0, 0);
	run("edge-triggered", EPOLLET, 0);
	run("one-shot", EPOLLONESHOT, 0);
	run("level-triggered, a thread blocking in recv", 0, 1);
	run("edge-triggered, a thread blocking in recv", EPOLLET, 1);
	close(go[1]);
	say("writers: %s", status_str(wait_child(pid)));
	for (c = 0; c < CONNS; c++) {
		close(cli[c]);
		close(srv[c]);
	}
	return 0;
}
