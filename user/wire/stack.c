// SPDX-License-Identifier: GPL-2.0
/*
 * Wire stacks: one per interface, its frame backend (velo.ko or AF_XDP),
 * its engine, its control-plane handle, and the progress thread that runs
 * the datapath while the application does not call in.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "wire/priv.h"

static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct velo_wire_stack *stacks;
static struct velo_wire_config config;
static bool config_set;

/*
 * Interfaces where no stack could be made, remembered for a while (under
 * stacks_lock): trying costs an XDP attach and queue set-up, and a
 * connect() there goes to the kernel anyway.
 */
#define STACK_RETRY_NS (10ull * 1000000000u)
static struct {
	int ifindex, err;
	uint64_t until;
} failed[8];
static unsigned int failed_next;

static int recent_failure(int ifindex)
{
	uint64_t now = wire_now();

	for (unsigned int i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
		if (failed[i].ifindex == ifindex && failed[i].until > now)
			return failed[i].err;
	return 0;
}

static void note_failure(int ifindex, int err)
{
	unsigned int i = failed_next++ % (sizeof(failed) / sizeof(failed[0]));

	failed[i].ifindex = ifindex;
	failed[i].err = err;
	failed[i].until = wire_now() + STACK_RETRY_NS;
}

uint64_t wire_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void velo_wire_config_default(struct velo_wire_config *cfg)
{
	*cfg = (struct velo_wire_config){
		.max_sockets = 512,
		.buf_max = 4u << 20,
		.shared = { .max = 1024, .step = 16, .per_ip_max = 1024 },
	};
}

void velo_wire_set_config(const struct velo_wire_config *cfg)
{
	pthread_mutex_lock(&stacks_lock);
	config = *cfg;
	config_set = true;
	pthread_mutex_unlock(&stacks_lock);
}

uint32_t velo_wire_sysctl(const char *name, int field)
{
	char path[128];
	unsigned long v[3] = { 0 };
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu %lu", &v[0], &v[1], &v[2]) < field + 1)
		v[field] = 0;
	fclose(f);
	return (uint32_t)v[field];
}

static void on_event(void *ctx, int eng, unsigned int events)
{
	struct velo_wire_stack *st = ctx;

	(void)events;
	if (st->wire_of[eng] >= 0)
		wire_sock_changed(st, st->wire_of[eng]);
}

/* The engine settings that are Linux sysctls, as the host has them now. */
static void read_sysctls(const struct velo_wire_stack *st, struct vtcp_config *c)
{
	uint32_t rmem = velo_wire_sysctl("ipv4/tcp_rmem", 2);
	char hops[64 + IF_NAMESIZE];
	uint32_t rmem_max = velo_wire_sysctl("core/rmem_max", 0);
	uint32_t ecn = velo_wire_sysctl("ipv4/tcp_ecn", 0);

	c->wscale_space = rmem > rmem_max ? rmem : rmem_max;
	c->rmem_default = velo_wire_sysctl("ipv4/tcp_rmem", 1);
	c->wmem_default = velo_wire_sysctl("ipv4/tcp_wmem", 1);
	c->ip_ttl = velo_wire_sysctl("ipv4/ip_default_ttl", 0);
	/* the interface's, as ip6_dst_hoplimit() takes it */
	snprintf(hops, sizeof(hops), "ipv6/conf/%s/hop_limit", st->ifname);
	c->ipv6_hop_limit = velo_wire_sysctl(hops, 0);
	c->keepalive_time_s = velo_wire_sysctl("ipv4/tcp_keepalive_time", 0);
	c->keepalive_intvl_s = velo_wire_sysctl("ipv4/tcp_keepalive_intvl", 0);
	c->keepalive_probes = velo_wire_sysctl("ipv4/tcp_keepalive_probes", 0);
	c->syn_retries = velo_wire_sysctl("ipv4/tcp_syn_retries", 0);
	c->synack_retries = velo_wire_sysctl("ipv4/tcp_synack_retries", 0);
	c->retries2 = velo_wire_sysctl("ipv4/tcp_retries2", 0);
	c->fin_timeout_s = velo_wire_sysctl("ipv4/tcp_fin_timeout", 0);
	c->notsent_lowat = velo_wire_sysctl("ipv4/tcp_notsent_lowat", 0);
	c->no_sack = !velo_wire_sysctl("ipv4/tcp_sack", 0);
	c->no_timestamps = !velo_wire_sysctl("ipv4/tcp_timestamps", 0);
	c->no_window_scaling = !velo_wire_sysctl("ipv4/tcp_window_scaling", 0);
	/* 3 and up ask for AccECN, which the engine lacks: RFC 3168 then */
	c->ecn = ecn > 2 ? 1 : (int)ecn;
}

static void engine_config(struct velo_wire_stack *st, const struct velo_link *link,
			  struct vtcp_config *c)
{
	uint32_t rmem = velo_wire_sysctl("ipv4/tcp_rmem", 2), wmem = velo_wire_sysctl("ipv4/tcp_wmem", 2);

	memset(c, 0, sizeof(*c));
	c->max_sockets = st->cfg.max_sockets;
	c->rcvbuf_max = rmem && rmem < st->cfg.buf_max ? rmem : st->cfg.buf_max;
	c->sndbuf_max = wmem && wmem < st->cfg.buf_max ? wmem : st->cfg.buf_max;
	memcpy(c->mac, link->mac, 6);
	c->ifindex = (uint32_t)link->ifindex;
	c->mtu = link->mtu;
	read_sysctls(st, c);
	st->sysctls_read_ns = wire_now();
	c->route = wire_route;
	c->route_ctx = st;
	c->on_event = on_event;
	c->event_ctx = st;
	/* FIN_WAIT_2 (fin_timeout) then TIME_WAIT (60 s), with a margin */
	st->linger_ns = ((uint64_t)(c->fin_timeout_s ? c->fin_timeout_s : 60) + 65) * 1000000000u;
}

/*
 * Linux reads its TCP sysctls as connections open and timers run; the
 * engine's copy is read again before a connect() or listen(), and once a
 * second by the progress thread. At most once a millisecond: a
 * connect-and-close loop pays a dozen file reads per millisecond, not per
 * connection, and a sysctl written by another program (a process start
 * away) is always seen. Called with st->lock held.
 */
void wire_sysctls_refresh(struct velo_wire_stack *st)
{
	struct vtcp_config c;
	uint64_t now = wire_now();

	if (now - st->sysctls_read_ns < 1000000u)
		return;
	st->sysctls_read_ns = now;
	memset(&c, 0, sizeof(c));
	read_sysctls(st, &c);
	vtcp_set_sysctls(st->eng, &c);
}

/*
 * The frame backend cfg.backend asks for: auto tries velo.ko first (an
 * absent module costs one failed open), then AF_XDP.
 */
static int open_io(struct velo_wire_stack *st)
{
	enum velo_wire_backend want = st->cfg.backend;
	int err;

	if (want != VELO_WIRE_XDP) {
		err = wire_io_ko.open(st);
		if (!err) {
			st->io = &wire_io_ko;
			return 0;
		}
		if (want == VELO_WIRE_KO) {
			velo_warn("wire: backend ko forced, but velo.ko makes no stack on %s: %s; "
				  "its connections use the kernel", st->ifname, strerror(-err));
			return err;
		}
		velo_dbg("wire: no velo.ko stack on %s (%s): trying AF_XDP", st->ifname,
			 strerror(-err));
	}
	err = wire_io_xsk.open(st);
	if (!err)
		st->io = &wire_io_xsk;
	return err;
}

static void *progress_main(void *arg);

/*
 * The RFC 6528 key, one per process like the kernel's one per boot: a new
 * stack's ISNs and timestamps then keep growing on 4-tuples an earlier stack
 * of the process used, so a peer still in TIME_WAIT on one accepts the new
 * SYN (a fresh key makes it look old: the peer answers with an ACK and
 * ignores the RST for up to 60 s). Called with stacks_lock held.
 */
static int isn_secret(uint8_t key[16])
{
	static uint8_t secret[16];
	static bool have;

	if (!have) {
		if (getrandom(secret, sizeof(secret), 0) != sizeof(secret))
			return -errno;
		have = true;
	}
	memcpy(key, secret, sizeof(secret));
	return 0;
}

/* The thread takes no signal: they are the application's, for its own threads. */
static int progress_start(struct velo_wire_stack *st)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&st->thread, NULL, progress_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		st->stop = true; /* no thread to join */
	return err;
}

