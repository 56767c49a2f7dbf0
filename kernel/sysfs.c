// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs: /sys/kernel/velo/stats/<counter> (global, world-readable) and
 * /sys/kernel/velo/stacks/<id>/<counter|info> (readable by the stack's
 * owner and root only: a user sees only their own stacks). One value per
 * file. A stack's kobject is its last reference: its release frees it.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "velo.h"

enum { VELO_INFO_IFINDEX, VELO_INFO_QUEUE, VELO_INFO_PROVIDER, VELO_INFO_PID,
	VELO_INFO_FILTERS, VELO_INFO_STACKS, VELO_INFO_MEM };

struct velo_attr {
	struct attribute attr;
	int idx;
	u64 (*get)(const struct velo_stack *s, int idx);	/* s: NULL for global */
};

static struct kobject *velo_kobj;
static struct kobject *velo_stacks_kobj;
static struct kobject *velo_stats_kobj;

static u64 velo_get_cnt(const struct velo_stack *s, int idx)
{
	return atomic64_read(s ? &s->cnt[idx] : &velo_global_cnt[idx]);
}

static u64 velo_get_info(const struct velo_stack *s, int idx)
{
	switch (idx) {
	case VELO_INFO_IFINDEX:
		return s->ifindex;
	case VELO_INFO_QUEUE:
		return s->queue;
	case VELO_INFO_PROVIDER:
		return s->provider;
	case VELO_INFO_PID:
		return s->tgid;
	case VELO_INFO_FILTERS:
		return s ? READ_ONCE(s->nfilters) : atomic_read(&velo_live_filters);
	case VELO_INFO_STACKS:
		return atomic_read(&velo_live_stacks);
	default:
		return atomic_long_read(&velo_live_mem);
	}
}

#define VELO_INFO_ATTR(_name, _mode, _idx) \
	{ .attr = { .name = _name, .mode = _mode }, .idx = _idx, .get = velo_get_info }

static struct velo_attr velo_stack_info[] = {
	VELO_INFO_ATTR("ifindex", 0400, VELO_INFO_IFINDEX),
	VELO_INFO_ATTR("queue", 0400, VELO_INFO_QUEUE),
	VELO_INFO_ATTR("provider", 0400, VELO_INFO_PROVIDER),
	VELO_INFO_ATTR("pid", 0400, VELO_INFO_PID),
	VELO_INFO_ATTR("filters", 0400, VELO_INFO_FILTERS),
};

static struct velo_attr velo_global_info[] = {
	VELO_INFO_ATTR("filters", 0444, VELO_INFO_FILTERS),
	VELO_INFO_ATTR("stacks", 0444, VELO_INFO_STACKS),
	VELO_INFO_ATTR("mem_bytes", 0444, VELO_INFO_MEM),
};

static struct velo_attr velo_stack_cnt[VELO_CNT_MAX];
static struct velo_attr velo_global_cnt_attrs[VELO_CNT_MAX];
static struct attribute *velo_stack_attrs[VELO_CNT_MAX + ARRAY_SIZE(velo_stack_info) + 1];
static struct attribute *velo_global_attrs[VELO_CNT_MAX + ARRAY_SIZE(velo_global_info) + 1];

static const struct attribute_group velo_stack_group = { .attrs = velo_stack_attrs };
static const struct attribute_group velo_global_group = { .attrs = velo_global_attrs };
static const struct attribute_group *velo_stack_groups[] = { &velo_stack_group, NULL };
static const struct attribute_group *velo_global_groups[] = { &velo_global_group, NULL };

/* The counter attributes, named from velo_counter_names, then @info. */
static void velo_attrs_fill(struct attribute **list, struct velo_attr *cnt, umode_t mode,
			    struct velo_attr *info, size_t ninfo)
{
	size_t i, n = 0;

	for (i = 0; i < VELO_CNT_MAX; i++) {
		cnt[i].attr.name = velo_counter_names[i];
		cnt[i].attr.mode = mode;
		cnt[i].idx = i;
		cnt[i].get = velo_get_cnt;
		list[n++] = &cnt[i].attr;
	}
	for (i = 0; i < ninfo; i++)
		list[n++] = &info[i].attr;
	list[n] = NULL;
}

static ssize_t velo_attr_show(struct kobject *kobj, struct attribute *attr, char *buf)
{
	struct velo_attr *a = container_of(attr, struct velo_attr, attr);
	const struct velo_stack *s = NULL;

	if (kobj != velo_stats_kobj)
		s = container_of(kobj, struct velo_stack, kobj);
	return sysfs_emit(buf, "%llu\n", a->get(s, a->idx));
}

static const struct sysfs_ops velo_sysfs_ops = {
	.show = velo_attr_show,
};

static void velo_stack_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct velo_stack, kobj));
}

static void velo_stack_get_ownership(struct kobject *kobj, kuid_t *uid, kgid_t *gid)
{
	*uid = container_of(kobj, struct velo_stack, kobj)->uid;
}

static struct kobj_type velo_stack_ktype = {
	.release = velo_stack_kobj_release,
	.sysfs_ops = &velo_sysfs_ops,
	.default_groups = velo_stack_groups,
	.get_ownership = velo_stack_get_ownership,
};

static void velo_stats_kobj_release(struct kobject *kobj)
{
	kfree(kobj);
}

static struct kobj_type velo_stats_ktype = {
	.release = velo_stats_kobj_release,
	.sysfs_ops = &velo_sysfs_ops,
	.default_groups = velo_global_groups,
};

void velo_sysfs_stack_init(struct velo_stack *s)
{
	kobject_init(&s->kobj, &velo_stack_ktype);
}

int velo_sysfs_stack_add(struct velo_stack *s)
{
	return kobject_add(&s->kobj, velo_stacks_kobj, "%u", s->id);
}

void velo_sysfs_stack_del(struct velo_stack *s)
{
	kobject_del(&s->kobj);
}

void velo_sysfs_stack_put(struct velo_stack *s)
{
	kobject_put(&s->kobj);
}

int velo_sysfs_init(void)
{
	int ret = -ENOMEM;

	velo_attrs_fill(velo_stack_attrs, velo_stack_cnt, 0400, velo_stack_info,
			ARRAY_SIZE(velo_stack_info));
	velo_attrs_fill(velo_global_attrs, velo_global_cnt_attrs, 0444, velo_global_info,
			ARRAY_SIZE(velo_global_info));
	velo_kobj = kobject_create_and_add("velo", kernel_kobj);
	if (!velo_kobj)
		return ret;
	velo_stacks_kobj = kobject_create_and_add("stacks", velo_kobj);
	if (!velo_stacks_kobj)
		goto err;
	velo_stats_kobj = kzalloc(sizeof(*velo_stats_kobj), GFP_KERNEL);
	if (!velo_stats_kobj)
		goto err_stacks;
	ret = kobject_init_and_add(velo_stats_kobj, &velo_stats_ktype, velo_kobj, "stats");
	if (!ret)
		return 0;
	kobject_put(velo_stats_kobj);
err_stacks:
	kobject_put(velo_stacks_kobj);
err:
	kobject_put(velo_kobj);
	return ret;
}

void velo_sysfs_exit(void)
{
	kobject_put(velo_stats_kobj);
	kobject_put(velo_stacks_kobj);
	kobject_put(velo_kobj);
}
