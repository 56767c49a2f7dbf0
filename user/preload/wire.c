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
 * Listeners: the application's kernel listener stays what it is (port,
 * names, options, connections over loopback and other interfaces). At its
 * first accept() in a process, the engine starts listening on the same
 * address on every wire interface the address is on (the nginx master that
 * listens and forks its workers never accepts: its workers' first accept
 * does it), and accept() takes a connection from either. An accepted
 * engine connection gets a new unconnected kernel socket as its fd, like a
 * connected one. A kernel connection that came before the engine listened
 * stays the kernel's (the XDP program asks the kernel for its 5-tuple).
 *
 * Where the engine cannot follow the file (fork, exec of a socket that
 * survives it, SCM_RIGHTS), the connection is handed to the kernel's TCP
 * first (velo_wire_vs_to_kernel). Where even that cannot be done (no
 * CAP_NET_ADMIN, a connection still in its handshake or over), a forked
 * child's calls on it fail with ENOTCONN and its close() only drops its
 * reference. A forked child's copies of a listener accept from the kernel
 * only. What the engine does not do, the kernel's TCP does after a handoff
 * too: MSG_OOB, O_ASYNC (SIGIO), SO_RCVLOWAT, and urgent data the peer
 * sends (velo_wire_vs_urgent).
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/fd.h"
#include "preload/velo.h"
#include "wire/wire.h"

atomic_uint velo_wire_count;

/* ---- listeners ---- */

#define LISTEN_IFS 8		/* interfaces one listener accepts on */
#define KERNEL_TAG LISTEN_IFS	/* the kernel listener's epoll tag */

/*
 * A listener's engine half: one engine listener per interface it accepts
 * on, beside the application's kernel listener, which keeps the port and
 * the connections that do not come through those interfaces (loopback,
 * other interfaces, the kernel's own from before). @epfd holds the kernel
 * listener and every engine listener's ready fd, so that poll, select and
 * epoll wait on one fd for both.
 */
struct velo_wire_listener {
	int epfd;
	unsigned int n, next;
	struct {
		struct velo_wire_stack *st;
		int s;
	} on[LISTEN_IFS];
};

/* Which of the listener's parts have a connection: bit i engine i, KERNEL_TAG the kernel. */
static uint32_t listener_ready(struct velo_wire_listener *wl)
{
	struct epoll_event ev[LISTEN_IFS + 1];
	uint32_t bits = 0;
	int n = REAL(epoll_wait)(wl->epfd, ev, LISTEN_IFS + 1, 0);

	for (int i = 0; i < n; i++)
		bits |= 1u << ev[i].data.u32;
	return bits;
}

/*
 * Engine options mirrored from the kernel socket at connect, and later;
 * those of one family (IPv4's TOS and TTL, IPv6's) only on its sockets.
 */
static const struct {
	int level, name;
	enum vtcp_opt opt;
	sa_family_t family;
} mirrored[] = {
	{ IPPROTO_TCP, TCP_NODELAY, VTCP_NODELAY, 0 },
	{ IPPROTO_TCP, TCP_CORK, VTCP_CORK, 0 },
	{ SOL_SOCKET, SO_KEEPALIVE, VTCP_KEEPALIVE, 0 },
	{ SOL_SOCKET, SO_REUSEADDR, VTCP_REUSEADDR, 0 },
	{ SOL_SOCKET, SO_REUSEPORT, VTCP_REUSEPORT, 0 },
	{ IPPROTO_TCP, TCP_KEEPIDLE, VTCP_KEEPIDLE, 0 },
	{ IPPROTO_TCP, TCP_KEEPINTVL, VTCP_KEEPINTVL, 0 },
	{ IPPROTO_TCP, TCP_KEEPCNT, VTCP_KEEPCNT, 0 },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, VTCP_USER_TIMEOUT, 0 },
	{ IPPROTO_TCP, TCP_QUICKACK, VTCP_QUICKACK, 0 },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, VTCP_NOTSENT_LOWAT, 0 },
	{ IPPROTO_TCP, TCP_WINDOW_CLAMP, VTCP_WINDOW_CLAMP, 0 },
	{ IPPROTO_TCP, TCP_LINGER2, VTCP_LINGER2, 0 },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, VTCP_DEFER_ACCEPT, 0 },
	{ IPPROTO_IP, IP_TOS, VTCP_TOS, AF_INET },
	{ IPPROTO_IP, IP_TTL, VTCP_TTL, AF_INET },
	{ IPPROTO_IPV6, IPV6_TCLASS, VTCP_TOS, AF_INET6 },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, VTCP_TTL, AF_INET6 },
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

/*
 * The family whose IP-level options shape the connection's segments: an
 * AF_INET6 socket's IPv4 connection takes IP_TOS and IP_TTL, not
 * IPV6_TCLASS and IPV6_UNICAST_HOPS, as Linux's.
 */
static int segment_family(const struct vsock *vs)
{
	return vs->w_v4mapped ? AF_INET : vs->family;
}

/* Engine socket @s of @st follows option @level/@name of @vs's kernel socket @fd. */
static void engine_option(struct velo_wire_stack *st, int s, const struct vsock *vs, int fd,
			  int level, int name)
{
	int i = mirrored_opt(level, name), v = 0;
	socklen_t l = sizeof(v);

	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger lg = { 0, 0 };

		l = sizeof(lg);
		if (!REAL(getsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, &l))
			velo_wire_set_linger(st, s, lg.l_onoff, lg.l_linger);
	} else if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_RCVBUFFORCE ||
					  name == SO_SNDBUF || name == SO_SNDBUFFORCE)) {
		bool rcv = name == SO_RCVBUF || name == SO_RCVBUFFORCE;

		/* the kernel's value, doubled and clamped as Linux does: the engine doubles */
		if (!REAL(getsockopt)(fd, level, rcv ? SO_RCVBUF : SO_SNDBUF, &v, &l))
			velo_wire_setsockopt(st, s, rcv ? VTCP_RCVBUF : VTCP_SNDBUF, v / 2);
	} else if (level == IPPROTO_TCP && name == TCP_SYNCNT) {
		int engine_v = 0;

		/*
		 * Unset, the kernel socket reads tcp_syn_retries, which is not
		 * a listener's SYN-ACK count: only a value that differs from
		 * the engine's (its copy of the sysctl, unless set) is the
		 * application's.
		 */
		if (!REAL(getsockopt)(fd, level, name, &v, &l) &&
		    !velo_wire_getsockopt(st, s, VTCP_SYNCNT, &engine_v) && v != engine_v)
			velo_wire_setsockopt(st, s, VTCP_SYNCNT, v);
	} else if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[VELO_WIRE_CC_NAME_MAX + 1] = "";
		socklen_t cl = sizeof(cc) - 1;

		/* unset, the host's default; one the engine lacks leaves it cubic */
		if (!REAL(getsockopt)(fd, level, name, cc, &cl))
			velo_wire_set_congestion(st, s, cc);
	} else if (level == SOL_SOCKET && name == SO_MAX_PACING_RATE) {
		uint64_t rate = 0;

		/* read as 8 bytes: a limit above 4 GB/s is one too */
		l = sizeof(rate);
		if (!REAL(getsockopt)(fd, level, name, &rate, &l))
			velo_wire_set_max_pacing_rate(st, s, rate);
	} else if (level == IPPROTO_TCP && name == TCP_MAXSEG) {
		/* the unconnected kernel socket says 536 unless the user set it */
		if (!REAL(getsockopt)(fd, level, name, &v, &l) && v != TCP_MSS_DEFAULT)
			velo_wire_setsockopt(st, s, VTCP_MAXSEG, v);
	} else if (i >= 0 && (!mirrored[i].family || mirrored[i].family == segment_family(vs)) &&
		   !REAL(getsockopt)(fd, level, name, &v, &l)) {
		velo_wire_setsockopt(st, s, mirrored[i].opt, v);
	}
}

