//! Dates as news pages print them: ISO 8601 in meta tags, `2021年12月29日08:35`,
//! `2021-12-29 08:35`, `2021/12/29 08:35:00`, `2005-5-7 21:23:57`, English month names
//! (`August 25, 2024`, `Feb. 9th, 2024 at 3:45 PM`, `13 October 2023`), day-first dotted dates
//! (`12.03.2025`), date-only forms.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;

use crate::model::RawDate;

/// A date found on a page, with how much of it the page printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub date: RawDate,
    /// True when the page gave an hour and minute (not only a day).
    pub has_time: bool,
}

impl FoundDate {
    pub fn naive_date(&self) -> NaiveDate {
        match self.date {
            RawDate::Exact(d) => d.date_naive(),
            RawDate::Local(d) => d.date(),
        }
    }
}

fn visible_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?:^|[^0-9])
            ((?:19|20)\d{2}) \s* (?:年|-|/|\.) \s* (\d{1,2}) \s* (?:月|-|/|\.) \s* (\d{1,2}) (?:\s*日)?
            (?:
                (?:\s*|T|\s*[,，]\s*)
                (\d{1,2}) \s* (?::|：|时|時|点|點) \s* (\d{1,2}) (?:\s*(?::|：|分)\s*(\d{1,2}))?
                (?:\.\d+)?
                \s* (Z\b|[+-]\d{2}:?\d{2}|UTC\b|GMT\b|[ECMP][SD]T\b|CES?T\b|JST\b|KST\b|HKT\b|SGT\b|AES?T\b|AEDT\b)?
            )?
            (?:[^0-9]|$)",
        )
        .expect("valid regex")
    })
}

/// `9/17/2004 5:54:13 AM` (US order, only with a time of day: `3/4/2005` alone is ambiguous).
fn us_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:^|[^0-9/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?(?:[^0-9/]|$)",
        )
        .expect("valid regex")
    })
}

/// English month names: `August 25, 2024`, `Aug. 25, 2024, 3:45 p.m.`, `February 9th, 2024`,
/// `Tuesday, 13 October 2023 at 09:30`. The month word is checked in [`month_number`].
fn english_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)
            \b(?:
                ([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})
              | (\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?\s+((?:19|20)\d{2})
            )\b
            (?:
                \s*(?:,|at|@|-|–|—|·|\|)?\s*
                (\d{1,2}):(\d{2})(?::(\d{2}))?
                \s*([ap]\.?m\b\.?)?
                \s*(UTC|GMT|Z|[ECMP][SD]T|CES?T|JST|KST|HKT|SGT|AES?T|AEDT)?\b
            )?",
        )
        .expect("valid regex")
    })
}

/// The month a word names: a full English month name or its three-letter abbreviation
/// (`Sept` too), in any case. Other words that happen to start like one (`Marching`) are not.
fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| {
            *m == w || (w.len() == 3 && m.starts_with(&w)) || (w == "sept" && *m == "september")
        })
        .map(|i| i as u32 + 1)
}

fn find_english(text: &str) -> Option<(usize, FoundDate)> {
    english_re().captures_iter(text).find_map(|c| {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let (month, d, y) = if c.get(1).is_some() {
            (month_number(&c[1]), num(2), num(3))
        } else {
            (month_number(&c[5]), num(4), num(6))
        };
        let hms = clock(num(7), num(8), num(9), c.get(10).map(|m| m.as_str()));
        let f = found(y?, month?, d?, hms, c.get(11).map(|m| m.as_str()))?;
        Some((c.get(0)?.start(), f))
    })
}

/// `12.03.2025` or `12.03.2025 14:05`: with dots, the day comes first (the European convention;
/// nobody writes month.day.year).
fn dotted_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:^|[^0-9.A-Za-z])(\d{1,2})\.(\d{1,2})\.((?:19|20)\d{2})(?:\s*,?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:[^0-9.]|\.?$|\.\s)",
        )
        .expect("valid regex")
    })
}

fn find_dotted(text: &str) -> Option<(usize, FoundDate)> {
    dotted_re().captures_iter(text).find_map(|c| {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let hms = clock(num(4), num(5), num(6), None);
        let f = found(num(3)?, num(2)?, num(1)?, hms, None)?;
        Some((c.get(0)?.start(), f))
    })
}

