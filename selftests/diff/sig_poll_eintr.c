// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_wait, epoll_pwait, poll, ppoll, select and pselect blocked on idle
 * TCP sockets return EINTR on a signal even with SA_RESTART (Linux never
 * restarts them after a handler). A signal blocked by the call's sigmask
 * (epoll_pwait/ppoll/pselect) does not interrupt it: the call times out
 * and the handler runs afterwards.
 */
#include "diff.h"

static volatile sig_atomic_t nsig;

static void on_sig(int sig)
{
	(void)sig;
	nsig++;
}

static int c, s, ep;

static long call(int which, const sigset_t *mask, int timeout_ms)
{
	struct epoll_event ev;
	struct pollfd p = { .fd = c, .events = POLLIN };
	fd_set r;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	FD_ZERO(&r);
	FD_SET(c, &r);
	switch (which) {
	case 0: return epoll_wait(ep, &ev, 1, timeout_ms);
	case 1: return epoll_pwait(ep, &ev, 1, timeout_ms, mask);
	case 2: return poll(&p, 1, timeout_ms);
	case 3: return ppoll(&p, 1, &ts, mask);
	case 4: return select(c + 1, &r, NULL, NULL, &tv);
	default: return pselect(c + 1, &r, NULL, NULL, &ts, mask);
	}
}

int main(void)
{
	static const char *const names[] = { "epoll_wait", "epoll_pwait", "poll",
					     "ppoll", "select", "pselect" };
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigpump sp;
	sigset_t block, empty;
	int i, flags;

	tcp_pair(&c, &s);
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	sigemptyset(&empty);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	for (flags = 0; flags <= SA_RESTART; flags += SA_RESTART) {
		NEED(sig_install(SIGUSR1, on_sig, flags) == 0);
		say("== %s", flags ? "SA_RESTART" : "no SA_RESTART");
		for (i = 0; i < 6; i++) {
			long r, t0 = now_ms();

			nsig = 0;
			sigpump_start(&sp, SIGUSR1, 50, 50);
			r = call(i, &empty, 10000);
			r = r < 0 ? -errno : r;
			sigpump_stop(&sp);
			say("%s = %s, returned early: %s", names[i], r < 0 ? errname(-r) : "ready?",
			    YN(now_ms() - t0 < 9000));
		}
	}
	/* SIGUSR1 blocked by the call's mask: it times out, then the handler runs */
	for (i = 1; i < 6; i += 2) {
		long r;

		NEED(pthread_sigmask(SIG_BLOCK, &block, NULL) == 0);
		nsig = 0;
		raise(SIGUSR1);
		r = call(i, &block, 200);
		r = r < 0 ? -errno : r;
		say("%s with SIGUSR1 pending but masked = %s, handler ran during call: %s",
		    names[i], r < 0 ? errname(-r) : r ? "ready" : "timeout", YN(nsig > 0));
		/* unmasked by the call's mask: pending signal interrupts at once */
		r = call(i, &empty, 5000);
		r = r < 0 ? -errno : r;
		say("%s with SIGUSR1 pending, call mask empty = %s, handler ran: %s",
		    names[i], r < 0 ? errname(-r) : r ? "ready" : "timeout", YN(nsig > 0));
		NEED(pthread_sigmask(SIG_UNBLOCK, &block, NULL) == 0);
	}
	close(ep);
	close(c);
	close(s);
	return 0;
}
