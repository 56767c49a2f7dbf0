// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown: a process holding a stack with a recorded open connection is
 * SIGKILLed; the module RSTs the peer (a real kernel TCP socket in the peer
 * netns, connected through a handshake done with raw frames on the stack's
 * rings), which must see ECONNRESET within a second: with a connected
 * filter for it (an active open's), and with only the listening filter
 * that steered it (an accepted connection). Records the stack does not own
 * are refused and counted.
 */
#include <poll.h>
#include <stdbool.h>

#include "velo_test.h"

#define PORT 7000
#define ISS 1000000

/* The peer: connect, report, then block in recv() until reset. */
static void peer(int ready, int result)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct timeval tv = { .tv_sec = 5 };
	int64_t t;
	char c;
	int fd;

	if (vt_enter_peer())
		_exit(1);
	inet_pton(AF_INET, "10.9.0.1", &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (void *)&sin, sizeof(sin)))
		_exit(2);
	if (write(ready, "c", 1) != 1)
		_exit(3);
	/* The parent writes the kill time (after the kill) to @result. */
	if (recv(fd, &c, 1, 0) != -1 || errno != ECONNRESET)
		_exit(4);
	t = vt_now_ns();
	if (write(result, &t, sizeof(t)) != sizeof(t))
		_exit(5);
	_exit(0);
}

/* Tell the parent (blocked on @ready) which step failed. */
static void server_fail(int ready, char code)
{
	if (write(ready, &code, 1) != 1)
		_exit(1);
	_exit(code);
}

/*
 * The stack process: answer the peer's SYN with a SYN-ACK from the rings
 * (with a connected filter for it when @connected), record the connection,
 * say so on @ready, and wait to be killed.
 */
static void server(int ready, bool connected)
{
	uint8_t frame[128];
	struct vt_stack t;
	struct vt_tuple l, c;
	struct vt_cqe *e;
	const uint8_t *f;
	const struct tcphdr *th;
	struct velo_conn *rec;
	uint32_t peer_seq;

	if (vt_stack_open(&t, "v0", 256 * 1024))
		server_fail(ready, 10);
	vt_post_rx(&t, 16);
	vt_tuple4(&l, "10.9.0.1", PORT, "0.0.0.0", 0);
	if (vt_filter(&t, &l, VELO_FILTER_F_LISTEN, NULL))
		server_fail(ready, 11);
	if (write(ready, "s", 1) != 1)
		server_fail(ready, 12);
	e = vt_cq_wait(&t, &t.rcq, 5000);
	if (!e)
		server_fail(ready, 13);
	f = t.buf + (uint64_t)(be16toh(e->wqe_counter) & 63) * VT_SLOT;
	th = (const void *)(f + 14 + 20);
	if (!th->syn)
		server_fail(ready, 14);
	peer_seq = ntohl(th->seq);
	vt_tuple4(&c, "10.9.0.1", PORT, "10.9.0.2", ntohs(th->source));
	if (connected && vt_filter(&t, &c, 0, NULL))
		server_fail(ready, 15);
	/* Record the connection before it exists for the peer. */
	rec = &t.conns[3];
	rec->family = AF_INET;
	memcpy(rec->peer_mac, f + 6, 6);
	memcpy(rec->laddr, c.saddr, 16);
	memcpy(rec->raddr, c.daddr, 16);
	rec->lport = htons(c.sport);
	rec->rport = htons(c.dport);
	rec->snd_nxt = ISS + 1;
	rec->rcv_nxt = peer_seq + 1;
	__atomic_store_n(&rec->state, VELO_CONN_OPEN, __ATOMIC_RELEASE);
	/* A record for a port the stack has no filter on: refused at teardown. */
	t.conns[5] = *rec;
	t.conns[5].lport = htons(PORT + 1);
	vt_tcp_frame(frame, vt_mac0, f + 6, &c, ISS, peer_seq + 1, VT_SYN | VT_ACK, NULL, 0);
	if (vt_send(&t, frame, 54, 0, 0))
		server_fail(ready, 16);
	for (;;)
		pause();
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static int sigkill_rsts_peer(bool connected)
{
	long long rst0 = vt_sysfs_u64("/sys/kernel/velo/stats/rst_sent");
	long long bad0 = vt_sysfs_u64("/sys/kernel/velo/stats/rst_refused");
	int ready[2], result[2];
	pid_t srv, cli;
	int64_t killed, reset;
	int st = 0;
	char c;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(pipe(ready) == 0 && pipe(result) == 0);
	srv = fork();
	if (srv == 0)
		server(ready[1], connected);
	/* The server writes "s" when listening, or the code of a failed step. */
	KTAP_EXPECT(read(ready[0], &c, 1) == 1 && c == 's');
	cli = fork();
	if (cli == 0)
		peer(ready[1], result[1]);
	if (!readable(ready[0], 8000) || read(ready[0], &c, 1) != 1 || c != 'c') {
		pid_t w = waitpid(srv, &st, WNOHANG);

		ktap_diag("no connection: server step %d failed (%d: status %#x)", c, w, st);
		return KTAP_FAIL;
	}
	usleep(100000);
	killed = vt_now_ns();
	kill(srv, SIGKILL);
	KTAP_EXPECT(waitpid(srv, &st, 0) == srv && WIFSIGNALED(st));
	KTAP_EXPECT(readable(result[0], 3000));
	KTAP_EXPECT(read(result[0], &reset, sizeof(reset)) == sizeof(reset));
	KTAP_EXPECT(waitpid(cli, &st, 0) == cli && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ktap_diag("peer reset %lld us after SIGKILL", (long long)(reset - killed) / 1000);
	KTAP_EXPECT(reset - killed < 1000000000LL);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/rst_sent") == rst0 + 1);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stats/rst_refused") == bad0 + 1);
	return KTAP_PASS;
}

