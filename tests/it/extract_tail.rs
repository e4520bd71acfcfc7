//! Extraction's long tail, past articles: forum threads, pages that print their text for
//! readers without scripts, documentation and listing pages. Fixtures are in
//! `tests/fixtures/pages/hand` (written for these tests) and `tests/fixtures/pages` (corpus
//! pages, see NOTICE.md there).

use std::path::PathBuf;

use feedloom::config::ArticleRules;
use feedloom::ingest::extract::extract_article;

/// The body text of a fixture page, extracted automatically (tags stripped).
fn body_of(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pages")
        .join(rel);
    let html = std::fs::read_to_string(&path).expect("fixture exists");
    body_of_html(&html)
}

fn body_of_html(html: &str) -> String {
    let e = extract_article(
        html,
        "https://forum.example.org/t/1",
        &ArticleRules::default(),
    )
    .unwrap_or_else(|e| panic!("no article: {e}"));
    scraper::Html::parse_fragment(&e.content_html.unwrap())
        .root_element()
        .text()
        .collect()
}

/// A phpBB-style thread whose longest post is a reply: the scorer's best block is that reply,
/// but the first post and every reply are the article, and the signatures under the posts and
/// the board's navigation are not. The rows alternate their classes (`post bg1`, `post bg2`).
#[test]
fn a_forum_thread_keeps_the_first_post_and_its_replies() {
    let body = body_of("hand/forum-thread.html");
    for part in [
        "smelled of nail polish remover",
        "It is hungry, not dead",
        "moved the jar next to the boiler",
        "Whole rye flour fixed it faster",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body}");
    }
    for furniture in [
        "Baking since 2019",
        "Forty years at the mill",
        "Board index",
        "Delete cookies",
        "Powered by",
    ] {
        assert!(!body.contains(furniture), "{furniture:?} in {body}");
    }
    // In the page's order: the question first.
    let first = body.find("nail polish").unwrap();
    assert!(first < body.find("It is hungry").unwrap(), "{body}");
}

/// A Discourse-style page: the script-rendered view is an empty splash, and the thread is
/// printed inside `<noscript>` for readers without scripts. That is what is read, all posts.
#[test]
fn a_thread_printed_for_readers_without_scripts_is_read() {
    let body = body_of("hand/noscript-thread.html");
    for part in [
        "puts high water at 07:40",
        "lags it by thirty to fifty minutes",
        "Forty minutes matched",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body}");
    }
    assert!(!body.contains("Privacy"), "{body}");
}

/// Where the scripted view has an article, `<noscript>` text (a "please enable JavaScript"
/// note) stays out of it.
#[test]
fn noscript_text_beside_an_article_stays_out() {
    let para = "The ferry timetable changes on Monday, when the summer crossings start, and the \
                first boat leaves half an hour earlier than in the winter months. ";
    let html = format!(
        "<html><body><noscript><p>Please enable JavaScript to use every feature of this \
         site, including the comments, the maps and the search.</p></noscript>\
         <article><h1>Ferry</h1><p>{}</p><p>{}</p></article></body></html>",
        para.repeat(3),
        para.repeat(2)
    );
    let body = body_of_html(&html);
    assert!(body.contains("ferry timetable"), "{body}");
    assert!(!body.contains("enable JavaScript"), "{body}");
}

/// CMS sections that share a wrapper class (`shopify-section`) are not a thread even when each
/// is dated and holds prose: the article section and a blog carousel below it are built from
/// different templates, and the carousel (longer than the article) stays out.
#[test]
fn sections_that_share_only_a_wrapper_class_are_not_a_thread() {
    let para = "Set the top of the monitor at eye level and an arm's length away, so that the \
                neck stays straight and the eyes look slightly down, which tires them less. ";
    let card = |n: u32| {
        format!(
            "<div class=\"card\"><h3>Desk tip {n}</h3><p>A short teaser about desks, chairs and \
             lamps, with commas, and a full stop.</p><span>March {n}, 2026</span></div>"
        )
    };
    let html = format!(
        "<html><body>\
         <section class=\"shopify-section article\"><div class=\"meta\">February 6, 2026</div>\
         <h1>Ergonomic desk</h1><div class=\"rte\">{}</div></section>\
         <section class=\"shopify-section blog-carousel\"><h2>Blog</h2><div class=\"track\">{}\
         </div></section></body></html>",
        format!("<p>{}</p>", para.repeat(2)).repeat(6),
        (1..=14).map(card).collect::<String>()
    );
    let body = body_of_html(&html);
    assert!(body.contains("eye level"), "{body}");
    assert!(!body.contains("Desk tip"), "{body}");
}

