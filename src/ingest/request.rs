//! A source's request options (`headers`, `user_agent`, basic auth, `cookie`, `proxy`) put on
//! the requests the fetcher makes for it.
//!
//! Credentials are the operator's for one site: headers, basic auth and the cookie go only to
//! the source URL's own host (and to it over https when it upgrades on the default ports), never to another host a
//! redirect or a list page's link leads to. The User-Agent is not a secret and goes everywhere.
//! A proxy is a client of its own, made once per proxy URL and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header;
use url::Url;

use crate::config::RequestOptions;

/// Whether a request to `next` may carry the credentials configured for `start`: the same
/// host, on the same scheme and port, or upgraded to https.
pub fn same_site(start: &Url, next: &Url) -> bool {
    if start.host_str() != next.host_str() {
        return false;
    }
    let same = start.scheme() == next.scheme()
        && start.port_or_known_default() == next.port_or_known_default();
    let upgraded = start.scheme() == "http"
        && next.scheme() == "https"
        && start.port().is_none()
        && next.port().is_none();
    same || upgraded
}

/// `req` with what `opts` asks for; credentials only while `url` is on `start`'s site.
pub fn apply(
    mut req: reqwest::RequestBuilder,
    opts: &RequestOptions,
    start: &Url,
    url: &Url,
) -> reqwest::RequestBuilder {
    if let Some(ua) = &opts.user_agent {
        req = req.header(header::USER_AGENT, ua);
    }
    if !same_site(start, url) {
        return req;
    }
    for (name, value) in &opts.headers {
        req = req.header(name, value);
    }
    if let Some((user, password)) = &opts.basic_auth {
        req = req.basic_auth(user, Some(password));
    }
    if let Some(cookie) = &opts.cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req
}

/// The options for a page a source's document linked to (an HTML source's article): the
/// credentials only when the link is on the source's own site; User-Agent and proxy always.
pub fn for_link(opts: &RequestOptions, source: &Url, link: &str) -> RequestOptions {
    if link == source.as_str() {
        return opts.clone();
    }
    match Url::parse(link) {
        Ok(u) if same_site(source, &u) => opts.clone(),
        _ => RequestOptions {
            user_agent: opts.user_agent.clone(),
            proxy: opts.proxy.clone(),
            ..RequestOptions::default()
        },
    }
}

/// Clients that go through a proxy, one per proxy URL, made on first use.
#[derive(Clone, Default)]
pub struct ProxyClients {
    clients: Arc<Mutex<HashMap<String, reqwest::Client>>>,
}

impl ProxyClients {
    /// The client for `proxy`, made from `builder` (the fetcher's settings) the first time.
    pub fn get(
        &self,
        proxy: &Url,
        builder: impl FnOnce() -> reqwest::ClientBuilder,
    ) -> Result<reqwest::Client, String> {
        let mut clients = self.clients.lock().expect("proxy clients lock");
        if let Some(c) = clients.get(proxy.as_str()) {
            return Ok(c.clone());
        }
        let p = reqwest::Proxy::all(proxy.as_str()).map_err(|e| format!("proxy: {e}"))?;
        let client = builder()
            .proxy(p)
            .build()
            .map_err(|e| format!("cannot build a client for the proxy: {e}"))?;
        clients.insert(proxy.to_string(), client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::same_site;
    use url::Url;

    #[test]
    fn credentials_stay_on_the_sources_site() {
        let u = |s: &str| Url::parse(s).unwrap();
        let start = u("http://feeds.example.com/a.xml");
        assert!(same_site(&start, &u("http://feeds.example.com/b.xml")));
        assert!(same_site(&start, &u("https://feeds.example.com/a.xml")));
        assert!(!same_site(&start, &u("http://cdn.example.com/a.xml")));
        assert!(!same_site(
            &start,
            &u("http://feeds.example.com:8080/a.xml")
        ));
        let secure = u("https://feeds.example.com/a.xml");
        assert!(!same_site(&secure, &u("http://feeds.example.com/a.xml")));
    }
}
