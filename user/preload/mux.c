// SPDX-License-Identifier: GPL-2.0
/*
 * poll, select and epoll over a mix of kernel and accelerated fds.
 *
 * A set without LOOP sockets goes straight to the kernel (epoll still
 * translates its data, see below). With LOOP sockets, readiness is the
 * kernel's for the kernel part of each socket (data sent before the switch,
 * FIN, RST, errors) merged with the rings' (no system call); doorbell-only
 * kernel readability is dropped. Waiting: spin VELO_SPIN_US on the rings,
 * then arm the channels (so peers ring the doorbell) and sleep in the real
 * poll/epoll_wait on the kernel fds; neither is ever restarted after a
 * signal, as in Linux.
 *
 * epoll wake-ups: a ring-ready member sleeping threads cannot see (an
 * EPOLL_CTL_MOD re-arm or an EPOLL_CTL_ADD while data waits in the ring, more
 * ready members than one waiter took) is signalled through the kernel: its
 * registration is switched to a one-shot "kick" mask that includes EPOLLOUT,
 * which the kernel socket has, so the kernel queues it and wakes exactly one
 * waiter (as Linux's ep_modify does for a ready file); that waiter restores
 * the mask and reports the ring. Sleepers are counted under ep->mu together
 * with their last look at the rings, so a change made under ep->mu either
 * is seen by that look or kicks.
 *
 * epoll stale-event guard (HAProxy's fd generations): the kernel is given
 * (generation << 32 | fd) as each registration's data; the app's data is
 * kept in velo's per-epoll table. An event whose generation is not the fd's
 * current one (closed, or closed and reopened) is dropped and counted.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "preload/velo.h"

extern void __chk_fail(void) __attribute__((noreturn));

#define IN_EVENTS (POLLIN | POLLRDNORM)

void velo_epoll_watched(int epfd);
/* loop.c: epoll watch areas (see struct velo_watch) */
struct velo_watch *velo_watch_create(void);
void velo_watch_remove(struct velo_watch *w);
void velo_epoll_socket_kick(struct vsock *vs);

/* ----------------------------------------------------------------- poll */

static int64_t ts_to_ns(const struct timespec *ts)
{
	if (!ts)
		return -1;
	return (int64_t)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts = { ns / 1000000000ll, ns % 1000000000ll };

	return ts;
}

/* A LOOP socket's part of a poll set; WIRE sockets wait on their eventfd. */
static bool poll_loop(struct vsock *vs)
{
	return vs && atomic_load(&vs->state) == VELO_SS_LOOP;
}

static bool poll_wire(struct vsock *vs)
{
	return vs && velo_vs_wired(vs);
}

static const short poller_events[VELO_POLLERS] = {
	POLLIN | POLLRDNORM, POLLOUT | POLLWRNORM, POLLRDHUP
};

/* A poll() starts (@delta 1) or ends (-1) waiting on @vs for @events. */
static void pollers_add(struct vsock *vs, short events, int delta)
{
	int i;

	pthread_mutex_lock(&vs->mu);
	for (i = 0; i < VELO_POLLERS; i++)
		if ((events & poller_events[i]) && (delta > 0 || vs->pollers[i]))
			vs->pollers[i] += delta;
	pthread_mutex_unlock(&vs->mu);
}

/* The ready eventfd of WIRE member @vs, whose interest this poll's @events join. */
static int poll_wire_enter(struct vsock *vs, short events)
{
	pollers_add(vs, events, 1);
	return velo_epoll_wire_wait_fd(vs, 0);
}

static void poll_wire_leave(struct vsock *vs, short events)
{
	pollers_add(vs, events, -1);
	velo_epoll_wire_wait_fd(vs, 0);
}

/* Member i, a WIRE socket until now, is the kernel socket it is from now on. */
static void poll_member_kernel(struct pollfd *fds, struct pollfd *kfds, struct vsock **vss,
			       nfds_t i)
{
	pollers_add(vss[i], fds[i].events, -1);
	velo_vs_put(vss[i]);
	vss[i] = NULL;
	kfds[i] = fds[i];
}

/*
 * Fill fds[].revents from kfds (kernel view), the rings and the engine.
 * *again: a WIRE member's connection left the engine (urgent data came for
 * it and it moved here, or another thread moved it), and this look did not
 * see the kernel socket it is now: look again.
 */
static int poll_merge(struct pollfd *fds, struct pollfd *kfds, struct vsock **vss, nfds_t n,
		      bool *again)
{
	int ready = 0;
	nfds_t i;

	for (i = 0; i < n; i++) {
		uint32_t ev = kfds[i].revents;

		if (vss[i] && kfds[i].fd != fds[i].fd && !poll_wire(vss[i])) {
			poll_member_kernel(fds, kfds, vss, i); /* moved meanwhile */
			*again = true;
			continue;
		}
		if (poll_wire(vss[i])) {
			ev = velo_wire_vs_events(vss[i]);
			if (ev & POLLPRI) { /* urgent data: the kernel's, see velo_wire_vs_urgent */
				if (velo_wire_vs_urgent(vss[i], fds[i].fd))
					poll_member_kernel(fds, kfds, vss, i);
				*again = true;
				continue;
			}
			ev &= fds[i].events | POLLERR | POLLHUP;
		} else if (vss[i] && (ev & POLLNVAL)) {
			ev = POLLNVAL; /* closed meanwhile: its ring is not the fd's any more */
		} else if (vss[i]) {
			ev = velo_loop_kernel_events(vss[i], fds[i].fd, ev) &
			     (fds[i].events | POLLERR | POLLHUP | POLLNVAL);
		}
		fds[i].revents = ev;
		if (ev)
			ready++;
	}
	return ready;
}

/*
 * A LOOP socket's POLLOUT comes from its ring once its send side switched
 * (and is not shut down): the kernel socket is writable all along, so asking
 * the kernel for POLLOUT would end every sleep at once (a writer waiting on
 * a full ring spun at 100% CPU). Its peer rings the doorbell when it frees
 * space (out_armed), which wakes the kernel wait through POLLIN.
 */
static bool ring_decides_out(struct vsock *vs)
{
	return atomic_load_explicit(&vs_out(vs)->switched, memory_order_acquire) &&
	       !atomic_load(&vs->ch->end[vs->end].shut_wr);
}

/*
 * What to ask the kernel for each member of a poll set, for this look.
 * Returns whether some member's POLLOUT was left to its ring.
 */
static bool poll_kernel_masks(struct pollfd *fds, struct pollfd *kfds, struct vsock **vss,
			      nfds_t n)
{
	bool ring_out = false;
	nfds_t i;

	for (i = 0; i < n; i++) {
		if (!poll_loop(vss[i]))
			continue;
		kfds[i].events = fds[i].events | POLLIN | POLLRDHUP;
		if ((fds[i].events & (POLLOUT | POLLWRNORM)) && ring_decides_out(vss[i])) {
			kfds[i].events &= ~(POLLOUT | POLLWRNORM);
			ring_out = true;
		}
	}
	return ring_out;
}

/*
 * A sleep that left POLLOUT to rings is cut at this bound: changes made on
 * our own side of a socket (shutdown(SHUT_WR) or an urgent send by another
 * thread, a larger SO_SNDBUF) make the kernel socket report POLLOUT again,
 * which it was not asked for, and no peer rings for them. As the blocking
 * send's futex wait, the sleeper looks again at this pace.
 */
#define POLL_RING_OUT_RECHECK_NS (20 * 1000000ll)

static bool rings_ready(struct pollfd *fds, struct vsock **vss, nfds_t n)
{
	nfds_t i;

	for (i = 0; i < n; i++)
		if (poll_wire(vss[i]) ? velo_wire_vs_events(vss[i]) & fds[i].events :
		    vss[i] && (velo_loop_ring_events(vss[i]) & fds[i].events))
			return true;
	return false;
}

/*
 * The poller counts and arms a poll holds on its loopback members while it
 * may sleep: a signal handler that siglongjmps out of the sleep leaves them
 * held (so producers would go on ringing for a poller that is gone); the
 * thread's next poll or select gives them back (a thread polls in one call
 * at a time). The sockets stay alive: the abandoned call's references leak.
 */
struct poll_hold {
	struct vsock *vs;
	bool out;
};

static __thread struct poll_hold *held;
static __thread size_t held_n, held_cap;

/*
 * Count ourselves a poller of each loopback member, then arm its doorbells.
 * false: no memory for the record (ENOMEM, as the kernel's poll may say).
 */
static bool poll_hold(struct pollfd *fds, struct vsock **vss, nfds_t n)
{
	size_t k = 0;
	nfds_t i;

	for (i = 0; i < n; i++)
		k += poll_loop(vss[i]);
	if (k > held_cap) {
		struct poll_hold *nh = realloc(held, k * sizeof(*nh));

		if (!nh)
			return false;
		held = nh;
		held_cap = k;
	}
	velo_thread_sleeps();
	for (i = 0, k = 0; i < n; i++)
		if (poll_loop(vss[i]))
			held[k++] = (struct poll_hold){ vss[i], fds[i].events & POLLOUT };
	for (i = 0; i < k; i++) {
		/* counted before we look: see sleep_read */
		atomic_fetch_add(&vs_in(held[i].vs)->pollers, 1);
		velo_loop_arm(held[i].vs, held[i].out);
	}
	held_n = k;
	return true;
}

static void poll_unhold(void)
{
	size_t i, n = held_n;

	held_n = 0;
	for (i = 0; i < n; i++) {
		velo_loop_disarm(held[i].vs, held[i].out);
		atomic_fetch_sub(&vs_in(held[i].vs)->pollers, 1);
	}
}

