// SPDX-License-Identifier: GPL-2.0
/*
 * Whether the application's buffers are mapped as it says. The kernel
 * answers EFAULT for memory it cannot read or write; a copy by velo would
 * crash the process instead. A range is checked against the mappings of
 * /proc/self/maps, read only when the range is not in the thread's cache
 * of mappings seen lately: an application's buffers are few and reused,
 * so the check costs no system call once they are known. munmap, mprotect
 * and mremap through libc empty every thread's cache. The maps file is
 * one private fd, opened at load and in a forked child: opening it per
 * look would take the application's next fd number for a moment.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fd.h"
#include "preload/velo.h"

#define UMEM_CACHE 8

struct umem_map {
	uintptr_t start, end;
	int prot;
};

static _Atomic unsigned int maps_gen = 1;
static int maps_fd = -1;
static __thread struct umem_map cache[UMEM_CACHE];
static __thread unsigned int cache_gen, cache_next, in_lookup;

static uintptr_t hex(const char **s)
{
	uintptr_t v = 0;

	for (;; (*s)++) {
		char c = **s;

		if (c >= '0' && c <= '9')
			v = v << 4 | (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* One line of /proc/self/maps: "start-end rwxp ..." */
static bool parse_line(const char *s, struct umem_map *m)
{
	m->start = hex(&s);
	if (*s++ != '-')
		return false;
	m->end = hex(&s);
	if (*s++ != ' ')
		return false;
	m->prot = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0);
	return m->end > m->start;
}

void velo_umem_init(void)
{
	velo_fd_close(maps_fd);
	maps_fd = -1;
	/* raw: nothing of ours runs */
	velo_fd_private((int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC),
			&maps_fd);
}

/* The mapping holding @a, from the maps file; false if none (or no file: @unknown). */
static bool maps_find(uintptr_t a, struct umem_map *out, bool *unknown)
{
	char buf[4096], line[512];
	size_t ll = 0;
	off_t off = 0;
	ssize_t n;
	bool found = false;
	int fd = maps_fd;

	*unknown = fd < 0;
	if (fd < 0)
		return false;
	while (!found && (n = syscall(SYS_pread64, fd, buf, sizeof(buf), off)) > 0) {
		off += n;
		for (ssize_t i = 0; i < n && !found; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			found = parse_line(line, out) && a >= out->start && a < out->end;
		}
	}
	return found;
}

static const struct umem_map *cached(uintptr_t a)
{
	for (unsigned int i = 0; i < UMEM_CACHE; i++)
		if (a >= cache[i].start && a < cache[i].end)
			return &cache[i];
	return NULL;
}

size_t velo_umem_mapped_prefix(const void *p, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)p, end = a + len;
	unsigned int gen = atomic_load_explicit(&maps_gen, memory_order_acquire);

	if (in_lookup)
		return len; /* a signal handler's call within ours: as before, unchecked */
	if (cache_gen != gen) {
		memset(cache, 0, sizeof(cache));
		cache_gen = gen;
	}
	while (a < end) {
		const struct umem_map *m = cached(a);
		struct umem_map found;

		if (!m) {
			bool unknown, ok;

			in_lookup = 1;
			ok = maps_find(a, &found, &unknown);
			in_lookup = 0;
			if (!ok) /* no maps file: unchecked, as before */
				return unknown ? len : a - (uintptr_t)p;
			cache[cache_next++ % UMEM_CACHE] = found;
			m = &found;
		}
		if ((m->prot & prot) != prot)
			return a - (uintptr_t)p;
		a = m->end;
	}
	return len;
}

/* Linux's TCP copies a write in chunks of its page fragments (32 KiB). */
#define SEND_FAULT_CHUNK (32u << 10)

/*
 * tcp_sendmsg() sends the chunks it copied before the one that faults,
 * and fails with EFAULT only if that was the first.
 */
bool velo_send_extent(const struct iovec *iov, int cnt, size_t *len)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++) {
		size_t good = velo_readable_prefix(iov[i].iov_base, iov[i].iov_len);

		total += good;
		if (good < iov[i].iov_len) {
			total -= total % SEND_FAULT_CHUNK;
			break;
		}
	}
	*len = total;
	return total || !velo_iov_len(iov, cnt);
}

bool velo_umem_mapped(const void *p, size_t len, int prot)
{
	return velo_umem_mapped_prefix(p, len, prot) == len;
}

static void maps_changed(void)
{
	atomic_fetch_add_explicit(&maps_gen, 1, memory_order_release);
}

VELO_EXPORT int munmap(void *addr, size_t len)
{
	long r = syscall(SYS_munmap, addr, len);

	maps_changed();
	return (int)r;
}

VELO_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	long r = syscall(SYS_mprotect, addr, len, prot);

	maps_changed();
	return (int)r;
}

VELO_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	void *r;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	r = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	maps_changed();
	return r;
}