static int stack_init(struct velo_wire_stack *st, int ifindex)
{
	const struct velo_link *link;
	struct vtcp_config c;
	int err = 0;

	st->ifindex = ifindex;
	st->kick_fd = -1;
	st->rx_cpu = -1;
	pthread_mutex_init(&st->lock, NULL);
	st->ctrl = velo_ctrl_open(&err);
	if (!st->ctrl)
		return err;
	link = velo_ctrl_link(st->ctrl, ifindex);
	if (!link || link->type != 1 /* ARPHRD_ETHER */)
		return -ENODEV;
	memcpy(st->ifname, link->name, IF_NAMESIZE);
	engine_config(st, link, &c);
	err = isn_secret(c.isn_secret);
	if (err)
		return err;
	st->eng = vtcp_stack_create(&c);
	st->socks = calloc(st->cfg.max_sockets, sizeof(*st->socks));
	st->wire_of = malloc(st->cfg.max_sockets * sizeof(*st->wire_of));
	if (!st->eng || !st->socks || !st->wire_of)
		return -ENOMEM;
	memset(st->wire_of, 0xff, st->cfg.max_sockets * sizeof(*st->wire_of));
	velo_fd_private(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), &st->kick_fd);
	if (st->kick_fd < 0)
		return -errno;
	err = open_io(st);
	if (err)
		return err;
	st->stats.queues = st->nq;
	velo_dbg("wire: stack on %s: %s, %u queue(s)", st->ifname, st->io->name, st->nq);
	st->ctrl_gen = velo_ctrl_generation(st->ctrl);
	wire_net_sync(st);
	return progress_start(st);
}

