// SPDX-License-Identifier: MIT
/* Peer info (control thread): the server tells every client which other
 * clients are connected, so a client learns when one comes or goes. For
 * large deployments the three knobs of the reference do what they say:
 *   broadcast_throttle_ms      changes within this window go out together;
 *   enable_incremental_update  only the changes are sent, not full lists;
 *   max_peer_info_batch_size   entries per message (0: one per message).
 * A new client gets the full list; every route_advert_interval every client
 * gets it again, so a lost update heals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "daemon.h"
#include "log.h"

#define MAX_CHANGES 4096		/* server: changes held for one broadcast */
#define MAX_KNOWN 4096			/* client: peers it keeps track of */

int lwt_peers_init(struct lwt_daemon *d)
{
	if (d->cfg.mode == LWT_MODE_SERVER) {
		d->peer_changes = calloc(MAX_CHANGES, sizeof(*d->peer_changes));
		d->peers_owed = calloc(d->nslots, sizeof(*d->peers_owed));
		d->peers_last_ns = lwt_now_ns();
		return d->peer_changes && d->peers_owed ? 0 : -ENOMEM;
	}
	d->known_peers = calloc(MAX_KNOWN, sizeof(*d->known_peers));
	d->known_stage = calloc(MAX_KNOWN, sizeof(*d->known_stage));
	return d->known_peers && d->known_stage ? 0 : -ENOMEM;
}

void lwt_peers_free(struct lwt_daemon *d)
{
	free(d->peer_changes);
	free(d->peers_owed);
	free(d->known_peers);
	free(d->known_stage);
}

static int batch_size(const struct lwt_daemon *d)
{
	int b = d->cfg.max_peer_info_batch_size;

	return b <= 0 ? 1 : b > LWT_PEERS_MSG_MAX ? LWT_PEERS_MSG_MAX : b;
}

/* 0, or -EAGAIN when the data thread's queue filled up on the way (the
 * list may then be cut: a full list is only taken whole, at its LAST). */
static int send_entries(struct lwt_daemon *d, int slot, const struct lwt_peer_entry *e, int n,
			uint8_t full)
{
	uint8_t buf[sizeof(struct lwt_peers_msg) + LWT_PEERS_MSG_MAX * sizeof(struct lwt_peer_entry)];
	struct lwt_peers_msg *m = (struct lwt_peers_msg *)buf;
	int b = batch_size(d), off = 0, c;

	if (!n && !full)
		return 0;
	do {
		c = n - off < b ? n - off : b;
		memset(m, 0, sizeof(*m));
		m->flags = full | (off == 0 ? LWT_PEERS_F_FIRST : 0) | (off + c == n ? LWT_PEERS_F_LAST : 0);
		m->count = c;
		memcpy(m->e, e + off, c * sizeof(*e));
		if (lwt_send_msg(d, slot, LWT_MSG_PEERS, m, sizeof(*m) + c * sizeof(*e)))
			return -EAGAIN;
		off += c;
	} while (off < n);
	return 0;
}

/* Every client up, and the slot of each (of[]): built once for all the
 * full lists one flush sends. Returns the count. */
static int list_all(struct lwt_daemon *d, struct lwt_peer_entry *all, int *of)
{
	const struct lwt_slotlist *l = &d->slist;
	int k, n = 0;

	for (k = 0; k < l->nup; k++)
		if (l->up_ip[k]) {
			of[n] = l->up_slot[k];
			all[n++] = (struct lwt_peer_entry){ .tun_ip = l->up_ip[k], .op = LWT_PEER_UP };
		}
	return n;
}

/* The full list for slot: all but its own entry (moved to the end for the
 * send, then back). */
static int send_full(struct lwt_daemon *d, int slot, struct lwt_peer_entry *all, int *of, int n)
{
	struct lwt_peer_entry t;
	int k, r, o;

	for (k = 0; k < n && of[k] != slot; k++)
		;
	if (k == n)
		return send_entries(d, slot, all, n, LWT_PEERS_F_FULL);
	t = all[k], all[k] = all[n - 1], all[n - 1] = t;
	o = of[k], of[k] = of[n - 1], of[n - 1] = o;
	r = send_entries(d, slot, all, n - 1, LWT_PEERS_F_FULL);
	t = all[k], all[k] = all[n - 1], all[n - 1] = t;
	o = of[k], of[k] = of[n - 1], of[n - 1] = o;
	return r;
}

