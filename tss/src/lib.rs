//! FROST threshold key engine: DKG, resharing, preprocessed signing and an encrypted LevelDB
//! keystore, built on frost-secp256k1 3.0 (RFC 9591 FROST(secp256k1, SHA-256)).
//!
//! The engine is transport-agnostic: every protocol step consumes and produces signed protobuf
//! envelopes (`seqpool.tss.v1`), which the chain carries in vote extensions or transactions.

pub mod checks;
pub mod complaint;
pub mod crypto;
pub mod dkg;
pub mod error;
pub mod eth;
pub mod ids;
pub mod keystore;
pub mod members;
pub mod messages;
pub mod reshare;
pub mod sign;

pub use error::{Result, TssError};
pub use ids::{threshold_for, KeyId, SessionId};
pub use members::{MemberPublic, MemberSecret, Roster};
