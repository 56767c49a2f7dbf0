// SPDX-License-Identifier: GPL-2.0
/*
 * libvelo's wire backend end to end: a client program in one network
 * namespace talks to a kernel server in another over veth. The client runs
 * twice, plainly and under LD_PRELOAD=libvelo.so with VELO_WIRE=on (its
 * connections then made by the engine on AF_XDP), and must print the same
 * transcript: return values, errno names, readiness, data checksums. The
 * velo run must say (VELO_LOG=debug) that the engine made its connections.
 * The server cases turn it around: a server program in the server namespace,
 * plainly and under libvelo (its listener then also accepting from the
 * engine), against a kernel client it drives in the client namespace.
 *
 *   wire_preload                      the KTAP cases
 *   wire_preload client IP CASE       one client transcript (used by the cases)
 *   wire_preload server NS CASE       one server transcript, its peer in NS
 *   wire_preload peer IP              the server's kernel client (commands on stdin)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define SERVER_PORT 7300
#define CLOSED_PORT 7301
#define SUT_PORT 7310
#define SERVER_IP "10.78.0.2"
#define BULK (1u << 20)

static char ns_client[32], ns_server[32];

/* ------------------------------------------------------------- client */

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EPIPE: return "EPIPE";
	case ECONNRESET: return "ECONNRESET";
	case ENOTCONN: return "ENOTCONN";
	case EISCONN: return "EISCONN";
	case EALREADY: return "EALREADY";
	default: return strerror(e);
	}
}

static int tcp_to(const char *ip, int port, bool nonblock, int *err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	inet_pton(AF_INET, ip, &a.sin_addr);
	*err = connect(s, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	return s;
}

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

/* Send @total bytes and read their echo, waiting in poll; returns a checksum. */
static uint64_t echo_bulk(int s, uint64_t total)
{
	static uint8_t out[65536], in[65536];
	uint64_t sent = 0, got = 0, sum = 0;

	while (got < total) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < total ? POLLOUT : 0) };

		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < total) {
			size_t n = total - sent < sizeof(out) ? total - sent : sizeof(out);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				out[i] = pat(sent + i);
			w = send(s, out, n, MSG_DONTWAIT);
			if (w > 0)
				sent += (uint64_t)w;
		}
		if (p.revents & POLLIN) {
			ssize_t r = recv(s, in, sizeof(in), MSG_DONTWAIT);

			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r; i++)
				sum = sum * 31 + (in[i] ^ pat(got + (uint64_t)i));
			got += (uint64_t)r;
		}
	}
	printf("echo: sent %llu, got %llu, checksum %016llx\n", (unsigned long long)sent,
	       (unsigned long long)got, (unsigned long long)sum);
	return sum;
}

static void names(int s, const char *ip)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	char buf[32];

	printf("getpeername = %d", getpeername(s, (struct sockaddr *)&a, &l));
	inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
	printf(" %s:%u (%s)\n", buf, ntohs(a.sin_port), strcmp(buf, ip) ? "other" : "server");
	l = sizeof(a);
	printf("getsockname = %d, port set: %s\n", getsockname(s, (struct sockaddr *)&a, &l),
	       a.sin_port ? "yes" : "no");
}

static int client_echo(const char *ip)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int err, s = tcp_to(ip, SERVER_PORT, false, &err), v = 1;
	ssize_t r;
	char c;

	printf("connect = %s\n", ename(err));
	names(s, ip);
	printf("TCP_NODELAY set = %d\n", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
	v = 0;
	l = sizeof(v);
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	printf("TCP_NODELAY = %d\n", v);
	/* the bulk echo then runs through a small receive buffer */
	v = 16384;
	printf("SO_RCVBUF set = %d\n", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	l = sizeof(v);
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l);
	printf("SO_RCVBUF = %d\n", v);
	r = recv(s, &c, 1, MSG_DONTWAIT);
	printf("recv nothing yet = %zd %s\n", r, ename(r < 0 ? errno : 0));
	echo_bulk(s, BULK);
	printf("shutdown(SHUT_WR) = %d\n", shutdown(s, SHUT_WR));
	r = recv(s, &c, 1, 0);
	printf("recv after the server's FIN = %zd %s\n", r, ename(r < 0 ? errno : 0));
	l = sizeof(ti);
	getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l);
	printf("tcpi_state = %u\n", ti.tcpi_state);
	l = sizeof(v);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
	printf("SO_ERROR = %s\n", ename(v));
	printf("close = %d\n", close(s));
	return 0;
}

