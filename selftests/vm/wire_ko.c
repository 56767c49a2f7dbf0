// SPDX-License-Identifier: GPL-2.0
/*
 * libvelo's wire path on velo.ko's rings: this program, re-executed as
 * "client" under LD_PRELOAD=libvelo.so with VELO_WIRE=on, echoes 1 MiB
 * through a kernel server in the peer netns over veth and closes. With the
 * default backend (auto) the wire stack must be velo.ko's: libvelo's
 * wire_stacks_ko counter, velo.ko's frame counters move by the transfer,
 * and its filters and stack are gone when the client has exited. With
 * VELO_WIRE_BACKEND=xdp the stack must be on AF_XDP and velo.ko see no
 * frame (skipped if AF_XDP makes no stack here: the client then uses the
 * kernel). A client SIGKILLed with its connection open must have the
 * server reset by velo.ko (libvelo's connection record), and so must a
 * server's kernel client, its connection accepted from the engine. A
 * client that forks must hand its connection to the kernel's TCP for the
 * child.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "velo_test.h"
#include "common/stats.h"

#define LIBVELO "/usr/lib/libvelo.so"
#define BYTES (1u << 20)
#define CHUNK 16384
#define CHILD_LIFETIME_S 40

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 131 + (i >> 11)) & 0xff);
}

/* The client's sender: the pattern, while the main thread reads the echo. */
static void *send_all(void *arg)
{
	static uint8_t buf[CHUNK];
	int fd = *(int *)arg;
	size_t sent = 0;
	ssize_t r;

	while (sent < BYTES) {
		size_t n = BYTES - sent < CHUNK ? BYTES - sent : CHUNK;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(sent + i);
		r = send(fd, buf, n, 0);
		if (r <= 0)
			return (void *)1;
		sent += (size_t)r;
	}
	return NULL;
}

/* Reads the echo; 0 when it is the pattern, byte for byte. */
static int recv_echo(int fd)
{
	static uint8_t buf[CHUNK];
	size_t got = 0;
	ssize_t r;

	while (got < BYTES) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return 1;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i))
				return 2;
		got += (size_t)r;
	}
	return 0;
}

/* Prints libvelo's wire counters: stacks on velo.ko, on AF_XDP, connects, handed to the kernel. */
static int print_counters(void)
{
	const struct velo_stats *st = velo_stats_map(getpid());

	if (!st)
		return 15;
	printf("%llu %llu %llu %llu\n", (unsigned long long)st->ctr[VELO_STAT_WIRE_STACKS_KO],
	       (unsigned long long)st->ctr[VELO_STAT_WIRE_STACKS_XDP],
	       (unsigned long long)st->ctr[VELO_STAT_WIRE_CONNECTS],
	       (unsigned long long)st->ctr[VELO_STAT_WIRE_MOVED]);
	fflush(stdout);
	velo_stats_unmap(st);
	return 0;
}

/* With the connection open, one byte echoed: counters out, then wait to be killed. */
static int hold_open(int fd)
{
	char c = 'x';

	if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1 || print_counters())
		return 16;
	pause();
	return 17;
}

