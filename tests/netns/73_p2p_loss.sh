#!/bin/bash
# SPDX-License-Identifier: MIT
# P2P path choice by loss (docs/PROTOCOL.md "Path choice and failover"): a
# direct path that loses clearly more than the path through the hub is put
# aside: it stays up (probed, both directions measured) while the packets
# take the hub, and it takes them back once it is clean again. In the NAT
# lab: a and b (port-restricted) go direct; then a's router drops 20 % of
# what goes between a and b's public address, and only that (the hub path
# stays clean); pings every 10 ms go on throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_site a port
natlab_site b port
HUB=$HUB_ADDR
start server hub -m server -l "$HUB:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
cli() { start "c$1" "${NATLAB_CLIENT[$1]}" -m client -r "$HUB:9000" -t "$2/24" -k "$KEY" -tun-name lwtc; }
cli a 10.0.0.11
cli b 10.0.0.12
wait_for 10 "a up" sessions_up "${NATLAB_CLIENT[a]}" lwtc
wait_for 10 "b up" sessions_up "${NATLAB_CLIENT[b]}" lwtc
pj() { jget "${NATLAB_CLIENT[a]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"10.0.0.12\") | $1][0]"; }
path() { [ "$(pj .path)" = "$1" ]; }
fwd() { jget hub lwts .totals.forwarded; }
wait_for 5 "a knows b" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[a]} $CTL -i lwtc status --json | jq -e '.known_peers == 1' >/dev/null"
nsx "${NATLAB_CLIENT[a]}" ping -c 3 -i 0.1 -W 2 -q 10.0.0.12 || fail "a -> b"
wait_for 10 "a's path to b is direct" path direct-tcp

nsbg "${NATLAB_CLIENT[a]}" ping -i 0.01 -c 6000 -W 1 -q 10.0.0.12 >"$LOGDIR/ping.txt" 2>&1
PING=$BG_PID
say "a's router drops 20 % between a and b's public address"
pub_b=${NATLAB_PUB[b]}
nsx "${NATLAB_ROUTER[a]}" nft -f - <<EOF
table ip lossy {
	chain drops {
		type filter hook forward priority -10; policy accept;
		ip daddr $pub_b numgen random mod 100 < 20 drop
		ip saddr $pub_b numgen random mod 100 < 20 drop
	}
}
EOF
wait_for 15 "a's path to b put aside (through the hub)" path relay-hub ||
	fail "a's path to b: $(pj .) (hub: $(ctl "${NATLAB_CLIENT[a]}" lwtc stats --json | jq -c '.peers[0] | {loss_ppm, peer_loss_ppm}'))"
[ "$(pj .state)" = up ] || fail "the direct path did not stay up: $(pj .)"
[ "$(pj .lossy)" = true ] || fail "not marked lossy: $(pj .)"
say "a -> b through the hub: $(ctl "${NATLAB_CLIENT[a]}" lwtc stats --json | jq -c '.p2p.paths[0] | {loss_ppm, peer_loss_ppm, lossy}')"
f0=$(fwd)
wait_for 5 "the hub forwards a <-> b" sh -c "[ \$(ip netns exec $PFX-hub $CTL -i lwts stats --json | jq .totals.forwarded) -gt $((f0 + 100)) ]" ||
	fail "the hub forwards nothing while a's path is put aside"
[ "$(jget "${NATLAB_CLIENT[a]}" lwtc .p2p.lossy_switches)" -ge 1 ] || fail "no lossy switch counted"
[ "$(jget "${NATLAB_CLIENT[a]}" lwtc .p2p.failovers)" = 0 ] || fail "the lossy path failed over instead"

say "the loss ends"
nsx "${NATLAB_ROUTER[a]}" nft delete table ip lossy
wait_for 20 "a's path to b direct again" path direct-tcp || fail "a's path to b: $(pj .)"
pathb() { [ "$(jget "${NATLAB_CLIENT[b]}" lwtc '[.p2p.paths[] | select(.tunnel_ip == "10.0.0.11") | .path][0]')" = direct-tcp ]; }
wait_for 20 "b's path to a direct again" pathb
f1=$(fwd)
nsx "${NATLAB_CLIENT[a]}" ping -c 20 -i 0.02 -W 1 -q 10.0.0.12 >/dev/null || true
[ $(($(fwd) - f1)) -le 5 ] || fail "the hub still forwards a -> b after the path is clean"
kill -INT "$PING" 2>/dev/null; wait "$PING" 2>/dev/null || true
say "pings through it all: $(grep -o '[0-9]* received, [0-9.]*% packet loss' "$LOGDIR/ping.txt")"
say PASS
