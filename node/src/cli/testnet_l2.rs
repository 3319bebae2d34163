//! The L2 part of `seqpoold testnet`: points every node's L2 watcher at the L2 execution node and
//! describes L2 in `nodes.json` (the sidecars that make the L2 blocks run beside the nodes; see
//! scripts/devnet.sh and docs/sidecar.md).
use std::path::Path;

use anyhow::{bail, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

#[derive(Args, Debug, Clone)]
pub struct L2Args {
    /// L2 execution node JSON-RPC (anvil without automine on a devnet) every node watches.
    #[arg(long)]
    pub l2_rpc: Option<String>,
    /// Chain id of L2 (recorded in nodes.json).
    #[arg(long, default_value_t = 901)]
    pub l2_chain_id: u64,
    /// L2 block time of the sidecars (recorded in nodes.json).
    #[arg(long, default_value_t = 1000)]
    pub l2_block_time_ms: u64,
    /// How often each node's L2 watcher polls L2.
    #[arg(long, default_value_t = 200)]
    pub l2_poll_interval_ms: u64,
}

/// `nodes.json` `l2` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2Entry {
    pub rpc: String,
    pub chain_id: u64,
    pub block_time_ms: u64,
}

impl L2Args {
    /// The nodes.json section; `None` without `--l2-rpc`.
    pub fn entry(&self) -> Result<Option<L2Entry>> {
        let Some(rpc) = &self.l2_rpc else {
            return Ok(None);
        };
        if self.l2_block_time_ms == 0 || self.l2_poll_interval_ms == 0 {
            bail!("--l2-block-time-ms and --l2-poll-interval-ms must be positive");
        }
        Ok(Some(L2Entry {
            rpc: rpc.clone(),
            chain_id: self.l2_chain_id,
            block_time_ms: self.l2_block_time_ms,
        }))
    }
}

/// Sets `l2_rpc` in the node's app.toml (nothing without `--l2-rpc`).
pub fn configure_node(home: &Path, args: &L2Args) -> Result<()> {
    let Some(rpc) = &args.l2_rpc else {
        return Ok(());
    };
    let mut config = AppConfig::load(home)?;
    config.l2_rpc = rpc.clone();
    config.l2_poll_interval_ms = args.l2_poll_interval_ms;
    config.save(home)?;
    Ok(())
}
