//! Deploys the seqpool L1 contracts to an Ethereum JSON-RPC endpoint (anvil in the devnet) and
//! writes the addresses to a JSON file.
//!
//! Example (anvil's first dev account):
//!   seqpool-l1-deploy --rpc-url http://127.0.0.1:8545 --out .devnet/l1-deployment.json \
//!     --private-key 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

use std::path::PathBuf;

use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Parser;
use seqpool_l1::deploy::{deploy_all, DeployConfig};

#[derive(Parser, Debug)]
#[command(about = "Deploy the seqpool L1 contracts and write their addresses as JSON")]
struct Args {
    /// Ethereum JSON-RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Hex private key of the deployer, who becomes the governance admin and reward payer.
    #[arg(long, env = "SEQPOOL_L1_DEPLOYER_KEY", hide_env_values = true)]
    private_key: String,
    /// Where to write the deployment JSON.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    first_l2_block: u64,
    /// Minimum stake per sequencer, in wei.
    #[arg(long)]
    min_lock: Option<U256>,
    /// Maximum stake per sequencer, in wei.
    #[arg(long)]
    max_lock: Option<U256>,
    /// Reward per L2 block, in wei.
    #[arg(long)]
    reward_per_block: Option<U256>,
    /// Seconds between unlock and claim.
    #[arg(long)]
    withdrawal_delay: Option<u64>,
    /// Minimum seconds between signer changes.
    #[arg(long)]
    signer_update_throttle: Option<u64>,
    /// The least the withdrawal delay can ever be governed to, in seconds (default 600).
    #[arg(long)]
    min_withdrawal_delay: Option<u64>,
    /// Seconds a group-signed action waits before it runs (the exit window; default 1200,
    /// twice the default withdrawal delay).
    #[arg(long)]
    execution_delay: Option<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let signer: PrivateKeySigner = args
        .private_key
        .trim()
        .parse()
        .context("--private-key is not a hex secp256k1 key")?;
    let url = args
        .rpc_url
        .parse()
        .with_context(|| format!("--rpc-url {:?} is not a URL", args.rpc_url))?;
    let provider = ProviderBuilder::new().wallet(signer).connect_http(url);

    let mut config = DeployConfig {
        first_l2_block: args.first_l2_block,
        ..DeployConfig::default()
    };
    if let Some(v) = args.min_lock {
        config.min_lock = v;
    }
    if let Some(v) = args.max_lock {
        config.max_lock = v;
    }
    if let Some(v) = args.reward_per_block {
        config.reward_per_block = v;
    }
    if let Some(v) = args.withdrawal_delay {
        config.withdrawal_delay = U256::from(v);
    }
    if let Some(v) = args.signer_update_throttle {
        config.signer_update_throttle = U256::from(v);
    }
    if let Some(v) = args.min_withdrawal_delay {
        config.min_withdrawal_delay = U256::from(v);
    }
    if let Some(v) = args.execution_delay {
        config.execution_delay = U256::from(v);
    }

    let deployment = deploy_all(provider, &config)
        .await
        .context("deploying the L1 contracts")?;
    deployment.write_json(&args.out)?;
    println!("{}", serde_json::to_string_pretty(&deployment)?);
    Ok(())
}
