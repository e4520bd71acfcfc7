#!/usr/bin/env python3
"""Ingest benchmark (issue 6): one refresh cycle of 200 local feeds, feedloom `poll` vs
`miniflux -refresh-feeds`, with 20 new items per feed and with every feed unchanged (304).
See bench/README.md. Environment: FEEDS (200), ITEMS (20), ROUNDS (3), WORKERS (16: Miniflux
WORKER_POOL_SIZE and feedloom [poll] concurrency and per_host), FEEDLOOM, KEEP=1."""

import collections
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import base64
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

FEEDS = int(os.environ.get("FEEDS", "200"))
ITEMS = int(os.environ.get("ITEMS", "20"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
WORKERS = int(os.environ.get("WORKERS", "16"))
ORIGIN, MF_PORT = B.ORIGIN_PORT, 8092
DB = os.environ.get("MINIFLUX_DB", "feedloom_bench_miniflux")
PGURL = f"postgres://miniflux:secret@127.0.0.1:5432/{DB}?sslmode=disable"
MINIFLUX = os.environ.get("MINIFLUX", "miniflux")


def psql_admin(sql, db="postgres"):
    r = subprocess.run(["su", "postgres", "-c", f"psql -q -d {db} -tAc \"{sql}\""],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        B.die(f"psql as postgres failed: {sql}: {r.stderr}")
    return r.stdout.strip()


def psql(sql):
    r = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "miniflux", "-d", DB, "-tAc", sql],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, PGPASSWORD="secret"))
    if r.returncode != 0:
        B.die(f"psql failed: {sql}: {r.stderr}")
    return r.stdout.strip()


