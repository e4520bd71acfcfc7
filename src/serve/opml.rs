//! OPML export: the public channels as OPML 2.0 (what `GET /opml` and `feedloom opml export`
//! print), deterministic: no `dateCreated`, so the same channels give the same bytes. (Import,
//! a feed reader's OPML → config TOML, is a command-line tool: `cli/opml`.)

/// OPML 2.0 of the given channels (id, title, description): one outline each, `xmlUrl` its
/// Atom feed and `htmlUrl` its anchor on the index page. Pass only public channels.
pub fn export(channels: &[(String, String, Option<String>)], base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <opml version=\"2.0\">\n\
         <head>\n  <title>feedloom channels</title>\n</head>\n<body>\n",
    );
    for (id, title, description) in channels {
        let id_url = crate::serve::pages::path_segment(id);
        let title = xml_escape(title);
        out.push_str(&format!(
            "  <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\" htmlUrl=\"{}\"",
            xml_escape(&format!("{base}/feeds/{id_url}.atom")),
            xml_escape(&format!("{base}/#{id_url}")),
        ));
        if let Some(d) = description.as_deref().filter(|d| !d.trim().is_empty()) {
            out.push_str(&format!(" description=\"{}\"", xml_escape(d)));
        }
        out.push_str("/>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out
}

/// Escape for XML attribute values and text; characters XML 1.0 forbids are dropped, and
/// newlines and tabs in attributes are kept as character references.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Two channels for tests of export and of import of what export gives.
#[cfg(test)]
pub(crate) fn sample_channels() -> Vec<(String, String, Option<String>)> {
    vec![
        (
            "mixed".into(),
            "Mixed <sources> & \"friends\"".into(),
            Some("An RSS, an Atom and a JSON Feed source merged.".into()),
        ),
        ("shaanxi".into(), "陕西新闻".into(), None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_is_deterministic_opml() {
        let out = export(&sample_channels(), "http://127.0.0.1:8080/");
        assert_eq!(out, export(&sample_channels(), "http://127.0.0.1:8080"));
        assert!(
            out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">")
        );
        assert!(!out.contains("dateCreated"));
        assert!(out.contains(
            "<outline type=\"rss\" text=\"Mixed &lt;sources&gt; &amp; &quot;friends&quot;\" \
             title=\"Mixed &lt;sources&gt; &amp; &quot;friends&quot;\" \
             xmlUrl=\"http://127.0.0.1:8080/feeds/mixed.atom\" htmlUrl=\"http://127.0.0.1:8080/#mixed\" \
             description=\"An RSS, an Atom and a JSON Feed source merged.\"/>"
        ), "{out}");
        assert!(
            out.contains("title=\"陕西新闻\" xmlUrl=\"http://127.0.0.1:8080/feeds/shaanxi.atom\"")
        );
        assert_eq!(out.matches("<outline").count(), 2);
    }
}
