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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/velo.h"

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

static bool is_tcp(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

static void track_new_socket(int fd, int domain, uint32_t state)
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

/* An fd we did not create (inherited over exec, SCM_RIGHTS, unknown listener). */
static void adopt_fd(int fd)
{
	int dom = 0, proto = 0, type = 0, acc = 0;
	socklen_t l = sizeof(int);
	struct vsock *vs;
	int saved = errno;

	velo_fd_opened(fd);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		goto out;
	l = sizeof(int);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		goto out;
	l = sizeof(int);
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		goto out;
	if (!is_tcp(dom, type, proto))
		goto out;
	l = sizeof(int);
	REAL(getsockopt)(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l);
	track_new_socket(fd, dom, acc ? VELO_SS_LISTEN : VELO_SS_PENDING);
	vs = velo_fd_get(fd);
	if (vs) {
		velo_loop_try_attach(vs, fd);
		velo_vs_put(vs);
	}
out:
	errno = saved;
}

static void adopt_cmsg_fds(struct msghdr *msg)
{
	struct cmsghdr *c;

	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);
			size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (i = 0; i < n; i++)
				adopt_fd(fds[i]);
		}
	}
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

	if (fd >= 0) {
		if (is_tcp(domain, type, protocol))
			track_new_socket(fd, domain, VELO_SS_PENDING);
		else
			velo_fd_opened(fd);
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

VELO_EXPORT int bind(int fd, const struct sockaddr *a, socklen_t l)
{
	return REAL(bind)(fd, a, l);
}

VELO_EXPORT int listen(int fd, int backlog)
{
	int r = REAL(listen)(fd, backlog);
	struct vsock *vs;

	if (!r && (vs = velo_fd_get(fd))) {
		uint32_t p = VELO_SS_PENDING;

		atomic_compare_exchange_strong(&vs->state, &p, VELO_SS_LISTEN);
		velo_slot_update(vs, fd);
		velo_vs_put(vs);
	}
	return r;
}

static int after_accept(int lfd, int fd)
{
	struct vsock *lvs, *vs;
	int saved = errno;

	if (fd < 0)
		return fd;
	lvs = velo_fd_get(lfd);
	if (!lvs) {
		adopt_fd(fd);
		return fd;
	}
	track_new_socket(fd, lvs->family, VELO_SS_PENDING);
	velo_vs_put(lvs);
	vs = velo_fd_get(fd);
	if (vs) {
		velo_loop_try_attach(vs, fd);
		velo_vs_put(vs);
	}
	errno = saved;
	return fd;
}

VELO_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return after_accept(fd, REAL(accept)(fd, a, l));
}

VELO_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
	return after_accept(fd, REAL(accept4)(fd, a, l, flags));
}

VELO_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	int r = REAL(connect)(fd, a, l);

	if (!r) {
		struct vsock *vs = velo_fd_get(fd);

		if (vs) {
			velo_loop_try_attach(vs, fd);
			velo_vs_put(vs);
		}
	}
	return r;
}

VELO_EXPORT int shutdown(int fd, int how)
{
	struct vsock *vs = loop_vs(fd);
	int r = REAL(shutdown)(fd, how);

	if (vs) {
		if (!r)
			velo_loop_shutdown(vs, how);
		velo_vs_put(vs);
	}
	return r;
}

/* Bookkeeping for an fd about to be closed (by close, fclose, dup2...). */
static void before_close(int fd)
{
	struct vsock *vs = velo_fd_remove(fd);

	if (vs) {
		if (vs->regs)
			velo_epoll_vs_fd_closed(vs, fd);
		if (atomic_load(&vs->refs) == 1 && atomic_load(&vs->state) == VELO_SS_LOOP) {
			velo_loop_release(vs, fd, false);
			atomic_store(&vs->state, VELO_SS_KERNEL);
		}
		velo_vs_put(vs);
	}
	velo_epoll_fd_closed(fd);
	velo_fd_closed(fd);
}

VELO_EXPORT int close(int fd)
{
	before_close(fd);
	return REAL(close)(fd);
}

VELO_EXPORT int fclose(FILE *fp)
{
	int fd = fp ? fileno(fp) : -1;

	if (fd >= 0)
		before_close(fd);
	return REAL(fclose)(fp);
}

/* ---------------------------------------------------------------- receive */

VELO_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { buf, n };
	ssize_t r;

	if (!vs)
		return REAL(read)(fd, buf, n);
	r = velo_loop_recv(vs, fd, &iov, 1, 0);
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

	if (cnt < 0 || cnt > IOV_MAX || !(vs = loop_vs(fd)))
		return REAL(readv)(fd, iov, cnt);
	r = velo_loop_recv(vs, fd, iov, cnt, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { buf, n };
	ssize_t r;

	if (!vs)
		return REAL(recv)(fd, buf, n, flags);
	r = velo_loop_recv(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

VELO_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
			     socklen_t *al)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { buf, n };
	ssize_t r;

	if (!vs)
		return REAL(recvfrom)(fd, buf, n, flags, a, al);
	r = velo_loop_recv(vs, fd, &iov, 1, flags);
	if (r >= 0 && a && al)
		*al = 0; /* TCP reports no source address */
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

	if (!m || m->msg_iovlen > IOV_MAX || !(vs = loop_vs(fd))) {
		r = REAL(recvmsg)(fd, m, flags);
		if (r >= 0 && m && m->msg_controllen)
			adopt_cmsg_fds(m);
		return r;
	}
	r = velo_loop_recv(vs, fd, m->msg_iov, (int)m->msg_iovlen, flags);
	if (r >= 0) {
		m->msg_namelen = 0;
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
			 struct timespec *tmo)
{
	struct vsock *vs = loop_vs(fd);
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
		if (!k) {
			i++;
			break;
		}
	}
	return i;
}

