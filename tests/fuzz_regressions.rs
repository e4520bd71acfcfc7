//! Inputs the fuzz targets (`fuzz/`) found, replayed through the same harness code the fuzzer
//! runs (`fuzz/src/lib.rs`, included here). Each finding is one test reading its saved input
//! from `fuzz/regressions/<target>/`; a test stays `#[ignore]`d, with the bug named, until the
//! bug is fixed. The committed seeds are replayed too, so that the harness keeps compiling and
//! keeps agreeing with the code it drives.
//!
//! A hang finding is an input that took more than 1 s in the fuzz build (release with debug
//! assertions); here (our crate unoptimized) its test bounds the time generously.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

/// Run `f` on `input` and fail if it takes longer than `limit`.
fn within(limit: Duration, what: &str, input: &[u8], f: fn(&[u8])) {
    let t = Instant::now();
    f(input);
    let took = t.elapsed();
    assert!(took <= limit, "{what} took {took:?} (limit {limit:?})");
}

/// Every file of `fuzz/seeds/<target>/` through the target's harness function.
fn replay_seeds(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let bytes = std::fs::read(&path).expect("seed readable");
        within(
            Duration::from_secs(10),
            &path.display().to_string(),
            &bytes,
            f,
        );
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn seeds_config() {
    replay_seeds("config", harness::fuzz_config);
}

#[test]
fn seeds_dates() {
    replay_seeds("dates", harness::fuzz_dates);
}

#[test]
fn seeds_normalize() {
    replay_seeds("normalize", harness::fuzz_normalize);
}

#[test]
fn seeds_routes() {
    replay_seeds("routes", harness::fuzz_routes);
}

/// The document targets are seeded from tests/fixtures at run time; one fixture each here.
#[test]
fn fixtures_through_document_targets() {
    let gbk = include_bytes!("fixtures/scenario/gbk.rss");
    let page = include_bytes!("fixtures/people-sn/n2/2021/1229/c226647-35071234.html");
    let list = include_bytes!("fixtures/people-sn/GB/226647/index.html");
    harness::fuzz_decode(gbk);
    harness::fuzz_parse_feed(gbk);
    harness::fuzz_extract_article(page);
    harness::fuzz_extract_links(list);
}

// ---------------------------------------------------------------------------------------------
// Findings (one test per saved input in fuzz/regressions/<target>/).

/// routes: a request whose target has no path (authority form, `GET s HTTP/1.1`,
/// `CONNECT host:443 HTTP/1.1`, or the fuzzer's `G s HTTP/1.1\n\nr`) used to reach the warp
/// filter, whose `warp::path::full()` panics on it (warp 0.4.3 with http 1.5: a 500 and a panic
/// per request). The listener's `dispatch` now answers 400 before warp sees it.
#[test]
fn routes_authority_form_target() {
    harness::fuzz_routes(include_bytes!("../fuzz/regressions/routes/authority-form"));
    harness::fuzz_routes(include_bytes!(
        "../fuzz/regressions/routes/authority-form-min"
    ));
}

/// parse_feed: an author whose e-mail address directly follows a multi-byte character
/// (`编辑：zhang@example.com`, a common Chinese byline form) made feed-rs 3.0.0's
/// `parse_person_name_email` (src/parser/util/mod.rs:155, `&raw[..span.start() - 1]`) slice
/// inside that character and panic; the whole feed was refused. Fixed before feed-rs reads the
/// document: `src/ingest/parse/contacts.rs` puts a space between such an address and the
/// character.
#[test]
fn parse_feed_author_email_after_multibyte_char() {
    let doc = include_str!("../fuzz/regressions/parse_feed/author-fullwidth-colon.xml");
    let parsed = feedloom::ingest::parse::parse_feed(doc, Some("https://e.example/feed"))
        .expect("a feed with a Chinese byline parses");
    assert_eq!(parsed.entries.len(), 1);
    let author = &parsed.entries[0].authors[0];
    assert!(author.name.contains("编辑"), "{author:?}");
    assert_eq!(author.email.as_deref(), Some("zhang@example.com"));
    harness::fuzz_parse_feed(doc.as_bytes());
}
