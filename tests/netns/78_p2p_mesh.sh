#!/bin/bash
# SPDX-License-Identifier: MIT
# Mesh relay through the NAT lab (natlab.sh): clients a and b each behind
# their own symmetric NAT cannot go direct to each other over fake TCP; c
# has no NAT and holds direct paths to both. The hub names c as the pair's
# relay: a <-> b goes a -> c -> b (ping, then 4 MB with matching sha256)
# while c's relayed counter (status and /metrics) moves and the hub's
# forwarded counter stays flat, with one switch to the relay and none back;
# `lwt-ctl peers` on a shows relay-peer via c. Clients d (max_hops 1)
# and e (enable_mesh_routing off), symmetric too and direct to c, stay
# relayed through the hub to b. When c's direct path to b dies (b's site
# blocked but for the hub), a falls back to the hub and traffic continues.
# Scored on RTT: f and g (symmetric) whose only common direct peer is h,
# 40 ms away each way, are told "via h" by the hub but stay on the hub,
# which is far nearer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"

natlab_hub
declare -A TIP=([a]=10.0.0.11 [b]=10.0.0.12 [c]=10.0.0.13 [d]=10.0.0.14 [e]=10.0.0.15
	[f]=10.0.0.16 [g]=10.0.0.17 [h]=10.0.0.18)
natlab_site a symmetric
natlab_site b symmetric
natlab_site c none
natlab_site d symmetric
natlab_site e symmetric
natlab_site f symmetric
natlab_site g symmetric
natlab_site h none 40
start server hub -m server -l "$HUB_ADDR:9000" -t 10.0.0.1/24 -k "$KEY" -tun-name lwts
cli() { start "c$1" "${NATLAB_CLIENT[$1]}" -m client -r "$HUB_ADDR:9000" -t "${TIP[$1]}/24" -k "$KEY" -tun-name lwtc "${@:2}"; }
cli a
cli b
cli c -metrics-listen 127.0.0.1:9586
cli d -max-hops 1
cli e -mesh-routing=false
cli f
cli g
cli h
for s in a b c d e f g h; do wait_for 10 "client $s up" sessions_up "${NATLAB_CLIENT[$s]}" lwtc; done
for s in a b c d e f g h; do
	wait_for 10 "client $s knows its peers" sh -c \
		"[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[$s]} $CTL -i lwtc status --json | jq .known_peers)\" = 7 ]"
done

# path A B: A's path to B (direct-tcp, relay-peer, relay-hub; none: no entry).
path() { jget "${NATLAB_CLIENT[$1]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[$2]}\") | .path][0] // \"none\""; }
is_path() { [ "$(path "$1" "$2")" = "$3" ]; }
# in_use A B: A sends to B through a relay (its mesh route to B is in use).
in_use() { jget "${NATLAB_CLIENT[$1]}" lwtc "[.mesh.routes[] | select(.peer == \"${TIP[$2]}\" and .in_use) | .via][0] // \"none\""; }
fwd() { jget hub lwts .totals.forwarded; }
relayed() { jget "${NATLAB_CLIENT[c]}" lwtc .mesh.relayed; }

say "direct paths to c (and from f and g to h)"
for s in a:c b:c d:c e:c f:h g:h; do
	nsx "${NATLAB_CLIENT[${s%:*}]}" ping -c 2 -i 0.2 -W 2 -q "${TIP[${s#*:}]}" >&2 || fail "$s"
