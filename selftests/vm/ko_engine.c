// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP engine on velo.ko through libvelo's driver (user/ko), against
 * kernel TCP in a peer netns over veth: an active open with a few MB each
 * way (FNV-1a checksums compared) and a graceful close, passive opens
 * from a kernel client over IPv4 and IPv6, a SIGKILLed engine process
 * whose connection record makes velo.ko reset the kernel peer, and a
 * busy-polling host under doorbell polling that makes no system call.
 */
#include <poll.h>

#include "ko_host.h"

#define BULK (3 << 20)
#define CHUNK 65536
/* Children outlive a failed case's early return: bound their lives. */
#define CHILD_LIFETIME_S 40

static uint8_t pattern(size_t i, unsigned int salt)
{
	return (uint8_t)((i * 131 + (i >> 9) + salt) & 0xff);
}

struct fnv {
	uint64_t h;
};

static void fnv_add(struct fnv *f, const uint8_t *p, size_t n)
{
	while (n--) {
		f->h ^= *p++;
		f->h *= 0x100000001b3ULL;
	}
}

static uint64_t pattern_fnv(size_t len, unsigned int salt)
{
	struct fnv f = { 0xcbf29ce484222325ULL };
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t b = pattern(i, salt);

		fnv_add(&f, &b, 1);
	}
	return f.h;
}

static void fill_pattern(uint8_t *buf, size_t off, size_t n, unsigned int salt)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = pattern(off + i, salt);
}

/* Kernel side: receive @len bytes, send @len back, then expect EOF. */
static int kernel_exchange(int fd, size_t len, uint64_t *rx_fnv)
{
	struct fnv f = { 0xcbf29ce484222325ULL };
	static uint8_t buf[CHUNK];
	size_t got = 0, sent = 0;
	ssize_t r;

	while (got < len) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return 20;
		fnv_add(&f, buf, r);
		got += r;
	}
	*rx_fnv = f.h;
	while (sent < len) {
		size_t n = len - sent < CHUNK ? len - sent : CHUNK;

		fill_pattern(buf, sent, n, 2);
		r = send(fd, buf, n, 0);
		if (r <= 0)
			return 21;
		sent += r;
	}
	return recv(fd, buf, 1, 0) == 0 ? 0 : 22;
}

static void report(int out, int code, uint64_t fnv)
{
	if (write(out, &fnv, sizeof(fnv)) != sizeof(fnv))
		code = 30;
	_exit(code);
}

/* In the peer: a kernel server on 10.9.0.2:@port; "r" on @ready when listening. */
static void kernel_server(uint16_t port, int ready, int out)
{
	struct timeval tv = { .tv_sec = 20 };
	struct sockaddr_storage ss;
	socklen_t len = ko_addr(&ss, "10.9.0.2", port);
	uint64_t fnv = 0;
	int l, fd, code, one = 1;

	alarm(CHILD_LIFETIME_S);
	if (vt_enter_peer())
		_exit(10);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (void *)&ss, len) || listen(l, 1) || write(ready, "r", 1) != 1)
		_exit(11);
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		_exit(12);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	code = kernel_exchange(fd, BULK, &fnv);
	report(out, code, fnv);
}

/* In the peer: a kernel client of @ip:@port. */
static void kernel_client(const char *ip, uint16_t port, int out)
{
	struct timeval tv = { .tv_sec = 20 };
	struct sockaddr_storage ss;
	socklen_t len = ko_addr(&ss, ip, port);
	uint64_t fnv = 0;
	int fd, code;

	alarm(CHILD_LIFETIME_S);
	if (vt_enter_peer())
		_exit(10);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (void *)&ss, len))
		_exit(11);
	code = kernel_exchange(fd, BULK, &fnv);
	report(out, code, fnv);
}

/* The engine's half of kernel_exchange: send, receive, shut down, see EOF. */
struct engine_xfer {
	size_t sent, got;
	struct fnv rx;
	int shut, eof;
};

/* Returns 1 when done, 0 to go on, -1 on an error. */
static int engine_xfer_turn(struct ko_host *h, int s, struct engine_xfer *x)
{
	static uint8_t buf[CHUNK];
	ssize_t r;

	if (x->sent < BULK) {
		size_t n = BULK - x->sent < CHUNK ? BULK - x->sent : CHUNK;

		fill_pattern(buf, x->sent, n, 1);
		r = vtcp_send(h->st, s, buf, n, 0);
		if (r < 0 && r != -EAGAIN)
			return -1;
		x->sent += r > 0 ? r : 0;
	}
	for (;;) {
		r = vtcp_recv(h->st, s, buf, sizeof(buf), 0);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return -1;
		if (r == 0) {
			x->eof = 1;
			break;
		}
		fnv_add(&x->rx, buf, r);
		x->got += r;
	}
	if (x->got == BULK && x->sent == BULK && !x->shut) {
		x->shut = 1;
		if (vtcp_shutdown(h->st, s, SHUT_WR))
			return -1;
	}
	return x->eof;
}

