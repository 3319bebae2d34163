//! The updater against jmt itself: random batches on growing trees, each run through jmt's
//! `batch_put_value_sets` and through [`batch_insert`]: equal roots, equal new nodes (same keys,
//! same contents), equal stale sets; and jmt's proofs over the trees our updater wrote verify.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt};
use sha2::{Digest, Sha256};

use super::*;
use crate::keys;

/// splitmix64: deterministic pseudo-random numbers.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hash(&mut self) -> Hash32 {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }
    fn value(&mut self) -> Vec<u8> {
        let len = 1 + self.below(40) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// An in-memory tree: jmt reads it (updates, proofs) and so does our updater.
#[derive(Default)]
struct MemTree {
    nodes: RefCell<BTreeMap<NodeKey, Node>>,
    values: RefCell<BTreeMap<(KeyHash, Version), Option<OwnedValue>>>,
}

impl MemTree {
    /// An empty tree that a first version `first_version` updates: above 0, a null root at
    /// `first_version - 1` (the store's view of an empty store).
    fn empty_before(first_version: Version) -> Self {
        let tree = Self::default();
        if first_version > 0 {
            tree.nodes
                .borrow_mut()
                .insert(jmt_key(first_version - 1, &NodePath::ROOT), Node::Null);
        }
        tree
    }
}

impl TreeReader for MemTree {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.borrow().get(key).cloned())
    }
    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .values
            .borrow()
            .range((key_hash, 0)..=(key_hash, max_version))
            .next_back()
            .and_then(|(_, v)| v.clone()))
    }
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("not needed")
    }
}

/// jmt's hash of a node (`Node::hash` is crate-private; the node types' own are public).
fn jmt_hash(node: &Node) -> Hash32 {
    match node {
        Node::Null => PLACEHOLDER,
        Node::Leaf(leaf) => leaf.hash::<Sha256>(),
        Node::Internal(internal) => internal.hash::<Sha256>(),
    }
}

fn jmt_key(version: Version, path: &NodePath) -> NodeKey {
    keys::decode_node_key(&keys::tree_node_key(version, path)).expect("node key")
}

impl NodeSource for &MemTree {
    fn node(
        &mut self,
        version: Version,
        path: &NodePath,
    ) -> Result<Option<Arc<TreeNode>>, StoreError> {
        let node = self.nodes.borrow().get(&jmt_key(version, path)).cloned();
        node.map(|n| keys::from_jmt(&n).map(Arc::new)).transpose()
    }
}

/// Our update equals jmt's: root, new nodes (keys and contents), stale nodes. Returns our nodes
/// in jmt's form.
fn assert_same_update(
    version: Version,
    ours: &TreeUpdate,
    jmt_root: jmt::RootHash,
    expected: &jmt::storage::TreeUpdateBatch,
) -> BTreeMap<NodeKey, Node> {
    assert_eq!(ours.root, jmt_root.0, "root at version {version}");
    let mut our_nodes = BTreeMap::new();
    for (path, node) in &ours.nodes {
        let jmt_node = keys::to_jmt(node).expect("jmt node");
        assert_eq!(jmt_hash(&jmt_node), node.hash_of(), "node hash");
        let previous = our_nodes.insert(jmt_key(version, path), jmt_node);
        assert!(previous.is_none(), "node written twice at {path:?}");
    }
    assert_eq!(
        &our_nodes,
        expected.node_batch.nodes(),
        "nodes of version {version}"
    );
    let our_stale: BTreeSet<NodeKey> = ours
        .stale
        .iter()
        .map(|(v, path)| jmt_key(*v, path))
        .collect();
    assert_eq!(our_stale.len(), ours.stale.len(), "stale node listed twice");
    let expected_stale: BTreeSet<NodeKey> = expected
        .stale_node_index_batch
        .iter()
        .map(|index| {
            assert_eq!(index.stale_since_version, version);
            index.node_key.clone()
        })
        .collect();
    assert_eq!(
        our_stale, expected_stale,
        "stale nodes of version {version}"
    );
    our_nodes
}

/// jmt proves random keys, present keys and absent keys next to them over `tree` (written by
/// our updater) against our root.
fn assert_proofs_verify(
    tree: &MemTree,
    rng: &mut Mix,
    values: &BTreeMap<Hash32, Vec<u8>>,
    version: Version,
    root: RootHash,
) {
    for _ in 0..6 {
        let mut probes = vec![rng.hash()];
        if !values.is_empty() {
            let present = *values
                .keys()
                .nth(rng.below(values.len() as u64) as usize)
                .expect("in range");
            let mut absent = present;
            absent[31] ^= 1 + rng.below(255) as u8;
            probes.extend([present, absent]);
        }
        for key in probes {
            let (value, proof) = Sha256Jmt::new(tree)
                .get_with_proof(KeyHash(key), version)
                .expect("proof");
            assert_eq!(value.as_ref(), values.get(&key), "value of {key:?}");
            proof
                .verify(jmt::RootHash(root), KeyHash(key), value.as_ref())
                .expect("proof verifies");
        }
    }
}

