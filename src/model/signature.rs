//! Signed bodies, as WebSub signs content distribution requests: HMAC (RFC 2104) over SHA-256
//! or SHA-512 (and SHA-1, to check what hubs that sign with it send), written out over the
//! `sha2`/`sha1` crates rather than adding an HMAC crate for twenty lines, and checked against
//! the RFC 4231 and RFC 2202 test vectors. The hub signs what it delivers with
//! [`sign`]; a subscriber checks `X-Hub-Signature` with [`verify`]. Pure: no I/O, no clock.

use sha2::{Digest, Sha256, Sha512};

/// The hash functions a signature may use. WebSub also names `sha384`, which nobody sends.
/// SHA-1 is accepted when checking (Google's public hub signs with it by default, and HMAC
/// does not rest on SHA-1's broken collision resistance); this hub signs with SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The name used in `X-Hub-Signature: <name>=<hex>`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Algorithm> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// HMAC of `body` under `key` with the digest `D`, whose input block is `block` bytes.
fn hmac<D: Digest>(key: &[u8], body: &[u8], block: usize) -> Vec<u8> {
    // A key longer than a block is hashed first; a shorter one is padded with zeros.
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = D::new();
    inner.update(pad(0x36));
    inner.update(body);
    let inner = inner.finalize();
    let mut outer = D::new();
    outer.update(pad(0x5c));
    outer.update(inner);
    outer.finalize().to_vec()
}

/// HMAC-SHA1: the same construction over the `sha1` crate, whose `Digest` trait is an older
/// version than `sha2`'s (so the generic one above does not take it).
fn hmac_sha1(key: &[u8], body: &[u8]) -> Vec<u8> {
    use sha1::{Digest as _, Sha1};
    let mut k = if key.len() > 64 {
        Sha1::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The raw HMAC of `body` under `key` with `alg`.
pub fn mac(alg: Algorithm, key: &[u8], body: &[u8]) -> Vec<u8> {
    match alg {
        Algorithm::Sha1 => hmac_sha1(key, body),
        Algorithm::Sha256 => hmac::<Sha256>(key, body, 64),
        Algorithm::Sha512 => hmac::<Sha512>(key, body, 128),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The `X-Hub-Signature` value for `body` under `secret`: `sha256=<lowercase hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex(&mac(Algorithm::Sha256, secret, body)))
}

/// True when `header_value` (`sha256=<hex>` or `sha512=<hex>`, hex in either case) is the
/// HMAC of `body` under `secret`. The comparison takes the same time wherever the first
/// difference is, so a forger learns nothing from how fast a wrong guess is refused.
pub fn verify(secret: &[u8], body: &[u8], header_value: &str) -> bool {
    let Some((name, given)) = header_value.trim().split_once('=') else {
        return false;
    };
    let (Some(alg), Some(given)) = (Algorithm::from_name(name), unhex(given.trim())) else {
        return false;
    };
    constant_time_eq(&mac(alg, secret, body), &given)
}

/// Equality of two byte strings in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 §4: key, data, HMAC-SHA-256, HMAC-SHA-512 (test case 5, a truncated output,
    /// is left out: truncation is not something WebSub does).
    const VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "4869205468657265",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
        (
            "4a656665",
            "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39\
             bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        ),
        (
            "0102030405060708090a0b0c0d0e0f10111213141516171819",
            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db\
             a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        ),
        (
            // Test case 6: a key longer than the block, hashed first.
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ),
        (
            // Test case 7: a long key and a long message.
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
             b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
        ),
    ];

    #[test]
    fn rfc_4231_vectors() {
        for (n, (key, data, h256, h512)) in VECTORS.iter().enumerate() {
            let (key, data) = (unhex(key).unwrap(), unhex(data).unwrap());
            assert_eq!(hex(&mac(Algorithm::Sha256, &key, &data)), *h256, "case {n}");
            let h512: String = h512.split_whitespace().collect();
            assert_eq!(hex(&mac(Algorithm::Sha512, &key, &data)), h512, "case {n}");
        }
    }

    #[test]
    fn rfc_2202_sha1_vectors() {
        let h = |key: &[u8], data: &[u8]| hex(&mac(Algorithm::Sha1, key, data));
        assert_eq!(
            h(&[0x0b; 20], b"Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            h(b"Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // A key longer than a block (case 6).
        assert_eq!(
            h(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
        let sig = format!("sha1={}", h(b"secret", b"body"));
        assert!(verify(b"secret", b"body", &sig));
    }

    #[test]
    fn sign_and_verify() {
        let sig = sign(b"key", b"body");
        assert!(sig.starts_with("sha256="));
        assert!(verify(b"key", b"body", &sig));
        assert!(verify(
            b"key",
            b"body",
            &sig.to_uppercase().replace("SHA256", "sha256")
        ));
        assert!(!verify(b"key", b"body!", &sig));
        assert!(!verify(b"other", b"body", &sig));
        let s512 = format!("sha512={}", hex(&mac(Algorithm::Sha512, b"key", b"body")));
        assert!(verify(b"key", b"body", &s512));
        // Another algorithm's name on a SHA-256 value, a short SHA-1, junk: all refused.
        assert!(!verify(b"key", b"body", &sig.replace("sha256", "sha512")));
        assert!(!verify(b"key", b"body", &sig.replace("sha256", "sha1")));
        assert!(!verify(b"key", b"body", "sha1=00"));
        assert!(!verify(b"key", b"body", "sha256=zz"));
        assert!(!verify(b"key", b"body", ""));
    }
}
