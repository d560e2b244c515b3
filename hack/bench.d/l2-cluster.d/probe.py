#!/usr/bin/env python3
"""HTTP prober for hack/bench l2-cluster, run in the client's network namespace.

Starts one request (a new TCP connection, GET PATH, the whole answer read) every INTERVAL
seconds, each allowed TIMEOUT seconds, until the file STOP exists (or --seconds pass). Every
request becomes one line of OUT: {"start": wall seconds, "end": wall seconds, "ok": bool,
"error": text}. Wall-clock times (time.time()) so that the bench script's `date +%s.%N` lines up.
"""
import argparse
import asyncio
import json
import os
import time


async def one(ip, port, path, timeout):
    start = time.time()
    try:
        async def go():
            reader, writer = await asyncio.open_connection(ip, port)
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
            await writer.drain()
            data = await reader.read()
            writer.close()
            return data
        data = await asyncio.wait_for(go(), timeout)
        ok = data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]
        return {"start": start, "end": time.time(), "ok": ok, "error": "" if ok else data[:40].decode("latin-1")}
    except Exception as e:  # timeouts, resets, unreachable: all are failures
        return {"start": start, "end": time.time(), "ok": False, "error": type(e).__name__}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--path", default="/cgi-bin/ip")
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pending = set()
    t0 = time.monotonic()
    n = 0
    with open(a.out, "w", buffering=1) as out:
        async def run():
            out.write(json.dumps(await one(a.ip, a.port, a.path, a.timeout)) + "\n")
        while not os.path.exists(a.stop) and time.monotonic() - t0 < a.seconds:
            task = asyncio.ensure_future(run())
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            # Paced on the schedule, not on the previous request: a slow answer does not slow the probe.
            delay = t0 + n * a.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if pending:
            await asyncio.wait(pending)


if __name__ == "__main__":
    asyncio.run(main())