void velo_wire_vs_sockopt_changed(struct vsock *vs, int fd, int level, int name)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	if (wl) { /* a listener's engine halves: what they answer SYNs with, and pass on */
		pthread_mutex_lock(&vs->mu);
		for (unsigned int i = 0; i < wl->n; i++)
			engine_option(wl->on[i].st, wl->on[i].s, vs, fd, level, name);
		pthread_mutex_unlock(&vs->mu);
	} else if (gone(vs)) {
		return;
	} else if (level == SOL_SOCKET && name == SO_RCVTIMEO) {
		atomic_store(&vs->w_rcvtimeo, timeo_ms(fd, SO_RCVTIMEO));
	} else if (level == SOL_SOCKET && name == SO_SNDTIMEO) {
		atomic_store(&vs->w_sndtimeo, timeo_ms(fd, SO_SNDTIMEO));
	} else {
		engine_option(vs->wst, vs->ws, vs, fd, level, name);
	}
}

/*
 * What the kernel socket, never connected, takes but Linux refuses on a
 * connection: TCP_WINDOW_CLAMP 0 (tcp_set_window_clamp()), the fast open
 * options, which only a closed (or listening) socket takes, and
 * IPV6_V6ONLY, fixed once bound. Refused, they hand nothing to the kernel.
 */
static bool refused_on_connection(int family, int level, int name, int val)
{
	if (level == IPPROTO_IPV6) /* (an AF_INET socket's is ENOPROTOOPT) */
		return family == AF_INET6 && name == IPV6_V6ONLY;
	if (level != IPPROTO_TCP)
		return false;
	switch (name) {
	case TCP_WINDOW_CLAMP:
		return !val;
	case TCP_FASTOPEN:
	case TCP_FASTOPEN_CONNECT:
	case TCP_FASTOPEN_NO_COOKIE:
		return true;
	}
	return false;
}

bool velo_wire_vs_sockopt_refused(struct vsock *vs, int level, int name, const void *v,
				  socklen_t l)
{
	struct vtcp_info vi;

	if (!v || l < sizeof(int) || velo_bad_range(v, sizeof(int)) ||
	    !refused_on_connection(vs->family, level, name, *(const int *)v) || gone(vs))
		return false;
	return !velo_wire_get_info(vs->wst, vs->ws, &vi) && vi.tcpi_state != VTCP_CLOSE;
}

/* Engine socket @s takes the options of @vs's kernel socket @fd. */
static void engine_options(struct velo_wire_stack *st, int s, struct vsock *vs, int fd)
{
	for (unsigned int i = 0; i < sizeof(mirrored) / sizeof(mirrored[0]); i++)
		engine_option(st, s, vs, fd, mirrored[i].level, mirrored[i].name);
	engine_option(st, s, vs, fd, SOL_SOCKET, SO_LINGER);
	engine_option(st, s, vs, fd, SOL_SOCKET, SO_MAX_PACING_RATE);
	engine_option(st, s, vs, fd, IPPROTO_TCP, TCP_MAXSEG);
	engine_option(st, s, vs, fd, IPPROTO_TCP, TCP_SYNCNT);
	engine_option(st, s, vs, fd, IPPROTO_TCP, TCP_CONGESTION);
	/* set by the application (else the engine sizes them, as Linux autotunes) */
	if (atomic_load(&vs->rcvbuf))
		engine_option(st, s, vs, fd, SOL_SOCKET, SO_RCVBUF);
	if (atomic_load(&vs->sndbuf))
		engine_option(st, s, vs, fd, SOL_SOCKET, SO_SNDBUF);
}

static void copy_options(struct vsock *vs, int fd)
{
	engine_options(vs->wst, vs->ws, vs, fd);
	velo_wire_vs_sockopt_changed(vs, fd, SOL_SOCKET, SO_RCVTIMEO);
	velo_wire_vs_sockopt_changed(vs, fd, SOL_SOCKET, SO_SNDTIMEO);
}

/* Loopback and this host's own addresses are the loopback backend's. */
static bool wire_candidate(int fd, int family, const struct sockaddr *a, socklen_t l)
{
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);

	/*
	 * A bad address is the kernel's to refuse (EFAULT), and so is one of
	 * the other family (EAFNOSUPPORT or EINVAL, or an AF_INET6 socket's
	 * IPv4 connect through a sockaddr_in6-sized buffer).
	 */
	if (!velo_cfg.wire || !a || velo_bad_range(a, l) || l < sizeof(sa_family_t) ||
	    a->sa_family != family)
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


/* veloctl shows which frame backend the process's wire stacks got. */
static void count_stack(enum velo_wire_backend used)
{
	velo_stat_add(used == VELO_WIRE_KO ? VELO_STAT_WIRE_STACKS_KO : VELO_STAT_WIRE_STACKS_XDP, 1);
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
	wc.backend = velo_cfg.wire_backend;
	wc.per_thread = velo_cfg.wire_per_thread;
	wc.stack_created = count_stack;
	velo_wire_set_config(&wc);
}

static pthread_once_t configured = PTHREAD_ONCE_INIT, exit_hooked = PTHREAD_ONCE_INIT;

/*
 * A process that ends leaves its wire connections to the kernel's TCP,
 * which finishes them as it finishes an exiting process's own: the queued
 * data goes, then the FIN, however long the peer takes. (The engine ends
 * with the process: with AF_XDP the peer would get a reset.)
 */
void velo_wire_exit_hand_over(void)
{
	if (!atomic_load(&velo_wire_count))
		return;
	velo_wire_hand_over(false);
	velo_wire_orphans_to_kernel();
}

/* Registered after the stack's own exit handler, so it runs before it. */
static void hook_exit(void)
{
	atexit(velo_wire_exit_hand_over);
}

