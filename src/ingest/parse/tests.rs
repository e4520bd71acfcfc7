//! The parse stage's unit tests: prologs, entity declarations, sniffing.
use super::*;

#[test]
fn prologs_with_odd_characters_or_several_doctypes() {
    // A multi-byte character where `<!doctype` would end is no reason to panic (the
    // documents are not well-formed; what matters is an answer, not a crash).
    let _ = parse_feed(
        "<!\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}><rss version=\"2.0\"></rss>",
        None,
    );
    let _ = parse_feed("<!a\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}><rss/>", None);
    // An entity bomb in the first of two DOCTYPEs is still seen.
    let two = "<!DOCTYPE rss [<!ENTITY a \"ha\"><!ENTITY b \"&a;&a;\">]><!DOCTYPE x>\
               <rss version=\"2.0\"><channel><title>&b;</title></channel></rss>";
    assert!(matches!(
        parse_feed(two, None),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn entity_bombs_are_refused_in_any_doctype_spelling() {
    for decl in ["DOCTYPE", "doctype", "DocType"] {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<!{decl} rss [<!ENTITY a \"ha\"><!ENTITY b \"&a;&a;\">]>\n\
             <rss version=\"2.0\"><channel><title>&b;</title></channel></rss>"
        );
        match parse_feed(&text, None) {
            Err(ParseError::Malformed(why)) => assert!(why.contains("billion laughs"), "{why}"),
            other => panic!("<!{decl}: {other:?}"),
        }
    }
}

#[test]
fn sniffs() {
    assert!(looks_like_feed(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"></rss>"
    ));
    assert!(looks_like_feed(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>"
    ));
    assert!(!looks_like_feed(
        "<!DOCTYPE html><html><title>x</title></html>"
    ));
    assert!(!looks_like_feed("{\"a\": 1}"));
    assert!(looks_like_feed(
        "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": []}"
    ));
}
