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

/// When the tolerant reader finds items feed-rs did not read, the items feed-rs did read stay
/// as feed-rs read them (enclosures and all), in document order with the new ones.
#[test]
fn items_the_fallback_adds_keep_what_feed_rs_read_of_the_others() {
    let text = "<rss version=\"2.0\"><channel><title>t</title>\
        <item><title>One</title><link>http://example.com/1</link></item>\
        <item><title>Two</title><guid>g2</guid></item>\
        <item><title>Three</title><link>http://example.com/3</link></item></channel></rss>";
    let read = |title: &str, link: Option<&str>, guid: Option<&str>| crate::model::RawEntry {
        title: Some(title.into()),
        link: link.map(Into::into),
        guid: guid.map(Into::into),
        enclosures: vec![crate::model::Enclosure {
            url: format!("http://example.com/{title}.mp3"),
            mime_type: Some("audio/mpeg".into()),
            length: None,
        }],
        ..Default::default()
    };
    let mut parsed = crate::model::ParsedFeed {
        entries: vec![
            read("One", Some("http://example.com/1"), None),
            read("Three", Some("http://example.com/3"), None),
        ],
        ..Default::default()
    };
    fallback::complete(&mut parsed, text, None);
    let titles: Vec<_> = parsed.entries.iter().map(|e| e.title.as_deref()).collect();
    assert_eq!(titles, [Some("One"), Some("Two"), Some("Three")]);
    assert_eq!(
        parsed.entries[0].enclosures.len(),
        1,
        "feed-rs's entry kept"
    );
    assert!(parsed.entries[1].enclosures.is_empty());
    assert_eq!(parsed.entries[1].guid.as_deref(), Some("g2"));
    assert_eq!(
        parsed.entries[2].enclosures.len(),
        1,
        "feed-rs's entry kept"
    );
}