static void stack_free(struct velo_wire_stack *st)
{
	if (st->io)
		wire_holds_expire(st, true);
	wire_pool_free(st);
	if (st->io)
		st->io->close(st);
	if (st->eng)
		vtcp_stack_destroy(st->eng);
	if (st->ctrl)
		velo_ctrl_close(st->ctrl);
	velo_fd_close(st->kick_fd);
	free(st->socks);
	free(st->wire_of);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static void at_exit(void);

/* A new stack on @ifindex for @owner (0: the process), on velo.ko if @ko_only. */
static struct velo_wire_stack *stack_new(int ifindex, pid_t owner, bool ko_only, int *err)
{
	static bool atexit_done;
	struct velo_wire_stack *st = calloc(1, sizeof(*st));

	*err = st ? 0 : -ENOMEM;
	if (!st)
		return NULL;
	if (!config_set)
		velo_wire_config_default(&config);
	st->cfg = config;
	if (ko_only)
		st->cfg.backend = VELO_WIRE_KO;
	st->owner = owner;
	*err = stack_init(st, ifindex);
	if (*err) {
		stack_free(st);
		return NULL;
	}
	st->next = stacks;
	stacks = st;
	if (st->cfg.stack_created)
		st->cfg.stack_created(st->io->kind);
	if (!atexit_done)
		atexit_done = !atexit(at_exit);
	return st;
}

static struct velo_wire_stack *stack_find(int ifindex, pid_t owner)
{
	struct velo_wire_stack *st;

	for (st = stacks; st && (st->ifindex != ifindex || st->owner != owner); st = st->next)
		;
	return st;
}

/*
 * The calling thread's own stack on @ifindex, on velo.ko (per_thread); NULL
 * if velo.ko makes none, which is not asked again: the process's stack
 * then serves every thread. stacks_lock held.
 */
static struct velo_wire_stack *thread_stack(int ifindex)
{
	static bool unavailable;
	pid_t tid = gettid();
	struct velo_wire_stack *st;
	int err;

	if (unavailable || !config.per_thread || config.backend == VELO_WIRE_XDP)
		return NULL;
	st = stack_find(ifindex, tid);
	if (st)
		return st;
	st = stack_new(ifindex, tid, true, &err);
	if (!st) {
		velo_dbg("wire: no stack of its own for thread %d (%s): the process's stack",
			 (int)tid, strerror(-err));
		unavailable = true;
	}
	return st;
}

struct velo_wire_stack *velo_wire_stack_of(int ifindex, int *err)
{
	struct velo_wire_stack *st;

	pthread_mutex_lock(&stacks_lock);
	st = thread_stack(ifindex);
	if (!st)
		st = stack_find(ifindex, 0);
	if (!st && !(*err = recent_failure(ifindex))) {
		st = stack_new(ifindex, 0, false, err);
		if (!st) {
			velo_err("wire: no stack on interface %d: %s (not retried for %llu s)", ifindex,
				 strerror(-*err), STACK_RETRY_NS / 1000000000u);
			note_failure(ifindex, *err);
		}
	}
	pthread_mutex_unlock(&stacks_lock);
	return st;
}

/* The output interface of the kernel's route to @dst, asked through @ctrl. */
static int route_oif(struct velo_ctrl *ctrl, const struct sockaddr *dst)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)dst;
	struct velo_route rt;
	uint8_t addr[16];
	uint16_t port;
	int err;

	wire_sa_bytes(dst, addr, &port);
	err = velo_ctrl_route(ctrl, dst->sa_family, addr,
			      dst->sa_family == AF_INET6 ? (int)in6->sin6_scope_id : 0, &rt);
	if (err)
		return err;
	/* local or special routes are not for the wire */
	return rt.type == 1 /* RTN_UNICAST */ ? rt.oif : -ENETUNREACH;
}

