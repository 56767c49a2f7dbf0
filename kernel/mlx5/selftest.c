// SPDX-License-Identifier: GPL-2.0
/*
 * velo_mlx5's self-tests, run at load: what can be checked without mlx5
 * hardware. The firmware command inboxes built from a stack's queues are
 * read back field by field (MLX5_GET), as are the MTT list of the buffer
 * mkey, the steering rules of 5-tuples and listeners (IPv4, IPv6), the
 * UAR page and doorbell offset, the inline sizes and the netdev choice.
 * Each prints "velo_mlx5: <name>: pass" (or FAIL); the VM harness counts
 * them.
 */
#include <linux/etherdevice.h>
#include <linux/in.h>
#include <linux/mlx5/doorbell.h>
#include <linux/slab.h>

#include "mlx5.h"

static const dma_addr_t st_pas[] = { 0x12345000, 0x6789a000, 0xbcdef000 };

static const struct velo_mlx5_q st_q = {
	.log_size = 9,
	.pdn = 0x11,
	.uar = 0x22,
	.cqn = 0x33,
	.dbr = 0xabc040,
	.pas = st_pas,
	.npas = ARRAY_SIZE(st_pas),
};

static bool st_pas_ok(const __be64 *pas)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(st_pas); i++)
		if (be64_to_cpu(pas[i]) != st_pas[i])
			return false;
	return true;
}

/* Checks and frees the inbox. */
static bool st_wq_ok(u32 *in, void *wq, u32 log_stride)
{
	bool ok = MLX5_GET(wq, wq, wq_type) == MLX5_WQ_TYPE_CYCLIC &&
		  MLX5_GET(wq, wq, pd) == st_q.pdn && MLX5_GET(wq, wq, uar_page) == st_q.uar &&
		  MLX5_GET64(wq, wq, dbr_addr) == st_q.dbr &&
		  MLX5_GET(wq, wq, log_wq_stride) == log_stride &&
		  MLX5_GET(wq, wq, log_wq_sz) == st_q.log_size &&
		  MLX5_GET(wq, wq, log_wq_pg_sz) == PAGE_SHIFT - MLX5_ADAPTER_PAGE_SHIFT &&
		  st_pas_ok(MLX5_ADDR_OF(wq, wq, pas));

	kfree(in);
	return ok;
}

static bool velo_mlx5_selftest_cq_in(void)
{
	u32 *in = kzalloc(velo_mlx5_cq_inlen(st_q.npas), GFP_KERNEL);
	void *cqc;
	bool ok;

	if (!in)
		return false;
	velo_mlx5_cq_in(in, &st_q, 7);
	cqc = MLX5_ADDR_OF(create_cq_in, in, cq_context);
	ok = MLX5_GET(cqc, cqc, cqe_sz) == CQE_STRIDE_64 &&
	     MLX5_GET(cqc, cqc, log_cq_size) == 9 && MLX5_GET(cqc, cqc, uar_page) == 0x22 &&
	     MLX5_GET(cqc, cqc, c_eqn_or_apu_element) == 7 &&
	     MLX5_GET64(cqc, cqc, dbr_addr) == 0xabc040 &&
	     MLX5_GET(cqc, cqc, log_page_size) == PAGE_SHIFT - MLX5_ADAPTER_PAGE_SHIFT &&
	     st_pas_ok(MLX5_ADDR_OF(create_cq_in, in, pas));
	kfree(in);
	return ok;
}

static bool velo_mlx5_selftest_sq_in(void)
{
	u32 *in = kzalloc(velo_mlx5_sq_inlen(st_q.npas), GFP_KERNEL);
	void *sqc;
	bool ok;

	if (!in)
		return false;
	velo_mlx5_sq_in(in, &st_q, 0x44, MLX5_INLINE_MODE_L2, true);
	sqc = MLX5_ADDR_OF(create_sq_in, in, ctx);
	ok = MLX5_GET(create_sq_in, in, opcode) == MLX5_CMD_OP_CREATE_SQ &&
	     MLX5_GET(sqc, sqc, state) == MLX5_SQC_STATE_RST &&
	     MLX5_GET(sqc, sqc, cqn) == 0x33 && MLX5_GET(sqc, sqc, tis_lst_sz) == 1 &&
	     MLX5_GET(sqc, sqc, tis_num_0) == 0x44 &&
	     MLX5_GET(sqc, sqc, min_wqe_inline_mode) == MLX5_INLINE_MODE_L2 &&
	     MLX5_GET(sqc, sqc, ts_format) == MLX5_TIMESTAMP_FORMAT_REAL_TIME &&
	     MLX5_GET(sqc, sqc, flush_in_error_en) == 1;
	return st_wq_ok(in, MLX5_ADDR_OF(sqc, sqc, wq), 6) && ok;
}

