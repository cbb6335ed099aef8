#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages lwt needs to build, test, demo and bench.
set -e
PKGS="build-essential clang llvm pkg-config libbpf-dev libxdp-dev libelf-dev zlib1g-dev
libssl-dev libcjson-dev libisal-dev libcap-ng-dev libsystemd-dev libcmocka-dev libclang-rt-14-dev bpftool xdp-tools
nftables iptables iproute2 iperf3 gnuplot-nox tcpdump procps psmisc netcat-openbsd jq iputils-ping ethtool strace python3
man-db groff-base"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends $missing >&2
