//! One pass over an ill-formed XML document that fixes the faults real feeds have:
//! bare `&`, HTML named entities undeclared in XML, control characters invalid in XML 1.0,
//! invalid numeric character references, stray `<` in text, mismatched or stray end tags, and a
//! truncated end (unfinished markup dropped, open elements closed).
//!
//! Only run after a strict parse failed (or when control characters are present): well-formed
//! documents are never copied.

use super::entities;

/// A repaired document and the repairs that were applied (human-readable, deduplicated).
pub(crate) struct Repaired {
    pub text: String,
    pub repairs: Vec<String>,
}

pub(crate) const ESCAPED_AMP: &str = "escaped bare &";
pub(crate) const ESCAPED_LT: &str = "escaped bare <";
pub(crate) const HTML_ENTITIES: &str = "replaced HTML entities";
pub(crate) const CONTROL_CHARS: &str = "removed control characters";
pub(crate) const BAD_CHAR_REFS: &str = "replaced invalid character references";
pub(crate) const CLOSED: &str = "closed unclosed elements";
pub(crate) const STRAY_END: &str = "removed stray end tags";
pub(crate) const TRUNCATED: &str = "dropped unfinished markup at the end";

#[derive(Default)]
struct Log(Vec<&'static str>);

impl Log {
    fn add(&mut self, what: &'static str) {
        if !self.0.contains(&what) {
            self.0.push(what);
        }
    }
}

/// True for the ASCII control characters XML 1.0 forbids.
#[inline]
pub(crate) fn is_bad_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r'
}

/// True when `text` contains a control character XML 1.0 forbids (a byte scan).
pub(crate) fn has_bad_controls(text: &str) -> bool {
    text.bytes().any(is_bad_control)
}

/// Repairs `input` (see the module docs).
pub(crate) fn repair(input: &str) -> Repaired {
    let bytes = input.as_bytes();
    let len = bytes.len();
    let mut out = String::with_capacity(len + len / 64 + 16);
    let mut log = Log::default();
    let mut stack: Vec<&str> = Vec::new();
    let mut i = 0;

    while i < len {
        // Copy a run of ordinary bytes in one go.
        let run_end = bytes[i..]
            .iter()
            .position(|&b| b == b'<' || b == b'&' || is_bad_control(b))
            .map_or(len, |p| i + p);
        if run_end > i {
            push_text(&mut out, &input[i..run_end], &mut log);
            i = run_end;
            if i >= len {
                break;
            }
        }
        let b = bytes[i];
        if is_bad_control(b) {
            log.add(CONTROL_CHARS);
            i += 1;
            continue;
        }
        if b == b'&' {
            i = entity(input, i, &mut out, &mut log);
            continue;
        }
        // b == b'<'
        let rest = &input[i..];
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            match cdata.find("]]>") {
                Some(e) => {
                    let end = i + 9 + e + 3;
                    push_verbatim(&mut out, &input[i..end], &mut log);
                    i = end;
                }
                None => {
                    // Truncated inside CDATA: keep the text, close the section.
                    push_verbatim(&mut out, rest, &mut log);
                    out.push_str("]]>");
                    log.add(TRUNCATED);
                    i = len;
                }
            }
        } else if let Some(comment) = rest.strip_prefix("<!--") {
            match comment.find("-->") {
                Some(e) => {
                    let end = i + 4 + e + 3;
                    push_verbatim(&mut out, &input[i..end], &mut log);
                    i = end;
                }
                None => {
                    log.add(TRUNCATED);
                    i = len;
                }
            }
        } else if rest.starts_with("<?") {
            match rest.find("?>") {
                Some(e) => {
                    push_verbatim(&mut out, &rest[..e + 2], &mut log);
                    i += e + 2;
                }
                None => {
                    log.add(TRUNCATED);
                    i = len;
                }
            }
        } else if rest.starts_with("<!") {
            // DOCTYPE (possibly with an internal subset) or another declaration: kept as is.
            match declaration_end(rest) {
                Some(e) => {
                    push_verbatim(&mut out, &rest[..e], &mut log);
                    i += e;
                }
                None => {
                    log.add(TRUNCATED);
                    i = len;
                }
            }
        } else if rest.starts_with("</") {
            let Some(e) = tag_end(rest) else {
                log.add(TRUNCATED);
                break;
            };
            let name = rest[2..e].trim_end_matches('>').trim();
            if let Some(depth) = stack.iter().rposition(|n| *n == name) {
                // Close elements left open inside this one.
                while stack.len() > depth + 1 {
                    let open = stack.pop().unwrap_or_default();
                    close(&mut out, open);
                    log.add(CLOSED);
                }
                stack.pop();
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            } else {
                log.add(STRAY_END);
            }
            i += e;
        } else if rest.len() > 1 && is_name_start(rest[1..].chars().next().unwrap_or(' ')) {
            let Some(e) = tag_end(rest) else {
                log.add(TRUNCATED);
                break;
            };
            let tag = &rest[..e];
            let name_end = tag[1..]
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .map_or(tag.len(), |p| p + 1);
            let name = &tag[1..name_end];
            let self_closing = tag[..tag.len() - 1].trim_end().ends_with('/');
            // Attribute values may hold bare `&` and HTML entities too.
            push_tag(&mut out, tag, &mut log);
            if !self_closing {
                stack.push(name);
            }
            i += e;
        } else {
            out.push_str("&lt;");
            log.add(ESCAPED_LT);
            i += 1;
        }
    }

    if !stack.is_empty() {
        while let Some(open) = stack.pop() {
            close(&mut out, open);
        }
        log.add(CLOSED);
    }

    Repaired {
        text: out,
        repairs: log.0.into_iter().map(String::from).collect(),
    }
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')
}

