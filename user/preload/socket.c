// SPDX-License-Identifier: GPL-2.0
/*
 * The interposed socket API. Every entry point looks the fd up; an fd that
 * is not an accelerated (LOOP) socket goes to libc untouched, so kernel
 * sockets, UDP, UNIX, files and pipes behave exactly as without velo.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <linux/capability.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.h"
#include "preload/velo.h"
#include "wire/wire.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

extern void __chk_fail(void) __attribute__((noreturn));

/* A LOOP socket for fd (attaching a freshly connected one), referenced. */
static struct vsock *loop_vs(int fd)
{
	struct vsock *vs = velo_fd_get(fd);
	uint32_t st;

	if (!vs)
		return NULL;
	st = atomic_load_explicit(&vs->state, memory_order_relaxed);
	if (st == VELO_SS_PENDING) {
		velo_loop_try_attach(vs, fd);
		st = atomic_load(&vs->state);
	}
	if (st != VELO_SS_LOOP || !vs->ch) {
		velo_vs_put(vs);
		return NULL;
	}
	return vs;
}

/* A WIRE socket for fd, referenced. */
static struct vsock *wire_vs(int fd)
{
	struct vsock *vs = velo_fd_get(fd);

	if (vs && atomic_load_explicit(&vs->state, memory_order_acquire) != VELO_SS_WIRE) {
		velo_vs_put(vs);
		return NULL;
	}
	return vs;
}

/* A socket whose data velo moves (LOOP or WIRE), referenced. */
static struct vsock *accel_vs(int fd)
{
	struct vsock *vs = wire_vs(fd);

	return vs ? vs : loop_vs(fd);
}

/*
 * A WIRE call that failed because the connection went to the kernel's TCP
 * meanwhile (velo_wire_vs_to_kernel) is made again there.
 */
static bool moved_meanwhile(struct vsock *vs, ssize_t r)
{
	return r < 0 && atomic_load(&vs->state) == VELO_SS_KERNEL;
}

/*
 * Urgent data is the kernel's TCP's. A WIRE connection goes there to read
 * it when some came (without, the engine answers EINVAL as Linux does) or
 * to send it, unless the send fails before any byte moves (EPIPE after
 * shutdown, a reset): then the engine fails it as Linux's would, and the
 * connection stays. *r: that failure.
 */
static bool kernel_does(struct vsock *vs, int fd, int flags, bool send, ssize_t *r)
{
	*r = 0;
	if (!(flags & MSG_OOB) || atomic_load(&vs->state) != VELO_SS_WIRE)
		return atomic_load(&vs->state) != VELO_SS_WIRE;
	if (!send) {
		if (velo_wire_vs_events(vs) & POLLPRI)
			velo_wire_vs_urgent(vs, fd);
	} else {
		*r = velo_wire_vs_send(vs, NULL, 0, flags & ~MSG_OOB);
		if (*r < 0 && !moved_meanwhile(vs, *r))
			return false;
		velo_wire_vs_to_kernel(vs, fd);
		*r = 0;
	}
	return atomic_load(&vs->state) != VELO_SS_WIRE;
}

/*
 * An iovec array as the kernel's import_iovec() takes it, before the socket
 * sees it: a negative length is EINVAL, then a segment past the user
 * address range EFAULT; the total is cut at MAX_RW_COUNT, in a copy (*cut,
 * for the caller to free). 0 or -errno.
 */
static int iov_import(const struct iovec **iov, int n, struct iovec **cut)
{
	size_t total = 0;
	int i, over = -1;

	*cut = NULL;
	for (i = 0; i < n; i++)
		if ((ssize_t)(*iov)[i].iov_len < 0)
			return -EINVAL;
	for (i = 0; i < n; i++) {
		size_t len = (*iov)[i].iov_len;

		if (!velo_access_ok((*iov)[i].iov_base, len))
			return -EFAULT;
		if (len > VELO_MAX_RW - total && over < 0)
			over = i;
		total += len > VELO_MAX_RW - total ? VELO_MAX_RW - total : len;
	}
	if (over < 0)
		return 0;
	*cut = malloc((size_t)n * sizeof(**cut));
	if (!*cut)
		return -ENOMEM;
	memcpy(*cut, *iov, (size_t)n * sizeof(**cut));
	for (total = 0, i = 0; i < n; i++) {
		(*cut)[i].iov_len = velo_rw_count(total + (*cut)[i].iov_len) - total;
		total += (*cut)[i].iov_len;
	}
	*iov = *cut;
	return 0;
}

static ssize_t vs_recv_imported(struct vsock *vs, int fd, const struct iovec *iov, int n,
				int flags)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	if (atomic_load(&vs->state) != VELO_SS_WIRE)
		return velo_loop_recv(vs, fd, iov, n, flags);
	if (kernel_does(vs, fd, flags, false, &r))
		return REAL(recvmsg)(fd, &m, flags);
	r = velo_wire_vs_recv(vs, fd, iov, n, flags);
	return moved_meanwhile(vs, r) ? REAL(recvmsg)(fd, &m, flags) : r;
}

static ssize_t vs_send_imported(struct vsock *vs, int fd, const struct iovec *iov, int n,
				int flags)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	if (atomic_load(&vs->state) != VELO_SS_WIRE)
		return velo_loop_send(vs, fd, iov, n, flags);
	if (kernel_does(vs, fd, flags, true, &r))
		return REAL(sendmsg)(fd, &m, flags);
	if (r < 0)
		return r;
	r = velo_wire_vs_send(vs, iov, n, flags);
	return moved_meanwhile(vs, r) ? REAL(sendmsg)(fd, &m, flags) : r;
}

/* A receive (@send false) or send on accelerated socket @vs. */
static ssize_t vs_io(struct vsock *vs, int fd, const struct iovec *iov, int n, int flags,
		     bool send)
{
	struct iovec *cut;
	int err = iov_import(&iov, n, &cut);
	ssize_t r;

	if (err) {
		errno = -err;
		return -1;
	}
	r = send ? vs_send_imported(vs, fd, iov, n, flags) : vs_recv_imported(vs, fd, iov, n, flags);
	if (cut) {
		int saved = errno;

		free(cut);
		errno = saved;
	}
	return r;
}

static ssize_t vs_recv(struct vsock *vs, int fd, const struct iovec *iov, int n, int flags)
{
	return vs_io(vs, fd, iov, n, flags, false);
}

static ssize_t vs_send(struct vsock *vs, int fd, const struct iovec *iov, int n, int flags)
{
	return vs_io(vs, fd, iov, n, flags, true);
}

static bool is_tcp(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

void velo_track_new_socket(int fd, int domain, uint32_t state)
{
	struct vsock *vs;
	struct stat sb;

	velo_fd_opened(fd);
	vs = velo_vs_new(fd, domain, state);
	if (!vs)
		return;
	if (!fstat(fd, &sb))
		vs->ino = sb.st_ino;
	velo_fd_install(fd, vs);
	velo_slot_update(vs, fd);
}

/*
 * Is the socket's end of a loopback channel live: attached by an
 * accelerated process and not finished? Then its velo peer may be writing
 * to the ring for it and every holder must read there. Channels are named
 * by both ends' cookies in the directories chan_map() (loop.c) uses; only
 * ours is known without a sock_diag query, so the directory is scanned
 * (this runs for inherited and received sockets only).
 */
static bool chan_dir_end_live(const char *dir, uint64_t cookie)
{
	char hex[17], path[128];
	struct velo_chan_end ends[2];
	struct dirent *de;
	bool live = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)cookie);
	while (!live && (de = readdir(d))) {
		int cfd, e;

		if (strlen(de->d_name) != 33 || de->d_name[16] != '-' ||
		    (memcmp(de->d_name, hex, 16) && memcmp(de->d_name + 17, hex, 16)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		cfd = REAL(open)(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (cfd < 0)
			continue;
		if (pread(cfd, ends, sizeof(ends), offsetof(struct velo_chan, end)) ==
		    (ssize_t)sizeof(ends)) {
			for (e = 0; e < 2; e++)
				if (atomic_load(&ends[e].cookie) == cookie &&
				    atomic_load(&ends[e].present) && !atomic_load(&ends[e].closed))
					live = true;
		}
		REAL(close)(cfd);
	}
	closedir(d);
	return live;
}

static bool chan_end_live(int fd)
{
	uint64_t cookie = 0;
	socklen_t l = sizeof(cookie);
	char dir[48];

	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_COOKIE, &cookie, &l) < 0 || !cookie)
		return false;
	snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)geteuid());
	return chan_dir_end_live(dir, cookie) ||
	       chan_dir_end_live("/dev/shm/velo-shared", cookie);
}

