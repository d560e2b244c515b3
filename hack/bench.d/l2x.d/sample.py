#!/usr/bin/env python3
"""Samples processes over a window: CPU (utime+stime from /proc/PID/stat, as % of one core),
memory (VmRSS and VmHWM from /proc/PID/status, summed over the group) and the traffic of eth0
in the group's network namespace (/proc/PID/net/dev of its first process).

usage: sample.py SECONDS LABEL=PID[,PID...] [LABEL=PID,...]...
Prints one JSON object per group (in argument order) on stdout."""
import json, os, sys, time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    # Fields after the ")" of comm: state is field 3, utime 14, stime 15 (proc(5)).
    text = open(f"/proc/{pid}/stat").read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])  # kB
        elif key == "Threads":
            out[key] = int(value)
    return out


def netdev(pid, dev="eth0"):
    for line in open(f"/proc/{pid}/net/dev"):
        name, _, rest = line.partition(":")
        if name.strip() == dev:
            f = rest.split()
            return {"rx_bytes": int(f[0]), "rx_packets": int(f[1]), "tx_bytes": int(f[8]), "tx_packets": int(f[9])}
    return {"rx_bytes": 0, "rx_packets": 0, "tx_bytes": 0, "tx_packets": 0}


def main():
    seconds = float(sys.argv[1])
    groups = []
    for arg in sys.argv[2:]:
        label, _, pids = arg.rpartition("=")
        groups.append((label, [int(p) for p in pids.split(",") if p]))
    start = time.monotonic()
    before = {label: ([cpu_ticks(p) for p in pids], netdev(pids[0])) for label, pids in groups}
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    for label, pids in groups:
        ticks0, net0 = before[label]
        ticks = [cpu_ticks(p) - t for p, t in zip(pids, ticks0)]
        net1 = netdev(pids[0])
        st = [status(p) for p in pids]
        print(json.dumps({
            "label": label,
            "seconds": round(elapsed, 2),
            "cpu_percent": [round(100.0 * t / TICK / elapsed, 3) for t in ticks],
            "cpu_percent_total": round(100.0 * sum(ticks) / TICK / elapsed, 3),
            "rss_kb": [s.get("VmRSS", 0) for s in st],
            "hwm_kb": [s.get("VmHWM", 0) for s in st],
            "threads": [s.get("Threads", 0) for s in st],
            "tx_pps": round((net1["tx_packets"] - net0["tx_packets"]) / elapsed, 1),
            "tx_Bps": round((net1["tx_bytes"] - net0["tx_bytes"]) / elapsed, 0),
            "rx_pps": round((net1["rx_packets"] - net0["rx_packets"]) / elapsed, 1),
            "rx_Bps": round((net1["rx_bytes"] - net0["rx_bytes"]) / elapsed, 0),
        }), flush=True)


if __name__ == "__main__":
    main()
