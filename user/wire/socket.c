// SPDX-License-Identifier: GPL-2.0
/*
 * The sockets API over a wire stack: each call takes the stack's lock, calls
 * the engine, pushes the resulting frames out (wire_progress) and, where the
 * caller blocks, sleeps in poll() on the calling thread's eventfd until the
 * socket's readiness changes (see wire.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "wire/priv.h"

#define EV_IN (VTCP_EV_READABLE | VTCP_EV_ERR | VTCP_EV_HUP)
#define EV_OUT (VTCP_EV_WRITABLE | VTCP_EV_ERR | VTCP_EV_HUP)

static pthread_key_t wait_fd_key;
static pthread_once_t wait_fd_once = PTHREAD_ONCE_INIT;
static __thread int wait_fd = -1;

/*
 * The calling thread's place in a socket's waiter list. Thread-local, not
 * on the stack: a signal handler that siglongjmp()s out of a wait leaves it
 * linked, and the thread's next wait (or its exit) takes it out.
 */
static __thread struct wire_waiter self_waiter;

static void waiter_unlink(struct wire_waiter *w)
{
	struct wire_waiter **pp = &w->st->socks[w->s].waiters;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	w->st = NULL;
}

/* A waiter left linked by a siglongjmp, from its stack (whose lock is not held). */
static void waiter_unlink_locked(struct wire_waiter *w)
{
	struct velo_wire_stack *st = w->st;

	pthread_mutex_lock(&st->lock);
	waiter_unlink(w);
	pthread_mutex_unlock(&st->lock);
}

/* The calling thread's waiter left by a siglongjmp, out; @st's lock held. */
static void drop_stale_waiter(struct velo_wire_stack *st)
{
	struct wire_waiter *w = &self_waiter;

	if (w->st == st) {
		waiter_unlink(w);
	} else if (w->st) { /* another stack's lock: never two held at once */
		pthread_mutex_unlock(&st->lock);
		waiter_unlink_locked(w);
		pthread_mutex_lock(&st->lock);
	}
}

static void wait_fd_destroy(void *fd)
{
	(void)fd; /* the number it was made with: it may have moved since (common/fd.h) */
	if (self_waiter.st)
		waiter_unlink_locked(&self_waiter);
	velo_fd_close(wait_fd);
	wait_fd = -1;
}

static void wait_fd_key_init(void)
{
	pthread_key_create(&wait_fd_key, wait_fd_destroy);
}

/* The calling thread's eventfd for blocking waits, made on first use. */
static int thread_wait_fd(void)
{
	if (wait_fd < 0) {
		pthread_once(&wait_fd_once, wait_fd_key_init);
		velo_fd_private(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), &wait_fd);
		if (wait_fd < 0)
			return -errno;
		/* stored +1: a NULL value runs no destructor */
		pthread_setspecific(wait_fd_key, (void *)(intptr_t)(wait_fd + 1));
	}
	return wait_fd;
}

static void fd_signal(int fd)
{
	if (write(fd, &(uint64_t){ 1 }, 8) != 8)
		velo_dbg("wire: eventfd write: %s", strerror(errno));
}

static void fd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, 8) < 0 && errno != EAGAIN)
		velo_dbg("wire: eventfd read: %s", strerror(errno));
}

/* Makes the ready fd readable exactly while events & interest. */
/* Has data arrived since the last look (for VELO_WIRE_EDGE)? */
static bool new_data(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	struct vtcp_queues q;
	bool more;

	if (vtcp_get_queues(st->eng, ws->eng, &q))
		return false;
	more = q.inq > ws->edge_inq;
	ws->edge_inq = q.inq;
	return more;
}

/*
 * Urgent data wakes every poller, whatever it waits for, and is a new edge
 * (it is new data, for Linux's edge-triggered epoll): the interposer moves
 * the connection at its next look (wire.h, VELO_WIRE_URGENT). So is any
 * event that was not there at the last look (a FIN making the socket
 * readable, space after the writer ran out), and any change of state (our
 * FIN acknowledged, say), as each is a wakeup on Linux (sk_state_change).
 */
