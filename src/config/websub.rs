//! The `[websub]` section: the hub's bounds and the subscriber's switch, validated.

use std::time::Duration;

use toml::Spanned;

use super::raw::RawWebSub;
use super::validate::{duration_opt, nonzero_duration, positive, Problems};
use super::WebSubConfig;

/// `[websub]` as given → [`WebSubConfig`], problems with line:col.
pub(super) fn validate(raw: &RawWebSub, p: &mut Problems) -> WebSubConfig {
    let d = WebSubConfig::default();
    let lease = |v: &Option<Spanned<String>>, what: &str, default: Duration, p: &mut Problems| {
        duration_opt(v, what, p).map_or(default, |l| l.max(Duration::from_secs(1)))
    };
    let min_lease = lease(&raw.min_lease, "websub.min_lease", d.min_lease, p);
    let max_lease = lease(&raw.max_lease, "websub.max_lease", d.max_lease, p);
    if min_lease > max_lease {
        if let Some(s) = raw.min_lease.as_ref().or(raw.max_lease.as_ref()) {
            p.at(s.span(), "websub.min_lease is longer than websub.max_lease");
        }
    }
    let default_lease = lease(
        &raw.default_lease,
        "websub.default_lease",
        d.default_lease,
        p,
    )
    .clamp(min_lease, max_lease.max(min_lease));
    WebSubConfig {
        subscribe: raw.subscribe.unwrap_or(true),
        allow_local_callbacks: raw.allow_local_callbacks.unwrap_or(false),
        default_lease,
        min_lease,
        max_lease,
        retries: raw
            .retries
            .as_ref()
            .map_or(d.retries, |r| (*r.get_ref()).clamp(0, 20) as u32),
        retry_delay: duration_opt(&raw.retry_delay, "websub.retry_delay", p)
            .unwrap_or(d.retry_delay),
        timeout: nonzero_duration(&raw.timeout, 10, "websub.timeout", p),
        concurrency: positive(&raw.concurrency, d.concurrency, "websub.concurrency", p),
    }
}