static int sigkill_rsts_connected_peer(void)
{
	return sigkill_rsts_peer(true);
}

static int sigkill_rsts_accepted_peer(void)
{
	return sigkill_rsts_peer(false);
}

/* A stack shared with a child dies with the last holder, not the first. */
static int fork_keeps_stack(void)
{
	struct vt_stack t;
	uint32_t id;
	pid_t pid;
	int st;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", 256 * 1024) == 0);
	id = t.c.stack_id;
	close(t.dev);
	pid = fork();
	if (pid == 0) {
		close(t.fd);	/* the child keeps only the mapping */
		usleep(300000);
		t.conns[0].state = 7;	/* still mapped and writable */
		_exit(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/ifindex", id) > 0 ? 0 : 1);
	}
	munmap(t.map, t.c.mmap_size);
	close(t.fd);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/ifindex", id) > 0);
	KTAP_EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/ifindex", id) == -1);
	return KTAP_PASS;
}

/* velo.ko cannot be unloaded while a stack lives, even as a mapping only. */
static int unload_refused_with_live_stack(void)
{
	struct vt_stack t;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", 256 * 1024) == 0);
	close(t.fd);
	close(t.dev);
	KTAP_EXPECT(system("/sbin/rmmod velo 2>/dev/null") != 0);
	KTAP_EXPECT(access("/dev/velo", F_OK) == 0);
	t.conns[0].state = 0;	/* the mapping still works */
	munmap(t.map, t.c.mmap_size);
	return KTAP_PASS;
}

/* In the peer: wait for the IPv6 RST of a record; 0 when right. */
static int peer_expect_rst6(int ready)
{
	int64_t deadline = vt_now_ns() + 2000000000LL;
	uint8_t f[2048];
	int fd;

	if (vt_enter_peer())
		return 1;
	fd = vt_packet_socket("v1");
	if (fd < 0 || write(ready, "r", 1) != 1)
		return 2;
	while (vt_now_ns() < deadline) {
		ssize_t n = recv(fd, f, sizeof(f), 0);
		const struct tcphdr *th = (const void *)(f + 54);
		uint32_t sum;

		if (n != 74 || f[12] != 0x86 || f[13] != 0xdd || f[20] != IPPROTO_TCP ||
		    ntohs(th->source) != 7100)
			continue;
		sum = vt_csum_add(0, f + 22, 32);	/* addresses */
		sum += IPPROTO_TCP + 20;
		if (!th->rst || !th->ack || ntohl(th->seq) != 0x11223344 ||
		    ntohl(th->ack_seq) != 0x55667788 || memcmp(f, vt_mac1, 6) ||
		    vt_csum_fold(vt_csum_add(sum, th, 20)))
			return 3;
		return 0;
	}
	return 4;
}

/* IPv6: closing the stack (no kill) RSTs its recorded connection too. */
static int close_rsts_ipv6(void)
{
	struct velo_conn *rec;
	struct vt_stack t;
	struct vt_tuple c;
	int ready[2], st;
	char ch;
	pid_t pid;

	KTAP_EXPECT(vt_setup() == 0);
	/* The peer first: a child forked later would hold the stack too. */
	KTAP_EXPECT(pipe(ready) == 0);
	pid = fork();
	if (pid == 0)
		_exit(peer_expect_rst6(ready[1]));
	KTAP_EXPECT(read(ready[0], &ch, 1) == 1);
	KTAP_EXPECT(vt_stack_open(&t, "v0", 256 * 1024) == 0);
	vt_tuple6(&c, "fd09::1", 7100, "fd09::2", 7101);
	KTAP_EXPECT(vt_filter(&t, &c, 0, NULL) == 0);
	rec = &t.conns[15];
	rec->family = AF_INET6;
	memcpy(rec->peer_mac, vt_mac1, 6);
	memcpy(rec->laddr, c.saddr, 16);
	memcpy(rec->raddr, c.daddr, 16);
	rec->lport = htons(7100);
	rec->rport = htons(7101);
	rec->snd_nxt = 0x11223344;
	rec->rcv_nxt = 0x55667788;
	rec->state = VELO_CONN_OPEN;
	vt_stack_close(&t);
	KTAP_EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st))
		ktap_diag("peer check %d failed", WEXITSTATUS(st));
	KTAP_EXPECT(WEXITSTATUS(st) == 0);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "close_rsts_ipv6_record", close_rsts_ipv6, 0 },
	{ "unload_refused_with_live_stack", unload_refused_with_live_stack, 0 },
	{ "sigkill_rsts_peer_within_1s", sigkill_rsts_connected_peer, 0 },
	{ "sigkill_rsts_accepted_peer_within_1s", sigkill_rsts_accepted_peer, 0 },
	{ "fork_keeps_stack_until_last_holder", fork_keeps_stack, 0 },
};

KTAP_MAIN(cases)
