//! LevelDB key layout. Every record lives under a one-byte prefix (see docs/storage.md):
//!
//! * `m` `latest`                              -> version (8, BE) || root hash (32)
//! * `n` version (8, BE) || borsh(nibble path) -> checksum (8) || borsh(jmt node)
//! * `k` escaped key || 00 00 || !version (8)  -> value record (versioned key index; it also
//!   serves the values jmt asks for while proving a key, so values are stored once)
//!
//! A value record is `00` (deleted) or `01` || value. Versions are stored inverted (`!version`) so
//! that, for one key, the newest version sorts first and "newest entry <= v" is a single seek.
//! Keys in the index are escaped (00 -> 00 FF) and terminated by 00 00, which keeps the LevelDB
//! order equal to the raw key order and lets a raw prefix map to an escaped prefix.

use jmt::storage::{NibblePath, Node, NodeKey};
use sha2::{Digest, Sha256};

use crate::{RootHash, StoreError, Version};

pub const LATEST_MARKER: &[u8] = b"mlatest";
pub const NODE_PREFIX: u8 = b'n';
pub const INDEX_PREFIX: u8 = b'k';

const TOMBSTONE: u8 = 0;
const PRESENT: u8 = 1;
const CHECKSUM_LEN: usize = 8;

/// Renders a LevelDB key for error messages.
pub fn show(key: &[u8]) -> String {
    hex::encode(key)
}

pub fn encode_marker(version: Version, root: &RootHash) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(root);
    out
}

pub fn decode_marker(bytes: &[u8]) -> Result<(Version, RootHash), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: show(LATEST_MARKER),
        reason,
    };
    if bytes.len() != 40 {
        return Err(corrupt(format!(
            "latest-version marker has {} bytes, expected 40",
            bytes.len()
        )));
    }
    let mut version = [0u8; 8];
    version.copy_from_slice(&bytes[..8]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&bytes[8..]);
    Ok((u64::from_be_bytes(version), root))
}

pub fn node_key(key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let path = borsh::to_vec(key.nibble_path())
        .map_err(|e| StoreError::Tree(format!("encode nibble path: {e}")))?;
    let mut out = Vec::with_capacity(9 + path.len());
    out.push(NODE_PREFIX);
    out.extend_from_slice(&key.version().to_be_bytes());
    out.extend_from_slice(&path);
    Ok(out)
}

pub fn decode_node_key(db_key: &[u8]) -> Result<NodeKey, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: show(db_key),
        reason,
    };
    if db_key.len() < 9 || db_key[0] != NODE_PREFIX {
        return Err(corrupt("not a tree node key".into()));
    }
    let mut version = [0u8; 8];
    version.copy_from_slice(&db_key[1..9]);
    let path: NibblePath =
        borsh::from_slice(&db_key[9..]).map_err(|e| corrupt(format!("bad nibble path: {e}")))?;
    Ok(NodeKey::new(u64::from_be_bytes(version), path))
}

fn node_checksum(db_key: &[u8], body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::new()
        .chain_update(db_key)
        .chain_update(body)
        .finalize();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// A node record carries a checksum over its key and body: a decodable but damaged node would
/// otherwise reach jmt, which asserts on malformed nodes instead of returning an error.
pub fn encode_node(db_key: &[u8], node: &Node) -> Result<Vec<u8>, StoreError> {
    let body = borsh::to_vec(node).map_err(|e| StoreError::Tree(format!("encode node: {e}")))?;
    let mut out = Vec::with_capacity(CHECKSUM_LEN + body.len());
    out.extend_from_slice(&node_checksum(db_key, &body));
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode_node(db_key: &[u8], record: &[u8]) -> Result<Node, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: show(db_key),
        reason,
    };
    if record.len() < CHECKSUM_LEN {
        return Err(corrupt(format!(
            "tree node record too short ({} bytes)",
            record.len()
        )));
    }
    let (checksum, body) = record.split_at(CHECKSUM_LEN);
    if checksum != node_checksum(db_key, body) {
        return Err(corrupt("tree node checksum mismatch".into()));
    }
    borsh::from_slice(body).map_err(|e| corrupt(format!("undecodable tree node: {e}")))
}