/* Kernel socket @fd's data path becomes engine socket @s of @st. */
static void make_wire(struct vsock *vs, int fd, struct velo_wire_stack *st, int s)
{
	int fl = REAL(fcntl)(fd, F_GETFL);

	pthread_mutex_lock(&vs->mu);
	vs->wst = st;
	vs->ws = s;
	/* urgent data from the peer is the kernel's: velo_wire_vs_urgent */
	velo_wire_setsockopt(st, s, VTCP_REFUSE_URGENT, 1);
	copy_options(vs, fd);
	atomic_store(&vs->w_nonblock, fl >= 0 && (fl & O_NONBLOCK));
	atomic_store(&vs->state, VELO_SS_WIRE);
	pthread_mutex_unlock(&vs->mu);
	atomic_fetch_add(&velo_wire_count, 1);
	pthread_once(&exit_hooked, hook_exit);
	velo_slot_update(vs, fd);
	velo_epoll_socket_wired(vs);
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

/*
 * The engine's connect; a blocking one a signal interrupted goes on where
 * every handler has SA_RESTART, as Linux's restarted connect() waits on
 * for the handshake it started.
 */
static int wire_connect(struct vsock *vs, const struct sockaddr *a, socklen_t l)
{
	int tmo = atomic_load(&vs->w_sndtimeo);
	int err = velo_wire_connect(vs->wst, vs->ws, a, l, atomic_load(&vs->w_nonblock), tmo);

	while (err == -EINTR && restart_after_eintr(tmo)) {
		int ev = velo_wire_wait(vs->wst, vs->ws,
					VTCP_EV_WRITABLE | VTCP_EV_ERR | VTCP_EV_HUP, -1);

		err = ev < 0 ? ev : -velo_wire_sock_error(vs->wst, vs->ws);
	}
	return err;
}

#define IPV6_FLOWINFO_SEND_OPT 33 /* linux/in6.h's IPV6_FLOWINFO_SEND */
#define FLOWINFO_MASK 0x0fffffffu  /* traffic class and flow label */

/*
 * IPV6_FLOWINFO_SEND: the flow label of connect()'s sin6_flowinfo goes on
 * the connection's packets and comes back in getpeername(), as Linux's
 * tcp_v6_connect and inet6_getname. (The lease IPV6_FLOWLABEL_MGR took is
 * the kernel socket's; Linux would also check it.)
 */
static void flow_label(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l)
{
	int on = 0;
	socklen_t ol = sizeof(on);
	uint32_t fi;

	if (a->sa_family != AF_INET6 || l < sizeof(struct sockaddr_in6) ||
	    REAL(getsockopt)(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND_OPT, &on, &ol) || !on)
		return;
	fi = ((const struct sockaddr_in6 *)a)->sin6_flowinfo & htonl(FLOWINFO_MASK);
	vs->w_flowinfo = fi;
	if (ntohl(fi) & 0xfffff)
		velo_wire_setsockopt(vs->wst, vs->ws, VTCP_FLOWLABEL, (int)(ntohl(fi) & 0xfffff));
}

bool velo_wire_kernel_option(int level, int name, const void *v, socklen_t l)
{
	int on = 1;

	if (v && l >= sizeof(int) && !velo_bad_range(v, sizeof(int)))
		on = *(const int *)v;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TIMESTAMP_OLD:
		case SO_TIMESTAMPNS_OLD:
		case SO_TIMESTAMPING_OLD:
		case SO_TIMESTAMP_NEW:
		case SO_TIMESTAMPNS_NEW:
		case SO_TIMESTAMPING_NEW:
		case SO_ZEROCOPY:
			return on != 0;
		case SO_PEEK_OFF: /* the engine's reads know no offset */
			return on >= 0;
		}
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_ULP:
		case TCP_MD5SIG:
		case TCP_MD5SIG_EXT:
		case TCP_REPAIR:
			return true;
		case TCP_INQ:
		case TCP_FASTOPEN:	   /* a listener's: SYNs with data */
		case TCP_FASTOPEN_CONNECT: /* a cookie request in the SYN */
			return on != 0;
		}
	}
	return false;
}

bool velo_wire_try_connect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l,
			   int *ret)
{
	struct velo_wire_stack *st;
	int err, s;

	if (atomic_load(&vs->state) != VELO_SS_PENDING || atomic_load(&vs->kernel_tcp) ||
	    !wire_candidate(fd, vs->family, a, l))
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
	make_wire(vs, fd, st, s);
	flow_label(vs, fd, a, l);
	velo_stat_add(VELO_STAT_WIRE_CONNECTS, 1);
	velo_dbg("fd %d: connecting through the engine on the wire", fd);
	err = wire_connect(vs, a, l);
	*ret = err ? fail(-err) : 0;
	return true;
}

/*
 * connect(AF_UNSPEC) dissolves the connection: the kernel's TCP takes it
 * and does it (its RST to the peer, its SO_ERROR and POLLERR after, as
 * tcp_disconnect() leaves them), and the socket stays the kernel's, as on
 * loopback. A connection the kernel cannot take (not yet established) is
 * reset by the engine and leaves an unconnected socket, which may connect
 * again through the engine.
 */
static int disconnect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l)
{
	int err = -ENOTCONN;

	if (velo_wire_vs_to_kernel(vs, fd))
		return REAL(connect)(fd, a, l);

	pthread_mutex_lock(&vs->mu);
	if (atomic_load(&vs->state) == VELO_SS_WIRE && vs->wst) {
		err = velo_wire_disconnect(vs->wst, vs->ws);
		vs->ws = -1;
		atomic_store(&vs->state, VELO_SS_PENDING);
	}
	pthread_mutex_unlock(&vs->mu);
	if (err == -ENOTCONN)
		return fail(ENOTCONN);
	velo_epoll_socket_unwired(vs);
	velo_slot_update(vs, fd);
	return 0;
}

int velo_wire_vs_connect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l)
{
	int err;

	if (a && l >= sizeof(sa_family_t) && !velo_bad_range(a, sizeof(sa_family_t)) &&
	    a->sa_family == AF_UNSPEC)
		return disconnect(vs, fd, a, l);
	err = gone(vs) ? -EISCONN : wire_connect(vs, a, l);
	return err ? fail(-err) : 0;
}

bool velo_wire_vs_connecting(struct vsock *vs)
{
	struct vtcp_info ti;

	return atomic_load(&vs->state) == VELO_SS_WIRE && !gone(vs) &&
	       !velo_wire_get_info(vs->wst, vs->ws, &ti) && ti.tcpi_state == VTCP_SYN_SENT;
}

void velo_wire_vs_set_nonblock(struct vsock *vs, bool nb)
{
	atomic_store(&vs->w_nonblock, nb);
}


/*
 * @vs's connection goes to its kernel socket @fd (user/wire/handoff.c): the
 * kernel's TCP carries it from here, in every process that holds the file.
 * False where that cannot be done; the connection then stays the engine's.
 */
