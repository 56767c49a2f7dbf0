/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for velo's differential socket-API programs.
 *
 * Every program in selftests/diff prints a transcript that must be the same
 * byte for byte when run on the kernel's sockets and under LD_PRELOAD=libvelo.so
 * (selftests/host/api_diff.sh compares them). So a transcript holds only
 * deterministic facts: return values, errno names, decoded readiness masks,
 * checksums, exit statuses, and yes/no answers to relative comparisons
 * (never port numbers, pids, timings or pointers).
 *
 * Only the main thread/process prints, or a child prints while its parent
 * waits for it, so lines never interleave.
 */
#ifndef VELO_DIFF_H
#define VELO_DIFF_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Line-buffered stdout, so fork() never duplicates a half-written buffer. */
__attribute__((constructor)) static void diff_stdout_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline const char *errname(int e)
{
	static __thread char other[24];

	switch (e) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG);
	E(ENOEXEC); E(EBADF); E(ECHILD); E(EAGAIN); E(ENOMEM); E(EACCES);
	E(EFAULT); E(EBUSY); E(EEXIST); E(EXDEV); E(ENODEV); E(ENOTDIR);
	E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY); E(EFBIG);
	E(ENOSPC); E(ESPIPE); E(EROFS); E(EMLINK); E(EPIPE); E(EDOM);
	E(ERANGE); E(EDEADLK); E(ENAMETOOLONG); E(ENOSYS); E(ENOTEMPTY);
	E(ELOOP); E(ENOMSG); E(ENODATA); E(ETIME); E(EPROTO); E(EOVERFLOW);
	E(EBADFD); E(ERESTART); E(EUSERS); E(ENOTSOCK); E(EDESTADDRREQ);
	E(EMSGSIZE); E(EPROTOTYPE); E(ENOPROTOOPT); E(EPROTONOSUPPORT);
	E(ESOCKTNOSUPPORT); E(EOPNOTSUPP); E(EPFNOSUPPORT); E(EAFNOSUPPORT);
	E(EADDRINUSE); E(EADDRNOTAVAIL); E(ENETDOWN); E(ENETUNREACH);
	E(ENETRESET); E(ECONNABORTED); E(ECONNRESET); E(ENOBUFS); E(EISCONN);
	E(ENOTCONN); E(ESHUTDOWN); E(ETOOMANYREFS); E(ETIMEDOUT);
	E(ECONNREFUSED); E(EHOSTDOWN); E(EHOSTUNREACH); E(EALREADY);
	E(EINPROGRESS); E(ESTALE); E(EDQUOT); E(ECANCELED);
#undef E
	case 0:
		return "0";
	}
	snprintf(other, sizeof(other), "E#%d", e);
	return other;
}

/*
 * A process running concurrently with its printing parent calls
 * diff_defer_output(): its lines are collected in memory and written to
 * stdout in one piece when it exits via exit() (or returns from main).
 */
static FILE *diff_out;
static char *diff_out_buf;
static size_t diff_out_len;

static inline void diff_defer_flush(void)
{
	if (!diff_out)
		return;
	fclose(diff_out);
	diff_out = NULL;
	fwrite(diff_out_buf, 1, diff_out_len, stdout);
	fflush(stdout);
}

static inline void diff_defer_output(void)
{
	diff_out = open_memstream(&diff_out_buf, &diff_out_len);
	if (diff_out)
		atexit(diff_defer_flush);
}

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	FILE *f = diff_out ? diff_out : stdout;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (f == stdout)
		fflush(stdout);
}

/*
 * Print "label = value" or "label = -1 ENAME" and return r with errno kept.
 * Arguments are evaluated before the call, so errno is the call's own.
 */
static inline long show(const char *label, long r)
{
	int e = errno;

	if (r < 0)
		say("%s = %ld %s", label, r, errname(e));
	else
		say("%s = %ld", label, r);
	errno = e;
	return r;
}

#define SHOW(expr) show(#expr, (long)(expr))
#define SHOWL(label, expr) show(label, (long)(expr))
#define YN(c) ((c) ? "yes" : "no")

