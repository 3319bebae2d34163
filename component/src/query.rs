use seqpool_store::StoreError;

/// Why a query failed; mapped to gRPC status codes, HTTP statuses and abci_query codes by the app.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
