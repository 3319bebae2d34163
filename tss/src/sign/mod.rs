//! One-round signing with preprocessed nonces: package validation, signature shares and
//! aggregation with cheater detection. The durable nonce bookkeeping lives in the keystore.

mod aggregate;
mod share;

pub use aggregate::aggregate;
pub use share::{preprocess, sign_with_nonces, validate_package};