/* A setup step that must not fail; a failure is a deterministic exit 99. */
#define NEED(cond)                                                        \
	do {                                                              \
		if (!(cond)) {                                            \
			say("SETUP FAILED line %d: %s (errno %s)", __LINE__, \
			    #cond, errname(errno));                       \
			fflush(stdout);                                   \
			_exit(99);                                        \
		}                                                         \
	} while (0)

static inline const char *mask_str(unsigned int m, const unsigned int *bits,
				   const char *const *names, size_t n)
{
	static __thread char buf[8][160];
	static __thread int slot;
	char *b = buf[slot++ & 7];
	size_t i;

	b[0] = 0;
	for (i = 0; i < n; i++) {
		if (!(m & bits[i]))
			continue;
		if (b[0])
			strcat(b, "|");
		strcat(b, names[i]);
		m &= ~bits[i];
	}
	if (m)
		sprintf(b + strlen(b), "%s0x%x", b[0] ? "|" : "", m);
	if (!b[0])
		strcpy(b, "0");
	return b;
}

static inline const char *epmask(uint32_t m)
{
	static const unsigned int bits[] = { EPOLLIN, EPOLLPRI, EPOLLOUT,
		EPOLLERR, EPOLLHUP, EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM,
		EPOLLWRBAND, EPOLLMSG, EPOLLRDHUP };
	static const char *const names[] = { "EPOLLIN", "EPOLLPRI", "EPOLLOUT",
		"EPOLLERR", "EPOLLHUP", "EPOLLRDNORM", "EPOLLRDBAND",
		"EPOLLWRNORM", "EPOLLWRBAND", "EPOLLMSG", "EPOLLRDHUP" };

	return mask_str(m, bits, names, sizeof(bits) / sizeof(bits[0]));
}

static inline const char *pollmask(short m)
{
	static const unsigned int bits[] = { POLLIN, POLLPRI, POLLOUT, POLLERR,
		POLLHUP, POLLNVAL, POLLRDNORM, POLLRDBAND, POLLWRNORM,
		POLLWRBAND, POLLRDHUP };
	static const char *const names[] = { "POLLIN", "POLLPRI", "POLLOUT",
		"POLLERR", "POLLHUP", "POLLNVAL", "POLLRDNORM", "POLLRDBAND",
		"POLLWRNORM", "POLLWRBAND", "POLLRDHUP" };

	return mask_str((unsigned short)m, bits, names,
			sizeof(bits) / sizeof(bits[0]));
}

#define POLL_ALL (POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLRDNORM | \
		  POLLRDBAND | POLLWRNORM | POLLWRBAND)
#define EPOLL_ALL (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | \
		   EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND)

/* poll() one fd for every event with a timeout; returns revents or -1. */
static inline int poll1(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -1;
	return r ? p.revents : 0;
}

/* Wait until fd reports any of want (used for synchronisation). */
static inline int wait_ev(int fd, short want, int timeout_ms)
{
	return poll1(fd, want, timeout_ms) & want;
}

/* Monotonic milliseconds, for "elapsed >= N" checks only (never printed). */
static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- addresses ---- */

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/*
 * The peer: loopback, or, across network namespaces (api_diff.sh --wire),
 * another namespace over a veth. There VELO_DIFF_PEER_NS names the peer's
 * namespace and VELO_DIFF_PEER4/VELO_DIFF_PEER6 its addresses: the sockets
 * the helpers below listen on or bind to the peer's address are made in
 * that namespace, every other socket in the program's own, whose route to
 * the peer leaves through the veth (under libvelo with VELO_WIRE=on, on
 * the engine).
 */
static inline const char *peer_env(int family)
{
	return getenv(family == AF_INET6 ? "VELO_DIFF_PEER6" : "VELO_DIFF_PEER4");
}

static inline socklen_t sa_loop(union sa *a, int family, uint16_t port)
{
	const char *peer = peer_env(family);

	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_loopback;
		NEED(!peer || inet_pton(AF_INET6, peer, &a->in6.sin6_addr) == 1);
		a->in6.sin6_port = htons(port);
		return sizeof(a->in6);
	}
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	NEED(!peer || inet_pton(AF_INET, peer, &a->in.sin_addr) == 1);
	a->in.sin_port = htons(port);
	return sizeof(a->in);
}

