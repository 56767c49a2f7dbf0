// SPDX-License-Identifier: GPL-2.0
/*
 * The fd table: two levels of lazily mmap'ed chunks, so any fd number up to
 * 4M works without a fixed limit, lock-free to find an empty slot (the
 * common case: a kernel fd), a striped spinlock to take a reference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/velo.h"

#define FD_CHUNK_SHIFT 12
#define FD_CHUNK (1u << FD_CHUNK_SHIFT)
#define FD_CHUNKS 1024u
#define FD_STRIPES 64u

struct fdent {
	struct vsock *_Atomic vs;
	struct vepoll *_Atomic ep;
	_Atomic uint32_t gen;
	_Atomic uint32_t closed;
	_Atomic int32_t opener;
};

static struct fdent *_Atomic chunks[FD_CHUNKS];
static atomic_flag stripes[FD_STRIPES];

static struct fdent *ent(int fd, bool create)
{
	struct fdent *c, *expected = NULL;
	unsigned int ci;

	if (fd < 0 || (unsigned int)fd >= FD_CHUNK * FD_CHUNKS)
		return NULL;
	ci = (unsigned int)fd >> FD_CHUNK_SHIFT;
	c = atomic_load_explicit(&chunks[ci], memory_order_acquire);
	if (!c) {
		if (!create)
			return NULL;
		c = mmap(NULL, FD_CHUNK * sizeof(struct fdent), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c == MAP_FAILED)
			return NULL;
		if (!atomic_compare_exchange_strong(&chunks[ci], &expected, c)) {
			munmap(c, FD_CHUNK * sizeof(struct fdent));
			c = expected;
		}
	}
	return &c[fd & (FD_CHUNK - 1)];
}

static void stripe_lock(int fd)
{
	while (atomic_flag_test_and_set_explicit(&stripes[fd % FD_STRIPES], memory_order_acquire))
		__builtin_ia32_pause();
}

static void stripe_unlock(int fd)
{
	atomic_flag_clear_explicit(&stripes[fd % FD_STRIPES], memory_order_release);
}

struct vsock *velo_fd_get(int fd)
{
	struct fdent *e = ent(fd, false);
	struct vsock *vs;

	if (!e || !atomic_load_explicit(&e->vs, memory_order_relaxed))
		return NULL;
	stripe_lock(fd);
	vs = atomic_load_explicit(&e->vs, memory_order_relaxed);
	if (vs)
		atomic_fetch_add_explicit(&vs->refs, 1, memory_order_relaxed);
	stripe_unlock(fd);
	return vs;
}

/* Does @fd name @vs now? No reference is taken (the answer may age). */
bool velo_fd_names(int fd, struct vsock *vs)
{
	struct fdent *e = ent(fd, false);

	return e && atomic_load_explicit(&e->vs, memory_order_relaxed) == vs;
}

