// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XDP backend, sharing and lifetime: two owners on one interface keep
 * to their own flows and queues; the program outlives all but the last
 * owner; a SIGKILLed owner's leftovers are collected by the next opener;
 * a UMEM too big for RLIMIT_MEMLOCK fails clearly.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "xdp_lib.h"

static uint32_t sut_prog_id(void)
{
	uint32_t id = 0;

	net_enter(SUT);
	if (bpf_xdp_query_id((int)if_nametoindex(net.ifname[SUT]), 0, &id))
		return 0;
	return id;
}

/* The first frame the sut socket gets within ms is a SYN to `port`. */
static int gets_syn_to(struct velo_xsk *x, uint16_t port, int ms)
{
	uint8_t frame[2048];
	size_t len = xsk_recv(x, frame, sizeof(frame), ms);
	const uint8_t *tcp = tcp_of(frame, len);

	return tcp && (tcp[13] & TH_SYN) && port_at(tcp + 2) == port;
}

static struct seg syn_to(uint16_t port)
{
	return (struct seg){ .family = AF_INET, .from = PEER, .sport = 40010,
			     .dport = port, .flags = TH_SYN };
}

/*
 * Owner A on queue 0, owner B on queue 1, one program. A flow of B's that
 * arrives on A's queue is not shown to A. Closing A leaves B working.
 */
static int two_owners_one_interface(void)
{
	struct velo_xsk_flow fa = listener_of(AF_INET, 7001), fb = listener_of(AF_INET, 7002);
	struct velo_xsk *a, *b, *peer_q0, *peer_q1;
	struct velo_xsk_filter ha, hb, dup;
	struct seg to_a = syn_to(7001), to_b = syn_to(7002);
	struct velo_xsk_stats st;
	uint32_t prog;

	KTAP_EXPECT(open_xsk(SUT, 0, &a) == 0);
	prog = sut_prog_id();
	KTAP_EXPECT(prog != 0);
	KTAP_EXPECT(open_xsk(SUT, 1, &b) == 0);
	KTAP_EXPECT(sut_prog_id() == prog);
	KTAP_EXPECT(velo_xsk_filter_add(a, &fa, &ha) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(b, &fa, &dup) == -EEXIST);
	KTAP_EXPECT(velo_xsk_filter_add(b, &fb, &hb) == 0);
	/* a handle of A's means nothing to B */
	KTAP_EXPECT(velo_xsk_filter_remove(b, &ha) == -ENOENT);
	KTAP_EXPECT(open_xsk(PEER, 0, &peer_q0) == 0);
	KTAP_EXPECT(open_xsk(PEER, 1, &peer_q1) == 0);

	KTAP_EXPECT(xsk_send(peer_q0, &to_a) == 0);
	KTAP_EXPECT(gets_syn_to(a, 7001, 2000));
	KTAP_EXPECT(xsk_send(peer_q1, &to_b) == 0);
	KTAP_EXPECT(gets_syn_to(b, 7002, 2000));
	KTAP_EXPECT(xsk_send(peer_q0, &to_b) == 0);
	KTAP_EXPECT(!gets_syn_to(a, 7002, 300));
	velo_xsk_get_stats(a, &st);
	KTAP_EXPECT(st.foreign_queue >= 1);

	close_xsk(SUT, a);
	KTAP_EXPECT(sut_prog_id() == prog);
	KTAP_EXPECT(xsk_send(peer_q1, &to_b) == 0);
	KTAP_EXPECT(gets_syn_to(b, 7002, 2000));
	/* A's flows left with A */
	KTAP_EXPECT(velo_xsk_filter_add(b, &fa, &ha) == 0);
	close_xsk(SUT, b);
	KTAP_EXPECT(sut_prog_id() == 0);
	close_xsk(PEER, peer_q1);
	close_xsk(PEER, peer_q0);
	return KTAP_PASS;
}

/*
 * An owner killed with SIGKILL leaves the program attached and its flow
 * registered, but its XSK is gone: its flows reach the kernel (refused).
 * The next opener collects the leftovers and can take the same tuple.
 */