/* Slot i is owed the full list: c.peers_full, and into the queue of those
 * owed (each slot at most once: the flag says it is there). */
static void owe(struct lwt_daemon *d, int i)
{
	if (d->slots[i].c.peers_full)
		return;
	d->slots[i].c.peers_full = true;
	d->peers_owed[(d->peers_owed_head + d->npeers_owed++) % d->nslots] = i;
}

static void owed_pop(struct lwt_daemon *d)
{
	d->peers_owed_head = (d->peers_owed_head + 1) % d->nslots;
	d->npeers_owed--;
}

/* Send the full lists owed; what does not fit now goes at a later tick.
 * Walks the slots owed, not all of them (it runs at every join, and every
 * 20 ms while the data thread's queue is full). */
static void flush_full(struct lwt_daemon *d, uint64_t now)
{
	struct lwt_peer_entry *all = NULL;
	int n = d->npeers_owed, nall = 0, *of = NULL;

	while (n-- > 0) {
		int i = d->peers_owed[d->peers_owed_head];
		struct lwt_slot *s = &d->slots[i];

		if (s->c.phase == LWT_PH_UP && !lwt_slot_confirmed(s)) {
			/* Not yet: to the back of the queue. */
			owed_pop(d);
			d->peers_owed[(d->peers_owed_head + d->npeers_owed++) % d->nslots] = i;
			d->peers_retry_ns = now + 20000000ull;
			continue;
		}
		if (s->c.phase == LWT_PH_UP) {
			if (!all) {
				all = malloc((d->slist.nup + 1) * sizeof(*all));
				of = malloc((d->slist.nup + 1) * sizeof(*of));
				if (all && of)
					nall = list_all(d, all, of);
			}
			if (!all || !of || send_full(d, i, all, of, nall)) {
				d->peers_retry_ns = now + 20000000ull;
				break;
			}
		}
		owed_pop(d);
		s->c.peers_full = false;
	}
	free(all);
	free(of);
}

static void broadcast(struct lwt_daemon *d, uint64_t now)
{
	bool incr = d->cfg.enable_incremental_update && d->npeer_changes < MAX_CHANGES;
	struct lwt_peer_entry *tmp = NULL;
	int i, j, k, n;

	d->peers_due_ns = 0;
	d->peers_last_ns = now;
	if (d->npeer_changes && incr)
		tmp = malloc(d->npeer_changes * sizeof(*tmp));
	/* The sessions up (slotlist.h), not every slot. */
	for (k = 0; d->npeer_changes && k < d->slist.nup; k++) {
		struct lwt_slot *s = &d->slots[i = d->slist.up_slot[k]];

		if (s->c.phase != LWT_PH_UP || s->c.peers_full)
			continue;
		if (!lwt_slot_confirmed(s) || !incr || !tmp) {
			owe(d, i);
			continue;
		}
		for (j = 0, n = 0; j < d->npeer_changes; j++)
			if (d->peer_changes[j].tun_ip != s->c.tun_ip)
				tmp[n++] = d->peer_changes[j];
		if (send_entries(d, i, tmp, n, 0))
			owe(d, i);	/* cut short: the whole list instead */
	}
	free(tmp);
	d->npeer_changes = 0;
	flush_full(d, now);
}

void lwt_peers_changed(struct lwt_daemon *d, int slot, uint32_t tun_ip, bool up)
{
	uint64_t now = lwt_now_ns(), due;

	if (d->cfg.mode != LWT_MODE_SERVER || !d->peer_changes)
		return;
	if (up)
		owe(d, slot);
	if (d->npeer_changes < MAX_CHANGES)
		d->peer_changes[d->npeer_changes++] = (struct lwt_peer_entry){
			.tun_ip = tun_ip, .op = up ? LWT_PEER_UP : LWT_PEER_GONE };
	else
		d->npeer_changes = MAX_CHANGES;	/* too many: the next broadcast is full */
	if (!d->cfg.broadcast_throttle_ms) {
		broadcast(d, now);
		return;
	}
	if (up)
		flush_full(d, now);	/* the newcomer's list does not wait */
	if (!d->peers_due_ns) {
		due = d->peers_last_ns + (uint64_t)d->cfg.broadcast_throttle_ms * 1000000ull;
		d->peers_due_ns = due > now ? due : now;
	}
}

