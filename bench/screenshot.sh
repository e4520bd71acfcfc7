#!/usr/bin/env bash
# The index page in a real browser (issue 7, "Index page"): start the daemon on a copy of the
# shipped config.toml (sample sources in feeds/, a free port on 127.0.0.1, a throwaway store), then
# with headless Chromium (Debian's `chromium`):
#   1. screenshot `/` at desktop (1280x900) and phone (390x844) sizes, for a person to look at;
#   2. load it with console logging on and report any console message or error (there is no
#      JavaScript on the page, so any is a bug: a blocked resource, a bad URL);
#   3. dump the DOM as the browser built it, take every <link rel="alternate"> autodiscovery link
#      and fetch it with curl: each must answer 200 with the type the link announces;
#   4. the Chinese source's page `/sources/shaanxi-gbk` (issue 17), after polls that work and
#      polls that fail (its document is a copy, polled every 2 s, taken away for a few seconds):
#      screenshots at 1280 and 390 wide (and at full length), console messages, and the charts'
#      marks counted in the DOM the browser built.
# Screenshots go to OUT (default /tmp/feedloom-screens), whose path is printed. Exits 1 if a check
# fails. Needs chromium and a CJK font (fonts-wqy-zenhei; both installed when missing and run as
# root), python3, curl.
# FEEDLOOM=/path/to/binary runs another build (default target/debug/feedloom); KEEP=1 keeps the
# scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-/tmp/feedloom-screens}

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    CHROMIUM=$(command -v chromium)
  else
    echo "chromium is not installed (apt-get install chromium)" >&2
    exit 1
  fi
fi
# Without a CJK font the Chinese channel's title is drawn as boxes (the page is fine; the machine
# lacks glyphs): install a small one when possible, else say so.
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh)" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null || true
  fi
  [ -n "$(fc-list :lang=zh)" ] || echo "note: no CJK font installed; Chinese text will show as boxes"
fi
BIN=${FEEDLOOM:-$ROOT/target/debug/feedloom}
[ -x "$BIN" ] || cargo build -q

WORK=$(mktemp -d /tmp/feedloom-screenshot-XXXXXX)
mkdir -p "$OUT"
# shellcheck source=bench/shipped-daemon.sh
. "$ROOT/bench/shipped-daemon.sh"
# The Chinese source polled every 2 s from a copy of its document, which goes away for a few
# seconds (below): its page then has polls that worked and polls that failed to draw.
cp "$ROOT/feeds/gbk.rss" "$WORK/gbk.rss"
edit_shipped_config() {
  python3 - "$1" "$WORK/gbk.rss" <<'PY'
import re, sys
path, copy = sys.argv[1], sys.argv[2]
head, sep, rest = open(path).read().partition("[sources.shaanxi-gbk]")
body, nxt, tail = rest.partition("\n[")
body = re.sub(r'url = "[^"]*"', f'url = "{copy}"', body)
body = re.sub(r'interval = "[^"]*"', 'interval = "2s"', body)
open(path, "w").write(head + sep + body + nxt + tail)
PY
}
start_shipped_daemon
cleanup() {
  stop_shipped_daemon
  if [ "${KEEP:-}" = 1 ]; then echo "scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Wait (10 s at most) until every source was polled, so that the page shows real figures.
wait_sources 'all(x["status"]!="pending" for x in s)' 10 || true
# Render every channel once (the first feed request renders a channel), as a reader would have.
curl -fsS "$BASE/opml" | grep -o 'xmlUrl="[^"]*"' | sed 's/xmlUrl="//; s/"$//' |
  while read -r u; do curl -fsS -o /dev/null "$u"; done

# The Chinese source's document goes away for a few polls, then comes back.
sleep 5
mv "$WORK/gbk.rss" "$WORK/gbk.rss.away"
sleep 5
mv "$WORK/gbk.rss.away" "$WORK/gbk.rss"
sleep 4
SOURCE_PAGE="$BASE/sources/shaanxi-gbk"

chrome() {
  # A fresh profile per run; every background service that would reach the network is off.
  local profile
  profile=$(mktemp -d "$WORK/profile-XXXXXX")
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --disable-extensions --hide-scrollbars \
    --user-data-dir="$profile" "$@"
}

failed=0
chrome --window-size=1280,900 --screenshot="$OUT/index-desktop.png" "$BASE/" 2>"$WORK/desktop.log" >/dev/null
chrome --window-size=390,844 --screenshot="$OUT/index-phone.png" "$BASE/" 2>"$WORK/phone.log" >/dev/null
# A full-length phone capture too: the sources table is at the bottom.
chrome --window-size=390,2400 --screenshot="$OUT/index-phone-full.png" "$BASE/" 2>"$WORK/phone-full.log" >/dev/null
for f in index-desktop index-phone index-phone-full; do
  if [ -s "$OUT/$f.png" ]; then
    echo "screenshot: $OUT/$f.png ($(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$OUT/$f.png"))"
  else
    echo "screenshot $f missing"; failed=1
  fi
