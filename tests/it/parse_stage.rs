//! The decode and parse stages: bytes → UTF-8 (`feedloom::ingest::decode`) → feed (`feedloom::ingest::parse`).
//!
//! Fixtures live in `tests/fixtures/feeds/` (feed-rs: MIT, feedparser: BSD-2, with their license
//! files; `hand/`: written for this project).

use std::path::{Path, PathBuf};

use feedloom::ingest::decode::decode;
use feedloom::ingest::parse::{looks_like_feed, parse_feed, ParseError};
use feedloom::model::{ParsedFeed, RawDate};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(rel)
}

/// Decode stage helper: the bytes of a fixture through `decode`.
fn decode_fixture(rel: &str, content_type: Option<&str>) -> feedloom::ingest::decode::Decoded {
    let bytes = std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    decode(&bytes, content_type)
}

/// Parse stage helper: bytes → decode → parse_feed.
fn parse_bytes(bytes: &[u8], base: Option<&str>) -> Result<ParsedFeed, ParseError> {
    let decoded = decode(bytes, None);
    parse_feed(&decoded.text, base)
}

fn parse_fixture(rel: &str) -> ParsedFeed {
    parse_fixture_at(rel, None)
}

fn parse_fixture_at(rel: &str, base: Option<&str>) -> ParsedFeed {
    let bytes = std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    parse_bytes(&bytes, base).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn exact(d: Option<RawDate>) -> chrono::DateTime<chrono::FixedOffset> {
    match d {
        Some(RawDate::Exact(d)) => d,
        other => panic!("expected an exact date, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// decode

#[test]
fn decode_bom_wins() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice("<?xml version=\"1.0\" encoding=\"GBK\"?><rss/>中文".as_bytes());
    let d = decode(&bytes, Some("text/xml; charset=iso-8859-1"));
    assert_eq!(d.encoding, "UTF-8");
    assert!(d.text.ends_with("中文"));
    assert!(!d.text.starts_with('\u{feff}'));

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("<rss/>é".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let d = decode(&utf16, None);
    assert_eq!(d.encoding, "UTF-16LE");
    assert_eq!(d.text, "<rss/>é");
}

#[test]
fn decode_http_charset_beats_meta() {
    let (gbk, _, _) = encoding_rs::GBK
        .encode("<html><head><meta charset=\"iso-8859-1\"></head><body>陕西新闻</body></html>");
    let d = decode(&gbk, Some("text/html; charset=GBK"));
    assert_eq!(d.encoding, "GBK");
    assert!(d.text.contains("陕西新闻"));

    let latin = b"<html><head><meta charset=\"gbk\"></head><body>caf\xe9 cr\xe8me</body></html>";
    let d = decode(latin, Some("text/html; charset=windows-1252"));
    assert_eq!(d.encoding, "windows-1252");
    assert!(d.text.contains("café crème"));
}

#[test]
fn decode_gb2312_label_is_gbk() {
    let d = decode_fixture("decode/people-sn-gb2312.html", None);
    assert_eq!(d.encoding, "GBK");
    assert!(!d.declaration_overridden);
    assert!(d.text.contains("人民网"), "{}", &d.text[..300]);
    assert!(!d.text.contains('\u{fffd}'));

    // 镕 is outside GB2312 but in GBK: a page labelled GB2312 uses it all the time.
    let (bytes, _, _) = encoding_rs::GBK.encode(
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><p>朱镕基</p>",
    );
    let d = decode(&bytes, None);
    assert_eq!(d.encoding, "GBK");
    assert!(d.text.contains("朱镕基"));
}

#[test]
fn decode_lying_declaration_utf8_wins() {
    let page = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=GB2312\"><title>人民网</title></head><body>陕西日报</body></html>";
    let d = decode(page.as_bytes(), None);
    assert_eq!(d.encoding, "UTF-8");
    assert!(d.declaration_overridden);
    assert_eq!(d.text, page);

    // The same for an HTTP header that lies.
    let d = decode(page.as_bytes(), Some("text/html; charset=gbk"));
    assert_eq!(d.encoding, "UTF-8");
    assert!(d.declaration_overridden);
}

#[test]
fn decode_detects_undeclared_gbk() {
    let text = "<rss version=\"2.0\"><channel><title>陕西新闻：西安市发布最新疫情防控通告，全市开展核酸检测</title></channel></rss>";
    let (bytes, _, _) = encoding_rs::GBK.encode(text);
    let d = decode(&bytes, None);
    assert_eq!(d.text, text, "guessed {}", d.encoding);
}

// ---------------------------------------------------------------------------------------------
// parse: formats

#[test]
fn rss_091() {
    let f = parse_fixture("feed-rs/rss_0.91_spec_1.xml");
    assert_eq!(f.title.as_deref(), Some("WriteTheWeb"));
    assert_eq!(f.link.as_deref(), Some("http://writetheweb.com/"));
    assert_eq!(f.entries.len(), 2);
    let e = &f.entries[0];
    assert_eq!(
        e.title.as_deref(),
        Some("Giving the world a pluggable Gnutella")
    );
    assert_eq!(
        e.link.as_deref(),
        Some("http://writetheweb.com/read.php?item=24")
    );
    assert!(e.summary_html.as_deref().unwrap().starts_with("WorldOS"));
    assert_eq!(e.guid, None, "no guid in the feed: none invented");
    assert!(f.repairs.is_empty());
}

#[test]
fn rss_092() {
    let f = parse_fixture("feed-rs/rss_0.92_spec_1.xml");
    assert!(f.title.is_some());
    assert!(!f.entries.is_empty());
    let with_enclosure = f.entries.iter().find(|e| !e.enclosures.is_empty());
    let enc = &with_enclosure
        .expect("0.92 spec sample has an enclosure")
        .enclosures[0];
    assert!(enc.url.starts_with("http"));
    assert!(enc.mime_type.is_some());
}

#[test]
fn rss_10_rdf() {
    let f = parse_fixture("feed-rs/rss_1.0_spec_1.xml");
    assert_eq!(f.title.as_deref(), Some("XML.com"));
    assert_eq!(f.link.as_deref(), Some("http://xml.com/pub"));
    assert_eq!(f.entries.len(), 2);
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://xml.com/pub/2000/08/09/xslt/xslt.html")
    );
    assert_eq!(
        f.entries[0].title.as_deref(),
        Some("Processing Inclusions with XSLT")
    );
}

#[test]
fn rss_20() {
    let f = parse_fixture("feed-rs/rss_2.0_spec_1.xml");
    assert_eq!(f.title.as_deref(), Some("Scripting News"));
    let e = &f.entries[0];
    assert!(e
        .guid
        .as_deref()
        .unwrap()
        .starts_with("http://scriptingnews.userland.com/"));
    let d = exact(e.published);
    assert_eq!(d.offset().local_minus_utc(), 0);
    assert!(f.entries.iter().all(|e| e.published.is_some()));
}

#[test]
fn rss_20_keeps_date_offsets_and_ttl() {
    let xml = r#"<rss version="2.0"><channel><title>t</title><link>http://example.com/</link><ttl>45</ttl>
        <item><title>a</title><link>/a</link><guid>g1</guid><pubDate>Wed, 29 Dec 2021 08:35:00 +0800</pubDate>
        <author>jane@example.com (Jane Doe)</author><dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">李志强</dc:creator>
        <category>news</category><category>shaanxi</category>
        <content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>full</p>]]></content:encoded>
        <description>short</description></item>
        <item><title>b</title><pubDate>2021-12-29 08:35</pubDate></item></channel></rss>"#;
    let f = parse_feed(xml, Some("http://example.com/feed.xml")).unwrap();
    assert_eq!(f.ttl_minutes, Some(45));
    let e = &f.entries[0];
    let d = exact(e.published);
    assert_eq!(d.offset().local_minus_utc(), 8 * 3600);
    assert_eq!(d.to_rfc3339(), "2021-12-29T08:35:00+08:00");
    assert_eq!(e.link.as_deref(), Some("http://example.com/a"));
    assert_eq!(e.guid.as_deref(), Some("g1"));
    assert_eq!(e.content_html.as_deref(), Some("<p>full</p>"));
    assert_eq!(e.summary_html.as_deref(), Some("short"));
    assert_eq!(e.categories, vec!["news", "shaanxi"]);
    let names: Vec<_> = e.authors.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["Jane Doe", "李志强"]);
    assert_eq!(e.authors[0].email.as_deref(), Some("jane@example.com"));
    // A date without an offset stays local: the source's timezone applies later.
    match f.entries[1].published {
        Some(RawDate::Local(n)) => assert_eq!(n.to_string(), "2021-12-29 08:35:00"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn atom_03() {
    let f = parse_fixture("hand/atom03.xml");
    assert_eq!(f.title.as_deref(), Some("dive into mark"));
    assert_eq!(f.link.as_deref(), Some("http://diveintomark.org/"));
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("Atom 0.3 snapshot"));
    assert_eq!(e.guid.as_deref(), Some("tag:diveintomark.org,2003:3.2397"));
    assert_eq!(
        e.link.as_deref(),
        Some("http://diveintomark.org/2003/12/13/atom03")
    );
    assert_eq!(e.authors[0].name, "Mark Pilgrim", "inherited from the feed");
    assert!(e.updated.is_some());
}

#[test]
fn atom_10() {
    let f = parse_fixture("feed-rs/atom_spec_1.xml");
    assert_eq!(f.title.as_deref(), Some("Example Feed"));
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("Atom-Powered Robots Run Amok"));
    assert_eq!(
        e.guid.as_deref(),
        Some("urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a")
    );
    assert_eq!(
        e.link.as_deref(),
        Some("http://example.org/2003/12/13/atom03")
    );
    assert_eq!(exact(e.updated).to_rfc3339(), "2003-12-13T18:30:02+00:00");
    assert_eq!(e.authors[0].name, "John Doe");
}

#[test]
fn atom_typed_text() {
    let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">AT&amp;T &lt;3</title>
        <entry><id>x</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <b>xhtml</b> title</div></title>
        <summary type="html">&lt;p&gt;html&lt;/p&gt;</summary><content type="text">a &lt; b</content>
        <link rel="enclosure" type="audio/mpeg" length="1234" href="ep1.mp3"/><link href="http://e.com/post"/>
        <category term="t1" label="Label 1"/></entry></feed>"#;
    let f = parse_feed(xml, Some("http://e.com/feed")).unwrap();
    assert_eq!(f.title.as_deref(), Some("AT&amp;T &lt;3"));
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("An <b>xhtml</b> title"));
    assert_eq!(e.summary_html.as_deref(), Some("<p>html</p>"));
    assert_eq!(e.content_html.as_deref(), Some("a &lt; b"));
    assert_eq!(e.link.as_deref(), Some("http://e.com/post"));
    assert_eq!(e.categories, vec!["t1"]);
    assert_eq!(e.enclosures.len(), 1);
    assert_eq!(e.enclosures[0].url, "http://e.com/ep1.mp3");
    assert_eq!(e.enclosures[0].mime_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(e.enclosures[0].length, Some(1234));
}

#[test]
fn json_feed_10() {
    let f = parse_fixture("feed-rs/jsonfeed_spec_1.json");
    assert_eq!(f.title.as_deref(), Some("JSON Feed"));
    assert_eq!(f.link.as_deref(), Some("https://jsonfeed.org/"));
    let e = &f.entries[0];
    assert!(e.guid.is_some());
    assert!(e
        .link
        .as_deref()
        .unwrap()
        .starts_with("https://jsonfeed.org/"));
    assert!(e.content_html.is_some());
    assert!(e.published.is_some());
}

#[test]
fn json_feed_11() {
    let f = parse_fixture("feed-rs/jsonfeed_elastic_1.1.json");
    assert!(f.title.is_some());
    assert!(!f.entries.is_empty());
    // These items have no `id`: none is invented (the normalizer falls back to the URL).
    assert!(f
        .entries
        .iter()
        .all(|e| e.guid.is_none() && e.link.is_some()));

    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Pod","items":[
        {"id":"1","url":"https://p.example/1","title":"Ep <1>","content_text":"a & b",
         "date_published":"2021-12-29T08:35:00+08:00","authors":[{"name":"Ann"}],"tags":["x"],
         "attachments":[{"url":"https://p.example/1.mp3","mime_type":"audio/mpeg","size_in_bytes":99}]}]}"#;
    let f = parse_feed(json, None).unwrap();
    let e = &f.entries[0];
    assert_eq!(e.link.as_deref(), Some("https://p.example/1"));
    assert_eq!(e.title.as_deref(), Some("Ep &lt;1&gt;"));
    assert_eq!(e.authors[0].name, "Ann");
    assert_eq!(e.categories, vec!["x"]);
    assert_eq!(exact(e.published).offset().local_minus_utc(), 8 * 3600);
    assert_eq!(e.enclosures.len(), 1);
    assert_eq!(e.enclosures[0].length, Some(99));
}

