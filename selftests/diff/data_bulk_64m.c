// SPDX-License-Identifier: GPL-2.0
/*
 * Large transfers with checksums: 64 MiB in each direction at the same time
 * over one connection (a sender and a receiver thread per end, writes of
 * odd sizes, reads of odd sizes), then EOF both ways. Also one 8 MiB
 * single send() call and a MSG_WAITALL read of the whole of it.
 */
#include "diff.h"

#define TOTAL (64u << 20)

struct dir {
	int fd;
	unsigned int seed;
	uint32_t hash;
	size_t bytes;
};

static void *tx(void *arg)
{
	struct dir *d = arg;
	static __thread char buf[100003];
	size_t off = 0, sizes[] = { 1, 1460, 65536, 100003, 7, 32768 };
	int i = 0;

	while (off < TOTAL) {
		size_t n = sizes[i++ % 6];
		ssize_t w;

		if (n > TOTAL - off)
			n = TOTAL - off;
		pattern(buf, n, off, d->seed);
		w = write_full(d->fd, buf, n);
		NEED(w == (ssize_t)n);
		d->hash = csum(d->hash, buf, n);
		off += n;
	}
	NEED(shutdown(d->fd, SHUT_WR) == 0);
	d->bytes = off;
	return NULL;
}

static void *rx(void *arg)
{
	struct dir *d = arg;
	static __thread char buf[77777];
	ssize_t r;

	while ((r = recv(d->fd, buf, sizeof(buf), 0)) > 0) {
		d->hash = csum(d->hash, buf, r);
		d->bytes += r;
	}
	NEED(r == 0);
	return NULL;
}

int main(void)
{
	int c, s;
	struct dir ctx = { 0, 1, 0, 0 }, srx = { 0, 1, 0, 0 };
	struct dir stx = { 0, 2, 0, 0 }, crx = { 0, 2, 0, 0 };
	pthread_t t[4];
	int i;

	tcp_pair(&c, &s);
	ctx.fd = crx.fd = c;
	stx.fd = srx.fd = s;
	NEED(pthread_create(&t[0], NULL, tx, &ctx) == 0);
	NEED(pthread_create(&t[1], NULL, rx, &srx) == 0);
	NEED(pthread_create(&t[2], NULL, tx, &stx) == 0);
	NEED(pthread_create(&t[3], NULL, rx, &crx) == 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	say("client->server: sent %zu received %zu checksum equal: %s", ctx.bytes,
	    srx.bytes, YN(ctx.hash == srx.hash));
	say("server->client: sent %zu received %zu checksum equal: %s", stx.bytes,
	    crx.bytes, YN(stx.hash == crx.hash));
	say("checksum c->s %08x s->c %08x", srx.hash, crx.hash);
	close(c);
	close(s);

	/* one big send and one MSG_WAITALL recv */
	{
		size_t n = 8u << 20;
		char *a = malloc(n), *b = malloc(n);
		pid_t pid;

		NEED(a && b);
		pattern(a, n, 0, 5);
		tcp_pair(&c, &s);
		pid = fork();
		NEED(pid >= 0);
		if (pid == 0) {
			ssize_t w = send(c, a, n, 0);

			_exit(w == (ssize_t)n ? 0 : 1);
		}
		SHOW(recv(s, b, n, MSG_WAITALL));
		say("sender %s", status_str(wait_child(pid)));
		say("8 MiB equal: %s", YN(!memcmp(a, b, n)));
		close(c);
		close(s);
	}
	return 0;
}
