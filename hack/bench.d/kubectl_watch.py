#!/usr/bin/env python3
"""kubectl as the peer in hack/bench kube.

list KUBECTL KUBECONFIG NS N : `kubectl get configmaps -w -o name`; prints the ms until N names
                               were printed (the initial list) and kubectl's peak RSS in MB.
lag  KUBECTL KUBECONFIG NS N : `kubectl get configmaps --watch-only` printing each object's
                               data.ts (ns since the epoch, set by the writer); prints events,
                               events/s, and lag p50/p99/max in ms once N events arrived.
"""
import subprocess, sys, time


def peak_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def main():
    mode, kubectl, kc, ns, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    if mode == "list":
        start = time.monotonic()
        p = subprocess.Popen([kubectl, "--kubeconfig", kc, "get", "configmaps", "-n", ns, "-w", "-o", "name"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen = 0
        for _ in p.stdout:
            seen += 1
            if seen >= n:
                break
        ms = (time.monotonic() - start) * 1000
        rss = peak_rss_mb(p.pid)
        p.kill(); p.wait()
        print(round(ms), rss)
    else:
        p = subprocess.Popen([kubectl, "--kubeconfig", kc, "get", "configmaps", "-n", ns, "--watch-only",
                              "-o", "jsonpath={.data.ts}{\"\\n\"}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lags, first, last = [], None, None
        deadline = time.monotonic() + 300
        for line in p.stdout:
            now = time.time_ns()
            try:
                ts = int(line.strip() or b"0")
            except ValueError:
                continue
            if ts <= 0:
                continue
            lags.append((now - ts) / 1e6)
            t = time.monotonic()
            first = first or t
            last = t
            if len(lags) >= n or t > deadline:
                break
        p.kill(); p.wait()
        lags.sort()
        def pct(q):
            return lags[min(len(lags) - 1, int(len(lags) * q))] if lags else 0
        span = (last - first) if first and last and last > first else 0
        print(len(lags), (len(lags) / span) if span else 0, pct(0.5), pct(0.99), lags[-1] if lags else 0)


if __name__ == "__main__":
    main()