struct velo_wire_stack *velo_wire_stack_for(const struct sockaddr *dst, int *err)
{
	struct velo_wire_stack *st;
	struct velo_ctrl *ctrl;
	int oif = 0;

	/* a stack's ctrl is kept current by its thread: ask the first one (cached routes) */
	pthread_mutex_lock(&stacks_lock);
	st = stacks;
	pthread_mutex_unlock(&stacks_lock);
	if (st) {
		pthread_mutex_lock(&st->lock);
		oif = route_oif(st->ctrl, dst);
		pthread_mutex_unlock(&st->lock);
	} else {
		ctrl = velo_ctrl_open(err);
		if (!ctrl)
			return NULL;
		oif = route_oif(ctrl, dst);
		velo_ctrl_close(ctrl);
	}
	if (oif < 0) {
		*err = oif;
		return NULL;
	}
	return velo_wire_stack_of(oif, err);
}

/* After the last close: frames flow until quiet for QUIET_NS, at most DRAIN_MAX_NS. */
#define QUIET_NS (10 * 1000000u)
#define DRAIN_MAX_NS (200 * 1000000u)

/* Lets the FINs leave and their ACKs come back before the XSKs go; lock held. */
static void drain(struct velo_wire_stack *st)
{
	uint64_t start = wire_now(), quiet_since = start, frames = 0, now;

	while ((now = wire_now()) - start < DRAIN_MAX_NS && now - quiet_since < QUIET_NS) {
		wire_progress(st);
		if (st->stats.rx_frames + st->stats.tx_frames != frames) {
			frames = st->stats.rx_frames + st->stats.tx_frames;
			quiet_since = now;
		}
		pthread_mutex_unlock(&st->lock);
		usleep(1000);
		pthread_mutex_lock(&st->lock);
	}
}

