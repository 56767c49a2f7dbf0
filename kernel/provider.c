// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware providers: modules that give a stack real NIC queues in the
 * same formats the soft provider emulates (velo_mlx5.ko). They live in
 * their own modules so that velo.ko links no driver's symbols and loads
 * on any machine; velo.ko loads one on demand (request_module) when a
 * stack is created on its kind of netdev. A stack pins its provider's
 * module, so the hooks cannot go away under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/srcu.h>

#include "velo.h"

static DEFINE_MUTEX(velo_providers_lock);
/*
 * Readers of a stack's provider state (hw_priv): waits, poll and mmap of
 * the UAR, which sleeps with the mm's mmap_lock held. SRCU rather than
 * s->lock: the provider's destroy runs under s->lock and takes mmap_lock
 * to unmap the UAR, the opposite order.
 */
DEFINE_STATIC_SRCU(velo_hw_srcu);
static const struct velo_provider_ops *velo_mlx5_ops;

int velo_provider_register(const struct velo_provider_ops *ops)
{
	int ret = 0;

	if (ops->provider != VELO_PROVIDER_MLX5)
		return -EINVAL;
	mutex_lock(&velo_providers_lock);
	if (velo_mlx5_ops)
		ret = -EBUSY;
	else
		velo_mlx5_ops = ops;
	mutex_unlock(&velo_providers_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(velo_provider_register);

/* A module's exit: its stacks are gone (each held a module reference). */
void velo_provider_unregister(const struct velo_provider_ops *ops)
{
	mutex_lock(&velo_providers_lock);
	if (velo_mlx5_ops == ops)
		velo_mlx5_ops = NULL;
	mutex_unlock(&velo_providers_lock);
}
EXPORT_SYMBOL_GPL(velo_provider_unregister);

static const struct velo_provider_ops *velo_provider_try_get(void)
{
	const struct velo_provider_ops *ops;

	mutex_lock(&velo_providers_lock);
	ops = velo_mlx5_ops;
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&velo_providers_lock);
	return ops;
}

/* The provider's hooks with a reference on its module, or NULL. */
const struct velo_provider_ops *velo_provider_get(u32 provider)
{
	const struct velo_provider_ops *ops;

	if (provider != VELO_PROVIDER_MLX5)
		return NULL;
	ops = velo_provider_try_get();
	if (!ops && !request_module("velo_mlx5"))
		ops = velo_provider_try_get();
	return ops;
}

void velo_provider_put(const struct velo_provider_ops *ops)
{
	module_put(ops->owner);
}

/* The queues of a stack whose area is allocated and laid out. */
int velo_provider_create(struct velo_stack *s)
{
	void *priv;
	int ret;

	ret = s->hw->create(s, s->dev, &priv);
	if (!ret)
		rcu_assign_pointer(s->hw_priv, priv);
	return ret;
}

/*
 * Destroy the stack's device queues (the stack dies or loses its device).
 * Waits, poll() and mmap may be inside a hook: they finish first.
 */
void velo_provider_stop(struct velo_stack *s)
{
	void *priv = rcu_dereference_protected(s->hw_priv, true);

	if (!priv)
		return;
	RCU_INIT_POINTER(s->hw_priv, NULL);
	synchronize_srcu(&velo_hw_srcu);
	s->hw->destroy(priv);
}

/* Under s->lock: the provider's state, NULL once stopped. */
void *velo_provider_priv(struct velo_stack *s)
{
	return rcu_dereference_protected(s->hw_priv, lockdep_is_held(&s->lock));
}

u32 velo_provider_events(struct velo_stack *s)
{
	void *priv;
	u32 ev = 0;
	int idx;

	idx = srcu_read_lock(&velo_hw_srcu);
	priv = srcu_dereference(s->hw_priv, &velo_hw_srcu);
	if (priv)
		ev = s->hw->events(priv);
	srcu_read_unlock(&velo_hw_srcu, idx);
	return ev;
}

/* The doorbell page, while the stack has its device queues. */
int velo_provider_mmap_uar(struct velo_stack *s, struct vm_area_struct *vma)
{
	int ret = -ENODEV;
	void *priv;
	int idx;

	idx = srcu_read_lock(&velo_hw_srcu);
	priv = srcu_dereference(s->hw_priv, &velo_hw_srcu);
	if (priv)
		ret = s->hw->mmap_uar(priv, vma);
	srcu_read_unlock(&velo_hw_srcu, idx);
	return ret;
}
