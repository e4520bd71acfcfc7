#!/usr/bin/env python3
"""Cluster benchmark: SOURCES (30,000) sources on NODES (3) feedloom nodes over a three-server NATS
JetStream cluster, at the interval at which one node holds SOURCES / NODES (10,000). Measures, from
the origin's access log (time, path, User-Agent `…; node a)`) and the nodes' /proc and /api/cluster:

- polls/s in total and per node in a steady window, against the plain one-node daemon (no
  [cluster]) with SOURCES / NODES sources at the same interval (BASELINE=1, run first);
- poll lateness: for every source, each gap between consecutive polls minus INTERVAL (p50, p99,
  max), and how many sources were polled on time (every gap <= INTERVAL + LATE_TOL);
- memory per node (VmHWM), CPU per node;
- serve throughput of one node (wrk on /feeds/c0.atom) idle, and while every node applies a wave
  of messages (all origin feeds regenerated with new items), and idle again;
- failover: kill -9 of one node, time until every source it polled has been polled by another;
- catch-up: a further node with an empty store, time until it has applied the whole stream
  (messages/s), and the lateness of the sources it takes over meanwhile;
- serve on a core of its own (OWN_CORE=1): the catch-up node pinned to one CPU, as if it ran on
  its own host, every other process (nodes, nats-servers, origin, wrk) on the other CPUs;
  twice: (a) the node with its whole CPU (wrk, sharing its CPU with the cluster, may set the
  pace); (b) the node capped at OWN_CORE_CAP (0.5) of its CPU by a cgroup quota and wrk at the
  top cgroup weight: the node is the limit, not wrk (a scale model of a host whose CPU readers
  keep busy). Each time: wrk
  idle, then while a wave passes (the origin's feeds regenerated: every node polls new items, and
  this node applies every node's messages), then idle again. Every node runs with [server]
  background_nice = BACKGROUND_NICE (10).

Figures, not verdicts. See bench/README.md. Environment: SOURCES (30000), NODES (3, at most 3),
INTERVAL (60), ITEMS (3), LEASE (15, seconds), WARMUP (3 x INTERVAL + 10 s: from the start of the
last node to the measured window), MEASURE (2 x INTERVAL), BASELINE (1), BASE_SOURCES (SOURCES /
NODES), LATE_TOL (1.0 s), WRK_DURATION (10), CONNS (64), THREADS (2), PER_CHANNEL (10),
CONCURRENCY (16), PER_HOST (16), FAILOVER (1), CATCHUP (1), CATCHUP_TIMEOUT (900), OWN_CORE (1),
OWN_CORE_CAP (0.5), BACKGROUND_NICE (10), FEEDLOOM
(default: a copy of target/release/feedloom made at start), NATS_SERVER, KEEP=1, BENCH_DIR."""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name, str(default)))


