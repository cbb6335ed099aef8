#!/bin/bash
# SPDX-License-Identifier: MIT
# NAT type detection through the hub (enable_nat_detection), in the NAT lab
# (natlab.sh): a hub with a second address (nat_probe_addr) and clients
# behind each kind of NAT report, in lwt-ctl status --json, the type their
# router's ruleset has, in the reference's names and RFC 5780's; clients of
# a hub with one address say what it cannot tell apart; the TCP mapping
# too (site m maps TCP fully-random and UDP keeping ports). A wan host's forged
# probes (unknown session, a live session id with a wrong MAC, garbage; TCP
# SYNs carrying a probe with a wrong MAC) get no answer, are counted, and a
# flood of them leaves a bounded log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
natlab_wanhost h1 198.51.100.3
natlab_wanhost h2 198.51.100.4
natlab_wanhost x 198.51.100.9
# site:kind:hub (2: with nat_probe_addr, 1: without, 0: detection off)
SITES="a:none:2 b:full:2 c:restricted:2 d:port:2 e:symmetric:2 h:double:2 i:full:1 j:port:1 k:port:0 m:tcp-symmetric:2"
for l in $SITES; do
	IFS=: read -r s k _ <<<"$l"
	natlab_site "$s" "$k"
done

hub() {
	start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts \
		-nat-probe-addr "$HUB_ADDR2" -log-level debug
}
hub
start server1 h1 -m server -l 198.51.100.3:9000 -t 10.0.1.1/24 -k "$KEY" -tun-name lwts
start server2 h2 -m server -l 198.51.100.4:9000 -t 10.0.2.1/24 -k "$KEY" -tun-name lwts -nat-detection=false
wait_for 10 "hubs listening" sh -c "grep -q 'answering probes' '$LOGDIR/server.log' &&
	grep -q 'answering probes' '$LOGDIR/server1.log'"
n=10
for l in $SITES; do
	IFS=: read -r s k h <<<"$l"
	n=$((n + 1))
	case $h in
	2) start "c$s" "c$s" -m client -r "$HUB_ADDR:9000" -t "10.0.0.$n/24" -k "$KEY" -tun-name lwtc ;;
	1) start "c$s" "c$s" -m client -r 198.51.100.3:9000 -t "10.0.1.$n/24" -k "$KEY" -tun-name lwtc ;;
	0) start "c$s" "c$s" -m client -r 198.51.100.4:9000 -t "10.0.2.$n/24" -k "$KEY" -tun-name lwtc ;;
	esac
done

natj() { ctl "$1" lwtc status --json; }
nat_done() { natj "$1" | jq -en 'input | .nat.state == "done" and .nat.tcp.state == "done"'; }
for l in $SITES; do
	s=${l%%:*}
	[ "$s" = k ] && continue
	wait_for 15 "c$s: NAT detection done" nat_done "c$s" || fail "c$s: no verdict: $(natj "c$s" | jq -c .nat)"
