#!/usr/bin/env bash
# A real feed reader against feedloom (issue 7, "Reader behaviour"): start the daemon on a copy of
# the shipped config.toml (same sample sources in feeds/, a free port on 127.0.0.1, a throwaway
# store), subscribe newsboat to every public channel (from /opml), one newsboat profile (cache)
# per format (rss, atom, json), run `newsboat -x reload` three times in a row and print, after
# each reload:
#   - items per feed in newsboat's cache (sqlite), and duplicates (same guid or same link twice in
#     one feed: must be 0);
#   - feedloom's feed responses during that reload by status, from /metrics
#     (feedloom_http_requests_total{route="feed",status=...}).
# Exits 1 if a check fails: duplicates; items per feed different from what the channel serves (its
# JSON Feed's item count) at any reload; a 3rd reload that is not all 304s. The 2nd reload is not
# checked: newsboat 2.21 saves the validators of a feed's very first download before it has a row
# for the feed, so they are lost and its 2nd reload is unconditional. A format newsboat cannot read
# at all (JSON Feed, in Debian 12's newsboat 2.21) is reported, not failed.
# Needs: newsboat (Debian package; installed when missing and run as root), python3, curl.
# FEEDLOOM=/path/to/binary runs another build (default target/debug/feedloom). KEEP=1 keeps the
# scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if ! command -v newsboat >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq newsboat >/dev/null
  else
    echo "newsboat is not installed (apt-get install newsboat)" >&2
    exit 1
  fi
fi
BIN=${FEEDLOOM:-$ROOT/target/debug/feedloom}
[ -x "$BIN" ] || cargo build -q

