//! seqpool-app: the deterministic state machine, ABCI-shaped but transport-free. InitChain,
//! PrepareProposal, ProcessProposal, ExtendVote, VerifyVoteExtension, FinalizeBlock and Commit on
//! [`app::App`]; the ante checks, msg routing, genesis, the vote extension and proposal rules,
//! evidence, CheckTx admission and the ABCI Query paths. The node crate (`seqpoold`) puts it behind
//! CometBFT's socket; [`driver`] (feature `testing`) plays CometBFT in-process.

pub mod ante;
pub mod app;
pub mod bridge;
#[cfg(feature = "testing")]
pub mod driver;
pub mod error;
pub mod evidence;
pub mod genesis;
pub mod governance;
pub mod mempool;
pub mod mpc;
pub mod msgs;
pub mod producer;
pub mod proposal;
pub mod query;
pub mod tx;
pub mod vote_ext;
