// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XDP backend, steering: filtered TCP flows land in the XSK and the
 * kernel stays silent; everything else (other ports, ARP/ND, ICMP, IP
 * fragments, queues without a socket) still reaches the kernel; frames sent
 * through the XSK arrive byte-exact; filter registration rules.
 */
#include "xdp_lib.h"

#define LISTEN_PORT 7001
#define KERNEL_PORT 7002

/* A kernel peer's SYN to a filtered listener: into the XSK, no RST back. */
static int filtered_lands_in_xsk(int family)
{
	struct velo_xsk_flow flow = listener_of(family, LISTEN_PORT);
	struct velo_xsk_filter h;
	struct velo_xsk_stats st;
	struct pollfd wait;
	struct velo_xsk *x;
	uint8_t frame[2048];
	const uint8_t *tcp;
	long rsts;
	size_t len;
	int fd;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	wait = (struct pollfd){ .fd = velo_xsk_fd(x), .events = POLLIN };
	rsts = tcp_mib(SUT, "OutRsts");
	KTAP_EXPECT(poll(&wait, 1, 0) == 0);
	fd = kernel_connect(family, PEER, 0, LISTEN_PORT);
	KTAP_EXPECT(fd >= 0);
	/* the socket fd is what a stack sleeps on */
	KTAP_EXPECT(poll(&wait, 1, 2000) == 1 && (wait.revents & POLLIN));
	len = xsk_recv(x, frame, sizeof(frame), 2000);
	KTAP_EXPECT(len > 0);
	tcp = tcp_of(frame, len);
	KTAP_EXPECT(tcp && port_at(tcp + 2) == LISTEN_PORT && (tcp[13] & TH_SYN));
	/* the kernel peer's partial checksum was completed on receive */
	KTAP_EXPECT(tcp_csum_ok(frame, len));
	/* still connecting: nobody answered, in particular no RST */
	KTAP_EXPECT(connect_result(fd, 300) == ETIMEDOUT);
	KTAP_EXPECT(tcp_mib(SUT, "OutRsts") == rsts);
	velo_xsk_get_stats(x, &st);
	ktap_diag("%s mode: redirected %llu passed %llu",
		  velo_xsk_is_native(x) ? "native" : "generic",
		  (unsigned long long)st.redirected, (unsigned long long)st.passed);
	KTAP_EXPECT(st.redirected >= 1);
	close(fd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/* Another port, while the filter is active: the kernel accepts it. */
static int unfiltered_reaches_kernel(int family)
{
	struct velo_xsk_flow flow = listener_of(family, LISTEN_PORT);
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	int lfd, cfd, afd;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	lfd = kernel_listen(family, SUT, KERNEL_PORT);
	KTAP_EXPECT(lfd >= 0);
	cfd = kernel_connect(family, PEER, 0, KERNEL_PORT);
	KTAP_EXPECT(cfd >= 0);
	KTAP_EXPECT(connect_result(cfd, 3000) == 0);
	afd = accept(lfd, NULL, NULL);
	KTAP_EXPECT(afd >= 0);
	close(afd);
	close(cfd);
	close(lfd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

static int match_payload(const uint8_t *p, size_t len, const void *want)
{
	const uint8_t *w = want;
	size_t wlen = (size_t)(w[0] << 8 | w[1]);

	return len == wlen && !memcmp(p, w + 2, len);
}

/* A frame sent through the XSK arrives at the peer exactly as written. */
static int tx_byte_exact(int family)
{
	struct seg s = { .family = family, .from = SUT, .sport = 7003, .dport = 40000,
			 .flags = TH_ACK, .seq = 12345, .payload_len = 1000 };
	uint8_t payload[1000], want[2 + 2048], got[2048];
	struct velo_xsk_frame f;
	struct velo_xsk *x;
	size_t i, len;
	int pfd;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	s.payload = payload;
	pfd = packet_socket(PEER);
	KTAP_EXPECT(pfd >= 0);
	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_tx_alloc(x, &f, 1) == 1);
	len = build_seg(f.data, &s);
	f.len = (uint32_t)len;
	want[0] = (uint8_t)(len >> 8), want[1] = (uint8_t)len;
	memcpy(want + 2, f.data, len);
	velo_xsk_tx_submit(x, &f, 1);
	KTAP_EXPECT(packet_wait(pfd, got, sizeof(got), 2000, match_payload, want) == len);
	KTAP_EXPECT(tcp_csum_ok(got, len));
	/* the buffer comes back once sent */
	for (i = 0; i < 100 && !velo_xsk_tx_reap(x); i++)
		usleep(1000);
	KTAP_EXPECT(i < 100);
	close_xsk(SUT, x);
	close(pfd);
	return KTAP_PASS;
}

static int duplicate_is_eexist(void)
{
	struct velo_xsk_flow l4 = listener_of(AF_INET, LISTEN_PORT);
	struct velo_xsk_flow l6 = listener_of(AF_INET6, LISTEN_PORT);
	struct velo_xsk_flow any = { .family = AF_INET, .local_port = LISTEN_PORT };
	struct velo_xsk_flow c4 = flow_of(AF_INET, SUT, LISTEN_PORT, PEER, 40000);
	struct velo_xsk_flow bad = flow_of(AF_INET, SUT, LISTEN_PORT, PEER, 0);
	struct velo_xsk_filter h[4], dup;
	struct velo_xsk *x;

	bad.remote_addr[0] = 10; /* a listener with a remote address */
	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &l4, &h[0]) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &l6, &h[1]) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &any, &h[2]) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &c4, &h[3]) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &l4, &dup) == -EEXIST);
	KTAP_EXPECT(velo_xsk_filter_add(x, &l6, &dup) == -EEXIST);
	KTAP_EXPECT(velo_xsk_filter_add(x, &any, &dup) == -EEXIST);
	KTAP_EXPECT(velo_xsk_filter_add(x, &c4, &dup) == -EEXIST);
	KTAP_EXPECT(velo_xsk_filter_add(x, &bad, &dup) == -EINVAL);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/*
 * Remove then re-add works at once; the old handle cannot remove the new
 * registration of the same tuple (a closed socket vs. its successor).
 */
