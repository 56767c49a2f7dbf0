// SPDX-License-Identifier: GPL-2.0
/*
 * The loopback backend: a TCP connection between two local velo processes
 * moves its data through a shared-memory channel.
 *
 * The kernel makes the real connection (ports, getsockname, backlog, FIN,
 * RST, process death are the kernel's). Each end, once connected, looks up
 * its peer socket with sock_diag (same network namespace, local only) and
 * maps /dev/shm/velo-<uid>/<cookieA>-<cookieB>, named by both sockets'
 * SO_COOKIEs (never reused while the system runs, so no stale channel can
 * be picked up). Each direction switches from the kernel to the ring once
 * its producer sees the consumer present: the producer records in the
 * channel how many bytes it sent through the kernel (kbytes); the consumer
 * reads exactly that many kernel bytes before reading the ring. Every later
 * byte the producer writes to its kernel socket is a doorbell, discarded by
 * the consumer: a consumer about to sleep sets `armed`, the producer rings
 * (one byte, MSG_DONTWAIT) only then. So a sleeping consumer sleeps in a
 * real blocking recv(MSG_PEEK) or poll on its own kernel socket and wakes
 * on data, doorbell, FIN, RST or the peer's death exactly as on the kernel,
 * with the kernel's own signal and SO_RCVTIMEO semantics.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/velo.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

uint64_t velo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void slot_add(struct vsock *vs, int which, uint64_t n)
{
	struct velo_stats_sock *s;

	if (!velo_st || vs->slot < 0)
		return;
	s = &velo_st->sock[vs->slot];
	switch (which) {
	case 0: atomic_fetch_add_explicit(&s->tx_ring, n, memory_order_relaxed); break;
	case 1: atomic_fetch_add_explicit(&s->rx_ring, n, memory_order_relaxed); break;
	case 2: atomic_fetch_add_explicit(&s->tx_kernel, n, memory_order_relaxed); break;
	default: atomic_fetch_add_explicit(&s->rx_kernel, n, memory_order_relaxed); break;
	}
}

/* ---------------------------------------------------------------- attach */

static bool addr_parts(const struct sockaddr_storage *ss, int *fam, uint32_t a[4], uint16_t *port)
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		*fam = AF_INET;
		a[0] = s->sin_addr.s_addr;
		*port = s->sin_port;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			*fam = AF_INET;
			memcpy(&a[0], &s->sin6_addr.s6_addr[12], 4);
		} else {
			*fam = AF_INET6;
			memcpy(a, &s->sin6_addr, 16);
		}
		*port = s->sin6_port;
		return true;
	}
	return false;
}

/*
 * Find the local socket whose local address is `local` and remote address
 * `remote` (our peer, seen from its side). 0 with its cookie and uid, or -1.
 */
static int diag_lookup(const struct sockaddr_storage *peer, const struct sockaddr_storage *self,
		       uint64_t *cookie, uint32_t *uid, int *state)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} resp;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint32_t pa[4], sa4[4];
	uint16_t pport, sport;
	int fam, fam2, nl, ret = -1;
	ssize_t n;

	if (!addr_parts(peer, &fam, pa, &pport) || !addr_parts(self, &fam2, sa4, &sport) ||
	    fam != fam2)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = fam;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	req.r.id.idiag_sport = pport;
	req.r.id.idiag_dport = sport;
	memcpy(req.r.id.idiag_src, pa, 16);
	memcpy(req.r.id.idiag_dst, sa4, 16);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	nl = REAL(socket)(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -1;
	if (REAL(sendto)(nl, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	n = REAL(recv)(nl, &resp, sizeof(resp), 0);
	if (n < (ssize_t)sizeof(struct nlmsghdr) || !NLMSG_OK(&resp.nlh, (size_t)n))
		goto out;
	if (resp.nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    resp.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
		struct inet_diag_msg *m = NLMSG_DATA(&resp.nlh);

		*cookie = (uint64_t)m->id.idiag_cookie[0] | ((uint64_t)m->id.idiag_cookie[1] << 32);
		*uid = m->idiag_uid;
		if (state)
			*state = m->idiag_state;
		ret = 0;
	}
out:
	REAL(close)(nl);
	return ret;
}

static bool addr_is_local_hint(const struct sockaddr_storage *peer, const struct sockaddr_storage *self)
{
	uint32_t pa[4], sa[4];
	uint16_t pp, sp;
	int f1, f2;

	if (!addr_parts(peer, &f1, pa, &pp) || !addr_parts(self, &f2, sa, &sp))
		return false;
	if (f1 == AF_INET && (ntohl(pa[0]) >> 24) == 127)
		return true;
	if (f1 == AF_INET6 && !pa[0] && !pa[1] && !pa[2] && pa[3] == htonl(1))
		return true;
	return f1 == f2 && !memcmp(pa, sa, 16);
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "-");
	}
}

