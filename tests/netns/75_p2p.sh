#!/bin/bash
# SPDX-License-Identifier: MIT
# P2P through NATs (natlab.sh): a hub on the wan, two clients each behind
# its own port-restricted cone NAT (plain masquerade). Traffic from one
# client to the other starts through the hub and moves to a direct
# fake-TCP path (TCP simultaneous open through both NATs): a 20 MB transfer
# with matching sha256 crosses while the hub's forwarded counter stays
# flat, and the routers' conntrack holds the direct flow as an assured TCP
# connection. A third client behind a symmetric NAT cannot meet a by fake
# TCP (its mapping to the peer is not the one the hub saw): the hub orders
# UDP instead, and the pair goes direct over it (79_p2p_udp has more).
# Failover: the direct path is blocked in the middle of an iperf3 run;
# traffic resumes through the hub and the inner TCP connection survives;
# unblocked, the pair goes direct again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_site a port
natlab_site b port
natlab_site y symmetric
HUB=$HUB_ADDR
# Keys rotate every 3 s (config_push_interval): the hub's sessions, and the
# direct paths at the pace the hub tells them in its punch orders.
srv() { start server hub -m server -l "$HUB:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts -config-push-interval 3 "$@"; }
# cli SITE TUNNEL_IP
cli() { start "c$1" "${NATLAB_CLIENT[$1]}" -m client -r "$HUB:9000" -t "$2/24" -k "$KEY" -tun-name lwtc "${@:3}"; }
# path_of SITE PEER_TUNNEL_IP: the client's path to the peer.
path_of() { jget "${NATLAB_CLIENT[$1]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"$2\") | .path][0] // \"none\""; }
direct() { [ "$(path_of "$1" "$2")" = direct-tcp ]; }
relayed() { [ "$(path_of "$1" "$2")" = relay-hub ]; }
fwd() { jget hub lwts .totals.forwarded; }

srv
cli a 10.0.0.11 -metrics-listen 127.0.0.1:9586
cli b 10.0.0.12
cli y 10.0.0.13
for s in a b y; do wait_for 10 "client $s up" sessions_up "${NATLAB_CLIENT[$s]}" lwtc; done
wait_for 5 "three sessions on the hub" sessions_up hub lwts 3
# Each client must know the others before it asks for them.
for s in a b y; do
	wait_for 10 "client $s knows two peers" sh -c "[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[$s]} $CTL -i lwtc status --json | jq .known_peers)\" = 2 ]"
done

say "a -> b: first packets through the hub, then direct"
nsx "${NATLAB_CLIENT[a]}" ping -c 3 -i 0.1 -W 2 -q 10.0.0.12 || fail "a -> b through the hub"
wait_for 10 "a's path to b is direct" direct a 10.0.0.12
wait_for 5 "b's path to a is direct" direct b 10.0.0.11
jget "${NATLAB_CLIENT[a]}" lwtc .p2p >&2
ep=$(jget "${NATLAB_CLIENT[a]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"10.0.0.12\") | .endpoint][0]")
# So do the pinned peers map (AF_XDP) and Prometheus.
if [ "$(jget "${NATLAB_CLIENT[a]}" lwtc .path)" = af-xdp ]; then
	# Published once a second; bpftool shows the fields by name (BTF).
	wait_for 3 "a's pinned peers map shows the direct path" sh -c \
		"nsenter -t $ca_PID -m -n bpftool map dump pinned /sys/fs/bpf/lwt/lwtc/xdp-v3/peers | grep -q '\"route\": 1,'" ||
		fail "a's pinned peers map shows no direct path: $(nsenter -t "$ca_PID" -m -n bpftool map dump pinned /sys/fs/bpf/lwt/lwtc/xdp-v3/peers 2>&1 | grep -E 'route|tunnel_ip' | tr -s ' ' | tr '\n' ' ')"
fi
# Prometheus sees the route too.
nsx "${NATLAB_CLIENT[a]}" curl -sf http://127.0.0.1:9586/metrics >"$LOGDIR/a.prom" || fail "a's /metrics"
grep -q "^lwt_peer_route{peer=\"10.0.0.12\",endpoint=\"$ep\",route=\"direct-tcp\"} 1$" "$LOGDIR/a.prom" ||
	fail "no lwt_peer_route for b's direct path: $(grep lwt_peer_route "$LOGDIR/a.prom")"
[ "${ep%:*}" = "${NATLAB_PUB[b]}" ] || fail "a's direct endpoint $ep is not b's public address ${NATLAB_PUB[b]}"

say "20 MB a -> b over the direct path: the hub forwards nothing"
f0=$(fwd)
xfer_sha256 "${NATLAB_CLIENT[b]}" 10.0.0.12 "${NATLAB_CLIENT[a]}" 20
f1=$(fwd)
say "hub forwarded $((f1 - f0)) packets during the transfer"
[ $((f1 - f0)) -le 5 ] || fail "the hub forwarded $((f1 - f0)) packets of a direct transfer"
direct a 10.0.0.12 || fail "a's path to b is no longer direct after the transfer"
# The direct path rotates its own keys (the responder offers, as the hub
# does), and carries on under them.
depoch() { jget "${NATLAB_CLIENT[$1]}" lwtc '[.peers[] | select(.path == "direct-tcp") | .key_epoch][0] // 0'; }
wait_for 12 "the direct path a <-> b rotated its keys twice" sh -c "[ \$(ip netns exec $PFX-${NATLAB_CLIENT[a]} $CTL -i lwtc stats --json | jq '[.peers[] | select(.path == \"direct-tcp\") | .key_epoch][0] // 0') -ge 2 ]" ||
	fail "a's direct path to b is at key epoch $(depoch a)"
f0=$(fwd)
nsx "${NATLAB_CLIENT[a]}" ping -c 5 -i 0.1 -W 2 -q 10.0.0.12 || fail "a -> b after key rotations"
[ $(($(fwd) - f0)) -le 2 ] || fail "a -> b left the direct path after key rotations"
say "direct path at key epoch $(depoch a) (a) / $(depoch b) (b)"
# Both NATs hold the direct flow as an ordinary, assured TCP connection.
for s in a b; do
	nsx "${NATLAB_ROUTER[$s]}" conntrack -L -p tcp 2>/dev/null | grep -v "dport=9000 " >&2 || true
	nsx "${NATLAB_ROUTER[$s]}" conntrack -L -p tcp 2>/dev/null | grep -v "dport=9000 " |
		grep -q "ESTABLISHED.*ASSURED" || fail "router of $s holds no established direct TCP flow"
done
for s in a b; do
	inv=$(nsx "${NATLAB_ROUTER[$s]}" conntrack -S 2>/dev/null | sed -n 's/.* invalid=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
	say "router $s: conntrack invalid $inv"
done

say "y (symmetric NAT) <-> a: direct over UDP, and traffic flows"
nsx "${NATLAB_CLIENT[y]}" ping -c 3 -i 0.1 -W 2 -q 10.0.0.11 || fail "y -> a"
# Traffic goes on meanwhile (a client asks again while it sends).
wait_for 20 "y's path to a is direct-udp" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[y]} ping -c 1 -W 1 -q 10.0.0.11 >/dev/null; \
	[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[y]} $CTL -i lwtc status --json | jq -r '[.p2p.paths[] | select(.tunnel_ip == \"10.0.0.11\") | .path][0]')\" = direct-udp ]" ||
	fail "y's punch to a: $(ctl "${NATLAB_CLIENT[y]}" lwtc stats --json | jq -c .p2p) hub: $(ctl hub lwts stats --json | jq -c .p2p)"
