# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # (the variables set are the interface)
# NAT lab for netns tests: source after lib.sh. A "wan" (a bridge in
# namespace "wan") joins a hub and other public hosts; each site is a router
# namespace running one kind of NAT (an nftables ruleset) with a client
# namespace behind it on a private LAN. Every namespace is made with lib.sh's
# add_ns, so the cleanup trap removes the lot on every exit path.
#
# Addresses (documentation and shared ranges only):
#   wan hosts         198.51.100.0/24   hub 198.51.100.1 and .2
#   site routers      203.0.113.N       (N = 1, 2, ... in order of creation)
#   kind none client  203.0.113.(100+N) (routed through its router, proxy ARP)
#   site LAN          192.168.N.0/24    router .1, client .2, 2nd client .3
#   carrier NAT       100.64.N.0/24     CGN .1, site router .2 (kind double)
# Every wan host reaches both public /24s on-link; nothing has a default
# route to anywhere else.
#
# Interface:
#   natlab_hub
#       the wan and the hub: namespace "hub" (eth0 198.51.100.1/24 and
#       198.51.100.2). Sets HUB_NS=hub HUB_ADDR HUB_ADDR2.
#   natlab_wanhost NAME ADDR [ADDR...]
#       another public host on the wan (e.g. a third party sending
#       unsolicited packets): namespace NAME, eth0 with ADDR(s)/24.
#   natlab_site NAME KIND [DELAY_MS]
#       router namespace "rNAME" with NAT KIND, client namespace "cNAME"
#       behind it (eth0, default route via the router). With DELAY_MS, an
#       lwt-impair bridge in namespace "dNAME" between the site's outer
#       router and the wan delays each direction by DELAY_MS (offloads off on
#       the path). NAME: a few lower-case letters/digits. Sets, for NAME:
#         NATLAB_CLIENT[NAME]  client namespace (short name, for nsx/start)
#         NATLAB_LAN[NAME]     client's own address
#         NATLAB_PUB[NAME]     the address the wan sees it from
#         NATLAB_ROUTER[NAME]  router namespace; NATLAB_CGN[NAME] (double)
#         NATLAB_CLIENT2[NAME] NATLAB_LAN2[NAME] (lan: the second client)
#         NATLAB_KIND[NAME]
#       and for the last site: SITE_NS SITE_ADDR SITE_PUB.
#     KIND:
#       none        no NAT: the client has a public address, plain routing
#       full        full cone: snat to the router's address (port kept) and
#                   everything arriving at that address dnat'ed back to the
#                   client: endpoint-independent mapping and filtering
#       restricted  address-restricted cone: the same mapping; inbound to
#                   a mapped port only from addresses the client has sent
#                   to from that port (a dynamic set of remote address .
#                   port, filled from outbound packets, 5 min each; keyed
#                   by the inside port, the public one as ports are kept)
#       port        port-restricted cone: plain masquerade (port kept where
#                   free), inbound only on a conntrack entry
#       symmetric   masquerade fully-random: a new port per destination
#       tcp-symmetric  UDP as port, TCP as symmetric (a NAT whose TCP and
#                   UDP behave differently)
#       port-rst    as port, and an unsolicited inbound TCP packet is
#                   answered with a RST instead of dropped
#       lan         as port, with two clients (cNAME and cNAME2) on the LAN
#       double      the client behind two masquerades: site router rNAME
#                   (wan side 100.64.N.2) behind carrier NAT gNAME
#   natlab_block NAME / natlab_unblock NAME
#       drop / again pass all traffic of the site's client(s) to and from
#       anything but the hub's addresses (other sites, other wan hosts, and
#       the other client on a lan site's LAN). Established flows too.
#   natlab_flush NAME
#       forget the site's NAT mappings (conntrack -F in its routers).
#   natlab_py NS ARGS...
#       run tests/netns/natlab.py (UDP/TCP echo, probes; see its header) in NS.