static int chan_map(struct vsock *vs, uint32_t peer_uid)
{
	uid_t me = geteuid();
	char dir[48];
	struct stat sb;
	uint64_t lo = vs->cookie < vs->peer_cookie ? vs->cookie : vs->peer_cookie;
	uint64_t hi = vs->cookie < vs->peer_cookie ? vs->peer_cookie : vs->cookie;
	bool shared = peer_uid != me;
	void *p;
	int fd;

	if (shared)
		snprintf(dir, sizeof(dir), "/dev/shm/velo-shared");
	else
		snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)me);
	if (mkdir(dir, shared ? 01777 : 0700) < 0 && errno != EEXIST)
		return -1;
	if (shared)
		chmod(dir, 01777);
	if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || (!shared && sb.st_uid != me))
		return -1;
	snprintf(vs->path, sizeof(vs->path), "%s/%016llx-%016llx", dir,
		 (unsigned long long)lo, (unsigned long long)hi);
	fd = REAL(open)(vs->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, shared ? 0666 : 0600);
	if (fd < 0)
		return -1;
	if (shared)
		fchmod(fd, 0666);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    ((size_t)sb.st_size < sizeof(struct velo_chan) &&
	     ftruncate(fd, sizeof(struct velo_chan)) < 0)) {
		REAL(close)(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(struct velo_chan), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REAL(close)(fd);
	if (p == MAP_FAILED)
		return -1;
	vs->ch = p;
	return 0;
}

static bool share_allowed(uint32_t peer_uid)
{
	if (peer_uid == geteuid())
		return true;
	return velo_cfg.share_with == -1 || velo_cfg.share_with == (long)peer_uid;
}

void velo_loop_try_attach(struct vsock *vs, int fd)
{
	struct sockaddr_storage self, peer;
	socklen_t sl = sizeof(self), pl = sizeof(peer), cl = sizeof(uint64_t);
	int saved = errno, tries;
	uint32_t peer_uid = 0;
	struct velo_chan_end *me;
	bool found = false;
	int fl;

	if (atomic_load(&vs->state) != VELO_SS_PENDING)
		return;
	pthread_mutex_lock(&vs->mu);
	if (atomic_load(&vs->state) != VELO_SS_PENDING)
		goto out;
	if (REAL(getpeername)(fd, (struct sockaddr *)&peer, &pl) < 0)
		goto out; /* not connected (yet) */
	if (REAL(getsockname)(fd, (struct sockaddr *)&self, &sl) < 0)
		goto kernel;
	if (!velo_cfg.loopback)
		goto kernel;
	if (!velo_config_accelerate(&velo_cfg, (struct sockaddr *)(vs->accepted ? &self : &peer),
				    velo_prog)) {
		velo_stat_add(VELO_STAT_RULE_PASSTHROUGH, 1);
		goto kernel;
	}
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_COOKIE, &vs->cookie, &cl) < 0)
		goto kernel;
	/* on loopback the peer's accepted socket may appear a moment later */
	for (tries = 0; tries < 200; tries++) {
		int st = 0;

		/* the listener answers until the accepted socket exists */
		if (!diag_lookup(&peer, &self, &vs->peer_cookie, &peer_uid, &st) &&
		    st != TCP_LISTEN && st != TCP_SYN_RECV && st != 12 /* NEW_SYN_RECV */) {
			found = true;
			break;
		}
		if (!addr_is_local_hint(&peer, &self))
			break;
		sched_yield();
	}
	if (!found || vs->peer_cookie == vs->cookie) {
		velo_stat_add(VELO_STAT_LOOP_NO_PEER, 1);
		goto kernel;
	}
	if (!share_allowed(peer_uid)) {
		velo_dbg("fd %d: peer uid %u not allowed (VELO_SHARE_WITH)", fd, peer_uid);
		velo_stat_add(VELO_STAT_LOOP_NO_PEER, 1);
		goto kernel;
	}
	if (chan_map(vs, peer_uid) < 0) {
		velo_dbg("fd %d: cannot map channel: %s", fd, strerror(errno));
		goto kernel;
	}
	vs->end = vs->cookie < vs->peer_cookie ? 0 : 1;
	vs->self_addr = self;
	vs->peer_addr = peer;
	memcpy(vs->ch->addr[vs->end], &self,
	       self.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	me = &vs->ch->end[vs->end];
	fl = REAL(fcntl)(fd, F_GETFL);
	atomic_store(&me->nonblock, fl >= 0 && (fl & O_NONBLOCK));
	atomic_store(&me->async, fl >= 0 && (fl & O_ASYNC));
	{
		int lowat = 1;
		socklen_t ll = sizeof(lowat);

		REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, &ll);
		atomic_store(&me->rcvlowat, lowat > 0 ? lowat : 1);
	}
	atomic_store(&me->sndbuf, atomic_load(&vs->sndbuf));
	atomic_store(&me->rcvbuf, atomic_load(&vs->rcvbuf));
	atomic_store(&me->cookie, vs->cookie);
	atomic_store(&me->pid, (uint32_t)getpid());
	atomic_fetch_add(&me->refs, 1);
	atomic_store(&me->present, 1);
	atomic_store(&vs->state, VELO_SS_LOOP);
	atomic_fetch_add(&velo_loop_count, 1);
	velo_stat_add(VELO_STAT_LOOP_ATTACHED, 1);
	if (velo_st && vs->slot >= 0) {
		fmt_addr(&self, velo_st->sock[vs->slot].local, sizeof(velo_st->sock[0].local));
		fmt_addr(&peer, velo_st->sock[vs->slot].peer, sizeof(velo_st->sock[0].peer));
	}
	velo_slot_update(vs, fd);
	velo_dbg("fd %d: attached to %s as end %d", fd, vs->path, vs->end);
	pthread_mutex_unlock(&vs->mu);
	velo_epoll_socket_attached(vs);
	errno = saved;
	return;
kernel:
	atomic_store(&vs->state, VELO_SS_KERNEL);
	velo_slot_update(vs, fd);
out:
	pthread_mutex_unlock(&vs->mu);
	errno = saved;
}

static bool peer_present(struct vsock *vs)
{
	struct velo_chan_end *p = &vs->ch->end[!vs->end];

	return atomic_load_explicit(&p->present, memory_order_acquire) &&
	       atomic_load(&p->cookie) == vs->peer_cookie;
}

/* Move our outgoing direction to the ring (peer present). */
static void out_switch(struct vsock *vs)
{
	struct velo_chan_dir *d = vs_out(vs);

	velo_shlock(&d->plock);
	if (!atomic_load(&d->switched)) {
		atomic_store(&d->kbytes, atomic_load(&d->ksent));
		atomic_store_explicit(&d->switched, 1, memory_order_release);
		velo_stat_add(VELO_STAT_LOOP_SWITCHED, 1);
	}
	velo_shunlock(&d->plock);
}