#[test]
fn gbk_feed_declared_in_prolog_only() {
    let xml = "<?xml version=\"1.0\" encoding=\"GBK\"?>\n<rss version=\"2.0\"><channel><title>陕西新闻</title><link>http://sn.people.com.cn/</link>\
        <item><title>西安市发布通告</title><link>http://sn.people.com.cn/n2/1.html</link></item>\
        <item><title>朱镕基考察陕西</title><link>http://sn.people.com.cn/n2/2.html</link></item></channel></rss>";
    let (bytes, _, errors) = encoding_rs::GBK.encode(xml);
    assert!(!errors);
    assert!(std::str::from_utf8(&bytes).is_err());
    let decoded = decode(&bytes, Some("application/rss+xml"));
    assert_eq!(decoded.encoding, "GBK");
    let f = parse_feed(&decoded.text, None).unwrap();
    assert_eq!(f.title.as_deref(), Some("陕西新闻"));
    assert_eq!(f.entries[0].title.as_deref(), Some("西安市发布通告"));
    assert_eq!(f.entries[1].title.as_deref(), Some("朱镕基考察陕西"));
    assert!(f.repairs.is_empty());
}

#[test]
fn declared_latin1_feed_is_not_redecoded() {
    // The prolog says ISO-8859-1; the text handed to the parser is already UTF-8.
    let f = parse_fixture("feed-rs/rss_2.0_encoding_1.xml");
    assert!(!f.entries.is_empty());
    let all: String = f
        .entries
        .iter()
        .filter_map(|e| e.title.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!all.contains('\u{fffd}'), "{all}");
    assert!(!all.contains("Ã"), "double-decoded: {all}");
}

