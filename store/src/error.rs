use crate::Version;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("leveldb: {0}")]
    Db(String),
    #[error("merkle tree: {0}")]
    Tree(String),
    #[error("version {requested} is not available (latest committed: {latest:?})")]
    VersionUnavailable {
        requested: Version,
        latest: Option<Version>,
    },
    #[error("cannot commit version {attempted}: the next version must be {expected}")]
    VersionOutOfOrder {
        attempted: Version,
        expected: Version,
    },
    #[error("corrupt record at key {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("invalid Merkle proof: {0}")]
    InvalidProof(String),
    #[error("empty key or value: jmt cannot store an empty value, delete the key instead")]
    EmptyValue,
}