/// A date in a URL's path, as news and blog sites put it there: `/2023/10/03/`, `/2021-12-29/`,
/// `/2021/1229/` (people.com.cn), `/2021-12/29/` (xinhuanet), `/2023/october/03/`,
/// `t20220128_8387.html` (government sites).
fn url_date_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)
            /((?:19|20)\d{2}) [/-] (\d{1,2}|[a-z]{3,9}) [/-] (\d{1,2}) (?:[/._]|$)
          | /((?:19|20)\d{2}) / (\d{2})(\d{2}) /
          | (?:/|\bt)((?:19|20)\d{2})(\d{2})(\d{2})(?:[/._]|$)",
        )
        .expect("valid regex")
    })
}

/// The day a page's URL names, if it names one.
pub fn url_date(url: &str) -> Option<NaiveDate> {
    let path = url::Url::parse(url).ok()?.path().to_string();
    for c in url_date_re().captures_iter(&path) {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let ymd = if let Some(y) = num(1) {
            let m = num(2).or_else(|| month_number(c.get(2)?.as_str()));
            (Some(y), m, num(3))
        } else if let Some(y) = num(4) {
            (Some(y), num(5), num(6))
        } else {
            (num(7), num(8), num(9))
        };
        if let (Some(y), Some(m), Some(d)) = ymd {
            if let Some(day) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                return Some(day);
            }
        }
    }
    None
}

/// `1998年3月号`: a month without a day, the last resort for magazine-style pages.
fn month_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:[^0-9日]|$)").expect("valid regex")
    })
}

/// A year and month (day 1, no time), for pages that print nothing more precise.
pub fn find_month(text: &str) -> Option<FoundDate> {
    let c = month_re().captures(text)?;
    let y: i32 = c[1].parse().ok()?;
    let m: u32 = c[2].parse().ok()?;
    let day = NaiveDate::from_ymd_opt(y, m, 1)?;
    Some(FoundDate {
        date: RawDate::Local(day.and_time(NaiveTime::MIN)),
        has_time: false,
    })
}

/// The hour on a 24-hour clock, given a 12-hour clock's `AM`/`PM` (`p.m.` too) when printed.
fn to_24h(hour: u32, am_pm: Option<&str>) -> u32 {
    match am_pm
        .and_then(|s| s.chars().next())
        .map(|c| c.to_ascii_lowercase())
    {
        Some('p') if hour < 12 => hour + 12,
        Some('a') if hour == 12 => 0,
        _ => hour,
    }
}

/// How the page writes `nn/nn/yyyy`, from its `<html lang>`: `en-US` month first, most other
/// locales day first; unknown (no lang, or plain `en`) when the page does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashOrder {
    Unknown,
    MonthFirst,
    DayFirst,
}

impl SlashOrder {
    /// From a `lang` attribute value (`en-US`, `en_GB`, `fr`, `zh-CN`).
    pub fn from_lang(lang: Option<&str>) -> SlashOrder {
        let Some(lang) = lang.map(|l| l.trim().to_ascii_lowercase().replace('_', "-")) else {
            return SlashOrder::Unknown;
        };
        match lang.as_str() {
            "" | "en" => SlashOrder::Unknown,
            "en-us" | "en-ph" | "es-us" => SlashOrder::MonthFirst,
            // Chinese, Japanese and Korean pages write year first; a slash date there is rare
            // and its order unknown.
            l if l.starts_with("zh") || l.starts_with("ja") || l.starts_with("ko") => {
                SlashOrder::Unknown
            }
            _ => SlashOrder::DayFirst,
        }
    }
}

thread_local! {
    static ORDER: std::cell::Cell<SlashOrder> = const { std::cell::Cell::new(SlashOrder::Unknown) };
}

