// SPDX-License-Identifier: GPL-2.0
/* AF_XDP socket, UMEM and burst I/O: see velo_xsk.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "common/fd.h"
#include "common/log.h"
#include "xdp/csum.h"
#include "xdp/steer.h"
#include "xdp/velo_xsk.h"

#define DEFAULT_FRAMES 2048
#define DEFAULT_FRAME_SIZE 2048
/* copy-mode transmission handles this many frames per sendto() */
#define KERNEL_TX_BATCH 32
#define BIND_BUSY_TRIES 50
#define BIND_BUSY_WAIT_US 10000

struct velo_xsk {
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	void *area;
	size_t area_len;
	uint32_t frame_size, rx_frames, tx_frames;
	uint32_t queue;
	uint64_t *tx_free;	/* stack of idle TX buffer addresses */
	uint32_t tx_nfree;
	uint64_t owner;
	uint64_t last_gen;
	bool primary;		/* registered the owner: leaves on close */
	bool steer_open, queue_bound;
	bool complete_partial;	/* the link hands over CHECKSUM_PARTIAL frames */
	uint64_t tx_kicks, rx_wakeups;
	struct velo_steer steer;
};

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

static int memlock_error(size_t len)
{
	struct rlimit rl = { 0 };

	getrlimit(RLIMIT_MEMLOCK, &rl);
	velo_err("xdp: a UMEM of %zu bytes does not fit RLIMIT_MEMLOCK (%llu bytes): "
		 "raise it (ulimit -l, systemd LimitMEMLOCK=) or configure fewer frames",
		 len, (unsigned long long)rl.rlim_cur);
	return -ENOMEM;
}

/* The kernel charges the UMEM to RLIMIT_MEMLOCK unless we hold CAP_IPC_LOCK. */
static int check_memlock(size_t len)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    len <= rl.rlim_cur || has_cap_ipc_lock())
		return 0;
	return memlock_error(len);
}

static bool driver_is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth;

	if (fd < 0)
		return false;
	strncpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name) - 1);
	veth = !ioctl(fd, SIOCETHTOOL, &ifr) && !strcmp(info.driver, "veth");
	close(fd);
	return veth;
}

static bool power_of_2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int setup_umem(struct velo_xsk *x)
{
	struct xsk_umem_config ucfg = {
		.fill_size = x->rx_frames,
		.comp_size = x->tx_frames,
		.frame_size = x->frame_size,
	};
	int err;

	x->area_len = (size_t)(x->rx_frames + x->tx_frames) * x->frame_size;
	err = check_memlock(x->area_len);
	if (err)
		return err;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fill, &x->comp, &ucfg);
	if (err == -ENOBUFS || err == -ENOMEM)
		return memlock_error(x->area_len);
	if (err)
		velo_err("xdp: creating the UMEM failed: %s", strerror(-err));
	return err;
}

static int create_socket(struct velo_xsk *x, const char *ifname)
{
	struct xsk_socket_config scfg = {
		.rx_size = x->rx_frames,
		.tx_size = x->tx_frames,
		/* the program is ours (steer.c); libxdp's loader also wants bpffs */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	unsigned int tries;
	int err;

	/* a generic-mode program only ever sees copies */
	if (x->steer.mode_flags & XDP_FLAGS_SKB_MODE)
		scfg.bind_flags |= XDP_COPY;
	/*
	 * The kernel releases a closed socket's hold on its queue from a work
	 * item, a moment after close (or after its process died): wait a bit
	 * before telling a successor that the queue is taken.
	 */
	for (tries = 0; tries < BIND_BUSY_TRIES; tries++) {
		err = xsk_socket__create(&x->xsk, ifname, x->queue, x->umem, &x->rx, &x->tx,
					 &scfg);
		if (err != -EBUSY)
			break;
		usleep(BIND_BUSY_WAIT_US);
	}
	if (err)
		velo_err("xdp: binding an AF_XDP socket to %s queue %u failed: %s%s", ifname,
			 x->queue, strerror(-err),
			 err == -EBUSY ? " (another socket has this queue)" : "");
	return err;
}

static int socket_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

/* RX buffers are the first rx_frames frames; all start on the fill ring. */
static void fill_all_rx(struct velo_xsk *x)
{
	uint32_t i, idx = 0;

	xsk_ring_prod__reserve(&x->fill, x->rx_frames, &idx);
	for (i = 0; i < x->rx_frames; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * x->frame_size;
	xsk_ring_prod__submit(&x->fill, x->rx_frames);
}

static int init_tx_free(struct velo_xsk *x)
{
	uint32_t i;

	x->tx_free = calloc(x->tx_frames, sizeof(*x->tx_free));
	if (!x->tx_free)
		return -ENOMEM;
	for (i = 0; i < x->tx_frames; i++)
		x->tx_free[i] = (uint64_t)(x->rx_frames + i) * x->frame_size;
	x->tx_nfree = x->tx_frames;
	return 0;
}

static int take_config(struct velo_xsk *x, const struct velo_xsk_config *cfg)
{
	uint32_t frames = cfg->frames ? cfg->frames : DEFAULT_FRAMES;

	x->frame_size = cfg->frame_size ? cfg->frame_size : DEFAULT_FRAME_SIZE;
	x->queue = cfg->queue;
	if (!cfg->ifname || !power_of_2(frames) || frames < 2 ||
	    (x->frame_size != 2048 && x->frame_size != 4096) ||
	    cfg->queue >= VELO_XDP_MAX_QUEUES) {
		velo_err("xdp: bad configuration (frames must be a power of 2, frame size "
			 "2048 or 4096, queue below %u)", VELO_XDP_MAX_QUEUES);
		return -EINVAL;
	}
	x->rx_frames = frames / 2;
	x->tx_frames = frames / 2;
	return 0;
}

/* Owner, steering program registration and the queue's XSKMAP slot. */
static int join_steering(struct velo_xsk *x, const struct velo_xsk_config *cfg)
{
	int fd = xsk_socket__fd(x->xsk), err;

	if (cfg->same_owner_as) {
		x->owner = cfg->same_owner_as->owner;
	} else {
		err = socket_cookie(fd, &x->owner);
		if (err)
			return err;
		err = velo_steer_join(&x->steer, x->owner);
		if (err)
			return err;
		x->primary = true;
	}
	err = velo_steer_bind_queue(&x->steer, x->queue, x->owner, fd);
	x->queue_bound = !err;
	return err;
}

static void xsk_close(struct velo_xsk *x)
{
	if (x->queue_bound)
		velo_steer_unbind_queue(&x->steer, x->queue, x->owner);
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->steer_open) {
		/* also when open failed after attaching: no owner, no program */
		velo_steer_leave(&x->steer, x->primary ? x->owner : 0);
		velo_steer_close(&x->steer);
	}
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->area_len);
	free(x->tx_free);
	free(x);
}

