#!/usr/bin/env python3
"""Serve benchmark (issue 6): feedloom's cached feed vs nginx serving a static copy of the same
bytes. See bench/README.md. Environment: DURATION (s per wrk run, default 10), CONNS (64),
THREADS (2), POLL_SOURCES (200), REPEAT (3), WORKERS (feedloom server threads; default: its own),
IDLE_ONLY=1 (skip the polling cases), FEEDLOOM (binary), KEEP=1 (keep scratch files)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "64"))
THREADS = int(os.environ.get("THREADS", "2"))
POLL_SOURCES = int(os.environ.get("POLL_SOURCES", "200"))
WORKERS = int(os.environ.get("WORKERS", "0")) or None  # feedloom server.workers (default: cores)
REPEAT = int(os.environ.get("REPEAT", "3"))  # idle cases: runs per server, alternating; median kept
FL_PORT, NGX_PORT, ORIGIN = 8090, 8091, B.ORIGIN_PORT
CHANNEL = "bench"


def main():
    B.check_tools(B.FEEDLOOM, B.NGINX, B.WRK, B.GEN_FEEDS)
    B.require_ports(FL_PORT, NGX_PORT, ORIGIN)
    wd = B.workdir("serve")
    origin = os.path.join(wd, "origin")
    static = os.path.join(wd, "static")
    os.makedirs(static)
    store = os.path.join(wd, "store.sled")

    # Origin: one 100-item RSS feed for the served channel, 200 x 20-item feeds to poll.
    B.gen_feeds(os.path.join(origin, "serve"), 1, 100, 1)
    B.gen_feeds(os.path.join(origin, "poll"), POLL_SOURCES, 20, 1)
    poll_names = sorted(os.listdir(os.path.join(origin, "poll")))
    origin_log = os.path.join(wd, "origin-access.log")
    B.nginx("nginx-origin", os.path.join(wd, "nginx-origin"), ORIGIN,
            f"root {origin};", workers=1, access_log=origin_log)

    main_src = ("main", f"http://127.0.0.1:{ORIGIN}/serve/f000.rss.xml", "1h")
    served = (CHANNEL, "Bench channel", ["main"], 100)
    cfg_idle = B.feedloom_config(os.path.join(wd, "idle.toml"), FL_PORT, store, [main_src], [served],
                                 workers=WORKERS)
    poll_srcs = [(f"p{i}", f"http://127.0.0.1:{ORIGIN}/poll/{n}", "1s") for i, n in enumerate(poll_names)]
    # The polled sources feed their own channels (10 sources each), not the benchmarked one.
    poll_chans = [(f"polled{k}", f"Polled {k}", [s[0] for s in poll_srcs[k:k + 10]], 50)
                  for k in range(0, len(poll_srcs), 10)]
    cfg_poll = B.feedloom_config(os.path.join(wd, "polling.toml"), FL_PORT, store,
                                 [main_src] + poll_srcs, [served] + poll_chans, workers=WORKERS)

    fl_log = os.path.join(wd, "feedloom.log")
    env = dict(os.environ, FEEDLOOM_LOG=os.environ.get("FEEDLOOM_LOG", "warn"))
    base = f"http://127.0.0.1:{FL_PORT}"
    url = f"{base}/feeds/{CHANNEL}.atom"

    def start_feedloom(cfg):
        p = B.start("feedloom", [B.FEEDLOOM, "--config", cfg, "serve"], fl_log, env=env)
        B.wait_http(f"{base}/healthz", 30, what="feedloom /healthz")
        B.wait_until(lambda: B.http(url)[2].count(b"<entry>") == 100, 60, 0.1,
                     what="the bench channel to hold 100 entries")
        return p

    B.log("starting feedloom (one 100-item channel, nothing else polled)")
    fl = start_feedloom(cfg_idle)
    st, h, body = B.http(url)
    gst, gh, gz = B.http(url, {"Accept-Encoding": "gzip"})
    import gzip as gzmod
    if gh.get("content-encoding") != "gzip" or gzmod.decompress(gz) != body:
        B.die("feedloom's gzip answer does not decompress to its plain answer")
    etag = h["etag"]
    with open(os.path.join(static, f"{CHANNEL}.atom"), "wb") as f:
        f.write(body)
    with open(os.path.join(static, f"{CHANNEL}.atom.gz"), "wb") as f:
        f.write(gz)
    B.log(f"feed: {len(body)} bytes plain, {len(gz)} gzip (feedloom's own gzip bytes), ETag {etag}")

    B.nginx("nginx-static", os.path.join(wd, "nginx-static"), NGX_PORT,
            f"root {static};\n        gzip_static on;\n        etag on;\n"
            "        open_file_cache max=64 inactive=60s;\n        open_file_cache_valid 60s;\n        gzip_vary on;",
            # As many workers as feedloom has serving threads: the fair comparison.
            workers=WORKERS or os.cpu_count())
    nurl = f"http://127.0.0.1:{NGX_PORT}/{CHANNEL}.atom"
    nst, nh, nbody = B.http(nurl)
    ngst, ngh, ngz = B.http(nurl, {"Accept-Encoding": "gzip"})
    if nbody != body or ngz != gz or ngh.get("content-encoding") != "gzip":
        B.die("nginx does not serve the same bytes as feedloom")
    netag = nh["etag"]
    if B.http(url, {"If-None-Match": etag})[0] != 304 or B.http(nurl, {"If-None-Match": netag})[0] != 304:
        B.die("a conditional request did not get a 304")

    cases = [
        ("atom, plain", [], []),
        ("atom, gzip", ["Accept-Encoding: gzip"], ["Accept-Encoding: gzip"]),
        ("304 (If-None-Match)", [f"If-None-Match: {etag}"], [f"If-None-Match: {netag}"]),
    ]
    results = {}

    def run(label, target, headers, pid=None):
        B.wrk(target, headers, duration=2, threads=THREADS, conns=CONNS)  # warm-up
        c0 = B.cpu_seconds(pid) if pid else None
        r = B.wrk(target, headers, duration=DURATION, threads=THREADS, conns=CONNS)
        if pid:
            r["cpu"] = (B.cpu_seconds(pid) - c0) / DURATION
        if r["non2xx3xx"] or r["errors"]:
            B.log(f"{label}: {r['non2xx3xx']} non-2xx/3xx answers, {r['errors']} socket errors")
        B.log(f"{label}: {r['rps']:.0f} req/s p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms")
        results[label] = r
        return r

    spread = {}
    for name, fh, nh_ in cases:
        runs = {"feedloom": [], "nginx": []}
        for _ in range(REPEAT):
            runs["feedloom"].append(run(f"feedloom {name}", url, fh, fl.pid))
            runs["nginx"].append(run(f"nginx {name}", nurl, nh_))
        for who, rs in runs.items():
            rs.sort(key=lambda r: r["rps"])
            results[f"{who} {name}"] = rs[len(rs) // 2]
            spread[f"{who} {name}"] = (rs[0]["rps"], rs[-1]["rps"])

    if os.environ.get("IDLE_ONLY") == "1":  # quick comparisons while tuning
        B.stop(fl)
        for name, _, _ in cases:
            f, n = results[f"feedloom {name}"], results[f"nginx {name}"]
            print(f"{name:22} feedloom {f['rps']:>9,.0f}  nginx {n['rps']:>9,.0f}  ratio {B.ratio(f['rps'], n['rps'])}"
                  f"  p99 {f['p99']:.1f}/{n['p99']:.1f} ms  fl cpu {f['cpu']:.2f}")
        return
    # Serve while polling: same channel, while the daemon polls POLL_SOURCES sources every 1 s.
    B.log("restarting feedloom with %d extra sources polled every 1s" % POLL_SOURCES)
    B.stop(fl)
    fl = start_feedloom(cfg_poll)
    if B.http(url)[1].get("etag") != etag:
        B.die("the channel's ETag changed across the restart (rendering is not deterministic?)")
    # Let the first polls (spread over the first second) settle into the 1 s rhythm.
    time.sleep(5)

    def origin_requests():
        with open(origin_log, "rb") as f:
            return sum(1 for _ in f)

    def polling_run(label, target, headers, pid, regenerate):
        stop_gen = threading.Event()
        gens = []

        def regen():
            g = 2
            while not stop_gen.is_set():
                t = time.monotonic()
                B.gen_feeds(os.path.join(origin, "poll"), POLL_SOURCES, 20, g)
                gens.append(g)
                g += 1
                stop_gen.wait(max(0.0, 1.0 - (time.monotonic() - t)))

        th = None
        if regenerate:
            th = threading.Thread(target=regen, daemon=True)
            th.start()
            time.sleep(3)
        time.sleep(1.5)  # origin log flushes every second
        n0, t0 = origin_requests(), time.monotonic()
        c0 = B.cpu_seconds(pid)
        r = run(label, target, headers)
        r["cpu"] = (B.cpu_seconds(pid) - c0) / (DURATION + 2)
        time.sleep(1.5)
        r["origin_rps"] = (origin_requests() - n0) / (time.monotonic() - t0)
        if th:
            stop_gen.set()
            th.join(30)
            r["gens"] = len(gens)
        B.log(f"  origin requests/s during the run: {r['origin_rps']:.0f}")
        return r

    polling_run("feedloom atom, plain, polling (304s)", url, [], fl.pid, False)
    polling_run("feedloom atom, gzip, polling (304s)", url, ["Accept-Encoding: gzip"], fl.pid, False)
    polling_run("nginx atom, plain, feedloom polling (304s)", nurl, [], fl.pid, False)
    polling_run("feedloom atom, plain, polling (new items)", url, [], fl.pid, True)
    polling_run("nginx atom, plain, feedloom polling (new items)", nurl, [], fl.pid, True)
    B.stop(fl)

    # ---- report
    print(f"\nserve benchmark — {B.machine()}")
    print(f"wrk -t{THREADS} -c{CONNS} -d{DURATION}s --latency; feed: /feeds/{CHANNEL}.atom, 100 items, "
          f"{len(body)} B plain / {len(gz)} B gzip; nginx: {WORKERS or os.cpu_count()} workers (as many as feedloom), sendfile on, gzip_static on, "
          f"open_file_cache, same bytes")
    rows = []
    for name, _, _ in cases:
        f, n = results[f"feedloom {name}"], results[f"nginx {name}"]
        rows.append([name, f["rps"], n["rps"], B.ratio(f["rps"], n["rps"]),
                     f["p50"], n["p50"], f["p99"], n["p99"], f["cpu"]])
    for name, peer in [("atom, plain, polling (304s)", "nginx atom, plain, feedloom polling (304s)"),
                       ("atom, gzip, polling (304s)", "nginx atom, gzip"),
                       ("atom, plain, polling (new items)", "nginx atom, plain, feedloom polling (new items)")]:
        f, n = results[f"feedloom {name}"], results[peer]
        rows.append([name, f["rps"], n["rps"], B.ratio(f["rps"], n["rps"]),
                     f["p50"], n["p50"], f["p99"], n["p99"], f["cpu"]])
    B.table(f"requests/s and latency (ms); idle cases: median of {REPEAT} alternating runs (the run with the "
            "median rps); polling cases: one run each; cpu = feedloom CPU cores used during the run",
            ["case", "feedloom rps", "nginx rps", "ratio", "fl p50", "ngx p50", "fl p99", "ngx p99", "fl cpu"],
            rows)
    B.table("run-to-run spread of the idle cases (requests/s, min - max)",
            ["case", "feedloom", "nginx"],
            [[name] + [f"{spread[f'{w} {name}'][0]:,.0f} - {spread[f'{w} {name}'][1]:,.0f}" for w in ("feedloom", "nginx")]
             for name, _, _ in cases])
    idle = results["feedloom atom, plain"]["rps"]
    rows = []
    for name in ["atom, plain, polling (304s)", "atom, plain, polling (new items)"]:
        r = results[f"feedloom {name}"]
        rows.append([name, idle, r["rps"], B.ratio(r["rps"], idle), r["origin_rps"],
                     str(r.get("gens", "-"))])
    idle_g = results["feedloom atom, gzip"]["rps"]
    r = results["feedloom atom, gzip, polling (304s)"]
    rows.append(["atom, gzip, polling (304s)", idle_g, r["rps"], B.ratio(r["rps"], idle_g), r["origin_rps"], "-"])
    B.table(f"serve while polling ({POLL_SOURCES} sources, interval 1s, concurrency 16, per_host 16): "
            "feedloom idle vs polling",
            ["case", "idle rps", "polling rps", "ratio", "origin req/s", "regenerations"], rows)
    print("\nnginx rows marked 'feedloom polling' ran while the feedloom daemon polled in the background; "
          "the gzip polling row compares with idle nginx gzip.")
    errs = {k: (v["non2xx3xx"], v["errors"]) for k, v in results.items() if v["non2xx3xx"] or v["errors"]}
    if errs:
        print("runs with non-2xx/3xx answers or socket errors (count, errors):", errs)


if __name__ == "__main__":
    main()
