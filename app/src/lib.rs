//! seqpoold: the seqpool node (ABCI 2.0 application on tower-abci, gRPC/REST queries) and its CLI.

pub mod abci;
pub mod abci_server;
pub mod app;
pub mod bridge;
pub mod bridge_watcher;
pub mod cli;
pub mod client;
pub mod config;
pub mod driver;
pub mod evidence;
pub mod genesis;
pub mod keyring;
pub mod l2_watcher;
pub mod mempool;
pub mod mpc;
pub mod msgs;
pub mod node;
pub mod producer;
pub mod proposal;
pub mod query;
pub mod rpc;
pub mod tx;
pub mod vote_ext;