static int mux_poll(struct pollfd *fds, nfds_t n, int64_t tmo_ns, const sigset_t *mask)
{
	struct vsock *stackv[64], **vss = stackv;
	struct pollfd stackk[64], *kfds = stackk;
	uint64_t start = velo_now_ns(), spin_ns = velo_spin_budget(), spin_from = 0;
	bool any = false;
	nfds_t i;
	int r = 0;

	if (held_n)
		poll_unhold(); /* left by a siglongjmp out of our last poll */
	if (!velo_accel_count() || !fds || velo_bad_wrange(fds, n * sizeof(*fds)))
		goto kernel;
	for (i = 0; i < n; i++)
		if (fds[i].fd >= 0 && velo_fd_epoll(fds[i].fd))
			velo_epoll_watched(fds[i].fd);
	for (i = 0; i < n; i++) {
		struct vsock *vs = fds[i].fd >= 0 ? velo_fd_get(fds[i].fd) : NULL;

		if (vs) {
			if (atomic_load(&vs->state) == VELO_SS_PENDING)
				velo_loop_try_attach(vs, fds[i].fd);
			any |= poll_loop(vs) || poll_wire(vs);
			velo_vs_put(vs);
		}
	}
	if (!any)
		goto kernel;
	if (n > 64) {
		vss = calloc(n, sizeof(*vss));
		kfds = calloc(n, sizeof(*kfds));
		if (!vss || !kfds) {
			free(vss == stackv ? NULL : vss);
			free(kfds == stackk ? NULL : kfds);
			errno = ENOMEM;
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		struct vsock *vs = fds[i].fd >= 0 ? velo_fd_get(fds[i].fd) : NULL;

		if (vs && !poll_wire(vs) && (!poll_loop(vs) || !vs->ch)) {
			velo_vs_put(vs);
			vs = NULL;
		}
		vss[i] = vs;
		kfds[i] = fds[i];
		if (poll_wire(vs)) {
			kfds[i].fd = poll_wire_enter(vs, fds[i].events);
			kfds[i].events = POLLIN;
		}
	}
	for (bool armed = false;;) {
		struct timespec zero = { 0, 0 }, left;
		int64_t rem = -1;
		bool ring_out = poll_kernel_masks(fds, kfds, vss, n), again = false;

		for (i = 0; i < n; i++)
			kfds[i].revents = 0;
		r = REAL(ppoll)(kfds, n, &zero, NULL);
		if (r < 0)
			break;
		r = poll_merge(fds, kfds, vss, n, &again);
		if (again)
			continue;
		if (r || tmo_ns == 0)
			break;
		if (tmo_ns > 0) {
			uint64_t el = velo_now_ns() - start;

			if (el >= (uint64_t)tmo_ns)
				break;
			rem = tmo_ns - el;
		}
		if (!armed && spin_ns) {
			unsigned int it = 0;

			/* one budget per sleep: the kernel looks in between do not renew it */
			if (!spin_from)
				spin_from = velo_now_ns();
			while (!rings_ready(fds, vss, n) && velo_now_ns() - spin_from < spin_ns &&
			       (rem < 0 || velo_now_ns() - start < (uint64_t)tmo_ns) && ++it % 64)
				__builtin_ia32_pause();
			if (rings_ready(fds, vss, n)) {
				velo_spin_result(true);
				spin_from = 0;
				continue;
			}
			if (it % 64 == 0 && it)
				continue; /* look at the kernel fds again */
			if (velo_now_ns() - spin_from < spin_ns)
				continue;
			velo_spin_result(false);
		}
		spin_from = 0;
		if (!poll_hold(fds, vss, n)) {
			errno = ENOMEM;
			r = -1;
			break;
		}
		armed = true;
		if (rings_ready(fds, vss, n)) {
			r = 0;
		} else {
			if (ring_out && (rem < 0 || rem > POLL_RING_OUT_RECHECK_NS))
				rem = POLL_RING_OUT_RECHECK_NS; /* the loop looks at the clock */
			left = ns_to_ts(rem);
			for (i = 0; i < n; i++)
				kfds[i].revents = 0;
			r = REAL(ppoll)(kfds, n, rem < 0 ? NULL : &left, mask);
		}
		poll_unhold();
		if (r < 0)
			break;
		velo_stat_add(VELO_STAT_SLEEPS, 1);
		armed = false;
	}
	for (i = 0; i < n; i++) {
		if (poll_wire(vss[i]))
			poll_wire_leave(vss[i], fds[i].events);
		velo_vs_put(vss[i]);
	}
	if (vss != stackv)
		free(vss);
	if (kfds != stackk)
		free(kfds);
	return r;
kernel:
	if (tmo_ns < 0)
		return REAL(ppoll)(fds, n, NULL, mask);
	{
		struct timespec ts = ns_to_ts(tmo_ns);

		return REAL(ppoll)(fds, n, &ts, mask);
	}
}

VELO_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!velo_accel_count())
		return REAL(poll)(fds, n, timeout);
	return mux_poll(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

VELO_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

/* A signal mask the kernel cannot read (its sigset: _NSIG bits): it says EFAULT first. */
static bool mask_unfit(const sigset_t *mask)
{
	return mask && velo_bad_range(mask, _NSIG / 8);
}

VELO_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!velo_accel_count() || mask_unfit(mask) ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)))
		return REAL(ppoll)(fds, n, ts, mask);
	return mux_poll(fds, n, ts_to_ns(ts), mask);
}

VELO_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			    const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return ppoll(fds, n, ts, mask);
}

/* --------------------------------------------------------------- select */

static bool set_has_loop(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	int fd;

	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	for (fd = 0; fd < nfds; fd++) {
		struct vsock *vs;
		bool loop;

		if (!((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))))
			continue;
		vs = velo_fd_get(fd);
		if (!vs)
			continue;
		loop = poll_loop(vs) || poll_wire(vs);
		velo_vs_put(vs);
		if (loop)
			return true;
	}
	return false;
}

static int mux_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t tmo_ns,
		      const sigset_t *mask, int64_t *left_ns)
{
	struct pollfd pf[FD_SETSIZE];
	uint32_t gen[FD_SETSIZE];
	int fd, n = 0, i, ret, count = 0;
	uint64_t start = velo_now_ns();

	for (fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (r && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (e && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev) {
			pf[n].fd = fd;
			pf[n].events = ev;
			pf[n].revents = 0;
			gen[n] = velo_fd_gen(fd);
			n++;
		}
	}
	ret = mux_poll(pf, n, tmo_ns, mask);
	if (left_ns && tmo_ns >= 0) {
		int64_t el = velo_now_ns() - start;

		*left_ns = el >= tmo_ns ? 0 : tmo_ns - el;
	}
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		if (!(pf[i].revents & POLLNVAL))
			continue;
		if (velo_fd_gen(pf[i].fd) == gen[i]) {
			errno = EBADF; /* not open when the call began */
			return -1;
		}
		/* closed by another thread meanwhile: do_select() takes it as ready */
		pf[i].revents = POLLIN | POLLOUT;
	}
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (e)
		FD_ZERO(e);
	for (i = 0; i < n; i++) {
		short re = pf[i].revents;

		if ((pf[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(pf[i].fd, r);
			count++;
		}
		if ((pf[i].events & POLLOUT) && (re & (POLLOUT | POLLERR))) {
			FD_SET(pf[i].fd, w);
			count++;
		}
		if ((pf[i].events & POLLPRI) && (re & POLLPRI)) {
			FD_SET(pf[i].fd, e);
			count++;
		}
	}
	return count;
}

/* Sets mux_select() cannot read and clear whole: the kernel answers (EFAULT) */
static bool sets_unfit(fd_set *r, fd_set *w, fd_set *e)
{
	return velo_bad_wrange(r, r ? sizeof(*r) : 0) || velo_bad_wrange(w, w ? sizeof(*w) : 0) ||
	       velo_bad_wrange(e, e ? sizeof(*e) : 0);
}

VELO_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	int64_t tmo, left = 0;
	int ret;

	if (!velo_accel_count() || nfds < 0 ||
	    nfds > FD_SETSIZE || velo_bad_range(tv, tv ? sizeof(*tv) : 0) ||
	    (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) || sets_unfit(r, w, e) ||
	    !set_has_loop(nfds, r, w, e))
		return REAL(select)(nfds, r, w, e, tv);
	tmo = tv ? (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000 : -1;
	ret = mux_select(nfds, r, w, e, tmo, NULL, &left);
	if (tv) {
		tv->tv_sec = left / 1000000000ll;
		tv->tv_usec = (left % 1000000000ll) / 1000;
	}
	return ret;
}

VELO_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
			const sigset_t *mask)
{
	if (!velo_accel_count() || nfds < 0 || mask_unfit(mask) ||
	    nfds > FD_SETSIZE || velo_bad_range(ts, ts ? sizeof(*ts) : 0) ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) ||
	    sets_unfit(r, w, e) || !set_has_loop(nfds, r, w, e))
		return REAL(pselect)(nfds, r, w, e, ts, mask);
	return mux_select(nfds, r, w, e, ts_to_ns(ts), mask, NULL);
}

/* ---------------------------------------------------------------- epoll */

/*
 * What EPOLLET and EPOLLONESHOT consumed of a registration. It lives in the
 * set's memory shared across fork (struct ep_shared) while the registration
 * is the fd's current one, so that an edge or a one-shot event one process
 * took is gone for every process sharing the set, as with Linux's single
 * registration; exchanges make the taking exactly-once.
 */
struct ep_edge {
	/*
	 * EPOLLET: the in ring's tail last reported (data arriving is an
	 * edge) and the out ring's full count last reported (space freed
	 * after the writer found the ring full is one, as on Linux).
	 */
	_Atomic uint64_t tail, nospace;
	_Atomic uint32_t disabled;   /* EPOLLONESHOT fired */
};

struct ep_reg {
	int fd;
	uint32_t gen;
	uint32_t events;     /* the app's */
	epoll_data_t data;   /* the app's */
	struct vepoll *ep;
	struct vsock *vs;    /* referenced while registered, TCP sockets only */
	bool loop;           /* readiness computed by velo */
	bool wire;           /* a WIRE socket: the kernel watches its ready eventfd */
	int kfd;             /* the fd registered in the kernel epoll */
	struct ep_edge *edge; /* in the set's shared memory, or own */
	struct ep_edge own;
	bool stale;          /* its fd number was closed, the file lives on */
	int alt_fd;          /* stale: a number that named the file when last looked */
	bool kicked;         /* kernel mask is the one-shot kick mask */
	bool unregistered;   /* a fired one-shot moved to kfd: the kernel has it at re-arm */
	bool parked;         /* kernel registration edge-triggered, see park_ok */
	int loop_idx;
	/* LOOP members: marked in the watch area (indexed), or scanned */
	bool indexed, scanned, on_ready;
	uint32_t slot;       /* indexed: its slot in the watch area */
	unsigned int watch_k; /* indexed: its word in the channel end's watch[] */
	uint64_t watch_word; /* indexed: the word's value */
	size_t scan_idx;     /* scanned: its index in ep->scan */
	struct ep_reg *ready_prev, *ready_next;
	uint64_t round;
	int out_idx;
	struct ep_reg *vs_next;
	struct ep_reg *stale_next;
};

#define EP_STALE_MAX 256

