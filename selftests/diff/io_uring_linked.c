// SPDX-License-Identifier: GPL-2.0
/*
 * A program linked with liburing: io_uring reads, writes, polls and accepts
 * its sockets behind libc's back, so libvelo leaves them all to the kernel
 * from the start (it used to hang in the first io_uring receive: the data
 * was in a loopback ring).
 */
#include "uring.h"

int main(void)
{
	int family, c, s, l;
	uint16_t port;
	union sa a;
	socklen_t al;

	ur_submit = io_uring_submit;
	ur_get_cqe = __io_uring_get_cqe;
	SHOW(io_uring_queue_init(16, &ur, 0));
	for (family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		say("family %s", family == AF_INET ? "inet" : "inet6");
		al = sa_self(&a, family, 0);
		l = listen_at(socket(family, SOCK_STREAM, 0), &a, al, 16, &port);
		tcp_pair_fam(family, &c, &s);
		SHOW(write(c, "before", 6));
		show_read(s);
		ur_cases(family, c, s, l, port);
		close(l);
	}
	io_uring_queue_exit(&ur);
	return 0;
}