SOURCES = env_int("SOURCES", 30000)
NODES = env_int("NODES", 3)
INTERVAL = env_int("INTERVAL", 60)
ITEMS = env_int("ITEMS", 3)
LEASE = env_int("LEASE", 15)
WARMUP = env_int("WARMUP", 3 * INTERVAL + 10)
MEASURE = env_int("MEASURE", 2 * INTERVAL)
BASELINE = os.environ.get("BASELINE", "1") == "1"
BASE_SOURCES = env_int("BASE_SOURCES", SOURCES // max(NODES, 1))
LATE_TOL = float(os.environ.get("LATE_TOL", "1.0"))
WRK_DURATION = env_int("WRK_DURATION", 10)
CONNS = env_int("CONNS", 64)
THREADS = env_int("THREADS", 2)
PER_CHANNEL = env_int("PER_CHANNEL", 10)
CONCURRENCY = env_int("CONCURRENCY", 16)
PER_HOST = env_int("PER_HOST", 16)
FAILOVER = os.environ.get("FAILOVER", "1") == "1"
CATCHUP = os.environ.get("CATCHUP", "1") == "1"
CATCHUP_TIMEOUT = env_int("CATCHUP_TIMEOUT", 900)
# 6. Serve on a core of its own while applying a backlog of the others' messages (needs CATCHUP and
# at least 2 CPUs): the catch-up node alone on the last CPU, everything else on the others.
OWN_CORE = os.environ.get("OWN_CORE", "1") == "1"
OWN_CORE_CAP = float(os.environ.get("OWN_CORE_CAP", "0.5"))
# [server] background_nice of every node (and of the baseline): readers first (docs/config.md).
BACKGROUND_NICE = env_int("BACKGROUND_NICE", 10)
REPLICAS = 3
PARTITIONS = 256

ORIGIN = B.ORIGIN_PORT
NATS_CLIENT = [4301, 4302, 4303]
NATS_ROUTE = [6301, 6302, 6303]
NATS_HTTP = [8301, 8302, 8303]
NODE_PORTS = [8095, 8096, 8097, 8098]  # NODES nodes, then the catch-up node
NODE_IDS = ["a", "b", "c", "d"]
NATS_BIN = os.environ.get("NATS_SERVER", shutil.which("nats-server") or "/usr/sbin/nats-server")

if not 1 <= NODES <= 3:
    B.die("NODES must be 1..3 (ports 8095-8098 hold the nodes and the catch-up node)")


# --- origin -------------------------------------------------------------------------------------

def origin_nginx(prefix, root, access_log):
    """nginx for the feeds, logging `$msec $status $request_uri $http_user_agent` (the User-Agent
    names the cluster node)."""
    return B.nginx("nginx-origin", prefix, ORIGIN, f"root {root};", workers=1, access_log=access_log,
                   log_fields="$msec $status $request_uri $http_user_agent")


class PollLog:
    """The origin's access log, read incrementally: polls as (time, status, path, node)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.polls = []
        self.rest = b""

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.polls
        self.offset += len(data)
        data = self.rest + data
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            parts = line.decode("utf-8", "replace").split(" ", 3)
            if len(parts) < 3 or not parts[2].endswith(".xml"):
                continue  # the script's own probes
            ua = parts[3] if len(parts) > 3 else ""
            node = ua.rsplit("; node ", 1)[1].rstrip(")") if "; node " in ua else "-"
            self.polls.append((float(parts[0]), parts[1], parts[2], node))
        return self.polls

    def settle(self):
        time.sleep(1.6)  # nginx flushes its log buffer every second
        return self.read()


def pct(xs, q):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def by_path(polls, t_to=float("inf")):
    out = collections.defaultdict(list)
    for t, st, path, node in polls:
        if t <= t_to:
            out[path].append((t, node, st))
    for v in out.values():
        v.sort()
    return out


def analyse(polls, paths, t_from, t_to):
    """Polls and lateness of `paths` in [t_from, t_to]."""
    bp = by_path(polls, t_to)
    lateness, late_sources, early, multi, never = [], 0, 0, 0, 0
    per_node = collections.Counter()
    open_late = 0
    for path in paths:
        ps = bp.get(path, [])
        ts = [p[0] for p in ps]
        inwin = [i for i, t in enumerate(ts) if t >= t_from]
        late = False
        if not inwin:
            never += 1
            late_sources += 1
            continue
        nodes = set()
        for i in inwin:
            nodes.add(ps[i][1])
            per_node[ps[i][1]] += 1
            if i == 0:
                if ts[0] - t_from > INTERVAL + LATE_TOL:
                    late = True
                continue
            gap = ts[i] - ts[i - 1]
            lateness.append(gap - INTERVAL)
            if gap - INTERVAL > LATE_TOL:
                late = True
            if gap < 0.9 * INTERVAL - 0.5:
                early += 1
        if t_to - ts[-1] > INTERVAL + LATE_TOL:  # still waiting at the end of the window
            late = True
            open_late += 1
        multi += len(nodes) > 1
        late_sources += late
    n = sum(per_node.values())
    return {"polls": n, "rate": n / (t_to - t_from), "per_node": per_node, "lateness": lateness,
            "late_sources": late_sources, "on_time": len(paths) - late_sources, "early": early,
            "multi": multi, "never": never, "open_late": open_late, "gaps": len(lateness)}


# --- processes ----------------------------------------------------------------------------------

def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def busy_between(a, b):
    return (b[0] - a[0]) / max(1, b[1] - a[1])


def children_cpu(pid):
    """CPU seconds of a process and its direct children (nginx master + workers)."""
    total = B.cpu_seconds(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for c in f.read().split():
                total += B.cpu_seconds(int(c))
    except OSError:
        pass
    return total


def start_nats(wd):
    routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in NATS_ROUTE)
    procs = []
    for i in range(3):
        d = os.path.join(wd, f"nats{i}")
        os.makedirs(d)
        conf = os.path.join(d, "nats.conf")
        with open(conf, "w") as f:
            f.write(f"""server_name: n{i}
listen: 127.0.0.1:{NATS_CLIENT[i]}
http: 127.0.0.1:{NATS_HTTP[i]}
jetstream {{
  store_dir: "{d}/js"
  max_memory_store: 256MB
  max_file_store: 8GB
}}
cluster {{
  name: feedloom-bench
  listen: 127.0.0.1:{NATS_ROUTE[i]}
  routes: [{routes}]
}}
""")
        procs.append(B.start(f"nats-{i}", [NATS_BIN, "-c", conf], os.path.join(d, "nats.log")))
    for i, p in enumerate(procs):
        B.wait_until(lambda: B.http(f"http://127.0.0.1:{NATS_HTTP[i]}/healthz")[0] != 0 or p.poll() is not None,
                     20, 0.05, f"nats-server n{i}")
        if p.poll() is not None:
            B.die(f"nats-server n{i} exited ({p.returncode}); see {wd}/nats{i}/nats.log")

    def leader():
        st, _, body = B.http(f"http://127.0.0.1:{NATS_HTTP[0]}/jsz")
        if st != 200:
            return None
        mc = json.loads(body).get("meta_cluster") or {}
        return mc.get("leader")
    t0 = time.monotonic()
    ld = B.wait_until(leader, 60, 0.2, "a JetStream meta leader")
    B.log(f"nats: 3 servers, meta leader {ld} after {time.monotonic() - t0:.1f}s")
    return procs


def stream_state():
    """The FEEDLOOM stream's state (messages, bytes, last_seq) as one NATS server reports it."""
    for port in NATS_HTTP:
        st, _, body = B.http(f"http://127.0.0.1:{port}/jsz?streams=true", timeout=5)
        if st != 200:
            continue
        for acc in json.loads(body).get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                if s.get("name") == "FEEDLOOM":
                    return s.get("state") or {}
    return {}


class Node:
    def __init__(self, idx, wd, common, env):
        self.id = NODE_IDS[idx]
        self.port = NODE_PORTS[idx]
        self.dir = os.path.join(wd, f"node-{self.id}")
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "feedloom.log")
        self.cfg = os.path.join(self.dir, "config.toml")
        nats = ", ".join(f'"nats://127.0.0.1:{p}"' for p in NATS_CLIENT)
        with open(self.cfg, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{self.port}"
base_url = "http://127.0.0.1:{NODE_PORTS[0]}"
background_nice = {BACKGROUND_NICE}

[store]
path = {B.toml_str(os.path.join(self.dir, "store.sled"))}

[poll]
concurrency = {CONCURRENCY}
per_host = {PER_HOST}

[cluster]
node = "{self.id}"
nats = [{nats}]
lease = "{LEASE}s"
replicas = {REPLICAS}

{common}""")
        self.env = env
        self.p = None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        self.t_start = time.time()
        self.p = B.start(f"feedloom-{self.id}", [FL, "--config", self.cfg, "serve"], self.log, env=self.env)

    def wait_healthy(self, timeout=120):
        B.wait_until(lambda: B.http(self.url("/healthz"), timeout=5)[0] == 200 or self.p.poll() is not None,
                     timeout, 0.05, f"node {self.id} /healthz")
        if self.p.poll() is not None:
            B.die(f"node {self.id} exited with {self.p.returncode}; see {self.log}")
        return time.time() - self.t_start

    def status(self):
        st, _, body = B.http(self.url("/api/cluster"), timeout=10)
        try:
            return json.loads(body) if st == 200 else None
        except ValueError:
            return None

    def alive(self):
        return self.p is not None and self.p.poll() is None


def log_summary(path):
    """Warnings and errors in a node's log: counts by level and the most frequent messages."""
    levels = collections.Counter()
    msgs = collections.Counter()
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"\b(WARN|ERROR)\b\s+(.*)", re.sub(r"\x1b\[[0-9;]*m", "", line))
                if not m:
                    continue
                levels[m.group(1)] += 1
                text = re.sub(r"\d+", "N", m.group(2))[:150]
                msgs[f"{m.group(1)} {text}"] += 1
    except OSError:
        pass
    return levels, msgs