static void ring_doorbell(struct vsock *vs, int fd, struct velo_chan_dir *d)
{
	int saved;

	/*
	 * Our tail store (release) must be visible before we look at armed:
	 * a consumer stores armed, then loads tail. Without a full barrier
	 * the CPU may read armed first (x86 store-load reordering), both
	 * miss each other and the consumer sleeps with data in the ring.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&vs->ch->end[!vs->end].async, memory_order_relaxed) ||
	    atomic_load_explicit(&vs->ch->end[!vs->end].ring_always, memory_order_relaxed)) {
		/* O_ASYNC peer: the kernel's SIGIO comes from the doorbell */
		atomic_store(&d->armed, 0);
	} else if (!atomic_load_explicit(&d->armed, memory_order_seq_cst) ||
		   !atomic_exchange(&d->armed, 0)) {
		return;
	}
	saved = errno;
	atomic_fetch_add(&d->bells, 1); /* before: the consumer may wait for it */
	if (REAL(send)(fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
		atomic_fetch_sub(&d->bells, 1);
	velo_stat_add(VELO_STAT_DOORBELLS, 1);
	errno = saved;
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Consumer freed ring space: wake blocked producers and pollers. */
static void space_freed(struct vsock *vs, int fd, struct velo_chan_dir *in)
{
	/* head before space_wait/out_armed: the mirror of ring_doorbell's fence */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&in->space_wait)) {
		atomic_fetch_add(&in->head_seq, 1);
		futex_wake(&in->head_seq);
	}
	if (atomic_load(&in->out_armed) && atomic_exchange(&in->out_armed, 0)) {
		/* the producer sleeps in poll/epoll on its socket: ring it */
		struct velo_chan_dir *out = vs_out(vs);
		int saved = errno;

		if (!atomic_load(&out->switched))
			out_switch(vs);
		atomic_fetch_add(&out->bells, 1);
		if (REAL(send)(fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			atomic_fetch_sub(&out->bells, 1);
		velo_stat_add(VELO_STAT_DOORBELLS, 1);
		errno = saved;
	}
}

static int64_t out_capacity(struct vsock *vs);
static bool peer_gone(struct vsock *vs, int fd);

/* --------------------------------------------------------------- helpers */

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t t = 0;
	int i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* iov without its first `skip` bytes, at most `max` bytes; returns count. */
static int iov_slice(const struct iovec *iov, int n, size_t skip, size_t max, struct iovec *out)
{
	int i, k = 0;

	for (i = 0; i < n && max; i++) {
		size_t l = iov[i].iov_len;
		char *b = iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		b += skip;
		l -= skip;
		skip = 0;
		if (l > max)
			l = max;
		out[k].iov_base = b;
		out[k].iov_len = l;
		k++;
		max -= l;
	}
	return k;
}

static ssize_t kern_recv(int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };

	return REAL(recvmsg)(fd, &m, flags);
}

static ssize_t kern_send(int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };

	return REAL(sendmsg)(fd, &m, flags);
}

/*
 * Discard doorbells (kernel bytes past kbytes). 0: none left, 1: kernel
 * EOF, 2: kernel error (in errno, consumed from the socket).
 */
static int drain_doorbells(struct vsock *vs, int fd)
{
	struct velo_chan_dir *in = vs_in(vs);
	char scratch[256];

	for (;;) {
		/* switched first: kbytes is only final once it is set */
		uint32_t sw = atomic_load_explicit(&in->switched, memory_order_acquire);
		uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);
		size_t want = sizeof(scratch);
		ssize_t n;

		if (!sw || kr < kb)
			return 0; /* real data first: not ours to drain */
		n = REAL(recv)(fd, scratch, want, MSG_DONTWAIT);
		if (n > 0) {
			atomic_fetch_add(&in->kread, n);
			continue;
		}
		if (n == 0)
			return 1;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 2;
	}
}

static __thread uint64_t spin_cur = UINT64_MAX;

uint64_t velo_spin_budget(void)
{
	uint64_t max = (uint64_t)velo_cfg.spin_us * 1000;

	if (spin_cur > max)
		spin_cur = max;
	return spin_cur;
}

void velo_spin_result(bool found)
{
	uint64_t max = (uint64_t)velo_cfg.spin_us * 1000;

	if (found)
		spin_cur = spin_cur * 2 + 2000 > max ? max : spin_cur * 2 + 2000;
	else
		spin_cur = spin_cur / 2 < 2000 ? (max < 2000 ? max : 2000) : spin_cur / 2;
}

/*
 * The ring is drained: consume every doorbell sent for it, including one a
 * producer has committed to but not sent yet (bells counts intents), so
 * none stays queued behind us (another epoll would see the socket
 * readable; a close or a death would send RST instead of FIN).
 */
static void settle_doorbells(struct vsock *vs, int fd)
{
	struct velo_chan_dir *in = vs_in(vs);
	int saved = errno, i;

	for (i = 0; i < 2000; i++) {
		uint32_t sw = atomic_load_explicit(&in->switched, memory_order_acquire);
		uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);

		if (!sw || kr < kb ||
		    atomic_load(&in->bells) <= kr - kb || velo_ring_used(in) != 0)
			break;
		if (drain_doorbells(vs, fd))
			break;
		if (i > 8)
			sched_yield(); /* the producer is between its decision and send() */
	}
	errno = saved;
}

/*
 * The peer's socket closed (its FIN is here) without shutdown(SHUT_WR)
 * first, and data we sent it is still unread in the ring: on the kernel its
 * close (or death) would have answered with RST. Seen from here, that is a
 * reset.
 */
