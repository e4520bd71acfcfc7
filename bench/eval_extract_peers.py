#!/usr/bin/env python3
"""Run trafilatura and GNE on the pages `eval_extract --export` wrote, with the same metrics.

    python3 bench/eval_extract_peers.py PAGES.jsonl

Each line of PAGES.jsonl holds one page as feedloom's evaluator decoded it (`html`, UTF-8 text)
and its labels (`body`, `title`, `time` as [year, month, day, hour, minute] numbers, or null), so
all three extractors see the same input and are scored against the same truth:

- body F1: character-bigram F1 after the NFKC approximation used by the Rust side (fullwidth
  ASCII folded to ASCII, ideographic space to space) and whitespace removal;
- title exact: whitespace-collapsed equality, over pages with a labelled title;
- time exact: the prediction's year/month/day/hour/minute equal the label's, at the label's
  precision, over pages with a labelled time;
- pages/s: extraction calls only, one process.

Needs `pip install trafilatura gne` (a venv: python3 -m venv /tmp/venv).
"""

import json
import re
import sys
import time
import warnings
from collections import Counter, defaultdict

warnings.filterwarnings("ignore")


def normalize(s):
    out = []
    for c in s or "":
        o = ord(c)
        if 0xFF01 <= o <= 0xFF5E:
            c = chr(o - 0xFEE0)
        elif o == 0x3000:
            c = " "
        if not c.isspace():
            out.append(c)
    return out


def bigram_f1(pred, gold):
    p = Counter(zip(normalize(pred), normalize(pred)[1:]))
    g = Counter(zip(normalize(gold), normalize(gold)[1:]))
    np_, ng = sum(p.values()), sum(g.values())
    if ng == 0:
        return 1.0 if np_ == 0 else 0.0
    if np_ == 0:
        return 0.0
    overlap = sum((p & g).values())
    if overlap == 0:
        return 0.0
    pr, rc = overlap / np_, overlap / ng
    return 2 * pr * rc / (pr + rc)


def time_numbers(s):
    if not s:
        return None
    nums = [int(x) for x in re.findall(r"\d+", str(s))][:5]
    if not nums or not (1990 <= nums[0] < 2100):
        return None
    return nums


def time_matches(pred, label):
    got = time_numbers(pred)
    if not got:
        return False
    got = got + [0] * (5 - len(got))
    return all(a == b for a, b in zip(label, got))


def norm_title(t):
    return " ".join((t or "").split())


def run_trafilatura():
    import trafilatura
    from trafilatura.settings import use_config

    cfg = use_config()
    cfg.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    date_params = {
        "original_date": True,
        "extensive_search": True,
        "outputformat": "%Y-%m-%d %H:%M",
    }

    def extract(html, url):
        body = trafilatura.extract(html, url=url, config=cfg, include_comments=False) or ""
        meta = trafilatura.extract_metadata(html, default_url=url, date_config=date_params)
        title = meta.title if meta else None
        date = meta.date if meta else None
        # htmldate prints 00:00 when it found a day only; keep the day then
        if date and date.endswith(" 00:00"):
            date = date[:10]
        return body, title, date

    return extract


def run_gne():
    from gne import GeneralNewsExtractor

    ex = GeneralNewsExtractor()

    def extract(html, url):
        try:
            r = ex.extract(html)
        except Exception:
            return "", None, None
        return r.get("content") or "", r.get("title"), r.get("publish_time")

    return extract


def main():
    path = sys.argv[1]
    pages = [json.loads(l) for l in open(path, encoding="utf-8")]
    datasets = defaultdict(list)
    for p in pages:
        datasets[p["dataset"]].append(p)
    tools = [("trafilatura", run_trafilatura), ("gne", run_gne)]
    for tool, make in tools:
        try:
            extract = make()
        except ImportError as e:
            print(f"{tool}: not installed ({e})")
            continue
        print(
            f"{'dataset (' + tool + ')':<40} {'pages':>6} {'body F1':>8} {'title exact':>12} "
            f"{'time exact':>14} {'pages/s':>9}"
        )
        for name, ps in datasets.items():
            f1_sum = 0.0
            titles = title_ok = times = time_ok = 0
            spent = 0.0
            # body F1 sum and page count per labelled page type (WCXB), for the per-type table
            by_kind = defaultdict(lambda: [0.0, 0])
            for p in ps:
                t0 = time.perf_counter()
                try:
                    body, title, date = extract(p["html"], p["url"])
                except Exception:
                    body, title, date = "", None, None
                spent += time.perf_counter() - t0
                f1 = bigram_f1(body, p["body"])
                f1_sum += f1
                if p.get("kind"):
                    by_kind[p["kind"]][0] += f1
                    by_kind[p["kind"]][1] += 1
                if p.get("title") is not None:
                    titles += 1
                    title_ok += norm_title(title) == norm_title(p["title"])
                if p.get("time"):
                    times += 1
                    time_ok += time_matches(date, p["time"])

            def rate(ok, n):
                return "n/a" if n == 0 else f"{ok / n:.3f} ({n})"

            print(
                f"{name:<40} {len(ps):>6} {f1_sum / max(len(ps), 1):>8.3f} "
                f"{rate(title_ok, titles):>12} {rate(time_ok, times):>14} "
                f"{len(ps) / max(spent, 1e-9):>9.0f}"
            )
            for kind in sorted(by_kind):
                total, count = by_kind[kind]
                print(f"{'  ' + name + ' / ' + kind:<40} {count:>6} {total / count:>8.3f}")


if __name__ == "__main__":
    main()
