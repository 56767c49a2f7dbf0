// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 2970828 (signals other than SIGINT ignored): a recv, accept and
 * epoll_wait blocked on TCP sockets is interrupted (EINTR, no SA_RESTART)
 * by SIGUSR1, SIGUSR2, SIGALRM (from alarm/setitimer), SIGTERM, SIGHUP,
 * SIGCHLD and SIGINT with handlers; and a child blocked in recv is killed
 * by SIGTERM/SIGINT/SIGQUIT without handlers (default action) and by
 * SIGKILL; SIGCHLD/SIGURG default-ignored do not interrupt.
 */
#include "diff.h"
#include <sys/resource.h>
#include <sys/time.h>

static volatile sig_atomic_t got;

static void on_sig(int sig)
{
	got = sig;
}

static int c, s, l, ep;

static long blocked_call(int which)
{
	char b[8];
	struct epoll_event ev;

	switch (which) {
	case 0: return recv(c, b, sizeof(b), 0);
	case 1: return accept(l, NULL, NULL);
	default: return epoll_wait(ep, &ev, 1, 10000);
	}
}

int main(void)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGHUP, SIGCHLD, SIGINT };
	static const char *const calls[] = { "recv", "accept", "epoll_wait" };
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigpump sp;
	uint16_t port;
	size_t i;
	int w;

	tcp_pair(&c, &s);
	l = tcp_listener(&port);
	ep = epoll_create1(0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		NEED(sig_install(sigs[i], on_sig, 0) == 0);
		for (w = 0; w < 3; w++) {
			long r, t0 = now_ms();

			got = 0;
			sigpump_start(&sp, sigs[i], 50, 100);
			r = blocked_call(w);
			r = r < 0 ? -errno : r;
			sigpump_stop(&sp);
			say("SIG%s during %s: %s, handler ran: %s, early: %s", sigabbrev_np(sigs[i]),
			    calls[w], r < 0 ? errname(-r) : "returned", YN(got == sigs[i]),
			    YN(now_ms() - t0 < 9000));
		}
		signal(sigs[i], SIG_DFL);
	}
	/* alarm() and setitimer() deliver SIGALRM to the process */
	NEED(sig_install(SIGALRM, on_sig, 0) == 0);
	{
		struct itimerval it = { { 0, 100000 }, { 0, 100000 } }, off = { { 0, 0 }, { 0, 0 } };
		long r;

		got = 0;
		setitimer(ITIMER_REAL, &it, NULL);
		r = blocked_call(0);
		r = r < 0 ? -errno : r;
		setitimer(ITIMER_REAL, &off, NULL);
		say("setitimer SIGALRM during recv: %s, handler ran: %s",
		    r < 0 ? errname(-r) : "returned", YN(got == SIGALRM));
	}
	/* default actions on a child blocked in recv */
	{
		static const int kill_sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGKILL, SIGUSR1 };

		for (i = 0; i < 5; i++) {
			int p[2];
			pid_t pid;
			char t;

			NEED(pipe(p) == 0);
			pid = fork();
			NEED(pid >= 0);
			if (pid == 0) {
				char b[8];

				struct rlimit nocore = { 0, 0 };

				setrlimit(RLIMIT_CORE, &nocore); /* SIGQUIT: no core file */
				signal(kill_sigs[i], SIG_DFL);
				NEED(write(p[1], "r", 1) == 1);
				recv(c, b, sizeof(b), 0);
				_exit(3);
			}
			NEED(read(p[0], &t, 1) == 1);
			msleep(100);
			kill(pid, kill_sigs[i]);
			say("child blocked in recv, SIG%s: %s", sigabbrev_np(kill_sigs[i]),
			    status_str(wait_child(pid)));
			close(p[0]);
			close(p[1]);
		}
	}
	/* ignored-by-default signals do not interrupt a blocked recv */
	{
		long r, t0;

		signal(SIGCHLD, SIG_DFL);
		signal(SIGURG, SIG_DFL);
		sigpump_start(&sp, SIGCHLD, 20, 50);
		{
			struct sigpump sp2;

			sigpump_start(&sp2, SIGURG, 30, 50);
			t0 = now_ms();
			/* data arrives after 500 ms: recv must return it */
			{
				pid_t pid = fork();

				NEED(pid >= 0);
				if (pid == 0) {
					msleep(500);
					NEED(send(s, "ok", 2, 0) == 2);
					_exit(0);
				}
				r = blocked_call(0);
				r = r < 0 ? -errno : r;
				wait_child(pid);
			}
			sigpump_stop(&sp2);
		}
		sigpump_stop(&sp);
		say("recv under default-ignored SIGCHLD/SIGURG = %s, waited for data: %s",
		    r < 0 ? errname(-r) : "data", YN(now_ms() - t0 >= 400));
	}
	return 0;
}
