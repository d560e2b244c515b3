#!/usr/bin/env python3
"""Helpers for hack/bench.d/bgp: input files for the announcers, polling FRR's vty socket, reading the capture.

  bgpb.py prefixes N FILE                 N /32 prefixes from 10.100.0.0 up, one per line
  bgpb.py bird-static N FILE              the same as BIRD static routes (blackhole)
  bgpb.py mrt N NEXTHOP FILE              the same as an MRT TABLE_DUMP_V2 file (RFC 6396) for `gobgp mrt inject`,
                                          followed by 5000 duplicates of its first records: gobgp 3.10's inject
                                          returns before gobgpd took the last records of its stream (those are lost)
  bgpb.py wait VTYSOCK PEERS N TIMEOUT    polls bgpd until every peer (comma separated) has pfxRcd >= N; prints JSON
  bgpb.py state VTYSOCK PEER              prints the peer's state in bgpd
  bgpb.py cmd VTYSOCK COMMAND             runs an (enable-mode) command in bgpd, prints its output
  bgpb.py pcap FILE                       per TCP connection to port 179 in the capture: SYN time, time both sides
                                          had the other's first KEEPALIVE (RFC 4271 §8.2.2: OpenConfirm ->
                                          Established), first segment with routes and last segment from the
                                          announcer; JSON lines
"""
import ipaddress
import json
import socket
import struct
import sys
import time


def prefixes(n):
    base = int(ipaddress.IPv4Address("10.100.0.0"))
    for i in range(n):
        yield str(ipaddress.IPv4Address(base + i))


def cmd_prefixes(n, path):
    with open(path, "w") as f:
        f.write(f"# {n} /32 prefixes for hack/bench bgp\n")
        for p in prefixes(n):
            f.write(p + "/32\n")


def cmd_bird_static(n, path):
    with open(path, "w") as f:
        for p in prefixes(n):
            f.write(f"  route {p}/32 blackhole;\n")


def cmd_mrt(n, nexthop, path):
    """RFC 6396 §4.3: one PEER_INDEX_TABLE, then one RIB_IPV4_UNICAST record per prefix with one entry."""
    now = int(time.time())
    nh = socket.inet_aton(nexthop)

    def record(subtype, body):
        return struct.pack("!IHHI", now, 13, subtype, len(body)) + body

    # Collector ID, empty view name, one peer: type 0x02 (AS4, IPv4), BGP ID, address, AS.
    pit = nh + struct.pack("!HH", 0, 1) + struct.pack("!B", 2) + nh + nh + struct.pack("!I", 65011)
    # ORIGIN IGP, empty AS_PATH (gobgp prepends its AS towards the eBGP peer), NEXT_HOP.
    attrs = bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, 0]) + bytes([0x40, 3, 4]) + nh
    with open(path, "wb") as f:
        f.write(record(1, pit))
        head = list(prefixes(min(n, 5000)))
        pad = [head[i % len(head)] for i in range(5000)] if head else []
        for seq, p in enumerate(list(prefixes(n)) + pad):
            body = struct.pack("!IB", seq, 32) + socket.inet_aton(p) + struct.pack("!H", 1)
            body += struct.pack("!HIH", 0, now, len(attrs)) + attrs
            f.write(record(2, body))


