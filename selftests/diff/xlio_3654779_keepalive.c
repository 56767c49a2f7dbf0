// SPDX-License-Identifier: GPL-2.0
/*
 * XLIO 3654779 (keepalive INTVL/CNT fixed, sysctls ignored): SO_KEEPALIVE,
 * TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT defaults equal the sysctls
 * net.ipv4.tcp_keepalive_{time,intvl,probes}; values set are read back;
 * out-of-range values are refused (EINVAL); on a connected socket with
 * keepalive 1 s / 1 s / 2 probes the connection stays alive while the
 * peer answers (probes acknowledged) across 3 s of idleness.
 * The loopback cannot drop the probes, so the connection-dead side (the
 * ETIMEDOUT after KEEPCNT unanswered probes) is not exercised here.
 */
#include "diff.h"

static int sysctl_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int get(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -errno;
	return v;
}

static void set(int fd, int name, const char *n, int v)
{
	int r = setsockopt(fd, IPPROTO_TCP, name, &v, sizeof(v));

	say("set %s %d = %s, now %d", n, v, r < 0 ? errname(errno) : "0", get(fd, IPPROTO_TCP, name));
}

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), c, s, one = 1;
	int t = sysctl_int("/proc/sys/net/ipv4/tcp_keepalive_time");
	int i = sysctl_int("/proc/sys/net/ipv4/tcp_keepalive_intvl");
	int p = sysctl_int("/proc/sys/net/ipv4/tcp_keepalive_probes");
	char b[8];

	say("default SO_KEEPALIVE = %d", get(fd, SOL_SOCKET, SO_KEEPALIVE));
	say("default TCP_KEEPIDLE == sysctl tcp_keepalive_time: %s",
	    YN(get(fd, IPPROTO_TCP, TCP_KEEPIDLE) == t));
	say("default TCP_KEEPINTVL == sysctl tcp_keepalive_intvl: %s",
	    YN(get(fd, IPPROTO_TCP, TCP_KEEPINTVL) == i));
	say("default TCP_KEEPCNT == sysctl tcp_keepalive_probes: %s",
	    YN(get(fd, IPPROTO_TCP, TCP_KEEPCNT) == p));
	set(fd, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1);
	set(fd, TCP_KEEPIDLE, "TCP_KEEPIDLE", 32767);
	set(fd, TCP_KEEPIDLE, "TCP_KEEPIDLE", 32768);
	set(fd, TCP_KEEPIDLE, "TCP_KEEPIDLE", 0);
	set(fd, TCP_KEEPIDLE, "TCP_KEEPIDLE", -1);
	set(fd, TCP_KEEPINTVL, "TCP_KEEPINTVL", 7);
	set(fd, TCP_KEEPINTVL, "TCP_KEEPINTVL", 32768);
	set(fd, TCP_KEEPINTVL, "TCP_KEEPINTVL", 0);
	set(fd, TCP_KEEPCNT, "TCP_KEEPCNT", 3);
	set(fd, TCP_KEEPCNT, "TCP_KEEPCNT", 127);
	set(fd, TCP_KEEPCNT, "TCP_KEEPCNT", 128);
	set(fd, TCP_KEEPCNT, "TCP_KEEPCNT", 0);
	SHOW(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	say("SO_KEEPALIVE = %d", get(fd, SOL_SOCKET, SO_KEEPALIVE));
	close(fd);

	tcp_pair(&c, &s);
	SHOW(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	set(c, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1);
	set(c, TCP_KEEPINTVL, "TCP_KEEPINTVL", 1);
	set(c, TCP_KEEPCNT, "TCP_KEEPCNT", 2);
	/* idle for 3 s: probes at ~1 s and ~2 s are answered by the peer */
	say("poll during 3 s idle = %s", pollmask(poll1(c, POLLIN, 3000)));
	say("state = %s", tcp_state_name(tcp_state(c)));
	SHOW(send(s, "alive", 5, 0));
	SHOW(recv(c, b, 5, MSG_WAITALL));
	{
		int e = -1;
		socklen_t el = sizeof(e);

		getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el);
		say("SO_ERROR = %s", errname(e));
	}
	close(c);
	close(s);
	return 0;
}
