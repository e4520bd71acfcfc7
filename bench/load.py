#!/usr/bin/env python3
"""Load benchmark (hardening issue): wrk with CONNS (256) connections for DURATION (60) s on a
100-item channel while POLL_SOURCES (200) sources change every second, as in the issue. Reports
socket errors, non-2xx/3xx answers, latency percentiles, and feedloom's peak RSS (VmHWM) and RSS
every second. Done when: zero errors, zero non-2xx/3xx, peak RSS < 300 MB.

Environment: CONNS, DURATION, THREADS (wrk threads, 2), POLL_SOURCES, ITEMS (per polled feed, 20),
CHANNEL_LIMIT (100), FEEDLOOM (binary), MALLOC_ARENA_MAX etc. pass through to the daemon,
KEEP=1 (keep scratch files)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

CONNS = int(os.environ.get("CONNS", "256"))
DURATION = int(os.environ.get("DURATION", "60"))
THREADS = int(os.environ.get("THREADS", "2"))
POLL_SOURCES = int(os.environ.get("POLL_SOURCES", "200"))
ITEMS = int(os.environ.get("ITEMS", "20"))
FL_PORT, ORIGIN = 8090, B.ORIGIN_PORT


def main():
    B.check_tools(B.FEEDLOOM, B.NGINX, B.WRK, B.GEN_FEEDS)
    B.require_ports(FL_PORT, ORIGIN)
    wd = B.workdir("load")
    origin = os.path.join(wd, "origin")
    store = os.path.join(wd, "store.sled")
    B.gen_feeds(os.path.join(origin, "serve"), 1, 100, 1)
    B.gen_feeds(os.path.join(origin, "poll"), POLL_SOURCES, ITEMS, 1)
    poll_names = sorted(os.listdir(os.path.join(origin, "poll")))
    origin_log = os.path.join(wd, "origin-access.log")
    B.nginx("nginx-origin", os.path.join(wd, "nginx-origin"), ORIGIN,
            f"root {origin};", workers=1, access_log=origin_log)
    main_src = ("main", f"http://127.0.0.1:{ORIGIN}/serve/f000.rss.xml", "1h")
    poll_srcs = [(f"p{i}", f"http://127.0.0.1:{ORIGIN}/poll/{n}", "1s") for i, n in enumerate(poll_names)]
    # The served channel holds the 100-item feed and every polled source too, so that it
    # changes (and is rendered again) every second while readers read it.
    served = ("bench", "Bench channel", ["main"] + [s[0] for s in poll_srcs], 100)
    poll_chans = [(f"polled{k}", f"Polled {k}", [s[0] for s in poll_srcs[k:k + 10]], 50)
                  for k in range(0, len(poll_srcs), 10)]
    cfg = B.feedloom_config(os.path.join(wd, "config.toml"), FL_PORT, store,
                            [main_src] + poll_srcs, [served] + poll_chans)
    env = dict(os.environ, FEEDLOOM_LOG=os.environ.get("FEEDLOOM_LOG", "warn"))
    base = f"http://127.0.0.1:{FL_PORT}"
    url = f"{base}/feeds/bench.atom"
    fl = B.start("feedloom", [B.FEEDLOOM, "--config", cfg, "serve"], os.path.join(wd, "feedloom.log"), env=env)
    B.wait_http(f"{base}/healthz", 30, what="feedloom /healthz")
    B.wait_until(lambda: B.http(url)[2].count(b"<entry>") == 100, 60, 0.1, what="100 entries")
    time.sleep(5)
    B.log(f"feedloom up; VmRSS {B.proc_status(fl.pid, 'VmRSS'):.0f} MB before the load")

    stop = threading.Event()
    gens = []
    rss = []

    def regen():
        g = 2
        while not stop.is_set():
            t = time.monotonic()
            B.gen_feeds(os.path.join(origin, "poll"), POLL_SOURCES, ITEMS, g)
            gens.append(g)
            g += 1
            stop.wait(max(0.0, 1.0 - (time.monotonic() - t)))

    def sample():
        while not stop.is_set():
            v = B.proc_status(fl.pid, "VmRSS")
            if v:
                rss.append(v)
            stop.wait(1.0)

    threads = [threading.Thread(target=regen, daemon=True), threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(3)
    with open(origin_log, "rb") as f:
        n0 = sum(1 for _ in f)
    t0 = time.monotonic()
    c0 = B.cpu_seconds(fl.pid)
    B.log(f"wrk -t{THREADS} -c{CONNS} -d{DURATION}s on {url} while {POLL_SOURCES} sources change every second")
    r = B.wrk(url, [], duration=DURATION, threads=THREADS, conns=CONNS)
    cpu = (B.cpu_seconds(fl.pid) - c0) / DURATION
    with open(origin_log, "rb") as f:
        polls = (sum(1 for _ in f) - n0) / (time.monotonic() - t0)
    stop.set()
    for t in threads:
        t.join(30)
    hwm = B.proc_status(fl.pid, "VmHWM")
    renders = [l for l in B.http(f"{base}/metrics")[2].decode().splitlines()
               if l.startswith("feedloom_renders_total")]
    B.stop(fl)

    print(f"\nload benchmark — {B.machine()}")
    B.table(f"wrk -t{THREADS} -c{CONNS} -d{DURATION}s --latency, /feeds/bench.atom (100 items of "
            f"{POLL_SOURCES + 1} sources; {POLL_SOURCES} change every second)",
            ["requests/s", "socket errors", "non-2xx/3xx", "p50 ms", "p90 ms", "p99 ms",
             "peak RSS MB (VmHWM)", "RSS max/last MB", "fl cpu", "origin polls/s", "feed generations"],
            [[r["rps"], r["errors"], r["non2xx3xx"], r["p50"], r["p90"], r["p99"], hwm,
              f"{max(rss):.0f}/{rss[-1]:.0f}" if rss else "-", cpu, polls, len(gens)]])
    print("RSS every 5 s, MB: " + " ".join(f"{v:.0f}" for v in rss[::5]))
    print("renders: " + "; ".join(renders))
    ok = r["errors"] == 0 and r["non2xx3xx"] == 0 and hwm is not None and hwm < 300
    print("targets (0 errors, 0 non-2xx/3xx, peak RSS < 300 MB): " + ("met" if ok else "MISSED"))


if __name__ == "__main__":
    main()
