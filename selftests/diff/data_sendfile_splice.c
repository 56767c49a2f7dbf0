// SPDX-License-Identifier: GPL-2.0
/*
 * sendfile() from a file to a TCP socket (with and without offset pointer,
 * beyond EOF), splice() from a TCP socket to a pipe and to a file, splice
 * from a pipe to a TCP socket, tee; checksums of what arrives.
 */
#include "diff.h"
#include <sys/sendfile.h>

#define FSZ (3 * 1024 * 1024 + 123)

static int g_c;
static uint32_t g_hash;
static size_t g_len;

static void *drain(void *arg)
{
	char b[65536];
	ssize_t r;
	uint32_t h = 0;
	size_t n = 0;

	(void)arg;
	while ((r = read(g_c, b, sizeof(b))) > 0) {
		h = csum(h, b, r);
		n += r;
	}
	g_hash = h;
	g_len = n;
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/vdiff-sf.XXXXXX";
	int f = mkstemp(path), c, s, p[2];
	static char buf[FSZ];
	pthread_t t;
	off_t off;
	ssize_t r;
	size_t done;
	uint32_t h;

	NEED(f >= 0);
	unlink(path);
	pattern(buf, FSZ, 0, 3);
	NEED(write_full(f, buf, FSZ) == FSZ);
	h = csum(0, buf, FSZ);

	/* sendfile with an offset pointer: the file position is not moved */
	tcp_pair(&c, &s);
	g_c = c;
	NEED(pthread_create(&t, NULL, drain, NULL) == 0);
	off = 0;
	done = 0;
	while (done < FSZ) {
		r = sendfile(s, f, &off, FSZ - done);
		NEED(r > 0);
		done += r;
	}
	say("sendfile total %zu, off == size: %s, file position = %ld", done,
	    YN(off == FSZ), (long)lseek(f, 0, SEEK_CUR));
	off = FSZ;
	SHOW(sendfile(s, f, &off, 100));
	shutdown(s, SHUT_WR);
	pthread_join(t, NULL);
	say("received %zu bytes, checksum equal: %s", g_len, YN(g_hash == h));
	close(c);
	close(s);

	/* sendfile with NULL offset: uses and moves the file position */
	tcp_pair(&c, &s);
	g_c = c;
	NEED(pthread_create(&t, NULL, drain, NULL) == 0);
	NEED(lseek(f, 1000, SEEK_SET) == 1000);
	SHOW(sendfile(s, f, NULL, 5000));
	say("file position after = %ld", (long)lseek(f, 0, SEEK_CUR));
	shutdown(s, SHUT_WR);
	pthread_join(t, NULL);
	say("received %zu bytes, checksum equal: %s", g_len,
	    YN(g_hash == csum(0, buf + 1000, 5000)));
	close(c);
	close(s);

	/* splice socket -> pipe -> file, and pipe -> socket */
	tcp_pair(&c, &s);
	NEED(pipe(p) == 0);
	SHOW(send(s, "spliced-data", 12, 0));
	NEED(wait_ev(c, POLLIN, 5000));
	{
		long end = now_ms() + 5000;
		int q = 0;

		while (ioctl(c, FIONREAD, &q) == 0 && q < 12 && now_ms() < end)
			msleep(2);
	}
	SHOW(splice(c, NULL, p[1], NULL, 100, 0));
	{
		int p2[2];
		char b[32];

		NEED(pipe(p2) == 0);
		SHOW(tee(p[0], p2[1], 5, 0));
		memset(b, 0, sizeof(b));
		SHOW(read(p2[0], b, sizeof(b)));
		say("tee copy \"%s\"", b);
		close(p2[0]);
		close(p2[1]);
	}
	{
		char b[32];

		memset(b, 0, sizeof(b));
		SHOW(read(p[0], b, 12));
		say("pipe got \"%s\"", b);
	}
	SHOW(write(p[1], "back-by-splice", 14));
	SHOW(splice(p[0], NULL, c, NULL, 14, 0));
	{
		char b[32];

		memset(b, 0, sizeof(b));
		SHOW(recv(s, b, 14, MSG_WAITALL));
		say("socket got \"%s\"", b);
	}
	set_nonblock(c, 1);
	SHOW(splice(c, NULL, p[1], NULL, 100, 0));
	set_nonblock(c, 0);
	/* big splice socket -> pipe -> file */
	{
		int f2;
		char path2[] = "/tmp/vdiff-sp.XXXXXX";
		size_t moved = 0;

		f2 = mkstemp(path2);
		NEED(f2 >= 0);
		unlink(path2);
		/* writer in a child process */
		{
			pid_t pid = fork();

			NEED(pid >= 0);
			if (pid == 0) {
				NEED(write_full(s, buf, FSZ) == FSZ);
				_exit(0);
			}
			close(s);
			while (moved < FSZ) {
				r = splice(c, NULL, p[1], NULL, 65536, 0);
				NEED(r > 0);
				NEED(splice(p[0], NULL, f2, NULL, r, 0) == r);
				moved += r;
			}
			say("writer %s", status_str(wait_child(pid)));
		}
		SHOW(splice(c, NULL, p[1], NULL, 65536, 0));
		{
			static char back[FSZ];

			NEED(pread(f2, back, FSZ, 0) == FSZ);
			say("spliced %zu bytes to file, checksum equal: %s", moved,
			    YN(csum(0, back, FSZ) == h));
		}
		close(f2);
	}
	close(c);
	return 0;
}
