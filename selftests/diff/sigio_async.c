// SPDX-License-Identifier: GPL-2.0
/*
 * Signal-driven I/O on TCP sockets: F_SETOWN + O_ASYNC delivers SIGIO when
 * data arrives, when a connection is pending on a listener, and on peer
 * close; F_SETSIG picks another signal and fills si_fd / si_band; F_GETOWN
 * reads back; without O_ASYNC nothing is delivered. Signals are blocked and
 * collected with sigtimedwait, so nothing depends on timing.
 */
#include "diff.h"

static int waitsig(int sig, int ms, siginfo_t *si)
{
	sigset_t set;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, si, &ts);
}

static void drain_sig(int sig)
{
	siginfo_t si;

	while (waitsig(sig, 0, &si) >= 0)
		;
}

int main(void)
{
	int c, s, l, cl, fl;
	uint16_t port;
	sigset_t set;
	siginfo_t si;
	char b[8];
	int rtsig = SIGRTMIN + 1;

	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigaddset(&set, rtsig);
	NEED(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

	tcp_pair(&c, &s);
	SHOW(fcntl(c, F_SETOWN, getpid()));
	say("F_GETOWN == pid: %s", YN(fcntl(c, F_GETOWN) == getpid()));
	say("without O_ASYNC, data: SIGIO %s", waitsig(SIGIO, 0, &si) == SIGIO ? "yes" : "no");
	SHOW(send(s, "a", 1, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	say("without O_ASYNC, after data: SIGIO %s", waitsig(SIGIO, 300, &si) == SIGIO ? "yes" : "no");
	SHOW(recv(c, b, sizeof(b), 0));
	fl = fcntl(c, F_GETFL);
	SHOW(fcntl(c, F_SETFL, fl | O_ASYNC));
	say("O_ASYNC set: %s", YN(fcntl(c, F_GETFL) & O_ASYNC));
	drain_sig(SIGIO);
	SHOW(send(s, "b", 1, 0));
	say("with O_ASYNC, after data: SIGIO %s", waitsig(SIGIO, 5000, &si) == SIGIO ? "yes" : "no");
	SHOW(recv(c, b, sizeof(b), 0));
	drain_sig(SIGIO);
	/* F_SETSIG: a realtime signal with si_fd and si_band */
	SHOW(fcntl(c, F_SETSIG, rtsig));
	SHOW(fcntl(c, F_GETSIG) == rtsig);
	SHOW(send(s, "c", 1, 0));
	memset(&si, 0, sizeof(si));
	say("F_SETSIG signal after data: %s", waitsig(rtsig, 5000, &si) == rtsig ? "yes" : "no");
	say("si_fd == socket: %s, si_band has POLLIN: %s, si_code POLL_IN: %s", YN(si.si_fd == c),
	    YN(si.si_band & POLLIN), YN(si.si_code == POLL_IN));
	SHOW(recv(c, b, sizeof(b), 0));
	drain_sig(rtsig);
	SHOW(shutdown(s, SHUT_WR));
	memset(&si, 0, sizeof(si));
	say("F_SETSIG signal after peer FIN: %s", waitsig(rtsig, 5000, &si) == rtsig ? "yes" : "no");
	say("si_fd == socket: %s, si_band has POLLIN: %s", YN(si.si_fd == c), YN(si.si_band & POLLIN));
	close(c);
	close(s);
	drain_sig(rtsig);
	drain_sig(SIGIO);

	/* listener: SIGIO on a pending connection */
	l = tcp_listener(&port);
	SHOW(fcntl(l, F_SETOWN, getpid()));
	SHOW(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_ASYNC));
	cl = tcp_connect(port);
	NEED(cl >= 0);
	say("listener SIGIO on a pending connection: %s", waitsig(SIGIO, 5000, &si) == SIGIO ? "yes" : "no");
	s = accept(l, NULL, NULL);
	say("accepted inherits O_ASYNC: %s", YN(fcntl(s, F_GETFL) & O_ASYNC));
	close(s);
	close(cl);
	close(l);
	return 0;
}
