"""Shared helpers for the feedloom benchmarks in bench/ (serve.sh, ingest.sh, scale.sh).

Loopback only. Every process started here is tracked and stopped (by its own pid) when the
script ends, including on Ctrl-C and on errors. Every wait has a deadline.
"""

import atexit
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FEEDLOOM = os.environ.get("FEEDLOOM", os.path.join(ROOT, "target", "release", "feedloom"))
GEN_FEEDS = os.environ.get("GEN_FEEDS", os.path.join(ROOT, "..", "shared", "bench", "gen_feeds.py"))
NGINX = os.environ.get("NGINX", shutil.which("nginx") or "/usr/sbin/nginx")
WRK = os.environ.get("WRK", shutil.which("wrk") or "wrk")
# gen_feeds.py writes links to this origin, so the origin listens here.
ORIGIN_PORT = 8081

_procs = []  # (name, Popen) started by this script
_dirs = []  # scratch directories removed at exit (after the processes are stopped)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(2)


def workdir(name):
    """A fresh scratch directory (BENCH_DIR/name if BENCH_DIR is set, else under /tmp)."""
    base = os.environ.get("BENCH_DIR")
    if base:
        d = os.path.join(base, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    else:
        d = tempfile.mkdtemp(prefix=f"feedloom-bench-{name}-")
    os.chmod(d, 0o755)  # nginx workers run as an unprivileged user and must read the files
    if os.environ.get("KEEP") != "1":
        _dirs.append(d)
    else:
        log(f"KEEP=1: scratch files stay in {d}")
    return d


def check_tools(*tools):
    for t in tools:
        if t.endswith(".py") and os.path.isfile(t):
            continue
        if not (os.path.isfile(t) and os.access(t, os.X_OK)) and not shutil.which(t):
            die(f"{t} not found (peers: bash ../shared/bench/setup-peers.sh; feedloom: cargo build --release)")


def start(name, cmd, logfile, env=None, cwd=None):
    """Start a process in its own session; it is stopped when the script exits."""
    out = open(logfile, "ab")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         start_new_session=True)
    _procs.append((name, p))
    return p


def stop(p, sig=signal.SIGTERM, timeout=20):
    """Stop one process we started, by its pid; SIGKILL after `timeout` s. Returns seconds taken."""
    t0 = time.monotonic()
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"pid {p.pid} did not stop within {timeout}s; killing it")
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
    for i, (_, q) in enumerate(_procs):
        if q is p:
            _procs.pop(i)
            break
    return time.monotonic() - t0


def _cleanup():
    for name, p in reversed(list(_procs)):
        stop(p, signal.SIGQUIT if name.startswith("nginx") else signal.SIGTERM, timeout=15)
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))


