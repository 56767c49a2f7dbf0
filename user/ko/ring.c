// SPDX-License-Identifier: GPL-2.0
/*
 * velo_ko data path: receive and send rings in velo.ko's mlx5 formats.
 * Ordering: WQEs and buffers are written before the doorbell record that
 * publishes them (release store); a CQE is read only after its ownership
 * byte says it is valid (acquire load), and its slot is handed back by the
 * consumer-index record only after it has been read (release store).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "priv.h"
#include "xdp/csum.h"

/* The next valid CQE of @cq, or NULL; the caller consumes it (ci++). */
static const struct velo_ko_cqe *velo_ko_cq_peek(const struct velo_ko_cq *cq)
{
	const struct velo_ko_cqe *e = &cq->cqes[cq->ci & velo_ko_mask(cq->log_size)];
	uint8_t own = __atomic_load_n(&e->op_own, __ATOMIC_ACQUIRE);

	if (own >> 4 == VELO_KO_CQE_INVALID ||
	    (own & 1) != ((cq->ci >> cq->log_size) & 1))
		return NULL;
	return e;
}

static void velo_ko_cq_publish(struct velo_ko_cq *cq)
{
	velo_ko_dbr_write(cq->dbr, cq->ci & 0xffffff);
}

static void velo_ko_err_cqe(struct velo_ko *k, const struct velo_ko_cqe *e,
			    uint64_t *counter)
{
	(*counter)++;
	k->stats.last_err_syndrome = e->syndrome;
}

static void velo_ko_pool_put(struct velo_ko_pool *p, uint64_t addr)
{
	p->addr[p->count++] = addr;
}

/* Keep every RQ slot posted while receive buffers are free. */
void velo_ko_rq_fill(struct velo_ko *k)
{
	uint32_t size = 1U << k->c.log_rq_size;
	uint16_t pc = k->rq_pc;

	while ((uint16_t)(pc - k->rq_cc) < size && k->rx_free.count) {
		uint32_t slot = pc & (size - 1);
		struct velo_ko_data_seg *d = &k->rq[slot];

		k->rq_addr[slot] = k->rx_free.addr[--k->rx_free.count];
		d->byte_count = htobe32(k->frame_size);
		d->lkey = htobe32(k->c.lkey);
		d->addr = htobe64(k->rq_addr[slot]);
		pc++;
	}
	if (pc != k->rq_pc) {
		k->rq_pc = pc;
		velo_ko_dbr_write(&k->qp_dbr[VELO_KO_RCV_DBR], pc);
	}
}

static void velo_ko_rx_frame(struct velo_ko *k, const struct velo_ko_cqe *e,
			     uint64_t addr, struct velo_ko_frame *f)
{
	uint8_t ok = VELO_KO_CQE_L3_OK | VELO_KO_CQE_L4_OK;

	f->addr = addr;
	f->data = k->buf + addr;
	f->len = be32toh(e->byte_cnt);
	f->flags = 0;
	if ((e->hds_ip_ext & ok) == ok) {
		f->flags = VELO_KO_RX_CSUM_OK;
		/*
		 * The kernel also vouches for CHECKSUM_PARTIAL frames (a peer
		 * over veth), whose TCP checksum field holds only the
		 * pseudo-header sum: complete it for a verifying engine.
		 */
		velo_csum_rx_complete_partial(f->data, f->len);
	}
	k->stats.rx_frames++;
	k->stats.rx_bytes += f->len;
}

unsigned int velo_ko_rx_burst(struct velo_ko *k, struct velo_ko_frame *f,
			      unsigned int n)
{
	uint32_t mask = velo_ko_mask(k->c.log_rq_size);
	uint32_t ci = k->rcq.ci;
	const struct velo_ko_cqe *e;
	unsigned int got = 0;

	while (got < n && (e = velo_ko_cq_peek(&k->rcq))) {
		uint64_t addr = k->rq_addr[be16toh(e->wqe_counter) & mask];

		k->rcq.ci++;
		k->rq_cc++;
		if (e->op_own >> 4 == VELO_KO_CQE_RESP_ERR) {
			velo_ko_err_cqe(k, e, &k->stats.rx_err_cqes);
			velo_ko_pool_put(&k->rx_free, addr);
			continue;
		}
		velo_ko_rx_frame(k, e, addr, &f[got++]);
	}
	if (ci != k->rcq.ci)
		velo_ko_cq_publish(&k->rcq);
	velo_ko_rq_fill(k);
	return got;
}

void velo_ko_rx_release(struct velo_ko *k, const struct velo_ko_frame *f,
			unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		velo_ko_pool_put(&k->rx_free, f[i].addr);
	velo_ko_rq_fill(k);
}

/* Complete the WQEs up to the one a send CQE names; free their buffers. */
static void velo_ko_sq_complete(struct velo_ko *k, uint16_t wqe_counter)
{
	uint32_t mask = velo_ko_mask(k->c.log_sq_size);

	while (k->sq_cc != k->sq_pc) {
		uint32_t slot = k->sq_cc & mask;
		int last = k->sq_cc == wqe_counter;

		velo_ko_pool_put(&k->tx_free, k->sq_addr[slot]);
		k->sq_cc += k->sq_nbb[slot];
		if (last)
			break;
	}
}

