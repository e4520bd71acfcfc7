//! Bytes → UTF-8 text.
//!
//! Order of evidence, strongest first:
//! 1. a byte-order mark (UTF-8, UTF-16LE/BE) — always wins;
//! 2. the `charset` parameter of the HTTP `Content-Type` header;
//! 3. the XML declaration (`<?xml ... encoding="..."?>`) or an HTML `<meta charset>` /
//!    `<meta http-equiv="Content-Type" content="...; charset=...">` in the first 2 KB;
//! 4. detection (chardetng).
//!
//! A declaration is not trusted blindly: when the bytes are valid UTF-8 and contain non-ASCII,
//! UTF-8 wins over a declared legacy charset (pages that say GB2312 but were re-encoded to UTF-8
//! are common), and when the declared charset cannot decode the bytes without errors, detection
//! is tried. GB2312 labels are decoded as GBK (the WHATWG label table already maps them there).

use encoding_rs::{Encoding, UTF_8};

/// The result of decoding a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The document as UTF-8.
    pub text: String,
    /// The encoding that was used (WHATWG name, e.g. "GBK", "UTF-8").
    pub encoding: &'static str,
    /// True when a declared charset was contradicted by the bytes and detection won.
    pub declaration_overridden: bool,
}

/// How far into the document the XML/HTML declarations are looked for.
const SNIFF_LEN: usize = 2048;

/// Decode `bytes` using, in order: a BOM, the HTTP `Content-Type` charset, the XML declaration or
/// HTML `<meta>` charset, then detection. GB2312 labels are treated as GBK.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    // 1. BOM.
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding: enc.name(),
            declaration_overridden: false,
        };
    }

    // 2./3. Declarations.
    let declared = content_type
        .and_then(charset_from_content_type)
        .and_then(label_to_encoding)
        .or_else(|| sniff_declaration(&bytes[..bytes.len().min(SNIFF_LEN)]));

    let utf8_ok = std::str::from_utf8(bytes).is_ok();
    match declared {
        Some(enc) if enc == UTF_8 => {
            if utf8_ok {
                return utf8(bytes, false);
            }
            // Declared UTF-8 but it is not: let detection have a go.
            detect(bytes, true)
        }
        Some(enc) => {
            if utf8_ok && !bytes.is_ascii() {
                // The declaration lies: valid UTF-8 with non-ASCII is all but impossible in a
                // legacy multi-byte or single-byte encoding by accident.
                return utf8(bytes, true);
            }
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if !had_errors {
                return Decoded {
                    text: text.into_owned(),
                    encoding: enc.name(),
                    declaration_overridden: false,
                };
            }
            // A few bad bytes in a long page (a truncated character, a stray byte pasted in)
            // are not a lie: keep the declared charset when at most 0.1% of the text is lost,
            // since detection on such pages tends to pick a single-byte Western encoding.
            let lost = text.matches('\u{FFFD}').count();
            if lost * 1000 <= text.chars().count() {
                return Decoded {
                    text: text.into_owned(),
                    encoding: enc.name(),
                    declaration_overridden: false,
                };
            }
            // The declared charset cannot decode these bytes; prefer a detected one that can.
            let guessed = guess(bytes);
            if guessed != enc {
                let (alt, alt_errors) = guessed.decode_without_bom_handling(bytes);
                if !alt_errors {
                    return Decoded {
                        text: alt.into_owned(),
                        encoding: guessed.name(),
                        declaration_overridden: true,
                    };
                }
            }
            Decoded {
                text: text.into_owned(),
                encoding: enc.name(),
                declaration_overridden: false,
            }
        }
        None => {
            if utf8_ok {
                utf8(bytes, false)
            } else {
                detect(bytes, false)
            }
        }
    }
}

