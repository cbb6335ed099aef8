#!/bin/sh
# SPDX-License-Identifier: MIT
# Install a systemd unit for lightweight-tunnel: a dedicated user, only
# CAP_NET_ADMIN, CAP_NET_RAW (and CAP_BPF, CAP_PERFMON, CAP_IPC_LOCK for the XDP path), PrivateTmp,
# ProtectHome, restart on failure, start at boot. Config in
# /etc/lightweight-tunnel/config.json (mode 0600, owned by the service user).
set -e
PREFIX=${1:-/usr/local}
id lwt >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin lwt
install -d -m 0750 -o lwt -g lwt /etc/lightweight-tunnel
cat >/etc/systemd/system/lightweight-tunnel.service <<UNIT
[Unit]
Description=lightweight-tunnel (lwt) fake-TCP tunnel
After=network-online.target
Wants=network-online.target

[Service]
User=lwt
Group=lwt
# The AF_XDP path pins its maps under /sys/fs/bpf/lwt/<tun>: a directory the
# service user owns, made as root ("+") before the start.
ExecStartPre=+/bin/sh -c 'mkdir -p /sys/fs/bpf/lwt && chown lwt:lwt /sys/fs/bpf/lwt'
ExecStart=$PREFIX/bin/lightweight-tunnel -c /etc/lightweight-tunnel/config.json
# TUN, raw sockets, nftables (NET_ADMIN, NET_RAW); XDP programs and AF_XDP
# sockets (BPF with NET_ADMIN; PERFMON where the verifier asks for it,
# IPC_LOCK for the UMEM over RLIMIT_MEMLOCK). Nothing else.
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_IPC_LOCK
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_IPC_LOCK
NoNewPrivileges=yes
PrivateTmp=yes
ProtectHome=yes
ProtectSystem=strict
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload 2>/dev/null || true
echo "installed lightweight-tunnel.service; put your config in /etc/lightweight-tunnel/config.json, then: systemctl enable --now lightweight-tunnel"
