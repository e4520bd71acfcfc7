//! Extraction stage: the people.com.cn Shaanxi fixtures (`tests/fixtures/people-sn`, a copy of
//! `shared/fixtures/people-sn` with its `expected.json`) through `extract_links` /
//! `extract_article`, plus a few corpus pages (`tests/fixtures/pages`, see its NOTICE).

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, TimeZone};
use chrono_tz::Asia::Shanghai;
use feedloom::config::ArticleRules;
use feedloom::ingest::extract::{extract_article, extract_links, find_list, ExtractError};
use feedloom::ingest::normalize::pinyin::strip_pinyin;
use feedloom::model::script::{convert, Script};
use feedloom::model::{RawDate, RawEntry};

const ORIGIN: &str = "http://sn.people.com.cn/";

fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Bytes → text the way the pipeline does it (`decode`), falling back to GBK when the decoder
/// left replacement characters (the people.com.cn pages are GBK labelled GB2312).
fn decode_fixture(rel: &str) -> String {
    let bytes = std::fs::read(fixture_path(rel)).expect("fixture exists");
    let decoded = feedloom::ingest::decode::decode(&bytes, None).text;
    if decoded.contains('\u{FFFD}') {
        encoding_rs::GBK.decode(&bytes).0.into_owned()
    } else {
        decoded
    }
}

