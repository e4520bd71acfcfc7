#!/usr/bin/env bash
# Start the daemon on (a copy of) the shipped config.toml, wait until every source was polled,
# download every channel in every format and check them with feedparser (bozo == 0, entries,
# unique ids) and the JSON Feed 1.1 schema.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY="${FEEDLOOM_PYTHON:-python3}"
BIN="${CARGO_TARGET_DIR:-target}/debug/feedloom"
[ -x "$BIN" ] || cargo build -q
WORK=$(mktemp -d)
# shellcheck source=bench/shipped-daemon.sh
. bench/shipped-daemon.sh
start_shipped_daemon
trap 'stop_shipped_daemon; rm -rf "$WORK"' EXIT
if ! wait_sources 'all(x["status"]=="ok" for x in s)' 30; then
  echo "not every source was polled successfully within 30 s:"
  cat "$WORK/sources.json" 2>/dev/null || echo "(no answer from /api/sources)"
  echo "the daemon's log:"; cat "$WORK/feedloom.log"
  exit 1
fi
echo "sources: all $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/sources.json") ok"
FILES=()
for ch in $(curl -fsS "$BASE/opml" | grep -o 'feeds/[^"]*\.atom' | sed 's#feeds/##; s#\.atom##'); do
  for ext in rss atom json; do
    curl -fsS "$BASE/feeds/$ch.$ext" -o "$WORK/$ch.$ext"
    FILES+=("$WORK/$ch.$ext")
  done
done
[ ${#FILES[@]} -gt 0 ] || { echo "no channels found"; exit 1; }
"$PY" tests/feed_check.py --require-schema "${FILES[@]}"
kill -TERM "$PID"
wait "$PID"
echo "shipped config: ${#FILES[@]} feeds checked; daemon exited $?"
