/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvelo internals.
 *
 * fd table: fd -> struct vsock (process-local view of one kernel socket
 * file), plus a generation counter per fd number for epoll's stale-event
 * guard. dup'ed fds point to the same vsock. Everything that must be shared
 * by every holder of the socket file (other processes after fork, exec or
 * SCM_RIGHTS) lives in the loopback channel, which is keyed by the kernel
 * sockets' identities (SO_COOKIE of both ends), never by fd numbers.
 *
 * Backends: a vsock is KERNEL (passthrough: every call goes to libc),
 * PENDING (TCP not connected yet: kernel, attach attempted when it
 * connects), LISTEN (kernel) or LOOP (attached to a shared-memory channel
 * with a local velo peer) or WIRE (connected by velo's engine on an AF_XDP
 * interface, wire.c; experimental, VELO_WIRE=on).
 */
#ifndef VELO_PRELOAD_VELO_H
#define VELO_PRELOAD_VELO_H

#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/chan.h"
#include "common/config.h"
#include "common/log.h"
#include "common/stats.h"

#define VELO_EXPORT __attribute__((visibility("default")))

/* ---- real libc functions ---- */
#define VELO_REAL_LIST(X)                                                      \
	X(socket) X(socketpair) X(bind) X(listen) X(accept) X(accept4) X(connect) \
	X(shutdown) X(close) X(fclose) X(read) X(readv) X(recv) X(recvfrom)   \
	X(recvmsg) X(recvmmsg) X(write) X(writev) X(send) X(sendto) X(sendmsg) \
	X(sendmmsg) X(sendfile) X(sendfile64) X(splice) X(getsockname)        \
	X(getpeername) X(getsockopt) X(setsockopt) X(fcntl) X(fcntl64) X(ioctl) \
	X(dup) X(dup2) X(dup3) X(fork) X(execve) X(execvpe) X(fexecve)        \
	X(epoll_create) X(epoll_create1) X(epoll_ctl) X(epoll_wait)           \
	X(epoll_pwait) X(epoll_pwait2) X(poll) X(ppoll) X(select) X(pselect)  \
	X(open) X(open64) X(openat) X(openat64) X(pipe) X(pipe2) X(eventfd)   \
	X(posix_spawn) X(posix_spawnp) X(_exit) X(_Exit) X(fdopen) X(vdprintf)  \
	X(preadv2) X(pwritev2) X(pidfd_getfd)

enum {
#define X(n) VR_##n,
	VELO_REAL_LIST(X)
#undef X
	VR_MAX
};

extern void *velo_real_tab[VR_MAX];
void *velo_real_resolve(int idx);
void velo_real_init(void);