/// Index just past the `>` that ends the tag starting at `s[0] == '<'`, honouring quotes.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(i + 1),
            // A new tag starts before this one ended: the tag was cut; end it here.
            None if b == b'<' => return None,
            None => {}
        }
    }
    None
}

/// Index just past the end of a `<!...>` declaration, skipping an internal subset `[...]`.
fn declaration_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(2) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => return Some(i + 1),
                _ => {}
            },
        }
    }
    None
}

/// Text with no `<`, `&`: only control characters can be wrong (already split out by the caller).
fn push_text(out: &mut String, s: &str, _log: &mut Log) {
    out.push_str(s);
}

/// CDATA, comments, PIs and declarations: copied except for forbidden control characters.
fn push_verbatim(out: &mut String, s: &str, log: &mut Log) {
    if s.bytes().any(is_bad_control) {
        log.add(CONTROL_CHARS);
        out.extend(
            s.chars()
                .filter(|&c| !(c.is_ascii() && is_bad_control(c as u8))),
        );
    } else {
        out.push_str(s);
    }
}

/// A start tag: copied with `&` fixed inside attribute values and control characters removed.
fn push_tag(out: &mut String, tag: &str, log: &mut Log) {
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let run_end = bytes[i..]
            .iter()
            .position(|&b| b == b'&' || is_bad_control(b))
            .map_or(bytes.len(), |p| i + p);
        out.push_str(&tag[i..run_end]);
        i = run_end;
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'&' {
            i = entity(tag, i, out, log);
        } else {
            log.add(CONTROL_CHARS);
            i += 1;
        }
    }
}

/// Handles the `&` at `s[i]`; returns the index after what was consumed.
fn entity(s: &str, i: usize, out: &mut String, log: &mut Log) -> usize {
    let rest = &s[i + 1..];
    if let Some(num) = rest.strip_prefix('#') {
        let (digits, radix) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (num, 10),
        };
        let n_len = digits
            .bytes()
            .take_while(|b| {
                if radix == 16 {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if n_len > 0 && digits.as_bytes().get(n_len) == Some(&b';') {
            let consumed = 1 + (num.len() - digits.len()) + n_len + 1; // '#', 'x'?, digits, ';'
            let valid = u32::from_str_radix(&digits[..n_len], radix)
                .ok()
                .and_then(char::from_u32)
                .filter(|&c| is_xml_char(c));
            match valid {
                Some(_) => out.push_str(&s[i..i + 1 + consumed]),
                None => {
                    out.push_str("&#xFFFD;");
                    log.add(BAD_CHAR_REFS);
                }
            }
            return i + 1 + consumed;
        }
    } else if rest.starts_with(is_name_start) {
        let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        if rest.as_bytes().get(name_len) == Some(&b';') {
            let name = &rest[..name_len];
            let end = i + 1 + name_len + 1;
            if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
                out.push_str(&s[i..end]);
            } else if let Some(text) = entities::lookup(name) {
                for c in text.chars() {
                    out.push_str("&#");
                    out.push_str(&(c as u32).to_string());
                    out.push(';');
                }
                log.add(HTML_ENTITIES);
            } else {
                // Unknown (maybe declared in a DOCTYPE): the parser keeps it as literal text.
                out.push_str(&s[i..end]);
            }
            return end;
        }
    }
    out.push_str("&amp;");
    log.add(ESCAPED_AMP);
    i + 1
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_common_faults() {
        let r = repair("<rss><channel><title>A & B&nbsp;C \u{1}</title><item><title>x");
        assert_eq!(
            r.text,
            "<rss><channel><title>A &amp; B&#160;C </title><item><title>x</title></item></channel></rss>"
        );
        assert!(r.repairs.contains(&ESCAPED_AMP.to_string()));
        assert!(r.repairs.contains(&HTML_ENTITIES.to_string()));
        assert!(r.repairs.contains(&CONTROL_CHARS.to_string()));
        assert!(r.repairs.contains(&CLOSED.to_string()));
    }

    #[test]
    fn leaves_cdata_and_valid_refs() {
        let s = "<a><![CDATA[x & y]]>&amp;&#38;&#x26;<b/></a>";
        let r = repair(s);
        assert_eq!(r.text, s);
        assert!(r.repairs.is_empty());
    }

    #[test]
    fn truncated_tag() {
        let r = repair("<a><b>text</b><c href=\"x");
        assert_eq!(r.text, "<a><b>text</b></a>");
    }
}