static void print_stats(struct ko_host *h)
{
	static const char *const cnt[] = {
		"rx_frames", "rx_drop_no_wqe", "rx_drop_cq_full", "tx_frames",
		"tx_drop_spoof", "tx_drop_bad_frame", "tx_drop_bad_wqe", "tx_drop_dev",
	};
	struct velo_ko_stats s;
	size_t i;

	velo_ko_get_stats(h->k, &s);
	ktap_diag("driver: rx %llu frames, tx %llu frames, err cqes %llu/%llu, kicks %llu, waits %llu",
		  (unsigned long long)s.rx_frames, (unsigned long long)s.tx_frames,
		  (unsigned long long)s.rx_err_cqes, (unsigned long long)s.tx_err_cqes,
		  (unsigned long long)s.kicks, (unsigned long long)s.waits);
	for (i = 0; i < sizeof(cnt) / sizeof(cnt[0]); i++)
		ktap_diag("velo.ko: %s %lld", cnt[i],
			  vt_sysfs_u64("/sys/kernel/velo/stacks/%u/%s", velo_ko_stack_id(h->k), cnt[i]));
}

/* Drive the transfer on @s to its end, then close and let the last ACK go. */
static int engine_xfer(struct ko_host *h, int s, int64_t ms)
{
	struct engine_xfer x = { .rx = { 0xcbf29ce484222325ULL } };
	uint64_t limit = ko_host_now() + ms * 1000000ULL;
	int64_t t0 = vt_now_ns();
	int r;

	while (!(r = engine_xfer_turn(h, s, &x)) && ko_host_now() < limit)
		ko_host_step(h, ko_host_now() + 10000000);
	ktap_diag("engine: sent %zu, received %zu in %lld ms, eof %d", x.sent, x.got,
		  (long long)(vt_now_ns() - t0) / 1000000, x.eof);
	if (r != 1 || x.got != BULK || x.rx.h != pattern_fnv(BULK, 2)) {
		print_stats(h);
		return -1;
	}
	if (vtcp_close(h->st, s))
		return -1;
	ko_host_step(h, ko_host_now());
	return 0;
}

/* Wait for a peer child's verdict: its received data's FNV-1a and exit code. */
static int peer_verdict(struct ko_host *h, pid_t pid, int in)
{
	uint64_t limit = ko_host_now() + 5000000000ULL, fnv = 0;
	struct pollfd p = { .fd = in, .events = POLLIN };
	int st;

	/* Keep the engine running: the peer may still need an ACK. */
	while (!poll(&p, 1, 0) && ko_host_now() < limit)
		ko_host_step(h, ko_host_now() + 10000000);
	if (read(in, &fnv, sizeof(fnv)) != sizeof(fnv) || waitpid(pid, &st, 0) != pid ||
	    !WIFEXITED(st)) {
		ktap_diag("peer: no verdict");
		return -1;
	}
	if (WEXITSTATUS(st) || fnv != pattern_fnv(BULK, 1)) {
		ktap_diag("peer: exit %d, checksum %s", WEXITSTATUS(st),
			  fnv == pattern_fnv(BULK, 1) ? "ok" : "wrong");
		return -1;
	}
	return 0;
}

static int engine_connect(struct ko_host *h, uint16_t lport, uint16_t rport)
{
	struct sockaddr_storage ss;
	int s = vtcp_socket(h->st, AF_INET);
	socklen_t len = ko_addr(&ss, "10.9.0.1", lport);

	if (s < 0 || vtcp_bind(h->st, s, (void *)&ss, len) ||
	    ko_host_filter(h, "10.9.0.1", lport, "10.9.0.2", rport))
		return -1;
	len = ko_addr(&ss, "10.9.0.2", rport);
	if (vtcp_connect(h->st, s, (void *)&ss, len) != -EINPROGRESS)
		return -1;
	return s;
}


