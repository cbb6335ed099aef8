#!/bin/bash
# SPDX-License-Identifier: MIT
# P2P over UDP (natlab.sh): a client behind a symmetric NAT (masquerade
# fully-random) and one behind a port-restricted cone (plain masquerade).
# Fake TCP cannot join them; the hub orders UDP and the birthday strategy
# finds a path (the symmetric side opens 256 ports, the other probes random
# ports of its address). While the punch runs, an attacker on p's LAN (on
# the path: it copies the pair_id from p's own probes) floods p's punch port
# with probe-shaped UDP that carries no valid MAC: dropped unanswered,
# counted, read within a bound, no log flood. Direct
# means direct: 4 MB with matching sha256 while the hub's forwarded counter
# stays flat; `lwt-ctl peers` says direct-udp. Idle, both sides keep the
# UDP NAT entries with heartbeats every p2p_keepalive_interval (2 s here;
# on fake TCP only the initiator sends them, the peer's ACK refreshing its
# side). Failover: the UDP path is blocked under traffic, the pair falls
# back to the hub, and after the unblock it goes direct over UDP again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_site p port
natlab_site s symmetric
start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
echo '{ "p2p_keepalive_interval": 2 }' >"$LOGDIR/ka.json"
start cp "${NATLAB_CLIENT[p]}" -c "$LOGDIR/ka.json" -m client -r "$HUB_ADDR:9000" -t 10.0.0.11/24 -k "$KEY" -tun-name lwtc
start cs "${NATLAB_CLIENT[s]}" -c "$LOGDIR/ka.json" -m client -r "$HUB_ADDR:9000" -t 10.0.0.12/24 -k "$KEY" -tun-name lwtc
for x in p s; do wait_for 10 "client $x up" sessions_up "${NATLAB_CLIENT[$x]}" lwtc; done
st() { ctl "${NATLAB_CLIENT[$1]}" lwtc stats --json | jq -c "$2"; }
nat_is() { [ "$(st "$1" .p2p.nat)" = "\"$2\"" ]; }
# Each must know its NAT (the hub picks the strategy from both) and its peer.
wait_for 15 "p knows its NAT" nat_is p "Port-Restricted Cone" || fail "p's NAT: $(st p .p2p.nat)"
wait_for 15 "s knows its NAT" nat_is s Symmetric || fail "s's NAT: $(st s .p2p.nat)"
for x in p s; do
	wait_for 10 "client $x knows its peer" sh -c \
		"[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[$x]} $CTL -i lwtc status --json | jq .known_peers)\" = 1 ]"
done
path_of() { st "$1" "[.p2p.paths[] | select(.tunnel_ip == \"$2\") | .path][0] // \"none\"" | tr -d '"'; }
is_path() { [ "$(path_of "$1" "$2")" = "$3" ]; }
fwd() { jget hub lwts .totals.forwarded; }
port=$(ctl hub lwts stats --json | jq -r '.peers[] | select(.tunnel_ip == "10.0.0.11") | .endpoint' | cut -d: -f2)
[ -n "$port" ] || fail "p's port unknown"

say "s (symmetric) <-> p (port-restricted): UDP, birthday; an attacker floods p's port ($port)"
bad0=$(st p .p2p.udp_probes_bad)
log0=$(wc -l <"$LOGDIR/cp.log")
# Probe-shaped (type 0x14, 40-byte body), sent as fast as it goes for 4 s
# from p's router, which is on the path: once it has seen one of p's own
# probes go out, its forgeries carry that punch's pair_id and the peer's
# role, and only the MAC is wrong (before that, random bodies). Counts what
# comes back.
nsbg "${NATLAB_ROUTER[p]}" python3 -c '
import os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sn.bind(("lan", 0))
sn.setblocking(False)
src = socket.inet_aton(sys.argv[1])
dst = (sys.argv[1], int(sys.argv[2]))
sent = answers = 0
pair = None
end = time.time() + 4
while time.time() < end:
    while pair is None:
        try:
            f = sn.recv(2048)
        except OSError:
            break
        ip = f[14:]
        if len(ip) < 20 or ip[9] != 17 or ip[12:16] != src:
            continue
        u = ip[(ip[0] & 15) * 4 + 8:]
        if len(u) == 44 and u[0] == 0x14:
            pair = (u[4:8], 1 - u[9])
    for _ in range(200):
        body = os.urandom(40)
        if pair:
            body = pair[0] + bytes([1, pair[1], 0, 0]) + os.urandom(8) + bytes(8) + os.urandom(16)
        try:
            s.sendto(bytes([0x14, 0, 0, 40]) + body, dst); sent += 1
        except OSError:
            pass
    try:
        while True:
            s.recvfrom(2048); answers += 1
    except OSError:
        pass
