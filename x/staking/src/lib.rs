//! x/staking: the CometBFT validator set and validator liveness.
//!
//! Liveness is fed by vote extensions: every validator's extension carries a [`LivenessVote`]
//! (height and the app hash it executed on); the proposer injects the previous height's extended
//! commit into its block, and each block updates, per validator of that height's set, whether its
//! extension was there. A validator missing more than `liveness_window - min_signed_per_window` of
//! a full window is jailed for downtime ([`jail`]).

pub mod genesis;
pub mod jail;
pub mod keys;
pub mod l1;
pub mod liveness;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use seqpool_proto::staking::v1::{
    GenesisState, Liveness, LivenessVote, MsgUnjail, Params, SlashingRequest, Validator,
    ValidatorSet,
};
pub use state::{StakingRead, StakingWrite};
