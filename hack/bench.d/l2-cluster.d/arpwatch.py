#!/usr/bin/env python3
"""ARP prober for hack/bench l2-cluster, run in the router's namespace on its LAN port.

Asks (ARP requests from IFACE's own MAC and SRC address) for every address from FIRST to LAST,
repeating for the unanswered ones every ROUND seconds, until COUNT distinct addresses have
answered or --seconds pass. Prints one JSON object: the wall-clock time of each address's first
answer ({"answered": {ip: t}}), and the time the COUNT-th came ("all": t or null).
"""
import argparse
import ipaddress
import json
import select
import socket
import struct
import time


def mac_of(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--src", required=True)
    ap.add_argument("--first", required=True)
    ap.add_argument("--last", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--round", type=float, default=0.25)
    ap.add_argument("--seconds", type=float, default=300)
    a = ap.parse_args()
    first, last = int(ipaddress.IPv4Address(a.first)), int(ipaddress.IPv4Address(a.last))
    targets = {str(ipaddress.IPv4Address(i)) for i in range(first, last + 1)}
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((a.iface, 0))
    mac = mac_of(a.iface)
    src = socket.inet_aton(a.src)
    answered = {}
    end = time.monotonic() + a.seconds
    next_round = 0.0
    while len(answered) < a.count and time.monotonic() < end:
        now = time.monotonic()
        if now >= next_round:
            for ip in sorted(targets - answered.keys()):
                frame = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
                         + mac + src + b"\x00" * 6 + socket.inet_aton(ip))
                try:
                    s.send(frame)
                except OSError:
                    pass
            next_round = now + a.round
        r, _, _ = select.select([s], [], [], max(0.0, min(next_round - time.monotonic(), 0.05)))
        while r:
            frame = s.recv(2048)
            if len(frame) >= 42 and frame[12:14] == b"\x08\x06" and struct.unpack("!H", frame[20:22])[0] == 2:
                ip = socket.inet_ntoa(frame[28:32])
                if ip in targets and ip not in answered:
                    answered[ip] = time.time()
            r, _, _ = select.select([s], [], [], 0)
    times = sorted(answered.values())
    print(json.dumps({"answered": answered, "all": times[a.count - 1] if len(times) >= a.count else None}))


if __name__ == "__main__":
    main()