/* A socket where the peer's address is local (the peer's namespace). */
static inline int peer_socket_of(int family, int type, int protocol)
{
	static int home = -1, there = -1;
	const char *ns = getenv("VELO_DIFF_PEER_NS");
	char path[128];
	int fd;

	if (!ns)
		return socket(family, type, protocol);
	if (there < 0) {
		snprintf(path, sizeof(path), "/run/netns/%s", ns); /* ip netns add made it */
		home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		there = open(path, O_RDONLY | O_CLOEXEC);
		NEED(home >= 0 && there >= 0);
	}
	NEED(setns(there, CLONE_NEWNET) == 0);
	fd = socket(family, type, protocol);
	NEED(setns(home, CLONE_NEWNET) == 0);
	return fd;
}

/* A TCP socket where the peer's address is local. */
static inline int peer_socket(int family)
{
	return peer_socket_of(family, SOCK_STREAM, 0);
}

/*
 * Loopback, whatever the mode: for the parts of a program that are
 * inherently single-namespace (both ends are the program's own sockets,
 * or the rule is about loopback addresses). Loopback connections are not
 * the wire path: across namespaces they stay in the program's namespace.
 */
static inline socklen_t sa_lo(union sa *a, int family, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_loopback;
		a->in6.sin6_port = htons(port);
		return sizeof(a->in6);
	}
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->in.sin_port = htons(port);
	return sizeof(a->in);
}

/*
 * The program's own address, for sockets it binds itself (a client bound
 * before connecting, a socket that is only bound): loopback in one
 * namespace (as sa_loop there), across namespaces the address its route
 * to the peer leaves from (found with a connected UDP socket, the
 * kernel's).
 */
static inline socklen_t sa_self(union sa *a, int family, uint16_t port)
{
	static union sa self[2];
	static int known[2];
	int i = family == AF_INET6;
	socklen_t l;

	if (!peer_env(family))
		return sa_lo(a, family, port);
	if (!known[i]) {
		union sa p;
		int u = socket(family, SOCK_DGRAM, 0);

		l = sa_loop(&p, family, 9);
		NEED(u >= 0 && connect(u, &p.sa, l) == 0);
		l = sizeof(self[i]);
		NEED(getsockname(u, &self[i].sa, &l) == 0);
		close(u);
		known[i] = 1;
	}
	*a = self[i];
	if (family == AF_INET6) {
		a->in6.sin6_port = htons(port);
		return sizeof(a->in6);
	}
	a->in.sin_port = htons(port);
	return sizeof(a->in);
}

