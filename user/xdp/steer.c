// SPDX-License-Identifier: GPL-2.0
/* The shared XDP steering program of an interface: see steer.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/fd.h"
#include "common/log.h"
#include "xdp/steer.h"

/* The compiled program, embedded by prog_blob.S. */
extern const unsigned char velo_xdp_obj_start[], velo_xdp_obj_end[];

#define ATTACH_TRIES 3

static const char *const map_names[] = {
	"velo_flows", "velo_xsks", "velo_qowner", "velo_owners", "velo_stats",
};

static int *map_fd_slot(struct velo_steer *s, unsigned int i)
{
	int *slots[] = { &s->flows_fd, &s->xsks_fd, &s->qowner_fd, &s->owners_fd,
			 &s->stats_fd };

	return slots[i];
}

static void close_fd(int *fd)
{
	velo_fd_close(*fd);
	*fd = -1;
}

void velo_steer_close(struct velo_steer *s)
{
	unsigned int i;

	close_fd(&s->prog_fd);
	for (i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++)
		close_fd(map_fd_slot(s, i));
}

/* libbpf's messages go to velo's log at debug level, not to the app's stderr. */
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	(void)level;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	velo_dbg("libbpf: %s", line);
	return 0;
}

/* Opens the maps of a program found attached, by their names. */
static int open_maps(struct velo_steer *s, const struct bpf_prog_info *info,
		     const uint32_t *ids)
{
	unsigned int i, m;

	for (i = 0; i < info->nr_map_ids; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			return fd;
		if (bpf_obj_get_info_by_fd(fd, &mi, &len)) {
			close(fd);
			return -errno;
		}
		for (m = 0; m < sizeof(map_names) / sizeof(map_names[0]); m++)
			if (!strcmp(mi.name, map_names[m]) && *map_fd_slot(s, m) < 0)
				break;
		if (m == sizeof(map_names) / sizeof(map_names[0])) {
			close(fd);
			continue;
		}
		velo_fd_private(fd, map_fd_slot(s, m));
	}
	for (m = 0; m < sizeof(map_names) / sizeof(map_names[0]); m++)
		if (*map_fd_slot(s, m) < 0)
			return -ENOENT;
	return 0;
}

/* Takes the program of id prog_id if it is velo's; -EBUSY if it is foreign. */
static int adopt(struct velo_steer *s, uint32_t prog_id)
{
	struct bpf_prog_info info = { 0 };
	uint32_t ids[8], len = sizeof(info);
	int err, fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return fd;
	velo_fd_private(fd, &s->prog_fd);
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &len))
		return -errno;
	if (strcmp(info.name, VELO_XDP_PROG_NAME)) {
		velo_err("xdp: ifindex %d runs XDP program %u \"%s\", not velo's %s",
			 s->ifindex, prog_id, info.name, VELO_XDP_PROG_NAME);
		return -EBUSY;
	}
	err = open_maps(s, &info, ids);
	if (!err)
		s->prog_id = prog_id;
	return err;
}

/* Loads the embedded program and attaches it; -EEXIST if one appeared. */
static int load_and_attach(struct velo_steer *s)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "velo_xdp");
	uint32_t flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
	struct bpf_object *obj;
	int err, fd;

	obj = bpf_object__open_mem(velo_xdp_obj_start,
				   (size_t)(velo_xdp_obj_end - velo_xdp_obj_start), &opts);
	if (!obj)
		return -errno;
	err = bpf_object__load(obj);
	if (err) {
		velo_err("xdp: loading the steering program failed: %s "
			 "(VELO_LOG=debug shows the verifier's log)", strerror(-err));
		goto out;
	}
	fd = bpf_program__fd(bpf_object__find_program_by_name(obj, VELO_XDP_PROG_NAME));
	/* the program never reads velo_owners: bind it so adopt() finds it */
	err = bpf_prog_bind_map(fd, bpf_object__find_map_fd_by_name(obj, "velo_owners"), NULL);
	if (err) {
		velo_err("xdp: binding velo_owners to the program failed: %s", strerror(-err));
		goto out;
	}
	err = -EOPNOTSUPP;
	if (!s->force_generic) {
		err = bpf_xdp_attach(s->ifindex, fd, flags | XDP_FLAGS_DRV_MODE, NULL);
		if (err && err != -EBUSY && err != -EEXIST)
			velo_warn("xdp: native XDP on ifindex %d failed (%s): using generic mode",
				  s->ifindex, strerror(-err));
	}
	if (err && err != -EBUSY && err != -EEXIST)
		err = bpf_xdp_attach(s->ifindex, fd, flags | XDP_FLAGS_SKB_MODE, NULL);
	if (err == -EBUSY)
		err = -EEXIST;
	if (err && err != -EEXIST)
		velo_err("xdp: attaching to ifindex %d failed: %s", s->ifindex, strerror(-err));
