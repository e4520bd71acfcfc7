#!/usr/bin/env python3
"""Check rendered feeds the way feed readers will see them.

Usage: feed_check.py [--allow-empty] [--require-schema] FILE...

For every FILE (RSS 2.0, Atom 1.0 or JSON Feed):
- parse it with feedparser and require ``bozo == 0`` (well-formed, no encoding or
  date trouble feedparser noticed) and at least one entry (unless ``--allow-empty``);
- require entry ids to be unique and every entry to have an id and a title or summary;
- require every date feedparser saw to have parsed;
- for JSON Feeds (``.json`` or a body starting with ``{``), validate against the JSON Feed 1.1
  schema in ``tests/fixtures/render/`` when ``jsonschema`` is importable (``--require-schema``
  makes a missing ``jsonschema`` an error).

Prints one line per file and exits 1 if any file fails. Setup:

    python3 -m venv /tmp/fvenv && /tmp/fvenv/bin/pip install feedparser jsonschema
    /tmp/fvenv/bin/pip install rfc3339-validator rfc3987   # optional: check "date-time"/"uri"
"""

import argparse
import json
import re
import sys
from pathlib import Path

import feedparser

SCHEMA = Path(__file__).resolve().parent / "fixtures" / "render" / "jsonfeed-schema-v1.1.json"

# JSON Feed support arrived in feedparser 6.1 (`feedparser.parsers.json`).
try:
    from feedparser.parsers import json as _feedparser_json  # noqa: F401

    FEEDPARSER_READS_JSON = True
except ImportError:
    FEEDPARSER_READS_JSON = False

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

try:
    import jsonschema
except ImportError:  # optional: schema validation is skipped without it
    jsonschema = None


def check_json_schema(body, problems):
    try:
        doc = json.loads(body)
    except ValueError as e:
        problems.append(f"not JSON: {e}")
        return
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.path) or "(root)"
        problems.append(f"schema: {where}: {error.message}")
    if not isinstance(doc, dict):
        return
    if next(iter(doc), None) != "version":
        problems.append("JSON Feed: `version` should be the first key")


def check_file(path, args):
    body = Path(path).read_bytes()
    problems = []
    is_json = path.endswith(".json") or body.lstrip()[:1] == b"{"

    if is_json:
        if jsonschema is not None:
            check_json_schema(body, problems)
        elif args.require_schema:
            problems.append("jsonschema is not importable (--require-schema)")

    if is_json and not FEEDPARSER_READS_JSON:
        # feedparser < 6.1 has no JSON Feed support: check what it would have checked.
        return report(path, "json", check_json_items(body, args, problems), problems, True)

    if not is_json:
        check_atom_links(body, problems)

    parsed = feedparser.parse(body)
    if parsed.bozo:
        problems.append(f"bozo: {parsed.get('bozo_exception')!r}")
    if not parsed.version:
        problems.append("feedparser did not recognise the format")
    if not parsed.entries and not args.allow_empty:
        problems.append("no entries")

    seen = set()
    for i, entry in enumerate(parsed.entries):
        entry_id = entry.get("id")
        if not entry_id:
            problems.append(f"entry {i}: no id")
        elif entry_id in seen:
            problems.append(f"entry {i}: duplicate id {entry_id!r}")
        seen.add(entry_id)
        if not entry.get("title") and not entry.get("summary"):
            problems.append(f"entry {i}: neither title nor summary")
        for field in ("published", "updated"):
            if entry.get(field) and not entry.get(field + "_parsed"):
                problems.append(f"entry {i}: {field} {entry.get(field)!r} did not parse")

    return report(path, parsed.version or "?", len(parsed.entries), problems, is_json)


ATOM_NS = "http://www.w3.org/2005/Atom"
# The IANA link relations the W3C feed validator knows, plus `hub` (WebSub, registered 2018).
REGISTERED_RELS = {
    "alternate", "current", "enclosure", "edit", "edit-media", "first", "hub", "last",
    "license", "next", "next-archive", "payment", "prev-archive", "previous", "related",
    "replies", "self", "service", "up", "via",
}
MIME = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")


def check_atom_links(body, problems):
    """The W3C feed validator's rules for atom:link, in RSS and Atom alike: the Atom namespace
    is declared (in RSS an undeclared `atom:` prefix already fails the parse), every link has an
    absolute href, a registered (or URI) rel and, when
    given, a MIME type; no two links share rel="self" or rel="hub" with one href."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        problems.append(f"not XML: {e}")
        return
    seen = set()
    for link in root.iter(f"{{{ATOM_NS}}}link"):
        href = link.get("href")
        rel = link.get("rel", "alternate")
        kind = link.get("type")
        if not href or not re.match(r"[a-z][a-z0-9+.-]*:", href):
            problems.append(f"atom:link rel={rel!r}: href {href!r} is not an absolute URI")
        if rel not in REGISTERED_RELS and ":" not in rel:
            problems.append(f"atom:link: unregistered rel {rel!r}")
        if kind is not None and not MIME.fullmatch(kind):
            problems.append(f"atom:link rel={rel!r}: type {kind!r} is not a MIME type")
        if rel in ("self", "hub") and (rel, href) in seen:
            problems.append(f"atom:link rel={rel!r} href={href!r} twice")
        seen.add((rel, href))


def check_json_items(body, args, problems):
    """The entry checks for a JSON Feed feedparser cannot read; returns the item count."""
    try:
        doc = json.loads(body)
    except ValueError:
        return 0  # already reported
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        problems.append("no items array")
        return 0
    if not items and not args.allow_empty:
        problems.append("no entries")
    seen = set()
    for i, item in enumerate(items):
        item_id = item.get("id")
        if not item_id:
            problems.append(f"entry {i}: no id")
        elif item_id in seen:
            problems.append(f"entry {i}: duplicate id {item_id!r}")
        seen.add(item_id)
        if not any(item.get(k) for k in ("title", "summary", "content_html", "content_text")):
            problems.append(f"entry {i}: nothing to show")
        for field in ("date_published", "date_modified"):
            if field in item and not RFC3339.fullmatch(item[field]):
                problems.append(f"entry {i}: {field} {item[field]!r} is not RFC 3339")
    return len(items)


def report(path, kind, entries, problems, is_json):
    if problems:
        print(f"FAIL {path} ({kind})")
        for p in problems:
            print(f"  - {p}")
        return False
    how = "bozo=0" if kind != "json" else "json ok"
    schema = ", schema ok" if is_json and jsonschema is not None else ""
    print(f"ok   {path} ({kind}, {entries} entries, {how}{schema})")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--allow-empty", action="store_true", help="accept feeds with no entries")
    parser.add_argument(
        "--require-schema", action="store_true", help="fail when jsonschema is not importable"
    )
    args = parser.parse_args()
    results = [check_file(path, args) for path in args.files]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