bool velo_wire_vs_to_kernel(struct vsock *vs, int fd)
{
	int err = -ENOTCONN, ready_fd = -1;

	pthread_mutex_lock(&vs->mu);
	if (atomic_load(&vs->state) == VELO_SS_WIRE && vs->wst)
		err = velo_wire_to_kernel(vs->wst, vs->ws, fd, &ready_fd);
	if (!err) {
		vs->ws = -1; /* calls in flight find EBADF, then the kernel */
		atomic_store(&vs->state, VELO_SS_KERNEL);
	}
	pthread_mutex_unlock(&vs->mu);
	if (err) {
		velo_dbg("fd %d: stays with the engine: %s", fd, strerror(-err));
		return false;
	}
	velo_epoll_socket_unwired(vs);
	velo_fd_close(ready_fd);
	velo_slot_update(vs, fd);
	velo_stat_add(VELO_STAT_WIRE_MOVED, 1);
	velo_dbg("fd %d: handed to the kernel's TCP", fd);
	return true;
}

/*
 * Urgent data came for @vs: the engine has no urgent pointer, so it
 * refused the segments from the urgent one on, and reports it (POLLPRI from
 * velo_wire_vs_events, -VELO_WIRE_URGENT from a receive). The connection
 * goes to the kernel's TCP, as for MSG_OOB, and the kernel gets those
 * segments as from the peer: then POLLPRI, SIOCATMARK, MSG_OOB,
 * SO_OOBINLINE and SIGURG are Linux's. Where that cannot be done (no
 * CAP_NET_ADMIN, the mlx5 provider's steering), or @fd < 0 (no fd is known
 * to name the socket now), the engine takes the segments inline, as before
 * velo had this. Returns whether the socket is the kernel's now.
 *
 * Only from the application's calls on the socket, where @fd names it and
 * no lock is held: the handoff repairs the kernel socket behind @fd, takes
 * the socket's and the epoll sets' locks and closes the ready fd. The stack
 * sees the urgent segment in its progress thread or in another call, with
 * its own lock held and no fd it could trust (the application may close and
 * reuse the number meanwhile); it makes the socket ready instead (the ready
 * fd is readable, waiters wake), so poll, select, epoll_wait and a blocked
 * receive return to do this.
 */
bool velo_wire_vs_urgent(struct vsock *vs, int fd)
{
	bool moved;

	if (atomic_load(&vs->state) != VELO_SS_WIRE)
		return true; /* another thread moved it */
	if (fd >= 0 && velo_wire_vs_to_kernel(vs, fd))
		return true;
	pthread_mutex_lock(&vs->mu);
	moved = atomic_load(&vs->state) != VELO_SS_WIRE;
	if (!moved && vs->wst) {
		velo_dbg("fd %d: urgent data arrives inline", fd);
		velo_wire_urgent_inline(vs->wst, vs->ws);
	}
	pthread_mutex_unlock(&vs->mu);
	return moved;
}

static void hand_over_fd(int fd, struct vsock *vs, void *inheritable_only)
{
	int fl;

	if (atomic_load(&vs->state) != VELO_SS_WIRE)
		return;
	fl = inheritable_only ? REAL(fcntl)(fd, F_GETFD) : 0;
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		velo_wire_vs_to_kernel(vs, fd);
}

void velo_wire_hand_over(bool inheritable_only)
{
	velo_fd_foreach(hand_over_fd, inheritable_only ? (void *)1 : NULL);
}

void velo_wire_vs_after_fork(struct vsock *vs)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	vs->wst = NULL;
	if (wl)
		wl->n = 0; /* the engine's listeners are the parent's: the kernel's only */
}

/*
 * A receive that copies nothing: MSG_TRUNC (TCP discards, or with MSG_PEEK
 * only counts), or a buffer the application cannot write, which fails with
 * EFAULT only once there is data (first the waits and EAGAIN, as Linux).
 */
static ssize_t recv_nocopy(struct vsock *vs, size_t len, int flags, bool bad, int tmo)
{
	char scratch[16384];
	ssize_t got = 0, r;

	if (bad && !(flags & MSG_TRUNC)) {
		r = velo_wire_recv(vs->wst, vs->ws, scratch, 1, flags | MSG_PEEK, tmo);
		return r > 0 ? -EFAULT : r;
	}
	do {
		size_t want = len - (size_t)got < sizeof(scratch) ? len - (size_t)got : sizeof(scratch);

		r = velo_wire_recv(vs->wst, vs->ws, scratch, want,
				   (flags & ~MSG_TRUNC) | (got ? MSG_DONTWAIT : 0), tmo);
		if (r > 0)
			got += r;
	} while (r == (ssize_t)sizeof(scratch) && (size_t)got < len && !(flags & MSG_PEEK));
	return got ? got : r;
}

/*
 * Pieces of a receive before one it cannot write (after the first: a bad
 * first piece is recv_nocopy()'s): the copy stops there, and if what is
 * queued reaches it the call fails with nothing taken, as tcp_recvmsg()'s
 * copy (-1).
 */
static int recv_pieces_before_fault(struct vsock *vs, const struct iovec *iov, int cnt, int flags)
{
	size_t good = iov[0].iov_len;
	int inq = 0;

	for (int i = 1; i < cnt; good += iov[i++].iov_len) {
		if (!velo_bad_wrange(iov[i].iov_base, iov[i].iov_len) || (flags & MSG_TRUNC))
			continue;
		if (!velo_wire_vs_queue_ioctl(vs, SIOCINQ, &inq) && (size_t)inq > good)
			return -1;
		return i;
	}
	return cnt;
}

#define PEEK_BOUNCE_MAX (8u << 20) /* beyond what an engine socket queues */

/*
 * A peek into several pieces: the engine peeks from the queue's start, so
 * it peeks once into one buffer, which the pieces then get in turn, as
 * tcp_recvmsg() fills them (with MSG_TRUNC, only the count).
 */
static ssize_t peek_pieces(struct vsock *vs, int fd, const struct iovec *iov, int cnt, int flags)
{
	size_t len = velo_iov_len(iov, cnt), off = 0;
	bool trunc = flags & MSG_TRUNC;
	struct iovec one = { NULL, trunc || len < PEEK_BOUNCE_MAX ? len : PEEK_BOUNCE_MAX };
	ssize_t r;

	if (!trunc && !(one.iov_base = malloc(one.iov_len)))
		return fail(ENOMEM);
	r = velo_wire_vs_recv(vs, fd, &one, 1, flags);
	for (int i = 0; !trunc && r > 0 && off < (size_t)r; i++) {
		size_t k = (size_t)r - off < iov[i].iov_len ? (size_t)r - off : iov[i].iov_len;

		memcpy(iov[i].iov_base, (char *)one.iov_base + off, k);
		off += k;
	}
	free(one.iov_base);
	return r;
}

