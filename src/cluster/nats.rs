//! NATS plumbing: connecting with the configured credentials, the key-value buckets as a 2.9
//! server can make them, subject and key names.

use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
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

/// Publish to the stream and wait for its acknowledgement, trying again (with the same
/// `Nats-Msg-Id`, so a retry lands once) while the answer is "no responders": the stream has no
/// leader reachable from this server for a moment (just created and not yet known to every
/// server, or electing a leader after a server went away). Those moments last well under a
/// second; failing the refresh for them would back the source off for a whole retry delay.
/// Other errors (a timeout, the stream refusing the message) are returned at once: a timeout
/// already took seconds, and the caller retries the refresh.
pub(super) async fn publish_acked(
    js: &jetstream::Context,
    subject: String,
    headers: async_nats::HeaderMap,
    payload: bytes::Bytes,
) -> Result<(), jetstream::context::PublishError> {
    let mut delay = Duration::from_millis(50);
    let mut left = PUBLISH_RETRIES;
    loop {
        let attempt = async {
            js.publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                .await?
                .await
        };
        match attempt.await {
            Ok(_) => return Ok(()),
            Err(e) if left > 0 && retry_publish(e.kind()) => {
                left -= 1;
                tracing::debug!(error = %e, ?delay, "cluster: publish not taken yet; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Retries after "no responders" (50 ms doubling): about 3 s in all.
const PUBLISH_RETRIES: u32 = 6;

fn retry_publish(kind: PublishErrorKind) -> bool {
    matches!(
        kind,
        PublishErrorKind::StreamNotFound | PublishErrorKind::BrokenPipe
    )
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

    /// A publish made before the stream exists is taken once the stream appears within the
    /// retry time, and lands once; a subject no stream ever takes fails with "no stream found".
    /// Against a real single-server JetStream (the binary `.ci/run` installs).
    #[tokio::test]
    async fn publish_waits_out_a_missing_stream() {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = [
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "/usr/local/bin/nats-server",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("nats-server installed (apt-get install nats-server)");
        let mut server = std::process::Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(format!("nats://127.0.0.1:{port}"))
            .await
            .unwrap();
        let js = jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", "m1");

        // Nothing listens on this subject: every retry fails the same way.
        let none = publish_acked(&js, "elsewhere.x".into(), headers.clone(), "v".into()).await;
        assert_eq!(none.unwrap_err().kind(), PublishErrorKind::StreamNotFound);

        // The stream appears 300 ms after the first attempt.
        let maker = js.clone();
        let make = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            maker
                .create_stream(stream::Config {
                    name: "T".into(),
                    subjects: vec!["t.>".into()],
                    duplicate_window: Duration::from_secs(60),
                    ..Default::default()
                })
                .await
                .unwrap();
        });
        publish_acked(&js, "t.a".into(), headers.clone(), "v".into())
            .await
            .expect("taken once the stream exists");
        make.await.unwrap();
        // The same message id again is a duplicate: still one message.
        publish_acked(&js, "t.a".into(), headers, "v".into())
            .await
            .unwrap();
        let mut s = js.get_stream("T").await.unwrap();
        assert_eq!(s.info().await.unwrap().state.messages, 1);
        let _ = server.kill();
        let _ = server.wait();
    }

    #[test]
    fn subjects_are_one_token() {
        assert_eq!(subject_of("a.b"), "feedloom.r.612e62");
        assert!(!subject_of("人民网-sn")
            .trim_start_matches(SUBJECT_PREFIX)
            .contains('.'));
    }
}
