/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal single-threaded host for the TCP engine on libvelo's velo.ko
 * driver, for the VM tests: received frames go to vtcp_input, vtcp_poll's
 * frames to the send ring, and the host sleeps on the stack fd until a
 * frame arrives or the engine's next deadline. Addresses and neighbours
 * come from the kernel (velo.ko steers only TCP: the engine's ARP never
 * sees a reply). Optionally keeps one connection record current from the
 * frames it sends, so that velo.ko can RST the peer if the process dies.
 */
#ifndef VELO_KO_HOST_H
#define VELO_KO_HOST_H

#include <net/if.h>
#include <stdio.h>
#include <sys/random.h>

#include "velo_test.h"
#include "engine/engine.h"
#include "ko/velo_ko.h"

#define KO_HOST_BURST 32

struct ko_host {
	struct velo_ko *k;
	struct vtcp_stack *st;
	struct velo_ko_frame tx[KO_HOST_BURST];
	unsigned int ntx;
	int tx_failed;
	int spin;	/* busy-poll the CQs instead of sleeping: no system call */
	/* The connection record kept current, or -1. */
	int conn;
	uint16_t conn_lport, conn_rport;	/* host order */
	uint32_t snd_nxt, rcv_nxt;
};

static inline uint64_t ko_host_now(void)
{
	return (uint64_t)vt_now_ns();
}

static inline void ko_host_flush(struct ko_host *h)
{
	if (h->ntx)
		velo_ko_tx_submit(h->k, h->tx, h->ntx, 0);
	h->ntx = 0;
}

/* A send buffer, waiting for send completions if every one is in flight. */
static inline int ko_host_tx_buffer(struct ko_host *h, struct velo_ko_frame *f)
{
	int64_t deadline = vt_now_ns() + 1000000000LL;

	while (!velo_ko_tx_alloc(h->k, f, 1)) {
		ko_host_flush(h);
		if (vt_now_ns() > deadline || (!h->spin && velo_ko_wait(h->k, deadline) < 0))
			return -1;
	}
	return 0;
}

static inline int ko_seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* Advance the record's sequence numbers from an outgoing IPv4 TCP frame. */
static inline void ko_host_track(struct ko_host *h, const uint8_t *f, size_t len)
{
	const struct iphdr *iph = (const void *)(f + 14);
	const struct tcphdr *th;
	uint32_t end;

	if (h->conn < 0 || len < 54 || f[12] != 0x08 || f[13] != 0x00 ||
	    iph->protocol != IPPROTO_TCP)
		return;
	th = (const void *)(f + 14 + iph->ihl * 4);
	if (ntohs(th->source) != h->conn_lport || ntohs(th->dest) != h->conn_rport)
		return;
	end = ntohl(th->seq) + ntohs(iph->tot_len) - iph->ihl * 4 - th->doff * 4 +
	      th->syn + th->fin;
	if (th->syn || ko_seq_after(end, h->snd_nxt))
		h->snd_nxt = end;
	if (th->ack)
		h->rcv_nxt = ntohl(th->ack_seq);
	velo_ko_conn_update(h->k, h->conn, h->snd_nxt, h->rcv_nxt);
}

static inline void ko_host_tx(void *ctx, const void *frame, size_t len)
{
	struct ko_host *h = ctx;
	struct velo_ko_frame f;

	/* Before taking a slot in h->tx: waiting for a buffer flushes it. */
	if (len > velo_ko_frame_size(h->k) || ko_host_tx_buffer(h, &f)) {
		h->tx_failed++;
		return;
	}
	memcpy(f.data, frame, len);
	f.len = len;
	h->tx[h->ntx] = f;
	ko_host_track(h, frame, len);
	if (++h->ntx == KO_HOST_BURST)
		ko_host_flush(h);
}

