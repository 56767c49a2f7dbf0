/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the xdp_* host tests: a pair of network namespaces joined by a
 * veth ("sut" runs velo's AF_XDP backend, "peer" plays the other host),
 * hand-made TCP frames, and small socket helpers. Every case builds its own
 * pair (names carry the case's pid) and deletes it when done.
 */
#ifndef VELO_SELFTESTS_XDP_LIB_H
#define VELO_SELFTESTS_XDP_LIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"
#include "xdp/csum.h"
#include "xdp/velo_xsk.h"

#define SUT_MAC "\x02\x00\x00\x00\x00\x01"
#define PEER_MAC "\x02\x00\x00\x00\x00\x02"

enum side { SUT, PEER };

struct net {
	char ns[2][32];
	char ifname[2][IFNAMSIZ];
	int nsfd[2];
};

static struct net net;

/* The two ends' addresses: [family == AF_INET6][side]. */
static const char *const addr_str[2][2] = {
	{ "10.99.0.1", "10.99.0.2" },
	{ "fd00:99::1", "fd00:99::2" },
};

static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		ktap_diag("command failed (%d): %s", rc, cmd);
	return rc;
}

/* Exit 4 (skip) unless root with AF_XDP and iproute2 at hand. */
static inline void xdp_require(void)
{
	int fd;

	if (geteuid()) {
		printf("# SKIP: needs root\n");
		exit(KTAP_SKIP);
	}
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0) {
		printf("# SKIP: no AF_XDP: %s\n", strerror(errno));
		exit(KTAP_SKIP);
	}
	close(fd);
	if (system("ip -V >/dev/null 2>&1")) {
		printf("# SKIP: no iproute2\n");
		exit(KTAP_SKIP);
	}
}

static inline void net_enter(enum side s)
{
	if (setns(net.nsfd[s], CLONE_NEWNET)) {
		perror("setns");
		abort();
	}
}

static inline void net_down(void)
{
	int s;

	for (s = SUT; s <= PEER; s++) {
		if (net.nsfd[s] > 0)
			close(net.nsfd[s]);
		if (net.ns[s][0])
			sh("ip netns del %s 2>/dev/null", net.ns[s]);
	}
}

static inline int net_up_side(enum side s, const char *mac)
{
	char path[64];

	if (sh("ip -n %s link set lo up && ip -n %s link set %s address %s up && "
	       "ip -n %s addr add %s/24 dev %s && ip -n %s addr add %s/64 dev %s nodad",
	       net.ns[s], net.ns[s], net.ifname[s], mac, net.ns[s], addr_str[0][s],
	       net.ifname[s], net.ns[s], addr_str[1][s], net.ifname[s]))
		return -1;
	snprintf(path, sizeof(path), "/run/netns/%s", net.ns[s]);
	net.nsfd[s] = open(path, O_RDONLY | O_CLOEXEC);
	return net.nsfd[s] < 0 ? -1 : 0;
}

/* The veth pair with `queues` queues each way; the caller ends in the sut. */
static inline int net_up(unsigned int queues)
{
	int pid = getpid();

	snprintf(net.ns[SUT], sizeof(net.ns[SUT]), "vxs%d", pid);
	snprintf(net.ns[PEER], sizeof(net.ns[PEER]), "vxp%d", pid);
	snprintf(net.ifname[SUT], IFNAMSIZ, "vs%d", pid);
	snprintf(net.ifname[PEER], IFNAMSIZ, "vp%d", pid);
	if (sh("ip netns add %s && ip netns add %s", net.ns[SUT], net.ns[PEER]) ||
	    sh("ip link add %s numtxqueues %u numrxqueues %u netns %s type veth peer name %s "
	       "numtxqueues %u numrxqueues %u netns %s",
	       net.ifname[SUT], queues, queues, net.ns[SUT], net.ifname[PEER], queues, queues,
	       net.ns[PEER]) ||
	    net_up_side(SUT, "02:00:00:00:00:01") ||
	    net_up_side(PEER, "02:00:00:00:00:02"))
		return -1;
	net_enter(SUT);
	return 0;
}

/* Runs a case body inside a fresh namespace pair. */
static inline int with_net(unsigned int queues, int (*body)(void))
{
	int rc = KTAP_FAIL;

	if (net_up(queues) == 0)
		rc = body();
	net_down();
	return rc;
}

/* Set by a case to run the sut's program in generic (skb) mode. */
static int sut_generic;

static inline int open_xsk(enum side s, uint32_t queue, struct velo_xsk **x)
{
	struct velo_xsk_config cfg = { .ifname = net.ifname[s], .queue = queue,
				       .force_generic = s == SUT && sut_generic };
	int err;

	net_enter(s);
	err = velo_xsk_open(&cfg, x);
	if (err)
		ktap_diag("velo_xsk_open(%s, %u): %s", cfg.ifname, queue, strerror(-err));
	return err;
}

