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
 *
 * Urgent data (MSG_OOB) only exists in the kernel, so the first urgent send
 * of a direction moves it back to the kernel for good ("fallback"): under
 * the producer lock, no more ring writes or doorbells; every kernel byte
 * from kbytes to kbytes + bells is a doorbell, every later one data. The
 * consumer reads the ring until it is empty, skips those doorbells, then
 * uses the socket as a plain kernel socket (recv, MSG_OOB, SIOCATMARK,
 * FIONREAD and readiness all the kernel's). Both directions fall back
 * together: once ours carries data only, we cannot ring the peer's writers.
 * bells counts doorbells before they are sent and a failed one is sent
 * before any later data, so reads bounded by bells never take data. Reads
 * the consumer cannot bound: a read before the switch (kbytes unknown)
 * holds p1, which puts the switch off; a sleeping consumer reads one byte
 * (sleepers bounds the others), and keeps it in stash should it be data
 * that comes after ring bytes not read yet.
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

/* ------------------------------------------------------ epoll watch areas */

/* mux.c: a local change or a doorbell taken may be what a sleeping epoll needs. */
void velo_epoll_socket_kick(struct vsock *vs);

static void watch_path(char *buf, size_t len, uint64_t id)
{
	snprintf(buf, len, "/dev/shm/velo-%u/ep-%012llx", (unsigned int)geteuid(),
		 (unsigned long long)id);
}

static struct velo_watch *watch_map_file(int fd)
{
	struct stat sb;
	void *p;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size < sizeof(struct velo_watch))
		return NULL;
	p = mmap(NULL, sizeof(struct velo_watch), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A new watch area for an epoll set of this process, NULL if none can be made. */
struct velo_watch *velo_watch_create(void)
{
	char dir[48], path[96];
	struct velo_watch *w;
	uint64_t id = 0;
	int fd, saved = errno;

	snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)geteuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	while (!id) {
		if (getentropy(&id, sizeof(id)) < 0)
			goto fail;
		id &= VELO_WATCH_ID_MAX;
	}
	watch_path(path, sizeof(path), id);
	fd = REAL(open)(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	w = ftruncate(fd, sizeof(*w)) < 0 ? NULL : watch_map_file(fd);
	REAL(close)(fd);
	if (!w) {
		unlink(path);
		goto fail;
	}
	atomic_store(&w->pid, (uint32_t)getpid());
	atomic_store(&w->id, id);
	errno = saved;
	return w;
fail:
	errno = saved;
	return NULL;
}

/* The set is gone: its file goes with its creator's copy (forks share it). */
void velo_watch_remove(struct velo_watch *w)
{
	char path[96];

	if (!w)
		return;
	if (atomic_load(&w->pid) == (uint32_t)getpid()) {
		watch_path(path, sizeof(path), atomic_load(&w->id));
		atomic_store(&w->id, 0); /* gone: peers reclaim their mappings */
		unlink(path);
	}
	munmap(w, sizeof(*w));
}

/*
 * The areas this process marks, by id (open addressing). An entry in use
 * counts its users; one whose set is gone (its creator cleared the id, or
 * died) is reclaimed when the table is full and nobody uses it. w NULL: a
 * set already gone when first looked up. When nothing can be reclaimed,
 * the area is mapped for each mark.
 */
#define WATCH_MAPS 1024u
#define WATCH_TOMB UINT64_MAX /* reclaimed: lookups go on past it */

static struct {
	_Atomic uint64_t id;
	_Atomic uint32_t users;
	struct velo_watch *w;
} watch_maps[WATCH_MAPS];
static pthread_mutex_t watch_maps_mu = PTHREAD_MUTEX_INITIALIZER;

static struct velo_watch *watch_open(uint64_t id)
{
	char path[96];
	struct velo_watch *w;
	int fd;

	watch_path(path, sizeof(path), id);
	fd = REAL(open)(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	w = watch_map_file(fd);
	REAL(close)(fd);
	if (w && atomic_load(&w->id) != id) {
		munmap(w, sizeof(*w));
		w = NULL;
	}
	return w;
}

static unsigned int watch_hash(uint64_t id)
{
	return (unsigned int)((id * 0x9E3779B97F4A7C15ull) >> 54) % WATCH_MAPS;
}

/* The entry of id, -1 if none. */
static int watch_find(uint64_t id)
{
	unsigned int h = watch_hash(id), i;

	for (i = 0; i < WATCH_MAPS; i++) {
		unsigned int j = (h + i) % WATCH_MAPS;
		uint64_t v = atomic_load_explicit(&watch_maps[j].id, memory_order_acquire);

		if (v == id)
			return (int)j;
		if (!v)
			break;
	}
	return -1;
}

static bool watch_gone(uint64_t id, struct velo_watch *w)
{
	uint32_t pid;

	if (!w || atomic_load(&w->id) != id)
		return true;
	pid = atomic_load(&w->pid);
	return pid && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/*
 * Free the entries of sets that are gone and unused (watch_maps_mu held).
 * At most every 100 ms: with the table full of live sets, each mark would
 * look at every entry.
 */
static void watch_reclaim(void)
{
	static uint64_t last;
	uint64_t now = velo_now_ns();
	unsigned int j;

	if (last && now - last < 100 * 1000000ull)
		return;
	last = now;
	for (j = 0; j < WATCH_MAPS; j++) {
		uint64_t id = atomic_load(&watch_maps[j].id);

		if (!id || id == WATCH_TOMB || !watch_gone(id, watch_maps[j].w))
			continue;
		/* tomb first, then users: a user counts itself, then checks the id */
		atomic_store(&watch_maps[j].id, WATCH_TOMB);
		if (atomic_load(&watch_maps[j].users)) {
			atomic_store(&watch_maps[j].id, id);
			continue;
		}
		if (watch_maps[j].w)
			munmap(watch_maps[j].w, sizeof(struct velo_watch));
		watch_maps[j].w = NULL;
	}
}

/* A new entry for id (watch_maps_mu held), -1 if the table is full. */
static int watch_insert(uint64_t id)
{
	unsigned int h = watch_hash(id), i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < WATCH_MAPS; i++) {
			unsigned int j = (h + i) % WATCH_MAPS;
			uint64_t v = atomic_load(&watch_maps[j].id);

			if (v && v != WATCH_TOMB)
				continue;
			watch_maps[j].w = watch_open(id);
			atomic_store_explicit(&watch_maps[j].id, id, memory_order_release);
			return (int)j;
		}
		watch_reclaim();
	}
	return -1;
}

/* Mark slot in area id through its entry; false with *done false: no entry. */
static bool watch_mark_entry(uint64_t id, uint32_t slot, bool *done)
{
	int j = watch_find(id);
	bool ring = false;

	if (j < 0) {
		pthread_mutex_lock(&watch_maps_mu);
		j = watch_find(id);
		if (j < 0)
			j = watch_insert(id);
		pthread_mutex_unlock(&watch_maps_mu);
	}
	*done = false;
	if (j < 0)
		return false;
	atomic_fetch_add(&watch_maps[j].users, 1);
	if (atomic_load(&watch_maps[j].id) == id) {
		*done = true;
		ring = watch_maps[j].w && velo_watch_mark(watch_maps[j].w, slot);
	}
	atomic_fetch_sub(&watch_maps[j].users, 1);
	return ring;
}

static bool watch_mark_id(uint64_t id, uint32_t slot)
{
	struct velo_watch *w;
	int saved = errno, tries;
	bool done, ring = false;

	for (tries = 0; tries < 2; tries++) {
		ring = watch_mark_entry(id, slot, &done);
		if (done) {
			errno = saved;
			return ring;
		}
	}
	/* no entry (the table is full of live sets): map it for this mark */
	w = watch_open(id);
	ring = w && velo_watch_mark(w, slot);
	if (w)
		munmap(w, sizeof(*w));
	errno = saved;
	return ring;
}

/*
 * What end e may report changed (the caller's store is done): mark it in
 * the epoll sets watching it for that (VELO_WATCH_IN/OUT). true: one of
 * them may sleep, ring e. Only the sets that want it: a needless doorbell
 * can hold back the next one by a delayed ACK (Nagle).
 */
static bool watch_mark_end(struct velo_chan_end *e, uint32_t what)
{
	bool ring = false;
	unsigned int k;

	/* our change before our look: a set registering meanwhile looks after */
	atomic_thread_fence(memory_order_seq_cst);
	for (k = 0; k < VELO_WATCHERS; k++) {
		uint64_t v = atomic_load_explicit(&e->watch[k], memory_order_relaxed);

		if (v & what)
			ring |= watch_mark_id(v >> 24, (uint32_t)(v % VELO_WATCH_SLOTS));
	}
	return ring;
}

/* A change of our own end's readiness: nobody rings for it, wake our epolls. */
static void watch_mark_self(struct vsock *vs, uint32_t what)
{
	if (watch_mark_end(&vs->ch->end[vs->end], what))
		velo_epoll_socket_kick(vs);
}

/*
 * A reader took doorbells from the kernel socket: rung for it, or for an
 * epoll of ours sleeping on the same socket, which the kernel then finds
 * with nothing to report and leaves asleep (a doorbell wakes every sleeper
 * but is read by one). The epoll's marks are still there: kick it to look.
 */
static void bells_taken(struct vsock *vs)
{
	if (__atomic_load_n(&vs->regs, __ATOMIC_RELAXED))
		velo_epoll_socket_kick(vs);
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
 * `remote` (our peer, seen from its side). 0 with its cookie and uid, -1, or
 * -2 when no netlink socket could be made (no answer asked).
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
		return -2;
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

/*
 * Whether the kernel answers sock_diag for TCP, asked once per process with
 * a connected socket's own tuple (@self, @peer), which must be found. Where
 * it does not (tcp_diag not loadable), each lookup would run modprobe in
 * vain, and an attach tries many: no loopback acceleration then.
 */
static bool diag_works(const struct sockaddr_storage *self, const struct sockaddr_storage *peer)
{
	static _Atomic int known; /* 0: not asked yet, 1: works, -1: does not */
	uint64_t cookie;
	uint32_t uid;
	int k = atomic_load(&known), r;

	if (!k) {
		r = diag_lookup(self, peer, &cookie, &uid, NULL);
		if (r == -2)
			return false; /* out of fds: asked again next time */
		k = r ? -1 : 1;
		atomic_store(&known, k);
		if (k < 0)
			velo_dbg("sock_diag for TCP does not answer: no loopback acceleration");
	}
	return k > 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/*
 * Is @fd's socket in the process's network namespace, the one sock_diag
 * answers for? A socket a thread made in another (after setns()) is not
 * found there: its peer lookups would fail, and the first of them would
 * decide that sock_diag does not answer, for the whole process.
 */
static bool in_own_netns(int fd)
{
	static _Atomic uint64_t own; /* 0: not read yet */
	uint64_t ns = atomic_load(&own), its;
	socklen_t l = sizeof(its);

	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_NETNS_COOKIE, &its, &l) < 0)
		return true; /* before Linux 5.14: nothing to compare */
	if (!ns) {
		int u = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		l = sizeof(ns);
		if (u < 0 || REAL(getsockopt)(u, SOL_SOCKET, SO_NETNS_COOKIE, &ns, &l) < 0)
			ns = its; /* out of fds: take it as ours */
		else
			atomic_store(&own, ns);
		if (u >= 0)
			REAL(close)(u);
	}
	return its == ns;
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

#define ATTACH_WAIT_NS (10 * 1000 * 1000ull) /* for the peer's accepted socket */

void velo_loop_try_attach(struct vsock *vs, int fd)
{
	struct sockaddr_storage self, peer;
	socklen_t sl = sizeof(self), pl = sizeof(peer), cl = sizeof(uint64_t);
	int saved = errno, tries, defer = 0;
	socklen_t dl = sizeof(defer);
	uint32_t peer_uid = 0;
	struct velo_chan_end *me;
	bool found = false, wait;
	uint64_t until;
	int fl;

	if (atomic_load(&vs->state) != VELO_SS_PENDING || atomic_load(&vs->kernel_tcp) ||
	    atomic_load(&vs->ring_unfit))
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
	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_COOKIE, &vs->cookie, &cl) < 0 ||
	    !in_own_netns(fd) || !diag_works(&self, &peer))
		goto kernel;
	/*
	 * On loopback the peer's accepted socket may appear a moment later:
	 * wait for it, boundedly in time too (under load each yield may last
	 * a time slice). Not for a client with TCP_DEFER_ACCEPT, whose
	 * handshake ends with its first data or 200 ms later.
	 */
	wait = vs->accepted ||
	       REAL(getsockopt)(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, &dl) < 0 || !defer;
	until = velo_now_ns() + ATTACH_WAIT_NS;
	for (tries = 0; tries < 200; tries++) {
		int st = 0;

		/* the listener answers until the accepted socket exists */
		if (!diag_lookup(&peer, &self, &vs->peer_cookie, &peer_uid, &st) &&
		    st != TCP_LISTEN && st != TCP_SYN_RECV && st != 12 /* NEW_SYN_RECV */) {
			found = true;
			break;
		}
		if (!wait || !addr_is_local_hint(&peer, &self) || velo_now_ns() >= until)
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
	{
		int cork = 0;
		socklen_t cl = sizeof(cork);

		REAL(getsockopt)(fd, IPPROTO_TCP, TCP_CORK, &cork, &cl);
		atomic_store(&me->app_cork, cork);
	}
	atomic_store(&me->sndbuf, atomic_load(&vs->sndbuf));
	atomic_store(&me->rcvbuf, atomic_load(&vs->rcvbuf));
	atomic_store(&me->peek_off, -1); /* set before attaching, it keeps us off (ring_unfit) */
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

static void fallback_locked(struct velo_chan_dir *d);

/*
 * Move our outgoing direction to the ring (peer present). Put off while a
 * consumer is in a kernel read it could not bound (p1): it would take our
 * doorbells, and after a fallback our data, as its own. false: not switched.
 */
static bool out_switch(struct vsock *vs)
{
	struct velo_chan_dir *d = vs_out(vs);
	bool ok, switched_now = false;

	velo_shlock(&d->plock);
	if (!atomic_load(&d->switched) && !atomic_load(&d->fellback)) {
		atomic_store(&d->switching, 1); /* before p1: the mirror of the consumer's */
		if (atomic_load(&d->stay_kernel)) {
			fallback_locked(d); /* the consumer's conn_fallback */
		} else if (!atomic_load(&d->p1)) {
			atomic_store(&d->kbytes, atomic_load(&d->ksent));
			atomic_store_explicit(&d->switched, 1, memory_order_release);
			velo_stat_add(VELO_STAT_LOOP_SWITCHED, 1);
			switched_now = true;
		} else {
			atomic_store(&d->want_switch, 1);
		}
		atomic_store(&d->switching, 0);
	}
	ok = atomic_load(&d->switched);
	velo_shunlock(&d->plock);
	if (switched_now)
		watch_mark_self(vs, VELO_WATCH_OUT); /* POLLOUT comes from the ring now */
	return ok;
}

/*
 * Doorbells must not wait in our kernel socket. They flow one way, so no
 * data carries the peer's ACK back: with Nagle a doorbell waited for the
 * peer's delayed ACK of the one before (a sleeping reader woke 40 ms late,
 * over and over), and TCP_CORK held one up to 200 ms. Before the first
 * doorbell the kernel socket gets TCP_NODELAY and no cork; the app's values
 * are kept in the channel end from then on (velo_loop_setsockopt) and go back
 * to the kernel socket when the connection does (bells_slow).
 */
static void bells_fast(struct vsock *vs, int fd)
{
	struct velo_chan_end *me = &vs->ch->end[vs->end];
	int nodelay = 0, cork = atomic_load(&me->app_cork) /* kept since the attach */;
	int one = 1, zero = 0;
	socklen_t l = sizeof(int);

	if (atomic_load_explicit(&me->bells_fast, memory_order_acquire))
		return;
	REAL(getsockopt)(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &l);
	atomic_store(&me->app_nodelay, nodelay);
	atomic_store_explicit(&me->bells_fast, 1, memory_order_release);
	if (!nodelay)
		REAL(setsockopt)(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cork)
		REAL(setsockopt)(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
}

/* The kernel socket carries data again: the app's Nagle and cork are its. */
static void bells_slow(struct vsock *vs, int fd)
{
	struct velo_chan_end *me = &vs->ch->end[vs->end];
	int nodelay, cork;

	if (!atomic_exchange(&me->bells_fast, 0))
		return;
	nodelay = atomic_load(&me->app_nodelay);
	cork = atomic_load(&me->app_cork);
	if (!nodelay)
		REAL(setsockopt)(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
	if (cork)
		REAL(setsockopt)(fd, IPPROTO_TCP, TCP_CORK, &cork, sizeof(cork));
}

/*
 * One doorbell for direction d (caller holds d->plock, d switched). Counted
 * before the send: consumers bound their doorbell reads by bells. A failed
 * one is owed: sent before any data should d fall back.
 * more: MSG_MORE for one that waits with a held segment (hold_bell).
 */
static void bell_locked(struct vsock *vs, int fd, struct velo_chan_dir *d, int more)
{
	int saved = errno;
	/*
	 * A blocking reader takes the byte that woke it: a poller sleeping
	 * beside it gets one of its own (see sleep_read).
	 */
	int n = atomic_load(&d->pollers) && atomic_load(&d->sleepers) ? 2 : 1;
	ssize_t sent;

	bells_fast(vs, fd);
	atomic_fetch_add(&d->bells, n);
	sent = REAL(send)(fd, "\0", n, MSG_DONTWAIT | MSG_NOSIGNAL | more);
	if (sent < n)
		atomic_fetch_add(&d->owed, n - (sent > 0 ? sent : 0));
	velo_stat_add(VELO_STAT_DOORBELLS, n);
	errno = saved;
}

static bool pay_owed_locked(struct vsock *vs, int fd, struct velo_chan_dir *d);

/* Doorbells neither consumed nor owed (that a consumer may still wait for). */
static int64_t bells_queued(struct velo_chan_dir *in)
{
	uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);

	return (int64_t)(atomic_load(&in->bells) - atomic_load(&in->owed) - (kr - kb));
}

static void ring_doorbell(struct vsock *vs, int fd, struct velo_chan_dir *d)
{
	bool always;

	/*
	 * Our tail store (release) must be visible before we look at armed:
	 * a consumer stores armed, then loads tail. Without a full barrier
	 * the CPU may read armed first (x86 store-load reordering), both
	 * miss each other and the consumer sleeps with data in the ring.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	/* O_ASYNC peer: the kernel's SIGIO comes from the doorbell */
	always = atomic_load_explicit(&vs->ch->end[!vs->end].async, memory_order_relaxed) ||
		 atomic_load_explicit(&vs->ch->end[!vs->end].ring_always, memory_order_relaxed);
	/* the peer's epoll sets look at marked members only; a sleeping one is rung */
	always |= watch_mark_end(&vs->ch->end[!vs->end], VELO_WATCH_IN);
	/*
	 * The peer's FIN waits for our delayed ACK (CLOSE_WAIT is pingpong
	 * mode); on Linux our first data carries it and the peer reaches
	 * FIN_WAIT2 at once. Ring data does not: one doorbell does.
	 */
	always |= atomic_load_explicit(&vs->ch->end[!vs->end].shut_wr, memory_order_relaxed) &&
		  !atomic_load_explicit(&vs->ch->end[vs->end].fin_acked, memory_order_relaxed) &&
		  !atomic_exchange(&vs->ch->end[vs->end].fin_acked, 1);
	if (!always && !atomic_load_explicit(&d->armed, memory_order_seq_cst) &&
	    (!atomic_load(&d->owed) || atomic_load(&d->switched)))
		return; /* owed after a fallback: see conn_fallback, it clears armed last */
	/* under plock: a fallback either sees armed or happens before our look */
	velo_shlock(&d->plock);
	if (atomic_load(&d->switched)) {
		if (atomic_exchange(&d->armed, 0) || always)
			bell_locked(vs, fd, d, 0);
	} else if (atomic_load(&d->fellback)) {
		/* the consumer's fallback counted a doorbell for its sleepers */
		pay_owed_locked(vs, fd, d);
	}
	velo_shunlock(&d->plock);
}

/*
 * A partial segment is held (TCP_CORK or MSG_MORE, as Linux does): from the
 * first such send the bytes wait out of the consumer's sight, and a doorbell
 * waits with them in our kernel socket (MSG_MORE), which Linux's probe
 * timer sends after its 200 ms as it would the segment: a sleeping consumer
 * wakes then and finds them due. Caller holds d->plock.
 */
#define HOLD_NS (200 * 1000000ull)
#define HOLD_SEG 32768u /* a full segment goes at once, corked or not */

/* Bytes held now (0 when none, or when they are due). */
static uint64_t held_bytes(struct velo_chan_dir *d)
{
	uint64_t hold = atomic_load(&d->hold_at);

	if (!hold || velo_now_ns() >= atomic_load(&d->hold_until))
		return 0;
	return atomic_load(&d->tail) - (hold - 1);
}

static bool hold_begin_locked(struct velo_chan_dir *d)
{
	uint64_t hold = atomic_load(&d->hold_at);

	if (hold && velo_now_ns() < atomic_load(&d->hold_until))
		return false; /* held already: the first send's deadline stands */
	atomic_store(&d->hold_at, atomic_load(&d->tail) + 1);
	atomic_store(&d->hold_until, velo_now_ns() + HOLD_NS);
	return true;
}

static void hold_bell(struct vsock *vs, int fd, struct velo_chan_dir *d)
{
	velo_shlock(&d->plock);
	if (atomic_load(&d->switched)) {
		bell_locked(vs, fd, d, MSG_MORE);
		atomic_store(&d->bell_held, 1);
	}
	velo_shunlock(&d->plock);
}

/*
 * What is held goes now (uncork, a send without MSG_MORE, shutdown, close,
 * a fallback), and the doorbell waiting with it: setting TCP_NODELAY, which
 * the kernel socket has (bells_fast), pushes what it holds.
 */
static bool hold_release(struct vsock *vs, int fd, struct velo_chan_dir *d)
{
	int one = 1;

	if (!atomic_load(&d->hold_at))
		return false;
	atomic_store(&d->hold_at, 0);
	if (atomic_exchange(&d->bell_held, 0))
		REAL(setsockopt)(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ring_doorbell(vs, fd, d);
	return true;
}

/*
 * We read a held segment that came due before the doorbell waiting with it
 * reached us (the peer's kernel sends it a moment after): a close now would
 * leave that byte unread, and the kernel would answer it with RST. Wait for
 * it, boundedly, as the data itself had come.
 */
static void held_bell_wait(struct vsock *vs, int fd)
{
	struct velo_chan_dir *in = vs_in(vs);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t until = atomic_load(&in->hold_until), now = velo_now_ns();

	if (!atomic_load(&in->bell_held) || now < until || velo_ring_readable(in) != 0 ||
	    bells_queued(in) <= 0)
		return;
	if (now < until + 2 * HOLD_NS)
		REAL(poll)(&pfd, 1, (int)((until + 2 * HOLD_NS - now) / 1000000) + 1);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

#define RCVBUF_DEFAULT 131072u /* tcp_rmem[1]'s default: an idle reader's buffer */

/*
 * How much of the ring the writer at @end may fill: about what the kernel
 * would buffer, the sender's whole SO_SNDBUF and the receive window of half
 * the peer's SO_RCVBUF (RCVBUF_DEFAULT unless set). An autotuned sender (up
 * to 4 MiB) fills the ring.
 */
/* What the reader opposite the writer at @end would take: half its buffer. */
static uint64_t reader_window(struct velo_chan *ch, int end)
{
	uint64_t r = atomic_load_explicit(&ch->end[!end].rcvbuf, memory_order_relaxed);

	return (r ? r : RCVBUF_DEFAULT) / 2;
}

static int64_t ring_capacity(struct velo_chan *ch, int end)
{
	uint64_t s = atomic_load_explicit(&ch->end[end].sndbuf, memory_order_relaxed);

	if (!s)
		return VELO_CHAN_RING;
	s += reader_window(ch, end);
	return s < VELO_CHAN_RING ? (int64_t)s : VELO_CHAN_RING;
}

static int64_t out_capacity(struct vsock *vs)
{
	return ring_capacity(vs->ch, vs->end);
}

/*
 * POLLOUT for the writer at @end, as sk_stream_is_writeable(): a third of
 * its send buffer free (a quarter of the ring when autotuned: Linux, measured
 * on lo, after a quarter of a 3.9 MB fill was read). A write takes any room;
 * reporting less would wake writers for a few bytes at a time.
 */
static bool ring_writable(struct velo_chan *ch, int end, int64_t used)
{
	uint64_t s = atomic_load_explicit(&ch->end[end].sndbuf, memory_order_relaxed);
	int64_t cap = ring_capacity(ch, end);
	int64_t want = s ? (int64_t)(s < (uint64_t)cap ? s : (uint64_t)cap) / 3 : cap / 4;

	return used >= 0 && used < cap && cap - used >= want;
}

#define DRS_RTT_NS 30000u   /* a loopback RTT as Linux's receiver measures it */
#define LO_ADVMSS 65483u    /* lo's MSS with timestamps */

/* tcp_rmem[2]: how far Linux's receive autotuning may grow a buffer */
static int rmem_max(void)
{
	static _Atomic int cached;
	int v = atomic_load_explicit(&cached, memory_order_relaxed);
	FILE *f;

	if (v)
		return v;
	v = 6291456; /* the kernel's default */
	f = fopen("/proc/sys/net/ipv4/tcp_rmem", "re");
	if (f) {
		int lo, def, max;

		if (fscanf(f, "%d %d %d", &lo, &def, &max) == 3 && max > 0)
			v = max;
		fclose(f);
	}
	atomic_store_explicit(&cached, v, memory_order_relaxed);
	return v;
}

/*
 * The reader took @n ring bytes: grow what SO_RCVBUF reads as Linux's
 * dynamic right-sizing (tcp_rcv_space_adjust()) would from what the
 * application copies per RTT, so that a program sees its buffer grow with
 * a bulk transfer. The ring itself is not resized.
 */
static void loop_drs(struct vsock *vs, size_t n)
{
	uint64_t now, copied, win, cur;

	if (!vs->drs_space)
		vs->drs_space = LO_ADVMSS; /* min(rcv_wnd, 10 segments) */
	vs->drs_read += n;
	/* no clock read while no growth can come of it */
	if (vs->drs_read - vs->drs_seq <= vs->drs_space)
		return;
	now = velo_now_ns();
	if (!vs->drs_ns) { /* the first measure starts now */
		vs->drs_ns = now;
		vs->drs_seq = vs->drs_read;
		return;
	}
	if (now - vs->drs_ns < DRS_RTT_NS)
		return;
	/* per RTT, however long it took */
	copied = (vs->drs_read - vs->drs_seq) * DRS_RTT_NS / (now - vs->drs_ns);
	/* no more than the window would have let through (a ring holds more) */
	cur = (uint64_t)atomic_load_explicit(&vs->drs_rcvbuf, memory_order_relaxed);
	if (!cur)
		cur = RCVBUF_DEFAULT;
	if (copied > cur)
		copied = cur;
	if (copied > vs->drs_space) {
		/* two RTTs' worth and 16 segments, more while the rate grows */
		win = 2 * copied + 16ull * LO_ADVMSS;
		win += 2 * (win * (copied - vs->drs_space) / vs->drs_space);
		if (win > (uint64_t)rmem_max())
			win = (uint64_t)rmem_max();
		if (win > cur)
			atomic_store_explicit(&vs->drs_rcvbuf, (int)win, memory_order_relaxed);
		vs->drs_space = (uint32_t)copied;
	}
	vs->drs_seq = vs->drs_read;
	vs->drs_ns = now;
}

/* Consumer freed ring space: wake blocked producers and pollers. */
static void space_freed(struct vsock *vs, int fd, struct velo_chan_dir *in)
{
	int64_t used;

	/* head before space_wait/out_armed: the mirror of ring_doorbell's fence */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&in->space_wait)) {
		atomic_fetch_add(&in->head_seq, 1);
		futex_wake(&in->head_seq);
	}
	/* a poller is told only once there is a third to write (ring_writable()) */
	used = velo_ring_used(in);
	if (used >= 0 && !ring_writable(vs->ch, !vs->end, used))
		return;
	/* the producer's epoll sets see the space; a sleeping one is rung as out_armed */
	if (watch_mark_end(&vs->ch->end[!vs->end], VELO_WATCH_OUT) |
	    (atomic_load(&in->out_armed) && atomic_exchange(&in->out_armed, 0))) {
		/* the producer sleeps in poll/epoll on its socket: ring it */
		struct velo_chan_dir *out = vs_out(vs);

		/*
		 * Put off while the peer is in a read it cannot bound (begun
		 * before we attached): nothing can ring it then.
		 */
		if (!atomic_load(&out->switched) && !atomic_load(&out->fellback) && peer_present(vs))
			out_switch(vs);
		velo_shlock(&out->plock);
		if (atomic_load(&out->switched)) /* fallen back: not a doorbell any more */
			bell_locked(vs, fd, out, 0);
		velo_shunlock(&out->plock);
	}
}

/*
 * After a fallback: the doorbells whose send failed, or that the consumer
 * counted for the producer (in_fallback), go before any data. Caller holds
 * d->plock. false with errno when they cannot go now.
 */
static bool pay_owed_locked(struct vsock *vs, int fd, struct velo_chan_dir *d)
{
	static const char zero[64];

	if (atomic_load(&vs->ch->end[!vs->end].closed))
		return true; /* nobody counts them: a byte would only provoke the RST */
	while (atomic_load(&d->owed)) {
		uint64_t o = atomic_load(&d->owed);
		ssize_t n = REAL(send)(fd, zero, o < sizeof(zero) ? o : sizeof(zero),
				       MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			atomic_fetch_sub(&d->owed, n);
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return false;
		else if (errno != EINTR)
			break; /* the connection is dead: the data send reports it */
	}
	return true;
}

/* Never blocks under plock: a peer's conn_fallback may wait for it. */
static bool pay_owed(struct vsock *vs, int fd, bool nb)
{
	struct velo_chan_dir *d = vs_out(vs);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		bool ok;

		if (!atomic_load(&d->owed))
			return true;
		velo_shlock(&d->plock);
		ok = pay_owed_locked(vs, fd, d);
		velo_shunlock(&d->plock);
		if (ok)
			return true;
		if (nb)
			return false; /* EAGAIN */
		if (REAL(poll)(&pfd, 1, -1) < 0 && !velo_all_handlers_restart()) {
			errno = EINTR;
			return false;
		}
	}
}

/*
 * Direction d goes back to the kernel for good; caller holds d->plock. Its
 * consumer takes kbytes + bells kernel bytes as what came before (data up
 * to kbytes, then doorbells), every later one as data.
 */
static void fallback_locked(struct velo_chan_dir *d)
{
	if (!atomic_load(&d->switched))
		atomic_store(&d->kbytes, atomic_load(&d->ksent));
	atomic_store_explicit(&d->fellback, 1, memory_order_release);
	/* after fellback: a consumer seeing switched 0 then sees fellback */
	atomic_store_explicit(&d->switched, 0, memory_order_release);
}

/* Why a connection leaves its rings: what may wake the peer's sleepers then. */
enum fallback_why {
	FALLBACK_PEER_GONE,	/* nothing: a byte would provoke the peer's RST */
	FALLBACK_OPTION,	/* a doorbell */
	FALLBACK_URGENT,	/* the urgent byte sent next, one segment as on Linux */
};

/*
 * Urgent data, an option the rings lack, or the peer gone: the whole
 * connection goes back to the kernel for good. Both directions: once ours
 * carries data only, we cannot ring the peer for ring space any more, so
 * its writers must see the kernel's POLLOUT. Sleepers are woken a last
 * time, nothing else may wake them for ring data they have not seen: ours
 * now; the peer's consumers are owed one by the producer of that
 * direction, paid at its next look (ring_doorbell) or send.
 */
static void conn_fallback(struct vsock *vs, int fd, enum fallback_why why)
{
	struct velo_chan_dir *out = vs_out(vs), *in = vs_in(vs);
	bool urgent = why != FALLBACK_PEER_GONE;
	int i;

	/* a writer of the peer waits for ring space: switch to ring it, if we can */
	for (i = 0; urgent && i < 100 && atomic_load(&in->out_armed) && peer_present(vs) &&
		    !atomic_load(&out->switched) && !atomic_load(&out->fellback) && !out_switch(vs);
	     i++)
		sched_yield(); /* a read of the peer holds the switch off a moment */
	hold_release(vs, fd, out); /* the ring's data comes before the kernel's */
	velo_shlock(&out->plock);
	if (!atomic_load(&out->fellback)) {
		/* both exchanges: each flag is a sleeper to wake */
		bool wake = atomic_load(&out->switched) &&
			    (atomic_exchange(&out->armed, 0) | atomic_exchange(&in->out_armed, 0));

		if (wake && why == FALLBACK_OPTION)
			bell_locked(vs, fd, out, 0);
		fallback_locked(out);
	}
	velo_shunlock(&out->plock);
	watch_mark_self(vs, VELO_WATCH_OUT); /* POLLOUT comes from the kernel now */
	bells_slow(vs, fd); /* our data goes through the kernel socket from now on */
	/*
	 * Not switched yet: its producer may sleep in a kernel send under
	 * plock (until we read); it falls back itself instead of switching.
	 */
	atomic_store(&in->stay_kernel, 1);
	while (atomic_load(&in->switching))
		sched_yield(); /* the producer decides under its lock */
	if (!atomic_load(&in->switched))
		return; /* never switched, or fell back already */
	velo_shlock(&in->plock);
	if (!atomic_load(&in->fellback)) {
		bool owe = atomic_load(&in->switched) && atomic_load(&in->armed);

		if (owe) {
			atomic_fetch_add(&in->bells, 1); /* before fellback: bells is final then */
			atomic_fetch_add(&in->owed, 1);
		}
		fallback_locked(in);
		if (owe) /* last: a producer that finds armed 0 sees owed and switched 0 */
			atomic_store(&in->armed, 0);
	}
	velo_shunlock(&in->plock);
}

/*
 * An option only the kernel's TCP has (velo_wire_kernel_option), or one the
 * rings do not keep (velo_loop_unfit_option): the connection goes back to
 * the kernel for good, as for urgent data.
 */
void velo_loop_to_kernel(struct vsock *vs, int fd)
{
	if (atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch) {
		velo_dbg("fd %d: back to the kernel's TCP (an option the rings lack)", fd);
		conn_fallback(vs, fd, FALLBACK_OPTION);
	}
}

/*
 * TCP_NOTSENT_LOWAT counts bytes the peer's window has not taken: a ring
 * has no such bytes, so a writer would never see the mark. A ring moves a
 * write at once, where SO_MAX_PACING_RATE paces the kernel's TCP from then
 * on (any value but ~0U, or ~0UL as 8 bytes, turns its pacing on for good).
 */
bool velo_loop_unfit_option(int level, int name, const void *v, socklen_t l)
{
	if (l < sizeof(int) || velo_bad_range(v, l < sizeof(uint64_t) ? sizeof(int) : sizeof(uint64_t)))
		return false;
	if (level == SOL_SOCKET && name == SO_MAX_PACING_RATE)
		return l < sizeof(uint64_t) ? *(const uint32_t *)v != ~0u :
					      *(const uint64_t *)v != ~0ull;
	return level == IPPROTO_TCP && name == TCP_NOTSENT_LOWAT && *(const int *)v != 0;
}

/*
 * connect(AF_UNSPEC) disconnected the kernel socket (a reset to the peer):
 * the channel is not this socket's any more. What the ring held unread is
 * dropped, as tcp_disconnect() purges the receive queue, and the socket is
 * the kernel's from now on (a connection it makes next is not accelerated).
 * The mapping stays until the socket is freed: a call of another thread
 * may still be in it.
 */
void velo_loop_disconnected(struct vsock *vs, int fd)
{
	struct velo_chan_end *me, *peer;

	if (atomic_load(&vs->state) != VELO_SS_LOOP || !vs->ch ||
	    atomic_exchange(&vs->released, true))
		return;
	bells_slow(vs, fd);
	me = &vs->ch->end[vs->end];
	peer = &vs->ch->end[!vs->end];
	velo_loop_release(vs, -1, false, NULL, false);
	if (!atomic_load(&me->refs)) {
		atomic_store(&me->closed, 1);
		if (atomic_load(&peer->closed))
			unlink(vs->path);
	}
	atomic_store(&vs->state, VELO_SS_KERNEL);
	velo_epoll_socket_detached(vs);
}

static bool peer_gone(struct vsock *vs, int fd);

/* --------------------------------------------------------------- helpers */

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

/* The first n bytes at src into iov (which holds at least n). */
static void iov_fill(const struct iovec *iov, int iovcnt, const char *src, size_t n)
{
	for (int i = 0; i < iovcnt && n; i++) {
		size_t l = iov[i].iov_len < n ? iov[i].iov_len : n;

		memcpy(iov[i].iov_base, src, l);
		src += l;
		n -= l;
	}
}

static ssize_t kern_recv(int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };

	return REAL(recvmsg)(fd, &m, flags);
}

static ssize_t kern_send(struct vsock *vs, int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t r = REAL(sendmsg)(fd, &m, flags);

	if (r < 0 && errno == ECONNRESET)
		atomic_store(&vs->vreset, 2); /* the real reset, reported: no virtual one */
	return r;
}

/* Has the producer switched (or fallen back since)? Then kbytes is final. */
static bool in_ringed(struct velo_chan_dir *in)
{
	/* switched first: fallback sets fellback before it clears switched */
	return atomic_load_explicit(&in->switched, memory_order_acquire) ||
	       atomic_load_explicit(&in->fellback, memory_order_acquire);
}

/*
 * Discard doorbells (kernel bytes from kbytes to kbytes + bells), never
 * more: after a fallback, data follows them. look: when none is due, look
 * for what else the kernel has. 0: none left (or data next), 1: kernel
 * EOF, 2: kernel error (in errno, consumed from the socket).
 */
static int drain_doorbells(struct vsock *vs, int fd, bool look)
{
	struct velo_chan_dir *in = vs_in(vs);
	char scratch[256];

	for (;;) {
		uint64_t kb, kr, bells, end;
		size_t want = 0;
		ssize_t n;

		if (!in_ringed(in))
			return 0;
		kb = atomic_load(&in->kbytes);
		bells = atomic_load(&in->bells);
		kr = atomic_load(&in->kread);
		/* a sleeper may take one of them (sleep_read) */
		end = kb + bells - atomic_load(&in->sleepers);
		if (kr >= kb && kr < end && end <= kb + bells) {
			/*
			 * Locked only to consume (the producer reads this cache
			 * line): kread stays exact with several readers.
			 */
			velo_shlock(&in->clock);
			kr = atomic_load(&in->kread);
			end = kb + bells - atomic_load(&in->sleepers);
			if (kr < end && end <= kb + bells) {
				want = end - kr < sizeof(scratch) ? end - kr : sizeof(scratch);
				n = REAL(recv)(fd, scratch, want, MSG_DONTWAIT);
				if (n > 0)
					atomic_fetch_add(&in->kread, n);
			}
			velo_shunlock(&in->clock);
			if (!want)
				continue;
		}
		if (kr < kb)
			return 0; /* real data first: not ours to drain */
		if (!want) {
			if (!look)
				return 0;
			/* no doorbell due: only look (EOF, error, data after a fallback) */
			n = REAL(recv)(fd, scratch, 1, MSG_DONTWAIT | MSG_PEEK);
			if (n > 0) {
				if (atomic_load(&in->bells) != bells)
					continue; /* a doorbell rung meanwhile */
				return 0;
			}
		}
		if (n > 0) {
			if ((size_t)n < want)
				return 0; /* the kernel has no more */
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
		if (!in_ringed(in) || atomic_load(&in->kread) < atomic_load(&in->kbytes) ||
		    bells_queued(in) <= 0 || velo_ring_readable(in) != 0)
			break;
		if (drain_doorbells(vs, fd, false))
			break;
		if (i > 8)
			sched_yield(); /* the producer is between its decision and send() */
	}
	errno = saved;
}

/*
 * As velo_loop_to_kernel, for a socket whose next reads may bypass libvelo
 * (velo_accel_end): the doorbells due are taken now, so the kernel socket
 * holds only data. What the ring still holds stays readable through
 * libvelo's calls only.
 */
void velo_loop_to_kernel_settled(struct vsock *vs, int fd)
{
	velo_loop_to_kernel(vs, fd);
	if (atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch)
		settle_doorbells(vs, fd);
}

/*
 * The kernel socket @fd reads EOF (or polls POLLRDHUP): the peer's FIN,
 * unless our own shutdown(SHUT_RD) did it (RCV_SHUTDOWN reads the same);
 * then the TCP state tells whether the FIN came too.
 */
static bool peer_fin(struct vsock *vs, int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (!atomic_load(&vs->ch->end[vs->end].shut_rd) ||
	    REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return true;
	return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_LAST_ACK ||
	       ti.tcpi_state == TCP_CLOSING || ti.tcpi_state == TCP_TIME_WAIT ||
	       ti.tcpi_state == TCP_CLOSE;
}

/*
 * The peer's socket closed (its FIN is here, @fd reads EOF) without
 * shutdown(SHUT_WR) first, and data we sent it is still unread in the
 * ring: on the kernel its close (or death) would have answered with RST.
 * Seen from here, that is a reset.
 */
static bool virtual_reset(struct vsock *vs, int fd)
{
	struct velo_chan_dir *out = vs_out(vs);

	if (atomic_load(&vs->vreset))
		return true;
	if (atomic_load(&out->switched) && !atomic_load(&vs->ch->end[!vs->end].shut_wr) &&
	    velo_ring_used(out) > 0 && peer_fin(vs, fd)) {
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
		if (velo_ring_readable(in) != 0) {
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

/* drain_doorbells and settle_doorbells for a reader (see bells_taken). */
static int reader_drain(struct vsock *vs, int fd, bool look)
{
	uint64_t kr = atomic_load(&vs_in(vs)->kread);
	int r = drain_doorbells(vs, fd, look);

	if (atomic_load(&vs_in(vs)->kread) != kr)
		bells_taken(vs);
	return r;
}

static void reader_settle(struct vsock *vs, int fd)
{
	uint64_t kr = atomic_load(&vs_in(vs)->kread);

	settle_doorbells(vs, fd);
	if (atomic_load(&vs_in(vs)->kread) != kr)
		bells_taken(vs);
}

/* ------------------------------------------------------------------ recv */

enum { IN_KERNEL, IN_PRE, IN_RING, IN_PLAIN };

/*
 * Where our next incoming byte comes from: the kernel before any switch
 * (IN_KERNEL), the kernel up to kbytes (IN_PRE), the ring, or, after a
 * fallback once the ring and the doorbells are consumed, the kernel as a
 * plain socket (IN_PLAIN). Plain loads only.
 */
static int in_phase(struct velo_chan_dir *in)
{
	bool fb;
	uint64_t kb, kr;

	if (!in_ringed(in))
		return IN_KERNEL;
	fb = atomic_load_explicit(&in->fellback, memory_order_acquire);
	kb = atomic_load(&in->kbytes);
	kr = atomic_load(&in->kread);
	if (kr < kb)
		return IN_PRE;
	/* fellback: the ring tail and bells are final */
	if (fb && velo_ring_readable(in) == 0 && kr >= kb + atomic_load(&in->bells) &&
	    !atomic_load(&in->stash))
		return IN_PLAIN;
	return IN_RING;
}

/* After a fallback, once what the ring held is read: the kernel's alone. */
bool velo_loop_in_plain(struct vsock *vs)
{
	return atomic_load(&vs->state) == VELO_SS_LOOP && vs->ch && in_phase(vs_in(vs)) == IN_PLAIN;
}


/*
 * A count this thread holds across a blocking read (p1 or sleepers): a
 * signal handler that siglongjmps out of the read leaves it held; the
 * thread's next read on the socket gives it back (a thread blocks in one
 * call at a time).
 */
static __thread struct vsock *held_vs;
static __thread _Atomic uint32_t *held_cnt;

static void hold(struct vsock *vs, _Atomic uint32_t *cnt)
{
	velo_thread_sleeps();
	atomic_fetch_add(cnt, 1);
	held_vs = vs;
	held_cnt = cnt;
}

static void unhold(void)
{
	atomic_fetch_sub(held_cnt, 1);
	held_vs = NULL;
	held_cnt = NULL;
}

/* Off the fast path: before the counts are looked at or held again. */
static void unhold_stale(struct vsock *vs)
{
	if (held_vs == vs)
		unhold(); /* left by a siglongjmp out of our last read */
}

void velo_loop_thread_exit(void)
{
	if (held_cnt)
		unhold();
}

/*
 * The byte a sleeper took from the kernel past a fallback's doorbells while
 * ring data was still unread: it follows the ring. Caller holds clock.
 */
static ssize_t stash_read(struct velo_chan_dir *in, const struct iovec *iov, int iovcnt,
			  size_t done, int flags)
{
	struct iovec one;
	uint32_t v = (flags & MSG_PEEK) ? atomic_load(&in->stash) : atomic_exchange(&in->stash, 0);

	if (!v)
		return 0;
	if (!(flags & MSG_TRUNC) && iov_slice(iov, iovcnt, done, 1, &one) == 1)
		*(uint8_t *)one.iov_base = (uint8_t)v;
	return 1;
}

/*
 * Sleep in the kernel in a read of one byte: wakes on doorbell, data, FIN,
 * RST, signal, and consumes what woke it inside the call (a doorbell left
 * for later would turn a close by another thread meanwhile into a RST).
 * The byte is a doorbell, or data: delivered at *dst (1) when it is the
 * next byte of the stream, else kept in stash (0). -1: errno, 0 EOF: n.
 */
static ssize_t sleep_read(struct vsock *vs, int fd, char *dst, bool *got)
{
	struct velo_chan_dir *in = vs_in(vs);
	uint64_t old, kb;
	ssize_t n;
	char c;

	*got = false;
	/* under clock: a bounded read either counts us or is over before we read */
	velo_shlock(&in->clock);
	hold(vs, &in->sleepers);
	velo_shunlock(&in->clock);
	if (atomic_load(&in->pollers)) {
		/*
		 * A poller sleeps on the socket too: the doorbell is its as
		 * well, only look (a poller counted after us finds the data, or
		 * the producer sees both of us and rings twice).
		 */
		unhold();
		return REAL(recv)(fd, &c, 1, MSG_PEEK);
	}
	n = REAL(recv)(fd, &c, 1, 0);
	if (n == 1)
		old = atomic_fetch_add(&in->kread, 1);
	unhold();
	if (n != 1)
		return n;
	/* what woke us may have been rung for an epoll too: it did not see it */
	bells_taken(vs);
	if (in_ringed(in) && old + 1 == atomic_load(&in->kbytes))
		watch_mark_self(vs, VELO_WATCH_IN); /* the last byte before the ring's */
	/* classify it: in_ringed first, kbytes and bells are final for it then */
	if (!in_ringed(in) || old < (kb = atomic_load(&in->kbytes))) {
		*dst = c; /* before the switch: data, the next byte */
		*got = true;
	} else if (old >= kb + atomic_load(&in->bells)) {
		/* after a fallback's doorbells: data, after what the ring holds */
		velo_shlock(&in->clock);
		if (velo_ring_readable(in) == 0 && !atomic_load(&in->stash)) {
			*dst = c;
			*got = true;
		} else {
			atomic_store(&in->stash, 0x100u | (uint8_t)c);
		}
		velo_shunlock(&in->clock);
		if (!*got)
			watch_mark_self(vs, VELO_WATCH_IN); /* a byte our epolls did not see come */
	}
	return 1;
}

/* SO_RCVTIMEO as an absolute deadline (0: none). */
static uint64_t rcv_deadline(int fd)
{
	struct timeval tv = { 0, 0 };
	socklen_t tl = sizeof(tv);

	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) < 0 ||
	    (!tv.tv_sec && !tv.tv_usec))
		return 0;
	return velo_now_ns() + tv.tv_sec * 1000000000ull + tv.tv_usec * 1000ull;
}

/*
 * The kernel's error @err, consumed from the socket while data came first:
 * the next call reports it (pend_err, read as Linux's sk_err), and it is
 * a real reset, so no virtual one follows.
 */
static void keep_error(struct vsock *vs, int err)
{
	atomic_store(&vs->vreset, 2);
	atomic_store(&vs->pend_err, err);
}

/* The error keep_error() kept, reported and cleared as sock_error(): errno. */
static bool take_error(struct vsock *vs)
{
	int e;

	if (!atomic_load_explicit(&vs->pend_err, memory_order_relaxed))
		return false;
	e = atomic_exchange(&vs->pend_err, 0);
	if (!e)
		return false;
	errno = e;
	return true;
}

/*
 * The direction is a plain kernel socket now. done > 0: this call took ring
 * data already, and Linux would go on in the same call up to target,
 * waiting as recv does, but never past the urgent mark.
 */
static ssize_t plain_recv(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt,
			  int flags, size_t done, size_t len, size_t target, bool nb)
{
	struct velo_chan_dir *in = vs_in(vs);
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	uint64_t deadline = UINT64_MAX;
	ssize_t n;

	if (!done) {
		if (take_error(vs))
			return -1;
		n = kern_recv(fd, (struct iovec *)iov, iovcnt, flags);
		if (n > 0 && !(flags & MSG_PEEK))
			atomic_fetch_add(&in->kread, n);
		return n;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLPRI | POLLRDHUP };
		int mark = 0, ms = -1;

		if (!REAL(ioctl)(fd, SIOCATMARK, &mark) && mark)
			return done;
		n = kern_recv(fd, sub, iov_slice(iov, iovcnt, done, len - done, sub),
			      (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
		if (n > 0) {
			atomic_fetch_add(&in->kread, n);
			done += n;
			if (done >= target)
				return done;
			continue;
		}
		if (n == 0)
			return done;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno != EINTR)
				keep_error(vs, errno);
			return done;
		}
		if (nb || done >= target)
			return done;
		if (deadline == UINT64_MAX)
			deadline = rcv_deadline(fd);
		if (deadline) {
			uint64_t now = velo_now_ns();

			if (now >= deadline)
				return done;
			ms = (int)((deadline - now + 999999) / 1000000);
		}
		/* a signal or SO_RCVTIMEO ends it with what we have, as in tcp_recvmsg */
		if (REAL(poll)(&pfd, 1, ms) <= 0)
			return done;
	}
}

/*
 * A peek that took all the ring held after a fallback: the kernel's queue
 * goes on past the doorbells (meaningless now: taken here), up to the
 * urgent mark. Returns what it added at done.
 */
static size_t peek_past_ring(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt,
			     int flags, size_t done, size_t len)
{
	struct velo_chan_dir *in = vs_in(vs);
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	int mark = 0, saved = errno;
	ssize_t n;

	reader_drain(vs, fd, false);
	errno = saved;
	if (atomic_load(&in->kread) < atomic_load(&in->kbytes) + atomic_load(&in->bells) ||
	    atomic_load(&in->stash) || (!REAL(ioctl)(fd, SIOCATMARK, &mark) && mark))
		return 0;
	n = kern_recv(fd, sub, iov_slice(iov, iovcnt, done, len - done, sub),
		      (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		keep_error(vs, errno); /* the peeked data first */
	errno = saved;
	return n > 0 ? (size_t)n : 0;
}

static ssize_t loop_recv(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct velo_chan *ch = vs->ch;
	struct velo_chan_dir *in = vs_in(vs);
	bool peek = flags & MSG_PEEK;
	bool waitall = (flags & MSG_WAITALL) && !peek;
	/*
	 * After shutdown(SHUT_RD) what is queued, and what still comes, is
	 * read as before; only an empty queue reads 0 at once (tcp_recvmsg).
	 */
	bool shut_rd = atomic_load(&ch->end[vs->end].shut_rd);
	bool nb = (flags & MSG_DONTWAIT) || shut_rd ||
		  atomic_load_explicit(&ch->end[vs->end].nonblock, memory_order_relaxed);
	size_t len = velo_iov_len(iov, iovcnt), done = 0;
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	int kflags = flags & ~MSG_WAITALL;
	/*
	 * This call took the last byte sent before the switch: Linux's queue
	 * goes on with what came later, in the ring, and the call takes that
	 * too (a peek reads it next: the kernel's count does not move).
	 */
	bool pre_last = false;
	size_t target;

	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return kern_recv(fd, (struct iovec *)iov, iovcnt, flags);
	if (!len) {
		/* Linux waits for data, then copies nothing; an urgent byte next is data here */
		char c;
		struct iovec one = { &c, 1 };
		int mark = 0;
		ssize_t r;

		if (!velo_loop_atmark(vs, fd, &mark) && mark)
			return 0;
		r = loop_recv(vs, fd, &one, 1, (flags & ~(MSG_WAITALL | MSG_TRUNC)) | MSG_PEEK);
		return r < 0 ? -1 : 0;
	}
	target = waitall ? len : atomic_load(&ch->end[vs->end].rcvlowat);
	if (target < 1 || peek)
		target = 1;
	if (target > len)
		target = len;
	for (;;) {
		int ph = pre_last ? IN_RING : in_phase(in);
		bool block = false;
		ssize_t n = 0;

		if (ph == IN_PLAIN)
			return plain_recv(vs, fd, iov, iovcnt, flags, done, len, target, nb);
		if (ph != IN_RING)
			unhold_stale(vs);
		if (ph == IN_KERNEL) {
			/*
			 * Before the switch every kernel byte is data. Block in
			 * the read (holding the switch off) only while the
			 * producer is not attached: it may be no velo process.
			 */
			block = !nb && !done && !atomic_load(&in->want_switch) &&
				!atomic_load(&ch->end[!vs->end].present);
			/* no switch while we read what we cannot bound (see out_switch) */
			hold(vs, &in->p1);
			if (atomic_load(&in->switching) || atomic_load(&in->switched)) {
				unhold();
				while (atomic_load(&in->switching))
					sched_yield(); /* the producer decides under its lock */
				continue;
			}
			n = kern_recv(fd, sub, iov_slice(iov, iovcnt, done, len - done, sub),
				      kflags | (block ? 0 : MSG_DONTWAIT));
			if (n > 0 && !peek)
				atomic_fetch_add(&in->kread, n);
			unhold();
		} else if (ph == IN_PRE) {
			/* bytes sent before the producer switched: exactly kbytes */
			uint64_t kb = atomic_load(&in->kbytes), kr;
			bool pre_done = false;
			uint64_t sl;

			velo_shlock(&in->clock);
			kr = atomic_load(&in->kread);
			sl = atomic_load(&in->sleepers); /* each may take one of them */
			if (kr >= kb) {
				velo_shunlock(&in->clock);
				continue;
			}
			if (sl >= kb - kr) {
				n = -1;
				errno = EAGAIN;
			} else {
				n = kern_recv(fd, sub, iov_slice(iov, iovcnt, done,
								 len - done < kb - kr - sl ?
								 len - done : kb - kr - sl, sub),
					      kflags | MSG_DONTWAIT);
				pre_last = n > 0 && !sl && kr + n >= kb;
				if (n > 0 && !peek && atomic_fetch_add(&in->kread, n) + n >= kb)
					pre_done = true;
			}
			velo_shunlock(&in->clock);
			if (pre_done)
				watch_mark_self(vs, VELO_WATCH_IN); /* the ring's data is next */
		}
		if (ph == IN_KERNEL || ph == IN_PRE) {
			if (n > 0) {
				velo_stat_add(VELO_STAT_RX_KERNEL_BYTES, n);
				slot_add(vs, 3, n);
				done += n;
				if (done >= target && !pre_last)
					return done;
				continue;
			}
			if (n == 0) {
				if (!done && !peek && virtual_reset(vs, fd)) {
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
				atomic_store(&vs->vreset, 2); /* a real reset: no virtual one */
				return done ? (ssize_t)done : -1;
			}
			if (nb || block)
				return done ? (ssize_t)done : -1; /* EAGAIN: O_NONBLOCK or SO_RCVTIMEO */
			goto wait;
		}
		/* ring phase */
		if (atomic_load(&ch->end[!vs->end].aborted) && velo_ring_readable(in) > 0) {
			/*
			 * The peer reset: what had "arrived" (up to our receive
			 * buffer) is still read, the rest was in its send buffer
			 * and is lost, as with the kernel.
			 */
			uint64_t h = atomic_load(&in->head);
			int64_t u = velo_ring_readable(in);

			if (!vs->abort_limit) {
				uint64_t keep = atomic_load(&ch->end[vs->end].rcvbuf);

				keep = keep ? keep : 65536;
				vs->abort_limit = h + ((uint64_t)u < keep ? (uint64_t)u : keep);
			}
			if (h >= vs->abort_limit) {
				velo_shlock(&in->clock);
				velo_ring_skip(in, VELO_CHAN_RING);
				velo_shunlock(&in->clock);
			} else if (h + (uint64_t)u > vs->abort_limit &&
				   len - done > vs->abort_limit - h) {
				/* the ring is cut; what it holds whole is followed by the kernel's */
				len = done + (vs->abort_limit - h);
			}
		}
		if (!(flags & MSG_TRUNC) && velo_ring_readable(in) > 0) {
			/* only what this copy reaches (what is queued) may fault */
			int64_t reach = velo_ring_readable(in);
			int k, j;

			if (reach > (int64_t)(len - done))
				reach = (int64_t)(len - done);
			k = iov_slice(iov, iovcnt, done, (size_t)reach, sub);

			for (j = 0; j < k; j++)
				if (velo_bad_wrange(sub[j].iov_base, sub[j].iov_len)) {
					if (done)
						return done;
					errno = EFAULT;
					return -1;
				}
		}
		velo_shlock(&in->clock);
		if (flags & MSG_TRUNC)
			n = peek ? velo_ring_readable(in) : velo_ring_skip(in, len - done);
		else
			n = velo_ring_read(in, ch->ring[!vs->end], sub,
					   iov_slice(iov, iovcnt, done, len - done, sub), len - done, peek);
		if (!n && atomic_load(&in->stash))
			n = stash_read(in, iov, iovcnt, done, flags);
		velo_shunlock(&in->clock);
		if (pre_last && n <= 0)
			return done; /* nothing came after: the kernel's bytes are the answer */
		pre_last = false;
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
				loop_drs(vs, (size_t)n);
				/*
				 * Ring drained: no doorbell may stay queued (another
				 * epoll would see it; a close would turn into RST).
				 * Only a system call when one was sent and not consumed.
				 */
				if (velo_ring_readable(in) == 0 &&
				    (atomic_load(&me->ring_always) || atomic_load(&me->async) ||
				     bells_queued(in) > 0))
					reader_settle(vs, fd);
				if (atomic_load_explicit(&vs->nested_kick, memory_order_relaxed))
					velo_epoll_ring_read(vs);
			}
			/*
			 * After a fallback the kernel's queue goes on where the
			 * ring ends: Linux's call would take that too.
			 */
			if (peek && done < len && atomic_load(&in->fellback))
				return done + peek_past_ring(vs, fd, iov, iovcnt, flags, done, len);
			if (done >= target && (peek || velo_ring_readable(in) ||
					       !atomic_load(&in->fellback)))
				return done;
			continue;
		}
		/*
		 * Ring empty: doorbells, EOF or an error waiting in the kernel?
		 * A blocking read does not look for EOF or errors (a system
		 * call each time the ring is empty): its sleep wakes on them.
		 */
		unhold_stale(vs);
		if (done && atomic_load(&vs->pend_err))
			return done;
		if (!done && take_error(vs))
			return -1;
		switch (reader_drain(vs, fd, nb)) {
		case 1: /* EOF, after everything the ring held */
			if (velo_ring_readable(in) != 0)
				continue;
			if (!done && virtual_reset(vs, fd)) {
				int one = 1;

				if (atomic_compare_exchange_strong(&vs->vreset, &one, 2)) {
					errno = ECONNRESET;
					return -1;
				}
			}
			return done;
		case 2: /* the kernel's error (ECONNRESET...), consumed: report it */
			atomic_store(&vs->vreset, 2);
			if (velo_ring_readable(in) != 0 || done) {
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
		if (in_phase(in) == IN_PLAIN)
			continue; /* fallen back: the doorbells are behind us */
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
		if (velo_ring_readable(in) != 0 || in_phase(in) != ph) {
			/*
			 * Data came while arming: if the producer already took the
			 * flag, its doorbell is on the way; consume it now, a
			 * doorbell left queued would turn our close into a RST.
			 */
			if (!atomic_exchange(&in->armed, 0) && ph == IN_RING &&
			    !atomic_load(&in->pollers)) { /* a poller's, else */
				int saved = errno;

				reader_drain(vs, fd, false);
				errno = saved;
			}
			continue;
		}
		velo_stat_add(VELO_STAT_SLEEPS, 1);
		if (peek || (flags & MSG_TRUNC) ||
		    velo_bad_wrange(iov_slice(iov, iovcnt, done, 1, sub) ? sub[0].iov_base : NULL, 1)) {
			char c;

			/* a look only: wakes on data, doorbell, FIN, RST, signal */
			n = REAL(recv)(fd, &c, 1, MSG_PEEK);
		} else {
			struct iovec one;
			bool got;

			iov_slice(iov, iovcnt, done, 1, &one);
			n = sleep_read(vs, fd, one.iov_base, &got);
			if (n > 0 && got) {
				/* data woke us: take what else came with it, as recv */
				velo_stat_add(VELO_STAT_RX_KERNEL_BYTES, 1);
				slot_add(vs, 3, 1);
				done++;
			}
		}
		if (n > 0)
			continue;
		if (n == 0) {
			if (velo_ring_readable(in) != 0)
				continue;
			if (!done && virtual_reset(vs, fd)) {
				int one = 1;

				if (atomic_compare_exchange_strong(&vs->vreset, &one, 2)) {
					errno = ECONNRESET;
					return -1;
				}
			}
			return done;
		}
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
			if (velo_ring_readable(in) != 0)
				continue;
			return done ? (ssize_t)done : -1;
		}
		atomic_store(&vs->vreset, 2);
		if (velo_ring_readable(in) != 0 || done) {
			atomic_store(&vs->pend_err, errno);
			continue;
		}
		return -1;
	}
}

/*
 * A MSG_PEEK read with SO_PEEK_OFF set: what lies past the offset, which
 * moves on by what was read. The data is peeked up to offset + len and cut;
 * with nothing past the offset, a blocking call waits (in 1 ms steps: the
 * rings wake a reader for data, not for more data) until more comes, EOF,
 * or SO_RCVTIMEO.
 */
static ssize_t peek_past(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt,
			 int flags, int32_t off)
{
	_Atomic int32_t *po = &vs->ch->end[vs->end].peek_off;
	bool nb = (flags & MSG_DONTWAIT) || atomic_load(&vs->ch->end[vs->end].nonblock);
	size_t len = velo_iov_len(iov, iovcnt), skip = (size_t)off;
	uint64_t deadline = 0, tries = 0;
	struct iovec all;
	ssize_t n, r;

	all.iov_len = skip + len;
	all.iov_base = malloc(all.iov_len ? all.iov_len : 1);
	if (!all.iov_base) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		n = loop_recv(vs, fd, &all, 1, (flags & ~MSG_WAITALL) | MSG_PEEK | MSG_DONTWAIT);
		if (n > (ssize_t)skip || n == 0 || (n < 0 && errno != EAGAIN) || nb)
			break;
		if (!tries++)
			deadline = rcv_deadline(fd);
		if (deadline && velo_now_ns() >= deadline)
			break;
		REAL(poll)(NULL, 0, 1);
	}
	if (n > (ssize_t)skip) {
		r = n - (ssize_t)skip;
		if (!(flags & MSG_TRUNC))
			iov_fill(iov, iovcnt, (char *)all.iov_base + skip, (size_t)r);
		atomic_fetch_add(po, (int32_t)r);
	} else if (n == 0) {
		r = 0;
	} else {
		if (n >= 0)
			errno = EAGAIN;
		r = -1;
	}
	free(all.iov_base);
	return r;
}

/*
 * MSG_PEEK with MSG_WAITALL: Linux's tcp_recvmsg() peeks on until the
 * buffer's length is queued, or EOF, an error, a signal or SO_RCVTIMEO,
 * each of which returns what is there. A blocking peek waits for the first
 * byte; the ring has no wakeup for "more than it holds", so then a poll()
 * for the end of the stream (velo's own) looks again every millisecond.
 */
static ssize_t peek_all(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	size_t len = velo_iov_len(iov, iovcnt);
	uint64_t deadline = rcv_deadline(fd);
	ssize_t n = loop_recv(vs, fd, iov, iovcnt, flags & ~MSG_WAITALL);
	bool nb = (flags & MSG_DONTWAIT) || atomic_load(&vs->ch->end[vs->end].nonblock);

	while (!nb && n > 0 && (size_t)n < len && (!deadline || velo_now_ns() < deadline)) {
		struct pollfd end = { .fd = fd, .events = POLLRDHUP };
		int r = poll(&end, 1, 1);
		ssize_t more;

		if (r < 0)
			break; /* a signal */
		more = loop_recv(vs, fd, iov, iovcnt, (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
		if (more <= 0 || r > 0)
			return more > n ? more : n; /* the end: what came before it */
		n = more;
	}
	return n;
}

ssize_t velo_loop_recv(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	_Atomic int32_t *po = &vs->ch->end[vs->end].peek_off;
	int32_t off = atomic_load_explicit(po, memory_order_relaxed), cur;
	ssize_t n;

	if (off >= 0 && (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE)) == MSG_PEEK)
		return peek_past(vs, fd, iov, iovcnt, flags, off);
	if ((flags & (MSG_PEEK | MSG_WAITALL | MSG_OOB | MSG_ERRQUEUE)) == (MSG_PEEK | MSG_WAITALL))
		return peek_all(vs, fd, iov, iovcnt, flags);
	n = loop_recv(vs, fd, iov, iovcnt, flags);
	if (n < 0 && errno == EAGAIN && !(flags & (MSG_OOB | MSG_ERRQUEUE)) &&
	    atomic_load(&vs->ch->end[vs->end].shut_rd))
		return 0; /* nothing queued after SHUT_RD: EOF, not EAGAIN */
	if (off < 0 || n <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return n;
	/* a read moves the offset back by what it took, not below 0 */
	cur = atomic_load(po);
	while (cur >= 0 &&
	       !atomic_compare_exchange_weak(po, &cur, cur > n ? cur - (int32_t)n : 0))
		;
	return n;
}

/*
 * SO_PEEK_OFF of a LOOP socket: the kernel checks and takes the value (its
 * errors are the kernel's), then it moves to the channel and the kernel's
 * goes back to none, as our own peeks at the kernel socket need.
 */
int velo_loop_set_peek_off(struct vsock *vs, int fd, const void *v, socklen_t l)
{
	int none = -1, r = REAL(setsockopt)(fd, SOL_SOCKET, SO_PEEK_OFF, v, l);

	if (r)
		return r;
	atomic_store(&vs->ch->end[vs->end].peek_off, *(const int *)v);
	REAL(setsockopt)(fd, SOL_SOCKET, SO_PEEK_OFF, &none, sizeof(none));
	return 0;
}

/* Where the channel end keeps the app's value of an option, or NULL. */
static _Atomic int32_t *kept_option(struct vsock *vs, int level, int name)
{
	struct velo_chan_end *me = &vs->ch->end[vs->end];

	if (level == SOL_SOCKET && name == SO_PEEK_OFF)
		return &me->peek_off;
	if (level != IPPROTO_TCP || !atomic_load_explicit(&me->bells_fast, memory_order_acquire))
		return NULL;
	if (name == TCP_NODELAY)
		return &me->app_nodelay;
	if (name == TCP_CORK)
		return &me->app_cork;
	return NULL;
}

/* Milliseconds of CLOCK_MONOTONIC_COARSE: Linux's TCP_INFO ages are jiffies. */
static uint64_t coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A ring write of @n bytes, for TCP_INFO (one producer: under plock). */
static void ring_wrote(struct velo_chan_dir *out, size_t n)
{
	if (n > atomic_load_explicit(&out->max_write, memory_order_relaxed))
		atomic_store_explicit(&out->max_write, (uint32_t)n, memory_order_relaxed);
	atomic_store_explicit(&out->segs, atomic_load_explicit(&out->segs, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&out->wrote_ms, coarse_ms(), memory_order_relaxed);
}

/* An age in ms the kernel socket gave, or the ring's @when if more recent. */
static void age_min(uint32_t *age_ms, uint64_t when, uint64_t now)
{
	if (when && now - when < *age_ms)
		*age_ms = (uint32_t)(now - when);
}

/* What direction @d carried in its ring: written, less the doorbells its kernel socket sent. */
static int64_t ring_only(const struct velo_chan_dir *d, uint64_t ring_count)
{
	return (int64_t)ring_count -
	       (int64_t)(atomic_load(&d->bells) - atomic_load(&d->owed));
}

static void add_clamped(uint64_t *field, int64_t delta)
{
	*field = delta < 0 && (uint64_t)-delta > *field ? 0 : *field + (uint64_t)delta;
}

static void add_clamped32(uint32_t *field, int64_t delta)
{
	uint64_t v = *field;

	add_clamped(&v, delta);
	*field = (uint32_t)v;
}

/*
 * The MSS once data moved through the rings: Linux bounds it by half the
 * largest window the peer offered (tcp_bound_to_half_wnd()), and the peer's
 * first ACK or data after the handshake offers its SYN window rounded up
 * to its scale (__tcp_select_window()), which the kernel socket never saw:
 * on lo a client's 32741 becomes 32768. Later growth of the peer's window
 * is not followed.
 */
static uint32_t mss_after_data(struct vsock *vs, const struct linux_tcp_info *ti, uint32_t mss)
{
	uint32_t unit = 1u << (ti->base.tcpi_snd_wscale & 15);
	uint32_t offered = (ti->snd_wnd + unit - 1) & ~(unit - 1);

	if (ring_only(vs_out(vs), atomic_load(&vs_out(vs)->tail)) <= 0 &&
	    ring_only(vs_in(vs), atomic_load(&vs_in(vs)->tail)) <= 0)
		return mss;
	return mss && mss == ti->snd_wnd / 2 && offered / 2 > mss ? offered / 2 : mss;
}

/*
 * TCP_INFO of a LOOP socket: its kernel socket's, with what the rings
 * carried counted as Linux's loopback counts it (sent, acknowledged once
 * in the peer's queue, received; a ring write one data segment; the ages
 * of the last data sent and received; rcv_mss from the largest write) and
 * the doorbells, which are kernel bytes of no data, not counted. Not the
 * age of the last ACK, which Linux may delay.
 */
static int loop_tcp_info(struct vsock *vs, int fd, void *v, socklen_t *l)
{
	struct velo_chan_dir *out = vs_out(vs), *in = vs_in(vs);
	int64_t sent = ring_only(out, atomic_load(&out->tail)),
		got = ring_only(in, atomic_load(&in->tail)),
		segs_out = ring_only(out, atomic_load(&out->segs)),
		segs_in = ring_only(in, atomic_load(&in->segs));
	uint32_t largest = atomic_load(&in->max_write);
	struct linux_tcp_info ti;
	socklen_t n = sizeof(ti);
	uint64_t now;

	if (!l || velo_bad_wrange(l, sizeof(*l)) || (int)*l < 0 ||
	    velo_bad_wrange(v, *l < n ? *l : n) ||
	    REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &n))
		return REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, v, l); /* its error */
	add_clamped(&ti.bytes_sent, sent);
	add_clamped(&ti.bytes_acked, sent);
	add_clamped(&ti.bytes_received, got);
	add_clamped32(&ti.data_segs_out, segs_out);
	add_clamped32(&ti.segs_out, segs_out);
	add_clamped32(&ti.delivered, segs_out);
	add_clamped32(&ti.data_segs_in, segs_in);
	add_clamped32(&ti.segs_in, segs_in);
	/* tcp_measure_rcv_mss(): the largest segment from 536 bytes, up to advmss */
	if (largest > ti.base.tcpi_rcv_mss)
		ti.base.tcpi_rcv_mss = largest < ti.base.tcpi_advmss ? largest : ti.base.tcpi_advmss;
	if (n >= offsetof(struct linux_tcp_info, rcv_wnd))
		ti.base.tcpi_snd_mss = mss_after_data(vs, &ti, ti.base.tcpi_snd_mss);
	now = coarse_ms();
	age_min(&ti.base.tcpi_last_data_sent, atomic_load(&out->wrote_ms), now);
	age_min(&ti.base.tcpi_last_data_recv, atomic_load(&in->wrote_ms), now);
	*l = *l < n ? *l : n;
	memcpy(v, &ti, *l);
	return 0;
}

/* TCP_MAXSEG of a LOOP socket: its kernel socket's, as mss_after_data() */
static int loop_maxseg(struct vsock *vs, int fd, void *v, socklen_t *l)
{
	struct linux_tcp_info ti;
	socklen_t n = sizeof(ti);
	int mss = 0;

	if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_MAXSEG, v, l))
		return -1; /* its error, and it checked the buffer */
	if (*l < sizeof(mss))
		return 0; /* a part of the value: the kernel's */
	memcpy(&mss, v, sizeof(mss));
	if (mss > 0 && !REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) &&
	    n >= offsetof(struct linux_tcp_info, rcv_wnd)) {
		mss = (int)mss_after_data(vs, &ti, (uint32_t)mss);
		memcpy(v, &mss, sizeof(mss));
	}
	return 0;
}

/*
 * SO_ERROR, which reads the error and clears it as Linux's sock_error():
 * the kernel's, else one velo took from the kernel socket while data was
 * still to be read (pend_err), else the reset the peer's close would have
 * sent (virtual_reset). Whichever is read, no other is reported after it.
 */
static int loop_so_error(struct vsock *vs, int fd, void *v, socklen_t *l)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
	int32_t err = 0;
	int one = 1;

	if (REAL(getsockopt)(fd, SOL_SOCKET, SO_ERROR, v, l))
		return -1;
	if (*l < sizeof(err))
		return 0; /* a part of an int: the kernel's answer */
	memcpy(&err, v, sizeof(err));
	if (err) {
		atomic_store(&vs->vreset, 2); /* a real reset: no virtual one */
		return 0;
	}
	err = atomic_exchange(&vs->pend_err, 0);
	if (!err && vs->ch && velo_ring_readable(vs_in(vs)) == 0 && REAL(poll)(&pfd, 1, 0) == 1 &&
	    (pfd.revents & POLLRDHUP) && virtual_reset(vs, fd) &&
	    atomic_compare_exchange_strong(&vs->vreset, &one, 2))
		err = ECONNRESET;
	memcpy(v, &err, sizeof(err));
	return 0;
}

bool velo_loop_getsockopt(struct vsock *vs, int fd, int level, int name, void *v,
			  socklen_t *l, int *r)
{
	_Atomic int32_t *kept = kept_option(vs, level, name);
	int32_t val;

	if (level == IPPROTO_TCP && (name == TCP_INFO || name == TCP_MAXSEG)) {
		*r = name == TCP_INFO ? loop_tcp_info(vs, fd, v, l) : loop_maxseg(vs, fd, v, l);
		return true;
	}
	if (level == SOL_SOCKET && name == SO_ERROR) {
		*r = loop_so_error(vs, fd, v, l);
		return true;
	}
	if (level == SOL_SOCKET && name == SO_RCVBUF) {
		int32_t k = 0;

		*r = REAL(getsockopt)(fd, level, name, v, l);
		val = atomic_load(&vs->drs_rcvbuf);
		if (!*r && *l >= sizeof(k))
			memcpy(&k, v, sizeof(k));
		/* unless the app sized it (SOCK_RCVBUF_LOCK) */
		if (!*r && *l >= sizeof(val) && !atomic_load(&vs->rcvbuf) && val > k)
			memcpy(v, &val, sizeof(val));
		return true;
	}
	if (!kept)
		return false;
	/* the kernel checks the buffer and sets the length */
	*r = REAL(getsockopt)(fd, level, name, v, l);
	if (!*r) {
		val = atomic_load(kept);
		memcpy(v, &val, *l < sizeof(val) ? *l : sizeof(val));
	}
	return true;
}

/*
 * TCP_CORK on a LOOP socket, and TCP_NODELAY once its kernel socket rings
 * doorbells (bells_fast): the kernel checks the value (and an uncork pushes
 * what it holds), the channel end keeps it, the kernel socket stays as
 * doorbells need it, an uncork lets held ring data go. false: not one of
 * these, the caller sets it.
 */
bool velo_loop_setsockopt(struct vsock *vs, int fd, int level, int name, const void *v,
			  socklen_t l, int *r)
{
	struct velo_chan_end *me = &vs->ch->end[vs->end];
	bool fast = atomic_load_explicit(&me->bells_fast, memory_order_acquire), on;
	int bells = name == TCP_NODELAY; /* what doorbells need: Nagle off, no cork */

	if (level != IPPROTO_TCP || (name != TCP_CORK && (name != TCP_NODELAY || !fast)))
		return false;
	*r = REAL(setsockopt)(fd, level, name, v, l);
	if (*r)
		return true;
	on = *(const int *)v != 0;
	/* the cork also tells velo_loop_send() to hold */
	atomic_store(name == TCP_CORK ? &me->app_cork : &me->app_nodelay, on);
	if (fast && on != bells)
		REAL(setsockopt)(fd, level, name, &bells, sizeof(bells));
	if (name == TCP_CORK && !on)
		hold_release(vs, fd, vs_out(vs)); /* uncorked: what was held goes */
	return true;
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
	size_t len = velo_iov_len(iov, iovcnt), done = 0;
	struct iovec sub[iovcnt > 0 ? iovcnt : 1];
	uint64_t deadline = 0;
	bool timeo_checked = false, has_timeo = false, held = false, began = false;
	bool hold = (flags & MSG_MORE) || atomic_load_explicit(&me->app_cork, memory_order_relaxed);
	bool first_pass = true;

	/* the kernel's error a read took for later (pend_err) comes first, as sk_err */
	if (take_error(vs))
		return -1;
	if (!len)
		return kern_send(vs, fd, (struct iovec *)iov, iovcnt, flags);
	if (!velo_send_extent(iov, iovcnt, &len)) {
		errno = EFAULT;
		return -1;
	}
	if (flags & MSG_OOB)
		conn_fallback(vs, fd, FALLBACK_URGENT); /* urgent data exists in the kernel only */
	for (;;) {
		ssize_t n;
		int k;

		if (!atomic_load_explicit(&out->switched, memory_order_acquire)) {
			if (atomic_load_explicit(&out->fellback, memory_order_acquire)) {
				/* the kernel for good: doorbells owed first */
				if (!pay_owed(vs, fd, nb))
					return done ? (ssize_t)done : -1;
				k = iov_slice(iov, iovcnt, done, len - done, sub);
				n = kern_send(vs, fd, sub, k, flags);
				if (n > 0) {
					velo_stat_add(VELO_STAT_TX_KERNEL_BYTES, n);
					slot_add(vs, 2, n);
				}
				if (n < 0)
					return done ? (ssize_t)done : -1;
				return done + n;
			}
			if (peer_present(vs) && out_switch(vs))
				continue;
			velo_shlock(&out->plock);
			if (atomic_load(&out->switched) || atomic_load(&out->fellback)) {
				velo_shunlock(&out->plock);
				continue;
			}
			k = iov_slice(iov, iovcnt, done, len - done, sub);
			n = kern_send(vs, fd, sub, k, flags);
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
			/*
			 * The kernel gives EPIPE/SIGPIPE or provokes the RST, as
			 * without us; what it still delivers is data after the
			 * ring's, not doorbells.
			 */
			conn_fallback(vs, fd, FALLBACK_PEER_GONE);
			continue;
		}
		k = iov_slice(iov, iovcnt, done, len - done, sub);
		/* checked above for the first pass; a wait since may have seen it unmapped */
		for (int j = 0; j < k && !first_pass; j++)
			if (velo_bad_range(sub[j].iov_base, sub[j].iov_len)) {
				if (done)
					return done;
				errno = EFAULT;
				return -1;
			}
		first_pass = false;
		velo_shlock(&out->plock);
		if (!atomic_load_explicit(&out->switched, memory_order_relaxed)) {
			velo_shunlock(&out->plock); /* fallen back meanwhile */
			continue;
		}
		{
			int64_t cap = out_capacity(vs), used = velo_ring_used(out);
			size_t room = used < 0 ? 0 : (used >= cap ? 0 : (size_t)(cap - used));

			held = hold && held_bytes(out) + (len - done) < HOLD_SEG;
			/* the hold is stored before the tail moves past it */
			began = held && hold_begin_locked(out);
			if (used < 0)
				n = -1;
			else if (!room)
				n = 0;
			else
				n = velo_ring_write(out, ch->ring[vs->end], sub,
						    iov_slice(iov, iovcnt, done, len - done, sub),
						    len - done < room ? len - done : room);
			if (n > 0)
				ring_wrote(out, (size_t)n);
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
			if (began)
				hold_bell(vs, fd, out);
			else if (!held && !hold_release(vs, fd, out))
				ring_doorbell(vs, fd, out);
			if (done == len)
				return done;
			if (nb) {
				velo_loop_note_nospace(vs);
				return done;
			}
			continue;
		}
		/* ring full */
		velo_loop_note_nospace(vs);
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

	if (in_ringed(in)) {
		uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);

		u = velo_ring_readable(in);
		if (u >= 0 && atomic_load(&in->stash))
			u++; /* a byte taken early (sleep_read) */
		/*
		 * Bytes sent before the switch are still in the kernel socket:
		 * readable as they are, and ring data after them is an edge of
		 * its own (the kernel saw none).
		 */
		if (u >= 0 && kr < kb)
			u += (int64_t)(kb - kr);
		if (u > 0 && (uint64_t)u >= atomic_load(&vs->ch->end[vs->end].rcvlowat))
			ev |= POLLIN | POLLRDNORM;
		if (u < 0)
			ev |= POLLERR;
	}
	if (atomic_load(&vs->pend_err))
		ev |= POLLERR; /* the kernel's, taken from its socket, not read yet */
	if (atomic_load_explicit(&out->switched, memory_order_acquire) &&
	    !atomic_load(&vs->ch->end[vs->end].shut_wr)) {
		u = velo_ring_used(out);
		if (ring_writable(vs->ch, vs->end, u))
			ev |= POLLOUT | POLLWRNORM;
		else if (u >= 0)
			velo_loop_note_nospace(vs); /* as tcp_poll() sets SOCK_NOSPACE */
	}
	return ev;
}

uint32_t velo_loop_kernel_pollout(struct vsock *vs, int kfd)
{
	struct pollfd p = { .fd = kfd, .events = POLLOUT };
	int saved = errno;
	uint32_t ev = 0;

	if (atomic_load_explicit(&vs_out(vs)->switched, memory_order_acquire) &&
	    !atomic_load(&vs->ch->end[vs->end].shut_wr))
		return 0;
	if (REAL(poll)(&p, 1, 0) == 1 && (p.revents & POLLOUT))
		ev = POLLOUT | POLLWRNORM;
	errno = saved;
	return ev;
}

/*
 * Kernel readiness of a direction that fell back: once the ring is empty,
 * the doorbells still queued are skipped and the kernel's POLLIN is the
 * socket's own (looked at again if doorbells were all it had).
 */
static uint32_t fellback_events(struct vsock *vs, int fd, uint32_t ev)
{
	struct velo_chan_dir *in = vs_in(vs);
	uint64_t kb = atomic_load(&in->kbytes), end = kb + atomic_load(&in->bells);
	uint64_t kr = atomic_load(&in->kread);
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDNORM };

	if (!(ev & POLLIN) || (ev & (POLLERR | POLLHUP | POLLRDHUP)) || kr < kb || kr >= end ||
	    velo_ring_readable(in) != 0)
		return ev; /* data before the switch, the socket's own, or the ring decides */
	drain_doorbells(vs, fd, false);
	ev &= ~(POLLIN | POLLRDNORM);
	if (atomic_load(&in->kread) >= end && REAL(poll)(&pfd, 1, 0) > 0)
		ev |= pfd.revents & (POLLIN | POLLRDNORM);
	return ev;
}

uint32_t velo_loop_kernel_events(struct vsock *vs, int fd, uint32_t kev)
{
	struct velo_chan_dir *in = vs_in(vs), *out = vs_out(vs);
	uint32_t ev = kev;
	int saved = errno;

	if (atomic_load_explicit(&in->fellback, memory_order_acquire)) {
		ev = fellback_events(vs, fd, ev);
	} else if ((kev & POLLIN) && !(kev & (POLLERR | POLLHUP | POLLRDHUP)) &&
		   velo_ring_readable(in) == 0 && atomic_load(&in->switched) &&
		   atomic_load(&in->kread) >= atomic_load(&in->kbytes)) {
		if (!drain_doorbells(vs, fd, true))
			ev &= ~(POLLIN | POLLRDNORM); /* only doorbells */
	}
	if (atomic_load(&out->switched) && !atomic_load(&vs->ch->end[vs->end].shut_wr) &&
	    !(kev & (POLLHUP | POLLERR)))
		ev &= ~(POLLOUT | POLLWRNORM); /* the ring decides */
	if (kev & POLLERR) {
		int z = 0; /* a real reset: no virtual one */

		atomic_compare_exchange_strong(&vs->vreset, &z, 2);
	}
	if ((kev & POLLRDHUP) && velo_ring_readable(in) == 0 && virtual_reset(vs, fd)) {
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
	if (in_ringed(in)) {
		bool fb = atomic_load_explicit(&in->fellback, memory_order_acquire);
		uint64_t kb = atomic_load(&in->kbytes), kr = atomic_load(&in->kread);
		uint64_t end = kb + atomic_load(&in->bells), q = kq > 0 ? kq : 0, n;

		/* data before the switch, the ring, and after a fallback the kernel's past the doorbells */
		n = kr >= kb ? 0 : (kb - kr < q ? kb - kr : q);
		if (fb)
			n += kr >= end ? q : (q > end - kr ? q - (end - kr) : 0);
		u = velo_ring_readable(in);
		if (u > 0)
			n += u;
		n += atomic_load(&in->stash) != 0;
		kq = n > INT_MAX ? INT_MAX : (int)n;
	}
	*out = kq;
	return 0;
}

/*
 * SIOCOUTQ and SIOCOUTQNSD: what the kernel socket holds, and what of the
 * ring would still be the sender's on Linux, whose receiver takes only its
 * window (reader_window()): on loopback what
 * the peer queued is acknowledged, what its window refused is not sent.
 */
int velo_loop_outq(struct vsock *vs, int fd, unsigned long req, int *out)
{
	int64_t used = velo_ring_used(vs_out(vs)), share = (int64_t)reader_window(vs->ch, vs->end);
	int kq = 0;

	if (REAL(ioctl)(fd, req, &kq) < 0)
		return -1;
	if (used > share)
		kq = used - share > INT_MAX - kq ? INT_MAX : kq + (int)(used - share);
	*out = kq;
	return 0;
}

int velo_loop_atmark(struct vsock *vs, int fd, int *out)
{
	struct velo_chan_dir *in = vs_in(vs);

	/*
	 * The urgent mark is in the kernel, after all the ring holds: not at
	 * it while ring data or doorbells come first, else the kernel knows.
	 */
	if (in_phase(in) == IN_RING && atomic_load(&in->fellback) && !velo_ring_readable(in))
		drain_doorbells(vs, fd, false);
	if (in_phase(in) == IN_RING) {
		*out = 0;
		return 0;
	}
	return REAL(ioctl)(fd, SIOCATMARK, out);
}

/* ------------------------------------------------------------- lifecycle */

void velo_loop_shutdown_begin(struct vsock *vs, int fd, int how, uint32_t *was)
{
	if (how == SHUT_WR || how == SHUT_RDWR)
		hold_release(vs, fd, vs_out(vs)); /* the FIN pushes what is held */
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
		/* a ring's capacity changed: our POLLOUT (sndbuf), the peer's (rcvbuf) */
		watch_mark_self(vs, VELO_WATCH_OUT);
		watch_mark_end(&vs->ch->end[!vs->end], VELO_WATCH_OUT);
	}
}

void velo_loop_note_nospace(struct vsock *vs)
{
	atomic_fetch_add(&vs->ch->end[vs->end].nospace, 1);
}

uint32_t velo_loop_nospace(struct vsock *vs)
{
	return atomic_load(&vs->ch->end[vs->end].nospace);
}

void velo_loop_set_ring_always(struct vsock *vs)
{
	if (vs->ch)
		atomic_store(&vs->ch->end[vs->end].ring_always, 1);
}

void velo_loop_set_rcvlowat(struct vsock *vs, int v)
{
	atomic_store(&vs->ch->end[vs->end].rcvlowat, v > 0 ? v : 1);
	watch_mark_self(vs, VELO_WATCH_IN); /* what is queued may be enough now */
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
	unhold_stale(vs);
	if (last && fd >= 0) {
		int saved = errno;
		struct linger lg = { 0, 0 };
		socklen_t ll = sizeof(lg);

		hold_release(vs, fd, vs_out(vs)); /* close sends what is held, FIN last */
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
		held_bell_wait(vs, fd);
		drain_doorbells(vs, fd, false);
		if (velo_ring_readable(vs_in(vs)) > 0 && !socket_held_elsewhere(fd)) {
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

/* An epoll watch area whose creator is gone is removed. */
static void watch_gc(const char *dir, const char *name)
{
	char path[128];
	uint32_t pid = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%.60s", dir, name);
	fd = REAL(open)(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (pread(fd, &pid, sizeof(pid), offsetof(struct velo_watch, pid)) == sizeof(pid) &&
	    pid && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		unlink(path);
	REAL(close)(fd);
}

/*
 * Where the last collection stopped (a directory position, shared by the
 * user's processes): each one looks further on. tmpfs lists new files
 * first, so from the start a busy directory would show only young, live
 * ones and the dead behind them would stay. -1 reads it, else writes it.
 */
static long gc_cursor(const char *dir, long pos)
{
	char path[80];
	long v = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/.gc-cursor", dir);
	fd = REAL(open)(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return 0;
	if (pos < 0 && pread(fd, &v, sizeof(v), 0) != sizeof(v))
		v = 0;
	if (pos >= 0 && pwrite(fd, &pos, sizeof(pos), 0) != sizeof(pos))
		unlink(path); /* a broken cursor starts over */
	REAL(close)(fd);
	return v < 0 ? 0 : v;
}

/*
 * Remove channel files whose sockets are all gone (processes killed, or
 * exited while their peer lived on): at most `budget` files per call,
 * from where the last call stopped.
 */
void velo_loop_gc(unsigned int budget)
{
	char dir[48], path[128];
	struct dirent *de = NULL;
	DIR *d;
	long from;
	int saved = errno;

	snprintf(dir, sizeof(dir), "/dev/shm/velo-%u", (unsigned int)geteuid());
	d = opendir(dir);
	if (!d)
		return;
	from = gc_cursor(dir, -1);
	if (from)
		seekdir(d, from);
	while (budget && (de = readdir(d))) {
		struct velo_chan hdr;
		struct stat sb;
		bool alive = false;
		int fd, e;

		if (de->d_name[0] == '.')
			continue;
		budget--;
		if (!strncmp(de->d_name, "ep-", 3)) {
			watch_gc(dir, de->d_name);
			continue;
		}
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
	gc_cursor(dir, de ? telldir(d) : 0); /* at the end: from the start next time */
	closedir(d);
	errno = saved;
}
