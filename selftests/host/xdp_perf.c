// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XDP backend, figures (printed, not asserted beyond sanity): echo
 * round-trip latency between two XSKs across the veth, and system calls
 * per frame over bursts. Both ends busy-poll, each in its own process.
 */
#include <signal.h>
#include <sys/wait.h>

#include "xdp_lib.h"

#define ECHO_PORT 7100
#define PEER_PORT 40100
#define ROUND_TRIPS 5000
#define WARMUP 200
#define BURST 64
#define BURST_FRAMES 16384

/* Turns a frame around: addresses and ports swap, checksums stay valid. */
static void swap_ends(uint8_t *p, size_t len)
{
	const uint8_t *tcp = tcp_of(p, len);
	size_t off = p[12] == 0x08 ? 14 + 12 : 14 + 8, alen = p[12] == 0x08 ? 4 : 16;
	uint8_t tmp[16];
	size_t t;

	memcpy(tmp, p, 6);
	memcpy(p, p + 6, 6);
	memcpy(p + 6, tmp, 6);
	memcpy(tmp, p + off, alen);
	memmove(p + off, p + off + alen, alen);
	memcpy(p + off + alen, tmp, alen);
	t = (size_t)(tcp - p);
	memcpy(tmp, p + t, 2);
	memcpy(p + t, p + t + 2, 2);
	memcpy(p + t + 2, tmp, 2);
}

static void print_socket_stats(const char *who, struct velo_xsk *x, unsigned long frames)
{
	struct velo_xsk_stats st;

	velo_xsk_get_stats(x, &st);
	ktap_diag("%s: %lu frames, %llu tx kicks, %llu rx wakeups: %.3f syscalls/frame; "
		  "rx dropped %llu, rx ring full %llu, fill empty %llu", who, frames,
		  (unsigned long long)st.tx_kicks, (unsigned long long)st.rx_wakeups,
		  frames ? (double)(st.tx_kicks + st.rx_wakeups) / (double)frames : 0.0,
		  (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
		  (unsigned long long)st.fill_ring_empty);
}

/* The sut's echo loop, in a child: every frame back until one carries FIN. */
static void echo_server(int ready_fd)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, ECHO_PORT);
	struct velo_xsk_frame rx[BURST], tx[BURST];
	struct velo_xsk_filter h;
	unsigned long echoed = 0;
	struct velo_xsk *x;
	unsigned int n, m, i;
	int done = 0;

	if (open_xsk(SUT, 0, &x) || velo_xsk_filter_add(x, &flow, &h))
		_exit(1);
	write(ready_fd, "r", 1);
	while (!done) {
		n = velo_xsk_rx_burst(x, rx, BURST);
		if (!n)
			continue;
		m = velo_xsk_tx_alloc(x, tx, n);
		for (i = 0; i < m; i++) {
			memcpy(tx[i].data, rx[i].data, rx[i].len);
			tx[i].len = rx[i].len;
			swap_ends(tx[i].data, tx[i].len);
			done |= tcp_of(tx[i].data, tx[i].len)[13] & 0x01;
		}
		velo_xsk_tx_submit(x, tx, m);
		velo_xsk_rx_release(x, rx, n);
		echoed += m;
	}
	print_socket_stats("echo server", x, echoed);
	velo_xsk_close(x);
	_exit(0);
}

static pid_t start_child(void (*fn)(int ready_fd))
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0)
		fn(ready[1]);
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends one frame and busy-polls for its echo; 0 if none came within 1 s. */
static uint64_t round_trip(struct velo_xsk *x, const uint8_t *frame, size_t len)
{
	struct velo_xsk_frame f;
	uint64_t t0, deadline;

	if (velo_xsk_tx_alloc(x, &f, 1) != 1)
		return 0;
	memcpy(f.data, frame, len);
	f.len = (uint32_t)len;
	t0 = now_ns();
	deadline = t0 + 1000000000u;
	velo_xsk_tx_submit(x, &f, 1);
	while (!velo_xsk_rx_burst(x, &f, 1))
		if (now_ns() > deadline)
			return 0;
	velo_xsk_rx_release(x, &f, 1);
	return now_ns() - t0;
}

