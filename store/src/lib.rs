//! seqpool's state store.
//!
//! * [`Storage`] owns the on-disk database: a Jellyfish Merkle Tree (jmt) whose nodes and a
//!   versioned key index (which holds the values) live in one rusty-leveldb database. Version =
//!   block height; the JMT root at a version is the app hash.
//! * [`Snapshot`] is a read-only view of one committed version (queries at past heights use it).
//! * [`StateDelta`] is the write buffer of one block over a snapshot, with nested transactional forks
//!   ([`StateDelta::transact`]) so a failed tx leaves no trace.
//! * The FinalizeBlock/Commit split: [`Storage::prepare`] computes the root of a delta without
//!   writing anything; [`Storage::commit`] writes the prepared batch atomically and durably: one
//!   record appended to a commit log and fsynced; LevelDB receives the batch after the commit has
//!   answered and is synced at checkpoints, and opening the store replays the log.

mod db;
mod delta;
mod error;
mod keys;
mod storage;
mod tree;
mod wal;

pub use delta::StateDelta;
pub use error::StoreError;
pub use storage::{verify_proof, PreparedCommit, Snapshot, Storage};

/// A block height; every commit creates one version.
pub type Version = u64;
/// The root of the Merkle tree at a version; the app hash.
pub type RootHash = [u8; 32];

/// Key-value pairs in ascending key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to key-value state. Implemented by [`Snapshot`] and [`StateDelta`].
pub trait StateRead {
    /// The value stored at `key`, if any.
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry whose key starts with `prefix`, in ascending key order.
    fn prefix_raw(&self, prefix: &[u8]) -> Result<Entries, StoreError>;
}

/// Write access to key-value state; writes are buffered until the block is committed.
pub trait StateWrite: StateRead {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, key: Vec<u8>);
}

impl<T: StateRead + ?Sized> StateRead for &T {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_raw(key)
    }
    fn prefix_raw(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        (**self).prefix_raw(prefix)
    }
}

impl<T: StateRead + ?Sized> StateRead for &mut T {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_raw(key)
    }
    fn prefix_raw(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        (**self).prefix_raw(prefix)
    }
}

impl<T: StateWrite + ?Sized> StateWrite for &mut T {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        (**self).put_raw(key, value)
    }
    fn delete(&mut self, key: Vec<u8>) {
        (**self).delete(key)
    }
}
