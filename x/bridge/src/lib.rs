//! x/bridge: L1 events enter state only when validators holding more than 2/3 of the voting power
//! attest the byte-identical event in their vote extensions. Events apply in the LockingPool's
//! nonce order, exactly once; a missing nonce makes later ones wait.
//!
//! Tallies are taken from each block's injected extended commit alone: a validator keeps listing an
//! event until it is applied, so no pending tally needs to survive between blocks.

pub mod attest;
pub mod genesis;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use seqpool_proto::bridge::v1::{
    l1_event::Payload, AppliedEvent, BridgeVote, GenesisState, L1Event, Params,
};
pub use state::{BridgeRead, BridgeWrite};
