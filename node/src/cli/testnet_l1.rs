//! The L1 part of `seqpoold testnet`: deploys the contracts to an L1 node (anvil on a devnet),
//! whitelists each validator's operator account as an L1 owner and locks stake for the validator's
//! consensus key with `lockFor`, and points every node's watcher at the LockingPool.
//!
//! Genesis and L1 agree without double counting: the genesis validators carry sequencer id 0 and
//! the power of their stake, and `bridge.next_nonce` is 1, so the pool's first events
//! (`WhitelistChanged`, `Locked`) go through the bridge once and each `Locked` matches its genesis
//! validator by key (x/staking `lock`), giving it its sequencer id without changing its power.
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use clap::Args;
use k256::ecdsa::SigningKey;
use seqpool_l1::deploy::{deploy_all, DeployConfig, Deployment};
use seqpool_l1::devnet::{onboard_sequencers, SequencerLock};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

/// One token of the stake token in wei; voting power is stake in whole tokens.
const TOKEN_WEI: u64 = 1_000_000_000_000_000_000;
/// The devnet's exit window for group-signed actions, in seconds (production: at least the
/// withdrawal delay): long enough to see an action queued, short enough for a demo.
pub const DEVNET_EXECUTION_DELAY_SECS: u64 = 5;

#[derive(Args, Debug, Clone)]
pub struct L1Args {
    /// L1 JSON-RPC (e.g. anvil): deploy the contracts there and lock every validator's stake.
    #[arg(long)]
    pub l1_rpc: Option<String>,
    /// Hex key of the L1 deployer (governance admin); needed with --l1-rpc.
    #[arg(long, env = "SEQPOOL_L1_DEPLOYER_KEY", hide_env_values = true)]
    pub l1_deployer_key: Option<String>,
    /// Stake each validator locks, in whole tokens; it is also its genesis voting power.
    #[arg(long, default_value_t = 1000)]
    pub l1_stake: u64,
    /// L1 blocks an event must be below the head before a node attests it.
    #[arg(long, default_value_t = 2)]
    pub l1_confirmations: u64,
    /// How often each node's watcher polls L1.
    #[arg(long, default_value_t = 500)]
    pub l1_poll_interval_ms: u64,
}

impl L1Args {
    pub fn enabled(&self) -> bool {
        self.l1_rpc.is_some()
    }

    /// Genesis voting power of a validator whose stake is locked on L1.
    pub fn genesis_power(&self) -> Result<i64> {
        i64::try_from(self.l1_stake).context("--l1-stake does not fit a voting power")
    }
}

/// `nodes.json` `l1` section: where L1 is and what was deployed and locked there.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct L1Entry {
    pub rpc: String,
    pub confirmations: u64,
    /// The governance admin (the deployer).
    pub admin: Address,
    pub contracts: Deployment,
    pub sequencers: Vec<L1Sequencer>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct L1Sequencer {
    /// The node whose consensus key is the signer.
    pub node: String,
    pub sequencer_id: u64,
    /// L1 owner: the node's operator key (`node<k>` in the client keyring).
    pub owner: Address,
    pub signer: Address,
    /// Stake in wei.
    pub stake: String,
}

/// A validator to lock: its node name, operator key (the L1 owner) and consensus key (the signer).
pub struct L1Validator<'a> {
    pub node: &'a str,
    pub operator_key: &'a SigningKey,
    pub consensus_key: &'a SigningKey,
}

