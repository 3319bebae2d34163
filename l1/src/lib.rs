//! Ethereum L1 side of seqpool: FROST signature conversion for the Solidity verifier, the
//! request digests the group signs, alloy bindings of the contracts and deployment helpers.

pub mod anvil;
pub mod bindings;
pub mod deploy;
pub mod devnet;
pub mod digest;
pub mod frost_sig;
pub mod relay;
pub mod sender;