static int xsk_open(const struct velo_xsk_config *cfg, struct velo_xsk **out)
{
	struct velo_xsk *x = calloc(1, sizeof(*x));
	int ifindex, err;

	if (!x)
		return -ENOMEM;
	err = take_config(x, cfg);
	if (err)
		goto fail;
	ifindex = (int)if_nametoindex(cfg->ifname);
	if (!ifindex) {
		err = -errno;
		velo_err("xdp: no interface %s: %s", cfg->ifname, strerror(errno));
		goto fail;
	}
	err = setup_umem(x);
	if (err)
		goto fail;
	err = velo_steer_attach(&x->steer, ifindex, cfg->force_generic);
	if (err)
		goto fail;
	x->steer_open = true;
	err = create_socket(x, cfg->ifname);
	if (err)
		goto fail;
	err = init_tx_free(x);
	if (err)
		goto fail;
	fill_all_rx(x);
	err = join_steering(x, cfg);
	if (err)
		goto fail;
	x->complete_partial = driver_is_veth(cfg->ifname);
	*out = x;
	return 0;
fail:
	xsk_close(x);
	return err;
}

/* libxdp makes and closes the AF_XDP sockets: they are libvelo's private fds. */
int velo_xsk_open(const struct velo_xsk_config *cfg, struct velo_xsk **out)
{
	int err;

	velo_fd_capture_begin();
	err = xsk_open(cfg, out);
	velo_fd_capture_end();
	return err;
}

void velo_xsk_close(struct velo_xsk *x)
{
	if (!x)
		return;
	velo_fd_capture_begin();
	xsk_close(x);
	velo_fd_capture_end();
}

int velo_xsk_fd(const struct velo_xsk *x)
{
	return xsk_socket__fd(x->xsk);
}

int velo_xsk_is_native(const struct velo_xsk *x)
{
	return x->steer.mode_flags == XDP_FLAGS_DRV_MODE;
}

uint32_t velo_xsk_frame_size(const struct velo_xsk *x)
{
	return x->frame_size;
}

unsigned int velo_xsk_rx_burst(struct velo_xsk *x, struct velo_xsk_frame *f,
			       unsigned int n)
{
	uint32_t idx, i, got = xsk_ring_cons__peek(&x->rx, n, &idx);

	if (!got) {
		/* only drivers that stop for lack of buffers ask for this */
		if (xsk_ring_prod__needs_wakeup(&x->fill)) {
			x->rx_wakeups++;
			recvfrom(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		}
		return 0;
	}
	for (i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);

		f[i].addr = d->addr;
		f[i].len = d->len;
		f[i].data = xsk_umem__get_data(x->area, d->addr);
		if (x->complete_partial)
			velo_csum_rx_complete_partial(f[i].data, f[i].len);
	}
	xsk_ring_cons__release(&x->rx, got);
	return got;
}

void velo_xsk_rx_release(struct velo_xsk *x, const struct velo_xsk_frame *f,
			 unsigned int n)
{
	uint32_t idx = 0, i;

	/* the fill ring holds every RX buffer: there is always room */
	xsk_ring_prod__reserve(&x->fill, n, &idx);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) =
			f[i].addr & ~(uint64_t)(x->frame_size - 1);
	xsk_ring_prod__submit(&x->fill, n);
}

