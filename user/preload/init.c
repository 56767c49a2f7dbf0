// SPDX-License-Identifier: GPL-2.0
/* libvelo.so load-time set-up: configuration, statistics, fork, exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/velo.h"
#include "wire/wire.h"

struct velo_config velo_cfg = { .spin_us = 50, .loopback = true, .share_with = -2 };
struct velo_stats *velo_st;
char velo_prog[64];
_Atomic bool velo_exiting;
atomic_uint velo_loop_count;
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;

void velo_slot_update(struct vsock *vs, int fd)
{
	struct velo_stats_sock *s;
	unsigned int i;

	if (!velo_st)
		return;
	if (vs->slot < 0) {
		pthread_mutex_lock(&slot_mu);
		for (i = 0; i < VELO_STATS_SLOTS; i++)
			if (atomic_load(&velo_st->sock[i].state) == VELO_SS_FREE)
				break;
		if (i < VELO_STATS_SLOTS) {
			memset(&velo_st->sock[i], 0, sizeof(velo_st->sock[i]));
			atomic_store(&velo_st->sock[i].state, VELO_SS_PENDING);
			vs->slot = i;
		}
		pthread_mutex_unlock(&slot_mu);
		if (vs->slot < 0)
			return;
	}
	s = &velo_st->sock[vs->slot];
	if (fd >= 0)
		s->fd = fd;
	s->ino = vs->ino;
	atomic_store(&s->state, atomic_load(&vs->state));
}

void velo_slot_free(struct vsock *vs)
{
	if (velo_st && vs->slot >= 0)
		atomic_store(&velo_st->sock[vs->slot].state, VELO_SS_FREE);
	vs->slot = -1;
}

static void prog_name(void)
{
	char buf[256];
	ssize_t n;
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = REAL(read)(fd, buf, sizeof(buf) - 1);
	REAL(close)(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	buf[sizeof(velo_prog) - 1] = 0;
	memcpy(velo_prog, buf, sizeof(velo_prog));
}

static void fork_child_fd(int fd, struct vsock *vs, void *arg)
{
	(void)arg;
	(void)fd;
	if (atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch)
		velo_loop_after_fork(vs);
	if (atomic_load(&vs->state) == VELO_SS_WIRE || atomic_load(&vs->wl))
		velo_wire_vs_after_fork(vs);
}

static void atfork_child(void)
{
	struct velo_stats *parent = velo_st;

	if (parent) {
		velo_st = velo_stats_create(getpid(), velo_prog, parent);
		munmap(parent, sizeof(*parent));
	}
	velo_umem_init();
	velo_fd_foreach(fork_child_fd, NULL);
	if (atomic_load(&velo_wire_count))
		velo_wire_forget_all();
	velo_epoll_after_fork();
}

/* Both processes will hold every fd: the engine cannot follow its connections. */
static void atfork_prepare(void)
{
	if (atomic_load(&velo_wire_count))
		velo_wire_hand_over(false);
}

static void atfork_parent(void)
{
	velo_epoll_after_fork();
}

static void exit_fd(int fd, struct vsock *vs, void *arg)
{
	(void)arg;
	if (atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch && !atomic_exchange(&vs->released, true))
		velo_loop_release(vs, fd, false, NULL, false);
	atomic_store(&vs->state, VELO_SS_KERNEL);
}

/*
 * The process ends: our loopback channel ends are let go, so that a peer
 * sees this end closed once no process holds it (a forked child that ends
 * with _exit() as much as one that returns from main). Other threads may
 * still be inside socket calls: nothing is unmapped or freed.
 */
void velo_loop_exit_release(void)
{
	atomic_store(&velo_exiting, true);
	if (atomic_load(&velo_loop_count))
		velo_fd_foreach(exit_fd, NULL);
}

__attribute__((destructor)) static void velo_preload_fini(void)
{
	velo_stdio_flush();
	velo_loop_exit_release();
	if (velo_st)
		velo_stats_remove(getpid());
}

/*
 * A thread that ends inside one of our blocking calls (pthread_cancel() at
 * its kernel sleep, pthread_exit() from a signal handler) skips what the
 * call does after the sleep: the counts it held for it go back as it exits,
 * else producers would go on ringing, and readers miscounting, for a
 * sleeper that is gone.
 */
static pthread_key_t sleeper_key;
static pthread_once_t sleeper_once = PTHREAD_ONCE_INIT;
static __thread bool sleeper_hooked;

static void sleeper_exit(void *unused)
{
	(void)unused;
	velo_loop_thread_exit();
	velo_mux_thread_exit();
}

static void sleeper_key_init(void)
{
	pthread_key_create(&sleeper_key, sleeper_exit);
}

void velo_thread_sleeps(void)
{
	if (sleeper_hooked)
		return;
	sleeper_hooked = true;
	pthread_once(&sleeper_once, sleeper_key_init);
	pthread_setspecific(sleeper_key, (void *)1); /* a NULL value runs no destructor */
}

void velo_init(void)
{
	const char *path;

	velo_log_init();
	velo_real_init();
	prog_name();
	velo_config_defaults(&velo_cfg);
	path = getenv("VELO_CONFIG");
	if (path && *path) {
		if (velo_config_load_file(&velo_cfg, path) < 0)
			velo_warn("VELO_CONFIG=%s: %s", path, strerror(errno));
	} else {
		velo_config_load_file(&velo_cfg, "/etc/velo.conf");
	}
	velo_config_load_env(&velo_cfg);
	velo_umem_init();
	velo_stats_gc();
	velo_loop_gc(256);
	velo_st = velo_stats_create(getpid(), velo_prog, NULL);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	velo_adopt_inherited();
	velo_uring_check();
	velo_dbg("libvelo loaded in %s (spin %ld us, loopback %s)", velo_prog,
		 velo_cfg.spin_us, velo_cfg.loopback ? "on" : "off");
}

__attribute__((constructor)) static void velo_preload_init(void)
{
	int saved = errno;

	velo_init();
	errno = saved;
}
