/* SPDX-License-Identifier: MIT */
/* FEC shard header, first bytes of an LWT_MSG_FEC message (docs/PROTOCOL.md).
 * A data shard carries one inner packet unchanged right after this header
 * and leaves at once; its k/m/shard_len are 0 (the group may still grow).
 * Parity shards carry the group's final shape. */
#ifndef LWT_FEC_WIRE_H
#define LWT_FEC_WIRE_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define LWT_FEC_F_PARITY 0x01

struct lwt_fec_hdr {
	__be32 group;		/* per-direction group sequence */
	__u8 index;		/* 0..k-1 data, k..k+m-1 parity */
	__u8 k;			/* parity only: data shards in the group */
	__u8 m;			/* parity only: parity shards in the group */
	__u8 flags;		/* LWT_FEC_F_PARITY */
	__be16 shard_len;	/* parity only: coded shard length (2 + longest packet) */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_fec_hdr) == 10, "lwt_fec_hdr");

/* Loss report for adaptive FEC (LWT_MSG_FEC_REPORT): what the sender of the
 * report measured on the path towards it, before FEC repaired anything. */
struct lwt_fec_report {
	__be32 loss_ppm;
	__be32 window;		/* records the measure covers */
} __attribute__((packed));
_Static_assert(sizeof(struct lwt_fec_report) == 8, "lwt_fec_report");

#endif
