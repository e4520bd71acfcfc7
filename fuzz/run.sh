#!/usr/bin/env bash
# Build every fuzz target and run each for SECONDS (libFuzzer through cargo-fuzz, stable
# toolchain, no sanitizer). Exits non-zero when any target finds a crash, a hang (> 1 s on one
# input) or an out-of-memory, or when a target cannot be built or run.
#
#   fuzz/run.sh SECONDS [TARGET...]      (all targets when none is named)
#
# Environment:
#   FUZZ_JOBS=N     targets run N at a time (default 1)
#   FUZZ_KEEP=1     keep the scratch folder (logs, generated seeds) after the run
#   FUZZ_ARGS="…"   extra libFuzzer flags for every target
#
# Corpora grow in fuzz/corpus/<target>/ (not in git) and are reused by the next run; seeds are
# rebuilt each run from tests/fixtures and fuzz/seeds/. Findings land in fuzz/artifacts/<target>/
# (crash-*, timeout-*, oom-*); see README.md for turning one into a regression test.
set -uo pipefail

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
secs=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
fx=$root/tests/fixtures
cd "$here" || exit 2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked (see fuzz/README.md)" >&2
    exit 2
fi
if ! command -v c++ >/dev/null 2>&1; then
    echo "run.sh: no C++ compiler (libFuzzer is C++): apt-get install g++ (see fuzz/README.md)" >&2
    exit 2
fi

all_targets=(decode parse_feed extract_article extract_links dates config routes normalize)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
    [[ -f fuzz_targets/$t.rs ]] || { echo "run.sh: no target $t (fuzz_targets/$t.rs)" >&2; exit 2; }
done

# Longest input the fuzzer makes, per target (seeds longer than this are cut to it).
max_len() {
    case $1 in
        decode | parse_feed | extract_article | extract_links) echo 65536 ;;
        config) echo 16384 ;;
        normalize) echo 8192 ;;
        routes) echo 4096 ;;
        dates) echo 512 ;;
    esac
}

# --- build --------------------------------------------------------------------------------
# -s none: no sanitizer, so no nightly-only -Zsanitizer flag; cargo-fuzz's default profile is
# release with debug assertions and overflow checks. --release-style codegen, one unit per crate.
echo "== building ${targets[*]}"
build_args=(-s none)
for t in "${targets[@]}"; do
    if ! cargo fuzz build "${build_args[@]}" "$t"; then
        echo "run.sh: building $t failed" >&2
        exit 2
    fi
done
bin_dir=$here/target/x86_64-unknown-linux-gnu/release

# --- seeds --------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/feedloom-fuzz.XXXXXX")
cleanup() { [[ ${FUZZ_KEEP:-0} == 1 ]] && echo "scratch kept: $work" || rm -rf "$work"; }
trap cleanup EXIT

