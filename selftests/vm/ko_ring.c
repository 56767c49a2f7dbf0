// SPDX-License-Identifier: GPL-2.0
/*
 * libvelo's velo.ko driver (user/ko) on the soft provider, against a peer
 * packet socket in another netns over veth: sent frames arrive byte-exact
 * and in order while multi-WQEBB WQEs wrap around a small SQ, received
 * frames arrive in order while the CQ wraps many times, refused frames
 * come back as error CQEs, and with doorbell polling steady-state sends
 * make no system call.
 */
#include <poll.h>

#include "ko_host.h"

#define FRAMES 120
#define BATCH 8

static int ko_open(struct velo_ko **k, uint32_t log_size, uint32_t tx_inline)
{
	struct velo_ko_config cfg = {
		.ifname = "v0",
		.log_sq_size = log_size,
		.log_rq_size = log_size,
		.log_cq_size = log_size,
		.tx_inline = tx_inline,
	};

	return velo_ko_open(&cfg, k);
}

static int ko_filter(struct velo_ko *k, const struct vt_tuple *u)
{
	struct velo_ko_flow fl = { .family = u->family };
	uint64_t h;

	memcpy(fl.local_addr, u->saddr, 16);
	memcpy(fl.remote_addr, u->daddr, 16);
	fl.local_port = u->sport;
	fl.remote_port = u->dport;
	return velo_ko_filter_add(k, &fl, 0, &h);
}

/* Frame @i of a flow: sizes from 1 to 1400 payload bytes, a pattern of i. */
static unsigned int test_frame(uint8_t *f, const uint8_t *src, const uint8_t *dst,
			       const struct vt_tuple *u, unsigned int i)
{
	unsigned int dlen = 1 + (i * 397) % 1400, j;
	uint8_t data[1400];

	for (j = 0; j < dlen; j++)
		data[j] = (uint8_t)(i * 31 + j);
	return vt_tcp_frame(f, src, dst, u, i, 1, VT_ACK | VT_PSH, data, dlen);
}

/*
 * Send one frame. Without a free buffer, wait for send completions: in
 * VELO_IOC_WAIT, or with @spin by polling the send CQ (no system call).
 */
static int ko_send_spin(struct velo_ko *k, const uint8_t *frame, unsigned int len, int spin)
{
	int64_t deadline = vt_now_ns() + 2000000000LL;
	struct velo_ko_frame f;

	while (!velo_ko_tx_alloc(k, &f, 1))
		if (vt_now_ns() > deadline || (!spin && velo_ko_wait(k, deadline) < 0))
			return -1;
	memcpy(f.data, frame, len);
	f.len = len;
	velo_ko_tx_submit(k, &f, 1, 0);
	return 0;
}

static int ko_send(struct velo_ko *k, const uint8_t *frame, unsigned int len)
{
	return ko_send_spin(k, frame, len, 0);
}

/* In the peer: expect frames 0..n-1 of @u in order, byte-exact. */
static int peer_expect_all(const struct vt_tuple *u, unsigned int n, int ready)
{
	uint8_t want[1600];
	unsigned int i, len;
	int fd, rcvbuf = 4 << 20;

	if (vt_enter_peer())
		return 10;
	fd = vt_packet_socket("v1");
	if (fd < 0)
		return 11;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (write(ready, "r", 1) != 1)
		return 12;
	for (i = 0; i < n; i++) {
		len = test_frame(want, vt_mac0, vt_mac1, u, i);
		if (vt_packet_expect(fd, want, len, 3000)) {
			printf("# peer: frame %u missing or out of order\n", i);
			return 1;
		}
	}
	return 0;
}

static pid_t fork_peer_expect(const struct vt_tuple *u, unsigned int n)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(peer_expect_all(u, n, pfd[1]));
	if (read(pfd[0], &c, 1) != 1)
		pid = -1;
	close(pfd[0]);
	close(pfd[1]);
	return pid;
}

static int child_status(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int send_all(struct velo_ko *k, const struct vt_tuple *u, unsigned int n, int spin)
{
	uint8_t frame[1600];
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ko_send_spin(k, frame, test_frame(frame, vt_mac0, vt_mac1, u, i), spin))
			return -1;
	return 0;
}

/*
 * 16 WQEBBs, WQEs of up to 5 (256 inline bytes, then a data segment):
 * 120 frames wrap the SQ about 25 times, WQEs straddling its end.
 */
static int tx_wrap_byte_exact(void)
{
	struct velo_ko_stats s;
	struct velo_ko *k;
	struct vt_tuple u;
	pid_t peer;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(ko_open(&k, 4, 256) == 0);
	vt_tuple4(&u, "10.9.0.1", 6000, "10.9.0.2", 6001);
	KTAP_EXPECT(ko_filter(k, &u) == 0);
	peer = fork_peer_expect(&u, FRAMES);
	KTAP_EXPECT(peer > 0);
	KTAP_EXPECT(send_all(k, &u, FRAMES, 0) == 0);
	KTAP_EXPECT(child_status(peer) == 0);
	velo_ko_tx_reap(k);
	velo_ko_get_stats(k, &s);
	ktap_diag("tx_frames %llu, kicks %llu, err cqes %llu",
		  (unsigned long long)s.tx_frames, (unsigned long long)s.kicks,
		  (unsigned long long)s.tx_err_cqes);
	KTAP_EXPECT(s.tx_frames == FRAMES && s.tx_err_cqes == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/tx_frames",
				 velo_ko_stack_id(k)) == FRAMES);
	velo_ko_close(k);
	return KTAP_PASS;
}