def http(url, headers=None, timeout=5, method="GET"):
    """(status, headers with lower-case names, body) of one request; status 0 when the connection
    failed."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}, b""


def wait_until(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    die(f"timed out after {timeout}s waiting for {what}")


def wait_http(url, timeout=30, status=200, what=None):
    return wait_until(lambda: http(url, timeout=2)[0] == status, timeout, what=what or url)


def nginx(name, prefix, port, server_block, workers=1, access_log=None,
          log_fields="$msec $status $request_uri"):
    """Start nginx (master + `workers` workers) with one server on 127.0.0.1:port; with
    `access_log`, each request is logged as `log_fields`."""
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    al = "access_log off;"
    if access_log:
        al = (f"log_format bench '{log_fields}';\n"
              f"    access_log {access_log} bench buffer=256k flush=1s;")
    conf = f"""daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    {al}
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    types {{
        application/atom+xml atom;
        application/rss+xml rss;
        application/xml xml;
        application/feed+json json;
        text/html html;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} reuseport;
        {server_block}
    }}
}}
"""
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    r = subprocess.run([NGINX, "-t", "-p", prefix, "-c", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        die(f"nginx config test failed: {r.stderr}")
    p = start(name, [NGINX, "-p", prefix, "-c", path], os.path.join(prefix, "logs", "stdout.log"))
    wait_until(lambda: http(f"http://127.0.0.1:{port}/__nothing__")[0] != 0 or p.poll() is not None, 15,
               what=f"{name} on port {port}")
    st = http(f"http://127.0.0.1:{port}/__nothing__")[0]
    if st != 404:
        die(f"{name} answers {st} for a missing file (exit {p.poll()}); see {prefix}/logs/error.log")
    return p


def port_free(port):
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def require_ports(*ports):
    for p in ports:
        if not port_free(p):
            die(f"127.0.0.1:{p} is in use (another benchmark running?); stop it or change the port")


def gen_feeds(outdir, n, m, gen):
    """gen_feeds.py into a scratch dir, then rename each file into outdir, so that the origin never
    serves a half-written file."""
    tmp = outdir.rstrip("/") + f".gen{gen}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, GEN_FEEDS, tmp, str(n), str(m), str(gen)], check=True, timeout=600)
    os.makedirs(outdir, exist_ok=True)
    names = sorted(os.listdir(tmp))
    for name in names:
        os.replace(os.path.join(tmp, name), os.path.join(outdir, name))
    os.rmdir(tmp)
    return names


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def feedloom_config(path, listen_port, store, sources, channels, concurrency=16, per_host=16,
                    extra_poll="", workers=None):
    """sources: list of (id, url, interval); channels: list of (id, title, [source ids], limit).
    workers: HTTP server threads (None: the daemon's default, one per core)."""
    lines = [
        "[server]",
        f'listen = "127.0.0.1:{listen_port}"',
        f'base_url = "http://127.0.0.1:{listen_port}"',
        f"workers = {workers}" if workers else "",
        "",
        "[store]",
        f"path = {toml_str(store)}",
        "",
        "[poll]",
        f"concurrency = {concurrency}",
        f"per_host = {per_host}",
        extra_poll,
        "",
    ]
    for sid, url, interval in sources:
        lines += [f"[sources.{sid}]", f"url = {toml_str(url)}", f'interval = "{interval}"', ""]
    for cid, title, srcs, limit in channels:
        lines += [f"[channels.{cid}]", f"title = {toml_str(title)}",
                  "sources = [" + ", ".join(toml_str(s) for s in srcs) + "]",
                  f"limit = {limit}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(url, headers=(), duration=10, threads=2, conns=64):
    """Run wrk --latency; returns dict(rps, p50, p99 (ms), mbps, errors, non2xx3xx)."""
    cmd = [WRK, f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    out = r.stdout
    res = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    if m:
        mult = {"B": 1 / 1e6, "KB": 1 / 1024, "MB": 1, "GB": 1024}.get(m.group(2), float("nan"))
        res["mbps"] = float(m.group(1)) * mult
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    if r.returncode != 0 or res["rps"] != res["rps"]:
        log(f"wrk failed: {r.stdout}\n{r.stderr}")
    return res


def proc_status(pid, key):
    """A kB figure from /proc/PID/status (VmHWM, VmRSS), in MB; None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = proc_meminfo_mb()
    load = os.getloadavg()
    return (f"nproc={os.cpu_count()}, CPU: {model}, RAM: {mem:.0f} MB, kernel {os.uname().release}, "
            f"load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def proc_meminfo_mb():
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 1024
    except OSError:
        return float("nan")


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != v:  # NaN
        return "n/a"
    if isinstance(v, int):
        return str(v)
    return f"{v:,.{nd}f}"


def ratio(a, b, nd=2):
    try:
        if a is None or b is None or b == 0 or a != a or b != b:
            return "n/a"
        return f"{a / b:.{nd}f}"
    except TypeError:
        return "n/a"


def table(title, header, rows):
    """Print a plain-text table to stdout."""
    cols = [header] + [[fmt(c) if not isinstance(c, str) else c for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    print()
    print(title)
    line = "  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in cols[1:]:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    sys.stdout.flush()


def median(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")
