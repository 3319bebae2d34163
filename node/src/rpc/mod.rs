//! gRPC (with server reflection) and REST servers over the same typed queries.
pub mod grpc;
pub mod rest;

use axum::http::StatusCode;
use seqpool_component::QueryError;
use seqpool_store::StoreError;

/// How often a schedule watch looks at the committed state (blocks are ~1 s apart).
pub const WATCH_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// The gRPC code and HTTP status of a query error: gRPC answers with the code, REST with both.
pub fn error_status(e: &QueryError) -> (StatusCode, tonic::Code) {
    match e {
        QueryError::InvalidArgument(_) => (StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument),
        QueryError::NotFound(_) => (StatusCode::NOT_FOUND, tonic::Code::NotFound),
        QueryError::Store(StoreError::VersionUnavailable { .. }) => {
            (StatusCode::BAD_REQUEST, tonic::Code::OutOfRange)
        }
        QueryError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, tonic::Code::Internal),
    }
}