ssize_t velo_wire_vs_recv(struct vsock *vs, int fd, const struct iovec *iov, int cnt, int flags)
{
	bool nb = (flags & MSG_DONTWAIT) || atomic_load(&vs->w_nonblock);
	int tmo = atomic_load(&vs->w_rcvtimeo), f = flags & (MSG_PEEK | MSG_WAITALL | MSG_TRUNC);
	static const struct iovec nothing = { NULL, 0 };
	size_t done = 0;

	if (flags & MSG_ERRQUEUE) { /* the kernel socket's (empty: EAGAIN), never data */
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

		return REAL(recvmsg)(fd, &m, flags);
	}
	if (gone(vs))
		return fail(ENOTCONN);
	if (flags & MSG_OOB)
		return fail(EINVAL); /* no urgent data on the engine path */
	if (!cnt) {
		iov = &nothing;
		cnt = 1;
	}
	cnt = recv_pieces_before_fault(vs, iov, cnt, flags);
	if (cnt < 0)
		return fail(EFAULT);
	if (cnt > 1 && (flags & MSG_PEEK) &&
	    ((flags & MSG_TRUNC) || !velo_bad_wrange(iov[0].iov_base, iov[0].iov_len)))
		return peek_pieces(vs, fd, iov, cnt, flags);
	for (int i = 0; i < cnt; i++) {
		/* the later pieces were checked by recv_pieces_before_fault() */
		bool bad = !i && velo_bad_wrange(iov[i].iov_base, iov[i].iov_len);
		/* only the first piece waits, unless MSG_WAITALL */
		int pf = f | ((nb || (done && !(f & MSG_WAITALL))) ? MSG_DONTWAIT : 0);
		ssize_t r;

		/* a read of nothing at all still waits for data, EOF or an error (tcp_recvmsg()) */
		if (!iov[i].iov_len && (done || i + 1 < cnt))
			continue;
		if (bad || !iov[i].iov_len || (f & MSG_TRUNC))
			r = recv_nocopy(vs, iov[i].iov_len, pf, bad, tmo);
		else
			r = velo_wire_recv(vs->wst, vs->ws, iov[i].iov_base, iov[i].iov_len, pf, tmo);
		if (r == -EINTR && !done && restart_after_eintr(tmo)) {
			i--;
			continue;
		}
		if (r == -VELO_WIRE_URGENT && !done) {
			/* moved: the caller reads from the kernel; inline: again */
			if (velo_wire_vs_urgent(vs, fd))
				return fail(EAGAIN);
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
	int tmo = atomic_load(&vs->w_sndtimeo);
	int f = (flags & MSG_MORE) | (nb ? MSG_DONTWAIT : 0);
	size_t total = 0;
	ssize_t r;

	if (gone(vs))
		return fail(ENOTCONN);
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	if (!velo_send_extent(iov, cnt, &total))
		return fail(EFAULT);
	/* nothing to send (total 0) still fails as Linux's: EPIPE after shutdown */
	do
		r = velo_wire_sendv(vs->wst, vs->ws, iov, cnt, total, f, tmo);
	while (r == -EINTR && restart_after_eintr(tmo));
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		pthread_kill(pthread_self(), SIGPIPE);
	return r < 0 ? fail((int)-r) : r;
}

int velo_wire_vs_shutdown(struct vsock *vs, int how)
{
	int err = gone(vs) ? -ENOTCONN : velo_wire_shutdown(vs->wst, vs->ws, how);

	return err ? fail(-err) : 0;
}

bool velo_wire_vs_busy(struct vsock *vs)
{
	int s = vs->ws;

	return vs->wst && s >= 0 && velo_wire_sleepers(vs->wst, s);
}

void velo_wire_vs_close(struct vsock *vs)
{
	if (vs->wst)
		velo_wire_close(vs->wst, vs->ws);
	vs->wst = NULL;
}

int velo_wire_vs_name(struct vsock *vs, bool peer, struct sockaddr *a, socklen_t *l)
{
	socklen_t room;
	int err;

	/* what is written: the address, within the length given (move_addr_to_user()) */
	if (!a || !l || velo_bad_wrange(l, sizeof(*l)) ||
	    velo_bad_wrange(a, *l < sizeof(struct sockaddr_in6) ? *l : sizeof(struct sockaddr_in6)))
		return fail(EFAULT);
	if (gone(vs))
		return fail(ENOTCONN);
	room = *l;
	err = peer ? velo_wire_getpeername(vs->wst, vs->ws, a, l)
		   : velo_wire_getsockname(vs->wst, vs->ws, a, l);
	if (!err && peer && vs->w_flowinfo && room >= sizeof(struct sockaddr_in6) &&
	    a->sa_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_flowinfo = vs->w_flowinfo;
	return err ? fail(-err) : 0;
}

int velo_wire_vs_queue_ioctl(struct vsock *vs, unsigned long req, int *v)
{
	struct vtcp_queues q;
	int err;

	if (gone(vs))
		return fail(ENOTCONN);
	err = velo_wire_get_queues(vs->wst, vs->ws, &q);
	if (err)
		return fail(-err);
	*v = (int)(req == SIOCINQ ? q.inq : req == SIOCOUTQ ? q.outq : q.notsent);
	return 0;
}

static void fill_tcp_info(const struct vtcp_info *v, struct linux_tcp_info *li)
{
	struct tcp_info *t = &li->base;

	memset(li, 0, sizeof(*li));
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
	li->pacing_rate = v->tcpi_pacing_rate;
	li->max_pacing_rate = v->tcpi_max_pacing_rate;
	li->bytes_acked = v->tcpi_bytes_acked;
	li->bytes_received = v->tcpi_bytes_received;
	li->segs_out = v->tcpi_segs_out;
	li->segs_in = v->tcpi_segs_in;
	li->notsent_bytes = v->tcpi_notsent_bytes;
	li->min_rtt = v->tcpi_min_rtt;
	li->data_segs_in = v->tcpi_data_segs_in;
	li->data_segs_out = v->tcpi_data_segs_out;
	li->delivery_rate = v->tcpi_delivery_rate;
	li->busy_time = v->tcpi_busy_time;
	li->rwnd_limited = v->tcpi_rwnd_limited;
	li->sndbuf_limited = v->tcpi_sndbuf_limited;
	li->delivered = v->tcpi_delivered;
	li->delivered_ce = v->tcpi_delivered_ce;
	li->bytes_sent = v->tcpi_bytes_sent;
	li->bytes_retrans = v->tcpi_bytes_retrans;
	li->dsack_dups = v->tcpi_dsack_dups;
	li->reord_seen = v->tcpi_reord_seen;
	li->rcv_ooopack = v->tcpi_rcv_ooopack;
	li->snd_wnd = v->tcpi_snd_wnd;
	li->rcv_wnd = v->tcpi_rcv_wnd;
	li->rehash = v->tcpi_rehash;
	li->total_rto = v->tcpi_total_rto;
	li->total_rto_recoveries = v->tcpi_total_rto_recoveries;
	li->total_rto_time = v->tcpi_total_rto_time;
}

/*
 * How many bytes of struct tcp_info this kernel gives, asked once of the
 * socket's own kernel file (closed sockets answer too).
 */
static socklen_t kernel_tcp_info_len(int fd)
{
	static _Atomic socklen_t len;
	struct linux_tcp_info probe;
	socklen_t l = sizeof(probe);

	if (!atomic_load(&len)) {
		if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &probe, &l) < 0)
			l = sizeof(struct tcp_info);
		atomic_store(&len, l);
	}
	return atomic_load(&len);
}

/*
 * SO_PEERNAME, as sk_getsockopt(): the peer's address, cut to the length
 * given, which may not be longer than the address.
 */
static int peername_opt(struct vsock *vs, void *v, socklen_t *l)
{
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);

	if ((int)*l < 0)
		return fail(EINVAL);
	if (velo_wire_vs_name(vs, true, (struct sockaddr *)&peer, &pl))
		return fail(ENOTCONN);
	if (pl < *l)
		return fail(EINVAL);
	memcpy(v, &peer, *l);
	return 0;
}