struct vepoll {
	pthread_mutex_t mu;
	/*
	 * The fd's reference and those of calls in progress: a set closed
	 * while another thread waits in it lives until that wait ends, as the
	 * kernel's file does (its number may name something else by then).
	 */
	_Atomic unsigned int refs;
	_Atomic bool closed;
	int epfd;
	struct ep_reg **regs; /* by fd */
	size_t cap;
	struct ep_reg **loops; /* every LOOP member */
	size_t nloops, loops_cap;
	/*
	 * LOOP members are looked at when marked: their peers (or the socket's
	 * own side) mark them in the watch area on every change, epoll_wait
	 * takes the marks into the ready list and looks at that list only;
	 * level-triggered members stay on it while ready, as Linux re-queues
	 * them. Members that cannot be marked (a cross-user channel, a
	 * channel end watched by too many sets, a copy of a set inherited
	 * through fork: its creator takes the marks) are scanned.
	 */
	struct velo_watch *watch;
	bool watch_failed;
	pid_t owner;          /* the process that made this set */
	struct ep_reg **slots; /* by slot */
	uint32_t slots_cap, slots_used;
	uint32_t *free_slots;
	uint32_t nfree, free_cap;
	struct ep_reg *ready_head, *ready_tail;
	size_t nready;
	struct ep_reg **scan;
	size_t nscan, scan_cap;
	size_t scan_start;    /* ring scans start here: no member starves */
	unsigned int sleepers; /* threads in the kernel epoll_pwait, under mu */
	uint64_t round;
	/*
	 * Registrations of an fd number that was closed (the file living on in
	 * a dup) and registered again: the kernel still reports the old one,
	 * with its own data, exactly as Linux does; never as the new one.
	 */
	struct ep_reg *stale;
	unsigned int nstale;
	/* watched by another epoll or poll: its kernel fd must show ring data */
	bool nested;
	/*
	 * The registrations' data as seen by every process sharing this epoll
	 * after fork (MAP_SHARED, inherited): a process that did not make a
	 * registration itself finds its data here.
	 */
	struct ep_shared *shared;
};

struct ep_shared {
	_Atomic uint32_t pid; /* 0: free */
	_Atomic uint32_t gen;
	_Atomic uint64_t data;
	struct ep_edge edge;
};

#define EP_SHARED_FDS 65536u

static struct vepoll *ep_new(int epfd)
{
	struct vepoll *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	pthread_mutex_init(&ep->mu, NULL);
	atomic_init(&ep->refs, 1);
	ep->epfd = epfd;
	ep->owner = getpid();
	ep->shared = mmap(NULL, EP_SHARED_FDS * sizeof(struct ep_shared), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ep->shared == MAP_FAILED)
		ep->shared = NULL;
	return ep;
}

static void shared_set(struct vepoll *ep, int fd, uint32_t gen, uint64_t data)
{
	struct ep_shared *e;

	if (!ep->shared || fd < 0 || (unsigned int)fd >= EP_SHARED_FDS)
		return;
	e = &ep->shared[fd];
	atomic_store(&e->pid, 0);
	atomic_store(&e->gen, gen);
	atomic_store(&e->data, data);
	atomic_store(&e->pid, (uint32_t)getpid());
}

/* A DEL of the registration, in whichever process sharing the set made it. */
static void shared_clear(struct vepoll *ep, int fd)
{
	if (ep->shared && fd >= 0 && (unsigned int)fd < EP_SHARED_FDS &&
	    atomic_load(&ep->shared[fd].gen) == velo_fd_gen(fd))
		atomic_store(&ep->shared[fd].pid, 0);
}

/*
 * Did another process sharing the set (fork) DEL this registration? The
 * kernel's is gone then, and so is ours.
 */
static bool shared_deleted(const struct ep_reg *reg)
{
	const struct vepoll *ep = reg->ep;

	return ep->shared && reg->fd >= 0 && (unsigned int)reg->fd < EP_SHARED_FDS &&
	       atomic_load(&ep->shared[reg->fd].gen) == reg->gen &&
	       !atomic_load(&ep->shared[reg->fd].pid);
}

/* Data of a registration another process (sharing this epoll) made. */
static bool shared_get(struct vepoll *ep, int fd, uint32_t gen, uint64_t *data)
{
	struct ep_shared *e;
	uint32_t pid;

	if (!ep->shared || fd < 0 || (unsigned int)fd >= EP_SHARED_FDS)
		return false;
	e = &ep->shared[fd];
	pid = atomic_load(&e->pid);
	if (!pid || pid == (uint32_t)getpid() || atomic_load(&e->gen) != gen)
		return false;
	*data = atomic_load(&e->data);
	return true;
}

static void edge_reset(struct ep_edge *e)
{
	atomic_store(&e->tail, UINT64_MAX);
	atomic_store(&e->nospace, UINT64_MAX);
	atomic_store(&e->disabled, 0);
}

/* The registration becomes its fd's current one: its edge state is shared. */
static void reg_edge_attach(struct vepoll *ep, struct ep_reg *reg)
{
	reg->edge = &reg->own;
	if (ep->shared && (unsigned int)reg->fd < EP_SHARED_FDS)
		reg->edge = &ep->shared[reg->fd].edge;
	edge_reset(reg->edge);
}

/* It leaves its fd number (closed, or replaced): it keeps what it took. */
static void reg_edge_detach(struct ep_reg *reg)
{
	if (reg->edge == &reg->own)
		return;
	atomic_store(&reg->own.tail, atomic_load(&reg->edge->tail));
	atomic_store(&reg->own.nospace, atomic_load(&reg->edge->nospace));
	atomic_store(&reg->own.disabled, atomic_load(&reg->edge->disabled));
	reg->edge = &reg->own;
}

/*
 * Takes a one-shot registration's event: false when another thread or
 * process sharing the set took it first.
 */
static bool edge_take_oneshot(struct ep_reg *reg)
{
	return !(reg->events & EPOLLONESHOT) || !atomic_exchange(&reg->edge->disabled, 1);
}

/* @epfd's set with a reference (velo_epoll_put), made on demand if @create. */
static struct vepoll *ep_get(int epfd, bool create)
{
	struct vepoll *ep = velo_fd_epoll_get(epfd);

	if (!ep && create) {
		ep = ep_new(epfd);
		if (ep) {
			velo_epoll_hold(ep);
			velo_fd_set_epoll(epfd, ep);
		}
	}
	return ep;
}

/* ---- the ready list (indexed members; caller holds ep->mu) ---- */

static void ready_push(struct vepoll *ep, struct ep_reg *reg)
{
	if (!reg->indexed || reg->on_ready)
		return;
	reg->on_ready = true;
	reg->ready_next = NULL;
	reg->ready_prev = ep->ready_tail;
	if (ep->ready_tail)
		ep->ready_tail->ready_next = reg;
	else
		ep->ready_head = reg;
	ep->ready_tail = reg;
	ep->nready++;
}

static void ready_del(struct vepoll *ep, struct ep_reg *reg)
{
	if (!reg->on_ready)
		return;
	if (reg->ready_prev)
		reg->ready_prev->ready_next = reg->ready_next;
	else
		ep->ready_head = reg->ready_next;
	if (reg->ready_next)
		reg->ready_next->ready_prev = reg->ready_prev;
	else
		ep->ready_tail = reg->ready_prev;
	reg->on_ready = false;
	ep->nready--;
}

static void harvest_one(uint32_t slot, void *arg)
{
	struct vepoll *ep = arg;

	if (slot < ep->slots_used && ep->slots[slot])
		ready_push(ep, ep->slots[slot]);
}

/* Marked members join the ready list. */
static void ep_harvest(struct vepoll *ep)
{
	if (ep->watch)
		velo_watch_take(ep->watch, harvest_one, ep);
}

/* ---- slots in the watch area (caller holds ep->mu) ---- */

static bool slot_alloc(struct vepoll *ep, uint32_t *slot)
{
	if (ep->nfree) {
		*slot = ep->free_slots[--ep->nfree];
		return true;
	}
	if (ep->slots_used == VELO_WATCH_SLOTS)
		return false;
	if (ep->slots_used == ep->slots_cap) {
		uint32_t nc = ep->slots_cap ? ep->slots_cap * 2 : 64;
		struct ep_reg **n = realloc(ep->slots, nc * sizeof(*n));

		if (!n)
			return false;
		ep->slots = n;
		ep->slots_cap = nc;
	}
	*slot = ep->slots_used++;
	return true;
}

static void slot_free(struct vepoll *ep, uint32_t slot)
{
	if (ep->nfree == ep->free_cap) {
		uint32_t nc = ep->free_cap ? ep->free_cap * 2 : 64;
		uint32_t *n = realloc(ep->free_slots, nc * sizeof(*n));

		if (!n)
			return; /* the slot is lost, not reused */
		ep->free_slots = n;
		ep->free_cap = nc;
	}
	ep->free_slots[ep->nfree++] = slot;
}

static bool cross_user_channel(struct vsock *vs)
{
	return !strncmp(vs->path, "/dev/shm/velo-shared", 20);
}

/* The channel end's watch[] word naming reg's slot and what it waits for. */
static uint64_t reg_watch_word(struct vepoll *ep, struct ep_reg *reg, uint32_t slot)
{
	uint64_t v = atomic_load(&ep->watch->id) << 24 | slot;

	if (reg->events & (EPOLLIN | EPOLLRDNORM))
		v |= VELO_WATCH_IN;
	if (reg->events & (EPOLLOUT | EPOLLWRNORM))
		v |= VELO_WATCH_OUT;
	return v;
}

/* EPOLL_CTL_MOD changed what reg waits for: so do its marks. */
static void reg_watch_update(struct vepoll *ep, struct ep_reg *reg)
{
	uint64_t v;

	if (!reg->indexed || !reg->vs || !reg->vs->ch)
		return;
	v = reg_watch_word(ep, reg, reg->slot);
	if (v != reg->watch_word &&
	    atomic_compare_exchange_strong(&reg->vs->ch->end[reg->vs->end].watch[reg->watch_k],
					   &reg->watch_word, v))
		reg->watch_word = v;
}

/*
 * Make reg's changes marked in this set's watch area: a slot here and a
 * word of its channel end's watch[] naming it. false: it is scanned.
 */
static bool reg_index(struct vepoll *ep, struct ep_reg *reg)
{
	struct velo_chan_end *e;
	uint32_t slot;
	unsigned int k;
	uint64_t v;

	if (!reg->vs || !reg->vs->ch || cross_user_channel(reg->vs))
		return false;
	if (!ep->watch && !ep->watch_failed) {
		ep->watch = velo_watch_create();
		ep->watch_failed = !ep->watch;
	}
	if (!ep->watch || !slot_alloc(ep, &slot))
		return false;
	e = &reg->vs->ch->end[reg->vs->end];
	v = reg_watch_word(ep, reg, slot);
	for (k = 0; k < VELO_WATCHERS; k++) {
		uint64_t free = 0;

		if (atomic_compare_exchange_strong(&e->watch[k], &free, v)) {
			reg->indexed = true;
			reg->slot = slot;
			reg->watch_k = k;
			reg->watch_word = v;
			ep->slots[slot] = reg;
			/* changes before the word was there were not marked: look once */
			ready_push(ep, reg);
			return true;
		}
	}
	slot_free(ep, slot);
	return false;
}

static void reg_unindex(struct vepoll *ep, struct ep_reg *reg)
{
	uint64_t v;

	if (!reg->indexed)
		return;
	v = reg->watch_word;
	if (reg->vs && reg->vs->ch)
		atomic_compare_exchange_strong(&reg->vs->ch->end[reg->vs->end].watch[reg->watch_k],
					       &v, 0);
	ready_del(ep, reg);
	ep->slots[reg->slot] = NULL;
	slot_free(ep, reg->slot);
	reg->indexed = false;
}

