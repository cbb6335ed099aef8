#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench: what enable_kernel_tune buys (ktune.h), tuning off
# (-kernel-tune=false) against on (the default), back to back in each round
# and in turns (off-on, then on-off: neither always runs second) so that a
# load which comes and goes hits both alike; medians over the rounds, and
# for drops how many runs had any and their sum (a queue overflows in the
# few runs where a poller starves, so the median of drops is mostly 0). Per path (raw sockets, AF_XDP) and state, the daemons are
# restarted and run:
#   udp up / down   iperf3 -u at LWT_KTUNE_UDP (300M), 1300-byte datagrams,
#                   a 4 MB socket buffer (-w): loss %, the packets the
#                   sending side's TUN queue dropped (its tx_dropped) --
#                   what txqueuelen is for -- and those the receiving
#                   iperf3's socket had no room for (UdpRcvbufErrors: the
#                   application's loss, not lwt's)
#   tcp up / down   iperf3 TCP, 1 stream: Mbit/s
#   rtt under load  ping client -> server (10 ms) during the tcp up run: a
#                   longer queue must not add delay to a TCP bulk flow
# A benchmark, not a test: it asserts nothing about speed. Writes
# build/bench/ktune.json and ktune.txt.
# Knobs: LWT_KTUNE_ROUNDS (5), LWT_KTUNE_PATHS ("lwt-raw lwt-xdp"),
# LWT_KTUNE_UDP (300M), LWT_BENCH_SECONDS (5).
. "$(dirname "$0")/lib.sh"
ROUNDS=${LWT_KTUNE_ROUNDS:-5}
UDP=${LWT_KTUNE_UDP:-300M}
read -r -a KPATHS <<<"${LWT_KTUNE_PATHS:-lwt-raw lwt-xdp}"
# A snapshot of the binaries: a rebuild during the run changes no daemon under test.
mkdir -p "$LOGDIR/bin"
cp "$LWT" "$CTL" "$LOGDIR/bin/"
LWT=$LOGDIR/bin/lightweight-tunnel CTL=$LOGDIR/bin/lwt-ctl
TRACE=$LOGDIR/trace.log
: >"$TRACE"
export LC_ALL=C
declare -A V	# V[path,state,metric] = space-separated values, one per round

add() { V[$1]="${V[$1]:-}${V[$1]:+ }$2"; }
# median of the numbers given ("-" if none)
median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# stat WHAT NUMBERS...: max, sum, or nonzero (how many are not 0)
stat() {
	local w=$1; shift
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | awk -v w="$w" '
		{ if ($1 > m) m = $1; s += $1; if ($1 != 0) nz++ }
		END { if (w == "max") print m + 0; else if (w == "sum") print s + 0; else print nz + 0 }'
}
tun_txdrop() { ip -n "$PFX-$1" -j -s link show "$2" | jq '.[0].stats64.tx.dropped'; }
rcvbuf_errs() { ip netns exec "$PFX-$1" nstat -az UdpRcvbufErrors | awk '$1 == "UdpRcvbufErrors" { print $2 }'; }

up() {
	start_server "$@" 2>>"$TRACE"
	start_client "$@" 2>>"$TRACE"
	wait_for 20 "tunnel up" sessions_up c lwtc && wait_for 5 "server session" sessions_up s lwts
}
down() { stop "$server_PID"; stop "$client_PID"; }

# udp NAME DIR: one iperf3 -u run; appends loss and TUN drops.
udp() {
	local key=$1 dir=$2 rev= tn=c tun=lwtc rn=s d0 d1 e0 e1 out=$LOGDIR/iperf-udp.json
	[ "$dir" = down ] && rev=-R tn=s tun=lwts rn=c
	d0=$(tun_txdrop $tn $tun)
	e0=$(rcvbuf_errs $rn)
	iperf_run s 10.0.0.1 c "$out" -t "$SECS" -u -b "$UDP" -l 1300 -w 4M $rev >/dev/null 2>>"$TRACE"
	d1=$(tun_txdrop $tn $tun)
	e1=$(rcvbuf_errs $rn)
	add "$key,udp_${dir}_rcvbuf" "$((e1 - e0))"
	add "$key,udp_${dir}_loss" "$(jq -r '.end.sum.lost_percent // "-" | if type == "number" then . * 100 | round / 100 else . end' "$out" 2>/dev/null || echo -)"
	add "$key,udp_${dir}_tundrop" "$((d1 - d0))"
}

