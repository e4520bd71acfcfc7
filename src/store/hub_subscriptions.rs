//! The WebSub subscriber's records: per source, its subscription to the hub its feed names
//! (see `ingest::websub`). Node-local, like the hub's records.
//!
//! | key              | value                          |
//! |------------------|--------------------------------|
//! | `Y` source_id    | versioned [`HubSubscription`]  |

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::{Store, StoreError};

/// A source's subscription to a hub: asked for, and verified by the hub or not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubSubscription {
    pub hub: String,
    pub topic: String,
    /// The unguessable last segment of the callback URL: a hub's requests name it.
    pub token: String,
    /// The HMAC key the hub signs content with.
    pub secret: String,
    /// The hub confirmed the subscription (echoed intent verification).
    pub verified: bool,
    pub requested_at: DateTime<Utc>,
    /// The feed that named the hub came from local space (so may the hub).
    #[serde(default)]
    pub from_local: bool,
    /// The end of the lease the hub granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
}

fn key(source: &str) -> Vec<u8> {
    let mut k = vec![b'Y'];
    k.extend_from_slice(source.as_bytes());
    k
}

impl Store {
    pub fn hub_subscription(&self, source: &str) -> Result<Option<HubSubscription>, StoreError> {
        let k = key(source);
        match self.tree()?.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    pub fn put_hub_subscription(
        &self,
        source: &str,
        sub: &HubSubscription,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.insert(key(source), encode(sub));
        self.write(batch)
    }

    /// Forget a source's subscription (the source was removed from the config). The hub's
    /// pushes to its callback are refused from then on, and its lease runs out.
    pub fn remove_hub_subscription(&self, source: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.remove(key(source));
        self.write(batch)
    }
}
