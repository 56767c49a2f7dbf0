// SPDX-License-Identifier: GPL-2.0
/*
 * Flow steering: a filter becomes a rule in the NIC's receive bypass
 * namespace (ahead of the netdev's own steering, where mlx5_ib puts raw
 * packet QPs' rules), forwarding to the stack's TIR. Matching frames never
 * reach the kernel, so nothing answers them with an RST.
 *
 * The soft provider's lookup order (connected, listening on the address,
 * listening on any address) is three tables in three consecutive bypass
 * priorities: a miss goes on to the next, after the last to the netdev.
 * They sit at the end of the regular bypass priorities, which mlx5_ib
 * hands out from the start. Only the fields every mlx5 NIC matches are
 * used (no fragment bit): an IPv4 fragment with the ports still steers,
 * the rest reach the kernel, and that datagram is lost either way.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/slab.h>

#include "mlx5.h"

#define VELO_MLX5_FT_PRIO	(MLX5_BY_PASS_NUM_REGULAR_PRIOS - VELO_MLX5_FT_NUM)
#define VELO_MLX5_FT_LOG_SIZE	16
/* IPv4 and IPv6 rules differ in their match criteria: two groups. */
#define VELO_MLX5_FT_GROUPS	2

enum velo_mlx5_ft velo_mlx5_flow_table(const struct velo_key *k)
{
	if (!k->listen)
		return VELO_MLX5_FT_CONN;
	return memchr_inv(k->laddr, 0, sizeof(k->laddr)) ? VELO_MLX5_FT_LISTEN : VELO_MLX5_FT_ANY;
}

/* Match @addr exactly in the criteria @c and value @v at the address field @field. */
static void velo_mlx5_match_addr(void *c, void *v, size_t field, u16 family, const u8 *addr)
{
	size_t off = family == AF_INET6 ? 0 : MLX5_BYTE_OFF(ipv4_layout, ipv4);
	size_t len = family == AF_INET6 ? 16 : 4;

	memset((u8 *)c + field + off, 0xff, len);
	memcpy((u8 *)v + field + off, addr, len);
}

/* The rule of filter key @k: TCP to the local side, and from the remote. */
void velo_mlx5_flow_spec(struct mlx5_flow_spec *spec, const struct velo_key *k)
{
	void *c = MLX5_ADDR_OF(fte_match_param, spec->match_criteria, outer_headers);
	void *v = MLX5_ADDR_OF(fte_match_param, spec->match_value, outer_headers);
	size_t dst = MLX5_BYTE_OFF(fte_match_set_lyr_2_4, dst_ipv4_dst_ipv6);
	size_t src = MLX5_BYTE_OFF(fte_match_set_lyr_2_4, src_ipv4_src_ipv6);

	spec->match_criteria_enable = MLX5_MATCH_OUTER_HEADERS;
	MLX5_SET_TO_ONES(fte_match_set_lyr_2_4, c, ethertype);
	MLX5_SET(fte_match_set_lyr_2_4, v, ethertype,
		 k->family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
	MLX5_SET_TO_ONES(fte_match_set_lyr_2_4, c, ip_protocol);
	MLX5_SET(fte_match_set_lyr_2_4, v, ip_protocol, IPPROTO_TCP);
	MLX5_SET_TO_ONES(fte_match_set_lyr_2_4, c, tcp_dport);
	MLX5_SET(fte_match_set_lyr_2_4, v, tcp_dport, ntohs(k->lport));
	if (velo_mlx5_flow_table(k) != VELO_MLX5_FT_ANY)
		velo_mlx5_match_addr(c, v, dst, k->family, k->laddr);
	if (k->listen)
		return;
	MLX5_SET_TO_ONES(fte_match_set_lyr_2_4, c, tcp_sport);
	MLX5_SET(fte_match_set_lyr_2_4, v, tcp_sport, ntohs(k->rport));
	velo_mlx5_match_addr(c, v, src, k->family, k->raddr);
}

int velo_mlx5_flow_tables_create(struct velo_mlx5_dev *vdev)
{
	struct mlx5_flow_table_attr attr = {
		.autogroup.max_num_groups = VELO_MLX5_FT_GROUPS,
	};
	struct mlx5_flow_namespace *ns;
	int i;

	ns = mlx5_get_flow_namespace(vdev->mdev, MLX5_FLOW_NAMESPACE_BYPASS);
	if (!ns) {
		dev_warn(vdev->mdev->device, "velo: no bypass flow namespace\n");
		return -EOPNOTSUPP;
	}
	attr.max_fte = 1 << min_t(u32, VELO_MLX5_FT_LOG_SIZE,
				  MLX5_CAP_FLOWTABLE_NIC_RX(vdev->mdev, log_max_ft_size));
	for (i = 0; i < VELO_MLX5_FT_NUM; i++) {
		attr.prio = VELO_MLX5_FT_PRIO + i;
		vdev->ft[i] = mlx5_create_auto_grouped_flow_table(ns, &attr);
		if (IS_ERR(vdev->ft[i])) {
			int ret = PTR_ERR(vdev->ft[i]);

			dev_warn(vdev->mdev->device, "velo: create flow table (bypass %d): %d\n",
				 attr.prio, ret);
			vdev->ft[i] = NULL;
			velo_mlx5_flow_tables_destroy(vdev);
			return ret;
		}
	}
	return 0;
}

void velo_mlx5_flow_tables_destroy(struct velo_mlx5_dev *vdev)
{
	int i;

	for (i = VELO_MLX5_FT_NUM - 1; i >= 0; i--) {
		if (vdev->ft[i])
			mlx5_destroy_flow_table(vdev->ft[i]);
		vdev->ft[i] = NULL;
	}
}

struct mlx5_flow_handle *velo_mlx5_flow_add(struct velo_mlx5_dev *vdev,
					    const struct velo_key *k, u32 tirn)
{
	struct mlx5_flow_destination dest = {
		.type = MLX5_FLOW_DESTINATION_TYPE_TIR,
		.tir_num = tirn,
	};
	struct mlx5_flow_act act = { .action = MLX5_FLOW_CONTEXT_ACTION_FWD_DEST };
	struct mlx5_flow_spec *spec = kvzalloc(sizeof(*spec), GFP_KERNEL);
	struct mlx5_flow_handle *rule;

	if (!spec)
		return ERR_PTR(-ENOMEM);
	velo_mlx5_flow_spec(spec, k);
	rule = mlx5_add_flow_rules(vdev->ft[velo_mlx5_flow_table(k)], spec, &act, &dest, 1);
	kvfree(spec);
	return rule;
}
