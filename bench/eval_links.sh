#!/usr/bin/env bash
# The automatic article-link finder (`items = "auto"`) against hand labels.
#
#   bench/eval_links.sh [FEEDLOOM_BINARY]     (default: target/debug/feedloom, built if missing)
#
# For each list page of bench/list_links_labels.json (the gne corpus's list pages, referenced
# by path under ../shared/corpus, and the people.com.cn fixture), runs the hidden
# `feedloom extract-links FILE URL` and prints precision and recall of the links it finds
# against the labelled set, per page and overall (micro: over all links), and the selector
# the finder settled on (`-` when it found none that describes the links exactly).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/feedloom}"
[ -x "$bin" ] || cargo build --quiet
python3 - "$bin" <<'PY'
import json, subprocess, sys
bin_ = sys.argv[1]
labels = json.load(open("bench/list_links_labels.json"))
rows, tp_all, found_all, truth_all = [], 0, 0, 0
for p in labels["pages"]:
    r = subprocess.run([bin_, "extract-links", p["path"], p["url"]],
                       capture_output=True, text=True, check=True)
    found = [l for l in r.stdout.splitlines() if l.strip()]
    sel = next((l[len("selector: "):] for l in r.stderr.splitlines()
                if l.startswith("selector: ")), "")
    truth = set(p["links"])
    tp = len(set(found) & truth)
    prec = tp / len(set(found)) if found else 0.0
    rec = tp / len(truth) if truth else 0.0
    tp_all += tp; found_all += len(set(found)); truth_all += len(truth)
    name = p["path"].split("test_list_page/")[-1]
    rows.append((name, len(truth), len(set(found)), tp, prec, rec,
                 "-" if sel.startswith("(none") else sel))
    for miss in sorted(truth - set(found)):
        print(f"  missed  {name}: {miss}", file=sys.stderr)
    for extra in sorted(set(found) - truth):
        print(f"  extra   {name}: {extra[:120]}", file=sys.stderr)
print(f"| page | labelled | found | correct | precision | recall | selector |")
print(f"|---|---:|---:|---:|---:|---:|---|")
for n, t, f, c, pr, rc, s in rows:
    print(f"| {n} | {t} | {f} | {c} | {pr:.3f} | {rc:.3f} | `{s}` |")
P = tp_all / found_all if found_all else 0.0
R = tp_all / truth_all if truth_all else 0.0
print(f"| **all (micro)** | {truth_all} | {found_all} | {tp_all} | {P:.3f} | {R:.3f} | |")
PY
