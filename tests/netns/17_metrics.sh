#!/bin/bash
# SPDX-License-Identifier: MIT
# metrics_listen: the server serves Prometheus text on 127.0.0.1:9586 in its
# namespace, and only there; promtool accepts it; the numbers move with
# traffic and agree with lwt-ctl; another path is 404, another method 405;
# a bad metrics_listen is refused at start with exit status 2.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
command -v curl >/dev/null || skip "curl not installed"
two_hosts

say "a bad metrics_listen is refused before anything starts"
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 localhost:9586 :9586 127.0.0.1:95x 1.2.3:9586; do
	rc=0
	# A daemon that took it would run on: 124 from timeout is a failure too.
	nsx s timeout 10 "$LWT" -m server -l 10.99.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwtx \
		-metrics-listen "$bad" >"$LOGDIR/bad.out" 2>&1 || rc=$?
	cat "$LOGDIR/bad.out"
	[ $rc = 2 ] || fail "metrics_listen \"$bad\": exit status $rc, expected 2"
	grep -q "metrics_listen: bad address \"$bad\"" "$LOGDIR/bad.out" ||
		fail "metrics_listen \"$bad\": no message naming the key and value"
done
nsx s ip link show lwtx >/dev/null 2>&1 && fail "a refused start left TUN lwtx"

say "a metrics port already taken: one line saying so, exit status 1, nothing left behind"
nsbg s nc -l 127.0.0.1 9586
holder=$BG_PID
wait_for 5 "port 9586 taken" nsx s sh -c "ss -ltnH | grep -q '127.0.0.1:9586 '"
start taken s -m server -l 10.99.0.1:9000 -t 10.0.0.1/24 -k "$KEY" -tun-name lwtx \
	-metrics-listen 127.0.0.1:9586
wait_for 10 "the daemon to give up" sh -c "! kill -0 $taken_PID" || fail "it runs on"
rc=0
wait "$taken_PID" || rc=$?
STOPPED[$taken_PID]=1	# reaped here; its exit is checked below
[ $rc = 1 ] || fail "with port 9586 taken: exit status $rc, expected 1"
grep -q 'metrics_listen: couldn.t listen on 127.0.0.1:9586: Address already in use' "$LOGDIR/taken.log" ||
	fail "no line naming the taken address"
nsx s ip link show lwtx >/dev/null 2>&1 && fail "TUN lwtx left behind"
assert_no_rule s
stop "$holder"

M=http://127.0.0.1:9586/metrics
scrape() { nsx s curl -sS --max-time 5 "$M" >"$LOGDIR/$1.prom"; }
# metric NAME{LABELS} FILE: its value; exactly one sample, or the test
# fails (said on stderr: this runs inside $(...)).
metric() {
	local v
	v=$(awk -v k="$1" '$1 == k { print $2 }' "$LOGDIR/$2.prom")
	if [ "$(printf '%s\n' "$v" | grep -c .)" != 1 ]; then
		say "FAIL: metric $1: not exactly one sample in $2.prom ('$v')" >&2
		exit 1
	fi
	echo "$v"
}

start_server -metrics-listen 127.0.0.1:9586
start_client
wait_for 10 "client session up" sessions_up c lwtc
wait_for 5 "server session up" sessions_up s lwts
wait_for 5 "metrics served" nsx s curl -sf --max-time 2 -o /dev/null "$M"
grep -q "metrics: serving http://127.0.0.1:9586/metrics" "$LOGDIR/server.log" ||
	fail "no log line saying where metrics are served"

say "listens on the configured address only"
nsx s ss -ltnH | tee "$LOGDIR/ss.txt"
grep -q '127.0.0.1:9586 ' "$LOGDIR/ss.txt" || fail "not listening on 127.0.0.1:9586"
[ "$(grep -c ':9586 ' "$LOGDIR/ss.txt")" = 1 ] || fail "listening on more than 127.0.0.1:9586"
nsx c curl -s --max-time 2 -o /dev/null http://10.99.0.1:9586/metrics &&
	fail "metrics reachable from the client's namespace"

say "format: promtool check metrics, headers"
scrape m1
head -n 20 "$LOGDIR/m1.prom"
# Its lint complaints (a counter without _total, a missing HELP) fail too.
echo "+ promtool check metrics" >&2
promtool check metrics <"$LOGDIR/m1.prom" >"$LOGDIR/promtool.txt" 2>&1 ||
	fail "promtool check metrics refused the text: $(head -5 "$LOGDIR/promtool.txt")"
