#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpora for the fuzz targets (see make-seeds.sh).

seeds.py netlink OUT IFNAME ADDR   record the kernel's rtnetlink replies to the
                                   requests user/netlink.c makes (run it in a
                                   namespace)
seeds.py cut CAPDIR OUTDIR CONFIGS cut captures and recordings into seeds,
                                   in each target's input format (see the
                                   header comment of tests/fuzz/<target>.c)
"""
import os
import socket
import struct
import sys

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 2, 4, 0x200, 0x400
NLM_F_DUMP = 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_GETLINK, RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, RTM_GETNEIGH = 16, 18, 24, 25, 26, 30
RTA_DST, RTA_OIF = 1, 4


def nl_talk(req):
    """Send one request, return the reply datagrams as netlink.c reads them."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.send(req)
    out = []
    while True:
        d = s.recv(16384)
        out.append(d)
        off, done = 0, False
        while off + 16 <= len(d):
            ln, typ, fl = struct.unpack_from("=IHH", d, off)
            if ln < 16:
                break
            if typ in (NLMSG_DONE, NLMSG_ERROR) or not fl & NLM_F_MULTI:
                done = True
                break
            off += (ln + 3) & ~3
        if done or len(out) > 64:
            break
    s.close()
    return out


def nlmsg(typ, flags, body):
    return struct.pack("=IHHII", 16 + len(body), typ, flags, 1, 0) + body


def rta(t, data):
    b = struct.pack("=HH", 4 + len(data), t) + data
    return b + b"\0" * (-len(b) % 4)


def rtmsg(dst_len=0, proto=0, scope=0, typ=0, table=0):
    return struct.pack("=BBBBBBBBI", socket.AF_INET, dst_len, 0, 0, table, proto, scope, typ, 0)


def record_netlink(out, ifname, addr):
    ifindex = socket.if_nametoindex(ifname)
    dst = socket.inet_aton(addr)
    rec = []
    # lwt_nl_route_conflict: a dump of every route
    rec.append((0, nl_talk(nlmsg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, rtmsg()))))
    # lwt_nl_route_get: the route to a peer
    rec.append((1, nl_talk(nlmsg(RTM_GETROUTE, NLM_F_REQUEST, rtmsg(32) + rta(RTA_DST, dst)))))
    # lwt_nl_neigh_get: the neighbour table
    rec.append((2, nl_talk(nlmsg(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP,
                                 struct.pack("=BBHiHBB", socket.AF_INET, 0, 0, 0, 0, 0, 0)))))
    # lwt_nl_link_mtu: one link
    rec.append((3, nl_talk(nlmsg(RTM_GETLINK, NLM_F_REQUEST,
                                 struct.pack("=BBHiII", socket.AF_UNSPEC, 0, 0, ifindex, 0, 0)))))
    # lwt_nl_route_add twice (an ACK, then EEXIST), and its removal
    add = nlmsg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                rtmsg(24, 0x4C, 253, 1, 254) + rta(RTA_DST, socket.inet_aton("192.168.77.0")) +
                rta(RTA_OIF, struct.pack("=I", ifindex)))
    rec.append((4, nl_talk(add)))
    rec.append((4, nl_talk(add)))
    rec.append((5, nl_talk(nlmsg(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK,
                                 rtmsg(24, 0x4C, 253, 1, 254) +
                                 rta(RTA_DST, socket.inet_aton("192.168.77.0")) +
                                 rta(RTA_OIF, struct.pack("=I", ifindex))))))
    with open(out, "wb") as f:
        for op, dgrams in rec:
            f.write(struct.pack("=BBI", op, len(dgrams), ifindex) + dst)
            for d in dgrams:
                f.write(struct.pack(">H", len(d)) + d)


