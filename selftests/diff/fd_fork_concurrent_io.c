// SPDX-License-Identifier: GPL-2.0
/*
 * One connected socket shared by fork between two processes that use it
 * at the same time:
 *  - both read concurrently while a third process writes 8 MiB: every byte
 *    is received exactly once by one of them (byte sum and count);
 *  - both write 1200 self-describing 100-byte records concurrently (no send
 *    ever waits: SO_SNDBUF holds them all, even where the peer is over a
 *    real link and reads late): each record arrives whole
 *    and in order per writer;
 *  - one closes its copy while the other keeps writing: nothing lost.
 */
#include "diff.h"

#define REC 100
#define NREC 1200

static void reader(int fd, int out)
{
	static unsigned char b[4096];
	uint64_t sum = 0, n = 0;
	ssize_t r;

	while ((r = recv(fd, b, sizeof(b), 0)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			sum += b[i];
		n += r;
	}
	uint64_t res[2] = { sum, n };

	/* one write: atomic on a pipe, so the two readers' results never mix */
	NEED(write(out, res, sizeof(res)) == sizeof(res));
}

static void rec_writer(int fd, int id)
{
	char r[REC];
	int i;

	for (i = 0; i < NREC; i++) {
		memset(r, 'a' + id, REC);
		snprintf(r, REC, "%d:%06d:", id, i);
		r[REC - 1] = '\n';
		NEED(send(fd, r, REC, 0) == REC);
	}
}

int main(void)
{
	int c, s, p[2], i;
	pid_t r1, r2, w;
	uint64_t sum[2], n[2], want = 0;
	static unsigned char src[8u << 20];

	/* 1: two processes read one socket */
	tcp_pair(&c, &s);
	NEED(pipe(p) == 0);
	pattern(src, sizeof(src), 0, 51);
	for (size_t k = 0; k < sizeof(src); k++)
		want += src[k];
	r1 = fork();
	NEED(r1 >= 0);
	if (r1 == 0) {
		reader(s, p[1]);
		_exit(0);
	}
	r2 = fork();
	NEED(r2 >= 0);
	if (r2 == 0) {
		reader(s, p[1]);
		_exit(0);
	}
	w = fork();
	NEED(w >= 0);
	if (w == 0) {
		NEED(write_full(c, src, sizeof(src)) == sizeof(src));
		NEED(shutdown(c, SHUT_WR) == 0);
		_exit(0);
	}
	close(c);
	close(s);
	say("writer %s", status_str(wait_child(w)));
	say("reader 1 %s", status_str(wait_child(r1)));
	say("reader 2 %s", status_str(wait_child(r2)));
	for (i = 0; i < 2; i++) {
		uint64_t res[2];

		NEED(read(p[0], res, sizeof(res)) == sizeof(res));
		sum[i] = res[0];
		n[i] = res[1];
	}
	say("two readers: bytes %llu, byte sum equal: %s", (unsigned long long)(n[0] + n[1]),
	    YN(sum[0] + sum[1] == want));
	close(p[0]);
	close(p[1]);

	/* 2: two processes write records on one socket */
	{
		static char buf[2 * NREC * REC];
		size_t got = 0;
		int seen[2] = { 0, 0 }, next[2] = { 0, 0 }, bad = 0;

		int sndbuf = 2 * NREC * REC + 65536;

		tcp_pair(&c, &s);
		NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == 0);
		r1 = fork();
		NEED(r1 >= 0);
		if (r1 == 0) {
			rec_writer(c, 0);
			_exit(0);
		}
		r2 = fork();
		NEED(r2 >= 0);
		if (r2 == 0) {
			rec_writer(c, 1);
			_exit(0);
		}
		/* 3: the parent closes its copy at once; the children keep writing */
		close(c);
		while (got < sizeof(buf)) {
			ssize_t r = recv(s, buf + got, sizeof(buf) - got, 0);

			NEED(r > 0);
			got += r;
		}
		say("record writer 1 %s", status_str(wait_child(r1)));
		say("record writer 2 %s", status_str(wait_child(r2)));
		{
			char x;

			SHOWL("EOF after both children exited", recv(s, &x, 1, 0));
		}
		for (i = 0; i < 2 * NREC; i++) {
			char *r = buf + (size_t)i * REC;
			int th, k;

			if (sscanf(r, "%d:%d:", &th, &k) != 2 || th < 0 || th > 1 ||
			    r[REC - 1] != '\n' || k != next[th]) {
				bad++;
				continue;
			}
			next[th] = k + 1;
			seen[th]++;
		}
		say("records: writer0 %d, writer1 %d, broken or out of order %d", seen[0], seen[1], bad);
		close(s);
	}
	return 0;
}
