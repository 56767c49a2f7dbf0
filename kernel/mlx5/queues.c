// SPDX-License-Identifier: GPL-2.0
/*
 * Inboxes of the queue objects, built over the stack's own regions: the
 * CQ buffers, SQ and RQ rings and doorbell records are the pages user
 * space already maps (their DMA addresses are the PAS lists), so the
 * user-space ring code is the same for both providers. Objects are made
 * in the reset state and moved to ready (the PRM's order for SQ and RQ).
 *
 * Layouts: CQEs of 64 bytes; SQ of 64-byte WQEBBs; RQ cyclic, one
 * 16-byte data segment per WQE (mlx5_wqe_data_seg), as the uapi defines.
 * The SQ and RQ share one doorbell record (RQ word 0, SQ word 1), as a
 * raw packet QP's do.
 */
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/mlx5/vport.h>

#include "mlx5.h"

/* Queue pages are system pages; the device counts in 4 KB pages. */
#define VELO_MLX5_PG_SZ		(PAGE_SHIFT - MLX5_ADAPTER_PAGE_SHIFT)
/* Headers of a frame velo sends: Ethernet (no VLAN), IP, TCP at most. */
#define VELO_MLX5_MAX_IP_HDR	60
#define VELO_MLX5_MAX_TCP_HDR	60

int velo_mlx5_cq_inlen(unsigned int npas)
{
	return MLX5_ST_SZ_BYTES(create_cq_in) + npas * sizeof(u64);
}

void velo_mlx5_cq_in(u32 *in, const struct velo_mlx5_q *q, u32 eqn)
{
	void *cqc = MLX5_ADDR_OF(create_cq_in, in, cq_context);

	MLX5_SET(cqc, cqc, cqe_sz, CQE_STRIDE_64);
	MLX5_SET(cqc, cqc, log_cq_size, q->log_size);
	MLX5_SET(cqc, cqc, uar_page, q->uar);
	MLX5_SET(cqc, cqc, c_eqn_or_apu_element, eqn);
	MLX5_SET(cqc, cqc, log_page_size, VELO_MLX5_PG_SZ);
	MLX5_SET64(cqc, cqc, dbr_addr, q->dbr);
	velo_mlx5_pas_fill(MLX5_ADDR_OF(create_cq_in, in, pas), q->pas, q->npas);
}

/* The wq part of an SQ or RQ. */
static void velo_mlx5_wq(void *wq, const struct velo_mlx5_q *q, u32 log_stride)
{
	MLX5_SET(wq, wq, wq_type, MLX5_WQ_TYPE_CYCLIC);
	MLX5_SET(wq, wq, pd, q->pdn);
	MLX5_SET(wq, wq, uar_page, q->uar);
	MLX5_SET64(wq, wq, dbr_addr, q->dbr);
	MLX5_SET(wq, wq, log_wq_stride, log_stride);
	MLX5_SET(wq, wq, log_wq_pg_sz, VELO_MLX5_PG_SZ);
	MLX5_SET(wq, wq, log_wq_sz, q->log_size);
	velo_mlx5_pas_fill(MLX5_ADDR_OF(wq, wq, pas), q->pas, q->npas);
}

static u32 velo_mlx5_ts_format(bool real_time)
{
	return real_time ? MLX5_TIMESTAMP_FORMAT_REAL_TIME : MLX5_TIMESTAMP_FORMAT_FREE_RUNNING;
}

int velo_mlx5_sq_inlen(unsigned int npas)
{
	return MLX5_ST_SZ_BYTES(create_sq_in) + npas * sizeof(u64);
}

void velo_mlx5_sq_in(u32 *in, const struct velo_mlx5_q *q, u32 tisn,
		     u8 inline_mode, bool real_time)
{
	void *sqc = MLX5_ADDR_OF(create_sq_in, in, ctx);

	MLX5_SET(create_sq_in, in, opcode, MLX5_CMD_OP_CREATE_SQ);
	MLX5_SET(sqc, sqc, state, MLX5_SQC_STATE_RST);
	MLX5_SET(sqc, sqc, flush_in_error_en, 1);
	MLX5_SET(sqc, sqc, min_wqe_inline_mode, inline_mode);
	MLX5_SET(sqc, sqc, ts_format, velo_mlx5_ts_format(real_time));
	MLX5_SET(sqc, sqc, cqn, q->cqn);
	MLX5_SET(sqc, sqc, tis_lst_sz, 1);
	MLX5_SET(sqc, sqc, tis_num_0, tisn);
	velo_mlx5_wq(MLX5_ADDR_OF(sqc, sqc, wq), q, ilog2(MLX5_SEND_WQE_BB));
}

int velo_mlx5_rq_inlen(unsigned int npas)
{
	return MLX5_ST_SZ_BYTES(create_rq_in) + npas * sizeof(u64);
}

/* Frames land as on the wire: VLAN tags are not stripped (vsd). */
void velo_mlx5_rq_in(u32 *in, const struct velo_mlx5_q *q, bool real_time)
{
	void *rqc = MLX5_ADDR_OF(create_rq_in, in, ctx);

	MLX5_SET(rqc, rqc, state, MLX5_RQC_STATE_RST);
	MLX5_SET(rqc, rqc, flush_in_error_en, 1);
	MLX5_SET(rqc, rqc, vsd, 1);
	MLX5_SET(rqc, rqc, mem_rq_type, MLX5_RQC_MEM_RQ_TYPE_MEMORY_RQ_INLINE);
	MLX5_SET(rqc, rqc, ts_format, velo_mlx5_ts_format(real_time));
	MLX5_SET(rqc, rqc, cqn, q->cqn);
	velo_mlx5_wq(MLX5_ADDR_OF(rqc, rqc, wq), q,
		     ilog2(sizeof(struct mlx5_wqe_data_seg)));
}

void velo_mlx5_tis_in(u32 *in, u32 tdn)
{
	MLX5_SET(tisc, MLX5_ADDR_OF(create_tis_in, in, ctx), transport_domain, tdn);
}

/* One RQ, no hashing: the steering rules pick the stack. */
void velo_mlx5_tir_in(u32 *in, u32 tdn, u32 rqn)
{
	void *tirc = MLX5_ADDR_OF(create_tir_in, in, ctx);

	MLX5_SET(tirc, tirc, disp_type, MLX5_TIRC_DISP_TYPE_DIRECT);
	MLX5_SET(tirc, tirc, inline_rqn, rqn);
	MLX5_SET(tirc, tirc, transport_domain, tdn);
}

/* The uapi's min_inline: the most bytes the device's mode can need. */
u32 velo_mlx5_inline_bytes(u8 inline_mode)
{
	switch (inline_mode) {
	case MLX5_INLINE_MODE_NONE:
		return 0;
	case MLX5_INLINE_MODE_L2:
		return ETH_HLEN + VLAN_HLEN;
	case MLX5_INLINE_MODE_IP:
		return ETH_HLEN + VELO_MLX5_MAX_IP_HDR;
	case MLX5_INLINE_MODE_TCP_UDP:
		return ETH_HLEN + VELO_MLX5_MAX_IP_HDR + VELO_MLX5_MAX_TCP_HDR;
	default:
		return VELO_MAX_INLINE;
	}
}