static int active_open_bulk_close(void)
{
	int ready[2], verdict[2], s;
	struct ko_host h;
	pid_t pid;
	char c;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(pipe(ready) == 0 && pipe(verdict) == 0);
	pid = fork();
	if (pid == 0)
		kernel_server(7001, ready[1], verdict[1]);
	KTAP_EXPECT(read(ready[0], &c, 1) == 1);
	KTAP_EXPECT(ko_host_open(&h, "v0", "10.9.0.1", "10.9.0.2") == 0);
	s = engine_connect(&h, 40001, 7001);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(engine_xfer(&h, s, 30000) == 0);
	KTAP_EXPECT(peer_verdict(&h, pid, verdict[0]) == 0);
	print_stats(&h);
	KTAP_EXPECT(h.tx_failed == 0);
	ko_host_close(&h);
	return KTAP_PASS;
}

/* A kernel client of @ip:@port (the engine's) from @peer: accept, bulk, close. */
static int passive_open(const char *ip, const char *peer, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = ko_addr(&ss, ip, port);
	int verdict[2], l, s = -1;
	struct ko_host h;
	uint64_t limit;
	pid_t pid;

	KTAP_EXPECT(vt_setup() == 0);
	/* vt_setup() makes IPv4 neighbour entries only. */
	if (ss.ss_family == AF_INET6)
		KTAP_EXPECT(vt_sh("/usr/bin/ip -6 neigh replace fd09::2 lladdr 02:00:00:00:00:02 dev v0") == 0);
	KTAP_EXPECT(pipe(verdict) == 0);
	KTAP_EXPECT(ko_host_open(&h, "v0", ip, peer) == 0);
	KTAP_EXPECT(ko_host_filter(&h, ip, port, NULL, 0) == 0);
	l = vtcp_socket(h.st, ss.ss_family);
	KTAP_EXPECT(l >= 0 && vtcp_bind(h.st, l, (void *)&ss, len) == 0);
	KTAP_EXPECT(vtcp_listen(h.st, l, 4) == 0);
	pid = fork();
	if (pid == 0)
		kernel_client(ip, port, verdict[1]);
	limit = ko_host_now() + 5000000000ULL;
	while ((s = vtcp_accept(h.st, l, NULL, NULL)) == -EAGAIN && ko_host_now() < limit)
		ko_host_step(&h, ko_host_now() + 10000000);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(engine_xfer(&h, s, 30000) == 0);
	KTAP_EXPECT(peer_verdict(&h, pid, verdict[0]) == 0);
	print_stats(&h);
	ko_host_close(&h);
	return KTAP_PASS;
}

static int passive_open_bulk_close(void)
{
	return passive_open("10.9.0.1", "10.9.0.2", 7002);
}

static int passive_open_v6_bulk_close(void)
{
	return passive_open("fd09::1", "fd09::2", 7006);
}

/*
 * Doorbell polling with a busy-polling host: the whole connection, 3 MB
 * each way, makes one system call (the kick that arms polling).
 */
static int db_poll_bulk_no_syscalls(void)
{
	int ready[2], verdict[2], s;
	struct velo_ko_stats st;
	struct ko_host h;
	pid_t pid;
	char c;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(pipe(ready) == 0 && pipe(verdict) == 0);
	pid = fork();
	if (pid == 0)
		kernel_server(7004, ready[1], verdict[1]);
	KTAP_EXPECT(read(ready[0], &c, 1) == 1);
	KTAP_EXPECT(ko_set_db_poll_us("50") == 0);
	KTAP_EXPECT(ko_host_open(&h, "v0", "10.9.0.1", "10.9.0.2") == 0);
	h.spin = 1;
	s = engine_connect(&h, 40004, 7004);
	KTAP_EXPECT(s >= 0);
	KTAP_EXPECT(engine_xfer(&h, s, 30000) == 0);
	KTAP_EXPECT(peer_verdict(&h, pid, verdict[0]) == 0);
	print_stats(&h);
	velo_ko_get_stats(h.k, &st);
	ktap_diag("%llu frames, %llu system calls", (unsigned long long)(st.rx_frames + st.tx_frames),
		  (unsigned long long)(st.kicks + st.waits));
	KTAP_EXPECT(st.db_poll && st.kicks == 1 && st.waits == 0 && h.tx_failed == 0);
	ko_host_close(&h);
	KTAP_EXPECT(ko_set_db_poll_us("0") == 0);
	return KTAP_PASS;
}

/*
 * The engine process: connect, claim the connection's record, exchange a
 * little, report "e" once everything it sent is acknowledged, then keep
 * running (the record current) until killed.
 */
