/* SPDX-License-Identifier: GPL-2.0 */
/*
 * velo's wire stack: the sans-I/O engine (engine/engine.h) on an interface's
 * queues, velo.ko's rings (ko/velo_ko.h) or AF_XDP (xdp/velo_xsk.h), fed by the control plane (ctrl/ctrl.h),
 * with a progress thread, as a thread-safe library for the interposer.
 *
 * One stack per interface, created on first use (velo_wire_stack_for()
 * picks the stack of a destination's route). Sockets are the engine's
 * integer handles; calls return what Linux returns (negative errno).
 *
 * Backend. cfg.backend VELO_WIRE_AUTO takes velo.ko where /dev/velo opens
 * and the module makes a stack on the interface, else AF_XDP; KO or XDP
 * only that one (a stack that cannot be made leaves the interface to the
 * kernel, as any failure does).
 *
 * Threads. Each stack has one mutex. App threads call the engine directly
 * under it and push the frames out themselves; the progress thread sleeps in
 * poll() on the queues' fds, the ctrl fd and a kick eventfd, with the engine's
 * next deadline as timeout, so retransmits, keepalives and delayed ACKs run
 * while the application sleeps or computes.
 *
 * Blocking. Calls given a blocking mode sleep in poll() on a per-thread
 * eventfd that the stack signals when the socket's readiness changes. A
 * signal interrupts that poll(): the call returns -EINTR and the caller
 * (the interposer) applies SA_RESTART and SO_RCVTIMEO/SO_SNDTIMEO rules.
 * Timeouts are in milliseconds, -1 for none; a timed-out wait returns
 * -EAGAIN (-EINPROGRESS for connect), as Linux does.
 *
 * Readiness for poll/select/epoll. Every socket has an eventfd
 * (velo_wire_ready_fd) that is readable exactly while the socket's readiness
 * (VTCP_EV_*) intersects its interest mask (velo_wire_set_interest; by
 * default READABLE|ERR|HUP). The interposer puts that fd into the kernel's
 * epoll/poll/select in place of the application's fd, with POLLIN, and reads
 * the real mask with velo_wire_events() when it fires. Level-triggered by
 * construction; edge-triggered users get an edge on every transition into
 * ready.
 */
#ifndef VELO_WIRE_WIRE_H
#define VELO_WIRE_WIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/config.h"
#include "engine/engine.h"

struct velo_wire_stack;

/* Onload's EF_TCP_SHARED_LOCAL_PORTS family (seeds/002); 0 initial: off. */
struct velo_wire_shared_ports {
	unsigned int initial;	   /* ports reserved when the pool is created */
	unsigned int max;	   /* pool size limit (all pools of a stack) */
	unsigned int step;	   /* ports added when the pool runs short */
	bool per_ip;		   /* one pool per local address, else per family */
	unsigned int per_ip_max;   /* size limit of one local address's pool */
	bool no_fallback;	   /* exhausted pool: connect fails EADDRNOTAVAIL */
	bool reuse_fast;	   /* reuse a port as soon as its last socket closed */
};

struct velo_wire_config {
	unsigned int max_sockets;   /* engine control blocks (incl. TIME_WAIT) */
	uint32_t buf_max;	    /* cap on per-socket buffers from tcp_rmem/wmem */
	unsigned int xsk_frames;    /* UMEM frames per queue, 0: backend default */
	bool force_generic;	    /* XDP generic mode even where native works */
	enum velo_wire_backend backend;
	/*
	 * A stack per thread and interface, each on its own velo.ko rings and
	 * filters, so that busy threads never share a lock: a socket lives in
	 * the stack of the thread that made it. velo.ko only (AF_XDP cannot
	 * steer flows of one queue to several sockets here): without it, or
	 * with backend xdp, the process's one stack.
	 */
	bool per_thread;
	/* told which backend each new stack got (the caller's statistics), or NULL */
	void (*stack_created)(enum velo_wire_backend used);
	struct velo_wire_shared_ports shared;
};

/* Defaults: 512 sockets, 1 MiB buffers, no shared ports, backend auto, one stack. */
void velo_wire_config_default(struct velo_wire_config *cfg);
/* Used by stacks created after the call. */
void velo_wire_set_config(const struct velo_wire_config *cfg);

