//! Which addresses are the operator's own space: loopback, private, link-local, unspecified,
//! broadcast and shared (carrier-grade NAT) addresses, and the names that stand for them. The
//! fetcher refuses to let a public source lead the daemon there, and the WebSub hub refuses to
//! deliver there; both ask these predicates, so the rule is one rule. Pure: no resolving here
//! (the callers resolve, and ask [`is_private`] of each address they get).

use std::net::IpAddr;

use url::Url;

/// True for an address outside the public internet: loopback, private (RFC 1918, IPv6 unique
/// local), link-local (cloud metadata endpoints live there), unspecified, broadcast, shared
/// address space (100.64.0.0/10), and IPv4-mapped IPv6 forms of those.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// True when the URL's host is a loopback/private/link-local address or a local name.
pub fn is_local_url(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local")
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls() {
        assert!(is_local_url(&Url::parse("http://127.0.0.1:8080/").unwrap()));
        assert!(is_local_url(&Url::parse("http://10.1.2.3/").unwrap()));
        assert!(is_local_url(&Url::parse("http://[::1]/").unwrap()));
        assert!(is_local_url(
            &Url::parse("http://169.254.169.254/").unwrap()
        ));
        assert!(is_local_url(&Url::parse("http://localhost/").unwrap()));
        assert!(!is_local_url(&Url::parse("http://example.com/").unwrap()));
        assert!(!is_local_url(&Url::parse("http://8.8.8.8/").unwrap()));
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "::ffff:10.0.0.1",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
