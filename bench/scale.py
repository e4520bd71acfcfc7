#!/usr/bin/env python3
"""Scale benchmark (issue 6): 10,000 sources from a local nginx origin, the daemon running for a
few poll cycles: peak RSS, start-up time to /healthz and to the first served feed, and how polls
spread over time (origin requests per second). Then a restart on the populated store.
See bench/README.md. Environment: SOURCES (10000), ITEMS (3), INTERVAL (60), DURATION (210 s of
running), PER_CHANNEL (10 sources per channel), CONCURRENCY (16), PER_HOST (16), FEEDLOOM, KEEP=1."""

import collections
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SOURCES = int(os.environ.get("SOURCES", "10000"))
ITEMS = int(os.environ.get("ITEMS", "3"))
INTERVAL = int(os.environ.get("INTERVAL", "60"))
DURATION = int(os.environ.get("DURATION", "210"))
PER_CHANNEL = int(os.environ.get("PER_CHANNEL", "10"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
PER_HOST = int(os.environ.get("PER_HOST", "16"))
FL_PORT, ORIGIN = 8094, B.ORIGIN_PORT


def main():
    B.check_tools(B.FEEDLOOM, B.NGINX, B.GEN_FEEDS)
    B.require_ports(FL_PORT, ORIGIN)
    wd = B.workdir("scale")
    origin = os.path.join(wd, "origin")
    B.log(f"generating {SOURCES} feeds x {ITEMS} items")
    names = B.gen_feeds(origin, SOURCES, ITEMS, 1)
    origin_log = os.path.join(wd, "origin-access.log")
    B.nginx("nginx-origin", os.path.join(wd, "nginx-origin"), ORIGIN, f"root {origin};",
            workers=1, access_log=origin_log)
    srcs = [(f"s{i}", f"http://127.0.0.1:{ORIGIN}/{n}", f"{INTERVAL}s") for i, n in enumerate(names)]
    chans = [(f"c{k // PER_CHANNEL}", f"Channel {k // PER_CHANNEL}", [s[0] for s in srcs[k:k + PER_CHANNEL]], 50)
             for k in range(0, len(srcs), PER_CHANNEL)]
    store = os.path.join(wd, "store.sled")
    cfg = B.feedloom_config(os.path.join(wd, "scale.toml"), FL_PORT, store, srcs, chans,
                            concurrency=CONCURRENCY, per_host=PER_HOST)
    env = dict(os.environ, FEEDLOOM_LOG=os.environ.get("FEEDLOOM_LOG", "warn"))
    base = f"http://127.0.0.1:{FL_PORT}"
    feed_url = f"{base}/feeds/c0.atom"
    fl_log = os.path.join(wd, "feedloom.log")

    def start_and_time(label):
        t0 = time.monotonic()
        p = B.start("feedloom", [B.FEEDLOOM, "--config", cfg, "serve"], fl_log, env=env)
        B.wait_until(lambda: B.http(f"{base}/healthz", timeout=10)[0] == 200 or p.poll() is not None,
                     60, 0.01, "/healthz")
        if p.poll() is not None:
            B.die(f"feedloom exited with {p.returncode}; see {fl_log}")
        t_health = time.monotonic() - t0
        B.wait_until(lambda: B.http(feed_url, timeout=10)[0] == 200, 60, 0.01, "first feed")
        t_feed = time.monotonic() - t0
        t_items = None
        if label == "cold":
            B.wait_until(lambda: b"<entry>" in B.http(feed_url, timeout=10)[2], 120, 0.05,
                         "the first feed with items")
            t_items = time.monotonic() - t0
        B.log(f"{label} start: /healthz {t_health:.3f}s, first feed {t_feed:.3f}s"
              + (f", first feed with items {t_items:.3f}s" if t_items else ""))
        return p, t0, t_health, t_feed, t_items

    B.log(f"{SOURCES} sources, interval {INTERVAL}s, {len(chans)} channels; running {DURATION}s")
    fl, t0, t_health, t_feed, t_items = start_and_time("cold")
    wall0 = time.time() - (time.monotonic() - t0)
    rss_samples = []
    cpu0 = B.cpu_seconds(fl.pid)
    stop_sampler = threading.Event()

    def sampler():
        while not stop_sampler.is_set():
            v = B.proc_status(fl.pid, "VmRSS")
            if v is not None:
                rss_samples.append((time.monotonic() - t0, v))
            stop_sampler.wait(1.0)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    lat = []
    deadline = t0 + DURATION
    while time.monotonic() < deadline:
        # A reader asking for a feed every 2 s during the run: is the daemon responsive?
        a = time.monotonic()
        st = B.http(f"{base}/feeds/c{int(a) % len(chans)}.atom", timeout=10)[0]
        lat.append((time.monotonic() - a) * 1000 if st == 200 else float("nan"))
        time.sleep(max(0.0, min(2.0, deadline - time.monotonic())))
    stop_sampler.set()
    th.join(5)
    hwm = B.proc_status(fl.pid, "VmHWM")
    rss_parts = {k: B.proc_status(fl.pid, k) for k in ("RssAnon", "RssFile", "VmRSS")}
    threads = B.proc_status(fl.pid, "Threads")
    cpu = B.cpu_seconds(fl.pid) - cpu0
    run_s = time.monotonic() - t0
    st, _, body = B.http(f"{base}/api/sources", timeout=30)
    import json
    api = json.loads(body) if st == 200 else []
    status = collections.Counter(s["status"] for s in api)
    stop_s = B.stop(fl, timeout=30)
    B.log(f"stopped in {stop_s:.2f}s; VmHWM {hwm:.1f} MB; CPU {cpu:.1f}s over {run_s:.0f}s; statuses {dict(status)}")

    # Polls per second from the origin's access log.
    time.sleep(1.5)
    per_sec = collections.Counter()
    per_src = collections.Counter()
    statuses = collections.Counter()
    with open(origin_log) as f:
        for line in f:
            ts, code, uri = line.split()[:3]
            if not uri.endswith(".xml"):
                continue  # the script's own probes
            per_sec[int(float(ts) - wall0)] += 1
            per_src[uri] += 1
            statuses[code] += 1
    secs = list(range(0, int(run_s)))
    counts = [per_sec.get(s, 0) for s in secs]
    total = sum(counts)
    spread = min(0.005 * SOURCES, INTERVAL, 120)
    steady = counts[int(INTERVAL * 1.1) + 5:]  # after every source had its first poll and one interval

    def stats(xs):
        if not xs:
            return ["-"] * 5
        return [statistics.mean(xs), statistics.pstdev(xs), min(xs), max(xs),
                sorted(xs)[int(0.99 * (len(xs) - 1))]]

    # Restart on the populated store.
    fl2, t02, t_health2, t_feed2, _ = start_and_time("warm")
    time.sleep(10)
    hwm2 = B.proc_status(fl2.pid, "VmHWM")
    B.stop(fl2, timeout=30)
    store_mb = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(store) for f in fs) / 1e6

    print(f"\nscale benchmark — {B.machine()}")
    print(f"{SOURCES} sources x {ITEMS}-item feeds from nginx (1 worker) on 127.0.0.1:{ORIGIN}, interval "
          f"{INTERVAL}s (±10% jitter), {len(chans)} channels of {PER_CHANNEL} sources; [poll] concurrency "
          f"{CONCURRENCY}, per_host {PER_HOST}; daemon ran {run_s:.0f}s; store {store_mb:.0f} MB on disk")
    t3 = lambda v: B.fmt(v, 3)  # noqa: E731
    B.table("memory and start-up (targets: peak RSS < 150 MB, start-up < 2 s)",
            ["figure", "value", "target", "value/target"],
            [["peak RSS (VmHWM), MB, cold start + run", hwm, 150, B.ratio(hwm, 150)],
             ["peak RSS (VmHWM), MB, warm restart + 10 s", hwm2, 150, B.ratio(hwm2, 150)],
             ["cold start: exec -> /healthz 200, s", t3(t_health), 2, B.ratio(t_health, 2)],
             ["cold start: exec -> first feed 200, s", t3(t_feed), 2, B.ratio(t_feed, 2)],
             ["cold start: exec -> first feed with items, s", t3(t_items), "-", "-"],
             ["warm restart: exec -> /healthz 200, s", t3(t_health2), 2, B.ratio(t_health2, 2)],
             ["warm restart: exec -> first feed 200, s", t3(t_feed2), 2, B.ratio(t_feed2, 2)],
             ["shutdown (SIGTERM -> exit), s", t3(stop_s), "-", "-"],
             ["daemon CPU, cores used on average", t3(cpu / run_s), "-", "-"],
             ["feed request during the run, median ms", B.median(lat), "-", "-"],
             ["feed request during the run, max ms", max([x for x in lat if x == x] or [float("nan")]), "-", "-"]])
    ideal = SOURCES / INTERVAL
    B.table(f"origin requests per second (ideal steady rate {ideal:.0f}/s; first polls spread over "
            f"{spread:.0f}s)", ["window", "mean", "stdev", "min", "max", "p99", "mean/ideal"],
            [["whole run (%ds)" % len(counts)] + stats(counts) + [B.ratio(statistics.mean(counts), ideal)],
             [f"steady state (from {int(INTERVAL * 1.1) + 5}s)"] + stats(steady)
             + [B.ratio(statistics.mean(steady), ideal) if steady else "-"]])
    print("\nrequests per 10 s window from start: " + " ".join(
        str(sum(counts[i:i + 10])) for i in range(0, len(counts), 10)))
    polls = collections.Counter(per_src.values())
    print(f"origin requests {total} ({dict(statuses)}); sources polled n times: "
          + ", ".join(f"{n}x: {c}" for n, c in sorted(polls.items()))
          + f"; never polled: {SOURCES - len(per_src)}")
    print(f"/api/sources statuses at the end: {dict(status)}")
    peak = max(rss_samples, key=lambda x: x[1]) if rss_samples else (0, 0)
    print("RSS at the end of the run, MB: " + ", ".join(f"{k} {v:.1f}" for k, v in rss_parts.items() if v is not None)
          + f"; threads {threads * 1024 if threads else 0:.0f}")
    print("VmRSS every 30 s, MB: " + " ".join(f"{t:.0f}s:{v:.0f}" for t, v in rss_samples[::30]))
    print(f"RSS samples: max {peak[1]:.1f} MB at {peak[0]:.0f}s; at end {rss_samples[-1][1] if rss_samples else 0:.1f} MB")


if __name__ == "__main__":
    main()
