#!/usr/bin/env python3
"""Writes the libFuzzer seed corpus for Fuzz/BFD/Harness.swift.

usage: seeds.py TEST_DIR OUT_DIR

TEST_DIR is Tests/BFDTests: every control packet written there as hex (the FRR 8.4.4 bfdd captures of
GoldenVectorTests, `hex: "…"`, and the unit tests' `hexBytes("…")`) becomes
  - a packet-mode seed (mode octet 0): the packet; with the Length field covering 4 trailing octets; with the
    A bit and a Simple Password section (which must be discarded: no authentication is configured);
  - a script-mode seed (mode octet 1): the packet delivered raw to our session A, then the two sessions
    exchanging packets and running their timers, so bring-up, Poll/Final and detection are in the corpus.
Plus scripts without captured packets: a clean bring-up, loss and expiry, AdminDown and back, a profile change
while Up. File names are the SHA-1 of the content, as libFuzzer names corpus files.
"""
import hashlib
import os
import re
import sys

# Script opcodes (low nibble of the op octet, see runScript in Harness.swift).
RAW, FIELDS, ADVANCE, TIMER, SILENCE, DELIVER, ADMIN, UPDATE, DUPLICATE = 0, 1, 3, 5, 7, 8, 11, 12, 13
DEFAULT_PARAMS = bytes([3, 3, 6])          # rx 300 ms, tx 300 ms, multiplier 3, active (see parameters())
FAST_PARAMS = bytes([1, 1, 6])             # 50 ms / 50 ms
PASSIVE_PARAMS = bytes([2, 2, 7])          # 100 ms / 100 ms, passive


def packets(test_dir):
    found = []
    for name in sorted(os.listdir(test_dir)):
        if not name.endswith(".swift"):
            continue
        with open(os.path.join(test_dir, name)) as f:
            text = f.read()
        for m in re.finditer(r'(?:hex: |hexBytes\()"([0-9a-fA-F ]+)"', text):
            b = bytes.fromhex(m.group(1).replace(" ", ""))
            if len(b) >= 24:
                found.append(b)
    return found


def bring_up(rounds=6):
    # The timer fires, the network delivers everything, repeated: enough for Down → Init → Up.
    return bytes(x for _ in range(rounds) for x in (TIMER, DELIVER, 0))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    test_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    pkts = packets(test_dir)
    if not pkts:
        sys.exit(f"seeds.py: no hex control packets in {test_dir}")
    seeds = set()
    for p in pkts:
        seeds.add(bytes([0]) + p)
        longer = bytearray(p + b"\0\0\0\0")
        longer[3] = 28
        seeds.add(bytes([0]) + bytes(longer))
        auth = bytearray(p + bytes([1, 4, 1, 0x61]))
        auth[1] |= 0x04
        auth[3] = 28
        seeds.add(bytes([0]) + bytes(auth))
        for params in (DEFAULT_PARAMS, FAST_PARAMS):
            seeds.add(bytes([1]) + params + params + bytes([RAW, len(p)]) + p + bring_up(2)
                      + bytes([RAW, len(p)]) + p + bytes([ADVANCE, 0x27, 0x10]))
    scripts = [
        DEFAULT_PARAMS + DEFAULT_PARAMS + bring_up(8),
        FAST_PARAMS + DEFAULT_PARAMS + bring_up(8) + bytes([SILENCE, 0, 5]) + bring_up(4),
        PASSIVE_PARAMS + FAST_PARAMS + bring_up(8) + bytes([DELIVER, 0xFF, TIMER, TIMER, TIMER, TIMER]),
        DEFAULT_PARAMS + DEFAULT_PARAMS + bring_up(8) + bytes([ADMIN | 0x10, 1]) + bring_up(3)
        + bytes([ADMIN | 0x10, 0]) + bring_up(6),
        DEFAULT_PARAMS + DEFAULT_PARAMS + bring_up(8) + bytes([UPDATE | 0x10, 0, 0, 6]) + bring_up(6)
        + bytes([UPDATE, 5, 5, 0xFF]) + bring_up(6),
        DEFAULT_PARAMS + FAST_PARAMS + bring_up(6) + bytes([DUPLICATE, DELIVER, 0x55]) + bring_up(3),
        # A spoofed peer from fields: Down, then Init with our discriminator and Poll.
        DEFAULT_PARAMS + DEFAULT_PARAMS + bytes([FIELDS, 0x51, 0, 3, 4, 4, FIELDS, 0x36, 0, 3, 3, 3]) + bring_up(3),
    ]
    for s in scripts:
        seeds.add(bytes([1]) + s)
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{len(seeds)} seeds from {len(pkts)} control packets in {test_dir}")


if __name__ == "__main__":
    main()
