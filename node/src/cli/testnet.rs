//! `seqpoold testnet`: homes for N local validators sharing one genesis, plus a client home whose
//! keyring holds the admin, every operator and the extra accounts, and `nodes.json` describing it all.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

use super::home::{self, GenesisValidator, NodeHome, NodeKey, NodePorts};
use super::{KeyringArgs, Output};
use seqpool_app::genesis::AppGenesis;

#[derive(Args, Debug)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long = "v", default_value_t = 4)]
    pub validators: u16,
    #[arg(long, default_value = "./.testnet")]
    pub output_dir: PathBuf,
    #[arg(long, default_value = "seqpool-devnet")]
    pub chain_id: String,
    /// First CometBFT port; node k uses base+10k (p2p), +1 (RPC), +2 (ABCI), +4 (Prometheus).
    #[arg(long, default_value_t = 26656)]
    pub base_port: u16,
    /// gRPC port of node 0; node k uses this + k.
    #[arg(long, default_value_t = 9090)]
    pub grpc_base_port: u16,
    /// REST port of node 0; node k uses this + k.
    #[arg(long, default_value_t = 1317)]
    pub rest_base_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value = "500ms")]
    pub timeout_commit: String,
    /// Extra registered accounts (keys `account0`..) for load generation.
    #[arg(long, default_value_t = 0)]
    pub extra_accounts: u32,
    #[arg(long, default_value_t = 10)]
    pub power: i64,
    /// Params of every module from this template (genesis/devnet.json, genesis/production.json
    /// or your own; check it with `seqpoold genesis validate`); default: the built-in defaults,
    /// which genesis/devnet.json holds.
    #[arg(long)]
    pub genesis_template: Option<PathBuf>,
    /// CometBFT mempool capacity of each node (room for load tests).
    #[arg(long, default_value_t = 20000)]
    pub mempool_size: u32,
    /// Replace an existing output directory.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub keyring: KeyringArgs,
    /// Secret of every node's MPC keystore (default: a new key file in each home).
    #[command(flatten)]
    pub mpc: super::mpc::MpcKeystoreArgs,
    #[command(flatten)]
    pub l1: super::testnet_l1::L1Args,
    #[command(flatten)]
    pub l2: super::testnet_l2::L2Args,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

/// `nodes.json`: the machine-readable description of a testnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodesFile {
    pub chain_id: String,
    /// Home whose keyring holds `admin`, `node<k>` (operators) and `account<i>` keys.
    pub client_home: PathBuf,
    pub keyring_backend: seqpool_client::keyring::Backend,
    pub admin: KeyRef,
    pub nodes: Vec<NodeEntry>,
    pub accounts: Vec<KeyRef>,
    /// The L1 node, contracts and locked sequencers (testnet --l1-rpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1: Option<super::testnet_l1::L1Entry>,
    /// The L2 execution node the nodes watch and the sidecars build on (testnet --l2-rpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2: Option<super::testnet_l2::L2Entry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRef {
    pub key: String,
    pub address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    pub name: String,
    pub home: PathBuf,
    pub node_id: String,
    /// CometBFT RPC, e.g. http://127.0.0.1:26657.
    pub cometbft_rpc: String,
    pub p2p: String,
    /// The ABCI socket seqpoold listens on and CometBFT connects to.
    pub abci: String,
    pub grpc: String,
    /// REST base URL.
    pub rest: String,
    pub operator: KeyRef,
    pub consensus_address: String,
}

impl NodesFile {
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
    }
}

