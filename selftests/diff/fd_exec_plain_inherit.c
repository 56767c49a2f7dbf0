// SPDX-License-Identifier: GPL-2.0
/*
 * An (accelerated) connected socket inherited across exec by a program that
 * runs WITHOUT LD_PRELOAD (inetd style: a plain helper gets the socket as an
 * fd). The plain image must be able to read and write it with the kernel's
 * own calls, and the original process keeps using it afterwards.
 * Also the reverse: a socket created by a plain process is passed by exec to
 * an accelerated image.
 */
#include "diff.h"

static int child(char **argv)
{
	int fd = atoi(argv[2]);
	char buf[32];

	memset(buf, 0, sizeof(buf));
	SHOWL("exec'd: recv", recv(fd, buf, 4, MSG_WAITALL));
	say("exec'd: got \"%s\"", buf);
	SHOWL("exec'd: send", send(fd, "reply", 5, 0));
	SHOWL("exec'd: write", write(fd, "+w", 2));
	return 0;
}

/* a plain process that creates a pair and passes one end to an accelerated exec */
static int plain_parent(void)
{
	int c, s;
	char a1[16], buf[16];
	pid_t pid;

	tcp_pair(&c, &s);
	snprintf(a1, sizeof(a1), "%d", c);
	SHOWL("plain: send", send(s, "ping", 4, 0));
	{
		char *args[] = { "child", a1, NULL };

		pid = spawn_self(args, 0); /* env restored below by caller */
	}
	say("plain: child %s", status_str(wait_child(pid)));
	memset(buf, 0, sizeof(buf));
	SHOWL("plain: recv", recv(s, buf, 7, MSG_WAITALL));
	say("plain: got \"%s\"", buf);
	return 0;
}

int main(int argc, char **argv)
{
	int c, s;
	char a1[16], buf[32];
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return child(argv);
	if (argc > 1 && !strcmp(argv[1], "plainparent")) {
		/* re-enable the preload (if any) for the grandchild */
		if (argc > 2)
			setenv("LD_PRELOAD", argv[2], 1);
		return plain_parent();
	}
	tcp_pair(&c, &s);
	snprintf(a1, sizeof(a1), "%d", c);
	SHOWL("send", send(s, "ping", 4, 0));
	{
		char *args[] = { "child", a1, NULL };

		pid = spawn_self(args, 1);
	}
	say("plain child %s", status_str(wait_child(pid)));
	memset(buf, 0, sizeof(buf));
	SHOWL("recv", recv(s, buf, 7, MSG_WAITALL));
	say("got \"%s\"", buf);
	SHOWL("parent send after child", send(c, "again", 5, 0));
	SHOWL("peer recv", recv(s, buf, 5, MSG_WAITALL));
	close(c);
	SHOWL("peer EOF", recv(s, buf, sizeof(buf), 0));
	close(s);

	/* reverse: plain creator, accelerated exec'd user */
	{
		const char *pre = getenv("LD_PRELOAD");
		char *args[] = { "plainparent", (char *)(pre ? pre : NULL), NULL };

		pid = spawn_self(args, 1);
		say("plain parent %s", status_str(wait_child(pid)));
	}
	return 0;
}
