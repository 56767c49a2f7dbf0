// SPDX-License-Identifier: GPL-2.0
/*
 * The wire backend (experimental, VELO_WIRE=on): a TCP connection to another
 * host, whose route leaves through an interface where AF_XDP works, is run
 * by velo's engine on that interface's queues (user/wire) instead of the
 * kernel.
 *
 * The application's fd stays the kernel socket it created. It is the file
 * that dup, close, fcntl flags and CLOEXEC act on, and until connect() it
 * holds the options the application set. At connect(), if the socket is not
 * bound (a bound port belongs to the kernel) and the destination's route
 * has a wire stack, an engine socket makes the connection with those
 * options, and the kernel socket stays unconnected. From then on data,
 * shutdown, names, TCP options and SO_ERROR come from the engine, and
 * poll waits on the engine socket's ready eventfd in place of the fd.
 *
 * Not yet: listening sockets (accept stays the kernel's), epoll on wire
 * sockets, MSG_OOB and ioctl queue sizes. A forked child cannot use its
 * parent's wire connections (they live in the parent's engine): its calls
 * on them fail with ENOTCONN, its close() only drops its reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "preload/velo.h"
#include "wire/wire.h"

atomic_uint velo_wire_count;

/* Engine options mirrored from the kernel socket at connect, and later. */
static const struct {
	int level, name;
	enum vtcp_opt opt;
} mirrored[] = {
	{ IPPROTO_TCP, TCP_NODELAY, VTCP_NODELAY },
	{ IPPROTO_TCP, TCP_CORK, VTCP_CORK },
	{ SOL_SOCKET, SO_KEEPALIVE, VTCP_KEEPALIVE },
	{ IPPROTO_TCP, TCP_KEEPIDLE, VTCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL, VTCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT, VTCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, VTCP_USER_TIMEOUT },
	{ IPPROTO_TCP, TCP_QUICKACK, VTCP_QUICKACK },
};

static int mirrored_opt(int level, int name)
{
	for (unsigned int i = 0; i < sizeof(mirrored) / sizeof(mirrored[0]); i++)
		if (mirrored[i].level == level && mirrored[i].name == name)
			return (int)i;
	return -1;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* A forked child's copy: the connection is the parent's. */
static bool gone(const struct vsock *vs)
{
	return !vs->wst;
}

/* SO_RCVTIMEO/SO_SNDTIMEO of the kernel socket in ms, -1 for none. */
static int timeo_ms(int fd, int name)
{
	struct timeval tv = { 0, 0 };
	socklen_t l = sizeof(tv);

	if (REAL(getsockopt)(fd, SOL_SOCKET, name, &tv, &l) < 0 || (!tv.tv_sec && !tv.tv_usec))
		return -1;
	return (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

void velo_wire_vs_sockopt_changed(struct vsock *vs, int fd, int level, int name)
{
	int i = mirrored_opt(level, name), v = 0;
	socklen_t l = sizeof(v);

	if (gone(vs))
		return;
	if (level == SOL_SOCKET && name == SO_RCVTIMEO)
		atomic_store(&vs->w_rcvtimeo, timeo_ms(fd, SO_RCVTIMEO));
	else if (level == SOL_SOCKET && name == SO_SNDTIMEO)
		atomic_store(&vs->w_sndtimeo, timeo_ms(fd, SO_SNDTIMEO));
	else if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger lg = { 0, 0 };

		l = sizeof(lg);
		if (!REAL(getsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, &l))
			velo_wire_set_linger(vs->wst, vs->ws, lg.l_onoff, lg.l_linger);
	} else if (i >= 0 && !REAL(getsockopt)(fd, level, name, &v, &l)) {
		velo_wire_setsockopt(vs->wst, vs->ws, mirrored[i].opt, v);
	}
}

static void copy_options(struct vsock *vs, int fd)
{
	for (unsigned int i = 0; i < sizeof(mirrored) / sizeof(mirrored[0]); i++)
		velo_wire_vs_sockopt_changed(vs, fd, mirrored[i].level, mirrored[i].name);
	velo_wire_vs_sockopt_changed(vs, fd, SOL_SOCKET, SO_RCVTIMEO);
	velo_wire_vs_sockopt_changed(vs, fd, SOL_SOCKET, SO_SNDTIMEO);
	velo_wire_vs_sockopt_changed(vs, fd, SOL_SOCKET, SO_LINGER);
}

/* Loopback and this host's own addresses are the loopback backend's. */
static bool wire_candidate(int fd, const struct sockaddr *a, socklen_t l)
{
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);

	if (!velo_cfg.wire || !a)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)a;

		if (l < sizeof(*s) || (ntohl(s->sin_addr.s_addr) >> 24) == 127)
			return false;
	} else if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)a;

		if (l < sizeof(*s) || IN6_IS_ADDR_LOOPBACK(&s->sin6_addr) ||
		    IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			return false;
	} else {
		return false;
	}
	if (!velo_config_accelerate(&velo_cfg, a, velo_prog))
		return false;
	/* a port the application bound is the kernel's */
	if (REAL(getsockname)(fd, (struct sockaddr *)&self, &sl) < 0)
		return false;
	if (self.ss_family == AF_INET)
		return !((struct sockaddr_in *)&self)->sin_port;
	return self.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&self)->sin6_port;
}


