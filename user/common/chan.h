/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loopback channel: one shared-memory file per accelerated TCP
 * connection, mapped by both ends (and by every process sharing either end's
 * socket through fork). All-zero is its initial state, so both ends create
 * or open it, ftruncate it to the same size and map it without any
 * initialisation race.
 *
 * Everything read from here may have been written by a faulty or hostile
 * peer: indexes are taken modulo the ring size and lengths are clamped, so a
 * bad peer can garble or stall its own connection but never make us read or
 * write outside the mapping.
 */
#ifndef VELO_COMMON_CHAN_H
#define VELO_COMMON_CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define VELO_CHAN_RING (2048u * 1024u) /* bytes per direction, power of 2 */

#define VELO_WATCHERS 2u /* epoll sets indexed per end; more are scanned */

struct velo_chan_end {
	_Atomic uint64_t cookie;   /* SO_COOKIE of this end's kernel socket */
	_Atomic uint32_t present;  /* 1 once this end has attached */
	_Atomic uint32_t closed;   /* 1 once this end's last reference closed */
	_Atomic int32_t refs;      /* processes holding this end */
	_Atomic uint32_t nonblock; /* O_NONBLOCK of this end's file */
	_Atomic uint32_t pid;      /* last attacher, for diagnostics */
	_Atomic uint32_t shut_wr;  /* this end did shutdown(SHUT_WR) */
	_Atomic uint32_t shut_rd;  /* this end did shutdown(SHUT_RD) */
	_Atomic uint32_t async;    /* O_ASYNC: every write rings (SIGIO) */
	_Atomic uint32_t rcvlowat; /* SO_RCVLOWAT of this end */
	_Atomic uint32_t ring_always; /* watched through a nested epoll: always ring */
	_Atomic uint32_t sndbuf;   /* SO_SNDBUF if the app set it (0: autotuned) */
	_Atomic uint32_t rcvbuf;   /* SO_RCVBUF if the app set it (0: autotuned) */
	_Atomic uint32_t aborted;  /* closed with SO_LINGER {1, 0}: data dropped, RST */
	_Atomic uint32_t fin_acked; /* a doorbell of this end acknowledged the peer's FIN */
	_Atomic int32_t peek_off;  /* SO_PEEK_OFF (negative: none); the kernel's stays -1 */
	/*
	 * Times this end's writers found its ring full (Linux's SOCK_NOSPACE):
	 * space freed after that is an EPOLLET EPOLLOUT edge, space freed
	 * otherwise is not.
	 */
	_Atomic uint32_t nospace;
	/*
	 * Set at this end's first doorbell: its kernel socket has TCP_NODELAY
	 * and no TCP_CORK from then on, and the app's values are these two.
	 */
	_Atomic uint32_t bells_fast;
	_Atomic int32_t app_nodelay, app_cork;
	/*
	 * Epoll sets of this end's process watching it, each (set id << 24 |
	 * VELO_WATCH_IN/OUT | slot), 0: free. Whoever changes what this end
	 * may report (the peer writing to its ring: IN, or freeing space in
	 * ours: OUT, or this end itself) marks the slot in the set's watch
	 * area (struct velo_watch) when the set wants that.
	 */
	_Atomic uint64_t watch[VELO_WATCHERS];
};

/* One direction; produced by end e into dir[e]. */
struct velo_chan_dir {
	/* producer's cache lines */
	_Atomic uint64_t tail;     /* bytes ever written to the ring */
	_Atomic uint64_t ksent;    /* bytes sent through the kernel */
	_Atomic uint64_t kbytes;   /* ksent when switched (valid once switched) */
	_Atomic uint32_t switched; /* producer writes the ring from now on */
	_Atomic uint32_t plock;
	_Atomic uint64_t bells;    /* doorbells ever rung (counted before the send) */
	_Atomic uint32_t fellback; /* back to the kernel for good (urgent data) */
	_Atomic uint32_t switching; /* a switch is being decided (see p1) */
	_Atomic uint64_t owed;     /* doorbells whose send failed: sent before any later data */
	/*
	 * A partial segment held (TCP_CORK, MSG_MORE): the bytes from
	 * hold_at - 1 on (0: none) are out of the consumer's sight until
	 * hold_until (CLOCK_MONOTONIC ns), as Linux's probe timer sends such
	 * a segment after 200 ms. bell_held: a doorbell waits in the kernel
	 * socket with them (MSG_MORE), to wake a sleeper then.
	 */
	_Atomic uint64_t hold_at, hold_until;
	_Atomic uint32_t bell_held;
	/*
	 * For TCP_INFO only, on a line of their own: the consumer reads the
	 * hold on every receive, and a write per send beside it would take
	 * the line from it each time.
	 */
	_Alignas(64) _Atomic uint64_t segs; /* ring writes: TCP_INFO's data segments */
	_Atomic uint64_t wrote_ms;  /* the last ring write, CLOCK_MONOTONIC_COARSE ms */
	_Atomic uint32_t max_write; /* the largest ring write: the peer's rcv_mss */
	/* consumer's cache line: none of the producer's writes share it */
	_Alignas(64) _Atomic uint64_t head; /* bytes ever consumed from the ring */
	_Atomic uint64_t kread;      /* kernel bytes consumed */
	_Atomic uint32_t armed;      /* consumers about to sleep: ring the doorbell */
	_Atomic uint32_t clock;
	_Atomic uint32_t space_wait; /* producers sleeping on head_seq */
	_Atomic uint32_t head_seq;   /* futex word, bumped when space frees */
	_Atomic uint32_t out_armed;  /* pollers waiting for ring space */
	_Atomic uint32_t p1;         /* consumers in an unbounded kernel read: no switch now */
	_Atomic uint32_t want_switch; /* a switch was put off: consumers, do not block in one */
	_Atomic uint32_t stay_kernel; /* the consumer fell back: producer, never switch */
	_Atomic uint32_t sleepers;   /* consumers in a blocking one-byte kernel read */
	_Atomic uint32_t stash;      /* 0x100 | a data byte such a read took early */
	_Atomic uint32_t pollers;    /* consumers sleeping in poll/select on the socket */
	char pad2[4];
};

