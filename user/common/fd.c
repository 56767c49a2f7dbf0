// SPDX-License-Identifier: GPL-2.0
/* libvelo's private fds: see fd.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"

/* Private fds are numbered below this (a bigger fd table costs memory). */
#define PRIVATE_FD_LIMIT 65536
#define PRIVATE_SPAN_MAX 4096

static _Atomic uint64_t private_bits[PRIVATE_FD_LIMIT / 64];
static int *private_slot[PRIVATE_FD_LIMIT];
static pthread_mutex_t private_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned int capture_depth;

/*
 * The span's first number: a quarter of the soft limit (at most 4096
 * numbers) at its top, where an application reaches only when it has
 * nearly run out of fds anyway.
 */
static long span_start(void)
{
	struct rlimit rl;
	long lim, span;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > PRIVATE_FD_LIMIT ?
		      PRIVATE_FD_LIMIT : (long)rl.rlim_cur;
	span = lim / 4 < PRIVATE_SPAN_MAX ? lim / 4 : PRIVATE_SPAN_MAX;
	return span ? lim - span : -1;
}

static void mark(int fd, bool on)
{
	uint64_t bit = 1ull << (fd % 64);

	if (on)
		atomic_fetch_or(&private_bits[fd / 64], bit);
	else
		atomic_fetch_and(&private_bits[fd / 64], ~bit);
}

bool velo_fd_is_private(int fd)
{
	return fd >= 0 && fd < PRIVATE_FD_LIMIT &&
	       (atomic_load_explicit(&private_bits[fd / 64], memory_order_relaxed) >> (fd % 64)) & 1;
}

/* A close-on-exec copy of @fd numbered @start or above; -1 if none is free. */
static int copy_from(int fd, long start)
{
	/* past the interposer: no fd of the application's is made */
	return start < 0 ? -1 : (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (int)start);
}

static int span_copy(int fd)
{
	return copy_from(fd, span_start());
}

int velo_fd_private(int fd, int *slot)
{
	int moved;

	if (fd < 0)
		return -1;
	if (velo_fd_is_private(fd)) { /* made so by velo_fd_capture_begin() */
		velo_fd_rehome(fd, slot);
		goto out;
	}
	moved = span_copy(fd);
	if (moved >= 0 && moved < PRIVATE_FD_LIMIT) {
		syscall(SYS_close, fd);
		fd = moved;
	} else if (moved >= 0) {
		syscall(SYS_close, moved);
	}
	if (fd < PRIVATE_FD_LIMIT) {
		pthread_mutex_lock(&private_lock);
		private_slot[fd] = slot;
		mark(fd, true);
		pthread_mutex_unlock(&private_lock);
	}
out:
	if (slot)
		*slot = fd;
	return fd;
}

void velo_fd_rehome(int fd, int *slot)
{
	if (!velo_fd_is_private(fd))
		return;
	pthread_mutex_lock(&private_lock);
	private_slot[fd] = slot;
	pthread_mutex_unlock(&private_lock);
}

void velo_fd_forget(int fd)
{
	if (!velo_fd_is_private(fd))
		return;
	pthread_mutex_lock(&private_lock);
	mark(fd, false);
	private_slot[fd] = NULL;
	pthread_mutex_unlock(&private_lock);
}

void velo_fd_close(int fd)
{
	if (fd < 0)
		return;
	velo_fd_forget(fd);
	/* past the interposer, which keeps private fds from the application */
	syscall(SYS_close, fd);
}

/*
 * The application wants fd number @fd, which holds a private fd: the
 * private fd moves to another number its owner learns through its slot
 * (in the span if one is free there, else the lowest free).
 * Its owner may use the old number a moment longer (it read it before the
 * move): an application that dup2()s onto fds it never opened races with
 * whoever did, on Linux too.
 */
int velo_fd_make_room(int fd)
{
	int err = 0, moved;

	if (!velo_fd_is_private(fd))
		return 0;
	pthread_mutex_lock(&private_lock);
	if (!velo_fd_is_private(fd)) {
		err = 0;
	} else if (!private_slot[fd]) {
		err = -EBUSY;
	} else {
		moved = span_copy(fd);
		/* an application taking every high number gets them all */
		if (moved < 0)
			moved = copy_from(fd, 0);
		if (moved < 0 || moved >= PRIVATE_FD_LIMIT) {
			if (moved >= 0)
				syscall(SYS_close, moved);
			err = -EBUSY;
		} else {
			private_slot[moved] = private_slot[fd];
			mark(moved, true);
			__atomic_store_n(private_slot[moved], moved, __ATOMIC_RELEASE);
			private_slot[fd] = NULL;
			mark(fd, false);
			syscall(SYS_close, fd);
		}
	}
	pthread_mutex_unlock(&private_lock);
	if (err)
		velo_warn("fd %d is libvelo's own and cannot move: the application's dup2 onto "
			  "it fails with EBUSY", fd);
	return err;
}

void velo_fd_private_foreach(unsigned int first, unsigned int last, void (*fn)(int fd, void *arg),
			     void *arg)
{
	unsigned int fd;

	if (last >= PRIVATE_FD_LIMIT)
		last = PRIVATE_FD_LIMIT - 1;
	for (fd = first; fd <= last; fd++) {
		if (!atomic_load_explicit(&private_bits[fd / 64], memory_order_relaxed)) {
			fd |= 63;
			continue;
		}
		if (velo_fd_is_private((int)fd))
			fn((int)fd, arg);
	}
}

void velo_fd_capture_begin(void)
{
	capture_depth++;
}

void velo_fd_capture_end(void)
{
	capture_depth--;
}

bool velo_fd_capturing(void)
{
	return capture_depth;
}