NATLAB_PY=$ROOT/tests/netns/natlab.py
NATLAB_SITES=0
NATLAB_HUBS="198.51.100.1, 198.51.100.2"
declare -A NATLAB_CLIENT=() NATLAB_LAN=() NATLAB_PUB=() NATLAB_ROUTER=() NATLAB_CGN=()
declare -A NATLAB_CLIENT2=() NATLAB_LAN2=() NATLAB_KIND=()

natlab_py() { local n=$1; shift; nsx "$n" /usr/bin/python3 "$NATLAB_PY" "$@"; }

natlab_offloads_off() {
	ip netns exec "$PFX-$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
}

natlab_wan() {
	[ -n "${NATLAB_WAN_UP:-}" ] && return 0
	command -v nft >/dev/null || skip "nft not installed"
	add_ns wan
	ip -n "$PFX-wan" link add br0 type bridge
	ip -n "$PFX-wan" link set br0 up
	# Bridged frames must not meet the ip hooks (br_netfilter).
	ip netns exec "$PFX-wan" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
	NATLAB_WAN_UP=1
}

# natlab_wanport NS IF PORTNAME: IF in NS becomes a port of the wan bridge.
natlab_wanport() {
	ip link add "$2" netns "$PFX-$1" type veth peer "$3" netns "$PFX-wan"
	ip -n "$PFX-wan" link set "$3" master br0 up
	ip -n "$PFX-$1" link set "$2" up
}

# natlab_onlink NS IF: both public /24s reachable on-link from IF.
natlab_onlink() {
	local net
	for net in 198.51.100.0/24 203.0.113.0/24; do
		ip -n "$PFX-$1" route show "$net" | grep -q . ||
			ip -n "$PFX-$1" route add "$net" dev "$2"
	done
}

natlab_wanhost() {
	local n=$1 a; shift
	natlab_wan
	add_ns "$n"
	natlab_wanport "$n" eth0 "p-$n"
	for a in "$@"; do ip -n "$PFX-$n" addr add "$a/24" dev eth0; done
	natlab_onlink "$n" eth0
	natlab_offloads_off "$n" eth0
}

natlab_hub() {
	natlab_wanhost hub 198.51.100.1 198.51.100.2
	HUB_NS=hub HUB_ADDR=198.51.100.1 HUB_ADDR2=198.51.100.2
	say "natlab: hub $HUB_NS at $HUB_ADDR and $HUB_ADDR2"
}

# natlab_client NS ROUTER_NS PORT ADDR GW: a client namespace on the
# router's LAN bridge.
natlab_client() {
	local n=$1 r=$2 port=$3 a=$4 gw=$5
	add_ns "$n"
	ip link add eth0 netns "$PFX-$n" type veth peer "$port" netns "$PFX-$r"
	ip -n "$PFX-$r" link set "$port" master lan up
	ip -n "$PFX-$n" link set eth0 up
	if [ "${a#192.168.}" != "$a" ]; then
		ip -n "$PFX-$n" addr add "$a/24" dev eth0
	else
		ip -n "$PFX-$n" addr add "$a/32" dev eth0
		ip -n "$PFX-$n" route add "$gw" dev eth0
		ip -n "$PFX-$r" route add "$a/32" dev lan
	fi
	ip -n "$PFX-$n" route add default via "$gw" dev eth0
}

# natlab_router NS: forwarding on, a LAN bridge "lan" (br_netfilter off).
natlab_router() {
	add_ns "$1"
	ip netns exec "$PFX-$1" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$PFX-$1" link add lan type bridge
	ip -n "$PFX-$1" link set lan up
	ip netns exec "$PFX-$1" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
}

