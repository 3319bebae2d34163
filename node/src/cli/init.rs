//! `seqpoold init`: a home for one node whose genesis makes it the only validator.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use k256::ecdsa::SigningKey;

use super::home::{self, GenesisValidator, NodeHome, NodeKey, NodePorts};
use super::{HomeArgs, KeyringArgs, Output};
use seqpool_app::genesis::AppGenesis;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Human-readable node name (CometBFT moniker).
    pub moniker: String,
    #[arg(long)]
    pub chain_id: String,
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(flatten)]
    pub keyring: KeyringArgs,
    /// Operator account of the validator; default: a new key `--key-name` in the keyring.
    #[arg(long)]
    pub operator: Option<String>,
    /// Keyring name of the operator key created when --operator is not given.
    #[arg(long, default_value = "operator")]
    pub key_name: String,
    /// Admin account of genesis; default: the operator.
    #[arg(long)]
    pub admin: Option<String>,
    /// Voting power of this validator in genesis.
    #[arg(long, default_value_t = 10)]
    pub power: i64,
    /// Params of every module from this template (genesis/devnet.json, genesis/production.json
    /// or your own; check it with `seqpoold genesis validate`); default: the built-in defaults,
    /// which genesis/devnet.json holds.
    #[arg(long)]
    pub genesis_template: Option<PathBuf>,
    /// Address every listener binds to.
    #[arg(long, default_value = "127.0.0.1")]
    pub listen_host: String,
    #[arg(long, default_value = "1s")]
    pub timeout_commit: String,
    /// CometBFT P2P port; RPC, ABCI and Prometheus use the next ports (+1, +2, +4).
    #[arg(long, default_value_t = 26656)]
    pub base_port: u16,
    #[arg(long, default_value_t = 9090)]
    pub grpc_port: u16,
    #[arg(long, default_value_t = 1317)]
    pub rest_port: u16,
    /// CometBFT persistent peers (`id@host:port,...`), e.g. to join a running network.
    #[arg(long, default_value = "")]
    pub persistent_peers: String,
    #[command(flatten)]
    pub mpc: super::mpc::MpcKeystoreArgs,
    /// Replace an existing config (keys in data/ and the keyring are kept).
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

pub fn run(args: InitArgs) -> Result<()> {
    let home = &args.home.home;
    let genesis_path = home.join("config").join("genesis.json");
    if genesis_path.exists() && !args.overwrite {
        bail!(
            "{} already exists; pass --overwrite to replace the config",
            genesis_path.display()
        );
    }
    if args.power <= 0 {
        bail!("--power must be positive, got {}", args.power);
    }
    validate_chain_id(&args.chain_id)?;
    let operator = match &args.operator {
        Some(addr) => {
            seqpool_component::address::parse_account(addr)
                .map_err(anyhow::Error::msg)
                .context("--operator")?;
            addr.clone()
        }
        None => {
            let ring = args.keyring.open(home, true, true)?;
            match ring.show(&args.key_name) {
                Ok(existing) => existing.address,
                Err(seqpool_client::keyring::KeyringError::NotFound { .. }) => {
                    ring.add(&args.key_name)?.address
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let admin = match &args.admin {
        Some(addr) => {
            seqpool_component::address::parse_account(addr)
                .map_err(anyhow::Error::msg)
                .context("--admin")?;
            addr.clone()
        }
        None => operator.clone(),
    };
    // Keep the consensus key of an earlier init: replacing it would make a different validator.
    let consensus_key = match home::read_consensus_key(home) {
        Ok(k) => k,
        Err(_) => SigningKey::random(&mut rand::rngs::OsRng),
    };
    let node_key = NodeKey::generate();
    let ports = NodePorts::for_index(
        &args.listen_host,
        args.base_port,
        args.grpc_port,
        args.rest_port,
        0,
    )?;
    home::write_node_home(&NodeHome {
        home: home.clone(),
        moniker: args.moniker.clone(),
        chain_id: args.chain_id.clone(),
        ports,
        node_key: &node_key,
        consensus_key: &consensus_key,
        persistent_peers: args.persistent_peers.clone(),
        timeout_commit: args.timeout_commit.clone(),
        mempool_size: 5000,
    })?;
    // The MPC identity: kept if the keystore already holds one (like the consensus key).
    let identity = crate::mpc::identity::create_identity(
        home,
        &args.mpc.source(),
        seqpool_tss::keystore::KdfParams::default(),
    )?;
    super::mpc::write_registration(home, &identity, &args.chain_id, &operator, &consensus_key)?;
    let validator = GenesisValidator {
        name: args.moniker.clone(),
        operator: operator.clone(),
        consensus_key,
        power: args.power,
    };
    let template = super::genesis::load_template(args.genesis_template.as_deref())?;
    let mut app_state =
        AppGenesis::from_template(&template, &admin, vec![home::staking_validator(&validator)]);
    app_state.mpc.members = vec![super::mpc::genesis_member(
        &identity.public(),
        &home::consensus_address(&validator.consensus_key),
    )?];
    home::write_genesis(
        home,
        &home::genesis_json(&args.chain_id, &[validator], &app_state)?,
    )?;
    let summary = serde_json::json!({
        "home": home,
        "moniker": args.moniker,
        "chain_id": args.chain_id,
        "node_id": node_key.node_id()?,
        "operator": operator,
        "admin": admin,
        "mpc_identity": super::mpc::identity_json(&identity.public())?,
    });
    super::print_json(&summary, args.output)
}

pub fn validate_chain_id(chain_id: &str) -> Result<()> {
    let ok = !chain_id.is_empty()
        && chain_id.len() <= 50
        && chain_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("chain-id {chain_id:?} is invalid: use 1-50 characters from a-z, A-Z, 0-9, '-', '_', '.'");
    }
    Ok(())
}
