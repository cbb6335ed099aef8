#!/bin/bash
# SPDX-License-Identifier: MIT
# A direct path under attack from the wan (natlab.sh): client n has a public
# address (no NAT), so anyone can reach the port its hub flow and direct
# paths share. While n and p talk directly, an attacker floods that port
# with SYNs and then with ACKs of random numbers, from spoofed sources
# (among them p's own public address, at other ports). The direct path
# stays up and direct (no failover, the hub forwards nothing), the segments
# are dropped and counted without state (the XDP program's rate limit, the
# data plane's unknown-flow drop), nothing is logged per packet, and n's
# memory stays where it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_site n none
natlab_site p port
natlab_wanhost x 198.51.100.66
start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
start cn "${NATLAB_CLIENT[n]}" -m client -r "$HUB_ADDR:9000" -t 10.0.0.11/24 -k "$KEY" -tun-name lwtc
start cp "${NATLAB_CLIENT[p]}" -m client -r "$HUB_ADDR:9000" -t 10.0.0.12/24 -k "$KEY" -tun-name lwtc
wait_for 10 "n up" sessions_up "${NATLAB_CLIENT[n]}" lwtc
wait_for 10 "p up" sessions_up "${NATLAB_CLIENT[p]}" lwtc
wait_for 10 "n knows p" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[n]} $CTL -i lwtc status --json | jq -en 'input | .known_peers == 1'"
p2p() { ctl "${NATLAB_CLIENT[n]}" lwtc stats --json | jq -c "$1"; }
direct() { [ "$(p2p '[.p2p.paths[] | select(.tunnel_ip == "10.0.0.12") | .path][0]' | tr -d '"')" = direct-tcp ]; }
nsx "${NATLAB_CLIENT[n]}" ping -c 3 -i 0.1 -W 2 -q 10.0.0.12 || fail "n -> p"
wait_for 10 "n's path to p is direct" direct
port=$(ctl hub lwts stats --json | jq -r '.peers[] | select(.tunnel_ip == "10.0.0.11") | .endpoint' | cut -d: -f2)
[ -n "$port" ] || fail "n's port unknown"
say "n at ${NATLAB_LAN[n]}:$port; attacker floods it"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$cn_PID/status"; }
rss0=$(rss)
log0=$(wc -l <"$LOGDIR/cn.log")
fwd0=$(ctl hub lwts stats --json | jq .totals.forwarded)
ups0=$(p2p .p2p.paths_up)
unk0=$(ctl "${NATLAB_CLIENT[n]}" lwtc stats --json | jq .totals.drop_unknown_flow)
# Traffic goes on over the direct path meanwhile.
nsbg "${NATLAB_CLIENT[n]}" ping -q -i 0.05 -w 9 10.0.0.12
ppid=$BG_PID
for kind in SYN ACK; do
	nsx x "$TOOLS/lwt-synflood" flood 203.0.113.0/24 "${NATLAB_LAN[n]}:$port" 3 "$kind" 20000 ||
		fail "the $kind flood tool failed"
done
wait "$ppid" || true
direct || fail "n's path to p is no longer direct after the flood: $(p2p .p2p)"
[ "$(p2p .p2p.failovers)" = 0 ] || fail "the flood made n fail over: $(p2p .p2p)"
[ "$(p2p .p2p.paths_up)" = "$ups0" ] || fail "the flood made n punch again: $(p2p .p2p)"
fwd1=$(ctl hub lwts stats --json | jq .totals.forwarded)
say "hub forwarded $((fwd1 - fwd0)) packets of n and p meanwhile"
[ $((fwd1 - fwd0)) -le 5 ] || fail "n <-> p went through the hub during the flood"
f0=$(ctl hub lwts stats --json | jq .totals.forwarded)
nsx "${NATLAB_CLIENT[n]}" ping -c 5 -i 0.1 -W 2 -q 10.0.0.12 || fail "n -> p after the flood"
[ $(($(ctl hub lwts stats --json | jq .totals.forwarded) - f0)) -le 2 ] || fail "n -> p not direct after the flood"
# Counted and dropped: what reached the data plane as a flow nobody has.
xdp=$(ctl "${NATLAB_CLIENT[n]}" lwtc stats --json | jq -c '.xdp // {}')
unk1=$(ctl "${NATLAB_CLIENT[n]}" lwtc stats --json | jq .totals.drop_unknown_flow)
say "n: drop_unknown_flow $unk0 -> $unk1, xdp $xdp"
[ $((unk1 - unk0 + $(jq '(.dropped_syn_rate // 0) + (.dropped_ack_rate // 0) + (.dropped_unknown // 0)' <<<"$xdp"))) -gt 10000 ] ||
	fail "the flood was not counted as dropped"
log1=$(wc -l <"$LOGDIR/cn.log")
rss1=$(rss)
say "n: log $log0 -> $log1 lines, RSS $rss0 -> $rss1 kB"
[ $((log1 - log0)) -le 10 ] || fail "n logged $((log1 - log0)) lines during the flood"
[ $((rss1 - rss0)) -le 4096 ] || fail "n's RSS grew by $((rss1 - rss0)) kB"
say "ok"
