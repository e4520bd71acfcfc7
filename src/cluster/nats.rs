//! NATS plumbing: connecting with the configured credentials, the key-value buckets as a 2.9
//! server can make them, subject and key names.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use super::{ClusterError, SUBJECT_PREFIX};
use crate::config::ClusterConfig;

/// Options for connecting: the credentials named by `credentials_env`, reconnecting forever.
pub(super) async fn connect_options(
    cfg: &ClusterConfig,
) -> Result<async_nats::ConnectOptions, ClusterError> {
    let creds = cfg
        .credentials_env
        .as_ref()
        .and_then(|name| std::env::var(name).ok())
        .filter(|v| !v.trim().is_empty());
    let opts = match creds {
        None => async_nats::ConnectOptions::new(),
        Some(v) if std::path::Path::new(v.trim()).is_file() => {
            async_nats::ConnectOptions::with_credentials_file(v.trim())
                .await
                .map_err(|e| ClusterError::Unreachable(format!("credentials file: {e}")))?
        }
        Some(v) => match v.split_once(':') {
            Some((user, pass)) => {
                async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
            }
            None => async_nats::ConnectOptions::with_token(v.trim().to_string()),
        },
    };
    Ok(opts
        .name(format!("feedloom-{}", cfg.node))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5))))
}

/// The subject of a source's values: its id in hex, since ids may hold `.`, which NATS reads
/// as a token separator.
pub(super) fn subject_of(source: &str) -> String {
    let mut s = String::with_capacity(SUBJECT_PREFIX.len() + source.len() * 2);
    s.push_str(SUBJECT_PREFIX);
    for b in source.as_bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub(super) fn lease_key(p: u16) -> String {
    format!("p{p}")
}

/// Create or bind a key-value bucket whose keys expire `max_age` after their last write.
/// (`create_key_value` of the client asks for account figures a 2.9 server does not give, so
/// the bucket's stream is made here, as the client would make it.)
pub(super) async fn ensure_bucket(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store, String> {
    if let Ok(s) = js.get_key_value(bucket).await {
        // Made earlier, perhaps under another lease: a bucket that forgot keys sooner or later
        // than this node's lease says would break the lease rule, so it follows the config.
        let name = format!("KV_{bucket}");
        let mut stream = js
            .get_stream(&name)
            .await
            .map_err(|e| format!("bucket {bucket}: {e}"))?;
        let info = stream
            .info()
            .await
            .map_err(|e| format!("bucket {bucket}: {e}"))?;
        if info.config.max_age != max_age {
            let mut config = info.config.clone();
            tracing::warn!(bucket, from = ?config.max_age, to = ?max_age,
                "cluster: the lease changed; updating the bucket's key lifetime");
            config.max_age = max_age;
            js.update_stream(config)
                .await
                .map_err(|e| format!("bucket {bucket}: cannot set its key lifetime: {e}"))?;
        }
        return Ok(s);
    }
    let created = js
        .create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age,
            storage: stream::StorageType::File,
            num_replicas: replicas.max(1),
            allow_rollup: true,
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await;
    if let Err(e) = created {
        // Another node may have made it in the meantime; binding below tells.
        tracing::debug!(bucket, error = %e, "cluster: creating a bucket");
    }
    js.get_key_value(bucket)
        .await
        .map_err(|e| format!("bucket {bucket}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_token() {
        assert_eq!(subject_of("a.b"), "feedloom.r.612e62");
        assert!(!subject_of("人民网-sn")
            .trim_start_matches(SUBJECT_PREFIX)
            .contains('.'));
    }
}
