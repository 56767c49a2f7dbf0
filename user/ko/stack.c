// SPDX-License-Identifier: GPL-2.0
/*
 * velo_ko control path: stack creation and mapping, buffers, doorbell
 * polling, sleeping, filters and connection records.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fd.h"
#include "priv.h"

#define VELO_KO_DB_POLL_PARAM "/sys/module/velo/parameters/db_poll_us"

static uint32_t velo_ko_or(uint32_t v, uint32_t dflt)
{
	return v ? v : dflt;
}

static int velo_ko_log_ok(uint32_t log)
{
	return log >= VELO_LOG_Q_MIN && log <= VELO_LOG_Q_MAX;
}

/* Largest send WQE: ctrl, eth with the inline header, one data segment. */
static uint32_t velo_ko_max_nbb(uint32_t tx_inline)
{
	uint32_t eth_ds = tx_inline > 2 ? 1 + (tx_inline - 2 + 15) / 16 : 1;

	return (1 + eth_ds + 1 + 3) / 4;
}

/* Sizes from @cfg with defaults; the buffer counts bounded (see priv.h). */
static int velo_ko_sizes(const struct velo_ko_config *cfg, struct velo_ko *k,
			 uint32_t *rx_frames, uint32_t *tx_frames)
{
	struct velo_stack_create *c = &k->c;
	uint32_t tx_max;

	c->log_sq_size = velo_ko_or(cfg->log_sq_size, 9);
	c->log_rq_size = velo_ko_or(cfg->log_rq_size, 9);
	c->log_cq_size = velo_ko_or(cfg->log_cq_size, c->log_sq_size > c->log_rq_size ?
				    c->log_sq_size : c->log_rq_size);
	c->nr_conns = velo_ko_or(cfg->nr_conns, 64);
	k->frame_size = velo_ko_or(cfg->frame_size, 2048);
	k->tx_inline = cfg->tx_inline;
	if (!velo_ko_log_ok(c->log_sq_size) || !velo_ko_log_ok(c->log_rq_size) ||
	    !velo_ko_log_ok(c->log_cq_size) || c->log_cq_size < c->log_rq_size ||
	    k->frame_size < 2048 ||
	    (k->frame_size & (k->frame_size - 1)) || k->tx_inline > VELO_KO_MAX_INLINE)
		return -EINVAL;
	k->tx_max_nbb = velo_ko_max_nbb(k->tx_inline);
	tx_max = (1U << c->log_sq_size) / k->tx_max_nbb;
	if (tx_max > 1U << c->log_cq_size)
		tx_max = 1U << c->log_cq_size;
	*tx_frames = velo_ko_or(cfg->tx_frames, tx_max);
	*rx_frames = velo_ko_or(cfg->rx_frames, 2U << c->log_rq_size);
	if (*tx_frames > tx_max || (uint64_t)(*rx_frames + *tx_frames) * k->frame_size > 1U << 30)
		return -EINVAL;
	c->buf_size = ((*rx_frames + *tx_frames) * k->frame_size + 4095) & ~4095U;
	return 0;
}

static int velo_ko_pool_init(struct velo_ko_pool *p, uint32_t n, uint64_t first,
			     uint32_t frame_size)
{
	uint32_t i;

	p->addr = calloc(n, sizeof(*p->addr));
	if (!p->addr)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p->addr[p->count++] = first + (uint64_t)(n - 1 - i) * frame_size;
	return 0;
}

