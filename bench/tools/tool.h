/* SPDX-License-Identifier: GPL-2.0 */
/* Shared bits of velo's benchmark tools: plain socket programs, no velo API. */
#ifndef VELO_BENCH_TOOL_H
#define VELO_BENCH_TOOL_H

#include <arpa/inet.h>
#include <signal.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Loopback connections per server port, for tools that open many: connect()
 * takes its ephemeral port from the even half of the range first (14,000 of
 * 32768-60999); past that, each connect walks the whole even half first.
 */
#define CONNS_PER_PORT 10000

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_term(int sig)
{
	(void)sig;
}

/*
 * Servers stop on SIGTERM. It stays blocked except inside the wait calls
 * given the returned mask (ppoll, epoll_pwait), so it can't slip in
 * between two waits and be missed.
 */
static inline sigset_t term_only_while_waiting(void)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t term, old;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_BLOCK, &term, &old);
	sigdelset(&old, SIGTERM);
	return old;
}

/*
 * Raises the open-file limit to @want, or as far as the hard limit goes
 * when it cannot be raised (raising it needs CAP_SYS_RESOURCE, which a
 * container's root may lack); returns the limit now in force.
 */
static inline long nofile_up_to(long want)
{
	struct rlimit r = { want, want };

	if (!setrlimit(RLIMIT_NOFILE, &r))
		return want;
	if (getrlimit(RLIMIT_NOFILE, &r))
		die("getrlimit(RLIMIT_NOFILE)");
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r))
		die("setrlimit(RLIMIT_NOFILE)");
	return r.rlim_cur;
}

static inline struct sockaddr_in ipv4(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "bad IPv4 address %s\n", ip);
		exit(2);
	}
	return a;
}

static inline int tcp_listen(const char *ip, int port, int backlog)
{
	struct sockaddr_in a = ipv4(ip, port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog))
		die("listen");
	return fd;
}

static inline int tcp_connect(const char *ip, int port)
{
	struct sockaddr_in a = ipv4(ip, port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads or writes exactly @len bytes; 0 on success, -1 on EOF or error. */
static inline int full_io(int fd, char *buf, size_t len, int writing)
{
	while (len) {
		ssize_t n = writing ? write(fd, buf, len) : read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

#endif /* VELO_BENCH_TOOL_H */