done

# The source page: desktop, phone, and both at full length (the settings are at the bottom).
chrome --window-size=1280,900 --screenshot="$OUT/source-desktop.png" "$SOURCE_PAGE" 2>"$WORK/s-desktop.log" >/dev/null
chrome --window-size=1280,2000 --screenshot="$OUT/source-desktop-full.png" "$SOURCE_PAGE" 2>"$WORK/s-desktop-full.log" >/dev/null
chrome --window-size=390,844 --screenshot="$OUT/source-phone.png" "$SOURCE_PAGE" 2>"$WORK/s-phone.log" >/dev/null
chrome --window-size=390,2600 --screenshot="$OUT/source-phone-full.png" "$SOURCE_PAGE" 2>"$WORK/s-phone-full.log" >/dev/null
for f in source-desktop source-desktop-full source-phone source-phone-full; do
  if [ -s "$OUT/$f.png" ]; then
    echo "screenshot: $OUT/$f.png ($(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$OUT/$f.png"))"
  else
    echo "screenshot $f missing"; failed=1
  fi
done

# Console messages and load errors, on both pages.
console_check() {
  local name=$1 url=$2
  chrome --enable-logging=stderr --v=0 --dump-dom "$url" >"$WORK/dom-$name.html" 2>"$WORK/console-$name.log"
  if grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR_" "$WORK/console-$name.log" >"$WORK/console-errors-$name.txt"; then
    echo "console ($name): messages:"; sed 's/^/  /' "$WORK/console-errors-$name.txt"; failed=1
  else
    echo "console ($name): no messages or errors"
  fi
}
console_check index "$BASE/"
cp "$WORK/dom-index.html" "$WORK/dom.html"
console_check source "$SOURCE_PAGE"
# The charts as the browser built them: a mark per poll (some failed), a bar per day.
polls=$({ grep -o '<g class="poll [a-z]*"' "$WORK/dom-source.html" || true; } | wc -l)
failures=$({ grep -o '<g class="poll failed"' "$WORK/dom-source.html" || true; } | wc -l)
days=$({ grep -o '<g class="day"' "$WORK/dom-source.html" || true; } | wc -l)
echo "source page: $polls polls drawn ($failures failed), $days days"
if [ "$polls" -lt 3 ] || [ "$failures" -lt 1 ] || [ "$days" != 30 ]; then
  echo "source page: expected 3 polls or more with a failure among them, and 30 days"; failed=1
fi

# Autodiscovery links from the DOM the browser built, each fetched.
python3 - "$WORK/dom.html" "$BASE" <<'EOF' || failed=1
import html.parser, subprocess, sys
dom, base = open(sys.argv[1]).read(), sys.argv[2]

class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.in_head, self.title = [], False, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "head":
            self.in_head = True
        if tag == "link" and "alternate" in (a.get("rel") or "").split():
            self.links.append((a.get("type"), a.get("title"), a.get("href"), self.in_head))
    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False

p = Links()
p.feed(dom)
bad = 0
if not p.links:
    print("autodiscovery: no <link rel=alternate> in the page"); sys.exit(1)
print(f"autodiscovery: {len(p.links)} links")
for ty, title, href, in_head in p.links:
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", href],
                       capture_output=True, text=True)
    code, _, ctype = r.stdout.partition(" ")
    ok = code == "200" and ctype.split(";")[0].strip() == ty and in_head and href.startswith(base)
    bad += not ok
    print(f'  {"ok " if ok else "BAD"} {code} {ctype:<40} {href}  "{title}"')
sys.exit(1 if bad else 0)
EOF

echo
[ "$failed" = 0 ] && echo "checks: all passed" || echo "checks: FAILED"
exit "$failed"