/* A TCP socket's domain and whether it listens; false for anything else. */
static bool tcp_kind(int fd, int *dom, bool *listening)
{
	int proto = 0, type = 0, acc = 0;
	socklen_t l = sizeof(int);

	*dom = 0;
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, dom, &l) < 0)
		return false;
	l = sizeof(int);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return false;
	l = sizeof(int);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		return false;
	if (!is_tcp(*dom, type, proto))
		return false;
	l = sizeof(int);
	REAL(getsockopt)(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l);
	*listening = acc;
	return true;
}

/*
 * An fd we did not create (inherited over exec, SCM_RIGHTS). Whoever
 * created it may be a plain process that still holds it and reads or
 * writes it through the kernel only: attaching it would move the
 * connection's data to a ring that process never looks at. So it stays a
 * kernel socket for good, unless its end of a channel is live (created
 * by a velo process, whose execs keep velo loaded): then it attaches at
 * once, the peer may already be writing to the ring, and from then on this
 * process counts as a holder of the end (its exec keeps velo loaded too).
 * A listener is ours to accept from: what it accepts is created here.
 */
static void std_stream_fd(int fd);

static void adopt_fd(int fd)
{
	struct vsock *vs;
	bool listening = false;
	int dom, saved = errno;

	velo_fd_opened(fd);
	if (!tcp_kind(fd, &dom, &listening))
		goto out;
	if (listening) {
		velo_track_new_socket(fd, dom, VELO_SS_LISTEN);
		goto out;
	}
	if (!chan_end_live(fd)) {
		velo_track_new_socket(fd, dom, VELO_SS_KERNEL);
		goto out;
	}
	velo_track_new_socket(fd, dom, VELO_SS_PENDING);
	vs = velo_fd_get(fd);
	if (vs) {
		velo_loop_try_attach(vs, fd);
		velo_vs_put(vs);
	}
	std_stream_fd(fd); /* attached first: the peer may have written to the ring */
out:
	errno = saved;
}

/* The kernel's CMSG_OK(): a whole header, and no longer than what is left. */
static bool cmsg_ok(const struct msghdr *msg, const struct cmsghdr *c)
{
	size_t room = msg->msg_controllen - (size_t)((char *)c - (char *)msg->msg_control);

	return c->cmsg_len >= sizeof(*c) && c->cmsg_len <= room;
}

/* fn(fd) for each fd an SCM_RIGHTS message carries. */
static void cmsg_fds_each(const struct msghdr *msg, void (*fn)(int fd))
{
	struct cmsghdr *c;

	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr) ||
	    velo_bad_range(msg->msg_control, msg->msg_controllen))
		return;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (!cmsg_ok(msg, c))
			return; /* malformed: the kernel refuses the message */
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);
			size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < n; i++)
				fn(fds[i]);
		}
	}
}

static void adopt_cmsg_fds(struct msghdr *msg)
{
	cmsg_fds_each(msg, adopt_fd);
}

/* A wire connection sent to another process goes to the kernel's TCP first. */
static void hand_over_fd(int fd)
{
	struct vsock *vs = wire_vs(fd);

	if (vs) {
		velo_wire_vs_to_kernel(vs, fd);
		velo_vs_put(vs);
	}
}

/*
 * An option only the kernel's TCP has: the socket's connections are its.
 * @settled: its doorbells are taken at once (velo_loop_to_kernel_settled).
 */
static void kernel_tcp_only(int fd, bool settled)
{
	struct vsock *vs = velo_fd_get(fd);

	if (!vs)
		return;
	atomic_store(&vs->kernel_tcp, true);
	if (atomic_load(&vs->state) == VELO_SS_WIRE)
		velo_wire_vs_to_kernel(vs, fd);
	else if (settled)
		velo_loop_to_kernel_settled(vs, fd);
	else
		velo_loop_to_kernel(vs, fd);
	velo_vs_put(vs);
}

static void accel_end_conn(int fd, struct vsock *vs, void *arg)
{
	(void)vs;
	(void)arg;
	kernel_tcp_only(fd, true);
}

/* After the connections: a listener's children held its port's filter. */
static void accel_end_listener(int fd, struct vsock *unref, void *arg)
{
	struct vsock *vs = velo_fd_get(fd);

	(void)unref;
	(void)arg;
	if (vs) {
		velo_wire_vs_unlisten(vs);
		velo_vs_put(vs);
	}
}

/*
 * The process may now reach its sockets other than through libc (an
 * io_uring, uring.c): each connection goes back to the kernel's TCP, engine
 * listeners stop taking SYNs (what they queued is reset, as a closed
 * listener's), and no socket is accelerated from now on.
 */
void velo_accel_end(const char *why)
{
	static atomic_bool ended;

	if (atomic_exchange(&ended, true))
		return;
	velo_dbg("%s: every socket is the kernel's from now on", why);
	velo_stat_add(VELO_STAT_ACCEL_ENDED, 1);
	__atomic_store_n(&velo_cfg.loopback, false, __ATOMIC_RELAXED);
	__atomic_store_n(&velo_cfg.wire, false, __ATOMIC_RELAXED);
	velo_fd_foreach(accel_end_conn, NULL);
	velo_fd_foreach(accel_end_listener, NULL);
}

/*
 * glibc's stdin, stdout and stderr streams read and write fds 0-2 with its
 * internal calls, which no preload library sees: a connection there (an
 * inetd- or CGI-style dup2() onto stdout, then printf()) is the kernel's
 * TCP's, whose socket those calls reach. A listener there is not: what it
 * accepts gets other numbers.
 */
static void std_stream_fd(int fd)
{
	struct vsock *vs;
	uint32_t state;

	if (fd > STDERR_FILENO || !(vs = velo_fd_get(fd)))
		return;
	state = atomic_load(&vs->state);
	velo_vs_put(vs);
	if (state == VELO_SS_LOOP || state == VELO_SS_WIRE || state == VELO_SS_PENDING)
		kernel_tcp_only(fd, true);
}

/* No loopback ring for @fd's connections (accepted ones inherit it). */
static void ring_unfit(int fd)
{
	struct vsock *vs = velo_fd_get(fd);

	if (!vs)
		return;
	atomic_store(&vs->ring_unfit, true);
	velo_loop_to_kernel(vs, fd);
	velo_vs_put(vs);
}

void velo_adopt_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd;

	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct stat sb;
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dfd)
			continue;
		if (fstat(fd, &sb) || !S_ISSOCK(sb.st_mode))
			continue;
		adopt_fd(fd);
	}
	closedir(d);
}

/* --------------------------------------------------------------- creation */

VELO_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = REAL(socket)(domain, type, protocol);

	if (fd >= 0 && velo_fd_capturing())
		return velo_fd_private(fd, NULL); /* a library's, working for libvelo */
	if (fd >= 0) {
		if (is_tcp(domain, type, protocol)) {
			velo_track_new_socket(fd, domain, VELO_SS_PENDING);
			std_stream_fd(fd);
		} else {
			velo_fd_opened(fd);
		}
	}
	return fd;
}

VELO_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = REAL(socketpair)(domain, type, protocol, sv);

	if (!r) {
		velo_fd_opened(sv[0]);
		velo_fd_opened(sv[1]);
	}
	return r;
}

/*
 * A WIRE socket is connected (through the engine) while its kernel file is
 * not: bind() and listen() must fail as on a connected socket (EINVAL),
 * not act on the file.
 */
static bool wire_connected(int fd)
{
	struct vsock *vs = wire_vs(fd);

	velo_vs_put(vs);
	return vs != NULL;
}