/* The kernel's neighbour entry for @ip on @ifname (the test set it up). */
static inline int ko_host_kernel_neigh(const char *ip, const char *ifname, uint8_t mac[6])
{
	char cmd[128], line[256], *p;
	int r = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "/usr/bin/ip neigh show %s dev %s", ip, ifname);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, "lladdr ")) &&
	    sscanf(p + 7, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
		   &mac[3], &mac[4], &mac[5]) == 6)
		r = 0;
	pclose(f);
	return r;
}

/* velo.ko's doorbell polling period; stacks opened while it is > 0 arm it. */
static inline int ko_set_db_poll_us(const char *us)
{
	int fd = open("/sys/module/velo/parameters/db_poll_us", O_WRONLY);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, us, strlen(us)) == (ssize_t)strlen(us) ? 0 : -1;
	close(fd);
	return r;
}

/* @ip (IPv4 or IPv6, by its spelling) and @port as a socket address. */
static inline socklen_t ko_addr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
		return sizeof(*s4);
	}
}

/* The engine on a velo.ko stack of @ifname, owning @ip; @peer a neighbour (v4 or v6). */
static inline int ko_host_open(struct ko_host *h, const char *ifname, const char *ip,
			       const char *peer)
{
	struct velo_ko_config kc = { .ifname = ifname };
	struct vtcp_config c = {
		.max_sockets = 16,
		.sndbuf_max = 1 << 20,
		.rcvbuf_max = 1 << 20,
		.mtu = 1500,
		.ifindex = if_nametoindex(ifname),
	};
	struct sockaddr_storage ss;
	uint8_t peer_mac[6];

	memset(h, 0, sizeof(*h));
	h->conn = -1;
	memcpy(c.mac, vt_mac0, 6);
	if (getrandom(c.isn_secret, sizeof(c.isn_secret), 0) != sizeof(c.isn_secret) ||
	    ko_host_kernel_neigh(peer, ifname, peer_mac) || velo_ko_open(&kc, &h->k))
		return -1;
	h->st = vtcp_stack_create(&c);
	if (!h->st)
		return -1;
	ko_addr(&ss, ip, 0);
	vtcp_addr_add(h->st, (struct sockaddr *)&ss);
	ko_addr(&ss, peer, 0);
	return vtcp_neigh_set(h->st, (struct sockaddr *)&ss, peer_mac);
}

static inline void ko_host_close(struct ko_host *h)
{
	vtcp_stack_destroy(h->st);
	velo_ko_close(h->k);
}

/*
 * One turn: received frames into the engine, its output onto the ring;
 * if nothing arrived, sleep until a frame, the engine's deadline or @limit.
 */
static inline void ko_host_step(struct ko_host *h, uint64_t limit)
{
	struct velo_ko_frame rx[KO_HOST_BURST];
	uint64_t now = ko_host_now(), deadline;
	unsigned int n, i;

	n = velo_ko_rx_burst(h->k, rx, KO_HOST_BURST);
	for (i = 0; i < n; i++)
		vtcp_input(h->st, rx[i].data, rx[i].len, now);
	velo_ko_rx_release(h->k, rx, n);
	vtcp_poll(h->st, now, ko_host_tx, h);
	ko_host_flush(h);
	if (n || h->spin)
		return;
	deadline = vtcp_next_deadline(h->st);
	if (deadline > limit)
		deadline = limit;
	if (deadline > ko_host_now())
		velo_ko_wait(h->k, (int64_t)deadline);
}

/* A filter for @flow (remote_port 0: a listener). */
static inline int ko_host_filter(struct ko_host *h, const char *lip, uint16_t lport,
				 const char *rip, uint16_t rport)
{
	struct velo_ko_flow fl = { .local_port = lport, .remote_port = rport };
	uint64_t handle;

	fl.family = strchr(lip, ':') ? AF_INET6 : AF_INET;
	inet_pton(fl.family, lip, fl.local_addr);
	if (rip)
		inet_pton(fl.family, rip, fl.remote_addr);
	return velo_ko_filter_add(h->k, &fl, 0, &handle);
}

#endif /* VELO_KO_HOST_H */