/// Run `f` with `nn/nn/yyyy` dates read in `order` (the page's locale), then restore.
pub fn with_slash_order<R>(order: SlashOrder, f: impl FnOnce() -> R) -> R {
    struct Restore(SlashOrder);
    impl Drop for Restore {
        fn drop(&mut self) {
            ORDER.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(ORDER.with(|o| o.replace(order)));
    f()
}

fn find_us(text: &str) -> Option<(usize, FoundDate)> {
    let order = ORDER.with(|o| o.get());
    us_re().captures_iter(text).find_map(|c| {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let hms = clock(num(4), num(5), num(6), c.get(7).map(|m| m.as_str()));
        let (month, day) = match order {
            SlashOrder::DayFirst => (num(2)?, num(1)?),
            _ => (num(1)?, num(2)?),
        };
        // A page that does not say its locale: only with a valid time of day, month first
        // (the day and month alone would be ambiguous).
        let f = found(num(3)?, month, day, hms, None)
            .filter(|f| f.has_time || order != SlashOrder::Unknown)?;
        Some((c.get(0)?.start(), f))
    })
}

/// Find the first date in `text` (visible text or a meta value). Dates without a year are
/// ignored: they are mostly mentions inside the story, not the publish time.
/// When several forms occur, the one printed first wins.
pub fn find_date(text: &str) -> Option<FoundDate> {
    let mut best = find_ymd(text);
    let mut consider = |found: Option<(usize, FoundDate)>| {
        if let Some((at, d)) = found {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, d));
            }
        }
    };
    // The other forms need characters that most lines lack: skip their regexes then.
    if text.contains('/') {
        consider(find_us(text));
    }
    if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        consider(find_english(text));
    }
    if text.contains('.') {
        consider(find_dotted(text));
    }
    best.map(|(_, d)| d)
}

fn find_ymd(text: &str) -> Option<(usize, FoundDate)> {
    visible_re().captures_iter(text).find_map(|c| {
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let hms = clock(num(4), num(5), num(6), None);
        let f = found(num(1)?, num(2)?, num(3)?, hms, c.get(7).map(|m| m.as_str()))?;
        Some((c.get(0)?.start(), f))
    })
}

/// Hour, minute and second as printed (the hour on a 12-hour clock when `am_pm` is given), or
/// `None` when no hour and minute were.
fn clock(
    hour: Option<u32>,
    minute: Option<u32>,
    second: Option<u32>,
    am_pm: Option<&str>,
) -> Option<(u32, u32, u32)> {
    Some((to_24h(hour?, am_pm), minute?, second.unwrap_or(0)))
}

/// The date a match printed: a day, maybe a time of day, maybe a zone (an offset or an
/// unambiguous abbreviation, used only with a time). `None` for a day that does not exist; an
/// impossible time of day leaves the day alone.
fn found(
    year: u32,
    month: u32,
    day: u32,
    hms: Option<(u32, u32, u32)>,
    zone: Option<&str>,
) -> Option<FoundDate> {
    let day = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = hms.and_then(|(h, m, s)| NaiveTime::from_hms_opt(h, m, s));
    let naive = NaiveDateTime::new(day, time.unwrap_or(NaiveTime::MIN));
    let date = match (time, zone.and_then(parse_offset)) {
        (Some(_), Some(o)) => naive
            .and_local_timezone(o)
            .single()
            .map_or(RawDate::Local(naive), RawDate::Exact),
        _ => RawDate::Local(naive),
    };
    Some(FoundDate {
        date,
        has_time: time.is_some(),
    })
}

