//! The WebSub hub's records: verified subscriptions, and per topic the ETag of the document
//! last published to its subscribers (so a delivery happens once per change of the document,
//! across restarts too, not once per render). Node-local: in cluster mode nothing replicates
//! these keys, and each node serves the subscriptions made to it.
//!
//! | key                                      | value                                   |
//! |------------------------------------------|-----------------------------------------|
//! | `Ws` channel `\0` format `\0` callback   | versioned [`Subscription`]              |
//! | `We` channel `\0` format                 | versioned ETag last published (string)  |
//!
//! Channel ids and format extensions never contain `\0`, so one topic's keys never run into
//! another's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::{Store, StoreError};

/// One verified subscription to one feed (a channel in one format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub channel: String,
    /// The format's extension: `rss`, `atom` or `json`.
    pub format: String,
    /// The topic URL the subscriber asked for (the feed's self URL when it subscribed).
    pub topic: String,
    pub callback: String,
    /// The HMAC key deliveries are signed with, if the subscriber gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub lease_seconds: u64,
    pub expires: DateTime<Utc>,
}

fn topic_prefix(channel: &str, format: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(channel.len() + format.len() + 4);
    k.extend_from_slice(b"Ws");
    k.extend_from_slice(channel.as_bytes());
    k.push(0);
    k.extend_from_slice(format.as_bytes());
    k.push(0);
    k
}

fn subscription_key(channel: &str, format: &str, callback: &str) -> Vec<u8> {
    let mut k = topic_prefix(channel, format);
    k.extend_from_slice(callback.as_bytes());
    k
}

fn published_key(channel: &str, format: &str) -> Vec<u8> {
    let mut k = b"We".to_vec();
    k.extend_from_slice(channel.as_bytes());
    k.push(0);
    k.extend_from_slice(format.as_bytes());
    k
}

impl Store {
    /// Record a verified subscription (a renewal replaces the earlier one).
    pub fn put_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let t = self.tree()?;
        let k = subscription_key(&s.channel, &s.format, &s.callback);
        self.note(t.insert(k, encode(s))).map(drop)
    }

    /// Remove a subscription; true when there was one.
    pub fn remove_subscription(
        &self,
        channel: &str,
        format: &str,
        callback: &str,
    ) -> Result<bool, StoreError> {
        let t = self.tree()?;
        let k = subscription_key(channel, format, callback);
        Ok(self.note(t.remove(k))?.is_some())
    }

    /// The subscriptions to a channel in a format whose lease has not ended at `now`; those
    /// that have ended are removed on the way.
    pub fn subscriptions(
        &self,
        channel: &str,
        format: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let t = self.tree()?;
        let mut live = Vec::new();
        let mut ended = Vec::new();
        for kv in t.scan_prefix(topic_prefix(channel, format)) {
            let (k, v) = kv?;
            let s: Subscription = decode(&k, &v)?;
            if s.expires > now {
                live.push(s);
            } else {
                ended.push(k);
            }
        }
        for k in ended {
            self.note(t.remove(k))?;
        }
        Ok(live)
    }

    /// Every stored subscription, ended leases included (for counts and tests).
    pub fn all_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let t = self.tree()?;
        let mut out = Vec::new();
        for kv in t.scan_prefix(b"Ws") {
            let (k, v) = kv?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    /// The ETag of the document last published for the feed, if any was.
    pub fn published_etag(
        &self,
        channel: &str,
        format: &str,
    ) -> Result<Option<String>, StoreError> {
        let k = published_key(channel, format);
        match self.tree()?.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    pub fn set_published_etag(
        &self,
        channel: &str,
        format: &str,
        etag: &str,
    ) -> Result<(), StoreError> {
        let t = self.tree()?;
        self.note(t.insert(published_key(channel, format), encode(&etag)))
            .map(drop)
    }

    /// Forget every subscription to a channel and what was last published of it, in every
    /// format (the channel was removed from the config: a channel added later under the same
    /// id starts with no subscribers).
    pub fn forget_channel_hub(&self, channel: &str) -> Result<(), StoreError> {
        let under = |kind: &[u8]| [kind, channel.as_bytes(), b"\0"].concat();
        self.remove_prefixed(&[&under(b"Ws"), &under(b"We")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(channel: &str, callback: &str, expires: DateTime<Utc>) -> Subscription {
        Subscription {
            channel: channel.into(),
            format: "atom".into(),
            topic: format!("http://h/feeds/{channel}.atom"),
            callback: callback.into(),
            secret: Some("s".into()),
            lease_seconds: 60,
            expires,
        }
    }

    #[test]
    fn subscriptions_are_kept_per_topic_and_end_with_their_lease() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(60);
        store
            .put_subscription(&sub("a", "http://c/1", later))
            .unwrap();
        store
            .put_subscription(&sub("a", "http://c/2", now))
            .unwrap();
        // A channel whose id is a prefix of another's does not see the other's subscribers.
        store
            .put_subscription(&sub("ab", "http://c/3", later))
            .unwrap();
        let live = store.subscriptions("a", "atom", now).unwrap();
        assert_eq!(live, vec![sub("a", "http://c/1", later)]);
        assert_eq!(
            store.all_subscriptions().unwrap().len(),
            2,
            "the ended one went"
        );
        assert!(store
            .remove_subscription("a", "atom", "http://c/1")
            .unwrap());
        assert!(!store
            .remove_subscription("a", "atom", "http://c/1")
            .unwrap());
        assert!(store.subscriptions("a", "rss", now).unwrap().is_empty());
        assert_eq!(store.published_etag("a", "atom").unwrap(), None);
        store.set_published_etag("a", "atom", "\"x\"").unwrap();
        assert_eq!(
            store.published_etag("a", "atom").unwrap().as_deref(),
            Some("\"x\"")
        );
        // A removed channel's records go; those of a channel whose id extends it stay.
        store
            .put_subscription(&sub("a", "http://c/4", later))
            .unwrap();
        store.set_published_etag("ab", "atom", "\"y\"").unwrap();
        store.forget_channel_hub("a").unwrap();
        assert!(store.subscriptions("a", "atom", now).unwrap().is_empty());
        assert_eq!(store.published_etag("a", "atom").unwrap(), None);
        assert_eq!(store.subscriptions("ab", "atom", now).unwrap().len(), 1);
        assert!(store.published_etag("ab", "atom").unwrap().is_some());
    }
}
