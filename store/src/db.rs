//! The LevelDB owner. `rusty_leveldb::DB` is built on `Rc` (neither `Send` nor `Sync`), so one
//! dedicated thread opens it and serves every request that needs the disk; [`crate::Storage`]
//! handles talk to it over a channel. The same thread keeps the exact read cache of the latest
//! version up to date, so a cache entry can never outlive the version it describes.
#![allow(clippy::disallowed_types)] // HashMaps here are caches: looked up, never iterated.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, RwLock};

use jmt::proof::SparseMerkleProof;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt};
use rusty_leveldb::{LdbIterator, Options, WriteBatch, DB};
use sha2::{Digest, Sha256};

use crate::keys;
use crate::tree::{self, Hash32, NodePath, NodeSource, TreeNode};
use crate::wal::{CommitLog, LoggedCommit};
use crate::{Entries, RootHash, StoreError, Version};

/// Entries per generation of the latest-version value cache.
const VALUE_CACHE_GENERATION: usize = 1 << 18;
/// Entries per generation of the tree node cache. The updater reads the old leaf of every key it
/// updates, so the cache should hold the whole live tree (a miss is a LevelDB read, ~40 µs): two
/// generations of 2^19 nodes cover a state of several hundred thousand keys (~150 bytes per
/// leaf entry, plus ~60 bytes per child of an internal node).
const NODE_CACHE_GENERATION: usize = 1 << 19;
/// A checkpoint (LevelDB synced, commit log emptied) after this many commits, or once the log
/// holds this many bytes: bounds the log's size and the replay on open.
const CHECKPOINT_COMMITS: usize = 16;
const CHECKPOINT_BYTES: u64 = 64 << 20;

/// A bounded map with two generations: inserts go to the young one; when it is full it becomes
/// the old one and the previous old generation is dropped. Lookups see young first, so an entry
/// rewritten after a rotation always shadows its stale copy. [`Generational::get_refreshed`] moves
/// an old entry back to the young generation, so entries in use survive rotations (approximate LRU).
pub(crate) struct Generational<K, V, S = RandomState> {
    young: HashMap<K, V, S>,
    old: HashMap<K, V, S>,
    capacity: usize,
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> Generational<K, V, S> {
    pub fn new(capacity: usize) -> Self {
        Self {
            young: HashMap::default(),
            old: HashMap::default(),
            capacity,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.young.get(key).or_else(|| self.old.get(key))
    }

    /// Like `get`, but an entry found in the old generation moves to the young one.
    pub fn get_refreshed(&mut self, key: &K) -> Option<&V> {
        if !self.young.contains_key(key) {
            let (owned, value) = self.old.remove_entry(key)?;
            self.insert(owned, value);
        }
        self.young.get(key)
    }

    pub fn insert(&mut self, key: K, value: V) {
        if self.young.len() >= self.capacity {
            // Sized once per rotation: growing a large map by doubling rehashes it repeatedly.
            let fresh = HashMap::with_capacity_and_hasher(self.capacity, S::default());
            self.old = std::mem::replace(&mut self.young, fresh);
        }
        self.young.insert(key, value);
    }

    pub fn remove(&mut self, key: &K) {
        self.young.remove(key);
        self.old.remove(key);
    }

    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

/// Hashes a [`CachedNodeKey`] (three integers) with a multiply-xorshift keyed per process: the node
/// cache is hashed several times per updated key, and SipHash was ~8% of a block's prepare. The
/// key makes the bucket of a node unpredictable to whoever picks the state keys.
#[derive(Clone, Copy)]
pub(crate) struct NodeKeyHasher(u64);

impl Hasher for NodeKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        let mixed = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 29);
    }
    fn finish(&self) -> u64 {
        let z = self.0.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 31)
    }
}

/// Builds [`NodeKeyHasher`]s with this process's key.
#[derive(Clone, Copy)]
pub(crate) struct NodeKeyHashing(u64);

impl Default for NodeKeyHashing {
    fn default() -> Self {
        static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        Self(*KEY.get_or_init(|| RandomState::new().hash_one(0x5EC9_9001_u64)))
    }
}

impl BuildHasher for NodeKeyHashing {
    type Hasher = NodeKeyHasher;
    fn build_hasher(&self) -> NodeKeyHasher {
        NodeKeyHasher(self.0)
    }
}

