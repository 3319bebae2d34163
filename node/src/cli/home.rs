//! Writing a node home: CometBFT's config.toml, genesis.json, node and validator keys, app.toml.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use k256::ecdsa::SigningKey;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::AppConfig;
use seqpool_app::genesis::AppGenesis;

/// CometBFT v0.38's default config.toml; [`cometbft_config`] patches the values seqpool needs.
const COMETBFT_CONFIG_TEMPLATE: &str = include_str!("cometbft_config.toml");

/// Where one node listens.
#[derive(Clone, Debug)]
pub struct NodePorts {
    pub host: String,
    pub p2p: u16,
    pub rpc: u16,
    pub abci: u16,
    pub prometheus: u16,
    pub grpc: u16,
    pub rest: u16,
}

impl NodePorts {
    /// Ports of node `index` in a testnet: CometBFT ports in blocks of 10 from `base`, gRPC and REST
    /// one apart from their own bases.
    pub fn for_index(
        host: &str,
        base: u16,
        grpc_base: u16,
        rest_base: u16,
        index: u16,
    ) -> Result<Self> {
        let port = |b: u16, off: u16| -> Result<u16> {
            b.checked_add(off)
                .with_context(|| format!("port {b} + {off} does not fit in 16 bits"))
        };
        let block = index.checked_mul(10).context("too many nodes")?;
        Ok(NodePorts {
            host: host.to_string(),
            p2p: port(base, block)?,
            rpc: port(base, block + 1)?,
            abci: port(base, block + 2)?,
            prometheus: port(base, block + 4)?,
            grpc: port(grpc_base, index)?,
            rest: port(rest_base, index)?,
        })
    }

    pub fn rpc_url(&self) -> String {
        format!("http://{}:{}", self.host, self.rpc)
    }
    pub fn abci_addr(&self) -> String {
        format!("{}:{}", self.host, self.abci)
    }
    pub fn grpc_addr(&self) -> String {
        format!("{}:{}", self.host, self.grpc)
    }
    pub fn rest_addr(&self) -> String {
        format!("{}:{}", self.host, self.rest)
    }
    pub fn p2p_addr(&self) -> String {
        format!("{}:{}", self.host, self.p2p)
    }
}

/// Replaces the value of `key` inside `[section]` ("" for the top level) of a TOML text, keeping
/// every comment. `value` is a TOML literal (quoted for strings).
pub fn set_toml_value(text: &str, section: &str, key: &str, value: &str) -> Result<String> {
    let mut current = String::new();
    let mut found = false;
    let mut out = String::with_capacity(text.len() + value.len());
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            current = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        let is_target = current == section
            && trimmed
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == key)
            && !trimmed.starts_with('#');
        if is_target {
            out.push_str(&format!("{key} = {value}"));
            found = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !found {
        bail!("the CometBFT config template has no key {key:?} in section [{section}]");
    }
    Ok(out)
}

fn quoted(s: &str) -> String {
    // TOML basic strings share JSON's escapes for everything we write here.
    serde_json::Value::String(s.to_string()).to_string()
}

/// CometBFT config.toml for one node.
pub fn cometbft_config(
    moniker: &str,
    ports: &NodePorts,
    persistent_peers: &str,
    timeout_commit: &str,
    mempool_size: u32,
) -> Result<String> {
    let mut t = COMETBFT_CONFIG_TEMPLATE.to_string();
    let listen = |port: u16| format!("tcp://{}:{port}", ports.host);
    let edits: Vec<(&str, &str, String)> = vec![
        ("", "proxy_app", quoted(&listen(ports.abci))),
        ("", "moniker", quoted(moniker)),
        ("rpc", "laddr", quoted(&listen(ports.rpc))),
        ("p2p", "laddr", quoted(&listen(ports.p2p))),
        ("p2p", "persistent_peers", quoted(persistent_peers)),
        // Local testnets put several nodes on one IP.
        (
            "p2p",
            "addr_book_strict",
            (ports.host != "127.0.0.1" && ports.host != "localhost").to_string(),
        ),
        ("p2p", "allow_duplicate_ip", "true".to_string()),
        ("consensus", "timeout_commit", quoted(timeout_commit)),
        (
            "instrumentation",
            "prometheus_listen_addr",
            quoted(&format!("{}:{}", ports.host, ports.prometheus)),
        ),
        ("tx_index", "indexer", quoted("kv")),
        ("mempool", "size", mempool_size.to_string()),
    ];
    for (section, key, value) in edits {
        t = set_toml_value(&t, section, key, &value)?;
    }
    Ok(t)
}

/// CometBFT's address of a secp256k1 validator key: RIPEMD160(SHA256(compressed key)), hex.
pub fn consensus_address(key: &SigningKey) -> String {
    hex::encode_upper(seqpool_component::address::address_bytes(
        compressed(key).as_slice(),
    ))
}

pub fn compressed(key: &SigningKey) -> Vec<u8> {
    key.verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec()
}

/// A node's p2p identity key (ed25519) and the node ID derived from it.
pub struct NodeKey {
    seed: Zeroizing<[u8; 32]>,
}