VELO_EXPORT int bind(int fd, const struct sockaddr *a, socklen_t l)
{
	if (!wire_connected(fd) || (l && velo_bad_range(a, l)))
		return REAL(bind)(fd, a, l);
	errno = EINVAL;
	return -1;
}

VELO_EXPORT int listen(int fd, int backlog)
{
	struct vsock *vs;
	int r;

	if (wire_connected(fd)) {
		errno = EINVAL;
		return -1;
	}
	r = REAL(listen)(fd, backlog);

	if (!r && (vs = velo_fd_get(fd))) {
		uint32_t p = VELO_SS_PENDING;

		atomic_compare_exchange_strong(&vs->state, &p, VELO_SS_LISTEN);
		vs->w_listen_tried = false; /* listening again: the engine may join */
		velo_slot_update(vs, fd);
		velo_wire_vs_listened(vs, fd);
		velo_vs_put(vs);
	}
	return r;
}

static int after_accept(int lfd, int fd)
{
	struct vsock *lvs, *vs;
	int saved = errno;
	bool unfit = false;
	uint32_t sndbuf = 0, rcvbuf = 0;

	if (fd < 0)
		return fd;
	lvs = velo_fd_get(lfd);
	if (lvs) {
		velo_track_new_socket(fd, lvs->family, VELO_SS_PENDING);
		unfit = atomic_load(&lvs->ring_unfit) || atomic_load(&lvs->kernel_tcp);
		/* the listener's buffer sizes are the connection's, as in sk_clone_lock */
		sndbuf = atomic_load(&lvs->sndbuf);
		rcvbuf = atomic_load(&lvs->rcvbuf);
		velo_vs_put(lvs);
	} else {
		/* a listener we never saw: the connection is still created here */
		bool listening;
		int dom;

		if (!tcp_kind(fd, &dom, &listening)) {
			velo_fd_opened(fd);
			errno = saved;
			return fd;
		}
		velo_track_new_socket(fd, dom, VELO_SS_PENDING);
	}
	std_stream_fd(fd);
	vs = velo_fd_get(fd);
	if (vs) {
		vs->accepted = true;
		atomic_store(&vs->ring_unfit, unfit);
		atomic_store(&vs->sndbuf, sndbuf);
		atomic_store(&vs->rcvbuf, rcvbuf);
		velo_loop_try_attach(vs, fd);
		velo_vs_put(vs);
	}
	errno = saved;
	return fd;
}

/* A connection from the engine's listeners (wire.c), if velo answers. */
static bool wire_accept(int fd, struct sockaddr *a, socklen_t *l, int flags, int *ret)
{
	struct vsock *vs;
	bool done;

	if (!velo_cfg.wire || !(vs = velo_fd_get(fd)))
		return false;
	done = atomic_load(&vs->state) == VELO_SS_LISTEN &&
	       velo_wire_vs_accept(vs, fd, a, l, flags, ret);
	velo_vs_put(vs);
	if (done && *ret >= 0)
		std_stream_fd(*ret);
	return done;
}

VELO_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	int r;

	if (wire_accept(fd, a, l, 0, &r))
		return r;
	return after_accept(fd, REAL(accept)(fd, a, l));
}

VELO_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
	int r;

	if (wire_accept(fd, a, l, flags, &r))
		return r;
	return after_accept(fd, REAL(accept4)(fd, a, l, flags));
}

VELO_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	struct vsock *wvs = velo_fd_get(fd);
	int r;

	if (wvs) {
		bool taken = false;

		if (atomic_load(&wvs->state) == VELO_SS_WIRE) {
			r = velo_wire_vs_connect(wvs, fd, a, l);
			taken = true;
		} else {
			taken = velo_wire_try_connect(wvs, fd, a, l, &r);
		}
		velo_vs_put(wvs);
		if (taken)
			return r;
	}
	r = REAL(connect)(fd, a, l);

	if (!r) {
		struct vsock *vs = velo_fd_get(fd);

		if (vs && a->sa_family == AF_UNSPEC)
			velo_loop_disconnected(vs, fd);
		else if (vs)
			velo_loop_try_attach(vs, fd);
		velo_vs_put(vs);
	}
	return r;
}

static void unlisten(int fd)
{
	struct vsock *vs = velo_fd_get(fd);

	if (vs && atomic_load(&vs->wl))
		velo_wire_vs_unlisten(vs);
	if (vs)
		velo_vs_put(vs);
}

VELO_EXPORT int shutdown(int fd, int how)
{
	struct vsock *vs = wire_vs(fd);
	uint32_t was = 0;
	int r, saved;

	if (vs) {
		r = how < SHUT_RD || how > SHUT_RDWR ? (errno = EINVAL, -1) :
						       velo_wire_vs_shutdown(vs, how);
		velo_vs_put(vs);
		return r;
	}
	vs = loop_vs(fd);

	if (vs)
		velo_loop_shutdown_begin(vs, fd, how, &was);
	r = REAL(shutdown)(fd, how);
	saved = errno;
	if (!r && !vs)
		unlisten(fd); /* a listener that was shut down accepts nothing more */
	if (vs) {
		if (!r)
			velo_loop_shutdown(vs, how);
		else
			velo_loop_shutdown_failed(vs, was);
		velo_vs_put(vs);
	}
	errno = saved;
	return r;
}

/*
 * Bookkeeping for an fd about to be closed (by close, fclose, dup2...).
 * cl: the fd still refers to the socket (NULL: it already does not).
 * Returns true when velo_loop_closed(cl) must follow the real close.
 */
static bool before_close(int fd, struct velo_closing *cl)
{
	struct vsock *vs = velo_fd_remove(fd);
	bool post = false;

	if (vs) {
		if (vs->regs)
			velo_epoll_vs_fd_closed(vs, fd, atomic_load(&vs->fdrefs) == 0);
		/*
		 * fd-table entries decide, not references (a longjmp leaks those);
		 * but a call another thread is asleep in holds the connection, as
		 * Linux's file reference does: it ends when that call returns.
		 */
		if (atomic_load(&vs->fdrefs) == 0 && atomic_load(&vs->state) == VELO_SS_WIRE &&
		    !velo_wire_vs_busy(vs) && !atomic_exchange(&vs->released, true))
			velo_wire_vs_close(vs);
		if (atomic_load(&vs->fdrefs) == 0 && atomic_load(&vs->wl))
			velo_wire_vs_unlisten(vs);
		if (atomic_load(&vs->fdrefs) == 0 && atomic_load(&vs->state) == VELO_SS_LOOP &&
		    !atomic_exchange(&vs->released, true)) {
			post = velo_loop_release(vs, cl ? fd : -1, false, cl,
						 atomic_load(&vs->refs) == 1);
			atomic_store(&vs->state, VELO_SS_KERNEL);
		}
		velo_vs_put(vs);
	}
	velo_epoll_fd_closed(fd);
	velo_fd_closed(fd);
	return post;
}

/* libvelo's own fds are not the application's to close (common/fd.h). */
static int close_private(int fd)
{
	if (!velo_fd_capturing()) {
		errno = EBADF;
		return -1;
	}
	velo_fd_close(fd);
	return 0;
}

VELO_EXPORT int close(int fd)
{
	struct velo_closing cl;
	bool post;
	int r, saved;

	if (velo_fd_is_private(fd))
		return close_private(fd);
	post = before_close(fd, &cl);
	r = REAL(close)(fd);
	saved = errno;

	if (post)
		velo_loop_closed(&cl);
	errno = saved;
	return r;
}

struct fd_range {
	unsigned int first, last, flags;
	int *fds, n, cap;
	int err;
};

static void range_note(int fd, struct fd_range *r)
{
	int *more;

	if ((unsigned int)fd < r->first || (unsigned int)fd > r->last)
		return;
	if (r->n == r->cap) {
		more = realloc(r->fds, (size_t)(r->cap ? r->cap * 2 : 64) * sizeof(*more));
		if (!more) {
			r->err = ENOMEM;
			return;
		}
		r->fds = more;
		r->cap = r->cap ? r->cap * 2 : 64;
	}
	r->fds[r->n++] = fd;
}

