// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3795997: sending more than the peer's window must not stall. The
 * receiver has a tiny SO_RCVBUF (set before listen, so the window is small
 * from the start) and reads in small pieces with pauses; the sender writes
 * 4 MiB in one blocking send() and in many 100 KB sends. All data must
 * arrive, in order, within the time limit. Across namespaces the receiver
 * (listener and accepted socket) is the peer's.
 */
#include "diff.h"

int main(void)
{
	int l, c, s, rb = 4096;
	uint16_t port;
	union sa a;
	socklen_t al = sa_loop(&a, AF_INET, 0);
	size_t n = 4u << 20, got = 0;
	char *buf = malloc(n), piece[3000];
	uint32_t h = 0;
	pid_t pid;
	long t0 = now_ms();
	int one = 1;

	NEED(buf);
	l = peer_socket(AF_INET);
	NEED(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	NEED(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)) == 0);
	NEED(bind(l, &a.sa, al) == 0 && listen(l, 4) == 0);
	port = local_port(l);
	c = tcp_connect(port);
	NEED(c >= 0);
	s = accept(l, NULL, NULL);
	NEED(s >= 0);
	pattern(buf, n, 0, 11);
	pid = fork();
	NEED(pid >= 0);
	if (pid == 0) {
		size_t off = 0;

		if (send(c, buf, n, 0) != (ssize_t)n)
			_exit(1);
		while (off < n) {
			ssize_t w = send(c, buf + off, 100000 < n - off ? 100000 : n - off, 0);

			if (w <= 0)
				_exit(2);
			off += w;
		}
		_exit(0);
	}
	close(c);
	while (got < 2 * n) {
		ssize_t r = recv(s, piece, sizeof(piece), 0);

		NEED(r > 0);
		h = csum(h, piece, r);
		got += r;
		if ((got / sizeof(piece)) % 200 == 0)
			usleep(1000);
	}
	say("sender %s", status_str(wait_child(pid)));
	SHOW(recv(s, piece, sizeof(piece), 0));
	say("received %zu bytes", got);
	say("checksum equal: %s", YN(h == csum(csum(0, buf, n), buf, n)));
	say("finished within 20 s: %s", YN(now_ms() - t0 < 20000));
	free(buf);
	return 0;
}
