#!/bin/bash
# SPDX-License-Identifier: MIT
# Inner IPv6 relayed by the hub to a client whose path MTU is smaller than
# the sender's: the hub answers what does not fit with ICMPv6 Packet Too
# Big (from its IPv6 tunnel address; IPv6 is never fragmented on the way),
# the sender's kernel learns the MTU and its TCP sends smaller segments.
# 64_pmtu's relay case for IPv6:
#
#   c (10.97.1.2) --1500-- r [routes mtu 1450] --1500-- s (10.97.2.2)
#   c2 (10.97.4.2) --1500-/  (c2 <-> s: 1500)
#
# Both clients and the hub run mtu 0: c settles at path MTU 1450 (TUN
# 1353), c2 at 1500 (TUN 1403). A ping6 of 1403 bytes from c2 to c: the hub
# counts it too big for c and answers, c2's kernel then holds MTU 1353
# towards c's IPv6 address and full-size (1353) pings cross; 5 MB from c2
# to c over inner IPv6 with sha256 compared.
. "$(dirname "$0")/lib.sh"

PMTU=1450
INNER=$((PMTU - 97))
routed_hosts
add_ns c2
link c2 r 10.97.4.2/24 10.97.4.1/24
nsx c2 ip route add default via 10.97.4.1
nsx r ip rule add from 10.97.1.0/24 lookup 100
nsx r ip route replace 10.97.1.0/24 dev v-r-c proto kernel scope link src 10.97.1.1 mtu $PMTU
nsx r ip route replace 10.97.2.0/24 dev v-r-s src 10.97.2.1 table 100 mtu $PMTU
tun_mtu() { ip -n "$PFX-$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
settled() { [ "$(jget "$1" "$2" .pmtu.state)" = done ]; }

start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts -mtu 0
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24,fd00::2/64 -k "$KEY" -tun-name lwtc -mtu 0
start client2 c2 -m client -r 10.97.2.2:9000 -t 10.0.0.3/24,fd00::3/64 -k "$KEY" -tun-name lwtc2 -mtu 0
for n in c:lwtc c2:lwtc2; do
	wait_for 10 "${n%%:*} up" sessions_up "${n%%:*}" "${n#*:}" || fail "${n%%:*} did not connect"
	wait_for 15 "${n%%:*} settled" settled "${n%%:*}" "${n#*:}" || fail "${n%%:*}'s path MTU search did not settle"
	wait_for 10 "${n%%:*}'s IPv6 accepted" ip6_accepted "${n%%:*}" "${n#*:}" || fail "${n%%:*}'s IPv6 address not accepted"
done
[ "$(tun_mtu c lwtc)" = "$INNER" ] || fail "lwtc MTU $(tun_mtu c lwtc), want $INNER"
[ "$(tun_mtu c2 lwtc2)" = 1403 ] || fail "lwtc2 MTU $(tun_mtu c2 lwtc2), want 1403"
wait_for 15 "the hub knows c's path MTU" sh -c "[ \"\$(ip netns exec $PFX-s $CTL -i lwts stats --json |
	jq -r '.peers[] | select(.tunnel_ip == \"10.0.0.2\") | .pmtu.path_mtu')\" = $PMTU ]" ||
	fail "the hub did not settle c's path MTU at $PMTU"
too_big() { ctl s lwts stats --json | jq '[.peers[] | select(.tunnel_ip == "10.0.0.2") | .drop_too_big // 0] | add // 0'; }
tb0=$(too_big)

say "a ping6 of 1403 bytes (c2's TUN MTU) from c2 to c, DF as always in IPv6"
# c's TCP announces an MSS that fits its own TUN, so a TCP transfer alone
# would never be too big; a ping is not bound by it.
nsx c2 ping -6 -c 2 -i 0.3 -W 1 -M do -s $((1403 - 48)) fd00::2 >"$LOGDIR/big-ping.txt" 2>&1 || true
cat "$LOGDIR/big-ping.txt" >&2
tb1=$(too_big)
say "the hub answered $((tb1 - tb0)) packets too big for c"
[ $((tb1 - tb0)) -gt 0 ] || fail "no packet was too big for c at the hub"
nsx c2 ip -6 route get fd00::2 | tee "$LOGDIR/route.txt" >&2
grep -q "mtu $INNER" "$LOGDIR/route.txt" || fail "c2's kernel did not learn MTU $INNER towards fd00::2"
nsx c2 ping -6 -c 3 -i 0.2 -W 2 -q -M do -s $((INNER - 48)) fd00::2 | grep -q ' 0% packet loss' ||
	fail "full-size ping6 ($INNER) from c2 to c does not cross the hub"
say "5 MB c2 -> c over inner IPv6 through the hub"
xfer_sha256 c fd00::2 c2 5 30
say PASS