void velo_vs_put(struct vsock *vs)
{
	if (!vs || atomic_fetch_sub_explicit(&vs->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (atomic_load(&vs->state) == VELO_SS_LOOP && !atomic_load(&vs->released))
		velo_loop_release(vs, -1, false, NULL, true);
	else if (atomic_load(&vs->state) == VELO_SS_WIRE && !atomic_exchange(&vs->released, true))
		velo_wire_vs_close(vs); /* closed while another thread's call held it */
	else if (vs->ch && !atomic_load(&velo_exiting))
		munmap(vs->ch, sizeof(*vs->ch));
	velo_slot_free(vs);
	if (!atomic_load(&velo_exiting)) {
		velo_wire_vs_free(vs);
		pthread_mutex_destroy(&vs->mu);
		free(vs);
	}
}

void velo_fd_install(int fd, struct vsock *vs)
{
	struct fdent *e = ent(fd, true);
	struct vsock *old;

	if (!e) {
		velo_vs_put(vs);
		return;
	}
	atomic_fetch_add(&vs->fdrefs, 1);
	stripe_lock(fd);
	old = atomic_exchange(&e->vs, vs);
	stripe_unlock(fd);
	if (old)
		atomic_fetch_sub(&old->fdrefs, 1);
	/* an fd closed behind our back (not through an interposed call) */
	velo_vs_put(old);
}

struct vsock *velo_fd_remove(int fd)
{
	struct fdent *e = ent(fd, false);
	struct vsock *vs;

	if (!e)
		return NULL;
	stripe_lock(fd);
	vs = atomic_exchange(&e->vs, NULL);
	stripe_unlock(fd);
	if (vs)
		atomic_fetch_sub(&vs->fdrefs, 1);
	return vs;
}

static __thread pid_t cached_tid;

pid_t velo_gettid(void)
{
	if (!cached_tid)
		cached_tid = (pid_t)syscall(SYS_gettid);
	return cached_tid;
}

void velo_fd_opened(int fd)
{
	struct fdent *e = ent(fd, true);
	struct vsock *old;

	if (!e)
		return;
	atomic_fetch_add(&e->gen, 1);
	atomic_store(&e->opener, velo_gettid());
	atomic_store(&e->closed, 0);
	/* an earlier file of this number was closed without us seeing it */
	old = velo_fd_remove(fd);
	velo_vs_put(old);
	if (atomic_load(&e->ep))
		velo_fd_set_epoll(fd, NULL);
}

void velo_fd_closed(int fd)
{
	struct fdent *e = ent(fd, false);

	if (!e)
		return;
	atomic_fetch_add(&e->gen, 1);
	atomic_store(&e->closed, 1);
}

uint32_t velo_fd_gen(int fd)
{
	struct fdent *e = ent(fd, false);

	return e ? atomic_load_explicit(&e->gen, memory_order_relaxed) : 0;
}

bool velo_fd_is_closed(int fd)
{
	struct fdent *e = ent(fd, false);

	return e && atomic_load(&e->closed);
}

pid_t velo_fd_opener(int fd)
{
	struct fdent *e = ent(fd, false);

	return e ? atomic_load(&e->opener) : 0;
}

struct vepoll *velo_fd_epoll(int fd)
{
	struct fdent *e = ent(fd, false);

	return e ? atomic_load_explicit(&e->ep, memory_order_acquire) : NULL;
}

struct vepoll *velo_fd_epoll_get(int fd)
{
	struct fdent *e = ent(fd, false);
	struct vepoll *ep;

	if (!e || !atomic_load_explicit(&e->ep, memory_order_relaxed))
		return NULL;
	stripe_lock(fd);
	ep = atomic_load_explicit(&e->ep, memory_order_acquire);
	if (ep)
		velo_epoll_hold(ep);
	stripe_unlock(fd);
	return ep;
}

void velo_fd_set_epoll(int fd, struct vepoll *ep)
{
	struct fdent *e = ent(fd, true);
	struct vepoll *old;

	if (!e)
		return;
	stripe_lock(fd); /* a velo_fd_epoll_get() holds it before we drop it */
	old = atomic_exchange(&e->ep, ep);
	stripe_unlock(fd);
	if (old && old != ep)
		velo_epoll_closed(old);
}

void velo_fd_foreach(void (*fn)(int fd, struct vsock *vs, void *arg), void *arg)
{
	unsigned int ci, i;

	for (ci = 0; ci < FD_CHUNKS; ci++) {
		struct fdent *c = atomic_load(&chunks[ci]);

		if (!c)
			continue;
		for (i = 0; i < FD_CHUNK; i++) {
			struct vsock *vs = atomic_load(&c[i].vs);

			if (vs)
				fn((int)(ci * FD_CHUNK + i), vs, arg);
		}
	}
}

void velo_fd_foreach_epoll(void (*fn)(int fd, struct vepoll *ep))
{
	unsigned int ci, i;

	for (ci = 0; ci < FD_CHUNKS; ci++) {
		struct fdent *c = atomic_load(&chunks[ci]);

		if (!c)
			continue;
		for (i = 0; i < FD_CHUNK; i++) {
			struct vepoll *ep = atomic_load(&c[i].ep);

			if (ep)
				fn((int)(ci * FD_CHUNK + i), ep);
		}
	}
}

struct vsock *velo_vs_new(int fd, int family, uint32_t state)
{
	struct vsock *vs = calloc(1, sizeof(*vs));

	if (!vs)
		return NULL;
	atomic_init(&vs->refs, 1);
	atomic_init(&vs->state, state);
	vs->family = family;
	vs->slot = -1;
	pthread_mutex_init(&vs->mu, NULL);
	velo_stat_add(VELO_STAT_SOCKETS, 1);
	velo_slot_update(vs, fd);
	return vs;
}
