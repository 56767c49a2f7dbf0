// SPDX-License-Identifier: GPL-2.0
/*
 * In-module self-tests, run at load (WireGuard style). Each test prints
 * "velo: <name>: pass" or "velo: <name>: FAIL"; the VM harness turns these
 * lines into test results and fails on any verdict other than pass.
 */
/* Lines name their module themselves (velo or velo_mlx5). */
#define pr_fmt(fmt) fmt

#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/mlx5/cq.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tcp.h>
#include <linux/velo.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "velo.h"

/*
 * The version reply must carry a NUL-terminated release that fits; the
 * uapi structures keep one layout for 32- and 64-bit user space.
 */
static bool velo_selftest_version(void)
{
	BUILD_BUG_ON(sizeof(struct velo_stack_create) != 200);
	BUILD_BUG_ON(offsetof(struct velo_stack_create, uar) != VELO_STACK_CREATE_SIZE_V1);
	BUILD_BUG_ON(VELO_IOC_STACK_CREATE == VELO_IOC_STACK_CREATE_V1);
	BUILD_BUG_ON(sizeof(struct velo_filter) != 56);
	BUILD_BUG_ON(sizeof(struct velo_conn) != 64);
	BUILD_BUG_ON(sizeof(struct velo_wait) != 16);
	BUILD_BUG_ON(offsetof(struct velo_stack_create, mmap_size) % 8);

	return strlen(VELO_VERSION) < sizeof_field(struct velo_version, release) &&
	       _IOC_SIZE(VELO_IOC_VERSION) == sizeof(struct velo_version);
}

#define ST_LKEY 0x1276
#define ST_BUF 4096

/* A SEND WQE: ctrl, eth with @inl inline bytes, then @nseg data segments. */
static unsigned int st_wqe(u8 *w, unsigned int inl, unsigned int nseg, u64 addr, u32 len)
{
	struct mlx5_wqe_ctrl_seg *ctrl = (void *)w;
	struct mlx5_wqe_eth_seg *eth = (void *)(w + 16);
	unsigned int eth_ds = inl > 2 ? 1 + DIV_ROUND_UP(inl - 2, 16) : 1;
	unsigned int ds = 1 + eth_ds + nseg, i;

	memset(w, 0, VELO_MAX_WQEBBS * VELO_WQEBB);
	ctrl->opmod_idx_opcode = cpu_to_be32(MLX5_OPCODE_SEND);
	ctrl->qpn_ds = cpu_to_be32(ds);
	eth->inline_hdr.sz = cpu_to_be16(inl);
	for (i = 0; i < nseg; i++) {
		struct mlx5_wqe_data_seg *d = (void *)(w + 16 * (1 + eth_ds + i));

		d->byte_count = cpu_to_be32(len);
		d->lkey = cpu_to_be32(ST_LKEY);
		d->addr = cpu_to_be64(addr);
	}
	return ds;
}

