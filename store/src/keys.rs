//! LevelDB key layout. Every record lives under a one-byte prefix (see docs/storage.md):
//!
//! * `m` `latest`                              -> version (8, BE) || root hash (32)
//! * `n` version (8, BE) || nibble count || packed nibbles -> CRC32C (4) || node body
//! * `k` escaped key || 00 00 || !version (8)  -> value record (versioned key index; it also
//!   serves the values jmt asks for while proving a key, so values are stored once)
//!
//! A value record is `00` (deleted) or `01` || value. Versions are stored inverted (`!version`) so
//! that, for one key, the newest version sorts first and "newest entry <= v" is a single seek.
//! Keys in the index are escaped (00 -> 00 FF) and terminated by 00 00, which keeps the LevelDB
//! order equal to the raw key order and lets a raw prefix map to an escaped prefix.

use jmt::storage::{LeafNode, NibblePath, Node, NodeKey};
use jmt::{KeyHash, ValueHash};

use crate::tree::{ChildRef, Internal, NodePath, TreeNode};
use crate::{RootHash, StoreError, Version};

pub const LATEST_MARKER: &[u8] = b"mlatest";
pub const NODE_PREFIX: u8 = b'n';
pub const INDEX_PREFIX: u8 = b'k';

const TOMBSTONE: u8 = 0;
const PRESENT: u8 = 1;
const CHECKSUM_LEN: usize = 4;

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

/// Nibbles in the longest path of a tree of 32-byte key hashes.
const MAX_NIBBLES: usize = 64;

/// `n` || version (8, BE) || nibble count (1) || nibbles packed two per byte (odd: low half 0).
pub fn node_key(key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let path = key.nibble_path();
    let count = u8::try_from(path.num_nibbles())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_NIBBLES)
        .ok_or_else(|| {
            StoreError::Tree(format!("nibble path of {} nibbles", path.num_nibbles()))
        })?;
    let mut out = Vec::with_capacity(10 + usize::from(count).div_ceil(2));
    out.push(NODE_PREFIX);
    out.extend_from_slice(&key.version().to_be_bytes());
    out.push(count);
    let mut nibbles = path.nibbles();
    while let Some(high) = nibbles.next() {
        let low = nibbles.next().map_or(0, u8::from);
        out.push((u8::from(high) << 4) | low);
    }
    Ok(out)
}

pub fn decode_node_key(db_key: &[u8]) -> Result<NodeKey, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: show(db_key),
        reason: reason.into(),
    };
    if db_key.len() < 10 || db_key[0] != NODE_PREFIX {
        return Err(corrupt("not a tree node key"));
    }
    let version = node_key_version(db_key)?;
    let count = usize::from(db_key[9]);
    let packed = &db_key[10..];
    let odd_tail = count % 2 == 1 && packed.last().is_some_and(|b| b & 0x0F != 0);
    if count > MAX_NIBBLES || packed.len() != count.div_ceil(2) || odd_tail {
        return Err(corrupt("bad nibble path"));
    }
    // jmt builds paths only through borsh from outside the crate: u64 count, u32 length, bytes.
    let mut borsh_path = Vec::with_capacity(12 + packed.len());
    borsh_path.extend_from_slice(&(count as u64).to_le_bytes());
    borsh_path.extend_from_slice(&(packed.len() as u32).to_le_bytes());
    borsh_path.extend_from_slice(packed);
    let path: NibblePath =
        borsh::from_slice(&borsh_path).map_err(|e| corrupt(&format!("bad nibble path: {e}")))?;
    Ok(NodeKey::new(version, path))
}

fn node_key_version(db_key: &[u8]) -> Result<Version, StoreError> {
    let bytes: [u8; 8] = db_key
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: show(db_key),
            reason: "not a tree node key".into(),
        })?;
    Ok(u64::from_be_bytes(bytes))
}

/// CRC32C of key and body: it only has to catch damage on disk (it is not part of the app hash),
/// and it costs far less than SHA-256 over the ~24k records of a 10k-write block.
fn node_checksum(db_key: &[u8], body: &[u8]) -> [u8; CHECKSUM_LEN] {
    crc32c::crc32c_append(crc32c::crc32c(db_key), body).to_be_bytes()
}

/// A node record carries a checksum over its key and body: a decodable but damaged node would
/// otherwise reach jmt, which asserts on malformed nodes instead of returning an error.
#[cfg(test)]
pub fn encode_node(db_key: &[u8], node: &Node) -> Result<Vec<u8>, StoreError> {
    encode_tree_node(db_key, &from_jmt(node)?)
}