static void range_note_sock(int fd, struct vsock *vs, void *arg)
{
	(void)vs;
	range_note(fd, arg);
}

static struct fd_range *range_of_epolls;

static void range_note_epoll(int fd, struct vepoll *ep)
{
	(void)ep;
	range_note(fd, range_of_epolls);
}

/* Closes [next, @upto) with the kernel's close_range, past private fd @upto. */
static void range_close_gap(int upto, void *arg)
{
	struct fd_range *r = arg;

	if ((unsigned int)upto > r->first && !r->err &&
	    syscall(SYS_close_range, r->first, (unsigned int)upto - 1, r->flags))
		r->err = errno;
	r->first = (unsigned int)upto + 1;
}

/*
 * close_range and closefrom: libvelo's sockets and epoll sets in the range
 * are closed one by one as close() would (their engine state goes too), its
 * private fds are left out, and the kernel closes the rest in spans.
 */
VELO_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	static pthread_mutex_t epolls_lock = PTHREAD_MUTEX_INITIALIZER;
	struct fd_range r = { .first = first, .last = last, .flags = (unsigned int)flags };

	if (first > last) {
		errno = EINVAL;
		return -1;
	}
	if (!(flags & CLOSE_RANGE_CLOEXEC)) {
		velo_fd_foreach(range_note_sock, &r);
		pthread_mutex_lock(&epolls_lock);
		range_of_epolls = &r;
		velo_fd_foreach_epoll(range_note_epoll);
		pthread_mutex_unlock(&epolls_lock);
		for (int i = 0; i < r.n; i++)
			close(r.fds[i]);
		free(r.fds);
	}
	velo_fd_private_foreach(first, last, range_close_gap, &r);
	if (!r.err && r.first <= last && syscall(SYS_close_range, r.first, last, flags))
		r.err = errno;
	if (r.err) {
		errno = r.err;
		return -1;
	}
	return 0;
}

VELO_EXPORT void closefrom(int lowfd)
{
	close_range(lowfd < 0 ? 0 : (unsigned int)lowfd, ~0u, 0);
}

VELO_EXPORT int fclose(FILE *fp)
{
	struct velo_closing cl;
	int fd = fp ? fileno(fp) : -1, r, saved;
	bool post = fd >= 0 && before_close(fd, &cl);

	velo_fclose_fd = fd; /* a cookie stream of ours closes it (stdio.c) */
	r = REAL(fclose)(fp);
	saved = errno;
	velo_fclose_fd = -1;
	if (post)
		velo_loop_closed(&cl);
	errno = saved;
	return r;
}

/* ---------------------------------------------------------------- receive */

/*
 * read() and readv() of nothing return 0 at once on a socket (Linux's
 * sock_read_iter()), where recv() waits for data: the kernel answers them.
 * So it does a buffer whose whole length reaches past user space: vfs_read()
 * and vfs_write() check it before cutting the length at MAX_RW_COUNT (recv
 * and send cut first).
 */
VELO_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct vsock *vs = n && velo_access_ok(buf, n) ? accel_vs(fd) : NULL;
	struct iovec iov = { buf, velo_rw_count(n) };
	ssize_t r;

	if (!vs)
		return REAL(read)(fd, buf, n);
	r = vs_recv(vs, fd, &iov, 1, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

VELO_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct vsock *vs;
	ssize_t r;

	if (cnt < 0 || cnt > IOV_MAX || velo_bad_range(iov, cnt * sizeof(*iov)) ||
	    !velo_iov_len(iov, cnt) || !(vs = accel_vs(fd)))
		return REAL(readv)(fd, iov, cnt);
	r = vs_recv(vs, fd, iov, cnt, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct vsock *vs = accel_vs(fd);
	struct iovec iov = { buf, velo_rw_count(n) };
	ssize_t r;

	if (!vs)
		return REAL(recv)(fd, buf, n, flags);
	r = vs_recv(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

/*
 * TCP has no source address: recvfrom() stores a length of 0, as
 * move_addr_to_user() does after the data was taken, failing the call if
 * it cannot read the length (EFAULT), finds it negative (EINVAL) or cannot
 * write it.
 */
static ssize_t no_source_addr(ssize_t r, socklen_t *al)
{
	int err = 0;

	if (velo_bad_range(al, sizeof(*al)))
		err = EFAULT;
	else if ((int)*al < 0)
		err = EINVAL;
	else if (velo_bad_wrange(al, sizeof(*al)))
		err = EFAULT;
	if (err) {
		errno = err;
		return -1;
	}
	*al = 0;
	return r;
}

VELO_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
			     socklen_t *al)
{
	struct vsock *vs = accel_vs(fd);
	struct iovec iov = { buf, velo_rw_count(n) };
	ssize_t r;

	if (!vs)
		return REAL(recvfrom)(fd, buf, n, flags, a, al);
	r = vs_recv(vs, fd, &iov, 1, flags);
	if (r >= 0 && a)
		r = no_source_addr(r, al);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				   struct sockaddr *a, socklen_t *al)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, a, al);
}

VELO_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct vsock *vs;
	ssize_t r;

	/* the error queue (send timestamps, zero-copy notices) is the kernel's */
	if (!m || velo_bad_range(m, sizeof(*m)) || m->msg_iovlen > IOV_MAX ||
	    velo_bad_range(m->msg_iov, m->msg_iovlen * sizeof(struct iovec)) ||
	    (flags & MSG_ERRQUEUE) || !(vs = accel_vs(fd))) {
		r = REAL(recvmsg)(fd, m, flags);
		if (r >= 0 && m && m->msg_controllen)
			adopt_cmsg_fds(m);
		return r;
	}
	if (m->msg_name && (int)m->msg_namelen < 0) {
		velo_vs_put(vs);
		errno = EINVAL; /* copy_msghdr_from_user(), before anything is read */
		return -1;
	}
	/* control messages (TCP_INQ's, timestamps) of a connection back on the kernel */
	if (m->msg_controllen && velo_loop_in_plain(vs)) {
		velo_vs_put(vs);
		return REAL(recvmsg)(fd, m, flags);
	}
	r = vs_recv(vs, fd, m->msg_iov, (int)m->msg_iovlen, flags);
	if (r >= 0 && velo_bad_wrange(m, sizeof(*m))) {
		/* as ___sys_recvmsg(): the data is taken, then the header cannot be written */
		errno = EFAULT;
		r = -1;
	} else if (r >= 0) {
		m->msg_namelen = 0;
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	velo_vs_put(vs);
	return r;
}

/*
 * recvmmsg()'s timeout, as __sys_recvmmsg() takes it: EFAULT unreadable,
 * EINVAL not a valid timespec; else its end on velo_now_ns()'s clock.
 */
static int mmsg_deadline(const struct timespec *tmo, uint64_t *end)
{
	if (velo_bad_range(tmo, sizeof(*tmo)))
		return EFAULT;
	if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000)
		return EINVAL;
	*end = velo_now_ns() + (tmo->tv_sec > 1000000000 ? 1000000000 : tmo->tv_sec) * 1000000000ull +
	       (uint64_t)tmo->tv_nsec;
	return 0;
}

/* After a message: what is left of the timeout (*left); true once none is. */
static bool mmsg_time_left(struct timespec *left, uint64_t end)
{
	uint64_t now = velo_now_ns();

	*left = (struct timespec){ 0, 0 };
	if (now >= end)
		return true;
	left->tv_sec = (time_t)((end - now) / 1000000000ull);
	left->tv_nsec = (long)((end - now) % 1000000000ull);
	return false;
}

/*
 * Messages of an accelerated socket as do_recvmmsg() takes them: a receive
 * of 0 (EOF) is a message too and the loop goes on; the timeout is looked
 * at after each message only (a blocking receive may wait past it, as on
 * Linux), and what is left of it is written back once a message came.
 */
VELO_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
			 struct timespec *tmo)
{
	struct vsock *vs = accel_vs(fd);
	struct timespec left;
	uint64_t end = 0;
	unsigned int i;
	int r;