/* The echo on @fd, in a forked child (the connection is handed to the kernel). */
static int echo_in_child(int fd)
{
	int status = -1;
	pid_t c = fork();

	if (c == 0) {
		pthread_t tx;
		void *tx_ret = NULL;
		int code;

		if (pthread_create(&tx, NULL, send_all, &fd))
			_exit(11);
		code = recv_echo(fd);
		pthread_join(tx, &tx_ret);
		_exit(code ? code : tx_ret ? 12 : 0);
	}
	waitpid(c, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 18;
}

/* A second connection to the server from another thread (its backlog takes it). */
static void *connect_other(void *arg)
{
	struct sockaddr_in a = *(struct sockaddr_in *)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	intptr_t bad = connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0;

	close(fd);
	return (void *)bad;
}

/*
 * Exit 0: echoed, EOF after shutdown, closed; then the counters. @mode 'h':
 * hold_open() instead; 'f': the echo in a forked child; 't': another
 * thread connects too (per-thread stacks: its own).
 */
static int client(uint16_t port, char mode)
{
	struct timeval tv = { .tv_sec = 20 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	pthread_t tx;
	void *tx_ret;
	char c;
	int fd = socket(AF_INET, SOCK_STREAM, 0), code;

	inet_pton(AF_INET, "10.9.0.2", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return 10;
	if (mode == 'h')
		return hold_open(fd);
	if (mode == 't' && (pthread_create(&tx, NULL, connect_other, &a) ||
			    pthread_join(tx, &tx_ret) || tx_ret))
		return 19;
	if (mode == 'f') {
		code = echo_in_child(fd);
	} else {
		if (pthread_create(&tx, NULL, send_all, &fd))
			return 11;
		code = recv_echo(fd);
		pthread_join(tx, &tx_ret);
		if (!code && tx_ret)
			code = 12;
	}
	if (!code && (shutdown(fd, SHUT_WR) || recv(fd, &c, 1, 0) != 0))
		code = 13;
	if (close(fd) && !code)
		code = 14;
	return print_counters() ? 15 : code;
}

/*
 * Under libvelo: a listener on the wire whose engine part is up before the
 * client comes (the non-blocking accept), one connection accepted from the
 * engine and echoed by a forked child (handed to the kernel at the fork,
 * through the listener's 3-tuple filter), then the counters. Exit: the
 * child's. @hold: hold_open() on the connection instead.
 */
static int fork_server(uint16_t port, bool hold)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static uint8_t buf[CHUNK];
	int l = socket(AF_INET, SOCK_STREAM, 0), c, one = 1, status = -1;
	ssize_t r;
	pid_t child;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4))
		return 40;
	/* only starts the engine's listener: nobody has come yet */
	if (fcntl(l, F_SETFL, O_NONBLOCK) || accept(l, NULL, NULL) >= 0 || errno != EAGAIN ||
	    fcntl(l, F_SETFL, 0))
		return 41;
	printf("listening\n");
	fflush(stdout);
	c = accept(l, NULL, NULL);
	if (c < 0)
		return 42;
	if (hold)
		return hold_open(c);
	child = fork();
	if (child == 0) {
		while ((r = recv(c, buf, sizeof(buf), 0)) > 0)
			if (send(c, buf, (size_t)r, 0) != r)
				_exit(43);
		_exit(r == 0 && !close(c) ? 0 : 44);
	}
	close(c);
	waitpid(child, &status, 0);
	if (print_counters())
		return 15;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 45;
}

/* In the peer: a connection to fork_server(). */
static int peer_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 20 };
	int fd;

	alarm(CHILD_LIFETIME_S);
	if (vt_enter_peer())
		_exit(20);
	inet_pton(AF_INET, "10.9.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		_exit(21);
	return fd;
}

/* In the peer: hold_open()'s byte back, then exit 0 when reset. */
static void peer_held(uint16_t port)
{
	int fd = peer_connect(port);
	char c;

	if (recv(fd, &c, 1, 0) != 1 || send(fd, &c, 1, 0) != 1)
		_exit(22);
	_exit(recv(fd, &c, 1, 0) == -1 && errno == ECONNRESET ? 0 : 23);
}

/* In the peer: the echo through fork_server(); exit 0 when byte-exact with EOF. */
static void peer_client(uint16_t port)
{
	pthread_t tx;
	void *tx_ret = NULL;
	int fd = peer_connect(port), code;
	char c;

	if (pthread_create(&tx, NULL, send_all, &fd))
		_exit(21);
	code = recv_echo(fd);
	pthread_join(tx, &tx_ret);
	if (!code && (tx_ret || shutdown(fd, SHUT_WR) || recv(fd, &c, 1, 0) != 0))
		code = 22;
	_exit(code);
}

/*
 * In the peer: echoes one connection until EOF or an error. Exit 0: EOF
 * after BYTES; SERVER_RESET: reset by the peer.
 */