/// A numeric offset (`+08:00`, `-0500`), `Z`, or a time zone abbreviation that names one offset
/// only. `CST` (China or US Central) and `IST` (India, Ireland or Israel) are ambiguous and left
/// to the source's `timezone`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let hours = match s.to_ascii_uppercase().as_str() {
        "Z" | "UTC" | "GMT" => Some(0),
        "EST" => Some(-5),
        "EDT" => Some(-4),
        "CDT" => Some(-5),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        "CET" => Some(1),
        "CEST" => Some(2),
        "HKT" | "SGT" => Some(8),
        "JST" | "KST" => Some(9),
        "AEST" => Some(10),
        "AEDT" => Some(11),
        _ => None,
    };
    if let Some(h) = hours {
        return FixedOffset::east_opt(h * 3600);
    }
    if !s.starts_with(['+', '-']) {
        return None;
    }
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s[1..].chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Parse a machine-readable date (meta tag, `<time datetime>`, JSON-LD): RFC 3339 first, then
/// the lenient visible-text forms.
pub fn parse_machine_date(s: &str) -> Option<FoundDate> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(FoundDate {
            date: RawDate::Exact(dt),
            has_time: true,
        });
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(FoundDate {
            date: RawDate::Exact(dt),
            has_time: true,
        });
    }
    // Compact forms: 20211229083500, 20211229
    if s.len() >= 8 && s.bytes().take(8).all(|b| b.is_ascii_digit()) {
        let y = s[..4].parse().ok()?;
        let m = s[4..6].parse().ok()?;
        let d = s[6..8].parse().ok()?;
        if let Some(day) = NaiveDate::from_ymd_opt(y, m, d) {
            if s.len() == 8 {
                return Some(FoundDate {
                    date: RawDate::Local(day.and_time(NaiveTime::MIN)),
                    has_time: false,
                });
            }
        }
    }
    // A bare midnight without an offset is a day written in datetime form.
    find_date(s).map(|mut f| {
        if let RawDate::Local(n) = f.date {
            if n.time() == NaiveTime::MIN {
                f.has_time = false;
            }
        }
        f
    })
}

fn clock_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:^|[^0-9])(\d{1,2})\s*[:：]\s*(\d{2})(?::\d{2})?\s*([AaPp]\.?[Mm]\.?)?(?:[^0-9]|$)",
        )
        .expect("valid regex")
    })
}

