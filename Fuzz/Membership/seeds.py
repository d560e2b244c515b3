#!/usr/bin/env python3
"""Writes the libFuzzer seed corpus for Fuzz/Membership/Harness.swift.

usage: seeds.py TEST_DIR OUT_DIR

TEST_DIR is Tests/MembershipTests; its Support.swift gives the test key (`let testKey = Array("…".utf8)`), which
the harness uses too. Datagrams are built here as MembershipCodec writes them (wire version 1, HMAC-SHA256
over everything before the MAC) for the messages of the codec unit tests: heartbeats with and without
missing/evidence lists (up to the 60-entry cap and the 253-octet name), leaves, a non-ASCII name. Each becomes
  - a wire-mode seed (mode octet 0): the signed datagram as received, plus tampered and truncated copies;
  - a signed-mode seed (mode octet 1): the body alone (the harness signs it).
Plus script-mode seeds (mode octet 2): a cluster coming up, a member leaving, readiness, list changes,
indirect evidence, a restart with a new incarnation, replays and a long silence. File names are the SHA-1 of
the content, as libFuzzer names corpus files.
"""
import hashlib
import hmac
import os
import re
import struct
import sys

NAMES = ["node-a", "node-b", "node-c", "node-d", "node-e", "node-z"]   # allNames in Harness.swift
HEARTBEAT, LEAVE = 1, 2
# Script opcodes (low nibble; the high nibble picks the member in NAMES), see runScript in Harness.swift.
HB, LV, SIGNED, RAW, ADVANCE, TIMER, SILENCE, READY, MEMBERS, REPLAY, OUR_LEAVE = 0, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13


def member_id(name):
    return hashlib.sha256(name.encode()).digest()[:8]


def body(kind, sender, incarnation, sequence, missing=(), evidence=()):
    name = sender.encode()
    out = b"SM" + bytes([1, kind]) + struct.pack(">QQ", incarnation, sequence) + bytes([len(name)]) + name
    if kind == HEARTBEAT:
        out += bytes([len(missing)]) + b"".join(missing)
        out += bytes([len(evidence)]) + b"".join(i + struct.pack(">H", age) for i, age in evidence)
    return out


def key(test_dir):
    with open(os.path.join(test_dir, "Support.swift")) as f:
        m = re.search(r'let testKey = Array\("([^"]+)"\.utf8\)', f.read())
    if not m:
        sys.exit("seeds.py: no testKey in Support.swift")
    return m.group(1).encode()


def op(code, who=0):
    return bytes([NAMES.index(who) << 4 | code if isinstance(who, str) else who << 4 | code])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    test_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    k = key(test_dir)
    sign = lambda b: b + hmac.new(k, b, hashlib.sha256).digest()
    ids = [member_id(n) for n in NAMES]
    bodies = [
        body(HEARTBEAT, "node-b", 1, 1),
        body(HEARTBEAT, "node-ä1", 0x0102030405060708, 42, [member_id("node-2"), member_id("node-3")],
             [(member_id("node-4"), 17), (struct.pack(">Q", 7), 65535)]),
        body(HEARTBEAT, "node-c", 5, 9, ids[:3], [(ids[3], 12), (ids[0], 0)]),
        body(HEARTBEAT, "x" * 253, 1, 2, [struct.pack(">Q", i) for i in range(60)],
             [(struct.pack(">Q", i), 1) for i in range(60)]),
        body(LEAVE, "n", 9, 1),
        body(LEAVE, "node-d", 3, 77),
    ]
    seeds = set()
    for b in bodies:
        d = sign(b)
        seeds.add(bytes([0]) + d)
        seeds.add(bytes([1]) + b)
        seeds.add(bytes([0]) + d[:-1])
        seeds.add(bytes([0]) + d[:30])
        t = bytearray(d)
        t[5] ^= 1
        seeds.add(bytes([0]) + bytes(t))
    # Authenticated but malformed: trailing octet, lying count, unknown kind, bad UTF-8, empty name.
    good = bodies[1]
    seeds.add(bytes([1]) + good + b"\0")
    lying = bytearray(good)
    lying[21 + len("node-ä1".encode())] = 200
    seeds.add(bytes([1]) + bytes(lying))
    seeds.add(bytes([1]) + good[:3] + b"\x09" + good[4:])
    seeds.add(bytes([1]) + good[:21] + b"\xff" + good[22:])
    seeds.add(bytes([1]) + body(LEAVE, "n", 1, 1)[:20] + b"\0")

    cfg = bytes([0x59, 0x1B])          # 10 ms heartbeat, 130 ms timeout, rise 2, evidence on, 1 leave repeat
    tick = ADVANCE.to_bytes(1, "big") + struct.pack(">H", 1000)          # 10 ms, then tick
    round_ = b"".join(op(HB, n) + b"\0" for n in NAMES[1:5]) + tick
    up = round_ * 4 + op(TIMER) * 3
    scripts = [
        up,
        up + op(LV, "node-c") + b"\0" + round_ * 2 + op(REPLAY),
        up + op(READY, "node-a") + b"\x02" + round_ + op(READY, "node-b") + b"\x02" + round_ + op(READY, "node-a") + b"\x00" + round_,
        up + op(MEMBERS) + b"\x05" + round_ * 2 + op(MEMBERS) + b"\x0f" + round_ * 3,
        # node-e heard only indirectly: node-b reports it (evidence of 3 entries, mode 0x40).
        round_ * 2 + (op(HB, "node-b") + b"\x40" + bytes([4]) + b"\x00\x05" + bytes([4]) + b"\x00\x07" + bytes([3]) + b"\x00\x01" + tick) * 6,
        # A restart of node-d with the next incarnation, then an older incarnation (stale).
        up + op(HB, "node-d") + b"\x01" + op(HB, "node-d") + b"\x00" + op(HB, "node-d") + b"\x02" + round_,
        # Reordered and replayed sequence numbers.
        up + op(HB, "node-b") + b"\x08" + b"\x03" + op(HB, "node-b") + b"\x08" + b"\x40" + op(HB, "node-b") + b"\x04" + b"\x10" + round_,
        # A long silence (40 s: every member times out and is forgotten), then the cluster again.
        up + op(SILENCE) + struct.pack(">H", 40000) + up,
        up + op(OUR_LEAVE) + round_,
        # A datagram from ourselves and from a stranger, raw and signed bodies.
        up + op(HB, "node-a") + b"\0" + op(HB, "node-z") + b"\0" + op(SIGNED) + bytes([len(bodies[0])]) + bodies[0]
        + op(RAW) + bytes([len(sign(bodies[2]))]) + sign(bodies[2]) + round_,
    ]
    for s in scripts:
        seeds.add(bytes([2]) + cfg + s)
        seeds.add(bytes([2]) + bytes([0x00, 0xC2]) + s)   # 1 ms heartbeat, 4 ms timeout, rise 1, no evidence
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{len(seeds)} seeds ({len(bodies)} datagrams and {len(scripts)} scripts, key from {test_dir}/Support.swift)")


if __name__ == "__main__":
    main()