two_hosts 2>>"$TRACE"
say "$(uname -r), $(nproc) CPUs, $ROUNDS rounds, ${SECS}s a run, UDP at $UDP; commands in $TRACE"
for path in "${KPATHS[@]}"; do
	pf=
	[ "$path" = lwt-raw ] && pf=-xdp=false
	for r in $(seq "$ROUNDS"); do
		order="off on"
		[ $((r % 2)) = 0 ] && order="on off"
		for state in $order; do
			key=$path,$state
			tf=
			[ $state = off ] && tf=-kernel-tune=false
			# shellcheck disable=SC2086
			if ! up $pf $tf; then
				say "WARNING: $path/$state round $r: the tunnel did not come up"
				down
				continue
			fi
			add "$key,txqlen" "$(ip -n "$PFX-s" -j link show lwts | jq '.[0].txqlen')"
			say "$path round $r, tuning $state: udp, tcp, rtt"
			udp "$key" up
			udp "$key" down
			nsbg c ping -n -q -i 0.01 -w $((SECS + 1)) 10.0.0.1 >"$LOGDIR/ping.txt" 2>&1
			pp=$BG_PID
			b=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-tcp.json" -t "$SECS" 2>>"$TRACE")
			wait "$pp" 2>/dev/null || true
			add "$key,tcp_up" "$(awk -v b="$b" 'BEGIN { printf "%.0f", b / 1e6 }')"
			add "$key,rtt_load_ms" "$(awk -F/ '/^rtt/ { print $5 }' "$LOGDIR/ping.txt")"
			b=$(iperf_run s 10.0.0.1 c "$LOGDIR/iperf-tcp.json" -t "$SECS" -R 2>>"$TRACE")
			add "$key,tcp_down" "$(awk -v b="$b" 'BEGIN { printf "%.0f", b / 1e6 }')"
			down
		done
	done
done

METRICS="txqlen udp_up_loss udp_up_tundrop udp_up_rcvbuf udp_down_loss udp_down_tundrop udp_down_rcvbuf tcp_up tcp_down rtt_load_ms"
{
	printf '{"kernel": "%s", "cpus": %s, "rounds": %s, "seconds": %s, "udp_rate": "%s", "paths": {' \
		"$(uname -r)" "$(nproc)" "$ROUNDS" "$SECS" "$UDP"
	ps=
	for path in "${KPATHS[@]}"; do
		printf '%s"%s": {' "$ps" "$path"
		ss=
		order="off on"
		[ $((r % 2)) = 0 ] && order="on off"
		for state in $order; do
			printf '%s"%s": {' "$ss" "$state"
			ms=
			for m in $METRICS; do
				# shellcheck disable=SC2086
				printf '%s"%s": {"median": %s, "max": %s, "sum": %s, "nonzero": %s, "runs": [%s]}' "$ms" "$m" \
					"$(median ${V[$path,$state,$m]:-} | sed 's/^-$/null/')" \
					"$(stat max ${V[$path,$state,$m]:-})" "$(stat sum ${V[$path,$state,$m]:-})" \
					"$(stat nonzero ${V[$path,$state,$m]:-})" \
					"$(printf '%s\n' ${V[$path,$state,$m]:-} | grep -E '^[0-9.]+$' | paste -sd, -)"
				ms=", "
			done
			printf '}'
			ss=", "
		done
		printf '}'
		ps=", "
	done
	printf '}}\n'
} | jq . >"$OUT/ktune.json"

{
	printf '\nenable_kernel_tune off (-kernel-tune=false) / on (default): %s rounds, %ss runs, UDP at %s\n' \
		"$ROUNDS" "$SECS" "$UDP"
	printf '%-4s %-4s %6s %13s %13s %15s %15s %8s %8s %7s\n' path tune txqlen "udp up loss%" "udp dn loss%" "TUN drops up" "TUN drops dn" \
		"tcp up" "tcp dn" "rtt ms"
	printf '%-4s %-4s %6s %13s %13s %15s %15s %8s %8s %7s\n' "" "" "" "median/max" "median/max" "runs: sum" "runs: sum" \
		median median median
	for path in "${KPATHS[@]}"; do
		for state in off on; do
			v() { echo "${V[$path,$state,$1]:-}"; }
			# shellcheck disable=SC2046
			printf '%-4s %-4s %6s %13s %13s %15s %15s %8s %8s %7s\n' "${path#lwt-}" $state "$(median $(v txqlen))" \
				"$(median $(v udp_up_loss))/$(stat max $(v udp_up_loss))" \
				"$(median $(v udp_down_loss))/$(stat max $(v udp_down_loss))" \
				"$(stat nonzero $(v udp_up_tundrop))/$ROUNDS: $(stat sum $(v udp_up_tundrop))" \
				"$(stat nonzero $(v udp_down_tundrop))/$ROUNDS: $(stat sum $(v udp_down_tundrop))" \
				"$(median $(v tcp_up))" "$(median $(v tcp_down))" "$(median $(v rtt_load_ms))"
		done
	done
	printf '(TUN drops: runs that had any / rounds, and their sum, of the sending side'"'"'s TUN queue;\n'
	printf ' tcp Mbit/s; rtt: ping during tcp up; the receiving iperf3'"'"'s own socket drops: ktune.json)\n'
} | tee "$OUT/ktune.txt"
say "wrote $OUT/ktune.json and $OUT/ktune.txt"
