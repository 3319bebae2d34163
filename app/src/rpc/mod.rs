//! gRPC (with server reflection) and REST servers over the same typed queries.
pub mod grpc;
pub mod rest;