pub fn decode_node(db_key: &[u8], record: &[u8]) -> Result<Node, StoreError> {
    let node = decode_tree_node(db_key, record)?;
    to_jmt(&node).map_err(|reason| StoreError::Corrupt {
        key: show(db_key),
        reason: format!("undecodable tree node: {reason}"),
    })
}

/// The record (checksum || body) of a node in our form (prepare uses [`encode_tree_node_into`]).
#[cfg(test)]
pub fn encode_tree_node(db_key: &[u8], node: &TreeNode) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    encode_tree_node_into(db_key, node, &mut out)?;
    Ok(out)
}

/// [`encode_tree_node`] into a reused buffer (cleared first): a block writes ~2 nodes per key.
pub fn encode_tree_node_into(
    db_key: &[u8],
    node: &TreeNode,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    out.clear();
    out.extend_from_slice(&[0; CHECKSUM_LEN]);
    encode_node_body(node_key_version(db_key)?, node, out)?;
    let checksum = node_checksum(db_key, &out[CHECKSUM_LEN..]);
    out[..CHECKSUM_LEN].copy_from_slice(&checksum);
    Ok(())
}

pub fn decode_tree_node(db_key: &[u8], record: &[u8]) -> Result<TreeNode, StoreError> {
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
    decode_node_body(node_key_version(db_key)?, body)
        .map_err(|reason| corrupt(format!("undecodable tree node: {reason}")))
}

/// The LevelDB key of the node at `path` and `version` (same bytes as [`node_key`]).
pub fn tree_node_key(version: Version, path: &NodePath) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + path.packed().len());
    tree_node_key_into(version, path, &mut out);
    out
}

/// [`tree_node_key`] into a reused buffer (cleared first).
pub fn tree_node_key_into(version: Version, path: &NodePath, out: &mut Vec<u8>) {
    out.clear();
    out.push(NODE_PREFIX);
    out.extend_from_slice(&version.to_be_bytes());
    out.push(path.depth);
    out.extend_from_slice(path.packed());
}

// Node bodies. jmt's borsh form spends ~50 bytes per child and a tag per empty slot; internal nodes
// (most of a version's bytes) are stored instead as
//   1 || child bitmap (2, BE; bit i = nibble i) || per child in nibble order:
//        hash (32) || varint(node version - child version) || varint(leaf count << 1 | internal)
// Null is `0` and a leaf `2` || key hash || value hash (jmt's borsh form, already compact). jmt's
// node types can only be built through borsh from outside the crate, so [`to_jmt`] writes the
// borsh form and lets borsh build the node; the tests round-trip real jmt nodes.
const NULL_TAG: u8 = 0;
const INTERNAL_TAG: u8 = 1;
const LEAF_TAG: u8 = 2;

fn encode_node_body(
    version: Version,
    node: &TreeNode,
    out: &mut Vec<u8>,
) -> Result<(), StoreError> {
    let internal = match node {
        TreeNode::Null => {
            out.push(NULL_TAG);
            return Ok(());
        }
        TreeNode::Leaf {
            key_hash,
            value_hash,
        } => {
            out.reserve(65);
            out.push(LEAF_TAG);
            out.extend_from_slice(key_hash);
            out.extend_from_slice(value_hash);
            return Ok(());
        }
        TreeNode::Internal(internal) => internal,
    };
    out.reserve(3 + 36 * internal.children.len());
    out.push(INTERNAL_TAG);
    out.extend_from_slice(&internal.bitmap.to_be_bytes());
    for child in &internal.children {
        let gap = version.checked_sub(child.version).ok_or_else(|| {
            StoreError::Tree(format!(
                "child of version {} under a node of version {version}",
                child.version
            ))
        })?;
        let kind = child
            .leaf_count
            .checked_mul(2)
            .ok_or_else(|| StoreError::Tree("leaf count overflows".into()))?
            | u64::from(!child.is_leaf);
        out.extend_from_slice(&child.hash);
        put_varint(out, gap);
        put_varint(out, kind);
    }
    Ok(())
}

