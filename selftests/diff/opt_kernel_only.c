// SPDX-License-Identifier: GPL-2.0
/*
 * Options only the kernel's TCP has, on a connected socket and before
 * connect(): SO_TIMESTAMPING with OPT_ID (which Linux refuses on an
 * unconnected socket), its send timestamps on the error queue, counted
 * per byte by OPT_ID; TCP_INQ's control message. Values read back.
 * (Under libvelo on the wire, the connection moves to the kernel's TCP
 * first.) Not SO_TIMESTAMP: across namespaces the veth scrubs receive
 * times, unless an XDP program (libvelo's) makes the kernel stamp anew.
 */
#include "diff.h"

#include <stdbool.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#ifndef TCP_INQ
#define TCP_INQ 36
#define TCP_CM_INQ TCP_INQ
#endif

/* The error queue's first send timestamp: its OPT_ID key, or -1. */
static long tx_stamp_key(int fd)
{
	char data[64], ctl[512];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	long end = now_ms() + 2000, key = -1;
	bool stamp = false;

	while (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0 && now_ms() < end)
		msleep(5);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING)
			stamp = true;
		if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			struct sock_extended_err ee;

			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING)
				key = ee.ee_data;
		}
	}
	return stamp ? key : -1;
}

/* Receives 5 bytes and says whether TCP_INQ's control message came. */
static void recv_cmsgs(int fd, const char *what)
{
	char data[16], ctl[256];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	bool inq = false;
	ssize_t n = recvmsg(fd, &m, 0);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		inq |= c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ;
	say("%s: recvmsg %zd, TCP_CM_INQ %s", what, n, YN(inq));
}

int main(void)
{
	int c, s, v, flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
			     SOF_TIMESTAMPING_OPT_ID;
	socklen_t l = sizeof(v);
	uint16_t port;
	int ls;

	/* before connect(): Linux refuses OPT_ID on an unconnected socket */
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(setsockopt(c, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)));
	close(c);

	tcp_pair(&c, &s);
	SHOW(setsockopt(c, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)));
	v = 0;
	SHOW(getsockopt(c, SOL_SOCKET, SO_TIMESTAMPING, &v, &l));
	say("SO_TIMESTAMPING = %#x", v);
	SHOW(send(c, "12345", 5, 0));
	say("first send's stamp key: %ld", tx_stamp_key(c));
	SHOW(send(c, "67890", 5, 0));
	say("second send's stamp key: %ld", tx_stamp_key(c));

	v = 1;
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_INQ, &v, sizeof(v)));
	SHOW(send(s, "abcde", 5, 0));
	NEED(wait_ev(c, POLLIN, 5000) > 0);
	recv_cmsgs(c, "connected, options set after");
	close(c);
	close(s);

	/* set before connect(): the connection is made with them */
	ls = tcp_listener(&port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW(setsockopt(c, IPPROTO_TCP, TCP_INQ, &v, sizeof(v)));
	{
		union sa a;
		socklen_t al = sa_loop(&a, AF_INET, port);

		SHOW(connect(c, &a.sa, al));
	}
	s = accept(ls, NULL, NULL);
	NEED(s >= 0);
	SHOW(send(s, "fghij", 5, 0));
	NEED(wait_ev(c, POLLIN, 5000) > 0);
	recv_cmsgs(c, "options set before connect");
	close(c);
	close(s);
	close(ls);
	return 0;
}