impl NodeKey {
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        NodeKey { seed }
    }

    fn signing_key(&self) -> Result<tendermint::private_key::Ed25519> {
        tendermint::private_key::Ed25519::try_from(self.seed.as_slice())
            .map_err(|e| anyhow::anyhow!("ed25519 key: {e}"))
    }

    /// Node ID: the first 20 bytes of SHA-256 of the public key, hex (CometBFT's p2p ID).
    pub fn node_id(&self) -> Result<String> {
        let public = self.signing_key()?.verification_key();
        let digest = Sha256::digest(public.as_bytes());
        Ok(hex::encode(&digest[..20]))
    }

    fn to_json(&self) -> Result<Zeroizing<String>> {
        let private = tendermint::PrivateKey::Ed25519(self.signing_key()?);
        Ok(Zeroizing::new(serde_json::to_string(
            &json!({ "priv_key": private }),
        )?))
    }
}

fn priv_validator_key_json(key: &SigningKey) -> Result<Zeroizing<String>> {
    let private = tendermint::PrivateKey::Secp256k1(key.clone());
    let public = tendermint::PublicKey::Secp256k1(*key.verifying_key());
    Ok(Zeroizing::new(serde_json::to_string_pretty(&json!({
        "address": consensus_address(key),
        "pub_key": public,
        "priv_key": private,
    }))?))
}

/// One validator of a genesis.
pub struct GenesisValidator {
    pub name: String,
    pub operator: String,
    pub consensus_key: SigningKey,
    pub power: i64,
}

/// genesis.json: secp256k1 validators and vote extensions from height 1.
pub fn genesis_json(
    chain_id: &str,
    validators: &[GenesisValidator],
    app_state: &AppGenesis,
) -> Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let genesis_time =
        tendermint::Time::from_unix_timestamp(now.as_secs() as i64, now.subsec_nanos())
            .map_err(|e| anyhow::anyhow!("genesis time: {e}"))?
            .to_rfc3339();
    let cometbft_validators: Vec<_> = validators
        .iter()
        .map(|v| {
            json!({
                "address": consensus_address(&v.consensus_key),
                "pub_key": tendermint::PublicKey::Secp256k1(*v.consensus_key.verifying_key()),
                "power": v.power.to_string(),
                "name": v.name,
            })
        })
        .collect();
    let doc = json!({
        "genesis_time": genesis_time,
        "chain_id": chain_id,
        "initial_height": "1",
        "consensus_params": {
            "block": { "max_bytes": "22020096", "max_gas": "-1" },
            "evidence": { "max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576" },
            "validator": { "pub_key_types": ["secp256k1"] },
            "version": { "app": "0" },
            "abci": { "vote_extensions_enable_height": "1" }
        },
        "validators": cometbft_validators,
        "app_hash": "",
        "app_state": serde_json::to_value(app_state)?,
    });
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// The staking genesis entry of a validator.
pub fn staking_validator(v: &GenesisValidator) -> seqpool_proto::staking::v1::Validator {
    seqpool_proto::staking::v1::Validator {
        name: v.name.clone(),
        operator: v.operator.clone(),
        consensus_pub_key: compressed(&v.consensus_key),
        consensus_address: consensus_address(&v.consensus_key),
        power: v.power,
        ..Default::default()
    }
}

/// Writes a file only its owner can read (for keys).
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(contents)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("write {}", path.display()))
}

/// Files of one node home, written by [`write_node_home`].
pub struct NodeHome<'a> {
    pub home: PathBuf,
    pub moniker: String,
    pub chain_id: String,
    pub ports: NodePorts,
    pub node_key: &'a NodeKey,
    pub consensus_key: &'a SigningKey,
    pub persistent_peers: String,
    pub timeout_commit: String,
    /// CometBFT mempool capacity in txs (its default is 5000).
    pub mempool_size: u32,
}

/// Writes config/ (config.toml, app.toml, node_key.json, priv_validator_key.json) and
/// data/priv_validator_state.json. genesis.json is written separately (it is shared).
pub fn write_node_home(n: &NodeHome<'_>) -> Result<()> {
    let config_dir = n.home.join("config");
    let data_dir = n.home.join("data");
    std::fs::create_dir_all(&config_dir)
        .with_context(|| format!("create {}", config_dir.display()))?;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    write(
        &config_dir.join("config.toml"),
        &cometbft_config(
            &n.moniker,
            &n.ports,
            &n.persistent_peers,
            &n.timeout_commit,
            n.mempool_size,
        )?,
    )?;
    let app = AppConfig {
        chain_id: n.chain_id.clone(),
        abci_listen: n.ports.abci_addr(),
        grpc_listen: n.ports.grpc_addr(),
        rest_listen: n.ports.rest_addr(),
        cometbft_rpc: n.ports.rpc_url(),
        ..AppConfig::default()
    };
    app.save(&n.home)?;
    write_secret(
        &config_dir.join("node_key.json"),
        n.node_key.to_json()?.as_bytes(),
    )?;
    write_secret(
        &config_dir.join("priv_validator_key.json"),
        priv_validator_key_json(n.consensus_key)?.as_bytes(),
    )?;
    write(
        &data_dir.join("priv_validator_state.json"),
        "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n",
    )?;
    Ok(())
}

