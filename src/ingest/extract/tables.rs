//! A table of figures right after the article's text: part of the article.
//!
//! Announcements and reports end their text with what follows it (`附：招生专业及考试科目`,
//! "the results are below") and put the table next to the text, in the same container. The
//! table's cells are short, so it scores as nothing and is not taken as a sibling of the text
//! by score; it is still the article's. What is recognised: the element right after the chosen
//! block (nothing but white space between them) is a data table: at least [`MIN_ROWS`] rows of
//! at least two cells, no table nested inside it (a layout table holds others), no links to
//! speak of, and some text.

use super::dom::Dom;

/// Rows of two or more cells a data table has (a header row and two of data).
const MIN_ROWS: usize = 3;

/// Is `c` a data table directly following `top` (see the module comment)?
pub fn table_after(dom: &Dom, top: usize, c: usize) -> bool {
    let n = &dom.nodes[c];
    if n.name != "table" || c < dom.nodes[top].end || n.chars < 20 || dom.link_density(c) > 0.1 {
        return false;
    }
    // Nothing visible between the block and the table.
    let between = (dom.nodes[top].end..c).any(|i| {
        let m = &dom.nodes[i];
        !m.skip && (m.chars > 0 || m.imgs > 0) && m.parent == dom.nodes[top].parent
    });
    if between {
        return false;
    }
    let mut rows = 0;
    for i in c + 1..n.end {
        match dom.nodes[i].name {
            "table" => return false,
            "tr" => {
                let cells = dom
                    .children(i)
                    .filter(|&k| matches!(dom.nodes[k].name, "td" | "th"))
                    .count();
                rows += usize::from(cells >= 2);
            }
            _ => {}
        }
    }
    rows >= MIN_ROWS
}

#[cfg(test)]
mod tests {
    use crate::config::ArticleRules;
    use crate::ingest::extract::extract_article;

    fn body(after_text: &str) -> String {
        let para =
            "报名时先持考生本人身份证复印件、学历证书和毕业证书复印件，向招生办索取全部报名材料。";
        let html = format!(
            r#"<html><head><title>招生简章</title></head><body>
<table><tr><td><a href="/">主页</a> &gt; <a href="/edu/">艺术教育</a></td></tr></table>
<div id="nei"><table><tr><td>一、培养目标：<br>{p}<br>二、报考条件：<br>{p}<br>{p}<br>附：招生专业及考试科目</td></tr></table>
{after_text}</div>
<div class="footer">版权所有 艺术网</div></body></html>"#,
            p = para
        );
        let e = extract_article(
            &html,
            "http://edu.example.cn/wen98.shtml",
            &ArticleRules::default(),
        )
        .expect("an article");
        scraper::Html::parse_fragment(&e.content_html.unwrap())
            .root_element()
            .text()
            .collect()
    }

    /// The table the text announces is read with it, cell by cell.
    #[test]
    fn a_table_of_figures_after_the_text_is_kept() {
        let text = body(
            r#"<table border="1"><tr><td>专业名称</td><td>指导教师</td><td>考试科目</td></tr>
<tr><td>01艺术学原理</td><td>刘梦溪</td><td>1、英语 2、艺术概论</td></tr>
<tr><td>02艺术人类学</td><td>方李莉</td><td>1、英语 2、中外艺术史</td></tr></table>"#,
        );
        assert!(text.contains("附：招生专业及考试科目"), "{text}");
        for cell in ["专业名称", "刘梦溪", "02艺术人类学", "中外艺术史"] {
            assert!(text.contains(cell), "{cell:?} missing from {text}");
        }
    }

    /// A table partly of links, a layout table holding others, or a table after a line of
    /// other text is not the article's table.
    #[test]
    fn other_tables_after_the_text_stay_out() {
        // A third of its text in links: not furniture to the container cleaning, not figures.
        let links = r#"<table><tr><td>招生学院名称</td><td><a href="/a">学院主页</a></td></tr>
<tr><td>招生大学名称</td><td><a href="/b">大学主页</a></td></tr>
<tr><td>联合培养单位</td><td><a href="/c">单位主页</a></td></tr></table>"#;
        let layout = r#"<table><tr><td>本院历年招生专业介绍</td><td><table><tr><td>热门专题</td><td>往年试题</td></tr></table></td></tr>
<tr><td>本院历年录取分数线</td><td>往年录取名单公示</td></tr><tr><td>本院导师队伍介绍</td><td>联系方式与地址</td></tr></table>"#;
        let apart = r#"<div>本站信息仅供参考</div><table><tr><td>关于我们</td><td>联系方式</td></tr>
<tr><td>广告服务</td><td>网站地图</td></tr><tr><td>招聘信息</td><td>意见反馈</td></tr></table>"#;
        for (after, absent) in [
            (links, "联合培养单位"),
            (layout, "录取分数线"),
            (apart, "广告服务"),
        ] {
            let text = body(after);
            assert!(text.contains("二、报考条件"), "{text}");
            assert!(!text.contains(absent), "{absent:?} in {text}");
        }
    }
}