static void scan_add(struct vepoll *ep, struct ep_reg *reg)
{
	if (reg->scanned)
		return;
	if (ep->nscan == ep->scan_cap) {
		size_t nc = ep->scan_cap ? ep->scan_cap * 2 : 16;
		struct ep_reg **n = realloc(ep->scan, nc * sizeof(*n));

		if (!n)
			return;
		ep->scan = n;
		ep->scan_cap = nc;
	}
	reg->scanned = true;
	reg->scan_idx = ep->nscan;
	ep->scan[ep->nscan++] = reg;
}

static void scan_del(struct vepoll *ep, struct ep_reg *reg)
{
	size_t i = reg->scan_idx;

	if (!reg->scanned)
		return;
	ep->scan[i] = ep->scan[--ep->nscan];
	ep->scan[i]->scan_idx = i;
	reg->scanned = false;
}

static void loops_add(struct vepoll *ep, struct ep_reg *reg)
{
	if (reg->loop_idx >= 0)
		return;
	if (ep->nloops == ep->loops_cap) {
		size_t nc = ep->loops_cap ? ep->loops_cap * 2 : 16;
		struct ep_reg **nl = realloc(ep->loops, nc * sizeof(*nl));

		if (!nl)
			return;
		ep->loops = nl;
		ep->loops_cap = nc;
	}
	reg->loop_idx = ep->nloops;
	ep->loops[ep->nloops++] = reg;
	if (ep->nested && reg->vs)
		velo_loop_set_ring_always(reg->vs);
	if (!reg_index(ep, reg))
		scan_add(ep, reg);
}

static uint32_t kernel_mask(const struct ep_reg *reg);
static int reg_kernel_mod(struct vepoll *ep, struct ep_reg *reg, uint32_t events);

static void nested_show_ready(struct vepoll *ep);

static void ep_set_nested(struct vepoll *ep)
{
	size_t i;

	if (ep->nested)
		return;
	pthread_mutex_lock(&ep->mu);
	ep->nested = true;
	for (i = 0; i < ep->nloops; i++) {
		struct ep_reg *reg = ep->loops[i];

		if (reg->vs)
			velo_loop_set_ring_always(reg->vs);
		if (reg->parked && !reg->stale) {
			/* seen through the kernel from now on: level-triggered */
			reg->parked = false;
			if (!reg->kicked)
				reg_kernel_mod(ep, reg, kernel_mask(reg));
		}
	}
	nested_show_ready(ep);
	pthread_mutex_unlock(&ep->mu);
}

/*
 * The set's members are scanned from now on, without its watch area. In a
 * copy of a set inherited through fork, the area's marks are its creator's
 * to take, and the channel ends' words stay: they name the creator's set.
 * In the creator about to exec, the area and the words go (if exec fails,
 * the set goes on scanning).
 */
static void ep_forget_watch(struct vepoll *ep)
{
	bool creator = ep->owner == getpid();
	size_t i;

	pthread_mutex_lock(&ep->mu);
	for (i = 0; i < ep->nloops; i++) {
		struct ep_reg *reg = ep->loops[i];

		if (!reg->indexed)
			continue;
		if (creator) {
			reg_unindex(ep, reg);
		} else {
			ready_del(ep, reg);
			reg->indexed = false;
		}
		scan_add(ep, reg);
	}
	velo_watch_remove(ep->watch); /* the file goes with its creator's copy */
	ep->watch = NULL;
	ep->watch_failed = true;
	pthread_mutex_unlock(&ep->mu);
}

static void fork_ep(int fd, struct vepoll *ep)
{
	(void)fd;
	if (ep->owner != getpid())
		ep_forget_watch(ep);
	ep_set_nested(ep);
}

void velo_epoll_after_fork(void)
{
	velo_fd_foreach_epoll(fork_ep);
}

static void exec_ep(int fd, struct vepoll *ep)
{
	(void)fd;
	ep_forget_watch(ep);
}

void velo_epoll_before_exec(void)
{
	velo_fd_foreach_epoll(exec_ep);
}

void velo_epoll_watched(int epfd)
{
	struct vepoll *ep = velo_fd_epoll_get(epfd);

	if (ep) {
		ep_set_nested(ep);
		velo_epoll_put(ep);
	}
}

static void loops_del(struct vepoll *ep, struct ep_reg *reg)
{
	int i = reg->loop_idx;

	if (i < 0)
		return;
	ep->loops[i] = ep->loops[--ep->nloops];
	ep->loops[i]->loop_idx = i;
	reg->loop_idx = -1;
	reg_unindex(ep, reg);
	scan_del(ep, reg);
}

static uint32_t kernel_mask(const struct ep_reg *reg)
{
	uint32_t ev = reg->events;

	/*
	 * The eventfd is readable while the socket is ready. A listener's fd
	 * is an epoll set, which the kernel refuses with EPOLLEXCLUSIVE.
	 */
	if (reg->wire)
		return (ev & (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP |
			      (atomic_load(&reg->vs->wl) ? 0 : EPOLLEXCLUSIVE))) | EPOLLIN;
	if (reg->loop)
		ev |= (ev & EPOLLEXCLUSIVE) ? EPOLLIN : EPOLLIN | EPOLLRDHUP; /* doorbells, FIN */
	if (reg->parked)
		ev |= EPOLLET;
	return ev;
}

static uint32_t reg_ring_events(struct ep_reg *reg, bool consume);

struct fd_of_vs {
	struct vsock *vs;
	int fd;
};

static void fd_of_vs_one(int fd, struct vsock *vs, void *arg)
{
	struct fd_of_vs *f = arg;

	if (vs == f->vs && f->fd < 0)
		f->fd = fd;
}

/*
 * The number to ask the kernel about a member's socket with: its own, or
 * for a stale registration (that number closed or reused, the file living
 * on in a dup) one that names the file now, -1 if none does. Never the old
 * number: it may name another file.
 */
static int reg_socket_fd(struct ep_reg *reg)
{
	struct fd_of_vs f = { reg->vs, -1 };

	if (!reg->stale)
		return reg->fd;
	if (velo_fd_names(reg->alt_fd, reg->vs))
		return reg->alt_fd;
	velo_fd_foreach(fd_of_vs_one, &f);
	reg->alt_fd = f.fd;
	return f.fd;
}

static int reg_kernel_mod(struct vepoll *ep, struct ep_reg *reg, uint32_t events)
{
	struct epoll_event kev;

	kev.events = events;
	kev.data.u64 = ((uint64_t)reg->gen << 32) | (uint32_t)reg->fd;
	return REAL(epoll_ctl)(ep->epfd, EPOLL_CTL_MOD, reg->kfd, &kev);
}

/* Can reg's kernel registration carry a kick? Caller holds ep->mu. */
static bool reg_kickable(struct vepoll *ep, struct ep_reg *reg)
{
	/* EPOLLEXCLUSIVE registrations cannot be modified */
	return reg->loop && reg->vs && reg->vs->ch && !reg->stale &&
	       !(reg->events & EPOLLEXCLUSIVE) && (size_t)reg->fd < ep->cap &&
	       ep->regs[reg->fd] == reg;
}

/*
 * Ring readiness appeared that no sleeper can see: wake exactly one of them
 * (caller holds ep->mu). Through reg's own registration when it can carry
 * the kick, else through any member's: the woken waiter scans every ring.
 * The kick mask is one-shot and holds EPOLLOUT, which the kernel socket has
 * (its send queue holds at most a few doorbells once data moves through the
 * ring), so the kernel queues it at once and wakes one waiter, or keeps it
 * for the next epoll_wait when the sleepers have just left.
 */
static void ep_kick_any(struct vepoll *ep, struct ep_reg *reg)
{
	size_t i;

	if (!reg || !reg_kickable(ep, reg)) {
		for (reg = NULL, i = 0; i < ep->nloops && !reg; i++)
			if (reg_kickable(ep, ep->loops[i]))
				reg = ep->loops[i];
		if (!reg)
			return;
	}
	if (reg->kicked)
		return; /* not consumed yet: its waiter will scan the rings */
	if (!reg_kernel_mod(ep, reg, kernel_mask(reg) | EPOLLOUT | EPOLLONESHOT))
		reg->kicked = true;
}

static void ep_kick(struct vepoll *ep, struct ep_reg *reg)
{
	if (ep->sleepers)
		ep_kick_any(ep, reg);
}

/*
 * A set watched by another epoll or by poll is readable, as Linux's, while
 * a member is ready. A level-triggered member reported from its ring stays
 * ready but its kernel registration shows nothing: one is kicked, so the
 * set's kernel fd is readable (caller holds ep->mu).
 */
static void nested_show_ready(struct vepoll *ep)
{
	size_t i;

	if (!ep->nested)
		return;
	for (i = 0; i < ep->nloops; i++) {
		struct ep_reg *reg = ep->loops[i];

		if (!(reg->events & (EPOLLET | EPOLLONESHOT)) && reg_kickable(ep, reg) &&
		    reg_ring_events(reg, false)) {
			if (!reg->kicked) {
				ep_kick_any(ep, reg);
				atomic_store(&reg->vs->nested_kick, true);
			}
			return;
		}
	}
}

/*
 * A LOOP member was (re)registered while threads may sleep: make its peer
 * ring on new data, as their own arming would have, then kick if its ring
 * is ready already. Caller holds ep->mu.
 */
static void reg_armed_check(struct vepoll *ep, struct ep_reg *reg)
{
	ready_push(ep, reg); /* Linux looks at a member (re)registered */
	if (!reg->loop || !reg->vs || !reg->vs->ch || !ep->sleepers)
		return;
	velo_loop_arm(reg->vs, reg->events & EPOLLOUT);
	if (reg_ring_events(reg, false))
		ep_kick(ep, reg);
}

static void vs_link(struct ep_reg *reg)
{
	if (!reg->vs)
		return;
	pthread_mutex_lock(&reg->vs->mu);
	reg->vs_next = reg->vs->regs;
	reg->vs->regs = reg;
	pthread_mutex_unlock(&reg->vs->mu);
}

static void vs_unlink(struct ep_reg *reg)
{
	struct ep_reg **pp;

	if (!reg->vs)
		return;
	pthread_mutex_lock(&reg->vs->mu);
	for (pp = &reg->vs->regs; *pp; pp = &(*pp)->vs_next)
		if (*pp == reg) {
			*pp = reg->vs_next;
			break;
		}
	pthread_mutex_unlock(&reg->vs->mu);
}

static void reg_free(struct ep_reg *reg)
{
	vs_unlink(reg);
	velo_vs_put(reg->vs);
	free(reg);
}

/* Detach the registration of fd from ep (caller holds ep->mu); returns it. */
static struct ep_reg *reg_take(struct vepoll *ep, int fd)
{
	struct ep_reg *reg;