/* ------------------------------------------------------------------- send */

VELO_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { (void *)buf, n };
	ssize_t r;

	if (!vs)
		return REAL(write)(fd, buf, n);
	r = velo_loop_send(vs, fd, &iov, 1, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct vsock *vs;
	ssize_t r;

	if (cnt < 0 || cnt > IOV_MAX || !(vs = loop_vs(fd)))
		return REAL(writev)(fd, iov, cnt);
	r = velo_loop_send(vs, fd, iov, cnt, 0);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { (void *)buf, n };
	ssize_t r;

	if (!vs)
		return REAL(send)(fd, buf, n, flags);
	r = velo_loop_send(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *a, socklen_t al)
{
	struct vsock *vs = loop_vs(fd);
	struct iovec iov = { (void *)buf, n };
	ssize_t r;

	if (!vs)
		return REAL(sendto)(fd, buf, n, flags, a, al);
	r = velo_loop_send(vs, fd, &iov, 1, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct vsock *vs;
	ssize_t r;

	if (!m || m->msg_iovlen > IOV_MAX || m->msg_controllen || !(vs = loop_vs(fd)))
		return REAL(sendmsg)(fd, m, flags);
	r = velo_loop_send(vs, fd, m->msg_iov, (int)m->msg_iovlen, flags);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	struct vsock *vs = loop_vs(fd);
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
	}
	return i;
}

static ssize_t loop_sendfile(struct vsock *vs, int out, int in, off_t *off, size_t count)
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
		w = velo_loop_send(vs, out, &iov, 1, 0);
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

VELO_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	struct vsock *vs = loop_vs(out);
	ssize_t r;

	if (!vs)
		return REAL(sendfile)(out, in, off, count);
	r = loop_sendfile(vs, out, in, off, count);
	velo_vs_put(vs);
	return r;
}

VELO_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	struct vsock *vs = loop_vs(out);
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
	struct vsock *vin = loop_vs(in), *vout = vin ? NULL : loop_vs(out);
	char buf[65536];
	ssize_t r;

	if (!vin && !vout)
		return REAL(splice)(in, offin, out, offout, len, flags);
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (vin) {
		/* socket -> pipe: peek, write what the pipe takes, consume that */
		struct iovec iov = { buf, len };
		int f = MSG_PEEK | ((flags & SPLICE_F_NONBLOCK) ? MSG_DONTWAIT : 0);

		r = velo_loop_recv(vin, in, &iov, 1, f);
		if (r > 0) {
			ssize_t w = REAL(write)(out, buf, r);

			if (w > 0) {
				iov.iov_len = w;
				velo_loop_recv(vin, in, &iov, 1, MSG_DONTWAIT);
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
		ssize_t w = velo_loop_send(vout, out, &iov, 1, 0);

		r = w;
	}
	velo_vs_put(vout);
	return r;
}

/* ---------------------------------------------------------------- options */

VELO_EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *l)
{
	return REAL(getsockname)(fd, a, l);
}

VELO_EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *l)
{
	return REAL(getpeername)(fd, a, l);
}

VELO_EXPORT int getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
	return REAL(getsockopt)(fd, level, name, v, l);
}

VELO_EXPORT int setsockopt(int fd, int level, int name, const void *v, socklen_t l)
{
	return REAL(setsockopt)(fd, level, name, v, l);
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

		r = real(fd, cmd, arg);
		if (!r && (vs = loop_vs(fd))) {
			velo_loop_set_nonblock(vs, ((long)arg & O_NONBLOCK) != 0);
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
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((req != FIONBIO && req != FIONREAD) || !(vs = loop_vs(fd)))
		return REAL(ioctl)(fd, req, arg);
	if (req == FIONREAD) {
		r = arg ? velo_loop_fionread(vs, fd, arg) : REAL(ioctl)(fd, req, arg);
	} else {
		r = REAL(ioctl)(fd, req, arg);
		if (!r)
			velo_loop_set_nonblock(vs, *(int *)arg != 0);
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
	keep = velo_fd_get(oldfd); /* newfd's old socket may be oldfd's too */
	r = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	saved = errno;
	if (r >= 0) {
		before_close(newfd); /* the file newfd had is gone from it */
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

VELO_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int r;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	r = REAL(open)(path, flags, mode);
	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

VELO_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int r;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	r = REAL(open64)(path, flags, mode);
	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

VELO_EXPORT int openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int r;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	r = REAL(openat)(dfd, path, flags, mode);
	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

VELO_EXPORT int openat64(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int r;

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	r = REAL(openat64)(dfd, path, flags, mode);
	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

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
	int r = REAL(eventfd)(v, flags);

	if (r >= 0)
		velo_fd_opened(r);
	return r;
}

/* ---------------------------------------------------------- fork and exec */

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
			velo_loop_release(vs, -1, true);
	}
}

static void before_exec(void)
{
	if (atomic_load(&velo_loop_count))
		velo_fd_foreach(exec_fd, NULL);
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
	int r;

	before_exec();
	r = REAL(execve)(path, argv, envp);
	exec_failed();
	return r;
}

VELO_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

VELO_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int r;

	before_exec();
	r = REAL(execvpe)(file, argv, envp);
	exec_failed();
	return r;
}

VELO_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

VELO_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int r;

	before_exec();
	r = REAL(fexecve)(fd, argv, envp);
	exec_failed();
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