out:
	/* an attached program keeps itself and its maps alive */
	bpf_object__close(obj);
	return err;
}

/* The velo program attached to the interface, its id and mode; 0: none. */
static uint32_t attached_prog(int ifindex, uint32_t *mode_flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (q.drv_prog_id) {
		*mode_flags = XDP_FLAGS_DRV_MODE;
		return q.drv_prog_id;
	}
	*mode_flags = XDP_FLAGS_SKB_MODE;
	return q.skb_prog_id;
}

int velo_steer_attach(struct velo_steer *s, int ifindex, bool force_generic)
{
	unsigned int tries, i;
	int err = -EAGAIN;

	libbpf_set_print(libbpf_to_log);
	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	s->force_generic = force_generic;
	s->prog_fd = -1;
	for (i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++)
		*map_fd_slot(s, i) = -1;
	for (tries = 0; tries < ATTACH_TRIES; tries++) {
		uint32_t id = attached_prog(ifindex, &s->mode_flags);

		if (!id) {
			err = load_and_attach(s);
			if (err && err != -EEXIST)
				break;
			/* ours, or the one that won the race */
			id = attached_prog(ifindex, &s->mode_flags);
			if (!id)
				continue;
		}
		err = adopt(s, id);
		/* it may have been detached by its last owner meanwhile */
		if (err != -ENOENT)
			break;
		velo_steer_close(s);
	}
	if (err == -ENOENT)
		velo_err("xdp: ifindex %d: the attached velo program has not all its maps",
			 ifindex);
	if (err)
		velo_steer_close(s);
	else
		velo_info("xdp: ifindex %d: program %u in %s mode", ifindex, s->prog_id,
			  s->mode_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic");
	return err;
}

static uint64_t pidns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (uint64_t)st.st_ino;
}

/* Field 22 of /proc/PID/stat; 0 if the process is gone or a zombie. */
static uint64_t start_time(uint32_t pid)
{
	char path[32], buf[1024], state;
	unsigned long long t;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: skip to the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %llu", &state, &t) != 2 || state == 'Z')
		return 0;
	return t;
}

static bool owner_alive(struct velo_steer *s, uint64_t owner)
{
	struct velo_owner_val v;

	if (bpf_map_lookup_elem(s->owners_fd, &owner, &v))
		return false;
	/* a pid of another pid namespace cannot be checked: keep it */
	if (v.pidns != pidns_inode())
		return true;
	return start_time(v.pid) == v.start_time;
}

typedef bool (*flow_doomed_fn)(struct velo_steer *s, const struct velo_flow_val *v,
			       uint64_t arg);

/* Deletes the flows doomed() picks; iteration resumes from the previous key. */
static void sweep_flows(struct velo_steer *s, flow_doomed_fn doomed, uint64_t arg)
{
	struct velo_flow_key prev, cur;
	struct velo_flow_val v;
	bool have_prev = false;

	while (!bpf_map_get_next_key(s->flows_fd, have_prev ? &prev : NULL, &cur)) {
		if (!bpf_map_lookup_elem(s->flows_fd, &cur, &v) && doomed(s, &v, arg) &&
		    !bpf_map_delete_elem(s->flows_fd, &cur))
			continue;
		prev = cur;
		have_prev = true;
	}
}

static bool owned_by(struct velo_steer *s, const struct velo_flow_val *v, uint64_t owner)
{
	(void)s;
	return v->owner == owner;
}

static bool owner_dead(struct velo_steer *s, const struct velo_flow_val *v, uint64_t unused)
{
	(void)unused;
	return !owner_alive(s, v->owner);
}

/* Forgets owners whose process is gone: flows, records, queue tags. */
static void collect_dead_owners(struct velo_steer *s)
{
	uint64_t prev, cur, owner;
	bool have_prev = false;
	uint32_t q;

	sweep_flows(s, owner_dead, 0);
	while (!bpf_map_get_next_key(s->owners_fd, have_prev ? &prev : NULL, &cur)) {
		if (!owner_alive(s, cur) && !bpf_map_delete_elem(s->owners_fd, &cur)) {
			velo_info("xdp: collected dead owner %llu", (unsigned long long)cur);
			continue;
		}
		prev = cur;
		have_prev = true;
	}
	for (q = 0; q < VELO_XDP_MAX_QUEUES; q++) {
		static const uint64_t none;

		if (!bpf_map_lookup_elem(s->qowner_fd, &q, &owner) && owner &&
		    !owner_alive(s, owner))
			bpf_map_update_elem(s->qowner_fd, &q, &none, BPF_ANY);
	}
}

