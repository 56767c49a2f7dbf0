/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo's velo.ko frame I/O backend: one stack of velo.ko (mlx5-format send
 * and receive queues, completion queues and doorbell records in one shared
 * mapping) on one queue of one interface. Same shape as velo_xsk.h, so the
 * wire stack can drive either:
 *
 *   velo_ko_open(&cfg, &k);               create the stack, fill the RQ
 *   velo_ko_filter_add(k, &flow, 0, &h);  steer a 5-tuple or a listener
 *   for (;;) {
 *       n = velo_ko_rx_burst(k, f, N);    frames in, then
 *       velo_ko_rx_release(k, f, n);      give their buffers back (re-post)
 *       n = velo_ko_tx_alloc(k, f, N);    buffers out: fill f[i].data/len,
 *       velo_ko_tx_submit(k, f, n);       post the WQEs, ring the doorbell
 *       velo_ko_wait(k, deadline) or poll(velo_ko_fd(k)) to sleep
 *   }
 *   velo_ko_filter_remove(k, h);
 *   velo_ko_close(k);
 *
 * The burst calls allocate nothing. With doorbell polling (the module's
 * db_poll_us > 0 when the stack is opened, and cfg.no_db_poll unset) they
 * make no system call at all; otherwise tx_submit makes one (VELO_IOC_KICK)
 * per burst. On the mlx5 provider tx_submit rings the NIC's own doorbell
 * (the UAR page): no system call either. stats.kicks and stats.waits count
 * the system calls.
 * Every send WQE asks for a completion; the number of send buffers is
 * bounded so that neither the SQ nor the send CQ can overflow. A velo_ko is not thread-safe: one thread drives it, except
 * the connection record calls (one writer per record).
 * Errors are negative errno values.
 */
#ifndef VELO_KO_VELO_KO_H
#define VELO_KO_VELO_KO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/velo.h>

struct velo_ko;

struct velo_ko_config {
	const char *ifname;	/* or ifindex when NULL */
	uint32_t ifindex;
	uint32_t queue;
	uint32_t log_sq_size;	/* SQ WQEBBs; 0: 9 (512) */
	uint32_t log_rq_size;	/* RQ WQEs; 0: 9 */
	uint32_t log_cq_size;	/* each CQ, >= log_rq_size (the receive CQ
				 * never fills); 0: max(log_sq_size, log_rq_size) */
	uint32_t rx_frames;	/* receive buffers; 0: twice the RQ */
	uint32_t tx_frames;	/* send buffers; 0: the send CQ's size */
	uint32_t frame_size;	/* buffer size, power of 2 >= 2048; 0: 2048 */
	uint32_t tx_inline;	/* bytes of each frame copied inline into its
				 * WQE (0..256); raised to what the device
				 * requires (min_inline) on the mlx5 provider */
	uint32_t nr_conns;	/* connection records; 0: 64 */
	int no_db_poll;		/* kick every burst even if polling is possible */
};

/* One frame: data points into the buffer area; addr is its offset there. */
struct velo_ko_frame {
	void *data;
	uint32_t len;
	uint64_t addr;
	/*
	 * rx: VELO_KO_RX_CSUM_OK when the kernel vouches for the IP and TCP
	 * sums; a partial TCP sum (CHECKSUM_PARTIAL, e.g. from veth) is then
	 * completed in the frame, as the AF_XDP backend does.
	 */
	uint32_t flags;
};

#define VELO_KO_RX_CSUM_OK	1u

/* A TCP flow to steer, as the receiver sees it (local = destination). */
struct velo_ko_flow {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	uint8_t local_addr[16];		/* IPv4 in the first 4; zero: any (listeners) */
	uint8_t remote_addr[16];	/* zero for a listener */
	uint16_t local_port;		/* host byte order */
	uint16_t remote_port;		/* 0: a listener (3-tuple) */
};

/* velo_ko_filter_add flags */
#define VELO_KO_TAKEOVER	VELO_FILTER_F_TAKEOVER