void lwt_peers_tick(struct lwt_daemon *d, uint64_t now)
{
	static uint64_t resync_ns;
	int i;

	if (d->cfg.mode != LWT_MODE_SERVER || !d->peer_changes)
		return;
	if (d->peers_due_ns && now >= d->peers_due_ns)
		broadcast(d, now);
	if (d->peers_retry_ns && now >= d->peers_retry_ns) {
		d->peers_retry_ns = 0;
		flush_full(d, now);
	}
	if (!resync_ns)
		resync_ns = now + (uint64_t)d->cfg.route_advert_interval * 1000000000ull;
	if (now < resync_ns)
		return;
	resync_ns = now + (uint64_t)d->cfg.route_advert_interval * 1000000000ull;
	for (i = 0; i < d->slist.nup; i++)
		owe(d, d->slist.up_slot[i]);
	flush_full(d, now);
}

/* --- client ------------------------------------------------------------ */

static int find(const uint32_t *v, int n, uint32_t ip)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == ip)
			return i;
	return -1;
}

static void peer_up(struct lwt_daemon *d, uint32_t ip)
{
	char a[INET_ADDRSTRLEN];

	if (find(d->known_peers, d->nknown_peers, ip) >= 0 || d->nknown_peers == MAX_KNOWN)
		return;
	d->known_peers[d->nknown_peers++] = ip;
	lwt_dbg("peer %s is connected", inet_ntop(AF_INET, &ip, a, sizeof(a)));
}

static void peer_gone(struct lwt_daemon *d, uint32_t ip)
{
	char a[INET_ADDRSTRLEN];
	int i = find(d->known_peers, d->nknown_peers, ip);

	if (i < 0)
		return;
	d->known_peers[i] = d->known_peers[--d->nknown_peers];
	lwt_info("peer %s left", inet_ntop(AF_INET, &ip, a, sizeof(a)));
	/* A direct path only to peers the hub vouches for. */
	lwt_p2p_peer_gone(d, ip);
}

void lwt_peers_msg(struct lwt_daemon *d, const uint8_t *m, size_t len)
{
	const struct lwt_peers_msg *h = (const struct lwt_peers_msg *)(m + 1);
	int i, n;

	if (d->cfg.mode != LWT_MODE_CLIENT || !d->known_peers || len < 1 + sizeof(*h))
		return;
	n = h->count;
	if (n > LWT_PEERS_MSG_MAX || len != 1 + sizeof(*h) + n * sizeof(h->e[0]))
		return;
	if (!(h->flags & LWT_PEERS_F_FULL)) {
		for (i = 0; i < n; i++) {
			if (h->e[i].op == LWT_PEER_UP)
				peer_up(d, h->e[i].tun_ip);
			else if (h->e[i].op == LWT_PEER_GONE)
				peer_gone(d, h->e[i].tun_ip);
		}
		return;
	}
	if (h->flags & LWT_PEERS_F_FIRST)
		d->nknown_stage = 0;
	for (i = 0; i < n && d->nknown_stage < MAX_KNOWN; i++)
		d->known_stage[d->nknown_stage++] = h->e[i].tun_ip;
	if (!(h->flags & LWT_PEERS_F_LAST))
		return;
	/* The full list: who is no longer in it left; who is new came. */
	for (i = 0; i < d->nknown_peers;) {
		if (find(d->known_stage, d->nknown_stage, d->known_peers[i]) < 0)
			peer_gone(d, d->known_peers[i]);
		else
			i++;
	}
	for (i = 0; i < d->nknown_stage; i++)
		peer_up(d, d->known_stage[i]);
}

bool lwt_peers_known(const struct lwt_daemon *d, uint32_t ip)
{
	return d->known_peers && find(d->known_peers, d->nknown_peers, ip) >= 0;
}