static int client_errors(const char *ip)
{
	struct pollfd p;
	socklen_t l = sizeof(int);
	int err, s, v = 0;

	s = tcp_to(ip, CLOSED_PORT, false, &err);
	printf("blocking connect to a closed port = %s\n", ename(err));
	close(s);
	s = tcp_to(ip, SERVER_PORT, true, &err);
	printf("non-blocking connect = %s\n", ename(err));
	p = (struct pollfd){ .fd = s, .events = POLLOUT };
	printf("poll POLLOUT = %d revents %#x\n", poll(&p, 1, 5000), p.revents);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
	printf("SO_ERROR = %s\n", ename(v));
	close(s);
	s = tcp_to(ip, CLOSED_PORT, true, &err);
	printf("non-blocking connect to a closed port = %s\n", ename(err));
	p = (struct pollfd){ .fd = s, .events = POLLOUT };
	printf("poll = %d revents %#x\n", poll(&p, 1, 5000), p.revents);
	l = sizeof(v);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
	printf("SO_ERROR = %s\n", ename(v));
	close(s);
	return 0;
}

/* A child that closes its copy and exits leaves the parent's connection be. */
static int client_fork(const char *ip)
{
	int err, s = tcp_to(ip, SERVER_PORT, false, &err), status = -1;
	pid_t c;

	printf("connect = %s\n", ename(err));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		close(s);
		exit(0); /* exit handlers run */
	}
	waitpid(c, &status, 0);
	printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	echo_bulk(s, 65536);
	printf("close = %d\n", close(s));
	return 0;
}

/* Reads exactly @n bytes of the echo of the pattern from @from; its checksum. */
static void read_echo(int s, uint64_t from, uint64_t n, const char *who)
{
	uint8_t in[16384];
	uint64_t got = 0, sum = 0;

	while (got < n) {
		ssize_t r = recv(s, in, n - got < sizeof(in) ? n - got : sizeof(in), 0);

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			sum = sum * 31 + (in[i] ^ pat(from + got + (uint64_t)i));
		got += (uint64_t)r;
	}
	printf("%s: read %llu of %llu, checksum %016llx\n", who, (unsigned long long)got,
	       (unsigned long long)n, (unsigned long long)sum);
}

static void send_pattern(int s, uint64_t n)
{
	static uint8_t out[65536];
	uint64_t sent = 0;

	while (sent < n) {
		size_t k = n - sent < sizeof(out) ? n - sent : sizeof(out);
		ssize_t w;

		for (size_t i = 0; i < k; i++)
			out[i] = pat(sent + i);
		w = send(s, out, k, 0);
		if (w <= 0)
			break;
		sent += (uint64_t)w;
	}
	printf("sent %llu\n", (unsigned long long)sent);
}

static void wait_child(pid_t c)
{
	int status = -1;

	waitpid(c, &status, 0);
	printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * Connections that change hands while their data is in flight: at fork
 * with the echo unread, at fork after both FINs with data and EOF unread,
 * and sent to another process over SCM_RIGHTS. Under libvelo each is
 * handed to the kernel's TCP (TCP_REPAIR) with all its state.
 */
static int client_handoff(const char *ip)
{
	int err, s = tcp_to(ip, SERVER_PORT, false, &err), sp[2];
	char fdbuf[CMSG_SPACE(sizeof(int))], b[16];
	struct iovec iov = { b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = fdbuf,
			    .msg_controllen = sizeof(fdbuf) };
	struct cmsghdr *c;
	pid_t child;

	printf("connect = %s\n", ename(err));
	send_pattern(s, 100000);
	usleep(300000); /* the echo comes back and waits, unread */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		read_echo(s, 0, 100000, "child");
		exit(0);
	}
	wait_child(child);
	echo_bulk(s, 65536);
	printf("close = %d\n", close(s));

	s = tcp_to(ip, SERVER_PORT, false, &err);
	printf("connect = %s\n", ename(err));
	printf("send = %zd\n", send(s, "hello", 5, 0));
	printf("shutdown = %d\n", shutdown(s, SHUT_WR));
	usleep(300000); /* the echo and the server's FIN come */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		ssize_t r = recv(s, b, sizeof(b), 0);

		printf("child: recv = %zd \"%.*s\"\n", r, r > 0 ? (int)r : 0, b);
		printf("child: recv = %zd\n", recv(s, b, sizeof(b), 0));
		exit(0);
	}
	wait_child(child);
	printf("recv = %zd\n", recv(s, b, sizeof(b), 0));
	printf("close = %d\n", close(s));

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		return 1;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		int got = -1;

		close(sp[0]);
		if (recvmsg(sp[1], &m, 0) == 1 && (c = CMSG_FIRSTHDR(&m)) && c->cmsg_type == SCM_RIGHTS)
			memcpy(&got, CMSG_DATA(c), sizeof(got));
		(void)!read(sp[1], b, 1); /* the parent has printed */
		printf("child: received a socket: %s\n", got >= 0 ? "yes" : "no");
		echo_bulk(got, 65536);
		exit(0);
	}
	close(sp[1]);
	s = tcp_to(ip, SERVER_PORT, false, &err);
	printf("connect = %s\n", ename(err));
	send_pattern(s, 1000);
	read_echo(s, 0, 1000, "parent");
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s, sizeof(s));
	printf("sendmsg = %zd\n", sendmsg(sp[0], &m, 0));
	printf("close = %d\n", close(s));
	fflush(stdout);
	(void)!write(sp[0], "g", 1);
	wait_child(child);
	return 0;
}