/// A documentation page (`hand/doc-page.html`): headings, both code blocks (their lines kept as
/// written), the parameter table's cells and the closing note are the content; the API sidebar,
/// the "on this page" box and the footer are not.
#[test]
fn a_documentation_page_keeps_code_and_tables_and_drops_the_sidebar() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages/hand/doc-page.html");
    let html = std::fs::read_to_string(path).unwrap();
    let e = extract_article(
        &html,
        "https://docs.example.org/q",
        &ArticleRules::default(),
    )
    .unwrap();
    let content = e.content_html.unwrap();
    assert!(
        content.contains("<pre><code>const q = await tidepool.open(\"orders\");\nawait q.push("),
        "{content}"
    );
    let body = body_of("hand/doc-page.html");
    for part in [
        "Adds one message",
        "queue.push(name, body",
        "The message, at most 256 KiB",
        "Higher values are popped first",
        "stored on two nodes",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body}");
    }
    for furniture in ["queue.peek", "Error codes", "On this page", "Terms"] {
        assert!(!body.contains(furniture), "{furniture:?} in {body}");
    }
}

/// A listing (`hand/listing-page.html`): twelve courses, each a linked title over its day,
/// hours, length, fee and room, and no single article. Scoring finds a sliver (the intro); the page's one
/// `<main>` is the content, every entry with its title, and the sidebar stays out.
#[test]
fn a_listing_without_an_article_is_its_main_region() {
    let body = body_of("hand/listing-page.html");
    for part in [
        "meet once a week",
        "Digital photography",
        "Pottery for beginners",
        "Mon 19:00–21:00, 8 weeks, £96, room 11",
        "Python programming",
        "Sat 19:00–21:00, 6 weeks, £72, room 9",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body}");
    }
    assert!(!body.contains("Newsletter"), "{body}");
    assert!(!body.contains("Jobs"), "{body}");
}

/// A page that says it is an article (`og:type`) whose `<main>` holds a short article and a
/// "recommended" stream of linked headlines with summaries (mozilla/readability's `yahoo-3`
/// in short): the article is the content, not the whole region.
#[test]
fn an_article_beside_recommended_headlines_is_not_widened_to_main() {
    let para = "The harbour bridge reopened on Sunday after eight months of repairs, and the \
                first buses crossed it at six in the morning, to the relief of commuters. ";
    let teaser = |n: u32| {
        format!(
            "<li><h3><a href=\"/story/{n}\">Another story number {n}</a></h3><p>A summary of \
             another story, with commas, and a stop.</p></li>"
        )
    };
    let html = format!(
        "<html><head><meta property=\"og:type\" content=\"article\"></head><body><main>\
         <div class=\"story\"><h1>Bridge reopens</h1><p>{para}</p><p>{para}</p></div>\
         <section><h2>Recommended for you</h2><ul>{}</ul></section></main></body></html>",
        (1..=24).map(teaser).collect::<String>()
    );
    let body = body_of_html(&html);
    assert!(body.contains("harbour bridge reopened"), "{body}");
    assert!(!body.contains("Another story"), "{body}");
}

/// A shop's category page (`hand/product-grid.html`): twelve product tiles, each a linked name
/// and a price, and no article; the only prose is a newsletter promotion outside `<main>`, which
/// scoring prefers to the link-dense grid. The grid is the content: every product with its
/// price; the promotion, the navigation and the footer stay out.
#[test]
fn a_product_grid_without_an_article_is_its_items() {
    let body = body_of("hand/product-grid.html");
    for part in [
        "Espresso Glass Candle",
        "$18.00",
        "Floral Taper Candle, Large",
        "Smoked Pistachio Boot Candle",
        "$51.00",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body}");
    }
    for furniture in ["15% off", "New arrivals", "Careers", "All rights reserved"] {
        assert!(!body.contains(furniture), "{furniture:?} in {body}");
    }
}

/// A thread page in the old table layout: the post (a short paragraph of Chinese prose) and,
/// further down, its reply index, a tree of nested lists whose entries (linked title, author,
/// time) hold twenty times the post's text. A tree of items is not a list of things side by
/// side: the post stays the content.
#[test]
fn a_post_above_its_reply_tree_stays_the_content() {
    let post = "导游的收入很大一部分来自购物的回扣，这是业内的行规，境内游境外游都是这样的。\
                旅行车停在购物店门口会有停车费，进店购物一般要停留四十五分钟左右，\
                所以，以我的经验，一定要看清楚合同，不要听导游瞎掰。";
    let reply = |n: u32, inner: &str| {
        format!(
            "<li><a href=\"/post/{n}\">第{n}楼的回复：我也遇到过这样的事情，真是一把辛酸泪啊</a> \
             【网友{n}】08-11 16:{n:02} 298字{inner}</li>"
        )
    };
    let tree: String = (1..=20)
        .map(|n| {
            let inner = format!("<ul>{}</ul>", reply(n + 100, ""));
            reply(n, &inner)
        })
        .collect();
    let html = format!(
        "<html><body><table><tr><td><table><tr><td>主题：导游为什么热衷购物</td></tr>\
         <tr><td>{post}</td></tr></table><table><tr><td>回复线索：<ul><li>原帖<ul>{tree}</ul>\
         </li></ul></td></tr></table></td></tr></table></body></html>"
    );
    let body = body_of_html(&html);
    assert!(body.contains("不要听导游瞎掰"), "{body}");
    assert!(!body.contains("辛酸泪"), "{body}");
}