static inline uint16_t sa_port(const union sa *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

static inline uint16_t local_port(int fd)
{
	union sa a;
	socklen_t l = sizeof(a);

	if (getsockname(fd, &a.sa, &l) < 0)
		return 0;
	return sa_port(&a);
}

static inline uint16_t peer_port(int fd)
{
	union sa a;
	socklen_t l = sizeof(a);

	if (getpeername(fd, &a.sa, &l) < 0)
		return 0;
	return sa_port(&a);
}

/* A listening TCP socket on loopback, ephemeral port; *port gets it. */
/* TCP socket @fd made a listener on @a (SO_REUSEADDR); *port gets its port. */
static inline int listen_at(int fd, const union sa *a, socklen_t l, int backlog, uint16_t *port)
{
	int one = 1;

	NEED(fd >= 0);
	NEED(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	NEED(bind(fd, &a->sa, l) == 0);
	NEED(listen(fd, backlog) == 0);
	if (port)
		*port = local_port(fd);
	return fd;
}

static inline int tcp_listener_fam(int family, int backlog, uint16_t *port)
{
	union sa a;
	socklen_t l = sa_loop(&a, family, 0);

	return listen_at(peer_socket(family), &a, l, backlog, port);
}

/*
 * A listening TCP socket on loopback in the program's own namespace, in
 * either mode (see sa_lo); *port gets its ephemeral port.
 */
static inline int tcp_listener_lo(int family, int backlog, uint16_t *port)
{
	union sa a;
	socklen_t l = sa_lo(&a, family, 0);

	return listen_at(socket(family, SOCK_STREAM, 0), &a, l, backlog, port);
}

static inline int tcp_listener(uint16_t *port)
{
	return tcp_listener_fam(AF_INET, 128, port);
}

/* A blocking connect to @a; returns the fd or -1 (errno kept). */
static inline int tcp_connect_to(int family, const union sa *a, socklen_t l)
{
	int fd = socket(family, SOCK_STREAM, 0);
	int e;

	NEED(fd >= 0);
	if (connect(fd, &a->sa, l) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A blocking connect to loopback:port; returns the fd or -1 (errno kept). */
static inline int tcp_connect_fam(int family, uint16_t port)
{
	union sa a;
	socklen_t l = sa_loop(&a, family, port);

	return tcp_connect_to(family, &a, l);
}

static inline int tcp_connect(uint16_t port)
{
	return tcp_connect_fam(AF_INET, port);
}

/* A blocking connect to loopback:port in either mode (see sa_lo). */
static inline int tcp_connect_lo(int family, uint16_t port)
{
	union sa a;
	socklen_t l = sa_lo(&a, family, port);

	return tcp_connect_to(family, &a, l);
}

/* A connected TCP pair over loopback: *c the connecting end, *s accepted. */
static inline void tcp_pair_fam(int family, int *c, int *s)
{
	uint16_t port;
	int l = tcp_listener_fam(family, 16, &port);

	*c = tcp_connect_fam(family, port);
	NEED(*c >= 0);
	*s = accept(l, NULL, NULL);
	NEED(*s >= 0);
	close(l);
}

static inline void tcp_pair(int *c, int *s)
{
	tcp_pair_fam(AF_INET, c, s);
}

/*
 * A free port outside the ephemeral range (ip_local_port_range starts at
 * 32768 by default), for tests that rebind a port after closing it: an
 * ephemeral port can be taken meanwhile by any other process's connect().
 * Never printed.
 */
static inline uint16_t quiet_port(void)
{
	static unsigned int seed;
	int i;

	if (!seed)
		seed = (unsigned int)getpid() * 2654435761u ^ (unsigned int)now_ms();
	for (i = 0; i < 1000; i++) {
		uint16_t p = 10000 + rand_r(&seed) % 10000;
		union sa a;
		socklen_t al = sa_loop(&a, AF_INET, p);
		int fd = peer_socket(AF_INET), ok;

		NEED(fd >= 0);
		ok = bind(fd, &a.sa, al) == 0;
		close(fd);
		if (ok)
			return p;
	}
	NEED(0 && "no quiet port");
	return 0;
}

/* A loopback port nobody listens on: bound (not listening) by the caller's fd. */
static inline int reserve_port(int family, uint16_t *port)
{
	union sa a;
	socklen_t l = sa_loop(&a, family, 0);
	int fd = peer_socket(family);

	NEED(fd >= 0);
	NEED(bind(fd, &a.sa, l) == 0);
	*port = local_port(fd);
	return fd;
}

static inline void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	NEED(fl >= 0);
	NEED(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

/*
 * A first accept() on blocking listener @l with nothing queued: EAGAIN.
 * Across namespaces under libvelo the engine listens beside the kernel
 * from then on, so the connections that come next are the engine's.
 */
static inline void engine_listens(int l)
{
	set_nonblock(l, 1);
	SHOW(accept(l, NULL, NULL));
	set_nonblock(l, 0);
}

/* ---- data ---- */

/*
 * Fill fd's send side: until nothing more fits, even after the kernel (or
 * libvelo's ring) moved what it could. fd is left blocking.
 */
static inline void fill_send(int fd)
{
	static char big[1 << 16];
	long sent;

	set_nonblock(fd, 1);
	do {
		ssize_t r;

		sent = 0;
		while ((r = send(fd, big, sizeof(big), 0)) > 0)
			sent += r;
		NEED(errno == EAGAIN);
		msleep(50);
	} while (sent);
	set_nonblock(fd, 0);
}

/* Read all that is there now: how much. fd is left blocking. */
static inline long drain_recv(int fd)
{
	char b[1 << 16];
	long got = 0;
	ssize_t r;

	set_nonblock(fd, 1);
	while ((r = recv(fd, b, sizeof(b), 0)) > 0)
		got += r;
	set_nonblock(fd, 0);
	return got;
}

static inline ssize_t write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = write(fd, p + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		done += r;
	}
	return done;
}

static inline ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, p + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		if (r == 0)
			break;
		done += r;
	}
	return done;
}


/* A thread that reads a socket to its end, counting the bytes. */
struct drain {
	pthread_t t;
	int fd;
	size_t got;
};

static inline void *drain_main(void *arg)
{
	static char b[1 << 16];
	struct drain *d = arg;
	ssize_t r;

	while ((r = recv(d->fd, b, sizeof(b), 0)) > 0)
		d->got += (size_t)r;
	return NULL;
}

static inline void drain_start(struct drain *d, int fd)
{
	d->fd = fd;
	d->got = 0;
	NEED(pthread_create(&d->t, NULL, drain_main, d) == 0);
}

/* Waits for the end of the stream: the bytes read. */
static inline size_t drain_join(struct drain *d)
{
	pthread_join(d->t, NULL);
	return d->got;
}
/* FNV-1a, 32 bits, running. */
static inline uint32_t csum(uint32_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!h)
		h = 2166136261u;
	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

/* Deterministic byte stream: byte i of stream "seed". */
static inline void pattern(void *buf, size_t len, uint64_t off, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = off + i;

		p[i] = (unsigned char)((x * 2654435761u >> 13) ^ (x >> 8) ^ seed);
	}
}

/* ---- processes ---- */

static inline const char *status_str(int st)
{
	static __thread char b[64];

	if (WIFEXITED(st))
		snprintf(b, sizeof(b), "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(b, sizeof(b), "killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ?
			 sigabbrev_np(WTERMSIG(st)) : "?");
	else
		snprintf(b, sizeof(b), "status 0x%x", st);
	return b;
}

static inline int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return st;
}