static void show_ioctl(int s, const char *name, unsigned long req)
{
	int v = -1;

	printf("%s = %d\n", name, ioctl(s, req, &v) ? -errno : v);
}

/*
 * select() on a wire socket: readable when the echo is back; the queue
 * ioctls then; TCP_MAXSEG set before connect, and in use after.
 */
static int client_select(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(SERVER_PORT) };
	int s = socket(AF_INET, SOCK_STREAM, 0), mss = 1000;
	socklen_t ml = sizeof(mss);
	struct timeval tv = { 5, 0 };
	fd_set r, w;
	char buf[8];

	printf("TCP_MAXSEG 1000 = %d\n", setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss, ml));
	inet_pton(AF_INET, ip, &a.sin_addr);
	printf("connect = %s\n", ename(connect(s, (struct sockaddr *)&a, sizeof(a)) ? errno : 0));
	mss = getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml) ? -1 : mss;
	printf("TCP_MAXSEG connected = %d\n", mss);
	FD_ZERO(&r);
	FD_SET(s, &r);
	tv.tv_sec = 0;
	tv.tv_usec = 100000;
	printf("select, nothing to read = %d\n", select(s + 1, &r, NULL, NULL, &tv));
	FD_ZERO(&w);
	FD_SET(s, &w);
	tv.tv_sec = 5;
	printf("select writable = %d, set %d\n", select(s + 1, NULL, &w, NULL, &tv),
	       FD_ISSET(s, &w) != 0);
	printf("send = %zd\n", send(s, "ping", 4, 0));
	FD_ZERO(&r);
	FD_SET(s, &r);
	tv.tv_sec = 5;
	printf("select readable = %d, set %d\n", select(s + 1, &r, NULL, NULL, &tv),
	       FD_ISSET(s, &r) != 0);
	show_ioctl(s, "FIONREAD", FIONREAD);
	show_ioctl(s, "SIOCOUTQ", SIOCOUTQ);
	show_ioctl(s, "SIOCOUTQNSD", SIOCOUTQNSD);
	printf("recv 1 = %zd\n", recv(s, buf, 1, 0));
	show_ioctl(s, "FIONREAD", FIONREAD);
	printf("recv = %zd\n", recv(s, buf, sizeof(buf), 0));
	show_ioctl(s, "FIONREAD", FIONREAD);
	printf("close = %d\n", close(s));
	return 0;
}

static void ep_show(int ep, const char *what, int tmo)
{
	struct epoll_event e[4];
	int n = epoll_wait(ep, e, 4, tmo);

	printf("%s: epoll_wait = %d", what, n);
	for (int i = 0; i < n; i++)
		printf(" [data %llu events %#x]", (unsigned long long)e[i].data.u64, e[i].events);
	printf("\n");
}

/*
 * epoll: registered before a non-blocking connect, level and edge
 * triggered, one-shot re-armed with MOD, the server's FIN as EPOLLRDHUP.
 */
