#!/usr/bin/env python3
"""Write Tests/BGPTests/Vectors/*.hex from the pcaps captured by pair1.sh / pair2.sh."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from extract import parse
OUT = '/work/main/Tests/BGPTests/Vectors'
FRR = 'FRR bgpd 8.4.4'; GOBGP = 'GoBGP 3.10.0'; BIRD = 'BIRD 2.0.12'
# (pcap, src, sport_or_None, dst) -> (file, description)
SESS = [
 ('pair1.pcap', '10.255.1.1', '10.255.1.2', 'frr-to-gobgp-ipv4', f'{FRR} (AS 4200000001, netns capA) -> {GOBGP} (AS 65002, netns capB), eBGP over IPv4 10.255.1.1->10.255.1.2; 4-octet AS negotiated; graceful restart'),
 ('pair1.pcap', 'fd00:255::1', 'fd00:255::2', 'frr-to-gobgp-ipv6', f'{FRR} (AS 4200000001, netns capA) -> {GOBGP} (AS 65002, netns capB), eBGP over IPv6 fd00:255::1->fd00:255::2, IPv6 unicast; 4-octet AS negotiated'),
 ('pair1.pcap', '10.255.1.2', '10.255.1.1', 'gobgp-to-frr-ipv4', f'{GOBGP} (AS 65002, netns capB) -> {FRR} (AS 4200000001, netns capA), eBGP over IPv4; 4-octet AS negotiated; graceful restart'),
 ('pair1.pcap', 'fd00:255::2', 'fd00:255::1', 'gobgp-to-frr-ipv6', f'{GOBGP} (AS 65002, netns capB) -> {FRR} (AS 4200000001, netns capA), eBGP over IPv6, IPv6 unicast; 4-octet AS negotiated'),
 ('pair2.pcap', 'fd00:255::3', 'fd00:255::4', 'bird-to-frr-ibgp-extnh', f'{BIRD} (AS 4200000003, netns capC) -> {FRR} (AS 4200000003, netns capD), iBGP over IPv6 with extended next hop (RFC 8950) for IPv4 unicast + IPv6 unicast; 4-octet AS negotiated'),
 ('pair2.pcap', 'fd00:255::4', 'fd00:255::3', 'frr-to-bird-ibgp-extnh', f'{FRR} (AS 4200000003, netns capD) -> {BIRD} (AS 4200000003, netns capC), iBGP over IPv6 with extended next hop (RFC 8950); 4-octet AS negotiated'),
 ('pair2.pcap', 'fd00:255::5', 'fd00:255::4', 'bird-to-frr-ebgp6', f'{BIRD} (AS 65007, netns capC) -> {FRR} (AS 4200000003, netns capD), eBGP over IPv6, IPv6 unicast; 4-octet AS negotiated'),
 ('pair2.pcap', 'fd00:255::4', 'fd00:255::5', 'frr-to-bird-ebgp6', f'{FRR} (AS 4200000003, netns capD) -> {BIRD} (AS 65007, netns capC), eBGP over IPv6, IPv6 unicast; 4-octet AS negotiated'),
 ('pair2.pcap', '10.255.2.1', '10.255.2.2', 'bird-to-frr-as2', f'{BIRD} (AS 65005, "enable as4 off", netns capC) -> {FRR} (AS 4200000003, "dont-capability-negotiate", netns capD), eBGP over IPv4; 4-octet AS NOT negotiated (2-octet AS_PATH)'),
 ('pair2.pcap', '10.255.2.2', '10.255.2.1', 'frr-to-bird-as2', f'{FRR} (AS 4200000003 -> My AS 23456, "dont-capability-negotiate", netns capD) -> {BIRD} (AS 65005, "enable as4 off", netns capC), eBGP over IPv4; 4-octet AS NOT negotiated: AS_TRANS + AS4_PATH'),
 ('pair2a.pcap', '10.255.2.1', '10.255.2.2', 'bird-to-frr-badpeeras', f'{BIRD} (AS 65005, "enable as4 off", expecting peer AS 23456, netns capC) -> {FRR} (AS 4200000003 with the 4-octet AS capability, netns capD): BIRD refuses the OPEN with NOTIFICATION OPEN Message Error / Bad Peer AS'),
]
cache = {}
for pcap, src, dst, name, desc in SESS:
    if pcap not in cache: cache[pcap] = parse(pcap)
    lines = []
    for ts, key, msgs in cache[pcap]:
        if key[0] == src and key[2] == dst:
            for m in msgs:
                h = m.hex()
                if h not in lines: lines.append(h)
    assert lines, name
    with open(f'{OUT}/{name}.hex', 'w') as f:
        f.write(f'# {desc}.\n')
        f.write(f'# Captured 2026-11-25 with tcpdump -w on the veth between two network namespaces (Tests/BGPTests/Vectors/capture/);\n')
        f.write(f'# TCP reassembled and split into BGP messages by capture/extract.py; one whole message (marker..end) per line, duplicates removed, in order of first appearance.\n')
        for h in lines: f.write(h + '\n')
    print(name, len(lines))