/*
 * IPV6_PATHMTU, as do_ipv6_getsockopt(): the route's MTU in a struct
 * ip6_mtuinfo whose address stays zero; ENOTCONN without a route.
 */
static int pathmtu_opt(struct vsock *vs, void *v, socklen_t *l)
{
	struct ip6_mtuinfo mi;
	struct vtcp_info vi;

	if ((int)*l < (int)sizeof(mi))
		return fail(EINVAL);
	if (velo_wire_get_info(vs->wst, vs->ws, &vi) || vi.tcpi_state == VTCP_LISTEN ||
	    !vi.tcpi_pmtu)
		return fail(ENOTCONN);
	memset(&mi, 0, sizeof(mi));
	mi.ip6m_mtu = vi.tcpi_pmtu;
	*l = sizeof(mi);
	memcpy(v, &mi, sizeof(mi));
	return 0;
}

/* true when the engine answers (*ret set), false: the kernel socket does. */
bool velo_wire_vs_getsockopt(struct vsock *vs, int fd, int level, int name, void *v,
			     socklen_t *l, int *ret)
{
	int i = mirrored_opt(level, name), val = 0;

	/* what is written: a value within the length given (TCP_INFO's the longest) */
	if (!v || !l || velo_bad_wrange(l, sizeof(*l)) ||
	    velo_bad_wrange(v, *l < sizeof(struct linux_tcp_info) ? *l : sizeof(struct linux_tcp_info)) ||
	    gone(vs))
		return false; /* the kernel says EFAULT, or answers for a child's copy */
	/* the application's, which a shared local port's engine socket is not */
	if (level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_REUSEPORT))
		return false;
	if (level == SOL_SOCKET && name == SO_PEERNAME) {
		*ret = peername_opt(vs, v, l);
		return true;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_PATHMTU && vs->family == AF_INET6) {
		*ret = pathmtu_opt(vs, v, l);
		return true;
	}
	if (level == SOL_SOCKET && name == SO_ERROR) {
		val = velo_wire_sock_error(vs->wst, vs->ws);
	} else if (level == SOL_SOCKET && name == SO_INCOMING_CPU) {
		/* the stack's receiving CPU: the kernel socket never receives */
		val = velo_wire_incoming_cpu(vs->wst);
		if (val < 0)
			return false;
	} else if (level == SOL_SOCKET && ((name == SO_SNDBUF && !atomic_load(&vs->sndbuf)) ||
					   (name == SO_RCVBUF && !atomic_load(&vs->rcvbuf)))) {
		/*
		 * grown with cwnd, or by receive autotuning, as Linux's: the
		 * kernel socket, never connected, did not
		 */
		if (velo_wire_getsockopt(vs->wst, vs->ws, name == SO_SNDBUF ? VTCP_SNDBUF : VTCP_RCVBUF,
					 &val))
			return false;
	} else if (level == IPPROTO_IPV6 && name == IPV6_ADDRFORM && vs->family == AF_INET6) {
		struct vtcp_info vi;

		/* the socket's family while established (the kernel socket never is) */
		if (velo_wire_get_info(vs->wst, vs->ws, &vi))
			return false;
		if (vi.tcpi_state != VTCP_ESTABLISHED) {
			*ret = fail(ENOTCONN);
			return true;
		}
		val = AF_INET6;
	} else if ((level == IPPROTO_IP && name == IP_MTU) ||
		   (level == IPPROTO_IPV6 && name == IPV6_MTU && vs->family == AF_INET6)) {
		struct vtcp_info vi;

		/* the route's MTU, which the kernel socket never connected has not */
		if (velo_wire_get_info(vs->wst, vs->ws, &vi) || vi.tcpi_state == VTCP_LISTEN ||
		    !vi.tcpi_pmtu)
			return false;
		val = (int)vi.tcpi_pmtu;
	} else if (level == IPPROTO_TCP && name == TCP_INFO) {
		socklen_t klen = kernel_tcp_info_len(fd);
		struct linux_tcp_info ti;
		struct vtcp_info vi;

		if (velo_wire_get_info(vs->wst, vs->ws, &vi))
			return false;
		fill_tcp_info(&vi, &ti);
		*l = *l < klen ? *l : klen;
		memcpy(v, &ti, *l);
		*ret = 0;
		return true;
	} else if ((i >= 0 && !mirrored[i].family) || (level == IPPROTO_TCP && name == TCP_MAXSEG)) {
		/* the engine's (IP-level ones stay the kernel socket's: it holds what was set) */
		if (velo_wire_getsockopt(vs->wst, vs->ws, i >= 0 ? mirrored[i].opt : VTCP_MAXSEG,
					 &val))
			return false;
	} else {
		return false;
	}
	/* as Linux: a negative length is invalid, a short one gets the low bytes */
	if ((int)*l < 0) {
		*ret = fail(EINVAL);
		return true;
	}
	*l = *l < sizeof(val) ? *l : sizeof(val);
	memcpy(v, &val, *l);
	*ret = 0;
	return true;
}

/* ---- readiness ---- */

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
	/* urgent data the engine refused: not reported as is, see velo_wire_vs_urgent */
	if (ev & VTCP_EV_URGENT)
		m |= POLLPRI;
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
	if (events & EPOLLET)
		ev |= VELO_WIRE_EDGE;
	return ev;
}

/* The fd to poll in place of the socket, for these poll events. */
int velo_wire_vs_wait_fd(struct vsock *vs, uint32_t events)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	if (wl)
		return wl->epfd;
	if (gone(vs))
		return -1; /* poll skips it; velo_wire_vs_events says HUP */
	velo_wire_set_interest(vs->wst, vs->ws, interest_of(events));
	return velo_wire_ready_fd(vs->wst, vs->ws);
}

uint32_t velo_wire_vs_events(struct vsock *vs)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	if (wl) /* a listener is readable with a connection to accept, nothing else */
		return listener_ready(wl) ? POLLIN | POLLRDNORM : 0;
	if (gone(vs))
		return POLLHUP;
	return poll_mask(velo_wire_events(vs->wst, vs->ws));
}

/* ---- listeners: the engine's half, accept ---- */

/* @a is the address of @self, or @self the wildcard address. */
static bool addr_matches(const struct sockaddr *self, const struct sockaddr *a)
{
	if (self->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)self, *a4 = (const void *)a;

		return s4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		       s4->sin_addr.s_addr == a4->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *s6 = (const void *)self, *a6 = (const void *)a;

	return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
	       IN6_ARE_ADDR_EQUAL(&s6->sin6_addr, &a6->sin6_addr);
}