struct velo_ko_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t rx_err_cqes, tx_err_cqes;	/* completions with an error */
	uint8_t last_err_syndrome;		/* mlx5 syndrome of the last one */
	uint64_t tx_ring_full;			/* tx_alloc short of SQ room or buffers */
	uint64_t kicks;				/* VELO_IOC_KICK system calls */
	uint64_t waits;				/* VELO_IOC_WAIT system calls */
	int db_poll;				/* doorbell polling armed */
};

int velo_ko_open(const struct velo_ko_config *cfg, struct velo_ko **out);
/* Unmaps and closes; the module RSTs the peers of records still open. */
void velo_ko_close(struct velo_ko *k);

/* Readable (POLLIN) when a CQ has completions: for sleeping in poll/epoll. */
int velo_ko_fd(const struct velo_ko *k);
uint32_t velo_ko_frame_size(const struct velo_ko *k);
/* The stack's id: /sys/kernel/velo/stacks/<id>. */
uint32_t velo_ko_stack_id(const struct velo_ko *k);
/*
 * Whether the NIC steers (the mlx5 provider's flow rules): then a listening
 * filter takes every segment of its port. The soft provider leaves the
 * kernel's own connections to the kernel, as the XDP program does.
 */
bool velo_ko_hw_steering(const struct velo_ko *k);

/* Up to n received frames; each must be given back with rx_release. */
unsigned int velo_ko_rx_burst(struct velo_ko *k, struct velo_ko_frame *f,
			      unsigned int n);
void velo_ko_rx_release(struct velo_ko *k, const struct velo_ko_frame *f,
			unsigned int n);

/* Up to n free TX buffers of frame_size bytes; each must be submitted. */
unsigned int velo_ko_tx_alloc(struct velo_ko *k, struct velo_ko_frame *f,
			      unsigned int n);
/*
 * Posts one send WQE per frame (len set by the caller), with the IPv4
 * header and TCP checksums left to the provider when csum is set, and
 * rings the doorbell. n == 0 rings it again.
 */
void velo_ko_tx_submit(struct velo_ko *k, const struct velo_ko_frame *f,
		       unsigned int n, int csum);
/* Takes back buffers the provider has sent; tx_alloc does it when short. */
unsigned int velo_ko_tx_reap(struct velo_ko *k);

/*
 * Sleeps until a frame arrives or a send completes, or until deadline_ns
 * (CLOCK_MONOTONIC, 0: none). Reaps send completions first (they would
 * end the sleep at once) and, under doorbell polling with sends in
 * flight, rings the doorbell once (so that sends cannot stall if polling
 * is switched off). Returns VELO_EV_* (0 at the deadline) or -EINTR (a
 * signal without SA_RESTART) / -ENODEV (the device is gone).
 * poll()ing velo_ko_fd() instead is fine after a velo_ko_tx_reap().
 */
int velo_ko_wait(struct velo_ko *k, int64_t deadline_ns);

/* -EEXIST if the tuple is registered (without TAKEOVER), -EINVAL if malformed. */
int velo_ko_filter_add(struct velo_ko *k, const struct velo_ko_flow *flow,
		       uint32_t flags, uint64_t *handle);
/* -ENOENT if the handle's filter is gone (e.g. taken over). */
int velo_ko_filter_remove(struct velo_ko *k, uint64_t handle);

/*
 * Connection records, velo_ko_config's nr_conns of them, indexed by the
 * owner: while record @conn is open, the module RSTs its peer if the
 * process dies (the stack's filters must cover the flow: its connected
 * filter, or its listening one on the local port). The owner keeps
 * snd_nxt/rcv_nxt current with conn_update. open: -EINVAL for a bad flow
 * or index, -EBUSY if the record is open.
 */
int velo_ko_conn_open(struct velo_ko *k, uint32_t conn, const struct velo_ko_flow *flow,
		      const uint8_t peer_mac[6], uint32_t snd_nxt, uint32_t rcv_nxt);
void velo_ko_conn_update(struct velo_ko *k, int conn, uint32_t snd_nxt,
			 uint32_t rcv_nxt);
void velo_ko_conn_free(struct velo_ko *k, int conn);

void velo_ko_get_stats(const struct velo_ko *k, struct velo_ko_stats *s);

#endif /* VELO_KO_VELO_KO_H */