#define SERVER_RESET 2
static void echo_server(uint16_t port, int ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 20 };
	static uint8_t buf[CHUNK];
	size_t total = 0;
	ssize_t r;
	int l, fd, one = 1;

	alarm(CHILD_LIFETIME_S);
	if (vt_enter_peer())
		_exit(20);
	inet_pton(AF_INET, "10.9.0.2", &a.sin_addr);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) || write(ready, "r", 1) != 1)
		_exit(21);
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		_exit(22);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (send(fd, buf, (size_t)r, 0) != r)
			_exit(23);
		total += (size_t)r;
	}
	if (r < 0)
		_exit(errno == ECONNRESET ? SERVER_RESET : 24);
	_exit(total == BYTES && !close(fd) ? 0 : 25);
}

struct run {
	int client_status, server_status;
	unsigned long long stacks_ko, stacks_xdp, connects, moved;
	long long rx_frames, tx_frames;	/* velo.ko's, during the run */
};

static long long velo_cnt(const char *name)
{
	return vt_sysfs_u64("/sys/kernel/velo/stats/%s", name);
}

/*
 * Whether velo.ko's @name counter is back to @want, or below, within 5 s
 * (stack teardown: the dead client's files are released after its exit).
 * Below: the previous test's processes may still have been going when
 * @want was read (its forked server's stack was, twice in CI, and the
 * count then fell under it for good).
 */
static int settles(const char *name, long long want)
{
	for (int i = 0; i < 500 && velo_cnt(name) > want; i++)
		usleep(10000);
	return velo_cnt(name) <= want;
}

static void exec_client(uint16_t port, const char *backend, const char *mode, int out)
{
	char arg[8];

	alarm(CHILD_LIFETIME_S);
	if (dup2(out, STDOUT_FILENO) < 0)
		_exit(30);
	snprintf(arg, sizeof(arg), "%u", port);
	setenv("LD_PRELOAD", LIBVELO, 1);
	setenv("VELO_WIRE", "on", 1);
	if (!strcmp(mode, "threads"))
		setenv("VELO_WIRE_PER_THREAD", "on", 1);
	if (backend)
		setenv("VELO_WIRE_BACKEND", backend, 1);
	else	/* the backend choice, in the KTAP log (libbpf is verbose: not for xdp) */
		setenv("VELO_LOG", "debug", 1);
	execl("/proc/self/exe", "wire_ko", mode, arg, (char *)NULL);
	_exit(31);
}

/*
 * The server in the peer, the client here under libvelo with @backend
 * (NULL: default) in @mode: "client" (the echo) or "hold" (then SIGKILLed).
 */
static int run_echo(uint16_t port, const char *backend, const char *mode, struct run *r)
{
	int ready[2], out[2];
	pid_t server, cl;
	char c, line[128] = "";
	int64_t start = vt_now_ns();
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (vt_setup() || pipe(ready) || pipe(out))
		return -1;
	server = fork();
	if (server == 0)
		echo_server(port, ready[1]);
	if (server < 0 || read(ready[0], &c, 1) != 1)
		return -1;
	r->rx_frames = -velo_cnt("rx_frames");
	r->tx_frames = -velo_cnt("tx_frames");
	cl = fork();
	if (cl == 0)
		exec_client(port, backend, mode, out[1]);
	close(out[1]);
	f = fdopen(out[0], "r");
	if (cl < 0 || !f)
		return -1;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "%llu %llu %llu %llu", &r->stacks_ko, &r->stacks_xdp, &r->connects,
		   &r->moved) != 4)
		ktap_diag("client printed no counters: '%s'", line);
	if (!strcmp(mode, "hold"))
		kill(cl, SIGKILL);
	fclose(f);
	waitpid(cl, &r->client_status, 0);
	waitpid(server, &r->server_status, 0);
	r->rx_frames += velo_cnt("rx_frames");
	r->tx_frames += velo_cnt("tx_frames");
	ktap_diag("client status %#x, server status %#x, stacks ko %llu xdp %llu, connects %llu, "
		  "to the kernel %llu, velo.ko rx %lld tx %lld frames, %lld ms", r->client_status,
		  r->server_status, r->stacks_ko, r->stacks_xdp, r->connects, r->moved,
		  r->rx_frames, r->tx_frames,
		  (long long)((vt_now_ns() - start) / 1000000));
	return 0;
}

