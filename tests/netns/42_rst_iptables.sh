#!/bin/bash
# SPDX-License-Identifier: MIT
# The anti-RST rule where nft is absent: with nft hidden from both daemons
# (bound over by /dev/null in their mount namespaces), each falls back to an
# iptables chain of its own. On the raw-socket path the kernel sees the
# fake-TCP segments and answers them with RSTs: the chain's DROP rule counts
# them, none reaches the wire, the tunnel carries traffic, and each chain is
# gone after its daemon stops (stop_daemon checks it).
. "$(dirname "$0")/lib.sh"

command -v iptables >/dev/null || skip "no iptables binary"
nft=$(command -v nft || true)
[ -n "$nft" ] || skip "no nft binary to hide (the fallback is the only path here)"
two_hosts
export LWT_HIDE="/usr/sbin/nft /usr/bin/nft"
for f in $LWT_HIDE; do [ -e "$f" ] || LWT_HIDE=${LWT_HIDE/$f/}; done
start_server -xdp=false
start_client -xdp=false
unset LWT_HIDE
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
grep -q "firewall: iptables chain LWT-lwts" "$LOGDIR/server.log" || fail "server did not fall back to iptables"
grep -q "firewall: iptables chain LWT-lwtc" "$LOGDIR/client.log" || fail "client did not fall back to iptables"
nsx s nft list tables | grep -q ' lwt_' && fail "an nft table was made although nft was hidden"
nsx s iptables -S OUTPUT | grep -q -- '-j LWT-lwts' || fail "server chain not linked from OUTPUT"
nsx c iptables -S OUTPUT | grep -q -- '-j LWT-lwtc' || fail "client chain not linked from OUTPUT"

# drops NS CHAIN: packets the chain's DROP rule has matched.
drops() { nsx "$1" iptables -w -L "$2" -v -n -x | awk '$3 == "DROP" {s += $1} END {print s + 0}'; }

say "RSTs on the wire while traffic flows (tcpdump on the client's link)"
nsbg c tcpdump -n -i v-c-s -l 'tcp[tcpflags] & tcp-rst != 0' >"$LOGDIR/rst.txt" 2>"$LOGDIR/tcpdump.err"
tdpid=$BG_PID
wait_for 5 "tcpdump listening" grep -q "listening on" "$LOGDIR/tcpdump.err"
nsx c ping -c 20 -i 0.05 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping.txt" || fail "loss through the tunnel"
xfer_sha256 s 10.0.0.1 c 5
ds=$(drops s LWT-lwts)
dc=$(drops c LWT-lwtc)
stop "$tdpid"
rst=$(grep -c . "$LOGDIR/rst.txt" || true)
say "kernel RSTs dropped: server $ds, client $dc; RSTs on the wire: $rst"
[ "$ds" -gt 0 ] || fail "the server's chain dropped no RST (did the kernel not answer, or the rule not match?)"
[ "$dc" -gt 0 ] || fail "the client's chain dropped no RST"
[ "$rst" -eq 0 ] || { cat "$LOGDIR/rst.txt"; fail "$rst RSTs reached the wire"; }
say PASS
