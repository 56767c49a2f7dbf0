// SPDX-License-Identifier: GPL-2.0
/*
 * The wire stack against the kernel's TCP over a veth: active open and 10 MB
 * each way with verified data (throughput beside the kernel's in the same
 * run), passive open, graceful close delivering everything before the FIN,
 * RST both ways, a blocked recv interrupted by a signal, IPv6 (global and
 * link-local), the readiness eventfd, and the stack lock's cost.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include "wire_lib.h"

#define PORT 5201
#define BULK (10 * MIB)

/* Peer: accept one connection, read BULK of stream 1, send BULK of stream 2, wait EOF. */
static int bulk_server(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	uint64_t sum = 0;

	if (fd < 0 || kernel_recv_stream(fd, 1, BULK, &sum) != BULK)
		return 10;
	if (kernel_send_stream(fd, 2, BULK))
		return 11;
	if (kernel_recv_stream(fd, 1, 0, &sum) != 0) /* EOF, nothing more */
		return 12;
	close(fd);
	return 0;
}

/* The kernel's own client on the same path, for the figure beside ours. */
static double kernel_bulk(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, PEER, PORT, &ss);
	int fd = socket(family, SOCK_STREAM, 0);
	uint64_t sum = 0, t0 = now_ns();

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) ||
	    kernel_send_stream(fd, 1, BULK) || kernel_recv_stream(fd, 2, BULK, &sum) != BULK)
		return -1;
	close(fd);
	return secs_since(t0);
}

static int bulk_case(int family)
{
	int lfd = peer_listener(family, PORT), s, rc;
	struct velo_wire_stack *st;
	struct velo_wire_stats stats;
	uint64_t sum = 0, t0;
	double wire_s, kern_s;
	pid_t pid;

	KTAP_EXPECT(lfd >= 0);
	pid = peer_spawn(bulk_server, &lfd);
	t0 = now_ns();
	s = wire_dial(family, PORT, &st);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(wire_send_stream(st, s, 1, BULK) == 0);
	KTAP_EXPECT(wire_recv_stream(st, s, 2, BULK, &sum) == BULK);
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	wire_s = secs_since(t0);
	rc = peer_wait(pid);
	KTAP_EXPECT(rc == 0);
	velo_wire_get_stats(st, &stats);
	ktap_diag("wire: %u queue(s), %llu frames in, %llu out, %llu tx drops, %llu thread loops",
		  stats.queues, (unsigned long long)stats.rx_frames,
		  (unsigned long long)stats.tx_frames, (unsigned long long)stats.tx_dropped,
		  (unsigned long long)stats.wakeups);
	velo_wire_shutdown_all();

	pid = peer_spawn(bulk_server, &lfd);
	kern_s = kernel_bulk(family);
	KTAP_EXPECT(peer_wait(pid) == 0 && kern_s > 0);
	ktap_diag("IPv%d 10 MiB each way (connect..close): wire %.1f MB/s, kernel %.1f MB/s "
		  "(data checked, fnv %016llx)", family == AF_INET ? 4 : 6,
		  2 * BULK / wire_s / 1e6, 2 * BULK / kern_s / 1e6, (unsigned long long)sum);
	close(lfd);
	return KTAP_PASS;
}

static int bulk_v4(void)
{
	return bulk_case(AF_INET);
}

/* shutdown(SHUT_WR) after sending: the peer reads EOF, answers, and we read to EOF. */
static int half_close(void)
{
	int lfd = peer_listener(AF_INET, PORT), s;
	struct sockaddr_storage name, expect;
	socklen_t len = sizeof(name);
	struct velo_wire_stack *st;
	uint64_t sum = 0;
	pid_t pid;

	KTAP_EXPECT(lfd >= 0);
	pid = peer_spawn(bulk_server, &lfd);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(velo_wire_getpeername(st, s, (struct sockaddr *)&name, &len) == 0);
	sockaddr_of(AF_INET, PEER, PORT, &expect);
	KTAP_EXPECT(!memcmp(&name, &expect, sizeof(struct sockaddr_in)));
	KTAP_EXPECT(wire_send_stream(st, s, 1, BULK) == 0);
	KTAP_EXPECT(velo_wire_shutdown(st, s, SHUT_WR) == 0);
	KTAP_EXPECT(velo_wire_send(st, s, "x", 1, 0, -1) == -EPIPE);
	KTAP_EXPECT(wire_recv_stream(st, s, 2, 0, &sum) == BULK); /* then EOF */
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

static int bulk_v6(void)
{
	return bulk_case(AF_INET6);
}

/* Peer: connect to the sut, send 1 MiB of stream 3, half-close, read stream 4 to EOF. */
static int passive_client(void *arg)
{
	int family = *(int *)arg, fd = kernel_connect(family, PEER, 0, PORT);
	uint64_t sum = 0;
	int64_t got;

	if (fd < 0 || connect_result(fd, 10000))
		return 20;
	fcntl(fd, F_SETFL, 0);
	if (kernel_send_stream(fd, 3, MIB) || shutdown(fd, SHUT_WR))
		return 21;
	got = kernel_recv_stream(fd, 4, 0, &sum); /* everything, then the FIN */
	return got == 4 * MIB ? 0 : 22;
}

static int listen_on(struct velo_wire_stack *st, int family, uint16_t port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };

	((struct sockaddr_in *)&ss)->sin_port = htons(port);
	int l = velo_wire_socket(st, family);

	if (l < 0 || velo_wire_bind(st, l, (struct sockaddr *)&ss, sizeof(ss)) ||
	    velo_wire_listen(st, l, 16))
		return -1;
	return l;
}

