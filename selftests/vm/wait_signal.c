// SPDX-License-Identifier: GPL-2.0
/*
 * Waits: a blocked VELO_IOC_WAIT returns EINTR on a signal whose handler
 * lacks SA_RESTART and keeps waiting (restarted by the kernel, same
 * absolute deadline) with it; a deadline gives ETIME; a received frame
 * wakes the waiter with VELO_EV_RX.
 */
#include <poll.h>
#include <pthread.h>

#include "velo_test.h"

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static void set_handler(int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

/* Send @n SIGUSR1 to @pid, @gap_ms apart, after @gap_ms. */
static pid_t signaller(pid_t pid, int n, int gap_ms)
{
	pid_t s = fork();

	if (s == 0) {
		while (n--) {
			usleep(gap_ms * 1000);
			kill(pid, SIGUSR1);
		}
		_exit(0);
	}
	return s;
}

static int open_stack(struct vt_stack *t)
{
	if (vt_setup() || vt_stack_open(t, "v0", 256 * 1024))
		return -1;
	vt_post_rx(t, 16);
	return 0;
}

static int eintr_without_restart(void)
{
	struct velo_wait w = { 0 };
	struct vt_stack t;
	int64_t t0;
	pid_t s;
	int r;

	KTAP_EXPECT(open_stack(&t) == 0);
	set_handler(0);
	handled = 0;
	s = signaller(getpid(), 1, 200);
	t0 = vt_now_ns();
	r = ioctl(t.fd, VELO_IOC_WAIT, &w);	/* no deadline */
	KTAP_EXPECT(r == -1 && errno == EINTR && handled == 1);
	KTAP_EXPECT(vt_now_ns() - t0 < 5000000000LL);
	waitpid(s, NULL, 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static int restart_keeps_waiting(void)
{
	struct velo_wait w = { 0 };
	struct vt_stack t;
	int64_t t0, el;
	pid_t s;
	int r;

	KTAP_EXPECT(open_stack(&t) == 0);
	set_handler(SA_RESTART);
	handled = 0;
	s = signaller(getpid(), 3, 150);
	t0 = vt_now_ns();
	w.deadline_ns = t0 + 1500000000LL;
	r = ioctl(t.fd, VELO_IOC_WAIT, &w);
	el = vt_now_ns() - t0;
	/* Restarted across all three signals, then the deadline: not extended. */
	KTAP_EXPECT(r == -1 && errno == ETIME && handled == 3);
	KTAP_EXPECT(el >= 1490000000LL && el < 2500000000LL);
	waitpid(s, NULL, 0);
	/* A deadline in the past returns at once. */
	w.deadline_ns = 1;
	KTAP_EXPECT(ioctl(t.fd, VELO_IOC_WAIT, &w) == -1 && errno == ETIME);
	w.deadline_ns = -1;
	KTAP_EXPECT(ioctl(t.fd, VELO_IOC_WAIT, &w) == -1 && errno == EINVAL);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/* poll() is restarted by nothing: EINTR regardless (as for any fd). */
static int poll_eintr(void)
{
	struct vt_stack t;
	struct pollfd p;
	pid_t s;

	KTAP_EXPECT(open_stack(&t) == 0);
	set_handler(SA_RESTART);
	p.fd = t.fd;
	p.events = POLLIN;
	s = signaller(getpid(), 1, 200);
	KTAP_EXPECT(poll(&p, 1, 5000) == -1 && errno == EINTR);
	waitpid(s, NULL, 0);
	KTAP_EXPECT(poll(&p, 1, 0) == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

/*
 * A frame wakes a blocked waiter: the peer stamps CLOCK_MONOTONIC (shared by
 * all netns) just before sending a raw SYN; the waiter stamps its wakeup.
 */
static int frame_wakes_waiter(void)
{
	struct velo_wait w = { 0 };
	struct vt_stack t;
	struct vt_tuple u, r;
	int64_t sent = 0, woken;
	int pfd[2], i, r_ok = KTAP_PASS;
	uint8_t frame[128];
	unsigned int len;

	KTAP_EXPECT(open_stack(&t) == 0);
	vt_tuple4(&u, "10.9.0.1", 8400, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&t, &u, VELO_FILTER_F_LISTEN, NULL) == 0);
	vt_tuple4(&r, "10.9.0.2", 40000, "10.9.0.1", 8400);
	len = vt_tcp_frame(frame, vt_mac1, vt_mac0, &r, 1, 0, VT_SYN, NULL, 0);
	KTAP_EXPECT(pipe(pfd) == 0);
	for (i = 0; i < 5; i++) {
		if (fork() == 0) {
			struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
			int fd;

			if (vt_enter_peer())
				_exit(1);
			fd = socket(AF_PACKET, SOCK_RAW, 0);
			sll.sll_ifindex = if_nametoindex("v1");
			usleep(200000);
			sent = vt_now_ns();
			if (sendto(fd, frame, len, 0, (void *)&sll, sizeof(sll)) != (ssize_t)len ||
			    write(pfd[1], &sent, sizeof(sent)) != sizeof(sent))
				_exit(1);
			_exit(0);
		}
		if (ioctl(t.fd, VELO_IOC_WAIT, &w) || !(w.events & VELO_EV_RX))
			r_ok = KTAP_FAIL;
		woken = vt_now_ns();
		KTAP_EXPECT(read(pfd[0], &sent, sizeof(sent)) == sizeof(sent));
		wait(NULL);
		ktap_diag("woken %lld us after the peer's send", (long long)(woken - sent) / 1000);
		KTAP_EXPECT(vt_cq_next(&t.rcq));
		/* Generous for TCG on shared CPUs; the figure is what matters. */
		KTAP_EXPECT(woken - sent < 100000000LL);
	}
	KTAP_EXPECT(vt_stack_cnt(&t, "wakeups") >= 5);
	vt_stack_close(&t);
	return r_ok;
}

/* No sleeper, no wakeup: a stack that polls its CQs is not woken per frame. */
static int no_wakeup_when_not_armed(void)
{
	struct vt_stack t;
	struct vt_tuple u;
	pid_t pid;

	KTAP_EXPECT(open_stack(&t) == 0);
	vt_tuple4(&u, "10.9.0.1", 8401, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&t, &u, VELO_FILTER_F_LISTEN, NULL) == 0);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8401) };
		int fd;

		if (vt_enter_peer())
			_exit(1);
		inet_pton(AF_INET, "10.9.0.1", &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fd, (void *)&sin, sizeof(sin));
		usleep(1500000);	/* SYN retransmits: 2 frames */
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	KTAP_EXPECT(vt_stack_cnt(&t, "rx_frames") >= 2);
	KTAP_EXPECT(vt_stack_cnt(&t, "wakeups") == 0);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "eintr_without_sa_restart", eintr_without_restart, 0 },
	{ "sa_restart_keeps_waiting", restart_keeps_waiting, 0 },
	{ "poll_eintr", poll_eintr, 0 },
	{ "frame_wakes_waiter", frame_wakes_waiter, 0 },
	{ "no_wakeup_when_not_armed", no_wakeup_when_not_armed, 0 },
};

KTAP_MAIN(cases)
