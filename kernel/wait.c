// SPDX-License-Identifier: GPL-2.0
/*
 * Waits: VELO_IOC_WAIT and poll() sleep until a CQ holds a completion past
 * the consumer index user space last wrote to its doorbell record (the
 * soft provider's "armed" state), the stack loses its device, a deadline
 * passes or a signal arrives. Signals return -ERESTARTSYS, so the kernel
 * restarts the call or fails it with EINTR exactly per SA_RESTART, as for
 * any syscall; the deadline is absolute, so a restart does not extend it.
 *
 * Interrupt moderation: producers wake only when someone sleeps on the
 * stack (wq_has_sleeper), so a busy stack that polls its CQs costs no
 * wakeups, and an idle one is woken from the receive softirq directly.
 */
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/uaccess.h>

#include "velo.h"

static u32 velo_events(struct velo_stack *s)
{
	if (s->hw)
		return velo_provider_events(s);
	return (velo_cq_pending(&s->rcq) ? VELO_EV_RX : 0) |
	       (velo_cq_pending(&s->scq) ? VELO_EV_TX : 0);
}

/* Something to report: completions, or the stack lost its device. */
static bool velo_woken(struct velo_stack *s, u32 *ev)
{
	*ev = velo_events(s);
	return *ev || READ_ONCE(s->dead);
}

__poll_t velo_poll_events(struct velo_stack *s)
{
	__poll_t ev = velo_events(s) ? EPOLLIN | EPOLLRDNORM : 0;

	return READ_ONCE(s->dead) ? ev | EPOLLERR : ev;
}

void velo_wake(struct velo_stack *s)
{
	if (wq_has_sleeper(&s->wq)) {
		velo_count(s, VELO_CNT_WAKEUPS, 1);
		wake_up_interruptible_poll(&s->wq, EPOLLIN | EPOLLRDNORM);
	}
}
EXPORT_SYMBOL_GPL(velo_wake);

long velo_wait(struct velo_stack *s, void __user *arg)
{
	struct velo_wait w;
	u32 ev = 0;
	long ret;

	if (copy_from_user(&w, arg, sizeof(w)))
		return -EFAULT;
	if (w.reserved || w.deadline_ns < 0)
		return -EINVAL;
	if (w.deadline_ns) {
		ktime_t left = ktime_sub(ns_to_ktime(w.deadline_ns), ktime_get());

		ret = wait_event_interruptible_hrtimeout(s->wq, velo_woken(s, &ev),
							 left > 0 ? left : 0);
	} else {
		ret = wait_event_interruptible(s->wq, velo_woken(s, &ev));
	}
	if (ret)
		return ret;
	if (!ev)
		return -ENODEV;
	w.events = ev;
	return copy_to_user(arg, &w, sizeof(w)) ? -EFAULT : 0;
}
