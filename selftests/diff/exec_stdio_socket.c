// SPDX-License-Identifier: GPL-2.0
/*
 * inetd/CGI style: an accepted TCP socket becomes the stdin and stdout of
 * a child that execs /bin/cat (dup2 onto 0 and 1, via posix_spawn file
 * actions too); the peer sends data and shuts down its write side, cat
 * echoes everything and exits at EOF, the peer reads the echo and EOF.
 * Once with the environment kept (the child accelerated under libvelo) and
 * once without LD_PRELOAD (a plain child).
 */
#include "diff.h"
#include <spawn.h>

extern char **environ;

static void round_(int plain, int use_spawn)
{
	int c, s;
	pid_t pid;
	static char big[300000], back[300000];
	size_t got = 0;
	ssize_t r;

	say("-- %s child, %s", plain ? "plain" : "same-environment", use_spawn ? "posix_spawn" : "fork+dup2+exec");
	tcp_pair(&c, &s);
	pattern(big, sizeof(big), 0, 17);
	if (use_spawn) {
		posix_spawn_file_actions_t fa;
		char *argv[] = { "cat", NULL };
		char **env = environ;
		char *empty[] = { NULL };

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, s, 0);
		posix_spawn_file_actions_adddup2(&fa, s, 1);
		posix_spawn_file_actions_addclose(&fa, s);
		posix_spawn_file_actions_addclose(&fa, c);
		if (plain)
			env = empty;
		NEED(posix_spawn(&pid, "/bin/cat", &fa, NULL, argv, env) == 0);
		posix_spawn_file_actions_destroy(&fa);
	} else {
		pid = fork();
		NEED(pid >= 0);
		if (pid == 0) {
			if (plain)
				unsetenv("LD_PRELOAD");
			dup2(s, 0);
			dup2(s, 1);
			close(s);
			close(c);
			execl("/bin/cat", "cat", (char *)NULL);
			_exit(127);
		}
	}
	close(s);
	{
		pid_t w = fork();

		NEED(w >= 0);
		if (w == 0) {
			NEED(write_full(c, big, sizeof(big)) == sizeof(big));
			NEED(shutdown(c, SHUT_WR) == 0);
			_exit(0);
		}
		while ((r = recv(c, back + got, sizeof(back) - got, 0)) > 0)
			got += r;
		say("writer %s", status_str(wait_child(w)));
	}
	say("echoed %zu bytes, equal: %s, then %s", got, YN(got == sizeof(big) && !memcmp(big, back, got)),
	    r == 0 ? "EOF" : errname(errno));
	say("cat %s", status_str(wait_child(pid)));
	close(c);
}

int main(void)
{
	round_(0, 0);
	round_(1, 0);
	round_(0, 1);
	round_(1, 1);
	return 0;
}