static void engine_victim(uint16_t lport, uint16_t rport, int ready)
{
	static const char msg[] = "hello from the engine";
	struct velo_ko_flow fl = { .family = AF_INET, .local_port = lport, .remote_port = rport };
	uint8_t peer_mac[6];
	struct vtcp_info ti;
	struct ko_host h;
	int s, said = 0;

	alarm(CHILD_LIFETIME_S);
	if (ko_host_open(&h, "v0", "10.9.0.1", "10.9.0.2"))
		_exit(10);
	s = engine_connect(&h, lport, rport);
	inet_pton(AF_INET, "10.9.0.1", fl.local_addr);
	inet_pton(AF_INET, "10.9.0.2", fl.remote_addr);
	if (s < 0 || ko_host_kernel_neigh("10.9.0.2", "v0", peer_mac))
		_exit(11);
	/* Claimed before the SYN leaves; ko_host_track keeps it current. */
	h.conn = 0;
	h.conn_lport = lport;
	h.conn_rport = rport;
	if (velo_ko_conn_open(h.k, 0, &fl, peer_mac, 0, 0))
		_exit(12);
	for (;;) {
		if (!said && vtcp_send(h.st, s, msg, sizeof(msg), 0) == sizeof(msg))
			said = 1;
		if (said == 1 && !vtcp_get_info(h.st, s, &ti) && !ti.tcpi_unacked) {
			said = 2;
			if (write(ready, "e", 1) != 1)
				_exit(13);
		}
		ko_host_step(&h, ko_host_now() + 50000000);
	}
}

/* In the peer: accept, read the engine's message, report, block in recv. */
static void kernel_victim_peer(uint16_t port, int ready, int result)
{
	struct timeval tv = { .tv_sec = 10 };
	struct sockaddr_storage ss;
	socklen_t len = ko_addr(&ss, "10.9.0.2", port);
	char buf[64];
	int64_t t;
	int l, fd, one = 1;

	alarm(CHILD_LIFETIME_S);
	if (vt_enter_peer())
		_exit(10);
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (void *)&ss, len) || listen(l, 1) || write(ready, "r", 1) != 1)
		_exit(11);
	fd = accept(l, NULL, NULL);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || recv(fd, buf, sizeof(buf), 0) <= 0 || write(ready, "p", 1) != 1)
		_exit(12);
	if (recv(fd, buf, 1, 0) != -1 || errno != ECONNRESET)
		_exit(13);
	t = vt_now_ns();
	_exit(write(result, &t, sizeof(t)) == sizeof(t) ? 0 : 14);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static int expect_byte(int fd, char want, int ms)
{
	char c = 0;

	if (!readable(fd, ms) || read(fd, &c, 1) != 1 || c != want) {
		ktap_diag("expected '%c', got '%c'", want, c);
		return -1;
	}
	return 0;
}

static int sigkill_resets_peer(void)
{
	int srv_ready[2], eng_ready[2], result[2], st;
	int64_t killed, reset;
	pid_t srv, eng;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(pipe(srv_ready) == 0 && pipe(eng_ready) == 0 && pipe(result) == 0);
	srv = fork();
	if (srv == 0)
		kernel_victim_peer(7003, srv_ready[1], result[1]);
	KTAP_EXPECT(expect_byte(srv_ready[0], 'r', 3000) == 0);
	eng = fork();
	if (eng == 0)
		engine_victim(40003, 7003, eng_ready[1]);
	KTAP_EXPECT(expect_byte(srv_ready[0], 'p', 8000) == 0);
	KTAP_EXPECT(expect_byte(eng_ready[0], 'e', 8000) == 0);
	killed = vt_now_ns();
	kill(eng, SIGKILL);
	KTAP_EXPECT(waitpid(eng, &st, 0) == eng && WIFSIGNALED(st));
	KTAP_EXPECT(readable(result[0], 3000));
	KTAP_EXPECT(read(result[0], &reset, sizeof(reset)) == sizeof(reset));
	KTAP_EXPECT(waitpid(srv, &st, 0) == srv && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ktap_diag("kernel peer reset %lld us after SIGKILL", (long long)(reset - killed) / 1000);
	KTAP_EXPECT(reset - killed < 1000000000LL);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "ko_engine_active_open_bulk_close", active_open_bulk_close, 50 },
	{ "ko_engine_passive_open_bulk_close", passive_open_bulk_close, 50 },
	{ "ko_engine_passive_open_v6_bulk_close", passive_open_v6_bulk_close, 50 },
	{ "ko_engine_sigkill_resets_peer", sigkill_resets_peer, 20 },
	{ "ko_engine_db_poll_bulk_no_syscalls", db_poll_bulk_no_syscalls, 50 },
};

int main(void)
{
	int r = ktap_run(cases, sizeof(cases) / sizeof(cases[0]));

	ko_set_db_poll_us("0");	/* even after a failed case */
	return r;
}