static bool velo_mlx5_selftest_rq_in(void)
{
	u32 *in = kzalloc(velo_mlx5_rq_inlen(st_q.npas), GFP_KERNEL);
	void *rqc;
	bool ok;

	if (!in)
		return false;
	velo_mlx5_rq_in(in, &st_q, false);
	rqc = MLX5_ADDR_OF(create_rq_in, in, ctx);
	ok = MLX5_GET(rqc, rqc, state) == MLX5_RQC_STATE_RST &&
	     MLX5_GET(rqc, rqc, cqn) == 0x33 && MLX5_GET(rqc, rqc, vsd) == 1 &&
	     MLX5_GET(rqc, rqc, ts_format) == MLX5_TIMESTAMP_FORMAT_FREE_RUNNING &&
	     MLX5_GET(rqc, rqc, mem_rq_type) == MLX5_RQC_MEM_RQ_TYPE_MEMORY_RQ_INLINE;
	/* One 16-byte data segment per WQE, as the uapi's RQ. */
	return st_wq_ok(in, MLX5_ADDR_OF(rqc, rqc, wq), 4) && ok;
}

static bool velo_mlx5_selftest_tis_tir_in(void)
{
	u32 tis[MLX5_ST_SZ_DW(create_tis_in)] = {};
	u32 tir[MLX5_ST_SZ_DW(create_tir_in)] = {};
	void *tirc = MLX5_ADDR_OF(create_tir_in, tir, ctx);

	velo_mlx5_tis_in(tis, 0x55);
	velo_mlx5_tir_in(tir, 0x55, 0x66);
	return MLX5_GET(tisc, MLX5_ADDR_OF(create_tis_in, tis, ctx), transport_domain) == 0x55 &&
	       MLX5_GET(tirc, tirc, disp_type) == MLX5_TIRC_DISP_TYPE_DIRECT &&
	       MLX5_GET(tirc, tirc, inline_rqn) == 0x66 &&
	       MLX5_GET(tirc, tirc, transport_domain) == 0x55;
}

/* Three pages: two MTT octwords, addresses 0 .. 3 pages, the pages in order. */
static bool velo_mlx5_selftest_mkey_in(void)
{
	int inlen = velo_mlx5_mkey_inlen(ARRAY_SIZE(st_pas));
	u32 *in = kzalloc(inlen, GFP_KERNEL);
	void *mkc;
	bool ok;

	if (!in)
		return false;
	velo_mlx5_mkey_in(in, 0x11, 3 * PAGE_SIZE, st_pas, ARRAY_SIZE(st_pas));
	mkc = MLX5_ADDR_OF(create_mkey_in, in, memory_key_mkey_entry);
	ok = inlen == MLX5_ST_SZ_BYTES(create_mkey_in) + 32 &&
	     MLX5_GET(create_mkey_in, in, translations_octword_actual_size) == 2 &&
	     MLX5_GET(mkc, mkc, translations_octword_size) == 2 &&
	     MLX5_GET(mkc, mkc, access_mode_1_0) == MLX5_MKC_ACCESS_MODE_MTT &&
	     MLX5_GET(mkc, mkc, lr) && MLX5_GET(mkc, mkc, lw) && !MLX5_GET(mkc, mkc, rw) &&
	     MLX5_GET(mkc, mkc, pd) == 0x11 && MLX5_GET(mkc, mkc, qpn) == 0xffffff &&
	     MLX5_GET64(mkc, mkc, start_addr) == 0 &&
	     MLX5_GET64(mkc, mkc, len) == 3 * PAGE_SIZE &&
	     MLX5_GET(mkc, mkc, log_page_size) == PAGE_SHIFT &&
	     st_pas_ok(MLX5_ADDR_OF(create_mkey_in, in, klm_pas_mtt));
	kfree(in);
	return ok;
}

static void st_key(struct velo_key *k, u16 family, bool listen, bool any)
{
	size_t alen = family == AF_INET6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	k->family = family;
	k->listen = listen;
	k->lport = htons(80);
	if (!any)
		memset(k->laddr, 0xa1, alen);
	if (!listen) {
		k->rport = htons(40000);
		memset(k->raddr, 0xb2, alen);
	}
}

/* Address field @field of criteria @c and value @v: all-ones and @byte, or zero. */
static bool st_addr(void *c, void *v, size_t field, u16 family, u8 byte)
{
	size_t off = family == AF_INET6 ? 0 : MLX5_BYTE_OFF(ipv4_layout, ipv4);
	size_t alen = family == AF_INET6 ? 16 : 4;
	u8 *cb = (u8 *)c + field, *vb = (u8 *)v + field;

	if (!byte)
		return !memchr_inv(cb, 0, 16) && !memchr_inv(vb, 0, 16);
	return !memchr_inv(cb, 0, off) && !memchr_inv(cb + off, 0xff, alen) &&
	       !memchr_inv(vb + off, byte, alen);
}