static void ready_sync(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	unsigned int ev = vtcp_events(st->eng, st->socks[s].eng);
	unsigned int seen = ev & ws->interest;
	int state = vtcp_sock_state(st->eng, ws->eng);
	bool want = (ev & (ws->interest | VTCP_EV_URGENT)) != 0;
	bool urgent_new = (ev & VTCP_EV_URGENT) && !ws->urgent_told;
	bool edge = ((ws->interest & VELO_WIRE_EDGE) &&
		     (((ws->interest & VTCP_EV_READABLE) && new_data(st, s)) ||
		      (seen & ~ws->edge_ev) || state != ws->edge_state)) || urgent_new;

	ws->urgent_told = ev & VTCP_EV_URGENT;
	ws->edge_ev = seen;
	ws->edge_state = state;
	if (want && ws->ready_set && edge)
		fd_signal(ws->ready_fd); /* another edge for edge-triggered epoll */
	if (want == ws->ready_set)
		return;
	if (want)
		fd_signal(ws->ready_fd);
	else
		fd_drain(ws->ready_fd);
	ws->ready_set = want;
}

static void wake_waiters(struct wire_sock *ws)
{
	for (struct wire_waiter *w = ws->waiters; w; w = w->next)
		fd_signal(w->fd);
}

void wire_sock_changed(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];

	if ((unsigned int)s >= st->cfg.max_sockets || !ws->used)
		return;
	ready_sync(st, s);
	wake_waiters(ws);
}

/*
 * Sleeps, the lock dropped, until the socket's readiness changes or
 * @deadline (ns, UINT64_MAX: none). 0, -ETIMEDOUT or -EINTR.
 */
static int sleep_on(struct velo_wire_stack *st, int s, uint64_t deadline)
{
	struct wire_waiter *w = &self_waiter;
	struct timespec ts, *tsp = NULL;
	struct pollfd pfd;
	int r, err;

	drop_stale_waiter(st);
	if (!st->socks[s].used)
		return 0; /* closed meanwhile: the caller looks again */
	w->fd = thread_wait_fd();
	if (w->fd < 0)
		return w->fd;
	pfd = (struct pollfd){ .fd = w->fd, .events = POLLIN };
	w->st = st;
	w->s = s;
	w->next = st->socks[s].waiters;
	st->socks[s].waiters = w;
	if (deadline != UINT64_MAX) {
		uint64_t now = wire_now(), d = deadline > now ? deadline - now : 0;

		ts = (struct timespec){ .tv_sec = (time_t)(d / 1000000000u),
					.tv_nsec = (long)(d % 1000000000u) };
		tsp = &ts;
	}
	pthread_mutex_unlock(&st->lock);
	r = ppoll(&pfd, 1, tsp, NULL);
	err = errno;
	pthread_mutex_lock(&st->lock);
	if (w->st)
		waiter_unlink(w);
	fd_drain(w->fd);
	if (r < 0)
		return -err;
	return r ? 0 : -ETIMEDOUT;
}

static uint64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : wire_now() + (uint64_t)timeout_ms * 1000000u;
}

/*
 * Until the socket's readiness meets @mask: the mask, or -EAGAIN (non-blocking,
 * or the deadline passed), -EINTR, -EBADF (closed meanwhile).
 */
static int wait_events(struct velo_wire_stack *st, int s, unsigned int mask, bool nonblock,
		       uint64_t deadline)
{
	uint32_t gen = st->socks[s].gen;
	unsigned int ev;
	int err;

	for (;;) {
		if (!st->socks[s].used || st->socks[s].gen != gen)
			return -EBADF; /* closed meanwhile, maybe reused */
		ev = vtcp_events(st->eng, st->socks[s].eng);
		if (ev & mask)
			return (int)ev;
		if (nonblock)
			return -EAGAIN;
		err = sleep_on(st, s, deadline);
		if (err)
			return err == -ETIMEDOUT ? -EAGAIN : err;
	}
}

/*
 * The application's handle @ws is gone (its engine socket closed or moved);
 * its ready fd is closed unless @ready_fd takes it.
 */
static void sock_release(struct velo_wire_stack *st, struct wire_sock *ws, uint64_t linger,
			 int *ready_fd)
{
	st->wire_of[ws->eng] = -1;
	wire_refused_free(ws);
	wire_hold_put(st, ws->hold, linger);
	wire_hold_put(st, ws->hold4, linger);
	wire_port_release(ws->resv);
	ws->used = false;
	wake_waiters(ws); /* they find the socket gone: EBADF */
	if (ready_fd) {
		*ready_fd = ws->ready_fd;
		velo_fd_rehome(ws->ready_fd, NULL);
	} else {
		velo_fd_close(ws->ready_fd);
	}
}

/* Locks the stack if @s is one of its sockets. */
static int lock_sock(struct velo_wire_stack *st, int s)
{
	pthread_mutex_lock(&st->lock);
	drop_stale_waiter(st);
	if (s >= 0 && (unsigned int)s < st->cfg.max_sockets && st->socks[s].used)
		return 0;
	pthread_mutex_unlock(&st->lock);
	return -EBADF;
}

