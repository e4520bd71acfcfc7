//! What a node knows of its cluster, as plain data: the cluster module fills it, the read path
//! shows it (`/api/cluster`, `/healthz`, the index page, `/metrics`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One member as it announces itself in the membership bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    /// When the member last wrote its record.
    pub last_seen: DateTime<Utc>,
    /// Partitions whose lease it holds, and the configured sources in them.
    pub partitions_owned: usize,
    pub sources_owned: usize,
    /// The last stream sequence it applied to its store.
    pub applied_seq: u64,
    /// The short hash of its config text: members with different configs show it here.
    pub config_digest: String,
}

/// This node's view of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub node: String,
    /// Whether NATS answers; `false` pauses polling (feeds are still served).
    pub reachable: bool,
    /// Why not, in words, when it is not.
    pub problem: Option<String>,
    pub members: Vec<Member>,
    pub applied_seq: u64,
    /// The stream's last sequence when last asked.
    pub stream_seq: u64,
    /// Messages in the stream this node has not applied yet.
    pub lag: u64,
    pub partitions_owned: usize,
    pub sources_owned: usize,
    pub config_digest: String,
}