/// Nodes in our own form ([`TreeNode`]), shared with the updater and the prepared commits.
type NodeCache = Generational<CachedNodeKey, Arc<TreeNode>, NodeKeyHashing>;

/// A tree node's key packed into a few words: cheap to hash and copy, no allocation. Covers node
/// paths of up to 16 nibbles (a tree of far more than 2^32 keys); deeper nodes are not cached.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CachedNodeKey {
    version: Version,
    nibbles: u8,
    path: u64,
}

impl CachedNodeKey {
    fn of(key: &NodeKey) -> Option<Self> {
        let nibble_path = key.nibble_path();
        let nibbles = u8::try_from(nibble_path.num_nibbles())
            .ok()
            .filter(|&n| n <= 16)?;
        let path = nibble_path
            .nibbles()
            .fold(0u64, |acc, nibble| (acc << 4) | u64::from(u8::from(nibble)));
        Some(Self {
            version: key.version(),
            nibbles,
            path,
        })
    }

    /// The same key for a node of our updater.
    fn of_path(version: Version, path: &NodePath) -> Option<Self> {
        if path.depth > 16 {
            return None;
        }
        let mut head = [0u8; 8];
        head.copy_from_slice(&path.bytes[..8]);
        let path_bits = match path.depth {
            0 => 0,
            depth => u64::from_be_bytes(head) >> (64 - 4 * u32::from(depth)),
        };
        Some(Self {
            version,
            nibbles: path.depth,
            path: path_bits,
        })
    }
}

/// What every handle knows about the latest committed version, without asking the DB thread.
pub(crate) struct LatestState {
    pub version: Option<Version>,
    pub root: RootHash,
    /// Exact values (or absence) of keys at `version`.
    pub values: Generational<Vec<u8>, Option<Vec<u8>>>,
}

pub(crate) type Reply<T> = Sender<Result<T, StoreError>>;

/// The output of a prepare: everything a commit writes, computed but not yet durable.
pub(crate) struct PreparedWrites {
    pub store_id: u64,
    pub base: Option<Version>,
    pub version: Version,
    pub root: RootHash,
    /// Every record of the version (tree nodes, key index, latest marker), already in LevelDB's
    /// batch encoding so that commit hands it over without copying record by record.
    pub batch: WriteBatch,
    pub nodes: Vec<(CachedNodeKey, Arc<TreeNode>)>,
    /// Nodes of earlier versions that this version replaces: dropped from the cache at commit so
    /// that it holds the live tree, which is what the next updates read.
    pub stale: Vec<CachedNodeKey>,
    pub changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

pub(crate) enum Request {
    Get {
        key: Vec<u8>,
        version: Version,
        reply: Reply<Option<Vec<u8>>>,
    },
    Prefix {
        prefix: Vec<u8>,
        version: Version,
        reply: Reply<Entries>,
    },
    Root {
        version: Version,
        reply: Reply<RootHash>,
    },
    Proof {
        key: Vec<u8>,
        version: Version,
        reply: Reply<(Option<Vec<u8>>, SparseMerkleProof<Sha256>)>,
    },
    Prepare {
        changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        version: Version,
        reply: Reply<Box<PreparedWrites>>,
    },
    Commit {
        prepared: Box<PreparedWrites>,
        reply: Reply<RootHash>,
    },
    Shutdown,
}

/// The root of an empty tree: jmt's placeholder hash (checked against jmt in the tests).
pub(crate) fn empty_root() -> RootHash {
    *b"SPARSE_MERKLE_PLACEHOLDER_HASH__"
}

fn db_err(context: &str, status: rusty_leveldb::Status) -> StoreError {
    StoreError::Db(format!("{context}: {status}"))
}

/// The latest-version marker, read through an iterator. Not `DB::get`: rusty-leveldb's table
/// lookup answers "absent" when the lookup key equals its data block's index key, which happens
/// to the marker (rewritten by every version, and the last write of each) when its newest entry
/// ends a block of a table; `get` then returns an older table's marker, and the store would open
/// at an older version (tests/leveldb_get.rs; found by tests/crash_stress.rs: "commit log holds
/// version 239 but the database ends at 222"). The iterator merges every table by sequence number.
fn read_marker(db: &mut DB) -> Result<Option<Vec<u8>>, StoreError> {
    let mut iter = db.new_iter().map_err(|e| db_err("open iterator", e))?;
    iter.seek(keys::LATEST_MARKER);
    Ok(iter
        .current()
        .filter(|(k, _)| k[..] == *keys::LATEST_MARKER)
        .map(|(_, v)| v.to_vec()))
}

/// Converts a jmt (anyhow) error back to ours: errors raised by our reader travel through jmt
/// inside anyhow and are recovered intact; anything else is a tree error.
fn from_jmt(err: anyhow::Error) -> StoreError {
    match err.downcast::<StoreError>() {
        Ok(store_err) => store_err,
        Err(other) => StoreError::Tree(format!("{other:#}")),
    }
}

/// The tree's view of the database (plus the node cache).
struct TreeView<'a> {
    db: &'a RefCell<DB>,
    nodes: &'a RefCell<NodeCache>,
    /// On an empty store the first version may be > 0; jmt then looks for the root of
    /// `version - 1`, which we present as an empty tree without ever writing it.
    virtual_empty_root: Option<Version>,
    /// The raw key whose value jmt may ask for by key hash (proofs only): values are stored by
    /// raw key in the key index, not a second time by key hash.
    proved_key: Option<&'a [u8]>,
    /// The last error this reader handed to jmt. jmt unwraps reader errors on some paths (proof
    /// siblings), so after catching such a panic this is the error to report.
    last_error: RefCell<Option<StoreError>>,
}