static int client_epoll(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(SERVER_PORT) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = 42 };
	int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	char buf[16];

	inet_pton(AF_INET, ip, &a.sin_addr);
	printf("epoll_ctl ADD = %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	printf("connect = %s\n", connect(s, (struct sockaddr *)&a, sizeof(a)) ? ename(errno) : "0");
	ep_show(ep, "connected", 5000);
	ev.events = EPOLLIN;
	printf("MOD EPOLLIN = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	ep_show(ep, "nothing to read", 100);
	printf("send = %zd\n", send(s, "hello", 5, 0));
	ep_show(ep, "echo back", 5000);
	ep_show(ep, "still readable (level)", 0);
	ev.events = EPOLLIN | EPOLLET;
	printf("MOD EPOLLIN|EPOLLET = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	ep_show(ep, "edge after MOD", 5000);
	ep_show(ep, "no new edge", 100);
	printf("recv = %zd\n", recv(s, buf, sizeof(buf), 0));
	ev.events = EPOLLIN | EPOLLONESHOT;
	printf("MOD EPOLLIN|EPOLLONESHOT = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	printf("send = %zd\n", send(s, "again", 5, 0));
	ep_show(ep, "one shot", 5000);
	ep_show(ep, "disabled", 100);
	printf("MOD re-arm = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	ep_show(ep, "re-armed", 5000);
	printf("recv = %zd\n", recv(s, buf, sizeof(buf), 0));
	ev.events = EPOLLIN | EPOLLRDHUP;
	printf("MOD EPOLLIN|EPOLLRDHUP = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	printf("shutdown(SHUT_WR) = %d\n", shutdown(s, SHUT_WR));
	ep_show(ep, "server's FIN", 5000);
	printf("recv = %zd\n", recv(s, buf, sizeof(buf), 0));
	printf("DEL = %d\n", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	ep_show(ep, "deleted", 100);
	printf("close = %d\n", close(s));
	close(ep);
	return 0;
}

/* exec with a connected socket: the new image starts; the socket stays an fd. */
static int client_exec(const char *ip)
{
	char self[512], fdarg[16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int err, s = tcp_to(ip, SERVER_PORT, false, &err);

	printf("connect = %s\n", ename(err));
	printf("send = %zd\n", send(s, "x", 1, 0));
	fflush(stdout);
	if (n <= 0)
		return 1;
	self[n] = 0;
	snprintf(fdarg, sizeof(fdarg), "%d", s);
	execl(self, self, "client", ip, "after-exec", fdarg, (char *)NULL);
	return 1;
}

static int client_after_exec(int s)
{
	struct stat st;

	printf("new image: fd %s\n", fstat(s, &st) ? "closed" : S_ISSOCK(st.st_mode) ? "socket" : "?");
	printf("close = %d\n", close(s));
	return 0;
}

static int client_main(const char *ip, const char *which)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(which, "echo"))
		return client_echo(ip);
	if (!strcmp(which, "errors"))
		return client_errors(ip);
	if (!strcmp(which, "fork"))
		return client_fork(ip);
	if (!strcmp(which, "select"))
		return client_select(ip);
	if (!strcmp(which, "epoll"))
		return client_epoll(ip);
	if (!strcmp(which, "exec"))
		return client_exec(ip);
	if (!strcmp(which, "handoff"))
		return client_handoff(ip);
	return 2;
}

/* ------------------------------------------------------- server (sut) */

/*
 * The kernel client a server case drives: one command per line on stdin,
 * one result line on stdout. "c": connect a new connection (numbered from
 * 0); "e N": send 256 KiB on N and read its echo, then half-close;
 * "r N": one blocking recv on N; "x N": close N.
 */
static int peer_main(const char *ip)
{
	char line[64];
	int conns[16], n = 0;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		int k = atoi(line + 1), err;
		char buf[4096];
		ssize_t r;

		if (line[0] == 'c' && n < 16) {
			struct timeval tv = { 5, 0 };
			int c = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(SUT_PORT) };

			inet_pton(AF_INET, ip, &a.sin_addr);
			setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			err = connect(c, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
			conns[n++] = c;
			printf("connect %d = %s\n", n - 1, ename(err));
		} else if (line[0] == 'e' && k < n) {
			echo_bulk(conns[k], 256 * 1024);
			shutdown(conns[k], SHUT_WR);
		} else if (line[0] == 'r' && k < n) {
			r = recv(conns[k], buf, sizeof(buf), 0);
			printf("recv %d = %zd %s\n", k, r, ename(r < 0 ? errno : 0));
		} else if (line[0] == 'x' && k < n) {
			printf("close %d = %d\n", k, close(conns[k]));
		} else {
			printf("bad command %s", line);
		}
	}
	return 0;
}

static FILE *peer_in, *peer_out;

/* Starts the kernel client in namespace @ns, plainly (no libvelo). */
static int peer_start(const char *ns)
{
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int to[2], from[2];
	pid_t pid;

	if (n <= 0 || pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return -1;
	self[n] = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		execlp("ip", "ip", "netns", "exec", ns, "env", "-u", "LD_PRELOAD", self, "peer",
		       SERVER_IP, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	peer_in = fdopen(to[1], "w");
	peer_out = fdopen(from[0], "r");
	return pid < 0 || !peer_in || !peer_out ? -1 : 0;
}

static void peer_send(const char *cmd)
{
	fprintf(peer_in, "%s\n", cmd);
	fflush(peer_in);
}

/* The peer's answer to its last command, into the transcript. */
static void peer_result(void)
{
	char line[256];

	printf("peer: %s", fgets(line, sizeof(line), peer_out) ? line : "(no answer)\n");
}

static void peer_do(const char *cmd)
{
	peer_send(cmd);
	peer_result();
}

/* A call's result: the value, and errno's name when it failed. */
static void show_result(const char *what, int r)
{
	int e = errno;

	printf("%s = %d %s\n", what, r, r < 0 ? ename(e) : "");
}

static int sut_listener(int flags)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(SUT_PORT) };
	int l = socket(AF_INET, SOCK_STREAM | flags, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	printf("bind = %d\n", bind(l, (struct sockaddr *)&a, sizeof(a)));
	printf("listen = %d\n", listen(l, 16));
	return l;
}

static void show_accepted(int c, const struct sockaddr_in *a, socklen_t l)
{
	const char *res = c < 0 ? ename(errno) : "ok";
	char ip[32];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	printf("accepted: %s, len %u from %s port set %s, FD_CLOEXEC %d, O_NONBLOCK %d\n",
	       res, l, ip, a->sin_port ? "yes" : "no",
	       (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(c, F_GETFL) & O_NONBLOCK) != 0);
}

/* Echoes what connection @c receives until EOF. */
static void echo_until_eof(int c)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
				return;
	printf("echo done: recv = %zd %s\n", n, ename(n < 0 ? errno : 0));
}

/*
 * A connection that came before the first accept(), then one after it
 * (under libvelo: the kernel's, then the engine's, which starts listening
 * at the first accept), a connection over loopback to the same listener.
 */
static int server_accept(void)
{
	struct sockaddr_in a = { 0 }, lo = { .sin_family = AF_INET, .sin_port = htons(SUT_PORT) };
	socklen_t l = sizeof(a);
	struct tcp_info ti;
	int ls = sut_listener(0), c, local;
	char buf[32];

	peer_do("c");
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	printf("send = %zd\n", send(c, "first", 5, 0));
	printf("close = %d\n", close(c));
	peer_do("r 0");
	peer_do("r 0");
	peer_do("c");
	l = sizeof(a);
	c = accept4(ls, (struct sockaddr *)&a, &l, SOCK_CLOEXEC);
	show_accepted(c, &a, l);
	l = sizeof(a);
	printf("getsockname = %d", getsockname(c, (struct sockaddr *)&a, &l));
	inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
	printf(" %s:%u\n", buf, ntohs(a.sin_port));
	l = sizeof(a);
	printf("getpeername = %d", getpeername(c, (struct sockaddr *)&a, &l));
	inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
	printf(" %s\n", buf);
	l = sizeof(ti);
	getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &l);
	printf("tcpi_state = %u\n", ti.tcpi_state);
	peer_send("e 1");
	echo_until_eof(c);
	peer_result();
	printf("close = %d\n", close(c));
	/* the kernel half: a local client over loopback */
	inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
	local = socket(AF_INET, SOCK_STREAM, 0);
	printf("local connect = %d\n", connect(local, (struct sockaddr *)&lo, sizeof(lo)));
	l = sizeof(a);
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	printf("send = %zd\n", send(local, "hi", 2, 0));
	printf("recv = %zd\n", recv(c, buf, sizeof(buf), 0));
	close(local);
	close(c);
	printf("close listener = %d\n", close(ls));
	return 0;
}

/*
 * An accepted connection served by a forked child, as a forking server
 * does: under libvelo it is the engine's (the second connection, after
 * the first accept) and goes to the kernel's TCP at the fork, while the
 * listener's filter stays for the connections to come.
 */
static int server_fork(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);
	int ls = sut_listener(0), c, status = -1;
	pid_t child;

	peer_do("c");
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	printf("close = %d\n", close(c));
	peer_do("c");
	l = sizeof(a);
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	printf("send = %zd\n", send(c, "first", 5, 0));
	peer_do("r 1");
	fflush(stdout);
	child = fork();
	if (child == 0) {
		close(ls);
		echo_until_eof(c);
		printf("child: close = %d\n", close(c));
		exit(0);
	}
	printf("close = %d\n", close(c));
	fflush(stdout);
	peer_send("e 1");
	waitpid(child, &status, 0);
	peer_result();
	printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	peer_do("c");
	l = sizeof(a);
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	printf("send = %zd\n", send(c, "third", 5, 0));
	peer_do("r 2");
	printf("close = %d\n", close(c));
	printf("close listener = %d\n", close(ls));
	return 0;
}

static void ep_accept_all(int ls)
{
	int n = 0, c;

	while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		n++;
		close(c);
	}
	printf("accepted %d, then %s\n", n, ename(errno));
}

/* A non-blocking listener in epoll (level, then edge), poll and select. */
static int server_nonblocking(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
	int ls = sut_listener(SOCK_NONBLOCK), ep = epoll_create1(0);
	struct pollfd p = { .fd = ls, .events = POLLIN | POLLOUT };
	struct timeval tv = { 5, 0 };
	fd_set r;

	show_result("accept, nothing", accept(ls, NULL, NULL));
	printf("epoll_ctl ADD = %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev));
	ep_show(ep, "nothing", 0);
	peer_do("c");
	peer_do("c");
	peer_do("c");
	ep_show(ep, "three queued", 5000);
	printf("poll = %d revents %#x\n", poll(&p, 1, 0), p.revents);
	FD_ZERO(&r);
	FD_SET(ls, &r);
	printf("select = %d set %d\n", select(ls + 1, &r, NULL, NULL, &tv), FD_ISSET(ls, &r) != 0);
	ep_accept_all(ls);
	ep_show(ep, "all accepted", 0);
	ev.events = EPOLLIN | EPOLLET;
	printf("MOD EPOLLIN|EPOLLET = %d\n", epoll_ctl(ep, EPOLL_CTL_MOD, ls, &ev));
	peer_do("c");
	ep_show(ep, "edge", 5000);
	ep_show(ep, "no new edge", 100);
	ep_accept_all(ls);
	peer_do("r 0");
	peer_do("r 3");
	close(ep);
	printf("close listener = %d\n", close(ls));
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void *shut_later(void *arg)
{
	usleep(200000);
	return (void *)(long)shutdown((int)(long)arg, SHUT_RDWR);
}

/* SO_RCVTIMEO, a signal without SA_RESTART, shutdown() waking a blocked accept. */
static int server_waits(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 200000 } };
	struct timeval tv = { 0, 200000 };
	int ls = sut_listener(0);
	pthread_t t;
	void *res;

	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	show_result("accept, SO_RCVTIMEO", accept(ls, NULL, NULL));
	tv.tv_usec = 0;
	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	show_result("accept, signal", accept(ls, NULL, NULL));
	peer_do("c");
	pthread_create(&t, NULL, shut_later, (void *)(long)ls);
	/* the queued connection first, then the wait that shutdown ends */
	printf("accept queued = %s\n", accept(ls, NULL, NULL) >= 0 ? "ok" : ename(errno));
	show_result("accept, shut down", accept(ls, NULL, NULL));
	pthread_join(t, &res);
	printf("shutdown listener = %d\n", (int)(long)res);
	printf("close listener = %d\n", close(ls));
	return 0;
}

/* Options inherited by accepted sockets; queued connections reset by close. */
static int server_options(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int ls = sut_listener(0), one = 1, idle = 77, c, v;

	show_result("accept4, bad flags", accept4(ls, NULL, NULL, 0x40));
	setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(ls, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	peer_do("c");
	c = accept(ls, (struct sockaddr *)&a, &l);
	show_accepted(c, &a, l);
	l = sizeof(v);
	getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	printf("TCP_NODELAY = %d\n", v);
	getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
	printf("SO_KEEPALIVE = %d\n", v);
	getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l);
	printf("TCP_KEEPIDLE = %d\n", v);
	getsockopt(c, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
	printf("SO_ACCEPTCONN = %d\n", v);
	peer_do("c");
	peer_do("c");
	printf("close listener with two queued = %d\n", close(ls));
	peer_do("r 1");
	peer_do("r 2");
	printf("send = %zd\n", send(c, "bye", 3, 0));
	printf("close = %d\n", close(c));
	peer_do("r 0");
	peer_do("r 0");
	return 0;
}

static int server_main_case(const char *peer_ns, const char *which)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (peer_start(peer_ns))
		return 1;
	if (!strcmp(which, "accept"))
		return server_accept();
	if (!strcmp(which, "nonblocking"))
		return server_nonblocking();
	if (!strcmp(which, "waits"))
		return server_waits();
	if (!strcmp(which, "options"))
		return server_options();
	if (!strcmp(which, "fork"))
		return server_fork();
	return 2;
}

/* ------------------------------------------------- kernel echo server */

static void *echo_conn(void *arg)
{
	int c = (int)(long)arg;
	char buf[65536];
	ssize_t n;

	while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w <= 0)
				break;
			off += w;
		}
	close(c);
	return NULL;
}