#define REAL(n)                                                              \
	((__typeof__(&n))(__atomic_load_n(&velo_real_tab[VR_##n], __ATOMIC_RELAXED) ?: \
			  velo_real_resolve(VR_##n)))

/* ---- sockets ---- */
struct vepoll;
struct ep_reg;
struct velo_wire_stack;

/* Events a poll() can wait for on a WIRE socket, each counted (vsock.pollers). */
#define VELO_POLLERS 3

struct vsock {
	_Atomic int refs;       /* fd-table entries + users in flight */
	_Atomic int fdrefs;     /* fd-table entries only */
	_Atomic uint32_t state; /* enum velo_sock_state */
	uint64_t ino;
	int family;
	pthread_mutex_t mu;     /* attach, epoll registrations */
	/* LOOP backend */
	struct velo_chan *ch;
	int end;                /* our end index in ch */
	uint64_t cookie, peer_cookie;
	struct sockaddr_storage self_addr, peer_addr;
	char path[128];
	unsigned int attach_tries;
	_Atomic int pend_err;   /* kernel error consumed while draining doorbells */
	_Atomic uint32_t sndbuf, rcvbuf; /* set by the app before attaching */
	/* what Linux's receive autotuning would grow SO_RCVBUF to (loop_drs()) */
	uint64_t drs_read, drs_seq, drs_ns;
	uint32_t drs_space;
	_Atomic int drs_rcvbuf;
	_Atomic bool released;  /* this process's last fd closed */
	_Atomic bool kernel_tcp; /* an option only the kernel's TCP has was set: no engine */
	_Atomic bool ring_unfit; /* an option the loopback rings do not keep: no ring */
	_Atomic bool nested_kick; /* kicked to show a nested set ready (velo_epoll_ring_read) */
	uint64_t abort_limit;   /* peer reset: ring data kept up to here (0: unset) */
	_Atomic int vreset;     /* peer gone with our data unread: 1 reset pending, 2 reported */
	bool rule_checked;
	bool accepted;          /* from accept(): rules match the local address */
	/* WIRE backend: the engine socket, and the file's state it needs per call */
	struct velo_wire_stack *wst;
	int ws;
	_Atomic bool w_nonblock;
	_Atomic int w_rcvtimeo, w_sndtimeo; /* ms, -1: none */
	uint32_t w_flowinfo;    /* IPV6_FLOWINFO_SEND: connect's sin6_flowinfo (network order) */
	bool w_v4mapped;        /* an AF_INET6 socket's connection is IPv4 (::ffff:a.b.c.d) */
	/* a listener: the engine's listeners beside the kernel's (made at first accept) */
	struct velo_wire_listener *_Atomic wl;
	bool w_listen_tried;
	/* statistics slot, -1 if none */
	int slot;
	/* epoll registrations of this socket (to switch them on attach) */
	struct ep_reg *regs;
	/* poll()/select() calls asleep on it now, per event (under mu) */
	unsigned int pollers[VELO_POLLERS];
};

/*
 * Waited on through velo's own fd (wire.c), not the kernel socket: a WIRE
 * socket, or a listener that also accepts from the engine.
 */
static inline bool velo_vs_wired(struct vsock *vs)
{
	uint32_t st = atomic_load(&vs->state);

	return st == VELO_SS_WIRE || (st == VELO_SS_LISTEN && atomic_load(&vs->wl));
}

/*
 * Linux's struct tcp_info up to 6.7 (uapi linux/tcp.h); glibc's, the
 * first member, stops at tcpi_total_retrans. A kernel's getsockopt()
 * copies min(optlen, its own size): a later kernel's extra fields read 0.
 */
struct linux_tcp_info {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd, rcv_wnd, rehash;
	uint16_t total_rto, total_rto_recoveries;
	uint32_t total_rto_time;
	uint8_t later[256];
};

static inline struct velo_chan_dir *vs_in(struct vsock *vs)
{
	return &vs->ch->dir[!vs->end];
}

static inline struct velo_chan_dir *vs_out(struct vsock *vs)
{
	return &vs->ch->dir[vs->end];
}

/* Whether [p, p + len) is mapped with @prot (PROT_READ or PROT_WRITE): umem.c */
bool velo_umem_mapped(const void *p, size_t len, int prot);
/* How much of [p, p + len), from p, is mapped with @prot. */
size_t velo_umem_mapped_prefix(const void *p, size_t len, int prot);
/*
 * *len: how much of a write from @iov Linux's TCP would take before a
 * bad buffer stops it (all of it if none); false: EFAULT, nothing.
 */
bool velo_send_extent(const struct iovec *iov, int cnt, size_t *len);
/* (Re)opens the maps file it reads: at load, and in a forked child. */
void velo_umem_init(void);

/* The end of the user address range: x86-64's TASK_SIZE_MAX. */
#define VELO_USER_TOP 0x7ffffffff000ull

/* access_ok(): [p, p + len) lies in the user address range. */
static inline bool velo_access_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	return a + len >= a && a + len <= VELO_USER_TOP;
}

/*
 * A user pointer the kernel would answer with EFAULT: outside the user
 * address range (all that @prot 0 asks, as access_ok()), or not mapped
 * readable (writable for velo_bad_wrange). Checked before velo itself
 * copies from or to it: a copy would crash.
 */
static inline bool velo_bad_range_prot(const void *p, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)p;

	if (!len)
		return false;
	return a < 65536 || !velo_access_ok(p, len) || (prot && !velo_umem_mapped(p, len, prot));
}

static inline bool velo_bad_range(const void *p, size_t len)
{
	return velo_bad_range_prot(p, len, PROT_READ);
}

static inline bool velo_bad_wrange(const void *p, size_t len)
{
	return velo_bad_range_prot(p, len, PROT_WRITE);
}

/* Linux's MAX_RW_COUNT: no read or write moves more in one call. */
#define VELO_MAX_RW ((size_t)INT_MAX & ~(size_t)4095)

static inline size_t velo_rw_count(size_t n)
{
	return n > VELO_MAX_RW ? VELO_MAX_RW : n;
}

/* How much of [p, p + len), from p, the kernel could read (see above). */
static inline size_t velo_readable_prefix(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, top = VELO_USER_TOP;

	if (!len || a < 65536 || a >= top)
		return 0;
	if (len > top - a)
		len = top - a; /* what lies past the user range faults */
	return velo_umem_mapped_prefix(p, len, PROT_READ);
}

/* ---- fd table ---- */
struct vsock *velo_fd_get(int fd);       /* takes a reference, NULL if none */
bool velo_fd_names(int fd, struct vsock *vs); /* no reference taken */
/* The fd our fclose() is closing (it does velo's part), per thread; else -1. */
extern __thread int velo_fclose_fd;
/* Flush the streams fdopen() made on sockets (velo's destructor, before it lets go). */
void velo_stdio_flush(void);
void velo_vs_put(struct vsock *vs);
void velo_fd_install(int fd, struct vsock *vs); /* takes over a reference */
struct vsock *velo_fd_remove(int fd);    /* returns the table's reference */
void velo_fd_opened(int fd);             /* a new file got this fd number */
void velo_fd_closed(int fd);
uint32_t velo_fd_gen(int fd);
bool velo_fd_is_closed(int fd);
pid_t velo_fd_opener(int fd);
struct vepoll *velo_fd_epoll(int fd);
/* As velo_fd_epoll, with a reference the caller gives back (velo_epoll_put). */
struct vepoll *velo_fd_epoll_get(int fd);
void velo_fd_set_epoll(int fd, struct vepoll *ep);
void velo_fd_foreach(void (*fn)(int fd, struct vsock *vs, void *arg), void *arg);
bool velo_fd_any_loop(void);
void velo_fd_foreach_epoll(void (*fn)(int fd, struct vepoll *ep));
/* After fork: epolls are shared with another process, which sees only the kernel. */
void velo_epoll_after_fork(void);
/* exec: the epoll sets' watch areas and their claims on channel ends go */
void velo_epoll_before_exec(void);

struct vsock *velo_vs_new(int fd, int family, uint32_t state);
/* A socket the application just got (socket, accept): tracked from now on. */
void velo_track_new_socket(int fd, int domain, uint32_t state);

/* ---- global state ---- */
extern struct velo_config velo_cfg;
extern struct velo_stats *velo_st;
extern char velo_prog[64];
extern _Atomic bool velo_exiting;
extern atomic_uint velo_loop_count; /* LOOP sockets ever attached (fast-path hint) */
extern atomic_uint velo_wire_count; /* WIRE sockets ever made (fast-path hint) */

/* Whether any socket of this process was ever accelerated. */
static inline unsigned int velo_accel_count(void)
{
	return atomic_load_explicit(&velo_loop_count, memory_order_relaxed) |
	       atomic_load_explicit(&velo_wire_count, memory_order_relaxed);
}

static inline void velo_stat_add(enum velo_stat s, uint64_t v)
{
	if (velo_st)
		atomic_fetch_add_explicit(&velo_st->ctr[s], v, memory_order_relaxed);
}

void velo_slot_update(struct vsock *vs, int fd);
void velo_slot_free(struct vsock *vs);
pid_t velo_gettid(void);
/*
 * Adaptive busy-poll budget of this thread, at most VELO_SPIN_US: a spin
 * that found data doubles it, one that had to sleep halves it, so a busy
 * machine (the peer not running while we spin) converges to sleeping at
 * once instead of burning the CPU the peer needs.
 */
uint64_t velo_spin_budget(void);
void velo_spin_result(bool found);
void velo_init(void);

/* ---- loopback backend ---- */
/* Try to attach a PENDING TCP socket that has connected. */
void velo_loop_try_attach(struct vsock *vs, int fd);
ssize_t velo_loop_recv(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags);
ssize_t velo_loop_send(struct vsock *vs, int fd, const struct iovec *iov, int iovcnt, int flags);
/* Last reference of this end in this process is going away. */
/*
 * What velo needs after the real close() of an end's last local fd: only the
 * kernel knows whether the file is really released (it may be in flight in
 * SCM_RIGHTS or held by another process), so the end is marked closed only
 * once the kernel socket has left ESTABLISHED/CLOSE_WAIT.
 */
struct velo_closing {
	struct velo_chan *ch;
	int end;
	uint64_t cookie;
	struct sockaddr_storage self, peer;
	char path[128];
	bool unmap;
};
/*
 * fd < 0: not usable. unmap: no other thread is inside a call on this socket
 * (otherwise the mapping stays, a thread that longjmp'ed out of a call
 * must not make us unmap under another one). Returns true when cl was
 * filled (call velo_loop_closed after the real close).
 */
bool velo_loop_release(struct vsock *vs, int fd, bool exec, struct velo_closing *cl, bool unmap);
void velo_loop_closed(struct velo_closing *cl);
void velo_loop_gc(unsigned int budget);
void velo_loop_after_fork(struct vsock *vs);
void velo_loop_shutdown(struct vsock *vs, int how);
void velo_loop_shutdown_begin(struct vsock *vs, int fd, int how, uint32_t *was);
void velo_loop_shutdown_failed(struct vsock *vs, uint32_t was);
void velo_loop_set_nonblock(struct vsock *vs, bool nb);
void velo_loop_set_async(struct vsock *vs, bool on);
void velo_loop_set_ring_always(struct vsock *vs);
/* This end's writer found its ring full (EPOLLET's EPOLLOUT edges count these). */
void velo_loop_note_nospace(struct vsock *vs);
uint32_t velo_loop_nospace(struct vsock *vs);
/* POLLOUT while the kernel decides it (no ring write yet, or SHUT_WR), else 0. */
uint32_t velo_loop_kernel_pollout(struct vsock *vs, int kfd);
void velo_loop_set_rcvlowat(struct vsock *vs, int v);
void velo_loop_to_kernel(struct vsock *vs, int fd);
void velo_loop_to_kernel_settled(struct vsock *vs, int fd);
/*
 * The calling thread is about to hold counts across a kernel sleep: they go
 * back if it exits in it (init.c; loop.c and mux.c give theirs back).
 */
void velo_thread_sleeps(void);
void velo_loop_thread_exit(void);
void velo_mux_thread_exit(void);
/* io_uring (uring.c): every socket is the kernel's, now and from now on. */
void velo_accel_end(const char *why);
/* At load: a program linked with liburing gets the kernel's sockets. */
void velo_uring_check(void);
void velo_loop_disconnected(struct vsock *vs, int fd);
bool velo_loop_unfit_option(int level, int name, const void *v, socklen_t l);
int velo_loop_set_peek_off(struct vsock *vs, int fd, const void *v, socklen_t l);
/*
 * Options the channel end keeps for the app (SO_PEEK_OFF; TCP_NODELAY and
 * TCP_CORK once the kernel socket rings doorbells): true when handled, the
 * result in *r.
 */
bool velo_loop_getsockopt(struct vsock *vs, int fd, int level, int name, void *v,
			  socklen_t *l, int *r);
bool velo_loop_setsockopt(struct vsock *vs, int fd, int level, int name, const void *v,
			  socklen_t l, int *r);
bool velo_loop_in_plain(struct vsock *vs);
/* The app set SO_SNDBUF/SO_RCVBUF: the ring holds no more than the kernel would. */
void velo_loop_set_buf(struct vsock *vs, int fd, int name);
/*
 * Readiness of a LOOP socket: ring part (no system call) merged with the
 * kernel's revents (kev, from poll/epoll; doorbell-only POLLIN is dropped).
 */
uint32_t velo_loop_ring_events(struct vsock *vs);
uint32_t velo_loop_kernel_events(struct vsock *vs, int fd, uint32_t kev);
/* Ask the peer to ring the doorbell on new data (want_out: on ring space). */
void velo_loop_arm(struct vsock *vs, bool want_out);
void velo_loop_disarm(struct vsock *vs, bool want_out);
int velo_loop_fionread(struct vsock *vs, int fd, int *out);
int velo_loop_outq(struct vsock *vs, int fd, unsigned long req, int *out);
/* SIOCATMARK: the urgent mark lies past everything the ring holds. */
int velo_loop_atmark(struct vsock *vs, int fd, int *out);

/* ---- wire backend (wire.c) ---- */
/* connect() of a PENDING socket: true when the engine took it (*ret set). */
bool velo_wire_try_connect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l,
			   int *ret);
int velo_wire_vs_connect(struct vsock *vs, int fd, const struct sockaddr *a, socklen_t l);
/* Is the WIRE socket's connect still in its handshake (SYN_SENT)? */
bool velo_wire_vs_connecting(struct vsock *vs);
/*
 * accept() on a listener: true when velo answered (*ret: the new fd, or -1
 * and errno), false when the kernel's accept must (a connection is waiting
 * there, or the engine does not listen for this socket).
 */
bool velo_wire_vs_accept(struct vsock *vs, int fd, struct sockaddr *a, socklen_t *l, int flags,
			 int *ret);
/*
 * listen() succeeded: the engine listens beside at once if this process's
 * wire stacks still steer the address's SYNs to themselves (else at the
 * first accept()).
 */
void velo_wire_vs_listened(struct vsock *vs, int fd);
/* The listener stops listening (closed, shut down, exec): the engine's listeners go. */
void velo_wire_vs_unlisten(struct vsock *vs);
/* The socket is freed: what wire.c kept for it goes. */
void velo_wire_vs_free(struct vsock *vs);
ssize_t velo_wire_vs_recv(struct vsock *vs, int fd, const struct iovec *iov, int cnt, int flags);
ssize_t velo_wire_vs_send(struct vsock *vs, const struct iovec *iov, int cnt, int flags);
int velo_wire_vs_shutdown(struct vsock *vs, int how);
/* The socket's last fd in this process closed. */
void velo_wire_vs_close(struct vsock *vs);
/* Another thread is asleep in a call on it (its close waits for that call). */
bool velo_wire_vs_busy(struct vsock *vs);
int velo_wire_vs_name(struct vsock *vs, bool peer, struct sockaddr *a, socklen_t *l);
/* SIOCINQ (FIONREAD), SIOCOUTQ, SIOCOUTQNSD of a wire connection, into *v. */
int velo_wire_vs_queue_ioctl(struct vsock *vs, unsigned long req, int *v);
/*
 * Whether setting @name to @v asks for what only the kernel's TCP does
 * (send and receive timestamps, zero-copy sends, kTLS and other upper
 * layers, TCP-MD5, repair, TCP_INQ's control message, fast open): the connection
 * moves to the kernel, and the socket's later ones stay there.
 */
bool velo_wire_kernel_option(int level, int name, const void *v, socklen_t l);
bool velo_wire_vs_getsockopt(struct vsock *vs, int fd, int level, int name, void *v,
			     socklen_t *l, int *ret);
/*
 * The app changed an option of the kernel socket: mirror it to the engine
 * (a wire connection's socket, or a listener's engine listeners; else nothing).
 */
void velo_wire_vs_sockopt_changed(struct vsock *vs, int fd, int level, int name);
/* An option value the connection refuses (EINVAL) before the kernel socket sees it. */
bool velo_wire_vs_sockopt_refused(struct vsock *vs, int level, int name, const void *v,
				  socklen_t l);
void velo_wire_vs_set_nonblock(struct vsock *vs, bool nb);
/* In a forked child: the connection stays the parent's (calls: ENOTCONN). */
void velo_wire_vs_after_fork(struct vsock *vs);
bool velo_wire_vs_to_kernel(struct vsock *vs, int fd);
/*
 * Urgent data came (velo_wire_vs_events says POLLPRI): the connection goes
 * to the kernel, or the engine takes the data inline. From the
 * application's call on @fd (-1: inline), no lock held; true: moved.
 */
bool velo_wire_vs_urgent(struct vsock *vs, int fd);
/* Every WIRE connection (@inheritable_only: with an fd without CLOEXEC) to the kernel. */
void velo_wire_hand_over(bool inheritable_only);
/* At exit: every WIRE connection to the kernel, which finishes it as Linux. */
void velo_wire_exit_hand_over(void);
/* The process ends (exit, _exit): its loopback channel ends are let go. */
void velo_loop_exit_release(void);
/*
 * poll: the fd to wait on in place of the socket, and the socket's events
 * (POLLPRI: urgent data came, see velo_wire_vs_urgent).
 */
int velo_wire_vs_wait_fd(struct vsock *vs, uint32_t events);
uint32_t velo_wire_vs_events(struct vsock *vs);

/* ---- multiplexers ---- */
void velo_epoll_fd_closed(int fd);
void velo_epoll_vs_fd_closed(struct vsock *vs, int fd, bool last);
void velo_adopt_inherited(void);
void velo_epoll_socket_attached(struct vsock *vs);
void velo_epoll_socket_detached(struct vsock *vs);
/* The app read from vs's ring: a kick that showed a nested set ready may go. */
void velo_epoll_ring_read(struct vsock *vs);
/* The socket became WIRE: move its epoll registrations to its eventfd. */
void velo_epoll_socket_wired(struct vsock *vs);
void velo_epoll_socket_unwired(struct vsock *vs);
/* The eventfd to wait on for a WIRE socket, interest: epolls', polls' and extra. */
int velo_epoll_wire_wait_fd(struct vsock *vs, uint32_t extra);
void velo_epoll_hold(struct vepoll *ep);
/* Gives back a reference; the last one (the fd's, or a call's) frees the set. */
void velo_epoll_put(struct vepoll *ep);
/* The fd no longer names the set; calls still in it finish (velo_epoll_put). */
void velo_epoll_closed(struct vepoll *ep);

/* ---- signals ---- */
/* After EINTR of an internal timed wait: would the kernel have restarted? */
bool velo_all_handlers_restart(void);

#endif /* VELO_PRELOAD_VELO_H */