/* At least one full-sized segment's worth of frames for the data each way. */
#define MIN_FRAMES (BYTES / 1500)

static int test_auto_uses_ko(void)
{
	long long filters = velo_cnt("filters"), stacks = velo_cnt("stacks");
	struct run r;

	KTAP_EXPECT(run_echo(7301, NULL, "client", &r) == 0);
	KTAP_EXPECT(r.client_status == 0 && r.server_status == 0);
	KTAP_EXPECT(r.stacks_ko == 1 && r.stacks_xdp == 0 && r.connects == 1);
	KTAP_EXPECT(r.rx_frames >= MIN_FRAMES && r.tx_frames >= MIN_FRAMES);
	/* the client's exit closed its stack: velo.ko removed its filters */
	KTAP_EXPECT(settles("filters", filters) && settles("stacks", stacks));
	return KTAP_PASS;
}

static int test_forced_xdp(void)
{
	struct run r;

	KTAP_EXPECT(run_echo(7302, "xdp", "client", &r) == 0);
	KTAP_EXPECT(r.client_status == 0 && r.server_status == 0);
	KTAP_EXPECT(r.stacks_ko == 0);
	if (!r.stacks_xdp) {
		ktap_diag("no AF_XDP stack in this VM: the client used the kernel");
		return KTAP_SKIP;
	}
	KTAP_EXPECT(r.connects == 1 && r.rx_frames == 0 && r.tx_frames == 0);
	return KTAP_PASS;
}

static int test_sigkill_resets_peer(void)
{
	long long rst = velo_cnt("rst_sent"), invalid = velo_cnt("rst_refused");
	struct run r;

	KTAP_EXPECT(run_echo(7303, NULL, "hold", &r) == 0);
	ktap_diag("velo.ko rst_sent +%lld, rst_refused +%lld", velo_cnt("rst_sent") - rst,
		  velo_cnt("rst_refused") - invalid);
	KTAP_EXPECT(r.stacks_ko == 1 && r.connects == 1);
	KTAP_EXPECT(WIFSIGNALED(r.client_status) && WTERMSIG(r.client_status) == SIGKILL);
	KTAP_EXPECT(WIFEXITED(r.server_status) && WEXITSTATUS(r.server_status) == SERVER_RESET);
	KTAP_EXPECT(velo_cnt("rst_sent") == rst + 1);
	return KTAP_PASS;
}

/*
 * A forked child echoes through the parent's connection: it was handed to
 * the kernel's TCP at the fork (TCP_REPAIR) and its velo.ko filter went,
 * so the data flows through the kernel and not velo.ko's rings.
 */
static int test_fork_hands_to_kernel(void)
{
	struct run r;

	KTAP_EXPECT(run_echo(7304, NULL, "fork", &r) == 0);
	KTAP_EXPECT(r.client_status == 0 && r.server_status == 0);
	KTAP_EXPECT(r.stacks_ko == 1 && r.connects == 1 && r.moved == 1);
	KTAP_EXPECT(r.rx_frames < MIN_FRAMES && r.tx_frames < MIN_FRAMES);
	return KTAP_PASS;
}

/*
 * fork_server() here under libvelo in @mode ("fserver" or "hserver", then
 * SIGKILLed once it printed its counters) and @peer, its client, in the peer.
 */
static int run_server(uint16_t port, const char *mode, void (*peer)(uint16_t), struct run *r)
{
	int out[2];
	pid_t server, client;
	char line[128] = "";
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (vt_setup() || pipe(out))
		return -1;
	r->rx_frames = -velo_cnt("rx_frames");
	server = fork();
	if (server == 0)
		exec_client(port, NULL, mode, out[1]);
	close(out[1]);
	f = fdopen(out[0], "r");
	if (server < 0 || !f || !fgets(line, sizeof(line), f) || strcmp(line, "listening\n"))
		return -1;
	client = fork();
	if (client == 0)
		peer(port);
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "%llu %llu %llu %llu", &r->stacks_ko, &r->stacks_xdp, &r->connects,
		   &r->moved) != 4)
		ktap_diag("server printed no counters: '%s'", line);
	if (!strcmp(mode, "hserver"))
		kill(server, SIGKILL);
	fclose(f);
	waitpid(server, &r->server_status, 0);
	waitpid(client, &r->client_status, 0);
	r->rx_frames += velo_cnt("rx_frames");
	ktap_diag("server status %#x, client status %#x, stacks ko %llu, to the kernel %llu, "
		  "velo.ko rx %lld frames", r->server_status, r->client_status, r->stacks_ko,
		  r->moved, r->rx_frames);
	return 0;
}