	if (!vs) {
		r = REAL(recvmmsg)(fd, v, n, flags, tmo);
		for (i = 0; r > 0 && i < (unsigned int)r; i++)
			if (v[i].msg_hdr.msg_controllen)
				adopt_cmsg_fds(&v[i].msg_hdr);
		return r;
	}
	velo_vs_put(vs);
	if (tmo && (r = mmsg_deadline(tmo, &end))) {
		errno = r;
		return -1;
	}
	for (i = 0; i < n; i++) {
		int f = flags & ~MSG_WAITFORONE;
		ssize_t k;

		if (i && (flags & MSG_WAITFORONE))
			f |= MSG_DONTWAIT;
		k = recvmsg(fd, &v[i].msg_hdr, f);
		if (k < 0) {
			if (i)
				break;
			return -1;
		}
		v[i].msg_len = k;
		if (tmo && mmsg_time_left(&left, end)) {
			i++;
			break;
		}
	}
	if (tmo && i) {
		if (velo_bad_wrange(tmo, sizeof(*tmo))) {
			errno = EFAULT; /* the messages were taken, as Linux's */
			return -1;
		}
		*tmo = left;
	}
	return i;
}

/* ------------------------------------------------------------------- send */

VELO_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct vsock *vs = velo_access_ok(buf, n) ? accel_vs(fd) : NULL; /* see read() */
	struct iovec iov = { (void *)buf, velo_rw_count(n) };
	ssize_t r;

	if (!vs)
		return REAL(write)(fd, buf, n);
	r = vs_send(vs, fd, &iov, 1, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct vsock *vs;
	ssize_t r;

	if (cnt < 0 || cnt > IOV_MAX || velo_bad_range(iov, cnt * sizeof(*iov)) ||
	    !(vs = accel_vs(fd)))
		return REAL(writev)(fd, iov, cnt);
	r = vs_send(vs, fd, iov, cnt, 0);
	velo_vs_put(vs);
	return r;
}

/*
 * preadv2() and pwritev2() at the current position (offset -1) are readv()
 * and writev() on a socket, RWF_NOWAIT making them non-blocking. Anything
 * else (an offset: ESPIPE, other flags) is the kernel's to answer.
 */
static struct vsock *rw2_vs(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (off != -1 || (flags & ~RWF_NOWAIT) || cnt < 0 || cnt > IOV_MAX ||
	    velo_bad_range(iov, cnt * sizeof(*iov)))
		return NULL;
	return accel_vs(fd);
}

VELO_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct vsock *vs = rw2_vs(fd, iov, cnt, off, flags);
	ssize_t r;

	if (!vs || !velo_iov_len(iov, cnt)) {
		velo_vs_put(vs);
		return REAL(preadv2)(fd, iov, cnt, off, flags);
	}
	r = vs_recv(vs, fd, iov, cnt, flags & RWF_NOWAIT ? MSG_DONTWAIT : 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct vsock *vs = rw2_vs(fd, iov, cnt, off, flags);
	ssize_t r;

	if (!vs)
		return REAL(pwritev2)(fd, iov, cnt, off, flags);
	r = vs_send(vs, fd, iov, cnt, flags & RWF_NOWAIT ? MSG_DONTWAIT : 0);
	velo_vs_put(vs);
	return r;
}

/* The same functions under their large-file names (off_t is 64 bits here). */
VELO_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	__attribute__((alias("preadv2")));
VELO_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	__attribute__((alias("pwritev2")));

/*
 * MSG_FASTOPEN on a socket velo carries, connected or connecting:
 * tcp_sendmsg_fastopen() fails it before anything else, with EOPNOTSUPP
 * where net.ipv4.tcp_fastopen has no client bit or the address is
 * AF_UNSPEC, else with what its connect finds: EISCONN (EALREADY while
 * connecting).
 */
static ssize_t fastopen_fail(struct vsock *vs, const struct sockaddr *a, socklen_t al)
{
	if (!(velo_wire_sysctl("ipv4/tcp_fastopen", 0) & 1) ||
	    (a && al >= sizeof(sa_family_t) && a->sa_family == AF_UNSPEC))
		errno = EOPNOTSUPP;
	else
		errno = velo_wire_vs_connecting(vs) ? EALREADY : EISCONN;
	return -1;
}

VELO_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct vsock *vs = accel_vs(fd);
	struct iovec iov = { (void *)buf, velo_rw_count(n) };
	ssize_t r;

	if (!vs)
		return REAL(send)(fd, buf, n, flags);
	r = flags & MSG_FASTOPEN ? fastopen_fail(vs, NULL, 0) : vs_send(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

/* sendto()'s address is copied in first (move_addr_to_kernel()), though a connection ignores it */
static int sendto_addr_err(const struct sockaddr *a, socklen_t al)
{
	if (!a || !al)
		return 0;
	if ((int)al < 0 || al > sizeof(struct sockaddr_storage))
		return EINVAL;
	return velo_bad_range(a, al) ? EFAULT : 0;
}

VELO_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *a, socklen_t al)
{
	struct vsock *vs = accel_vs(fd);
	struct iovec iov = { (void *)buf, velo_rw_count(n) };
	ssize_t r;
	int err;

	if (!vs)
		return REAL(sendto)(fd, buf, n, flags, a, al);
	err = sendto_addr_err(a, al);
	if (err) {
		velo_vs_put(vs);
		errno = err;
		return -1;
	}
	r = flags & MSG_FASTOPEN ? fastopen_fail(vs, a, al) : vs_send(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

/* CAP_NET_RAW or CAP_NET_ADMIN, as sockopt_ns_capable() asks for either. */
static bool net_capable(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[0].effective & ((1u << CAP_NET_RAW) | (1u << CAP_NET_ADMIN));
}

/*
 * The control messages of a sendmsg() on an accelerated socket, checked as
 * tcp_sendmsg() has sock_cmsg_send() check them: 0 or the errno. What they
 * ask for (a mark, a priority, TX timestamps) is not applied; SCM_RIGHTS
 * and SCM_CREDENTIALS mean nothing to TCP, which ignores them.
 */
static int tcp_cmsg_check(const struct msghdr *m)
{
	struct cmsghdr *c;
	uint32_t v;

	if (m->msg_controllen > INT_MAX)
		return ENOBUFS;
	if (velo_bad_range(m->msg_control, m->msg_controllen))
		return EFAULT;
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (!cmsg_ok(m, c))
			return EINVAL;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type == SCM_RIGHTS ||
		    c->cmsg_type == SCM_CREDENTIALS)
			continue;
		if (c->cmsg_len != CMSG_LEN(sizeof(v)))
			return EINVAL;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		switch (c->cmsg_type) {
		case SO_MARK:
			if (!net_capable())
				return EPERM;
			break;
		case SO_PRIORITY: /* 0..6 (TC_PRIO_INTERACTIVE) for anyone */
			if (v > 6 && !net_capable())
				return EPERM;
			break;
		case SO_TIMESTAMPING_OLD:
		case SO_TIMESTAMPING_NEW:
			if (v & ~SOF_TIMESTAMPING_TX_RECORD_MASK)
				return EINVAL;
			break;
		default:
			return EINVAL;
		}
	}
	return 0;
}

/*
 * A message's address is copied in first, as sendto()'s, though a
 * connection ignores it; one longer than any is cut (__copy_msghdr()).
 */
static int msg_name_err(const struct msghdr *m)
{
	socklen_t l = m->msg_namelen;

	if (!m->msg_name)
		return 0;
	if ((int)l < 0)
		return EINVAL;
	if (l > sizeof(struct sockaddr_storage))
		l = sizeof(struct sockaddr_storage);
	return sendto_addr_err(m->msg_name, l);
}