fn utf8(bytes: &[u8], overridden: bool) -> Decoded {
    // Only called when the bytes are valid UTF-8, so this never replaces anything.
    Decoded {
        text: String::from_utf8_lossy(bytes).into_owned(),
        encoding: UTF_8.name(),
        declaration_overridden: overridden,
    }
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

fn detect(bytes: &[u8], overridden: bool) -> Decoded {
    let enc = guess(bytes);
    let (text, _) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: enc.name(),
        declaration_overridden: overridden && enc != UTF_8,
    }
}

/// Maps a charset label to an encoding. UTF-16 labels in a declaration inside an ASCII-compatible
/// document cannot be true (we would have seen a BOM or NUL bytes), so they are ignored, as the
/// HTML standard does.
fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(label.trim().as_bytes())?;
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return None;
    }
    // `for_label` maps gb2312, gb_2312-80, x-gbk, chinese, csgb2312 … to GBK already.
    Some(enc)
}

/// The `charset` parameter of a `Content-Type` header value.
fn charset_from_content_type(ct: &str) -> Option<&str> {
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then_some(v)
        } else {
            None
        }
    })
}

/// Finds the XML declaration `encoding=` or an HTML `<meta>` charset in `head`.
fn sniff_declaration(head: &[u8]) -> Option<&'static Encoding> {
    // XML declaration (only at the very start, possibly after whitespace).
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    if rest.starts_with(b"<?xml") {
        if let Some(end) = find(rest, b"?>") {
            let decl = &rest[..end];
            if let Some(label) = attr_after(decl, b"encoding") {
                if let Some(enc) = label_to_encoding(label) {
                    return Some(enc);
                }
            }
        }
    }
    // HTML <meta>.
    let mut pos = 0;
    while let Some(i) = find_ci(&head[pos..], b"<meta") {
        let tag_start = pos + i;
        let tag_end = head[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(head.len(), |e| tag_start + e);
        let tag = &head[tag_start..tag_end];
        if let Some(label) = attr_after(tag, b"charset") {
            if let Some(enc) = label_to_encoding(label) {
                return Some(enc);
            }
        }
        pos = tag_end;
    }
    None
}

/// In `s`, finds `name` (ASCII case-insensitive) followed by optional spaces, `=`, optional spaces
/// and an optionally quoted value; returns the value.
fn attr_after<'a>(s: &'a [u8], name: &[u8]) -> Option<&'a str> {
    let mut pos = 0;
    while let Some(i) = find_ci(&s[pos..], name) {
        let mut j = pos + i + name.len();
        pos = j;
        while j < s.len() && s[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= s.len() || s[j] != b'=' {
            continue;
        }
        j += 1;
        while j < s.len() && (s[j].is_ascii_whitespace() || s[j] == b'"' || s[j] == b'\'') {
            j += 1;
        }
        let v_start = j;
        while j < s.len()
            && (s[j].is_ascii_alphanumeric() || matches!(s[j], b'-' | b'_' | b'.' | b':'))
        {
            j += 1;
        }
        if j > v_start {
            return std::str::from_utf8(&s[v_start..j]).ok();
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_bad_bytes_do_not_overturn_the_declared_charset() {
        let mut page = b"<html><head><meta charset=\"gb2312\"></head><body>".to_vec();
        let text = "陕西日报讯，省委书记在西安调度工作。".repeat(200);
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        page.extend_from_slice(&gbk);
        page.extend_from_slice(&[0x81, 0x20]); // one invalid sequence
        page.extend_from_slice(b"</body></html>");
        let d = decode(&page, None);
        assert_eq!(d.encoding, "GBK");
        assert!(d.text.contains("陕西日报讯"));
    }

    #[test]
    fn content_type_charset() {
        assert_eq!(
            charset_from_content_type("text/html; charset=\"GB2312\""),
            Some("GB2312")
        );
        assert_eq!(charset_from_content_type("text/html"), None);
    }

    #[test]
    fn meta_http_equiv() {
        let head = br#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>"#;
        assert_eq!(sniff_declaration(head).map(|e| e.name()), Some("GBK"));
    }
}
