// SPDX-License-Identifier: GPL-2.0
/*
 * stdio on the sockets velo tracks. A FILE reads and writes with glibc's
 * internal read() and write(), which no preload library sees: a FILE from
 * fdopen() on an accelerated socket read the kernel socket (doorbells, or
 * nothing while the data waited in the ring) and wrote around the ring.
 * fdopen() of a tracked TCP socket makes a cookie stream over velo's own
 * read(), write() and close() instead, whose fileno() is still the fd.
 * dprintf() writes through a FILE of its own the same way: it formats here
 * and writes with velo's write().
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/velo.h"

__thread int velo_fclose_fd = -1;

/* Each stream made here, so that exit can flush them while velo still runs. */
struct sock_stream {
	int fd;
	bool writes;
	FILE *fp;
	struct sock_stream *next, **pprev;
};

static pthread_mutex_t streams_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sock_stream *streams;

static int cookie_fd(void *cookie)
{
	return ((struct sock_stream *)cookie)->fd;
}

static ssize_t sock_read(void *cookie, char *buf, size_t n)
{
	return read(cookie_fd(cookie), buf, n);
}

/* All of it, as glibc's file write: a short count marks the stream's error. */
static ssize_t write_all(int fd, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, buf + done, n - done);

		if (r < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static ssize_t sock_write(void *cookie, const char *buf, size_t n)
{
	return write_all(cookie_fd(cookie), buf, n);
}

static int sock_seek(void *cookie, off64_t *pos, int whence)
{
	(void)cookie;
	(void)pos;
	(void)whence;
	errno = ESPIPE; /* lseek() on a socket */
	return -1;
}

/* Under our fclose(), which does velo's part of the close around it. */
static int sock_close(void *cookie)
{
	struct sock_stream *ss = cookie;
	int fd = ss->fd;

	pthread_mutex_lock(&streams_mu);
	if (ss->next)
		ss->next->pprev = ss->pprev;
	*ss->pprev = ss->next;
	pthread_mutex_unlock(&streams_mu);
	free(ss);
	return fd == velo_fclose_fd ? REAL(close)(fd) : close(fd);
}

/*
 * At exit glibc flushes streams after the libraries' destructors, when
 * velo has let go of its sockets and a write would go around the ring:
 * velo's destructor flushes these first, unlocked as glibc's exit does (a
 * thread may sleep in a read holding its stream's lock).
 */
void velo_stdio_flush(void)
{
	struct sock_stream *ss;

	if (pthread_mutex_trylock(&streams_mu))
		return; /* another thread is making or closing one: exit goes on */
	for (ss = streams; ss; ss = ss->next)
		if (ss->writes)
			fflush_unlocked(ss->fp);
	pthread_mutex_unlock(&streams_mu);
}

/* glibc's fdopen() checks: the mode's first letter, the fd, its access mode. */
static int mode_fits(int fd, const char *mode)
{
	int fl = fcntl(fd, F_GETFL), acc, want;

	if (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')
		return EINVAL;
	if (fl < 0)
		return EBADF;
	acc = fl & O_ACCMODE;
	want = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	if (acc != O_RDWR && acc != want)
		return EINVAL;
	if (mode[0] == 'a' && !(fl & O_APPEND) && fcntl(fd, F_SETFL, fl | O_APPEND) < 0)
		return errno;
	return 0;
}

VELO_EXPORT FILE *fdopen(int fd, const char *mode)
{
	static const cookie_io_functions_t fns = {
		.read = sock_read, .write = sock_write, .seek = sock_seek, .close = sock_close,
	};
	struct vsock *vs = velo_fd_get(fd);
	struct sock_stream *ss;
	int err;

	if (!vs)
		return REAL(fdopen)(fd, mode);
	velo_vs_put(vs);
	err = mode_fits(fd, mode);
	if (err) {
		errno = err;
		return NULL;
	}
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return NULL;
	ss->fd = fd;
	ss->writes = mode[0] != 'r' || strchr(mode, '+');
	ss->fp = fopencookie(ss, mode, fns);
	if (!ss->fp) {
		free(ss);
		return NULL;
	}
	ss->fp->_fileno = fd; /* fileno(), and fclose() finds the socket */
	pthread_mutex_lock(&streams_mu);
	ss->next = streams;
	if (streams)
		streams->pprev = &ss->next;
	ss->pprev = &streams;
	streams = ss;
	pthread_mutex_unlock(&streams_mu);
	return ss->fp;
}

VELO_EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	struct vsock *vs = velo_fd_get(fd);
	char *buf;
	int n;
	ssize_t w;

	if (!vs)
		return REAL(vdprintf)(fd, fmt, ap);
	velo_vs_put(vs);
	n = vasprintf(&buf, fmt, ap);
	if (n < 0)
		return -1;
	w = write_all(fd, buf, (size_t)n);
	free(buf);
	return w == n ? n : -1;
}

VELO_EXPORT int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}