def common_config(names, n):
    lines = []
    for i in range(n):
        lines += [f"[sources.s{i}]", f'url = "http://127.0.0.1:{ORIGIN}/{names[i]}"',
                  f'interval = "{INTERVAL}s"', ""]
    for k in range(0, n, PER_CHANNEL):
        ids = ", ".join(f'"s{i}"' for i in range(k, min(n, k + PER_CHANNEL)))
        lines += [f"[channels.c{k // PER_CHANNEL}]", f'title = "Channel {k // PER_CHANNEL}"',
                  f"sources = [{ids}]", "limit = 50", ""]
    return "\n".join(lines)


def sleep_until(t_wall):
    while True:
        d = t_wall - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 5))


def f1(v):
    return B.fmt(v, 1)


def f3(v):
    return B.fmt(v, 3)


def wave_polled(plog, t_regen):
    """Every source answered 200 (new items) at least once since the regeneration at t_regen."""
    seen = {p[2] for p in plog.read() if p[0] >= t_regen and p[1] == "200"}
    return len(seen) >= SOURCES


def pin(pid, cpus):
    """Pin every thread of a process and of its process group (nginx's workers) to `cpus`."""
    pids = {pid}
    try:
        out = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout
        pids |= {int(x) for x in out.split()}
    except OSError:
        pass
    for p in pids:
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(p)], capture_output=True)


CGROUP = "/sys/fs/cgroup/cpu/feedloom-bench"
CLIENT_CGROUP = "/sys/fs/cgroup/cpu/feedloom-bench-client"
# The most a cgroup v1 group may weigh: against the root group's threads (1024 each at nice 0,
# tens of them busy in a wave) a group this heavy gets the CPU it asks for.
TOP_SHARES = 262144


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def cap_cpu(pid, share):
    """Put every thread of `pid` in a cgroup (v1 cpu controller) allowed `share` of one CPU and
    weighing TOP_SHARES, so that within its quota it is never squeezed by the other processes;
    False when that cannot be done (no cgroup v1 cpu controller, or no permission)."""
    try:
        os.makedirs(CGROUP, exist_ok=True)
        write(os.path.join(CGROUP, "cpu.cfs_period_us"), 100000)
        write(os.path.join(CGROUP, "cpu.cfs_quota_us"), int(share * 100000))
        write(os.path.join(CGROUP, "cpu.shares"), TOP_SHARES)
        write(os.path.join(CGROUP, "cgroup.procs"), pid)
        # The client (this script, so the wrk it starts): weighing as much, so that wrk is not
        # the limit while the rest of the cluster is busy with the wave.
        os.makedirs(CLIENT_CGROUP, exist_ok=True)
        write(os.path.join(CLIENT_CGROUP, "cpu.shares"), TOP_SHARES)
        write(os.path.join(CLIENT_CGROUP, "cgroup.procs"), os.getpid())
        return True
    except OSError as e:
        B.log(f"own core: cannot cap node d's CPU ({e}); skipped")
        uncap_cpu(pid)
        return False


def uncap_cpu(pid):
    for group, member in ((CGROUP, pid), (CLIENT_CGROUP, os.getpid())):
        try:
            write("/sys/fs/cgroup/cpu/cgroup.procs", member)
        except OSError:
            pass
        try:
            os.rmdir(group)
        except OSError:
            pass


def thread_cpu(pid):
    """CPU seconds of a process's live threads, summed by name with its number dropped
    (`sled-io-3` -> `sled-io`, `feedloom-http-0` -> `feedloom-http`). Threads that ended
    meanwhile are missing: the sum can be under the process's figure."""
    out = collections.defaultdict(float)
    tck = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        out[re.sub(r"-\d+$", "", name)] += (int(fields[11]) + int(fields[12])) / tck
    return out