/*
 * The interfaces, other than loopback, that have @self's address (any:
 * all; @dual: IPv4 ones too).
 */
static unsigned int listen_ifaces(const struct sockaddr *self, bool dual, int ifidx[LISTEN_IFS])
{
	struct ifaddrs *all, *i;
	unsigned int n = 0, k;

	if (getifaddrs(&all))
		return 0;
	for (i = all; i && n < LISTEN_IFS; i = i->ifa_next) {
		int idx;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (!(dual && i->ifa_addr->sa_family == AF_INET) &&
		    (i->ifa_addr->sa_family != self->sa_family || !addr_matches(self, i->ifa_addr)))
			continue;
		idx = (int)if_nametoindex(i->ifa_name);
		for (k = 0; k < n && ifidx[k] != idx; k++)
			;
		if (idx > 0 && k == n)
			ifidx[n++] = idx;
	}
	freeifaddrs(all);
	return n;
}

/* The kernel listener's accept backlog (TCP_INFO of a listener carries it). */
static int kernel_backlog(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return SOMAXCONN;
	return (int)ti.tcpi_sacked;
}

static void listener_free(struct velo_wire_listener *wl, bool engine)
{
	for (unsigned int i = 0; engine && i < wl->n; i++)
		velo_wire_close(wl->on[i].st, wl->on[i].s);
	if (wl->epfd >= 0)
		REAL(close)(wl->epfd);
	free(wl);
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return REAL(epoll_ctl)(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Whether kernel listener @fd bound to @self takes IPv4 connections as
 * an AF_INET6 socket (::, without IPV6_V6ONLY).
 */
static bool dual_stack(int fd, const struct sockaddr *self)
{
	int v6only = 1;
	socklen_t l = sizeof(v6only);

	return self->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)self)->sin6_addr) &&
	       !REAL(getsockopt)(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) && !v6only;
}

/*
 * Engine listener on @st beside @vs's kernel listener @fd bound to @self,
 * with its options, for IPv4 clients too if @dual; -1 if none.
 */
static int listen_on(struct velo_wire_stack *st, struct vsock *vs, int fd,
		     const struct sockaddr *self, socklen_t sl, bool dual, int backlog)
{
	int s = velo_wire_socket(st, vs->family), err;

	if (s < 0)
		return -1;
	engine_options(st, s, vs, fd);
	if (dual)
		velo_wire_setsockopt(st, s, VTCP_V6ONLY, 0);
	err = velo_wire_listen_on(st, s, self, sl, backlog);
	if (!err)
		return s;
	velo_dbg("wire: no engine listener: %s", strerror(-err));
	velo_wire_close(st, s);
	return -1;
}

static struct velo_wire_listener *listener_open(struct vsock *vs, int fd)
{
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);
	struct velo_wire_listener *wl;
	int ifidx[LISTEN_IFS], backlog = kernel_backlog(fd), err;
	unsigned int n, i;
	bool dual;

	if (atomic_load(&vs->kernel_tcp) ||
	    REAL(getsockname)(fd, (struct sockaddr *)&self, &sl) < 0 ||
	    self.ss_family != vs->family ||
	    !velo_config_accelerate(&velo_cfg, (struct sockaddr *)&self, velo_prog))
		return NULL;
	dual = dual_stack(fd, (struct sockaddr *)&self);
	n = listen_ifaces((struct sockaddr *)&self, dual, ifidx);
	wl = n ? calloc(1, sizeof(*wl)) : NULL;
	if (!wl)
		return NULL;
	pthread_once(&configured, wire_config);
	wl->epfd = REAL(epoll_create1)(EPOLL_CLOEXEC);
	if (wl->epfd < 0 || epoll_add(wl->epfd, fd, KERNEL_TAG)) {
		listener_free(wl, false);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct velo_wire_stack *st = velo_wire_stack_of(ifidx[i], &err);
		int s = st ? listen_on(st, vs, fd, (struct sockaddr *)&self, sl, dual, backlog) : -1;

		if (s < 0)
			continue;
		wl->on[wl->n].st = st;
		wl->on[wl->n].s = s;
		epoll_add(wl->epfd, velo_wire_ready_fd(st, s), wl->n++);
	}
	if (!wl->n) {
		listener_free(wl, false);
		return NULL;
	}
	velo_dbg("fd %d: the engine listens too, on %u interface(s)", fd, wl->n);
	return wl;
}

/* The engine's listeners of listener @vs, made on its first accept. */
static struct velo_wire_listener *listener_of(struct vsock *vs, int fd)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	if (wl || vs->w_listen_tried)
		return wl;
	pthread_mutex_lock(&vs->mu);
	if (!vs->w_listen_tried) {
		vs->w_listen_tried = true;
		wl = listener_open(vs, fd);
		atomic_store(&vs->wl, wl);
	}
	wl = atomic_load(&vs->wl);
	pthread_mutex_unlock(&vs->mu);
	if (wl) {
		atomic_fetch_add(&velo_wire_count, 1);
		velo_epoll_socket_wired(vs);
	}
	return wl;
}

/*
 * A listener that closed with connections still open leaves its filter
 * steering the port's SYNs to the engine, which has no listener there to
 * answer them but a reset: a program that listens again on the port and
 * accepts later would see its clients refused (Linux queues them). So such
 * a listener gets its engine half at listen() (no fork-then-accept server
 * is hurt: its listener's first accept() was in this process already).
 */
void velo_wire_vs_listened(struct vsock *vs, int fd)
{
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);

	if (!atomic_load(&velo_wire_count) ||
	    REAL(getsockname)(fd, (struct sockaddr *)&self, &sl) < 0 ||
	    !velo_wire_listen_steered((struct sockaddr *)&self, dual_stack(fd, (struct sockaddr *)&self)))
		return;
	velo_dbg("fd %d: the engine still takes this port's SYNs: it listens now", fd);
	listener_of(vs, fd);
}

/*
 * The engine's listeners close (their queued connections are reset, as a
 * closed Linux listener's are); the kernel part stays until the socket is
 * freed, since other threads may be waiting on it.
 */
void velo_wire_vs_unlisten(struct vsock *vs)
{
	struct velo_wire_listener *wl = atomic_load(&vs->wl);

	if (!wl)
		return;
	pthread_mutex_lock(&vs->mu);
	for (unsigned int i = 0; i < wl->n; i++)
		velo_wire_close(wl->on[i].st, wl->on[i].s);
	wl->n = 0;
	pthread_mutex_unlock(&vs->mu);
}

void velo_wire_vs_free(struct vsock *vs)
{
	struct velo_wire_listener *wl = atomic_exchange(&vs->wl, NULL);

	if (wl)
		listener_free(wl, true);
}

/* Linux's accept() address rules: copies what fits, says the full length. */
static void copy_peer(const struct sockaddr_storage *p, socklen_t plen, struct sockaddr *a,
		      socklen_t *l)
{
	if (!a)
		return;
	memcpy(a, p, *l < plen ? *l : plen);
	*l = plen;
}

