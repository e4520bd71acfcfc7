//! Which node polls which source: sources fall into a fixed number of partitions, and each
//! partition belongs to the live member that ranks highest for it (rendezvous hashing), so a
//! membership change moves only the partitions of the member that came or went.

use sha2::{Digest, Sha256};

/// Partitions in a cluster. Fixed: every node must agree on it. 256 keeps lease traffic small
/// (one key per partition) and spreads sources evenly over up to a few dozen nodes.
pub const PARTITIONS: u16 = 256;

/// The partition of a source.
pub fn of_source(source: &str) -> u16 {
    let d = Sha256::digest(source.as_bytes());
    u16::from_be_bytes([d[0], d[1]]) % PARTITIONS
}

/// The member that owns `partition` among `members` (highest rendezvous weight; ties, which a
/// 64-bit hash makes vanishingly rare, go to the smaller id).
pub fn owner(partition: u16, members: &[String]) -> Option<&str> {
    members
        .iter()
        .map(|m| (weight(partition, m), m.as_str()))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, m)| m)
}

fn weight(partition: u16, member: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(partition.to_be_bytes());
    h.update([0]);
    h.update(member.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_spread_and_move_little() {
        let three: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut counts = std::collections::HashMap::new();
        for p in 0..PARTITIONS {
            *counts.entry(owner(p, &three).unwrap()).or_insert(0) += 1;
        }
        for (m, n) in &counts {
            assert!((50..=120).contains(n), "{m} owns {n} of 256");
        }
        // Node c leaves: only c's partitions move.
        let two = &three[..2];
        for p in 0..PARTITIONS {
            let before = owner(p, &three).unwrap();
            let after = owner(p, two).unwrap();
            if before != "c" {
                assert_eq!(before, after, "partition {p} moved though its owner stayed");
            }
        }
        assert_eq!(owner(0, &[]), None);
        assert!(of_source("people-sn") < PARTITIONS);
    }
}