/* In the server namespace: a kernel echo server, until killed. */
static int server_main(int ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(SERVER_PORT) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 64))
		return 1;
	if (write(ready, "r", 1) != 1)
		return 1;
	for (;;) {
		pthread_t t;
		int c = accept(l, NULL, NULL);

		if (c >= 0 && pthread_create(&t, NULL, echo_conn, (void *)(long)c) == 0)
			pthread_detach(t);
	}
}

/* ------------------------------------------------------------ harness */

static int sh(const char *cmd)
{
	int r = system(cmd);

	if (r)
		ktap_diag("failed (%d): %s", r, cmd);
	return r;
}

static pid_t server;

static int topology_up(void)
{
	char cmd[1024];
	int pfd[2];
	char c;

	snprintf(ns_client, sizeof(ns_client), "vwc%d", getpid());
	snprintf(ns_server, sizeof(ns_server), "vws%d", getpid());
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %1$s && ip netns add %2$s && "
		 "ip link add wc%3$d type veth peer name ws%3$d && "
		 "ip link set wc%3$d netns %1$s && ip link set ws%3$d netns %2$s && "
		 "ip -n %1$s addr add 10.78.0.1/24 dev wc%3$d && ip -n %2$s addr add 10.78.0.2/24 dev ws%3$d && "
		 "ip -n %1$s link set wc%3$d up && ip -n %2$s link set ws%3$d up && "
		 "ip -n %1$s link set lo up && ip -n %2$s link set lo up",
		 ns_client, ns_server, getpid());
	if (sh(cmd) || pipe(pfd))
		return -1;
	server = fork();
	if (server == 0) {
		char path[64];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a timed-out case leaves no server */
		snprintf(path, sizeof(path), "/run/netns/%s", ns_server);
		fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(1);
		_exit(server_main(pfd[1]));
	}
	close(pfd[1]);
	if (server < 0 || read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		return -1;
	}
	close(pfd[0]);
	return 0;
}

