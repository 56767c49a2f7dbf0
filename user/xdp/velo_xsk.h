/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo's AF_XDP frame I/O backend: one AF_XDP socket (XSK) on one queue of
 * one interface, its UMEM, and the XDP steering program that hands it the
 * TCP flows registered as filters. Used where velo.ko is not loaded.
 *
 *   velo_xsk_open(&cfg, &x);              attach or reuse the program, bind
 *   velo_xsk_filter_add(x, &flow, &h);    steer a 5-tuple or a listener
 *   for (;;) {
 *       n = velo_xsk_rx_burst(x, f, N);   frames in, then
 *       velo_xsk_rx_release(x, f, n);     give their buffers back
 *       n = velo_xsk_tx_alloc(x, f, N);   buffers out: fill f[i].data/len,
 *       velo_xsk_tx_submit(x, f, n);      send (kicks the kernel if needed)
 *       poll(velo_xsk_fd(x)) to sleep
 *   }
 *   velo_xsk_filter_remove(x, &h);
 *   velo_xsk_close(x);
 *
 * The burst calls allocate nothing and make no system call while frames
 * flow, except the TX kick the kernel asks for (copy mode: one per burst of
 * up to 32 frames). A velo_xsk is not thread-safe: one thread drives it.
 * Errors are negative errno values; the reason is logged (common/log.h).
 * (Not named xsk.h: with -Iuser it would hide libxdp's <xdp/xsk.h>.)
 */
#ifndef VELO_XDP_VELO_XSK_H
#define VELO_XDP_VELO_XSK_H

#include <stdint.h>
#include <sys/socket.h>

#include "../../bpf/velo_xdp.h"

struct velo_xsk;

struct velo_xsk_config {
	const char *ifname;
	uint32_t queue;
	uint32_t frames;      /* UMEM frames, half RX half TX; 0: 2048 (power of 2) */
	uint32_t frame_size;  /* 2048 or 4096; 0: 2048 */
	int force_generic;    /* attach in generic (skb) mode even if native works */
	/*
	 * Another queue of the same stack: the new socket shares its owner, so
	 * that the stack's flows are delivered on every queue it has opened.
	 * NULL: this socket is a new owner. Close such sockets before their
	 * owner's.
	 */
	const struct velo_xsk *same_owner_as;
};

/* One frame: data points into the UMEM; addr is the backend's handle. */
struct velo_xsk_frame {
	void *data;
	uint32_t len;
	uint64_t addr;
};

/* A TCP flow to steer, as the receiver sees it (local = destination). */
struct velo_xsk_flow {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	uint8_t local_addr[16];		/* IPv4 in the first 4; zero: any (listeners) */
	uint8_t remote_addr[16];	/* zero for a listener */
	uint16_t local_port;		/* host byte order */
	uint16_t remote_port;		/* 0: a listener (3-tuple) */
};

/*
 * A registered filter. Removal needs the same handle: a stale handle (the
 * filter was removed, the tuple re-added by a new socket) removes nothing.
 */
struct velo_xsk_filter {
	struct velo_flow_key key;
	uint64_t gen;
};

struct velo_xsk_stats {
	/* the interface's program, all queues and owners, since it was attached */
	uint64_t redirected, passed, no_socket, foreign_queue;
	/* this socket */
	uint64_t tx_kicks;	/* sendto() calls to start transmission */
	uint64_t rx_wakeups;	/* recvfrom() calls to refill */
	uint64_t rx_dropped, rx_ring_full, fill_ring_empty; /* XDP_STATISTICS */
};

int velo_xsk_open(const struct velo_xsk_config *cfg, struct velo_xsk **out);
/* Removes this owner's filters; detaches the program when no owner is left. */
void velo_xsk_close(struct velo_xsk *x);

/* Readable (POLLIN) when frames wait: for sleeping in poll/epoll. */
int velo_xsk_fd(const struct velo_xsk *x);
/* Whether the program runs in the driver (native) or in generic mode. */
int velo_xsk_is_native(const struct velo_xsk *x);
uint32_t velo_xsk_frame_size(const struct velo_xsk *x);

/* Up to n received frames; each must be given back with rx_release. */
unsigned int velo_xsk_rx_burst(struct velo_xsk *x, struct velo_xsk_frame *f,
			       unsigned int n);
void velo_xsk_rx_release(struct velo_xsk *x, const struct velo_xsk_frame *f,
			 unsigned int n);

/* Up to n free TX buffers of frame_size bytes; each must be submitted. */
unsigned int velo_xsk_tx_alloc(struct velo_xsk *x, struct velo_xsk_frame *f,
			       unsigned int n);
/*
 * Queues the frames (len set by the caller) and wakes the kernel if it
 * sleeps. A kick the kernel refused (no room for completions, ENOBUFS)
 * leaves frames queued: n == 0 kicks again, e.g. from the next timer.
 */
void velo_xsk_tx_submit(struct velo_xsk *x, const struct velo_xsk_frame *f,
			unsigned int n);
/* Takes back buffers the kernel has sent; tx_alloc does it when short. */
unsigned int velo_xsk_tx_reap(struct velo_xsk *x);

/* -EEXIST if the tuple is registered (by anyone), -EINVAL if malformed. */
int velo_xsk_filter_add(struct velo_xsk *x, const struct velo_xsk_flow *flow,
			struct velo_xsk_filter *handle);
/* -ENOENT if the handle's registration is gone. */
int velo_xsk_filter_remove(struct velo_xsk *x, const struct velo_xsk_filter *handle);

void velo_xsk_get_stats(struct velo_xsk *x, struct velo_xsk_stats *s);

#endif /* VELO_XDP_VELO_XSK_H */