unsigned int velo_ko_tx_reap(struct velo_ko *k)
{
	const struct velo_ko_cqe *e;
	unsigned int n = 0;

	while ((e = velo_ko_cq_peek(&k->scq))) {
		if (e->op_own >> 4 == VELO_KO_CQE_REQ_ERR)
			velo_ko_err_cqe(k, e, &k->stats.tx_err_cqes);
		velo_ko_sq_complete(k, be16toh(e->wqe_counter));
		k->scq.ci++;
		n++;
	}
	if (n)
		velo_ko_cq_publish(&k->scq);
	return n;
}

unsigned int velo_ko_tx_alloc(struct velo_ko *k, struct velo_ko_frame *f,
			      unsigned int n)
{
	unsigned int i;

	if (k->tx_free.count < n)
		velo_ko_tx_reap(k);
	if (k->tx_free.count < n) {
		k->stats.tx_ring_full++;
		n = k->tx_free.count;
	}
	for (i = 0; i < n; i++) {
		f[i].addr = k->tx_free.addr[--k->tx_free.count];
		f[i].data = k->buf + f[i].addr;
		f[i].len = 0;
		f[i].flags = 0;
	}
	return n;
}

/* Segment @i of the WQE starting at WQEBB counter @pc: WQEs wrap around. */
static void *velo_ko_sq_seg(const struct velo_ko *k, uint16_t pc, unsigned int i)
{
	uint32_t segs_mask = velo_ko_mask(k->c.log_sq_size + 2);

	return k->sq + ((((uint32_t)pc << 2) + i) & segs_mask) * VELO_KO_SEG;
}

/*
 * The inline header: its first 2 bytes end the eth segment, the rest fills
 * the following segments, each possibly past the ring's end. Returns the
 * eth segment's size in segments.
 */
static unsigned int velo_ko_put_inline(const struct velo_ko *k, uint16_t pc,
				       struct velo_ko_eth_seg *eth,
				       const uint8_t *data, unsigned int len)
{
	unsigned int seg = 2, done;

	eth->inline_hdr_sz = htobe16(len);
	done = len < 2 ? len : 2;
	memcpy(eth->inline_hdr_start, data, done);
	for (; done < len; seg++, done += VELO_KO_SEG) {
		unsigned int chunk = len - done < VELO_KO_SEG ? len - done : VELO_KO_SEG;

		memcpy(velo_ko_sq_seg(k, pc, seg), data + done, chunk);
	}
	return seg - 1;
}

static void velo_ko_post_send(struct velo_ko *k, const struct velo_ko_frame *f,
			      uint8_t cs_flags)
{
	uint16_t pc = k->sq_pc;
	struct velo_ko_ctrl_seg *ctrl = velo_ko_sq_seg(k, pc, 0);
	struct velo_ko_eth_seg *eth = velo_ko_sq_seg(k, pc, 1);
	unsigned int inl = f->len < k->tx_inline ? f->len : k->tx_inline;
	unsigned int ds = 1 + velo_ko_put_inline(k, pc, eth, f->data, inl);
	uint32_t slot = pc & velo_ko_mask(k->c.log_sq_size);

	memset(eth, 0, offsetof(struct velo_ko_eth_seg, inline_hdr_sz));
	eth->cs_flags = cs_flags;
	if (f->len > inl) {
		struct velo_ko_data_seg *d = velo_ko_sq_seg(k, pc, ds);

		d->byte_count = htobe32(f->len - inl);
		d->lkey = htobe32(k->c.lkey);
		d->addr = htobe64(f->addr + inl);
		ds++;
	}
	ctrl->opmod_idx_opcode = htobe32((uint32_t)pc << 8 | VELO_KO_OPCODE_SEND);
	ctrl->qpn_ds = htobe32(k->c.sqn << 8 | ds);
	ctrl->signature = 0;
	ctrl->fm_ce_se = VELO_KO_CQ_UPDATE;
	ctrl->imm = 0;
	k->sq_addr[slot] = f->addr;
	k->sq_last = pc;
	k->sq_nbb[slot] = (ds + 3) / 4;
	k->sq_pc = pc + k->sq_nbb[slot];
	k->stats.tx_frames++;
	k->stats.tx_bytes += f->len;
}

int velo_ko_kick(struct velo_ko *k)
{
	k->stats.kicks++;
	return ioctl(k->fd, VELO_IOC_KICK) ? -errno : 0;
}

/*
 * The mlx5 doorbell: the last WQE's first 8 bytes (its counter and the
 * SQ number) to the UAR, after the doorbell record is visible. The page
 * is write-combining: the fence after the write flushes it to the device.
 */
static void velo_ko_uar_ring(struct velo_ko *k)
{
	uint64_t db;

	memcpy(&db, velo_ko_sq_seg(k, k->sq_last, 0), sizeof(db));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(volatile uint64_t *)(k->uar + k->c.uar_db_offset) = db;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void velo_ko_tx_submit(struct velo_ko *k, const struct velo_ko_frame *f,
		       unsigned int n, int csum)
{
	uint8_t cs_flags = csum ? VELO_KO_CSUM_L3 | VELO_KO_CSUM_L4 : 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		velo_ko_post_send(k, &f[i], cs_flags);
	velo_ko_dbr_write(&k->qp_dbr[VELO_KO_SND_DBR], k->sq_pc);
	if (k->uar) {
		if (k->sq_pc != k->sq_cc)
			velo_ko_uar_ring(k);
		return;
	}
	if (!k->stats.db_poll || !n)
		velo_ko_kick(k);
}