/* Pushes the call's frames out and reports readiness changes. */
static ssize_t unlock_after(struct velo_wire_stack *st, ssize_t ret)
{
	wire_progress(st);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Maps engine socket @eng to a new wire handle, with its ready fd. */
static int sock_new(struct velo_wire_stack *st, int eng)
{
	struct wire_sock *ws;
	unsigned int s;
	uint32_t gen;

	for (s = 0; s < st->cfg.max_sockets && st->socks[s].used; s++)
		;
	if (s == st->cfg.max_sockets)
		return -ENOBUFS;
	ws = &st->socks[s];
	gen = ws->gen + 1;
	memset(ws, 0, sizeof(*ws));
	ws->gen = gen;
	velo_fd_private(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), &ws->ready_fd);
	if (ws->ready_fd < 0)
		return -errno;
	ws->used = true;
	ws->bound = false;
	ws->eng = eng;
	ws->resv = -1;
	ws->interest = EV_IN;
	st->wire_of[eng] = (int)s;
	ready_sync(st, (int)s);
	return (int)s;
}

int velo_wire_socket(struct velo_wire_stack *st, int family)
{
	int s, eng;

	pthread_mutex_lock(&st->lock);
	s = eng = vtcp_socket(st->eng, family);
	if (eng >= 0 && (s = sock_new(st, eng)) < 0)
		vtcp_close(st->eng, eng);
	else if (s >= 0)
		st->socks[s].family = family;
	pthread_mutex_unlock(&st->lock);
	return s;
}

/*
 * Gives wire socket @s a fresh engine socket, with the options the
 * application set: an engine socket whose connect failed cannot connect again.
 */
int wire_sock_renew(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	int eng = vtcp_socket(st->eng, ws->family);

	if (eng < 0)
		return eng;
	for (unsigned int opt = 0; opt < WIRE_OPTS; opt++)
		if (ws->opt_set & (1u << opt))
			vtcp_setopt(st->eng, eng, (enum vtcp_opt)opt, ws->opt_val[opt]);
	if (ws->linger_set)
		vtcp_set_linger(st->eng, eng, ws->linger_on, ws->linger_s);
	if (ws->cc[0])
		vtcp_set_cc(st->eng, eng, ws->cc);
	st->wire_of[ws->eng] = -1;
	vtcp_close(st->eng, ws->eng);
	ws->eng = eng;
	st->wire_of[eng] = s;
	return 0;
}

static socklen_t sa_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/*
 * The kernel reservation of a:port (port 0: the kernel picks), then the
 * engine's bind. @reserve false: the caller's kernel socket holds the port.
 */
static int bind_locked(struct velo_wire_stack *st, int s, const struct sockaddr *a, bool reserve)
{
	struct wire_sock *ws = &st->socks[s];
	struct sockaddr_storage ss;
	uint16_t port;
	int fd = -1, err;

	if (ws->bound)
		return -EINVAL;
	port = ntohs(((const struct sockaddr_in *)a)->sin_port); /* same offset in sin6 */
	if (reserve)
		fd = wire_port_reserve(a, &port);
	/* a port this stack already holds (a listener's children, say): the engine decides */
	if (fd == -EADDRINUSE && wire_hold_of_port(st, a))
		fd = -1;
	else if (fd < 0 && reserve)
		return fd;
	memcpy(&ss, a, sa_len(a->sa_family));
	((struct sockaddr_in *)&ss)->sin_port = htons(port); /* same offset in sin6 */
	err = vtcp_bind(st->eng, st->socks[s].eng, (struct sockaddr *)&ss, sa_len(a->sa_family));
	if (err) {
		wire_port_release(fd);
		return err;
	}
	ws->resv = fd;
	velo_fd_rehome(fd, &ws->resv);
	ws->bound = true;
	return 0;
}

static bool bad_addr(const struct sockaddr *a, socklen_t len)
{
	return !a || len < sizeof(sa_family_t) || len < sa_len(a->sa_family) ||
	       (a->sa_family != AF_INET && a->sa_family != AF_INET6);
}

int velo_wire_bind(struct velo_wire_stack *st, int s, const struct sockaddr *a, socklen_t len)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = bad_addr(a, len) ? -EINVAL : bind_locked(st, s, a, true);
	pthread_mutex_unlock(&st->lock);
	return err;
}

