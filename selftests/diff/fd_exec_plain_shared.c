// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets created by a plain process (no LD_PRELOAD) and used by
 * accelerated images it execs, while the plain process keeps them:
 *
 * - one accelerated child gets BOTH ends of the connection and writes and
 *   reads through them; what it leaves unread must still be there for the
 *   plain creator afterwards;
 * - two accelerated children get one end each and talk to each other;
 *   the plain creator then reads what the reader left.
 *
 * On Linux these are just kernel sockets shared by three processes.
 */
#include "diff.h"

/* child "both": fds of both ends, uses them, leaves "world" unread */
static int child_both(char **argv)
{
	int c = atoi(argv[2]), s = atoi(argv[3]);
	char buf[16];

	memset(buf, 0, sizeof(buf));
	SHOWL("both: send c", send(c, "hello", 5, 0));
	SHOWL("both: recv s", recv(s, buf, 5, MSG_WAITALL));
	say("both: got \"%s\"", buf);
	SHOWL("both: send c again", send(c, "world", 5, 0));
	SHOWL("both: send s", send(s, "back", 4, 0));
	return 0;
}

/*
 * child "reader": reads 3 bytes of end argv[2], leaves the rest. It runs
 * beside the writer, so both answer with their exit status only.
 */
static int child_reader(char **argv)
{
	int fd = atoi(argv[2]);
	char buf[16];

	memset(buf, 0, sizeof(buf));
	if (recv(fd, buf, 3, MSG_WAITALL) != 3)
		return 1;
	return strcmp(buf, "one") ? 2 : 0;
}

/* child "writer": writes to end argv[2] */
static int child_writer(char **argv)
{
	return send(atoi(argv[2]), "onetwo", 6, 0) == 6 ? 0 : 1;
}

static pid_t spawn_fd(const char *role, int a, int b)
{
	char a1[16], a2[16];
	char *args[] = { (char *)role, a1, a2, NULL };

	snprintf(a1, sizeof(a1), "%d", a);
	snprintf(a2, sizeof(a2), "%d", b);
	return spawn_self(args, 0);
}

static void both_ends(void)
{
	int c, s;
	char buf[16];

	tcp_pair(&c, &s);
	say("child both %s", status_str(wait_child(spawn_fd("both", c, s))));
	memset(buf, 0, sizeof(buf));
	SHOWL("plain: recv s", recv(s, buf, 5, MSG_WAITALL));
	say("plain: got \"%s\"", buf);
	memset(buf, 0, sizeof(buf));
	SHOWL("plain: recv c", recv(c, buf, 4, MSG_WAITALL));
	say("plain: got \"%s\"", buf);
	SHOWL("plain: send c", send(c, "last", 4, 0));
	SHOWL("plain: recv s", recv(s, buf, 4, MSG_WAITALL));
	close(c);
	SHOWL("plain: EOF", recv(s, buf, sizeof(buf), 0));
	close(s);
}

static void one_end_each(void)
{
	int c, s, fl;
	char buf[16];
	pid_t r, w;

	tcp_pair(&c, &s);
	/* the reader blocks first, so both ends are in use at once */
	r = spawn_fd("reader", s, -1);
	msleep(100);
	w = spawn_fd("writer", c, -1);
	say("writer %s", status_str(wait_child(w)));
	say("reader %s", status_str(wait_child(r)));
	memset(buf, 0, sizeof(buf));
	SHOWL("plain: recv rest", recv(s, buf, 3, MSG_WAITALL));
	say("plain: got \"%s\"", buf);
	fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	SHOWL("plain: nothing more", recv(s, buf, sizeof(buf), 0));
	close(c);
	close(s);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "both"))
		return child_both(argv);
	if (argc > 1 && !strcmp(argv[1], "reader"))
		return child_reader(argv);
	if (argc > 1 && !strcmp(argv[1], "writer"))
		return child_writer(argv);
	if (argc > 1 && !strcmp(argv[1], "plain")) {
		/* the plain creator; its children get the preload back */
		if (argc > 2)
			setenv("LD_PRELOAD", argv[2], 1);
		both_ends();
		one_end_each();
		return 0;
	}
	{
		const char *pre = getenv("LD_PRELOAD");
		char *args[] = { "plain", (char *)(pre ? pre : NULL), NULL };

		say("plain creator %s", status_str(wait_child(spawn_self(args, 1))));
	}
	return 0;
}