def vty(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    return s


def vty_cmd(s, command):
    # FRR's vtysh protocol: the command NUL-terminated; the answer ends with three NULs and a status octet.
    s.sendall(command.encode() + b"\0")
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("vty closed")
        buf += chunk
        if len(buf) >= 4 and buf[-4:-1] == b"\0\0\0":
            return buf[:-4].decode(errors="replace")


def summary(s):
    out = vty_cmd(s, "show bgp ipv4 unicast summary json")
    try:
        d = json.loads(out)
    except ValueError:
        return {}
    # With the family in the command the answer is that family's object itself.
    return d.get("peers", d.get("ipv4Unicast", {}).get("peers", {}))


def cmd_wait(sock_path, peers, n, timeout):
    peers = peers.split(",")
    s = vty(sock_path)
    t0 = time.time()
    est = {}
    done = {}
    last = {}
    while time.time() - t0 < timeout and len(done) < len(peers):
        now = time.time()
        for p, v in summary(s).items():
            if p not in peers:
                continue
            last[p] = v
            if v.get("state") == "Established" and p not in est:
                est[p] = now
            if v.get("pfxRcd", 0) >= n and p not in done:
                done[p] = time.time()
        time.sleep(0.005)
    print(json.dumps({"ok": len(done) == len(peers), "established_seen": est, "all_seen": done,
                      "last": {p: {"state": v.get("state"), "pfxRcd": v.get("pfxRcd")} for p, v in last.items()}}))


def cmd_state(sock_path, peer):
    s = vty(sock_path)
    print(summary(s).get(peer, {}).get("state", "none"))


def cmd_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack(endian + "I", data[:4])[0] in (0xA1B23C4D,)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    conns = {}   # (client ip, client port) -> dict
    order = []
    while off + 16 <= len(data):
        ts, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = ts + frac / (1e9 if nano else 1e6)
        if linktype == 1:          # Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:      # Linux cooked
            ip = pkt[16:]
        else:
            ip = pkt
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        tcp = ip[ihl:]
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack("!HH", tcp[:4])
        flags = tcp[13]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if dport == 179:
            key, direction = (src, sport), "c2s"
        elif sport == 179:
            key, direction = (dst, dport), "s2c"
        else:
            continue
        if flags & 0x02 and not flags & 0x10:   # SYN without ACK: a new connection from the announcer
            conns[key] = {"client": f"{key[0]}:{key[1]}", "syn": t, "msgs": {"c2s": [], "s2c": []}, "ka": {}}
            order.append(key)
            continue
        c = conns.get(key)
        if c is None:
            continue
        if direction == "c2s" and payload:
            c["last_c2s"] = t
            if "first_bulk_c2s" not in c and len(c["ka"]) == 2 and len(payload) > 23:
                c["first_bulk_c2s"] = t   # more than a KEEPALIVE or End-of-RIB: the first UPDATE with routes
        if direction in c["ka"]:
            continue
        # The first messages of a session start segments (they are written one by one); the capture may be cut
        # short (snap length), so only whole headers are read.
        i = 0
        while i + 19 <= len(payload) and payload[i:i + 16] == b"\xff" * 16:
            length, mtype = struct.unpack("!HB", payload[i + 16:i + 19])
            c["msgs"][direction].append(mtype)
            if mtype == 4 and 1 in c["msgs"][direction]:
                c["ka"][direction] = t
                break
            i += length
    for key in order:
        c = conns[key]
        ok = len(c["ka"]) == 2
        est = max(c["ka"].values()) if ok else None
        print(json.dumps({"client": c["client"], "syn": c["syn"], "established": est,
                          "first_bulk_c2s": c.get("first_bulk_c2s"), "last_c2s": c.get("last_c2s"),
                          "connect_to_established_ms": (est - c["syn"]) * 1000 if ok else None}))


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        sys.exit(2)
    if a[0] == "prefixes":
        cmd_prefixes(int(a[1]), a[2])
    elif a[0] == "bird-static":
        cmd_bird_static(int(a[1]), a[2])
    elif a[0] == "mrt":
        cmd_mrt(int(a[1]), a[2], a[3])
    elif a[0] == "wait":
        cmd_wait(a[1], a[2], int(a[3]), float(a[4]))
    elif a[0] == "cmd":
        s = vty(a[1])
        vty_cmd(s, "enable")
        print(vty_cmd(s, a[2]))
    elif a[0] == "state":
        cmd_state(a[1], a[2])
    elif a[0] == "pcap":
        cmd_pcap(a[1])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