def render_metrics(node):
    """Sum and count of the render and flush histograms from a node's /metrics."""
    out = {}
    try:
        st, _, body = B.http(node.url("/metrics"), timeout=5)
        text = body.decode() if st == 200 else ""
    except Exception:  # noqa: BLE001 - a figure, not a verdict
        return out
    for line in text.splitlines():
        m = re.match(r"(feedloom_render(?:_flush)?_seconds_(?:sum|count)) ([0-9.e+-]+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def own_core_serve(d, origin, plog, cap, gen):
    """Node d on the last CPU, every other process (wrk too) on the others. `cap` None: d has
    the whole CPU, and wrk, sharing its CPU with everything else, may set the pace. `cap` a
    share: d is limited to that share of its CPU (a cgroup quota), small enough for wrk to
    saturate it, so the runs compare d's serving capacity: a scale model of a host whose CPUs
    readers keep busy. wrk idle; then while a wave passes (the origin's feeds regenerated,
    generation `gen`: every node polls new items, and d applies every node's messages); then
    idle again after the wave."""
    last = (os.cpu_count() or 2) - 1
    rest = f"0-{last - 1}" if last > 1 else "0"
    # The rest of the cluster stays off d's CPU in both runs: on the same CPU, busy with a wave,
    # it evicted d's caches, and d spent 9% more CPU a request (a run with it there: d's HTTP
    # threads had 96% of their idle CPU, and served 89% of the idle requests/s). Capped, the
    # client weighs the most on the other CPUs, so it keeps up with d while the cluster is busy.
    for name, p in list(B._procs):
        if p.poll() is None and p.pid != d.p.pid:
            pin(p.pid, rest)
    pin(d.p.pid, str(last))
    os.sched_setaffinity(0, set(range(last)))
    if cap is not None and not cap_cpu(d.p.pid, cap):
        return None
    target = d.url("/feeds/c0.atom")
    runs = []

    def wrk_on_d_cpu(duration):
        return B.wrk(target, duration=duration, threads=THREADS, conns=CONNS)

    def run(label):
        s0 = d.status() or {}
        c = B.cpu_seconds(d.p.pid)
        th0 = thread_cpu(d.p.pid)
        m0 = render_metrics(d)
        t = time.time()
        r = wrk_on_d_cpu(WRK_DURATION)
        dt = time.time() - t
        s1 = d.status() or {}
        r["cpu"] = (B.cpu_seconds(d.p.pid) - c) / dt
        th1 = thread_cpu(d.p.pid)
        r["threads"] = {k: (v - th0.get(k, 0.0)) / dt for k, v in th1.items() if v - th0.get(k, 0.0) > 0}
        m1 = render_metrics(d)
        r["renders"] = {k: m1.get(k, 0.0) - m0.get(k, 0.0) for k in m1}
        r["applied"] = (s1.get("applied_seq", 0) - s0.get("applied_seq", 0)) / dt
        r["lag1"] = s1.get("lag", "-")
        r["label"] = label
        B.log(f"own core ({'alone' if cap is None else f'capped at {cap:g} CPU'}), {label}: {r['rps']:.0f} req/s, "
              f"node {d.id} applied {r['applied']:.0f} msg/s")
        runs.append(r)

    try:
        wrk_on_d_cpu(2)  # warm-up
        run("idle")
        B.log(f"own core: regenerating the origin's feeds (gen {gen})")
        seq0 = stream_state().get("last_seq", 0)
        tmp = origin.rstrip("/") + f".gen{gen}.tmp"
        subprocess.run([sys.executable, B.GEN_FEEDS, tmp, str(SOURCES), str(ITEMS), str(gen)], check=True, timeout=600)
        wrk_on_d_cpu(2)  # warm-up
        t_regen = time.time()
        for name in sorted(os.listdir(tmp)):
            os.replace(os.path.join(tmp, name), os.path.join(origin, name))
        os.rmdir(tmp)
        run("while applying the wave")
        t_end = time.time()

        B.wait_until(lambda: wave_polled(plog, t_regen), 4 * INTERVAL + 120, 1.0, f"the gen-{gen} wave polled")
        B.wait_until(lambda: (d.status() or {}).get("lag") == 0, 900, 0.5, f"node {d.id} applied the wave")
        t_rest = time.time() - t_end
        backlog = stream_state().get("last_seq", 0) - seq0
        # The wave passes in about an interval; idle once more after it.
        sleep_until(t_regen + INTERVAL + 5)
        wrk_on_d_cpu(2)  # warm-up
        run("idle again")
    finally:
        if cap is not None:
            uncap_cpu(d.p.pid)
        allcpus = f"0-{last}"
        for name, p in list(B._procs):
            if p.poll() is None:
                pin(p.pid, allcpus)
        os.sched_setaffinity(0, set(range(last + 1)))
    return {"node": d.id, "cpu": last, "others": rest, "runs": runs, "backlog": backlog,
            "t_rest": t_rest, "cap": cap}


# --- main ---------------------------------------------------------------------------------------

FL = None


def main():
    global FL
    B.check_tools(B.NGINX, B.WRK, B.GEN_FEEDS, NATS_BIN)
    B.require_ports(ORIGIN, *NATS_CLIENT, *NATS_ROUTE, *NATS_HTTP, *NODE_PORTS)
    wd = B.workdir("cluster")
    if "FEEDLOOM" in os.environ:
        FL = os.environ["FEEDLOOM"]
    else:
        # target/ may be rebuilt while this runs: use a copy made now.
        FL = os.path.join(wd, "feedloom")
        shutil.copy2(B.FEEDLOOM, FL)
    B.check_tools(FL)
    version = subprocess.run([FL, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    B.log(f"binary {FL} ({version}); {SOURCES} sources on {NODES} nodes, interval {INTERVAL}s, lease {LEASE}s")

    origin = os.path.join(wd, "origin")
    B.log(f"generating {SOURCES} feeds x {ITEMS} items")
    names = B.gen_feeds(origin, SOURCES, ITEMS, 1)
    origin_log = os.path.join(wd, "origin-access.log")
    nginx_p = origin_nginx(os.path.join(wd, "nginx-origin"), origin, origin_log)
    plog = PollLog(origin_log)
    env = dict(os.environ, FEEDLOOM_LOG=os.environ.get("FEEDLOOM_LOG", "warn"))
    paths = [f"/{n}" for n in names]
    results = {}

    # 1. One-node baseline: the plain daemon (no [cluster]) with SOURCES / NODES sources.
    if BASELINE:
        bdir = os.path.join(wd, "baseline")
        os.makedirs(bdir)
        bcfg = os.path.join(bdir, "config.toml")
        with open(bcfg, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{NODE_PORTS[0]}"
base_url = "http://127.0.0.1:{NODE_PORTS[0]}"
background_nice = {BACKGROUND_NICE}

[store]
path = {B.toml_str(os.path.join(bdir, "store.sled"))}

[poll]
concurrency = {CONCURRENCY}
per_host = {PER_HOST}

{common_config(names, BASE_SOURCES)}""")
        B.log(f"baseline: one node (no [cluster]), {BASE_SOURCES} sources; warm-up {WARMUP}s, measure {MEASURE}s")
        t0 = time.time()
        bp = B.start("feedloom-baseline", [FL, "--config", bcfg, "serve"], os.path.join(bdir, "feedloom.log"), env=env)
        B.wait_until(lambda: B.http(f"http://127.0.0.1:{NODE_PORTS[0]}/healthz", timeout=5)[0] == 200
                     or bp.poll() is not None, 120, 0.05, "baseline /healthz")
        if bp.poll() is not None:
            B.die(f"baseline daemon exited; see {bdir}/feedloom.log")
        t_from, t_to = t0 + WARMUP, t0 + WARMUP + MEASURE
        sleep_until(t_from)
        c0, m0 = B.cpu_seconds(bp.pid), machine_busy()
        sleep_until(t_to)
        cpu = (B.cpu_seconds(bp.pid) - c0) / MEASURE
        busy = busy_between(m0, machine_busy())
        hwm = B.proc_status(bp.pid, "VmHWM")
        B.stop(bp, timeout=30)
        a = analyse(plog.settle(), paths[:BASE_SOURCES], t_from, t_to)
        a.update(cpu=cpu, hwm=hwm, busy=busy, sources=BASE_SOURCES)
        results["baseline_warm"] = analyse(plog.polls, paths[:BASE_SOURCES], t0, t_from)
        results["baseline"] = a
        blv, bmsg = log_summary(os.path.join(bdir, "feedloom.log"))
        results["baseline_log"] = (blv, bmsg)
        B.log(f"baseline: {a['rate']:.1f} polls/s, lateness p99 {pct(a['lateness'], 0.99):.3f}s, "
              f"on time {a['on_time']}/{BASE_SOURCES}, VmHWM {hwm:.0f} MB, {cpu:.2f} cores")
        time.sleep(2)

    # 2. NATS, then the cluster nodes.
    nats_procs = start_nats(wd)
    common = common_config(names, SOURCES)
    nodes = [Node(i, wd, common, env) for i in range(NODES)]
    B.log(f"starting {NODES} nodes ({SOURCES} sources, {(SOURCES + PER_CHANNEL - 1) // PER_CHANNEL} channels)")
    for n in nodes:
        n.start()
    health = {n.id: n.wait_healthy() for n in nodes}
    t_last = max(n.t_start for n in nodes)
    rss_samples = []  # (seconds from the last node's start, {node: VmRSS MB})
    live = list(nodes)
    stop_sampler = threading.Event()

    def sampler():
        while not stop_sampler.is_set():
            rss_samples.append((time.time() - t_last, {n.id: B.proc_status(n.p.pid, "VmRSS")
                                                        for n in list(live) if n.alive()}))
            stop_sampler.wait(5.0)
    threading.Thread(target=sampler, daemon=True).start()

    def settled():
        sts = [n.status() for n in nodes]
        if any(s is None for s in sts):
            return False
        return (all(len(s.get("members") or []) == len(nodes) and s.get("reachable") for s in sts)
                and sum(s.get("partitions_owned", 0) for s in sts) == PARTITIONS)
    B.wait_until(settled, 6 * LEASE + 60, 0.5, f"{NODES} members owning all {PARTITIONS} partitions")
    t_settled = time.time() - t_last
    B.log(f"cluster settled (every node sees {NODES} members, {PARTITIONS} partitions owned) {t_settled:.1f}s "
          f"after the last node started; /healthz after {', '.join(f'{k} {v:.2f}s' for k, v in health.items())}")

    t_from, t_to = t_last + WARMUP, t_last + WARMUP + MEASURE
    B.log(f"steady window: {WARMUP}s after the last node started, for {MEASURE}s")
    sleep_until(t_from)
    c0 = {n.id: B.cpu_seconds(n.p.pid) for n in nodes}
    nc0 = sum(B.cpu_seconds(p.pid) for p in nats_procs)
    gc0 = children_cpu(nginx_p.pid)
    m0 = machine_busy()
    seq0 = stream_state().get("last_seq", 0)
    sleep_until(t_to)
    cpu = {n.id: (B.cpu_seconds(n.p.pid) - c0[n.id]) / MEASURE for n in nodes}
    nats_cpu = (sum(B.cpu_seconds(p.pid) for p in nats_procs) - nc0) / MEASURE
    nginx_cpu = (children_cpu(nginx_p.pid) - gc0) / MEASURE
    busy = busy_between(m0, machine_busy())
    seq1 = stream_state().get("last_seq", 0)
    hwm = {n.id: B.proc_status(n.p.pid, "VmHWM") for n in nodes}
    rss = {n.id: B.proc_status(n.p.pid, "VmRSS") for n in nodes}
    nats_rss = [B.proc_status(p.pid, "VmRSS") for p in nats_procs]
    steady_status = {n.id: n.status() for n in nodes}
    polls = plog.settle()
    steady = analyse(polls, paths, t_from, t_to)
    warm = analyse(polls, paths, t_last, t_from)
    first_poll = {}
    for t, st, path, node in polls:
        if path not in first_poll:
            first_poll[path] = t
    t_all_first = max(first_poll.values()) - t_last if len(first_poll) == SOURCES else float("nan")
    B.log(f"steady: {steady['rate']:.1f} polls/s, lateness p99 {pct(steady['lateness'], 0.99):.3f}s, "
          f"on time {steady['on_time']}/{SOURCES}, machine busy {busy * 100:.0f}%")
    # Requests per 10 s from the last node's start, to see the first round and the steady state.
    per10 = collections.Counter(int((t - t_last) // 10) for t, _, _, _ in polls if t >= t_last - 10)

    # 3. Serve throughput of node a: idle, while applying a wave of messages, idle again.
    a_node = nodes[0]
    target = a_node.url("/feeds/c0.atom")
    serve = []

    def wrk_run(label):
        s0 = a_node.status() or {}
        c = B.cpu_seconds(a_node.p.pid)
        n_before = len(plog.read())
        t = time.time()
        r = B.wrk(target, duration=WRK_DURATION, threads=THREADS, conns=CONNS)
        dt = time.time() - t
        r["cpu"] = (B.cpu_seconds(a_node.p.pid) - c) / dt
        s1 = a_node.status() or {}
        r["applied"] = (s1.get("applied_seq", 0) - s0.get("applied_seq", 0)) / dt
        pl = plog.settle()[n_before:]
        pl = [p for p in pl if t <= p[0] <= t + dt]
        r["polls"] = len(pl) / dt
        r["new"] = sum(1 for p in pl if p[1] == "200") / dt
        r["label"] = label
        if r["non2xx3xx"] or r["errors"]:
            B.log(f"{label}: {r['non2xx3xx']} non-2xx/3xx answers, {r['errors']} socket errors")
        B.log(f"serve {label}: {r['rps']:.0f} req/s, node a applied {r['applied']:.0f} msg/s, "
              f"origin {r['polls']:.0f} polls/s ({r['new']:.0f}/s with new items)")
        serve.append(r)
        return r

    B.wrk(target, duration=2, threads=THREADS, conns=CONNS)  # warm-up
    wrk_run("idle (polls answered 304)")
    B.log(f"regenerating the {SOURCES} origin feeds with new items (gen 2)")
    tmp = origin.rstrip("/") + ".gen2.tmp"
    subprocess.run([sys.executable, B.GEN_FEEDS, tmp, str(SOURCES), str(ITEMS), "2"], check=True, timeout=600)
    B.wrk(target, duration=2, threads=THREADS, conns=CONNS)  # warm-up
    seq_wave0 = stream_state().get("last_seq", 0)
    t_regen = time.time()
    for name in sorted(os.listdir(tmp)):
        os.replace(os.path.join(tmp, name), os.path.join(origin, name))
    os.rmdir(tmp)
    wrk_run("while applying (every feed new)")
    # The wave: every source polled once with new items, every node applying it.

    B.wait_until(lambda: wave_polled(plog, t_regen), 3 * INTERVAL + 60, 1.0,
                 "every source polled after the regeneration")
    t_wave_polled = time.time() - t_regen

    def converged():
        sts = [n.status() for n in nodes]
        return (all(s and s.get("lag") == 0 for s in sts)
                and len({s["applied_seq"] for s in sts}) == 1 and stream_state().get("last_seq") == sts[0]["applied_seq"])
    B.wait_until(converged, 4 * LEASE + 600, 0.5, "every node applied the wave")
    t_wave_applied = time.time() - t_regen
    seq_wave1 = stream_state().get("last_seq", 0)
    B.log(f"wave: {seq_wave1 - seq_wave0} messages; every source polled {t_wave_polled:.0f}s, "
          f"applied everywhere {t_wave_applied:.0f}s after the regeneration")
    # The wave passes in about an interval; serve idle once more after it.
    sleep_until(t_regen + INTERVAL + 5)
    wrk_run("idle again (after the wave)")
    hwm_wave = {n.id: B.proc_status(n.p.pid, "VmHWM") for n in nodes}

    # 4. Failover: kill -9 of the last node.
    fo = None
    if FAILOVER and NODES >= 2:
        victim = nodes[-1]
        survivors = nodes[:-1]
        plog.settle()
        t_k = time.time()
        os.kill(victim.p.pid, signal.SIGKILL)
        B.stop(victim.p, timeout=10)
        B.log(f"failover: killed node {victim.id} (kill -9)")
        vict_paths = {p[2] for p in plog.polls if p[3] == victim.id and p[0] >= t_k - 1.2 * INTERVAL}
        last_by_victim = {}
        for t, st, path, node in plog.polls:
            if node == victim.id and path in vict_paths:
                last_by_victim[path] = t
        t_members = t_parts = None
        deadline = t_k + 6 * LEASE + 3 * INTERVAL + 60
        first_other = {}
        scan = len(plog.polls)
        while time.time() < deadline:
            sts = [n.status() for n in survivors]
            now = time.time() - t_k
            if t_members is None and all(s and len(s.get("members") or []) == len(survivors) for s in sts):
                t_members = now
            if t_parts is None and all(sts) and sum(s.get("partitions_owned", 0) for s in sts) == PARTITIONS \
                    and all(len(s.get("members") or []) == len(survivors) for s in sts):
                t_parts = now
            pl = plog.read()
            for t, st, path, node in pl[scan:]:
                if path in vict_paths and node != victim.id and path not in first_other and t > t_k:
                    first_other[path] = t
            scan = len(pl)
            if t_parts is not None and len(first_other) >= len(vict_paths):
                break
            time.sleep(0.5)
        delays = [first_other[p] - (last_by_victim[p] + INTERVAL) for p in first_other]
        gaps = [first_other[p] - last_by_victim[p] for p in first_other]
        fo = {"victim": victim.id, "sources": len(vict_paths), "taken": len(first_other),
              "t_members": t_members, "t_parts": t_parts,
              "t_first": min(first_other.values()) - t_k if first_other else None,
              "t_all": max(first_other.values()) - t_k if len(first_other) == len(vict_paths) else None,
              "delays": delays, "early": sum(1 for g in gaps if g < 0.9 * INTERVAL - 0.5),
              "min_gap": min(gaps) if gaps else None}
        B.log(f"failover: {len(first_other)}/{len(vict_paths)} of {victim.id}'s sources polled by others; "
              f"all after {fo['t_all']}s")
        nodes_alive = survivors
    else:
        nodes_alive = list(nodes)

    # 5. Catch-up: a node with an empty store joins and applies the whole stream.
    cu = None
    if CATCHUP:
        ss = stream_state()
        target_seq = max([ss.get("last_seq", 0)] + [(n.status() or {}).get("applied_seq", 0) for n in nodes_alive])
        d = Node(NODES, wd, common, env)
        plog.settle()
        d.start()
        live.append(d)
        t0 = d.t_start
        t_health = d.wait_healthy()
        samples = []
        t_caught = None
        deadline = t0 + CATCHUP_TIMEOUT
        while time.time() < deadline:
            s = d.status() or {}
            samples.append((time.time() - t0, s.get("applied_seq", 0)))
            if s.get("applied_seq", 0) >= target_seq:
                t_caught = time.time() - t0
                break
            time.sleep(0.2)
        if t_caught is None:
            B.log(f"catch-up: node {d.id} did not apply {target_seq} messages within {CATCHUP_TIMEOUT}s")
        t_lag0 = None
        while t_caught is not None and time.time() < t0 + t_caught + 3 * LEASE + 10:
            s = d.status() or {}
            if s.get("lag") == 0 and s.get("stream_seq", 0) >= target_seq:
                t_lag0 = time.time() - t0
                break
            time.sleep(0.2)
        # Rate over the middle of the catch-up (from 10% to 90% of the target).
        mid = [x for x in samples if 0.1 * target_seq <= x[1] <= 0.9 * target_seq]
        mid_rate = ((mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0])
                    if len(mid) >= 2 and mid[-1][0] > mid[0][0] else float("nan"))
        hwm_d = B.proc_status(d.p.pid, "VmHWM")
        cpu_d = B.cpu_seconds(d.p.pid)
        # Sources late while the new node caught up: up to an interval after it had caught up.
        t_end = (t0 + (t_caught or (time.time() - t0))) + INTERVAL + 2
        sleep_until(min(t_end, time.time() + 2 * INTERVAL + 10))
        polls = plog.settle()
        join = analyse(polls, paths, t0, min(t_end, time.time()))
        # Which of the late sources are the new node's share (polled by it after the late gap)?
        bp = by_path(polls, min(t_end, time.time()))
        late_d, late_other, lat_d, lat_other = 0, 0, [], []
        for path in paths:
            ps = bp.get(path, [])
            worst, who = None, None
            for x, y in zip(ps, ps[1:]):
                if y[0] >= t0 and y[0] - x[0] - INTERVAL > LATE_TOL and (worst is None or y[0] - x[0] > worst):
                    worst, who = y[0] - x[0], y[1]
            if worst is not None:
                if who == d.id:
                    late_d += 1
                    lat_d.append(worst - INTERVAL)
                else:
                    late_other += 1
                    lat_other.append(worst - INTERVAL)
        cluster_sts = {n.id: n.status() for n in nodes_alive + [d]}
        # Same bytes and ETag on every node?
        same = True
        for c in sorted({0, (SOURCES // PER_CHANNEL) // 2, (SOURCES - 1) // PER_CHANNEL}):
            got = {(B.http(n.url(f"/feeds/c{c}.atom"))[1].get("etag"), B.http(n.url(f"/feeds/c{c}.atom"))[2])
                   for n in nodes_alive + [d]}
            same &= len(got) == 1
        ss2 = stream_state()
        cu = {"node": d.id, "target": target_seq, "t_health": t_health, "t_caught": t_caught, "t_lag0": t_lag0,
              "rate": target_seq / t_caught if t_caught else float("nan"), "mid_rate": mid_rate, "hwm": hwm_d,
              "cpu": cpu_d, "join": join, "late_d": late_d, "late_other": late_other,
              "lat_d": max(lat_d) if lat_d else float("nan"), "lat_other": max(lat_other) if lat_other else float("nan"), "same": same, "status": cluster_sts,
              "bytes": ss2.get("bytes"), "messages": ss2.get("messages")}
        nodes_alive = nodes_alive + [d]
        cu_node = d
    # 6. Serve on a core of its own while applying the others' messages.
    owns = []
    if OWN_CORE and cu and (os.cpu_count() or 1) >= 2:
        owns.append(own_core_serve(cu_node, origin, plog, None, 3))
        owns.append(own_core_serve(cu_node, origin, plog, OWN_CORE_CAP, 4))
        owns = [o for o in owns if o]
    hwm_end = {n.id: B.proc_status(n.p.pid, "VmHWM") for n in nodes_alive if n.alive()}
    stop_sampler.set()
    nats_hwm = [B.proc_status(p.pid, "VmHWM") for p in nats_procs]

    # --- report ---------------------------------------------------------------------------------
    print(f"\ncluster benchmark — {B.machine()}")
    print(f"binary: {version}; nats-server {subprocess.run([NATS_BIN, '--version'], capture_output=True, text=True).stdout.strip()}"
          f" (3 servers, one JetStream cluster, R{REPLICAS}) on 127.0.0.1:{NATS_CLIENT[0]}-{NATS_CLIENT[-1]}")
    print(f"{SOURCES} sources x {ITEMS}-item feeds from nginx (1 worker) on 127.0.0.1:{ORIGIN}, interval {INTERVAL}s, "
          f"channels of {PER_CHANNEL}; {NODES} nodes; [poll] concurrency {CONCURRENCY}, per_host {PER_HOST}; "
          f"[cluster] lease {LEASE}s, replicas {REPLICAS}; steady window {MEASURE}s starting {WARMUP}s after start "
          f"(the one-node baseline: the same, {BASE_SOURCES} sources, no [cluster]); late = a gap between "
          f"two polls of a source > interval + {LATE_TOL:g}s")
    print(f"cluster start: every node sees {NODES} members and all {PARTITIONS} partitions owned "
          f"{t_settled:.1f}s after the last node started; every source polled once "
          f"{B.fmt(t_all_first, 1)}s after; stream grew by {seq1 - seq0} messages in the steady window")

    ideal = SOURCES / INTERVAL
    base = results.get("baseline")
    rows = []

    def row(label, n_src, a, rate=None, nodes_of=None):
        r = rate if rate is not None else a["rate"]
        lat = a["lateness"]
        return [label, n_src, r, n_src / INTERVAL, B.ratio(r, n_src / INTERVAL),
                B.ratio(r, base["rate"]) if base else "-",
                f3(pct(lat, 0.5)), f3(pct(lat, 0.99)), f3(max(lat) if lat else float("nan")),
                f"{a['on_time']}/{n_src}" if nodes_of is None else "-",
                a["early"] if nodes_of is None else "-", a["multi"] if nodes_of is None else "-"]
    if base:
        rows.append(row("one node (no [cluster])", BASE_SOURCES, base))
    rows.append(row(f"cluster, {NODES} nodes, total", SOURCES, steady))
    for n in nodes:
        k = steady["per_node"].get(n.id, 0)
        rows.append([f"  node {n.id}", (steady_status.get(n.id) or {}).get("sources_owned", "-"), k / MEASURE,
                     "-", "-", B.ratio(k / MEASURE, base["rate"]) if base else "-", "-", "-", "-", "-", "-", "-"])
    if base:
        rows.append(row(f"warm-up: one node, first {WARMUP}s", BASE_SOURCES, results["baseline_warm"]))
    rows.append(row(f"warm-up: cluster, first {WARMUP}s", SOURCES, warm))
    B.table(f"polls in the steady window (ideal {ideal:.0f}/s for {SOURCES}; goal: total = 3x one node, every "
            f"source on time, lateness p99 < 1 s)",
            ["run", "sources", "polls/s", "ideal/s", "/ideal", "/one node", "late p50 s", "late p99 s",
             "late max s", "on time", "early polls", "multi-node"], rows)
    print(f"lateness = gap between consecutive polls of a source - {INTERVAL}s, over {steady['gaps']} gaps "
          f"(cluster) / {base['gaps'] if base else '-'} (one node); 'early polls' = gap < 0.9 x interval; "
          f"'multi-node' = sources polled by more than one node in the window; sources never polled in the "
          f"window: {steady['never']}, still waiting at its end: {steady['open_late']}")
    print("warm-up rows: the same figures from the start to the window (first polls are spread over up to an "
          "interval by design, so the first gap can be up to that; a source polled off its slot moves to the "
          "slot, up to an interval later, once)")
    print("origin requests per 10 s from the last node's start: "
          + " ".join(str(per10.get(i, 0)) for i in range(-1, max(per10) + 1 if per10 else 0)))

    rows = []
    if base:
        rows.append(["one node (no [cluster])", base["hwm"], "-", f3(base["cpu"]), "-"])
    for n in nodes:
        st = steady_status.get(n.id) or {}
        rows.append([f"node {n.id}", hwm[n.id], rss[n.id], f3(cpu[n.id]),
                     f"{st.get('partitions_owned', '-')} / {st.get('sources_owned', '-')}"])
    rows.append(["nats-servers (3, VmRSS each)", "-", " ".join(f"{v:.0f}" for v in nats_rss if v), f3(nats_cpu), "-"])
    rows.append(["origin nginx", "-", "-", f3(nginx_cpu), "-"])
    B.table(f"memory and CPU in the steady window (goal: < 200 MB per node); machine busy "
            f"{busy * 100:.0f}% of {os.cpu_count()} cores"
            + (f" (one-node run: {base['busy'] * 100:.0f}%)" if base else ""),
            ["process", "VmHWM MB", "VmRSS MB", "CPU cores", "partitions / sources owned"], rows)
    print("VmHWM at the end of the run, MB: " + ", ".join(f"{k} {v:.0f}" for k, v in hwm_end.items() if v)
          + "; after the wave: " + ", ".join(f"{k} {v:.0f}" for k, v in hwm_wave.items() if v)
          + "; nats-servers: " + ", ".join(f"{v:.0f}" for v in nats_hwm if v))

    print("VmRSS every 30 s from the last node's start, MB: " + " ".join(
        f"{t:.0f}s:" + "/".join(f"{k}{v:.0f}" for k, v in m.items() if v) for t, m in rss_samples[::6]))

    idle = serve[0]["rps"]
    B.table(f"serve throughput of node a while it applies the others' messages (wrk -t{THREADS} -c{CONNS} "
            f"-d{WRK_DURATION}s, /feeds/c0.atom; goal: >= 0.9 of idle)",
            ["run", "req/s", "p50 ms", "p99 ms", "/idle", "node a cores", "a applied msg/s", "origin polls/s",
             "of them 200/s", "a CPU us/req"],
            [[r["label"], r["rps"], f3(r["p50"]), f3(r["p99"]), B.ratio(r["rps"], idle), f3(r["cpu"]),
              r["applied"], r["polls"], r["new"], r["cpu"] / r["rps"] * 1e6 if r["rps"] else "n/a"] for r in serve])
    print("node a's CPU per request includes applying the stream while applying; wrk, the other nodes, NATS and "
          "the origin share the same cores")
    print(f"the wave: {seq_wave1 - seq_wave0} messages; every source polled {t_wave_polled:.0f}s and applied by "
          f"every node {t_wave_applied:.0f}s after the regeneration (sampled every 1 s / 0.5 s)")

    for own in owns:
        where = ("the whole CPU (every other process on CPUs " + own["others"] + ")" if own["cap"] is None
                 else f"capped at {own['cap']:g} of it (cgroup quota); wrk on CPUs {own['others']} at the top "
                      f"weight, so that wrk saturates it; the rest of the cluster on CPUs {own['others']}")
        B.table(f"serve throughput of node {own['node']} on CPU {own['cpu']}, {where}; background_nice "
                f"{BACKGROUND_NICE} (wrk -t{THREADS} -c{CONNS} -d{WRK_DURATION}s /feeds/c0.atom; goal: >= 0.9 of idle)",
                ["run", "req/s", "p50 ms", "p99 ms", "/idle", "node cores", "applied msg/s", "lag at end",
                 "CPU us/req"],
                [[r["label"], r["rps"], f3(r["p50"]), f3(r["p99"]), B.ratio(r["rps"], own["runs"][0]["rps"]),
                  f3(r["cpu"]), r["applied"], r["lag1"],
                  r["cpu"] / r["rps"] * 1e6 if r["rps"] else "n/a"] for r in own["runs"]])
        print(f"the wave: {own['backlog']} messages (the node's own share and the others'); it had applied all of "
              f"them {own['t_rest']:.0f}s after wrk ended")
        for r in own["runs"]:
            top = sorted(r.get("threads", {}).items(), key=lambda kv: -kv[1])[:8]
            rd = r.get("renders", {})
            n = rd.get("feedloom_render_seconds_count", 0)
            print(f"  {r['label']}: cores by thread " + ", ".join(f"{k} {v:.3f}" for k, v in top)
                  + (f"; {n:.0f} renders, mean {rd.get('feedloom_render_seconds_sum', 0) / n * 1e3:.1f} ms, "
                     f"flush before serving mean {rd.get('feedloom_render_flush_seconds_sum', 0) / n * 1e3:.1f} ms"
                     if n else "; no renders"))

    if fo:
        d = fo["delays"]
        B.table(f"failover: kill -9 of node {fo['victim']} (lease {LEASE}s)",
                ["figure", "value"],
                [[f"sources node {fo['victim']} polled in the last 1.2 intervals", fo["sources"]],
                 ["of them polled again by another node", fo["taken"]],
                 ["survivors see the membership without it, s after the kill", f1(fo["t_members"])],
                 [f"survivors own all {PARTITIONS} partitions, s", f1(fo["t_parts"])],
                 ["first of its sources polled by another node, s", f1(fo["t_first"])],
                 ["every one of its sources polled by another node, s (failover time)", f1(fo["t_all"])],
                 ["per source: takeover poll - (its last poll + interval), p50 s", f1(pct(d, 0.5))],
                 ["  p99 s", f1(pct(d, 0.99))],
                 ["  max s", f1(max(d) if d else float("nan"))],
                 ["takeover polls sooner than 0.9 x interval after its last poll", fo["early"]],
                 ["shortest gap between its last poll and the takeover poll, s", f1(fo["min_gap"])]])
    if cu:
        j = cu["join"]
        B.table(f"catch-up: node {cu['node']} joins with an empty store",
                ["figure", "value"],
                [["stream messages to apply (last sequence at its start)", cu["target"]],
                 ["exec -> /healthz 200, s", f3(cu["t_health"])],
                 ["exec -> applied the whole stream, s", f1(cu["t_caught"])],
                 ["catch-up rate, messages/s (messages / time)", f1(cu["rate"])],
                 ["rate between 10% and 90% applied, messages/s", f1(cu["mid_rate"])],
                 ["exec -> its /api/cluster says lag 0, s", f1(cu["t_lag0"])],
                 ["its VmHWM after the catch-up, MB", f1(cu["hwm"])],
                 ["its CPU seconds for the catch-up (ms per message)",
                  f"{f1(cu['cpu'])} ({B.fmt(cu['cpu'] * 1000 / max(1, cu['target']), 2)})"],
                 ["stream at the end: messages / MB", f"{cu['messages']} / {B.fmt((cu['bytes'] or 0) / 1e6, 1)}"],
                 ["same ETag and bytes on every node for 3 channels afterwards", "yes" if cu["same"] else "NO"],
                 ["from its start to an interval after it caught up: sources late", f"{j['late_sources']}/{SOURCES}"],
                 ["  lateness p99 / max, s", f"{f3(pct(j['lateness'], 0.99))} / "
                  f"{f3(max(j['lateness']) if j['lateness'] else float('nan'))}"],
                 [f"  of them: its share (polled by {cu['node']} after the late gap) / others / other (open)",
                  f"{cu['late_d']} / {cu['late_other']} / {j['late_sources'] - cu['late_d'] - cu['late_other']}"],
                 ["  max lateness: its share / others, s", f"{f1(cu['lat_d'])} / {f1(cu['lat_other'])}"],
                 ["  polls/s in that time", f1(j["rate"])]])
        rows = []
        for k, s in cu["status"].items():
            s = s or {}
            rows.append([k, len(s.get("members") or []), s.get("partitions_owned", "-"), s.get("sources_owned", "-"),
                         s.get("applied_seq", "-"), s.get("stream_seq", "-"), s.get("lag", "-"),
                         s.get("config_digest", "-")])
        B.table("/api/cluster of each live node at the end", ["node", "members", "partitions", "sources",
                                                              "applied_seq", "stream_seq", "lag", "config"], rows)

    print("\nwarnings and errors in the node logs (FEEDLOOM_LOG=%s):" % env["FEEDLOOM_LOG"])
    logs = [(f"node {n.id}", n.log) for n in nodes_alive + ([nodes[-1]] if fo else [])]
    if base:
        logs.insert(0, ("one node", os.path.join(wd, "baseline", "feedloom.log")))
    for label, path in logs:
        levels, msgs = log_summary(path)
        print(f"  {label}: " + (", ".join(f"{k} {v}" for k, v in sorted(levels.items())) or "none"))
        for m, c in msgs.most_common(4):
            print(f"    {c} x {m}")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