unsigned int velo_xsk_tx_reap(struct velo_xsk *x)
{
	uint32_t idx, i, done = xsk_ring_cons__peek(&x->comp, x->tx_frames, &idx);

	for (i = 0; i < done; i++)
		x->tx_free[x->tx_nfree++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
	xsk_ring_cons__release(&x->comp, done);
	return done;
}

unsigned int velo_xsk_tx_alloc(struct velo_xsk *x, struct velo_xsk_frame *f,
			       unsigned int n)
{
	unsigned int i;

	if (x->tx_nfree < n)
		velo_xsk_tx_reap(x);
	if (n > x->tx_nfree)
		n = x->tx_nfree;
	for (i = 0; i < n; i++) {
		f[i].addr = x->tx_free[--x->tx_nfree];
		f[i].data = xsk_umem__get_data(x->area, f[i].addr);
		f[i].len = 0;
	}
	return n;
}

/*
 * In copy mode the kernel transmits only from sendto(), at most
 * KERNEL_TX_BATCH frames per call, answering EAGAIN while more wait.
 */
static void tx_kick(struct velo_xsk *x, unsigned int queued)
{
	unsigned int tries = queued / KERNEL_TX_BATCH + 2;

	while (tries-- && xsk_ring_prod__needs_wakeup(&x->tx)) {
		x->tx_kicks++;
		if (sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 ||
		    (errno != EAGAIN && errno != EBUSY))
			return;
		/* a full completion ring also stops it */
		velo_xsk_tx_reap(x);
	}
}

/* Whether the kernel took every frame the TX ring was given. */
static bool tx_ring_drained(const struct velo_xsk *x)
{
	return __atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) == *x->tx.producer;
}

void velo_xsk_tx_submit(struct velo_xsk *x, const struct velo_xsk_frame *f,
			unsigned int n)
{
	uint32_t idx = 0, i;

	if (!n && tx_ring_drained(x))
		return; /* nothing waits: a kick would be a system call for nothing */

	/* the TX ring holds every TX buffer: there is always room */
	xsk_ring_prod__reserve(&x->tx, n, &idx);
	for (i = 0; i < n; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);

		d->addr = f[i].addr;
		d->len = f[i].len;
		d->options = 0;
	}
	xsk_ring_prod__submit(&x->tx, n);
	tx_kick(x, n);
}

static int flow_key(const struct velo_xsk_flow *flow, struct velo_flow_key *key)
{
	static const uint8_t zero[16];
	size_t alen = flow->family == AF_INET6 ? 16 : 4;
	bool listener = !flow->remote_port;

	if ((flow->family != AF_INET && flow->family != AF_INET6) || !flow->local_port)
		return -EINVAL;
	/* a listener has no remote address; a connection has both addresses */
	if (listener ? memcmp(flow->remote_addr, zero, alen) != 0
		     : !memcmp(flow->remote_addr, zero, alen) ||
			       !memcmp(flow->local_addr, zero, alen))
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->family = flow->family == AF_INET6 ? 6 : 4;
	key->local_port = htons(flow->local_port);
	key->remote_port = htons(flow->remote_port);
	memcpy(key->local_addr, flow->local_addr, alen);
	memcpy(key->remote_addr, flow->remote_addr, alen);
	return 0;
}

int velo_xsk_filter_add(struct velo_xsk *x, const struct velo_xsk_flow *flow,
			struct velo_xsk_filter *handle)
{
	struct velo_flow_val val = { .owner = x->owner, .gen = x->last_gen + 1 };
	int err = flow_key(flow, &handle->key);

	if (err)
		return err;
	err = velo_steer_flow_add(&x->steer, &handle->key, &val);
	if (err)
		return err;
	x->last_gen = val.gen;
	handle->gen = val.gen;
	return 0;
}

int velo_xsk_filter_remove(struct velo_xsk *x, const struct velo_xsk_filter *handle)
{
	struct velo_flow_val val = { .owner = x->owner, .gen = handle->gen };

	return velo_steer_flow_remove(&x->steer, &handle->key, &val);
}

void velo_xsk_get_stats(struct velo_xsk *x, struct velo_xsk_stats *s)
{
	uint64_t c[VELO_XDP_NR_COUNTERS];
	struct xdp_statistics xs = { 0 };
	socklen_t len = sizeof(xs);

	velo_steer_counters(&x->steer, c);
	getsockopt(xsk_socket__fd(x->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len);
	*s = (struct velo_xsk_stats){
		.redirected = c[VELO_XDP_REDIRECTED],
		.passed = c[VELO_XDP_PASSED],
		.no_socket = c[VELO_XDP_NO_SOCKET],
		.foreign_queue = c[VELO_XDP_FOREIGN_QUEUE],
		.tx_kicks = x->tx_kicks,
		.rx_wakeups = x->rx_wakeups,
		.rx_dropped = xs.rx_dropped,
		.rx_ring_full = xs.rx_ring_full,
		.fill_ring_empty = xs.rx_fill_ring_empty_descs,
	};
}
