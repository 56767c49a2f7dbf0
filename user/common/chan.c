// SPDX-License-Identifier: GPL-2.0
/* Loopback channel ring copies and cross-process locks. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/chan.h"

/*
 * Copy len bytes between the ring, from position pos on (wrapping), and
 * the iovec, in the direction to_ring says. Returns the bytes copied (less
 * than len when the iovec is shorter).
 */
static inline size_t ring_copy(uint8_t *ring, uint64_t pos0, const struct iovec *iov,
			       int iovcnt, size_t len, bool to_ring)
{
	size_t done = 0, off = 0;
	int i = 0;

	while (done < len) {
		size_t pos = (pos0 + done) & (VELO_CHAN_RING - 1);
		size_t chunk = len - done;
		char *user;

		while (i < iovcnt && off == iov[i].iov_len) {
			i++;
			off = 0;
		}
		if (i >= iovcnt)
			break;
		if (chunk > VELO_CHAN_RING - pos)
			chunk = VELO_CHAN_RING - pos;
		if (chunk > iov[i].iov_len - off)
			chunk = iov[i].iov_len - off;
		user = (char *)iov[i].iov_base + off;
		if (to_ring)
			memcpy(ring + pos, user, chunk);
		else
			memcpy(user, ring + pos, chunk);
		off += chunk;
		done += chunk;
	}
	return done;
}

ssize_t velo_ring_read(struct velo_chan_dir *d, uint8_t *ring,
		       const struct iovec *iov, int iovcnt, size_t len, bool peek)
{
	int64_t used = velo_ring_readable(d);
	uint64_t h = atomic_load_explicit(&d->head, memory_order_relaxed);
	size_t done, n = velo_iov_len(iov, iovcnt);

	if (used < 0)
		return -1;
	if (len > n)
		len = n;
	if (len > (uint64_t)used)
		len = used;
	done = ring_copy(ring, h, iov, iovcnt, len, false);
	if (!peek && done)
		atomic_store_explicit(&d->head, h + done, memory_order_release);
	return done;
}

ssize_t velo_ring_skip(struct velo_chan_dir *d, size_t len)
{
	int64_t used = velo_ring_readable(d);
	uint64_t h = atomic_load_explicit(&d->head, memory_order_relaxed);

	if (used < 0)
		return -1;
	if (len > (uint64_t)used)
		len = used;
	atomic_store_explicit(&d->head, h + len, memory_order_release);
	return len;
}

ssize_t velo_ring_write(struct velo_chan_dir *d, uint8_t *ring,
			const struct iovec *iov, int iovcnt, size_t len)
{
	int64_t used = velo_ring_used(d);
	uint64_t t = atomic_load_explicit(&d->tail, memory_order_relaxed);
	size_t done, n = velo_iov_len(iov, iovcnt);

	if (used < 0)
		return -1;
	if (len > n)
		len = n;
	if (len > VELO_CHAN_RING - (uint64_t)used)
		len = VELO_CHAN_RING - used;
	done = ring_copy(ring, t, iov, iovcnt, len, true);
	if (done)
		atomic_store_explicit(&d->tail, t + done, memory_order_release);
	return done;
}

/*
 * This process's pid, the lock owner's name: getpid() is a system call, and
 * a lock is taken on every send and receive. A fork child forgets it.
 */
static _Atomic uint32_t self_pid;
static pthread_once_t self_pid_once = PTHREAD_ONCE_INIT;

static void self_pid_forget(void)
{
	atomic_store_explicit(&self_pid, 0, memory_order_relaxed);
}

static void self_pid_watch_fork(void)
{
	pthread_atfork(NULL, NULL, self_pid_forget);
}

static uint32_t my_pid(void)
{
	uint32_t p = atomic_load_explicit(&self_pid, memory_order_relaxed);

	if (!p) {
		pthread_once(&self_pid_once, self_pid_watch_fork);
		p = (uint32_t)getpid();
		atomic_store_explicit(&self_pid, p, memory_order_relaxed);
	}
	return p;
}

void velo_shlock(_Atomic uint32_t *l)
{
	uint32_t me = my_pid();
	unsigned int spins = 0;
	int saved = errno;

	for (;;) {
		uint32_t cur = 0;

		if (atomic_compare_exchange_weak_explicit(l, &cur, me, memory_order_acquire,
							  memory_order_relaxed)) {
			errno = saved;
			return;
		}
		if (++spins < 200) {
			__builtin_ia32_pause();
			continue;
		}
		if ((spins & 1023) == 0 && cur && cur != me && kill((pid_t)cur, 0) < 0 &&
		    errno == ESRCH) {
			/* the holder died: take the lock over */
			if (atomic_compare_exchange_strong(l, &cur, me)) {
				errno = saved;
				return;
			}
		}
		sched_yield();
	}
}

void velo_shunlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

bool velo_watch_mark(struct velo_watch *w, uint32_t slot)
{
	uint64_t bit = 1ull << (slot % 64);
	_Atomic uint64_t *word;

	slot %= VELO_WATCH_SLOTS;
	word = &w->bits[slot / 64];
	/* the set's exchange of the word orders our change before its look */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(word, memory_order_relaxed) & bit)
		return false; /* marked already, not taken yet: the set will look */
	if (atomic_fetch_or(word, bit) & bit)
		return false;
	/* after the word: a set that finds the summary bit finds the word's */
	atomic_fetch_or(&w->summary[slot / 4096], 1ull << ((slot / 64) % 64));
	return atomic_load(&w->sleepers) != 0;
}

void velo_watch_take(struct velo_watch *w, void (*fn)(uint32_t slot, void *arg), void *arg)
{
	unsigned int i;

	for (i = 0; i < VELO_WATCH_SLOTS / 4096; i++) {
		uint64_t sum;

		if (!atomic_load_explicit(&w->summary[i], memory_order_relaxed))
			continue;
		sum = atomic_exchange(&w->summary[i], 0);
		while (sum) {
			unsigned int wi = i * 64 + __builtin_ctzll(sum);
			uint64_t bits = atomic_exchange(&w->bits[wi], 0);

			sum &= sum - 1;
			while (bits) {
				fn(wi * 64 + __builtin_ctzll(bits), arg);
				bits &= bits - 1;
			}
		}
	}
}
