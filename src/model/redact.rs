//! Secrets out of what people see: a source URL may carry credentials (`https://user:pass@…`)
//! or an API key in its query (`?apikey=…`). Logs, `/api/sources` and the pages show URLs
//! through [`url`], and error texts that may quote one through [`text`].

/// Query parameter names whose values are secrets whatever they look like.
const SECRET_NAMES: &[&str] = &[
    "key",
    "apikey",
    "api_key",
    "api-key",
    "token",
    "access_token",
    "auth",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "sig",
    "signature",
    "session",
    "sid",
    "code",
    "credential",
    "credentials",
    "client_secret",
    "private",
    "hash",
];

/// What a redacted value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// `u` with its user-info and its secret-looking query values replaced by [`REDACTED`]. A
/// query value is secret when its name says so (`key`, `token`, `sig`…, or a name ending in
/// one of them) or when it looks like a key: 16 or more characters mixing letters and digits.
/// Anything that is not an absolute URL is returned as it is.
pub fn url(u: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(u) else {
        return u.to_string();
    };
    let mut changed = false;
    if !parsed.username().is_empty() {
        let _ = parsed.set_username(REDACTED);
        changed = true;
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(None);
        changed = true;
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.iter().any(|(k, v)| is_secret(k, v)) {
            let mut q = parsed.query_pairs_mut();
            q.clear();
            for (k, v) in &pairs {
                q.append_pair(k, if is_secret(k, v) { REDACTED } else { v });
            }
            drop(q);
            changed = true;
        }
    }
    if changed {
        parsed.to_string()
    } else {
        u.to_string()
    }
}

fn is_secret(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if SECRET_NAMES
        .iter()
        .any(|s| name == *s || name.ends_with(&format!("_{s}")) || name.ends_with(&format!("-{s}")))
    {
        return !value.is_empty();
    }
    value.len() >= 16
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && !value.contains(' ')
}

/// `text` (an error message, say) with every URL in it passed through [`url`].
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '<'))
            .unwrap_or(tail.len());
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_keys_are_redacted_and_the_rest_kept() {
        assert_eq!(
            url("https://bob:hunter2@example.com/feed?apikey=abc&page=2"),
            "https://REDACTED@example.com/feed?apikey=REDACTED&page=2"
        );
        assert_eq!(
            url("https://example.com/rss?x_api_key=1&cat=tech"),
            "https://example.com/rss?x_api_key=REDACTED&cat=tech"
        );
        assert_eq!(
            url("https://example.com/rss?u=d41d8cd98f00b204e9800998ecf8427e"),
            "https://example.com/rss?u=REDACTED"
        );
        let plain = "https://example.com/feed.xml?page=2&lang=zh-CN";
        assert_eq!(
            url(plain),
            plain,
            "nothing secret: unchanged, byte for byte"
        );
        assert_eq!(url("file:///srv/feed.xml"), "file:///srv/feed.xml");
        assert_eq!(url("not a url"), "not a url");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        assert_eq!(
            text("error sending request for url (https://a:b@h.example/x?token=t1) after 3 tries"),
            "error sending request for url (https://REDACTED@h.example/x?token=REDACTED) after 3 tries"
        );
        assert_eq!(text("no url here"), "no url here");
    }
}