fn decode_node_body(version: Version, body: &[u8]) -> Result<TreeNode, String> {
    let Some((&tag, mut input)) = body.split_first() else {
        return Err("empty body".into());
    };
    match tag {
        NULL_TAG if input.is_empty() => return Ok(TreeNode::Null),
        LEAF_TAG if input.len() == 64 => {
            let key_hash = take::<32>(&mut input)?;
            let value_hash = take::<32>(&mut input)?;
            return Ok(TreeNode::Leaf {
                key_hash,
                value_hash,
            });
        }
        NULL_TAG | LEAF_TAG => return Err(format!("node tag {tag} with {} bytes", input.len())),
        INTERNAL_TAG => {}
        _ => return Err(format!("unknown node tag {tag}")),
    }
    let bitmap = u16::from_be_bytes(take::<2>(&mut input)?);
    if bitmap == 0 {
        return Err("internal node without children".into());
    }
    let mut children = Vec::with_capacity(bitmap.count_ones() as usize);
    let mut leaf_count = 0u64;
    for _ in 0..bitmap.count_ones() {
        let hash = take::<32>(&mut input)?;
        let child_version = version
            .checked_sub(take_varint(&mut input)?)
            .ok_or("child version below zero")?;
        let kind = take_varint(&mut input)?;
        let (internal, leaves) = (kind & 1 == 1, kind >> 1);
        if (!internal && leaves != 1) || leaves == 0 {
            return Err(format!("bad child kind {kind}"));
        }
        leaf_count = leaf_count
            .checked_add(leaves)
            .ok_or("leaf count overflows")?;
        children.push(ChildRef {
            hash,
            version: child_version,
            leaf_count: leaves,
            is_leaf: !internal,
        });
    }
    if !input.is_empty() {
        return Err(format!("{} trailing bytes", input.len()));
    }
    // jmt asserts that a lone child is not a leaf (it would sit in the parent instead).
    if children.len() == 1 && children[0].is_leaf {
        return Err("internal node with a single leaf child".into());
    }
    Ok(TreeNode::Internal(Internal { bitmap, children }))
}

/// jmt's node for a node in our form.
pub fn to_jmt(node: &TreeNode) -> Result<Node, String> {
    let internal = match node {
        TreeNode::Null => return Ok(Node::Null),
        TreeNode::Leaf {
            key_hash,
            value_hash,
        } => {
            return Ok(Node::Leaf(LeafNode::new(
                KeyHash(*key_hash),
                ValueHash(*value_hash),
            )))
        }
        TreeNode::Internal(internal) => internal,
    };
    // borsh form: Node tag, 16 x Option<Child>, num_children (u64), leaf_count (u64).
    let mut out = Vec::with_capacity(1 + 16 + 16 * 49 + 16);
    out.push(INTERNAL_TAG);
    let mut slots = internal.iter().peekable();
    for nibble in 0..16u8 {
        let Some((_, child)) = slots.next_if(|(n, _)| *n == nibble) else {
            out.push(0);
            continue;
        };
        out.push(1);
        out.extend_from_slice(&child.hash);
        out.extend_from_slice(&child.version.to_le_bytes());
        if child.is_leaf {
            out.push(0);
        } else {
            out.push(1);
            out.extend_from_slice(&child.leaf_count.to_le_bytes());
        }
    }
    out.extend_from_slice(&u64::from(internal.bitmap.count_ones()).to_le_bytes());
    out.extend_from_slice(&internal.leaf_count().to_le_bytes());
    borsh::from_slice(&out).map_err(|e| e.to_string())
}

/// Our form of a jmt node (the tests compare jmt's updates with ours).
#[cfg(test)]
pub fn from_jmt(node: &Node) -> Result<TreeNode, StoreError> {
    match node {
        Node::Null => Ok(TreeNode::Null),
        Node::Leaf(_) => {
            // jmt hides the value hash; its borsh form is tag || key hash || value hash.
            let bytes =
                borsh::to_vec(node).map_err(|e| StoreError::Tree(format!("encode leaf: {e}")))?;
            let bytes: [u8; 65] = bytes
                .try_into()
                .map_err(|_| StoreError::Tree("leaf of unexpected size".into()))?;
            let mut key_hash = [0u8; 32];
            let mut value_hash = [0u8; 32];
            key_hash.copy_from_slice(&bytes[1..33]);
            value_hash.copy_from_slice(&bytes[33..]);
            Ok(TreeNode::Leaf {
                key_hash,
                value_hash,
            })
        }
        Node::Internal(internal) => {
            let mut bitmap = 0u16;
            let mut children = Vec::new();
            for (nibble, child) in internal.children_sorted() {
                bitmap |= 1 << u8::from(nibble);
                children.push(ChildRef {
                    hash: child.hash,
                    version: child.version,
                    leaf_count: child.leaf_count() as u64,
                    is_leaf: child.is_leaf(),
                });
            }
            Ok(TreeNode::Internal(Internal { bitmap, children }))
        }
    }
}

fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], String> {
    let (head, rest) = input
        .split_first_chunk::<N>()
        .ok_or("truncated internal node")?;
    *input = rest;
    Ok(*head)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(input: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let [byte] = take::<1>(input)?;
        let bits = u64::from(byte & 0x7F);
        if shift == 63 && bits > 1 {
            return Err("varint overflows".into());
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
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
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use jmt::storage::{LeafNode, TreeReader};
    use jmt::{KeyHash, OwnedValue, Sha256Jmt};
    use proptest::prelude::*;
    use sha2::Sha256;

    use super::*;

    /// An in-memory tree reader: just enough to let jmt build real nodes.
    #[derive(Default)]
    struct Nodes(RefCell<BTreeMap<NodeKey, Node>>);

    impl TreeReader for Nodes {
        fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
            Ok(self.0.borrow().get(key).cloned())
        }
        fn get_value_option(&self, _: Version, _: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
            anyhow::bail!("not needed")
        }
        fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
            Ok(None)
        }
    }

    /// Every node jmt writes for a few versions of inserts, overwrites and deletes.
    fn real_nodes() -> Vec<(NodeKey, Node)> {
        let reader = Nodes::default();
        let mut written = Vec::new();
        for version in 0..4u64 {
            let writes: Vec<(KeyHash, Option<OwnedValue>)> = (0..700u64)
                .filter(|i| i % (version + 2) != 0)
                .map(|i| {
                    let value = (i % 5 != 0 || version == 0).then(|| vec![version as u8; 9]);
                    (KeyHash::with::<Sha256>(i.to_be_bytes()), value)
                })
                .collect();
            let (_, batch) = Sha256Jmt::new(&reader)
                .put_value_set(writes, version)
                .expect("jmt update");
            for (key, node) in batch.node_batch.nodes() {
                reader.0.borrow_mut().insert(key.clone(), node.clone());
                written.push((key.clone(), node.clone()));
            }
        }
        written
    }

    #[test]
    fn real_nodes_and_keys_round_trip() {
        let nodes = real_nodes();
        let internal = nodes
            .iter()
            .filter(|(_, n)| matches!(n, Node::Internal(_)))
            .count();
        assert!(
            internal > 50 && nodes.len() > 1000,
            "{internal} / {}",
            nodes.len()
        );
        let (mut compact, mut borsh_len) = (0, 0);
        for (key, node) in &nodes {
            let db_key = node_key(key).expect("key");
            assert_eq!(&decode_node_key(&db_key).expect("decode key"), key);
            let record = encode_node(&db_key, node).expect("encode");
            assert_eq!(&decode_node(&db_key, &record).expect("decode"), node);
            if matches!(node, Node::Internal(_)) {
                compact += record.len() - CHECKSUM_LEN;
                borsh_len += borsh::to_vec(node).expect("borsh").len();
            }
        }
        // The point of the encoding: internal nodes well below jmt's borsh form.
        assert!(
            compact * 4 < borsh_len * 3,
            "{compact} vs borsh {borsh_len}"
        );
        let db_key = [NODE_PREFIX, 0, 0, 0, 0, 0, 0, 0, 5, 0];
        let empty_path = decode_node_key(&db_key).expect("empty path");
        assert_eq!(node_key(&empty_path).expect("key"), db_key);
        let record = encode_node(&db_key, &Node::Null).expect("encode");
        assert_eq!(decode_node(&db_key, &record).expect("decode"), Node::Null);
    }

    proptest! {
        /// Any body under a valid checksum (a bug or a forged record) is an error, never a panic.
        #[test]
        fn arbitrary_node_bodies_and_keys_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            version in any::<u64>(),
            raw_key in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let _ = decode_node_body(version, &body);
            let mut internal = vec![INTERNAL_TAG];
            internal.extend_from_slice(&body);
            let _ = decode_node_body(version, &internal);
            let _ = decode_node_key(&raw_key);
            let mut db_key = vec![NODE_PREFIX];
            db_key.extend_from_slice(&raw_key);
            let _ = decode_node_key(&db_key);
        }
    }

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