static int velo_ko_create(const struct velo_ko_config *cfg, struct velo_ko *k)
{
	int dev, r = 0;

	k->c.ifindex = cfg->ifname ? if_nametoindex(cfg->ifname) : cfg->ifindex;
	k->c.queue = cfg->queue;
	if (!k->c.ifindex)
		return -ENODEV;
	dev = open(VELO_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	if (ioctl(dev, VELO_IOC_STACK_CREATE, &k->c))
		r = -errno;
	close(dev);
	if (r)
		return r;
	velo_fd_private(k->c.fd, &k->fd);
	k->map = mmap(NULL, k->c.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
	if (k->map == MAP_FAILED) {
		k->map = NULL;
		return -errno;
	}
	return 0;
}

/*
 * The mlx5 provider: map the doorbell page, and send the frame headers
 * the device needs inline (fewer send buffers then, if the SQ holds fewer
 * of the larger WQEs).
 */
static int velo_ko_hw_init(struct velo_ko *k, uint32_t *tx_frames)
{
	uint32_t tx_max;

	if (k->c.provider != VELO_PROVIDER_MLX5)
		return 0;
	if (k->c.min_inline > VELO_KO_MAX_INLINE || k->c.uar.size < k->c.uar_db_offset + 8)
		return -EOPNOTSUPP;
	k->uar = mmap(NULL, k->c.uar.size, PROT_WRITE, MAP_SHARED, k->fd, k->c.uar.offset);
	if (k->uar == MAP_FAILED) {
		k->uar = NULL;
		return -errno;
	}
	if (k->c.min_inline > k->tx_inline) {
		k->tx_inline = k->c.min_inline;
		k->tx_max_nbb = velo_ko_max_nbb(k->tx_inline);
		tx_max = (1U << k->c.log_sq_size) / k->tx_max_nbb;
		if (*tx_frames > tx_max)
			*tx_frames = tx_max;
	}
	return 0;
}

static void velo_ko_map_regions(struct velo_ko *k)
{
	uint8_t *dbr = k->map + k->c.dbr.offset;

	k->buf = k->map + k->c.buf.offset;
	k->sq = k->map + k->c.sq.offset;
	k->rq = (void *)(k->map + k->c.rq.offset);
	k->qp_dbr = (void *)(dbr + VELO_DBR_QP);
	k->sq_poll = (void *)(dbr + VELO_DBR_SQ_POLL);
	k->rcq.cqes = (void *)(k->map + k->c.rcq.offset);
	k->rcq.dbr = (void *)(dbr + VELO_DBR_RCQ);
	k->rcq.log_size = k->c.log_cq_size;
	k->scq.cqes = (void *)(k->map + k->c.scq.offset);
	k->scq.dbr = (void *)(dbr + VELO_DBR_SCQ);
	k->scq.log_size = k->c.log_cq_size;
	k->conns = (void *)(k->map + k->c.conns.offset);
}

static int velo_ko_shadow_init(struct velo_ko *k, uint32_t rx_frames, uint32_t tx_frames)
{
	uint32_t sq_size = 1U << k->c.log_sq_size;

	k->rq_addr = calloc(1U << k->c.log_rq_size, sizeof(*k->rq_addr));
	k->sq_addr = calloc(sq_size, sizeof(*k->sq_addr));
	k->sq_nbb = calloc(sq_size, 1);
	if (!k->rq_addr || !k->sq_addr || !k->sq_nbb)
		return -ENOMEM;
	if (velo_ko_pool_init(&k->rx_free, rx_frames, 0, k->frame_size) ||
	    velo_ko_pool_init(&k->tx_free, tx_frames, (uint64_t)rx_frames * k->frame_size,
			      k->frame_size))
		return -ENOMEM;
	return 0;
}

static unsigned long velo_ko_db_poll_us(void)
{
	unsigned long us = 0;
	FILE *f = fopen(VELO_KO_DB_POLL_PARAM, "re");

	if (f) {
		if (fscanf(f, "%lu", &us) != 1)
			us = 0;
		fclose(f);
	}
	return us;
}

/* Arm the module's polling of the SQ doorbell record: it takes one kick. */
static void velo_ko_db_poll_arm(struct velo_ko *k)
{
	__atomic_store_n(k->sq_poll, 1, __ATOMIC_RELEASE);
	k->stats.db_poll = velo_ko_kick(k) == 0;
	if (!k->stats.db_poll)
		__atomic_store_n(k->sq_poll, 0, __ATOMIC_RELEASE);
}

int velo_ko_open(const struct velo_ko_config *cfg, struct velo_ko **out)
{
	struct velo_ko *k = calloc(1, sizeof(*k));
	uint32_t rx_frames, tx_frames;
	int r;

	if (!k)
		return -ENOMEM;
	k->fd = -1;
	r = velo_ko_sizes(cfg, k, &rx_frames, &tx_frames);
	if (!r)
		r = velo_ko_create(cfg, k);
	if (!r)
		r = velo_ko_hw_init(k, &tx_frames);
	if (!r) {
		velo_ko_map_regions(k);
		r = velo_ko_shadow_init(k, rx_frames, tx_frames);
	}
	if (r) {
		velo_ko_close(k);
		return r;
	}
	velo_ko_rq_fill(k);
	if (!cfg->no_db_poll && !k->uar && velo_ko_db_poll_us() > 0)
		velo_ko_db_poll_arm(k);
	*out = k;
	return 0;
}

void velo_ko_close(struct velo_ko *k)
{
	if (k->map) {
		__atomic_store_n(k->sq_poll, 0, __ATOMIC_RELEASE);
		munmap(k->map, k->c.mmap_size);
	}
	if (k->uar)
		munmap(k->uar, k->c.uar.size);
	velo_fd_close(k->fd);
	free(k->rq_addr);
	free(k->sq_addr);
	free(k->sq_nbb);
	free(k->rx_free.addr);
	free(k->tx_free.addr);
	free(k);
}

int velo_ko_fd(const struct velo_ko *k)
{
	return k->fd;
}

uint32_t velo_ko_frame_size(const struct velo_ko *k)
{
	return k->frame_size;
}

bool velo_ko_hw_steering(const struct velo_ko *k)
{
	return k->uar != NULL;
}

uint32_t velo_ko_stack_id(const struct velo_ko *k)
{
	return k->c.stack_id;
}

int velo_ko_wait(struct velo_ko *k, int64_t deadline_ns)
{
	struct velo_wait w = { .deadline_ns = deadline_ns };

	/* Unreaped send completions would end the sleep at once. */
	velo_ko_tx_reap(k);
	/*
	 * Sends still in flight under doorbell polling: ring the doorbell
	 * too, so they cannot stall if polling stopped (db_poll_us set to 0
	 * stops every armed stack's timer). One more call, only on the way
	 * to sleep, never per frame.
	 */
	if (k->stats.db_poll && k->sq_cc != k->sq_pc)
		velo_ko_kick(k);
	k->stats.waits++;
	if (ioctl(k->fd, VELO_IOC_WAIT, &w))
		return errno == ETIME ? 0 : -errno;
	return w.events;
}

static int velo_ko_flow_ok(const struct velo_ko_flow *flow)
{
	return flow->family == AF_INET || flow->family == AF_INET6;
}

int velo_ko_filter_add(struct velo_ko *k, const struct velo_ko_flow *flow,
		       uint32_t flags, uint64_t *handle)
{
	struct velo_filter f = {
		.family = flow->family,
		.protocol = IPPROTO_TCP,
		.flags = flags & VELO_KO_TAKEOVER,
		.lport = htobe16(flow->local_port),
		.rport = htobe16(flow->remote_port),
	};

	if (!velo_ko_flow_ok(flow))
		return -EINVAL;
	if (!flow->remote_port)
		f.flags |= VELO_FILTER_F_LISTEN;
	memcpy(f.laddr, flow->local_addr, sizeof(f.laddr));
	memcpy(f.raddr, flow->remote_addr, sizeof(f.raddr));
	if (ioctl(k->fd, VELO_IOC_FILTER_ADD, &f))
		return -errno;
	*handle = f.handle;
	return 0;
}

int velo_ko_filter_remove(struct velo_ko *k, uint64_t handle)
{
	struct velo_filter f = { .handle = handle };

	return ioctl(k->fd, VELO_IOC_FILTER_DEL, &f) ? -errno : 0;
}

int velo_ko_conn_open(struct velo_ko *k, uint32_t conn, const struct velo_ko_flow *flow,
		      const uint8_t peer_mac[6], uint32_t snd_nxt, uint32_t rcv_nxt)
{
	struct velo_conn *rec = &k->conns[conn];

	if (!velo_ko_flow_ok(flow) || !flow->remote_port || conn >= k->c.nr_conns)
		return -EINVAL;
	if (__atomic_load_n(&rec->state, __ATOMIC_RELAXED) != VELO_CONN_FREE)
		return -EBUSY;
	rec->family = flow->family;
	memcpy(rec->peer_mac, peer_mac, sizeof(rec->peer_mac));
	memcpy(rec->laddr, flow->local_addr, sizeof(rec->laddr));
	memcpy(rec->raddr, flow->remote_addr, sizeof(rec->raddr));
	rec->lport = htobe16(flow->local_port);
	rec->rport = htobe16(flow->remote_port);
	velo_ko_conn_update(k, (int)conn, snd_nxt, rcv_nxt);
	/* The module may read the record once it says OPEN. */
	__atomic_store_n(&rec->state, VELO_CONN_OPEN, __ATOMIC_RELEASE);
	return 0;
}

void velo_ko_conn_update(struct velo_ko *k, int conn, uint32_t snd_nxt, uint32_t rcv_nxt)
{
	__atomic_store_n(&k->conns[conn].snd_nxt, snd_nxt, __ATOMIC_RELAXED);
	__atomic_store_n(&k->conns[conn].rcv_nxt, rcv_nxt, __ATOMIC_RELAXED);
}

void velo_ko_conn_free(struct velo_ko *k, int conn)
{
	__atomic_store_n(&k->conns[conn].state, VELO_CONN_FREE, __ATOMIC_RELEASE);
}

void velo_ko_get_stats(const struct velo_ko *k, struct velo_ko_stats *s)
{
	*s = k->stats;
}