static bool virtual_reset(struct vsock *vs)
{
	struct velo_chan_dir *out = vs_out(vs);

	if (atomic_load(&vs->vreset))
		return true;
	if (atomic_load(&out->switched) && !atomic_load(&vs->ch->end[!vs->end].shut_wr) &&
	    velo_ring_used(out) > 0) {
		int z = 0;

		atomic_compare_exchange_strong(&vs->vreset, &z, 1);
		return true;
	}
	return false;
}

static bool spin_for(struct velo_chan_dir *in, uint64_t spin_ns)
{
	uint64_t start;
	unsigned int i = 0;

	if (!spin_ns)
		return false;
	start = velo_now_ns();
	for (;;) {
		if (velo_ring_used(in) != 0) {
			velo_spin_result(true);
			return true;
		}
		__builtin_ia32_pause();
		if ((++i & 63) == 0 && velo_now_ns() - start > spin_ns) {
			velo_spin_result(false);
			return false;
		}
	}
}

/* ------------------------------------------------------------------ recv */

ssize_t velo_loop_recv(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct velo_chan *ch = vs->ch;
	struct velo_chan_dir *in = vs_in(vs);
	bool peek = flags & MSG_PEEK;
	bool waitall = (flags & MSG_WAITALL) && !peek;
	bool nb = (flags & MSG_DONTWAIT) || atomic_load_explicit(&ch->end[vs->end].nonblock,
								  memory_order_relaxed);
	size_t len = iov_len(iov, iovcnt), done = 0;
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	int kflags = flags & ~MSG_WAITALL;

	size_t target;

	if ((flags & (MSG_OOB | MSG_ERRQUEUE)) || atomic_load(&ch->end[vs->end].shut_rd))
		return kern_recv(fd, (struct iovec *)iov, iovcnt, flags);
	if (!len) {
		/* Linux waits for data, then copies nothing */
		char c;
		struct iovec one = { &c, 1 };
		ssize_t r = velo_loop_recv(vs, fd, &one, 1, (flags & ~(MSG_WAITALL | MSG_TRUNC)) | MSG_PEEK);

		return r < 0 ? -1 : 0;
	}
	target = waitall ? len : atomic_load(&ch->end[vs->end].rcvlowat);
	if (target < 1 || peek)
		target = 1;
	if (target > len)
		target = len;
	for (;;) {
		uint32_t sw = atomic_load_explicit(&in->switched, memory_order_acquire);
		uint64_t kb = sw ? atomic_load(&in->kbytes) : 0;
		uint64_t kr = atomic_load(&in->kread);
		ssize_t n;

		if (!sw || kr < kb) {
			/* kernel phase: bytes sent before the producer switched */
			size_t want = len - done;
			bool block = !nb && !done && !sw;
			int k;

			if (sw && want > kb - kr)
				want = kb - kr;
			k = iov_slice(iov, iovcnt, done, want, sub);
			if (block) {
				atomic_store(&in->armed, 1); /* a switch rings us */
				/*
				 * A producer that switched after our look at
				 * `switched` may have written the ring and
				 * found armed still 0: then nothing would ring
				 * and the recv below would sleep for ever.
				 */
				if (atomic_load(&in->switched)) {
					atomic_exchange(&in->armed, 0);
					continue;
				}
			}
			n = kern_recv(fd, sub, k, kflags | (block ? 0 : MSG_DONTWAIT));
			if (n > 0) {
				size_t valid = n;
				uint64_t old = peek ? kr : atomic_fetch_add(&in->kread, n);

				if (atomic_load_explicit(&in->switched, memory_order_acquire)) {
					kb = atomic_load(&in->kbytes);
					valid = old >= kb ? 0 : (kb - old < (uint64_t)n ? kb - old : (size_t)n);
				}
				velo_stat_add(VELO_STAT_RX_KERNEL_BYTES, valid);
				slot_add(vs, 3, valid);
				done += valid;
				if (done >= target)
					return done;
				continue;
			}
			if (n == 0) {
				if (atomic_load(&in->switched) != sw)
					continue;
				if (!done && !peek && virtual_reset(vs)) {
					int one = 1;

					if (atomic_compare_exchange_strong(&vs->vreset, &one, 2)) {
						errno = ECONNRESET;
						return -1;
					}
				}
				return done;
			}
			if (errno == EINTR)
				return done ? (ssize_t)done : -1;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				if (atomic_load(&in->switched) != sw)
					continue;
				atomic_store(&vs->vreset, 2); /* a real reset: no virtual one */
				return done ? (ssize_t)done : -1;
			}
			if (atomic_load(&in->switched) != sw)
				continue;
			if (nb || block)
				return done ? (ssize_t)done : -1; /* EAGAIN: O_NONBLOCK or SO_RCVTIMEO */
			goto wait;
		}
		/* ring phase */
		if (atomic_load(&ch->end[!vs->end].aborted) && velo_ring_used(in) > 0) {
			/*
			 * The peer reset: what had "arrived" (up to our receive
			 * buffer) is still read, the rest was in its send buffer
			 * and is lost, as with the kernel.
			 */
			uint64_t h = atomic_load(&in->head);
			int64_t u = velo_ring_used(in);

			if (!vs->abort_limit) {
				uint64_t keep = atomic_load(&ch->end[vs->end].rcvbuf);

				keep = keep ? keep : 65536;
				vs->abort_limit = h + ((uint64_t)u < keep ? (uint64_t)u : keep);
			}
			if (h >= vs->abort_limit) {
				velo_shlock(&in->clock);
				velo_ring_skip(in, VELO_CHAN_RING);
				velo_shunlock(&in->clock);
			} else if (len - done > vs->abort_limit - h) {
				len = done + (vs->abort_limit - h);
			}
		}
		if (!(flags & MSG_TRUNC) && velo_ring_used(in) > 0) {
			int k = iov_slice(iov, iovcnt, done, len - done, sub), j;

			for (j = 0; j < k; j++)
				if (velo_bad_range(sub[j].iov_base, sub[j].iov_len)) {
					if (done)
						return done;
					errno = EFAULT;
					return -1;
				}
		}
		velo_shlock(&in->clock);
		if (flags & MSG_TRUNC)
			n = peek ? velo_ring_used(in) : velo_ring_skip(in, len - done);
		else
			n = velo_ring_read(in, ch->ring[!vs->end], sub,
					   iov_slice(iov, iovcnt, done, len - done, sub), len - done, peek);
		velo_shunlock(&in->clock);
		if (n < 0) {
			velo_stat_add(VELO_STAT_CHAN_CORRUPT, 1);
			errno = ECONNRESET;
			return done ? (ssize_t)done : -1;
		}
		if (n > 0) {
			if ((size_t)n > len - done)
				n = len - done;
			done += n;
			velo_stat_add(VELO_STAT_RX_RING_BYTES, n);
			slot_add(vs, 1, n);
			if (!peek) {
				struct velo_chan_end *me = &ch->end[vs->end];

				space_freed(vs, fd, in);
				/*
				 * Ring drained: no doorbell may stay queued (another
				 * epoll would see it; a close would turn into RST).
				 * Only a system call when one was sent and not consumed.
				 */
				if (velo_ring_used(in) == 0 &&
				    (atomic_load(&me->ring_always) || atomic_load(&me->async) ||
				     atomic_load(&in->bells) >
					     atomic_load(&in->kread) - atomic_load(&in->kbytes)))
					settle_doorbells(vs, fd);
			}
			if (done >= target)
				return done;
			continue;
		}
		/* ring empty: doorbells, EOF or an error waiting in the kernel? */
		if (atomic_load(&vs->pend_err)) {
			if (done)
				return done;
			errno = atomic_exchange(&vs->pend_err, 0);
			return -1;
		}
		switch (drain_doorbells(vs, fd)) {
		case 1: /* EOF, after everything the ring held */
			if (velo_ring_used(in) != 0)
				continue;
			if (!done && virtual_reset(vs)) {
				int one = 1;

				if (atomic_compare_exchange_strong(&vs->vreset, &one, 2)) {
					errno = ECONNRESET;
					return -1;
				}
			}
			return done;
		case 2: /* the kernel's error (ECONNRESET...), consumed: report it */
			atomic_store(&vs->vreset, 2);
			if (velo_ring_used(in) != 0 || done) {
				/* deliver the data first, as tcp_recvmsg does */
				atomic_store(&vs->pend_err, errno);
				if (done)
					return done;
				continue;
			}
			return -1;
		default:
			break;
		}
wait:
		if (done >= target)
			return done;
		if (nb) {
			if (done)
				return done;
			errno = EAGAIN;
			return -1;
		}
		if (spin_for(in, velo_spin_budget()))
			continue;
		atomic_store(&in->armed, 1);
		if (velo_ring_used(in) != 0 || atomic_load(&in->switched) != sw) {
			/*
			 * Data came while arming: if the producer already took the
			 * flag, its doorbell is on the way; consume it now, a
			 * doorbell left queued would turn our close into a RST.
			 */
			if (!atomic_exchange(&in->armed, 0) && sw) {
				int saved = errno;

				drain_doorbells(vs, fd);
				errno = saved;
			}
			continue;
		}
		velo_stat_add(VELO_STAT_SLEEPS, 1);
		if (sw && atomic_load(&in->kread) >= atomic_load(&in->kbytes)) {
			char db[64];

			/*
			 * Only doorbells can come from the kernel now: sleep in a
			 * real recv that consumes them (a close with one queued
			 * would send RST); wakes on doorbell, FIN, RST, signal.
			 */
			n = REAL(recv)(fd, db, sizeof(db), 0);
			if (n > 0) {
				atomic_fetch_add(&in->kread, n);
			} else if (n == 0) {
				if (velo_ring_used(in) != 0)
					continue;
				if (!done && virtual_reset(vs)) {
					int one = 1;

					if (atomic_compare_exchange_strong(&vs->vreset, &one, 2)) {
						errno = ECONNRESET;
						return -1;
					}
				}
				return done;
			} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
				atomic_store(&vs->vreset, 2);
				if (velo_ring_used(in) != 0 || done) {
					atomic_store(&vs->pend_err, errno);
					continue;
				}
				return -1;
			}
		} else {
			char c;

			/* sleep in the kernel: wakes on data, doorbell, FIN, RST, signal */
			n = REAL(recv)(fd, &c, 1, MSG_PEEK);
			if (n > 0) {
				int saved = errno;

				drain_doorbells(vs, fd);
				errno = saved;
			}
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (velo_ring_used(in) != 0)
				continue;
			return done ? (ssize_t)done : -1;
		}
	}
}