/* The stack of @dst's route (created on first use), or NULL and *err. */
struct velo_wire_stack *velo_wire_stack_for(const struct sockaddr *dst, int *err);
/* The stack of interface @ifindex (created on first use), or NULL and *err. */
struct velo_wire_stack *velo_wire_stack_of(int ifindex, int *err);
/* Ends every socket (FIN, or RST as Linux), stops the thread, frees. */
void velo_wire_stack_destroy(struct velo_wire_stack *st);
/* Every stack of the process; also run at exit. */
void velo_wire_shutdown_all(void);
/* In a forked child: the parent's stacks are left alone, forgotten (not freed). */
void velo_wire_forget_all(void);
/*
 * Every stack's orphans (connections the application closed that still owe
 * the peer data or FINs) go to the kernel's TCP now: for _exit(), which
 * runs no exit handler (the stack's own hands them over after its drain).
 */
void velo_wire_orphans_to_kernel(void);
/*
 * Whether a stack still steers SYNs for listening address @self (any
 * address: all of the port; @dual: its IPv4 side too) to its engine: a
 * closed listener's filter stays while connections it accepted live on.
 */
bool velo_wire_listen_steered(const struct sockaddr *self, bool dual);

/* Sockets. nonblock: MSG_DONTWAIT/O_NONBLOCK; timeout_ms: -1 none. */
int velo_wire_socket(struct velo_wire_stack *st, int family);
int velo_wire_bind(struct velo_wire_stack *st, int s, const struct sockaddr *a, socklen_t len);
int velo_wire_listen(struct velo_wire_stack *st, int s, int backlog);
/*
 * Binds to @a and listens, without reserving the port: the caller's own
 * kernel listener holds it, and keeps the kernel's connections on it (the
 * XDP program leaves segments of the kernel's 5-tuples to the kernel).
 */
int velo_wire_listen_on(struct velo_wire_stack *st, int s, const struct sockaddr *a,
			socklen_t len, int backlog);
int velo_wire_accept(struct velo_wire_stack *st, int s, struct sockaddr *peer, socklen_t *len,
		     bool nonblock, int timeout_ms);
int velo_wire_connect(struct velo_wire_stack *st, int s, const struct sockaddr *a,
		      socklen_t len, bool nonblock, int timeout_ms);
/* flags: MSG_DONTWAIT, MSG_MORE (send); MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL (recv). */
ssize_t velo_wire_send(struct velo_wire_stack *st, int s, const void *buf, size_t len,
		       int flags, int timeout_ms);
/* The first @max bytes of @iov in one call, as one sendmsg (flags as send). */
ssize_t velo_wire_sendv(struct velo_wire_stack *st, int s, const struct iovec *iov, int cnt,
			size_t max, int flags, int timeout_ms);
ssize_t velo_wire_recv(struct velo_wire_stack *st, int s, void *buf, size_t len, int flags,
		       int timeout_ms);
int velo_wire_shutdown(struct velo_wire_stack *st, int s, int how);
/* The last reference: graceful (FIN after the data), RST for unread data or linger {1,0}. */
int velo_wire_close(struct velo_wire_stack *st, int s);
/* connect(AF_UNSPEC): RST, as Linux's tcp_disconnect(), and @s is freed. */
int velo_wire_disconnect(struct velo_wire_stack *st, int s);
/* Whether other threads are asleep in calls on @s now. */
bool velo_wire_sleepers(struct velo_wire_stack *st, int s);
/*
 * Hands @s's connection to the application's kernel socket @fd (TCP_REPAIR,
 * see handoff.c) and frees @s; its waiters return -EBADF, and its ready fd
 * is left open in *@ready_fd for the caller to close. -errno, and @s
 * stays the engine's, when that cannot be done: no CAP_NET_ADMIN, a
 * connection in its handshake or reset, or (velo.ko) one a 3-tuple filter
 * steers.
 */