done
# A hub with detection off opens no probe port; its client says so.
wait_for 15 "ck: NAT detection failed" sh -c "ip netns exec $PFX-ck $CTL -i lwtc status --json |
	jq -en 'input | .nat.state == \"failed\" and .nat.type == \"Unknown\" and
	(.nat.error | contains(\"no answer\"))'" || fail "ck: $(natj ck | jq -c .nat)"
ctl h2 lwts status --json | jq -en 'input | .nat_probe.state == "off"' >/dev/null || fail "h2: nat_probe not off"
if nsx h2 ss -lunH | grep -q ':900[12] '; then fail "h2: a probe port is open with detection off"; fi
nsx h2 ss -lunH | grep -q . && fail "h2: UDP sockets open: $(nsx h2 ss -lunH)"
ctl ck lwtc status | grep -q "nat: detection failed: no answer" || fail "ck: status text"

# check SITE TYPE MAPPING FILTERING TCP_MAPPING [NOTE_WORD]
check() {
	local s=$1 type=$2 map=$3 filt=$4 tmap=$5 word=${6:-} j
	j=$(natj "c$s" | jq -c .nat)
	say "c$s (${NATLAB_KIND[$s]}): $j"
	jq -en --arg t "$type" 'input | .type == $t' <<<"$j" >/dev/null ||
		fail "c$s (${NATLAB_KIND[$s]}): type $(jq .type <<<"$j"), want $type"
	jq -en --arg m "$map" --arg f "$filt" 'input | .mapping == $m and .filtering == $f' <<<"$j" >/dev/null ||
		fail "c$s (${NATLAB_KIND[$s]}): mapping/filtering $(jq -c '[.mapping, .filtering]' <<<"$j"), want [$map, $filt]"
	jq -en --arg p "${NATLAB_PUB[$s]}" 'input | (.public | split(":")[0]) == $p' \
		<<<"$j" >/dev/null || fail "c$s: public $(jq .public <<<"$j"), want ${NATLAB_PUB[$s]}:port"
	# Over TCP: the mapping (filtering is not tested over TCP).
	jq -en --arg m "$tmap" --arg p "${NATLAB_PUB[$s]}" 'input | .tcp.state == "done" and
		.tcp.mapping == $m and (.tcp.public | split(":")[0]) == $p' <<<"$j" >/dev/null ||
		fail "c$s (${NATLAB_KIND[$s]}): TCP $(jq -c .tcp <<<"$j"), want mapping $tmap from ${NATLAB_PUB[$s]}"
	if [ -n "$word" ]; then
		jq -en --arg w "$word" 'input | .note | contains($w)' <<<"$j" >/dev/null ||
			fail "c$s: note $(jq .note <<<"$j") does not say $word"
	else
		jq -en 'input | .note == ""' <<<"$j" >/dev/null || fail "c$s: unexpected note $(jq .note <<<"$j")"
	fi
}
EIM=endpoint-independent ADM=address-dependent APDM=address-and-port-dependent
check a "None/Open" "none (no NAT)" $EIM "none (no NAT)"
check b "Full Cone" $EIM $EIM $EIM
check c "Restricted Cone" $EIM $ADM $EIM
check d "Port-Restricted Cone" $EIM $APDM $EIM
check e "Symmetric" $APDM $APDM $APDM
check h "Port-Restricted Cone" $EIM $APDM $EIM
check i "Full Cone or Restricted Cone" "$EIM or $ADM" "$EIM or $ADM" "$EIM or $ADM" nat_probe_addr
check j "Port-Restricted Cone" "$EIM or $ADM" $APDM "$EIM or $ADM" nat_probe_addr
# TCP and UDP mapped differently: each transport's own verdict.
check m "Port-Restricted Cone" $EIM $APDM $APDM
# Logged, with the verdict.
grep -q "NAT type (UDP, from .*): Symmetric" "$LOGDIR/ce.log" || fail "ce: verdict not logged"

# Again after a reconnect: the hub restarts, the client connects from a new
# local port and runs the tests again; the same verdict is not logged again.
old=$(natj cd | jq -r .nat.local)
stop "$server_PID"
hub
wait_for 20 "cd: NAT detection run again" sh -c "ip netns exec $PFX-cd $CTL -i lwtc status --json |
	jq -en 'input | .nat.runs == 2 and .nat.state == \"done\" and .nat.tcp.runs == 2 and
	.nat.tcp.state == \"done\"'" || fail "cd: no second run: $(natj cd | jq -c .nat)"
check d "Port-Restricted Cone" $EIM $APDM $EIM
new=$(natj cd | jq -r .nat.local)
say "cd: first run from $old, second from $new"
[ "$new" != "$old" ] || fail "cd: the second run used the first run's port"
[ "$(grep -c 'NAT type (UDP' "$LOGDIR/cd.log")" = 1 ] || fail "cd: the same verdict logged twice"

# Forged probes from a wan host: an unknown session, a live session's id
# with a wrong MAC, garbage. No answer; each counted.
pj() { ctl hub lwts status --json | jq -r ".nat_probe.$1"; }
sid=$(ctl hub lwts status --json | jq -r '[.peers[] | select(.state == "up") | .session_id][0]')
rx0=$(pj rx) ans0=$(pj answered)
out=$(natlab_py x nat-forge "$HUB_ADDR:9001" 40)
say "forged probes, random session ids: $out"
[ "$out" = "sent 40 answers 0" ] || fail "forged probes: $out"
out=$(natlab_py x nat-forge "$HUB_ADDR:9002" 40 "$sid")
say "forged probes, live session $sid, wrong MAC: $out"
[ "$out" = "sent 40 answers 0" ] || fail "forged probes with a live session id: $out"
wait_for 5 "the hub counted 80 probes" sh -c "[ \$(ip netns exec $PFX-hub $CTL -i lwts status --json | jq .nat_probe.rx) -ge $((rx0 + 80)) ]" ||
	fail "hub counted $(($(pj rx) - rx0)) of 80 forged probes"
unauth=$(pj unauthenticated) malformed=$(pj malformed)
say "hub: rx +$(($(pj rx) - rx0)), unauthenticated $unauth, malformed $malformed, answered +$(($(pj answered) - ans0))"
if [ "$unauth" -ne 60 ] || [ "$malformed" -ne 20 ]; then fail "want 60 unauthenticated and 20 malformed"; fi
[ "$(pj answered)" -eq "$ans0" ] || fail "the hub answered a forged probe"

# The same over TCP: SYNs whose payload is a probe with the TCP flag, the
# live session's id and a MAC of random bytes, from a spoofed source. The
# hub answers none (over the session or otherwise), counts them.
trx0=$(pj tcp_rx) tans0=$(pj tcp_answered) un0=$(pj unauthenticated)
mac=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
# magic version type flags 0 | session id | 0 | seq 1 | 16 zero bytes | MAC
forged=6c77744e01010400${sid}00000000$(printf '%016x' 1)$(printf '0%.0s' {1..32})${mac}
[ ${#forged} = 144 ] || fail "forged TCP probe of ${#forged} hex digits"
nsx x "$TOOLS/lwt-inject" tcp 203.0.113.4:40000 "$HUB_ADDR:9001" r 0 S "$forged" 50
wait_for 5 "the hub counted 50 TCP probes" sh -c "[ \$(ip netns exec $PFX-hub $CTL -i lwts status --json | jq .nat_probe.tcp_rx) -ge $((trx0 + 50)) ]" ||
	fail "hub counted $(($(pj tcp_rx) - trx0)) of 50 forged TCP probes"
say "forged TCP probes: hub tcp_rx +$(($(pj tcp_rx) - trx0)), unauthenticated +$(($(pj unauthenticated) - un0))"
[ "$(pj unauthenticated)" -eq $((un0 + 50)) ] || fail "forged TCP probes not counted as unauthenticated"
[ "$(pj tcp_answered)" -eq "$tans0" ] || fail "the hub answered a forged TCP probe"

# A flood (debug logging on): bounded log, the hub still answers status and
# its clients' probes.
lines0=$(grep -c "NAT probe:" "$LOGDIR/server.log" || true)
t0=$(date +%s)
out=$(natlab_py x nat-forge "$HUB_ADDR:9001" 30000)
t1=$(date +%s)
lines=$(($(grep -c "NAT probe:" "$LOGDIR/server.log" || true) - lines0))
rx=$(($(pj rx) - rx0))
say "flood: $out in $((t1 - t0 + 1)) s; hub took $rx, logged $lines lines about them"
[ "$rx" -ge 1000 ] || fail "the flood did not reach the hub ($rx)"
# lwt_log_rl: 5 a second per call site (two sites), per started second.
[ "$lines" -le $((2 * 5 * (t1 - t0 + 2))) ] || fail "log flood: $lines lines in $((t1 - t0 + 1)) s"
[ "$(pj answered)" -eq "$ans0" ] || fail "the hub answered a flooded probe"
say PASS