static void topology_down(void)
{
	char cmd[256];

	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
		 ns_client, ns_server);
	if (system(cmd))
		return;
}

/*
 * Runs the program under test in its namespace (a client in the client's,
 * a server in the server's); its stdout goes to out.
 */
static unsigned int handed_to_kernel; /* by the last run_sut */

static int run_sut(bool server, const char *which, bool velo, char *out, size_t len,
		   bool *engine)
{
	char cmd[1024], self[512], log[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *lib = getenv("VELO_BUILD");
	FILE *f;
	size_t got;

	if (n <= 0)
		return -1;
	self[n] = 0;
	snprintf(log, sizeof(log), "/tmp/wire_preload.%d.log", getpid());
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s env %s%s%s VELO_WIRE=on VELO_LOG=debug timeout 60 %s %s %s %s 2>%s",
		 server ? ns_server : ns_client, velo ? "LD_PRELOAD=" : "",
		 velo ? (lib ? lib : "build") : "", velo ? "/libvelo.so" : "", self,
		 server ? "server" : "client", server ? ns_client : SERVER_IP, which, log);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	got = fread(out, 1, len - 1, f);
	out[got] = 0;
	if (pclose(f))
		ktap_diag("%s (%s) exited non-zero", server ? "server" : "client",
			  velo ? "velo" : "kernel");
	snprintf(cmd, sizeof(cmd), "grep -q 'through the engine' %s", log);
	*engine = system(cmd) == 0;
	snprintf(cmd, sizeof(cmd), "grep -c \"handed to the kernel's TCP\" %s", log);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%u", &handed_to_kernel) != 1)
		handed_to_kernel = 0;
	if (f)
		pclose(f);
	unlink(log);
	return 0;
}