/* The socket's own tuple as its filter: remote zero for a listener. */
static int sock_flow(struct velo_wire_stack *st, int s, struct velo_xsk_flow *flow)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	memset(flow, 0, sizeof(*flow));
	err = vtcp_getsockname(st->eng, st->socks[s].eng, (struct sockaddr *)&ss, &len);
	if (err)
		return err;
	flow->family = ss.ss_family;
	wire_sa_bytes((struct sockaddr *)&ss, flow->local_addr, &flow->local_port);
	len = sizeof(ss);
	if (vtcp_getpeername(st->eng, st->socks[s].eng, (struct sockaddr *)&ss, &len) == 0)
		wire_sa_bytes((struct sockaddr *)&ss, flow->remote_addr, &flow->remote_port);
	return 0;
}

/* Binds an unbound socket to the wildcard address and a port the kernel picks. */
static int bind_any(struct velo_wire_stack *st, int s, int family)
{
	struct sockaddr_storage any = { .ss_family = (sa_family_t)family };

	return bind_locked(st, s, (struct sockaddr *)&any, true);
}

/* Moves the reservation into a filter for the socket's tuple. */
static int hold_own(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	struct velo_xsk_flow flow;
	int err = sock_flow(st, s, &flow);

	if (!err)
		err = wire_hold_get(st, &flow, ws->resv, &ws->hold);
	if (!err)
		ws->resv = -1;
	return err;
}

/*
 * An AF_INET6 listener on :: without IPV6_V6ONLY takes IPv4 connections
 * too (as ::ffff:a.b.c.d): its port gets an IPv4 filter beside its own.
 * Without one (the port's IPv4 side is someone else's), IPv4 clients go
 * to the kernel's listener.
 */
static void hold_ipv4(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	struct velo_xsk_flow flow, flow4 = { .family = AF_INET };
	int v6only = 1, err;

	if (ws->family != AF_INET6 || ws->hold4 || sock_flow(st, s, &flow) ||
	    vtcp_getopt(st->eng, ws->eng, VTCP_V6ONLY, &v6only) || v6only ||
	    !IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)flow.local_addr))
		return;
	flow4.local_port = flow.local_port;
	err = wire_hold_get(st, &flow4, -1, &ws->hold4);
	if (err)
		velo_dbg("wire: no IPv4 filter for a dual-stack listener: %s", strerror(-err));
}

static int listen_locked(struct velo_wire_stack *st, int s, int backlog)
{
	struct wire_sock *ws = &st->socks[s];
	int err = 0;

	wire_sysctls_refresh(st);
	if (!ws->bound)
		err = bind_any(st, s, ws->family);
	if (!err)
		err = vtcp_listen(st->eng, ws->eng, backlog);
	if (!err && !ws->hold)
		err = hold_own(st, s);
	if (!err)
		hold_ipv4(st, s);
	return err;
}

int velo_wire_listen(struct velo_wire_stack *st, int s, int backlog)
{
	int err = lock_sock(st, s);

	return err ? err : unlock_after(st, listen_locked(st, s, backlog));
}

int velo_wire_listen_on(struct velo_wire_stack *st, int s, const struct sockaddr *a,
			socklen_t len, int backlog)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = bad_addr(a, len) ? -EINVAL : bind_locked(st, s, a, false);
	if (!err)
		err = listen_locked(st, s, backlog);
	return unlock_after(st, err);
}

/* An engine connection of a dual-stack listener's from an IPv4 peer. */
static bool accepted_over_ipv4(struct velo_wire_stack *st, int eng)
{
	struct sockaddr_in6 self;
	socklen_t len = sizeof(self);

	return !vtcp_getsockname(st->eng, eng, (struct sockaddr *)&self, &len) &&
	       self.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&self.sin6_addr);
}

int velo_wire_accept(struct velo_wire_stack *st, int s, struct sockaddr *peer, socklen_t *len,
		     bool nonblock, int timeout_ms)
{
	uint64_t deadline = deadline_of(timeout_ms);
	int a, eng, err = lock_sock(st, s);

	if (err)
		return err;
	while ((eng = vtcp_accept(st->eng, st->socks[s].eng, peer, len)) == -EAGAIN) {
		err = wait_events(st, s, EV_IN, nonblock, deadline);
		if (err < 0) {
			eng = err;
			break;
		}
	}
	a = eng;
	if (eng >= 0) {
		a = sock_new(st, eng);
		if (a < 0) {
			vtcp_abort(st->eng, eng);
		} else {
			/* the listener's filter carries the child's frames */
			st->socks[a].family = st->socks[s].family;
			st->socks[a].bound = true;
			st->socks[a].hold = accepted_over_ipv4(st, eng) ? st->socks[s].hold4 :
									  st->socks[s].hold;
			st->socks[a].hold->refs++;
		}
	}
	return unlock_after(st, a);
}

