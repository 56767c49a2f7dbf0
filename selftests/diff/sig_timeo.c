// SPDX-License-Identifier: GPL-2.0
/*
 * SO_RCVTIMEO / SO_SNDTIMEO: recv returns EAGAIN after the timeout (not
 * before), accept too, send on a full buffer too; a signal during a recv
 * with a timeout returns EINTR even with SA_RESTART (Linux's
 * sock_intr_errno: a call with a timeout is not restarted). Values read
 * back (rounded to the kernel's tick: printed as >= set value only).
 */
#include "diff.h"

static volatile sig_atomic_t nsig;

static void on_sig(int sig)
{
	(void)sig;
	nsig++;
}

int main(void)
{
	int c, s, l, sz = 16384;
	uint16_t port;
	struct timeval tv = { 0, 300000 }, got;
	socklen_t gl = sizeof(got);
	char b[16];
	long t0, dt;
	ssize_t r;
	struct sigpump sp;

	tcp_pair(&c, &s);
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
	say("default rcvtimeo %ld.%06ld", (long)got.tv_sec, (long)got.tv_usec);
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
	say("rcvtimeo read back within 300..320 ms: %s",
	    YN(got.tv_sec == 0 && got.tv_usec >= 300000 && got.tv_usec <= 320000));
	t0 = now_ms();
	r = recv(c, b, sizeof(b), 0);
	dt = now_ms() - t0;
	say("recv = %zd %s, waited >= 290 ms: %s", r, r < 0 ? errname(errno) : "", YN(dt >= 290));
	t0 = now_ms();
	r = read(c, b, sizeof(b));
	dt = now_ms() - t0;
	say("read = %zd %s, waited >= 290 ms: %s", r, r < 0 ? errname(errno) : "", YN(dt >= 290));
	SHOW(send(s, "x", 1, 0));
	SHOW(recv(c, b, sizeof(b), 0));

	/* signal during a recv with a timeout, SA_RESTART set: EINTR */
	NEED(sig_install(SIGUSR1, on_sig, SA_RESTART) == 0);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	nsig = 0;
	sigpump_start(&sp, SIGUSR1, 100, 100);
	t0 = now_ms();
	r = recv(c, b, sizeof(b), 0);
	dt = now_ms() - t0;
	sigpump_stop(&sp);
	say("recv (5 s timeout, SA_RESTART, signal) = %zd %s, before timeout: %s", r,
	    r < 0 ? errname(errno) : "", YN(dt < 4500));

	/* SO_SNDTIMEO on a full buffer */
	NEED(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	NEED(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	tv.tv_sec = 0;
	tv.tv_usec = 300000;
	SHOW(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	{
		static char junk[1 << 16];
		int eagain = 0;

		for (int i = 0; i < 10000; i++) {
			t0 = now_ms();
			r = send(c, junk, sizeof(junk), 0);
			dt = now_ms() - t0;
			if (r < 0) {
				eagain = errno == EAGAIN;
				break;
			}
		}
		say("send on full buffer ends with EAGAIN after >= 290 ms: %s",
		    YN(eagain && dt >= 290));
	}
	close(c);
	close(s);

	/* accept with SO_RCVTIMEO */
	l = tcp_listener(&port);
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	SHOW(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = now_ms();
	r = accept(l, NULL, NULL);
	dt = now_ms() - t0;
	say("accept = %zd %s, waited >= 190 ms: %s", r, r < 0 ? errname(errno) : "", YN(dt >= 190));
	close(l);
	/* invalid values */
	tv.tv_sec = 0;
	tv.tv_usec = 2000000;
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	tv.tv_sec = -1;
	tv.tv_usec = 0;
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	gl = sizeof(got);
	SHOW(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
	say("after negative: %ld.%06ld", (long)got.tv_sec, (long)got.tv_usec);
	SHOW(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, 3));
	close(c);
	return 0;
}
