#!/bin/bash
# SPDX-License-Identifier: MIT
# The NAT lab (natlab.sh) does what each kind's name says, over UDP and TCP:
# the public address and port a hub sees (mapping: the same port towards two
# hub ports, or a new one per destination), and which unsolicited packets
# reach the client (filtering: from the hub's other port, from a third wan
# host; dropped, or a RST for port-rst). Then natlab_block cuts a site off
# from everything but the hub, and natlab_unblock restores it; natlab_flush
# forgets mappings; a site with a delay has it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_wanhost x 198.51.100.9
X=198.51.100.9
# name kind | expected: EIM mapping, UDP from hub's other port, UDP from x,
# TCP from hub's other port, TCP from x
SITES="a:none:eim:yes:yes:connected:connected
b:full:eim:yes:yes:connected:connected
c:restricted:eim:yes:no:connected:timeout
d:port:eim:no:no:timeout:timeout
e:symmetric:dep:no:no:timeout:timeout
f:port-rst:eim:no:no:refused:refused
g:lan:eim:no:no:timeout:timeout
h:double:eim:no:no:timeout:timeout"
for l in $SITES; do
	IFS=: read -r s k _ <<<"$l"
	natlab_site "$s" "$k"
done

nsbg hub /usr/bin/python3 "$NATLAB_PY" serve "$HUB_ADDR" 3478 3479
wait_for 5 "echo on the hub" nsx hub sh -c "ss -lunH | grep -q '$HUB_ADDR:3479 '"
nsbg x /usr/bin/python3 "$NATLAB_PY" udp-client 5000 "$LOGDIR/x.udp"
wait_for 5 "listener on x" nsx x sh -c "ss -lunH | grep -q ':5000 '"

# obs FILE TARGET: the source the target saw, from a client's log.
obs() { awk -v t="$2" '$1 == "map" && $2 == t { print $3 }' "$1"; }
got() { grep -q "^from .* $2\$" "$1"; }
mapped() { [ "$(grep -c '^map ' "$1")" -ge 2 ]; }

# check_mapping SITE PROTO FILE EIM LPORT: sets M (ip:port seen by HUB:3478).
check_mapping() {
	local s=$1 p=$2 f=$3 eim=$4 lp=$5 m2
	M=$(obs "$f" "$HUB_ADDR:3478")
	m2=$(obs "$f" "$HUB_ADDR:3479")
	say "$s/$p: hub sees $M and $m2 (local port $lp)"
	if [ -z "$M" ] || [ -z "$m2" ]; then fail "$s/$p: no mapping seen: $(cat "$f")"; fi
	[ "${M%:*}" = "${NATLAB_PUB[$s]}" ] || fail "$s/$p: seen from ${M%:*}, public address is ${NATLAB_PUB[$s]}"
	if [ "$eim" = eim ]; then
		[ "${M#*:}" = "${m2#*:}" ] || fail "$s/$p: endpoint-dependent mapping: $M vs $m2"
		[ "${M#*:}" = "$lp" ] || fail "$s/$p: port $lp not kept: $M"
	else
		[ "${M#*:}" != "${m2#*:}" ] || fail "$s/$p: endpoint-independent mapping: $M twice"
	fi
}

lp=40000
for l in $SITES; do
	IFS=: read -r s k eim uhub ux thub tx <<<"$l"
	c=${NATLAB_CLIENT[$s]}
	lp=$((lp + 1))
	# UDP
	f=$LOGDIR/$s.udp
	nsbg "$c" /usr/bin/python3 "$NATLAB_PY" udp-client "$lp" "$f" "$HUB_ADDR:3478" "$HUB_ADDR:3479"
	upid=$BG_PID
	wait_for 10 "$s: udp mappings" mapped "$f" || fail "$s/udp: no mappings: $(cat "$f")"
	check_mapping "$s" udp "$f" "$eim" "$lp"
	natlab_py x udp-send "$M" "x-$s"
	natlab_py hub udp-send -s 3480 "$M" "hp-$s"
	sleep 0.3	# the negatives get a head start on the control
	natlab_py hub udp-send -s 3478 "$M" "ctl-$s"
	wait_for 5 "$s: control datagram from the mapped hub port" got "$f" "ctl-$s" ||
		fail "$s/udp: the hub's answer port cannot reach the client"
	for w in "hub-other-port:hp-$s:$uhub" "third-host:x-$s:$ux"; do
		IFS=: read -r who pay want <<<"$w"
		if got "$f" "$pay"; then have=yes; else have=no; fi
		say "$s/udp: unsolicited from $who: $have (want $want)"
		[ "$have" = "$want" ] || fail "$s/udp: unsolicited datagram from $who: $have, want $want"
	done
	if [ "$k" = lan ]; then
		natlab_py "${NATLAB_CLIENT2[$s]}" udp-send "${NATLAB_LAN[$s]}:$lp" "lan-$s"
		wait_for 5 "$s: datagram over the LAN" got "$f" "lan-$s" || fail "$s: LAN clients cannot talk"
	fi
	stop "$upid"
	# TCP
	f=$LOGDIR/$s.tcp
	nsbg "$c" /usr/bin/python3 "$NATLAB_PY" tcp-client "$lp" "$f" "$HUB_ADDR:3478" "$HUB_ADDR:3479"
	tpid=$BG_PID
	wait_for 10 "$s: tcp mappings" mapped "$f" || fail "$s/tcp: no mappings: $(cat "$f")"
	check_mapping "$s" tcp "$f" "$eim" "$lp"
	have=$(natlab_py hub tcp-try "$M" 1)
	say "$s/tcp: connection from the hub's other port: $have (want $thub)"
	[ "$have" = "$thub" ] || fail "$s/tcp: from the hub's other port: $have, want $thub"
	have=$(natlab_py x tcp-try "$M" 1)
	say "$s/tcp: connection from a third host: $have (want $tx)"
	[ "$have" = "$tx" ] || fail "$s/tcp: from a third host: $have, want $tx"
	stop "$tpid"