f0=$(fwd)
nsx "${NATLAB_CLIENT[y]}" ping -c 5 -i 0.1 -W 2 -q 10.0.0.11 || fail "y -> a direct"
[ $(($(fwd) - f0)) -le 2 ] || fail "y -> a went through the hub"

say "failover: the direct path a <-> b is blocked during an iperf3 run, then unblocked"
out=$LOGDIR/iperf-failover.json
nsbg "${NATLAB_CLIENT[b]}" timeout 90 iperf3 -s -1 -B 10.0.0.12 -p 5201
ipid=$BG_PID
wait_for 5 "iperf3 listening" nsx "${NATLAB_CLIENT[b]}" sh -c "ss -ltn | grep -q '10.0.0.12:5201 '"
# 25 s: the block and fallback take ~2 s, the return ~13 s (RETRY_LOST_MS
# 12 s, then the punch); checked below that iperf3 still runs by then.
nsbg "${NATLAB_CLIENT[a]}" sh -c "timeout 80 iperf3 -c 10.0.0.12 -p 5201 -t 25 -b 50M -J > '$out'"
cpid=$BG_PID
wait_for 5 "iperf3 running" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[a]} ss -tn | grep -q '10.0.0.12:5201'"
wait_for 5 "iperf3 data on the direct path" sh -c "[ \$(ip netns exec $PFX-${NATLAB_CLIENT[a]} $CTL -i lwtc status --json | jq '[.p2p.paths[] | select(.tunnel_ip == \"10.0.0.12\") | .tx_packets][0] // 0') -gt 2000 ]"
f0=$(fwd)
natlab_block a
wait_for 10 "a fell back to the hub" relayed a 10.0.0.12
# Both send (iperf3's data one way, its ACKs the other) and the other's
# fake-TCP ACKs stop: suspected at once, not after the records' silence,
# by whichever side sees it first (the other may learn it from the
# first's packets coming through the hub).
sa=$(ctl "${NATLAB_CLIENT[a]}" lwtc stats --json | jq '.p2p.ack_stalls')
sb=$(ctl "${NATLAB_CLIENT[b]}" lwtc stats --json | jq '.p2p.ack_stalls')
say "ACK stalls seen: a $sa, b $sb"
[ $((sa + sb)) -ge 1 ] || fail "the fake-TCP ACKs stopped and no ACK stall was seen"
wait_for 10 "traffic flows through the hub" sh -c "[ \$(ip netns exec $PFX-hub $CTL -i lwts status --json | jq .totals.forwarded) -gt $((f0 + 100)) ]"
say "iperf3 goes on through the hub; unblocking"
natlab_unblock a
# The pair punches again once the NATs forgot the old flow (12 s).
wait_for 40 "a's path to b is direct again" direct a 10.0.0.12 || {
	for s in a b; do
		nsx "${NATLAB_ROUTER[$s]}" conntrack -L -p tcp >&2 || true
		nsx "${NATLAB_ROUTER[$s]}" conntrack -S >&2 || true
		ctl "${NATLAB_CLIENT[$s]}" lwtc stats --json | jq -c '.p2p, .totals, .xdp' >&2
	done
	fail "a's path to b did not come back"
}
f1=$(fwd)
# The run must span the return, or the checks below prove nothing of it.
kill -0 "$cpid" 2>/dev/null || fail "iperf3 ended before the direct path came back (lengthen its -t)"
wait "$cpid" || true
stop "$ipid"
jq -en 'input | .end.sum_received.bytes > 0 and (.error // "") == ""' <"$out" >/dev/null ||
	fail "iperf3 across the failover: $(jq -c '.error // .end.sum_received' "$out")"
say "iperf3 finished across failover and return: $(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$out") Mbit/s"
f2=$(fwd)
say "hub forwarded $((f2 - f1)) packets after the path came back"
[ $((f2 - f1)) -le 20 ] || fail "the hub still forwards a <-> b after the direct path came back"
say "ok"
