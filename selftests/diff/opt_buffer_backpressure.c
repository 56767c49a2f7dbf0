// SPDX-License-Identifier: GPL-2.0
/*
 * SO_SNDBUF and SO_RCVBUF bound what a sender can queue to an idle reader.
 * The sender's size is set before connect(), the reader's on the listener
 * (an accepted socket inherits it) or after accept(). A non-blocking fill
 * stops with EAGAIN at about the two buffers: under 64 KiB with 4 KiB each,
 * between 64 KiB and 1 MiB with 64 KiB each and with only the sender's set
 * (the reader's window is its default buffer's), over 1 MiB with neither
 * (on one host).
 * A blocking 1 MiB write with 4 KiB buffers is still blocked 100 ms later,
 * and completes once the reader reads. Exact counts differ from run to
 * run on Linux (its skb overheads); only the ranges are printed.
 */
#include "diff.h"
#include <stdatomic.h>
#include <stdbool.h>

static char big[1 << 20];

static const char *range(long n)
{
	if (n < 65536)
		return "under 64 KiB";
	if (n <= 1 << 20)
		return "64 KiB to 1 MiB";
	return "over 1 MiB";
}

static long fill(int fd)
{
	long total = 0;
	ssize_t r;
	int i;

	set_nonblock(fd, 1);
	for (i = 0; i < 3; i++) {
		while ((r = send(fd, big, 65536, 0)) > 0)
			total += r;
		NEED(errno == EAGAIN);
		msleep(20);
	}
	set_nonblock(fd, 0);
	return total;
}

static void set_buf(int fd, int name, int v)
{
	if (v)
		NEED(setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)) == 0);
}

/* the sender c, the reader s: their buffers set at the points named */
static void pair_sized(int *c, int *s, int snd, int rcv, bool rcv_on_listener)
{
	union sa a;
	uint16_t port;
	int l = tcp_listener_fam(AF_INET, 4, &port);
	socklen_t al = sa_loop(&a, AF_INET, port);

	if (rcv_on_listener)
		set_buf(l, SO_RCVBUF, rcv);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	NEED(*c >= 0);
	set_buf(*c, SO_SNDBUF, snd);
	NEED(connect(*c, &a.sa, al) == 0);
	*s = accept(l, NULL, NULL);
	NEED(*s >= 0);
	if (!rcv_on_listener)
		set_buf(*s, SO_RCVBUF, rcv);
	close(l);
}

static void filled(const char *what, int snd, int rcv, bool rcv_on_listener)
{
	int c, s;

	pair_sized(&c, &s, snd, rcv, rcv_on_listener);
	say("%s: a fill stops %s", what, range(fill(c)));
	close(c);
	close(s);
}

static struct {
	int fd;
	ssize_t sent;
	atomic_int done;
} writer;

static void *write_1m(void *arg)
{
	(void)arg;
	writer.sent = write_full(writer.fd, big, sizeof(big));
	atomic_store(&writer.done, 1);
	return NULL;
}

static void blocked_writer(void)
{
	pthread_t t;
	long got = 0;
	ssize_t r;
	int c, s;

	pair_sized(&c, &s, 4096, 4096, true);
	writer.fd = c;
	atomic_store(&writer.done, 0);
	NEED(pthread_create(&t, NULL, write_1m, NULL) == 0);
	msleep(100);
	say("1 MiB blocking write, 4 KiB buffers: done after 100 ms: %s",
	    atomic_load(&writer.done) ? "yes" : "no");
	while (got < (long)sizeof(big) && (r = recv(s, big + 0, 65536, 0)) > 0)
		got += r;
	pthread_join(t, NULL);
	say("after the reader read %ld: the write returned %zd", got, writer.sent);
	close(c);
	close(s);
}

int main(void)
{
	filled("4 KiB each, the reader's on the listener", 4096, 4096, true);
	filled("4 KiB each, the reader's after accept", 4096, 4096, false);
	filled("64 KiB each", 65536, 65536, true);
	filled("64 KiB sender only", 65536, 0, true);
	/*
	 * Across namespaces what autotuned buffers hold depends on how far
	 * the sender's congestion window grew before the peer's window
	 * closed (Linux's as well): not compared there.
	 */
	if (!peer_env(AF_INET))
		filled("neither set", 0, 0, true);
	blocked_writer();
	return 0;
}
