// SPDX-License-Identifier: GPL-2.0
/*
 * veloctl itself (user/veloctl/main.c, built into this test with its main
 * renamed) against velo.ko: stacks, filters, stats and policy, text and
 * --json; the JSON must be well-formed and agree with sysfs.
 */
#define main veloctl_main
#include "../../user/veloctl/main.c"
#undef main

#include "velo_test.h"

/* Run veloctl with @args (NULL-terminated), its stdout into @out. */
static int veloctl(char *out, size_t len, const char *const *args)
{
	char *argv[8] = { "veloctl" };
	int pfd[2], st, i;
	ssize_t n, total = 0;
	pid_t pid;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(open("/dev/null", O_WRONLY), 2);
		close(pfd[0]);
		exit(veloctl_main(i + 1, argv));	/* exit() flushes stdout */
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + total, len - 1 - total)) > 0)
		total += n;
	out[total] = 0;
	close(pfd[0]);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Balanced brackets outside strings, nothing after the top-level value. */
static int json_ok(const char *s)
{
	int depth = 0, in_str = 0, closed = 0;

	for (; *s; s++) {
		if (in_str) {
			in_str = *s != '"';
			continue;
		}
		if (closed && *s != '\n')
			return 0;
		if (*s == '"')
			in_str = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			closed = --depth == 0;
		if (depth < 0)
			return 0;
	}
	return closed && !in_str;
}

static char out[1 << 16];

static int cli(void)
{
	char want[128];
	struct vt_stack t;
	struct vt_tuple u;

	KTAP_EXPECT(vt_setup() == 0);
	KTAP_EXPECT(vt_stack_open(&t, "v0", 256 * 1024) == 0);
	vt_tuple4(&u, "10.9.0.1", 9300, "0.0.0.0", 0);
	KTAP_EXPECT(vt_filter(&t, &u, VELO_FILTER_F_LISTEN, NULL) == 0);
	vt_tuple6(&u, "fd09::1", 9301, "fd09::2", 9302);
	KTAP_EXPECT(vt_filter(&t, &u, 0, NULL) == 0);

	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "stacks", "--json", NULL }) == 0);
	KTAP_EXPECT(json_ok(out));
	snprintf(want, sizeof(want), "\"id\":%u,\"ifindex\":%u,\"ifname\":\"v0\"",
		 t.c.stack_id, t.c.ifindex);
	KTAP_EXPECT(strstr(out, want));
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "stacks", NULL }) == 0);
	snprintf(want, sizeof(want), "stack %u: v0 queue 0 provider soft", t.c.stack_id);
	KTAP_EXPECT(strstr(out, want) && strstr(out, "rx_frames"));

	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "filters", "--json", NULL }) == 0);
	KTAP_EXPECT(json_ok(out));
	KTAP_EXPECT(strstr(out, "\"type\":\"listen\",\"local\":\"10.9.0.1\",\"lport\":9300"));
	KTAP_EXPECT(strstr(out, "\"local\":\"fd09::1\",\"lport\":9301,\"remote\":\"fd09::2\",\"rport\":9302"));
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "filters", NULL }) == 0);
	KTAP_EXPECT(strstr(out, "tcp listen 10.9.0.1 port 9300"));

	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "stats", "--json", NULL }) == 0);
	KTAP_EXPECT(json_ok(out));
	snprintf(want, sizeof(want), "\"filters\":%lld",
		 vt_sysfs_u64("/sys/kernel/velo/stats/filters"));
	KTAP_EXPECT(strstr(out, want));

	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "policy", "v0", "off", NULL }) == 0);
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "policy", "--json", NULL }) == 0);
	KTAP_EXPECT(json_ok(out) && strstr(out, "{\"ifname\":\"v0\",\"accelerate\":false}"));
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "policy", "v0", "on", NULL }) == 0);
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "version", NULL }) == 0);
	KTAP_EXPECT(strstr(out, "velo.ko: ") && !strstr(out, "MISMATCH"));
	KTAP_EXPECT(veloctl(out, sizeof(out), (const char *[]){ "bogus", NULL }) == 2);
	vt_stack_close(&t);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "veloctl_stacks_filters_stats_policy", cli, 0 },
};

KTAP_MAIN(cases)
