// SPDX-License-Identifier: GPL-2.0
/*
 * poll, ppoll, select, pselect, epoll_pwait and epoll_pwait2 arguments the
 * kernel refuses, with a connected socket that has data waiting (under
 * libvelo, in a loopback ring): nfds beyond RLIMIT_NOFILE, unreadable
 * pollfds or sets (EFAULT), invalid timeouts (EINVAL), and a signal mask
 * the kernel cannot read, EFAULT before anything is looked at (under
 * libvelo the ready socket was reported instead).
 */
#include <sys/resource.h>

#include "diff.h"

/* poll() with arguments the compiler cannot see: wrong on purpose. */
static void poll_case(const char *label, struct pollfd *f, nfds_t n)
{
	__asm__("" : "+r"(f), "+r"(n));
	SHOWL(label, poll(f, n, 0));
}

static const sigset_t *bad_mask(void)
{
	const sigset_t *m = (const sigset_t *)8;

	__asm__("" : "+r"(m));
	return m;
}

int main(void)
{
	static struct pollfd f[1];
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec ts, zero = { 0, 0 };
	struct rlimit rl;
	struct timeval tv;
	int c, s, ep;
	fd_set r;

	tcp_pair(&c, &s);
	SHOW(write(c, "x", 1));
	SHOW(poll1(s, POLLIN, 2000));
	NEED(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	f[0] = (struct pollfd){ s, POLLIN, 0 };
	poll_case("poll, nfds 2^30", f, 1u << 30);
	poll_case("poll, nfds RLIMIT_NOFILE + 1", f, rl.rlim_cur + 1);
	poll_case("poll, fds NULL", NULL, 1);
	poll_case("poll, fds at 8", (struct pollfd *)8, 1);
	poll_case("poll", f, 1);
	ts = (struct timespec){ 0, -1 };
	SHOW(ppoll(f, 1, &ts, NULL));
	ts = (struct timespec){ -1, 0 };
	SHOW(ppoll(f, 1, &ts, NULL));
	SHOW(ppoll(f, 1, NULL, bad_mask()));
	SHOW(ppoll(f, 1, &zero, bad_mask()));
	SHOW(ppoll(f, 1, &zero, NULL));

	FD_ZERO(&r);
	FD_SET(s, &r);
	SHOW(select(-1, &r, NULL, NULL, NULL));
	tv = (struct timeval){ 0, -1 };
	SHOW(select(s + 1, &r, NULL, NULL, &tv));
	tv = (struct timeval){ -1, 0 };
	SHOW(select(s + 1, &r, NULL, NULL, &tv));
	SHOW(select(s + 1, (fd_set *)8, NULL, NULL, NULL));
	ts = (struct timespec){ 0, 1000000000 };
	SHOW(pselect(s + 1, &r, NULL, NULL, &ts, NULL));
	SHOW(pselect(s + 1, &r, NULL, NULL, &zero, bad_mask()));
	tv = (struct timeval){ 0, 0 };
	SHOW(select(s + 1, &r, NULL, NULL, &tv));

	ep = epoll_create1(0);
	ev.data.fd = s;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	SHOW(epoll_pwait(ep, &ev, 1, 0, bad_mask()));
	SHOW(epoll_pwait2(ep, &ev, 1, &zero, bad_mask()));
	SHOW(epoll_pwait(ep, &ev, 1, 0, NULL));
	close(ep);
	close(c);
	close(s);
	return 0;
}