/* WQE validation: good WQEs parse, every kind of garbage is refused. */
static bool velo_selftest_wqe_parse(void)
{
	u8 *w = kmalloc(VELO_MAX_WQEBBS * VELO_WQEBB, GFP_KERNEL);
	struct velo_tx_desc *d = kmalloc(sizeof(*d), GFP_KERNEL);
	struct mlx5_wqe_data_seg *seg;
	unsigned int ds;
	bool ok = w && d;

	if (!ok)
		goto out;
	ds = st_wqe(w, 18, 2, 100, 60);
	ok &= !velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) && d->len == 138 && d->nsegs == 2;
	ds = st_wqe(w, 0, 1, ST_BUF - 60, 60);
	ok &= !velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) && d->len == 60;
	ok &= velo_wqe_parse(w, 1, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_WQE;
	ok &= velo_wqe_parse(w, ds, ST_LKEY + 1, ST_BUF, d) == VELO_CNT_TX_BAD_DATA;
	ds = st_wqe(w, 0, 1, ST_BUF - 59, 60);
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_DATA;
	ds = st_wqe(w, 0, 1, U64_MAX - 10, 60);
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_DATA;
	ds = st_wqe(w, 0, 1, 0, 60);
	seg = (void *)(w + 32);
	seg->byte_count |= cpu_to_be32(BIT(31));
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_DATA;
	ds = st_wqe(w, 0, 20, 0, 4000);		/* 80000 bytes: too long */
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_DATA;
	ds = st_wqe(w, VELO_MAX_INLINE + 1, 0, 0, 0);
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_WQE;
	ds = st_wqe(w, 200, 0, 0, 0);
	ok &= velo_wqe_parse(w, ds - 1, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_WQE;
	w[3] = 0x0b;	/* an opcode the soft provider does not implement */
	ok &= velo_wqe_parse(w, ds, ST_LKEY, ST_BUF, d) == VELO_CNT_TX_BAD_WQE;
out:
	kfree(d);
	kfree(w);
	return ok;
}

/* CQEs: the owner bit flips on each pass, the body lands before it. */
static bool velo_selftest_cq_owner(void)
{
	struct velo_cq cq = { .log_size = 2 };
	struct mlx5_cqe64 cqe;
	__be32 dbr[2] = {};
	bool ok = true;
	u32 i;

	cq.cqes = kcalloc(4, sizeof(*cq.cqes), GFP_KERNEL);
	cq.dbr = dbr;
	if (!cq.cqes)
		return false;
	velo_cq_init(&cq);
	ok &= !velo_cq_pending(&cq) && (cq.cqes[0].op_own & 1);
	for (i = 0; i < 6; i++) {
		memset(&cqe, 0, sizeof(cqe));
		cqe.byte_cnt = cpu_to_be32(i);
		velo_cq_post(&cq, &cqe, MLX5_CQE_RESP_SEND);
		ok &= cq.cqes[i & 3].op_own == (MLX5_CQE_RESP_SEND << 4 | (i >> 2)) &&
		      be32_to_cpu(cq.cqes[i & 3].byte_cnt) == i;
		dbr[0] = cpu_to_be32(i + 1);
	}
	dbr[0] = cpu_to_be32(2);
	ok &= velo_cq_full(&cq);
	dbr[0] = cpu_to_be32(6);
	ok &= !velo_cq_pending(&cq);
	kfree(cq.cqes);
	return ok;
}

static struct velo_filt *st_filt(void *owner, bool listen, u8 last, __be16 lport)
{
	struct velo_filt *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	f->stack = owner;
	f->key.net = &init_net;
	f->key.ifindex = 1;
	f->key.family = AF_INET;
	f->key.listen = listen;
	f->key.lport = lport;
	if (!listen) {
		f->key.rport = htons(40000);
		f->key.raddr[3] = 9;
	}
	f->key.laddr[0] = 10;
	f->key.laddr[3] = last;
	return f;
}

/*
 * The filter table: exact, listening and wildcard matches in that order,
 * EEXIST on a duplicate, takeover only within the same owner.
 */
static bool velo_selftest_filter_table(void)
{
	struct velo_filt *conn = st_filt((void *)1, false, 1, htons(80));
	struct velo_filt *lst = st_filt((void *)1, true, 1, htons(80));
	struct velo_filt *any = st_filt((void *)2, true, 0, htons(80));
	struct velo_filt *dup = st_filt((void *)3, false, 1, htons(80));
	struct velo_filt *take = st_filt((void *)1, false, 1, htons(80));
	struct velo_filt *old;
	struct velo_key k;
	bool ok = conn && lst && any && dup && take;

	if (!ok)
		goto out;
	any->key.laddr[0] = 0;
	ok &= !velo_ftab_insert(conn, false, &old) && !old;
	ok &= !velo_ftab_insert(lst, false, &old) && !velo_ftab_insert(any, false, &old);
	ok &= velo_ftab_insert(dup, false, &old) == -EEXIST;
	ok &= velo_ftab_insert(dup, true, &old) == -EEXIST;
	k = conn->key;
	rcu_read_lock();
	ok &= velo_ftab_match(&k) == conn;
	k.rport = htons(40001);
	ok &= velo_ftab_match(&k) == lst;
	k.laddr[3] = 2;
	ok &= velo_ftab_match(&k) == any;
	k.lport = htons(81);
	ok &= !velo_ftab_match(&k);
	k = conn->key;
	k.ifindex = 2;
	ok &= !velo_ftab_match(&k);
	rcu_read_unlock();
	ok &= !velo_ftab_insert(take, true, &old) && old == conn;
	rcu_read_lock();
	ok &= velo_ftab_lookup(&conn->key) == take;
	rcu_read_unlock();
	velo_ftab_remove(take);
	velo_ftab_remove(lst);
	velo_ftab_remove(any);
	synchronize_rcu();
	rcu_read_lock();
	ok &= !velo_ftab_match(&conn->key);
	rcu_read_unlock();
out:
	kfree(conn);
	kfree(lst);
	kfree(any);
	kfree(dup);
	kfree(take);
	return ok;
}

/* A teardown RST: right flags and sequence numbers, valid checksums. */
static bool velo_selftest_rst(void)
{
	static const u8 mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };
	struct velo_conn c = {
		.state = VELO_CONN_OPEN,
		.family = AF_INET,
		.peer_mac = { 2, 0, 0, 0, 0, 2 },
		.laddr = { 10, 0, 0, 1 },
		.raddr = { 10, 0, 0, 2 },
		.lport = htons(80),
		.rport = htons(40000),
		.snd_nxt = 0x01020304,
		.rcv_nxt = 0xa0b0c0d0,
	};
	struct sk_buff *skb = velo_rst_build(mac, &c);
	struct iphdr *iph;
	struct tcphdr *th;
	bool ok;

	if (!skb)
		return false;
	iph = (void *)(skb->data + ETH_HLEN);
	th = (void *)(iph + 1);
	ok = skb->len == ETH_HLEN + 40 && !ip_fast_csum(iph, iph->ihl) &&
	     th->rst && th->ack && !th->syn && ntohl(th->seq) == c.snd_nxt &&
	     ntohl(th->ack_seq) == c.rcv_nxt &&
	     !csum_tcpudp_magic(iph->saddr, iph->daddr, 20, IPPROTO_TCP,
				csum_partial(th, 20, 0)) &&
	     ether_addr_equal(skb->data + ETH_ALEN, mac);
	kfree_skb(skb);
	return ok;
}

