//! Durations (`"10m"`, `"1h30m"`), sizes (`"5MB"`) and byte offsets as line:col: the small
//! grammars the config file uses.

use std::time::Duration;

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Parse a duration such as `"90s"`, `"10m"`, `"1h"`, `"2d"`, `"500ms"` or `"1h30m"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("duration {s:?} needs a unit (ms, s, m, h, d)"))?;
        if digits == 0 {
            return Err(format!("duration {s:?} must start with a number"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration {s:?} is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86400),
            _ => {
                return Err(format!(
                    "unknown unit {unit:?} in duration {s:?} (use ms, s, m, h, d)"
                ))
            }
        };
        total += d;
    }
    Ok(total)
}

/// Parse a size such as `"10MiB"`, `"512KiB"`, `"1GB"` or `"1000"` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split]
        .parse()
        .map_err(|_| format!("size {s:?} must start with a number"))?;
    let mult = match s[split..].trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "KiB" | "K" => 1024,
        "MB" => 1_000_000,
        "MiB" | "M" => 1024 * 1024,
        "GB" => 1_000_000_000,
        "GiB" | "G" => 1024 * 1024 * 1024,
        u => {
            return Err(format!(
                "unknown unit {u:?} in size {s:?} (use B, KiB, MiB, GiB)"
            ))
        }
    };
    Ok(n * mult)
}
