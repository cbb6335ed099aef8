/* SPDX-License-Identifier: MIT */
/* Segmentation and coalescing for a TUN opened with IFF_VNET_HDR and TSO
 * offloads (the batching wireguard-go does on Linux). Pure functions over
 * caller buffers: no I/O, nothing allocated per packet.
 *
 * Read side: one read() returns a struct virtio_net_hdr (10 bytes, host byte
 * order: the legacy header of a TUN without TUNSETVNETLE/BE) and up to 64 KiB
 * of one TCP flow. lwt_gso_split() turns it into ordinary, fully checksummed
 * packets of at most hdr + gso_size bytes each.
 *
 * Write side: lwt_gro_add() collects decrypted packets and appends in-order
 * TCP segments (IPv4 or IPv6) of one flow to one super-packet;
 * lwt_gro_flush() hands each held packet, prefixed by its virtio_net_hdr, to the caller for one
 * write(). A super-packet carries NEEDS_CSUM with the pseudo-header sum in
 * the TCP checksum field (CHECKSUM_PARTIAL, the form the kernel builds
 * itself), so it may be delivered locally or forwarded and segmented again.
 * Every segment's TCP checksum is verified before it is merged: the kernel
 * does not check a CHECKSUM_PARTIAL packet, so a bad one must not hide in it.
 *
 * TCP over IPv4 and IPv6 is segmented (the TUN announces TSO and TSO6) and
 * coalesced (IPv6 only without extension headers); anything else passes
 * through unchanged. */
#ifndef LWT_GSO_H
#define LWT_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

#define LWT_VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr))	/* 10 */
#define LWT_GSO_MAX_PKT 65535		/* largest IP packet read or built */
/* Buffer for one read() of a vnet TUN: header + largest packet. */
#define LWT_GSO_READ_BUF (LWT_VNET_HDR_LEN + LWT_GSO_MAX_PKT)

/* One finished segment; valid only until the callback returns. */
typedef void (*lwt_gso_emit_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* Cut what a vnet TUN read returned (vh, then pkt/len) into complete packets
 * and pass each to emit, in order:
 *  - GSO_NONE: the packet itself, its checksum finished at csum_start /
 *    csum_offset first if NEEDS_CSUM;
 *  - GSO_TCPV4 (+ECN), GSO_TCPV6: gso_size payload chunks, each with its own
 *    length, IPv4 id (+1 per segment) and header checksum, sequence number,
 *    flags (FIN/PSH on the last segment only, CWR on the first only) and full
 *    TCP checksum. vh->hdr_len is not trusted (the kernel reports its linear
 *    length); the headers are measured from the packet.
 * The segments are built in place: segment i's headers overwrite the tail of
 * segment i-1's payload, so pkt is clobbered and emit must be done with a
 * segment (copied or sent) before it returns. There is no segment limit and
 * no copy of the payload.
 * Returns the number of packets emitted (>= 1), or, with nothing emitted,
 * -EINVAL (bad vnet header: gso_size 0, checksum offsets outside the packet),
 * -EBADMSG (truncated or malformed IP/TCP headers),
 * -EPROTONOSUPPORT (UDP GSO, TCP/IPv6 behind extension headers, a GSO
 * packet that is not TCP: lwt's TUN does not announce those offloads). */
int lwt_gso_split(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len,
		  lwt_gso_emit_fn emit, void *ctx);

#define LWT_GRO_FLOWS 8			/* super-packets being built at once */
#define LWT_GRO_PKTS 128		/* packets held between two flushes */
#define LWT_GRO_BACKLOG (192 * 1024)	/* bytes for packets held unmerged */

enum lwt_gro_verdict {
	LWT_GRO_MERGED = 0,	/* appended to a pending super-packet */
	LWT_GRO_HELD = 1,	/* held as a packet of its own (maybe a new flow's head) */
};

struct lwt_gro_stats {
	uint64_t merged;	/* segments appended to a super-packet */
	uint64_t super;		/* super-packets written (2+ segments) */
	uint64_t single;	/* packets written as they came */
	uint64_t bad_csum;	/* TCP segments not merged: checksum wrong */
};

struct lwt_gro;

/* Buffers for LWT_GRO_FLOWS super-packets and the backlog, allocated here
 * once. NULL when out of memory. Not thread safe: one per writer. */
struct lwt_gro *lwt_gro_create(void);
void lwt_gro_destroy(struct lwt_gro *g);

/* Take a copy of one IP packet for the TUN (pkt may be reused at once).
 * A TCP segment is merged into the pending super-packet of its flow when it
 * continues it exactly: same addresses and ports, seq == next expected,
 * same ack, window, TOS, TTL, DF (IPv6: traffic class, flow label, hop
 * limit), header lengths and option bytes, flags equal
 * except PSH, no SYN/FIN/RST/URG/CWR, payload no larger than the first
 * segment's, IPv4 id +1 unless DF, a valid TCP checksum, 64 KiB in total. A
 * short segment or one with PSH is merged and ends its super-packet. A packet
 * of a pending flow that cannot be merged ends that super-packet, so a flow's
 * packets leave in the order they came.
 * Returns LWT_GRO_MERGED or LWT_GRO_HELD; -ENOBUFS when LWT_GRO_PKTS packets
 * or the backlog are used up (flush, then add again: nothing was taken);
 * -EMSGSIZE for an empty packet or one over LWT_GSO_MAX_PKT. */
int lwt_gro_add(struct lwt_gro *g, const uint8_t *pkt, size_t len);

/* One write() for the TUN: virtio_net_hdr followed by the packet. */
typedef void (*lwt_gro_emit_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Emit every held packet in the order its first segment came, then start
 * over. A super-packet gets GSO_TCPV4 or GSO_TCPV6 / NEEDS_CSUM (csum_start =
 * IP header length, csum_offset 16), gso_size = its first segment's payload
 * and a fixed total (IPv6: payload) length and IPv4 header checksum; any other packet GSO_NONE, flags 0,
 * bytes as added. Returns the number of packets emitted. */
int lwt_gro_flush(struct lwt_gro *g, lwt_gro_emit_fn emit, void *ctx);

/* Counters since create. */
void lwt_gro_get_stats(const struct lwt_gro *g, struct lwt_gro_stats *out);

#endif