def pcap(path):
    """(linktype, [frames]) of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data)[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack_from(e + "I", data, 20)[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from(e + "I", data, off + 8)[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return link, out


def ip_of(link, frame):
    """The IPv4 packet in a frame (None if not IPv4)."""
    hdr = {1: 14, 113: 16, 276: 20, 101: 0, 12: 0, 228: 0}.get(link)
    if hdr is None:
        return None
    if link == 1 and frame[12:14] != b"\x08\x00":
        return None
    p = frame[hdr:]
    return p if p and p[0] >> 4 == 4 else None


def tcp_payload(p):
    ihl = (p[0] & 15) * 4
    tot = struct.unpack_from(">H", p, 2)[0] or len(p)
    doff = (p[ihl + 12] >> 4) * 4
    return p[ihl + doff:tot]


def frames_of(payload):
    """(type, body) of each frame in a TCP payload."""
    out, off = [], 0
    while off + 4 <= len(payload):
        t, _, ln = struct.unpack_from(">BBH", payload, off)
        if off + 4 + ln > len(payload):
            break
        out.append((t, payload[off + 4:off + 4 + ln]))
        off += 4 + ln
    return out


def put(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cut(capdir, outdir, configs):
    link, wire = pcap(os.path.join(capdir, "wire.pcap"))
    eth = [f for f in wire if ip_of(link, f)]
    segs = [ip_of(link, f) for f in eth]
    with_data = [s for s in segs if tcp_payload(s)]
    tlink, tun = pcap(os.path.join(capdir, "tun.pcap"))
    inner = [p for p in (ip_of(tlink, f) for f in tun) if p]

    # The handshake and a few records of each size class.
    picks, seen = [], set()
    for s in segs[:3] + with_data:
        key = (s[33] & 0x17, min(len(s) // 200, 8), tcp_payload(s)[:1])
        if key not in seen:
            seen.add(key)
            picks.append(s)
    picks = picks[:10]
    for i, s in enumerate(picks):
        put(outdir, "fuzz_segment", "cap-%02d" % i, bytes([i & 3 | 4]) + s)
        put(outdir, "fuzz_packet", "cap-%02d" % i, s)
        if tcp_payload(s):
            put(outdir, "fuzz_frames", "cap-%02d" % i, tcp_payload(s))

    # AF_XDP: Ethernet frames as the kernel posts them, whole and as a
    # two-descriptor chain (hdr 1: multi-buffer; op 0 posts one descriptor,
    # ctl 0x04 takes a 16-bit length, 0x80 marks "continues"; 0xdf reads).
    for i, f in enumerate([eth[0], eth[3]] + [x for x in eth if len(x) > 600][:2]):
        whole = b"\x00\x04" + struct.pack(">H", len(f) - 1) + f + b"\xdf"
        cut_at = len(f) // 2
        chain = (b"\x00\x84" + struct.pack(">H", cut_at - 1) + f[:cut_at] +
                 b"\x00\x04" + struct.pack(">H", len(f) - cut_at - 1) + f[cut_at:] + b"\xdf")
        put(outdir, "fuzz_xskdesc", "cap-%02d" % i, b"\x01" + whole + chain)

    # Chains at the join buffer's limit (64 KiB + 22 bytes of link headers):
    # 16 frames of 4096 bytes and one of 22 fit, one of 23 does not (ctl
    # 0x40: the frame's bytes after the first 16 are the harness's).
    for name, last in (("syn-chain-limit", 22), ("syn-chain-over", 23)):
        post = b"\xc4\x0f\xff" + b"\x08\x00" * 8
        seq = b"\x07" + post * 8 + b"\x07" + post * 8
        seq += b"\x00\x44" + struct.pack(">H", last - 1) + b"\x00" * 12 + b"\x08\x00" + b"\x45" + b"\x00"
        put(outdir, "fuzz_xskdesc", name, b"\x01" + seq + b"\xdf\xdf")

    # Records: real payloads as raw frames (op 0x70, length in 4-byte words,
    # then 0x80 sends the segment), and the AUTHED records' plaintext (IP
    # and FEC in clear under encrypt_after_auth) sealed again by the harness
    # (op 0x50: message type index, 'how' 0, 16-bit length, body).
    authed = []
    for s in with_data:
        for t, body in frames_of(tcp_payload(s)):
            if t == 0x11 and len(body) > 12 + 16:
                authed.append(body[12:-16])
    ip_msgs = [m for m in authed if m[0] == 1][:4]
    fec_msgs = [m for m in authed if m[0] == 4][:8]
    for i, s in enumerate(with_data[3:6]):
        pl = tcp_payload(s)[:1020]
        pl = pl[:len(pl) // 4 * 4]
        put(outdir, "fuzz_records", "cap-raw-%d" % i,
            b"\x00\x00" + b"seed" + b"\x70" + bytes([len(pl) // 4]) + pl + b"\x80")
    ops = b""
    for m in ip_msgs:
        ops += b"\x50\x00\x00" + struct.pack(">H", len(m) - 1) + m[1:] + b"\x80"
    if ops:
        put(outdir, "fuzz_records", "cap-authed-ip", b"\x02\x00" + b"seed" + ops)
    ops = b""
    for m in fec_msgs:
        ops += b"\x50\x05\x00" + struct.pack(">H", len(m) - 1) + m[1:]
    if ops:
        put(outdir, "fuzz_records", "cap-authed-fec", b"\x06\x17" + b"seed" + ops + b"\x80")
    # the same shards for the decoder alone (mode 1: raw; shape 4+2)
    if fec_msgs:
        raw = b"\x01\x03\x02"
        for m in fec_msgs:
            raw += struct.pack(">H", len(m) - 1) + m[1:] + b"\x01"
        put(outdir, "fuzz_fec", "cap-shards", raw)

    # GSO: inner packets from the TUN as one read would give them; the
    # big ones (TSO) with GSO_TCPV4 and the MSS, the others GSO_NONE.
    big = sorted((p for p in inner if len(p) > 3000 and p[9] == 6), key=len)[-2:]
    small = [p for p in inner if len(p) < 1500][:3]
    for i, p in enumerate(big):
        vh = struct.pack("<BBHHHH", 0, 1, 0, 1448, 0, 0)
        put(outdir, "fuzz_gso", "cap-tso-%d" % i, vh + p)
    for i, p in enumerate(small):
        put(outdir, "fuzz_gso", "cap-%d" % i, struct.pack("<BBHHHH", 0, 0, 0, 0, 0, 0) + p)

    # Netlink: the recorded replies in fuzz_netlink's format.
    with open(os.path.join(capdir, "netlink.bin"), "rb") as f:
        rec = f.read()
    off, i = 0, 0
    while off < len(rec):
        op, n, ifindex = struct.unpack_from("=BBI", rec, off)
        dst = rec[off + 6:off + 10]
        off += 10
        dg = b""
        for _ in range(n):
            ln = struct.unpack_from(">H", rec, off)[0]
            dg += rec[off:off + 2 + ln]
            off += 2 + ln
        prefix = 24 if op in (0, 4, 5) else 32
        put(outdir, "fuzz_netlink", "cap-%d" % i,
            bytes([op]) + dst + bytes([prefix, (ifindex + 1) % 8]) +
            (b"\0\0\0\0" if op == 4 else b"") + dg)
        i += 1

    # Config: the shipped JSON files (flags 0x80: also written back as
    # flags), and argv vectors as the README gives them.
    for name in sorted(os.listdir(configs)):
        with open(os.path.join(configs, name), "rb") as f:
            j = f.read()
        put(outdir, "fuzz_config", "cfg-" + name.replace(".json", ""),
            b"\x80" + j + b"\0-c\0x\0-mtu\0001300")
    put(outdir, "fuzz_config", "argv-server",
        b"\x00{}\0-m\0server\0-l\0000.0.0.0:9000\0-t\00010.0.0.1/24\0-k\0a-long-enough-key\0"
        b"-fec-data=10\0-fec-parity=3\0-allowed-routes\000192.168.0.0/16,10.1.0.0/16")
    put(outdir, "fuzz_config", "argv-client",
        b"\x01{}\0-m\0client\0-r\000127.0.0.1:9000\0-t\00010.0.0.2/24\0-key-file\0k\0"
        b"-routes\000192.168.50.0/24\0--xdp=false\0-log-level=debug")

    # Control socket: the requests lwt-ctl makes (state left zero).
    for req in (b"status", b"stats json", b"peers", b"peers json", b"attach v-s-r native",
                b"detach v-s-r", b"status\r\n"):
        put(outdir, "fuzz_ctl", "req-" + req.split(b"\r")[0].replace(b" ", b"-").decode(),
            bytes([len(req)]) + req + b"\0" * 40)

    # Built from the protocol's structs (sealed on the wire).
    # Route lists: server side (hdr 0, allowed 10.1/16 + 192.168/16), a
    # list of 3 (FIRST|LAST) from slot 1, the same from slot 2 (conflict),
    # slot 1 leaving; client side (hdr 1): a result, an update, a peer list.
    def rlist(op, flags, entries):
        b = bytes([op, flags, len(entries)])
        for sel, a, b2 in entries:
            b += bytes([sel]) + a + b2
        return b
    # sel: base (bits 0-1: 10.1/16, 192.168/16, ...), prefix length
    # index (bits 2-4: 8 12 16 20 24 25 28 32), then 16 bits shifted in.
    e3 = [(0x11, b"\x03\x20", b""), (0x10, b"\x00\x50", b""), (0x08, b"\x00\x00", b"")]
    put(outdir, "fuzz_routes", "syn-server",
        b"\x00\x03" + rlist(0x01, 3, e3) + rlist(0x02, 3, e3) + b"\xc1" + b"\xe0")
    put(outdir, "fuzz_routes", "syn-client",
        b"\x01\x00" + rlist(0x00, 3, e3) + rlist(0x20, 3, e3) + rlist(0x10, 7, e3) +
        rlist(0x20, 3, []))
    # Key rotation: the server offers, the client answers, the server
    # takes it; again with the answer lost and offered anew; a stall.
    put(outdir, "fuzz_rekey", "syn-rotation", b"\x00\x20\x00\x60\x00")
    put(outdir, "fuzz_rekey", "syn-lost-answer",
        b"\x00\x20\x00\x60\x03\x01\x20\x00\x60\x00\x00\x20\x01\x05\x60\x00")
    put(outdir, "fuzz_rekey", "syn-stall", b"\xe0\x00\x20\x00\x00\x20\x00\xe0\x60\x00")
    # Handoff ring: pushes of several sizes, pops, a drain, wrap-arounds.
    put(outdir, "fuzz_hring", "syn-wrap",
        b"\x00" + (b"\x7f\x00\x01\xff" + b"\x80") * 8 + b"\x40\x00\x02\x10" * 4 + b"\xf0")
    put(outdir, "fuzz_hring", "syn-full", b"\x01" + b"\x7f\x00\x07\xff" * 20 + b"\xf0")


if __name__ == "__main__":
    if sys.argv[1] == "netlink":
        record_netlink(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        cut(sys.argv[2], sys.argv[3], sys.argv[4])