done

# Block: the full-cone site b reaches the hub only; the lan site g's two
# clients no longer reach each other. Unblock: both back.
f=$LOGDIR/b.block
nsbg cb /usr/bin/python3 "$NATLAB_PY" udp-client 41000 "$f" "$HUB_ADDR:3478"
bpid=$BG_PID
wait_for 5 "b: mapping" grep -q '^map ' "$f" || fail "b: no mapping"
natlab_block b
natlab_block g
natlab_py cb udp-send "$X:5000" "out-blocked"
natlab_py x udp-send "${NATLAB_PUB[b]}:41000" "in-blocked"
natlab_py cg2 udp-send "${NATLAB_LAN[g]}:7" "lan-blocked"
nsx cg2 ping -c 1 -W 1 "${NATLAB_LAN[g]}" && fail "g: LAN still open while blocked"
natlab_py hub udp-send -s 3479 "${NATLAB_PUB[b]}:41000" "hub-blocked"
wait_for 5 "b: the hub still gets through" got "$f" hub-blocked || fail "b: block cut the hub off"
got "$LOGDIR/x.udp" out-blocked && fail "b: blocked site still sends to a third host"
got "$f" in-blocked && fail "b: blocked site still receives from a third host"
natlab_unblock b
natlab_unblock g
natlab_py cb udp-send "$X:5000" "out-open"
natlab_py x udp-send "${NATLAB_PUB[b]}:41000" "in-open"
wait_for 5 "b: out again" got "$LOGDIR/x.udp" out-open || fail "b: unblock did not restore outbound"
wait_for 5 "b: in again" got "$f" in-open || fail "b: unblock did not restore inbound"
nsx cg2 ping -c 1 -W 2 "${NATLAB_LAN[g]}" || fail "g: LAN not restored"
stop "$bpid"

# Flush: a port-restricted site's mapping is gone, the hub's answer to it
# no longer reaches the client.
f=$LOGDIR/d.flush
nsbg cd /usr/bin/python3 "$NATLAB_PY" udp-client 41001 "$f" "$HUB_ADDR:3478"
fpid=$BG_PID
wait_for 5 "d: mapping" grep -q '^map ' "$f" || fail "d: no mapping"
natlab_flush d
natlab_py hub udp-send -s 3478 "${NATLAB_PUB[d]}:41001" "after-flush"
natlab_py cd udp-send "$X:5000" "d-ctl"
wait_for 5 "d: control" got "$LOGDIR/x.udp" d-ctl || fail "d: no outbound after flush"
got "$f" after-flush && fail "d: mapping survived natlab_flush"
stop "$fpid"

# Delay: a site behind a 20 ms (each way) lwt-impair bridge; the least RTT
# of 10 pings to the hub within 40 +- 5 ms, and the NAT still in place.
natlab_site i port 20
wait_for 5 "i: hub reachable" nsx ci ping -n -c 1 -W 1 "$HUB_ADDR" || fail "i: hub unreachable"
out=$(nsx ci ping -n -q -c 10 -i 0.05 -W 2 "$HUB_ADDR" || true)
min=$(awk -F'[ /]' '/^rtt/ {print $7}' <<<"$out")
say "i: delayed site, least rtt to the hub $min ms"
jq -en "$min > 35 and $min < 45" >/dev/null || fail "i: least rtt $min not within 40 +- 5 ms"
nsbg ci /usr/bin/python3 "$NATLAB_PY" udp-client 41002 "$LOGDIR/i.udp" "$HUB_ADDR:3478" "$HUB_ADDR:3479"
ipid=$BG_PID
wait_for 10 "i: udp mappings" mapped "$LOGDIR/i.udp" || fail "i/udp: no mappings"
check_mapping i udp "$LOGDIR/i.udp" eim 41002
stop "$ipid"
say PASS
