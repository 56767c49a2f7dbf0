// SPDX-License-Identifier: GPL-2.0
/*
 * A stack's hardware objects, made in dependency order and destroyed in
 * the reverse one (the filters' rules are gone first: velo.ko removes
 * them before it stops the provider): TIR, RQ, SQ, TIS, CQs, mkey, PD,
 * DMA mappings, UAR. Each failing step is logged with the netdev and the step
 * (mlx5_core logs the firmware's syndrome for a failed command).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mlx5/transobj.h>
#include <linux/mlx5/vport.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "mlx5.h"

enum {
	VELO_MLX5_HAS_RCQ,
	VELO_MLX5_HAS_SCQ,
	VELO_MLX5_HAS_TIS,
	VELO_MLX5_HAS_SQ,
	VELO_MLX5_HAS_RQ,
	VELO_MLX5_HAS_TIR,
};

static int velo_mlx5_step(struct velo_mlx5_stack *m, const char *step, int ret)
{
	if (ret)
		pr_warn("%s: %s: %d\n", m->s->dev->name, step, ret);
	return ret;
}

/* The queue description of a region of the stack's area. */
static struct velo_mlx5_q velo_mlx5_q(struct velo_mlx5_stack *m,
				      const struct velo_region *r, u32 dbr, u32 log_size)
{
	const struct velo_stack_create *c = &m->s->layout;

	return (struct velo_mlx5_q) {
		.log_size = log_size,
		.pdn = m->mem.pdn,
		.uar = m->uar->index,
		.dbr = m->mem.dma[c->dbr.offset >> PAGE_SHIFT] + dbr,
		.pas = &m->mem.dma[r->offset >> PAGE_SHIFT],
		.npas = PAGE_ALIGN(r->size) >> PAGE_SHIFT,
	};
}

static bool velo_mlx5_cqe_valid(const struct velo_cq *cq)
{
	u32 ci = be32_to_cpu(READ_ONCE(cq->dbr[0])) & 0xffffff;
	u8 own = READ_ONCE(cq->cqes[ci & ((1U << cq->log_size) - 1)].op_own);

	return own >> 4 != MLX5_CQE_INVALID && (own & 1) == ((ci >> cq->log_size) & 1);
}

static void velo_mlx5_cq_comp(struct velo_mlx5_stack *m, struct mlx5_core_cq *mcq)
{
	mcq->arm_sn++;	/* the next arm is a new request */
	velo_wake(m->s);
}

static void velo_mlx5_rcq_comp(struct mlx5_core_cq *mcq, struct mlx5_eqe *eqe)
{
	velo_mlx5_cq_comp(container_of(mcq, struct velo_mlx5_stack, rcq), mcq);
}

static void velo_mlx5_scq_comp(struct mlx5_core_cq *mcq, struct mlx5_eqe *eqe)
{
	velo_mlx5_cq_comp(container_of(mcq, struct velo_mlx5_stack, scq), mcq);
}

