//! The root depends only on the content: not on insertion order, nor on how many blocks it took.
use std::collections::BTreeMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt};
use proptest::prelude::*;
use seqpool_store::Storage;
use sha2::Sha256;

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn commit_blocks(blocks: &[Changes]) -> [u8; 32] {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let mut root = storage.latest_snapshot().root_hash();
    for (i, block) in blocks.iter().enumerate() {
        let prepared = storage
            .prepare(block.clone(), i as u64 + 1)
            .expect("prepare");
        root = storage.commit(prepared).expect("commit");
    }
    root
}

/// Ops over a small key space so that overwrites and deletes of existing keys are common.
fn ops() -> impl Strategy<Value = Vec<(Vec<u8>, Option<Vec<u8>>)>> {
    let key = prop::collection::vec(0u8..4, 1..4);
    let value = prop::option::weighted(0.75, prop::collection::vec(any::<u8>(), 1..6));
    prop::collection::vec((key, value), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn root_depends_only_on_final_content(
        ops in ops(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        shuffle_seed in any::<u64>(),
    ) {
        // History A: the ops in order, split into blocks at random cut points.
        let mut cut_points: Vec<usize> = cuts.iter().map(|c| c.index(ops.len() + 1)).collect();
        cut_points.push(ops.len());
        cut_points.sort_unstable();
        let mut blocks = Vec::new();
        let mut start = 0;
        for end in cut_points {
            let mut block = Changes::new();
            for (k, v) in &ops[start..end] {
                block.insert(k.clone(), v.clone());
            }
            blocks.push(block);
            start = end;
        }
        let mut content = BTreeMap::new();
        for (k, v) in &ops {
            match v {
                Some(v) => { content.insert(k.clone(), v.clone()); }
                None => { content.remove(k); }
            }
        }

        // History B: the final content in one block.
        let single: Changes = content.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();

        // History C: the final content one key per block, in a shuffled order.
        let mut entries: Vec<_> = content.iter().collect();
        let mut state = shuffle_seed | 1;
        for i in (1..entries.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            entries.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let one_by_one: Vec<Changes> =
            entries.iter().map(|(k, v)| Changes::from([((*k).clone(), Some((*v).clone()))])).collect();

        let root_a = commit_blocks(&blocks);
        let root_b = commit_blocks(&[single]);
        let root_c = commit_blocks(&one_by_one);
        prop_assert_eq!(root_a, root_b);
        prop_assert_eq!(root_b, root_c);
    }
}

#[test]
fn different_content_gives_a_different_root() {
    let a = commit_blocks(&[Changes::from([(b"k".to_vec(), Some(b"1".to_vec()))])]);
    let b = commit_blocks(&[Changes::from([(b"k".to_vec(), Some(b"2".to_vec()))])]);
    let c = commit_blocks(&[Changes::from([(b"j".to_vec(), Some(b"1".to_vec()))])]);
    assert_ne!(a, b);
    assert_ne!(a, c);
}

/// Insert-only blocks take jmt's batch path, blocks with a delete the per-key path: same roots.
#[test]
fn batch_and_per_key_updates_agree() {
    let base: Changes = (0..3_000u32)
        .map(|i| {
            (
                format!("base/{i}").into_bytes(),
                Some(i.to_be_bytes().to_vec()),
            )
        })
        .collect();
    let update: Changes = (0..1_500u32)
        .map(|i| {
            (
                format!("base/{}", i * 7 % 4_000).into_bytes(),
                Some(format!("new {i}").into_bytes()),
            )
        })
        .collect();
    let mut update_with_noop_delete = update.clone();
    update_with_noop_delete.insert(b"absent".to_vec(), None);
    let batch = commit_blocks(&[base.clone(), update]);
    let per_key = commit_blocks(&[base, update_with_noop_delete]);
    assert_eq!(batch, per_key);
}

/// jmt over a plain in-memory node map: the reference for what the root of some writes must be.
#[derive(Default)]
struct ReferenceTree(std::cell::RefCell<BTreeMap<NodeKey, Node>>);

impl TreeReader for ReferenceTree {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.0.borrow().get(key).cloned())
    }
    fn get_value_option(&self, _: u64, _: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        anyhow::bail!("roots never read values")
    }
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(None)
    }
}

/// The stored format (compact node records, node cache, one value record per write) never shows in
/// the root: every committed root equals plain jmt's over the same writes, block after block, for
/// insert-only blocks (jmt's batch path, with overwrites) and blocks with deletes (per-key path),
/// and after reopening (tree nodes then come back from LevelDB).
#[test]
fn roots_equal_plain_jmt_over_the_same_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = ReferenceTree::default();
    let mut storage = Storage::open(dir.path()).expect("open");
    for version in 1..=6u64 {
        let block: Changes = (0..400u64)
            .filter(|i| version == 1 || i % version != 0)
            .map(|i| {
                let value =
                    (version % 2 == 1 || i % 7 != 0).then(|| format!("{version}/{i}").into_bytes());
                (format!("acct/{i:05}").into_bytes(), value)
            })
            .collect();
        let writes: Vec<(KeyHash, Option<OwnedValue>)> = block
            .iter()
            .map(|(k, v)| (KeyHash::with::<Sha256>(k), v.clone()))
            .collect();
        let (expected, batch) = Sha256Jmt::new(&reference)
            .put_value_set(writes, version)
            .expect("reference update");
        for (key, node) in batch.node_batch.nodes() {
            reference.0.borrow_mut().insert(key.clone(), node.clone());
        }
        let root = storage
            .commit(storage.prepare(block, version).expect("prepare"))
            .expect("commit");
        assert_eq!(root, expected.0, "version {version}");
        if version == 3 {
            drop(storage);
            storage = Storage::open(dir.path()).expect("reopen");
        }
    }
}
