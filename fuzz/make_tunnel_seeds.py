#!/usr/bin/env python3
"""Writes the tunnel seeds of the `capture` and `pipeline` fuzz targets.

Each seed is one small TCP exchange (SYN, SYN-ACK, ACK, a GET and its ACK) whose every
frame comes through an encapsulation wirenote decapsulates (pipeline/decap.rs,
wire/tunnel.rs): GRE (plain, keyed and sequenced, PPTP's version 1), GRE-in-UDP, ERSPAN
II, VXLAN, VXLAN-GPE, Geneve, GTP-U, MPLS (a label stack, and an Ethernet pseudowire with
its control word), PBB, IP-in-IP, 6in4, Teredo, AYIYA, a fragmented outer IPv4 packet,
and tunnels nested past wirenote's bound. Generated here, byte by byte (no third-party
capture): `fuzz/seeds/capture/tunnel-*.pcap` (classic pcap, Ethernet) and
`fuzz/seeds/pipeline/tunnel-*.bin` (the pipeline target's format: a link-type selector
byte, then frames behind a one-byte length; a frame over 255 bytes is left out there).

    python3 fuzz/make_tunnel_seeds.py     # rewrites the seeds; the output is deterministic
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAC_A, MAC_B = bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 0, 2])


def eth(payload, ethertype=0x0800, src=MAC_A, dst=MAC_B):
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(payload, proto, src, dst, ident=0, frag=0x4000):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                         bytes(src), bytes(dst))
    return header + payload


def ipv6(payload, nxt, src, dst):
    return struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + bytes(src) + bytes(dst) + payload


def udp(payload, sport, dport):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 502, 0, 0) + payload


V6_A = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
V6_B = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]


def exchange(v6=False):
    """The inner packets of one connection, client 10.9.0.1:40000 → server 10.9.0.2:80."""
    get = b"GET /t HTTP/1.1\r\nHost: lab\r\n\r\n"
    c, s = 1000, 5000
    steps = [(True, c, 0, 0x02, b""), (False, s, c + 1, 0x12, b""), (True, c + 1, s + 1, 0x10, b""),
             (True, c + 1, s + 1, 0x18, get), (False, s + 1, c + 1 + len(get), 0x10, b"")]
    packets = []
    for from_client, seq, ack, flags, data in steps:
        ports = (40000, 80) if from_client else (80, 40000)
        segment = tcp(*ports, seq, ack, flags, data)
        if v6:
            a, b = (V6_A, V6_B) if from_client else (V6_B, V6_A)
            packets.append(ipv6(segment, 6, a, b))
        else:
            a, b = ([10, 9, 0, 1], [10, 9, 0, 2]) if from_client else ([10, 9, 0, 2], [10, 9, 0, 1])
            packets.append(ipv4(segment, 6, a, b))
    return packets


OUTER = ([192, 0, 2, 1], [192, 0, 2, 2])


def outer_ip(payload, proto):
    return eth(ipv4(payload, proto, *OUTER))


def outer_udp(payload, dport, sport=50000):
    return outer_ip(udp(payload, sport, dport), 17)


def mpls(payload, labels):
    stack = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        stack += struct.pack("!I", (label << 12) | (bottom << 8) | 64)
    return stack + payload


def gre(payload, protocol, key=None, seq=None):
    flags = (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    header = struct.pack("!HH", flags, protocol)
    if key is not None:
        header += struct.pack("!I", key)
    if seq is not None:
        header += struct.pack("!I", seq)
    return header + payload


def fragments(packet_payload, proto):
    """An outer IPv4 datagram cut in two fragments (the first 8-byte aligned)."""
    cut = 24
    first = ipv4(packet_payload[:cut], proto, *OUTER, ident=77, frag=0x2000)
    second = ipv4(packet_payload[cut:], proto, *OUTER, ident=77, frag=cut // 8)
    return [eth(first), eth(second)]


def nested(inner, depth):
    """`depth` GRE layers over IPv4, each inside the next: past the 8-encapsulation bound."""
    for _ in range(depth):
        inner = ipv4(gre(inner, 0x0800), 47, *OUTER)
    return eth(inner)


def shapes():
    ip, ip6 = exchange(), exchange(v6=True)
    yield "gre", [outer_ip(gre(p, 0x0800), 47) for p in ip]
    yield "gre-key-seq", [outer_ip(gre(p, 0x0800, key=42, seq=i), 47) for i, p in enumerate(ip)]
    # PPTP's enhanced GRE: version 1, key (payload length, call id), PPP carrying IP.
    yield "gre-pptp", [outer_ip(struct.pack("!HHHH", 0x3001, 0x880b, len(p) + 4, 7)
                                + struct.pack("!I", i) + b"\xff\x03\x00\x21" + p, 47)
                       for i, p in enumerate(ip)]
    yield "gre-in-udp", [outer_udp(gre(p, 0x0800), 4754) for p in ip]
    yield "erspan2", [outer_ip(gre(struct.pack("!II", 0x10000000 | 5, 0) + eth(p), 0x88be, seq=i), 47)
                      for i, p in enumerate(ip)]
    yield "vxlan", [outer_udp(struct.pack("!II", 0x08000000, 5000 << 8) + eth(p), 4789) for p in ip]
    yield "vxlan-gpe", [outer_udp(struct.pack("!II", 0x0c000001, 7 << 8) + p, 4790) for p in ip]
    yield "geneve", [outer_udp(struct.pack("!HHI", 0x0000, 0x6558, 9 << 8) + eth(p), 6081) for p in ip]
    yield "gtp-u", [outer_udp(struct.pack("!BBHI", 0x30, 0xff, len(p), 0x1234) + p, 2152) for p in ip]
    yield "mpls", [eth(mpls(p, [16, 17]), 0x8847) for p in ip]
    yield "mpls-pw", [eth(mpls(b"\x00\x00\x00\x00" + eth(p), [300]), 0x8847) for p in ip]
    yield "mpls-in-udp", [outer_udp(mpls(p, [18]), 6635) for p in ip]
    yield "vlan-mpls", [eth(struct.pack("!HH", 100, 0x8847) + mpls(p, [19]), 0x8100) for p in ip]
    yield "pbb", [eth(struct.pack("!I", 0x00000100) + eth(p), 0x88e7) for p in ip]
    yield "ip-in-ip", [outer_ip(p, 4) for p in ip]
    yield "6in4", [outer_ip(p, 41) for p in ip6]
    yield "teredo", [outer_udp(p, 3544) for p in ip6]
    # AYIYA: a 1-byte identity, no signature, opcode 1 (forward), next header IPv4.
    yield "ayiya", [outer_udp(struct.pack("!BBBBIB", 0x01, 0x00, 0x11, 0x04, 0, 0x5a) + p, 5072)
                    for p in ip]
    frames = []
    for p in ip:
        frames += fragments(gre(p, 0x0800), 47)
    yield "gre-fragmented", frames
    yield "nested-9", [nested(p, 9) for p in ip]
    yield "vxlan-gre", [outer_udp(struct.pack("!II", 0x08000000, 1 << 8)
                                  + eth(ipv4(gre(p, 0x0800), 47, [198, 51, 100, 1], [198, 51, 100, 2])),
                                  4789) for p in ip]


def pcap(frames):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for i, frame in enumerate(frames):
        out += struct.pack("<IIII", 1_795_000_000, i * 1000, len(frame), len(frame)) + frame
    return out


def pipeline_input(frames):
    # Selector 1 is Ethernet in fuzz_targets/pipeline.rs's list. A frame over 255 bytes
    # (the GET nested 9 deep) does not fit the one-byte length and is left out.
    out = bytes([1])
    for frame in frames:
        if len(frame) < 256:
            out += bytes([len(frame)]) + frame
    return out


def main():
    for name, frames in shapes():
        with open(os.path.join(HERE, "seeds", "capture", f"tunnel-{name}.pcap"), "wb") as f:
            f.write(pcap(frames))
        with open(os.path.join(HERE, "seeds", "pipeline", f"tunnel-{name}.bin"), "wb") as f:
            f.write(pipeline_input(frames))


if __name__ == "__main__":
    main()
