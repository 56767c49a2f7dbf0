// SPDX-License-Identifier: GPL-2.0
/*
 * SO_INCOMING_CPU: a socket that never received reads -1; a connection's
 * end reads the CPU that took in its segments (a CPU of this machine; which
 * one is not printed).
 */
#include "diff.h"

static const char *cpu_of(int fd)
{
	int v = int_opt(fd, SOL_SOCKET, SO_INCOMING_CPU);

	if (v == -1)
		return "-1";
	return v >= 0 && v < sysconf(_SC_NPROCESSORS_CONF) ? "a CPU" : "out of range";
}

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), c, s;
	char b;

	say("unconnected: %s", cpu_of(fd));
	close(fd);
	tcp_pair(&c, &s);
	NEED(send(s, "x", 1, 0) == 1);
	NEED(recv(c, &b, 1, 0) == 1);
	say("connected, after data: %s", cpu_of(c));
	close(c);
	close(s);
	return 0;
}
