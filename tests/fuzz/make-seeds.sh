#!/bin/bash
# SPDX-License-Identifier: MIT
# Regenerate the fuzz seed corpora in tests/fuzz/corpus/<target>/ from real
# traffic: a server and a client in network namespaces with a router
# between them (tests/netns/lib.sh's routed_hosts), FEC, route adverts, key
# rotation every second and encrypt_after_auth (so IP and FEC payloads
# cross in clear, under a GMAC tag). tcpdump on the router keeps the
# fake-TCP segments as Ethernet frames, on the client's TUN the inner
# packets (TSO super-packets included, from an iperf3 run); the kernel's
# real rtnetlink replies are recorded in the server's namespace. Then
# tests/fuzz/seeds.py cuts them into seeds for every target (those whose
# input is sealed on the wire, route lists and key rotation messages, are
# built from the protocol's structs, as are the handoff ring's scripts).
# Needs root, the daemons (make) and tools: ip, tcpdump, iperf3, python3.
# usage: [LWT_BIN=dir] tests/fuzz/make-seeds.sh [OUTDIR]   (default tests/fuzz/corpus)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(realpath -m "${1:-$HERE/corpus}")
. "$HERE/../netns/lib.sh"

for t in tcpdump iperf3 python3; do
	command -v "$t" >/dev/null || skip "$t missing"
done
CAP=$LOGDIR/cap
mkdir -p "$CAP"

routed_hosts
nsbg r tcpdump -i v-r-s -s 0 -U -w "$CAP/wire.pcap" 'tcp port 9000' 2>"$CAP/td-wire.err"
wait_for 5 "tcpdump on the router" grep -q "listening on" "$CAP/td-wire.err"
start server s -m server -l 10.97.2.2:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwts \
	-fec-data 4 -fec-parity 2 -encrypt-after-auth -config-push-interval 1 \
	-allowed-routes 192.168.50.0/24
start client c -m client -r 10.97.2.2:9000 -t 10.0.0.2/24 -k "$KEY" -tun-name lwtc \
	-fec-data 4 -fec-parity 2 -encrypt-after-auth -routes 192.168.50.0/24
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
nsbg c tcpdump -i lwtc -s 0 -U -w "$CAP/tun.pcap" 2>"$CAP/td-tun.err"
wait_for 5 "tcpdump on the TUN" grep -q "listening on" "$CAP/td-tun.err"

say "traffic: pings, a short TCP transfer, two key rotations"
nsx c ping -c 5 -i 0.1 -q 10.0.0.1 >/dev/null
nsx s ping -c 5 -i 0.1 -s 1200 -q 10.0.0.2 >/dev/null
nsbg s iperf3 -s -1 -B 10.0.0.1 >"$CAP/iperf-s.log" 2>&1
srv=$BG_PID
wait_for 5 "iperf3 listening" nsx s ss -ltn 'sport = :5201'
nsx c iperf3 -c 10.0.0.1 -t 1 -l 60000 >"$CAP/iperf-c.log" 2>&1
wait "$srv" || true
wait_for 5 "a key rotation" test "$(jget s lwts .rekeys)" -ge 2

say "the kernel's rtnetlink replies"
nsx s python3 "$HERE/seeds.py" netlink "$CAP/netlink.bin" v-s-r 10.97.1.2

for p in "${PIDS[@]}"; do
	case "$(ps -o comm= -p "$p" 2>/dev/null)" in tcpdump) kill -INT "$p"; wait "$p" || true ;; esac
done
stop "$client_PID"
stop "$server_PID"

say "cutting seeds into $OUT"
python3 "$HERE/seeds.py" cut "$CAP" "$OUT" "$ROOT/configs"
du -sh "$OUT"