// ---------------------------------------------------------------------------------------------
// parse: repairs, links, enclosures

#[test]
fn illformed_feed_is_repaired() {
    let f = parse_fixture("hand/illformed.xml");
    for r in [
        "escaped bare &",
        "replaced HTML entities",
        "removed control characters",
        "closed unclosed elements",
    ] {
        assert!(
            f.repairs.iter().any(|x| x == r),
            "{r} missing from {:?}",
            f.repairs
        );
    }
    assert_eq!(f.title.as_deref(), Some("Tom & Jerry\u{a0}News"));
    assert_eq!(f.ttl_minutes, Some(30));
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].title.as_deref(), Some("First & best item"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://example.com/a?x=1&y=2")
    );
    assert_eq!(f.entries[0].guid.as_deref(), Some("item-1"));
    assert_eq!(f.entries[1].title.as_deref(), Some("Second item"));
    assert_eq!(f.entries[1].summary_html.as_deref(), Some("cut off here"));
}

#[test]
fn well_formed_feed_needs_no_repairs() {
    let f = parse_fixture("feed-rs/rss_2.0_nightvale.xml");
    assert!(f.repairs.is_empty(), "{:?}", f.repairs);
}

#[test]
fn unknown_entities_pass_through_as_html() {
    // Undeclared entities do not stop the strict parse; they stay as HTML references.
    let xml = "<rss version=\"2.0\"><channel><title>Caf&eacute;</title><item><title>a&nbsp;b</title></item></channel></rss>";
    let f = parse_feed(xml, None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Caf&eacute;"));
    assert!(f.repairs.is_empty());
}

#[test]
fn xml_base_resolves_content_base() {
    let f = parse_fixture("feed-rs/atom_xml_base.xml");
    let e = &f.entries[0];
    assert_eq!(
        e.base.as_deref(),
        Some("https://numi.st/post/2022/travel-uke/")
    );
    assert!(e
        .content_html
        .as_deref()
        .unwrap()
        .contains("<img src=\"IMG_1232.jpeg\""));
    assert_eq!(e.title.as_deref(), Some("my cool entry title"));
}

#[test]
fn relative_links_resolve_against_document_url() {
    let f = parse_fixture_at(
        "feed-rs/atom_relative.xml",
        Some("https://example.com/blog/feed.xml"),
    );
    assert_eq!(f.link.as_deref(), Some("https://example.com/blog/"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://example.com/blog/2003/12/13/atom03")
    );
    assert_eq!(
        f.entries[0].base.as_deref(),
        Some("https://example.com/blog/feed.xml")
    );

    let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/dir/">
        <link href="home"/><entry xml:base="sub/"><id>1</id><link href="post.html"/></entry></feed>"#;
    let f = parse_feed(xml, Some("http://other.example/feed")).unwrap();
    assert_eq!(f.link.as_deref(), Some("http://a.example/dir/home"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://a.example/dir/sub/post.html")
    );

    // RSS: relative item links against the document URL.
    let f = parse_fixture_at(
        "feed-rs/rss_2.0_relurl_1.xml",
        Some("https://blog.example.org/feed/"),
    );
    assert!(f
        .entries
        .iter()
        .all(|e| e.link.as_deref().is_none_or(|l| l.starts_with("http"))));
}

#[test]
fn podcast_enclosures() {
    let f = parse_fixture("feed-rs/rss_2.0_nightvale.xml");
    let e = &f.entries[0];
    assert_eq!(e.enclosures.len(), 1, "{:?}", e.enclosures);
    let enc = &e.enclosures[0];
    assert!(enc.url.ends_with("nv221_intro.mp3"));
    assert_eq!(enc.mime_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(enc.length, Some(38749539));
    assert!(f.entries.iter().all(|e| !e.enclosures.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// parse: the long tail of real feeds (feedparser gives an item for each; feed-rs alone gave none)

#[test]
fn default_namespaced_rss_in_windows_1251() {
    let d = decode_fixture("hand/rss-default-ns-cp1251.xml", None);
    assert_eq!(d.encoding, "windows-1251");
    let f = parse_fixture("hand/rss-default-ns-cp1251.xml");
    assert_eq!(f.title.as_deref(), Some("Новости региона"));
    assert_eq!(f.entries.len(), 1);
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("Открытие нового моста через реку"));
    assert_eq!(
        e.link.as_deref(),
        Some("http://news.example.ru/2024/05/most.html")
    );
    assert_eq!(exact(e.published).to_rfc3339(), "2024-05-04T10:15:00+03:00");
}

#[test]
fn latin1_rss_without_version_or_declaration() {
    let d = decode_fixture("hand/rss-latin1-bare.xml", None);
    assert!(d.text.contains("Crème brûlée"), "{}", d.encoding);
    let f = parse_fixture("hand/rss-latin1-bare.xml");
    assert_eq!(f.title.as_deref(), Some("Le café du coin"));
    assert_eq!(f.entries.len(), 1);
    assert_eq!(
        f.entries[0].title.as_deref(),
        Some("Crème brûlée et café crème : la carte d'été")
    );
    // Other versions feed-rs does not dispatch on read the same way.
    for version in ["0.93", "0.94", "2.0.1"] {
        let doc = format!(
            "<rss version=\"{version}\"><channel><title>t</title>\
             <item><title>a</title><link>http://e.example/a</link></item></channel></rss>"
        );
        let f = parse_feed(&doc, None).unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(f.entries.len(), 1, "{version}");
    }
}

#[test]
fn atom_entry_with_nothing_but_an_id() {
    let f = parse_fixture("hand/atom-id-only.xml");
    assert_eq!(f.title, None);
    assert_eq!(f.entries.len(), 1);
    // A URL id is the link.
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://blog.example.org/2024/05/04/note")
    );
    // Any other id: no link (the link is a story's identity, so the feed's link would merge
    // every such entry into one); the id is kept and the normalizer keeps the item.
    let doc = std::fs::read_to_string(fixture("hand/atom-id-only.xml"))
        .unwrap()
        .replace(
            "<id>http://blog.example.org/2024/05/04/note</id>",
            "<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>",
        );
    let f = parse_feed(&doc, None).unwrap();
    assert_eq!(f.entries.len(), 1);
    let e = &f.entries[0];
    assert_eq!(e.link, None);
    assert_eq!(
        e.guid.as_deref(),
        Some("urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a")
    );
}

#[test]
fn a_guid_marked_as_no_permalink_is_never_the_link() {
    let doc = r#"<rss version="2.0"><channel><title>t</title><link>http://e.example/</link>
        <item><title>a</title><guid isPermaLink="false">http://e.example/id/1</guid></item>
        <item><title>b</title><guid>http://e.example/posts/2</guid></item>
        </channel></rss>"#;
    let f = parse_feed(doc, None).unwrap();
    assert_eq!(f.entries[0].link, None);
    assert_eq!(f.entries[0].guid.as_deref(), Some("http://e.example/id/1"));
    assert_eq!(
        f.entries[1].link.as_deref(),
        Some("http://e.example/posts/2")
    );
}

// ---------------------------------------------------------------------------------------------
// parse: not feeds, hostile input

#[test]
fn html_page_is_not_a_feed() {
    let bytes = std::fs::read(fixture("hand/page.html")).unwrap();
    match parse_bytes(&bytes, None) {
        Err(ParseError::NotAFeed { what }) => {
            assert!(what.contains("HTML page"), "{what}");
            assert!(what.contains("陕西频道"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    let d = decode_fixture("decode/people-sn-gb2312.html", None);
    assert!(!looks_like_feed(&d.text));
    assert!(matches!(
        parse_feed(&d.text, None),
        Err(ParseError::NotAFeed { .. })
    ));
}

#[test]
fn binary_empty_text_and_json_are_not_feeds() {
    // Deterministic pseudo-random bytes.
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let what = |r: Result<ParsedFeed, ParseError>| match r {
        Err(ParseError::NotAFeed { what }) => what,
        other => panic!("{other:?}"),
    };
    assert_eq!(what(parse_bytes(&bytes, None)), "binary data");
    assert_eq!(what(parse_feed("", None)), "empty body");
    assert_eq!(what(parse_feed(" \n\t", None)), "empty body");
    assert_eq!(what(parse_feed("hello, world", None)), "plain text");
    assert_eq!(
        what(parse_feed("{\"items\": []}", None)),
        "JSON that is not a JSON Feed"
    );
    assert!(what(parse_feed("<?xml version=\"1.0\"?><svg/>", None)).contains("<svg>"));
}

#[test]
fn billion_laughs_is_refused_with_a_clear_error() {
    let bytes = std::fs::read(fixture("hand/billion_laughs.xml")).unwrap();
    match parse_bytes(&bytes, None) {
        Err(ParseError::Malformed(why)) => {
            assert!(why.contains("billion laughs"), "{why}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // External entities are refused too; plain DOCTYPEs without entities still parse.
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>&x;</title></channel></rss>"#;
    assert!(matches!(
        parse_feed(xxe, None),
        Err(ParseError::Malformed(_))
    ));
    let plain = r#"<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title><link>http://x/</link><description>d</description><item><title>i</title><link>http://x/1</link></item></channel></rss>"#;
    assert_eq!(parse_feed(plain, None).unwrap().entries.len(), 1);
}

#[test]
fn truncated_json_feed_is_malformed() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"1""#;
    assert!(matches!(
        parse_feed(json, None),
        Err(ParseError::Malformed(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// ill-formed documents: repairs, the embedded root and the tolerant reader

#[test]
fn a_truncated_document_keeps_its_complete_items_and_the_cut_one() {
    let f = parse_fixture("hand/fallback/truncated.xml");
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].title.as_deref(), Some("First story"));
    assert_eq!(f.entries[0].link.as_deref(), Some("http://news.example/1"));
    assert_eq!(f.entries[0].summary_html.as_deref(), Some("One & only"));
    assert_eq!(
        exact(f.entries[0].published).to_rfc3339(),
        "2024-01-02T10:00:00+00:00"
    );
    assert_eq!(f.entries[1].title.as_deref(), Some("Second story"));
    assert!(!f.repairs.is_empty());
}

#[test]
fn undeclared_html_entities_are_read_as_html() {
    let f = parse_fixture("hand/fallback/undeclared_entity.xml");
    assert_eq!(f.entries.len(), 1);
    let e = &f.entries[0];
    // Titles are HTML: `&eacute;` and `&nbsp;` mean what they say to the normalizer.
    assert_eq!(
        e.title.as_deref(),
        Some("Caf&eacute;&nbsp;news &mdash; today")
    );
    assert_eq!(e.link.as_deref(), Some("http://news.example/nbsp"));
    assert_eq!(e.guid.as_deref(), Some("nbsp-1"));
}

#[test]
fn mismatched_end_tags_cost_only_the_fields_they_touch() {
    let f = parse_fixture("hand/fallback/mismatched.xml");
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].link.as_deref(), Some("http://news.example/m1"));
    assert_eq!(f.entries[0].summary_html.as_deref(), Some("<p>Para</p>"));
    assert_eq!(f.entries[1].title.as_deref(), Some("Next"));
    assert_eq!(f.entries[1].link.as_deref(), Some("http://news.example/m2"));
}

#[test]
fn garbage_before_the_root_is_skipped() {
    let f = parse_fixture("hand/fallback/garbage_before_root.xml");
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].title.as_deref(), Some("After the warning"));
    assert_eq!(f.entries[0].link.as_deref(), Some("http://news.example/g1"));
    assert_eq!(
        exact(f.entries[0].published).to_rfc3339(),
        "2024-01-03T08:30:00+08:00"
    );
    assert!(f
        .repairs
        .iter()
        .any(|r| r == feedloom::ingest::parse::EMBEDDED));
}

#[test]
fn rss_wrapped_in_an_html_page_is_read_but_a_page_is_still_not_a_feed() {
    let f = parse_fixture("hand/fallback/html_wrapped.xml");
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].title.as_deref(), Some("Inside HTML"));
    assert_eq!(f.entries[0].categories, vec!["World".to_string()]);
    // An http guid is the link.
    assert_eq!(f.entries[1].link.as_deref(), Some("http://news.example/h2"));
    // A page that announces its feeds, or shows RSS source escaped, is no feed.
    for page in [
        "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss\"></head>\
         <body><p>rss: <a href=\"/rss\">feed</a></p><div class=\"item\">x</div></body></html>",
        "<html><body><pre>&lt;rss version=\"2.0\"&gt;&lt;item&gt;</pre></body></html>",
        "<html><body><rss version=\"2.0\"><channel><title>no items</title></channel></rss></body></html>",
    ] {
        assert!(
            matches!(parse_feed(page, None), Err(ParseError::NotAFeed { .. })),
            "{page}"
        );
    }
}

#[test]
fn the_tolerant_reader_takes_over_where_feed_rs_gives_up() {
    // feed-rs reads no root in an `<rss>` without a channel; the items are plain to see.
    let doc = "<rss><item><title>Lone</title><link>/a</link>\
               <dc:date>2024-02-03T04:05:06Z</dc:date><dc:subject>One</dc:subject>\
               <description><![CDATA[<b>bold</b> &amp; more]]></description></item></rss>";
    let f = parse_feed(doc, Some("http://site.example/feed")).unwrap();
    assert_eq!(f.entries.len(), 1);
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("Lone"));
    assert_eq!(e.link.as_deref(), Some("http://site.example/a"));
    assert_eq!(e.summary_html.as_deref(), Some("<b>bold</b> &amp; more"));
    assert_eq!(e.categories, vec!["One".to_string()]);
    assert_eq!(exact(e.published).to_rfc3339(), "2024-02-03T04:05:06+00:00");
    assert!(f
        .repairs
        .iter()
        .any(|r| r.starts_with(feedloom::ingest::parse::FALLBACK)));
    // RSS 1.0 items without a link (feed-rs drops them) and Dublin Core fields it does not map.
    let rdf = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
               xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
               <channel rdf:about=\"http://e.example/\"><title>t</title></channel>\
               <item rdf:about=\"http://e.example/1\"><title>No link</title>\
               <dc:subject>Tag</dc:subject></item></rdf:RDF>";
    let f = parse_feed(rdf, None).unwrap();
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].title.as_deref(), Some("No link"));
    assert_eq!(f.entries[0].link.as_deref(), Some("http://e.example/1"));
    assert_eq!(f.entries[0].categories, vec!["Tag".to_string()]);
    assert!(f.repairs.is_empty());
}

/// feedparser's ill-formed cases that expect an entry (BSD-2, `feedparser/LICENSE`): each gives
/// at least one item here too (none gave zero before the tolerant reader either; the corpus has
/// few such cases, the hand-made ones above cover the classes).
#[test]
fn feedparser_illformed_documents_with_entries_give_items() {
    let f = parse_fixture("feedparser/tests/illformed/rss_item_link_corrupted_ampersands.xml");
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://link/get?a=1&b=2")
    );
    for geo in [
        "georss_point_no_coords.xml",
        "georss_polygon_insufficient_coords.xml",
        "gml_point.xml",
    ] {
        let f = parse_fixture(&format!("feedparser/tests/illformed/geo/{geo}"));
        assert_eq!(f.entries.len(), 1, "{geo}");
    }
    let f = parse_fixture("feedparser/tests/illformed/rdf_channel_empty_textinput.xml");
    assert_eq!(f.entries[0].title.as_deref(), Some("crashes here"));
    assert_eq!(f.entries[0].link.as_deref(), Some("http://example.com/1"));
    // Cut inside a CDATA section: the channel is read, the item is there, empty.
    let f = parse_fixture("feedparser/tests/illformed/rss_incomplete_cdata.xml");
    assert_eq!(f.link.as_deref(), Some("http://adcdefgh.com/"));
    assert!(!f.repairs.is_empty());
}
