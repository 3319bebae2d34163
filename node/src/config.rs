//! `<home>/config/app.toml`: where seqpoold listens and which CometBFT it talks to.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    pub chain_id: String,
    /// ABCI socket CometBFT connects to (its `proxy_app`).
    pub abci_listen: String,
    pub grpc_listen: String,
    pub rest_listen: String,
    /// CometBFT RPC, for the CLI and for node status.
    pub cometbft_rpc: String,
    /// tracing filter, e.g. "info" or "seqpoold=debug,info".
    pub log_level: String,
    /// L1 JSON-RPC the bridge watcher follows ("" = no watcher; the node then attests nothing).
    pub l1_rpc: String,
    /// LockingPool contract address on L1 (0x...).
    pub l1_locking_pool: String,
    /// BatchInbox and GroupKeyRegistry on L1 (0x...): the watcher also follows their events and
    /// attests the receipts of group-signed payloads ("" = not watched).
    pub l1_batch_inbox: String,
    pub l1_group_key_registry: String,
    /// Governance on L1 (0x...): the watcher attests the ActionExecuted receipts of group-signed
    /// actions (SLASHING, GOVERNANCE_ACTION) ("" = not watched).
    pub l1_governance: String,
    /// Blocks below the L1 head an event must be before this node attests it.
    pub l1_confirmations: u64,
    /// Follow the L1 node's `finalized` block instead of `l1_confirmations`.
    pub l1_use_finalized: bool,
    /// L1 block to start from on a fresh cursor (the LockingPool deployment block).
    pub l1_start_block: u64,
    pub l1_poll_interval_ms: u64,
    /// L2 execution node JSON-RPC this node watches for L2 blocks and producer stalls
    /// ("" = no L2 watcher; the producer section of its votes then stays empty).
    pub l2_rpc: String,
    pub l2_poll_interval_ms: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            chain_id: "seqpool-devnet".into(),
            abci_listen: "127.0.0.1:26658".into(),
            grpc_listen: "127.0.0.1:9090".into(),
            rest_listen: "127.0.0.1:1317".into(),
            cometbft_rpc: "http://127.0.0.1:26657".into(),
            log_level: "info".into(),
            l1_rpc: String::new(),
            l1_locking_pool: String::new(),
            l1_batch_inbox: String::new(),
            l1_group_key_registry: String::new(),
            l1_governance: String::new(),
            l1_confirmations: 2,
            l1_use_finalized: false,
            l1_start_block: 0,
            l1_poll_interval_ms: 1000,
            l2_rpc: String::new(),
            l2_poll_interval_ms: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl AppConfig {
    pub fn path(home: &Path) -> PathBuf {
        home.join("config").join("app.toml")
    }

    pub fn load(home: &Path) -> Result<Self, ConfigError> {
        let path = Self::path(home);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path,
            message: e.to_string(),
        })
    }

    pub fn save(&self, home: &Path) -> Result<(), ConfigError> {
        let path = Self::path(home);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| ConfigError::Write {
                path: path.clone(),
                source,
            })?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(|source| ConfigError::Write { path, source })
    }

    /// The L1 watcher's node-local cursor (not consensus state).
    pub fn l1_cursor_path(home: &Path) -> PathBuf {
        home.join("data").join("l1_watcher_cursor.json")
    }

    /// Where the state database lives.
    pub fn db_path(home: &Path) -> PathBuf {
        home.join("data").join("seqpool")
    }
}