/*
 * A connection the listener accepted from the engine (velo.ko's 3-tuple
 * filter steers it), served by a forked child: handed to the kernel, and
 * velo.ko's soft provider then leaves its segments to the kernel's socket.
 */
static int test_accepted_fork_hands_to_kernel(void)
{
	struct run r;

	KTAP_EXPECT(run_server(7305, "fserver", peer_client, &r) == 0);
	KTAP_EXPECT(r.server_status == 0 && r.client_status == 0);
	KTAP_EXPECT(r.stacks_ko == 1 && r.moved == 1 && r.rx_frames < MIN_FRAMES);
	return KTAP_PASS;
}

/*
 * A server SIGKILLed with a connection it accepted from the engine open:
 * velo.ko resets the client from libvelo's record, which its listener's
 * filter covers.
 */
static int test_sigkill_resets_accepted_peer(void)
{
	long long rst = velo_cnt("rst_sent"), refused = velo_cnt("rst_refused");
	struct run r;

	KTAP_EXPECT(run_server(7306, "hserver", peer_held, &r) == 0);
	ktap_diag("velo.ko rst_sent +%lld, rst_refused +%lld", velo_cnt("rst_sent") - rst,
		  velo_cnt("rst_refused") - refused);
	KTAP_EXPECT(r.stacks_ko == 1);
	KTAP_EXPECT(WIFSIGNALED(r.server_status) && WTERMSIG(r.server_status) == SIGKILL);
	KTAP_EXPECT(WIFEXITED(r.client_status) && WEXITSTATUS(r.client_status) == 0);
	KTAP_EXPECT(velo_cnt("rst_sent") == rst + 1 && velo_cnt("rst_refused") == refused);
	return KTAP_PASS;
}

/*
 * Per-thread stacks: a connection from another thread has a velo.ko stack
 * of its own, and the main thread's echo is whole.
 */
static int test_per_thread_stacks(void)
{
	long long filters = velo_cnt("filters"), stacks = velo_cnt("stacks");
	struct run r;

	KTAP_EXPECT(run_echo(7306, NULL, "threads", &r) == 0);
	KTAP_EXPECT(r.client_status == 0 && r.server_status == 0);
	KTAP_EXPECT(r.stacks_ko == 2 && r.stacks_xdp == 0 && r.connects == 2);
	KTAP_EXPECT(settles("filters", filters) && settles("stacks", stacks));
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "wire_auto_uses_velo_ko", test_auto_uses_ko, 0 },
	{ "wire_backend_xdp_forced", test_forced_xdp, 0 },
	{ "wire_ko_sigkill_resets_peer", test_sigkill_resets_peer, 0 },
	{ "wire_ko_fork_hands_to_kernel", test_fork_hands_to_kernel, 0 },
	{ "wire_ko_accepted_fork_hands_to_kernel", test_accepted_fork_hands_to_kernel, 0 },
	{ "wire_ko_sigkill_resets_accepted_peer", test_sigkill_resets_accepted_peer, 0 },
	{ "wire_ko_per_thread_stacks", test_per_thread_stacks, 0 },
};

int main(int argc, char **argv)
{
	if (argc == 3 && (!strcmp(argv[1], "client") || !strcmp(argv[1], "hold") ||
			  !strcmp(argv[1], "fork") || !strcmp(argv[1], "threads")))
		return client((uint16_t)atoi(argv[2]), argv[1][0]);
	if (argc == 3 && (!strcmp(argv[1], "fserver") || !strcmp(argv[1], "hserver")))
		return fork_server((uint16_t)atoi(argv[2]), argv[1][0] == 'h');
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