static int sigkilled_owner_collected(void)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, 7001);
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	int ready[2], fd;
	pid_t pid;
	char c;

	KTAP_EXPECT(pipe(ready) == 0);
	pid = fork();
	KTAP_EXPECT(pid >= 0);
	if (pid == 0) {
		if (open_xsk(SUT, 0, &x) || velo_xsk_filter_add(x, &flow, &h))
			_exit(1);
		write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	KTAP_EXPECT(read(ready[0], &c, 1) == 1);
	kill(pid, SIGKILL);
	KTAP_EXPECT(waitpid(pid, NULL, 0) == pid);
	KTAP_EXPECT(sut_prog_id() != 0);
	fd = kernel_connect(AF_INET, PEER, 0, 7001);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(connect_result(fd, 3000) == ECONNREFUSED);
	close(fd);

	KTAP_EXPECT(open_xsk(SUT, 0, &x) == 0);
	KTAP_EXPECT(velo_xsk_filter_add(x, &flow, &h) == 0);
	fd = kernel_connect(AF_INET, PEER, 0, 7001);
	KTAP_EXPECT(fd >= 0);
	KTAP_EXPECT(gets_syn_to(x, 7001, 2000));
	close(fd);
	close_xsk(SUT, x);
	KTAP_EXPECT(sut_prog_id() == 0);
	return KTAP_PASS;
}

/* Without CAP_IPC_LOCK the kernel charges the UMEM to RLIMIT_MEMLOCK. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	return (int)syscall(SYS_capset, &h, d);
}

static int memlock_too_small_fails_clearly(void)
{
	struct velo_xsk_config cfg = { .ifname = net.ifname[SUT], .frames = 2048 };
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
	struct velo_xsk *x;

	KTAP_EXPECT(drop_ipc_lock() == 0);
	KTAP_EXPECT(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	KTAP_EXPECT(velo_xsk_open(&cfg, &x) == -ENOMEM);
	/* nothing was left attached */
	KTAP_EXPECT(sut_prog_id() == 0);
	return KTAP_PASS;
}

/* One process's share of the churn: open, register, close, over and over. */
static void churn(uint32_t queue)
{
	struct velo_xsk_flow flow = listener_of(AF_INET, (uint16_t)(7100 + queue));
	struct velo_xsk_filter h;
	struct velo_xsk *x;
	int i;

	for (i = 0; i < 30; i++) {
		if (open_xsk(SUT, queue, &x))
			_exit(1);
		if (velo_xsk_filter_add(x, &flow, &h))
			_exit(2);
		close_xsk(SUT, x);
	}
	_exit(0);
}

/*
 * Two processes attach, join, leave and detach concurrently: the last one
 * out may detach while the other joins, which must then attach again.
 */
static int concurrent_open_close(void)
{
	pid_t pid[2];
	int i, status, failed = 0;

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		KTAP_EXPECT(pid[i] >= 0);
		if (pid[i] == 0)
			churn((uint32_t)i);
	}
	for (i = 0; i < 2; i++) {
		KTAP_EXPECT(waitpid(pid[i], &status, 0) == pid[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			ktap_diag("churn %d: status %#x", i, status);
			failed = 1;
		}
	}
	KTAP_EXPECT(!failed);
	KTAP_EXPECT(sut_prog_id() == 0);
	return KTAP_PASS;
}

/* An open that fails after attaching the program leaves nothing behind. */
static int failed_open_detaches(void)
{
	struct velo_xsk *x;

	/* a queue the single-queue veth does not have: bind fails */
	KTAP_EXPECT(open_xsk(SUT, 5, &x) != 0);
	KTAP_EXPECT(sut_prog_id() == 0);
	return KTAP_PASS;
}

static int two_owners(void) { return with_net(2, two_owners_one_interface); }
static int sigkill(void) { return with_net(1, sigkilled_owner_collected); }
static int memlock(void) { return with_net(1, memlock_too_small_fails_clearly); }
static int failed_open(void) { return with_net(1, failed_open_detaches); }
static int concurrent(void) { return with_net(2, concurrent_open_close); }

static const struct ktap_case cases[] = {
	{ "two_owners_one_interface_isolated", two_owners, 0 },
	{ "sigkilled_owner_leftovers_collected", sigkill, 0 },
	{ "umem_over_memlock_fails_clearly", memlock, 0 },
	{ "failed_open_leaves_no_program", failed_open, 0 },
	{ "concurrent_open_close_two_processes", concurrent, 120 },
};

int main(void)
{
	xdp_require();
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
