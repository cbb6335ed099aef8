#!/bin/bash
# SPDX-License-Identifier: MIT
# P2P across the NAT lab's kinds (natlab.sh): one hub, a client per site,
# and per pair the outcome fake TCP can reach, asserted: direct where both
# NATs let a simultaneous open through (cone kinds, a router that answers
# unsolicited SYNs with RSTs, a carrier NAT, no NAT, and a symmetric NAT
# whose peer accepts SYNs from any port of its address: the peer answers
# the port the SYN came from), "lan" for two clients behind one router,
# direct over UDP where fake TCP cannot but the birthday strategy can (a
# symmetric NAT against a port-restricted one, also one that answers
# unsolicited SYNs with RSTs: the symmetric side opens 256 UDP ports, the
# other probes random ports of its address), relayed through the hub where
# neither can (two symmetric NATs: both sides' ports are random, so the
# hub rules it out), and over UDP where a NAT maps TCP by destination and
# UDP not (the client's NAT detection over TCP tells the hub). Direct means direct: 2 MB
# with matching sha256 while the hub's forwarded counter stays flat; relayed
# means the punch failed, the path says relay-hub and traffic still flows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
declare -A TIP=()
n=20
for s in "n none" "f full" "r restricted" "p port" "q port" "s symmetric" "t symmetric" \
	"x port-rst" "l lan" "d double" "m tcp-symmetric"; do
	set -- $s
	natlab_site "$1" "$2"
	TIP[$1]=10.0.0.$((n++))
done
TIP[l2]=10.0.0.$n
NATLAB_CLIENT[l2]=${NATLAB_CLIENT2[l]}
SITES="n f r p q s t x l l2 d m"

start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
for s in $SITES; do
	start "c$s" "${NATLAB_CLIENT[$s]}" -m client -r "$HUB_ADDR:9000" -t "${TIP[$s]}/24" -k "$KEY" \
		-tun-name lwtc
done
for s in $SITES; do wait_for 15 "client $s up" sessions_up "${NATLAB_CLIENT[$s]}" lwtc; done
wait_for 10 "12 sessions on the hub" sessions_up hub lwts 12
for s in $SITES; do
	wait_for 10 "client $s knows its peers" sh -c \
		"[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[$s]} $CTL -i lwtc status --json | jq .known_peers)\" = 11 ]"
done

# path A B: A's path to B (lan, direct-tcp, direct-udp, relay-hub; none: no entry).
path() { jget "${NATLAB_CLIENT[$1]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$2]}\") | .path][0] // \"none\""; }
is_path() { [ "$(path "$1" "$2")" = "$3" ]; }
failed() { [ "$(jget "${NATLAB_CLIENT[$1]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$2]}\") | .last_failure // empty] | length")" -gt 0 ]; }
fwd() { jget hub lwts .totals.forwarded; }

# expect A B OUTCOME: A pings B, then the pair's path is OUTCOME on both sides.
expect() {
	local a=$1 b=$2 want=$3 f0 f1
	say "$a (${NATLAB_KIND[$a]:-lan}) <-> $b (${NATLAB_KIND[$b]:-lan}): $want"
	nsx "${NATLAB_CLIENT[$a]}" ping -c 2 -i 0.1 -W 2 -q "${TIP[$b]}" >&2 || fail "$a -> $b through the hub"
	if [ "$want" = relay-hub ]; then
		wait_for 15 "$a's punch to $b failed" failed "$a" "$b" || fail "$a -> $b: punch did not fail"
		# Both NATs are detected by now: the hub rules the punch out
		# instead of letting it fail after 5 s of SYNs.
		why=$(jget "${NATLAB_CLIENT[$a]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$b]}\") | .last_failure][0]")
		[ "$why" = "ruled out by both NAT types" ] || fail "$a -> $b failed with '$why', not ruled out by NAT types"
		is_path "$a" "$b" relay-hub || fail "$a -> $b is $(path "$a" "$b") after a failed punch"
		# The other side got no order at all ("none") or failed too.
		case "$(path "$b" "$a")" in relay-hub | none) ;; *) fail "$b -> $a is $(path "$b" "$a") after a failed punch" ;; esac
		f0=$(fwd)
		nsx "${NATLAB_CLIENT[$a]}" ping -c 3 -i 0.1 -W 2 -q "${TIP[$b]}" >&2 || fail "$a -> $b relayed"
		f1=$(fwd)
		[ $((f1 - f0)) -ge 6 ] || fail "$a -> $b relayed, but the hub forwarded $((f1 - f0))"
		return
	fi
	wait_for 10 "$a's path to $b is $want" is_path "$a" "$b" "$want" ||
		fail "$a -> $b: $(ctl "${NATLAB_CLIENT[$a]}" lwtc stats --json | jq -c .p2p)"
	wait_for 5 "$b's path to $a is $want" is_path "$b" "$a" "$want" ||
		fail "$b -> $a: $(ctl "${NATLAB_CLIENT[$b]}" lwtc stats --json | jq -c .p2p)"
	f0=$(fwd)
	xfer_sha256 "${NATLAB_CLIENT[$b]}" "${TIP[$b]}" "${NATLAB_CLIENT[$a]}" 2
	f1=$(fwd)
	[ $((f1 - f0)) -le 5 ] || fail "$a -> $b: the hub forwarded $((f1 - f0)) packets of a direct transfer"
	say "$a <-> $b: $(jget "${NATLAB_CLIENT[$a]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$b]}\") | .punch_to_direct_ms][0]") ms from order to direct path"
}

expect p q direct-tcp
expect n p direct-tcp
expect d p direct-tcp
expect x q direct-tcp
expect l l2 lan
expect f s direct-tcp
expect r t direct-tcp
expect n t direct-tcp
expect p s direct-udp
expect x t direct-udp
expect s t relay-hub
# A NAT that maps TCP by destination and UDP not (tcp-symmetric): its
# client's detection over TCP tells the hub, which orders UDP (no side
# symmetric for UDP: both probe the other's UDP mapping) instead of a fake-
# TCP punch that would fail.
tcp_judged() { [ "$(jget "${NATLAB_CLIENT[m]}" lwtc .nat.tcp.mapping)" = address-and-port-dependent ]; }
wait_for 15 "m's NAT judged over TCP" tcp_judged || fail "m: $(ctl "${NATLAB_CLIENT[m]}" lwtc status --json | jq -c .nat)"
expect m q direct-udp
say "ok"
