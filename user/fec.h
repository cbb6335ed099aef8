/* SPDX-License-Identifier: MIT */
/* Systematic Reed-Solomon FEC over ISA-L (Cauchy matrices: any k of k+m
 * shards rebuild a group).
 *
 * Encoder: every packet leaves at once as a data shard; when a group holds
 * k packets, or when the caller's flush timer fires (lwt_fec_enc_deadline),
 * m parity shards follow for the group as it is (partial groups use k' < k).
 * The coded form of a data shard is be16(len) || packet || zeros up to the
 * group's shard length, so a rebuilt shard knows its own length.
 *
 * Decoder: data shards are delivered the moment they arrive, in any order;
 * parity is used only to rebuild what is missing. A decoder tracks a fixed
 * number of groups (a few bytes each); the shards of a group live in a
 * block of the poller's FEC pool (fecpool.h) from its first shard until it
 * is complete, so an idle peer holds no shard memory. The pool may take an
 * incomplete group's block back (it is short): that group is no longer
 * rebuilt, its data shards are still delivered. The encoder takes a block
 * likewise for a group that gets parity, until its parity is sent.
 * Shards are sized from the largest packet the caller protects (its TUN
 * MTU, bufs.h); a decoder tracks fewer groups when its shards are large, so
 * that what it can hold stays within LWT_FEC_DEC_BUDGET (at least
 * LWT_FEC_MIN_SLOTS groups). Until lwt_fec_*_set_pool a coder uses a
 * private pool of that size. A data shard longer than the decoder's packets (a peer with a
 * larger MTU) is delivered but not kept: its group cannot be rebuilt.
 * A shard of a group that is closed, expired or evicted is "late"; a shard
 * seen twice is a duplicate: both dropped and counted, never delivered.
 * One encoder and one decoder per peer and direction; not thread safe. */
#ifndef LWT_FEC_H
#define LWT_FEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lwt/fec_wire.h"

#define LWT_FEC_MAX_PKT 65533		/* a coded shard's length is 16 bits */
#define LWT_FEC_MAX_K 128
#define LWT_FEC_MAX_M 64
#define LWT_FEC_SLOTS 32		/* groups the decoder tracks at once, most */
#define LWT_FEC_MIN_SLOTS 8		/* ... least */
#define LWT_FEC_DEC_BUDGET (2u << 20)	/* decoder pool bytes above which it tracks fewer */

struct lwt_fec_stats {
	uint64_t groups_sent, data_sent, parity_sent;
	uint64_t shards_received, parity_received, shards_lost, packets_rebuilt;
	uint64_t groups_rebuilt_multi;	/* groups rebuilt with 2+ data shards missing */
	uint64_t groups_closed;		/* groups done with (losses counted) */
	uint64_t groups_unrecoverable, duplicates, late;
};
#define LWT_FEC_STAT_FIELDS(X) X(groups_sent) X(data_sent) X(parity_sent)		\
	X(shards_received) X(parity_received) X(shards_lost) X(packets_rebuilt)	\
	X(groups_rebuilt_multi) X(groups_closed) X(groups_unrecoverable)		\
	X(duplicates) X(late)

struct lwt_fec_enc;
struct lwt_fec_dec;
struct lwt_fecpool;

/* Shard output: hdr and payload (the packet for data, parity bytes else). */
typedef void (*lwt_fec_emit_fn)(void *ctx, const struct lwt_fec_hdr *hdr, const uint8_t *payload,
				size_t len);
/* Delivery of a data packet (received or rebuilt). */
typedef void (*lwt_fec_deliver_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* k data shards per group, m parity (m may be changed later, up to max_m),
 * for packets of 1..max_pkt bytes (max_pkt <= LWT_FEC_MAX_PKT). */
struct lwt_fec_enc *lwt_fec_enc_create(int k, int m, int max_m, size_t max_pkt, uint32_t flush_us);
void lwt_fec_enc_destroy(struct lwt_fec_enc *e);
/* Take group blocks from p from now on (the poller's shared pool); p must
 * outlive the encoder. */
void lwt_fec_enc_set_pool(struct lwt_fec_enc *e, struct lwt_fecpool *p);
/* Parity for the groups that open from now on (adaptive FEC). */
void lwt_fec_enc_set_parity(struct lwt_fec_enc *e, int m);
int lwt_fec_enc_parity(const struct lwt_fec_enc *e);
/* Does the next packet belong in a group: one is open, or parity is due?
 * (Else, at parity 0, the caller may send it as a plain IP record.) A
 * group's parity is fixed when its first packet arrives. */
bool lwt_fec_enc_active(const struct lwt_fec_enc *e);
/* Add a packet: emits its data shard at once; when the group fills, emits the
 * group's parity too. 0 or -EMSGSIZE. */
int lwt_fec_enc_add(struct lwt_fec_enc *e, const uint8_t *pkt, size_t len, uint64_t now_ns,
		    lwt_fec_emit_fn emit, void *ctx);
/* Emit parity for the open group now (if any). */
void lwt_fec_enc_flush(struct lwt_fec_enc *e, lwt_fec_emit_fn emit, void *ctx);
/* When the open group's parity is due (0 = no open group). */
uint64_t lwt_fec_enc_deadline(const struct lwt_fec_enc *e);
const struct lwt_fec_stats *lwt_fec_enc_stats(const struct lwt_fec_enc *e);

/* Decoder for groups of at most max_k + max_m shards of packets up to
 * max_pkt bytes; groups are dropped expire_ns after their first shard. */
struct lwt_fec_dec *lwt_fec_dec_create(int max_k, int max_m, size_t max_pkt, uint64_t expire_ns);
/* Groups a decoder of this shape tracks at once (LWT_FEC_MIN_SLOTS..LWT_FEC_SLOTS). */
int lwt_fec_dec_slots(int max_k, int max_m, size_t max_pkt);
void lwt_fec_dec_destroy(struct lwt_fec_dec *d);
/* As lwt_fec_enc_set_pool (groups held in the old pool can no longer be rebuilt). */
void lwt_fec_dec_set_pool(struct lwt_fec_dec *d, struct lwt_fecpool *p);
/* Bytes of shards one group of this shape holds while incomplete. */
size_t lwt_fec_dec_group_bytes(int max_k, int max_m, size_t max_pkt);
/* Groups tracked now (0: nothing for lwt_fec_dec_expire to do). */
int lwt_fec_dec_pending(const struct lwt_fec_dec *d);
/* Feed one shard (hdr + payload). 0, or -EBADMSG for a malformed shard. */
int lwt_fec_dec_input(struct lwt_fec_dec *d, const uint8_t *msg, size_t len, uint64_t now_ns,
		      lwt_fec_deliver_fn deliver, void *ctx);
/* Close groups older than expire_ns (counting what they lost). */
void lwt_fec_dec_expire(struct lwt_fec_dec *d, uint64_t now_ns);
const struct lwt_fec_stats *lwt_fec_dec_stats(const struct lwt_fec_dec *d);

/* Adaptive FEC: the parity (0..ceiling) for groups of k at a measured loss
 * (parts per million): the smallest m for which a group of k+m loses more
 * than m shards with probability under 1e-3; 0 below 0.1% loss. */
int lwt_fec_adaptive_parity(uint32_t loss_ppm, int k, int ceiling);

#endif