/*
 * The connections the application closed that still owe the peer data, a
 * FIN or the ACK of its FIN go to the kernel's TCP as orphans there, which
 * it keeps going after their process is gone, as it does its own: else
 * the peer's next segment found no socket and got a RST, and data not yet
 * sent was lost. Fresh kernel sockets take them (TCP_REPAIR, handoff.c):
 * without CAP_NET_ADMIN they end with the stack as before.
 */
static void orphans_to_kernel(struct velo_wire_stack *st)
{
	struct vtcp_export x;
	long fd;

	for (int s = vtcp_orphan_next(st->eng, -1); s >= 0; s = vtcp_orphan_next(st->eng, s)) {
		if (vtcp_export(st->eng, s, &x))
			continue;
		/* past the interposer: the socket is no application's */
		fd = syscall(SYS_socket, x.local.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		/* an orphan refuses nothing: its close took what was refused inline */
		if (!wire_repair_into((int)fd, &x, st->ifindex, NULL)) {
			vtcp_release_moved(st->eng, s);
			wire_holds_drop_port(st, (struct sockaddr *)&x.local);
			st->stats.moved_to_kernel++;
		}
		syscall(SYS_close, fd);
	}
}

/*
 * Ends the process's connections as the kernel would at close, stops the
 * thread and closes the XSKs. Returns with the lock held: a thread still
 * inside the stack waits on it.
 */
static void stack_end(struct velo_wire_stack *st)
{
	struct velo_wire_stack **pp;

	pthread_mutex_lock(&stacks_lock);
	for (pp = &stacks; *pp && *pp != st; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = st->next;
	pthread_mutex_unlock(&stacks_lock);

	for (unsigned int s = 0; s < st->cfg.max_sockets; s++)
		velo_wire_close(st, (int)s); /* -EBADF for unused handles */
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	pthread_mutex_unlock(&st->lock);
	if (write(st->kick_fd, &(uint64_t){ 1 }, 8) < 0)
		velo_dbg("wire: kick: %s", strerror(errno));
	pthread_join(st->thread, NULL);
	pthread_mutex_lock(&st->lock);
	drain(st);
	orphans_to_kernel(st);
	wire_holds_expire(st, true);
	st->io->close(st);
}

void velo_wire_stack_destroy(struct velo_wire_stack *st)
{
	stack_end(st);
	pthread_mutex_unlock(&st->lock);
	stack_free(st);
}

/*
 * In a forked child: the stacks, their queues, threads and connections are
 * the parent's. Forget them without a frame or a close (the exit handler
 * would end the parent's connections), and with a fresh lock: another
 * thread of the parent may have held it at fork.
 */
void velo_wire_forget_all(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	memcpy(&stacks_lock, &fresh, sizeof(fresh));
	stacks = NULL;
	wire_keeper_forget();
}

void velo_wire_orphans_to_kernel(void)
{
	struct velo_wire_stack *st;

	pthread_mutex_lock(&stacks_lock);
	for (st = stacks; st; st = st->next) {
		pthread_mutex_lock(&st->lock);
		wire_progress(st); /* the segments that came, first */
		orphans_to_kernel(st);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(&stacks_lock);
}

bool velo_wire_listen_steered(const struct sockaddr *self, bool dual)
{
	struct velo_wire_stack *st;
	bool held = false;

	pthread_mutex_lock(&stacks_lock);
	for (st = stacks; st && !held; st = st->next) {
		pthread_mutex_lock(&st->lock);
		held = wire_listen_held(st, self, dual);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(&stacks_lock);
	return held;
}

/* Like velo_wire_shutdown_all, but threads of the exiting process may still be inside. */
static void at_exit(void)
{
	struct velo_wire_stack *st;

	for (;;) {
		pthread_mutex_lock(&stacks_lock);
		st = stacks;
		pthread_mutex_unlock(&stacks_lock);
		if (!st)
			return;
		stack_end(st); /* left locked; the memory goes with the process */
	}
}

void velo_wire_shutdown_all(void)
{
	struct velo_wire_stack *st;

	for (;;) {
		pthread_mutex_lock(&stacks_lock);
		st = stacks;
		pthread_mutex_unlock(&stacks_lock);
		if (!st)
			return;
		velo_wire_stack_destroy(st);
	}
}

/* Bounded: a flood must not starve timers and transmission. */
static void rx_queue(struct velo_wire_stack *st, unsigned int q, uint64_t now)
{
	unsigned int n, round;

	for (round = 0; round < 4 && (n = st->io->rx(st, q, now)); round++)
		st->stats.rx_frames += n;
	/* SO_INCOMING_CPU: where segments were last taken in (rseq: no system call) */
	if (round)
		st->rx_cpu = sched_getcpu();
}

void wire_progress(struct velo_wire_stack *st)
{
	uint64_t now = wire_now();

	for (unsigned int q = 0; q < st->nq; q++)
		rx_queue(st, q, now);
	vtcp_poll(st->eng, now, st->io->tx_frame, st);
	/* a passive open routed its SYN-ACK: the kernel may know that peer already */
	if (st->neigh_new) {
		wire_neigh_refresh(st);
		vtcp_poll(st->eng, now, st->io->tx_frame, st);
	}
	st->io->tx_flush(st);
	/* an app thread moved the next deadline before the sleeper's: wake it */
	if (vtcp_next_deadline(st->eng) < st->sleep_until &&
	    write(st->kick_fd, &(uint64_t){ 1 }, 8) == 8)
		st->sleep_until = 0;
}

static void progress_sleep(struct velo_wire_stack *st, uint64_t deadline)
{
	struct pollfd pfd[WIRE_MAX_QUEUES + 2];
	struct timespec ts, *tsp = NULL;
	uint64_t now = wire_now(), drain;
	unsigned int n = 0;

	for (unsigned int q = 0; q < st->nq; q++)
		pfd[n++] = (struct pollfd){ .fd = st->io->sleep_fd(st, q), .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = velo_ctrl_fd(st->ctrl), .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = st->kick_fd, .events = POLLIN };
	if (deadline != UINT64_MAX) {
		uint64_t d = deadline > now ? deadline - now : 0;

		ts = (struct timespec){ .tv_sec = (time_t)(d / 1000000000u),
					.tv_nsec = (long)(d % 1000000000u) };
		tsp = &ts;
	}
	st->sleep_until = deadline;
	pthread_mutex_unlock(&st->lock);
	ppoll(pfd, n, tsp, NULL);
	if (read(st->kick_fd, &drain, 8) < 0 && errno != EAGAIN)
		velo_dbg("wire: kick fd: %s", strerror(errno));
	pthread_mutex_lock(&st->lock);
	st->sleep_until = 0;
	if (pfd[n - 2].revents & POLLIN)
		wire_net_sync(st);
}

/* Holds of closed connections are checked once a second. */
#define EXPIRE_PERIOD_NS 1000000000u

static void *progress_main(void *arg)
{
	struct velo_wire_stack *st = arg;
	uint64_t next_expire = 0, deadline;

	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		wire_progress(st);
		st->stats.wakeups++;
		if (wire_now() >= next_expire) {
			wire_holds_expire(st, false);
			wire_sysctls_refresh(st);
			next_expire = wire_now() + EXPIRE_PERIOD_NS;
		}
		deadline = vtcp_next_deadline(st->eng);
		if (deadline > next_expire)
			deadline = next_expire;
		progress_sleep(st, deadline);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

void velo_wire_get_stats(struct velo_wire_stack *st, struct velo_wire_stats *s)
{
	pthread_mutex_lock(&st->lock);
	*s = st->stats;
	s->backend = st->io->kind;
	st->io->stats(st, s);
	pthread_mutex_unlock(&st->lock);
}