def main():
    B.check_tools(B.FEEDLOOM, B.NGINX, B.GEN_FEEDS, MINIFLUX, "psql")
    B.require_ports(ORIGIN, MF_PORT)
    if psql_admin("select 1") != "1":
        B.die("PostgreSQL is not running (bash ../shared/bench/setup-peers.sh)")
    wd = B.workdir("ingest")
    origin = os.path.join(wd, "origin")
    names = B.gen_feeds(origin, FEEDS, ITEMS, 1)
    origin_log = os.path.join(wd, "origin-access.log")
    B.nginx("nginx-origin", os.path.join(wd, "nginx-origin"), ORIGIN, f"root {origin};",
            workers=1, access_log=origin_log)
    urls = [f"http://127.0.0.1:{ORIGIN}/{n}" for n in names]

    def origin_mark():
        time.sleep(1.3)  # the access log is flushed every second
        with open(origin_log, "rb") as f:
            return len(f.readlines())

    def origin_since(mark):
        time.sleep(1.3)
        with open(origin_log, "rb") as f:
            lines = f.readlines()[mark:]
        c = collections.Counter(line.split()[1].decode() for line in lines)
        return len(lines), dict(c)

    # ---- feedloom
    store = os.path.join(wd, "feedloom.sled")
    srcs = [(f"f{i}", u, "30m") for i, u in enumerate(urls)]
    chans = [(f"c{k}", f"Channel {k}", [s[0] for s in srcs[k:k + 20]], 50) for k in range(0, len(srcs), 20)]
    cfg = B.feedloom_config(os.path.join(wd, "feedloom.toml"), 8093, store, srcs, chans,
                            concurrency=WORKERS, per_host=WORKERS)
    fl_env = dict(os.environ, FEEDLOOM_LOG=os.environ.get("FEEDLOOM_LOG", "warn"))

    def feedloom_poll(label):
        mark = origin_mark()
        t0 = time.monotonic()
        r = subprocess.run([B.FEEDLOOM, "--config", cfg, "poll"], capture_output=True, text=True,
                           timeout=600, env=fl_env)
        wall = time.monotonic() - t0
        with open(os.path.join(wd, f"feedloom-{label}.out"), "w") as f:
            f.write(r.stdout + "\n--- stderr\n" + r.stderr)
        if r.returncode != 0:
            B.die(f"feedloom poll failed (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        new = sum(int(x) for x in re.findall(r"\bnew=(\d+)", r.stdout))
        unchanged = sum(int(x) for x in re.findall(r"\bunchanged=(\d+)", r.stdout))
        outcomes = collections.Counter(line.split()[1] for line in r.stdout.splitlines() if line.strip())
        reqs, statuses = origin_since(mark)
        B.log(f"feedloom {label}: {wall:.3f}s new={new} unchanged={unchanged} outcomes={dict(outcomes)} "
              f"origin requests={reqs} {statuses}")
        return {"wall": wall, "new": new, "reqs": reqs, "statuses": statuses}

    # ---- Miniflux
    mf_dir = os.path.join(wd, "miniflux")
    os.makedirs(mf_dir)
    common = [f"DATABASE_URL={PGURL}", f"LISTEN_ADDR=127.0.0.1:{MF_PORT}", "POLLING_FREQUENCY=1440",
              "BATCH_SIZE=1000", f"WORKER_POOL_SIZE={WORKERS}", "LOG_LEVEL=info"]
    server_conf = os.path.join(mf_dir, "server.conf")
    with open(server_conf, "w") as f:
        f.write("\n".join(common + ["RUN_MIGRATIONS=1", "CREATE_ADMIN=1", "ADMIN_USERNAME=admin",
                                    "ADMIN_PASSWORD=adminpass123"]) + "\n")
    refresh_conf = os.path.join(mf_dir, "refresh.conf")
    with open(refresh_conf, "w") as f:
        f.write("\n".join(common) + "\n")
    psql_admin(f"DROP DATABASE IF EXISTS {DB}")
    psql_admin(f"CREATE DATABASE {DB} OWNER miniflux")
    psql_admin("CREATE EXTENSION IF NOT EXISTS hstore", db=DB)

    def miniflux_refresh(label):
        psql("update feeds set next_check_at = now() - interval '1 minute'")
        before = int(psql("select count(*) from entries"))
        mark = origin_mark()
        t0 = time.monotonic()
        r = subprocess.run([MINIFLUX, "-c", refresh_conf, "-refresh-feeds"], capture_output=True,
                           text=True, timeout=600)
        wall = time.monotonic() - t0
        with open(os.path.join(mf_dir, f"refresh-{label}.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            B.die(f"miniflux -refresh-feeds failed: {r.stderr[-3000:]}")
        new = int(psql("select count(*) from entries")) - before
        errors = int(psql("select count(*) from feeds where parsing_error_count > 0"))
        reqs, statuses = origin_since(mark)
        B.log(f"miniflux {label}: {wall:.3f}s new={new} feeds with errors={errors} "
              f"origin requests={reqs} {statuses}")
        return {"wall": wall, "new": new, "reqs": reqs, "statuses": statuses, "errors": errors}

    # Initial state: feedloom polls once; Miniflux gets its feeds through the API (which fetches them).
    B.log(f"{FEEDS} feeds x {ITEMS} items; feedloom and Miniflux parallelism {WORKERS}")
    init_fl = feedloom_poll("initial")
    mf = B.start("miniflux", [MINIFLUX, "-c", server_conf], os.path.join(mf_dir, "server.log"))
    B.wait_until(lambda: B.http(f"http://127.0.0.1:{MF_PORT}/healthcheck")[0] == 200, 60,
                 what="miniflux /healthcheck")
    auth = "Basic " + base64.b64encode(b"admin:adminpass123").decode()

    def api(method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{MF_PORT}/v1{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    cat = api("GET", "/categories")[0]["id"]
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda u: api("POST", "/feeds", {"feed_url": u, "category_id": cat}), urls))
    add_wall = time.monotonic() - t0
    B.stop(mf)
    n_feeds = int(psql("select count(*) from feeds"))
    n_entries = int(psql("select count(*) from entries"))
    B.log(f"miniflux: {n_feeds} feeds added through the API in {add_wall:.1f}s (4 at a time), {n_entries} entries")
    if n_feeds != FEEDS or n_entries != FEEDS * ITEMS:
        B.die(f"miniflux holds {n_feeds} feeds and {n_entries} entries, expected {FEEDS} and {FEEDS * ITEMS}")

    res = collections.defaultdict(list)
    for rnd in range(ROUNDS):
        gen = rnd + 2
        B.gen_feeds(origin, FEEDS, ITEMS, gen)
        B.log(f"round {rnd + 1}/{ROUNDS}: GEN={gen}, {FEEDS * ITEMS} new items at the origin")
        res["fl_new"].append(feedloom_poll(f"new{gen}"))
        res["mf_new"].append(miniflux_refresh(f"new{gen}"))
        res["fl_same"].append(feedloom_poll(f"same{gen}"))
        res["mf_same"].append(miniflux_refresh(f"same{gen}"))
        for k in ("fl_new", "mf_new"):
            if res[k][-1]["new"] != FEEDS * ITEMS:
                B.log(f"warning: {k} stored {res[k][-1]['new']} new items, expected {FEEDS * ITEMS}")

    med = {k: B.median([r["wall"] for r in v]) for k, v in res.items()}
    print(f"\ningest benchmark — {B.machine()}")
    print(f"{FEEDS} feeds (half RSS 2.0, half Atom) x {ITEMS} items from nginx on 127.0.0.1:{ORIGIN}; "
          f"feedloom `poll` with [poll] concurrency={WORKERS} per_host={WORKERS}; "
          f"`miniflux -refresh-feeds` with WORKER_POOL_SIZE={WORKERS} (PostgreSQL {psql('show server_version')}, "
          f"fsync {psql('show fsync')}, synchronous_commit {psql('show synchronous_commit')}); "
          f"{ROUNDS} rounds, wall times of the whole command in seconds")
    rows = []
    for label, fk, mk in [("new items cycle", "fl_new", "mf_new"), ("unchanged cycle (304)", "fl_same", "mf_same")]:
        for i in range(ROUNDS):
            f, m = res[fk][i], res[mk][i]
            rows.append([f"{label}, round {i + 1}", f["wall"], m["wall"], B.ratio(f["wall"], m["wall"], 3),
                         B.ratio(m["wall"], f["wall"], 1), f["new"], m["new"], f["reqs"], m["reqs"]])
        rows.append([f"{label}, median", med[fk], med[mk], B.ratio(med[fk], med[mk], 3),
                     B.ratio(med[mk], med[fk], 1), "", "", "", ""])
    B.table("wall time (s); ratio = feedloom / miniflux; speed-up = miniflux / feedloom",
            ["cycle", "feedloom s", "miniflux s", "ratio", "speed-up", "fl new", "mf new", "fl reqs", "mf reqs"],
            [[c if isinstance(c, str) else (B.fmt(c, 3) if isinstance(c, float) else str(c)) for c in r] for r in rows])
    fl_ips = B.median([r["new"] / r["wall"] for r in res["fl_new"]])
    mf_ips = B.median([r["new"] / r["wall"] for r in res["mf_new"]])
    B.table("items/s ingested in the new-items cycle (median over rounds)",
            ["", "feedloom", "miniflux", "ratio"], [["items/s", fl_ips, mf_ips, B.ratio(fl_ips, mf_ips)]])
    print(f"\ninitial cycle: feedloom poll {init_fl['wall']:.3f}s ({init_fl['new']} items); "
          f"Miniflux adding {FEEDS} feeds through its API (4 at a time) {add_wall:.1f}s")
    print("origin statuses per cycle: " + "; ".join(
        f"{k}[{i}]={res[k][i]['statuses']}" for k in ("fl_new", "mf_new", "fl_same", "mf_same") for i in range(ROUNDS)))


if __name__ == "__main__":
    main()