/* The wire library's settings from velo's configuration, once. */
static void wire_config(void)
{
	struct velo_wire_config wc;

	velo_wire_config_default(&wc);
	wc.shared.initial = (unsigned int)velo_cfg.sp_initial;
	if (velo_cfg.sp_max)
		wc.shared.max = (unsigned int)velo_cfg.sp_max;
	if (velo_cfg.sp_step)
		wc.shared.step = (unsigned int)velo_cfg.sp_step;
	if (velo_cfg.sp_per_ip_max)
		wc.shared.per_ip_max = (unsigned int)velo_cfg.sp_per_ip_max;
	wc.shared.per_ip = velo_cfg.sp_per_ip;
	wc.shared.no_fallback = velo_cfg.sp_no_fallback;
	wc.shared.reuse_fast = velo_cfg.sp_reuse_fast;
	velo_wire_set_config(&wc);
}

bool velo_wire_try_connect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l,
			   int *ret)
{
	static pthread_once_t configured = PTHREAD_ONCE_INIT;

	struct velo_wire_stack *st;
	int err, s, fl;

	if (atomic_load(&vs->state) != VELO_SS_PENDING || !wire_candidate(fd, a, l))
		return false;
	pthread_once(&configured, wire_config);
	st = velo_wire_stack_for(a, &err);
	if (!st) {
		velo_dbg("fd %d: no wire stack for the destination (%s): kernel", fd, strerror(-err));
		return false;
	}
	s = velo_wire_socket(st, vs->family);
	if (s < 0)
		return false;
	pthread_mutex_lock(&vs->mu);
	vs->wst = st;
	vs->ws = s;
	copy_options(vs, fd);
	fl = REAL(fcntl)(fd, F_GETFL);
	atomic_store(&vs->w_nonblock, fl >= 0 && (fl & O_NONBLOCK));
	atomic_store(&vs->state, VELO_SS_WIRE);
	pthread_mutex_unlock(&vs->mu);
	atomic_fetch_add(&velo_wire_count, 1);
	velo_stat_add(VELO_STAT_WIRE_CONNECTS, 1);
	velo_slot_update(vs, fd);
	velo_epoll_socket_wired(vs);
	velo_dbg("fd %d: connecting through the engine on the wire", fd);
	err = velo_wire_connect(st, s, a, l, atomic_load(&vs->w_nonblock),
				atomic_load(&vs->w_sndtimeo));
	*ret = err ? fail(-err) : 0;
	return true;
}

int velo_wire_vs_connect(struct vsock *vs, const struct sockaddr *a, socklen_t l)
{
	int err = gone(vs) ? -EISCONN : velo_wire_connect(vs->wst, vs->ws, a, l, atomic_load(&vs->w_nonblock),
				    atomic_load(&vs->w_sndtimeo));

	return err ? fail(-err) : 0;
}

void velo_wire_vs_set_nonblock(struct vsock *vs, bool nb)
{
	atomic_store(&vs->w_nonblock, nb);
}

/*
 * An interrupted wait: with nothing moved, the kernel restarts the call
 * under SA_RESTART unless the socket has a timeout (SO_*TIMEO waits are
 * never restarted), else it returns EINTR.
 */
static bool restart_after_eintr(int timeout_ms)
{
	return timeout_ms < 0 && velo_all_handlers_restart();
}

void velo_wire_vs_after_fork(struct vsock *vs)
{
	vs->wst = NULL;
}