[ -s "$LOGDIR/promtool.txt" ] && fail "promtool has complaints: $(head -5 "$LOGDIR/promtool.txt")"
ct=$(nsx s curl -sS -o /dev/null -w '%{content_type}' "$M")
[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "Content-Type '$ct'"
# Every family has HELP and TYPE; every counter ends in _total, no gauge does.
awk '/^# TYPE/ { t[$3] = $4 } /^# HELP/ { h[$3] = 1 }
     !/^#/ { n = $1; sub(/\{.*/, "", n); if (!(n in t) || !(n in h)) { print "no HELP/TYPE: " n; bad = 1 } }
     END { for (n in t) if ((t[n] == "counter") != (n ~ /_total$/)) { print "type/name: " n " " t[n]; bad = 1 }
           exit bad }' "$LOGDIR/m1.prom" || fail "families without HELP/TYPE, or misnamed"

say "values"
peer=$(jget s lwts '.peers[] | select(.state == "up") | "{peer=\"\(.tunnel_ip)\",endpoint=\"\(.endpoint)\"}"')
say "server's peer: $peer"
[ "$(metric lwt_sessions m1)" = 1 ] || fail "lwt_sessions is not 1"
[ "$(metric 'lwt_peers{state="up"}' m1)" = 1 ] || fail "lwt_peers{state=\"up\"} is not 1"
[ "$(metric 'lwt_handshakes_total{result="ok"}' m1)" = "$(jget s lwts .handshakes_ok)" ] ||
	fail "handshakes ok differs from lwt-ctl"
grep -q "^lwt_peer_info{peer=\"10.0.0.2\",endpoint=\"10.99.0.2:[0-9]*\",session_id=\"[0-9a-f]*\",path=\"$(jget s lwts .path)\"} 1$" \
	"$LOGDIR/m1.prom" || fail "no lwt_peer_info for 10.0.0.2 with the path"
rx1=$(metric "lwt_peer_rx_packets_total$peer" m1)
tx1=$(metric "lwt_peer_tx_packets_total$peer" m1)
rtt=$(metric "lwt_peer_rtt_seconds$peer" m1)
metric "lwt_peer_drops_total${peer%\}},reason=\"auth\"}" m1 >/dev/null
metric "lwt_peer_fec_parity_sent_total$peer" m1 >/dev/null
metric 'lwt_poller_rx_segments_total{poller="0"}' m1 >/dev/null
metric 'lwt_drops_total{reason="replay"}' m1 >/dev/null
if [ "$(jget s lwts .path)" = af-xdp ]; then
	x=$(metric lwt_xdp_redirected_total m1)
	[ "$x" -gt 0 ] || fail "lwt_xdp_redirected_total is $x on the AF_XDP path"
fi

say "a ping burst moves the peer's rx and tx packets"
nsx c ping -c 30 -i 0.02 -W 1 -q 10.0.0.1 | tee "$LOGDIR/ping.txt"
grep -q ' 0% packet loss' "$LOGDIR/ping.txt" || fail "ping lost packets"
moved() {
	scrape m2
	[ "$(metric "lwt_peer_rx_packets_total$peer" m2)" -ge $((rx1 + 30)) ] &&
		[ "$(metric "lwt_peer_tx_packets_total$peer" m2)" -ge $((tx1 + 30)) ]
}
wait_for 5 "rx and tx packets up by 30" moved || fail "counters did not move: rx $rx1 -> $(metric "lwt_peer_rx_packets_total$peer" m2)"
say "rx_packets $rx1 -> $(metric "lwt_peer_rx_packets_total$peer" m2), rtt ${rtt}s"
jq -e "$(metric "lwt_peer_rx_bytes_total$peer" m2) >= 30 * 84" >/dev/null <<<null || fail "rx bytes too few"

say "other paths and methods"
code=$(nsx s curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9586/)
[ "$code" = 404 ] || fail "GET / gave $code, expected 404"
code=$(nsx s curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9586/metricsx)
[ "$code" = 404 ] || fail "GET /metricsx gave $code, expected 404"
code=$(nsx s curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$M")
[ "$code" = 405 ] || fail "POST /metrics gave $code, expected 405"
scrape m3
[ "$(metric lwt_sessions m3)" = 1 ] || fail "no answer after the bad requests"

say "clean exit"
stop "$client_PID"
stop "$server_PID"