/* Netlink (detach) names the interface by ifindex: close from its namespace. */
static inline void close_xsk(enum side s, struct velo_xsk *x)
{
	net_enter(s);
	velo_xsk_close(x);
}

static inline int family_index(int family)
{
	return family == AF_INET6;
}

static inline void addr_bytes(int family, enum side s, uint8_t out[16])
{
	memset(out, 0, 16);
	inet_pton(family, addr_str[family_index(family)][s], out);
}

/* Receiving side's view: local is `to`, remote is `from`. */
static inline struct velo_xsk_flow flow_of(int family, enum side to, uint16_t local_port,
					   enum side from, uint16_t remote_port)
{
	struct velo_xsk_flow f = { .family = (sa_family_t)family,
				   .local_port = local_port,
				   .remote_port = remote_port };

	addr_bytes(family, to, f.local_addr);
	if (remote_port)
		addr_bytes(family, from, f.remote_addr);
	return f;
}

static inline struct velo_xsk_flow listener_of(int family, uint16_t port)
{
	return flow_of(family, SUT, port, PEER, 0);
}

/* A hand-made TCP segment from one side to the other. */
struct seg {
	int family;
	enum side from;
	uint16_t sport, dport;
	uint8_t flags;		/* TCP flags byte */
	uint32_t seq;
	const void *payload;
	uint16_t payload_len;
	uint8_t ip_option_words; /* IPv4: NOP options, 4 bytes each */
	uint16_t frag_off;	/* IPv4 flags+offset word */
};

#define TH_SYN 0x02
#define TH_ACK 0x10
#define TH_RST 0x04

/* Writes an Ethernet frame with full checksums; returns its length. */
static inline size_t build_seg(uint8_t *p, const struct seg *s)
{
	enum side to = s->from == SUT ? PEER : SUT;
	size_t l3 = 14, ihl, tcp, len;

	memcpy(p, to == SUT ? SUT_MAC : PEER_MAC, 6);
	memcpy(p + 6, s->from == SUT ? SUT_MAC : PEER_MAC, 6);
	if (s->family == AF_INET) {
		uint8_t a[16];

		ihl = 20 + 4u * s->ip_option_words;
		memset(p + l3, 0, ihl);
		p[12] = 0x08, p[13] = 0x00;
		p[l3] = (uint8_t)(0x40 | ihl / 4);
		len = ihl + 20 + s->payload_len;
		p[l3 + 2] = (uint8_t)(len >> 8), p[l3 + 3] = (uint8_t)len;
		p[l3 + 6] = (uint8_t)(s->frag_off >> 8), p[l3 + 7] = (uint8_t)s->frag_off;
		p[l3 + 8] = 64, p[l3 + 9] = 6;
		addr_bytes(AF_INET, s->from, a);
		memcpy(p + l3 + 12, a, 4);
		addr_bytes(AF_INET, to, a);
		memcpy(p + l3 + 16, a, 4);
		memset(p + l3 + 20, 1, ihl - 20); /* NOP options */
	} else {
		ihl = 40;
		memset(p + l3, 0, ihl);
		p[12] = 0x86, p[13] = 0xdd;
		p[l3] = 0x60;
		len = 20 + s->payload_len;
		p[l3 + 4] = (uint8_t)(len >> 8), p[l3 + 5] = (uint8_t)len;
		p[l3 + 6] = 6, p[l3 + 7] = 64;
		addr_bytes(AF_INET6, s->from, p + l3 + 8);
		addr_bytes(AF_INET6, to, p + l3 + 24);
	}
	tcp = l3 + ihl;
	memset(p + tcp, 0, 20);
	p[tcp] = (uint8_t)(s->sport >> 8), p[tcp + 1] = (uint8_t)s->sport;
	p[tcp + 2] = (uint8_t)(s->dport >> 8), p[tcp + 3] = (uint8_t)s->dport;
	p[tcp + 4] = (uint8_t)(s->seq >> 24), p[tcp + 5] = (uint8_t)(s->seq >> 16);
	p[tcp + 6] = (uint8_t)(s->seq >> 8), p[tcp + 7] = (uint8_t)s->seq;
	p[tcp + 12] = 5 << 4;
	p[tcp + 13] = s->flags;
	p[tcp + 14] = 0xff, p[tcp + 15] = 0xff;
	if (s->payload_len)
		memcpy(p + tcp + 20, s->payload, s->payload_len);
	len = tcp + 20 + s->payload_len;
	/* a fragment's checksum is not checkable: only fill whole segments */
	if (!s->frag_off)
		velo_csum_tx_fill(p, len);
	return len;
}

