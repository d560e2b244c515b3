#!/usr/bin/env python3
"""Writes the libFuzzer seed corpus for Fuzz/Layer2/Harness.swift from the captured frames.

usage: seeds.py VECTOR_DIR OUT_DIR

Each seed is one config octet (see Config in Harness.swift) followed by one Ethernet frame (header onwards,
no FCS). For every captured frame of VECTOR_DIR/*.hex (Tests/Layer2Tests/Vectors): as captured, for us as
station A and as station B of the capture; with the checksum fix-up bit (so mutations of NDP frames keep
reaching the NDP checks), padding and the router flag; and with one 802.1Q tag and a QinQ pair inserted after
the source MAC. File names are the SHA-1 of the content, as libFuzzer names corpus files, so reruns overwrite
instead of duplicating.
"""
import hashlib
import os
import sys

FIX_CHECKSUM, PAD, ROUTER, STATION_B = 1, 2, 4, 8


def frames(vdir):
    names = sorted(n for n in os.listdir(vdir) if n.endswith(".hex"))
    if not names:
        sys.exit(f"seeds.py: no *.hex vectors in {vdir}")
    for name in names:
        with open(os.path.join(vdir, name)) as f:
            text = " ".join(l for l in f.read().splitlines() if l.strip() and not l.startswith("#"))
        try:
            yield name, bytes.fromhex(text)
        except ValueError as e:
            sys.exit(f"seeds.py: {name}: {e}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vdir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seeds = set()
    count = 0
    for name, frame in frames(vdir):
        count += 1
        tagged = frame[:12] + bytes.fromhex("8100 0064") + frame[12:]
        qinq = frame[:12] + bytes.fromhex("88a8 0fff 8100 2001") + frame[12:]
        for cfg in (0, STATION_B, FIX_CHECKSUM, FIX_CHECKSUM | STATION_B, PAD | ROUTER | FIX_CHECKSUM):
            seeds.add(bytes([cfg]) + frame)
        for f in (tagged, qinq):
            seeds.add(bytes([FIX_CHECKSUM]) + f)
            seeds.add(bytes([FIX_CHECKSUM | STATION_B | PAD]) + f)
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{len(seeds)} seeds from {count} vector files")


if __name__ == "__main__":
    main()