/// The one helper every article test goes through: read, decode, extract with `rules`.
fn extract_with(rel: &str, rules: &ArticleRules) -> RawEntry {
    let html = decode_fixture(rel);
    let url = format!("{ORIGIN}{}", rel.trim_start_matches("people-sn/"));
    extract_article(&html, &url, rules).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn extract_fixture(rel: &str) -> RawEntry {
    extract_with(rel, &ArticleRules::default())
}

/// The selectors of the sample config (`[sources.people-sn.html]`).
fn people_rules() -> ArticleRules {
    ArticleRules {
        title: Some("h1".into()),
        content: Some(".rm_txt_con".into()),
        date: Some(".col-1-1".into()),
        ..ArticleRules::default()
    }
}

fn expected() -> serde_json::Value {
    let raw = std::fs::read_to_string(fixture_path("people-sn/expected.json")).unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// All text of an HTML fragment, tags stripped.
fn text_of(html: &str) -> String {
    scraper::Html::parse_fragment(html)
        .root_element()
        .text()
        .collect::<String>()
}

/// An entry's publish time as the page printed it, to the minute (`2023-10-03 14:05`).
fn printed_time(e: &RawEntry) -> Option<String> {
    Some(match e.published? {
        RawDate::Local(n) => n.format("%Y-%m-%d %H:%M").to_string(),
        RawDate::Exact(d) => d.format("%Y-%m-%d %H:%M").to_string(),
    })
}

/// Paragraph texts of extracted content (tags stripped, whitespace trimmed).
fn paragraphs(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_fragment(html);
    let sel = scraper::Selector::parse("p").unwrap();
    doc.select(&sel)
        .map(|p| p.text().collect::<String>().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn in_shanghai(d: Option<RawDate>) -> Option<DateTime<FixedOffset>> {
    match d? {
        RawDate::Exact(x) => Some(x),
        RawDate::Local(n) => Some(Shanghai.from_local_datetime(&n).single()?.fixed_offset()),
    }
}

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap()
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Checks shared by the seed article and the real page, with or without selectors.
fn check_people_article(rel: &str, e: &RawEntry) {
    let exp = &expected()[rel.trim_start_matches("people-sn/")];
    assert_eq!(e.title.as_deref(), Some(s(&exp["title"])), "{rel} title");
    let published = in_shanghai(e.published).expect("published");
    assert_eq!(published.to_rfc3339(), s(&exp["published"]), "{rel} time");
    assert_eq!(e.origin.as_deref(), Some(s(&exp["source"])), "{rel} source");
    assert_eq!(e.editors, strs(&exp["editors"]), "{rel} editors");
    let html = e.content_html.as_deref().unwrap();
    let paras = paragraphs(html);
    if let Some(n) = exp["paragraphs"].as_u64() {
        assert_eq!(paras.len() as u64, n, "{rel} paragraphs: {paras:#?}");
    }
    assert!(
        paras[0].starts_with(s(&exp["first_paragraph_starts"])),
        "{rel} first paragraph: {}",
        paras[0]
    );
    let last = paras.last().unwrap();
    if let Some(l) = exp["last_paragraph"].as_str() {
        assert_eq!(last, l, "{rel} last paragraph");
    }
    if let Some(l) = exp["last_paragraph_contains"].as_str() {
        assert!(last.contains(l), "{rel} last paragraph: {last}");
    }
    for bad in strs(&exp["body_must_not_contain"]) {
        assert!(!html.contains(&bad), "{rel} body contains {bad:?}:\n{html}");
    }
    assert_eq!(e.link.as_deref(), Some(&*format!("{ORIGIN}{}", &rel[10..])));
}

#[test]
fn list_page_yields_two_distinct_article_links() {
    let html = decode_fixture("people-sn/GB/226647/index.html");
    let url = format!("{ORIGIN}GB/226647/index.html");
    let links = extract_links(&html, &url, "div.p2j_list li a", 20).unwrap();
    assert_eq!(
        links,
        vec![
            "http://sn.people.com.cn/n2/2021/1229/c226647-35071234.html",
            "http://sn.people.com.cn/n2/2022/0213/c360307-35131671.html",
        ]
    );
    assert_eq!(
        expected()["GB/226647/index.html"]["distinct_articles"],
        links.len()
    );
    // a container selector uses the links inside it; `max` caps the result
    let inside = extract_links(&html, &url, "div.p2j_list", 20).unwrap();
    assert_eq!(inside, links);
    assert_eq!(
        extract_links(&html, &url, "div.p2j_list", 1).unwrap().len(),
        1
    );
}

/// A list page on the web may not point the daemon at files or into the private network; a
/// local one (configured by the operator) may.
#[test]
fn public_list_pages_cannot_link_into_local_space() {
    let html = r#"<ul class="l"><li><a href="/news/1.html">ok</a></li>
        <li><a href="file:///etc/hostname">file</a></li>
        <li><a href="http://169.254.169.254/latest/meta-data/">metadata</a></li>
        <li><a href="http://127.0.0.1:8080/admin">loopback</a></li>
        <li><a href="http://localhost/x">localhost</a></li>
        <li><a href="http://10.1.2.3/y">lan</a></li></ul>"#;
    let links = extract_links(html, "https://site.cn/index.html", ".l a", 10).unwrap();
    assert_eq!(links, vec!["https://site.cn/news/1.html"]);
    let local = extract_links(html, "http://127.0.0.1:9000/index.html", ".l a", 10).unwrap();
    assert_eq!(local.len(), 6, "{local:?}");
}

#[test]
fn list_links_drop_fragments_scripts_and_mail() {
    let html = r##"<div class="l"><a href="a.html#c">A</a><a href="a.html">A</a>
        <a href="javascript:void(0)">x</a><a href="mailto:x@y.cn">m</a><a href="#top">t</a>
        <a href="//other.cn/b.html">B</a></div>"##;
    let links = extract_links(html, "https://site.cn/dir/index.html", ".l a", 10).unwrap();
    assert_eq!(
        links,
        vec!["https://site.cn/dir/a.html", "https://other.cn/b.html"]
    );
    assert!(matches!(
        extract_links(html, "https://site.cn/", "div[", 10),
        Err(ExtractError::BadSelector { .. })
    ));
}

#[test]
fn seed_article_automatic() {
    let rel = "people-sn/n2/2021/1229/c226647-35071234.html";
    let e = extract_fixture(rel);
    check_people_article(rel, &e);
    assert_eq!(e.site.as_deref(), Some("人民网"));
}

#[test]
fn seed_article_with_selectors() {
    let rel = "people-sn/n2/2021/1229/c226647-35071234.html";
    check_people_article(rel, &extract_with(rel, &people_rules()));
}

#[test]
fn real_article_automatic() {
    let rel = "people-sn/n2/2022/0213/c360307-35131671.html";
    let e = extract_fixture(rel);
    check_people_article(rel, &e);
    // the closing byline `本报记者 葛灵丹` leaves the body as an author
    assert_eq!(e.authors.len(), 1);
    assert_eq!(e.authors[0].name, "葛灵丹");
}

#[test]
fn real_article_with_selectors() {
    let rel = "people-sn/n2/2022/0213/c360307-35131671.html";
    let e = extract_with(rel, &people_rules());
    check_people_article(rel, &e);
    assert_eq!(e.authors[0].name, "葛灵丹");
}

#[test]
fn remove_rule_drops_elements() {
    let rel = "people-sn/n2/2022/0213/c360307-35131671.html";
    let mut rules = people_rules();
    rules.remove = vec![".rm_txt_con > p:nth-last-of-type(3)".into()];
    let e = extract_with(rel, &rules);
    assert!(!e.content_html.unwrap().contains("连云港发布重要提醒"));
}

/// The mirror copy as a channel with `script = "simplified"` serves it.
#[test]
fn mirror_page_simplified() {
    let rel = "people-sn/mirror/c226647-35071234.html";
    let exp = &expected()["mirror/c226647-35071234.html"];
    let e = extract_fixture(rel);
    let title = convert(e.title.as_deref().unwrap(), Script::Simplified);
    let html = convert(e.content_html.as_deref().unwrap(), Script::Simplified);
    let editors: Vec<String> = e
        .editors
        .iter()
        .map(|x| convert(x, Script::Simplified))
        .collect();
    let origin = e.origin.as_deref().map(|o| convert(o, Script::Simplified));
    let want = &exp["with_script_simplified"];
    assert_eq!(title, s(&want["title"]));
    let paras = paragraphs(&html);
    assert_eq!(
        paras.len() as u64,
        want["paragraphs"].as_u64().unwrap(),
        "{paras:#?}"
    );
    assert!(paras[0].starts_with(s(&want["first_paragraph_starts"])));
    assert_eq!(paras.last().unwrap(), s(&want["last_paragraph"]));
    assert_eq!(editors, strs(&exp["editors_simplified"]));
    assert_eq!(origin.as_deref(), Some("陕西日报"));
    assert_eq!(
        in_shanghai(e.published).unwrap().to_rfc3339(),
        s(&exp["published"])
    );
    for bad in strs(&exp["body_must_not_contain"]) {
        assert!(!html.contains(&bad), "body contains {bad:?}:\n{html}");
        assert!(!e.content_html.as_deref().unwrap().contains(&bad));
    }
    // no pinyin left anywhere, not even garbled remnants
    assert!(!html.contains('?') && !html.contains("(l"), "{html}");
}

#[test]
fn mirror_page_keep() {
    let e = extract_fixture("people-sn/mirror/c226647-35071234.html");
    let exp = &expected()["mirror/c226647-35071234.html"];
    let title = convert(e.title.as_deref().unwrap(), Script::Keep);
    assert_eq!(title, s(&exp["with_script_keep"]["title"]));
    assert!(!e.content_html.unwrap().contains("(wǎng)"));
}

#[test]
fn pinyin_stripping_spares_real_parentheses() {
    assert_eq!(strip_pinyin("人民網(wǎng)報道"), "人民網報道");
    assert_eq!(strip_pinyin("來(lái)源"), "來源");
    assert_eq!(
        strip_pinyin("美国有线电视新闻网(CNN)称"),
        "美国有线电视新闻网(CNN)称"
    );
    assert_eq!(strip_pinyin("去年(2021)"), "去年(2021)");
    assert_eq!(convert("陜西", Script::Simplified), "陕西");
    assert_eq!(convert("陕西日报", Script::Traditional), "陝西日報");
}

#[test]
fn hidden_and_boilerplate_never_reach_the_body() {
    let html = r#"<html><head><title>测试标题_示例网</title></head><body>
        <div class="nav"><a href="/">首页</a> | <a href="/a">新闻</a></div>
        <h1>测试标题</h1><div class="info">2022-02-13 07:48:00 来源：示例日报 记者 王小明</div>
        <div class="article">
          <p>第一段，这是正文内容，包含足够多的标点符号，以便评分算法识别它是正文。我们继续写一些内容。</p>
          <p style="display:none">隐藏的段落不应出现在正文中，即使它很长很长很长很长很长。</p>
          <p hidden>另一个隐藏段落，也有很长的文字内容，不应出现。</p>
          <p>第二段，同样是正文内容，包含更多的逗号，句号。还有更多的文字，用于测试。</p>
          <p>分享到：微信 微博</p>
          <p><a href="/1">富锦市</a>| <a href="/2">通河县</a>| <a href="/3">巴楚县</a>| <a href="/4">互助</a>|</p>
          <p>(责任编辑：张三)</p>
        </div>
        <div class="footer">版权所有 示例网</div></body></html>"#;
    let e = extract_article(html, "https://example.cn/a.html", &ArticleRules::default()).unwrap();
    assert_eq!(e.title.as_deref(), Some("测试标题"));
    assert_eq!(e.site.as_deref(), Some("示例网"));
    assert_eq!(e.origin.as_deref(), Some("示例日报"));
    assert_eq!(e.editors, vec!["张三"]);
    assert_eq!(e.authors[0].name, "王小明");
    let body = e.content_html.unwrap();
    assert_eq!(paragraphs(&body).len(), 2, "{body}");
    for bad in ["隐藏", "分享", "富锦市", "责任编辑", "版权所有", "首页"] {
        assert!(!body.contains(bad), "{bad} in {body}");
    }
    match e.published.unwrap() {
        RawDate::Local(n) => assert_eq!(n.to_string(), "2022-02-13 07:48:00"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_selector_is_an_error() {
    let rules = ArticleRules {
        content: Some("div[".into()),
        ..ArticleRules::default()
    };
    assert!(matches!(
        extract_article("<p>x</p>", "https://a.cn/", &rules),
        Err(ExtractError::BadSelector { .. })
    ));
}

/// Character-bigram F1 after whitespace removal (what `examples/eval_extract.rs` measures).
fn bigram_f1(pred: &str, gold: &str) -> f64 {
    use std::collections::HashMap;
    let grams = |s: &str| {
        let cs: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut m: HashMap<(char, char), u32> = HashMap::new();
        for w in cs.windows(2) {
            *m.entry((w[0], w[1])).or_default() += 1;
        }
        m
    };
    let (p, g) = (grams(pred), grams(gold));
    let (np, ng) = (p.values().sum::<u32>(), g.values().sum::<u32>());
    let overlap: u32 = p
        .iter()
        .map(|(k, v)| (*v).min(g.get(k).copied().unwrap_or(0)))
        .sum();
    if overlap == 0 {
        return 0.0;
    }
    let (pr, rc) = (overlap as f64 / np as f64, overlap as f64 / ng as f64);
    2.0 * pr * rc / (pr + rc)
}

/// Corpus pages (tests/fixtures/pages, MIT, see NOTICE.md): body close to the hand label and
/// the labelled publish time, extracted automatically.
#[test]
fn corpus_pages_match_their_labels() {
    let dir = "pages/chinese-web-content-extraction-dataset";
    for (id, want_time) in [
        ("f51248cc-bb27-49ba-a159-975795c3ea11", "2022-02-13 23:37"),
        ("6650f72a-89ca-403a-9384-204ea6c072e6", "2004-09-17 05:54"),
        ("2168485b-0614-4e1e-b88e-289bde57e5f0", "2004-12-10 00:00"),
    ] {
        let e = extract_fixture(&format!("{dir}/original/{id}.html"));
        let label =
            std::fs::read_to_string(fixture_path(&format!("{dir}/cleaned/{id}.txt"))).unwrap();
        let text = text_of(e.content_html.as_deref().unwrap());
        let f1 = bigram_f1(&text, &label);
        assert!(f1 > 0.95, "{id}: body F1 {f1:.3}");
        let got = printed_time(&e).unwrap_or_else(|| panic!("{id}: no publish time"));
        assert_eq!(got, want_time, "{id}");
    }
}

/// English dates, on WCXB pages (tests/fixtures/pages, CC-BY-4.0, see NOTICE.md): the date the
/// page prints for the article, not those of the related posts after it.
#[test]
fn english_dates_on_corpus_pages() {
    // Both print the day only (0517's time of day is only in a tooltip).
    for (id, want) in [("4524", "2026-02-06 00:00"), ("0517", "2025-05-26 00:00")] {
        let e = extract_fixture(&format!("pages/wcxb-dev-subset/html/{id}.html"));
        let got = printed_time(&e).unwrap_or_else(|| panic!("{id}: no publish time"));
        assert_eq!(got, want, "{id}");
    }
}

/// A page that prints no date of its own, only its sidebar's: the day in its URL wins, and a date
/// line printed for that day lends its time.
#[test]
fn the_url_day_overrules_a_sidebar_date() {
    let html = |own: &str| {
        format!(
            "<html><body><h1>Wine styles</h1><aside><p>Other post - 16 February 2026</p></aside>\
             <div class=\"post\"><p>{}</p></div><footer>{own}</footer></body></html>",
            "Wine comes in many styles, and each one has its own story to tell. ".repeat(8)
        )
    };
    let url = "https://example.org/blog/2023/october/03/wine-styles";
    let day = |e: &RawEntry| printed_time(e).unwrap();
    let e = extract_article(&html(""), url, &ArticleRules::default()).unwrap();
    assert_eq!(day(&e), "2023-10-03 00:00");
    let e = extract_article(
        &html("Posted 3 October 2023, 14:05"),
        url,
        &ArticleRules::default(),
    )
    .unwrap();
    assert_eq!(day(&e), "2023-10-03 14:05");
    // The first timed line for the day, not a later comment's.
    let e = extract_article(
        &html("Posted 3 October 2023, 14:05</footer><footer>Comment: October 3, 2023 11:15 PM"),
        url,
        &ArticleRules::default(),
    )
    .unwrap();
    assert_eq!(day(&e), "2023-10-03 14:05");
    // A time the page's metadata states stays, whatever the URL says.
    let meta = html("").replace(
        "<html>",
        "<html><head><meta property=\"article:published_time\" content=\"2024-01-05T08:00:00Z\"></head>",
    );
    let e = extract_article(&meta, url, &ArticleRules::default()).unwrap();
    assert_eq!(day(&e), "2024-01-05 08:00");
    // Without a date in the URL, the sidebar's date is all there is.
    let e = extract_article(
        &html(""),
        "https://example.org/blog/wine-styles",
        &ArticleRules::default(),
    )
    .unwrap();
    assert_eq!(day(&e), "2026-02-16 00:00");
}

/// A page built with Elementor (WCXB page 4640, CC-BY-4.0, see NOTICE.md): every few paragraphs
/// sit in their own stack of widget wrappers, so the best-scored node is one widget; the article
/// is their common ancestor. Before that was recognised, one widget was all: F1 0.24.
#[test]
fn page_builder_widgets_yield_the_whole_article() {
    let f1 = wcxb_body_f1("4640");
    assert!(f1 > 0.9, "body F1 {f1:.3}");
}

/// Body F1 of a WCXB fixture page (tests/fixtures/pages/wcxb-dev-subset, CC-BY-4.0) against
/// its labelled main content, extracted automatically.
fn wcxb_body_f1(id: &str) -> f64 {
    let dir = "pages/wcxb-dev-subset";
    let gt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture_path(&format!("{dir}/ground-truth/{id}.json"))).unwrap(),
    )
    .unwrap();
    let label = gt["ground_truth"]["main_content"]
        .as_str()
        .expect("main_content");
    let e = extract_fixture(&format!("{dir}/html/{id}.html"));
    let text = text_of(e.content_html.as_deref().unwrap());
    bigram_f1(&text, label)
}

/// WCXB page 4125 (CC-BY-4.0): an article made of CMS component sections that each score
/// alike, none far ahead; readability's rule takes their common ancestor. Before: F1 0.29.
#[test]
fn sections_that_score_alike_are_one_article() {
    let f1 = wcxb_body_f1("4125");
    assert!(f1 > 0.9, "body F1 {f1:.3}");
}

/// React's streamed server rendering sends the article late in `<div hidden id="S:0">`, which a
/// script moves into place: it is the page's text. Other `hidden` elements stay out.
#[test]
fn react_streamed_content_is_not_hidden() {
    let para = "The best mattress for side sleepers keeps the spine straight, and it relieves \
                pressure on the shoulders and hips, which matters more than any brand name.";
    let html = format!(
        "<html><body><main><template id=\"B:0\"></template><p>Loading…</p></main>\
         <div hidden id=\"S:0\"><article><h1>Side sleepers</h1><p>{para}</p><p>{para}</p>\
         <p>{para}</p></article></div><div hidden><p>A hidden teaser, never shown to anyone, \
         with enough words and commas, to count, as a paragraph.</p></div></body></html>"
    );
    let e = extract_article(&html, "https://example.org/a", &ArticleRules::default()).unwrap();
    let body = e.content_html.unwrap();
    assert!(body.contains("keeps the spine straight"), "{body}");
    assert!(!body.contains("hidden teaser"), "{body}");
}

/// mozilla/readability's `quanta-1` page (Apache-2.0, see NOTICE.md): the article is split into
/// sibling sections whose paragraphs sit a few wrappers down; all of them are the article.
/// Before sections were judged by the text inside them, the body F1 was 0.82.
#[test]
fn sibling_sections_with_deep_paragraphs_are_kept() {
    let dir = "pages/mozilla-readability/quanta-1";
    let expected = std::fs::read_to_string(fixture_path(&format!("{dir}/expected.html"))).unwrap();
    let label = text_of(&expected);
    let e = extract_fixture(&format!("{dir}/source.html"));
    let text = text_of(e.content_html.as_deref().unwrap());
    let f1 = bigram_f1(&text, &label);
    assert!(f1 > 0.95, "body F1 {f1:.3}");
}

/// A WeChat public-account article (`tests/fixtures/pages/hand`): the whole body sits in
/// `#js_content` with `style="visibility: hidden"` until the page's script lifts it. The reader
/// sees it, so it is the article, not hidden text.
#[test]
fn content_a_script_reveals_is_the_article() {
    let e = extract_fixture("pages/hand/wechat-hidden-content.html");
    assert_eq!(
        e.title.as_deref(),
        Some("滨河大桥正式通车 两岸车程缩短至十分钟")
    );
    let body = text_of(e.content_html.as_deref().unwrap());
    for part in [
        "全长一千二百米",
        "历时三年建成",
        "多睡半个小时",
        "增派警力",
        "滨河公园",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    assert!(!body.contains("扫一扫"), "{body}");
}

/// mozilla/readability's `visibility-hidden` case, in short: where the visible part of the page
/// is an article, text under `visibility: hidden` stays out of it.
#[test]
fn hidden_text_beside_a_visible_article_stays_hidden() {
    let visible = "Tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, \
                   quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo. ";
    let html = format!(
        "<html><body><article><h1>Lorem</h1>\
         <div style=\"visibility: hidden;\"><p>A hidden teaser paragraph that is never shown.</p></div>\
         <div><p>{}</p><p>{}</p></div></article></body></html>",
        visible.repeat(3),
        visible.repeat(2)
    );
    let e = extract_article(&html, "https://example.org/a", &ArticleRules::default()).unwrap();
    let body = e.content_html.unwrap();
    assert!(body.contains("Tempor incididunt"), "{body}");
    assert!(!body.contains("hidden teaser"), "{body}");
}

/// A portal page (`tests/fixtures/pages/hand`): a two-paragraph article beside a stream of 40
/// dated teaser cards, each a linked headline over a summary. The stream reads like prose and
/// is fifty times longer; the article still wins, alone.
#[test]
fn a_short_article_beside_a_long_stream_wins() {
    let e = extract_fixture("pages/hand/portal-short-article.html");
    let body = text_of(e.content_html.as_deref().unwrap());
    assert!(body.contains("gusts of more than 90 kilometres"), "{body}");
    assert!(body.contains("use the river tunnel"), "{body}");
    assert!(!body.contains("More stories"), "{body}");
    assert!(!body.contains("hours ago"), "{body}");
    assert!(body.chars().count() < 500, "{body}");
}

/// `nn/nn/yyyy` dates follow the page's `<html lang>`: month first on an en-US page, day first
/// on an en-GB one; without a locale the day and month alone are too ambiguous to take.
#[test]
fn slash_dates_are_read_in_the_pages_locale() {
    let page = |lang: &str| {
        let para = "The council voted on the new harbour budget after a long debate about the \
                    costs of the bridge repairs and the summer festival. ";
        format!(
            "<html{lang}><head><title>Council votes</title></head><body><article>\
             <h1>Council votes</h1><p class=\"date\">Posted 04/05/2024</p>\
             <p>{}</p><p>{}</p></article></body></html>",
            para.repeat(3),
            para.repeat(2)
        )
    };
    let published = |lang: &str| {
        extract_article(
            &page(lang),
            "https://example.org/a",
            &ArticleRules::default(),
        )
        .unwrap()
        .published
        .map(|d| match d {
            RawDate::Exact(d) => d.date_naive().to_string(),
            RawDate::Local(d) => d.date().to_string(),
        })
    };
    assert_eq!(published(" lang=\"en-US\"").as_deref(), Some("2024-04-05"));
    assert_eq!(published(" lang=\"en-GB\"").as_deref(), Some("2024-05-04"));
    assert_eq!(published(""), None);
}

/// A page that shows only a relative time keeps the exact one in its tooltip
/// (`<span title="…">3小时前</span>`): that is the publish time.
#[test]
fn a_relative_time_gives_its_tooltips_exact_time() {
    let para = "市民在新建成的滨河大桥上散步，这座大桥全长一千二百米，连接了城东和城西两个片区。";
    let html = format!(
        "<html><head><title>滨河大桥通车</title></head><body><article><h1>滨河大桥通车</h1>\
         <div class=\"info\"><span class=\"time\" title=\"2024-05-04 10:15\">3小时前</span> 城市日报</div>\
         <p>{}</p><p>{}</p></article>\
         <aside><a href=\"/b\" title=\"Another story\">其他新闻</a></aside></body></html>",
        para.repeat(3),
        para.repeat(2)
    );
    let e = extract_article(&html, "https://example.org/a", &ArticleRules::default()).unwrap();
    let published = match e.published {
        Some(RawDate::Local(d)) => d.to_string(),
        other => format!("{other:?}"),
    };
    assert_eq!(published, "2024-05-04 10:15:00");
}

/// The one helper for the automatic link finder: a list page's links and the selector found.
fn auto_links(html: &str, url: &str) -> (Vec<String>, Option<String>) {
    let guess = find_list(html, url);
    assert_eq!(
        extract_links(html, url, "auto", usize::MAX).unwrap(),
        guess.links,
        "items = \"auto\" is the finder"
    );
    (guess.links, guess.selector)
}

#[test]
fn auto_items_find_the_two_articles_of_the_people_list() {
    let html = decode_fixture("people-sn/GB/226647/index.html");
    let url = format!("{ORIGIN}GB/226647/index.html");
    let (links, selector) = auto_links(&html, &url);
    assert_eq!(
        links,
        vec![
            "http://sn.people.com.cn/n2/2021/1229/c226647-35071234.html",
            "http://sn.people.com.cn/n2/2022/0213/c360307-35131671.html",
        ]
    );
    // The selector it settled on yields the same links.
    let selector = selector.expect("a selector describes the list");
    assert_eq!(extract_links(&html, &url, &selector, 20).unwrap(), links);
    assert_eq!(extract_links(&html, &url, " Auto ", 1).unwrap().len(), 1);
}

/// Navigation, a "hot" list (longer than the stream, known by its heading), a footer and an
/// advert row around the dated stream: only the stream's articles are found, a row laid out
/// differently (a gallery) included.
#[test]
fn auto_items_skip_navigation_hot_lists_footers_and_adverts() {
    let row = |n: u32, title: &str| {
        format!(
            r#"<div class="item"><div class="t"><a href="/news/2024/0{m}/1{n}/a{n}.html">{title}</a></div><span class="time">2024-0{m}-1{n} 08:0{n}</span></div>"#,
            m = 1 + n % 3
        )
    };
    let stream: String = [
        "省政府召开常务会议研究部署春季农业生产工作",
        "西安地铁新线路开通运营首日客流突破十万人次",
        "全省中小学下周起陆续开学各地做好准备工作",
        "秦岭生态环境保护条例修订草案公开征求意见",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| row(i as u32 + 1, t))
    .collect();
    let html = format!(
        r#"<html><body>
        <ul class="nav"><li><a href="/">首页</a></li><li><a href="/politics/">时政</a></li>
          <li><a href="/society/">社会</a></li><li><a href="/economy/">经济</a></li></ul>
        <div class="main"><div class="list">{stream}
          <div class="item"><h3><a href="/photo/gallery-7731.html">图集：春到秦岭 山花烂漫处处美景入画来</a></h3></div>
          <div class="spread"><a href="https://ads.example.net/click?id=99887766">限时特惠 点击领取新春大礼包优惠券</a></div>
        </div></div>
        <div class="box"><h2>热门排行</h2><ul>
          <li><a href="/news/2023/1201/h1.html">去年的一篇热门文章标题在这里非常吸引人</a> 2023-12-01</li>
          <li><a href="/news/2023/1202/h2.html">另一篇点击量很高的文章标题也在这里出现</a> 2023-12-02</li>
          <li><a href="/news/2023/1203/h3.html">第三篇热门文章的标题同样在排行榜里出现</a> 2023-12-03</li>
          <li><a href="/news/2023/1204/h4.html">第四篇热门文章的标题同样在排行榜里出现</a> 2023-12-04</li>
          <li><a href="/news/2023/1205/h5.html">第五篇热门文章的标题同样在排行榜里出现</a> 2023-12-05</li>
          <li><a href="/news/2023/1206/h6.html">第六篇热门文章的标题同样在排行榜里出现</a> 2023-12-06</li></ul></div>
        <div class="footer"><a href="/about.html">关于我们</a><a href="/contact.html">联系我们</a></div>
        </body></html>"#
    );
    let (links, _) = auto_links(&html, "https://news.example.cn/list/index.html");
    assert_eq!(
        links,
        vec![
            "https://news.example.cn/news/2024/02/11/a1.html",
            "https://news.example.cn/news/2024/03/12/a2.html",
            "https://news.example.cn/news/2024/01/13/a3.html",
            "https://news.example.cn/news/2024/02/14/a4.html",
            "https://news.example.cn/photo/gallery-7731.html",
        ]
    );
}

/// A page without a repeated block of links yields none (and a poll of it finds nothing).
#[test]
fn auto_items_find_nothing_on_an_article_page() {
    let html = r#"<html><body><h1>标题</h1><p>正文第一段，没有任何链接。</p>
        <p>第二段，<a href="/a.html">一个</a>链接。</p></body></html>"#;
    let (links, selector) = auto_links(html, "https://site.cn/x.html");
    assert!(links.is_empty(), "{links:?}");
    assert_eq!(selector, None);
}

/// `feedloom suggest`'s article part: a field automatic extraction is sure of gets no selector;
/// a very short body gets the selector of the block that holds it on every page read.
#[test]
fn suggest_names_a_content_selector_for_short_articles() {
    let page = |n: u32| {
        (
            format!(
                r#"<html><head><title>短讯{n}</title></head><body><div class="menu"><a href="/">首页</a></div>
                <h1>短讯第{n}号：市区今日起调整部分公交线路</h1><div class="info">2024-03-0{n} 10:00</div>
                <div class="brief"><p>市交通局发布通知，自今日起，市区第{n}路、第十二路等公交线路调整走向，途经新区的站点有所增加。</p>
                <p>市民出行前可通过官方应用查询实时到站信息，如有疑问，请拨打服务热线咨询。</p>
                <p>据介绍，此次调整是为了方便新区居民出行，缓解早晚高峰的拥堵，今后还将根据客流情况继续优化。</p></div>
                <div class="foot">版权所有</div></body></html>"#
            ),
            format!("https://site.cn/news/{n}.html"),
        )
    };
    let hints = feedloom::ingest::extract::suggest::article_hints(&[page(1), page(2)]);
    assert_eq!(hints.content.as_deref(), Some("div.brief"), "{hints:?}");
    assert_eq!(hints.title, None, "the title was found: {hints:?}");
    assert_eq!(hints.date, None, "the date was found: {hints:?}");
}