WORK=$(mktemp -d /tmp/feedloom-newsboat-XXXXXX)
# shellcheck source=bench/shipped-daemon.sh
. "$ROOT/bench/shipped-daemon.sh"
start_shipped_daemon
cleanup() {
  stop_shipped_daemon
  if [ "${KEEP:-}" = 1 ]; then echo "scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Wait (10 s at most) until every source has been polled successfully.
wait_sources 'all(x["status"]=="ok" for x in s)' 10 || true
python3 - "$WORK/sources.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print("feedloom sources:", ", ".join(f'{x["id"]}={x["status"]}({x["items"]})' for x in s))
EOF

# One newsboat profile (its own cache) per format, as a reader subscribes to one format of a
# channel: newsboat keys items by guid across all feeds of a cache, so the same channel in two
# formats in one cache would share (hide) items.
python3 - "$BASE" "$WORK" <<'EOF'
import json, os, re, sqlite3, subprocess, sys, time, urllib.request

base, work = sys.argv[1], sys.argv[2]

def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.read().decode()

def feed_responses():
    counts = {}
    for m in re.finditer(r'^feedloom_http_requests_total\{([^}]*)\}\s+(\S+)', get("/metrics"), re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("route") == "feed":
            counts[labels["status"]] = counts.get(labels["status"], 0) + int(float(m.group(2)))
    return counts

channels = [u.rsplit("/", 1)[1][:-len(".atom")]
            for u in re.findall(r'xmlUrl="([^"]*)"', get("/opml"))]
# What each channel serves now (its JSON Feed's item count), read before the reloads.
expected = {ch: len(json.loads(get(f"/feeds/{ch}.json"))["items"]) for ch in channels}
print("channels:", ", ".join(f"{c} ({n} items)" for c, n in expected.items()))
print(subprocess.run(["newsboat", "-v"], capture_output=True, text=True).stdout.splitlines()[0])

failed = []
for fmt in ["rss", "atom", "json"]:
    d = os.path.join(work, fmt)
    os.makedirs(d)
    urls = {f"{base}/feeds/{ch}.{fmt}": ch for ch in channels}
    with open(os.path.join(d, "urls"), "w") as f:
        f.write("".join(u + "\n" for u in urls))
    open(os.path.join(d, "config"), "w").close()
    print(f"\n== {fmt}: {len(urls)} feeds, 3 reloads ==")
    rows = []
    for i in (1, 2, 3):
        before = feed_responses()
        t0 = time.time()
        # HOME is the scratch directory: no ~/.newsboat of the user is read or written.
        p = subprocess.run(["newsboat", "-u", "urls", "-c", "cache.db", "-C", "config",
                            "-x", "reload", "-l", "4", "-d", f"reload-{i}.log"],
                           cwd=d, env=dict(os.environ, HOME=d), capture_output=True, text=True,
                           timeout=120)
        secs = time.time() - t0
        after = feed_responses()
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        delta = {k: v for k, v in delta.items() if v}
        db = sqlite3.connect(os.path.join(d, "cache.db"))
        items = {u: db.execute("SELECT COUNT(*) FROM rss_item WHERE feedurl = ?", (u,)).fetchone()[0]
                 for u in urls}
        known = {r[0] for r in db.execute("SELECT rssurl FROM rss_feed")}
        dup_guid = db.execute("SELECT COALESCE(SUM(c - 1), 0) FROM (SELECT COUNT(*) c FROM rss_item "
                              "GROUP BY feedurl, guid HAVING c > 1)").fetchone()[0]
        dup_link = db.execute("SELECT COALESCE(SUM(c - 1), 0) FROM (SELECT COUNT(*) c FROM rss_item "
                              "WHERE url != '' GROUP BY feedurl, url HAVING c > 1)").fetchone()[0]
        db.close()
        errors = re.findall(r"Error while retrieving (\S+): (.*)",
                            open(os.path.join(d, f"reload-{i}.log"), errors="replace").read())
        rows.append(dict(items=items, known=known, dups=(dup_guid, dup_link), delta=delta,
                         secs=secs, rc=p.returncode, errors=errors))
    width = max(len(u) for u in urls)
    print(f'{"feed":<{width}}  served  reload 1  reload 2  reload 3')
    for u, ch in urls.items():
        print(f"{u:<{width}}  {expected[ch]:>6}  " + "  ".join(f'{r["items"][u]:>8}' for r in rows))
    for i, r in enumerate(rows, 1):
        resp = ", ".join(f"{v}x{k}" for k, v in sorted(r["delta"].items())) or "none"
        print(f'reload {i}: {r["secs"]:.2f} s, exit {r["rc"]}; duplicates by guid {r["dups"][0]}, '
              f'by link {r["dups"][1]}; feedloom feed responses: {resp}')
    if fmt == "json" and rows[0]["errors"] and not rows[0]["known"]:
        # Older newsboat (Debian 12 has 2.21) reads XML feeds only: the reader's limit. An RSS
        # or Atom feed it cannot read is a failure.
        print(f'newsboat cannot read the {fmt} feeds ("{rows[0]["errors"][0][1]}"): '
              f'reported, not counted as a failure')
        continue
    for i, r in enumerate(rows, 1):
        if r["rc"] != 0 or r["errors"]:
            failed.append(f"{fmt} reload {i}: newsboat errors {r['errors'][:2]}")
        if r["dups"] != (0, 0):
            failed.append(f"{fmt} reload {i}: duplicates {r['dups']}")
        if any(r["items"][u] != expected[ch] for u, ch in urls.items()):
            failed.append(f"{fmt} reload {i}: items per feed differ from what feedloom serves")
    # newsboat 2.21 saves the validators of a feed's very first download before the feed's row
    # exists (that UPDATE is lost), so its 2nd reload is unconditional; from the 3rd on it sends
    # If-None-Match / If-Modified-Since and must get 304s only.
    last = rows[2]["delta"]
    if last.get("304", 0) != len(urls) or any(k != "304" for k in last):
        failed.append(f"{fmt} reload 3: expected {len(urls)}x304, got {last}")

print("\nchecks:", "all passed" if not failed else "FAILED:\n  " + "\n  ".join(failed))
sys.exit(1 if failed else 0)
EOF
