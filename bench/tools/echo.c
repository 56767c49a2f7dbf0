// SPDX-License-Identifier: GPL-2.0
/*
 * A fixed number of blocking request/response round trips, for counting
 * the cost of one (syscalls with perf stat, instructions with callgrind).
 *   echo server IP PORT                 echoes one connection until EOF
 *   echo client IP PORT COUNT SIZE      prints round trips/s
 */
#include "tool.h"

static int server(const char *ip, int port)
{
	int lfd = tcp_listen(ip, port, 1), fd, one = 1;
	char buf[65536];
	ssize_t n;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (full_io(fd, buf, n, 1))
			break;
	close(fd);
	close(lfd);
	return 0;
}

static int client(const char *ip, int port, long count, size_t size)
{
	char *buf = calloc(1, size);
	double start;
	int fd = -1, tries;
	long i;

	for (tries = 0; tries < 100 && fd < 0; tries++) {
		fd = tcp_connect(ip, port);
		if (fd < 0)
			usleep(20000);	/* the server may still be starting */
	}
	if (fd < 0 || !buf)
		die("connect");
	start = now_s();
	for (i = 0; i < count; i++)
		if (full_io(fd, buf, size, 1) || full_io(fd, buf, size, 0))
			die("echo");
	printf("round_trips_per_s %.0f\n", count / (now_s() - start));
	close(fd);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(argv[2], atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	fprintf(stderr, "usage: echo server IP PORT | client IP PORT COUNT SIZE\n");
	return 2;
}
