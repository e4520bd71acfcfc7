# Sourced (not run) by scripts that need the daemon serving the shipped config.toml: the same
# sources with absolute paths to feeds/, a free port on 127.0.0.1 and a throwaway store.
# Needs ROOT (the repo), BIN (the feedloom binary) and WORK (a scratch folder); sets PORT, BASE
# and PID; the daemon logs to $WORK/feedloom.log. A function edit_shipped_config, when defined,
# is called with the copy's path before the daemon starts.

start_shipped_daemon() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$PORT"
  sed -e "s#^listen = .*#listen = \"127.0.0.1:$PORT\"#" \
      -e "s#^base_url = .*#base_url = \"$BASE\"#" \
      -e "s#^path = .*#path = \"$WORK/store.sled\"#" \
      -e "s#url = \"feeds/#url = \"$ROOT/feeds/#" "$ROOT/config.toml" > "$WORK/config.toml"
  # A script may change its copy before the daemon reads it (defining edit_shipped_config).
  if declare -F edit_shipped_config >/dev/null; then edit_shipped_config "$WORK/config.toml"; fi
  "$BIN" --config "$WORK/config.toml" serve 2>"$WORK/feedloom.log" &
  PID=$!
}

# wait_sources PYTHON_CONDITION SECONDS: poll /api/sources (saved as $WORK/sources.json) until
# the condition over the list `s` holds; returns 1 when it never did.
wait_sources() {
  local condition=$1 tries=$(( $2 * 10 ))
  for _ in $(seq 1 "$tries"); do
    if curl -fsS "$BASE/api/sources" -o "$WORK/sources.json" 2>/dev/null &&
       python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s and ($condition) else 1)" "$WORK/sources.json"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

stop_shipped_daemon() {
  kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
}
