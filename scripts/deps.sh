#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages lwt needs to build, test, demo and bench.
set -e
PKGS="build-essential clang llvm pkg-config libbpf-dev libxdp-dev libelf-dev zlib1g-dev
libssl-dev libgcrypt20-dev libcjson-dev libisal-dev libcap-ng-dev libsystemd-dev libmicrohttpd-dev libcmocka-dev libclang-rt-14-dev bpftool xdp-tools
nftables iptables conntrack iproute2 iperf3 gnuplot-nox tcpdump procps psmisc netcat-openbsd jq iputils-ping ethtool strace python3
curl man-db groff-base"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# promtool checks the /metrics output (tests/netns/17_metrics.sh). Debian
# ships it only inside the prometheus package, whose install would also
# enable a Prometheus server on :9090: take the one binary out of the .deb.
need_promtool=
command -v promtool >/dev/null 2>&1 || need_promtool=yes
[ -z "$missing" ] && [ -z "$need_promtool" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install:$missing${need_promtool:+ promtool}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
if [ -n "$missing" ]; then
	echo "deps: installing$missing" >&2
	apt-get install -y -qq --no-install-recommends $missing >&2
fi
if [ -n "$need_promtool" ]; then
	echo "deps: installing promtool (from the prometheus package, without its service)" >&2
	tmp=$(mktemp -d)
	chmod 755 "$tmp"	# apt-get download fetches as user _apt
	(cd "$tmp" && apt-get download prometheus >&2 &&
		dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool) &&
		install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
	rm -rf "$tmp"
fi
