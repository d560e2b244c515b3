#!/usr/bin/env python3
"""Writes the libFuzzer seed corpus for Fuzz/BGP/Harness.swift from the captured vectors.

usage: seeds.py VECTOR_DIR OUT_DIR

Each seed is one config octet (see FuzzConfig in Harness.swift) followed by BGP octets. For every captured
message: the session it was captured on (4-octet AS per the file's comment, iBGP per "iBGP"), the same with
the 4-octet AS bit flipped, and with Extended Messages on; for every file the whole session as one stream
cut into small chunks for the frame splitter. File names are the SHA-1 of the content, as libFuzzer names
corpus files, so reruns overwrite instead of duplicating.
"""
import hashlib
import os
import sys

FOUR_OCTET_AS, IBGP, EXTENDED = 1, 2, 4


def chunk(sel):  # index into FuzzConfig.chunkSizes: 0 → 1 octet, 4 → 19 octets, 7 → whole input
    return sel << 3


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vdir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    names = sorted(n for n in os.listdir(vdir) if n.endswith(".hex"))
    if not names:
        sys.exit(f"seeds.py: no *.hex vectors in {vdir}")
    seeds = set()
    for name in names:
        with open(os.path.join(vdir, name)) as f:
            lines = f.read().splitlines()
        head = " ".join(l for l in lines if l.startswith("#"))
        try:
            msgs = [bytes.fromhex(l) for l in lines if l.strip() and not l.startswith("#")]
        except ValueError as e:
            sys.exit(f"seeds.py: {name}: {e}")
        cfg = (0 if "NOT negotiated" in head else FOUR_OCTET_AS) | (IBGP if "iBGP" in head else 0)
        for m in msgs:
            for c in (cfg, cfg ^ FOUR_OCTET_AS, cfg | EXTENDED):
                seeds.add(bytes([c | chunk(7)]) + m)
        stream = b"".join(msgs)
        seeds.add(bytes([cfg | chunk(0)]) + stream)
        seeds.add(bytes([cfg | chunk(4)]) + stream)
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{len(seeds)} seeds from {len(names)} vector files")


if __name__ == "__main__":
    main()