	if (fd < 0 || (size_t)fd >= ep->cap || !(reg = ep->regs[fd]))
		return NULL;
	ep->regs[fd] = NULL;
	loops_del(ep, reg);
	reg_edge_detach(reg);
	return reg;
}

static int reg_put(struct vepoll *ep, int fd, struct ep_reg *reg)
{
	if ((size_t)fd >= ep->cap) {
		size_t nc = ep->cap ? ep->cap : 64;
		struct ep_reg **n;

		while (nc <= (size_t)fd)
			nc *= 2;
		n = realloc(ep->regs, nc * sizeof(*n));
		if (!n)
			return -1;
		memset(n + ep->cap, 0, (nc - ep->cap) * sizeof(*n));
		ep->regs = n;
		ep->cap = nc;
	}
	ep->regs[fd] = reg;
	reg_edge_attach(ep, reg);
	if (reg->loop)
		loops_add(ep, reg);
	return 0;
}

void velo_epoll_hold(struct vepoll *ep)
{
	atomic_fetch_add_explicit(&ep->refs, 1, memory_order_relaxed);
}

void velo_epoll_closed(struct vepoll *ep)
{
	atomic_store(&ep->closed, true);
	velo_epoll_put(ep);
}

void velo_epoll_put(struct vepoll *ep)
{
	size_t i;

	if (!ep || atomic_fetch_sub_explicit(&ep->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&ep->mu);
	for (i = 0; i < ep->cap; i++) {
		struct ep_reg *reg = reg_take(ep, (int)i);

		if (reg)
			reg_free(reg);
	}
	while (ep->stale) {
		struct ep_reg *reg = ep->stale;

		ep->stale = reg->stale_next;
		loops_del(ep, reg);
		reg_free(reg);
	}
	free(ep->regs);
	free(ep->loops);
	free(ep->scan);
	free(ep->slots);
	free(ep->free_slots);
	velo_watch_remove(ep->watch);
	pthread_mutex_unlock(&ep->mu);
	pthread_mutex_destroy(&ep->mu);
	if (ep->shared)
		munmap(ep->shared, EP_SHARED_FDS * sizeof(struct ep_shared));
	free(ep);
}

void velo_epoll_fd_closed(int fd)
{
	if (velo_fd_epoll(fd))
		velo_fd_set_epoll(fd, NULL); /* destroys it */
}

static bool stale_unlink(struct vepoll *ep, struct ep_reg *reg)
{
	struct ep_reg **pp;

	for (pp = &ep->stale; *pp; pp = &(*pp)->stale_next)
		if (*pp == reg) {
			*pp = reg->stale_next;
			ep->nstale--;
			return true;
		}
	return false;
}

/* Is reg one of ep's, under its number or stale? Caller holds ep->mu. */
static bool reg_in_set(struct vepoll *ep, struct ep_reg *reg)
{
	struct ep_reg *s;

	if ((size_t)reg->fd < ep->cap && ep->regs[reg->fd] == reg)
		return true;
	for (s = ep->stale; s; s = s->stale_next)
		if (s == reg)
			return true;
	return false;
}

/* Does fd still refer to vs's socket (not yet replaced by dup2)? */
static bool fd_is_socket(int fd, struct vsock *vs)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == vs->ino;
}

/*
 * fd is being closed. last: no fd of this process refers to the socket any
 * more, so (as far as we can see) the file is released and the kernel drops
 * its registrations. Otherwise the registrations under this number live on
 * (Linux keys them by file and number): they become stale, still reported
 * with their own data.
 */
void velo_epoll_vs_fd_closed(struct vsock *vs, int fd, bool last)
{
	struct ep_reg *list[16];
	struct ep_reg *reg;
	int n = 0, i;

	pthread_mutex_lock(&vs->mu);
	for (reg = vs->regs; reg && n < 16; reg = reg->vs_next)
		if (last || reg->fd == fd)
			list[n++] = reg;
	pthread_mutex_unlock(&vs->mu);
	for (i = 0; i < n; i++) {
		struct vepoll *ep = list[i]->ep;
		struct ep_reg *got = NULL;
		int rfd = list[i]->fd;

		pthread_mutex_lock(&ep->mu);
		if ((size_t)rfd < ep->cap && ep->regs[rfd] == list[i]) {
			if (last) {
				got = reg_take(ep, rfd);
				/* the engine may keep its eventfd a while (FIN, linger) */
				if (got->wire)
					REAL(epoll_ctl)(ep->epfd, EPOLL_CTL_DEL, got->kfd, NULL);
			} else {
				if (list[i]->kicked && fd_is_socket(fd, vs))
					reg_kernel_mod(ep, list[i], kernel_mask(list[i]));
				list[i]->kicked = false; /* its number is not ours to MOD */
				ep->regs[rfd] = NULL; /* keep it in loops */
				reg_edge_detach(list[i]);
				list[i]->stale = true;
				list[i]->stale_next = ep->stale;
				ep->stale = list[i];
				ep->nstale++;
			}
		} else if (last && stale_unlink(ep, list[i])) {
			loops_del(ep, list[i]);
			got = list[i];
		}
		pthread_mutex_unlock(&ep->mu);
		if (got)
			reg_free(got);
	}
}

/* vs's registrations (at most 16), to visit each under its epoll's lock. */
static int vs_regs(struct vsock *vs, struct ep_reg *list[16])
{
	struct ep_reg *reg;
	int n = 0;

	pthread_mutex_lock(&vs->mu);
	for (reg = vs->regs; reg && n < 16; reg = reg->vs_next)
		list[n++] = reg;
	pthread_mutex_unlock(&vs->mu);
	return n;
}

/*
 * A WIRE socket's ready eventfd fires for the union of what its epoll
 * registrations, the polls asleep on it and @extra wait for: an event
 * nobody wants would keep a level-triggered epoll awake, and one that a
 * poll sleeps for must wake it, whichever poll set the interest last.
 */
int velo_epoll_wire_wait_fd(struct vsock *vs, uint32_t extra)
{
	struct ep_reg *reg;
	uint32_t ev = extra;
	int i;

	pthread_mutex_lock(&vs->mu);
	for (reg = vs->regs; reg; reg = reg->vs_next)
		if (reg->wire && !atomic_load(&reg->edge->disabled))
			ev |= reg->events;
	for (i = 0; i < VELO_POLLERS; i++)
		if (vs->pollers[i])
			ev |= (uint16_t)poller_events[i];
	pthread_mutex_unlock(&vs->mu);
	return velo_wire_vs_wait_fd(vs, ev);
}

/*
 * The socket became WIRE (@wire: its registrations move to its ready
 * eventfd) or went back to the kernel (they move back to the fd).
 */
static void regs_switch(struct vsock *vs, bool wire)
{
	struct ep_reg *list[16];
	struct ep_reg *reg;
	int n = vs_regs(vs, list), i, kfd;

	for (i = 0; i < n; i++) {
		struct vepoll *ep = list[i]->ep;
		struct epoll_event kev;

		pthread_mutex_lock(&ep->mu);
		reg = list[i];
		if (reg_in_set(ep, reg) && reg->wire != wire) {
			REAL(epoll_ctl)(ep->epfd, EPOLL_CTL_DEL, reg->kfd, NULL);
			reg->wire = wire;
			pthread_mutex_unlock(&ep->mu);
			kfd = wire ? velo_epoll_wire_wait_fd(vs, 0) : -1;
			pthread_mutex_lock(&ep->mu);
			/*
			 * A stale one (its number closed, the file in a dup) is
			 * registered under a number naming the file now: the
			 * kernel keeps it, as Linux keeps the file's, until the
			 * file goes; its data still names the old number.
			 */
			reg->kfd = wire ? kfd : reg_socket_fd(reg);
			kev.events = kernel_mask(reg);
			kev.data.u64 = ((uint64_t)reg->gen << 32) | (uint32_t)reg->fd;
			/* a one-shot that fired stays disarmed: registered when re-armed (MOD) */
			reg->unregistered = (reg->events & EPOLLONESHOT) &&
					    atomic_load(&reg->edge->disabled);
			if (reg->kfd >= 0 && !reg->unregistered)
				REAL(epoll_ctl)(ep->epfd, EPOLL_CTL_ADD, reg->kfd, &kev);
		}
		pthread_mutex_unlock(&ep->mu);
	}
}

void velo_epoll_socket_wired(struct vsock *vs)
{
	regs_switch(vs, true);
}

void velo_epoll_socket_unwired(struct vsock *vs)
{
	regs_switch(vs, false);
}

/* fn(ep, reg) under ep->mu for each of vs's registrations still in its set. */
static void vs_each_reg(struct vsock *vs, void (*fn)(struct vepoll *ep, struct ep_reg *reg))
{
	struct ep_reg *list[16];
	int n = vs_regs(vs, list), i;

	for (i = 0; i < n; i++) {
		struct vepoll *ep = list[i]->ep;

		pthread_mutex_lock(&ep->mu);
		if ((size_t)list[i]->fd < ep->cap && ep->regs[list[i]->fd] == list[i])
			fn(ep, list[i]);
		pthread_mutex_unlock(&ep->mu);
	}
}

static void reg_attached(struct vepoll *ep, struct ep_reg *reg)
{
	if (reg->loop)
		return;
	reg->loop = true;
	reg->kicked = false;
	reg_kernel_mod(ep, reg, kernel_mask(reg));
	loops_add(ep, reg);
	/* a waiter may sleep on the kernel fd only: make the peer ring */
	velo_loop_arm(reg->vs, false);
	reg_armed_check(ep, reg);
}

void velo_epoll_socket_attached(struct vsock *vs)
{
	vs_each_reg(vs, reg_attached);
}

static void reg_detached(struct vepoll *ep, struct ep_reg *reg)
{
	if (!reg->loop)
		return;
	reg->loop = false;
	reg->parked = false;
	reg->kicked = false;
	loops_del(ep, reg);
	reg_kernel_mod(ep, reg, kernel_mask(reg));
}

/*
 * A kick showing a nested set ready goes once its member is not ready, as
 * Linux's set looks at its ready members when polled. Not while threads
 * sleep in the set: a kick may stand for another member of theirs.
 */
static void reg_nested_unkick(struct vepoll *ep, struct ep_reg *reg)
{
	if (!reg->kicked || !reg->loop || !reg->vs->ch)
		return;
	if (ep->sleepers || reg_ring_events(reg, false)) {
		atomic_store(&reg->vs->nested_kick, true);
		return;
	}
	reg->kicked = false;
	reg_kernel_mod(ep, reg, kernel_mask(reg));
}

void velo_epoll_ring_read(struct vsock *vs)
{
	if (atomic_exchange(&vs->nested_kick, false))
		vs_each_reg(vs, reg_nested_unkick);
}

/* The socket left its channel (velo_loop_disconnected): the kernel's again. */
void velo_epoll_socket_detached(struct vsock *vs)
{
	vs_each_reg(vs, reg_detached);
}

