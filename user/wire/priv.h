/* SPDX-License-Identifier: GPL-2.0 */
/* The wire stack's internals, shared by its files. */
#ifndef VELO_WIRE_PRIV_H
#define VELO_WIRE_PRIV_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ctrl/ctrl.h"
#include "engine/engine.h"
#include "ko/velo_ko.h"
#include "wire/wire.h"
#include "xdp/velo_xsk.h"

#define WIRE_MAX_QUEUES 64
#define WIRE_TX_BATCH 64	/* frames per tx_submit */
#define WIRE_RX_BATCH 64
#define WIRE_NEIGH_MAX 32	/* next hops watched for resolution */
#define WIRE_ADDR_MAX 32	/* local addresses mirrored into the engine */

/* A steering filter's handle, in the stack's backend. */
union wire_filter {
	struct velo_xsk_filter xsk;
	struct {
		uint64_t handle;
	} ko;
};

struct velo_wire_stack;

/*
 * A frame I/O backend (io_ko.c, io_xsk.c): called once per burst, never
 * per frame, except tx_frame, which is the engine's own output callback.
 * All with the stack's lock held.
 */
struct wire_io_ops {
	enum velo_wire_backend kind;
	const char *name;
	/* Opens the interface's queues (st->nq of them); nothing left open on failure. */
	int (*open)(struct velo_wire_stack *st);
	void (*close)(struct velo_wire_stack *st);
	/* Feeds up to WIRE_RX_BATCH of queue @q's frames to the engine; how many. */
	unsigned int (*rx)(struct velo_wire_stack *st, unsigned int q, uint64_t now);
	vtcp_tx_fn tx_frame;		/* ctx: the stack */
	void (*tx_flush)(struct velo_wire_stack *st);
	/* The fd to poll for queue @q, made ready for sleeping. */
	int (*sleep_fd)(struct velo_wire_stack *st, unsigned int q);
	/*
	 * Steers @flow to the stack. @kernel_too: a kernel socket of the
	 * application shares a listener's port (its connections stay the kernel's).
	 */
	int (*filter_add)(struct velo_wire_stack *st, const struct velo_xsk_flow *flow,
			  bool kernel_too, union wire_filter *h);
	int (*filter_remove)(struct velo_wire_stack *st, const union wire_filter *h);
	/* Fills the backend's part of the statistics. */
	void (*stats)(struct velo_wire_stack *st, struct velo_wire_stats *s);
};

extern const struct wire_io_ops wire_io_ko, wire_io_xsk;

/*
 * A steering filter the stack installed, and possibly the kernel socket that
 * reserves its local port. Live sockets count in @refs; a closed socket may
 * still be in FIN_WAIT/TIME_WAIT in the engine (its handle is gone, the
 * engine does not say when it ends), so the hold stays until @linger_until.
 */
struct wire_hold {
	struct wire_hold *next;
	struct velo_xsk_flow flow;	/* remote_port 0: a 3-tuple (listener, pool port) */
	union wire_filter filter;
	int resv;			/* the port's reservation (keeper.c), or -1 */
	unsigned int refs;
	uint64_t linger_until;		/* ns, monotonic */
	bool pool;			/* a shared local port */
};

/*
 * One thread blocked on a socket; @fd is that thread's eventfd. @st and @s
 * say where it is linked (@st NULL: nowhere).
 */
struct wire_waiter {
	struct wire_waiter *next;
	int fd;
	struct velo_wire_stack *st;
	int s;
};

/*
 * A frame from the peer that the engine refused for urgent data
 * (VTCP_REFUSE_URGENT), kept for the kernel's TCP (or for the engine, if
 * the connection cannot move after all).
 */
struct wire_frame {
	struct wire_frame *next;
	uint32_t len;
	uint8_t *data;			/* the Ethernet frame */
};

/* Options replayed on a renewed engine socket: enum vtcp_opt values below this. */
#define WIRE_OPTS 32

/*
 * A socket as the application sees it. Its engine socket can change: a
 * shared-port connect that finds the 4-tuple taken renews it (wire_sock_renew).
 */
struct wire_sock {
	bool used;
	uint32_t gen;			/* bumped when the handle is reused */
	int eng;			/* engine handle */
	int family;
	int ready_fd;			/* eventfd: readable iff events & interest */
	unsigned int interest;
	uint32_t edge_inq;		/* bytes readable at the last look (VELO_WIRE_EDGE) */
	unsigned int edge_ev;		/* events & interest at the last look */
	int edge_state;			/* the engine socket's state at the last look */
	bool ready_set;
	struct wire_waiter *waiters;
	bool bound;
	int resv;			/* bound, no filter yet: the port's reservation */
	struct wire_hold *hold;		/* its filter: own 5-tuple, listener's or pool port's */
	struct wire_hold *hold4;	/* a dual-stack listener's: its port over IPv4 */
	uint32_t opt_set;		/* options the application set, to replay */
	int opt_val[WIRE_OPTS];
	bool linger_set;
	int linger_on, linger_s;
	char cc[VELO_WIRE_CC_NAME_MAX];	/* TCP_CONGESTION the engine took, to replay; "": none */
	struct wire_frame *refused;	/* since urgent data came, oldest first */
	struct wire_frame *refused_last;
	uint32_t refused_bytes;
	bool urgent_told;		/* the ready fd was signalled for it */
};