/* mlx5 netdevs are recognised by their parent's driver. */
static bool velo_selftest_mlx5_detect(void)
{
	static struct device_driver mlx5 = { .name = "mlx5_core" };
	static struct device_driver other = { .name = "virtio_net" };
	struct device parent = { .driver = &mlx5 };
	struct net_device *dev = alloc_etherdev(0);
	bool ok;

	if (!dev)
		return false;
	ok = !velo_mlx5_netdev(dev);
	dev->dev.parent = &parent;
	ok &= velo_mlx5_netdev(dev);
	parent.driver = &other;
	ok &= !velo_mlx5_netdev(dev);
	free_netdev(dev);
	return ok;
}

static const struct velo_selftest velo_selftests[] = {
	{ "version", velo_selftest_version },
	{ "wqe_parse", velo_selftest_wqe_parse },
	{ "cq_owner", velo_selftest_cq_owner },
	{ "filter_table", velo_selftest_filter_table },
	{ "rst", velo_selftest_rst },
	{ "mlx5_detect", velo_selftest_mlx5_detect },
};

/*
 * Run @n tests and print "<module>: <name>: pass" (or FAIL) for each: the
 * VM harness's format. velo_mlx5.ko runs its own through this too.
 */
bool velo_selftests_table(const char *module, const struct velo_selftest *t, size_t n)
{
	bool all = true;
	size_t i;

	for (i = 0; i < n; i++) {
		bool ok = t[i].run();

		pr_info("%s: %s: %s\n", module, t[i].name, ok ? "pass" : "FAIL");
		all &= ok;
	}
	return all;
}
EXPORT_SYMBOL_GPL(velo_selftests_table);

bool velo_selftests_run(void)
{
	return velo_selftests_table(KBUILD_MODNAME, velo_selftests, ARRAY_SIZE(velo_selftests));
}