/* In the peer: send frames 0..n-1 of @u, BATCH at a time, each batch on a byte from @go. */
static int peer_send_all(const struct vt_tuple *u, unsigned int n, int go)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IPV6),
		.sll_halen = 6,
	};
	uint8_t frame[1600];
	unsigned int i, len;
	char c;
	int fd;

	if (vt_enter_peer())
		return 10;
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return 13;
	sll.sll_ifindex = if_nametoindex("v1");
	memcpy(sll.sll_addr, vt_mac0, 6);
	for (i = 0; i < n; i++) {
		if (i % BATCH == 0 && read(go, &c, 1) != 1)
			return 11;
		len = test_frame(frame, vt_mac1, vt_mac0, u, i);
		if (sendto(fd, frame, len, 0, (void *)&sll, sizeof(sll)) != (ssize_t)len)
			return 12;
	}
	return 0;
}

static int check_rx(const struct velo_ko_frame *f, const struct vt_tuple *u, unsigned int i)
{
	uint8_t want[1600];
	unsigned int len = test_frame(want, vt_mac1, vt_mac0, u, i);

	if (f->len != len || memcmp(f->data, want, len)) {
		ktap_diag("received frame %u: %u bytes, want %u, %s", i, f->len, len,
			  f->len == len ? "content differs" : "length differs");
		return -1;
	}
	return 0;
}

/* Receive n frames of @peer_u in order; the peer sends a batch per byte on @go. */
static int recv_all(struct velo_ko *k, const struct vt_tuple *peer_u, unsigned int n, int go)
{
	int64_t deadline = vt_now_ns() + 10000000000LL;
	struct pollfd p = { .fd = velo_ko_fd(k), .events = POLLIN };
	struct velo_ko_frame f[BATCH];
	unsigned int got = 0, asked = 0, i, m;

	while (got < n) {
		/* The next batch once the last one is in: the RQ never runs dry. */
		if (asked == got) {
			if (write(go, "g", 1) != 1)
				return -1;
			asked += BATCH;
		}
		m = velo_ko_rx_burst(k, f, BATCH);
		/* Sleep in poll() on the stack fd (the engine test uses VELO_IOC_WAIT). */
		if (!m && (vt_now_ns() > deadline || poll(&p, 1, 100) < 0)) {
			ktap_diag("%u of %u frames received", got, n);
			return -1;
		}
		for (i = 0; i < m; i++)
			if (check_rx(&f[i], peer_u, got + i))
				return -1;
		/* Held until the whole burst is checked, as a TCP engine may. */
		velo_ko_rx_release(k, f, m);
		got += m;
	}
	return 0;
}

/* 120 IPv6 frames through a 16-entry RQ and CQ: the CQ wraps 7 times. */
static int rx_in_order_cq_wrap(void)
{
	struct velo_ko_stats s;
	struct vt_tuple u, peer_u;
	struct velo_ko *k;
	int go[2];
	pid_t peer;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(ko_open(&k, 4, 0) == 0);
	vt_tuple6(&u, "fd09::1", 6000, "fd09::2", 6001);
	vt_tuple6(&peer_u, "fd09::2", 6001, "fd09::1", 6000);
	KTAP_EXPECT(ko_filter(k, &u) == 0);
	KTAP_EXPECT(pipe(go) == 0);
	peer = fork();
	if (peer == 0) {
		close(go[1]);	/* EOF, not a hang, if the test dies */
		_exit(peer_send_all(&peer_u, FRAMES, go[0]));
	}
	KTAP_EXPECT(recv_all(k, &peer_u, FRAMES, go[1]) == 0);
	KTAP_EXPECT(child_status(peer) == 0);
	velo_ko_get_stats(k, &s);
	ktap_diag("rx_frames %llu, err cqes %llu", (unsigned long long)s.rx_frames,
		  (unsigned long long)s.rx_err_cqes);
	KTAP_EXPECT(s.rx_frames == FRAMES && s.rx_err_cqes == 0);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/rx_drop_no_wqe",
				 velo_ko_stack_id(k)) == 0);
	velo_ko_close(k);
	return KTAP_PASS;
}

