//! A small tolerant XML reader, enough for OPML. OPML is small, simple XML, but exports in the
//! wild are not always well-formed (bare `&`, HTML entities, unclosed outlines, a BOM). This is a
//! tokenizer that only cares about elements and their attributes; an HTML parser would not do,
//! as it ignores `<outline/>`'s self-closing slash and would nest siblings.

use std::collections::HashMap;

use super::{Document, OpmlError, Outline};

/// The outlines of an OPML document; `NotOpml` when it has no `<opml>` element.
pub(super) fn parse(text: &str) -> Result<Document, OpmlError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut seen_opml = false;
    // The open outlines, innermost last; a finished outline is moved into its parent.
    let mut stack: Vec<Outline> = Vec::new();
    let mut doc = Document::default();
    let close = |stack: &mut Vec<Outline>, doc: &mut Document| {
        if let Some(o) = stack.pop() {
            match stack.last_mut() {
                Some(parent) => parent.children.push(o),
                None => doc.outlines.push(o),
            }
        }
    };
    for tok in Tokens::new(text) {
        match tok {
            Token::Start { name, attrs, empty } => {
                let name = local_name(&name);
                if name.eq_ignore_ascii_case("opml") {
                    seen_opml = true;
                } else if name.eq_ignore_ascii_case("outline") {
                    stack.push(Outline {
                        attrs,
                        children: Vec::new(),
                    });
                    if empty {
                        close(&mut stack, &mut doc);
                    }
                }
            }
            Token::End { name } => {
                let name = local_name(&name);
                if name.eq_ignore_ascii_case("outline") {
                    close(&mut stack, &mut doc);
                } else if name.eq_ignore_ascii_case("body") || name.eq_ignore_ascii_case("opml") {
                    // Outlines left open at the end of the body are closed here.
                    while !stack.is_empty() {
                        close(&mut stack, &mut doc);
                    }
                }
            }
        }
    }
    while !stack.is_empty() {
        close(&mut stack, &mut doc);
    }
    if !seen_opml {
        return Err(OpmlError::NotOpml);
    }
    Ok(doc)
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

#[derive(Debug)]
enum Token {
    Start {
        name: String,
        /// Attribute names lowercased; values with entities decoded.
        attrs: HashMap<String, String>,
        empty: bool,
    },
    End {
        name: String,
    },
}

/// Element tags of an XML text; comments, CDATA, processing instructions, doctypes and text
/// are skipped. Never fails: malformed markup is skipped or read as well as it can be.
struct Tokens<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Self {
        Tokens { s, pos: 0 }
    }

    /// Skip past `end` (or to the end of the text).
    fn skip_past(&mut self, end: &str) {
        match self.s[self.pos..].find(end) {
            Some(i) => self.pos += i + end.len(),
            None => self.pos = self.s.len(),
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        loop {
            let rest = &self.s[self.pos..];
            let lt = rest.find('<')?;
            self.pos += lt;
            let rest = &self.s[self.pos..];
            if rest.starts_with("<!--") {
                self.skip_past("-->");
            } else if rest.starts_with("<![CDATA[") {
                self.skip_past("]]>");
            } else if rest.starts_with("<?") {
                self.skip_past("?>");
            } else if rest.starts_with("<!") {
                self.skip_past(">");
            } else if let Some(after) = rest.strip_prefix("</") {
                let end = after.find('>').map(|i| i + 2).unwrap_or(rest.len());
                let name = self.s[self.pos + 2..self.pos + end].trim().to_string();
                self.pos = (self.pos + end + 1).min(self.s.len());
                return Some(Token::End { name });
            } else {
                let start = self.pos + 1;
                let (tag_end, tag) = read_tag(&self.s[start..]);
                self.pos = start + tag_end;
                match tag {
                    Some(t) => return Some(t),
                    None => continue, // a stray '<' in text
                }
            }
        }
    }
}

/// Read a start tag after its `<`: returns the bytes consumed and the tag, or `None` when this
/// is not a tag (e.g. `a < b` in text).
fn read_tag(s: &str) -> (usize, Option<Token>) {
    let name_len = s
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(s.len());
    let name = &s[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return (0, None);
    }
    let mut attrs = HashMap::new();
    let b = s.as_bytes();
    let mut i = name_len;
    let mut empty = false;
    while i < b.len() {
        match b[i] {
            b'>' => {
                i += 1;
                break;
            }
            b'/' => {
                empty = true;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            b'<' => break, // an unclosed tag: the next one starts here
            _ => {
                empty = false;
                let n_start = i;
                while i < b.len()
                    && !matches!(b[i], b'=' | b'>' | b'/' | b'<')
                    && !b[i].is_ascii_whitespace()
                {
                    i += 1;
                }
                let key = s[n_start..i].to_ascii_lowercase();
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let mut value = String::new();
                if i < b.len() && b[i] == b'=' {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                        let q = b[i];
                        i += 1;
                        let v_start = i;
                        while i < b.len() && b[i] != q {
                            i += 1;
                        }
                        value = decode_entities(&s[v_start..i]);
                        i = (i + 1).min(b.len());
                    } else {
                        let v_start = i;
                        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                            i += 1;
                        }
                        value = decode_entities(&s[v_start..i]);
                    }
                }
                attrs.entry(key).or_insert(value);
            }
        }
    }
    (
        i,
        Some(Token::Start {
            name: name.to_string(),
            attrs,
            empty,
        }),
    )
}

/// XML's five entities, numeric references and the HTML entities exports actually contain;
/// anything else (a bare `&`) is kept as it is.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let semi = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|j| j + 1)
            .filter(|&j| rest[j..].starts_with(';'));
        let decoded = semi.and_then(|j| {
            let name = &rest[1..j];
            let c = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "mdash" => Some('—'),
                    "ndash" => Some('–'),
                    "hellip" => Some('…'),
                    "laquo" => Some('«'),
                    "raquo" => Some('»'),
                    "copy" => Some('©'),
                    _ => None,
                }
            };
            c.map(|c| (c, j + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