ssize_t velo_wire_vs_recv(struct vsock *vs, const struct iovec *iov, int cnt, int flags)
{
	bool nb = (flags & MSG_DONTWAIT) || atomic_load(&vs->w_nonblock);
	int tmo = atomic_load(&vs->w_rcvtimeo), f = flags & (MSG_PEEK | MSG_WAITALL);
	size_t done = 0;

	if (gone(vs))
		return fail(ENOTCONN);
	if (flags & MSG_OOB)
		return fail(EINVAL); /* no urgent data on the engine path */
	for (int i = 0; i < cnt; i++) {
		ssize_t r;

		if (!iov[i].iov_len)
			continue;
		if (velo_bad_range(iov[i].iov_base, iov[i].iov_len))
			return done ? (ssize_t)done : fail(EFAULT);
		/* only the first piece waits, unless MSG_WAITALL */
		r = velo_wire_recv(vs->wst, vs->ws, iov[i].iov_base, iov[i].iov_len,
				   f | (nb || (done && !(f & MSG_WAITALL)) ? MSG_DONTWAIT : 0),
				   tmo);
		if (r == -EINTR && !done && restart_after_eintr(tmo)) {
			i--;
			continue;
		}
		if (r < 0)
			return done ? (ssize_t)done : fail((int)-r);
		done += (size_t)r;
		if ((size_t)r < iov[i].iov_len || (flags & MSG_PEEK))
			break;
	}
	return (ssize_t)done;
}

