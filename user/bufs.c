// SPDX-License-Identifier: MIT
/* Buffer sizes from the configured TUN MTU; see bufs.h. */
#include "bufs.h"

void lwt_bufs_init(struct lwt_bufs *b, int tun_mtu)
{
	if (tun_mtu < LWT_MTU_MIN)
		tun_mtu = LWT_MTU_MIN;
	if (tun_mtu > LWT_MTU_MAX)
		tun_mtu = LWT_MTU_MAX;
	b->pkt_max = (uint32_t)tun_mtu;
	/* Room for an IPv6 header too (40 bytes, not 20): one size for
	 * either family's segments. */
	b->seg_max = (uint32_t)tun_mtu + LWT_OVERHEAD + LWT_IP6_EXTRA;
}

int lwt_bufs_mtu_for_link(int link_mtu)
{
	int m = link_mtu - (int)LWT_OVERHEAD;

	if (m < LWT_MTU_MIN)
		return 0;
	return m > LWT_MTU_MAX ? LWT_MTU_MAX : m;
}