static int velo_mlx5_cq_create(struct velo_mlx5_stack *m, struct mlx5_core_cq *mcq,
			       const struct velo_cq *cq, const struct velo_region *r, u32 dbr)
{
	struct velo_mlx5_q q = velo_mlx5_q(m, r, dbr, cq->log_size);
	u32 out[MLX5_ST_SZ_DW(create_cq_out)];
	int inlen = velo_mlx5_cq_inlen(q.npas);
	u32 *in;
	int eqn, ret;

	ret = mlx5_vector2eqn(m->mdev, m->s->queue % mlx5_comp_vectors_count(m->mdev), &eqn);
	if (ret)
		return ret;
	in = kvzalloc(inlen, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	velo_mlx5_cq_in(in, &q, eqn);
	mcq->cqe_sz = sizeof(struct mlx5_cqe64);
	mcq->set_ci_db = cq->dbr;
	mcq->arm_db = cq->dbr + 1;
	ret = mlx5_core_create_cq(m->mdev, mcq, in, inlen, out, sizeof(out));
	kvfree(in);
	return ret;
}

static int velo_mlx5_cqs_create(struct velo_mlx5_stack *m)
{
	struct velo_stack *s = m->s;
	int ret;

	m->rcq.comp = velo_mlx5_rcq_comp;
	ret = velo_mlx5_cq_create(m, &m->rcq, &s->rcq, &s->layout.rcq, VELO_DBR_RCQ);
	if (velo_mlx5_step(m, "create receive CQ", ret))
		return ret;
	__set_bit(VELO_MLX5_HAS_RCQ, &m->done);
	m->scq.comp = velo_mlx5_scq_comp;
	ret = velo_mlx5_cq_create(m, &m->scq, &s->scq, &s->layout.scq, VELO_DBR_SCQ);
	if (velo_mlx5_step(m, "create send CQ", ret))
		return ret;
	__set_bit(VELO_MLX5_HAS_SCQ, &m->done);
	return 0;
}

static void velo_mlx5_sq_destroy(struct mlx5_core_dev *mdev, u32 sqn)
{
	u32 in[MLX5_ST_SZ_DW(destroy_sq_in)] = {};

	MLX5_SET(destroy_sq_in, in, opcode, MLX5_CMD_OP_DESTROY_SQ);
	MLX5_SET(destroy_sq_in, in, sqn, sqn);
	mlx5_cmd_exec_in(mdev, destroy_sq, in);
}

static int velo_mlx5_sq_ready(struct mlx5_core_dev *mdev, u32 sqn)
{
	u32 in[MLX5_ST_SZ_DW(modify_sq_in)] = {};

	MLX5_SET(modify_sq_in, in, sq_state, MLX5_SQC_STATE_RST);
	MLX5_SET(sqc, MLX5_ADDR_OF(modify_sq_in, in, ctx), state, MLX5_SQC_STATE_RDY);
	return mlx5_core_modify_sq(mdev, sqn, in);
}

/* Timestamps in CQEs: real time where the device can, as mlx5e does. */
static bool velo_mlx5_real_time(u8 ts_format_cap)
{
	return ts_format_cap != MLX5_TIMESTAMP_FORMAT_CAP_FREE_RUNNING;
}

/* The device may require the frame's first headers inline in the WQE. */
static u8 velo_mlx5_inline_mode(struct velo_mlx5_stack *m)
{
	u8 mode;

	mlx5_query_min_inline(m->mdev, &mode);
	return mode;
}

static int velo_mlx5_sq_create(struct velo_mlx5_stack *m)
{
	struct velo_stack_create *c = &m->s->layout;
	struct velo_mlx5_q q = velo_mlx5_q(m, &c->sq, VELO_DBR_QP, c->log_sq_size);
	u32 out[MLX5_ST_SZ_DW(create_sq_out)] = {};
	int inlen = velo_mlx5_sq_inlen(q.npas);
	u8 mode = velo_mlx5_inline_mode(m);
	bool per_sq;
	u32 *in;
	int ret;

	in = kvzalloc(inlen, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	q.cqn = m->scq.cqn;
	/* The SQ carries the mode only where the vport context sets it. */
	per_sq = MLX5_CAP_ETH(m->mdev, wqe_inline_mode) == MLX5_CAP_INLINE_MODE_VPORT_CONTEXT;
	velo_mlx5_sq_in(in, &q, m->tisn, per_sq ? mode : MLX5_INLINE_MODE_NONE,
			velo_mlx5_real_time(MLX5_CAP_GEN(m->mdev, sq_ts_format)));
	ret = mlx5_cmd_exec(m->mdev, in, inlen, out, sizeof(out));
	kvfree(in);
	if (velo_mlx5_step(m, "create SQ", ret))
		return ret;
	m->sqn = MLX5_GET(create_sq_out, out, sqn);
	__set_bit(VELO_MLX5_HAS_SQ, &m->done);
	c->min_inline = velo_mlx5_inline_bytes(mode);
	return velo_mlx5_step(m, "SQ to ready", velo_mlx5_sq_ready(m->mdev, m->sqn));
}

static int velo_mlx5_rq_ready(struct mlx5_core_dev *mdev, u32 rqn)
{
	u32 in[MLX5_ST_SZ_DW(modify_rq_in)] = {};

	MLX5_SET(modify_rq_in, in, rq_state, MLX5_RQC_STATE_RST);
	MLX5_SET(rqc, MLX5_ADDR_OF(modify_rq_in, in, ctx), state, MLX5_RQC_STATE_RDY);
	return mlx5_core_modify_rq(mdev, rqn, in);
}

static int velo_mlx5_rq_create(struct velo_mlx5_stack *m)
{
	struct velo_stack_create *c = &m->s->layout;
	struct velo_mlx5_q q = velo_mlx5_q(m, &c->rq, VELO_DBR_QP, c->log_rq_size);
	int inlen = velo_mlx5_rq_inlen(q.npas);
	u32 *in;
	int ret;

	in = kvzalloc(inlen, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	q.cqn = m->rcq.cqn;
	velo_mlx5_rq_in(in, &q, velo_mlx5_real_time(MLX5_CAP_GEN(m->mdev, rq_ts_format)));
	ret = mlx5_core_create_rq(m->mdev, in, inlen, &m->rqn);
	kvfree(in);
	if (velo_mlx5_step(m, "create RQ", ret))
		return ret;
	__set_bit(VELO_MLX5_HAS_RQ, &m->done);
	return velo_mlx5_step(m, "RQ to ready", velo_mlx5_rq_ready(m->mdev, m->rqn));
}

static int velo_mlx5_tis_create(struct velo_mlx5_stack *m)
{
	u32 in[MLX5_ST_SZ_DW(create_tis_in)] = {};
	int ret;

	velo_mlx5_tis_in(in, m->vdev->tdn);
	ret = mlx5_core_create_tis(m->mdev, in, &m->tisn);
	if (!ret)
		__set_bit(VELO_MLX5_HAS_TIS, &m->done);
	return velo_mlx5_step(m, "create TIS", ret);
}

static int velo_mlx5_tir_create(struct velo_mlx5_stack *m)
{
	u32 in[MLX5_ST_SZ_DW(create_tir_in)] = {};
	int ret;

	velo_mlx5_tir_in(in, m->vdev->tdn, m->rqn);
	ret = mlx5_core_create_tir(m->mdev, in, &m->tirn);
	if (!ret)
		__set_bit(VELO_MLX5_HAS_TIR, &m->done);
	return velo_mlx5_step(m, "create TIR", ret);
}

static void velo_mlx5_destroy(void *priv)
{
	struct velo_mlx5_stack *m = priv;

	if (test_bit(VELO_MLX5_HAS_TIR, &m->done))
		mlx5_core_destroy_tir(m->mdev, m->tirn);
	if (test_bit(VELO_MLX5_HAS_RQ, &m->done))
		mlx5_core_destroy_rq(m->mdev, m->rqn);
	if (test_bit(VELO_MLX5_HAS_SQ, &m->done))
		velo_mlx5_sq_destroy(m->mdev, m->sqn);
	if (test_bit(VELO_MLX5_HAS_TIS, &m->done))
		mlx5_core_destroy_tis(m->mdev, m->tisn);
	if (test_bit(VELO_MLX5_HAS_SCQ, &m->done))
		mlx5_core_destroy_cq(m->mdev, &m->scq);
	if (test_bit(VELO_MLX5_HAS_RCQ, &m->done))
		mlx5_core_destroy_cq(m->mdev, &m->rcq);
	if (m->mem.dma)
		velo_mlx5_mem_unmap(&m->mem, m->mdev);
	if (!IS_ERR_OR_NULL(m->uar))
		velo_mlx5_uar_free(m->uar, m->mdev);
	if (!IS_ERR_OR_NULL(m->vdev))
		velo_mlx5_dev_put(m->vdev);
	kfree(m);
}

static int velo_mlx5_objects_create(struct velo_mlx5_stack *m)
{
	struct velo_stack *s = m->s;
	int ret;

	m->vdev = velo_mlx5_dev_get(m->mdev);
	if (velo_mlx5_step(m, "device transport domain and flow tables",
			   PTR_ERR_OR_ZERO(m->vdev)))
		return PTR_ERR(m->vdev);
	ret = velo_mlx5_mem_map(&m->mem, m->mdev, s);
	if (velo_mlx5_step(m, "DMA-map the stack's area", ret))
		return ret;
	ret = velo_mlx5_mkey_create(&m->mem, m->mdev, s->layout.buf.size);
	if (velo_mlx5_step(m, "create the PD and buffer mkey", ret))
		return ret;
	m->uar = velo_mlx5_uar_alloc(m->mdev);
	if (velo_mlx5_step(m, "allocate a UAR", PTR_ERR_OR_ZERO(m->uar)))
		return PTR_ERR(m->uar);
	ret = velo_mlx5_cqs_create(m);
	if (!ret)
		ret = velo_mlx5_tis_create(m);
	if (!ret)
		ret = velo_mlx5_sq_create(m);
	if (!ret)
		ret = velo_mlx5_rq_create(m);
	if (!ret)
		ret = velo_mlx5_tir_create(m);
	return ret;
}

static int velo_mlx5_create(struct velo_stack *s, struct net_device *dev, void **priv)
{
	struct velo_mlx5_stack *m;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->s = s;
	m->mdev = velo_mlx5_mdev(dev);
	if (!m->mdev) {
		pr_warn("%s: not a PCI function of mlx5_core (sub-functions are not supported)\n",
			dev->name);
		kfree(m);
		return -EOPNOTSUPP;
	}
	ret = velo_mlx5_objects_create(m);
	if (ret) {
		velo_mlx5_destroy(m);
		return ret;
	}
	s->layout.lkey = m->mem.mkey;
	s->layout.sqn = m->sqn;
	s->layout.rqn = m->rqn;
	s->layout.uar.offset = s->layout.mmap_size;
	s->layout.uar.size = PAGE_SIZE;
	s->layout.uar_db_offset = velo_mlx5_uar_db_offset();
	*priv = m;
	return 0;
}

static int velo_mlx5_mmap_uar(void *priv, struct vm_area_struct *vma)
{
	struct velo_mlx5_stack *m = priv;

	return velo_mlx5_uar_mmap(m->uar, vma);
}

static int velo_mlx5_filter_add(void *priv, struct velo_filt *f)
{
	struct velo_mlx5_stack *m = priv;
	struct mlx5_flow_handle *rule;

	rule = velo_mlx5_flow_add(m->vdev, &f->key, m->tirn);
	if (IS_ERR(rule)) {
		pr_warn_ratelimited("%s: stack %u: add flow rule: %ld\n",
				    m->s->dev->name, m->s->id, PTR_ERR(rule));
		return PTR_ERR(rule);
	}
	f->hw = rule;
	return 0;
}

static void velo_mlx5_filter_del(void *priv, struct velo_filt *f)
{
	mlx5_del_flow_rules(f->hw);
	f->hw = NULL;
}

/*
 * Completions past the consumer indexes user space wrote; with none, arm
 * both CQs (the event calls velo_wake) and look again, for CQEs written
 * before the arm. The arm record is the CQ doorbell record's word 1.
 */
static u32 velo_mlx5_events(void *priv)
{
	struct velo_mlx5_stack *m = priv;
	struct velo_stack *s = m->s;
	u32 ev;

	ev = (velo_mlx5_cqe_valid(&s->rcq) ? VELO_EV_RX : 0) |
	     (velo_mlx5_cqe_valid(&s->scq) ? VELO_EV_TX : 0);
	if (ev)
		return ev;
	mlx5_cq_arm(&m->rcq, MLX5_CQ_DB_REQ_NOT, m->uar->map,
		    be32_to_cpu(READ_ONCE(s->rcq.dbr[0])));
	mlx5_cq_arm(&m->scq, MLX5_CQ_DB_REQ_NOT, m->uar->map,
		    be32_to_cpu(READ_ONCE(s->scq.dbr[0])));
	return (velo_mlx5_cqe_valid(&s->rcq) ? VELO_EV_RX : 0) |
	       (velo_mlx5_cqe_valid(&s->scq) ? VELO_EV_TX : 0);
}

const struct velo_provider_ops velo_mlx5_ops = {
	.owner = THIS_MODULE,
	.provider = VELO_PROVIDER_MLX5,
	.create = velo_mlx5_create,
	.destroy = velo_mlx5_destroy,
	.mmap_uar = velo_mlx5_mmap_uar,
	.filter_add = velo_mlx5_filter_add,
	.filter_del = velo_mlx5_filter_del,
	.events = velo_mlx5_events,
};
