#!/usr/bin/env python3
"""The Layer 2 owner election, independently of our Swift code: SipHash-2-4 with the key
"swift-metallb-l2" of "node NUL key", the key being the Service's first IP as text (ElectionRequest.key); the highest weight wins, ties to the
lexicographically smaller name (Sources/Layer2/Election.swift). Usage: rendezvous.py KEY n1,n2,..."""
import sys
def rotl(x, b): return ((x << b) | (x >> (64 - b))) & 0xFFFFFFFFFFFFFFFF
def siphash24(k0, k1, m):
    v0, v1, v2, v3 = k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573
    def rnd():
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & 0xFFFFFFFFFFFFFFFF; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
        v2 = (v2 + v3) & 0xFFFFFFFFFFFFFFFF; v3 = rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & 0xFFFFFFFFFFFFFFFF; v3 = rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & 0xFFFFFFFFFFFFFFFF; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    b = (len(m) & 0xFF) << 56
    full = len(m) - len(m) % 8
    for i in range(0, full, 8):
        w = int.from_bytes(m[i:i + 8], "little"); v3 ^= w; rnd(); rnd(); v0 ^= w
    b |= int.from_bytes(m[full:], "little")
    v3 ^= b; rnd(); rnd(); v0 ^= b
    v2 ^= 0xFF
    for _ in range(4): rnd()
    return v0 ^ v1 ^ v2 ^ v3
k0 = int.from_bytes(b"swift-me", "little"); k1 = int.from_bytes(b"tallb-l2", "little")
def owner(key, nodes):
    return max(nodes, key=lambda n: (siphash24(k0, k1, n.encode() + b"\0" + key.encode()), [-c for c in n.encode()]))
if __name__ == "__main__":
    print(owner(sys.argv[1], sys.argv[2].split(",")))
