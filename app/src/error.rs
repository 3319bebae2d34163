//! The error that stops a node, one floor below everything that returns it.
use seqpool_store::StoreError;

/// Errors that stop this node (never caused by what a peer or user sends).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid genesis: {0}")]
    Genesis(String),
    #[error("{0}")]
    Sequence(String),
}
