// SPDX-License-Identifier: GPL-2.0
/*
 * The soft provider: velo.ko plays the NIC behind mlx5-format queues, so
 * that user space has exactly one driver. Send WQEs are consumed on the
 * doorbell (VELO_IOC_KICK, standing for the UAR write), received frames
 * are copied into posted receive WQEs, and completions are written as
 * mlx5 CQEs with the ownership bit.
 *
 * Every index, WQE and buffer address comes from user-writable memory and
 * may change under us: each is read once into a private snapshot, checked,
 * and only the snapshot is used. A bad one is counted and dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/mlx5/cq.h>
#include <linux/mlx5/qp.h>
#include <linux/skbuff.h>

#include "velo.h"

/* mlx5 data segment byte_count bit 31: inline data (not for velo). */
#define VELO_DSEG_INLINE	BIT(31)
/* CQE l4_l3_hdr_type[3:2] (PRM; mlx5dv.h's MLX5_CQE_L3_HDR_TYPE_*). */
#define VELO_CQE_L3_IPV6	BIT(2)
#define VELO_CQE_L3_IPV4	(2 << 2)

void velo_cq_init(struct velo_cq *cq)
{
	u32 i;

	cq->pi = 0;
	/* Invalid opcode, owner 1: not valid in the first pass (owner 0). */
	for (i = 0; i < (1U << cq->log_size); i++)
		cq->cqes[i].op_own = MLX5_CQE_INVALID << 4 | MLX5_CQE_OWNER_MASK;
}

/* The consumer index is user space's: trusting it only risks its own CQEs. */
static u32 velo_cq_used(const struct velo_cq *cq)
{
	u32 ci = be32_to_cpu(READ_ONCE(cq->dbr[0]));

	return (READ_ONCE(cq->pi) - ci) & 0xffffff;
}

bool velo_cq_full(const struct velo_cq *cq)
{
	return velo_cq_used(cq) >= (1U << cq->log_size);
}

bool velo_cq_pending(const struct velo_cq *cq)
{
	return velo_cq_used(cq) != 0;
}

/* Write a CQE; its ownership byte last, after everything it vouches for. */
void velo_cq_post(struct velo_cq *cq, struct mlx5_cqe64 *cqe, u8 opcode)
{
	struct mlx5_cqe64 *slot = &cq->cqes[cq->pi & ((1U << cq->log_size) - 1)];
	u8 owner = (cq->pi >> cq->log_size) & MLX5_CQE_OWNER_MASK;

	cqe->op_own = MLX5_CQE_INVALID << 4 | (owner ^ 1);
	memcpy(slot, cqe, sizeof(*slot));
	/* The CQE body must be visible before the byte that makes it valid. */
	smp_wmb();
	WRITE_ONCE(slot->op_own, opcode << 4 | owner);
	WRITE_ONCE(cq->pi, cq->pi + 1);
}

static void velo_cq_post_err(struct velo_cq *cq, u8 opcode, u8 syndrome,
			     u16 wqe_counter, u32 qpn)
{
	struct mlx5_cqe64 cqe = {};
	struct mlx5_err_cqe *err = (void *)&cqe;

	err->syndrome = syndrome;
	err->s_wqe_opcode_qpn = cpu_to_be32(qpn & 0xffffff);
	err->wqe_counter = cpu_to_be16(wqe_counter);
	velo_cq_post(cq, &cqe, opcode);
}

static bool velo_dseg_ok(const struct mlx5_wqe_data_seg *seg, u32 lkey, u64 buf_size)
{
	u32 len = be32_to_cpu(seg->byte_count);
	u64 addr = be64_to_cpu(seg->addr);

	return be32_to_cpu(seg->lkey) == lkey && !(len & VELO_DSEG_INLINE) &&
	       addr < buf_size && len <= buf_size - addr;
}

/*
 * Parse a send WQE snapshot of @ds 16-byte segments: ctrl, eth (with its
 * inline header) and data segments. Returns 0 or the counter of the
 * reason it is refused.
 */
int velo_wqe_parse(const u8 *wqe, unsigned int ds, u32 lkey, u64 buf_size,
		   struct velo_tx_desc *d)
{
	const struct mlx5_wqe_ctrl_seg *ctrl = (const void *)wqe;
	const struct mlx5_wqe_eth_seg *eth = (const void *)(wqe + 16);
	unsigned int eth_ds, i;

