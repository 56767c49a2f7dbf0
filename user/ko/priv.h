/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo_ko internals: the subset of the mlx5 PRM that velo.ko's uapi
 * documents (include/uapi/linux/velo.h), written out from those docs, and
 * the driver's state.
 */
#ifndef VELO_KO_PRIV_H
#define VELO_KO_PRIV_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>

#include "velo_ko.h"

/* Send WQE segments, 16 bytes each, big-endian fields. */
struct velo_ko_ctrl_seg {
	uint32_t opmod_idx_opcode;	/* producer counter << 8 | opcode */
	uint32_t qpn_ds;		/* sqn << 8 | segments */
	uint8_t signature;
	uint8_t rsvd[2];
	uint8_t fm_ce_se;
	uint32_t imm;
};

struct velo_ko_eth_seg {
	uint8_t swp[4];
	uint8_t cs_flags;
	uint8_t swp_flags;
	uint16_t mss;
	uint32_t metadata;
	uint16_t inline_hdr_sz;
	uint8_t inline_hdr_start[2];	/* the rest in the following segments */
};

struct velo_ko_data_seg {
	uint32_t byte_count;
	uint32_t lkey;
	uint64_t addr;			/* byte offset in the buffer area */
};

/* 64-byte CQE (mlx5_cqe64; mlx5_err_cqe's syndrome is byte 55). */
struct velo_ko_cqe {
	uint8_t rsvd0[28];
	uint8_t hds_ip_ext;
	uint8_t l4_l3_hdr_type;
	uint8_t rsvd1[14];
	uint32_t byte_cnt;
	uint8_t rsvd2[7];
	uint8_t syndrome;
	uint32_t sop_drop_qpn;
	uint16_t wqe_counter;
	uint8_t signature;
	uint8_t op_own;
};

_Static_assert(sizeof(struct velo_ko_cqe) == 64, "CQE is 64 bytes");
_Static_assert(offsetof(struct velo_ko_cqe, hds_ip_ext) == 28, "mlx5_cqe64 layout");
_Static_assert(offsetof(struct velo_ko_cqe, syndrome) == 55, "mlx5_err_cqe layout");
_Static_assert(sizeof(struct velo_ko_ctrl_seg) == 16, "segments are 16 bytes");
_Static_assert(sizeof(struct velo_ko_eth_seg) == 16, "segments are 16 bytes");
_Static_assert(sizeof(struct velo_ko_data_seg) == 16, "segments are 16 bytes");

#define VELO_KO_WQEBB		64
#define VELO_KO_SEG		16
#define VELO_KO_OPCODE_SEND	0x0a
#define VELO_KO_CQ_UPDATE	(2 << 2)	/* fm_ce_se: ask for a CQE */
#define VELO_KO_CSUM_L3		(1 << 6)
#define VELO_KO_CSUM_L4		(1 << 7)
#define VELO_KO_CQE_INVALID	0xf
#define VELO_KO_CQE_REQ_ERR	13
#define VELO_KO_CQE_RESP_ERR	14
#define VELO_KO_CQE_L3_OK	(1 << 1)
#define VELO_KO_CQE_L4_OK	(1 << 2)
#define VELO_KO_MAX_INLINE	256
/* Doorbell record words (MLX5_RCV_DBR, MLX5_SND_DBR). */
#define VELO_KO_RCV_DBR		0
#define VELO_KO_SND_DBR		1

struct velo_ko_cq {
	struct velo_ko_cqe *cqes;
	uint32_t *dbr;		/* [0]: consumer index, big-endian */
	uint32_t log_size;
	uint32_t ci;
};

/* A LIFO of buffer offsets: no allocation after open. */
struct velo_ko_pool {
	uint64_t *addr;
	uint32_t count;
};

struct velo_ko {
	int fd;
	struct velo_stack_create c;
	uint8_t *map;
	uint8_t *buf;
	uint8_t *sq;
	struct velo_ko_data_seg *rq;
	uint32_t *qp_dbr;
	uint32_t *sq_poll;
	uint8_t *uar;		/* mlx5 provider: the doorbell page, else NULL */
	struct velo_ko_cq rcq, scq;
	struct velo_conn *conns;
	uint32_t frame_size, tx_inline;

	uint16_t rq_pc;		/* receive WQEs posted */
	uint16_t rq_cc;		/* ... completed */
	uint64_t *rq_addr;	/* buffer of each RQ slot */
	struct velo_ko_pool rx_free, tx_free;

	uint16_t sq_pc;		/* WQEBBs posted */
	uint16_t sq_cc;		/* ... completed */
	uint64_t *sq_addr;	/* buffer of the WQE starting at each WQEBB */
	uint8_t *sq_nbb;	/* its size in WQEBBs */
	uint16_t sq_last;	/* the last WQE posted: the mlx5 doorbell names it */
	/*
	 * Every WQE asks for a CQE and holds one send buffer; open bounds the
	 * buffers by the send CQ's size and by the SQ over tx_max_nbb, so
	 * neither ring can overflow and the data path needs no room checks.
	 */
	uint32_t tx_max_nbb;

	struct velo_ko_stats stats;
};

static inline uint32_t velo_ko_mask(uint32_t log_size)
{
	return (1U << log_size) - 1;
}

/* The doorbell record protocol: everything before it, visible first. */
static inline void velo_ko_dbr_write(uint32_t *word, uint32_t value)
{
	__atomic_store_n(word, htobe32(value), __ATOMIC_RELEASE);
}

void velo_ko_rq_fill(struct velo_ko *k);
int velo_ko_kick(struct velo_ko *k);

#endif /* VELO_KO_PRIV_H */