/* Listener option @name, where it is not the default, onto accepted socket @nfd. */
static void inherit_option(int lfd, int nfd, int level, int name)
{
	char v[sizeof(struct timeval)], fresh[sizeof(struct timeval)];
	socklen_t l = sizeof(v), fl = sizeof(fresh);

	if (REAL(getsockopt)(lfd, level, name, v, &l) < 0 ||
	    REAL(getsockopt)(nfd, level, name, fresh, &fl) < 0 || (l == fl && !memcmp(v, fresh, l)))
		return;
	if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
		*(int *)v /= 2; /* getsockopt reports twice what was set */
	REAL(setsockopt)(nfd, level, name, v, l);
}

/*
 * What the accepted socket inherits from the listener, as Linux's clone
 * does: not the quick-ACK state, nor TCP_DEFER_ACCEPT (the accept queue's).
 */
static void inherit_options(int lfd, int nfd)
{
	/* the socket's flags and values sk_clone_lock() and the inet clones copy */
	static const struct {
		int level, name;
	} inherited[] = {
		{ SOL_SOCKET, SO_RCVTIMEO }, { SOL_SOCKET, SO_SNDTIMEO },
		{ SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_RCVBUF },
		{ SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_MAX_PACING_RATE },
		{ SOL_SOCKET, SO_MARK }, { SOL_SOCKET, SO_PRIORITY },
		{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_DONTROUTE },
		{ SOL_SOCKET, SO_BROADCAST }, { SOL_SOCKET, SO_BUSY_POLL },
		{ SOL_SOCKET, SO_PREFER_BUSY_POLL }, { SOL_SOCKET, SO_PASSCRED },
		{ SOL_SOCKET, SO_TXREHASH },
		{ IPPROTO_IP, IP_FREEBIND }, { IPPROTO_IP, IP_TRANSPARENT },
		{ IPPROTO_IP, IP_RECVTOS }, { IPPROTO_IP, IP_RECVTTL },
		{ IPPROTO_IP, IP_RECVERR }, { IPPROTO_IP, IP_MTU_DISCOVER },
		{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT },
		{ IPPROTO_IPV6, IPV6_V6ONLY }, { IPPROTO_IPV6, IPV6_RECVTCLASS },
		{ IPPROTO_IPV6, IPV6_RECVERR }, { IPPROTO_IPV6, IPV6_MTU_DISCOVER },
		{ IPPROTO_IPV6, IPV6_FREEBIND }, { IPPROTO_IPV6, IPV6_TRANSPARENT },
		{ IPPROTO_IPV6, IPV6_AUTOFLOWLABEL },
		{ IPPROTO_TCP, TCP_SYNCNT }, { IPPROTO_TCP, TCP_CONGESTION },
		{ IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS }, { IPPROTO_TCP, TCP_TX_DELAY },
	};

	for (unsigned int i = 0; i < sizeof(mirrored) / sizeof(mirrored[0]); i++)
		if (mirrored[i].level != IPPROTO_TCP ||
		    (mirrored[i].name != TCP_QUICKACK && mirrored[i].name != TCP_DEFER_ACCEPT))
			inherit_option(lfd, nfd, mirrored[i].level, mirrored[i].name);
	for (unsigned int i = 0; i < sizeof(inherited) / sizeof(inherited[0]); i++)
		inherit_option(lfd, nfd, inherited[i].level, inherited[i].name);
}

/* A connection from engine listener i: its new fd, -EAGAIN if none, or -errno. */
static int accept_engine(struct vsock *lvs, int lfd, struct velo_wire_listener *wl,
			 unsigned int i, struct sockaddr *a, socklen_t *l, int flags)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct vsock *vs;
	int nfd, s;

	/* the fd first, as the kernel does: EMFILE leaves the connection queued */
	nfd = REAL(socket)(lvs->family, SOCK_STREAM | flags, IPPROTO_TCP);
	if (nfd < 0)
		return -errno;
	s = velo_wire_accept(wl->on[i].st, wl->on[i].s, (struct sockaddr *)&peer, &plen, true, 0);
	if (s < 0) {
		REAL(close)(nfd);
		return s;
	}
	inherit_options(lfd, nfd);
	velo_track_new_socket(nfd, lvs->family, VELO_SS_PENDING);
	vs = velo_fd_get(nfd);
	if (!vs) {
		velo_wire_close(wl->on[i].st, s);
		REAL(close)(nfd);
		return -ENOMEM;
	}
	vs->accepted = true;
	vs->w_v4mapped = peer.ss_family == AF_INET6 &&
			 IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&peer)->sin6_addr);
	make_wire(vs, nfd, wl->on[i].st, s);
	velo_vs_put(vs);
	velo_stat_add(VELO_STAT_WIRE_ACCEPTS, 1);
	velo_dbg("fd %d: accepted through the engine on the wire", nfd);
	copy_peer(&peer, plen, a, l);
	return nfd;
}

bool velo_wire_vs_accept(struct vsock *vs, int fd, struct sockaddr *a, socklen_t *l, int flags,
			 int *ret)
{
	struct velo_wire_listener *wl = listener_of(vs, fd);
	uint64_t deadline;
	int fl, tmo;

	if (!wl)
		return false;
	fl = REAL(fcntl)(fd, F_GETFL);
	tmo = timeo_ms(fd, SO_RCVTIMEO);
	deadline = tmo < 0 ? 0 : velo_now_ns() + (uint64_t)tmo * 1000000u;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		*ret = fail(EINVAL);
		return true;
	}
	if (a && (!l || velo_bad_range(l, sizeof(*l)) || (int)*l < 0 || velo_bad_range(a, *l))) {
		*ret = fail(!l || velo_bad_range(l, sizeof(*l)) || velo_bad_range(a, *l) ? EFAULT : EINVAL);
		return true;
	}
	for (;;) {
		uint32_t ready = listener_ready(wl);
		struct pollfd pfd = { .fd = wl->epfd, .events = POLLIN };
		int left = -1, r;

		if (ready & (1u << KERNEL_TAG))
			return false; /* the kernel's accept takes it */
		for (unsigned int k = 0; k < wl->n; k++) {
			unsigned int i = (wl->next + k) % wl->n;

			if (!(ready & (1u << i)))
				continue;
			r = accept_engine(vs, fd, wl, i, a, l, flags);
			if (r == -EAGAIN)
				continue;
			wl->next = i + 1;
			*ret = r < 0 ? fail(-r) : r;
			return true;
		}
		if (fl >= 0 && (fl & O_NONBLOCK)) {
			*ret = fail(EAGAIN);
			return true;
		}
		if (deadline) {
			uint64_t now = velo_now_ns();

			if (now >= deadline) {
				*ret = fail(EAGAIN);
				return true;
			}
			left = (int)((deadline - now + 999999) / 1000000);
		}
		r = REAL(poll)(&pfd, 1, left);
		if (r < 0 && errno == EINTR && !restart_after_eintr(tmo)) {
			*ret = fail(EINTR);
			return true;
		}
	}
}
