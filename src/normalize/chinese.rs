//! Chinese text cleanup: pinyin annotations left by mirrors, and script conversion. (Being written.)

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

/// Remove pinyin annotations placed after Han characters (`人民網(wǎng)` → `人民網`).
pub fn strip_pinyin(text: &str) -> String {
    text.to_string()
}

/// Convert text (or HTML) to the wanted script; `Keep` returns it unchanged.
pub fn convert(text: &str, script: Script) -> String {
    let _ = script;
    text.to_string()
}