VELO_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct vsock *vs;
	ssize_t r;
	int err;

	if (m && !velo_bad_range(m, sizeof(*m)) && m->msg_controllen &&
	    atomic_load(&velo_wire_count))
		cmsg_fds_each(m, hand_over_fd);
	if (!m || velo_bad_range(m, sizeof(*m)) || m->msg_iovlen > IOV_MAX ||
	    velo_bad_range(m->msg_iov, m->msg_iovlen * sizeof(struct iovec)) ||
	    !(vs = accel_vs(fd)))
		return REAL(sendmsg)(fd, m, flags);
	/* the data goes the socket's way: the kernel's would be lost as doorbells */
	err = msg_name_err(m);
	if (!err && m->msg_controllen)
		err = tcp_cmsg_check(m);
	if (err) {
		velo_vs_put(vs);
		errno = err;
		return -1;
	}
	r = flags & MSG_FASTOPEN ? fastopen_fail(vs, m->msg_name, m->msg_namelen) :
				   vs_send(vs, fd, m->msg_iov, (int)m->msg_iovlen, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	struct vsock *vs = accel_vs(fd);
	unsigned int i;

	if (!vs)
		return REAL(sendmmsg)(fd, v, n, flags);
	velo_vs_put(vs);
	if (n > 1024)
		n = 1024; /* UIO_MAXIOV, as the kernel */
	for (i = 0; i < n; i++) {
		ssize_t k = sendmsg(fd, &v[i].msg_hdr, flags);

		if (k < 0) {
			if (i)
				break;
			return -1;
		}
		v[i].msg_len = k;
		if ((size_t)k < velo_iov_len(v[i].msg_hdr.msg_iov, (int)v[i].msg_hdr.msg_iovlen)) {
			i++;
			break; /* a short send ends the batch, as do_sendmmsg() */
		}
	}
	return i;
}

/* sendfile() onto a ring, from *off (advanced) or the file's position */
static ssize_t loop_sendfile_at(struct vsock *vs, int out, int in, off_t *off, size_t count)
{
	char buf[65536];
	size_t done = 0;

	while (done < count) {
		size_t want = count - done < sizeof(buf) ? count - done : sizeof(buf);
		ssize_t n = off ? pread(in, buf, want, *off) : REAL(read)(in, buf, want);
		struct iovec iov;
		ssize_t w;

		if (n <= 0) {
			if (n < 0 && !done)
				return -1;
			break;
		}
		iov.iov_base = buf;
		iov.iov_len = n;
		w = vs_send(vs, out, &iov, 1, 0);
		if (w < 0) {
			if (!off)
				lseek(in, -n, SEEK_CUR);
			if (!done)
				return -1;
			break;
		}
		if (off)
			*off += w;
		else if (w < n)
			lseek(in, w - n, SEEK_CUR);
		done += w;
		if (w < n)
			break;
	}
	return done;
}

/*
 * What do_sendfile() refuses whatever the socket is: an input that is not
 * a regular file or a block device (a pipe, a socket), and an output opened
 * O_APPEND. The kernel gives those their errors, in its order.
 */
static bool sendfile_refused(int out, int in)
{
	int fl = REAL(fcntl)(out, F_GETFL);
	struct stat st;

	return fl < 0 || (fl & O_APPEND) || fstat(in, &st) < 0 ||
	       (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode));
}

static ssize_t loop_sendfile(struct vsock *vs, int out, int in, off_t *user_off, size_t count)
{
	off_t pos;
	ssize_t done;

	if (sendfile_refused(out, in))
		return REAL(sendfile)(out, in, user_off, count);
	if (!user_off)
		return loop_sendfile_at(vs, out, in, NULL, count);
	/* the offset is read first and written last (get_user/put_user) */
	if (velo_bad_range(user_off, sizeof(*user_off))) {
		errno = EFAULT;
		return -1;
	}
	pos = *user_off;
	done = loop_sendfile_at(vs, out, in, &pos, count);
	if (done < 0)
		return done;
	if (velo_bad_wrange(user_off, sizeof(*user_off))) {
		errno = EFAULT;
		return -1;
	}
	*user_off = pos;
	return done;
}

VELO_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	struct vsock *vs = accel_vs(out);
	ssize_t r;

	if (!vs)
		return REAL(sendfile)(out, in, off, count);
	r = loop_sendfile(vs, out, in, off, count);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	struct vsock *vs = accel_vs(out);
	ssize_t r;

	if (!vs)
		return REAL(sendfile64)(out, in, off, count);
	r = loop_sendfile(vs, out, in, (off_t *)off, count);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t splice(int in, loff_t *offin, int out, loff_t *offout, size_t len,
			   unsigned int flags)
{
	struct vsock *vin = accel_vs(in), *vout = vin ? NULL : accel_vs(out);
	char buf[65536];
	ssize_t r;

	struct stat other;

	if (!vin && !vout)
		return REAL(splice)(in, offin, out, offout, len, flags);
	if (fstat(vin ? out : in, &other) < 0 || !S_ISFIFO(other.st_mode)) {
		/* no pipe on the other side: do_splice() refuses it (EINVAL, EBADF, ...) */
		velo_vs_put(vin ? vin : vout);
		return REAL(splice)(in, offin, out, offout, len, flags);
	}
	/*
	 * Offsets are copied in first (EFAULT); then do_splice() refuses one
	 * for the pipe (ESPIPE), then one for the socket (EINVAL).
	 */
	if (offin || offout) {
		bool bad = (offin && velo_bad_range(offin, sizeof(*offin))) ||
			   (offout && velo_bad_range(offout, sizeof(*offout)));
		loff_t *pipe_off = vin ? offout : offin;

		velo_vs_put(vin ? vin : vout);
		errno = bad ? EFAULT : pipe_off ? ESPIPE : EINVAL;
		return -1;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (vin) {
		/* socket -> pipe: peek, write what the pipe takes, consume that */
		struct iovec iov = { buf, len };
		int f = MSG_PEEK | ((flags & SPLICE_F_NONBLOCK) ? MSG_DONTWAIT : 0), mark = 0;

		/*
		 * At the urgent mark the rest is the kernel socket's, and its
		 * tcp_read_sock() stops there, where a read skips the byte.
		 */
		if (atomic_load(&vin->state) == VELO_SS_LOOP && !velo_loop_atmark(vin, in, &mark) &&
		    mark) {
			velo_vs_put(vin);
			return REAL(splice)(in, NULL, out, NULL, len, flags);
		}
		r = vs_recv(vin, in, &iov, 1, f);
		if (r > 0) {
			ssize_t w = REAL(write)(out, buf, r);

			if (w > 0) {
				iov.iov_len = w;
				vs_recv(vin, in, &iov, 1, MSG_DONTWAIT);
			}
			r = w;
		}
		velo_vs_put(vin);
		return r;
	}
	/* pipe -> socket */
	r = REAL(read)(in, buf, len);
	if (r > 0) {
		struct iovec iov = { buf, r };
		ssize_t w = vs_send(vout, out, &iov, 1, 0);

		r = w;
	}
	velo_vs_put(vout);
	return r;
}

/* ---------------------------------------------------------------- options */

static int sock_name(int fd, bool peer, struct sockaddr *a, socklen_t *l)
{
	struct vsock *vs = wire_vs(fd);
	int r;

	if (!vs)
		return peer ? REAL(getpeername)(fd, a, l) : REAL(getsockname)(fd, a, l);
	r = velo_wire_vs_name(vs, peer, a, l);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
	return sock_name(fd, false, a, l);
}

VELO_EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
	return sock_name(fd, true, a, l);
}

/* An option the loopback channel may keep for the app (velo_loop_getsockopt). */
static bool loop_kept(int level, int name)
{
	return (level == SOL_SOCKET && (name == SO_PEEK_OFF || name == SO_ERROR)) ||
	       (level == IPPROTO_TCP && (name == TCP_NODELAY || name == TCP_CORK || name == TCP_INFO));
}

VELO_EXPORT int getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
	struct vsock *vs;
	int r;

	/* receive zerocopy maps the kernel socket's queue: the connection goes there */
	if (level == IPPROTO_TCP && name == TCP_ZEROCOPY_RECEIVE)
		hand_over_fd(fd);
	vs = wire_vs(fd);

	/* and TCP_MAXSEG and SO_RCVBUF, which what the rings carried changes */
	if (!vs && (loop_kept(level, name) || (level == IPPROTO_TCP && name == TCP_MAXSEG) ||
		    (level == SOL_SOCKET && name == SO_RCVBUF)) &&
	    (vs = loop_vs(fd))) {
		bool kept = velo_loop_getsockopt(vs, fd, level, name, v, l, &r);

		velo_vs_put(vs);
		if (kept)
			return r;
		vs = NULL;
	}
	if (vs) {
		bool done = velo_wire_vs_getsockopt(vs, fd, level, name, v, l, &r);

		velo_vs_put(vs);
		if (done)
			return r;
	}
	return REAL(getsockopt)(fd, level, name, v, l);
}

