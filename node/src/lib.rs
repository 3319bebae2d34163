//! seqpoold: the seqpool node. It serves the state machine of `seqpool-app` to CometBFT over ABCI
//! 2.0 (our own socket loop, docs/abci.md), answers gRPC and REST queries, watches L1 and L2, runs
//! this validator's MPC duties, and carries the operator CLI.

pub mod abci;
pub mod abci_server;
pub mod bridge_watcher;
pub mod cli;
pub mod config;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod l2_watcher;
pub mod mpc;
pub mod node;
pub mod rpc;
