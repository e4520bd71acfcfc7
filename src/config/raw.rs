//! The raw shape of `config.toml`, as serde reads it: every value spanned, so that validation
//! can point at the line:col a problem comes from. Unknown keys are refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::SourceKind;
use crate::model::script::Script;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) store: RawStore,
    #[serde(default)]
    pub(super) poll: RawPoll,
    #[serde(default)]
    pub(super) sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    pub(super) channels: BTreeMap<String, Spanned<RawChannel>>,
    pub(super) cluster: Option<Spanned<RawCluster>>,
    #[serde(default)]
    pub(super) websub: RawWebSub,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebSub {
    pub(super) subscribe: Option<bool>,
    pub(super) allow_local_callbacks: Option<bool>,
    pub(super) default_lease: Option<Spanned<String>>,
    pub(super) min_lease: Option<Spanned<String>>,
    pub(super) max_lease: Option<Spanned<String>>,
    pub(super) retries: Option<Spanned<i64>>,
    pub(super) retry_delay: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) concurrency: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) node: Option<Spanned<String>>,
    pub(super) nats: Spanned<Vec<String>>,
    pub(super) credentials_env: Option<String>,
    pub(super) lease: Option<Spanned<String>>,
    pub(super) replicas: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) admin_token: Option<String>,
    pub(super) workers: Option<Spanned<i64>>,
    pub(super) header_timeout: Option<Spanned<String>>,
    pub(super) idle_timeout: Option<Spanned<String>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) max_header_size: Option<Spanned<String>>,
    pub(super) background_nice: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub(super) path: Option<String>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) max_age: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPoll {
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
    pub(super) min_interval: Option<Spanned<String>>,
    pub(super) max_interval: Option<Spanned<String>>,
    pub(super) max_backoff: Option<Spanned<String>>,
    pub(super) connect_timeout: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_body: Option<Spanned<String>>,
    pub(super) min_rate: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) url: Spanned<String>,
    pub(super) kind: Option<SourceKind>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) max_age: Option<Spanned<String>>,
    pub(super) html: Option<RawHtml>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, Spanned<String>>,
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) username: Option<Spanned<String>>,
    pub(super) password: Option<Spanned<String>>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) cookie: Option<Spanned<String>>,
    pub(super) cookie_env: Option<Spanned<String>>,
    pub(super) proxy: Option<Spanned<String>>,
    pub(super) feed_title: Option<String>,
    pub(super) full_text: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHtml {
    /// Required, except beside `full_text = true`, where the table holds only the rules for
    /// reading a feed item's page.
    pub(super) items: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) content: Option<Spanned<String>>,
    pub(super) date: Option<Spanned<String>>,
    pub(super) author: Option<Spanned<String>>,
    pub(super) source: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) remove: Vec<Spanned<String>>,
    pub(super) max_items: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannel {
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) sources: Spanned<Vec<Spanned<String>>>,
    pub(super) limit: Option<Spanned<i64>>,
    pub(super) include: Option<Spanned<String>>,
    pub(super) exclude: Option<Spanned<String>>,
    pub(super) language: Option<String>,
    pub(super) script: Option<Script>,
    pub(super) token: Option<String>,
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) icon: Option<String>,
}