/// A key equal to `key` up to a random nibble and different there: inserted, it splits the leaf
/// of `key` (at any depth up to the last nibble).
fn split_key(rng: &mut Mix, mut key: Hash32) -> Hash32 {
    let depth = rng.below(64) as usize;
    let flip = 1 + rng.below(15) as u8;
    key[depth / 2] ^= if depth.is_multiple_of(2) {
        flip << 4
    } else {
        flip
    };
    key
}

/// One block's writes: overwrites, fresh keys, keys sharing a long prefix with an existing key
/// (they split its leaf deep down) and keys sharing a prefix with each other.
fn block(rng: &mut Mix, live: &[Hash32], size: usize) -> BTreeMap<Hash32, Vec<u8>> {
    let mut writes: BTreeMap<Hash32, Vec<u8>> = BTreeMap::new();
    while writes.len() < size {
        let key = match rng.below(5) {
            0 | 1 if !live.is_empty() => live[rng.below(live.len() as u64) as usize],
            2 if !live.is_empty() => {
                let key = live[rng.below(live.len() as u64) as usize];
                split_key(rng, key)
            }
            3 if !writes.is_empty() => {
                // A sibling of a key of this block, differing from some nibble on.
                let first = *writes.keys().next().expect("not empty");
                let mut key = rng.hash();
                let keep = rng.below(33) as usize;
                key[..keep].copy_from_slice(&first[..keep]);
                key
            }
            _ => rng.hash(),
        };
        writes.insert(key, rng.value());
    }
    writes
}

/// Runs `versions` random blocks from `first_version` on an empty tree through both updaters.
fn differential(seed: u64, first_version: Version, versions: u64, max_block: u64) {
    let mut rng = Mix(seed);
    let tree = MemTree::empty_before(first_version);
    let mut live: Vec<Hash32> = Vec::new();
    let mut values: BTreeMap<Hash32, Vec<u8>> = BTreeMap::new();
    for version in first_version..first_version + versions {
        let size = if rng.below(10) == 0 {
            1
        } else {
            1 + rng.below(max_block) as usize
        };
        let writes = block(&mut rng, &live, size);

        let (roots, expected) = Sha256Jmt::new(&tree)
            .batch_put_value_sets(
                vec![writes
                    .iter()
                    .map(|(k, v)| (KeyHash(*k), v.clone()))
                    .collect()],
                None,
                version,
            )
            .expect("jmt update");

        let hashed: Vec<(Hash32, Hash32)> = writes
            .iter()
            .map(|(k, v)| (*k, Sha256::digest(v).into()))
            .collect();
        let ours = batch_insert(&mut &tree, version, &hashed).expect("our update");

        let our_nodes = assert_same_update(version, &ours, roots[0], &expected);

        // The tree from here on is the one our updater wrote.
        tree.nodes.borrow_mut().extend(our_nodes);
        for (key, value) in writes {
            if values.insert(key, value.clone()).is_none() {
                live.push(key);
            }
            tree.values
                .borrow_mut()
                .insert((KeyHash(key), version), Some(value));
        }

        // jmt proves present keys and absent ones (some next to present ones) over our tree.
        assert_proofs_verify(&tree, &mut rng, &values, version, ours.root);
    }
    assert!(
        live.len() > versions as usize,
        "the tree grew: {}",
        live.len()
    );
}

#[test]
fn batch_insert_matches_jmt_on_growing_trees() {
    differential(1, 0, 40, 200);
    differential(2, 7, 25, 600);
    differential(3, 1, 80, 20);
}

#[test]
fn hashes_match_jmt_for_every_shape() {
    // Internal nodes of each child bitmap pattern the 16-slot hash distinguishes.
    let mut rng = Mix(9);
    for bitmap in (1u32..=0xFFFF)
        .step_by(97)
        .chain([1, 2, 0x8000, 0xFFFF, 0x0101])
    {
        let bitmap = bitmap as u16;
        let children: Vec<ChildRef> = (0..bitmap.count_ones())
            .map(|_| {
                let is_leaf = bitmap.count_ones() > 1 && rng.below(2) == 0;
                ChildRef {
                    hash: rng.hash(),
                    version: rng.below(5),
                    leaf_count: if is_leaf { 1 } else { 2 + rng.below(9) },
                    is_leaf,
                }
            })
            .collect();
        let node = TreeNode::Internal(Internal { bitmap, children });
        let jmt_node = keys::to_jmt(&node).expect("jmt node");
        assert_eq!(node.hash_of(), jmt_hash(&jmt_node), "bitmap {bitmap:016b}");
        assert_eq!(keys::from_jmt(&jmt_node).expect("ours"), node);
    }
    let (empty_root, _) = Sha256Jmt::new(&MemTree::default())
        .put_value_set(vec![], 0)
        .expect("empty tree");
    assert_eq!(TreeNode::Null.hash_of(), empty_root.0);
}

