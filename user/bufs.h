/* SPDX-License-Identifier: MIT */
/* How large a packet lwt ever holds, computed once at start from the TUN
 * MTU (pick_mtu in main.c) and the bytes lwt puts around an inner packet.
 * Every buffer that holds an inner packet, a record, a segment, a FEC shard
 * or a reconnect-queue entry is sized from these figures: none has a fixed
 * size of its own, so a jumbo MTU is carried, and the default MTU costs no
 * more memory than it needs.
 *
 * Units: bytes of IPv4 packet (no link header). pkt_max is the largest inner
 * packet read from the TUN; seg_max the largest fake-TCP segment built for
 * one (a FEC parity shard of a pkt_max packet: the worst case). */
#ifndef LWT_BUFS_H
#define LWT_BUFS_H

#include <stddef.h>
#include <stdint.h>

#include "faketcp.h"
#include "lwt/fec_wire.h"
#include "lwt/wire.h"

#define LWT_SEG_HDR (LWT_IP_HDR_LEN + LWT_TCP_DATA_HDR_LEN)	/* IPv4 + TCP with timestamps */
#define LWT_REC_HDR (sizeof(struct lwt_frame_hdr) + sizeof(struct lwt_record_hdr))
/* Outer bytes around an inner packet in the largest record lwt sends: IP 20
 * + TCP 32 + frame 4 + record 12 + type 1 + FEC shard header 10 + the coded
 * length of a parity shard 2 + tag 16 = 97. */
#define LWT_OVERHEAD (LWT_SEG_HDR + LWT_REC_HDR + 1 + sizeof(struct lwt_fec_hdr) + 2 + LWT_TAG_LEN)
#define LWT_MTU_MIN 576
#define LWT_MTU_MAX 9000		/* config's largest TUN MTU */

_Static_assert(LWT_OVERHEAD == 97, "LWT_OVERHEAD");
/* A record of the largest packet fits one frame. */
_Static_assert(LWT_MTU_MAX + LWT_OVERHEAD - LWT_SEG_HDR - sizeof(struct lwt_frame_hdr) <=
	       LWT_FRAME_MAX_BODY, "LWT_MTU_MAX");

struct lwt_bufs {
	uint32_t pkt_max;	/* largest inner packet: the TUN MTU */
	uint32_t seg_max;	/* largest segment we build: pkt_max + LWT_OVERHEAD
				 * + LWT_IP6_EXTRA (an IPv6 one) */
};

/* The sizes for a TUN MTU (LWT_MTU_MIN..LWT_MTU_MAX). */
void lwt_bufs_init(struct lwt_bufs *b, int tun_mtu);
/* The largest TUN MTU whose segments fit an outer link of link_mtu bytes,
 * at most LWT_MTU_MAX; 0 if even LWT_MTU_MIN does not fit. */
int lwt_bufs_mtu_for_link(int link_mtu);

#endif