VELO_EXPORT int setsockopt(int fd, int level, int name, const void *v, socklen_t l)
{
	struct vsock *wvs;
	int r;

	if (level == SOL_SOCKET && name == SO_PEEK_OFF && (wvs = loop_vs(fd))) {
		r = velo_loop_set_peek_off(wvs, fd, v, l);
		velo_vs_put(wvs);
		return r;
	}
	if (loop_kept(level, name) && (wvs = loop_vs(fd))) {
		bool kept = velo_loop_setsockopt(wvs, fd, level, name, v, l, &r);

		velo_vs_put(wvs);
		if (kept)
			return r;
	}
	wvs = velo_fd_get(fd);
	if (wvs && velo_wire_vs_sockopt_refused(wvs, level, name, v, l)) {
		velo_vs_put(wvs);
		errno = EINVAL;
		return -1;
	}
	/* before the kernel checks it against its socket's state (unconnected) */
	if (velo_wire_kernel_option(level, name, v, l))
		kernel_tcp_only(fd, false);
	/* a receive low-water mark is the kernel's TCP's, the loopback rings' too */
	if (level == SOL_SOCKET && name == SO_RCVLOWAT && l >= sizeof(int) &&
	    !velo_bad_range(v, sizeof(int)) && *(const int *)v > 1 && atomic_load(&velo_wire_count))
		hand_over_fd(fd);
	r = REAL(setsockopt)(fd, level, name, v, l);
	if (!r && velo_loop_unfit_option(level, name, v, l))
		ring_unfit(fd);
	if (!r && wvs) {
		/*
		 * The kernel socket validates and keeps the value; the engine
		 * follows (a wire connection, or a listener's engine halves),
		 * and so do the loopback rings' sizes.
		 */
		velo_wire_vs_sockopt_changed(wvs, fd, level, name);
		if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF ||
					    name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE))
			velo_loop_set_buf(wvs, fd, name == SO_SNDBUF || name == SO_SNDBUFFORCE ?
					  SO_SNDBUF : SO_RCVBUF);
	}
	if (wvs)
		velo_vs_put(wvs);
	/* a ring's reader wakes at the mark (a wire socket kept one of 1 at most) */
	if (!r && level == SOL_SOCKET && name == SO_RCVLOWAT) {
		struct vsock *vs = loop_vs(fd);

		if (vs) {
			int lowat = 1;
			socklen_t ll = sizeof(lowat);

			REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, &ll);
			velo_loop_set_rcvlowat(vs, lowat);
			velo_vs_put(vs);
		}
	}
	return r;
}

static void after_dup(int oldfd, int newfd)
{
	struct vsock *vs;

	if (newfd < 0)
		return;
	velo_fd_opened(newfd);
	vs = velo_fd_get(oldfd);
	if (vs)
		velo_fd_install(newfd, vs);
	std_stream_fd(newfd);
}

static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int saved;

		r = real(fd, cmd, arg);
		saved = errno;
		after_dup(fd, r);
		errno = saved;
		return r;
	}
	case F_SETFL: {
		struct vsock *vs;

		/* signal-driven I/O is the kernel's TCP's: the connection goes there */
		if (((long)arg & O_ASYNC) && atomic_load(&velo_wire_count))
			hand_over_fd(fd);
		r = real(fd, cmd, arg);
		if (!r && (vs = wire_vs(fd))) {
			velo_wire_vs_set_nonblock(vs, ((long)arg & O_NONBLOCK) != 0);
			velo_vs_put(vs);
		} else if (!r && (vs = loop_vs(fd))) {
			velo_loop_set_nonblock(vs, ((long)arg & O_NONBLOCK) != 0);
			velo_loop_set_async(vs, ((long)arg & O_ASYNC) != 0);
			velo_vs_put(vs);
		}
		return r;
	}
	default:
		return real(fd, cmd, arg);
	}
}

VELO_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(REAL(fcntl), fd, cmd, arg);
}

VELO_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(REAL(fcntl64), fd, cmd, arg);
}

VELO_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct vsock *vs;
	va_list ap;
	void *arg;
	bool answers;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == FIOASYNC && !velo_bad_range(arg, sizeof(int)) && *(int *)arg &&
	    atomic_load(&velo_wire_count))
		hand_over_fd(fd); /* as F_SETFL O_ASYNC */
	if (req == FIONBIO && !velo_bad_range(arg, sizeof(int)) && (vs = wire_vs(fd))) {
		r = REAL(ioctl)(fd, req, arg);
		if (!r)
			velo_wire_vs_set_nonblock(vs, *(int *)arg != 0);
		velo_vs_put(vs);
		return r;
	}
	if ((req == SIOCINQ || req == SIOCOUTQ || req == SIOCOUTQNSD || req == SIOCATMARK) &&
	    !velo_bad_wrange(arg, sizeof(int)) && (vs = wire_vs(fd))) {
		/* urgent data came: the kernel's TCP has the connection (and the mark) now */
		bool kernel = ((velo_wire_vs_events(vs) & POLLPRI) && velo_wire_vs_urgent(vs, fd)) ||
			      req == SIOCATMARK;

		r = kernel ? REAL(ioctl)(fd, req, arg) : velo_wire_vs_queue_ioctl(vs, req, arg);
		velo_vs_put(vs);
		return r;
	}
	/* FIONREAD, SIOCOUTQ(NSD) and SIOCATMARK answer in *arg; FIONBIO and FIOASYNC read it */
	answers = req == FIONREAD || req == SIOCOUTQ || req == SIOCOUTQNSD || req == SIOCATMARK;
	if ((!answers && req != FIONBIO && req != FIOASYNC) ||
	    (answers ? velo_bad_wrange(arg, sizeof(int)) : velo_bad_range(arg, sizeof(int))) ||
	    !(vs = loop_vs(fd)))
		return REAL(ioctl)(fd, req, arg);
	if (req == FIONREAD) {
		r = velo_loop_fionread(vs, fd, arg);
	} else if (req == SIOCOUTQ || req == SIOCOUTQNSD) {
		r = velo_loop_outq(vs, fd, req, arg);
	} else if (req == SIOCATMARK) {
		r = velo_loop_atmark(vs, fd, arg);
	} else {
		r = REAL(ioctl)(fd, req, arg);
		if (!r && req == FIONBIO)
			velo_loop_set_nonblock(vs, *(int *)arg != 0);
		else if (!r)
			velo_loop_set_async(vs, *(int *)arg != 0);
	}
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT int dup(int fd)
{
	int r = REAL(dup)(fd), saved = errno;

	after_dup(fd, r);
	errno = saved;
	return r;
}

static int do_dup23(int oldfd, int newfd, int flags, bool three)
{
	struct vsock *keep = NULL;
	int r, saved;

	if (oldfd == newfd)
		return three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	r = velo_fd_make_room(newfd);
	if (r) {
		errno = -r;
		return -1;
	}
	keep = velo_fd_get(oldfd); /* newfd's old socket may be oldfd's too */
	r = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	saved = errno;
	if (r >= 0) {
		before_close(newfd, NULL); /* the file newfd had is gone from it */
		after_dup(oldfd, r);
	}
	velo_vs_put(keep);
	errno = saved;
	return r;
}

VELO_EXPORT int dup2(int oldfd, int newfd)
{
	return do_dup23(oldfd, newfd, 0, false);
}

VELO_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return do_dup23(oldfd, newfd, flags, true);
}

/* ------------------------------------------------------- other fd sources */

