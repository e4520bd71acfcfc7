//! "Related stories" lists inside the content: a line naming them (`相关报道：`, `延伸阅读`,
//! `Related articles`) and under it lines that are each mostly one link to another story,
//! often with its date (`·标题（2005-04-03 17:19PM）`).
//!
//! Older news templates put that list in the article's own cell, after the editor line, where
//! neither scoring nor the container cleaning sees it: the list's dates and bullets keep its
//! link density near one half, under what marks a link list. Line by line it is unmistakable:
//! the heading says what follows, and what follows is links.

use std::sync::OnceLock;

use regex::Regex;

use super::content::Block;

/// Link lines a heading must head: one link under a heading may be a "read the report" line.
const MIN_ITEMS: usize = 2;

/// A heading naming a list of related stories, alone on its line (a colon may follow).
fn heading_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:相关|相關|延伸|更多)(?:报道|報道|報導|新闻|新聞|阅读|閱讀|文章|链接|鏈接|资讯|資訊)\s*[:：]?\s*|^related\s+(?:articles?|stories|posts|news|coverage|reading|links)\s*:?\s*",
        )
        .expect("valid regex")
    })
}

/// Characters outside the link that a link line may carry: a bullet and a date with its time
/// (`·…（2005-04-27 18:03PM）`).
const MAX_TAIL: usize = 24;

/// A line that is mostly a link: at least two of every five characters inside one, or a short
/// headline whose only other text is a bullet and a date.
fn link_line(b: &Block) -> bool {
    let (all, linked) = (b.chars(), b.link_chars as usize);
    b.links >= 1 && (linked * 5 >= all * 2 || all - linked.min(all) <= MAX_TAIL)
}

/// Drops each related-stories list: a heading line followed by at least [`MIN_ITEMS`] link
/// lines (the heading and the items), or one line that opens with the heading and is itself
/// mostly several links. A heading followed by prose is left alone.
pub fn drop_related_lists(blocks: &mut Vec<Block>) {
    let mut k = 0;
    while k < blocks.len() {
        let b = &blocks[k];
        let Some(m) = heading_re().find(&b.text) else {
            k += 1;
            continue;
        };
        if m.end() < b.text.len() {
            // The heading and its items on one line.
            if b.links >= MIN_ITEMS as u32 && link_line(b) {
                blocks.remove(k);
            } else {
                k += 1;
            }
            continue;
        }
        let items = blocks[k + 1..].iter().take_while(|b| link_line(b)).count();
        if items >= MIN_ITEMS {
            blocks.drain(k..=k + items);
        } else {
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, link_chars: u32, links: u32) -> Block {
        Block {
            tag: "p",
            html: String::new(),
            text: text.to_string(),
            links,
            link_chars,
            ..Block::default()
        }
    }

    fn texts(blocks: &[Block]) -> Vec<&str> {
        blocks.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn a_heading_and_its_link_lines_go() {
        let mut blocks = vec![
            line("金医生解释说，日本男人普遍热爱自己的公司。", 0, 0),
            line("编辑：山石", 0, 0),
            line("相关报道：", 0, 0),
            line(
                "·富夫妻望子成龙假离婚 三月后丈夫另娶（2005-04-03 17:19PM）",
                17,
                1,
            ),
            line(
                "·沪银行关照直系亲属房贷记录 夫妻为同一借款人（2005-04-01 16:19PM）",
                21,
                1,
            ),
            // A short headline: its date is most of the line.
            line("·蔡依林热舞 (2005-04-27 18:03PM)", 5, 1),
            line("本文完。", 0, 0),
        ];
        drop_related_lists(&mut blocks);
        assert_eq!(
            texts(&blocks),
            [
                "金医生解释说，日本男人普遍热爱自己的公司。",
                "编辑：山石",
                "本文完。"
            ]
        );
        let mut one_line = vec![
            line("正文。", 0, 0),
            line("Related articles: One story Another story", 24, 2),
        ];
        drop_related_lists(&mut one_line);
        assert_eq!(texts(&one_line), ["正文。"]);
    }

    /// A heading followed by prose (an article's own section about related cases), or by a
    /// single link, stays, and so does a line that only starts like a heading.
    #[test]
    fn a_heading_over_prose_stays() {
        let mut blocks = vec![
            line("相关报道", 0, 0),
            line("此前，本报曾报道过同类案件，当事人均已获赔。", 0, 0),
            line("延伸阅读：", 0, 0),
            line("·一篇报道", 4, 1),
            line(
                "据介绍，该市今年已查处类似案件十二起，涉案金额超过三百万元。",
                0,
                0,
            ),
            line("相关文章指出，这一现象并不罕见。", 0, 0),
        ];
        let before = texts(&blocks)
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>();
        drop_related_lists(&mut blocks);
        assert_eq!(texts(&blocks), before);
    }
}