static void reg_kick(struct vepoll *ep, struct ep_reg *reg)
{
	if (!ep->sleepers || !reg->loop)
		return;
	ready_push(ep, reg);
	ep_kick(ep, reg);
}

/*
 * Something our epolls may have to report changed on vs without a doorbell
 * reaching their sleepers (a change on our own side, or a doorbell another
 * reader of the socket took): wake a sleeper of each set watching it.
 */
void velo_epoll_socket_kick(struct vsock *vs)
{
	vs_each_reg(vs, reg_kick);
}

VELO_EXPORT int epoll_create(int size)
{
	int r = REAL(epoll_create)(size);

	if (r >= 0) {
		velo_fd_opened(r);
		velo_fd_set_epoll(r, ep_new(r));
	}
	return r;
}

VELO_EXPORT int epoll_create1(int flags)
{
	int r = REAL(epoll_create1)(flags);

	if (r >= 0) {
		velo_fd_opened(r);
		velo_fd_set_epoll(r, ep_new(r));
	}
	return r;
}

/*
 * A stale registration whose number names its file again (closed, then a
 * dup of the same file got the number back): Linux's key, the file and the
 * number, is its own, so a MOD or DEL of the number is about it. It is
 * live again, under the number's generation, keeping its edges (caller
 * holds ep->mu). Not one the kernel holds under another number since a
 * move to the kernel (regs_switch): that key is not the number's.
 */
static void stale_revive(struct vepoll *ep, int fd)
{
	struct ep_reg *reg;

	if (fd < 0 || (size_t)fd >= ep->cap || ep->regs[fd])
		return;
	for (reg = ep->stale; reg; reg = reg->stale_next)
		if (reg->fd == fd && (reg->wire || reg->kfd == fd) && velo_fd_names(fd, reg->vs))
			break;
	if (!reg)
		return;
	stale_unlink(ep, reg);
	ep->regs[fd] = reg;
	reg->stale = false;
	reg->gen = velo_fd_gen(fd);
	if (ep->shared && (unsigned int)fd < EP_SHARED_FDS) {
		struct ep_edge *e = &ep->shared[fd].edge;

		atomic_store(&e->tail, atomic_load(&reg->own.tail));
		atomic_store(&e->nospace, atomic_load(&reg->own.nospace));
		atomic_store(&e->disabled, atomic_load(&reg->own.disabled));
		reg->edge = e;
	}
}

static int ep_ctl(struct vepoll *ep, int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ep_reg *reg, *old;
	struct epoll_event kev;
	struct vsock *vs = NULL;
	int r, saved;

	if (op == EPOLL_CTL_DEL) {
		bool unregistered;
		int kfd = fd;

		pthread_mutex_lock(&ep->mu);
		stale_revive(ep, fd);
		reg = (size_t)fd < ep->cap ? ep->regs[fd] : NULL;
		if (reg && reg->wire && reg->gen == velo_fd_gen(fd))
			kfd = reg->kfd;
		unregistered = reg && reg->unregistered && reg->gen == velo_fd_gen(fd);
		pthread_mutex_unlock(&ep->mu);
		r = unregistered ? 0 : REAL(epoll_ctl)(epfd, op, kfd, ev);
		if (!r) {
			shared_clear(ep, fd);
			pthread_mutex_lock(&ep->mu);
			old = reg_take(ep, fd);
			pthread_mutex_unlock(&ep->mu);
			if (old)
				reg_free(old);
		}
		return r;
	}
	if (op == EPOLL_CTL_ADD) {
		bool disarmed;

		pthread_mutex_lock(&ep->mu);
		reg = (size_t)fd < ep->cap ? ep->regs[fd] : NULL;
		disarmed = reg && reg->unregistered && reg->gen == velo_fd_gen(fd);
		pthread_mutex_unlock(&ep->mu);
		if (disarmed) {
			errno = EEXIST; /* Linux's registration is there, disarmed */
			return -1;
		}
		velo_epoll_watched(fd);
		vs = velo_fd_get(fd);
		if (vs && atomic_load(&vs->state) == VELO_SS_PENDING)
			velo_loop_try_attach(vs, fd);
		reg = calloc(1, sizeof(*reg));
		if (!reg) {
			velo_vs_put(vs);
			errno = ENOMEM;
			return -1;
		}
		reg->fd = fd;
		reg->gen = velo_fd_gen(fd);
		reg->events = ev->events;
		reg->data = ev->data;
		reg->ep = ep;
		reg->vs = vs;
		reg->loop = vs && atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch;
		reg->wire = vs && velo_vs_wired(vs);
		reg->kfd = reg->wire ? velo_epoll_wire_wait_fd(vs, ev->events) : fd;
		reg->loop_idx = -1;
		kev.events = kernel_mask(reg);
		kev.data.u64 = ((uint64_t)reg->gen << 32) | (uint32_t)fd;
		pthread_mutex_lock(&ep->mu);
		r = reg->kfd < 0 ? (errno = ENOTCONN, -1) : REAL(epoll_ctl)(epfd, op, reg->kfd, &kev);
		saved = errno;
		old = NULL;
		if (!r) {
			shared_set(ep, fd, reg->gen, reg->data.u64);
			old = reg_take(ep, fd); /* a stale one of a closed earlier file */
			if (reg_put(ep, fd, reg) < 0) {
				REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, reg->kfd, NULL);
				r = -1;
				saved = ENOMEM;
			} else {
				reg_armed_check(ep, reg);
			}
		}
		if (old && old->gen != reg->gen && !old->loop) {
			struct ep_reg **pp;
			unsigned int k = 0;

			old->stale_next = ep->stale;
			ep->stale = old;
			old = NULL;
			for (pp = &ep->stale; *pp; pp = &(*pp)->stale_next)
				if (++k > EP_STALE_MAX) {
					old = *pp; /* the oldest goes */
					*pp = NULL;
					break;
				}
			ep->nstale = k;
		}
		pthread_mutex_unlock(&ep->mu);
		while (old) {
			struct ep_reg *next = old->stale_next;

			reg_free(old);
			old = next;
		}
		if (r) {
			velo_vs_put(vs);
			free(reg);
		} else {
			vs_link(reg);
		}
		errno = saved;
		return r;
	}
	/* MOD */
	pthread_mutex_lock(&ep->mu);
	stale_revive(ep, fd);
	reg = (size_t)fd < ep->cap ? ep->regs[fd] : NULL;
	if (!reg || reg->gen != velo_fd_gen(fd)) {
		/* not registered through us, or a stale entry: the kernel decides */
		pthread_mutex_unlock(&ep->mu);
		kev.events = ev->events;
		kev.data.u64 = ((uint64_t)velo_fd_gen(fd) << 32) | (uint32_t)fd;
		r = REAL(epoll_ctl)(epfd, op, fd, &kev);
		if (!r) {
			shared_set(ep, fd, velo_fd_gen(fd), ev->data.u64);
			/* registered by a file we did not see: adopt it */
			struct ep_reg *n = calloc(1, sizeof(*n));

			if (n) {
				n->fd = fd;
				n->gen = velo_fd_gen(fd);
				n->events = ev->events;
				n->data = ev->data;
				n->ep = ep;
				n->loop_idx = -1;
				pthread_mutex_lock(&ep->mu);
				old = reg_take(ep, fd);
				if (reg_put(ep, fd, n) < 0)
					free(n);
				pthread_mutex_unlock(&ep->mu);
				if (old)
					reg_free(old);
			}
		}
		return r;
	}
	{
		struct ep_reg tmp = *reg;

		tmp.events = ev->events;
		tmp.parked = false;
		kev.events = kernel_mask(&tmp);
		kev.data.u64 = ((uint64_t)reg->gen << 32) | (uint32_t)fd;
		if (reg->wire)
			velo_epoll_wire_wait_fd(reg->vs, ev->events); /* the new mask too */
		r = REAL(epoll_ctl)(epfd, reg->unregistered ? EPOLL_CTL_ADD : op, reg->kfd, &kev);
		if (!r) {
			reg->unregistered = false;
			shared_set(ep, fd, reg->gen, ev->data.u64);
			reg->events = ev->events;
			reg->data = ev->data;
			reg_watch_update(ep, reg);
			edge_reset(reg->edge);
			reg->kicked = false;
			reg->parked = false;
			/* Linux queues a member that is ready under its new mask */
			reg_armed_check(ep, reg);
		}
	}
	pthread_mutex_unlock(&ep->mu);
	return r;
}

VELO_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct vepoll *ep;
	int r, saved;

	if ((op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) ||
	    (op != EPOLL_CTL_DEL && (!ev || velo_bad_range(ev, sizeof(*ev)))) || fd < 0 ||
	    epfd == fd || !(ep = ep_get(epfd, true)))
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	r = ep_ctl(ep, epfd, op, fd, ev);
	saved = errno;
	velo_epoll_put(ep);
	errno = saved;
	return r;
}

static void count_stale(int fd)
{
	if (velo_fd_is_closed(fd))
		velo_stat_add(VELO_STAT_EPOLL_STALE_CLOSED, 1);
	else if (velo_fd_opener(fd) == velo_gettid())
		velo_stat_add(VELO_STAT_EPOLL_STALE_REOPEN_SAME, 1);
	else
		velo_stat_add(VELO_STAT_EPOLL_STALE_REOPEN_OTHER, 1);
}

/* Ring readiness of a LOOP registration, with ET/ONESHOT; caller holds ep->mu. */
/* What has come in as the reader sees it (a held segment not due is not). */
static uint64_t in_tail(struct vsock *vs)
{
	struct velo_chan_dir *in = vs_in(vs);

	return velo_ring_visible_tail(in, atomic_load(&in->head));
}

/*
 * A stale parked level-triggered member: its kernel registration stays
 * edge-triggered (its number is gone: no MOD reaches it), so the kernel's
 * part of its level readiness (after a fallback, a FIN, an error) is
 * looked at here, as the kernel would report it.
 */
static uint32_t stale_kernel_level(struct ep_reg *reg)
{
	int sfd = reg_socket_fd(reg);
	struct pollfd p = { .fd = sfd, .events = POLLIN | POLLPRI | POLLOUT | POLLRDHUP };

	if (sfd < 0 || REAL(poll)(&p, 1, 0) != 1)
		return 0;
	return velo_loop_kernel_events(reg->vs, sfd, (uint16_t)p.revents);
}

