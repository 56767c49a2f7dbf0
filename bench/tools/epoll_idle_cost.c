// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of one epoll_wait with many idle connections and one ready:
 *   epoll_idle_cost [IDLE [CALLS [BASEPORT [fork]]]]  (default 10000 100000 61000)
 * A forked client connects IDLE + 1 connections; the server puts every
 * accepted one into one epoll set (level-triggered EPOLLIN). The client
 * sends one byte on the last connection only, which the server never
 * reads, so exactly one member stays ready. The server then times CALLS
 * non-blocking epoll_wait calls (each must return that one member) and
 * prints the mean cost per call. With "fork", the server forks a child
 * that exits at once after the set is made (as a server's snapshot child
 * does), before the timing. Run it natively and under libvelo to compare;
 * not a pass/fail test.
 */
#include <sys/epoll.h>
#include <sys/wait.h>

#include "tool.h"

/* Client: connect all, send one byte on the last, then wait for the end. */
static void client(int total, int baseport, int go_fd, int done_fd)
{
	int i, fd = -1;
	char c = 0;

	for (i = 0; i < total; i++) {
		fd = tcp_connect("127.0.0.1", baseport + i / CONNS_PER_PORT);
		if (fd < 0)
			die("connect");
	}
	if (write(fd, "x", 1) != 1 || write(go_fd, "g", 1) != 1)
		die("client write");
	if (read(done_fd, &c, 1) < 0)
		die("client read");
	exit(0); /* libvelo marks its ends closed: the channel files go */
}

int main(int argc, char **argv)
{
	int idle = argc > 1 ? atoi(argv[1]) : 10000;
	long calls = argc > 2 ? atol(argv[2]) : 100000, i;
	int baseport = argc > 3 ? atoi(argv[3]) : 61000; /* above the ephemeral ports */
	int total = idle + 1, nports = (total + CONNS_PER_PORT - 1) / CONNS_PER_PORT;
	int go[2], done[2], lfd[8], ep, p, accepted = 0;
	struct epoll_event ev, out[64];
	pid_t pid;
	double t0, dt;
	char c;

	if (nports > 8)
		die("too many connections");
	if (nofile_up_to(total + 64) < total + 64) {	/* each process holds one end of each */
		fprintf(stderr, "needs %d open files, the hard limit is lower\n", total + 64);
		exit(2);
	}
	if (pipe(go) || pipe(done))
		die("pipe");
	for (p = 0; p < nports; p++)
		lfd[p] = tcp_listen("127.0.0.1", baseport + p, 4096);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		client(total, baseport, go[1], done[0]);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	for (p = 0; p < nports; p++)
		for (i = 0; i < CONNS_PER_PORT && accepted < total; i++, accepted++) {
			int fd = accept(lfd[p], NULL, NULL);

			if (fd < 0)
				die("accept");
			ev.events = EPOLLIN;
			ev.data.u64 = accepted;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
				die("epoll_ctl");
		}
	if (argc > 4 && !strcmp(argv[4], "fork")) {
		pid_t child = fork();

		if (child < 0)
			die("fork");
		if (!child)
			_exit(0);
		waitpid(child, NULL, 0);
	}
	if (read(go[0], &c, 1) != 1)
		die("read go");
	while (epoll_wait(ep, out, 64, 1000) < 1)
		;
	for (i = 0; i < 1000; i++) /* warm up */
		epoll_wait(ep, out, 64, 0);
	t0 = now_s();
	for (i = 0; i < calls; i++)
		if (epoll_wait(ep, out, 64, 0) != 1 || out[0].data.u64 != (uint64_t)idle)
			die("epoll_wait: not exactly the one ready member");
	dt = now_s() - t0;
	printf("epoll_wait(timeout 0), %d idle + 1 ready members%s: %.3f us per call (%ld calls)\n",
	       idle, argc > 4 ? ", after a fork" : "", dt * 1e6 / calls, calls);
	if (write(done[1], "d", 1) != 1)
		die("write done");
	waitpid(pid, NULL, 0);
	return 0;
}
