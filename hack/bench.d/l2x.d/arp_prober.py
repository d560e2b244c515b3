#!/usr/bin/env python3
"""Sends broadcast ARP requests (RFC 826) for TARGETS round robin, one every INTERVAL seconds,
for DURATION seconds, from the interface's MAC and SOURCE_IP: the request side of
hack/bench.d/l2-stress (a tcpdump in the same namespace sees the answers). Spawning arping per
request would cost more CPU than the requests themselves on a machine kept busy on purpose.

usage: arp_prober.py IFACE SOURCE_IP INTERVAL DURATION FIRST_TARGET COUNT
Prints the number of requests sent on exit (also on SIGTERM/SIGINT)."""
import ipaddress, signal, socket, sys, time

iface, source, interval, duration, first, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
src_ip = ipaddress.ip_address(source).packed
targets = [(ipaddress.ip_address(first) + i).packed for i in range(count)]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
stop = False
def on_signal(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
sent = 0
start = time.monotonic()
next_at = start
while not stop and time.monotonic() - start < duration:
    target = targets[sent % count]
    # Ethernet broadcast, EtherType ARP; ARP: Ethernet/IPv4, op 1 (request), target MAC zero.
    frame = b"\xff" * 6 + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" + mac + src_ip + b"\x00" * 6 + target
    try:
        s.send(frame)
        sent += 1
    except OSError:
        pass
    next_at += interval
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    else:
        next_at = time.monotonic()  # late (CPU starved): do not burst to catch up
print(sent, flush=True)