/*
 * A connect that failed (refused, timed out) leaves Linux's socket
 * unconnected, and its automatic port goes: the next connect() starts
 * afresh. The engine's handle connects once: a new one takes its place.
 */
static int retry_after_failure(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	int err = wire_sock_renew(st, s);

	if (err)
		return err;
	wire_hold_put(st, ws->hold, 0);
	ws->hold = NULL;
	ws->bound = false;
	return 0;
}

static int connect_locked(struct velo_wire_stack *st, int s, const struct sockaddr *a,
			  socklen_t len)
{
	struct wire_sock *ws = &st->socks[s];
	struct sockaddr_storage src;
	int err;

	if (ws->hold) { /* connecting or connected: the engine says which */
		err = vtcp_connect(st->eng, st->socks[s].eng, a, len);
		if (err != -ENOTCONN)
			return err;
		err = retry_after_failure(st, s);
		if (err)
			return err;
	}
	if (len < sizeof(sa_family_t) || len < sa_len(a->sa_family))
		return -EINVAL;
	wire_sysctls_refresh(st);
	if (!ws->bound && st->cfg.shared.initial) {
		err = wire_pool_connect(st, s, a, len);
		if (err == -EINPROGRESS)
			wire_neigh_refresh(st);
		if (err)
			return err;
	}
	if (!ws->bound) {
		err = wire_route_src(st, a, &src);
		if (!err)
			err = bind_locked(st, s, (struct sockaddr *)&src, true);
		if (err)
			return err;
	}
	err = vtcp_connect(st->eng, st->socks[s].eng, a, len);
	if (err != -EINPROGRESS)
		return err;
	/* the SYN leaves at the next poll: the filter is in place before */
	wire_neigh_refresh(st);
	err = hold_own(st, s);
	if (err) {
		velo_warn("wire: no filter for a connection: %s", strerror(-err));
		return err;
	}
	return -EINPROGRESS;
}

int velo_wire_connect(struct velo_wire_stack *st, int s, const struct sockaddr *a,
		      socklen_t len, bool nonblock, int timeout_ms)
{
	int err = lock_sock(st, s), ev;

	if (err)
		return err;
	if (!a) {
		pthread_mutex_unlock(&st->lock);
		return -EFAULT;
	}
	err = connect_locked(st, s, a, len);
	if (err == -EINPROGRESS && !nonblock) {
		wire_progress(st);
		ev = wait_events(st, s, EV_OUT, false, deadline_of(timeout_ms));
		if (ev == -EAGAIN)
			err = -EINPROGRESS; /* SO_SNDTIMEO passed, as Linux says */
		else if (ev < 0)
			err = ev;
		else /* the handshake ended: connect() says how, as Linux's */
			err = vtcp_connect(st->eng, st->socks[s].eng, a, len);
	}
	return unlock_after(st, err);
}

/*
 * What socket @s takes now of @iov, up to @max bytes, from piece *@i at *@off on:
 * each piece with MSG_MORE but the last (@last), as Linux's one sendmsg
 * builds its segments. The stack's lock is held throughout, so no segment
 * that comes meanwhile (an RST) is seen between two pieces, as none is
 * within Linux's call. Returns the bytes taken, or the engine's error.
 */
static ssize_t sendv_room(struct velo_wire_stack *st, int s, const struct iovec *iov, int last,
			  size_t max, unsigned int more, int *i, size_t *off)
{
	ssize_t n = 0, took = 0;

	for (; *i <= last && (size_t)took < max; (*i)++, *off = 0) {
		size_t want = iov[*i].iov_len - *off;

		if (want > max - (size_t)took)
			want = max - (size_t)took;
		if (!want)
			continue;
		n = vtcp_send(st->eng, st->socks[s].eng, (const char *)iov[*i].iov_base + *off, want,
			      *i < last || (size_t)took + want < max ? VTCP_MSG_MORE : more);
		if (n > 0) {
			took += n;
			*off += (size_t)n;
		}
		if (n <= 0 || (size_t)n < want)
			break;
	}
	return took ? took : n < 0 ? n : -EAGAIN;
}

