// SPDX-License-Identifier: GPL-2.0
/*
 * glibc's own stdin, stdout and stderr on a connected TCP socket, without
 * exec: a forked child dup2()s the socket onto stdout and writes with
 * printf/puts/fwrite, or onto stdin and reads with fgets (inetd and CGI
 * servers do this); the process itself points stdout at the socket for a
 * while; a child whose fd 0 was closed accepts a connection as fd 0 and
 * reads it with fgets(stdin). These FILEs read and write with glibc's
 * internal calls, which no preload library sees: under libvelo the bytes
 * printed went into the kernel socket of a loopback-accelerated connection
 * and were lost (the peer's reads said EAGAIN), and reads missed the ring.
 */
#include "diff.h"

/* Everything @c can read within a moment, printed. */
static void show_all(int c)
{
	char b[512];
	size_t got = 0;
	ssize_t r;

	NEED(poll1(c, POLLIN, 2000) == 1);
	msleep(50);
	set_nonblock(c, 1);
	while ((r = read(c, b + got, sizeof(b) - 1 - got)) > 0)
		got += (size_t)r;
	set_nonblock(c, 0);
	b[got] = 0;
	say("read %zu: %s", got, b);
}

static void warm(int c, int s)
{
	char b[8];

	NEED(write(s, "warm", 4) == 4 && read(c, b, sizeof(b)) == 4);
	NEED(write(c, "up", 2) == 2 && read(s, b, sizeof(b)) == 2);
}

static void child_prints(int c, int s)
{
	pid_t pid = fork();

	NEED(pid >= 0);
	if (!pid) {
		dup2(s, STDOUT_FILENO);
		printf("printf %d|", 42);
		fflush(stdout);
		puts("puts");
		fwrite("fwrite|", 1, 7, stdout);
		fflush(stdout);
		_exit(0);
	}
	say("child: %s", status_str(wait_child(pid)));
	show_all(c);
}

static void child_reads(int c, int s)
{
	pid_t pid = fork();
	char line[64];

	NEED(pid >= 0);
	if (!pid) {
		dup2(s, STDIN_FILENO);
		if (!fgets(line, sizeof(line), stdin))
			_exit(1);
		dprintf(s, "got %s", line);
		_exit(0);
	}
	SHOW(write(c, "a line\n", 7));
	say("child: %s", status_str(wait_child(pid)));
	show_all(c);
}

static void self_prints(int c, int s)
{
	int saved = dup(STDOUT_FILENO);

	NEED(saved >= 0 && fflush(stdout) == 0);
	dup2(s, STDOUT_FILENO);
	printf("in-process %d\n", 7);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	show_all(c);
}

static void accepted_as_stdin(void)
{
	uint16_t port;
	int l = tcp_listener(&port), c;
	pid_t pid = fork();
	char line[64];

	NEED(pid >= 0);
	if (!pid) {
		close(STDIN_FILENO);
		if (accept(l, NULL, NULL) != STDIN_FILENO || !fgets(line, sizeof(line), stdin))
			_exit(1);
		if (write(STDIN_FILENO, line, strlen(line)) < 0)
			_exit(2);
		_exit(0);
	}
	c = tcp_connect(port);
	NEED(c >= 0);
	SHOW(write(c, "to fd 0\n", 8));
	say("child: %s", status_str(wait_child(pid)));
	show_all(c);
	close(c);
	close(l);
}

int main(void)
{
	int c, s;

	tcp_pair(&c, &s);
	warm(c, s);
	child_prints(c, s);
	child_reads(c, s);
	self_prints(c, s);
	SHOW(write(s, "still works", 11));
	show_all(c);
	close(c);
	close(s);
	accepted_as_stdin();
	return 0;
}
