//! Patterns that recognise page furniture: class/id names, share widgets, editor and source
//! lines, reporter bylines, SEO link tails. Both scripts are matched (`责编`/`責編`) because
//! extraction runs before script conversion. Every regex is compiled once.

use std::sync::OnceLock;

use regex::Regex;
use scraper::ElementRef;

macro_rules! re {
    ($name:ident, $pat:expr $(,)?) => {
        pub fn $name() -> &'static Regex {
            static RE: OnceLock<Regex> = OnceLock::new();
            RE.get_or_init(|| Regex::new($pat).expect("valid regex"))
        }
    };
}

// class/id names (with `_` turned into `-` so that `\b` splits `rm_relevant`)
re!(
    unlikely_re,
    r"(?i)-ad-|\bad\b|ai2html|banner|breadcrumb|combx|comment|community|cover-wrap|disqus|extra|\bfoot|gdpr|\bheader|legends|\bmenu|related|relevant|remark|replies|\brss\b|shoutbox|sidebar|signature|skyscraper|social|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote|\bshare|fenxiang|xiangguan|tuijian|recommend|\bnav\b|navbar|\bnavi|topnav|copyright|banquan|download|\bhot\b|\brank|paihang|toolbar|\btools?\b|\blogin|login\b|\bsearch|\bsitemap|\bcrumb|\bqrcode|\bewm\b|weixin|wechat|weibo|\bapp-?down"
);
re!(
    maybe_candidate_re,
    r"(?i)and|article|body|column|content|main|shadow|\btext|\btxt|zhengwen|neirong|detail"
);
re!(
    positive_re,
    r"(?i)article|body|content|entry|hentry|h-entry|\bmain\b|\bpage\b|post|\btext|blog|story|\btxt|zhengwen|neirong|wenzhang|detail|\bcon\b|\bcont\b|artibody|\bart\b"
);
re!(
    negative_re,
    r"(?i)-ad-|\bad\b|hidden|\bhid\b|banner|combx|comment|\bcom-|contact|\bfoot|footer|footnote|gdpr|masthead|\bmedia\b|\bmeta\b|outbrain|promo|related|relevant|scroll|\bshare|shoutbox|sidebar|skyscraper|sponsor|shopping|\btags?\b|\btools?\b|widget|fenxiang|xiangguan|tuijian|recommend|download|copyright|banquan|\bhot\b|\brank|paihang|\bnav\b|\bmenu|\bsearch|\blogin|weixin|wechat|qrcode|\bewm\b"
);

/// `class` and `id` of an element as one string, `_` → `-`.
pub fn class_id(el: &ElementRef) -> String {
    let v = el.value();
    let mut s = String::new();
    if let Some(c) = v.attr("class") {
        s.push_str(c);
    }
    if let Some(id) = v.attr("id") {
        s.push(' ');
        s.push_str(id);
    }
    s.replace('_', "-")
}

/// Readability's class weight: +25 for content-like names, −25 for furniture-like names.
pub fn class_weight(ci: &str) -> i32 {
    if ci.is_empty() {
        return 0;
    }
    let mut w = 0;
    if negative_re().is_match(ci) {
        w -= 25;
    }
    if positive_re().is_match(ci) {
        w += 25;
    }
    w
}

/// Is the element furniture by its name alone (navigation, comments, share bars, …)?
pub fn is_unlikely(ci: &str, tag: &str) -> bool {
    if ci.is_empty() || matches!(tag, "body" | "html" | "a" | "article" | "main") {
        return false;
    }
    unlikely_re().is_match(ci) && !maybe_candidate_re().is_match(ci)
}

// Text of short blocks that are page furniture, never story text.
re!(
    furniture_text_re,
    r"(?x)
    分享[让讓]更多人看到 | 分享到 | ^分享$ | 小字[号號] | 大字[号號] | 中字[号號] | 字[号號][:：]?\s*[大中小]
    | 返回[顶頂]部 | 回到[顶頂]部 | [打][印]本[页頁] | 打印[此该]?文章 | 关闭窗口 | 關閉窗口 | 【[打印关關闭閉收藏纠錯错]+】
    | 相[关關]新[闻聞] | 相[关關][阅閱][读讀] | 延伸[阅閱][读讀] | 推荐[阅閱][读讀] | 热[门門]推荐
    | 客[户戶][端]下[载載] | 扫[一]?扫 | 二[维維]码 | 下一[页頁] | 上一[页頁] | 点击进入
    | 版[权權]所有 | 未[经經]授[权權] | 免责声明 | 登[录錄] | 注[册冊] | 我要[评評][论論] | 发表评论
    | 网友评论 | ^[【\[]?[评评][论論][】\]]?$ | 收藏本文 | 加入收藏 | 设为首页 | ^首[页頁]$ | 举报
    | ^[上下]一篇 | 责任编辑 | 責任編輯 | ^微信$ | ^微博$ | 阅读全文 | 展开全文 | 查看原文
    | (?i)^(share|tweet|print|email|advertisement|related\ (articles|stories)|read\ more)$
    ",
);