/* ------------------------------------------------------------------ send */

bool velo_all_handlers_restart(void)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

static bool peer_gone(struct vsock *vs, int fd)
{
	struct velo_chan_end *p = &vs->ch->end[!vs->end];
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
	uint32_t pid;

	if (atomic_load(&p->closed))
		return true;
	if (REAL(poll)(&pfd, 1, 0) > 0) {
		if (pfd.revents & (POLLERR | POLLHUP))
			return true;
		pid = atomic_load(&p->pid);
		if ((pfd.revents & POLLRDHUP) && pid && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			return true;
	}
	return false;
}

ssize_t velo_loop_send(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct velo_chan *ch = vs->ch;
	struct velo_chan_dir *out = vs_out(vs);
	struct velo_chan_end *me = &ch->end[vs->end];
	bool nb = (flags & MSG_DONTWAIT) || atomic_load_explicit(&me->nonblock, memory_order_relaxed);
	size_t len = iov_len(iov, iovcnt), done = 0;
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	uint64_t deadline = 0;
	bool timeo_checked = false, has_timeo = false;

	if (!len || (flags & MSG_OOB))
		return kern_send(fd, (struct iovec *)iov, iovcnt, flags);
	for (;;) {
		ssize_t n;
		int k;

		if (!atomic_load_explicit(&out->switched, memory_order_acquire)) {
			if (peer_present(vs)) {
				out_switch(vs);
				continue;
			}
			velo_shlock(&out->plock);
			if (atomic_load(&out->switched)) {
				velo_shunlock(&out->plock);
				continue;
			}
			k = iov_slice(iov, iovcnt, done, len - done, sub);
			n = kern_send(fd, sub, k, flags);
			if (n > 0) {
				atomic_fetch_add(&out->ksent, n);
				velo_stat_add(VELO_STAT_TX_KERNEL_BYTES, n);
				slot_add(vs, 2, n);
			}
			velo_shunlock(&out->plock);
			if (n < 0)
				return done ? (ssize_t)done : -1;
			return done + n;
		}
		if (atomic_load(&me->shut_wr) || atomic_load(&ch->end[!vs->end].closed) ||
		    atomic_load(&ch->end[!vs->end].shut_rd) || atomic_load(&vs->vreset)) {
			/* the kernel gives EPIPE/SIGPIPE or provokes the RST, as without us */
			k = iov_slice(iov, iovcnt, done, len - done, sub);
			n = kern_send(fd, sub, k, flags);
			if (n < 0)
				return done ? (ssize_t)done : -1;
			return done + n;
		}
		k = iov_slice(iov, iovcnt, done, len - done, sub);
		for (int j = 0; j < k; j++)
			if (velo_bad_range(sub[j].iov_base, sub[j].iov_len)) {
				if (done)
					return done;
				errno = EFAULT;
				return -1;
			}
		velo_shlock(&out->plock);
		{
			int64_t cap = out_capacity(vs), used = velo_ring_used(out);
			size_t room = used < 0 ? 0 : (used >= cap ? 0 : (size_t)(cap - used));

			if (used < 0)
				n = -1;
			else if (!room)
				n = 0;
			else
				n = velo_ring_write(out, ch->ring[vs->end], sub,
						    iov_slice(iov, iovcnt, done, len - done, sub),
						    len - done < room ? len - done : room);
		}
		velo_shunlock(&out->plock);
		if (n < 0) {
			velo_stat_add(VELO_STAT_CHAN_CORRUPT, 1);
			errno = ECONNRESET;
			return done ? (ssize_t)done : -1;
		}
		if (n > 0) {
			done += n;
			velo_stat_add(VELO_STAT_TX_RING_BYTES, n);
			slot_add(vs, 0, n);
			ring_doorbell(vs, fd, out);
			if (done == len || nb)
				return done;
			continue;
		}
		/* ring full */
		if (nb) {
			if (done)
				return done;
			errno = EAGAIN;
			return -1;
		}
		if (!timeo_checked) {
			struct timeval tv = { 0, 0 };
			socklen_t tl = sizeof(tv);

			timeo_checked = true;
			if (!REAL(getsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) &&
			    (tv.tv_sec || tv.tv_usec)) {
				has_timeo = true;
				deadline = velo_now_ns() + tv.tv_sec * 1000000000ull + tv.tv_usec * 1000ull;
			}
		}
		if (peer_gone(vs, fd)) {
			atomic_store(&ch->end[!vs->end].closed, 1);
			continue; /* the kernel path reports it */
		}
		{
			uint32_t seq = atomic_load(&out->head_seq);
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			long r;

			atomic_fetch_add(&out->space_wait, 1);
			if (velo_ring_used(out) < out_capacity(vs)) {
				atomic_fetch_sub(&out->space_wait, 1);
				continue;
			}
			velo_stat_add(VELO_STAT_SLEEPS, 1);
			r = syscall(SYS_futex, &out->head_seq, FUTEX_WAIT, seq, &ts, NULL, 0);
			atomic_fetch_sub(&out->space_wait, 1);
			/*
			 * As tcp_sendmsg(): a signal after some data went returns
			 * the count, SA_RESTART or not (only a call that moved
			 * nothing is restarted).
			 */
			if (r < 0 && errno == EINTR && done)
				return done;
			if (r < 0 && errno == EINTR &&
			    (has_timeo || !velo_all_handlers_restart())) {
				errno = EINTR;
				return -1;
			}
			if (has_timeo && velo_now_ns() >= deadline) {
				if (done)
					return done;
				errno = EAGAIN;
				return -1;
			}
		}
	}
}

/* ------------------------------------------------------------- readiness */

uint32_t velo_loop_ring_events(struct vsock *vs)
{
	struct velo_chan_dir *in = vs_in(vs), *out = vs_out(vs);
	uint32_t ev = 0;
	int64_t u;

	if (atomic_load_explicit(&in->switched, memory_order_acquire) &&
	    atomic_load(&in->kread) >= atomic_load(&in->kbytes)) {
		u = velo_ring_used(in);
		if (u > 0 && (uint64_t)u >= atomic_load(&vs->ch->end[vs->end].rcvlowat))
			ev |= POLLIN | POLLRDNORM;
		if (u < 0)
			ev |= POLLERR;
	}
	if (atomic_load_explicit(&out->switched, memory_order_acquire) &&
	    !atomic_load(&vs->ch->end[vs->end].shut_wr)) {
		u = velo_ring_used(out);
		if (u >= 0 && u < out_capacity(vs))
			ev |= POLLOUT | POLLWRNORM;
	}
	return ev;
}

uint32_t velo_loop_kernel_events(struct vsock *vs, int fd, uint32_t kev)
{
	struct velo_chan_dir *in = vs_in(vs), *out = vs_out(vs);
	uint32_t ev = kev;
	int saved = errno;

	if ((kev & POLLIN) && !(kev & (POLLERR | POLLHUP | POLLRDHUP)) &&
	    velo_ring_used(in) == 0 && atomic_load(&in->switched) &&
	    atomic_load(&in->kread) >= atomic_load(&in->kbytes)) {
		if (!drain_doorbells(vs, fd))
			ev &= ~(POLLIN | POLLRDNORM); /* only doorbells */
	}
	if (atomic_load(&out->switched) && !atomic_load(&vs->ch->end[vs->end].shut_wr) &&
	    !(kev & (POLLHUP | POLLERR)))
		ev &= ~(POLLOUT | POLLWRNORM); /* the ring decides */
	if (kev & POLLERR) {
		int z = 0; /* a real reset: no virtual one */

		atomic_compare_exchange_strong(&vs->vreset, &z, 2);
	}
	if ((kev & POLLRDHUP) && velo_ring_used(in) == 0 && virtual_reset(vs)) {
		ev |= POLLIN | POLLRDNORM | POLLHUP | POLLOUT | POLLWRNORM;
		if (atomic_load(&vs->vreset) == 1)
			ev |= POLLERR;
	}
	errno = saved;
	return ev | velo_loop_ring_events(vs);
}

void velo_loop_arm(struct vsock *vs, bool want_out)
{
	atomic_store(&vs_in(vs)->armed, 1);
	if (want_out && atomic_load(&vs_out(vs)->switched))
		atomic_store(&vs_out(vs)->out_armed, 1); /* the consumer rings on space */
}

void velo_loop_disarm(struct vsock *vs, bool want_out)
{
	(void)vs;
	(void)want_out; /* flags: cleared by whoever rings */
}

int velo_loop_fionread(struct vsock *vs, int fd, int *out)
{
	struct velo_chan_dir *in = vs_in(vs);
	int kq = 0;
	int64_t u;

	if (REAL(ioctl)(fd, FIONREAD, &kq) < 0)
		return -1;
	if (atomic_load(&in->switched)) {
		uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);

		kq = kr >= kb ? 0 : (kb - kr < (uint64_t)kq ? (int)(kb - kr) : kq);
		u = velo_ring_used(in);
		if (u > 0)
			kq += u;
	}
	*out = kq;
	return 0;
}

