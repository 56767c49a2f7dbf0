// SPDX-License-Identifier: GPL-2.0
/*
 * The port keeper: where the stacks' port reservations live. A reservation
 * is a kernel TCP socket bound to the port (ports.c). Kept in the
 * application's own fd table, each connection lingering in TIME_WAIT would
 * hold one of the application's fds for a minute: thousands for a busy
 * client, EMFILE under the usual limit of 1024, and fd counts unlike the
 * kernel's. The keeper is a small process cloned from the application (a
 * raw clone: no atfork handler runs, no SIGCHLD reaches the application),
 * in its network namespace, that makes, holds and closes those sockets on
 * request over a SOCK_SEQPACKET socketpair: one private fd here. It ends
 * when that socketpair closes (the application exited, exec'd or was
 * killed), so the ports are free at once, as the kernel frees its own.
 * Without a keeper (clone refused), reservations are private fds.
 */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "wire/priv.h"

/* A reservation the keeper holds: its fd number there, with this bit. */
#define KEEPER_HANDLE 0x40000000
#define KEEPER_STACK (64 * 1024)

enum keeper_op { KEEPER_RESERVE = 1, KEEPER_RELEASE };

struct keeper_msg {
	uint32_t op;
	int32_t id;			/* RELEASE: the socket; reply: it, or -errno */
	uint16_t port;			/* reply: the port it is bound to */
	struct sockaddr_storage addr;	/* RESERVE: where (port 0: the kernel picks) */
};

static pthread_mutex_t keeper_lock = PTHREAD_MUTEX_INITIALIZER;
static int keeper_fd = -1;
static pid_t keeper_pid_of;		/* the process keeper_fd serves */
static uint64_t keeper_netns;		/* and the network namespace it is in */
static bool keeper_refused;

/*
 * The keeper shares the application's memory (CLONE_VM: it keeps none of
 * its mappings alive, AF_XDP rings included), but not its threads: its
 * thread pointer is that of the thread that made it, whose TLS may be gone
 * by now. So what runs in it makes raw system calls (no errno) and has no
 * stack protector (no canary read from TLS).
 */
#define KEEPER_CODE __attribute__((no_stack_protector))

#if defined(__x86_64__)
KEEPER_CODE static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define KEEPER_POSSIBLE true
#else
KEEPER_CODE static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	(void)n, (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
	return -ENOSYS;
}
#define KEEPER_POSSIBLE false
#endif

#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/*
 * Binds a kernel TCP socket to @a; returns it, with its port in *@port, or
 * -errno. Also run by the keeper; past the interposer here: the socket is
 * no application's.
 */
KEEPER_CODE static int port_socket(const struct sockaddr *a, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = a->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);
	long fd = sys(SYS_socket, a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), err;
	int one = 1;

	if (fd < 0)
		return (int)fd;
	/* the v6 wildcard would also take the v4 port: stay in the family */
	if (a->sa_family == AF_INET6)
		sys6(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_V6ONLY, (long)&one, sizeof(one), 0);
	err = sys(SYS_bind, fd, a, len);
	if (!err)
		err = sys(SYS_getsockname, fd, &ss, &len);
	if (err) {
		sys(SYS_close, fd, 0, 0);
		return (int)err;
	}
	/* sin_port and sin6_port share their offset */
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return (int)fd;
}

KEEPER_CODE static void keeper_serve(int sock)
{
	struct keeper_msg m;
	long n;

	for (;;) {
		n = sys6(SYS_recvfrom, sock, (long)&m, sizeof(m), 0, 0, 0);
		if (n == 0 || (n < 0 && n != -EINTR))
			sys(SYS_exit, 0, 0, 0);
		if (n != sizeof(m))
			continue;
		if (m.op == KEEPER_RESERVE) {
			m.id = port_socket((struct sockaddr *)&m.addr, &m.port);
			sys6(SYS_sendto, sock, (long)&m, sizeof(m), MSG_NOSIGNAL, 0, 0);
		} else if (m.op == KEEPER_RELEASE && m.id != sock && m.id >= 0) {
			sys(SYS_close, m.id, 0, 0);
		}
	}
}

/*
 * The keeper itself: it gives up the copies of the application's fds it
 * started with, and its signals and cwd, lifts its fd limit, and serves.
 */
KEEPER_CODE static int keeper_main(void *arg)
{
	int sock = (int)(intptr_t)arg;
	struct rlimit rl = { 0 };
	uint64_t all = ~0ull;

	sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, sizeof(all), 0, 0);
	sys6(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl, 0, 0);
	if ((sock > 0 && sys(SYS_close_range, 0, sock - 1, 0)) ||
	    sys(SYS_close_range, sock + 1, ~0u, 0)) {
		for (rlim_t fd = 0; fd < rl.rlim_cur; fd++) /* before Linux 5.9 */
			if ((int)fd != sock)
				sys(SYS_close, fd, 0, 0);
	}
	sys(SYS_chdir, "/", 0, 0);
	sys6(SYS_prctl, PR_SET_NAME, (long)"velo-keeper", 0, 0, 0, 0);
	rl.rlim_cur = rl.rlim_max;
	sys6(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&rl, 0, 0, 0);
	keeper_serve(sock);
	return 0;
}

static void *keeper_stack;