/* Passive open from a kernel client; the close right after the last send delivers it all. */
static int passive_case(int family)
{
	struct sockaddr_storage ss;
	struct velo_wire_stack *st;
	uint64_t sum = 0;
	int err, l, a;
	pid_t pid;

	sockaddr_of(family, PEER, 0, &ss);
	st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
	KTAP_EXPECT(st);
	l = listen_on(st, family, PORT);
	KTAP_EXPECT(l >= 0);
	pid = peer_spawn(passive_client, &family);
	a = velo_wire_accept(st, l, NULL, NULL, false, 10000);
	if (a < 0)
		ktap_diag("accept: %s", strerror(-a));
	KTAP_EXPECT(a >= 0);
	KTAP_EXPECT(wire_recv_stream(st, a, 3, 0, &sum) == MIB);
	KTAP_EXPECT(wire_send_stream(st, a, 4, 4 * MIB) == 0);
	KTAP_EXPECT(velo_wire_close(st, a) == 0); /* at once: graceful close must deliver */
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_close(st, l);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

static int passive_v4(void)
{
	return passive_case(AF_INET);
}

static int passive_v6(void)
{
	return passive_case(AF_INET6);
}

/* Peer: accept, then either expect a reset (arg 0) or reset the connection itself (arg 1). */
static int rst_server(void *arg)
{
	int *a = arg, fd = accept(a[0], NULL, NULL);
	struct linger lg = { 1, 0 };
	char c;

	if (fd < 0)
		return 30;
	if (a[1]) {
		if (read(fd, &c, 1) != 1)
			return 31;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return 0;
	}
	return read(fd, &c, 1) < 0 && errno == ECONNRESET ? 0 : 32;
}

static int rst_case(int peer_resets)
{
	int args[2] = { peer_listener(AF_INET, PORT), peer_resets }, s;
	struct velo_wire_stack *st;
	char c = 'x', buf[8];
	ssize_t n;
	pid_t pid;

	KTAP_EXPECT(args[0] >= 0);
	pid = peer_spawn(rst_server, args);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	if (peer_resets) {
		KTAP_EXPECT(velo_wire_send(st, s, &c, 1, 0, -1) == 1);
		n = velo_wire_recv(st, s, buf, sizeof(buf), 0, 10000);
		KTAP_EXPECT(n == -ECONNRESET);
		KTAP_EXPECT(velo_wire_events(st, s) & VTCP_EV_HUP);
	} else {
		KTAP_EXPECT(velo_wire_set_linger(st, s, 1, 0) == 0);
	}
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

static int rst_from_sut(void)
{
	return rst_case(0);
}

static int rst_from_peer(void)
{
	return rst_case(1);
}

/* Peer: accept and hold the connection silent until the sut closes it. */
static int quiet_server(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	char c;

	return fd >= 0 && read(fd, &c, 1) == 0 ? 0 : 40;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A blocked recv returns -EINTR on a signal (no SA_RESTART: the caller decides). */
static int recv_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 300000 } };
	int lfd = peer_listener(AF_INET, PORT), s;
	struct velo_wire_stack *st;
	uint64_t t0;
	char buf[16];
	pid_t pid;

	KTAP_EXPECT(lfd >= 0);
	pid = peer_spawn(quiet_server, &lfd);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	sigaction(SIGALRM, &sa, NULL);
	alarm(0);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_ns();
	KTAP_EXPECT(velo_wire_recv(st, s, buf, sizeof(buf), 0, -1) == -EINTR);
	KTAP_EXPECT(secs_since(t0) >= 0.25);
	/* a timeout (SO_RCVTIMEO) gives -EAGAIN; MSG_DONTWAIT at once */
	KTAP_EXPECT(velo_wire_recv(st, s, buf, sizeof(buf), 0, 200) == -EAGAIN);
	KTAP_EXPECT(velo_wire_recv(st, s, buf, sizeof(buf), MSG_DONTWAIT, -1) == -EAGAIN);
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* Peer: accept, wait for a byte, answer with one, then wait for EOF. */
static int ping_server(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	char c;

	if (fd < 0 || read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1)
		return 50;
	return read(fd, &c, 1) == 0 ? 0 : 51;
}

static int fd_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The ready fd is readable exactly while the socket is ready for its interest. */
static int ready_fd(void)
{
	int lfd = peer_listener(AF_INET, PORT), s, fd;
	struct velo_wire_stack *st;
	char c = 'p';
	pid_t pid;

	KTAP_EXPECT(lfd >= 0);
	pid = peer_spawn(ping_server, &lfd);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	fd = velo_wire_ready_fd(st, s);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(!fd_readable(fd, 100)); /* interest: readable; nothing yet */
	velo_wire_set_interest(st, s, VTCP_EV_WRITABLE);
	KTAP_EXPECT(fd_readable(fd, 0));
	velo_wire_set_interest(st, s, VTCP_EV_READABLE);
	KTAP_EXPECT(!fd_readable(fd, 0));
	KTAP_EXPECT(velo_wire_send(st, s, &c, 1, 0, -1) == 1);
	KTAP_EXPECT(fd_readable(fd, 10000)); /* the progress thread saw the answer */
	KTAP_EXPECT(velo_wire_wait(st, s, VTCP_EV_READABLE, 0) & VTCP_EV_READABLE);
	c = 0;
	KTAP_EXPECT(velo_wire_recv(st, s, &c, 1, MSG_PEEK, -1) == 1 && c == 'p');
	KTAP_EXPECT(fd_readable(fd, 0)); /* a peek leaves it readable */
	c = 0;
	KTAP_EXPECT(velo_wire_recv(st, s, &c, 1, 0, -1) == 1 && c == 'p');
	KTAP_EXPECT(!fd_readable(fd, 0));
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

struct reader {
	struct velo_wire_stack *st;
	int s;
	ssize_t got;
	char c;
};

static void *blocked_reader(void *arg)
{
	struct reader *r = arg;

	r->got = velo_wire_recv(r->st, r->s, &r->c, 1, 0, 20000);
	return NULL;
}

/*
 * One thread blocked in recv while another sends on the same socket (the
 * lock is not held while sleeping); the ready fd in an epoll set beside a
 * kernel fd reports the socket.
 */
static int threads_and_epoll(void)
{
	int lfd = peer_listener(AF_INET, PORT), s, ep, pipefd[2];
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	struct velo_wire_stack *st;
	struct reader r;
	pthread_t t;
	pid_t pid;

	KTAP_EXPECT(lfd >= 0 && pipe(pipefd) == 0);
	pid = peer_spawn(ping_server, &lfd);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	ep = epoll_create1(0);
	ev.data.u32 = 1;
	KTAP_EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, velo_wire_ready_fd(st, s), &ev) == 0);
	ev.data.u32 = 2;
	KTAP_EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) == 0);
	KTAP_EXPECT(epoll_wait(ep, out, 4, 100) == 0);
	r = (struct reader){ .st = st, .s = s };
	KTAP_EXPECT(pthread_create(&t, NULL, blocked_reader, &r) == 0);
	usleep(100000); /* let it block */
	KTAP_EXPECT(velo_wire_send(st, s, "t", 1, 0, -1) == 1);
	KTAP_EXPECT(pthread_join(t, NULL) == 0);
	KTAP_EXPECT(r.got == 1 && r.c == 't');
	KTAP_EXPECT(velo_wire_shutdown(st, s, SHUT_WR) == 0);
	/* the peer's FIN makes the socket readable (EOF): epoll says so */
	KTAP_EXPECT(epoll_wait(ep, out, 4, 10000) == 1 && out[0].data.u32 == 1);
	KTAP_EXPECT(velo_wire_events(st, s) & VTCP_EV_READABLE);
	KTAP_EXPECT(velo_wire_recv(st, s, &r.c, 1, 0, -1) == 0);
	close(ep);
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* IPv6 link-local, scope id given as the interface index. */
static int v6_linklocal(void)
{
	int lfd, s, err;
	struct sockaddr_in6 peer = { .sin6_family = AF_INET6, .sin6_port = htons(PORT) };
	struct velo_wire_stack *st;
	char c = 'l';
	pid_t pid;

	if (sh("ip -n %s addr add fe80::99:1/64 dev %s nodad && "
	       "ip -n %s addr add fe80::99:2/64 dev %s nodad",
	       net.ns[SUT], net.ifname[SUT], net.ns[PEER], net.ifname[PEER]))
		return KTAP_FAIL;
	net_enter(PEER);
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	KTAP_EXPECT(lfd >= 0 && bind(lfd, (struct sockaddr *)&peer, sizeof(peer)) == 0 &&
		    listen(lfd, 4) == 0);
	net_enter(SUT);
	pid = peer_spawn(ping_server, &lfd);
	inet_pton(AF_INET6, "fe80::99:2", &peer.sin6_addr);
	peer.sin6_scope_id = if_nametoindex(net.ifname[SUT]);
	st = velo_wire_stack_for((struct sockaddr *)&peer, &err);
	KTAP_EXPECT(st);
	s = velo_wire_socket(st, AF_INET6);
	err = velo_wire_connect(st, s, (struct sockaddr *)&peer, sizeof(peer), false, 10000);
	if (err)
		ktap_diag("link-local connect: %s", strerror(-err));
	KTAP_EXPECT(err == 0);
	KTAP_EXPECT(velo_wire_send(st, s, &c, 1, 0, -1) == 1);
	KTAP_EXPECT(velo_wire_recv(st, s, &c, 1, 0, 10000) == 1 && c == 'l');
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* While a wire connection holds its local port, the kernel cannot bind it. */
static int port_reserved(void)
{
	int lfd = peer_listener(AF_INET, PORT), s, fd, one = 1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct velo_wire_stack *st;
	pid_t pid;

	KTAP_EXPECT(lfd >= 0);
	pid = peer_spawn(quiet_server, &lfd);
	s = wire_dial(AF_INET, PORT, &st);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(velo_wire_getsockname(st, s, (struct sockaddr *)&ss, &len) == 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	KTAP_EXPECT(bind(fd, (struct sockaddr *)&ss, len) == -1 && errno == EADDRINUSE);
	ktap_diag("kernel bind() to the wire connection's port %u: EADDRINUSE",
		  ntohs(((struct sockaddr_in *)&ss)->sin_port));
	close(fd);
	KTAP_EXPECT(velo_wire_close(st, s) == 0);
	KTAP_EXPECT(peer_wait(pid) == 0);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

/* The stack lock uncontended: what every call pays on top of the engine. */
static int lock_cost(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	const int n = 1000000;
	struct velo_wire_stack *st;
	uint64_t t0;
	double lock_ns, call_ns;
	int s;

	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	}
	lock_ns = (double)(now_ns() - t0) / n;
	{
		struct sockaddr_storage ss;
		int err;

		sockaddr_of(AF_INET, PEER, 0, &ss);
		st = velo_wire_stack_for((struct sockaddr *)&ss, &err);
		KTAP_EXPECT(st);
	}
	s = velo_wire_socket(st, AF_INET);
	KTAP_EXPECT(s >= 0);
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		velo_wire_events(st, s);
	call_ns = (double)(now_ns() - t0) / n;
	ktap_diag("uncontended lock+unlock %.1f ns; velo_wire_events() (lock, engine, unlock) "
		  "%.1f ns", lock_ns, call_ns);
	velo_wire_close(st, s);
	velo_wire_shutdown_all();
	return KTAP_PASS;
}

#define NET_CASE(name)                   \
	static int net_##name(void)      \
	{                                \
		xdp_require();           \
		return with_net(2, name); \
	}

NET_CASE(bulk_v4)
NET_CASE(bulk_v6)
NET_CASE(half_close)
NET_CASE(passive_v4)
NET_CASE(passive_v6)
NET_CASE(rst_from_sut)
NET_CASE(rst_from_peer)
NET_CASE(recv_eintr)
NET_CASE(ready_fd)
NET_CASE(threads_and_epoll)
NET_CASE(v6_linklocal)
NET_CASE(port_reserved)
NET_CASE(lock_cost)

static const struct ktap_case cases[] = {
	{ "active_open_bulk_10m_v4", net_bulk_v4, 90 },
	{ "active_open_bulk_10m_v6", net_bulk_v6, 90 },
	{ "half_close_shutdown_wr", net_half_close, 60 },
	{ "passive_open_graceful_close_v4", net_passive_v4, 60 },
	{ "passive_open_graceful_close_v6", net_passive_v6, 60 },
	{ "rst_from_sut_linger0", net_rst_from_sut, 60 },
	{ "rst_from_peer", net_rst_from_peer, 60 },
	{ "recv_eintr_timeout_dontwait", net_recv_eintr, 60 },
	{ "ready_fd_follows_readiness", net_ready_fd, 60 },
	{ "threads_and_epoll", net_threads_and_epoll, 60 },
	{ "ipv6_link_local_scope", net_v6_linklocal, 60 },
	{ "port_reserved_in_kernel", net_port_reserved, 60 },
	{ "lock_cost", net_lock_cost, 60 },
};

KTAP_MAIN(cases)