/* ------------------------------------------------------------- lifecycle */

void velo_loop_shutdown_begin(struct vsock *vs, int how, uint32_t *was)
{
	/* before the FIN leaves: the peer must not take it for a close */
	*was = atomic_load(&vs->ch->end[vs->end].shut_wr);
	if (how == SHUT_WR || how == SHUT_RDWR)
		atomic_store(&vs->ch->end[vs->end].shut_wr, 1);
}

void velo_loop_shutdown_failed(struct vsock *vs, uint32_t was)
{
	atomic_store(&vs->ch->end[vs->end].shut_wr, was);
}

void velo_loop_shutdown(struct vsock *vs, int how)
{
	if (how == SHUT_WR || how == SHUT_RDWR)
		atomic_store(&vs->ch->end[vs->end].shut_wr, 1);
	if (how == SHUT_RD || how == SHUT_RDWR)
		atomic_store(&vs->ch->end[vs->end].shut_rd, 1);
}

void velo_loop_set_async(struct vsock *vs, bool on)
{
	atomic_store(&vs->ch->end[vs->end].async, on);
}

void velo_loop_set_buf(struct vsock *vs, int fd, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (REAL(getsockopt)(fd, SOL_SOCKET, name, &v, &l) < 0 || v <= 0)
		return;
	if (name == SO_SNDBUF)
		atomic_store(&vs->sndbuf, v);
	else
		atomic_store(&vs->rcvbuf, v);
	if (vs->ch) {
		struct velo_chan_end *me = &vs->ch->end[vs->end];

		if (name == SO_SNDBUF)
			atomic_store(&me->sndbuf, v);
		else
			atomic_store(&me->rcvbuf, v);
	}
}

