//! Chinese script conversion: [`convert`] turns text (or HTML) into the script a channel
//! serves, using the OpenCC dictionaries embedded in `ferrous-opencc` (phrases and variants
//! included, `陜` → `陕`). It lives below both paths because the write path reads the script a
//! source is in and the read path converts each channel's view.

use std::borrow::Cow;
use std::sync::OnceLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use serde::{Deserialize, Serialize};

/// Which Chinese script a channel serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Script {
    Simplified,
    Traditional,
    #[default]
    Keep,
}

fn t2s() -> &'static OpenCC {
    static CONV: OnceLock<OpenCC> = OnceLock::new();
    CONV.get_or_init(|| OpenCC::from_config(BuiltinConfig::T2s).expect("embedded t2s config"))
}

fn s2t() -> &'static OpenCC {
    static CONV: OnceLock<OpenCC> = OnceLock::new();
    CONV.get_or_init(|| OpenCC::from_config(BuiltinConfig::S2t).expect("embedded s2t config"))
}

/// Misformed traditional characters that mirrors produce and that OpenCC's dictionaries do not
/// know (checked against every dictionary shipped in ferrous-opencc 0.4.0), mapped to the
/// standard traditional form so that OpenCC can take it from there. `陜` (U+965C, an old form
/// of 狹) is what converters emit for 陝 (Shaanxi) on people.com.cn mirrors. Keep this list to
/// characters OpenCC lacks; it is not a conversion table.
const OPENCC_GAPS: &[(char, char)] = &[('陜', '陝')];

fn fill_gaps(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| OPENCC_GAPS.iter().any(|(v, _)| *v == c))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                OPENCC_GAPS
                    .iter()
                    .find(|(v, _)| *v == c)
                    .map_or(c, |(_, std)| *std)
            })
            .collect(),
    )
}

/// Convert text (or HTML) to the wanted script; `Keep` returns it unchanged.
///
/// The dictionaries only map Han characters and phrases, so ASCII markup, attribute names and
/// entity names pass through untouched. The converters are built once per process.
pub fn convert(text: &str, script: Script) -> String {
    let has_han = text.chars().any(|c| c as u32 >= 0x2E80);
    match script {
        Script::Keep => text.to_string(),
        _ if !has_han => text.to_string(),
        Script::Simplified => t2s().convert(&fill_gaps(text)),
        Script::Traditional => s2t().convert(&fill_gaps(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_scripts_with_variants() {
        assert_eq!(convert("陜西日報", Script::Simplified), "陕西日报");
        assert_eq!(convert("陕西日报", Script::Traditional), "陝西日報");
        assert_eq!(convert("陜西", Script::Keep), "陜西");
        assert_eq!(
            convert("<p class=\"a\">&nbsp;人民網</p>", Script::Simplified),
            "<p class=\"a\">&nbsp;人民网</p>"
        );
    }
}
