// SPDX-License-Identifier: GPL-2.0
/*
 * In-module self-tests, run at load (WireGuard style). Each test prints
 * "velo: <name>: pass" or "velo: <name>: FAIL"; the VM harness turns these
 * lines into test results and fails on any verdict other than pass.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/velo.h>

#include "velo.h"

/* The version reply must carry a NUL-terminated release that fits. */
static bool velo_selftest_version(void)
{
	return strlen(VELO_VERSION) < sizeof_field(struct velo_version, release) &&
	       _IOC_SIZE(VELO_IOC_VERSION) == sizeof(struct velo_version);
}

static const struct {
	const char *name;
	bool (*run)(void);
} velo_selftests[] = {
	{ "version", velo_selftest_version },
};

bool velo_selftests_run(void)
{
	bool all = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(velo_selftests); i++) {
		bool ok = velo_selftests[i].run();

		pr_info("%s: %s\n", velo_selftests[i].name, ok ? "pass" : "FAIL");
		all &= ok;
	}
	return all;
}