# natlab_uplink SITE NS DELAY: NS's "wan" interface joins the wan bridge,
# directly or through an lwt-impair bridge in namespace dSITE.
natlab_uplink() {
	local s=$1 n=$2 d=$3
	if [ -z "$d" ] || [ "$d" = 0 ]; then
		natlab_wanport "$n" wan "p-$s"
		return 0
	fi
	[ -x "$TOOLS/lwt-impair" ] || fail "natlab: $TOOLS/lwt-impair not built (make tools)"
	add_ns "d$s"
	ip link add wan netns "$PFX-$n" type veth peer i-a netns "$PFX-d$s"
	ip link add i-b netns "$PFX-d$s" type veth peer "p-$s" netns "$PFX-wan"
	ip -n "$PFX-wan" link set "p-$s" master br0 up
	ip -n "$PFX-$n" link set wan up
	ip -n "$PFX-d$s" link set i-a up
	ip -n "$PFX-d$s" link set i-b up
	natlab_offloads_off "$n" wan
	natlab_offloads_off "d$s" i-a
	natlab_offloads_off "d$s" i-b
	natlab_offloads_off wan "p-$s"
	rm -f "$LOGDIR/impair-$s.ready"
	nsbg "d$s" "$TOOLS/lwt-impair" i-a i-b --delay-ms "$d" \
		--ready-file "$LOGDIR/impair-$s.ready" 2>"$LOGDIR/impair-$s.log"
	wait_for 5 "natlab: delay bridge of site $s" test -f "$LOGDIR/impair-$s.ready" ||
		fail "natlab: lwt-impair for site $s did not start"
}

# The rulesets. $1 LAN (CIDR), $2 public address, $3 client address.
natlab_rules_input() {
	local rst=$1
	cat <<EOF
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "wan" ct state established,related accept
		${rst:+iifname "wan" meta l4proto tcp reject with tcp reset}
		iifname "wan" drop
	}
EOF
}

natlab_rules() {
	local kind=$1 lan=$2 pub=$3 cli=$4
	echo "table ip natlab {"
	case "$kind" in
	none) ;;
	full)
		cat <<EOF
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan" ip daddr $pub dnat to $cli
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr $lan snat to $pub
	}
EOF
		natlab_rules_input "" ;;
	restricted)
		cat <<EOF
	set peers {
		type ipv4_addr . inet_service; flags dynamic,timeout; timeout 5m;
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		oifname "wan" ip saddr $lan meta l4proto { tcp, udp } update @peers { ip daddr . th sport }
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan" ip daddr $pub meta l4proto { tcp, udp } ip saddr . th dport @peers dnat to $cli
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr $lan snat to $pub
	}
EOF
		natlab_rules_input "" ;;
	port | lan | port-rst | symmetric | cgn | tcp-symmetric)
		local fr="" rst="" tcp=""
		[ "$kind" = symmetric ] && fr=" fully-random"
		[ "$kind" = port-rst ] && rst=1
		[ "$kind" = tcp-symmetric ] &&
			tcp="oifname \"wan\" ip saddr $lan meta l4proto tcp masquerade fully-random"
		cat <<EOF
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		$tcp
		oifname "wan" ip saddr $lan masquerade$fr
	}
EOF
		natlab_rules_input "$rst" ;;
	*) fail "natlab: unknown NAT kind '$kind'" ;;
	esac
	echo "}"
}

