/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for velo's VM tests: a peer network namespace over veth, a stack
 * with its mapping, and a tiny mlx5-format driver (the PRM layouts of
 * ctrl/eth/data segments and 64-byte CQEs, as in <infiniband/mlx5dv.h>,
 * written out here so the tests need no rdma-core).
 *
 * Topology: v0 (02:00:00:00:00:01, 10.9.0.1, fd09::1) in the test's netns,
 * v1 (02:00:00:00:00:02, 10.9.0.2, fd09::2) in netns "velopeer".
 */
#ifndef VELO_VM_TEST_H
#define VELO_VM_TEST_H

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/velo.h>

#include "ktap.h"

#define VT_PEER_NS "/run/netns/velopeer"
static const uint8_t vt_mac0[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t vt_mac1[6] = { 2, 0, 0, 0, 0, 2 };

/* PRM layouts (mlx5dv.h: mlx5_wqe_ctrl_seg, mlx5_wqe_eth_seg, ...). */
struct vt_ctrl {
	uint32_t opmod_idx_opcode;
	uint32_t qpn_ds;
	uint8_t signature;
	uint8_t rsvd[2];
	uint8_t fm_ce_se;
	uint32_t imm;
};

struct vt_eth {
	uint8_t swp[4];
	uint8_t cs_flags;
	uint8_t swp_flags;
	uint16_t mss;
	uint32_t metadata;
	uint16_t inline_hdr_sz;
	uint8_t inline_hdr_start[2];
};

struct vt_dseg {
	uint32_t byte_count;
	uint32_t lkey;
	uint64_t addr;
};

/* struct mlx5_cqe64 (include/linux/mlx5/device.h), the fields velo fills */
struct vt_cqe {
	uint8_t rsvd0[28];
	uint8_t hds_ip_ext;
	uint8_t l4_l3_hdr_type;
	uint8_t rsvd1[14];
	uint32_t byte_cnt;
	uint8_t rsvd2[8];
	uint32_t sop_drop_qpn;
	uint16_t wqe_counter;
	uint8_t signature;
	uint8_t op_own;
};

_Static_assert(offsetof(struct vt_cqe, hds_ip_ext) == 28, "mlx5_cqe64.hds_ip_ext");
_Static_assert(offsetof(struct vt_cqe, byte_cnt) == 44, "mlx5_cqe64.byte_cnt");
_Static_assert(offsetof(struct vt_cqe, sop_drop_qpn) == 56, "mlx5_cqe64.sop_drop_qpn");
_Static_assert(offsetof(struct vt_cqe, op_own) == 63 && sizeof(struct vt_cqe) == 64,
	       "mlx5_cqe64 size");

#define VT_OPCODE_SEND	0x0a
#define VT_OPCODE_NOP	0x00
#define VT_CQ_UPDATE	(2 << 2)
#define VT_CSUM_L3	(1 << 6)
#define VT_CSUM_L4	(1 << 7)
#define VT_CQE_REQ	0
#define VT_CQE_RESP	2
#define VT_CQE_REQ_ERR	13
#define VT_CQE_RESP_ERR	14

#define VT_SLOT		2048

struct vt_cq {
	struct vt_cqe *cqes;
	uint32_t *dbr;
	uint32_t log;
	uint32_t ci;
};

struct vt_stack {
	int dev, fd;
	struct velo_stack_create c;
	uint8_t *map, *buf, *sq;
	struct vt_dseg *rq;
	uint32_t *qp_dbr;
	struct vt_cq rcq, scq;
	struct velo_conn *conns;
	uint16_t sq_pc, rq_pc;
	unsigned int tx_slot;
};

static inline int vt_sh(const char *cmd)
{
	int r = system(cmd);

	if (r)
		ktap_diag("command failed (%d): %s", r, cmd);
	return r;
}

/*
 * (Re)create the veth pair and the peer namespace. Full paths: busybox sh
 * would run its own, smaller ip applet.
 */
static inline int vt_setup(void)
{
	system("/usr/bin/ip netns del velopeer 2>/dev/null; /usr/bin/ip link del v0 2>/dev/null");
	return vt_sh("/usr/bin/ip netns add velopeer && "
		     "/usr/bin/ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 "
		     "address 02:00:00:00:00:02 netns velopeer && "
		     "/usr/bin/ip addr add 10.9.0.1/24 dev v0 && /usr/bin/ip addr add fd09::1/64 dev v0 nodad && "
		     "/usr/bin/ip link set v0 up && /usr/bin/ip -n velopeer link set lo up && "
		     "/usr/bin/ip -n velopeer addr add 10.9.0.2/24 dev v1 && "
		     "/usr/bin/ip -n velopeer addr add fd09::2/64 dev v1 nodad && "
		     "/usr/bin/ip -n velopeer link set v1 up && "
		     "/usr/bin/ip neigh replace 10.9.0.2 lladdr 02:00:00:00:00:02 dev v0 && "
		     "/usr/bin/ip -n velopeer neigh replace 10.9.0.1 lladdr 02:00:00:00:00:01 dev v1");
}

static inline int vt_enter_peer(void)
{
	int fd = open(VT_PEER_NS, O_RDONLY);
	int r;

	if (fd < 0)
		return -1;
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

static inline int64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Create a stack on @dev (an open /dev/velo) and map it. */
static inline int vt_stack_create(struct vt_stack *t, int dev, const char *ifname,
				  uint32_t buf_size)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->dev = dev;
	if (t->dev < 0)
		return -1;
	t->c.ifindex = if_nametoindex(ifname);
	t->c.buf_size = buf_size;
	t->c.log_sq_size = 6;
	t->c.log_rq_size = 6;
	t->c.log_cq_size = 6;
	t->c.nr_conns = 16;
	if (ioctl(t->dev, VELO_IOC_STACK_CREATE, &t->c))
		return -1;
	t->fd = t->c.fd;
	t->map = mmap(NULL, t->c.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (t->map == MAP_FAILED)
		return -1;
	t->buf = t->map + t->c.buf.offset;
	t->sq = t->map + t->c.sq.offset;
	t->rq = (void *)(t->map + t->c.rq.offset);
	t->qp_dbr = (void *)(t->map + t->c.dbr.offset + VELO_DBR_QP);
	t->rcq.cqes = (void *)(t->map + t->c.rcq.offset);
	t->rcq.dbr = (void *)(t->map + t->c.dbr.offset + VELO_DBR_RCQ);
	t->rcq.log = t->c.log_cq_size;
	t->scq.cqes = (void *)(t->map + t->c.scq.offset);
	t->scq.dbr = (void *)(t->map + t->c.dbr.offset + VELO_DBR_SCQ);
	t->scq.log = t->c.log_cq_size;
	t->conns = (void *)(t->map + t->c.conns.offset);
	return 0;
}

static inline int vt_stack_open(struct vt_stack *t, const char *ifname, uint32_t buf_size)
{
	return vt_stack_create(t, open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC), ifname, buf_size);
}

static inline void vt_stack_close(struct vt_stack *t)
{
	if (t->map && t->map != MAP_FAILED)
		munmap(t->map, t->c.mmap_size);
	close(t->fd);
	close(t->dev);
}

/* Post @n receive buffers (slot i of the buffer area). */
static inline void vt_post_rx(struct vt_stack *t, unsigned int n)
{
	unsigned int i, mask = (1U << t->c.log_rq_size) - 1;

	for (i = 0; i < n; i++) {
		struct vt_dseg *d = &t->rq[t->rq_pc & mask];

		d->byte_count = htobe32(VT_SLOT);
		d->lkey = htobe32(t->c.lkey);
		d->addr = htobe64((uint64_t)(t->rq_pc & mask) * VT_SLOT);
		t->rq_pc++;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	t->qp_dbr[0] = htobe32(t->rq_pc);
}

/* The next valid CQE of @cq, consumed, or NULL. */
static inline struct vt_cqe *vt_cq_next(struct vt_cq *cq)
{
	struct vt_cqe *e = &cq->cqes[cq->ci & ((1U << cq->log) - 1)];
	uint8_t own = __atomic_load_n(&e->op_own, __ATOMIC_ACQUIRE);

	if ((own >> 4) == 0xf || (own & 1) != ((cq->ci >> cq->log) & 1))
		return NULL;
	cq->ci++;
	cq->dbr[0] = htobe32(cq->ci & 0xffffff);
	return e;
}

/* Wait up to @ms for a CQE on @cq. */
static inline struct vt_cqe *vt_cq_wait(struct vt_stack *t, struct vt_cq *cq, int ms)
{
	int64_t deadline = vt_now_ns() + ms * 1000000LL;
	struct velo_wait w;
	struct vt_cqe *e;

	while (!(e = vt_cq_next(cq))) {
		memset(&w, 0, sizeof(w));
		w.deadline_ns = deadline;
		if (ioctl(t->fd, VELO_IOC_WAIT, &w) && errno == ETIME)
			return vt_cq_next(cq);
		if (vt_now_ns() > deadline)
			return vt_cq_next(cq);
	}
	return e;
}

/*
 * Post a SEND of @frame: @inl bytes inline in the eth segment, the rest from
 * a data segment in the TX part of the buffer area; update the doorbell
 * record (vt_send() then rings the doorbell: VELO_IOC_KICK).
 */
static inline void vt_post_send(struct vt_stack *t, const void *frame, unsigned int len,
				unsigned int inl, uint8_t cs_flags)
{
	unsigned int mask = (1U << t->c.log_sq_size) - 1;
	unsigned int eth_ds = inl > 2 ? 1 + (inl - 2 + 15) / 16 : 1;
	unsigned int ds = 1 + eth_ds + (len > inl), nbb = (ds + 3) / 4, i;
	uint8_t wqe[16 * 64] = { 0 };
	struct vt_ctrl *ctrl = (void *)wqe;
	struct vt_eth *eth = (void *)(wqe + 16);
	/* RX slots in the first 128 KiB, TX slots in the upper half (>= 256 KiB). */
	uint64_t off = t->c.buf.size / 2 + (uint64_t)(t->tx_slot++ % 64) * VT_SLOT;

	ctrl->opmod_idx_opcode = htobe32((uint32_t)t->sq_pc << 8 | VT_OPCODE_SEND);
	ctrl->qpn_ds = htobe32(t->c.sqn << 8 | ds);
	ctrl->fm_ce_se = VT_CQ_UPDATE;
	eth->cs_flags = cs_flags;
	eth->inline_hdr_sz = htobe16(inl);
	memcpy(eth->inline_hdr_start, frame, inl);
	if (len > inl) {
		struct vt_dseg *d = (void *)(wqe + 16 * (1 + eth_ds));

		memcpy(t->buf + off, (const uint8_t *)frame + inl, len - inl);
		d->byte_count = htobe32(len - inl);
		d->lkey = htobe32(t->c.lkey);
		d->addr = htobe64(off);
	}
	for (i = 0; i < nbb; i++)
		memcpy(t->sq + ((t->sq_pc + i) & mask) * 64, wqe + i * 64, 64);
	t->sq_pc += nbb;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	t->qp_dbr[1] = htobe32(t->sq_pc);
}

static inline int vt_send(struct vt_stack *t, const void *frame, unsigned int len,
			  unsigned int inl, uint8_t cs_flags)
{
	vt_post_send(t, frame, len, inl, cs_flags);
	return ioctl(t->fd, VELO_IOC_KICK);
}

static inline uint16_t vt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint32_t vt_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

struct vt_tuple {
	int family;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;	/* host order */
};

static inline void vt_tuple4(struct vt_tuple *u, const char *s, uint16_t sp,
			     const char *d, uint16_t dp)
{
	memset(u, 0, sizeof(*u));
	u->family = AF_INET;
	inet_pton(AF_INET, s, u->saddr);
	inet_pton(AF_INET, d, u->daddr);
	u->sport = sp;
	u->dport = dp;
}

static inline void vt_tuple6(struct vt_tuple *u, const char *s, uint16_t sp,
			     const char *d, uint16_t dp)
{
	memset(u, 0, sizeof(*u));
	u->family = AF_INET6;
	inet_pton(AF_INET6, s, u->saddr);
	inet_pton(AF_INET6, d, u->daddr);
	u->sport = sp;
	u->dport = dp;
}

/* An Ethernet/IP/TCP frame with correct checksums; returns its length. */
static inline unsigned int vt_tcp_frame(uint8_t *f, const uint8_t *src, const uint8_t *dst,
					const struct vt_tuple *u, uint32_t seq, uint32_t ack,
					uint8_t flags, const void *data, unsigned int dlen)
{
	int v6 = u->family == AF_INET6;
	unsigned int l3 = v6 ? 40 : 20, alen = v6 ? 16 : 4;
	struct tcphdr *th = (void *)(f + 14 + l3);
	uint32_t sum;

	memset(f, 0, 14 + l3 + 20);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		struct ip6_hdr *ip6 = (void *)(f + 14);

		ip6->ip6_flow = htonl(6 << 28);
		ip6->ip6_plen = htons(20 + dlen);
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, u->saddr, 16);
		memcpy(&ip6->ip6_dst, u->daddr, 16);
	} else {
		struct iphdr *iph = (void *)(f + 14);

		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(20 + 20 + dlen);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		memcpy(&iph->saddr, u->saddr, 4);
		memcpy(&iph->daddr, u->daddr, 4);
		iph->check = htons(vt_csum_fold(vt_csum_add(0, iph, 20)));
	}
	th->source = htons(u->sport);
	th->dest = htons(u->dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = 5;
	((uint8_t *)th)[13] = flags;
	th->window = htons(65535);
	memcpy(th + 1, data, dlen);
	sum = vt_csum_add(0, u->saddr, alen);
	sum = vt_csum_add(sum, u->daddr, alen);
	sum += IPPROTO_TCP + 20 + dlen;
	sum = vt_csum_add(sum, th, 20 + dlen);
	th->check = htons(vt_csum_fold(sum));
	return 14 + l3 + 20 + dlen;
}

#define VT_FIN 0x01
#define VT_SYN 0x02
#define VT_RST 0x04
#define VT_PSH 0x08
#define VT_ACK 0x10

static inline int vt_filter(struct vt_stack *t, const struct vt_tuple *u, uint32_t flags,
			    uint64_t *handle)
{
	struct velo_filter f = { .family = u->family, .protocol = IPPROTO_TCP };
	int r;

	f.flags = flags;
	memcpy(f.laddr, u->saddr, 16);
	f.lport = htons(u->sport);
	if (!(flags & VELO_FILTER_F_LISTEN)) {
		memcpy(f.raddr, u->daddr, 16);
		f.rport = htons(u->dport);
	}
	r = ioctl(t->fd, VELO_IOC_FILTER_ADD, &f);
	if (!r && handle)
		*handle = f.handle;
	return r;
}

static inline int vt_filter_del(struct vt_stack *t, uint64_t handle)
{
	struct velo_filter f = { .handle = handle };

	return ioctl(t->fd, VELO_IOC_FILTER_DEL, &f);
}

static inline long long vt_sysfs_u64(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline long long vt_sysfs_u64(const char *fmt, ...)
{
	char path[256], buf[64];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

static inline long long vt_stack_cnt(const struct vt_stack *t, const char *name)
{
	return vt_sysfs_u64("/sys/kernel/velo/stacks/%u/%s", t->c.stack_id, name);
}

/* An AF_PACKET socket on @ifname (in the current netns). */
static inline int vt_packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -1;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (bind(fd, (void *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Receive frames for up to @ms until one is @len bytes equal to @want. */
static inline int vt_packet_expect(int fd, const void *want, unsigned int len, int ms)
{
	int64_t deadline = vt_now_ns() + ms * 1000000LL;
	uint8_t buf[2048];

	while (vt_now_ns() < deadline) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (void *)&from, &fl);

		if (n == (ssize_t)len && from.sll_pkttype != PACKET_OUTGOING &&
		    !memcmp(buf, want, len))
			return 0;
	}
	return -1;
}

#endif /* VELO_VM_TEST_H */
