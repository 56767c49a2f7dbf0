// SPDX-License-Identifier: GPL-2.0
/*
 * The real libc functions, found with dlsym(RTLD_NEXT) on first use (calls
 * may arrive before our constructor ran). A lookup that re-enters us (a
 * dlsym implementation or a preloaded allocator calling read/write/close)
 * gets a raw system call instead of recursing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/velo.h"

void *velo_real_tab[VR_MAX];

static const char *const real_names[VR_MAX] = {
#define X(n) #n,
	VELO_REAL_LIST(X)
#undef X
};

static __thread int resolving;

static ssize_t raw_read(int fd, void *b, size_t n)
{
	return syscall(SYS_read, fd, b, n);
}

static ssize_t raw_write(int fd, const void *b, size_t n)
{
	return syscall(SYS_write, fd, b, n);
}

static int raw_close(int fd)
{
	return syscall(SYS_close, fd);
}

static int raw_enosys(void)
{
	errno = ENOSYS;
	return -1;
}

void *velo_real_resolve(int idx)
{
	void *p;

	if (resolving) {
		if (idx == VR_read)
			return (void *)raw_read;
		if (idx == VR_write)
			return (void *)raw_write;
		if (idx == VR_close)
			return (void *)raw_close;
		return (void *)raw_enosys;
	}
	resolving = 1;
	p = dlsym(RTLD_NEXT, real_names[idx]);
	resolving = 0;
	if (!p) {
		/* not in this libc (e.g. epoll_pwait2 on an old one) */
		return (void *)raw_enosys;
	}
	__atomic_store_n(&velo_real_tab[idx], p, __ATOMIC_RELAXED);
	return p;
}

void velo_real_init(void)
{
	int i;

	for (i = 0; i < VR_MAX; i++)
		if (!velo_real_tab[i])
			velo_real_resolve(i);
}