/* How much of the ring this direction may fill: what the kernel would buffer. */
static int64_t out_capacity(struct vsock *vs)
{
	uint64_t s = atomic_load_explicit(&vs->ch->end[vs->end].sndbuf, memory_order_relaxed);
	uint64_t r = atomic_load_explicit(&vs->ch->end[!vs->end].rcvbuf, memory_order_relaxed);

	if (!s && !r)
		return VELO_CHAN_RING;
	s = s ? s : VELO_CHAN_RING;
	r = r ? r : VELO_CHAN_RING;
	return s + r < VELO_CHAN_RING ? (int64_t)(s + r) : VELO_CHAN_RING;
}

void velo_loop_set_ring_always(struct vsock *vs)
{
	if (vs->ch)
		atomic_store(&vs->ch->end[vs->end].ring_always, 1);
}

void velo_loop_set_rcvlowat(struct vsock *vs, int v)
{
	atomic_store(&vs->ch->end[vs->end].rcvlowat, v > 0 ? v : 1);
}

void velo_loop_set_nonblock(struct vsock *vs, bool nb)
{
	atomic_store(&vs->ch->end[vs->end].nonblock, nb);
}

void velo_loop_after_fork(struct vsock *vs)
{
	atomic_fetch_add(&vs->ch->end[vs->end].refs, 1);
}

/*
 * Does another fd, here or in another process, refer to fd's socket? (A
 * fork may have shared it before either side attached, so our reference
 * counts cannot tell.) Only asked when closing with unread data: it scans
 * /proc, whose other users' entries we cannot read (taken as not sharing).
 */
