#!/usr/bin/env bash
# Start the daemon on (a copy of) the shipped config.toml, wait until every source was polled,
# download every channel in every format and check them with feedparser (bozo == 0, entries,
# unique ids) and the JSON Feed 1.1 schema.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${FEEDLOOM_PYTHON:-python3}"
BIN="${CARGO_TARGET_DIR:-target}/debug/feedloom"
[ -x "$BIN" ] || cargo build -q
WORK=$(mktemp -d)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Same sources (absolute paths to feeds/), a free port and a throwaway store.
sed -e "s#^listen = .*#listen = \"127.0.0.1:$PORT\"#" \
    -e "s#^base_url = .*#base_url = \"http://127.0.0.1:$PORT\"#" \
    -e "s#^path = .*#path = \"$WORK/store.sled\"#" \
    -e "s#url = \"feeds/#url = \"$PWD/feeds/#" config.toml > "$WORK/config.toml"
"$BIN" --config "$WORK/config.toml" serve 2>"$WORK/log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$PORT/api/sources" -o "$WORK/sources.json" 2>/dev/null &&
     "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s and all(x["status"]=="ok" for x in s) else 1)' "$WORK/sources.json"; then
    break
  fi
  sleep 0.1
done
if [ ! -s "$WORK/sources.json" ]; then
  echo "the daemon did not answer /api/sources within 30 s; its log:"; cat "$WORK/log"; exit 1
fi
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); bad=[x for x in s if x["status"]!="ok"]; print("sources:", len(s), "not ok:", bad); sys.exit(1 if bad else 0)' "$WORK/sources.json"
FILES=()
for ch in $(curl -fsS "http://127.0.0.1:$PORT/opml" | grep -o 'feeds/[^"]*\.atom' | sed 's#feeds/##; s#\.atom##'); do
  for ext in rss atom json; do
    curl -fsS "http://127.0.0.1:$PORT/feeds/$ch.$ext" -o "$WORK/$ch.$ext"
    FILES+=("$WORK/$ch.$ext")
  done
done
[ ${#FILES[@]} -gt 0 ] || { echo "no channels found"; exit 1; }
"$PY" tests/feed_check.py --require-schema "${FILES[@]}"
kill -TERM $PID
wait $PID
echo "shipped config: ${#FILES[@]} feeds checked; daemon exited $?"