static bool st_spec(struct mlx5_flow_spec *spec, u16 family, bool listen, bool any)
{
	void *c = MLX5_ADDR_OF(fte_match_param, spec->match_criteria, outer_headers);
	void *v = MLX5_ADDR_OF(fte_match_param, spec->match_value, outer_headers);
	size_t dst = MLX5_BYTE_OFF(fte_match_set_lyr_2_4, dst_ipv4_dst_ipv6);
	size_t src = MLX5_BYTE_OFF(fte_match_set_lyr_2_4, src_ipv4_src_ipv6);
	enum velo_mlx5_ft ft = listen ? (any ? VELO_MLX5_FT_ANY : VELO_MLX5_FT_LISTEN) :
				      VELO_MLX5_FT_CONN;
	struct velo_key k;

	st_key(&k, family, listen, any);
	memset(spec, 0, sizeof(*spec));
	velo_mlx5_flow_spec(spec, &k);
	return velo_mlx5_flow_table(&k) == ft &&
	       spec->match_criteria_enable == MLX5_MATCH_OUTER_HEADERS &&
	       MLX5_GET(fte_match_set_lyr_2_4, c, ethertype) == 0xffff &&
	       MLX5_GET(fte_match_set_lyr_2_4, v, ethertype) ==
	       (family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP) &&
	       MLX5_GET(fte_match_set_lyr_2_4, c, ip_protocol) == 0xff &&
	       MLX5_GET(fte_match_set_lyr_2_4, v, ip_protocol) == IPPROTO_TCP &&
	       MLX5_GET(fte_match_set_lyr_2_4, c, tcp_dport) == 0xffff &&
	       MLX5_GET(fte_match_set_lyr_2_4, v, tcp_dport) == 80 &&
	       MLX5_GET(fte_match_set_lyr_2_4, c, tcp_sport) == (listen ? 0 : 0xffff) &&
	       MLX5_GET(fte_match_set_lyr_2_4, v, tcp_sport) == (listen ? 0 : 40000) &&
	       st_addr(c, v, dst, family, any ? 0 : 0xa1) &&
	       st_addr(c, v, src, family, listen ? 0 : 0xb2);
}

/* 5-tuples and listeners, IPv4 and IPv6, on an address or any. */
static bool velo_mlx5_selftest_flow_spec(void)
{
	struct mlx5_flow_spec *spec = kzalloc(sizeof(*spec), GFP_KERNEL);
	static const u16 families[] = { AF_INET, AF_INET6 };
	bool ok = spec;
	size_t i;

	for (i = 0; ok && i < ARRAY_SIZE(families); i++)
		ok = st_spec(spec, families[i], false, false) &&
		     st_spec(spec, families[i], true, false) &&
		     st_spec(spec, families[i], true, true);
	kfree(spec);
	return ok;
}

/* The page of UAR @index in BAR 0, and where the SQ doorbell goes in it. */
static bool velo_mlx5_selftest_uar(void)
{
	u32 db = velo_mlx5_uar_db_offset();

	return velo_mlx5_uar_pfn(0xf0000000, 5, true) == (0xf0000000 >> PAGE_SHIFT) + 5 &&
	       velo_mlx5_uar_pfn(0xf0000000, 5, false) == (0xf0000000 >> PAGE_SHIFT) + 5 &&
	       db == MLX5_BF_OFFSET && IS_ALIGNED(db, 8) && db + 8 <= PAGE_SIZE &&
	       db >= MLX5_CQ_DOORBELL + 8;
}

static bool velo_mlx5_selftest_inline(void)
{
	return velo_mlx5_inline_bytes(MLX5_INLINE_MODE_NONE) == 0 &&
	       velo_mlx5_inline_bytes(MLX5_INLINE_MODE_L2) == 18 &&
	       velo_mlx5_inline_bytes(MLX5_INLINE_MODE_IP) == 74 &&
	       velo_mlx5_inline_bytes(MLX5_INLINE_MODE_TCP_UDP) == 134 &&
	       velo_mlx5_inline_bytes(MLX5_INLINE_MODE_TCP_UDP) <= VELO_MAX_INLINE;
}

/* Only a PCI function bound to mlx5_core has an mlx5_core_dev to use. */
static bool velo_mlx5_selftest_netdev(void)
{
	static struct device_driver mlx5 = { .name = "mlx5_core" };
	struct device parent = { .driver = &mlx5 };
	struct net_device *dev = alloc_etherdev(0);
	bool ok;

	if (!dev)
		return false;
	ok = !velo_mlx5_mdev(dev);
	dev->dev.parent = &parent;	/* an mlx5 driver, but not a PCI device */
	ok &= !velo_mlx5_mdev(dev);
	free_netdev(dev);
	return ok;
}

static const struct velo_selftest velo_mlx5_selftests[] = {
	{ "cq_in", velo_mlx5_selftest_cq_in },
	{ "sq_in", velo_mlx5_selftest_sq_in },
	{ "rq_in", velo_mlx5_selftest_rq_in },
	{ "tis_tir_in", velo_mlx5_selftest_tis_tir_in },
	{ "mkey_in", velo_mlx5_selftest_mkey_in },
	{ "flow_spec", velo_mlx5_selftest_flow_spec },
	{ "uar", velo_mlx5_selftest_uar },
	{ "inline", velo_mlx5_selftest_inline },
	{ "netdev", velo_mlx5_selftest_netdev },
};

bool velo_mlx5_selftests_run(void)
{
	return velo_selftests_table(KBUILD_MODNAME, velo_mlx5_selftests,
				    ARRAY_SIZE(velo_mlx5_selftests));
}
