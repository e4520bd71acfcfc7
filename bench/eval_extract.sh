#!/usr/bin/env bash
# Extraction quality and speed: feedloom vs trafilatura vs GNE on the labelled page corpora.
#
#   bench/eval_extract.sh [CORPUS_DIR]     (default: ../shared/corpus/pages next to the repo)
#
# Prints one table per extractor (rows = datasets): mean body bigram-F1, title exact-match rate,
# publish-time exact rate (to the label's precision, up to the minute; Chinese labels corrected by the
# corpus's errata.json where the page contradicts them), pages/s. The Rust
# evaluator also exports the decoded pages so the Python peers score the same input.
# Peers need a venv with trafilatura and gne; PEERS_PY overrides the interpreter
# (default /tmp/venv/bin/python, created with:
#   python3 -m venv /tmp/venv && /tmp/venv/bin/pip install trafilatura gne).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus/pages}"
[ -d "$corpus" ] || corpus=/work/shared/corpus/pages
py="${PEERS_PY:-/tmp/venv/bin/python}"
pages="$(mktemp -t eval_pages.XXXXXX.jsonl)"
trap 'rm -f "$pages"' EXIT

cargo run --quiet --release --example eval_extract -- \
    "$corpus/chinese-web-content-extraction-dataset" \
    "$corpus/mozilla-readability" \
    "$corpus/wcxb-dev-subset" \
    --export "$pages"
echo
if [ -x "$py" ]; then
    "$py" bench/eval_extract_peers.py "$pages"
else
    echo "peers skipped: $py not found (see the header of this script)"
fi