ssize_t velo_wire_vs_send(struct vsock *vs, const struct iovec *iov, int cnt, int flags)
{
	bool nb = (flags & MSG_DONTWAIT) || atomic_load(&vs->w_nonblock);
	int tmo = atomic_load(&vs->w_sndtimeo), f = flags & MSG_MORE;
	size_t done = 0;

	if (gone(vs))
		return fail(ENOTCONN);
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	for (int i = 0; i < cnt; i++) {
		ssize_t r;

		if (!iov[i].iov_len)
			continue;
		if (velo_bad_range(iov[i].iov_base, iov[i].iov_len))
			return done ? (ssize_t)done : fail(EFAULT);
		/* MSG_MORE for every piece but the last, as one writev */
		r = velo_wire_send(vs->wst, vs->ws, iov[i].iov_base, iov[i].iov_len,
				   (i + 1 < cnt ? MSG_MORE : f) | (nb ? MSG_DONTWAIT : 0), tmo);
		if (r == -EINTR && !done && restart_after_eintr(tmo)) {
			i--;
			continue;
		}
		if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
			pthread_kill(pthread_self(), SIGPIPE);
		if (r < 0)
			return done ? (ssize_t)done : fail((int)-r);
		done += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return (ssize_t)done;
}

int velo_wire_vs_shutdown(struct vsock *vs, int how)
{
	int err = gone(vs) ? -ENOTCONN : velo_wire_shutdown(vs->wst, vs->ws, how);

	return err ? fail(-err) : 0;
}

void velo_wire_vs_close(struct vsock *vs)
{
	if (vs->wst)
		velo_wire_close(vs->wst, vs->ws);
	vs->wst = NULL;
}

int velo_wire_vs_name(struct vsock *vs, bool peer, struct sockaddr *a, socklen_t *l)
{
	int err;

	if (!a || !l || velo_bad_range(l, sizeof(*l)) || velo_bad_range(a, *l))
		return fail(EFAULT);
	if (gone(vs))
		return fail(ENOTCONN);
	err = peer ? velo_wire_getpeername(vs->wst, vs->ws, a, l)
		   : velo_wire_getsockname(vs->wst, vs->ws, a, l);
	return err ? fail(-err) : 0;
}

static void fill_tcp_info(const struct vtcp_info *v, struct tcp_info *t)
{
	memset(t, 0, sizeof(*t));
	/* Linux hands TIME_WAIT to a mini-socket: the application's is CLOSE */
	t->tcpi_state = v->tcpi_state == TCP_TIME_WAIT ? TCP_CLOSE : v->tcpi_state;
	t->tcpi_ca_state = v->tcpi_ca_state;
	t->tcpi_retransmits = v->tcpi_retransmits;
	t->tcpi_probes = v->tcpi_probes;
	t->tcpi_backoff = v->tcpi_backoff;
	t->tcpi_options = v->tcpi_options;
	t->tcpi_snd_wscale = v->tcpi_snd_wscale;
	t->tcpi_rcv_wscale = v->tcpi_rcv_wscale;
	t->tcpi_rto = v->tcpi_rto;
	t->tcpi_ato = v->tcpi_ato;
	t->tcpi_snd_mss = v->tcpi_snd_mss;
	t->tcpi_rcv_mss = v->tcpi_rcv_mss;
	t->tcpi_unacked = v->tcpi_unacked;
	t->tcpi_sacked = v->tcpi_sacked;
	t->tcpi_lost = v->tcpi_lost;
	t->tcpi_retrans = v->tcpi_retrans;
	t->tcpi_fackets = v->tcpi_fackets;
	t->tcpi_last_data_sent = v->tcpi_last_data_sent;
	t->tcpi_last_ack_sent = v->tcpi_last_ack_sent;
	t->tcpi_last_data_recv = v->tcpi_last_data_recv;
	t->tcpi_last_ack_recv = v->tcpi_last_ack_recv;
	t->tcpi_pmtu = v->tcpi_pmtu;
	t->tcpi_rcv_ssthresh = v->tcpi_rcv_ssthresh;
	t->tcpi_rtt = v->tcpi_rtt;
	t->tcpi_rttvar = v->tcpi_rttvar;
	t->tcpi_snd_ssthresh = v->tcpi_snd_ssthresh;
	t->tcpi_snd_cwnd = v->tcpi_snd_cwnd;
	t->tcpi_advmss = v->tcpi_advmss;
	t->tcpi_reordering = v->tcpi_reordering;
	t->tcpi_rcv_rtt = v->tcpi_rcv_rtt;
	t->tcpi_rcv_space = v->tcpi_rcv_space;
	t->tcpi_total_retrans = v->tcpi_total_retrans;
}

/* true when the engine answers (*ret set), false: the kernel socket does. */
bool velo_wire_vs_getsockopt(struct vsock *vs, int level, int name, void *v, socklen_t *l,
			     int *ret)
{
	int i = mirrored_opt(level, name), val = 0;

	if (!v || !l || velo_bad_range(l, sizeof(*l)) || velo_bad_range(v, *l) || gone(vs))
		return false; /* the kernel says EFAULT, or answers for a child's copy */
	if (level == SOL_SOCKET && name == SO_ERROR) {
		val = velo_wire_sock_error(vs->wst, vs->ws);
	} else if (level == IPPROTO_TCP && name == TCP_INFO) {
		struct vtcp_info vi;
		struct tcp_info ti;

		if (velo_wire_get_info(vs->wst, vs->ws, &vi))
			return false;
		fill_tcp_info(&vi, &ti);
		*l = *l < sizeof(ti) ? *l : (socklen_t)sizeof(ti);
		memcpy(v, &ti, *l);
		*ret = 0;
		return true;
	} else if (i >= 0) {
		if (velo_wire_getsockopt(vs->wst, vs->ws, mirrored[i].opt, &val))
			return false;
	} else {
		return false;
	}
	if (*l < sizeof(int)) {
		*ret = fail(EINVAL);
		return true;
	}
	memcpy(v, &val, sizeof(val));
	*l = sizeof(val);
	*ret = 0;
	return true;
}

static uint32_t poll_mask(unsigned int ev)
{
	uint32_t m = 0;

	if (ev & VTCP_EV_READABLE)
		m |= POLLIN | POLLRDNORM;
	if (ev & VTCP_EV_WRITABLE)
		m |= POLLOUT | POLLWRNORM;
	if (ev & VTCP_EV_RDHUP)
		m |= POLLRDHUP;
	if (ev & VTCP_EV_HUP)
		m |= POLLHUP;
	if (ev & VTCP_EV_ERR)
		m |= POLLERR;
	return m;
}

static unsigned int interest_of(uint32_t events)
{
	unsigned int ev = VTCP_EV_ERR | VTCP_EV_HUP;

	if (events & (POLLIN | POLLRDNORM))
		ev |= VTCP_EV_READABLE;
	if (events & (POLLOUT | POLLWRNORM))
		ev |= VTCP_EV_WRITABLE;
	if (events & POLLRDHUP)
		ev |= VTCP_EV_RDHUP;
	return ev;
}

/* The fd to poll in place of the socket, for these poll events. */
int velo_wire_vs_wait_fd(struct vsock *vs, uint32_t events)
{
	if (gone(vs))
		return -1; /* poll skips it; velo_wire_vs_events says HUP */
	velo_wire_set_interest(vs->wst, vs->ws, interest_of(events));
	return velo_wire_ready_fd(vs->wst, vs->ws);
}

uint32_t velo_wire_vs_events(struct vsock *vs)
{
	if (gone(vs))
		return POLLHUP;
	return poll_mask(velo_wire_events(vs->wst, vs->ws));
}
