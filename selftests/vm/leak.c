// SPDX-License-Identifier: GPL-2.0
/*
 * 1,000 stack create/map/filter/destroy cycles leak nothing.
 *
 * Debian's kernel has no kmemleak, so: velo's own live counters (stacks,
 * filters, bytes of stack memory) must come back exactly; VmallocUsed must
 * come back within 64 KiB (stack memory is vmalloc'd: a leaked stack of the
 * smallest size, ~100 KiB, exceeds that on its own); and the slab total
 * (SUnreclaim) within 512 KiB, which any leak of 512 bytes or more per
 * cycle exceeds (a stack struct is ~3 KiB, a filter ~100 bytes times two
 * per cycle plus its sysfs directory), while tolerating the noise of other
 * kernel activity and of per-cpu slab caches.
 */
#include "velo_test.h"

#define CYCLES 1000

static long long meminfo_kb(const char *key)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtoll(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

static long long stat_of(const char *name)
{
	return vt_sysfs_u64("/sys/kernel/velo/stats/%s", name);
}

static int cycle(int dev, int i)
{
	struct vt_stack t;
	struct vt_tuple l, c;

	if (vt_stack_create(&t, dev, "v0", 64 * 1024))
		return -1;
	vt_tuple4(&l, "10.9.0.1", 10000 + i % 1000, "0.0.0.0", 0);
	vt_tuple4(&c, "10.9.0.1", 10000 + i % 1000, "10.9.0.2", 20000);
	if (vt_filter(&t, &l, VELO_FILTER_F_LISTEN, NULL) || vt_filter(&t, &c, 0, NULL))
		return -1;
	t.conns[0].state = VELO_CONN_OPEN;	/* refused at teardown: no MAC */
	munmap(t.map, t.c.mmap_size);
	close(t.fd);
	return 0;
}

/* The frees are RCU-deferred: wait for velo's counters to settle. */
static int settle(long long stacks)
{
	int i;

	for (i = 0; i < 100 && stat_of("stacks") != stacks; i++)
		usleep(50000);
	usleep(200000);
	return stat_of("stacks") == stacks ? 0 : -1;
}

static int create_destroy_1000(void)
{
	long long stacks, filters, mem, vmalloc0, slab0, dv, ds;
	int dev, i;

	KTAP_EXPECT(vt_setup() == 0);
	dev = open(VELO_DEVICE_PATH, O_RDWR);
	KTAP_EXPECT(dev >= 0);
	stacks = stat_of("stacks");
	/* Warm up caches (sysfs, kobject names, slabs) before the baseline. */
	for (i = 0; i < 20; i++)
		KTAP_EXPECT(cycle(dev, i) == 0);
	KTAP_EXPECT(settle(stacks) == 0);
	filters = stat_of("filters");
	mem = stat_of("mem_bytes");
	vmalloc0 = meminfo_kb("VmallocUsed");
	slab0 = meminfo_kb("SUnreclaim");
	for (i = 0; i < CYCLES; i++)
		KTAP_EXPECT(cycle(dev, i) == 0);
	KTAP_EXPECT(settle(stacks) == 0);
	dv = meminfo_kb("VmallocUsed") - vmalloc0;
	ds = meminfo_kb("SUnreclaim") - slab0;
	ktap_diag("after %d cycles: stacks %lld filters %lld mem %lld, VmallocUsed %+lld kB, SUnreclaim %+lld kB",
		  CYCLES, stat_of("stacks"), stat_of("filters"), stat_of("mem_bytes"), dv, ds);
	KTAP_EXPECT(stat_of("filters") == filters && stat_of("mem_bytes") == mem);
	KTAP_EXPECT(dv < 64);
	KTAP_EXPECT(ds < 512);
	KTAP_EXPECT(stat_of("rst_refused") >= CYCLES);
	close(dev);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	{ "create_destroy_1000_no_leak", create_destroy_1000, 300 },
};

KTAP_MAIN(cases)