/* A transcript as diagnostics, one line each, under a heading. */
static void show_transcript(const char *heading, const char *text)
{
	ktap_diag("%s", heading);
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		int n = e ? (int)(e - p) : (int)strlen(p);

		ktap_diag("  %.*s", n, p);
		p += n + (e ? 1 : 0);
	}
}

static int differential(bool server, const char *which)
{
	static char kern[8192], velo[8192];
	bool k_engine = false, v_engine = false;
	int r = KTAP_PASS;

	if (geteuid() != 0)
		return KTAP_SKIP;
	if (topology_up()) {
		topology_down();
		return KTAP_SKIP;
	}
	if (run_sut(server, which, false, kern, sizeof(kern), &k_engine) ||
	    run_sut(server, which, true, velo, sizeof(velo), &v_engine)) {
		r = KTAP_FAIL;
	} else if (strcmp(kern, velo)) {
		show_transcript("--- kernel", kern);
		show_transcript("+++ velo", velo);
		r = KTAP_FAIL;
	} else if (!v_engine) {
		ktap_diag("the velo run did not use the engine");
		r = KTAP_FAIL;
	}
	topology_down();
	return r;
}

static int echo_case(void)
{
	return differential(false, "echo");
}

static int errors_case(void)
{
	return differential(false, "errors");
}