ssize_t velo_wire_sendv(struct velo_wire_stack *st, int s, const struct iovec *iov, int cnt,
			size_t max, int flags, int timeout_ms)
{
	unsigned int more = flags & MSG_MORE ? VTCP_MSG_MORE : 0;
	uint64_t deadline = deadline_of(timeout_ms);
	ssize_t n = 0, sent = 0;
	int err = lock_sock(st, s), i = 0, last = cnt - 1;
	size_t off = 0;

	if (err)
		return err;
	while (last > 0 && !iov[last].iov_len)
		last--;
	if (!max) /* nothing to send: the engine still says EPIPE after shutdown */
		n = vtcp_send(st->eng, st->socks[s].eng, "", 0, more);
	for (bool acked = false; max; acked = !acked) {
		n = sendv_room(st, s, iov, last, max - (size_t)sent, more, &i, &off);
		if (n > 0 && (size_t)(sent += n) == max)
			break;
		if (n < 0 && n != -EAGAIN)
			break;
		wire_progress(st); /* what was queued leaves while we wait */
		/*
		 * The ACKs that came meanwhile free room now, as Linux's softirq
		 * would have before this call: take any of it before sleeping
		 * (which waits for a third of the buffer, sk_stream_write_space())
		 */
		if (!acked)
			continue;
		n = wait_events(st, s, EV_OUT, flags & MSG_DONTWAIT, deadline);
		if (n < 0)
			break;
	}
	/* a partial send reports its count, as Linux does after a signal or timeout */
	return unlock_after(st, sent ? sent : n < 0 ? n : 0);
}

ssize_t velo_wire_send(struct velo_wire_stack *st, int s, const void *buf, size_t len,
		       int flags, int timeout_ms)
{
	struct iovec one = { (void *)buf, len };

	return velo_wire_sendv(st, s, &one, 1, len, flags, timeout_ms);
}

ssize_t velo_wire_recv(struct velo_wire_stack *st, int s, void *buf, size_t len, int flags,
		       int timeout_ms)
{
	unsigned int vflags = flags & MSG_PEEK ? VTCP_MSG_PEEK : 0;
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	bool peek_all = (flags & MSG_WAITALL) && (flags & MSG_PEEK) && !(flags & MSG_DONTWAIT);
	uint64_t deadline = deadline_of(timeout_ms);
	ssize_t n, got = 0;
	int err = lock_sock(st, s);

	if (err)
		return err;
	for (;;) {
		n = vtcp_recv(st->eng, st->socks[s].eng, (char *)buf + got, len - (size_t)got, vflags);
		/*
		 * MSG_PEEK with MSG_WAITALL peeks on until @len bytes are there
		 * (tcp_recvmsg()), or EOF, an error, a signal or the timeout,
		 * which return what is there
		 */
		if (n > 0 && (size_t)n < len && peek_all &&
		    !(vtcp_events(st->eng, st->socks[s].eng) &
		      (VTCP_EV_RDHUP | VTCP_EV_HUP | VTCP_EV_ERR | VTCP_EV_URGENT)) &&
		    !sleep_on(st, s, deadline))
			continue;
		if (n > 0 && (got += n) < (ssize_t)len && waitall)
			continue;
		if (n != -EAGAIN || (got && !waitall))
			break;
		/* all before the urgent mark is read (MSG_WAITALL stops there, as Linux's) */
		if (vtcp_events(st->eng, st->socks[s].eng) & VTCP_EV_URGENT) {
			n = -VELO_WIRE_URGENT;
			break;
		}
		/*
		 * What we read may have opened the window: announce it before
		 * sleeping, or a MSG_WAITALL reader waits for data the peer
		 * holds back until its persist probe. (A non-blocking call
		 * returns now: unlock_after() sends it.)
		 */
		if (!(flags & MSG_DONTWAIT))
			wire_progress(st);
		n = wait_events(st, s, EV_IN | VTCP_EV_URGENT, flags & MSG_DONTWAIT, deadline);
		if (n < 0)
			break;
	}
	/* the window update, if the read opened it, leaves now */
	return unlock_after(st, got ? got : n);
}

int velo_wire_shutdown(struct velo_wire_stack *st, int s, int how)
{
	int err = lock_sock(st, s), r;

	if (err)
		return err;
	r = vtcp_shutdown(st->eng, st->socks[s].eng, how);
	if (!r) {
		/* inet_shutdown() wakes the socket's waiters: an EPOLLET edge */
		st->socks[s].edge_ev = 0;
		ready_sync(st, s);
	}
	return unlock_after(st, r);
}

