// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_ctl() and epoll_wait() arguments the kernel refuses, on a set whose
 * member is a connected socket with data waiting (under libvelo, in a
 * loopback ring): EEXIST, ENOENT, EINVAL (unknown op, the set itself,
 * EPOLLEXCLUSIVE with MOD or EPOLLONESHOT, maxevents 0, -1 or beyond
 * EP_MAX_EVENTS, a socket as the set), EFAULT (no event, events not
 * writable), EBADF, ELOOP and EPERM (a regular file), each checked in the
 * kernel's order: maxevents INT_MAX was EFAULT under libvelo.
 */
#include <limits.h>
#include <sys/mman.h>

#include "diff.h"

/* epoll_wait() with arguments the compiler cannot see: wrong on purpose. */
static void wait_case(const char *label, int epfd, struct epoll_event *evs, int max)
{
	__asm__("" : "+r"(evs), "+r"(max));
	SHOWL(label, epoll_wait(epfd, evs, max, 0));
}

/* A page within 24 GB of the top of user space (as a stack may be). */
static struct epoll_event *high_page(void)
{
	uintptr_t a;

	for (a = 0x7ffb00000000ull; a < 0x7ffc00000000ull; a += 0x10000000ull) {
		void *p = mmap((void *)a, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == (void *)a)
			return p;
		if (p != MAP_FAILED)
			munmap(p, 4096);
	}
	NEED(0);
	return NULL;
}

int main(void)
{
	/* out not on the stack: its distance to the top of user space varies */
	static struct epoll_event out[4];
	struct epoll_event ev = { .events = EPOLLIN };
	int c, s, ep, ep2, file;

	tcp_pair(&c, &s);
	SHOW(write(c, "x", 1));
	SHOW(poll1(s, POLLIN, 2000));
	ep = epoll_create1(0);
	ev.data.fd = s;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	SHOW(epoll_ctl(ep, 99, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, s, NULL));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, NULL));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_DEL, s, &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	ev.events = EPOLLIN;
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));

	wait_case("maxevents 0", ep, out, 0);
	wait_case("maxevents -1", ep, out, -1);
	wait_case("maxevents INT_MAX", ep, out, INT_MAX);
	wait_case("maxevents INT_MAX, events near the top", ep, high_page(), INT_MAX);
	wait_case("maxevents EP_MAX_EVENTS + 1", ep, out, INT_MAX / (int)sizeof(out[0]) + 1);
	wait_case("maxevents EP_MAX_EVENTS", ep, out, INT_MAX / (int)sizeof(out[0]));
	wait_case("events NULL", ep, NULL, 1);
	wait_case("events at 8", ep, (struct epoll_event *)8, 1);
	SHOW(epoll_wait(s, out, 4, 0));
	SHOW(epoll_wait(-1, out, 4, 0));
	SHOW(epoll_wait(ep, out, 4, 0));

	ep2 = epoll_create1(0);
	SHOW(epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev));
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev));
	SHOW(epoll_wait(ep2, out, 4, 0));
	SHOW(epoll_create(0));
	SHOW(epoll_create1(1));
	file = open("/proc/self/stat", O_RDONLY);
	SHOW(epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev) < 0 ? errno : 0);
	close(file);
	close(ep2);
	close(ep);
	close(c);
	close(s);
	return 0;
}
