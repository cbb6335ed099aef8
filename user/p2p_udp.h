/* SPDX-License-Identifier: MIT */
/* P2P over UDP (docs/PROTOCOL.md "P2P over UDP"): for pairs fake TCP
 * cannot join, UDP probes under a MAC from the pair secret find a path (the
 * birthday strategy against a symmetric NAT), and the path then carries the
 * same handshake and records as a direct fake-TCP one. p2p_udp.c is the
 * control thread's side (probes, the choice, the hub's rule), p2p_udp_dp.c
 * the data plane's (the path's socket). */
#ifndef LWT_P2P_UDP_H
#define LWT_P2P_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lwt_daemon;
struct lwt_slot;
struct lwt_p2p_punch;
struct p2p_peer;

#define LWT_UDP_HARD_PORTS 256		/* sockets the symmetric side opens */
#define LWT_UDP_EASY_PROBES 2048	/* ports the other side probes, at most */

/* Server: both sides can do UDP and fake TCP is ruled out for their NAT
 * kinds, and the birthday can work: at most one of them is symmetric. */
bool p2p_udp_fits(int nat_a, int nat_b, unsigned int flags_a, unsigned int flags_b);
/* Client: a UDP punch order for e (its pair key derived already). */
int p2p_udp_order(struct lwt_daemon *d, struct p2p_peer *e, const struct lwt_p2p_punch *o);
/* Client: a tick of e's UDP punch; true if it handled e's state. */
bool p2p_udp_tick(struct lwt_daemon *d, struct p2p_peer *e, uint64_t now);
/* Client: e's punch is over (any outcome): its probe sockets go. */
void p2p_udp_end(struct lwt_daemon *d, struct p2p_peer *e);

/* Data plane (p2p_udp_dp.c), on the thread of the slot's poller. */
void lwt_udp_dp_attach(int ep, struct lwt_slot *s, int slot, int fd);
void lwt_udp_dp_detach(int ep, struct lwt_slot *s);
void lwt_udp_dp_send(struct lwt_slot *s, const uint8_t *p, size_t len);
typedef void (*lwt_udp_input_fn)(void *ctx, struct lwt_slot *s, const uint8_t *p, size_t len);
void lwt_udp_dp_poll(struct lwt_daemon *d, int ep, lwt_udp_input_fn in, void *ctx);

#endif