	d->opcode = be32_to_cpu(ctrl->opmod_idx_opcode) & 0xff;
	d->fm_ce_se = ctrl->fm_ce_se;
	d->nsegs = 0;
	d->len = 0;
	d->inline_len = 0;
	if (d->opcode == MLX5_OPCODE_NOP)
		return 0;
	if (d->opcode != MLX5_OPCODE_SEND || ds < 2)
		return VELO_CNT_TX_BAD_WQE;
	d->cs_flags = eth->cs_flags;
	d->inline_len = be16_to_cpu(eth->inline_hdr.sz);
	d->inline_data = eth->inline_hdr.start;
	if (d->inline_len > VELO_MAX_INLINE)
		return VELO_CNT_TX_BAD_WQE;
	/* The inline header starts 14 bytes into the eth segment. */
	eth_ds = d->inline_len > 2 ? 1 + DIV_ROUND_UP(d->inline_len - 2, 16) : 1;
	if (1 + eth_ds > ds || ds - 1 - eth_ds > VELO_MAX_DSEGS)
		return VELO_CNT_TX_BAD_WQE;
	d->len = d->inline_len;
	d->nsegs = ds - 1 - eth_ds;
	for (i = 0; i < d->nsegs; i++) {
		memcpy(&d->segs[i], wqe + 16 * (1 + eth_ds + i), sizeof(d->segs[i]));
		if (!velo_dseg_ok(&d->segs[i], lkey, buf_size))
			return VELO_CNT_TX_BAD_DATA;
		d->len += be32_to_cpu(d->segs[i].byte_count);
		/* Bounded before it can wrap: 60 segments of up to 256 MiB each. */
		if (d->len > VELO_MAX_FRAME)
			return VELO_CNT_TX_BAD_DATA;
	}
	return 0;
}

/* Copy @nbb WQEBBs from the ring at @index, wrapping around its end. */
static void velo_sq_snapshot(struct velo_stack *s, u16 index, unsigned int nbb)
{
	u32 mask = (1U << s->layout.log_sq_size) - 1;
	unsigned int i;

	for (i = 0; i < nbb; i++)
		memcpy(s->wqe + i * VELO_WQEBB,
		       s->sq + ((index + i) & mask) * VELO_WQEBB, VELO_WQEBB);
}

static struct sk_buff *velo_tx_frame(struct velo_stack *s, struct net_device *dev,
				     const struct velo_tx_desc *d)
{
	struct sk_buff *skb;
	unsigned int i;

	if (d->len < ETH_HLEN || d->len > dev->mtu + dev->hard_header_len)
		return NULL;
	skb = alloc_skb(LL_RESERVED_SPACE(dev) + d->len, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_RESERVED_SPACE(dev));
	skb_put_data(skb, d->inline_data, d->inline_len);
	for (i = 0; i < d->nsegs; i++)
		skb_put_data(skb, s->buf + be64_to_cpu(d->segs[i].addr),
			     be32_to_cpu(d->segs[i].byte_count));
	return skb;
}

/* One send WQE: build the frame from private copies, check it, send it. */
static int velo_sq_send(struct velo_stack *s, struct net_device *dev,
			const struct velo_tx_desc *d)
{
	int why;
	struct sk_buff *skb;

	skb = velo_tx_frame(s, dev, d);
	if (!skb)
		return VELO_CNT_TX_BAD_FRAME;
	why = velo_tx_check(s, dev, skb);
	if (why) {
		kfree_skb(skb);
		return why;
	}
	velo_tx_csum(skb, d->cs_flags);
	return velo_xmit(s, dev, skb);
}

/* Process the WQE at sq_cc; returns the WQEBBs it used. */
static unsigned int velo_sq_one(struct velo_stack *s, struct net_device *dev, u16 avail)
{
	struct velo_tx_desc *d = &s->txd;
	const struct mlx5_wqe_ctrl_seg *ctrl = (const void *)s->wqe;
	unsigned int ds, nbb;
	int why;

	velo_sq_snapshot(s, s->sq_cc, 1);
	ds = be32_to_cpu(ctrl->qpn_ds) & 0x3f;
	nbb = DIV_ROUND_UP(ds, 4);
	if (!ds || nbb > avail) {
		why = VELO_CNT_TX_BAD_WQE;
		nbb = 1;
	} else {
		velo_sq_snapshot(s, s->sq_cc, nbb);
		why = velo_wqe_parse(s->wqe, ds, s->layout.lkey, s->layout.buf.size, d);
		if (!why && d->opcode == MLX5_OPCODE_SEND)
			why = velo_sq_send(s, dev, d);
	}
	if (why) {
		velo_count(s, why, 1);
		velo_cq_post_err(&s->scq, MLX5_CQE_REQ_ERR,
				 why == VELO_CNT_TX_DEV_DROP ? MLX5_CQE_SYNDROME_WR_FLUSH_ERR :
				 MLX5_CQE_SYNDROME_LOCAL_PROT_ERR, s->sq_cc, s->layout.sqn);
	} else if (d->fm_ce_se & MLX5_WQE_CTRL_CQ_UPDATE) {
		struct mlx5_cqe64 cqe = {
			.wqe_counter = cpu_to_be16(s->sq_cc),
			.sop_drop_qpn = cpu_to_be32(s->layout.sqn & 0xffffff),
			.byte_cnt = cpu_to_be32(d->len),
		};

		velo_cq_post(&s->scq, &cqe, MLX5_CQE_REQ);
	}
	return nbb;
}