static int fork_case(void)
{
	return differential(false, "fork");
}

static int select_case(void)
{
	return differential(false, "select");
}

static int epoll_case(void)
{
	return differential(false, "epoll");
}

static int exec_case(void)
{
	return differential(false, "exec");
}

/* ... and the velo run says it handed all three to the kernel. */
static int handoff_case(void)
{
	int r = differential(false, "handoff");

	if (r == KTAP_PASS && handed_to_kernel != 3) {
		ktap_diag("connections handed to the kernel: %u, not 3", handed_to_kernel);
		r = KTAP_FAIL;
	}
	return r;
}

static int server_fork_case(void)
{
	int r = differential(true, "fork");

	if (r == KTAP_PASS && handed_to_kernel != 1) {
		ktap_diag("connections handed to the kernel: %u, not 1", handed_to_kernel);
		r = KTAP_FAIL;
	}
	return r;
}

static int server_accept_case(void)
{
	return differential(true, "accept");
}

static int server_nonblocking_case(void)
{
	return differential(true, "nonblocking");
}

static int server_waits_case(void)
{
	return differential(true, "waits");
}

static int server_options_case(void)
{
	return differential(true, "options");
}

static const struct ktap_case cases[] = {
	{ "echo_bulk_names_options_eof", echo_case, 120 },
	{ "connect_errors_nonblocking", errors_case, 120 },
	{ "fork_child_exit_keeps_connection", fork_case, 120 },
	{ "select_readable_writable", select_case, 120 },
	{ "epoll_lt_et_oneshot_rdhup", epoll_case, 120 },
	{ "exec_with_a_connection", exec_case, 120 },
	{ "handoff_fork_unread_fins_scm_rights", handoff_case, 120 },
	{ "server_accept_echo_names_loopback", server_accept_case, 120 },
	{ "server_nonblocking_epoll_poll_select", server_nonblocking_case, 120 },
	{ "server_timeout_signal_shutdown", server_waits_case, 120 },
	{ "server_options_inherited_queue_reset", server_options_case, 120 },
	{ "server_fork_child_serves_accepted", server_fork_case, 120 },
};

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client_main(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server_main_case(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "peer"))
		return peer_main(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "client") && !strcmp(argv[3], "after-exec")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return client_after_exec(atoi(argv[4]));
	}
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