#[test]
fn bad_batches_are_errors() {
    let tree = MemTree::default();
    assert!(batch_insert(&mut &tree, 0, &[]).is_err());
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert!(batch_insert(&mut &tree, 0, &[(b, a), (a, a)]).is_err());
    assert!(batch_insert(&mut &tree, 0, &[(a, a), (a, b)]).is_err());
    // Version 3 over a tree without the root of version 2: a missing node, not a panic.
    assert!(batch_insert(&mut &tree, 3, &[(a, a)]).is_err());
}

/// One block for the per-key path: inserts, overwrites, deletes of live and of absent keys, keys
/// splitting existing leaves; unique keys in random order (the store passes raw-key order, which
/// is unrelated to key-hash order). Some blocks delete every key, or all but one, or nothing.
fn mixed_block(rng: &mut Mix, live: &[Hash32]) -> Vec<(Hash32, Option<Vec<u8>>)> {
    let mut chosen: BTreeMap<Hash32, Option<Vec<u8>>> = BTreeMap::new();
    match rng.below(12) {
        0 => {
            for key in live {
                chosen.insert(*key, None);
            }
        }
        1 => {
            for key in live.iter().skip(1) {
                chosen.insert(*key, None);
            }
        }
        2 => {}
        _ => {
            let size = 1 + rng.below(60);
            for _ in 0..size {
                let pick = |rng: &mut Mix| live[rng.below(live.len() as u64) as usize];
                let (key, value) = match rng.below(6) {
                    0 | 1 if !live.is_empty() => (pick(rng), None),
                    2 if !live.is_empty() => (pick(rng), Some(rng.value())),
                    3 if !live.is_empty() => {
                        let live_key = pick(rng);
                        let key = split_key(rng, live_key);
                        let value = (rng.below(4) != 0).then(|| rng.value());
                        (key, value)
                    }
                    4 => (rng.hash(), None),
                    _ => (rng.hash(), Some(rng.value())),
                };
                chosen.insert(key, value);
            }
        }
    }
    let mut ops: Vec<(Hash32, Option<Vec<u8>>)> = chosen.into_iter().collect();
    // Fisher-Yates with the seeded generator.
    for i in (1..ops.len()).rev() {
        ops.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ops
}

/// Runs random mixed blocks through jmt's `put_value_set` and through [`put_per_key`]; returns
/// how many blocks emptied the tree and how many deletes ran.
fn differential_per_key(seed: u64, first_version: Version, versions: u64) -> (usize, usize) {
    let mut rng = Mix(seed);
    let tree = MemTree::empty_before(first_version);
    let mut values: BTreeMap<Hash32, Vec<u8>> = BTreeMap::new();
    let (mut emptied, mut deletes) = (0, 0);
    for version in first_version..first_version + versions {
        let live: Vec<Hash32> = values.keys().copied().collect();
        let ops = mixed_block(&mut rng, &live);
        let (root, expected) = Sha256Jmt::new(&tree)
            .put_value_set(ops.iter().map(|(k, v)| (KeyHash(*k), v.clone())), version)
            .expect("jmt update");
        let hashed: Vec<(Hash32, Option<Hash32>)> = ops
            .iter()
            .map(|(k, v)| (*k, v.as_ref().map(|v| Sha256::digest(v).into())))
            .collect();
        let ours = put_per_key(&mut &tree, version, &hashed).expect("our update");

        let our_nodes = assert_same_update(version, &ours, root, &expected);

        tree.nodes.borrow_mut().extend(our_nodes);
        for (key, value) in ops {
            deletes += usize::from(value.is_none());
            match &value {
                Some(v) => values.insert(key, v.clone()),
                None => values.remove(&key),
            };
            tree.values
                .borrow_mut()
                .insert((KeyHash(key), version), value);
        }
        emptied += usize::from(values.is_empty() && !live.is_empty());

        assert_proofs_verify(&tree, &mut rng, &values, version, ours.root);
    }
    (emptied, deletes)
}

#[test]
fn per_key_updates_with_deletes_match_jmt() {
    let mut emptied = 0;
    let mut deletes = 0;
    for (seed, first_version) in [(11, 0), (12, 4), (13, 1), (14, 0), (15, 9)] {
        let (e, d) = differential_per_key(seed, first_version, 70);
        emptied += e;
        deletes += d;
    }
    // The runs went through the cases that matter: trees deleted down to nothing, many deletes.
    assert!(
        emptied >= 3 && deletes > 500,
        "{emptied} emptied, {deletes} deletes"
    );
}
