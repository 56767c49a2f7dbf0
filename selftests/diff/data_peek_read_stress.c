// SPDX-License-Identifier: GPL-2.0
/*
 * A byte stream written in pseudo-random sizes (1..9000 bytes, fixed seed)
 * by one thread, read by another in pseudo-random sizes alternating plain
 * recv, MSG_PEEK followed by a recv of a different size, readv into three
 * pieces, and MSG_WAITALL: every byte is checked against the expected
 * stream position (buffer wrap-arounds included). 16 MiB total.
 */
#include "diff.h"
#include <sys/uio.h>

#define TOTAL (16u << 20)

static int g_c;

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *writer(void *arg)
{
	static char b[9000];
	uint32_t seed = 7;
	size_t off = 0;

	(void)arg;
	while (off < TOTAL) {
		size_t n = 1 + rnd(&seed) % sizeof(b);

		if (n > TOTAL - off)
			n = TOTAL - off;
		pattern(b, n, off, 41);
		NEED(write_full(g_c, b, n) == (ssize_t)n);
		off += n;
	}
	NEED(shutdown(g_c, SHUT_WR) == 0);
	return NULL;
}

static size_t check(const char *b, size_t n, size_t off)
{
	static char want[20000];
	size_t bad = 0, i;

	pattern(want, n, off, 41);
	for (i = 0; i < n; i++)
		bad += b[i] != want[i];
	return bad;
}

int main(void)
{
	int s;
	pthread_t t;
	static char b[20000];
	uint32_t seed = 99;
	size_t off = 0, bad = 0, peeks = 0, peek_bad = 0;
	unsigned long ops[4] = { 0, 0, 0, 0 };
	ssize_t r;

	tcp_pair(&g_c, &s);
	NEED(pthread_create(&t, NULL, writer, NULL) == 0);
	for (;;) {
		size_t n = 1 + rnd(&seed) % 12000;
		int op = rnd(&seed) % 4;

		ops[op]++;
		if (op == 0) {
			r = recv(s, b, n, 0);
		} else if (op == 1) {
			r = recv(s, b, n, MSG_PEEK);
			if (r > 0) {
				peeks++;
				peek_bad += check(b, r, off);
				/* consume a different amount than peeked */
				n = 1 + rnd(&seed) % (size_t)r;
				r = recv(s, b, n, 0);
			}
		} else if (op == 2) {
			struct iovec v[3] = { { b, n / 3 }, { b + n / 3, 1 }, { b + n / 3 + 1, n - n / 3 - 1 } };

			r = readv(s, v, 3);
		} else {
			r = recv(s, b, n, MSG_WAITALL);
			if (r >= 0 && (size_t)r < n && off + r != TOTAL)
				bad++; /* short only at EOF */
		}
		if (r <= 0)
			break;
		bad += check(b, r, off);
		off += r;
	}
	pthread_join(t, NULL);
	say("read %zu bytes, end %s, wrong bytes %zu, wrong peeked bytes %zu", off,
	    r == 0 ? "EOF" : errname(errno), bad, peek_bad);
	say("every kind of read used: %s", YN(ops[0] && ops[1] && ops[2] && ops[3] && peeks));
	close(g_c);
	close(s);
	return 0;
}