/* Whether our FIN is out and not yet acknowledged (or data still before it). */
static bool fin_pending(struct velo_wire_stack *st, int eng)
{
	struct vtcp_info ti;

	if (vtcp_get_info(st->eng, eng, &ti))
		return false;
	return ti.tcpi_state == VTCP_FIN_WAIT1 || ti.tcpi_state == VTCP_CLOSING ||
	       ti.tcpi_state == VTCP_LAST_ACK;
}

/*
 * SO_LINGER {1, t}: close() waits up to t seconds for the peer to
 * acknowledge the data and the FIN, as Linux's tcp_close() does (whether
 * or not the socket is non-blocking). Unread data makes the close a reset:
 * nothing to wait for. A signal ends the wait.
 */
static void linger_wait(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	struct vtcp_queues q;
	uint64_t deadline;

	if (!ws->linger_set || !ws->linger_on || ws->linger_s <= 0 ||
	    vtcp_get_queues(st->eng, ws->eng, &q) || q.inq ||
	    vtcp_shutdown(st->eng, ws->eng, SHUT_WR))
		return;
	deadline = wire_now() + (uint64_t)ws->linger_s * 1000000000u;
	wire_progress(st);
	while (fin_pending(st, ws->eng) && wire_now() < deadline) {
		/* the ACK of the FIN changes no readiness: look again every 10 ms */
		uint64_t step = wire_now() + 10000000u;

		if (sleep_on(st, s, step < deadline ? step : deadline) == -EINTR)
			break;
		wire_progress(st);
	}
}

/*
 * The engine takes the data it refused for urgent data after all: no
 * longer refused, the frames go through it again, in the order they came.
 */
static void take_refused(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws = &st->socks[s];
	uint64_t now = wire_now();

	vtcp_setopt(st->eng, ws->eng, VTCP_REFUSE_URGENT, 0);
	ws->opt_val[VTCP_REFUSE_URGENT] = 0;
	for (struct wire_frame *fr = ws->refused; fr; fr = fr->next)
		vtcp_input(st->eng, fr->data, fr->len, now);
	wire_refused_free(ws);
}

int velo_wire_urgent_inline(struct velo_wire_stack *st, int s)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	take_refused(st, s);
	return (int)unlock_after(st, 0);
}

int velo_wire_close(struct velo_wire_stack *st, int s)
{
	struct vtcp_info ti = { 0 };
	struct wire_sock *ws;
	uint64_t linger = 0;
	int err = lock_sock(st, s);

	if (err)
		return err;
	/* what was refused for urgent data is unread data, which makes Linux's close reset */
	if (vtcp_events(st->eng, st->socks[s].eng) & VTCP_EV_URGENT)
		take_refused(st, s);
	linger_wait(st, s);
	ws = &st->socks[s];
	/* a connection may live on in the engine (FIN_WAIT, TIME_WAIT): keep its filter */
	if (vtcp_get_info(st->eng, st->socks[s].eng, &ti) == 0 && ti.tcpi_state != VTCP_CLOSE &&
	    ti.tcpi_state != VTCP_LISTEN)
		linger = st->linger_ns;
	err = vtcp_close(st->eng, ws->eng);
	sock_release(st, ws, linger, NULL);
	return unlock_after(st, err);
}

/*
 * Whether the stack's steering lets @ws's segments go to the kernel once
 * @ws lets go: the mlx5 provider's rules take everything a 3-tuple filter
 * matches (a listener's, a shared local port's); the XDP program and the
 * soft provider leave the kernel its own connections.
 */
static bool kernel_reachable(struct velo_wire_stack *st, const struct wire_sock *ws)
{
	const struct wire_hold *h = ws->hold;

	return st->io->kind != VELO_WIRE_KO || !velo_ko_hw_steering(st->ko.k) || !h ||
	       (!h->pool && h->refs == 1);
}

int velo_wire_disconnect(struct velo_wire_stack *st, int s)
{
	struct wire_sock *ws;
	int err = lock_sock(st, s);

	if (err)
		return err;
	ws = &st->socks[s];
	err = vtcp_abort(st->eng, ws->eng);
	sock_release(st, ws, 0, NULL);
	return (int)unlock_after(st, err);
}

bool velo_wire_sleepers(struct velo_wire_stack *st, int s)
{
	bool any;

	if (lock_sock(st, s))
		return false;
	any = st->socks[s].waiters != NULL;
	pthread_mutex_unlock(&st->lock);
	return any;
}

