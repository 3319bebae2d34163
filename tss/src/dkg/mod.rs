//! Distributed key generation (frost dkg part1/2/3) with encrypted, signed round-2 shares and a
//! confirmation round in which every member commits to the same public key package.

mod participant;

pub use participant::{DkgOutput, DkgParticipant};
