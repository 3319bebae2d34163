//! The state database: a Jellyfish Merkle Tree (jmt, SHA-256) and a versioned key index in one
//! rusty-leveldb database, served by a dedicated thread (see [`crate::db`]).
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use jmt::proof::SparseMerkleProof;
use jmt::KeyHash;
use sha2::Sha256;

use crate::db::{self, LatestState, PreparedWrites, Reply, Request};
use crate::{Entries, RootHash, StateRead, StoreError, Version};

/// Distinguishes handles opened in one process, so a prepared commit cannot land in another store.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

struct Shared {
    requests: Sender<Request>,
    worker: Mutex<Option<JoinHandle<()>>>,
    latest: Arc<RwLock<LatestState>>,
}

impl Drop for Shared {
    /// Waits for the DB thread to close the database, so the directory can be reopened at once.
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Shutdown);
        let handle = self
            .worker
            .get_mut()
            .map(Option::take)
            .unwrap_or_else(|p| p.into_inner().take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Shared {
    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, StoreError> {
        let (reply, response) = mpsc::channel();
        self.requests
            .send(make(reply))
            .map_err(|_| StoreError::Db("the database thread has stopped".into()))?;
        response.recv().map_err(|_| {
            StoreError::Db(
                "the database thread failed while serving this request (see the log)".into(),
            )
        })?
    }

    fn latest(&self) -> std::sync::RwLockReadGuard<'_, LatestState> {
        self.latest.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Handle to the state database. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
}

/// A read-only view of one committed version (or of the empty state before the first commit).
#[derive(Clone)]
pub struct Snapshot {
    shared: Arc<Shared>,
    version: Option<Version>,
    root: RootHash,
}

/// The result of [`Storage::prepare`]: the new root, and the writes to persist in [`Storage::commit`].
/// Dropping it discards the block without a trace.
pub struct PreparedCommit {
    pub version: Version,
    pub root: RootHash,
    writes: Box<PreparedWrites>,
}

impl std::fmt::Debug for PreparedCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCommit")
            .field("version", &self.version)
            .field("root", &hex::encode(self.root))
            .field("records", &self.writes.batch.count())
            .finish()
    }
}

impl Storage {
    /// Opens (or creates) the database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let store_id = NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed);
        let (requests, inbox) = mpsc::channel();
        let (opened_tx, opened_rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("seqpool-store".into())
            .spawn(move || match db::open(&path, store_id) {
                Ok((worker, latest)) => {
                    let _ = opened_tx.send(Ok(latest));
                    worker.run(inbox);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })
            .map_err(|e| StoreError::Db(format!("spawn database thread: {e}")))?;
        let latest = match opened_rx.recv() {
            Ok(Ok(latest)) => latest,
            Ok(Err(e)) => {
                let _ = worker.join();
                return Err(e);
            }
            Err(_) => {
                let _ = worker.join();
                return Err(StoreError::Db(
                    "the database thread died while opening".into(),
                ));
            }
        };
        Ok(Self {
            shared: Arc::new(Shared {
                requests,
                worker: Mutex::new(Some(worker)),
                latest,
            }),
        })
    }

    /// The latest committed version; `None` before the first commit.
    pub fn latest_version(&self) -> Option<Version> {
        self.shared.latest().version
    }

    pub fn latest_snapshot(&self) -> Snapshot {
        let latest = self.shared.latest();
        Snapshot {
            shared: self.shared.clone(),
            version: latest.version,
            root: latest.root,
        }
    }

    /// A view of committed version `version`; an error for a version not (yet) committed.
    pub fn snapshot_at(&self, version: Version) -> Result<Snapshot, StoreError> {
        let root = self.root_hash(version)?;
        Ok(Snapshot {
            shared: self.shared.clone(),
            version: Some(version),
            root,
        })
    }

    /// The Merkle root (app hash) of committed version `version`.
    pub fn root_hash(&self, version: Version) -> Result<RootHash, StoreError> {
        {
            let latest = self.shared.latest();
            match latest.version {
                Some(v) if v == version => return Ok(latest.root),
                Some(v) if v > version => {}
                latest => {
                    return Err(StoreError::VersionUnavailable {
                        requested: version,
                        latest,
                    })
                }
            }
        }
        self.shared.call(|reply| Request::Root { version, reply })
    }

    /// Computes the root of the latest version plus `changes` (`None` deletes) as `version`,
    /// writing nothing. `version` must be the latest + 1, or anything on an empty store.
    pub fn prepare(
        &self,
        changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        version: Version,
    ) -> Result<PreparedCommit, StoreError> {
        let writes = self.shared.call(|reply| Request::Prepare {
            changes,
            version,
            reply,
        })?;
        Ok(PreparedCommit {
            version: writes.version,
            root: writes.root,
            writes,
        })
    }

    /// Durably writes a prepared version in one atomic batch: appended to the commit log and
    /// fsynced before this returns; the store thread writes it into LevelDB right after, before
    /// serving anything else (see `wal`). Refused if another version was committed since it was
    /// prepared.
    pub fn commit(&self, prepared: PreparedCommit) -> Result<RootHash, StoreError> {
        self.shared.call(|reply| Request::Commit {
            prepared: prepared.writes,
            reply,
        })
    }

    /// The value of `key` at committed `version` and a proof of it (or of its absence) against
    /// `root_hash(version)`: a borsh-encoded jmt `SparseMerkleProof<Sha256>`; see [`verify_proof`].
    pub fn get_with_proof(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
        let key = key.to_vec();
        let (value, proof) = self.shared.call(|reply| Request::Proof {
            key,
            version,
            reply,
        })?;
        let encoded =
            borsh::to_vec(&proof).map_err(|e| StoreError::Tree(format!("encode proof: {e}")))?;
        Ok((value, encoded))
    }
}

/// Checks a proof from [`Storage::get_with_proof`]: that under `root`, `key` holds `value`
/// (`None`: that `key` is absent). `proof` may be untrusted bytes.
pub fn verify_proof(
    root: &RootHash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), StoreError> {
    let proof: SparseMerkleProof<Sha256> = borsh::from_slice(proof)
        .map_err(|e| StoreError::InvalidProof(format!("undecodable proof: {e}")))?;
    proof
        .verify(jmt::RootHash(*root), KeyHash::with::<Sha256>(key), value)
        .map_err(|e| StoreError::InvalidProof(format!("{e:#}")))
}

impl Snapshot {
    pub fn version(&self) -> Option<Version> {
        self.version
    }
    pub fn root_hash(&self) -> RootHash {
        self.root
    }
}

impl StateRead for Snapshot {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(version) = self.version else {
            return Ok(None);
        };
        {
            let latest = self.shared.latest();
            if latest.version == Some(version) {
                if let Some(value) = latest.values.get(key) {
                    return Ok(value.clone());
                }
            }
        }
        let key = key.to_vec();
        self.shared.call(|reply| Request::Get {
            key,
            version,
            reply,
        })
    }

    fn prefix_raw(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let Some(version) = self.version else {
            return Ok(Vec::new());
        };
        let prefix = prefix.to_vec();
        self.shared.call(|reply| Request::Prefix {
            prefix,
            version,
            reply,
        })
    }
}