int velo_wire_to_kernel(struct velo_wire_stack *st, int s, int fd, int *ready_fd)
{
	struct vtcp_export x;
	struct wire_sock *ws;
	int err = lock_sock(st, s);

	if (err)
		return err;
	ws = &st->socks[s];
	wire_progress(st); /* the segments that came, first */
	err = kernel_reachable(st, ws) ? vtcp_export(st->eng, ws->eng, &x) : -EOPNOTSUPP;
	if (!err)
		err = wire_repair_into(fd, &x, st->ifindex, ws->refused);
	if (!err) {
		vtcp_release_moved(st->eng, ws->eng);
		sock_release(st, ws, 0, ready_fd); /* the filter goes: the kernel gets the segments */
		st->stats.moved_to_kernel++;
	}
	return (int)unlock_after(st, err);
}

int velo_wire_getsockname(struct velo_wire_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_getsockname(st->eng, st->socks[s].eng, a, len);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_getpeername(struct velo_wire_stack *st, int s, struct sockaddr *a, socklen_t *len)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_getpeername(st->eng, st->socks[s].eng, a, len);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_setsockopt(struct velo_wire_stack *st, int s, enum vtcp_opt opt, int val)
{
	struct wire_sock *ws;
	int err = lock_sock(st, s);

	if (err)
		return err;
	ws = &st->socks[s];
	err = vtcp_setopt(st->eng, ws->eng, opt, val);
	if (!err && (unsigned int)opt < WIRE_OPTS) {
		ws->opt_set |= 1u << opt;
		ws->opt_val[opt] = val;
	}
	return unlock_after(st, err);
}

int velo_wire_getsockopt(struct velo_wire_stack *st, int s, enum vtcp_opt opt, int *val)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_getopt(st->eng, st->socks[s].eng, opt, val);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_set_linger(struct velo_wire_stack *st, int s, int onoff, int seconds)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_set_linger(st->eng, st->socks[s].eng, onoff, seconds);
	if (!err) {
		st->socks[s].linger_set = true;
		st->socks[s].linger_on = onoff;
		st->socks[s].linger_s = seconds;
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_incoming_cpu(struct velo_wire_stack *st)
{
	int cpu;

	pthread_mutex_lock(&st->lock);
	cpu = st->rx_cpu;
	pthread_mutex_unlock(&st->lock);
	return cpu;
}

int velo_wire_set_max_pacing_rate(struct velo_wire_stack *st, int s, uint64_t rate)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_set_max_pacing_rate(st->eng, st->socks[s].eng, rate);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_set_congestion(struct velo_wire_stack *st, int s, const char *name)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_set_cc(st->eng, st->socks[s].eng, name);
	if (!err)
		snprintf(st->socks[s].cc, sizeof(st->socks[s].cc), "%s", name);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_get_info(struct velo_wire_stack *st, int s, struct vtcp_info *ti)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	wire_progress(st); /* its times are ages: the engine's clock must be now */
	err = vtcp_get_info(st->eng, st->socks[s].eng, ti);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_get_queues(struct velo_wire_stack *st, int s, struct vtcp_queues *q)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_get_queues(st->eng, st->socks[s].eng, q);
	pthread_mutex_unlock(&st->lock);
	return err;
}

int velo_wire_sock_error(struct velo_wire_stack *st, int s)
{
	int err = lock_sock(st, s);

	if (err)
		return err;
	err = vtcp_sock_error(st->eng, st->socks[s].eng);
	ready_sync(st, s);
	pthread_mutex_unlock(&st->lock);
	return err;
}

unsigned int velo_wire_events(struct velo_wire_stack *st, int s)
{
	unsigned int ev;

	if (lock_sock(st, s))
		return VTCP_EV_ERR | VTCP_EV_HUP;
	ev = vtcp_events(st->eng, st->socks[s].eng);
	pthread_mutex_unlock(&st->lock);
	return ev;
}

int velo_wire_ready_fd(struct velo_wire_stack *st, int s)
{
	int fd = lock_sock(st, s);

	if (fd)
		return fd;
	fd = st->socks[s].ready_fd;
	pthread_mutex_unlock(&st->lock);
	return fd;
}

void velo_wire_set_interest(struct velo_wire_stack *st, int s, unsigned int events)
{
	if (lock_sock(st, s))
		return;
	st->socks[s].interest = events;
	ready_sync(st, s);
	pthread_mutex_unlock(&st->lock);
}

int velo_wire_wait(struct velo_wire_stack *st, int s, unsigned int events, int timeout_ms)
{
	int ev = lock_sock(st, s);

	if (ev)
		return ev;
	ev = wait_events(st, s, events, timeout_ms == 0, deadline_of(timeout_ms));
	pthread_mutex_unlock(&st->lock);
	return ev == -EAGAIN ? 0 : ev;
}
