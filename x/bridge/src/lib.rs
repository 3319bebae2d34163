//! x/bridge: L1 events enter state only when validators holding more than 2/3 of the voting power
//! attest the byte-identical event in their vote extensions. Events apply in the LockingPool's
//! nonce order, exactly once; a missing nonce makes later ones wait.
//!
//! The same sections carry L1 receipts of group-signed payloads ([`receipts`]), which x/mpc
//! records (request LANDED, key registered on L1), and an L1 RANDAO value ([`randomness`]),
//! attested the same way, which x/producer mixes into the producer-selection seed.
//!
//! Tallies are taken from each block's injected extended commit alone: a validator keeps listing an
//! event until it is applied, so no pending tally needs to survive between blocks.

pub mod attest;
pub mod genesis;
pub mod params;
pub mod query;
pub mod randomness;
pub mod receipts;
pub mod state;
pub mod state_key;

pub use seqpool_proto::bridge::v1::{
    l1_event::Payload, l1_receipt, AppliedEvent, AttestedRandomness, BridgeVote, GenesisState,
    L1Event, L1Randomness, L1Receipt, Params,
};
pub use state::{BridgeRead, BridgeWrite};
