#!/usr/bin/env python3
"""Extract BGP messages from a pcap (Ethernet/IPv4|IPv6/TCP port 179), reassembling each TCP direction."""
import struct, sys, ipaddress

def packets(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    linktype = struct.unpack(endian + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        ts, tsu, incl, orig = struct.unpack(endian + 'IIII', data[off:off+16])
        off += 16
        yield ts + tsu / 1e6, linktype, data[off:off+incl]
        off += incl

def parse(path):
    streams = {}  # (src, sport, dst, dport) -> {'first_ts':, 'isn':, 'segs': {relseq: payload}}
    for ts, lt, pkt in packets(path):
        if lt == 1:
            etype = struct.unpack('>H', pkt[12:14])[0]; p = pkt[14:]
        elif lt == 113:
            etype = struct.unpack('>H', pkt[14:16])[0]; p = pkt[16:]
        else:
            raise SystemExit('linktype %d' % lt)
        if etype == 0x0800:
            ihl = (p[0] & 0xf) * 4; proto = p[9]; tot = struct.unpack('>H', p[2:4])[0]
            src = str(ipaddress.IPv4Address(p[12:16])); dst = str(ipaddress.IPv4Address(p[16:20]))
            seg = p[ihl:tot]
        elif etype == 0x86dd:
            proto = p[6]; plen = struct.unpack('>H', p[4:6])[0]
            src = str(ipaddress.IPv6Address(p[8:24])); dst = str(ipaddress.IPv6Address(p[24:40]))
            seg = p[40:40+plen]
        else:
            continue
        if proto != 6: continue
        sport, dport, seq = struct.unpack('>HHI', seg[:8])
        doff = (seg[12] >> 4) * 4; flags = seg[13]
        payload = seg[doff:]
        key = (src, sport, dst, dport)
        st = streams.setdefault(key, {'isn': None, 'segs': {}, 'ts': {}})
        if flags & 0x02:  # SYN: new connection in this direction
            if st['segs']:
                # previous connection; archive it under a new key
                streams[key + (len(streams),)] = dict(st)
                st = streams[key] = {'isn': None, 'segs': {}, 'ts': {}}
            st['isn'] = seq + 1
            continue
        if not payload: continue
        if st['isn'] is None: st['isn'] = seq
        rel = (seq - st['isn']) & 0xffffffff
        st['segs'].setdefault(rel, payload); st['ts'].setdefault(rel, ts)
    out = []
    for key, st in streams.items():
        buf = b''; pos = 0; firstts = None
        for rel in sorted(st['segs']):
            pl = st['segs'][rel]
            if firstts is None: firstts = st['ts'][rel]
            if rel > pos: break  # gap
            if rel + len(pl) <= pos: continue
            buf += pl[pos - rel:]; pos = rel + len(pl)
        i = 0; msgs = []
        while i + 19 <= len(buf):
            ln = struct.unpack('>H', buf[i+16:i+18])[0]
            if ln < 19 or i + ln > len(buf): break
            msgs.append(buf[i:i+ln]); i += ln
        if msgs: out.append((firstts, key[:4], msgs))
    out.sort()
    return out

TYPES = {1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH'}
if __name__ == '__main__':
    for ts, key, msgs in parse(sys.argv[1]):
        print('# %s:%d -> %s:%d  %d messages' % (key + (len(msgs),)))
        for m in msgs:
            print('  %-13s %4d %s' % (TYPES.get(m[18], '?'), len(m), m[19:].hex()))