int velo_steer_join(struct velo_steer *s, uint64_t owner)
{
	struct velo_owner_val rec = {
		.pid = (uint32_t)getpid(),
		.start_time = start_time((uint32_t)getpid()),
		.pidns = pidns_inode(),
	};
	unsigned int tries;
	uint32_t id, mode;
	int err;

	for (tries = 0; tries < ATTACH_TRIES; tries++) {
		collect_dead_owners(s);
		if (bpf_map_update_elem(s->owners_fd, &owner, &rec, BPF_NOEXIST))
			return -errno;
		/* the last owner may have detached the program before seeing us */
		id = attached_prog(s->ifindex, &mode);
		if (id == s->prog_id)
			return 0;
		bpf_map_delete_elem(s->owners_fd, &owner);
		velo_steer_close(s);
		err = velo_steer_attach(s, s->ifindex, s->force_generic);
		if (err)
			return err;
	}
	return -EAGAIN;
}

void velo_steer_leave(struct velo_steer *s, uint64_t owner)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, only_ours, .old_prog_fd = s->prog_fd);
	uint64_t any;
	int err;

	sweep_flows(s, owned_by, owner);
	bpf_map_delete_elem(s->owners_fd, &owner);
	collect_dead_owners(s);
	if (!bpf_map_get_next_key(s->owners_fd, NULL, &any))
		return;
	/* detaches nothing if the interface runs another program by now */
	err = bpf_xdp_detach(s->ifindex, s->mode_flags, &only_ours);
	if (err == -EEXIST)
		velo_info("xdp: ifindex %d runs another program by now: left attached",
			  s->ifindex);
	else if (err)
		velo_warn("xdp: detaching program %u from ifindex %d: %s", s->prog_id,
			  s->ifindex, strerror(-err));
	else
		velo_info("xdp: detached program %u from ifindex %d", s->prog_id, s->ifindex);
}

int velo_steer_bind_queue(struct velo_steer *s, uint32_t queue, uint64_t owner, int xsk_fd)
{
	if (queue >= VELO_XDP_MAX_QUEUES)
		return -EINVAL;
	/* the owner first: the program checks it before redirecting */
	if (bpf_map_update_elem(s->qowner_fd, &queue, &owner, BPF_ANY) ||
	    bpf_map_update_elem(s->xsks_fd, &queue, &xsk_fd, BPF_ANY))
		return -errno;
	return 0;
}

void velo_steer_unbind_queue(struct velo_steer *s, uint32_t queue, uint64_t owner)
{
	static const uint64_t none;
	uint64_t cur;

	/* closing the XSK removes it from velo_xsks; the tag is ours to clear */
	if (!bpf_map_lookup_elem(s->qowner_fd, &queue, &cur) && cur == owner)
		bpf_map_update_elem(s->qowner_fd, &queue, &none, BPF_ANY);
}

int velo_steer_flow_add(struct velo_steer *s, const struct velo_flow_key *key,
			const struct velo_flow_val *val)
{
	struct velo_flow_val cur;

	if (!bpf_map_update_elem(s->flows_fd, key, val, BPF_NOEXIST))
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* a dead owner's leftover must not block the tuple */
	if (bpf_map_lookup_elem(s->flows_fd, key, &cur) || owner_alive(s, cur.owner))
		return -EEXIST;
	bpf_map_delete_elem(s->flows_fd, key);
	return bpf_map_update_elem(s->flows_fd, key, val, BPF_NOEXIST) ? -errno : 0;
}

int velo_steer_flow_remove(struct velo_steer *s, const struct velo_flow_key *key,
			   const struct velo_flow_val *val)
{
	struct velo_flow_val cur;

	/*
	 * Only the registration the handle names: once seen here it cannot be
	 * replaced by anyone else while we are alive (adds are NOEXIST).
	 */
	if (bpf_map_lookup_elem(s->flows_fd, key, &cur) || cur.owner != val->owner ||
	    cur.gen != val->gen)
		return -ENOENT;
	return bpf_map_delete_elem(s->flows_fd, key) ? -errno : 0;
}

void velo_steer_counters(struct velo_steer *s, uint64_t out[VELO_XDP_NR_COUNTERS])
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t per_cpu[cpus > 0 ? cpus : 1];
	uint32_t i;
	int c;

	for (i = 0; i < VELO_XDP_NR_COUNTERS; i++) {
		out[i] = 0;
		if (cpus <= 0 || bpf_map_lookup_elem(s->stats_fd, &i, per_cpu))
			continue;
		for (c = 0; c < cpus; c++)
			out[i] += per_cpu[c];
	}
}