static bool socket_held_elsewhere(int fd)
{
	char want[64], path[600], link[64];
	struct stat sb;
	struct dirent *p, *f;
	DIR *pd, *fdd;
	pid_t me = getpid();
	bool found = false;

	if (fstat(fd, &sb) < 0)
		return false;
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)sb.st_ino);
	pd = opendir("/proc");
	if (!pd)
		return false;
	while (!found && (p = readdir(pd))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fdd = opendir(path);
		if (!fdd)
			continue;
		while ((f = readdir(fdd))) {
			ssize_t n;

			if (f->d_name[0] < '0' || f->d_name[0] > '9')
				continue;
			if (atoi(p->d_name) == me && atoi(f->d_name) == fd)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = 0;
				if (!strcmp(link, want)) {
					found = true;
					break;
				}
			}
		}
		closedir(fdd);
	}
	closedir(pd);
	return found;
}

bool velo_loop_release(struct vsock *vs, int fd, bool exec, struct velo_closing *cl, bool unmap)
{
	struct velo_chan *ch = vs->ch;
	struct velo_chan_end *me;
	bool last;

	if (!ch)
		return false;
	me = &ch->end[vs->end];
	last = atomic_fetch_sub(&me->refs, 1) == 1;
	if (exec)
		return false;
	if (last && fd >= 0) {
		int saved = errno;
		struct linger lg = { 0, 0 };
		socklen_t ll = sizeof(lg);

		if (!REAL(getsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, &ll) && lg.l_onoff) {
			struct velo_chan_dir *out = vs_out(vs);

			if (!lg.l_linger) {
				/* abortive close: what the peer has not read is lost */
				atomic_store(&me->aborted, 1);
			} else if (!atomic_load(&me->nonblock)) {
				/* lingering close: wait for the peer to take the data */
				uint64_t end = velo_now_ns() + (uint64_t)lg.l_linger * 1000000000ull;
				struct timespec ts = { 0, 1000000 };

				while (velo_ring_used(out) > 0 && velo_now_ns() < end &&
				       !peer_gone(vs, fd))
					nanosleep(&ts, NULL);
			}
		}
		drain_doorbells(vs, fd);
		if (velo_ring_used(vs_in(vs)) > 0 && !socket_held_elsewhere(fd)) {
			/* unread data: Linux answers the last close with RST */
			struct linger lg = { 1, 0 };

			REAL(setsockopt)(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		errno = saved;
	}
	if (last && !cl && !exec && atomic_load(&velo_exiting)) {
		/* exiting: the kernel closes our fds next (a fork child would hold refs) */
		atomic_store(&me->closed, 1);
		if (!atomic_load(&ch->end[!vs->end].present) || atomic_load(&ch->end[!vs->end].closed))
			unlink(vs->path);
	}
	if (last && cl) {
		cl->ch = ch;
		cl->end = vs->end;
		cl->cookie = vs->cookie;
		cl->self = vs->self_addr;
		cl->peer = vs->peer_addr;
		memcpy(cl->path, vs->path, sizeof(cl->path));
		cl->unmap = unmap;
		if (unmap)
			vs->ch = NULL;
		return true;
	}
	if (unmap && !atomic_load(&velo_exiting)) {
		munmap(ch, sizeof(*ch));
		vs->ch = NULL;
	}
	return false;
}

void velo_loop_closed(struct velo_closing *cl)
{
	struct velo_chan_end *me = &cl->ch->end[cl->end], *peer = &cl->ch->end[!cl->end];
	uint64_t cookie = 0;
	uint32_t uid;
	int state = 0, saved = errno;

	/* our socket, seen from its own side: is it still open somewhere? */
	if (diag_lookup(&cl->self, &cl->peer, &cookie, &uid, &state) < 0 || cookie != cl->cookie ||
	    (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT)) {
		atomic_store(&me->closed, 1);
		if (!atomic_load(&peer->present) || atomic_load(&peer->closed))
			unlink(cl->path);
	}
	if (cl->unmap)
		munmap(cl->ch, sizeof(*cl->ch));
	errno = saved;
}

/*
 * Remove channel files whose sockets are all gone (processes killed, or
 * exited while their peer lived on): at most `budget` files per call.
 */
void velo_loop_gc(unsigned int budget)
{
	char dir[48], path[128];
	struct dirent *de;
	DIR *d;
	int saved = errno;

	snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)geteuid());
	d = opendir(dir);
	if (!d)
		return;
	while (budget && (de = readdir(d))) {
		struct velo_chan hdr;
		struct stat sb;
		bool alive = false;
		int fd, e;

		if (de->d_name[0] == '.')
			continue;
		budget--;
		snprintf(path, sizeof(path), "%s/%.60s", dir, de->d_name);
		fd = REAL(open)(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (fstat(fd, &sb) < 0 ||
		    pread(fd, &hdr, offsetof(struct velo_chan, ring), 0) !=
			    (ssize_t)offsetof(struct velo_chan, ring)) {
			REAL(close)(fd);
			continue;
		}
		REAL(close)(fd);
		for (e = 0; e < 2 && !alive; e++) {
			struct sockaddr_storage self, peer;
			uint64_t cookie = 0, want = atomic_load(&hdr.end[e].cookie);
			uint32_t uid;
			int st;

			if (!want) {
				/* an end attaching right now, or never: young files live */
				alive = time(NULL) - sb.st_mtime < 60;
				continue;
			}
			memset(&self, 0, sizeof(self));
			memset(&peer, 0, sizeof(peer));
			memcpy(&self, hdr.addr[e], sizeof(hdr.addr[e]));
			memcpy(&peer, hdr.addr[!e], sizeof(hdr.addr[!e]));
			if (!peer.ss_family) {
				alive = time(NULL) - sb.st_mtime < 60;
				continue;
			}
			if (!diag_lookup(&self, &peer, &cookie, &uid, &st) && cookie == want)
				alive = true;
		}
		if (!alive)
			unlink(path);
	}
	closedir(d);
	errno = saved;
}
