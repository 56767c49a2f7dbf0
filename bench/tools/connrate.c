// SPDX-License-Identifier: GPL-2.0
/*
 * Connection rate: connect + send 64 B + close, as fast as one client
 * process can, against a server that accepts, reads to EOF and closes.
 *   connrate server IP PORT          prints accepts/s when sent SIGTERM
 *   connrate client IP PORT SECONDS  prints connections/s
 */
#include <poll.h>

#include "tool.h"

static int server(const char *ip, int port)
{
	sigset_t waiting = term_only_while_waiting();
	int lfd = tcp_listen(ip, port, 4096);
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	double first = 0, last = 0;
	long accepted = 0;
	char buf[256];

	while (ppoll(&p, 1, NULL, &waiting) >= 0) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		last = now_s();
		if (!accepted++)
			first = last;
	}
	printf("accepts_per_s %.0f\n", accepted > 1 ? (accepted - 1) / (last - first) : 0.0);
	return 0;
}

static int client(const char *ip, int port, double seconds)
{
	double start = now_s(), end = start + seconds;
	char msg[64] = { 0 };
	long n = 0, failed = 0;

	while (now_s() < end) {
		int fd = tcp_connect(ip, port);

		if (fd < 0 || full_io(fd, msg, sizeof(msg), 1)) {
			failed++;
		} else {
			n++;
		}
		if (fd >= 0)
			close(fd);
	}
	printf("connections_per_s %.0f\nfailed %ld\n", n / (now_s() - start), failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: connrate server IP PORT | client IP PORT SECONDS\n");
	return 2;
}