/// A copy of `err` (StoreError is not Clone).
fn duplicate(err: &StoreError) -> StoreError {
    match err {
        StoreError::Corrupt { key, reason } => StoreError::Corrupt {
            key: key.clone(),
            reason: reason.clone(),
        },
        StoreError::Db(m) => StoreError::Db(m.clone()),
        other => StoreError::Tree(other.to_string()),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl<'a> TreeView<'a> {
    fn new(
        db: &'a RefCell<DB>,
        nodes: &'a RefCell<NodeCache>,
        virtual_empty_root: Option<Version>,
    ) -> Self {
        Self {
            db,
            nodes,
            virtual_empty_root,
            proved_key: None,
            last_error: RefCell::new(None),
        }
    }

    fn remember<T>(&self, result: Result<T, StoreError>) -> anyhow::Result<T> {
        result.map_err(|e| {
            *self.last_error.borrow_mut() = Some(duplicate(&e));
            anyhow::Error::from(e)
        })
    }

    /// Runs a jmt operation, turning its panics on damaged data into errors.
    fn run<T>(&self, op: impl FnOnce(&Self) -> anyhow::Result<T>) -> Result<T, StoreError> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(self))) {
            Ok(result) => result.map_err(from_jmt),
            Err(payload) => Err(self.last_error.borrow_mut().take().unwrap_or_else(|| {
                StoreError::Tree(format!("jmt failed: {}", panic_message(payload.as_ref())))
            })),
        }
    }

    /// A node as jmt reads it.
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StoreError> {
        let is_root = key.nibble_path().num_nibbles() == 0;
        let db_key = || keys::node_key(key);
        let Some(node) = self.load(key.version(), is_root, CachedNodeKey::of(key), db_key)? else {
            return Ok(None);
        };
        keys::to_jmt(&node)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt {
                key: db_key().map(|k| keys::show(&k)).unwrap_or_default(),
                reason: format!("tree node jmt cannot read: {reason}"),
            })
    }

    /// A node in our form, from the cache or else LevelDB (then cached). The LevelDB key is
    /// built only on a miss.
    fn load(
        &self,
        version: Version,
        is_root: bool,
        cache_key: Option<CachedNodeKey>,
        db_key: impl FnOnce() -> Result<Vec<u8>, StoreError>,
    ) -> Result<Option<Arc<TreeNode>>, StoreError> {
        if is_root && self.virtual_empty_root == Some(version) {
            return Ok(Some(Arc::new(TreeNode::Null)));
        }
        if let Some(cache_key) = &cache_key {
            if let Some(node) = self.nodes.borrow_mut().get_refreshed(cache_key) {
                return Ok(Some(node.clone()));
            }
        }
        let db_key = db_key()?;
        let Some(record) = self.db.borrow_mut().get(&db_key) else {
            return Ok(None);
        };
        let node = Arc::new(keys::decode_tree_node(&db_key, &record)?);
        if let Some(cache_key) = cache_key {
            self.nodes.borrow_mut().insert(cache_key, node.clone());
        }
        Ok(Some(node))
    }

    /// The newest entry of `prefix` (exact key prefix ending before the inverted version) at or
    /// below `version`, found with one seek because versions are stored newest first.
    fn newest_at(
        &self,
        seek_to: &[u8],
        same_entry_prefix: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut iter = self
            .db
            .borrow_mut()
            .new_iter()
            .map_err(|e| db_err("open iterator", e))?;
        iter.seek(seek_to);
        match iter.current() {
            Some((k, v)) if k.len() == seek_to.len() && k.starts_with(same_entry_prefix) => {
                keys::decode_value(&k, &v)
            }
            _ => Ok(None),
        }
    }
}