int velo_wire_to_kernel(struct velo_wire_stack *st, int s, int fd, int *ready_fd);
/*
 * Urgent data. The engine has none: on a socket the caller set
 * VTCP_REFUSE_URGENT on (engine.h), the peer's urgent data and what
 * follows it are refused and kept, and the socket reports VTCP_EV_URGENT;
 * its ready fd is readable then whatever its interest, its waiters wake,
 * and velo_wire_recv() returns -VELO_WIRE_URGENT where it would wait. The
 * caller moves the connection to the kernel's TCP, which has urgent data,
 * with velo_wire_to_kernel() (the kernel gets the kept segments as from
 * the peer), or, where that cannot be done, lets the engine take them
 * inline with velo_wire_urgent_inline(). VELO_WIRE_URGENT is no errno
 * value (Linux's stop at 4095).
 */
#define VELO_WIRE_URGENT 4096
int velo_wire_urgent_inline(struct velo_wire_stack *st, int s);
int velo_wire_getsockname(struct velo_wire_stack *st, int s, struct sockaddr *a,
			  socklen_t *len);
int velo_wire_getpeername(struct velo_wire_stack *st, int s, struct sockaddr *a,
			  socklen_t *len);
int velo_wire_setsockopt(struct velo_wire_stack *st, int s, enum vtcp_opt opt, int val);
int velo_wire_getsockopt(struct velo_wire_stack *st, int s, enum vtcp_opt opt, int *val);
/* SO_INCOMING_CPU: the CPU that last took the stack's frames in; -1: none yet. */
int velo_wire_incoming_cpu(struct velo_wire_stack *st);
/* TCP_CONGESTION, where the engine has it (vtcp_set_cc()); names as Linux's TCP_CA_NAME_MAX. */
#define VELO_WIRE_CC_NAME_MAX 16
int velo_wire_set_congestion(struct velo_wire_stack *st, int s, const char *name);
int velo_wire_set_linger(struct velo_wire_stack *st, int s, int onoff, int seconds);
int velo_wire_set_max_pacing_rate(struct velo_wire_stack *st, int s, uint64_t rate);
int velo_wire_get_info(struct velo_wire_stack *st, int s, struct vtcp_info *ti);
int velo_wire_get_queues(struct velo_wire_stack *st, int s, struct vtcp_queues *q);
/* SO_ERROR: positive errno or 0, cleared. */
int velo_wire_sock_error(struct velo_wire_stack *st, int s);

/* Readiness: the current VTCP_EV_* mask, and the eventfd described above. */
/* The @field'th number of /proc/sys/net/@name, or 0 (the engine's default). */
uint32_t velo_wire_sysctl(const char *name, int field);
unsigned int velo_wire_events(struct velo_wire_stack *st, int s);
int velo_wire_ready_fd(struct velo_wire_stack *st, int s);
/*
 * VTCP_EV_* the ready fd stands for; with VELO_WIRE_EDGE, each arrival of
 * data signals it again while it is ready (edge-triggered epoll: a new edge).
 */
#define VELO_WIRE_EDGE 0x100u
void velo_wire_set_interest(struct velo_wire_stack *st, int s, unsigned int events);
/*
 * Sleeps until velo_wire_events() intersects @events or @timeout_ms passes.
 * Returns the mask (0 on timeout) or -EINTR.
 */
int velo_wire_wait(struct velo_wire_stack *st, int s, unsigned int events, int timeout_ms);

struct velo_wire_stats {
	enum velo_wire_backend backend;	/* in use: VELO_WIRE_KO or VELO_WIRE_XDP */
	unsigned int queues;	      /* XSKs (one per RX queue); velo.ko: 1 */
	unsigned int filters;	      /* steering filters installed now */
	uint64_t filters_added;	      /* since creation */
	unsigned int reserved_ports;  /* kernel sockets holding ports now */
	unsigned int pool_ports;      /* shared local ports now */
	uint64_t pool_connects, fallback_connects;
	uint64_t rx_frames, tx_frames, tx_dropped;
	uint64_t wakeups;	      /* progress thread loops */
	uint64_t moved_to_kernel;     /* connections handed to the kernel */
	uint32_t ko_stack;	      /* velo.ko's stack id (/sys/kernel/velo/stacks/<id>) */
	/* the interface's XDP program, all queues and owners (AF_XDP only) */
	uint64_t xdp_redirected, xdp_passed, xdp_no_socket, xdp_foreign_queue;
};
void velo_wire_get_stats(struct velo_wire_stack *st, struct velo_wire_stats *s);

#endif /* VELO_WIRE_WIRE_H */