/*
 * Run this same program again with argv[1..] = args: with plain != 0 the
 * new image starts without LD_PRELOAD (a kernel-only peer), else it keeps
 * the environment (accelerated peer when run under libvelo).
 */
static inline pid_t spawn_self(char *const args[], int plain)
{
	pid_t pid = fork();

	NEED(pid >= 0);
	if (pid == 0) {
		char *argv[16];
		int i;

		argv[0] = "self";
		for (i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		argv[i + 1] = NULL;
		if (plain)
			unsetenv("LD_PRELOAD");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

/*
 * Make at least n file descriptors available (raising the hard limit needs
 * root). Without them the program says so and exits 0: the same transcript
 * natively and under libvelo, so the rule is then simply not tested.
 */
static inline void need_nofile(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= n)
		return;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		say("cannot raise RLIMIT_NOFILE to %lu: not tested here", (unsigned long)n);
		exit(0);
	}
}

static inline int sig_install(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static inline const char *tcp_state_name(int s)
{
	static const char *const n[] = { "?", "ESTABLISHED", "SYN_SENT",
		"SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
		"CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };

	return s >= 0 && s < (int)(sizeof(n) / sizeof(n[0])) ? n[s] : "?";
}

/* An int option of @fd (the call must succeed). */
static inline int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	NEED(getsockopt(fd, level, name, &v, &l) == 0);
	return v;
}

static inline int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -1;
	return ti.tcpi_state;
}

/* Poll until the TCP state of fd is st (bounded); returns 1 when reached. */
static inline int wait_state(int fd, int st, int timeout_ms)
{
	long end = now_ms() + timeout_ms;

	while (tcp_state(fd) != st) {
		if (now_ms() > end)
			return 0;
		msleep(2);
	}
	return 1;
}

/*
 * A thread that sends sig to a target thread every period_ms until stopped;
 * used to interrupt a blocking call no matter when it starts blocking.
 */
struct sigpump {
	pthread_t thr;
	pthread_t target;
	int sig;
	int period_ms;
	int delay_ms;
	volatile int stop;
	int sent;
};

static inline void *sigpump_main(void *arg)
{
	struct sigpump *p = arg;

	msleep(p->delay_ms);
	while (!p->stop) {
		pthread_kill(p->target, p->sig);
		p->sent++;
		msleep(p->period_ms);
	}
	return NULL;
}

static inline void sigpump_start(struct sigpump *p, int sig, int delay_ms, int period_ms)
{
	memset(p, 0, sizeof(*p));
	p->target = pthread_self();
	p->sig = sig;
	p->delay_ms = delay_ms;
	p->period_ms = period_ms;
	NEED(pthread_create(&p->thr, NULL, sigpump_main, p) == 0);
}

static inline void sigpump_stop(struct sigpump *p)
{
	p->stop = 1;
	pthread_join(p->thr, NULL);
}

#endif /* VELO_DIFF_H */