done
for s in a:c b:c d:c e:c f:h g:h; do
	wait_for 10 "${s%:*}'s path to ${s#*:} is direct" is_path "${s%:*}" "${s#*:}" direct-tcp ||
		fail "${s%:*} -> ${s#*:} is $(path "${s%:*}" "${s#*:}"): $(ctl "${NATLAB_CLIENT[${s%:*}]}" lwtc stats --json | jq -c .p2p)"
done

say "a <-> b: no direct path; the hub names c"
nsx "${NATLAB_CLIENT[a]}" ping -c 2 -i 0.2 -W 2 -q "${TIP[b]}" >&2 || fail "a -> b"
wait_for 10 "a's path to b is relay-peer" is_path a b relay-peer ||
	fail "a -> b is $(path a b): mesh $(ctl "${NATLAB_CLIENT[a]}" lwtc stats --json | jq -c .mesh), hub $(ctl hub lwts stats --json | jq -c .mesh)"
[ "$(jget "${NATLAB_CLIENT[a]}" lwtc "[.p2p.paths[] | select(.tunnel_ip == \"${TIP[b]}\") | .via][0]")" = "${TIP[c]}" ] ||
	fail "a's relay to b is not c: $(ctl "${NATLAB_CLIENT[a]}" lwtc stats --json | jq -c .p2p.paths)"
wait_for 5 "b sends to a through c" sh -c "[ \"\$(ip netns exec $PFX-${NATLAB_CLIENT[b]} $CTL -i lwtc stats --json | jq -r '[.mesh.routes[] | select(.peer == \"${TIP[a]}\" and .in_use) | .via][0] // \"none\"')\" = ${TIP[c]} ]" ||
	fail "b's route to a: $(ctl "${NATLAB_CLIENT[b]}" lwtc stats --json | jq -c .mesh)"
peers=$(ctl "${NATLAB_CLIENT[a]}" lwtc peers)
printf '%s\n' "$peers" >&2
grep -Eq "^${TIP[b]//./\\.} +relay-peer +via ${TIP[c]//./\\.} " <<<"$peers" || fail "lwt-ctl peers on a shows no relay-peer via c for b"

f0=$(fwd)
r0=$(relayed)
nsx "${NATLAB_CLIENT[a]}" ping -c 5 -i 0.1 -W 2 -q "${TIP[b]}" >&2 || fail "a -> b through c"
xfer_sha256 "${NATLAB_CLIENT[b]}" "${TIP[b]}" "${NATLAB_CLIENT[a]}" 4
f1=$(fwd)
r1=$(relayed)
say "c relayed $((r1 - r0)) packets, the hub forwarded $((f1 - f0))"
[ $((r1 - r0)) -ge 2000 ] || fail "c relayed only $((r1 - r0)) packets of a <-> b"
[ $((f1 - f0)) -le 5 ] || fail "the hub forwarded $((f1 - f0)) packets of a relayed transfer"
is_path a b relay-peer || fail "a's path to b is $(path a b) after the transfer"
# Scored on each path's minimum RTT: the transfer's own queue does not
# make a flap to the hub and back.
[ "$(jget "${NATLAB_CLIENT[a]}" lwtc .mesh.switches)" = 1 ] ||
	fail "a switched between relay and hub $(jget "${NATLAB_CLIENT[a]}" lwtc .mesh.switches) times"
[ "$(jget "${NATLAB_CLIENT[b]}" lwtc .mesh.relayed_in)" -gt 1000 ] || fail "b counted no packets arriving through c"
nsx "${NATLAB_CLIENT[c]}" curl -sf http://127.0.0.1:9586/metrics >"$LOGDIR/c.prom" || fail "c's /metrics"
m=$(sed -n 's/^lwt_mesh_relayed_packets_total \([0-9]*\)$/\1/p' "$LOGDIR/c.prom")
[ "${m:-0}" -ge "$r1" ] || fail "c's lwt_mesh_relayed_packets_total is '${m}', status said $r1"

# enabled_mesh off, max_hops 1: never an end (nor a relay) of a relayed path.
for s in d e; do
	say "$s ($([ $s = d ] && echo "max_hops 1" || echo "mesh off")) <-> b: through the hub"
	nsx "${NATLAB_CLIENT[$s]}" ping -c 2 -i 0.2 -W 2 -q "${TIP[b]}" >&2 || fail "$s -> b"
	# The hub has the pair (the P2P_REQ) and every report by now.
	wait_for 10 "the hub notes $s <-> b" sh -c "ip netns exec $PFX-hub $CTL -i lwts stats --json | jq -en 'input | [.mesh.hub.pairs[] | select(.a + .b == \"${TIP[b]}${TIP[$s]}\")] | length == 1'" ||
		fail "the hub has no pair for $s <-> b: $(ctl hub lwts stats --json | jq -c .mesh)"
	f0=$(fwd)
	nsx "${NATLAB_CLIENT[$s]}" ping -c 5 -i 0.1 -W 2 -q "${TIP[b]}" >&2 || fail "$s -> b"
	f1=$(fwd)
	is_path "$s" b relay-hub || fail "$s -> b is $(path "$s" b): $(ctl "${NATLAB_CLIENT[$s]}" lwtc stats --json | jq -c .mesh)"
	[ "$(in_use "$s" b)" = none ] || fail "$s uses a relay to b"
	[ $((f1 - f0)) -ge 10 ] || fail "$s -> b: the hub forwarded only $((f1 - f0)) packets"
	[ "$(jget hub lwts "[.mesh.hub.pairs[] | select(.a + .b == \"${TIP[b]}${TIP[$s]}\") | .relay][0]")" = "" ] ||
		fail "the hub named a relay for $s <-> b: $(ctl hub lwts stats --json | jq -c .mesh)"
done

say "f <-> g: told via h (80 ms away), but the hub is nearer"
nsx "${NATLAB_CLIENT[f]}" ping -c 2 -i 0.2 -W 2 -q "${TIP[g]}" >&2 || fail "f -> g"
f_via_h() { [ "$(jget "${NATLAB_CLIENT[f]}" lwtc "[.mesh.routes[] | select(.peer == \"${TIP[g]}\") | .via][0] // \"none\"")" = "${TIP[h]}" ]; }
wait_for 10 "the hub tells f: g via h" f_via_h ||
	fail "f has no route to g via h: $(ctl "${NATLAB_CLIENT[f]}" lwtc stats --json | jq -c .mesh)"
f0=$(fwd)
nsx "${NATLAB_CLIENT[f]}" ping -c 5 -i 0.1 -W 2 -q "${TIP[g]}" >&2 || fail "f -> g"
f1=$(fwd)
say "f: $(ctl "${NATLAB_CLIENT[f]}" lwtc stats --json | jq -c '.mesh.routes[0]')"
is_path f g relay-hub || fail "f -> g is $(path f g): $(ctl "${NATLAB_CLIENT[f]}" lwtc stats --json | jq -c .mesh)"
[ "$(in_use f g)" = none ] || fail "f sends to g through h, 80 ms away"
[ $((f1 - f0)) -ge 10 ] || fail "f -> g: the hub forwarded only $((f1 - f0)) packets"

say "c's direct path to b dies: a falls back to the hub"
nsbg "${NATLAB_CLIENT[a]}" ping -q -i 0.05 -w 8 "${TIP[b]}"
ppid=$BG_PID
t0=$(date +%s%N)
natlab_block b
wait_for 5 "a's path to b is relay-hub" is_path a b relay-hub ||
	fail "a -> b is $(path a b) after c lost b: c $(ctl "${NATLAB_CLIENT[c]}" lwtc stats --json | jq -c .p2p.paths)"
say "a back on the hub $((($(date +%s%N) - t0) / 1000000)) ms after b's site was blocked"
f0=$(fwd)
nsx "${NATLAB_CLIENT[a]}" ping -c 5 -i 0.1 -W 2 -q "${TIP[b]}" >&2 || fail "a -> b after the fallback"
f1=$(fwd)
[ $((f1 - f0)) -ge 10 ] || fail "a -> b after the fallback: the hub forwarded only $((f1 - f0))"
xfer_sha256 "${NATLAB_CLIENT[b]}" "${TIP[b]}" "${NATLAB_CLIENT[a]}" 1
wait "$ppid" || true
say "ok"