/// Deploys and locks every validator; writes `<out>/l1-deployment.json`.
pub fn setup(args: &L1Args, out: &Path, validators: &[L1Validator<'_>]) -> Result<L1Entry> {
    let Some(rpc) = args.l1_rpc.clone() else {
        bail!("no --l1-rpc");
    };
    let deployer: PrivateKeySigner = args
        .l1_deployer_key
        .as_deref()
        .context("--l1-rpc needs --l1-deployer-key (or SEQPOOL_L1_DEPLOYER_KEY)")?
        .trim()
        .parse()
        .context("--l1-deployer-key is not a hex secp256k1 key")?;
    let amount = U256::from(args.l1_stake) * U256::from(TOKEN_WEI);
    let locks: Vec<SequencerLock> = validators
        .iter()
        .map(|v| {
            SequencerLock::new(
                PrivateKeySigner::from_signing_key(v.operator_key.clone()),
                v.consensus_key,
                amount,
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let (deployment, locked) = runtime.block_on(async {
        let url = rpc
            .parse()
            .with_context(|| format!("--l1-rpc {rpc:?} is not a URL"))?;
        let provider = ProviderBuilder::new()
            .wallet(deployer.clone())
            .connect_http(url);
        let config = DeployConfig {
            execution_delay: U256::from(DEVNET_EXECUTION_DELAY_SECS),
            ..DeployConfig::default()
        };
        let deployment = deploy_all(provider, &config)
            .await
            .with_context(|| format!("deploying the L1 contracts at {rpc}"))?;
        let locked = onboard_sequencers(&rpc, deployer.clone(), &deployment, &locks)
            .await
            .context("locking the validators' stake on L1")?;
        anyhow::Ok((deployment, locked))
    })?;
    deployment.write_json(&out.join("l1-deployment.json"))?;
    let sequencers = validators
        .iter()
        .zip(&locked)
        .map(|(v, l)| L1Sequencer {
            node: v.node.to_string(),
            sequencer_id: l.sequencer_id,
            owner: l.owner,
            signer: l.signer,
            stake: l.amount.to_string(),
        })
        .collect();
    Ok(L1Entry {
        rpc,
        confirmations: args.l1_confirmations,
        admin: deployer.address(),
        contracts: deployment,
        sequencers,
    })
}

/// Points a node's watcher at the deployed LockingPool, BatchInbox and GroupKeyRegistry.
pub fn configure_node(home: &Path, args: &L1Args, entry: &L1Entry) -> Result<()> {
    let mut app = AppConfig::load(home)?;
    app.l1_rpc = entry.rpc.clone();
    app.l1_locking_pool = entry.contracts.locking_pool.to_string();
    app.l1_batch_inbox = entry.contracts.batch_inbox.to_string();
    app.l1_group_key_registry = entry.contracts.group_key_registry.to_string();
    app.l1_governance = entry.contracts.governance.to_string();
    app.l1_confirmations = args.l1_confirmations;
    app.l1_start_block = entry.contracts.deployed_at_block;
    app.l1_poll_interval_ms = args.l1_poll_interval_ms;
    app.save(home)?;
    Ok(())
}

/// With `--overwrite`, what a previous testnet wrote (node homes, client home, descriptions) is
/// removed and anything else is kept, so a devnet script can keep its L1 node's files beside.
pub fn remove_previous_testnet(out: &Path) -> Result<()> {
    let entries = std::fs::read_dir(out).with_context(|| format!("read {}", out.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", out.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = name == "client"
            || name == "nodes.json"
            || name == "l1-deployment.json"
            || name
                .strip_prefix("node")
                .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
        if !ours {
            continue;
        }
        let path: PathBuf = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("remove {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_removes_only_what_a_testnet_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path();
        for d in ["node0", "node12", "client", "l1", "l2", "nodes", "node-x"] {
            std::fs::create_dir_all(out.join(d).join("config")).expect("mkdir");
        }
        for f in ["nodes.json", "l1-deployment.json", "pids"] {
            std::fs::write(out.join(f), "x").expect("write");
        }
        remove_previous_testnet(out).expect("remove");
        let mut left: Vec<String> = std::fs::read_dir(out)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["l1", "l2", "node-x", "nodes", "pids"]);
    }

    #[test]
    fn l1_args_need_a_deployer_key() {
        let args = L1Args {
            l1_rpc: Some("http://127.0.0.1:1".into()),
            l1_deployer_key: None,
            l1_stake: 1000,
            l1_confirmations: 2,
            l1_poll_interval_ms: 500,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let err = setup(&args, dir.path(), &[]).expect_err("no key");
        assert!(err.to_string().contains("--l1-deployer-key"), "{err}");
        assert_eq!(args.genesis_power().expect("power"), 1000);
    }
}