struct wire_neigh {
	int family;
	uint8_t addr[16];
	uint8_t mac[6];
	bool known;			/* mac given to the engine */
	bool retry;			/* a packet for it: a failed one is asked again */
	bool failed;			/* its failure was reported to the engine */
};

struct velo_wire_stack {
	struct velo_wire_stack *next;	/* the process's list */
	pthread_mutex_t lock;
	int ifindex;
	pid_t owner;			/* per-thread stacks: its thread; 0: the process's */
	char ifname[IF_NAMESIZE];
	struct velo_wire_config cfg;
	struct vtcp_stack *eng;
	struct velo_ctrl *ctrl;
	uint64_t ctrl_gen;
	const struct wire_io_ops *io;
	unsigned int nq;
	union {				/* by io->kind */
		struct {
			struct velo_xsk *q[WIRE_MAX_QUEUES];
			struct velo_xsk_frame txq[WIRE_TX_BATCH];
		} xsk;
		struct {
			struct velo_ko *k;
			struct velo_ko_frame txq[WIRE_TX_BATCH];
			struct wire_ko_conns *conns;
		} ko;
	};
	unsigned int ntx;		/* frames in the txq */
	int kick_fd;			/* eventfd: wakes the progress thread */
	pthread_t thread;
	bool stop;
	uint64_t sleep_until;		/* the progress thread's current timeout, ns */
	uint64_t linger_ns;		/* how long a closed connection may live on */
	uint64_t sysctls_read_ns;	/* when the engine's sysctl copy was read */
	int rx_cpu;			/* the CPU that last took frames in; -1: none yet */
	struct wire_sock *socks;	/* by wire handle */
	int *wire_of;			/* engine handle -> wire handle, or -1 */
	struct wire_hold *holds;
	struct wire_hold **pool;	/* shared local ports (holds with pool set) */
	unsigned int npool;
	unsigned int pool_rr;		/* where the next connect starts looking */
	struct wire_neigh neigh[WIRE_NEIGH_MAX];
	unsigned int nneigh;
	bool neigh_new;			/* a next hop to ask the kernel about */
	struct sockaddr_storage addrs[WIRE_ADDR_MAX];
	unsigned int naddrs;
	struct velo_wire_stats stats;
};

uint64_t wire_now(void);

static inline bool wire_flow_eq(const struct velo_xsk_flow *a, const struct velo_xsk_flow *b)
{
	return a->family == b->family && a->local_port == b->local_port &&
	       a->remote_port == b->remote_port && !memcmp(a->local_addr, b->local_addr, 16) &&
	       !memcmp(a->remote_addr, b->remote_addr, 16);
}

/* stack.c: runs the datapath (rx, engine timers, tx, wakeups); lock held. */
void wire_progress(struct velo_wire_stack *st);

/* net.c: the control plane mirrored into the engine; lock held. */
int wire_route(void *ctx, const struct sockaddr *dst, struct vtcp_route *rt);
int wire_route_src(struct velo_wire_stack *st, const struct sockaddr *a,
		   struct sockaddr_storage *src);
void wire_net_sync(struct velo_wire_stack *st);
void wire_neigh_refresh(struct velo_wire_stack *st);

/* ports.c: reservations and filters; lock held. */
int wire_hold_get(struct velo_wire_stack *st, const struct velo_xsk_flow *flow, int resv,
		  struct wire_hold **out);
void wire_hold_put(struct velo_wire_stack *st, struct wire_hold *h, uint64_t linger_ns);
void wire_holds_expire(struct velo_wire_stack *st, bool all);
void wire_sysctls_refresh(struct velo_wire_stack *st);

/* keeper.c: port reservations (handles: -1 none); keeper lock only. */
int wire_port_reserve(const struct sockaddr *a, uint16_t *port);
void wire_port_release(int resv);
void wire_keeper_forget(void);
bool wire_hold_of_port(struct velo_wire_stack *st, const struct sockaddr *a);
/* Whether a listen filter of @st takes SYNs for @self (see velo_wire_listen_steered). */
bool wire_listen_held(struct velo_wire_stack *st, const struct sockaddr *self, bool dual);
void wire_holds_drop_port(struct velo_wire_stack *st, const struct sockaddr *local);

/* pool.c: shared local ports; -EINPROGRESS (connecting), 0 (not from the pool), -errno. */
int wire_pool_connect(struct velo_wire_stack *st, int s, const struct sockaddr *a,
		      socklen_t len);
void wire_pool_free(struct velo_wire_stack *st);

/* socket.c: readiness changed (engine event) or the socket is going. */
void wire_sock_changed(struct velo_wire_stack *st, int s);
int wire_sock_renew(struct velo_wire_stack *st, int s);

/*
 * handoff.c: kernel socket @fd (unconnected) becomes the exported
 * connection, and then gets the frames the engine @refused, as from the
 * peer. -errno: @fd is as it was (no CAP_NET_ADMIN, a tuple the kernel
 * has); 0: @fd has it (later failures are logged, not undone).
 */
int wire_repair_into(int fd, const struct vtcp_export *x, int ifindex,
		     const struct wire_frame *refused);
/* handoff.c: engine socket @eng refused @frame (vtcp_input): kept for the kernel. */
void wire_keep_refused(struct velo_wire_stack *st, int eng, const void *frame, size_t len);
void wire_refused_free(struct wire_sock *ws);

/* net.c: a sockaddr's address bytes (zero-padded to 16) and port */
void wire_sa_bytes(const struct sockaddr *a, uint8_t out[16], uint16_t *port);

#endif /* VELO_WIRE_PRIV_H */
