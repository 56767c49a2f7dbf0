// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring from a liburing loaded at run time, after the program's sockets
 * carried data (under libvelo: through loopback rings, or the engine across
 * namespaces, whose listener took a connection too). Making the ring hands
 * every connection to the kernel's TCP, so io_uring's reads, writes, polls
 * and accepts then act on them as on Linux.
 */
#include <dlfcn.h>

#include "uring.h"

static void *uring_lib(void)
{
	static void *lib;

	if (!lib)
		lib = dlopen("liburing.so.2", RTLD_NOW | RTLD_GLOBAL);
	NEED(lib);
	return lib;
}

/* As a plugin linked with liburing would reach it: the global scope. */
static void *uring_sym(const char *name)
{
	void *f;

	uring_lib();
	f = dlsym(RTLD_DEFAULT, name);
	NEED(f);
	return f;
}

/* A connection the program's listener @l accepted before io_uring. */
static void accepted_before(int family, int l, uint16_t port, int *p, int *acc)
{
	union sa a;
	socklen_t al = sa_self(&a, family, port);
	char buf[16];

	engine_listens(l);
	*p = peer_socket(family);
	NEED(*p >= 0);
	SHOW(connect(*p, &a.sa, al));
	*acc = accept(l, NULL, NULL);
	NEED(*acc >= 0);
	SHOW(write(*p, "early", 5));
	SHOW(read(*acc, buf, sizeof(buf)));
}

int main(void)
{
	int (*queue_init)(unsigned int entries, struct io_uring *ring, unsigned int flags);
	int family, c[2], s[2], l[2], p[2], acc[2];
	uint16_t port[2];
	union sa a;
	socklen_t al;
	int i;

	for (i = 0; i < 2; i++) {
		family = i ? AF_INET6 : AF_INET;
		al = sa_self(&a, family, 0);
		l[i] = listen_at(socket(family, SOCK_STREAM, 0), &a, al, 16, &port[i]);
		tcp_pair_fam(family, &c[i], &s[i]);
		SHOW(write(c[i], "before", 6));
		show_read(s[i]);
		SHOW(write(s[i], "reply", 5));
		show_read(c[i]);
		accepted_before(family, l[i], port[i], &p[i], &acc[i]);
	}
	queue_init = uring_sym("io_uring_queue_init");
	ur_submit = uring_sym("io_uring_submit");
	ur_get_cqe = uring_sym("__io_uring_get_cqe");
	SHOW(queue_init(16, &ur, 0));
	for (i = 0; i < 2; i++) {
		say("family %s", i ? "inet6" : "inet");
		SHOW(write(p[i], "late", 4));
		ur_recv("uring recv accepted before", acc[i], false);
		ur_send("uring send accepted before", acc[i], "back", false);
		show_read(p[i]);
		close(p[i]);
		close(acc[i]);
		ur_cases(i ? AF_INET6 : AF_INET, c[i], s[i], l[i], port[i]);
		close(l[i]);
	}
	return 0;
}
