// SPDX-License-Identifier: MIT
/* Route lists of both families (route_list.h). */
#include <string.h>

#include <cjson/cJSON.h>

#include "daemon.h"
#include "route_list.h"

const char *lwt_route_status_str(int st);

bool lwt_route_gather(struct lwt_route_gather *g, void *all, int max, size_t esz, int slot,
		      uint8_t flags, const void *e, int n)
{
	int c;

	if (flags & LWT_ROUTE_F_FIRST) {
		g->n = 0;
		g->from = slot;
	} else if (g->from != slot) {
		return false;
	}
	c = n < max - g->n ? n : max - g->n;
	if (c > 0) {
		memcpy((uint8_t *)all + (size_t)g->n * esz, e, (size_t)c * esz);
		g->n += c;
	}
	if (!(flags & LWT_ROUTE_F_LAST))
		return false;
	g->from = -1;
	return true;
}

void lwt_route_status_json(void *obj, int st)
{
	cJSON_AddStringToObject(obj, "status", !st ? "pending" :
				st == LWT_ROUTE_OK + 1 ? "accepted" : "refused");
	if (st && st != LWT_ROUTE_OK + 1)
		cJSON_AddStringToObject(obj, "reason", lwt_route_status_str(st - 1));
}
