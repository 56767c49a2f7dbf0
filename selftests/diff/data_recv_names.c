// SPDX-License-Identifier: GPL-2.0
/*
 * The address arguments of recvfrom(), recvmsg(), sendto() and sendmsg()
 * on a connected TCP socket: TCP has no source address, so recvfrom()
 * stores a length of 0, after taking the data (a length pointer it cannot
 * read or write is EFAULT, a negative length EINVAL, both with the data
 * gone); recvmsg() with a negative msg_namelen is EINVAL before anything
 * is read; sendto()/sendmsg() ignore a readable address, refuse an
 * unreadable one (EFAULT) or a negative length (EINVAL). Under libvelo a
 * bad length pointer crashed the process.
 */
#include "diff.h"

static void *opaque(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

static void queue(int c, int s, const char *text)
{
	SHOW(write(c, text, strlen(text)));
	NEED(poll1(s, POLLIN, 2000) == 1);
}

static void left(int s)
{
	char b[64];
	ssize_t r;

	set_nonblock(s, 1);
	r = read(s, b, sizeof(b));
	set_nonblock(s, 0);
	say("left: %zd \"%.*s\"", r, r > 0 ? (int)r : 0, b);
}

int main(void)
{
	struct sockaddr_in6 a;
	struct iovec iv;
	struct msghdr m;
	char b[64], ctl[64];
	socklen_t al;
	int c, s;

	tcp_pair(&c, &s);
	queue(c, s, "abcdefgh");
	memset(&a, 0x55, sizeof(a));
	al = sizeof(a);
	SHOW(recvfrom(s, b, 1, 0, (struct sockaddr *)&a, &al));
	say("length %u, address untouched: %s", al, YN(a.sin6_family == 0x5555));
	al = 0;
	SHOW(recvfrom(s, b, 1, 0, (struct sockaddr *)&a, &al));
	say("length %u", al);
	al = sizeof(a);
	SHOW(recvfrom(s, b, 1, 0, NULL, &al));
	say("length %u", al);
	SHOW(recvfrom(s, b, 1, 0, (struct sockaddr *)&a, opaque((void *)8)));
	SHOW(recvfrom(s, b, 1, 0, (struct sockaddr *)&a, opaque(NULL)));
	al = (socklen_t)-1;
	SHOW(recvfrom(s, b, 1, 0, (struct sockaddr *)&a, &al));
	left(s);

	queue(c, s, "ijkl");
	memset(&m, 0, sizeof(m));
	iv = (struct iovec){ b, 1 };
	m.msg_iov = &iv;
	m.msg_iovlen = 1;
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	m.msg_flags = 0x7fff;
	SHOW(recvmsg(s, &m, 0));
	say("namelen %u controllen %zu flags %#x", m.msg_namelen, m.msg_controllen, m.msg_flags);
	m.msg_name = opaque((void *)8);
	m.msg_namelen = sizeof(a);
	SHOW(recvmsg(s, &m, 0));
	m.msg_name = &a;
	m.msg_namelen = (socklen_t)-1;
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
	m.msg_name = NULL;
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
	m.msg_namelen = 0;
	m.msg_control = opaque((void *)8);
	m.msg_controllen = sizeof(ctl);
	queue(c, s, "m");
	SHOW(recvmsg(s, &m, MSG_DONTWAIT));
	say("controllen %zu", m.msg_controllen);
	left(s);

	SHOW(sendto(c, "1", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	SHOW(sendto(c, "2", 1, 0, (struct sockaddr *)&a, 1));
	SHOW(sendto(c, "x", 1, 0, opaque((void *)8), 16));
	SHOW(sendto(c, "x", 1, 0, (struct sockaddr *)&a, (socklen_t)-1));
	SHOW(sendto(c, "3", 1, 0, opaque(NULL), 16));
	memset(&m, 0, sizeof(m));
	iv = (struct iovec){ "4", 1 };
	m.msg_iov = &iv;
	m.msg_iovlen = 1;
	m.msg_name = &a;
	m.msg_namelen = 3;
	SHOW(sendmsg(c, &m, 0));
	m.msg_namelen = 200;
	iv.iov_base = "5";
	SHOW(sendmsg(c, &m, 0));
	m.msg_namelen = (socklen_t)-1;
	SHOW(sendmsg(c, &m, 0));
	m.msg_flags = 0xffff;
	m.msg_name = NULL;
	m.msg_namelen = 0;
	iv.iov_base = "6";
	SHOW(sendmsg(c, &m, 0));
	SHOW(poll1(s, POLLIN, 2000));
	msleep(20);
	left(s);
	close(c);
	close(s);
	return 0;
}