impl NodeSource for TreeView<'_> {
    fn node(
        &mut self,
        version: Version,
        path: &NodePath,
    ) -> Result<Option<Arc<TreeNode>>, StoreError> {
        self.load(
            version,
            path.depth == 0,
            CachedNodeKey::of_path(version, path),
            || Ok(keys::tree_node_key(version, path)),
        )
    }
}

impl TreeReader for TreeView<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        self.remember(self.node(node_key))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        // jmt asks for a value only while proving the key `proof` handed us.
        let result = match self.proved_key {
            Some(key) if KeyHash::with::<Sha256>(key) == key_hash => {
                let seek_to = keys::index_key(key, max_version);
                self.newest_at(&seek_to, &seek_to[..seek_to.len() - 8])
            }
            _ => Err(StoreError::Tree(format!(
                "value of key hash {} requested outside a proof of that key",
                hex::encode(key_hash.0)
            ))),
        };
        self.remember(result)
    }

    /// Only jmt's restore uses this; we scan every node, which is exact if slow.
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let mut iter = self
            .db
            .borrow_mut()
            .new_iter()
            .map_err(|e| db_err("open iterator", e))?;
        iter.seek(&[keys::NODE_PREFIX]);
        let mut best: Option<(NodeKey, LeafNode)> = None;
        while let Some((k, v)) = iter.current() {
            if k.first() != Some(&keys::NODE_PREFIX) {
                break;
            }
            if let Node::Leaf(leaf) = keys::decode_node(&k, &v)? {
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
                {
                    best = Some((keys::decode_node_key(&k)?, leaf));
                }
            }
            if !iter.advance() {
                break;
            }
        }
        Ok(best)
    }
}

struct Unapplied {
    batch: Vec<u8>,
    nodes: Vec<(CachedNodeKey, Arc<TreeNode>)>,
    stale: Vec<CachedNodeKey>,
}

pub(crate) struct Worker {
    store_id: u64,
    dir: PathBuf,
    db: RefCell<DB>,
    /// Committed versions not yet synced in LevelDB (see [`crate::wal`]).
    log: CommitLog,
    /// The last commit's work that can wait until it has answered (done before the next request
    /// is served): its LevelDB batch (already in the log) and the node cache update.
    unapplied: Option<Unapplied>,
    nodes: RefCell<NodeCache>,
    latest: Arc<RwLock<LatestState>>,
    latest_version: Option<Version>,
    /// Set when a write failed half-way in memory: the handle refuses further work.
    broken: Option<String>,
    /// Database files and their length at their last fsync (tables are immutable: once is enough).
    synced_files: BTreeMap<String, u64>,
}

