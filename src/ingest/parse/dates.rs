//! Lenient timestamp parsing that keeps the offset the feed wrote.
//!
//! feed-rs hands dates over as `DateTime<Utc>`, losing the original offset. We plug this parser
//! into feed-rs (`Builder::timestamp_parser`) and remember, per instant, what the text said: an
//! exact instant with its offset, or a wall-clock time with no offset at all (which becomes
//! [`RawDate::Local`] so that the source's timezone applies during normalization).
//!
//! The cleanup rules are a port of feed-rs 3's `parse_timestamp_lenient` (MIT, © feed-rs
//! contributors), extended with offset-less `YYYY-MM-DD hh:mm[:ss]` forms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use regex::Regex;

use crate::model::RawDate;

/// What the timestamp parser saw, keyed by the instant it reported to feed-rs.
pub(crate) type Seen = Arc<Mutex<HashMap<DateTime<Utc>, RawDate>>>;

/// Parses `text`, records the [`RawDate`] in `seen`, and returns the instant feed-rs wants.
/// Offset-less times are reported to feed-rs as if they were UTC.
pub(crate) fn parse_recording(text: &str, seen: &Seen) -> Option<DateTime<Utc>> {
    let raw = parse(text)?;
    let utc = match raw {
        RawDate::Exact(d) => d.with_timezone(&Utc),
        RawDate::Local(n) => n.and_utc(),
    };
    if let Ok(mut map) = seen.lock() {
        map.insert(utc, raw);
    }
    Some(utc)
}

/// Parses a feed timestamp (RFC 3339, RFC 2822, RFC 1123 and their common misspellings).
pub(crate) fn parse(text: &str) -> Option<RawDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    rfc3339(text)
        .or_else(|| rfc2822(text))
        .or_else(|| rfc1123(text))
        .map(RawDate::Exact)
        .or_else(|| naive(text).map(RawDate::Local))
}

struct PatSub(Regex, &'static str);

fn apply(text: &str, fixes: &[PatSub]) -> String {
    let mut cleaned = text.to_string();
    for PatSub(re, rep) in fixes {
        if let std::borrow::Cow::Owned(s) = re.replace(&cleaned, *rep) {
            cleaned = s;
        }
    }
    cleaned
}

fn rfc3339(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d);
    }
    static FIXES: OnceLock<Vec<PatSub>> = OnceLock::new();
    let fixes = FIXES.get_or_init(|| {
        vec![
            // Missing colon in the offset.
            PatSub(
                Regex::new(r"(\+|-)(\d{2})(\d{2})$").unwrap(),
                "${1}${2}:${3}",
            ),
            // Date only: midnight UTC.
            PatSub(
                Regex::new(r"^(\d{4}-\d{2}-\d{2})$").unwrap(),
                "${1}T00:00:00+00:00",
            ),
            // A space instead of the `T`.
            PatSub(
                Regex::new(r"^(\d{4}-\d{2}-\d{2}) (\d)").unwrap(),
                "${1}T${2}",
            ),
        ]
    });
    DateTime::parse_from_rfc3339(apply(text, fixes).trim()).ok()
}

fn rfc2822(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d);
    }
    static FIXES: OnceLock<Vec<PatSub>> = OnceLock::new();
    let fixes = FIXES.get_or_init(|| {
        vec![
            PatSub(Regex::new("(UTC|-0000$)").unwrap(), "+0000"),
            PatSub(
                Regex::new("(Sun|Mon|Tue|Wed|Thu|Fri|Sat)[a-z]*,? ").unwrap(),
                "",
            ),
            PatSub(
                Regex::new("(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*").unwrap(),
                "$1",
            ),
            PatSub(
                Regex::new("(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\\d{1,2}) (\\d{4})")
                    .unwrap(),
                "$2 $1 $3",
            ),
            PatSub(Regex::new(" 24:").unwrap(), " 00:"),
            PatSub(Regex::new(" ([0-9]):").unwrap(), " 0${1}:"),
        ]
    });
    DateTime::parse_from_rfc2822(&apply(text, fixes)).ok()
}

fn rfc1123(text: &str) -> Option<DateTime<FixedOffset>> {
    static FIXES: OnceLock<Vec<PatSub>> = OnceLock::new();
    let fixes = FIXES.get_or_init(|| {
        vec![
            PatSub(Regex::new(" Z$").unwrap(), " +0000"),
            PatSub(Regex::new("^[[:alpha:]]{3}, ").unwrap(), ""),
        ]
    });
    DateTime::parse_from_str(&apply(text, fixes), "%d %b %Y %H:%M:%S %z").ok()
}

fn naive(text: &str) -> Option<NaiveDateTime> {
    const FORMATS: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offsets() {
        let RawDate::Exact(d) = parse("Wed, 29 Dec 2021 08:35:00 +0800").unwrap() else {
            panic!()
        };
        assert_eq!(d.offset().local_minus_utc(), 8 * 3600);
        let RawDate::Exact(d) = parse("2003-12-13T18:30:02-05:00").unwrap() else {
            panic!()
        };
        assert_eq!(d.offset().local_minus_utc(), -5 * 3600);
        assert!(matches!(parse("2021-12-29 08:35"), Some(RawDate::Local(_))));
        assert!(parse("Thurs, 13 Jul 2011 07:38:00 GMT").is_some());
    }
}
