//! Chinese text cleanup: pinyin annotations left by mirrors. (Script conversion, which the read
//! path needs too, is `model::script`.)
//!
//! Spam mirrors of Chinese news sites copy articles, convert them to traditional script and put
//! the pinyin of some characters after them (`人民網(wǎng)`), sometimes mangling the character
//! into `?` (`日?qǐng)?bào)`). [`strip_pinyin`] removes both so that extraction heuristics see the
//! words again (`來(lái)源` → `來源`).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

/// Letters that may appear in a pinyin syllable, with or without tone marks.
const PINYIN_LETTERS: &str = "a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿê";
/// Tone-marked vowels: their presence makes a parenthesized run unmistakably pinyin.
const TONE_MARKS: &str = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ";

/// A Han character followed by a parenthesized run of pinyin letters (ASCII or fullwidth
/// parentheses).
fn annotation_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"(\p{{Han}})[(（]([{PINYIN_LETTERS}]{{1,6}})[)）]"
        ))
        .expect("valid regex")
    })
}

/// Garbled remnants: a character the mirror broke into `?` (or U+FFFD), followed by its pinyin
/// and a closing parenthesis, with or without the opening one (`?qǐng)`).
fn remnant_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"[?？\x{{FFFD}}][(（]?([{PINYIN_LETTERS}]{{1,6}})[)）]"
        ))
        .expect("valid regex")
    })
}

/// The shape of a toneless pinyin syllable (initial + final), for runs without tone marks.
fn syllable_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|van|üan|ai|ei|ao|ou|an|en|in|un|vn|ün|er|ia|ie|iu|ua|uo|ui|ue|üe|ve|a|o|e|i|u|v|ü)$",
        )
        .expect("valid regex")
    })
}

fn has_tone_mark(s: &str) -> bool {
    // The range test first: most characters of any page fall outside it.
    s.chars()
        .any(|c| ('\u{e0}'..='\u{1e3f}').contains(&c) && TONE_MARKS.contains(c))
}

/// Remove pinyin annotations placed after Han characters (`人民網(wǎng)` → `人民網`) and the
/// garbled remnants mirrors leave (`日?qǐng)?bào)` → `日`).
///
/// A parenthesized run is stripped only when it follows a Han character and either carries a
/// tone mark or is a plausible toneless syllable of at least two letters, so `(CNN)`, `(2021)`,
/// `(a)` and `(iPhone)` survive. Works on plain text and on HTML (markup is ASCII).
/// Borrowed (no allocation) when there is nothing to strip.
pub fn strip_pinyin(text: &str) -> Cow<'_, str> {
    // Cheap pre-check: a page that carries pinyin has tone marks somewhere (toneless runs alone
    // are not enough to trigger stripping, which also keeps ordinary pages at full speed).
    if !has_tone_mark(text) {
        return Cow::Borrowed(text);
    }
    let stripped = annotation_re().replace_all(text, |c: &Captures| {
        let py = &c[2];
        if has_tone_mark(py) || (py.chars().count() >= 2 && syllable_re().is_match(py)) {
            c[1].to_string()
        } else {
            c[0].to_string()
        }
    });
    let out = match &stripped {
        Cow::Borrowed(s) => remnant_re().replace_all(s, |c: &Captures| remnant(c)),
        Cow::Owned(s) => Cow::Owned(
            remnant_re()
                .replace_all(s, |c: &Captures| remnant(c))
                .into_owned(),
        ),
    };
    match (stripped, out) {
        (_, Cow::Owned(o)) => Cow::Owned(o),
        (Cow::Owned(s), Cow::Borrowed(_)) => Cow::Owned(s),
        (Cow::Borrowed(s), Cow::Borrowed(_)) => Cow::Borrowed(s),
    }
}

fn remnant(c: &Captures) -> String {
    if has_tone_mark(&c[1]) {
        String::new()
    } else {
        c[0].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tone_marked_annotations() {
        assert_eq!(strip_pinyin("人民網(wǎng)"), "人民網");
        assert_eq!(strip_pinyin("來(lái)源:陜西"), "來源:陜西");
        assert_eq!(strip_pinyin("書（shū）記"), "書記");
        assert_eq!(strip_pinyin("陜西日?qǐng)?bào)"), "陜西日");
    }

    #[test]
    fn keeps_legitimate_parentheses() {
        for s in [
            "美国有线电视新闻网(CNN)报道",
            "去年(2021)",
            "条款(a)",
            "苹果(iPhone)",
            "f(x)",
        ] {
            assert_eq!(strip_pinyin(s), s);
        }
        // toneless but plausible syllable after a Han character: stripped (on a page that
        // carries tone-marked pinyin elsewhere)
        assert_eq!(strip_pinyin("中(zhong)国人(rén)"), "中国人");
    }
}
