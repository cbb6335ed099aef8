#!/bin/bash
# SPDX-License-Identifier: MIT
# IPv6 inside the tunnel over the IPv4 underlay. A hub and two clients with
# dual-stack tunnel addresses (10.0.0.x/24,fd00::x/64) and one IPv4-only
# client: ping6 client->hub and client->client through the hub, 20 MB over
# inner IPv6 with sha256 compared, iperf3 -6; the IPv4-only client keeps
# working. A second client claiming A's IPv6 address, or one outside the
# hub's IPv6 prefix, is refused (its IPv4 goes on, A's IPv6 too); an inner
# IPv6 packet whose source is another client's address is dropped and
# counted by the hub.
. "$(dirname "$0")/lib.sh"

command -v iperf3 >/dev/null || skip "iperf3 not installed"
lan_switch
NH=0
host() { NH=$((NH + 1)); lan_host "$1" "10.98.0.$NH/24"; }
cli() { local n=$1 ip=$2; shift 2; start "$n" "$n" -m client -r 10.98.0.1:9000 -t "$ip" -k "$KEY" -tun-name lwtc "$@"; }
ping6_ok() { nsx "$1" ping -6 -c 3 -i 0.05 -W 1 -q "$2" 2>&1 | grep -q ' 0% packet loss'; }
ping_ok() { nsx "$1" ping -c 3 -i 0.05 -W 1 -q "$2" | grep -q ' 0% packet loss'; }
spoofed() { ctl s lwts stats --json | jq '[.peers[].drop_spoofed_src // 0] | add // 0'; }
spoofed_ge() { [ "$(spoofed)" -ge "$1" ]; }

for h in s a b c d; do host "$h"; done
start server s -m server -l 10.98.0.1:9000 -t 10.0.0.1/24,fd00::1/64 -k "$KEY" -tun-name lwts
cli a 10.0.0.11/24,fd00::11/64
cli b 10.0.0.12/24,fd00::12/64
cli c 10.0.0.13/24
for n in a b c; do wait_for 10 "$n up" sessions_up "$n" lwtc || fail "$n did not connect"; done
for n in a b; do
	wait_for 10 "$n's IPv6 address accepted" grep -q "IPv6 tunnel address fd00::1[12] accepted by the server" \
		"$LOGDIR/$n.log" || fail "$n's IPv6 address was not accepted"
done
nsx a ip -6 addr show dev lwtc | grep "inet6 fd00::11/64" >/dev/null || fail "A's TUN has no IPv6 address"
[ "$(ctl a lwtc status --json | jq -r .ip6_claim)" = accepted ] || fail "lwt-ctl status: claim not accepted"
[ "$(ctl s lwts peers --json | jq -r '[.[].tunnel_ip6] | sort | join(",")')" = ",fd00::11,fd00::12" ] ||
	fail "lwt-ctl peers on the hub does not show the IPv6 addresses"
ctl a lwtc status | grep "ipv6 fd00::11/64 (accepted)" >/dev/null || fail "lwt-ctl status (text) lacks the IPv6 address"
ctl s lwts peers | grep "^ipv6: 10.0.0.12 fd00::12$" >/dev/null || fail "lwt-ctl peers (text) lacks B's IPv6 address"

say "ping6 client -> hub, hub -> client, client -> client through the hub"
ping6_ok a fd00::1 || fail "A cannot ping6 the hub"
ping6_ok s fd00::12 || fail "the hub cannot ping6 B"
ping6_ok a fd00::12 || fail "A cannot ping6 B through the hub"
say "the IPv4-only client works alongside"
ping_ok c 10.0.0.1 || fail "C (IPv4 only) cannot ping the hub"
ping_ok c 10.0.0.11 || fail "C (IPv4 only) cannot ping A"
ping6_ok c fd00::11 && fail "C (no IPv6 tunnel address) reached A over IPv6"

say "20 MB from A to B over inner IPv6, sha256 compared"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$LOGDIR/blob6"
want=$(sha256sum <"$LOGDIR/blob6" | cut -d' ' -f1)
nsbg b sh -c "timeout 70 nc -6 -l -N fd00::12 5001 | sha256sum | cut -d' ' -f1 > '$LOGDIR/got6'"
ncpid=$BG_PID
wait_for 5 "nc listening" nsx b sh -c "ss -ltn | grep -q 'fd00::12\]:5001'" || fail "nc did not listen"
nsx a timeout 60 nc -6 -N fd00::12 5001 <"$LOGDIR/blob6" || fail "the transfer did not finish"
wait "$ncpid" || true
got=$(cat "$LOGDIR/got6")
rm -f "$LOGDIR/blob6"
say "sha256 sent $want received $got"
[ "$want" = "$got" ] || fail "sha256 mismatch over inner IPv6"

say "iperf3 -6 A -> hub for 3 s"
nsbg s timeout 30 iperf3 -s -1 -B fd00::1 -p 5301
ipid=$BG_PID
wait_for 5 "iperf3 listening" nsx s sh -c "ss -ltn | grep -q 'fd00::1\]:5301'" || fail "iperf3 did not listen"
nsx a timeout 20 iperf3 -6 -c fd00::1 -p 5301 -t 3 --connect-timeout 5000 -J >"$LOGDIR/iperf6.json" || true
stop "$ipid"
bps=$(jq '.end.sum_received.bits_per_second // 0' "$LOGDIR/iperf6.json")
say "iperf3 -6: $(jq -n "$bps / 1e6 | floor") Mbit/s"
jq -en "$bps > 0" >/dev/null || fail "iperf3 -6 moved nothing"

say "a second client claiming A's IPv6 address is refused; A keeps it"
cli d 10.0.0.14/24,fd00::11/64
wait_for 10 "D up" sessions_up d lwtc || fail "D did not connect over IPv4"
wait_for 10 "D told" grep -q "IPv6 tunnel address fd00::11 refused by the server: held by another client" \
	"$LOGDIR/d.log" || fail "D was not told its IPv6 address is taken"
grep -q "IPv6 tunnel address fd00::11 refused: held by another client" "$LOGDIR/server.log" ||
	fail "the hub did not log the refusal"
ping_ok d 10.0.0.1 || fail "D's IPv4 does not work"
ping6_ok a fd00::1 || fail "A lost its IPv6 to D's claim"
ping6_ok s fd00::11 || fail "the hub no longer reaches A's IPv6"
[ "$(ctl d lwtc status --json | jq -r .ip6_claim)" = refused ] || fail "D's status does not show the refusal"
stop "$d_PID"

say "an IPv6 address outside the hub's prefix is refused"
cli d 10.0.0.14/24,fd01::14/64
wait_for 10 "D told" grep -q "IPv6 tunnel address fd01::14 refused by the server: not a host address" \
	"$LOGDIR/d.log" || fail "D's address outside the prefix was not refused"
stop "$d_PID"

say "an inner IPv6 packet from B with A's address as source is dropped and counted"
before=$(spoofed)
nsx b ip -6 addr add fd00::11/128 dev lwtc nodad
nsx b ping -6 -c 5 -i 0.05 -W 1 -I fd00::11 fd00::1 >/dev/null 2>&1 && fail "B's spoofed ping6 was answered"
wait_for 5 "the hub counted 5 spoofed packets" spoofed_ge $((before + 5)) ||
	fail "the hub did not count B's spoofed packets (before $before, now $(spoofed))"
nsx b ip -6 addr del fd00::11/128 dev lwtc
ping6_ok a fd00::1 || fail "A's IPv6 broken after B's spoofing"
ping6_ok b fd00::1 || fail "B's own IPv6 broken"
say PASS