/* The TCP header of an IPv4/IPv6 frame, or NULL. */
static inline const uint8_t *tcp_of(const uint8_t *p, size_t len)
{
	if (len >= 14 + 20 + 20 && p[12] == 0x08 && p[13] == 0x00 && p[23] == 6)
		return len >= 14u + (p[14] & 0xfu) * 4u + 20u ? p + 14 + (p[14] & 0xf) * 4 : NULL;
	if (len >= 14 + 40 + 20 && p[12] == 0x86 && p[13] == 0xdd && p[20] == 6)
		return p + 14 + 40;
	return NULL;
}

static inline uint16_t port_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Whether the frame's TCP checksum verifies (pseudo-header included). */
static inline int tcp_csum_ok(const uint8_t *p, size_t len)
{
	uint8_t copy[2048];
	const uint8_t *tcp = tcp_of(p, len);
	size_t off;
	uint16_t want;

	if (!tcp || len > sizeof(copy))
		return 0;
	off = (size_t)(tcp - p);
	want = port_at(tcp + 16);
	memcpy(copy, p, len);
	if (velo_csum_tx_fill(copy, len))
		return 0;
	return port_at(copy + off + 16) == want;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits up to ms for one frame; copies it out and releases it. */
static inline size_t xsk_recv(struct velo_xsk *x, uint8_t *buf, size_t cap, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	struct velo_xsk_frame f;
	struct pollfd pfd = { .fd = velo_xsk_fd(x), .events = POLLIN };
	size_t len;

	do {
		if (velo_xsk_rx_burst(x, &f, 1)) {
			len = f.len < cap ? f.len : cap;
			memcpy(buf, f.data, len);
			velo_xsk_rx_release(x, &f, 1);
			return len;
		}
		poll(&pfd, 1, 10);
	} while (now_ns() < end);
	return 0;
}

static inline int xsk_send(struct velo_xsk *x, const struct seg *s)
{
	struct velo_xsk_frame f;

	if (velo_xsk_tx_alloc(x, &f, 1) != 1)
		return -1;
	f.len = (uint32_t)build_seg(f.data, s);
	velo_xsk_tx_submit(x, &f, 1);
	return 0;
}

/* A packet socket on a side's veth, for capturing and for injecting frames. */
static inline int packet_socket(enum side s)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	net_enter(s);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	sll.sll_ifindex = (int)if_nametoindex(net.ifname[s]);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static inline int packet_inject(int fd, const struct seg *s)
{
	uint8_t frame[2048];
	size_t len = build_seg(frame, s);

	return send(fd, frame, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Waits up to ms for a captured frame for which match() holds. */
static inline size_t packet_wait(int fd, uint8_t *buf, size_t cap, int ms,
				 int (*match)(const uint8_t *p, size_t len, const void *arg),
				 const void *arg)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (now_ns() < end) {
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n > 0 && match(buf, (size_t)n, arg))
			return (size_t)n;
	}
	return 0;
}

/* A TCP RST sent to this port, as a packet_wait() match. */
static inline int is_rst_to(const uint8_t *p, size_t len, const void *port)
{
	const uint8_t *tcp = tcp_of(p, len);

	return tcp && (tcp[13] & TH_RST) && port_at(tcp + 2) == *(const uint16_t *)port;
}

static inline socklen_t sockaddr_of(int family, enum side s, uint16_t port,
				    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr_str[0][s], &in->sin_addr);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr_str[1][s], &in6->sin6_addr);
	return sizeof(*in6);
}

/* A kernel TCP socket of side `s` connecting (non-blocking) to the sut. */
static inline int kernel_connect(int family, enum side s, uint16_t sport, uint16_t dport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	net_enter(s);
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sport) {
		len = sockaddr_of(family, s, sport, &ss);
		if (bind(fd, (struct sockaddr *)&ss, len))
			goto fail;
	}
	len = sockaddr_of(family, s == SUT ? PEER : SUT, dport, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Waits for a non-blocking connect: 0 connected, else its errno (ETIMEDOUT: pending). */
static inline int connect_result(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, ms) == 0)
		return ETIMEDOUT;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

static inline int kernel_listen(int family, enum side s, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, s, port, &ss);
	int fd, one = 1;

	net_enter(s);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A counter of the "Tcp:" line of /proc/net/snmp in side `s`'s namespace. */
static inline long tcp_mib(enum side s, const char *name)
{
	char head[1024], vals[1024], *hs, *vs, *h, *v;
	long result = -1;
	FILE *f;

	net_enter(s);
	f = fopen("/proc/net/snmp", "r");
	if (!f)
		return -1;
	while (fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(head, "Tcp:", 4))
			continue;
		h = strtok_r(head, " \n", &hs);
		v = strtok_r(vals, " \n", &vs);
		while (h && v && strcmp(h, name)) {
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		if (h && v)
			result = atol(v);
	}
	fclose(f);
	return result;
}

#endif /* VELO_SELFTESTS_XDP_LIB_H */
