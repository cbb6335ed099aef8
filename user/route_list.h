/* SPDX-License-Identifier: MIT */
/* What the route adverts of both families (routes.c, inet6_routes.c) do
 * alike with their lists: gather a client's advert sent in several
 * messages, and show an advertised route's answer in `lwt-ctl routes`. */
#ifndef LWT_ROUTE_LIST_H
#define LWT_ROUTE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An advert being gathered: n entries so far, from slot from (-1: none). */
struct lwt_route_gather {
	int n, from;
};

#define LWT_ROUTE_GATHER_INIT { .n = 0, .from = -1 }

/* Add the n entries (esz bytes each) of one message of slot's advert to
 * all (room for max). True when the message was the advert's last: all
 * holds g->n entries. An advert interrupted by another client's is dropped
 * (it comes again at the next refresh). */
bool lwt_route_gather(struct lwt_route_gather *g, void *all, int max, size_t esz, int slot,
		      uint8_t flags, const void *e, int n);

/* lwt-ctl routes: the "status" (and "reason") of an advertised route from
 * its route_status (0: no answer yet, else enum lwt_route_status + 1). */
void lwt_route_status_json(void *obj, int st);

#endif