/*
 * The doorbell: consume send WQEs up to the producer counter in the
 * doorbell record. Stops early when the send CQ is full; the rest is
 * consumed on a later kick.
 */
int velo_soft_kick(struct velo_stack *s)
{
	u16 pc, avail;
	int ret = 0;

	mutex_lock(&s->lock);
	velo_count(s, VELO_CNT_KICKS, 1);
	if (!s->dev) {
		ret = -ENODEV;
		goto out;
	}
	pc = be32_to_cpu(READ_ONCE(s->qp_dbr[MLX5_SND_DBR])) & 0xffff;
	avail = pc - s->sq_cc;
	if (avail > (1U << s->layout.log_sq_size)) {
		velo_count(s, VELO_CNT_TX_BAD_INDEX, 1);
		ret = -EINVAL;
		goto out;
	}
	while (avail && !velo_cq_full(&s->scq)) {
		unsigned int nbb = velo_sq_one(s, s->dev, avail);

		s->sq_cc += nbb;
		avail -= nbb;
		cond_resched();
	}
out:
	mutex_unlock(&s->lock);
	if (velo_cq_pending(&s->scq))
		velo_wake(s);
	velo_db_arm(s);
	return ret;
}

static void velo_rx_cqe(struct mlx5_cqe64 *cqe, const struct sk_buff *skb,
			unsigned int len)
{
	cqe->byte_cnt = cpu_to_be32(len);
	/* What a NIC reports as checksum-verified; CHECKSUM_NONE: user checks. */
	if (skb->ip_summed == CHECKSUM_UNNECESSARY || skb->ip_summed == CHECKSUM_PARTIAL)
		cqe->hds_ip_ext = CQE_L3_OK | CQE_L4_OK;
	cqe->l4_l3_hdr_type = skb->protocol == htons(ETH_P_IPV6) ?
			      VELO_CQE_L3_IPV6 : VELO_CQE_L3_IPV4;
}

/*
 * A frame for one of the stack's filters, from the receive hook (softirq,
 * RCU), skb->data at its network header: copy it, link-layer header
 * included, into the next posted receive WQE and complete it.
 */
void velo_soft_rx(struct velo_stack *s, const struct sk_buff *skb)
{
	unsigned int hlen = skb->data - skb_mac_header(skb);
	unsigned int len = hlen + skb->len;
	struct mlx5_wqe_data_seg seg;
	struct mlx5_cqe64 cqe = {};
	u16 pc, posted;
	u64 addr;

	spin_lock(&s->rx_lock);
	pc = be32_to_cpu(READ_ONCE(s->qp_dbr[MLX5_RCV_DBR])) & 0xffff;
	posted = pc - s->rq_cc;
	if (!posted || posted > (1U << s->layout.log_rq_size)) {
		velo_count(s, posted ? VELO_CNT_RX_BAD_WQE : VELO_CNT_RX_NO_WQE, 1);
		goto out;
	}
	if (velo_cq_full(&s->rcq)) {
		velo_count(s, VELO_CNT_RX_CQ_FULL, 1);
		goto out;
	}
	memcpy(&seg, &s->rq[s->rq_cc & ((1U << s->layout.log_rq_size) - 1)], sizeof(seg));
	cqe.wqe_counter = cpu_to_be16(s->rq_cc);
	cqe.sop_drop_qpn = cpu_to_be32(s->layout.rqn & 0xffffff);
	s->rq_cc++;
	if (!velo_dseg_ok(&seg, s->layout.lkey, s->layout.buf.size) ||
	    be32_to_cpu(seg.byte_count) < len) {
		velo_count(s, VELO_CNT_RX_BAD_WQE, 1);
		velo_cq_post_err(&s->rcq, MLX5_CQE_RESP_ERR, MLX5_CQE_SYNDROME_LOCAL_LENGTH_ERR,
				 s->rq_cc - 1, s->layout.rqn);
		goto out;
	}
	addr = be64_to_cpu(seg.addr);
	memcpy(s->buf + addr, skb_mac_header(skb), hlen);
	skb_copy_bits(skb, 0, s->buf + addr + hlen, skb->len);
	velo_rx_cqe(&cqe, skb, len);
	velo_cq_post(&s->rcq, &cqe, MLX5_CQE_RESP_SEND);
	velo_count(s, VELO_CNT_RX_FRAMES, 1);
	velo_count(s, VELO_CNT_RX_BYTES, len);
out:
	spin_unlock(&s->rx_lock);
	velo_wake(s);
}
