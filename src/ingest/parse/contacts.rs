//! RSS contact elements made safe for feed-rs before it reads them.
//!
//! feed-rs 3.0.0 splits an RSS `author`, `managingEditor` or `webMaster` into a name and an
//! e-mail address by slicing one byte before the address (and one after it). When the address
//! touches a multi-byte character, as in the common Chinese byline `编辑：zhang@example.com`,
//! that slice falls inside the character and feed-rs panics; the panic is caught, but the whole
//! feed was refused. A space between the address and such a character keeps the slice on a
//! character boundary and changes nothing a reader sees (feed-rs trims the name).

use std::borrow::Cow;

/// The elements feed-rs reads as a person with `parse_person_name_email`.
const CONTACTS: [&str; 3] = ["author", "managingEditor", "webMaster"];

/// `body` with a space put between every e-mail address inside an RSS contact element and a
/// non-ASCII character touching it; borrowed unchanged when there is nothing to do.
pub fn space_contact_emails(body: &str) -> Cow<'_, str> {
    if body.is_ascii() || !CONTACTS.iter().any(|c| body.contains(&format!("<{c}"))) {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some((start, name)) = next_contact(rest) {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let close = format!("</{name}>");
        let Some(text_end) = rest[open_end..].find(&close).map(|i| open_end + i) else {
            break;
        };
        out.push_str(&rest[..open_end]);
        space_emails(&rest[open_end..text_end], &mut out);
        rest = &rest[text_end..];
    }
    out.push_str(rest);
    if out.len() == body.len() {
        Cow::Borrowed(body)
    } else {
        Cow::Owned(out)
    }
}

/// The byte offset and name of the next contact start tag (`<author>` or `<author …>`, not
/// `<authority>` or `<atom:author>`).
fn next_contact(s: &str) -> Option<(usize, &'static str)> {
    CONTACTS
        .iter()
        .filter_map(|name| {
            let tag = format!("<{name}");
            let mut from = 0;
            while let Some(i) = s[from..].find(&tag).map(|i| from + i) {
                let after = s[i + tag.len()..].chars().next();
                if matches!(after, Some('>' | ' ' | '\t' | '\r' | '\n')) {
                    return Some((i, *name));
                }
                from = i + tag.len();
            }
            None
        })
        .min()
}

fn is_local_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-".contains(c)
}

/// Copy `text` to `out`, with a space on each side of an address where a non-ASCII character
/// touches it.
fn space_emails(text: &str, out: &mut String) {
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied {
            continue;
        }
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_part(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| is_domain_part(*c))
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        if start == at || end == at + 1 {
            continue;
        }
        out.push_str(&text[copied..start]);
        if !text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_ascii())
        {
            out.push(' ');
        }
        out.push_str(&text[start..end]);
        if !text[end..].chars().next().is_none_or(|c| c.is_ascii()) {
            out.push(' ');
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::space_contact_emails;

    #[test]
    fn addresses_touching_multibyte_characters_get_a_space() {
        let doc = "<item><author>编辑：zhang@example.com（实习）</author>\
                   <description>联系：li@example.com</description></item>";
        assert_eq!(
            space_contact_emails(doc),
            "<item><author>编辑： zhang@example.com （实习）</author>\
             <description>联系：li@example.com</description></item>"
        );
    }

    #[test]
    fn everything_else_is_left_alone() {
        for doc in [
            "<author>zhang@example.com (张三)</author>",
            "<authority>编辑：a@b.cn</authority>",
            "<atom:author><name>编辑：a@b.cn</name></atom:author>",
            "<author>编辑 张三</author>",
            "<author>编辑：@</author>",
            "<author>未闭合：a@b.cn",
        ] {
            assert_eq!(space_contact_emails(doc), doc);
        }
    }
}