/*
 * The first clone only makes the keeper and leaves, so that init, not the
 * application, is the keeper's parent (no zombie of ours when it ends).
 */
KEEPER_CODE static int keeper_launch(void *arg)
{
	clone(keeper_main, (char *)keeper_stack + KEEPER_STACK, CLONE_VM, arg);
	return 0;
}

/* The calling thread's network namespace (setns() is per thread); 0 if unknown. */
static uint64_t netns_of_thread(void)
{
	struct stat sb;

	return stat("/proc/thread-self/ns/net", &sb) ? 0 : (uint64_t)sb.st_ino;
}

static int keeper_start(void)
{
	void *launch_stack;
	int sv[2], pid;

	if (!KEEPER_POSSIBLE)
		return -ENOSYS;
	keeper_stack = mmap(NULL, 2 * KEEPER_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (keeper_stack == MAP_FAILED)
		return -ENOMEM;
	launch_stack = (char *)keeper_stack + 2 * KEEPER_STACK;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		munmap(keeper_stack, 2 * KEEPER_STACK);
		return -errno;
	}
	/* exit signal 0: the application gets no SIGCHLD, its wait() skips it */
	pid = clone(keeper_launch, launch_stack, CLONE_VM, (void *)(intptr_t)sv[1]);
	if (pid > 0)
		syscall(SYS_wait4, pid, NULL, __WALL, NULL);
	syscall(SYS_close, sv[1]);
	if (pid < 0) {
		syscall(SYS_close, sv[0]);
		munmap(keeper_stack, 2 * KEEPER_STACK);
		return -EPERM;
	}
	velo_fd_private(sv[0], &keeper_fd);
	keeper_pid_of = getpid();
	keeper_netns = netns_of_thread();
	velo_dbg("wire: port reservations are kept by a keeper process");
	return 0;
}

/* One request, and its reply if it has one; keeper_lock held. */
static int keeper_call(struct keeper_msg *m, bool reply)
{
	long n;

	do
		n = syscall(SYS_sendto, keeper_fd, m, sizeof(*m), MSG_NOSIGNAL, NULL, 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*m))
		return -EPIPE;
	if (!reply)
		return 0;
	do
		n = syscall(SYS_recvfrom, keeper_fd, m, sizeof(*m), 0, NULL, NULL);
	while (n < 0 && errno == EINTR);
	return n == sizeof(*m) ? 0 : -EPIPE;
}

/* The keeper's reservation of @a: its handle, or -errno (-ENOSYS: no keeper). */
static int keeper_reserve(const struct sockaddr *a, uint16_t *port)
{
	struct keeper_msg m = { .op = KEEPER_RESERVE };
	int err = 0;

	memcpy(&m.addr, a, a->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6));
	pthread_mutex_lock(&keeper_lock);
	if (keeper_fd >= 0 && keeper_pid_of != getpid()) { /* forked without libvelo's atfork */
		velo_fd_close(keeper_fd);
		keeper_fd = -1;
	}
	if (keeper_fd < 0 && !keeper_refused) {
		err = keeper_start();
		keeper_refused = err != 0;
		if (err)
			velo_dbg("wire: no keeper process (%s): reservations are our own fds",
				 strerror(-err));
	}
	/* the keeper's ports are in its own namespace: elsewhere, a socket of ours */
	if (keeper_fd < 0 || netns_of_thread() != keeper_netns)
		err = -ENOSYS;
	if (!err && keeper_call(&m, true)) {
		velo_warn("wire: the port keeper is gone: reservations are our own fds now");
		velo_fd_close(keeper_fd);
		keeper_fd = -1;
		keeper_refused = true;
		err = -ENOSYS;
	}
	pthread_mutex_unlock(&keeper_lock);
	if (err)
		return err;
	if (m.id < 0)
		return m.id;
	*port = m.port;
	return m.id | KEEPER_HANDLE;
}

/*
 * Reserves @a's port (port 0: the kernel picks one within
 * ip_local_port_range, outside ip_local_reserved_ports). Returns the
 * reservation's handle, with the port in *port, or -errno.
 */
int wire_port_reserve(const struct sockaddr *a, uint16_t *port)
{
	int resv = keeper_reserve(a, port);

	if (resv != -ENOSYS)
		return resv;
	resv = port_socket(a, port);
	return resv < 0 ? resv : velo_fd_private(resv, NULL);
}

void wire_port_release(int resv)
{
	struct keeper_msg m = { .op = KEEPER_RELEASE, .id = resv & ~KEEPER_HANDLE };

	if (resv < 0)
		return;
	if (!(resv & KEEPER_HANDLE)) {
		velo_fd_close(resv);
		return;
	}
	pthread_mutex_lock(&keeper_lock);
	if (keeper_fd >= 0 && keeper_pid_of == getpid())
		keeper_call(&m, false);
	pthread_mutex_unlock(&keeper_lock);
}

/*
 * In a forked child: the keeper serves the parent. Its copy of the
 * socketpair is closed here (the keeper must end with the parent) and
 * the child starts its own when it needs one.
 */
void wire_keeper_forget(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	memcpy(&keeper_lock, &fresh, sizeof(fresh));
	velo_fd_close(keeper_fd);
	keeper_fd = -1;
	keeper_refused = false;
}
