// SPDX-License-Identifier: GPL-2.0
/*
 * A connected socket handed down two execs: the creator passes it to a
 * middle image (same environment) that never uses it and execs a last
 * image WITHOUT LD_PRELOAD (a shell script that clears the environment
 * does this). Data the creator's peer end sent before and after must reach
 * the last image, and its replies the creator.
 */
#include "diff.h"

static int last(char **argv)
{
	int fd = atoi(argv[2]);
	char buf[16];

	memset(buf, 0, sizeof(buf));
	SHOWL("last: recv", recv(fd, buf, 8, MSG_WAITALL));
	say("last: got \"%s\"", buf);
	SHOWL("last: send", send(fd, "reply", 5, 0));
	return 0;
}

/* the middle image: does not touch the socket, only passes it on */
static int middle(char **argv)
{
	char *args[] = { "last", argv[2], NULL };

	return WEXITSTATUS(wait_child(spawn_self(args, 1)));
}

int main(int argc, char **argv)
{
	int c, s;
	char a1[16], buf[16];
	ssize_t r;
	pid_t pid;

	if (argc > 2 && !strcmp(argv[1], "last"))
		return last(argv);
	if (argc > 2 && !strcmp(argv[1], "middle"))
		return middle(argv);
	tcp_pair(&c, &s);
	SHOWL("send before", send(s, "four", 4, 0));
	snprintf(a1, sizeof(a1), "%d", c);
	{
		char *args[] = { "middle", a1, NULL };

		pid = spawn_self(args, 0);
	}
	close(c);
	msleep(50);
	/* printed once the last image has printed: it reads "more" */
	r = send(s, "more", 4, 0);
	say("middle %s", status_str(wait_child(pid)));
	SHOWL("send after", r);
	memset(buf, 0, sizeof(buf));
	SHOWL("recv reply", recv(s, buf, 5, MSG_WAITALL));
	say("got \"%s\"", buf);
	SHOWL("EOF", recv(s, buf, sizeof(buf), 0));
	close(s);
	return 0;
}
