/* SPDX-License-Identifier: MIT */
/* The IPv6 sockets of the raw-socket path (rawsock.c). An AF_INET6 raw TCP
 * socket hands a segment from its TCP header on (RFC 3542: no IPv6 header):
 * lwt_rs6_recv puts a 40-byte IPv6 header back in front of it, built from
 * the source (msg_name) and destination (IPV6_PKTINFO), so the rest of the
 * data plane sees whole IPv6 packets, as it sees whole IPv4 ones. Sending
 * uses AF_INET6/IPPROTO_RAW, which takes our own header (IPV6_HDRINCL). */
#ifndef LWT_RAWSOCK6_H
#define LWT_RAWSOCK6_H

#include <stdint.h>

#include "dp.h"

/* Receive socket for f (server: the listen port; client: its flow),
 * filter attached. fd or -errno. */
int lwt_rs6_open_rx(const struct lwt_dp_filter *f);
int lwt_rs6_filter(int fd, const struct lwt_dp_filter *f);
/* Send socket (marked, PMTU probe mode). fd or -errno. */
int lwt_rs6_open_tx(void);
/* Up to max segments into bufs[i] (each LWT_DP_RXBUF bytes, the IPv6
 * header rebuilt in its first 40); pkts filled. Count, 0, or -errno. */
int lwt_rs6_recv(int fd, uint8_t *bufs, struct lwt_dp_pkt *pkts, int max);
/* Send n IPv6 packets (whole, header first). How many went, or -errno. */
int lwt_rs6_send(int fd, const struct lwt_dp_pkt *pkts, int n);

#endif