natlab_site() {
	local s=$1 kind=$2 delay=${3:-} n r c outer pub lan cli
	natlab_wan
	case "$kind" in none | full | restricted | port | symmetric | port-rst | lan | double | tcp-symmetric) ;;
	*) fail "natlab: unknown NAT kind '$kind'" ;; esac
	n=$((++NATLAB_SITES))
	r=r$s c=c$s outer=r$s
	lan=192.168.$n.0/24 pub=203.0.113.$n cli=192.168.$n.2
	[ "$kind" = none ] && cli=203.0.113.$((100 + n))
	natlab_router "$r"
	ip -n "$PFX-$r" addr add "192.168.$n.1/24" dev lan
	if [ "$kind" = double ]; then
		outer=g$s
		add_ns "$outer"
		ip netns exec "$PFX-$outer" sysctl -qw net.ipv4.ip_forward=1
		ip link add cgn netns "$PFX-$outer" type veth peer wan netns "$PFX-$r"
		ip -n "$PFX-$outer" addr add "100.64.$n.1/24" dev cgn
		ip -n "$PFX-$r" addr add "100.64.$n.2/24" dev wan
		ip -n "$PFX-$outer" link set cgn up
		ip -n "$PFX-$r" link set wan up
		ip -n "$PFX-$r" route add default via "100.64.$n.1"
		natlab_rules port "$lan" "100.64.$n.2" "$cli" | ip netns exec "$PFX-$r" nft -f - ||
			fail "natlab: ruleset of $r"
		# The CGN's inside interface is its "lan" for the rules.
		natlab_rules cgn 100.64.0.0/10 "$pub" "" |
			ip netns exec "$PFX-$outer" nft -f - || fail "natlab: ruleset of $outer"
		NATLAB_CGN[$s]=$outer
	fi
	natlab_uplink "$s" "$outer" "$delay"
	ip -n "$PFX-$outer" addr add "$pub/24" dev wan
	natlab_onlink "$outer" wan
	if [ "$kind" = none ]; then
		# Answered at once: the default proxy_delay holds the first ARP
		# request up to 0.8 s.
		ip netns exec "$PFX-$r" sysctl -qw net.ipv4.conf.wan.proxy_arp=1 net.ipv4.neigh.wan.proxy_delay=0
	fi
	natlab_client "$c" "$r" p1 "$cli" "192.168.$n.1"
	[ -n "$delay" ] && [ "$delay" != 0 ] && natlab_offloads_off "$c" eth0
	if [ "$kind" = lan ]; then
		natlab_client "${c}2" "$r" p2 "192.168.$n.3" "192.168.$n.1"
		NATLAB_CLIENT2[$s]=${c}2 NATLAB_LAN2[$s]=192.168.$n.3
	fi
	if [ "$kind" != double ]; then
		natlab_rules "$kind" "$lan" "$pub" "$cli" | ip netns exec "$PFX-$r" nft -f - ||
			fail "natlab: ruleset of $r"
	fi
	[ "$kind" = none ] && pub=$cli
	NATLAB_CLIENT[$s]=$c NATLAB_LAN[$s]=$cli NATLAB_PUB[$s]=$pub
	NATLAB_ROUTER[$s]=$r NATLAB_KIND[$s]=$kind
	SITE_NS=$c SITE_ADDR=$cli SITE_PUB=$pub
	say "natlab: site $s ($kind${delay:+, ${delay} ms each way}): client $c at $cli, public $pub"
}

natlab_block() {
	local r=${NATLAB_ROUTER[$1]:?natlab: no site $1}
	ip netns exec "$PFX-$r" nft -f - <<EOF || fail "natlab: block $1"
table ip natlab_block {
	chain forward {
		type filter hook forward priority -10; policy accept;
		iifname "wan" ip saddr != { $NATLAB_HUBS } drop
		oifname "wan" ip daddr != { $NATLAB_HUBS } drop
	}
	chain input {
		type filter hook input priority -10; policy accept;
		iifname "wan" ip saddr != { $NATLAB_HUBS } drop
	}
}
table bridge natlab_block {
	chain forward {
		type filter hook forward priority -10; policy drop;
	}
}
EOF
	say "natlab: site $1 blocked (hub only)"
}

natlab_unblock() {
	local r=${NATLAB_ROUTER[$1]:?natlab: no site $1}
	ip netns exec "$PFX-$r" nft delete table ip natlab_block
	ip netns exec "$PFX-$r" nft delete table bridge natlab_block
	say "natlab: site $1 unblocked"
}

natlab_flush() {
	local r=${NATLAB_ROUTER[$1]:?natlab: no site $1}
	command -v conntrack >/dev/null || fail "natlab: conntrack not installed (scripts/deps.sh)"
	ip netns exec "$PFX-$r" conntrack -F 2>/dev/null || true
	[ -n "${NATLAB_CGN[$1]:-}" ] && { ip netns exec "$PFX-${NATLAB_CGN[$1]}" conntrack -F 2>/dev/null || true; }
	return 0
}