/* Frames velo.ko refuses come back as error CQEs; their buffers are freed. */
static int tx_error_cqes(void)
{
	static const uint8_t other_mac[6] = { 2, 0, 0, 0, 0, 9 };
	struct velo_ko_frame all[64];
	uint8_t frame[1600];
	struct velo_ko_stats s;
	struct velo_ko *k;
	struct vt_tuple u, foreign;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(ko_open(&k, 4, 0) == 0);
	vt_tuple4(&u, "10.9.0.1", 6000, "10.9.0.2", 6001);
	vt_tuple4(&foreign, "10.9.0.1", 6999, "10.9.0.2", 6001);
	KTAP_EXPECT(ko_filter(k, &u) == 0);
	KTAP_EXPECT(ko_send(k, frame, test_frame(frame, other_mac, vt_mac1, &u, 1)) == 0);
	KTAP_EXPECT(ko_send(k, frame, test_frame(frame, vt_mac0, vt_mac1, &foreign, 2)) == 0);
	KTAP_EXPECT(ko_send(k, frame, test_frame(frame, vt_mac0, vt_mac1, &u, 3)) == 0);
	velo_ko_tx_reap(k);
	velo_ko_get_stats(k, &s);
	ktap_diag("tx err cqes %llu, syndrome %#x", (unsigned long long)s.tx_err_cqes,
		  s.last_err_syndrome);
	KTAP_EXPECT(s.tx_err_cqes == 2 && s.last_err_syndrome == 0x04);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/tx_drop_spoof",
				 velo_ko_stack_id(k)) == 2);
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/tx_frames",
				 velo_ko_stack_id(k)) == 1);
	/* 16 WQEBBs of one-WQEBB WQEs, 16 CQEs: 16 send buffers, all free. */
	KTAP_EXPECT(velo_ko_tx_alloc(k, all, 64) == 16);
	velo_ko_close(k);
	return KTAP_PASS;
}

/*
 * Doorbell polling: one kick arms it, then 120 sends through a 64-WQEBB SQ
 * make no system call (buffers come back by polling the send CQ).
 */
static int tx_db_poll_no_syscall(void)
{
	struct velo_ko_stats s;
	struct velo_ko *k;
	struct vt_tuple u;
	pid_t peer;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(ko_set_db_poll_us("100") == 0);
	KTAP_EXPECT(ko_open(&k, 6, 0) == 0);
	vt_tuple4(&u, "10.9.0.1", 6000, "10.9.0.2", 6001);
	KTAP_EXPECT(ko_filter(k, &u) == 0);
	peer = fork_peer_expect(&u, FRAMES);
	KTAP_EXPECT(peer > 0);
	KTAP_EXPECT(send_all(k, &u, FRAMES, 1) == 0);
	KTAP_EXPECT(child_status(peer) == 0);
	velo_ko_get_stats(k, &s);
	ktap_diag("db_poll %d: %llu frames, %llu kicks, %llu waits", s.db_poll,
		  (unsigned long long)s.tx_frames, (unsigned long long)s.kicks,
		  (unsigned long long)s.waits);
	KTAP_EXPECT(s.db_poll && s.tx_frames == FRAMES && s.kicks == 1 && s.waits == 0);
	velo_ko_close(k);
	KTAP_EXPECT(ko_set_db_poll_us("0") == 0);
	return KTAP_PASS;
}

/* Filter handles: a tuple is registered once, TAKEOVER moves it. */
static int filter_handles_takeover(void)
{
	struct velo_ko_flow conn = { .family = AF_INET, .local_port = 6000, .remote_port = 6001 };
	struct velo_ko_flow listen6 = { .family = AF_INET6, .local_port = 6002 };
	uint64_t h1, h2, h3;
	struct velo_ko *k;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(ko_open(&k, 4, 0) == 0);
	inet_pton(AF_INET, "10.9.0.1", conn.local_addr);
	inet_pton(AF_INET, "10.9.0.2", conn.remote_addr);
	KTAP_EXPECT(velo_ko_filter_add(k, &conn, 0, &h1) == 0);
	KTAP_EXPECT(velo_ko_filter_add(k, &conn, 0, &h2) == -EEXIST);
	KTAP_EXPECT(velo_ko_filter_add(k, &conn, VELO_KO_TAKEOVER, &h2) == 0 && h2 != h1);
	KTAP_EXPECT(velo_ko_filter_remove(k, h1) == -ENOENT);
	KTAP_EXPECT(velo_ko_filter_remove(k, h2) == 0);
	KTAP_EXPECT(velo_ko_filter_add(k, &listen6, 0, &h3) == 0);	/* any local address */
	KTAP_EXPECT(vt_sysfs_u64("/sys/kernel/velo/stacks/%u/filters", velo_ko_stack_id(k)) == 1);
	KTAP_EXPECT(velo_ko_filter_remove(k, h3) == 0);
	listen6.family = AF_UNIX;
	KTAP_EXPECT(velo_ko_filter_add(k, &listen6, 0, &h3) == -EINVAL);
	velo_ko_close(k);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "ko_tx_wrap_byte_exact", tx_wrap_byte_exact, 30 },
	{ "ko_rx_in_order_cq_wrap", rx_in_order_cq_wrap, 30 },
	{ "ko_tx_error_cqes", tx_error_cqes, 20 },
	{ "ko_tx_db_poll_no_syscall", tx_db_poll_no_syscall, 30 },
	{ "ko_filter_handles_takeover", filter_handles_takeover, 10 },
};

int main(void)
{
	int r = ktap_run(cases, sizeof(cases) / sizeof(cases[0]));

	ko_set_db_poll_us("0");	/* even after a failed case */
	return r;
}
