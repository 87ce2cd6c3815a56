//! Checksums: SHA-256 of a migration's normalised text, and the chain hash
//! that fingerprints a whole history.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 digest, shown and stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// Parses 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Checksum> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Checksum(out))
    }

    /// The first 12 hex digits, for compact listings.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.to_hex())
    }
}

impl serde::Serialize for Checksum {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

/// The text a checksum is taken over: a leading UTF-8 BOM removed and every
/// CRLF turned into LF, so a Windows checkout changes nothing.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n")
}

/// SHA-256 of the normalised migration text.
pub fn checksum(text: &str) -> Checksum {
    let digest = Sha256::digest(normalise(text).as_bytes());
    Checksum(digest.into())
}

/// Folds one revision into the chain hash of its parent.
///
/// `chain(n) = SHA-256(chain(n-1) || revision_id || checksum(n))`, starting
/// from 32 zero bytes, so two environments with the same chain hash hold the
/// same revisions, in the same order, with the same contents.
pub fn fold_chain(parent: &Checksum, revision_id: &str, checksum: &Checksum) -> Checksum {
    let mut hasher = Sha256::new();
    hasher.update(parent.0);
    hasher.update(revision_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(checksum.0);
    Checksum(hasher.finalize().into())
}

/// The chain hash of an ordered history of `(revision_id, checksum)` pairs.
pub fn chain_hash<'a>(history: impl IntoIterator<Item = (&'a str, &'a Checksum)>) -> Checksum {
    history
        .into_iter()
        .fold(Checksum([0; 32]), |chain, (revision_id, checksum)| {
            fold_chain(&chain, revision_id, checksum)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bom_do_not_change_the_checksum() {
        let unix = "-- Message: x\n-- migrate:up\nSELECT 1;\n";
        let windows = "\u{feff}-- Message: x\r\n-- migrate:up\r\nSELECT 1;\r\n";
        assert_eq!(checksum(unix), checksum(windows));
        assert_ne!(
            checksum(unix),
            checksum("-- Message: y\n-- migrate:up\nSELECT 1;\n")
        );
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            checksum("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trip() {
        let sum = checksum("hello");
        assert_eq!(Checksum::from_hex(&sum.to_hex()), Some(sum));
        assert_eq!(Checksum::from_hex("zz"), None);
    }

    #[test]
    fn chain_hash_depends_on_order_and_content() {
        let a = checksum("a");
        let b = checksum("b");
        let ab = chain_hash([("r1", &a), ("r2", &b)]);
        let ba = chain_hash([("r2", &b), ("r1", &a)]);
        assert_ne!(ab, ba);
        assert_eq!(ab, chain_hash([("r1", &a), ("r2", &b)]));
        assert_eq!(chain_hash(std::iter::empty()), Checksum([0; 32]));
    }
}