print(sent, answers, 1 if pair else 0)' "${NATLAB_LAN[p]}" "$port" >"$LOGDIR/flood.out"
flpid=$BG_PID
nsx "${NATLAB_CLIENT[s]}" ping -c 3 -i 0.1 -W 2 -q 10.0.0.11 || fail "s -> p through the hub"
wait "$flpid" || fail "the flood tool failed"
read -r sent answers sniffed <"$LOGDIR/flood.out"
bad1=$(st p .p2p.udp_probes_bad)
hits=$(st p .p2p.udp_probe_budget_hits)
say "flood: $sent sent (pair_id seen: $sniffed), $answers answered; p counted $((bad1 - bad0)) bad probes, read bound hit $hits times"
[ "$sniffed" = 1 ] || fail "the attacker never saw one of p's probes"
[ "$answers" = 0 ] || fail "p answered $answers unauthenticated probes"
[ $((bad1 - bad0)) -gt 0 ] || fail "the flood's probes were not counted (bad $bad0 -> $bad1)"
[ $((bad1 - bad0)) -le "$sent" ] || fail "more bad probes counted than sent"
[ "$hits" -gt 0 ] || fail "the flood never met the read bound (bad $((bad1 - bad0)) of $sent)"
log1=$(wc -l <"$LOGDIR/cp.log")
[ $((log1 - log0)) -le 12 ] || fail "p logged $((log1 - log0)) lines during the flood"
# The punch may have lost its answers to the flood; the pair retries.
wait_for 25 "s's path to p is direct-udp" sh -c "ip netns exec $PFX-${NATLAB_CLIENT[s]} ping -c 1 -W 1 -q 10.0.0.11 >/dev/null; \
	[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[s]} $CTL -i lwtc stats --json | jq -r '[.p2p.paths[] | select(.tunnel_ip == \"10.0.0.11\") | .path][0]')\" = direct-udp ]" ||
	fail "s -> p: $(st s .p2p) hub: $(ctl hub lwts stats --json | jq -c .p2p)"
wait_for 5 "p's path to s is direct-udp" is_path p 10.0.0.12 direct-udp || fail "p -> s: $(st p .p2p)"
[ "$(ctl hub lwts stats --json | jq .p2p.udp_orders_sent)" -ge 1 ] || fail "the hub sent no UDP order"
say "s <-> p: $(st s '[.p2p.paths[] | select(.tunnel_ip == "10.0.0.11") | .punch_to_direct_ms][0]') ms from order to direct path"
ctl "${NATLAB_CLIENT[p]}" lwtc peers | tee "$LOGDIR/peers.txt" >&2
grep -q "10.0.0.12.*direct-udp" "$LOGDIR/peers.txt" || fail "lwt-ctl peers does not show direct-udp"
# The symmetric side's public port is not the one the hub saw.
ep=$(st p '[.p2p.paths[] | select(.tunnel_ip == "10.0.0.12") | .endpoint][0]' | tr -d '"')
[ "${ep%:*}" = "${NATLAB_PUB[s]}" ] || fail "p's direct endpoint $ep is not s's public address"

say "4 MB s -> p over the UDP path: the hub forwards nothing"
f0=$(fwd)
xfer_sha256 "${NATLAB_CLIENT[p]}" 10.0.0.11 "${NATLAB_CLIENT[s]}" 4
f1=$(fwd)
[ $((f1 - f0)) -le 5 ] || fail "the hub forwarded $((f1 - f0)) packets of a direct transfer"
# The routers hold it as UDP, not TCP.
ct=$(nsx "${NATLAB_ROUTER[s]}" conntrack -L -p udp 2>/dev/null || true)
grep -q "dport=$port " <<<"$ct" || fail "s's router holds no UDP flow to p's port: $ct"

say "idle: both sides send heartbeats on the UDP path (the responder too)"
# (Before the failover below: the path is already up, where after the
# return the 6 s of age would be waited for again.)
role=$(st s '[.p2p.paths[] | select(.tunnel_ip == "10.0.0.11") | .role][0]' | tr -d '"')
# s's keepalives and the other records on the path (either way), sampled
# once a second: somewhere in 30 s a stretch of 6 s of a path up for 6 s
# or more (its start brings asks and answers of its own) must show no other
# record (idle; key rotations are records) and at least 2 keepalives of s,
# which sends them idle, every 2 s, only as a UDP path's responder.
kas=() oth=() ups=() ok=
for i in $(seq 30); do
	read -r k t kr r u < <(st s '[.peers[] | select(.path == "direct-udp") |
		.keepalives_tx, .tx_packets, .keepalives_rx, .rx_packets, (.up_s | floor)] |
		map(tostring) | join(" ")' | tr -d '"')
	kas+=("$k") oth+=($((t - k + r - kr))) ups+=("$u")
	n=${#kas[@]}
	if [ "$n" -gt 6 ] && [ "${ups[$((n - 7))]}" -ge 6 ] && [ "${oth[$((n - 1))]}" = "${oth[$((n - 7))]}" ] &&
		[ $((kas[n - 1] - kas[n - 7])) -ge 2 ]; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] || fail "s ($role) sent no idle heartbeats every 2 s: keepalives ${kas[*]}, other records ${oth[*]}"
say "s ($role): keepalives ${kas[*]} (once a second)"
is_path s 10.0.0.11 direct-udp || fail "s's idle path to p is $(path_of s 10.0.0.11)"

say "failover: the UDP path is blocked under traffic, then unblocked"
nsbg "${NATLAB_CLIENT[s]}" ping -q -i 0.05 -w 30 10.0.0.11
ppid=$BG_PID
fo0=$(st s .p2p.failovers)
natlab_block p
wait_for 10 "s fell back to the hub" is_path s 10.0.0.11 relay-hub || fail "s -> p: $(st s .p2p)"
[ "$(st s .p2p.failovers)" -gt "$fo0" ] || fail "no failover counted"
f0=$(fwd)
wait_for 5 "traffic flows through the hub" sh -c "[ \$(ip netns exec $PFX-hub $CTL -i lwts status --json | jq .totals.forwarded) -gt $((f0 + 20)) ]" ||
	fail "s -> p does not go through the hub"
natlab_unblock p
wait_for 40 "s's path to p is direct-udp again" is_path s 10.0.0.11 direct-udp || fail "s -> p: $(st s .p2p)"
f0=$(fwd)
nsx "${NATLAB_CLIENT[s]}" ping -c 5 -i 0.1 -W 2 -q 10.0.0.11 || fail "s -> p after the return"
[ $(($(fwd) - f0)) -le 2 ] || fail "s -> p not direct after the return"
stop "$ppid" 2>/dev/null || true

say "ok"