pub fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![TOMBSTONE],
        Some(v) => {
            let mut out = Vec::with_capacity(1 + v.len());
            out.push(PRESENT);
            out.extend_from_slice(v);
            out
        }
    }
}

pub fn decode_value(db_key: &[u8], record: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    match record.split_first() {
        Some((&TOMBSTONE, [])) => Ok(None),
        Some((&PRESENT, value)) => Ok(Some(value.to_vec())),
        _ => Err(StoreError::Corrupt {
            key: show(db_key),
            reason: "bad value record tag".into(),
        }),
    }
}

/// `k` || escape(prefix): every index key of a raw key starting with `prefix` starts with this.
pub fn index_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + prefix.len() + 8);
    out.push(INDEX_PREFIX);
    escape_into(prefix, &mut out);
    out
}

/// The index key of `key` at `version`.
pub fn index_key(key: &[u8], version: Version) -> Vec<u8> {
    let mut out = index_prefix(key);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(!version).to_be_bytes());
    out
}

fn escape_into(raw: &[u8], out: &mut Vec<u8>) {
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// Splits an index key into (raw key, version); `None` if it is malformed.
pub fn decode_index_key(db_key: &[u8]) -> Option<(Vec<u8>, Version)> {
    let body = db_key.strip_prefix(&[INDEX_PREFIX])?;
    let mut raw = Vec::with_capacity(body.len());
    let mut i = 0;
    loop {
        let b = *body.get(i)?;
        if b != 0 {
            raw.push(b);
            i += 1;
            continue;
        }
        match *body.get(i + 1)? {
            0xFF => {
                raw.push(0);
                i += 2;
            }
            0 => {
                let tail = body.get(i + 2..)?;
                let inverted: [u8; 8] = tail.try_into().ok()?;
                return Some((raw, !u64::from_be_bytes(inverted)));
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_like_raw_keys_then_newest_first() {
        let raw: Vec<&[u8]> = vec![
            b"",
            b"\x00",
            b"\x00\x00",
            b"\x00\x01",
            b"\x01",
            b"a",
            b"a\x00",
            b"ab",
            b"b",
        ];
        let mut encoded = Vec::new();
        for k in &raw {
            for v in [0u64, 7, u64::MAX] {
                encoded.push((index_key(k, v), k.to_vec(), v));
            }
        }
        let mut sorted = encoded.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(Vec<u8>, u64)> = raw
            .iter()
            .flat_map(|k| [u64::MAX, 7, 0].map(|v| (k.to_vec(), v)))
            .collect();
        let got: Vec<(Vec<u8>, u64)> = sorted.iter().map(|(_, k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, expected);
        for (db_key, k, v) in &encoded {
            assert_eq!(decode_index_key(db_key), Some((k.clone(), *v)));
        }
    }

    #[test]
    fn index_prefix_matches_exactly_the_raw_prefix() {
        let keys: Vec<&[u8]> = vec![b"a", b"a\x00", b"a\x00b", b"ab", b"b", b"\x00a"];
        for prefix in [&b""[..], b"a", b"a\x00", b"\x00"] {
            let p = index_prefix(prefix);
            for k in &keys {
                assert_eq!(
                    index_key(k, 3).starts_with(&p),
                    k.starts_with(prefix),
                    "{k:?} / {prefix:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        assert!(decode_index_key(b"kab\x00\x05").is_none());
        assert!(decode_index_key(b"kab").is_none());
        assert!(decode_index_key(b"kab\x00\x00\x01").is_none());
        assert!(decode_value(b"x", &[]).is_err());
        assert!(decode_value(b"x", &[7, 1]).is_err());
        assert!(decode_value(b"x", &[0, 1]).is_err());
        assert!(decode_marker(&[1, 2, 3]).is_err());
        assert!(decode_node(b"n", &[1, 2, 3]).is_err());
    }
}
