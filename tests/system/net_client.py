# SPDX-License-Identifier: Apache-2.0
"""A bounded HTTP load client for the network tests, run inside the daemon's
network namespace (Daemon.nsrun): N GET requests to URL, each on a new
connection or on one keep-alive connection, each with a timeout; prints one
JSON object: {"results": [[status, upstream, ms, body_prefix, t], ...]},
status 0 meaning the request failed (refused, reset, timed out), t the wall
clock (time.time()) when the request began.  It stops early once --budget
seconds are over or the file --stop-file names exists.

  net_client.py URL N [--keepalive] [--timeout S] [--interval S] [--budget S] [--stop-file F]
"""
import argparse
import http.client
import json
import os
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("n", type=int)
    ap.add_argument("--keepalive", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--stop-file")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    deadline = time.monotonic() + a.budget
    conn = None
    out = []
    for _ in range(min(a.n, 5000)):
        if time.monotonic() > deadline or (a.stop_file and os.path.exists(a.stop_file)):
            break
        t0, wall = time.monotonic(), time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=a.timeout)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            out.append([r.status, r.getheader("x-skiff-upstream") or "",
                        round((time.monotonic() - t0) * 1000, 2), body[:200].decode("latin-1"), wall])
            if not a.keepalive or r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            out.append([0, "", round((time.monotonic() - t0) * 1000, 2), repr(e)[:200], wall])
            if conn:
                conn.close()
            conn = None
        if a.interval:
            time.sleep(a.interval)
    print(json.dumps({"results": out}))


if __name__ == "__main__":
    main()
