// SPDX-License-Identifier: GPL-2.0
/*
 * stdio on the sockets velo tracks. A FILE reads and writes with glibc's
 * internal read() and write(), which no preload library sees: a FILE from
 * fdopen() on an accelerated socket read the kernel socket (doorbells, or
 * nothing while the data waited in the ring) and wrote around the ring.
 * fdopen() of a tracked TCP socket makes a cookie stream over velo's own
 * read(), write() and close() instead, whose fileno() is still the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "preload/velo.h"

__thread int velo_fclose_fd = -1;

static int cookie_fd(void *cookie)
{
	return (int)(intptr_t)cookie;
}

static ssize_t sock_read(void *cookie, char *buf, size_t n)
{
	return read(cookie_fd(cookie), buf, n);
}

/* All of it, as glibc's file write: a short count marks the stream's error. */
static ssize_t sock_write(void *cookie, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(cookie_fd(cookie), buf + done, n - done);

		if (r < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
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
	int fd = cookie_fd(cookie);

	return fd == velo_fclose_fd ? REAL(close)(fd) : close(fd);
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
	FILE *fp;
	int err;

	if (!vs)
		return REAL(fdopen)(fd, mode);
	velo_vs_put(vs);
	err = mode_fits(fd, mode);
	if (err) {
		errno = err;
		return NULL;
	}
	fp = fopencookie((void *)(intptr_t)fd, mode, fns);
	if (fp)
		fp->_fileno = fd; /* fileno(), and fclose() finds the socket */
	return fp;
}