static uint32_t reg_ring_events(struct ep_reg *reg, bool consume)
{
	struct vsock *vs = reg->vs;
	struct ep_edge *e = reg->edge;
	uint32_t ev;

	if (atomic_load(&e->disabled) || !vs->ch ||
	    (!reg->stale && reg->gen != velo_fd_gen(reg->fd)) || shared_deleted(reg))
		return 0;
	if (reg->stale && reg->parked && !(reg->events & (EPOLLET | EPOLLONESHOT)))
		ev = stale_kernel_level(reg);
	else
		ev = velo_loop_ring_events(vs);
	ev &= reg->events | EPOLLERR | EPOLLHUP;
	if (reg->events & EPOLLET) {
		uint64_t t = in_tail(vs), full = velo_loop_nospace(vs);
		/*
		 * Data that came (a wakeup for EPOLLIN) is an edge even if a
		 * read took it since: Linux queues the member at the wakeup and
		 * reports what is ready when it is collected. Space is one when
		 * there is some after the writer found the ring full (the
		 * wakeup comes as space is freed).
		 */
		bool in = (reg->events & EPOLLIN) &&
			  t != (consume ? atomic_exchange(&e->tail, t) : atomic_load(&e->tail));
		bool out = (ev & EPOLLOUT) &&
			   full != (consume ? atomic_exchange(&e->nospace, full) :
					      atomic_load(&e->nospace));
		uint64_t fresh = UINT64_MAX; /* edge_reset(): the registration's own edge */

		/* that first edge is one: taken through either part, it is gone */
		if (consume && in)
			atomic_compare_exchange_strong(&e->nospace, &fresh, full);
		else if (consume && out)
			atomic_compare_exchange_strong(&e->tail, &fresh, t);

		/* as Linux, an edge reports everything that is ready */
		if (!in && !out)
			ev &= ~(EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM);
		else if ((reg->events & EPOLLOUT) && !(ev & EPOLLOUT))
			ev |= velo_loop_kernel_pollout(vs, reg_socket_fd(reg)) & reg->events;
	}
	if (ev && consume && !edge_take_oneshot(reg))
		return 0;
	return ev;
}

static bool ep_rings_ready(struct vepoll *ep)
{
	size_t i;
	bool any = false;

	struct ep_reg *reg;

	pthread_mutex_lock(&ep->mu);
	ep_harvest(ep);
	for (reg = ep->ready_head; reg && !any; reg = reg->ready_next)
		any = reg_ring_events(reg, false) != 0;
	for (i = 0; i < ep->nscan && !any; i++)
		any = reg_ring_events(ep->scan[i], false) != 0;
	pthread_mutex_unlock(&ep->mu);
	return any;
}

static bool park_ok(struct vepoll *ep, struct ep_reg *reg, uint32_t kev);

/*
 * A parked member looked at from the rings: if the kernel decides a part of
 * its readiness again (a direction fell back), its registration is made
 * level-triggered again, and the MOD queues it if the kernel socket is
 * ready, for this look's kernel part (caller holds ep->mu). A kicked one
 * is looked at when its kick comes.
 */
static void reg_park_recheck(struct vepoll *ep, struct ep_reg *reg)
{
	if (reg->parked && !reg->stale && !reg->kicked && !park_ok(ep, reg, 0)) {
		reg->parked = false;
		reg_kernel_mod(ep, reg, kernel_mask(reg));
	}
}

/* A ring-ready member goes into out[] (caller holds ep->mu). */
static void report_ring(struct ep_reg *reg, uint32_t ev, struct epoll_event *out, int *n,
			uint64_t round)
{
	out[*n].events = ev;
	out[*n].data = reg->data;
	reg->round = round;
	reg->out_idx = (*n)++;
}

/*
 * The ready list, in order (Linux's ready list is FIFO: no member starves
 * behind others always ready). A member not ready any more leaves it (its
 * next change marks it again); a level-triggered one that was reported
 * goes to its end, as Linux re-queues it. Returns the first ready member
 * left over when out[] is full.
 */
static struct ep_reg *ready_scan(struct vepoll *ep, struct epoll_event *out, int *n, int max,
				 uint64_t round)
{
	size_t todo = ep->nready;

	while (todo-- && ep->ready_head) {
		struct ep_reg *reg = ep->ready_head;
		uint32_t ev;

		if (*n >= max) {
			for (; reg; reg = ep->ready_head) {
				if (reg_ring_events(reg, false))
					return reg;
				ready_del(ep, reg);
			}
			return NULL;
		}
		ready_del(ep, reg);
		if (reg->round == round) {
			ready_push(ep, reg); /* reported from the kernel already */
			continue;
		}
		ev = reg_ring_events(reg, true);
		reg_park_recheck(ep, reg);
		if (!ev)
			continue;
		report_ring(reg, ev, out, n, round);
		if (!(reg->events & (EPOLLET | EPOLLONESHOT)))
			ready_push(ep, reg);
	}
	return NULL;
}

/*
 * Report ring-ready scanned members not yet reported in this round,
 * starting where the last scan stopped. arm: about to sleep, so each
 * member's peer is asked to ring before its ring is looked at (a write
 * after the look rings); stops arming once something is found, we will
 * not sleep then.
 */
static struct ep_reg *list_scan(struct vepoll *ep, struct epoll_event *out, int *n, int max,
				uint64_t round, bool arm)
{
	size_t nl = ep->nscan, base = ep->scan_start, i, idx;

	for (i = 0; i < nl; i++) {
		struct ep_reg *reg;
		uint32_t ev;

		idx = (base + i) % nl;
		reg = ep->scan[idx];
		if (arm && !*n && reg->vs && reg->vs->ch)
			velo_loop_arm(reg->vs, reg->events & EPOLLOUT);
		if (reg->round == round)
			continue;
		if (*n >= max) {
			if (reg_ring_events(reg, false))
				return reg;
			continue;
		}
		ev = reg_ring_events(reg, true);
		reg_park_recheck(ep, reg);
		if (!ev)
			continue;
		report_ring(reg, ev, out, n, round);
		ep->scan_start = idx + 1;
	}
	return NULL;
}

/*
 * Report ring-ready LOOP members not yet reported in this round: the
 * marked ones, then the scanned ones. Caller holds ep->mu (and, when
 * about to sleep, counts itself in the watch area's sleepers first), so a
 * member added or re-armed meanwhile is either looked at here or sees the
 * sleeper counted.
 */
static struct ep_reg *ring_scan(struct vepoll *ep, struct epoll_event *out, int *n, int max,
				uint64_t round, bool arm)
{
	struct ep_reg *more;

	ep_harvest(ep);
	more = ready_scan(ep, out, n, max, round);
	if (more || !ep->nscan)
		return more;
	return list_scan(ep, out, n, max, round, arm);
}

/*
 * May a level-triggered LOOP member's kernel registration be edge-triggered
 * (caller holds ep->mu)? Its kernel socket is writable and may hold a
 * doorbell next to ring data the app does not want yet: level-triggered,
 * the kernel would report that over and over while velo reports nothing
 * (a writer waiting on a full ring spun at 100% CPU). Edge-triggered, every
 * doorbell, FIN, RST and shutdown still wakes, and the ring scan is level-
 * triggered by itself. Not while the kernel's part is level state the app
 * may be shown again: wanted data sent before the switch, POLLOUT before
 * the switch or after shutdown(SHUT_WR), errors and hang-ups, wanted
 * RDHUP/PRI; each of them reaches us as an edge first, which unparks.
 */
static bool park_ok(struct vepoll *ep, struct ep_reg *reg, uint32_t kev)
{
	struct velo_chan_dir *in = vs_in(reg->vs), *out = vs_out(reg->vs);

	/* nested or shared after fork: others may see this member through the kernel only */
	if (ep->nested || (reg->events & (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE)) || reg->stale ||
	    (kev & (EPOLLHUP | EPOLLERR)) || (kev & reg->events & (EPOLLRDHUP | EPOLLPRI)))
		return false;
	if ((kev & reg->events & EPOLLIN) &&
	    (!atomic_load_explicit(&in->switched, memory_order_acquire) ||
	     atomic_load(&in->kread) < atomic_load(&in->kbytes)))
		return false; /* data the kernel carries */
	if ((reg->events & EPOLLOUT) &&
	    (!atomic_load_explicit(&out->switched, memory_order_acquire) ||
	     atomic_load(&reg->vs->ch->end[reg->vs->end].shut_wr)))
		return false; /* the kernel decides POLLOUT */
	return true;
}

/*
 * A kernel event of a LOOP member (caller holds ep->mu): the kernel part of
 * its readiness merged with the ring's, with ET/ONESHOT. Returns the events
 * to report as a new entry (0: none). A kick or a doorbell the kernel
 * disarmed a one-shot registration for, without an event reported, gets
 * its normal kernel registration back (doorbells, FIN, RST).
 */
static uint32_t loop_kernel_event(struct vepoll *ep, struct ep_reg *reg, uint32_t kev,
				  struct epoll_event *out, uint64_t round, bool room)
{
	bool kick = reg->kicked, oneshot = reg->events & EPOLLONESHOT, restore;
	uint32_t ev;
	int sfd;

	reg->kicked = false;
	sfd = reg_socket_fd(reg);
	ev = (sfd < 0 ? kev : velo_loop_kernel_events(reg->vs, sfd, kev)) &
	     (reg->events | EPOLLERR | EPOLLHUP);
	if (reg->round == round) {
		out[reg->out_idx].events |= ev;
		ev = 0;
		restore = kick && !oneshot;
	} else if (atomic_load(&reg->edge->disabled)) {
		ev = 0;
		restore = false; /* reported already: the app re-arms it */
	} else if (!ev) {
		ev = 0;
		restore = kick || oneshot;
	} else if (!room) {
		/* the kernel disarmed or consumed it: it queues it again */
		ev = 0;
		restore = kick || oneshot || (reg->events & EPOLLET);
	} else {
		if (reg->events & EPOLLET) {
			if (ev & EPOLLIN)
				atomic_store(&reg->edge->tail, in_tail(reg->vs));
			if (ev & EPOLLOUT)
				atomic_store(&reg->edge->nospace, velo_loop_nospace(reg->vs));
		}
		if (oneshot)
			atomic_store(&reg->edge->disabled, 1);
		restore = kick && !oneshot;
	}
	if (!atomic_load(&reg->edge->disabled) && !reg->stale && park_ok(ep, reg, kev) != reg->parked) {
		reg->parked = !reg->parked;
		restore = true;
	}
	if (restore && !reg->stale)
		reg_kernel_mod(ep, reg, kernel_mask(reg));
	return ev;
}

/*
 * A kernel member's event that did not fit: the kernel disarmed a one-shot
 * registration and consumed an edge as it reported it; a MOD with the same
 * mask queues it again if it is still ready (level-triggered ones stay
 * queued by themselves). Caller holds ep->mu.
 */
static void reg_push_back(struct vepoll *ep, struct ep_reg *reg)
{
	if ((reg->events & (EPOLLET | EPOLLONESHOT)) && !(reg->events & EPOLLEXCLUSIVE) &&
	    !reg->stale)
		reg_kernel_mod(ep, reg, kernel_mask(reg));
}

static __thread struct epoll_event *kbuf;
static __thread int kbuf_len;

