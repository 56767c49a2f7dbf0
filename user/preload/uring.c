// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring: the kernel takes its operations from memory shared with the
 * process, never through libc, so libvelo sees none of them. A read of a
 * loopback-accelerated socket's kernel fd would find doorbells or nothing
 * (the data is in the ring), and a wire connection's kernel fd was never
 * connected: an io_uring program hung. So the first io_uring the process
 * makes ends acceleration in it (velo_accel_end): its connections go back to
 * the kernel's TCP and later sockets stay there.
 *
 * A program linked with liburing ends it at load, before its first socket:
 * data a ring already carries cannot be moved into a kernel socket's
 * receive queue, so a connection that falls back later (a ring made after
 * liburing was dlopen()ed) has what its ring still holds read through
 * libvelo's calls only. Seen at run time: liburing's calls that make a ring
 * (liburing issues the system call itself). Not seen: a ring made with a
 * system call of the program's own or through libc's syscall(), or by a
 * liburing linked statically.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "preload/velo.h"

struct io_uring;
struct io_uring_params;

static int is_liburing(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *base = strrchr(info->dlpi_name, '/');

	(void)size;
	(void)arg;
	return !strncmp(base ? base + 1 : info->dlpi_name, "liburing.so", 11);
}

void velo_uring_check(void)
{
	if (dl_iterate_phdr(is_liburing, NULL))
		velo_accel_end("liburing is loaded");
}

static void *uring_next(const char *name)
{
	velo_accel_end(name);
	return dlsym(RTLD_NEXT, name);
}

VELO_EXPORT int io_uring_setup(unsigned int entries, struct io_uring_params *p)
{
	int (*next)(unsigned int, struct io_uring_params *) = uring_next(__func__);

	return next ? next(entries, p) : -ENOSYS;
}

VELO_EXPORT int io_uring_queue_init_params(unsigned int entries, struct io_uring *ring,
					   struct io_uring_params *p)
{
	int (*next)(unsigned int, struct io_uring *, struct io_uring_params *) =
		uring_next(__func__);

	return next ? next(entries, ring, p) : -ENOSYS;
}

VELO_EXPORT int io_uring_queue_init(unsigned int entries, struct io_uring *ring, unsigned int flags)
{
	int (*next)(unsigned int, struct io_uring *, unsigned int) = uring_next(__func__);

	return next ? next(entries, ring, flags) : -ENOSYS;
}

VELO_EXPORT int io_uring_queue_init_mem(unsigned int entries, struct io_uring *ring,
					struct io_uring_params *p, void *buf, size_t size)
{
	int (*next)(unsigned int, struct io_uring *, struct io_uring_params *, void *, size_t) =
		uring_next(__func__);

	return next ? next(entries, ring, p, buf, size) : -ENOSYS;
}