# copy_seeds DEST FILE...: each file under a name unique in DEST (the fixture's path).
copy_seeds() {
    local dest=$1
    shift
    mkdir -p "$dest"
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        local name=${f#"$fx"/}
        name=${name//\//_}
        cp "$f" "$dest/$name"
    done
}

make_seeds() {
    local t=$1 d=$work/seeds/$t
    mkdir -p "$d"
    [[ -d seeds/$t ]] && cp seeds/"$t"/* "$d"/ 2>/dev/null
    shopt -s nullglob globstar
    local feeds=("$fx"/scenario/* "$fx"/feeds/feed-rs/*.xml "$fx"/feeds/feed-rs/*.json
        "$fx"/feeds/hand/*.xml "$fx"/feeds/feedparser/tests/**/*.xml)
    local pages=("$fx"/pages/*/original/*.html "$fx"/pages/*/html/*.html
        "$fx"/pages/mozilla-readability/*/source.html "$fx"/people-sn/**/*.html
        "$fx"/feeds/decode/*.html "$fx"/feeds/hand/page.html)
    case $t in
        decode)
            copy_seeds "$d" "$fx"/feeds/decode/*.html "$fx"/scenario/* "$fx"/people-sn/**/*.html \
                "$fx"/feeds/feed-rs/rss_2.0_encoding_1.xml "$fx"/pages/*/original/*.html
            # The same bytes with the charset a server would send (right, wrong, odd).
            { printf 'Content-Type: text/xml; charset=gbk\n'; cat "$fx"/scenario/gbk.rss; } >"$d/ct-gbk"
            { printf 'Content-Type: text/html; charset="utf-8"\n'; cat "$fx"/feeds/decode/people-sn-gb2312.html; } >"$d/ct-wrong"
            { printf 'Content-Type: application/rss+xml;charset=x-user-defined; q=1\n'; cat "$fx"/scenario/blog.rss; } >"$d/ct-odd"
            printf 'Content-Type: text/plain; charset=utf-16le\n\xff\xfe<\x00r\x00s\x00s\x00>\x00' >"$d/ct-utf16"
            ;;
        parse_feed)
            copy_seeds "$d" "${feeds[@]}"
            { printf 'Content-Type: text/xml; charset=gbk\n'; cat "$fx"/scenario/gbk.rss; } >"$d/ct-gbk"
            ;;
        extract_article) copy_seeds "$d" "${pages[@]}" ;;
        extract_links) copy_seeds "$d" "$fx"/people-sn/GB/**/*.html "${pages[@]}" ;;
        dates)
            copy_seeds "$d" "$fx"/pages/*/date/*.txt
            # Every date a fixture feed writes, one per seed.
            local n=0 v
            while IFS= read -r v; do
                n=$((n + 1))
                printf '%s' "$v" >"$d/feed-date-$n"
            done < <(grep -rhoE '<(pubDate|dc:date|updated|published|modified|issued|created|lastBuildDate)[^>]*>[^<]{1,80}<' \
                "$fx"/feeds "$fx"/scenario 2>/dev/null | sed -E 's/^<[^>]*>//; s/<$//' | sort -u | head -200)
            ;;
        config)
            copy_seeds "$d" "$root"/config.toml
            # Every ```toml block of the docs.
            local doc
            for doc in "$root"/README.md "$root"/docs/*.md; do
                [[ -f $doc ]] || continue
                awk -v out="$d/$(basename "$doc" .md)-" '/^```toml/{f=1; n++; next} /^```/{f=0} f{print > (out n ".toml")}' "$doc"
            done
            ;;
        normalize)
            copy_seeds "$d" "$fx"/pages/*/cleaned/*.txt "$fx"/people-sn/mirror/*.html
            ;;
        routes) ;;
    esac
    shopt -u nullglob globstar
}

# --- run ----------------------------------------------------------------------------------
# run_one TARGET: fuzz it, write $work/result/TARGET ("status execs cov ft corpus artifact").
run_one() {
    local t=$1
    local corpus=$here/corpus/$t artifacts=$here/artifacts/$t log=$work/logs/$t.log
    mkdir -p "$corpus" "$artifacts" "$work/logs" "$work/result" "$work/tmp/$t"
    make_seeds "$t"
    local start_files
    start_files=$(find "$artifacts" -type f | wc -l)
    # shellcheck disable=SC2086
    TMPDIR=$work/tmp/$t "$bin_dir/$t" "$corpus" "$work/seeds/$t" \
        -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} >"$log" 2>&1
    local rc=$?
    local done_line execs cov ft status artifact
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    [[ -z $done_line ]] && done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' | tail -1)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' | tail -1)
    artifact=$(grep -oE "(Test unit written to|artifact_prefix='[^']*'; Test unit written to) [^ ]+" "$log" | awk '{print $NF}' | tail -1)
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then status=TIMEOUT
    elif grep -qE 'ERROR: libFuzzer: (out-of-memory|malloc)' "$log"; then status=OOM
    elif grep -qE 'ERROR: libFuzzer' "$log"; then status=CRASH
    elif [[ $rc -ne 0 ]]; then status="FAILED(rc=$rc)"
    else status=ok
    fi
    local corpus_n
    corpus_n=$(find "$corpus" -type f | wc -l)
    echo "$status ${execs:--} ${cov:--} ${ft:--} $corpus_n ${artifact:--}" >"$work/result/$t"
    rm -rf "$work/tmp/$t"
    echo "-- $t: $status (execs ${execs:--}, cov ${cov:--}, ft ${ft:--}, corpus $corpus_n)${artifact:+ $artifact}"
    if [[ $status != ok ]]; then
        echo "   from $t's log:"
        { grep -m1 -A1 'panicked at' "$log"; grep -m1 -E 'ERROR: libFuzzer' "$log"; grep -m1 -E '^SUMMARY' "$log"; } | sed 's/^/   | /'
        grep -m1 -E 'Test unit written to' "$log" | sed 's/^/   | /'
    fi
}

echo "== fuzzing ${#targets[@]} target(s) for ${secs}s each, ${FUZZ_JOBS:-1} at a time"
jobs_max=${FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
    while [[ $(jobs -rp | wc -l) -ge $jobs_max ]]; do wait -n; done
    run_one "$t" &
done
wait

# --- summary ------------------------------------------------------------------------------
echo
printf '%-16s %-14s %12s %8s %8s %8s  %s\n' target result executions cov ft corpus finding
fail=0
for t in "${targets[@]}"; do
    if [[ -f $work/result/$t ]]; then
        read -r status execs cov ft corpus_n artifact <"$work/result/$t"
    else
        status=NO-RESULT execs=- cov=- ft=- corpus_n=- artifact=-
    fi
    printf '%-16s %-14s %12s %8s %8s %8s  %s\n' "$t" "$status" "$execs" "$cov" "$ft" "$corpus_n" "$artifact"
    [[ $status == ok ]] || fail=1
done
if [[ $fail -ne 0 ]]; then
    echo
    echo "run.sh: findings (see above); reproduce with fuzz/target/x86_64-unknown-linux-gnu/release/TARGET ARTIFACT"
    [[ ${FUZZ_KEEP:-0} == 1 ]] || echo "run.sh: (FUZZ_KEEP=1 keeps the full logs)"
    exit 1
fi
echo "run.sh: no findings"