/// Opens the database and reads the latest-version marker. Runs on the DB thread.
pub(crate) fn open(
    path: &Path,
    store_id: u64,
) -> Result<(Worker, Arc<RwLock<LatestState>>), StoreError> {
    std::fs::create_dir_all(path)
        .map_err(|e| StoreError::Db(format!("create directory {}: {e}", path.display())))?;
    let options = Options {
        create_if_missing: true,
        write_buffer_size: 32 << 20,
        block_cache_capacity_bytes: 64 << 20,
        // Batches reach LevelDB's log unsynced, so a crash can tear its last record. A reused log
        // would get new records appended after the torn one, and rusty-leveldb's reader then
        // glues the torn fragment to the next record (a malformed batch, a panic on open). A
        // fresh log per open keeps the torn tail at the end, where the reader drops it; the commit
        // log replays whatever it held.
        reuse_logs: false,
        // The same holds for the MANIFEST: a kill while an edit is appended tears it, and a reused
        // manifest gets the next session's edits after the torn record, which its reader (it stops
        // at the first bad record) never sees again: the tables they added are deleted as obsolete
        // on the open after, with the versions in them (tests/leveldb_manifest.rs). A new manifest
        // per open (CURRENT switched by a rename) keeps a torn edit last.
        reuse_manifest: false,
        ..Options::default()
    };
    let mut db =
        DB::open(path, options).map_err(|e| db_err(&format!("open {}", path.display()), e))?;
    let (log, logged) = CommitLog::open(path)?;
    let replayed = replay(&mut db, logged)?;
    let (version, root) = match read_marker(&mut db)? {
        Some(marker) => {
            let (version, root) = keys::decode_marker(&marker)?;
            (Some(version), root)
        }
        None => {
            let mut iter = db.new_iter().map_err(|e| db_err("open iterator", e))?;
            iter.seek(&[keys::NODE_PREFIX]);
            if let Some((k, _)) = iter.current() {
                if k.first() == Some(&keys::NODE_PREFIX) {
                    return Err(StoreError::Corrupt {
                        key: keys::show(keys::LATEST_MARKER),
                        reason: "latest-version marker missing but tree nodes exist".into(),
                    });
                }
            }
            (None, empty_root())
        }
    };
    let latest = Arc::new(RwLock::new(LatestState {
        version,
        root,
        values: Generational::new(VALUE_CACHE_GENERATION),
    }));
    let mut worker = Worker {
        store_id,
        dir: path.to_path_buf(),
        db: RefCell::new(db),
        log,
        unapplied: None,
        nodes: RefCell::new(Generational::new(NODE_CACHE_GENERATION)),
        latest: latest.clone(),
        latest_version: version,
        broken: None,
        synced_files: BTreeMap::new(),
    };
    if replayed > 0 || worker.log.records > 0 {
        worker.checkpoint()?;
    }
    if let Some(v) = version {
        // The marker and the tree must agree, or the store is damaged.
        let stored = worker.root_at(v).map_err(|e| StoreError::Corrupt {
            key: keys::show(keys::LATEST_MARKER),
            reason: format!(
                "latest-version marker names version {v}, whose root cannot be read: {e}"
            ),
        })?;
        if stored != root {
            return Err(StoreError::Corrupt {
                key: keys::show(keys::LATEST_MARKER),
                reason: format!(
                    "latest-version marker root {} differs from the tree root {} at version {v}",
                    hex::encode(root),
                    hex::encode(stored)
                ),
            });
        }
    }
    Ok((worker, latest))
}

/// Writes the logged versions that LevelDB does not have yet (a crash came between a commit and
/// its checkpoint), in order. Returns how many it wrote.
fn replay(db: &mut DB, logged: Vec<LoggedCommit>) -> Result<usize, StoreError> {
    let mut latest = match read_marker(db)? {
        Some(marker) => Some(keys::decode_marker(&marker)?.0),
        None => None,
    };
    let mut replayed = 0;
    for commit in logged {
        match latest {
            Some(l) if commit.version <= l => continue,
            Some(l) if commit.version != l.saturating_add(1) => {
                return Err(StoreError::Corrupt {
                    key: crate::wal::FILE_NAME.into(),
                    reason: format!(
                        "commit log holds version {} but the database ends at {l}",
                        commit.version
                    ),
                })
            }
            _ => {}
        }
        let mut batch = WriteBatch::default();
        batch.set_contents(&commit.batch);
        db.write(batch, false)
            .map_err(|e| db_err(&format!("replay version {}", commit.version), e))?;
        latest = Some(commit.version);
        replayed += 1;
    }
    if replayed > 0 {
        tracing::info!(
            replayed,
            latest,
            "replayed committed versions from the commit log"
        );
    }
    Ok(replayed)
}

