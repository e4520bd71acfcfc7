//! The renderers' unit tests (the helpers behind them; whole feeds are tested from outside in
//! tests/it/render_stage.rs).

use super::*;

#[test]
fn excerpt_cuts_on_words_and_chars() {
    assert_eq!(excerpt("  a  b\nc "), Some("a b c".to_owned()));
    assert_eq!(excerpt("   "), None);
    let cjk = "陕".repeat(400);
    let e = excerpt(&cjk).unwrap();
    assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
    assert!(e.ends_with('…'));
    let words = "word ".repeat(100);
    let e = excerpt(&words).unwrap();
    assert!(e.ends_with("word…"), "{e}");
    assert!(e.chars().count() <= EXCERPT_CHARS + 1);
}

#[test]
fn html_to_text_decodes_what_serializers_emit() {
    assert_eq!(
        html_to_text("<p>A &amp; B &lt;c&gt;&nbsp;&#x4E2D;&#25991;</p><p>x &bogus; y</p>"),
        "A & B <c> 中文 x &bogus; y"
    );
    assert_eq!(html_to_text("a <b"), "a");
}

#[test]
fn xml_safe_strips_forbidden_controls() {
    assert!(matches!(xml_safe("ok\tfine\n"), Cow::Borrowed(_)));
    assert!(matches!(xml_safe("陕西，：\u{FFFD}"), Cow::Borrowed(_)));
    assert_eq!(xml_safe("a\u{0}b\u{B}c\u{FFFF}d\u{FFFE}"), "abcd");
    // U+FFFF straddling the 64-byte scan chunks.
    for pad in 60..66 {
        let s = format!("{}\u{FFFF}", "x".repeat(pad));
        assert_eq!(xml_safe(&s), "x".repeat(pad));
    }
}