static int echo_round_trip_latency(void)
{
	static uint64_t rtt[ROUND_TRIPS];
	struct velo_xsk_flow back = flow_of(AF_INET, PEER, PEER_PORT, SUT, ECHO_PORT);
	struct seg s = { .family = AF_INET, .from = PEER, .sport = PEER_PORT,
			 .dport = ECHO_PORT, .flags = TH_ACK, .payload = "ping0123456789",
			 .payload_len = 14 };
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	uint8_t frame[256];
	size_t len;
	pid_t pid;
	int i;

	pid = start_child(echo_server);
	KTAP_EXPECT(pid > 0);
	KTAP_EXPECT(open_xsk(PEER, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &back, &h) == 0);
	len = build_seg(frame, &s);
	for (i = -WARMUP; i < ROUND_TRIPS; i++) {
		uint64_t t = round_trip(x, frame, len);

		KTAP_EXPECT(t != 0);
		if (i >= 0)
			rtt[i] = t;
	}
	print_socket_stats("pinger", x, 2UL * (ROUND_TRIPS + WARMUP));
	s.flags |= 0x01; /* FIN: stop */
	len = build_seg(frame, &s);
	round_trip(x, frame, len);
	KTAP_EXPECT(waitpid(pid, NULL, 0) == pid);
	qsort(rtt, ROUND_TRIPS, sizeof(rtt[0]), cmp_u64);
	ktap_diag("XSK-to-XSK echo over veth (%s, busy-polling), %d round trips: "
		  "min %.1f us, p50 %.1f us, p90 %.1f us, p99 %.1f us",
		  velo_xsk_is_native(x) ? "native" : "generic", ROUND_TRIPS, rtt[0] / 1e3,
		  rtt[ROUND_TRIPS / 2] / 1e3, rtt[ROUND_TRIPS * 9 / 10] / 1e3,
		  rtt[ROUND_TRIPS * 99 / 100] / 1e3);
	close_xsk(PEER, x);
	return KTAP_PASS;
}

/* The sut sends BURST_FRAMES frames in bursts of BURST, as fast as it can. */
static void burst_sender(int ready_fd)
{
	struct seg s = { .family = AF_INET, .from = SUT, .sport = ECHO_PORT,
			 .dport = PEER_PORT, .flags = TH_ACK, .payload = "burst",
			 .payload_len = 5 };
	struct velo_xsk_frame f[BURST];
	unsigned long sent = 0;
	struct velo_xsk *x;
	uint8_t frame[256];
	unsigned int n, i;
	size_t len;

	if (open_xsk(SUT, 0, &x))
		_exit(1);
	len = build_seg(frame, &s);
	write(ready_fd, "r", 1);
	/* let the receiver start polling */
	usleep(100000);
	while (sent < BURST_FRAMES) {
		n = velo_xsk_tx_alloc(x, f, BURST);
		for (i = 0; i < n; i++) {
			memcpy(f[i].data, frame, len);
			f[i].len = (uint32_t)len;
		}
		velo_xsk_tx_submit(x, f, n);
		sent += n;
	}
	print_socket_stats("burst sender", x, sent);
	velo_xsk_close(x);
	_exit(0);
}

static int burst_syscalls_per_frame(void)
{
	struct velo_xsk_flow flow = flow_of(AF_INET, PEER, PEER_PORT, SUT, ECHO_PORT);
	struct velo_xsk_frame f[BURST];
	unsigned long received = 0;
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	uint64_t idle_since;
	unsigned int n;
	pid_t pid;

	KTAP_EXPECT(open_xsk(PEER, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	pid = start_child(burst_sender);
	KTAP_EXPECT(pid > 0);
	idle_since = now_ns();
	while (received < BURST_FRAMES && now_ns() - idle_since < 500000000u) {
		n = velo_xsk_rx_burst(x, f, BURST);
		if (!n)
			continue;
		velo_xsk_rx_release(x, f, n);
		received += n;
		idle_since = now_ns();
	}
	KTAP_EXPECT(waitpid(pid, NULL, 0) == pid);
	print_socket_stats("burst receiver", x, received);
	KTAP_EXPECT(received > 0);
	close_xsk(PEER, x);
	return KTAP_PASS;
}

static int latency(void) { return with_net(1, echo_round_trip_latency); }
static int syscalls(void) { return with_net(1, burst_syscalls_per_frame); }

static const struct ktap_case cases[] = {
	{ "echo_round_trip_latency", latency, 0 },
	{ "burst_syscalls_per_frame", syscalls, 0 },
};

int main(void)
{
	xdp_require();
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