/*
 * A WIRE member urgent data came for (its events say POLLPRI): not
 * reported, but moved to the kernel once ep->mu is dropped (the move takes
 * the sets' locks), and then reported as the kernel socket it is.
 */
struct ep_urgent {
	struct vsock *vs;	/* referenced */
	int fd;			/* -1: no fd number names it now */
	uint32_t gen;
};
#define EP_URGENT_MAX 8	/* per look; the others stay ready for the next */

static void ep_urgent_move(const struct ep_urgent *u)
{
	struct vsock *now = u->fd >= 0 ? velo_fd_get(u->fd) : NULL;
	bool named = now == u->vs && velo_fd_gen(u->fd) == u->gen;

	velo_wire_vs_urgent(u->vs, named ? u->fd : -1);
	velo_vs_put(now);
	velo_vs_put(u->vs);
}

/* The set this thread sleeps on, and the sleeper counts that holds. */
static __thread struct vepoll *sleeping_ep;
static __thread struct velo_watch *sleeping_watch;

static void ep_sleeping(struct vepoll *ep, struct velo_watch *watch)
{
	velo_thread_sleeps();
	sleeping_watch = watch;
	sleeping_ep = ep;
}

void velo_mux_thread_exit(void)
{
	struct vepoll *ep = sleeping_ep;

	if (held_n)
		poll_unhold();
	if (!ep)
		return;
	if (sleeping_watch)
		atomic_fetch_sub(&sleeping_watch->sleepers, 1);
	pthread_mutex_lock(&ep->mu);
	ep->sleepers--;
	pthread_mutex_unlock(&ep->mu);
}

/*
 * One look at the rings and the kernel, sleeping up to tmo_ms in the kernel
 * when the rings have nothing (armed as they are looked at). Kernel events are
 * fetched up to max, not the room left: each member reported from its ring
 * gets its kernel part (POLLOUT before the switch, FIN, errors) merged into
 * its entry; an event of another member that then does not fit is pushed
 * back.
 */
static int ep_collect(struct vepoll *ep, int epfd, struct epoll_event *out, int max,
		      int tmo_ms, const sigset_t *mask, int *kerr)
{
	int n = 0, k, i, kicks = 0, nurgent = 0;
	struct ep_urgent urgent[EP_URGENT_MAX];
	struct velo_watch *watch;
	struct ep_reg *more;
	bool slept = false;
	uint64_t round;

	*kerr = 0;
	if (kbuf_len < max) {
		struct epoll_event *nb = realloc(kbuf, (size_t)max * sizeof(*nb));

		if (!nb) {
			*kerr = ENOMEM;
			return -1;
		}
		kbuf = nb;
		kbuf_len = max;
	}
	pthread_mutex_lock(&ep->mu);
	round = ++ep->round;
	watch = tmo_ms ? ep->watch : NULL;
	if (watch) /* before the marks are taken: a later mark rings */
		atomic_fetch_add(&watch->sleepers, 1);
	more = ring_scan(ep, out, &n, max, round, tmo_ms != 0);
	if (more)
		ep_kick(ep, more); /* Linux wakes another waiter for what is left */
	if (n)
		tmo_ms = 0;
	if (tmo_ms) {
		/* counted with the look above: a change under mu now kicks */
		ep->sleepers++;
		slept = true;
	} else if (watch) {
		atomic_fetch_sub(&watch->sleepers, 1);
		watch = NULL;
	}
	pthread_mutex_unlock(&ep->mu);
	if (slept)
		ep_sleeping(ep, watch);
	/* closed meanwhile, its number may name another file: no kernel look */
	k = atomic_load(&ep->closed) ? 0 :
		REAL(epoll_pwait)(epfd, kbuf, max, tmo_ms, mask);
	if (k < 0)
		*kerr = errno;
	sleeping_ep = NULL;
	if (watch)
		atomic_fetch_sub(&watch->sleepers, 1);
	pthread_mutex_lock(&ep->mu);
	if (slept)
		ep->sleepers--;
	for (i = 0; i < k; i++) {
		int fd = (int)(uint32_t)kbuf[i].data.u64;
		uint32_t gen = (uint32_t)(kbuf[i].data.u64 >> 32);
		struct ep_reg *reg = fd >= 0 && (size_t)fd < ep->cap ? ep->regs[fd] : NULL;
		uint32_t ev = kbuf[i].events;

		/* a closed number's registration lives on while a dup holds the file */
		if (!reg || reg->gen != gen)
			for (reg = ep->stale; reg; reg = reg->stale_next)
				if (reg->fd == fd && reg->gen == gen)
					break;
		if (!reg) {
			uint64_t d;

			/* registered by another process sharing this epoll (fork) */
			if (shared_get(ep, fd, gen, &d) && n < max) {
				out[n].events = ev;
				out[n].data.u64 = d;
				n++;
			} else {
				count_stale(fd);
			}
			continue;
		}
		if (velo_fd_gen(fd) != gen)
			count_stale(fd); /* reported with its own (old) data, as Linux */
		if (reg->wire) {
			ev = velo_wire_vs_events(reg->vs);
			if (ev & POLLPRI) {
				if (nurgent < EP_URGENT_MAX) {
					struct ep_urgent *u = &urgent[nurgent++];

					atomic_fetch_add(&reg->vs->refs, 1);
					u->vs = reg->vs;
					/* stale: a number naming the file now, checked again */
					u->fd = reg_socket_fd(reg);
					u->gen = u->fd == fd ? gen : velo_fd_gen(u->fd);
				}
				/* the edge or one-shot the kernel took: queued again */
				reg_push_back(ep, reg);
				continue;
			}
			ev &= reg->events | EPOLLERR | EPOLLHUP;
			if (ev && (reg->events & EPOLLONESHOT))
				atomic_store(&reg->edge->disabled, 1); /* as the kernel did */
			if (ev && n >= max) {
				reg_push_back(ep, reg);
				continue;
			}
		} else if (reg->loop && reg->vs && reg->vs->ch) {
			kicks += reg->kicked;
			ev = loop_kernel_event(ep, reg, ev, out, round, n < max);
			ready_push(ep, reg); /* the kernel saw a change: look at the ring next time */
		} else if (ev && n >= max) {
			reg_push_back(ep, reg);
			continue;
		}
		if (!ev || n >= max)
			continue;
		out[n].events = ev;
		out[n].data = reg->data;
		reg->round = round;
		reg->out_idx = n++;
	}
	if (kicks) {
		/* a kick may stand for another member: look at every ring */
		more = ring_scan(ep, out, &n, max, round, false);
		if (more)
			ep_kick(ep, more);
	}
	nested_show_ready(ep);
	pthread_mutex_unlock(&ep->mu);
	for (i = 0; i < nurgent; i++)
		ep_urgent_move(&urgent[i]); /* the caller's next look sees the kernel socket */
	if (k < 0 && !n)
		return -1;
	return n;
}

/*
 * An events array epoll_wait() cannot fill: outside the user address range
 * (access_ok()), or its first entry not writable. The rest is written only
 * as far as events are ready, so a short array with a large @max works,
 * as on Linux.
 */
static bool events_unfit(struct epoll_event *events, int max)
{
	return velo_bad_range_prot(events, (size_t)max * sizeof(*events), 0) ||
	       velo_bad_wrange(events, sizeof(*events));
}

static int ep_wait(struct vepoll *ep, int epfd, struct epoll_event *events, int max,
		   int64_t tmo_ns, const sigset_t *mask)
{
	uint64_t start = velo_now_ns(), spin_ns = velo_spin_budget();
	int n, kerr;

	/* EINVAL, the kernel's, comes first: maxevents beyond EP_MAX_EVENTS */
	if (ep && max > 0 && max <= INT_MAX / (int)sizeof(*events) && events_unfit(events, max) &&
	    ep->nloops && ep_rings_ready(ep)) {
		errno = EFAULT; /* the kernel fails the copy of a ready event */
		return -1;
	}
	if (!ep || !events || max <= 0 || max > INT_MAX / (int)sizeof(*events) ||
	    events_unfit(events, max)) {
		int ms = tmo_ns < 0 ? -1 : (int)((tmo_ns + 999999) / 1000000);

		return REAL(epoll_pwait)(epfd, events, max, ms, mask);
	}
	for (bool first = true;; first = false) {
		int64_t rem = tmo_ns < 0 ? -1 : tmo_ns;
		size_t nl = ep->nloops;

		if (!first && atomic_load(&ep->closed))
			return 0; /* another thread closed it: this wait ends empty */

		if (!first || nl) {
			n = ep_collect(ep, epfd, events, max, 0, NULL, &kerr);
			if (n != 0)
				goto done;
			if (tmo_ns == 0)
				return 0;
		}
		if (tmo_ns > 0) {
			uint64_t el = velo_now_ns() - start;

			if (el >= (uint64_t)tmo_ns)
				return 0;
			rem = tmo_ns - el;
		}
		if (nl && spin_ns && velo_now_ns() - start < spin_ns) {
			unsigned int it;
			bool found = false;

			/* each look scans every member: the budget bounds the spin */
			for (it = 0; it < 256 && velo_now_ns() - start < spin_ns; it++) {
				found = ep_rings_ready(ep);
				if (found)
					break;
				__builtin_ia32_pause();
			}
			if (found)
				velo_spin_result(true);
			continue;
		}
		if (nl && spin_ns)
			velo_spin_result(false);
		if (nl)
			velo_stat_add(VELO_STAT_SLEEPS, 1); /* ep_collect arms them */
		n = ep_collect(ep, epfd, events, max, rem < 0 ? -1 : (int)((rem + 999999) / 1000000),
			       mask, &kerr);
		if (n != 0)
			goto done;
	}
done:
	if (n < 0)
		errno = kerr;
	return n;
}

static int mux_epoll(int epfd, struct epoll_event *events, int max, int64_t tmo_ns,
		     const sigset_t *mask)
{
	struct vepoll *ep = ep_get(epfd, false);
	int n, saved;

	n = ep_wait(ep, epfd, events, max, tmo_ns, mask);
	saved = errno;
	velo_epoll_put(ep);
	errno = saved;
	return n;
}

VELO_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int tmo)
{
	return mux_epoll(epfd, ev, max, tmo < 0 ? -1 : (int64_t)tmo * 1000000, NULL);
}

VELO_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int tmo,
			    const sigset_t *mask)
{
	if (mask_unfit(mask))
		return REAL(epoll_pwait)(epfd, ev, max, tmo, mask);
	return mux_epoll(epfd, ev, max, tmo < 0 ? -1 : (int64_t)tmo * 1000000, mask);
}

VELO_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			     const struct timespec *ts, const sigset_t *mask)
{
	if (mask_unfit(mask) || !velo_fd_epoll(epfd) ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)))
		return REAL(epoll_pwait2)(epfd, ev, max, ts, mask);
	return mux_epoll(epfd, ev, max, ts_to_ns(ts), mask);
}