/// `machine` (an exact time) re-expressed in the offset the page displays it in, when
/// `displayed` — the text a `<time datetime>` element shows — reads as the same instant on a
/// different clock: `<time datetime="2022-02-06T12:48:06+00:00">06/02/2022 - 13:48</time>` is
/// 13:48:06+01:00. The instant never changes; readers get the site's local time, as printed.
pub fn in_displayed_offset(machine: FoundDate, displayed: &str) -> Option<FoundDate> {
    // Only an exact time has a clock to compare (a day-only date is never `Exact`).
    let RawDate::Exact(m) = machine.date else {
        return None;
    };
    let c = clock_re().captures(displayed)?;
    let hour = i64::from(to_24h(c[1].parse().ok()?, c.get(3).map(|m| m.as_str())));
    let minute: i64 = c[2].parse().ok()?;
    if hour > 23 || minute > 59 {
        return None;
    }
    use chrono::Timelike;
    let shown = hour * 60 + minute;
    let machine_clock = i64::from(m.hour() * 60 + m.minute());
    // The clock difference, taken in (-12 h, +14 h]: the range of real UTC offsets.
    let mut delta = (shown - machine_clock).rem_euclid(24 * 60);
    if delta > 14 * 60 {
        delta -= 24 * 60;
    }
    if delta == 0 || delta % 15 != 0 {
        return None;
    }
    let offset = i64::from(m.offset().local_minus_utc()) + delta * 60;
    if offset.abs() > 14 * 3600 {
        return None;
    }
    let offset = FixedOffset::east_opt(offset as i32)?;
    Some(FoundDate {
        date: RawDate::Exact(m.with_timezone(&offset)),
        has_time: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_dates_follow_the_pages_locale() {
        let day = |order, text: &str| {
            with_slash_order(order, || find_date(text)).map(|f| f.naive_date().to_string())
        };
        let text = "Posted 04/05/2024 by the desk";
        assert_eq!(
            day(SlashOrder::Unknown, text),
            None,
            "ambiguous without a time"
        );
        assert_eq!(
            day(SlashOrder::MonthFirst, text).as_deref(),
            Some("2024-04-05")
        );
        assert_eq!(
            day(SlashOrder::DayFirst, text).as_deref(),
            Some("2024-05-04")
        );
        assert_eq!(
            day(SlashOrder::Unknown, "9/17/2004 5:54:13 PM").as_deref(),
            Some("2004-09-17")
        );
        assert_eq!(
            day(SlashOrder::DayFirst, "17/09/2004").as_deref(),
            Some("2004-09-17")
        );
        assert_eq!(
            day(SlashOrder::DayFirst, "09/17/2004"),
            None,
            "no 17th month"
        );
        // An undated slash date does not hide a later one with a time.
        assert_eq!(
            day(
                SlashOrder::Unknown,
                "Updated 04/05/2024 · Posted 9/17/2004 5:54 PM"
            )
            .as_deref(),
            Some("2004-09-17")
        );
        // Restored afterwards.
        assert_eq!(find_date(text), None);
        assert_eq!(SlashOrder::from_lang(Some("en-US")), SlashOrder::MonthFirst);
        assert_eq!(SlashOrder::from_lang(Some("en_GB")), SlashOrder::DayFirst);
        assert_eq!(SlashOrder::from_lang(Some("fr")), SlashOrder::DayFirst);
        assert_eq!(SlashOrder::from_lang(Some("en")), SlashOrder::Unknown);
        assert_eq!(SlashOrder::from_lang(Some("zh-CN")), SlashOrder::Unknown);
        assert_eq!(SlashOrder::from_lang(None), SlashOrder::Unknown);
    }

    #[test]
    fn displayed_offsets() {
        let m = parse_machine_date("2022-02-06T12:48:06+00:00").unwrap();
        let shown = in_displayed_offset(m, "06/02/2022 - 13:48").unwrap();
        assert_eq!(
            shown.date,
            RawDate::Exact(DateTime::parse_from_rfc3339("2022-02-06T13:48:06+01:00").unwrap())
        );
        // Same clock: nothing to change. No clock shown: nothing known.
        assert_eq!(in_displayed_offset(m, "6 Feb 2022, 12:48"), None);
        assert_eq!(in_displayed_offset(m, "6 February 2022"), None);
        // Across midnight and with AM/PM: 23:30Z shown as 7:30 AM is +08:00.
        let late = parse_machine_date("2021-12-28T23:30:00Z").unwrap();
        let cn = in_displayed_offset(late, "December 29, 7:30 AM").unwrap();
        assert_eq!(
            cn.date,
            RawDate::Exact(DateTime::parse_from_rfc3339("2021-12-29T07:30:00+08:00").unwrap())
        );
        // A clock that is no time zone's (a 7-minute difference) is not an offset.
        assert_eq!(in_displayed_offset(m, "12:55"), None);
        // A day-only machine date (never `Exact`) has no clock to compare.
        let day = parse_machine_date("2022-02-06").unwrap();
        assert_eq!(in_displayed_offset(day, "13:48"), None);
    }

    fn local(s: &str) -> RawDate {
        RawDate::Local(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
    }

    #[test]
    fn chinese_forms() {
        let f = find_date("2021年12月29日08:35 | 来源：陕西日报").unwrap();
        assert_eq!(f.date, local("2021-12-29 08:35:00"));
        assert!(f.has_time);
        assert_eq!(
            find_date("发布时间：2021/12/29 08:35:07").unwrap().date,
            local("2021-12-29 08:35:07")
        );
        assert_eq!(
            find_date("2005-5-7 21:23:57").unwrap().date,
            local("2005-05-07 21:23:57")
        );
        let d = find_date("2004-12-10").unwrap();
        assert!(!d.has_time);
        assert!(find_date("12月28日，省委书记").is_none());
        assert!(find_date("电话 020-12345678").is_none());
        assert_eq!(
            find_date("发布日期： 9/17/2004 5:54:13 PM").unwrap().date,
            local("2004-09-17 17:54:13")
        );
        assert_eq!(
            find_month("——《北京之春》1998年3月号").unwrap().date,
            local("1998-03-01 00:00:00")
        );
        assert!(find_month("2005年5月7日").is_none());
    }

    #[test]
    fn english_and_dotted_forms() {
        let day = |s: &str| local(&format!("{s} 00:00:00"));
        for (text, want) in [
            ("August 25, 2024", day("2024-08-25")),
            ("Published Aug. 25, 2024 by Jane", day("2024-08-25")),
            ("Updated August 27, 2025", day("2025-08-27")),
            ("February 9th, 2024", day("2024-02-09")),
            ("Feb  6, 2026", day("2026-02-06")),
            ("- 13 October 2023", day("2023-10-13")),
            ("Tuesday, 3rd of Sept 2024", day("2024-09-03")),
            ("12.12.2025", day("2025-12-12")),
            ("am 03.04.2025 veröffentlicht", day("2025-04-03")),
        ] {
            let f = find_date(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(f.date, want, "{text}");
            assert!(!f.has_time, "{text}");
        }
        let f = find_date("May 26, 2025 at 11:12 PM").unwrap();
        assert_eq!(f.date, local("2025-05-26 23:12:00"));
        assert!(f.has_time);
        let f = find_date("Jan 5, 2024, 3:45 p.m.").unwrap();
        assert_eq!(f.date, local("2024-01-05 15:45:00"));
        let f = find_date("March 1, 2024 14:05 UTC").unwrap();
        assert_eq!(
            f.date,
            RawDate::Exact(DateTime::parse_from_rfc3339("2024-03-01T14:05:00Z").unwrap())
        );
        let f = find_date("Mar 11, 2026 9:00 am PDT").unwrap();
        assert_eq!(
            f.date,
            RawDate::Exact(DateTime::parse_from_rfc3339("2026-03-11T09:00:00-07:00").unwrap())
        );
        let f = find_date("2024-03-01 14:05 EST").unwrap();
        assert_eq!(
            f.date,
            RawDate::Exact(DateTime::parse_from_rfc3339("2024-03-01T14:05:00-05:00").unwrap())
        );
        // CST is China's or America's Central time: the source's timezone decides.
        assert_eq!(
            find_date("2024-03-01 14:05 CST").unwrap().date,
            local("2024-03-01 14:05:00")
        );
        let f = find_date("12.03.2025 14:05").unwrap();
        assert_eq!(f.date, local("2025-03-12 14:05:00"));
        // The first printed date wins, whatever its form.
        assert_eq!(
            find_date("June 2, 2020; revised 2021-01-05").unwrap().date,
            day("2020-06-02")
        );
        // Words that only start like a month, versions and impossible days are no dates.
        assert!(find_date("Marching 25, 2024").is_none());
        assert!(find_date("version 1.2.2024.5").is_none());
        assert!(find_date("Firmware v2.1.2024").is_none());
        // A city after a time is no zone.
        assert_eq!(
            find_date("2024-03-01 14:05 Zagreb").unwrap().date,
            local("2024-03-01 14:05:00")
        );
        assert!(find_date("February 30, 2024").is_none());
        assert!(find_date("in May 2024").is_none());
    }

    #[test]
    fn dates_in_urls() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        for (url, want) in [
            ("https://x.org/blog/2023/10/03/how-many", d(2023, 10, 3)),
            (
                "https://x.org/knowledge/blog/2023/october/03/how-many",
                d(2023, 10, 3),
            ),
            (
                "http://sn.people.com.cn/n2/2021/1229/c226647-35070000.html",
                d(2021, 12, 29),
            ),
            (
                "http://www.xinhuanet.com/2021-12/29/c_1128211399.htm",
                d(2021, 12, 29),
            ),
            ("https://x.org/news/2021-12-29/story.html", d(2021, 12, 29)),
            (
                "http://www.jl.gov.cn/zw/xxgk/gg/gg/202201/t20220128_8387.html",
                d(2022, 1, 28),
            ),
            (
                "http://beijing.qianlong.com/3825/2005/03/06/1060@2538939.htm",
                d(2005, 3, 6),
            ),
        ] {
            assert_eq!(url_date(url), want, "{url}");
        }
        for url in [
            "https://x.org/2023/10/10-best-laptops/",
            "https://shop.example/sku-20181105-black",
            "https://x.org/article/436674/best-laptops.html",
            "https://x.org/2023/best-of",
            "https://x.org/p/12345678901",
            "https://x.org/a?date=2023-10-03",
        ] {
            assert_eq!(url_date(url), None, "{url}");
        }
    }

    #[test]
    fn machine_forms() {
        let f = parse_machine_date("2021-12-29T08:35:00+08:00").unwrap();
        assert!(matches!(f.date, RawDate::Exact(_)));
        let f = parse_machine_date("2021-12-29").unwrap();
        assert!(!f.has_time);
        let f = parse_machine_date("2021-12-29 08:35").unwrap();
        assert_eq!(f.date, local("2021-12-29 08:35:00"));
    }
}