struct velo_chan {
	struct velo_chan_end end[2];
	struct velo_chan_dir dir[2];
	/* each end's local address (sockaddr_in6 or _in), for garbage collection */
	uint8_t addr[2][32];
	uint8_t ring[2][VELO_CHAN_RING];
};

/*
 * An epoll set's watch area: one shared-memory file per set,
 * /dev/shm/velo-<uid>/ep-<id>, mapped by its process and by the peers of
 * the connections it watches. A peer that changes a watched end's
 * readiness sets the end's slot bit (and its summary bit), then, when the
 * bit was clear and threads of the set sleep, rings the end's doorbell. The
 * set's epoll_wait takes the bits (exchange) and looks at those members
 * only: its cost follows what changed, not what is registered.
 */
#define VELO_WATCH_SLOTS 65536u
#define VELO_WATCH_ID_MAX ((1ull << 40) - 1)
#define VELO_WATCH_IN (1u << 22)  /* the set wants to know of data in */
#define VELO_WATCH_OUT (1u << 23) /* of space out */

struct velo_watch {
	_Atomic uint64_t id;       /* the set's id, as in its file name */
	_Atomic uint32_t pid;      /* the set's creator (garbage collection) */
	_Atomic uint32_t sleepers; /* threads of the set that may sleep in the kernel */
	_Atomic uint64_t summary[VELO_WATCH_SLOTS / 4096]; /* bit w: bits[w] may be set */
	_Atomic uint64_t bits[VELO_WATCH_SLOTS / 64];
};

/*
 * Mark slot (peer's side). Returns true when the bit was clear and the set
 * has threads that may sleep: the caller rings the watched end's doorbell.
 * The caller's change to the channel must be ordered before this call
 * (the set takes the bits, then looks at the channel).
 */
bool velo_watch_mark(struct velo_watch *w, uint32_t slot);
/* Take the marked slots (the set's side): fn(slot, arg) for each. */
void velo_watch_take(struct velo_watch *w, void (*fn)(uint32_t slot, void *arg), void *arg);

/* The bytes an iovec array describes. */
static inline size_t velo_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Bytes in the ring, held or not, or -1 when the indexes are inconsistent. */
static inline int64_t velo_ring_used(struct velo_chan_dir *d)
{
	uint64_t t = atomic_load_explicit(&d->tail, memory_order_acquire);
	uint64_t h = atomic_load_explicit(&d->head, memory_order_acquire);

	if (t - h > VELO_CHAN_RING)
		return -1;
	return (int64_t)(t - h);
}

/* CLOCK_MONOTONIC, the same in every process of the host. */
static inline uint64_t velo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The tail the consumer sees: a held partial segment not due yet stays
 * behind it. h is the head the caller loaded; tail is loaded first, as the
 * producer stores the hold before the bytes it covers, so what tail shows
 * is never shown and then hidden.
 */
static inline uint64_t velo_ring_visible_tail(struct velo_chan_dir *d, uint64_t h)
{
	uint64_t t = atomic_load_explicit(&d->tail, memory_order_acquire);
	uint64_t hold = atomic_load_explicit(&d->hold_at, memory_order_acquire);

	if (hold && hold - 1 >= h && hold - 1 < t &&
	    velo_now_ns() < atomic_load_explicit(&d->hold_until, memory_order_acquire))
		t = hold - 1;
	return t;
}

/* Bytes the consumer may read, or -1 when the indexes are inconsistent. */
static inline int64_t velo_ring_readable(struct velo_chan_dir *d)
{
	uint64_t h = atomic_load_explicit(&d->head, memory_order_acquire);
	uint64_t t = velo_ring_visible_tail(d, h);

	if (t - h > VELO_CHAN_RING)
		return -1;
	return (int64_t)(t - h);
}

/*
 * Copy up to len bytes from the ring into iov (consumer side; the caller
 * holds the consumer lock). peek leaves them in the ring. Returns the number
 * copied or -1 when the peer corrupted the indexes.
 */
ssize_t velo_ring_read(struct velo_chan_dir *d, uint8_t *ring,
		       const struct iovec *iov, int iovcnt, size_t len, bool peek);
/* Copy up to len bytes from iov into the ring (producer side). */
ssize_t velo_ring_write(struct velo_chan_dir *d, uint8_t *ring,
			const struct iovec *iov, int iovcnt, size_t len);
/* Discard up to len bytes (recv with MSG_TRUNC and no buffer). */
ssize_t velo_ring_skip(struct velo_chan_dir *d, size_t len);

/*
 * Cross-process lock on a shared word: holds the owner's pid. A holder that
 * died is detected (kill(pid, 0) == ESRCH) and its lock taken over, so a
 * crashed process cannot wedge the survivors.
 */
void velo_shlock(_Atomic uint32_t *l);
void velo_shunlock(_Atomic uint32_t *l);

#endif /* VELO_COMMON_CHAN_H */