/* A new fd number from the kernel: its earlier life is over. */
static int fd_opened(int r)
{
	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

/*
 * open and its variants: the mode argument is there only when the flags
 * may create a file (as libc reads it).
 */
#define OPEN_WRAPPER(name, params, args)                                  \
	VELO_EXPORT int name params                                       \
	{                                                                 \
		mode_t mode = 0;                                          \
		va_list ap;                                               \
									  \
		va_start(ap, flags);                                      \
		if (flags & (O_CREAT | O_TMPFILE))                        \
			mode = va_arg(ap, mode_t);                        \
		va_end(ap);                                               \
		return fd_opened(REAL(name) args);                        \
	}

OPEN_WRAPPER(open, (const char *path, int flags, ...), (path, flags, mode))
OPEN_WRAPPER(open64, (const char *path, int flags, ...), (path, flags, mode))
OPEN_WRAPPER(openat, (int dfd, const char *path, int flags, ...), (dfd, path, flags, mode))
OPEN_WRAPPER(openat64, (int dfd, const char *path, int flags, ...), (dfd, path, flags, mode))

VELO_EXPORT int pipe(int p[2])
{
	int r = REAL(pipe)(p);

	if (!r) {
		velo_fd_opened(p[0]);
		velo_fd_opened(p[1]);
	}
	return r;
}

VELO_EXPORT int pipe2(int p[2], int flags)
{
	int r = REAL(pipe2)(p, flags);

	if (!r) {
		velo_fd_opened(p[0]);
		velo_fd_opened(p[1]);
	}
	return r;
}

VELO_EXPORT int eventfd(unsigned int v, int flags)
{
	return fd_opened(REAL(eventfd)(v, flags));
}

/*
 * Another process's socket, taken without its help: as if it had been sent
 * with SCM_RIGHTS (a loopback connection's channel end is shared from then
 * on, as after fork).
 */
VELO_EXPORT int pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
{
	int fd = REAL(pidfd_getfd)(pidfd, targetfd, flags);

	if (fd >= 0)
		adopt_fd(fd);
	return fd;
}

/* ---------------------------------------------------------- fork and exec */

VELO_EXPORT void _exit(int status)
{
	velo_wire_exit_hand_over();
	velo_loop_exit_release();
	REAL(_exit)(status);
}

VELO_EXPORT void _Exit(int status)
{
	velo_wire_exit_hand_over();
	velo_loop_exit_release();
	REAL(_Exit)(status);
}

VELO_EXPORT pid_t vfork(void)
{
	/* a vfork child shares our stack: it must not return through a wrapper */
	return REAL(fork)();
}

static void exec_fd(int fd, struct vsock *vs, void *arg)
{
	(void)fd;
	if (atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch) {
		if (arg)
			velo_loop_after_fork(vs); /* exec failed: take it back */
		else
			velo_loop_release(vs, -1, true, NULL, false);
	}
}

static void survives_fd(int fd, struct vsock *vs, void *arg)
{
	if (atomic_load(&vs->state) == VELO_SS_LOOP) {
		int fl = REAL(fcntl)(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC))
			*(bool *)arg = true;
	}
}

static void wire_exec_fd(int fd, struct vsock *vs, void *arg)
{
	(void)fd;
	(void)arg;
	if (atomic_load(&vs->state) == VELO_SS_WIRE || atomic_load(&vs->wl))
		velo_wire_vs_after_fork(vs); /* if exec fails: ENOTCONN, never a freed stack */
}

/*
 * The engine does not survive exec: a connection the new image keeps (an
 * fd without CLOEXEC) goes to the kernel's TCP; the others end now (FIN, or
 * RST with unread data), as the kernel ends a connection exec closes.
 */
static void before_exec(void)
{
	velo_epoll_before_exec();
	if (atomic_load(&velo_loop_count))
		velo_fd_foreach(exec_fd, NULL);
	if (atomic_load(&velo_wire_count)) {
		velo_wire_hand_over(true);
		velo_fd_foreach(wire_exec_fd, NULL);
		velo_wire_shutdown_all();
	}
}

/*
 * An accelerated socket that survives exec must stay with velo: its data may
 * be in the shared ring, where a plain image would not look. If the new
 * environment dropped libvelo from LD_PRELOAD, put it back (the program
 * sees the same socket behaviour; only the variable differs).
 */
static char *const *exec_env(char *const *envp, char ***alloc)
{
	static char self[512];
	bool needed = false;
	size_t n = 0, i;
	char **ne;
	const char *old = NULL;
	Dl_info info;

	*alloc = NULL;
	if (!atomic_load(&velo_loop_count))
		return envp;
	velo_fd_foreach(survives_fd, &needed);
	if (!needed)
		return envp;
	if (!self[0]) {
		if (!dladdr((void *)socket, &info) || !info.dli_fname)
			return envp;
		snprintf(self, sizeof(self), "%s", info.dli_fname);
	}
	for (n = 0; envp && envp[n]; n++)
		if (!strncmp(envp[n], "LD_PRELOAD=", 11))
			old = envp[n] + 11;
	if (old && strstr(old, self))
		return envp;
	ne = malloc((n + 2) * sizeof(*ne));
	if (!ne)
		return envp;
	for (i = 0; i < n; i++)
		ne[i] = envp[i];
	ne[n + 1] = NULL;
	if (old) {
		for (i = 0; i < n; i++)
			if (!strncmp(envp[i], "LD_PRELOAD=", 11))
				break;
		if (asprintf(&ne[i], "LD_PRELOAD=%s:%s", self, old) < 0) {
			free(ne);
			return envp;
		}
		ne[n] = NULL;
	} else if (asprintf(&ne[n], "LD_PRELOAD=%s", self) < 0) {
		free(ne);
		return envp;
	}
	velo_dbg("exec: accelerated sockets survive, keeping %s preloaded", self);
	*alloc = ne;
	return ne;
}

static void exec_failed(void)
{
	int saved = errno;

	if (atomic_load(&velo_loop_count))
		velo_fd_foreach(exec_fd, (void *)1);
	errno = saved;
}

VELO_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	char **alloc;
	char *const *env = exec_env(envp, &alloc);
	int r;

	before_exec();
	r = REAL(execve)(path, argv, env);
	exec_failed();
	free(alloc);
	return r;
}

VELO_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

VELO_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int r;

	char **alloc;
	char *const *env = exec_env(envp, &alloc);

	before_exec();
	r = REAL(execvpe)(file, argv, env);
	exec_failed();
	free(alloc);
	return r;
}

VELO_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

VELO_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int r;

	char **alloc;
	char *const *env = exec_env(envp, &alloc);

	before_exec();
	r = REAL(fexecve)(fd, argv, env);
	exec_failed();
	free(alloc);
	return r;
}

/* execl family: collect the variadic arguments into an argv. */
#define COLLECT_ARGS(first)                                                   \
	va_list ap;                                                           \
	size_t n = 1, i;                                                      \
	va_start(ap, first);                                                  \
	while (va_arg(ap, char *))                                            \
		n++;                                                          \
	va_end(ap);                                                           \
	char *argv[n + 1];                                                    \
	argv[0] = (char *)(first);                                            \
	va_start(ap, first);                                                  \
	for (i = 1; i < n; i++)                                               \
		argv[i] = va_arg(ap, char *);                                 \
	argv[n] = NULL;                                                       \
	(void)va_arg(ap, char *)

VELO_EXPORT int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGS(arg);
	va_end(ap);
	return execve(path, argv, environ);
}

VELO_EXPORT int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGS(arg);
	va_end(ap);
	return execvpe(file, argv, environ);
}

VELO_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;

	COLLECT_ARGS(arg);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

VELO_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char **alloc;
	char *const *env = exec_env(envp, &alloc);
	int r;

	if (atomic_load(&velo_wire_count))
		velo_wire_hand_over(true); /* what the child inherits */
	r = REAL(posix_spawn)(pid, path, fa, attr, argv, env);

	free(alloc);
	return r;
}

VELO_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char **alloc;
	char *const *env = exec_env(envp, &alloc);
	int r;

	if (atomic_load(&velo_wire_count))
		velo_wire_hand_over(true); /* what the child inherits */
	r = REAL(posix_spawnp)(pid, file, fa, attr, argv, env);

	free(alloc);
	return r;
}
