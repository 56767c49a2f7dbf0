// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbell polling for the soft provider: on a real NIC a send costs user
 * space one MMIO write; here VELO_IOC_KICK stands for it. A stack that
 * arms polling (VELO_DBR_SQ_POLL non-zero, then one kick) instead gets its
 * SQ doorbell record polled by an hrtimer every velo.db_poll_us, which
 * hands the sends to a work item: no system call per send, at the price of
 * up to db_poll_us of latency and a timer per armed stack. Clearing the arm
 * word stops the timer at its next expiry (io_uring's SQPOLL idea, on a
 * timer instead of a dedicated thread).
 */
#include <linux/hrtimer.h>
#include <linux/module.h>

#include "velo.h"

static unsigned int db_poll_us;
module_param(db_poll_us, uint, 0644);
MODULE_PARM_DESC(db_poll_us, "Soft provider: poll armed SQ doorbells every N us (default: 0, off)");

static bool velo_db_armed(const struct velo_stack *s)
{
	return READ_ONCE(s->sq_poll[0]) && !READ_ONCE(s->dead);
}

static ktime_t velo_db_period(unsigned int us)
{
	return ns_to_ktime((u64)us * NSEC_PER_USEC);
}

static enum hrtimer_restart velo_db_timer(struct hrtimer *t)
{
	struct velo_stack *s = container_of(t, struct velo_stack, db_timer);
	unsigned int us = READ_ONCE(db_poll_us);
	u16 pc;

	if (!us || !velo_db_armed(s))
		return HRTIMER_NORESTART;
	pc = be32_to_cpu(READ_ONCE(s->qp_dbr[MLX5_SND_DBR])) & 0xffff;
	if (pc != READ_ONCE(s->sq_cc))
		queue_work_on(s->db_cpu, velo_wq, &s->db_work);
	hrtimer_forward_now(t, velo_db_period(us));
	return HRTIMER_RESTART;
}

static void velo_db_work(struct work_struct *work)
{
	velo_soft_kick(container_of(work, struct velo_stack, db_work));
}

void velo_db_init(struct velo_stack *s)
{
	hrtimer_init(&s->db_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	s->db_timer.function = velo_db_timer;
	INIT_WORK(&s->db_work, velo_db_work);
}

/*
 * After a kick: start polling if the stack asks for it and it is enabled.
 * The sends then leave from the kicking CPU, as the kick's did: frames
 * handed to a device from two CPUs can overtake each other (veth delivers
 * through per-CPU backlogs), and a NIC keeps a send queue in order.
 */
void velo_db_arm(struct velo_stack *s)
{
	unsigned int us = READ_ONCE(db_poll_us);

	if (us && velo_db_armed(s) && !hrtimer_active(&s->db_timer)) {
		s->db_cpu = raw_smp_processor_id();
		hrtimer_start(&s->db_timer, velo_db_period(us), HRTIMER_MODE_REL_SOFT);
	}
}

/* The stack is dead (s->dead set): no timer restarts, no work is left. */
void velo_db_stop(struct velo_stack *s)
{
	hrtimer_cancel(&s->db_timer);
	cancel_work_sync(&s->db_work);
}