pub fn write_genesis(home: &Path, genesis: &str) -> Result<()> {
    write(&home.join("config").join("genesis.json"), genesis)
}

/// Reads the consensus key back from priv_validator_key.json (for tests and `init` reruns).
pub fn read_consensus_key(home: &Path) -> Result<SigningKey> {
    let path = home.join("config").join("priv_validator_key.json");
    let text = Zeroizing::new(
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?,
    );
    #[derive(serde::Deserialize)]
    struct File {
        priv_key: tendermint::PrivateKey,
    }
    let file: File =
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    match file.priv_key {
        tendermint::PrivateKey::Secp256k1(k) => Ok(k),
        _ => bail!("{} does not hold a secp256k1 key", path.display()),
    }
}

/// Sanity check that a base64 value decodes (used by tests on generated files).
pub fn b64_len(s: &str) -> Option<usize> {
    B64.decode(s).ok().map(|v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_patch_targets_the_right_section() {
        let text = "a = 1\n[rpc]\nladdr = \"x\"\n# laddr = \"comment\"\n[p2p]\nladdr = \"y\"\n";
        let out = set_toml_value(text, "p2p", "laddr", "\"z\"").unwrap();
        assert_eq!(
            out,
            "a = 1\n[rpc]\nladdr = \"x\"\n# laddr = \"comment\"\n[p2p]\nladdr = \"z\"\n"
        );
        assert!(set_toml_value(text, "p2p", "nope", "1").is_err());
    }

    #[test]
    fn config_is_valid_toml_with_our_values() {
        let ports = NodePorts::for_index("127.0.0.1", 36656, 19090, 11317, 2).unwrap();
        let text = cometbft_config("node2", &ports, "abc@127.0.0.1:36656", "500ms", 20000).unwrap();
        assert_eq!(
            toml::from_str::<toml::Table>(&text).unwrap()["mempool"]["size"].as_integer(),
            Some(20000)
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["proxy_app"].as_str(), Some("tcp://127.0.0.1:36678"));
        assert_eq!(parsed["moniker"].as_str(), Some("node2"));
        assert_eq!(
            parsed["rpc"]["laddr"].as_str(),
            Some("tcp://127.0.0.1:36677")
        );
        assert_eq!(
            parsed["p2p"]["laddr"].as_str(),
            Some("tcp://127.0.0.1:36676")
        );
        assert_eq!(
            parsed["p2p"]["persistent_peers"].as_str(),
            Some("abc@127.0.0.1:36656")
        );
        assert_eq!(parsed["p2p"]["allow_duplicate_ip"].as_bool(), Some(true));
        assert_eq!(
            parsed["consensus"]["timeout_commit"].as_str(),
            Some("500ms")
        );
        assert_eq!((ports.grpc, ports.rest), (19092, 11319));
    }

    #[test]
    fn keys_and_genesis_have_cometbft_shapes() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let pv: serde_json::Value =
            serde_json::from_str(&priv_validator_key_json(&key).unwrap()).unwrap();
        assert_eq!(pv["pub_key"]["type"], "tendermint/PubKeySecp256k1");
        assert_eq!(pv["priv_key"]["type"], "tendermint/PrivKeySecp256k1");
        assert_eq!(b64_len(pv["pub_key"]["value"].as_str().unwrap()), Some(33));
        assert_eq!(b64_len(pv["priv_key"]["value"].as_str().unwrap()), Some(32));
        assert_eq!(pv["address"].as_str().unwrap().len(), 40);

        let node_key = NodeKey::generate();
        let nk: serde_json::Value = serde_json::from_str(&node_key.to_json().unwrap()).unwrap();
        assert_eq!(nk["priv_key"]["type"], "tendermint/PrivKeyEd25519");
        assert_eq!(b64_len(nk["priv_key"]["value"].as_str().unwrap()), Some(64));
        assert_eq!(node_key.node_id().unwrap().len(), 40);

        let op = seqpool_client::address_of(&SigningKey::random(&mut rand::rngs::OsRng));
        let v = GenesisValidator {
            name: "node0".into(),
            operator: op.clone(),
            consensus_key: key,
            power: 10,
        };
        let app = AppGenesis::default_for(&op, vec![staking_validator(&v)]);
        let g: serde_json::Value =
            serde_json::from_str(&genesis_json("c-1", &[v], &app).unwrap()).unwrap();
        assert_eq!(
            g["consensus_params"]["validator"]["pub_key_types"][0],
            "secp256k1"
        );
        assert_eq!(
            g["consensus_params"]["abci"]["vote_extensions_enable_height"],
            "1"
        );
        assert_eq!(
            g["validators"][0]["pub_key"]["type"],
            "tendermint/PubKeySecp256k1"
        );
        assert_eq!(g["app_state"]["admin"]["admin"], op.as_str());
        let back = AppGenesis::from_json(g["app_state"].to_string().as_bytes()).unwrap();
        assert_eq!(back, app);
    }
}