/// Short text that is furniture (share widgets, font-size toggles, "back to top", …).
pub fn is_furniture_text(text: &str) -> bool {
    text.chars().count() <= 40 && furniture_text_re().is_match(text)
}

// `(责编：李志强、魏鑫)`, `责任编辑：张三`, `(編輯:王五)`
re!(
    editor_re,
    r"[(（\[【]?\s*(?:责编|責編|责任编辑|責任編輯|编辑|編輯|本文编辑|值班编辑)\s*[:：]\s*([^)）\]】]{1,60})[)）\]】]?"
);

/// Editors named on an editor line, in order; `None` when the line is not an editor line.
pub fn editors_in(line: &str) -> Option<Vec<String>> {
    if line.chars().count() > 80 {
        return None;
    }
    let c = editor_re().captures(line)?;
    names_in(
        &c[1],
        &['、', ',', '，', '/', '／', ' ', '　', ';', '；', '|'],
        |s| s.chars().count() <= 12,
    )
}

/// The names in a list split at `seps`, trimmed, kept when `keep` says so; `None` when none is
/// left.
fn names_in(list: &str, seps: &[char], keep: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let names: Vec<String> = list
        .split(seps)
        .map(str::trim)
        .filter(|s| !s.is_empty() && keep(s))
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

// `来源：陕西日报`
re!(
    source_re,
    r"(?:来源|來源|稿源|出处|出處|信息来源|文章来源)\s*[:：]\s*([^\s|｜/／【\[（(，,。]{1,30})"
);

/// The publication named on a `来源：X` line.
pub fn source_in(line: &str) -> Option<String> {
    let c = source_re().captures(line)?;
    let s = c[1]
        .trim_end_matches(['作', '编', '編', '时', '時', '日', '发', '發', '点', '點'])
        .to_string();
    // Cut at a following label glued to the name (`新华社作者：…`).
    let s = match s.find("作者") {
        Some(p) if p > 0 => s[..p].to_string(),
        _ => s,
    };
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

// `本报记者 葛灵丹`, `记者 张三 李四`, `文/王五`
re!(
    byline_re,
    r"(?:本[报報]记者|本[报報]記者|本[报報]通[讯訊]员|本[报報]通訊員|记者|記者|通讯员|通訊員|作者|撰文|文\s*[/／]|文\s*[|｜])\s*[:：]?\s*((?:[\p{Han}·]{2,4})(?:[\s、，,　]+[\p{Han}·]{2,4}){0,3})"
);

/// Reporters named on a short byline, or `None`.
pub fn reporters_in(line: &str) -> Option<Vec<String>> {
    if line.chars().count() > 40 {
        return None;
    }
    let c = byline_re().captures(line)?;
    names_in(&c[1], &['、', ',', '，', ' ', '　'], |s| {
        !matches!(
            s,
            "报道" | "報道" | "摄影" | "攝影" | "摄" | "通讯员" | "实习生"
        )
    })
}

/// A run of short items separated by `|` (an SEO link tail or a navigation bar).
pub fn is_pipe_run(text: &str) -> bool {
    let parts: Vec<&str> = text.split(['|', '｜']).map(|s| s.trim()).collect();
    if parts.len() < 4 {
        return false;
    }
    let short = parts.iter().filter(|p| p.chars().count() <= 12).count();
    short * 10 >= parts.len() * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn furniture_names_match_words_not_letters_inside_them() {
        assert!(is_unlikely("user-login", "div"));
        assert!(is_unlikely("login-box", "div"));
        assert!(is_unlikely("userlogin", "div"));
        assert!(is_unlikely("sidebar", "div"));
        // `blogInner` holds the letters of `login`; it is a blog's article wrapper.
        assert!(!is_unlikely("blogInner blog--single--wrapper", "div"));
    }

    #[test]
    fn editors_all_of_them() {
        assert_eq!(
            editors_in("(责编：李志强、魏鑫)").unwrap(),
            vec!["李志强", "魏鑫"]
        );
        assert_eq!(
            editors_in("(責編:李志強、魏鑫)").unwrap(),
            vec!["李志強", "魏鑫"]
        );
        assert!(editors_in("省委书记刘国中在西安市调度").is_none());
    }

    #[test]
    fn sources() {
        assert_eq!(
            source_in("2021年12月29日08:35 | 来源：陕西日报").as_deref(),
            Some("陕西日报")
        );
        assert_eq!(source_in("來源:陜西日報").as_deref(), Some("陜西日報"));
    }

    #[test]
    fn bylines() {
        assert_eq!(reporters_in("□ 本报记者 葛灵丹").unwrap(), vec!["葛灵丹"]);
        assert!(reporters_in("本报讯 12月28日，省委书记").is_none());
    }

    #[test]
    fn pipes() {
        assert!(is_pipe_run("富锦市| 通河县| 巴楚县| 互助| 呈贡县|"));
        assert!(!is_pipe_run("2021年12月29日08:35 | 来源：陕西日报"));
    }
}