static int remove_readd_and_stale_handle(void)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, LISTEN_PORT);
	struct velo_xsk_filter old, cur;
	struct velo_xsk *x;
	uint8_t frame[2048];
	int fd;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &old) == 0);
	KTAP_EXPECT(velo_xsk_filter_remove(x, &old) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &cur) == 0);
	KTAP_EXPECT(velo_xsk_filter_remove(x, &old) == -ENOENT);
	/* still steered */
	fd = kernel_connect(AF_INET, PEER, 0, LISTEN_PORT);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(xsk_recv(x, frame, sizeof(frame), 2000) > 0);
	close(fd);
	/* gone: the kernel answers (no listener: connection refused) */
	KTAP_EXPECT(velo_xsk_filter_remove(x, &cur) == 0);
	fd = kernel_connect(AF_INET, PEER, 0, LISTEN_PORT);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(connect_result(fd, 3000) == ECONNREFUSED);
	close(fd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/* A connected 5-tuple is steered; the same port from elsewhere is not. */
static int five_tuple_only_that_flow(void)
{
	struct velo_xsk_flow flow = flow_of(AF_INET6, SUT, LISTEN_PORT, PEER, 40001);
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	uint8_t frame[2048];
	const uint8_t *tcp;
	size_t len;
	int fd;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	fd = kernel_connect(AF_INET6, PEER, 40002, LISTEN_PORT);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(connect_result(fd, 3000) == ECONNREFUSED);
	close(fd);
	fd = kernel_connect(AF_INET6, PEER, 40001, LISTEN_PORT);
	KTAP_EXPECT(fd >= 0);
	len = xsk_recv(x, frame, sizeof(frame), 2000);
	tcp = tcp_of(frame, len);
	KTAP_EXPECT(tcp && port_at(tcp) == 40001);
	close(fd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/* IPv4 options are skipped; fragments and UDP are left to the kernel. */
static int ipv4_options_and_fragments(void)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, LISTEN_PORT);
	struct seg opt = { .family = AF_INET, .from = PEER, .sport = 40003,
			   .dport = LISTEN_PORT, .flags = TH_SYN, .ip_option_words = 3 };
	struct seg frag = opt;
	struct velo_xsk_stats before, after;
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	uint8_t frame[2048];
	const uint8_t *tcp;
	size_t len;
	int pfd;

	frag.ip_option_words = 0;
	frag.frag_off = 0x2000; /* more fragments */
	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	pfd = packet_socket(PEER);
	KTAP_EXPECT(pfd >= 0);
	KTAP_EXPECT(packet_inject(pfd, &opt) == 0);
	len = xsk_recv(x, frame, sizeof(frame), 2000);
	tcp = tcp_of(frame, len);
	KTAP_EXPECT(tcp && (frame[14] & 0xf) == 8 && port_at(tcp) == 40003);
	velo_xsk_get_stats(x, &before);
	KTAP_EXPECT(packet_inject(pfd, &frag) == 0);
	KTAP_EXPECT(xsk_recv(x, frame, sizeof(frame), 300) == 0);
	velo_xsk_get_stats(x, &after);
	KTAP_EXPECT(after.passed > before.passed && after.redirected == before.redirected);
	/* the same ports over UDP: only TCP is steered */
	len = build_seg(frame, &opt);
	frame[14 + 9] = 17;
	KTAP_EXPECT(send(pfd, frame, len, 0) == (ssize_t)len);
	KTAP_EXPECT(xsk_recv(x, frame, sizeof(frame), 300) == 0);
	velo_xsk_get_stats(x, &before);
	KTAP_EXPECT(before.passed > after.passed && before.redirected == after.redirected);
	close(pfd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/*
 * Two queues, a socket on queue 0 only: the flow's frames arriving on
 * queue 1 go to the kernel (which resets them), those on queue 0 to the XSK.
 */
static int queue_without_socket_passes(void)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, LISTEN_PORT);
	struct seg syn = { .family = AF_INET, .from = PEER, .sport = 40004,
			   .dport = LISTEN_PORT, .flags = TH_SYN };
	struct velo_xsk *x, *peer_q0, *peer_q1;
	struct velo_xsk_stats st;
	struct velo_xsk_filter h;
	uint16_t port = 40004;
	uint8_t frame[2048];
	int pfd;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	/* the peer's XSK transmits on its queue, which is the sut's RX queue */
	KTAP_EXPECT(open_xsk(PEER, 0, &peer_q0) == 0);
	KTAP_EXPECT(open_xsk(PEER, 1, &peer_q1) == 0);
	pfd = packet_socket(PEER);
	KTAP_EXPECT(pfd >= 0);
	KTAP_EXPECT(xsk_send(peer_q1, &syn) == 0);
	KTAP_EXPECT(packet_wait(pfd, frame, sizeof(frame), 2000, is_rst_to, &port) > 0);
	KTAP_EXPECT(xsk_recv(x, frame, sizeof(frame), 100) == 0);
	velo_xsk_get_stats(x, &st);
	KTAP_EXPECT(st.no_socket >= 1);
	KTAP_EXPECT(xsk_send(peer_q0, &syn) == 0);
	KTAP_EXPECT(xsk_recv(x, frame, sizeof(frame), 2000) > 0);
	close(pfd);
	close_xsk(PEER, peer_q1);
	close_xsk(PEER, peer_q0);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/* IPv6 extension headers are not walked: such frames go to the kernel. */
static int ipv6_extension_header_passes(void)
{
	struct velo_xsk_flow flow = listener_of(AF_INET6, LISTEN_PORT);
	struct seg syn = { .family = AF_INET6, .from = PEER, .sport = 40005,
			   .dport = LISTEN_PORT, .flags = TH_SYN };
	/* hop-by-hop: next header TCP, 8 bytes, a 4-byte PadN */
	static const uint8_t hbh[8] = { 6, 0, 1, 4, 0, 0, 0, 0 };
	struct velo_xsk_stats before, after;
	uint8_t frame[2048], got[2048];
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	size_t len, l4 = 14 + 40;
	int pfd;

	len = build_seg(frame, &syn);
	memmove(frame + l4 + sizeof(hbh), frame + l4, len - l4);
	memcpy(frame + l4, hbh, sizeof(hbh));
	frame[14 + 6] = 0; /* next header: hop-by-hop */
	frame[14 + 5] += sizeof(hbh); /* payload length (small: low byte) */
	len += sizeof(hbh);
	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	pfd = packet_socket(PEER);
	KTAP_EXPECT(pfd >= 0);
	velo_xsk_get_stats(x, &before);
	KTAP_EXPECT(send(pfd, frame, len, 0) == (ssize_t)len);
	KTAP_EXPECT(xsk_recv(x, got, sizeof(got), 300) == 0);
	velo_xsk_get_stats(x, &after);
	KTAP_EXPECT(after.passed > before.passed && after.redirected == before.redirected);
	close(pfd);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

/* Generic (skb) mode, as where the driver has no XDP: same behaviour. */
static int generic_mode_steers_and_passes(void)
{
	int rc;

	sut_generic = 1;
	rc = filtered_lands_in_xsk(AF_INET);
	if (rc == KTAP_PASS)
		rc = unfiltered_reaches_kernel(AF_INET6);
	if (rc == KTAP_PASS)
		rc = tx_byte_exact(AF_INET);
	return rc;
}

/* ARP and ND (and ICMP) pass untouched while the program steers TCP. */
static int arp_nd_ping_while_attached(void)
{
	struct velo_xsk_flow flow = { .family = AF_INET, .local_port = LISTEN_PORT };
	struct velo_xsk_flow flow6 = { .family = AF_INET6, .local_port = LISTEN_PORT };
	struct velo_xsk_filter h, h6;
	struct velo_xsk *x;

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow6, &h6) == 0);
	KTAP_EXPECT(sh("ip netns exec %s ping -q -c 2 -i 0.2 -W 2 %s >/dev/null", net.ns[PEER],
		       addr_str[0][SUT]) == 0);
	KTAP_EXPECT(sh("ip netns exec %s ping -q -6 -c 2 -i 0.2 -W 2 %s >/dev/null",
		       net.ns[PEER], addr_str[1][SUT]) == 0);
	close_xsk(SUT, x);
	return KTAP_PASS;
}

static int body_filtered_v4(void) { return filtered_lands_in_xsk(AF_INET); }
static int body_filtered_v6(void) { return filtered_lands_in_xsk(AF_INET6); }
static int body_unfiltered_v4(void) { return unfiltered_reaches_kernel(AF_INET); }
static int body_unfiltered_v6(void) { return unfiltered_reaches_kernel(AF_INET6); }
static int body_tx_v4(void) { return tx_byte_exact(AF_INET); }
static int body_tx_v6(void) { return tx_byte_exact(AF_INET6); }

static int filtered_v4(void) { return with_net(1, body_filtered_v4); }
static int filtered_v6(void) { return with_net(1, body_filtered_v6); }
static int unfiltered_v4(void) { return with_net(1, body_unfiltered_v4); }
static int unfiltered_v6(void) { return with_net(1, body_unfiltered_v6); }
static int tx_v4(void) { return with_net(1, body_tx_v4); }
static int tx_v6(void) { return with_net(1, body_tx_v6); }
static int duplicates(void) { return with_net(1, duplicate_is_eexist); }
static int readd(void) { return with_net(1, remove_readd_and_stale_handle); }
static int five_tuple(void) { return with_net(1, five_tuple_only_that_flow); }
static int options(void) { return with_net(1, ipv4_options_and_fragments); }
static int multiqueue(void) { return with_net(2, queue_without_socket_passes); }
static int ping(void) { return with_net(1, arp_nd_ping_while_attached); }
static int ipv6_ext(void) { return with_net(1, ipv6_extension_header_passes); }
static int generic(void) { return with_net(1, generic_mode_steers_and_passes); }

static const struct ktap_case cases[] = {
	{ "filtered_ipv4_syn_lands_in_xsk_kernel_silent", filtered_v4, 0 },
	{ "filtered_ipv6_syn_lands_in_xsk_kernel_silent", filtered_v6, 0 },
	{ "unfiltered_ipv4_port_reaches_kernel", unfiltered_v4, 0 },
	{ "unfiltered_ipv6_port_reaches_kernel", unfiltered_v6, 0 },
	{ "xsk_tx_ipv4_arrives_byte_exact", tx_v4, 0 },
	{ "xsk_tx_ipv6_arrives_byte_exact", tx_v6, 0 },
	{ "duplicate_filter_is_eexist", duplicates, 0 },
	{ "remove_readd_and_stale_handle", readd, 0 },
	{ "five_tuple_steers_only_that_flow", five_tuple, 0 },
	{ "ipv4_options_steered_fragments_udp_passed", options, 0 },
	{ "multiqueue_queue_without_socket_passes", multiqueue, 0 },
	{ "arp_nd_ping_while_attached", ping, 0 },
	{ "ipv6_extension_header_passes", ipv6_ext, 0 },
	{ "generic_mode_steers_and_passes", generic, 0 },
};

int main(void)
{
	xdp_require();
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