pub fn run(args: TestnetArgs) -> Result<NodesFile> {
    let n = args.validators;
    if n == 0 || n > 100 {
        bail!("--v must be within 1..=100, got {n}");
    }
    if args.power <= 0 {
        bail!("--power must be positive, got {}", args.power);
    }
    super::init::validate_chain_id(&args.chain_id)?;
    let out = &args.output_dir;
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        if !args.overwrite {
            bail!(
                "{} is not empty; pass --overwrite to replace it",
                out.display()
            );
        }
        super::testnet_l1::remove_previous_testnet(out)?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("resolve {}", out.display()))?;
    let client_home = out.join("client");
    let client_ring = args.keyring.open(&client_home, true, true)?;
    let admin = client_ring.add("admin")?;

    struct Planned {
        name: String,
        home: PathBuf,
        ports: NodePorts,
        node_key: NodeKey,
        consensus_key: SigningKey,
        operator_key: SigningKey,
        operator: seqpool_client::keyring::KeyInfo,
        mpc: seqpool_tss::MemberPublic,
    }
    let mut planned = Vec::new();
    for k in 0..n {
        let name = format!("node{k}");
        let home = out.join(&name);
        let operator_key = SigningKey::random(&mut rand::rngs::OsRng);
        // The operator key lives in the node's own keyring and in the client keyring.
        let operator = args
            .keyring
            .open(&home, true, false)?
            .store("operator", &operator_key)?;
        client_ring.store(&name, &operator_key)?;
        // The node's MPC identity, in its encrypted keystore (data/mpc_keystore).
        let identity = crate::mpc::identity::create_identity(
            &home,
            &args.mpc.source(),
            seqpool_tss::keystore::KdfParams::default(),
        )?;
        let consensus_key = SigningKey::random(&mut rand::rngs::OsRng);
        super::mpc::write_registration(
            &home,
            &identity,
            &args.chain_id,
            &operator.address,
            &consensus_key,
        )?;
        planned.push(Planned {
            consensus_key,
            mpc: identity.public(),
            ports: NodePorts::for_index(
                &args.host,
                args.base_port,
                args.grpc_base_port,
                args.rest_base_port,
                k,
            )?,
            name,
            home,
            node_key: NodeKey::generate(),
            operator_key,
            operator,
        });
    }
    let mut accounts = Vec::new();
    for i in 0..args.extra_accounts {
        let info = client_ring.add(&format!("account{i}"))?;
        accounts.push(KeyRef {
            key: info.name,
            address: info.address,
        });
    }

    let peers: Vec<String> = planned
        .iter()
        .map(|p| Ok(format!("{}@{}", p.node_key.node_id()?, p.ports.p2p_addr())))
        .collect::<Result<_>>()?;
    // With L1, every validator's stake is locked there and genesis mirrors it (see testnet_l1).
    let l1 = if args.l1.enabled() {
        let locks: Vec<super::testnet_l1::L1Validator<'_>> = planned
            .iter()
            .map(|p| super::testnet_l1::L1Validator {
                node: &p.name,
                operator_key: &p.operator_key,
                consensus_key: &p.consensus_key,
            })
            .collect();
        Some(super::testnet_l1::setup(&args.l1, &out, &locks)?)
    } else {
        None
    };
    let power = if l1.is_some() {
        args.l1.genesis_power()?
    } else {
        args.power
    };
    let validators: Vec<GenesisValidator> = planned
        .iter()
        .map(|p| GenesisValidator {
            name: p.name.clone(),
            operator: p.operator.address.clone(),
            consensus_key: p.consensus_key.clone(),
            power,
        })
        .collect();
    let template = super::genesis::load_template(args.genesis_template.as_deref())?;
    let mut app_state = AppGenesis::from_template(
        &template,
        &admin.address,
        validators.iter().map(home::staking_validator).collect(),
    );
    app_state.mpc.members = planned
        .iter()
        .map(|p| super::mpc::genesis_member(&p.mpc, &home::consensus_address(&p.consensus_key)))
        .collect::<Result<_>>()?;
    if let Some(entry) = &l1 {
        let c = &entry.contracts;
        let params = app_state
            .mpc
            .params
            .get_or_insert_with(seqpool_mpc::params::default_params);
        // The L1 side every request digest binds.
        params.l1 = Some(seqpool_mpc::L1Contracts {
            chain_id: c.chain_id,
            batch_inbox: c.batch_inbox.to_vec(),
            locking_pool: c.locking_pool.to_vec(),
            group_key_registry: c.group_key_registry.to_vec(),
            governance: c.governance.to_vec(),
        });
        app_state.mpc.next_l2_block = c.first_l2_block.max(1);
    }
    app_state.auth.accounts = accounts
        .iter()
        .map(|a| seqpool_proto::auth::v1::Account {
            address: a.address.clone(),
            ..Default::default()
        })
        .collect();
    let genesis = home::genesis_json(&args.chain_id, &validators, &app_state)?;

    let mut nodes = Vec::new();
    for (k, p) in planned.iter().enumerate() {
        let others: Vec<&str> = peers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, s)| s.as_str())
            .collect();
        home::write_node_home(&NodeHome {
            home: p.home.clone(),
            moniker: p.name.clone(),
            chain_id: args.chain_id.clone(),
            ports: p.ports.clone(),
            node_key: &p.node_key,
            consensus_key: &p.consensus_key,
            persistent_peers: others.join(","),
            timeout_commit: args.timeout_commit.clone(),
            mempool_size: args.mempool_size,
        })?;
        home::write_genesis(&p.home, &genesis)?;
        if let Some(entry) = &l1 {
            super::testnet_l1::configure_node(&p.home, &args.l1, entry)?;
        }
        super::testnet_l2::configure_node(&p.home, &args.l2)?;
        nodes.push(NodeEntry {
            name: p.name.clone(),
            home: p.home.clone(),
            node_id: p.node_key.node_id()?,
            cometbft_rpc: p.ports.rpc_url(),
            p2p: p.ports.p2p_addr(),
            abci: p.ports.abci_addr(),
            grpc: p.ports.grpc_addr(),
            rest: format!("http://{}", p.ports.rest_addr()),
            operator: KeyRef {
                key: p.name.clone(),
                address: p.operator.address.clone(),
            },
            consensus_address: home::consensus_address(&p.consensus_key),
        });
    }
    let file = NodesFile {
        chain_id: args.chain_id.clone(),
        client_home,
        keyring_backend: args.keyring.keyring_backend,
        admin: KeyRef {
            key: "admin".into(),
            address: admin.address,
        },
        nodes,
        accounts,
        l1,
        l2: args.l2.entry()?,
    };
    let path = out.join("nodes.json");
    std::fs::write(&path, serde_json::to_string_pretty(&file)?)
        .with_context(|| format!("write {}", path.display()))?;
    match args.output {
        Output::Json => super::print_json(&file, args.output)?,
        Output::Text => {
            println!(
                "testnet {} with {n} validators in {}",
                args.chain_id,
                out.display()
            );
            for node in &file.nodes {
                println!(
                    "  {}: rpc {} grpc {} rest {} abci {}",
                    node.name, node.cometbft_rpc, node.grpc, node.rest, node.abci
                );
            }
            println!(
                "  admin key \"admin\" ({}) in {}",
                file.admin.address,
                file.client_home.display()
            );
            if let Some(l1) = &file.l1 {
                println!(
                    "  L1 {}: LockingPool {}, {} sequencers locked",
                    l1.rpc,
                    l1.contracts.locking_pool,
                    l1.sequencers.len()
                );
            }
            println!("  description: {}", path.display());
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        testnet: TestnetArgs,
    }

    fn power_of(v: &serde_json::Value) -> i64 {
        v["power"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("power")
    }

    /// The L1-off devnet of issue 2 (`DEVNET_L1=0`, 128 extra accounts): CometBFT's genesis
    /// validators and the app's staking genesis must name the same keys with the same power
    /// (`--power`, not the L1 stake), or the injected extended commit is refused at height 2.
    #[test]
    fn genesis_without_l1_gives_cometbft_and_staking_the_same_power() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("net");
        let cli = Cli::try_parse_from([
            "testnet",
            "--v",
            "4",
            "--output-dir",
            out.to_str().expect("utf-8 path"),
            "--extra-accounts",
            "128",
            "--keyring-backend",
            "test",
        ])
        .expect("args");
        assert!(!cli.testnet.l1.enabled());
        let file = run(cli.testnet).expect("testnet");
        assert_eq!(file.accounts.len(), 128);
        assert!(file.l1.is_none());

        let read = |k: usize| -> serde_json::Value {
            let path = out.join(format!("node{k}/config/genesis.json"));
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
        };
        let genesis = read(0);
        for k in 1..4 {
            assert_eq!(read(k), genesis, "node{k} has another genesis");
        }
        let cometbft: Vec<(String, String, i64)> = genesis["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|v| {
                let key = v["pub_key"]["value"].as_str().expect("key").to_string();
                let address = v["address"].as_str().expect("address").to_string();
                (address, key, power_of(v))
            })
            .collect();
        let staking: Vec<(String, String, i64)> = genesis["app_state"]["staking"]["validators"]
            .as_array()
            .expect("staking validators")
            .iter()
            .map(|v| {
                let key = v["consensusPubKey"].as_str().expect("key").to_string();
                let address = v["consensusAddress"].as_str().expect("address").to_string();
                (address, key, power_of(v))
            })
            .collect();
        assert_eq!(cometbft.len(), 4);
        assert_eq!(cometbft, staking);
        assert!(cometbft.iter().all(|(_, _, p)| *p == 10), "{cometbft:?}");
        let addresses: Vec<&str> = file
            .nodes
            .iter()
            .map(|n| n.consensus_address.as_str())
            .collect();
        let listed: Vec<&str> = cometbft.iter().map(|(a, _, _)| a.as_str()).collect();
        assert_eq!(addresses, listed);
        assert_eq!(
            genesis["app_state"]["auth"]["accounts"]
                .as_array()
                .expect("accounts")
                .len(),
            128
        );
        // Every validator's MPC identity: in genesis, and in its home's encrypted keystore
        // (opened with the home's key file, mode 0600).
        let members: Vec<String> = genesis["app_state"]["mpc"]["members"]
            .as_array()
            .expect("mpc members")
            .iter()
            .map(|m| m["validator"].as_str().expect("validator").to_string())
            .collect();
        assert_eq!(members, addresses);
        for (k, node) in file.nodes.iter().enumerate() {
            let key_file = crate::mpc::identity::default_key_file(&node.home);
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file)
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mpc = crate::mpc::identity::open_node(&node.home, &Default::default())
                .expect("open")
                .expect("a keystore");
            let signer = hex::encode(mpc.identity.public().signer_key);
            let listed = &genesis["app_state"]["mpc"]["members"][k]["signerKey"];
            assert_eq!(
                listed.as_str().map(|b64| hex::encode(
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
                        .expect("base64")
                )),
                Some(signer)
            );
        }
    }
}