impl Worker {
    pub fn run(mut self, requests: Receiver<Request>) {
        while let Ok(request) = requests.recv() {
            if matches!(request, Request::Shutdown) {
                break;
            }
            // A panic must not kill the only thread that owns the database; the dropped reply
            // sender tells the caller that its request failed.
            let is_commit = matches!(request, Request::Commit { .. });
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.serve(request)));
            if let Err(payload) = outcome {
                let message = panic_message(payload.as_ref());
                tracing::error!(panic = %message, "store request panicked");
                if is_commit {
                    // Disk and memory may disagree about the latest version now.
                    self.broken = Some(format!("commit panicked: {message}"));
                }
            }
            self.apply_logged();
        }
        // A clean close leaves LevelDB synced and the log empty.
        if self.broken.is_none() && self.log.records > 0 {
            if let Err(e) = self.checkpoint() {
                tracing::error!(error = %e, "checkpoint on close failed; the next open replays the commit log");
            }
        }
    }

    /// Writes the last commit's batch into LevelDB (it is durable in the commit log already), and
    /// checkpoints when the log has grown enough. A failure leaves the handle refusing work; the
    /// next open replays the log.
    fn apply_logged(&mut self) {
        let Some(unapplied) = self.unapplied.take() else {
            return;
        };
        {
            let mut nodes = self.nodes.borrow_mut();
            for key in &unapplied.stale {
                nodes.remove(key);
            }
            for (key, node) in unapplied.nodes {
                nodes.insert(key, node);
            }
        }
        let mut batch = WriteBatch::default();
        batch.set_contents(&unapplied.batch);
        drop(unapplied.batch);
        if let Err(e) = self.db.borrow_mut().write(batch, false) {
            tracing::error!(error = %e, "writing a logged commit into LevelDB failed");
            self.broken = Some(format!("write logged commit: {e}"));
            return;
        }
        if self.log.records >= CHECKPOINT_COMMITS || self.log.bytes >= CHECKPOINT_BYTES {
            if let Err(e) = self.checkpoint() {
                tracing::error!(error = %e, "checkpoint failed");
                self.broken = Some(format!("checkpoint: {e}"));
            }
        }
    }

    /// Makes LevelDB durable up to the latest commit, then empties the commit log.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.db
            .borrow_mut()
            .flush()
            .map_err(|e| db_err("flush LevelDB log", e))?;
        self.sync_files()?;
        self.log.clear()
    }

    fn serve(&mut self, request: Request) {
        {
            // A dropped reply receiver just means the caller went away; nothing to do.
            match request {
                Request::Get {
                    key,
                    version,
                    reply,
                } => {
                    let _ = reply.send(self.guard().and_then(|_| self.get(&key, version)));
                }
                Request::Prefix {
                    prefix,
                    version,
                    reply,
                } => {
                    let _ = reply.send(self.guard().and_then(|_| self.prefix(&prefix, version)));
                }
                Request::Root { version, reply } => {
                    let _ = reply.send(self.guard().and_then(|_| self.root_at(version)));
                }
                Request::Proof {
                    key,
                    version,
                    reply,
                } => {
                    let _ = reply.send(self.guard().and_then(|_| self.proof(&key, version)));
                }
                Request::Prepare {
                    changes,
                    version,
                    reply,
                } => {
                    let _ = reply.send(self.guard().and_then(|_| self.prepare(changes, version)));
                }
                Request::Commit { prepared, reply } => {
                    let _ = reply.send(self.guard().and_then(|_| self.commit(*prepared)));
                }
                Request::Shutdown => {}
            }
        }
    }

    fn guard(&self) -> Result<(), StoreError> {
        match &self.broken {
            Some(reason) => Err(StoreError::Db(format!(
                "store unusable after a failed write ({reason}); reopen it"
            ))),
            None => Ok(()),
        }
    }

    fn view(&self) -> TreeView<'_> {
        TreeView::new(&self.db, &self.nodes, None)
    }

    fn check_available(&self, version: Version) -> Result<(), StoreError> {
        match self.latest_version {
            Some(latest) if version <= latest => Ok(()),
            latest => Err(StoreError::VersionUnavailable {
                requested: version,
                latest,
            }),
        }
    }

    fn root_at(&self, version: Version) -> Result<RootHash, StoreError> {
        self.check_available(version)?;
        match self
            .view()
            .run(|view| Sha256Jmt::new(view).get_root_hash_option(version))?
        {
            Some(root) => Ok(root.0),
            None => Err(StoreError::VersionUnavailable {
                requested: version,
                latest: self.latest_version,
            }),
        }
    }

    fn get(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_available(version)?;
        let seek_to = keys::index_key(key, version);
        let value = self
            .view()
            .newest_at(&seek_to, &seek_to[..seek_to.len() - 8])?;
        if Some(version) == self.latest_version {
            let mut latest = self.latest.write().unwrap_or_else(|p| p.into_inner());
            latest.values.insert(key.to_vec(), value.clone());
        }
        Ok(value)
    }

    fn prefix(&self, prefix: &[u8], version: Version) -> Result<Entries, StoreError> {
        self.check_available(version)?;
        let start = keys::index_prefix(prefix);
        let mut iter = self
            .db
            .borrow_mut()
            .new_iter()
            .map_err(|e| db_err("open iterator", e))?;
        iter.seek(&start);
        let mut out = Vec::new();
        // The key whose value at `version` was already decided (entries of one key are adjacent).
        let mut decided: Option<Vec<u8>> = None;
        while let Some((k, v)) = iter.current() {
            if !k.starts_with(&start) {
                break;
            }
            let (raw, entry_version) =
                keys::decode_index_key(&k).ok_or_else(|| StoreError::Corrupt {
                    key: keys::show(&k),
                    reason: "malformed key index entry".into(),
                })?;
            if entry_version <= version && decided.as_deref() != Some(raw.as_slice()) {
                if let Some(value) = keys::decode_value(&k, &v)? {
                    out.push((raw.clone(), value));
                }
                decided = Some(raw);
            }
            if !iter.advance() {
                break;
            }
        }
        Ok(out)
    }

    fn proof(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, SparseMerkleProof<Sha256>), StoreError> {
        self.check_available(version)?;
        let mut view = self.view();
        view.proved_key = Some(key);
        view.run(|view| Sha256Jmt::new(view).get_with_proof(KeyHash::with::<Sha256>(key), version))
    }

    fn prepare(
        &self,
        changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        version: Version,
    ) -> Result<Box<PreparedWrites>, StoreError> {
        if let Some(latest) = self.latest_version {
            let expected = latest.saturating_add(1);
            if version != expected {
                return Err(StoreError::VersionOutOfOrder {
                    attempted: version,
                    expected,
                });
            }
        }
        if changes
            .iter()
            .any(|(k, v)| k.is_empty() || v.as_ref().is_some_and(|v| v.is_empty()))
        {
            return Err(StoreError::EmptyValue);
        }
        let virtual_empty_root = match (self.latest_version, version) {
            (None, v) if v > 0 => Some(v - 1),
            _ => None,
        };
        let mut view = TreeView::new(&self.db, &self.nodes, virtual_empty_root);
        let has_deletes = changes.values().any(Option::is_none);
        let update = if changes.is_empty() || has_deletes {
            // Deletes: jmt's per-key semantics (its result depends on the key order, here the
            // raw key order jmt was given before).
            let writes: Vec<(Hash32, Option<Hash32>)> = changes
                .iter()
                .map(|(k, v)| {
                    let value_hash = v.as_ref().map(|v| Sha256::digest(v).into());
                    (Sha256::digest(k).into(), value_hash)
                })
                .collect();
            tree::put_per_key(&mut view, version, &writes)?
        } else {
            // Inserts only: one pass over the sorted key hashes (jmt's batch insert).
            let mut writes: Vec<(Hash32, Hash32)> = changes
                .iter()
                .filter_map(|(k, v)| {
                    let v = v.as_ref()?;
                    Some((Sha256::digest(k).into(), Sha256::digest(v).into()))
                })
                .collect();
            writes.sort_unstable_by_key(|w| w.0);
            tree::batch_insert(&mut view, version, &writes)?
        };
        let mut records = WriteBatch::default();
        let mut nodes = Vec::with_capacity(update.nodes.len());
        let (mut db_key, mut record) = (Vec::new(), Vec::new());
        for (path, node) in update.nodes {
            keys::tree_node_key_into(version, &path, &mut db_key);
            keys::encode_tree_node_into(&db_key, &node, &mut record)?;
            records.put(&db_key, &record);
            if let Some(cache_key) = CachedNodeKey::of_path(version, &path) {
                nodes.push((cache_key, node));
            }
        }
        let stale = update
            .stale
            .iter()
            .filter_map(|(v, path)| CachedNodeKey::of_path(*v, path))
            .collect();
        let root = update.root;
        drop(view);

        // One record per write: the key index serves reads at any version and jmt's proofs.
        for (key, value) in &changes {
            records.put(
                &keys::index_key(key, version),
                &keys::encode_value(value.as_deref()),
            );
        }
        records.put(keys::LATEST_MARKER, &keys::encode_marker(version, &root));
        Ok(Box::new(PreparedWrites {
            store_id: self.store_id,
            base: self.latest_version,
            version,
            root,
            batch: records,
            nodes,
            stale,
            changes,
        }))
    }

    fn commit(&mut self, prepared: PreparedWrites) -> Result<RootHash, StoreError> {
        if prepared.store_id != self.store_id {
            return Err(StoreError::Tree(
                "prepared commit was computed by a different store handle".into(),
            ));
        }
        if prepared.base != self.latest_version {
            let expected = self
                .latest_version
                .map_or(prepared.version, |l| l.saturating_add(1));
            return Err(StoreError::VersionOutOfOrder {
                attempted: prepared.version,
                expected,
            });
        }
        // Durable once logged; LevelDB gets the batch after this commit has answered.
        let contents = prepared.batch.encode(0);
        if let Err(e) = self.log.append(prepared.version, &contents) {
            // The log may end in a partial record now (cut off on the next open).
            self.broken = Some(e.to_string());
            return Err(e);
        }
        self.unapplied = Some(Unapplied {
            batch: contents,
            nodes: prepared.nodes,
            stale: prepared.stale,
        });

        self.latest_version = Some(prepared.version);
        let mut latest = self.latest.write().unwrap_or_else(|p| p.into_inner());
        if latest.version.is_none() {
            latest.values.clear();
        }
        latest.version = Some(prepared.version);
        latest.root = prepared.root;
        // Keys not in `changes` keep their value, so their cache entries stay exact.
        for (key, value) in prepared.changes {
            latest.values.insert(key, value);
        }
        Ok(prepared.root)
    }

    /// rusty-leveldb's `sync` flag only flushes its buffer to the OS; fsync the log (and any new
    /// table or manifest) ourselves so a committed version survives power loss, not just a crash.
    /// Most commits only append to the log, so files whose length did not change since their last
    /// fsync are skipped unless a file appeared (a new manifest rewrites `CURRENT` in place of an
    /// equally long one).
    fn sync_files(&mut self) -> Result<(), StoreError> {
        let io = |what: &str, e: std::io::Error| StoreError::Db(format!("fsync {what}: {e}"));
        let mut listed = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io("list directory", e))? {
            let entry = entry.map_err(|e| io("list directory", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let mutable =
                name.ends_with(".log") || name.starts_with("MANIFEST") || name == "CURRENT";
            let table = name.ends_with(".ldb") || name.ends_with(".sst");
            if !(mutable || table) {
                continue;
            }
            match entry.metadata() {
                Ok(meta) => {
                    listed.insert(name, (entry.path(), meta.len(), mutable));
                }
                // Compaction may delete an obsolete file between listing and reading it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&name, e)),
            }
        }
        let appeared = listed
            .keys()
            .any(|name| !self.synced_files.contains_key(name));
        let mut synced = BTreeMap::new();
        for (name, (path, len, mutable)) in listed {
            let stale = match self.synced_files.get(&name) {
                None => true,
                Some(&synced_len) => mutable && (appeared || synced_len != len),
            };
            if stale {
                match File::open(&path) {
                    Ok(file) => file.sync_data().map_err(|e| io(&name, e))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(&name, e)),
                }
            }
            synced.insert(name, len);
        }
        self.synced_files = synced;
        // A new name also needs the directory entry synced.
        if appeared {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("directory", e))?;
        }
        Ok(())
    }
}
