//! A real anvil process for tests: started on a port the OS picks, killed on drop. Shared by the
//! L1, watcher and sidecar tests so each does not repeat the process handling.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::Provider;

/// anvil's first default dev account (the deployer and governance admin in tests).
pub const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// anvil's default dev accounts 1..=3 (funded with 10,000 ETH each): relayer keys in tests.
pub const DEV_KEYS: [&str; 3] = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error("{0} not found: run `make deps` (scripts/install-foundry.sh) to install anvil")]
    Missing(String),
    #[error("spawning anvil: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("anvil did not report its address within 30 s")]
    NoAddress,
    #[error("anvil RPC not ready after 30 s: {0}")]
    NotReady(String),
    #[error("{call}: {reason}")]
    Rpc { call: &'static str, reason: String },
}

/// A running anvil; killed (and reaped) when dropped, whether the test passes or panics.
pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository's pinned anvil (`.bin/anvil`, installed by `make deps`).
pub fn anvil_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.bin/anvil")
}

impl Anvil {
    /// anvil on 127.0.0.1, chain id 31337, automining.
    pub fn start() -> Result<Self, AnvilError> {
        Self::start_with(&[])
    }

    /// As [`Anvil::start`] with extra arguments (e.g. `--no-mining`).
    pub fn start_with(extra: &[&str]) -> Result<Self, AnvilError> {
        let path = anvil_path();
        if !path.exists() {
            return Err(AnvilError::Missing(path.display().to_string()));
        }
        let mut child = Command::new(path)
            .args(["--host", "127.0.0.1", "--port", "0", "--chain-id", "31337"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take();
        // From here on the guard owns the child, so an early return still kills it.
        let mut anvil = Anvil {
            child,
            url: String::new(),
        };
        let stdout = stdout.ok_or(AnvilError::NoAddress)?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| AnvilError::NoAddress)?;
        anvil.url = format!("http://{addr}");
        Ok(anvil)
    }
}

/// Waits until the node answers `eth_chainId` (30 s deadline) and returns the chain id.
pub async fn wait_for_rpc<P: Provider>(provider: &P) -> Result<u64, AnvilError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match provider.get_chain_id().await {
            Ok(id) => return Ok(id),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(err) => return Err(AnvilError::NotReady(err.to_string())),
        }
    }
}

/// Mines `blocks` blocks at once (`anvil_mine`).
pub async fn mine<P: Provider>(provider: &P, blocks: u64) -> Result<(), AnvilError> {
    let _: serde_json::Value = provider
        .raw_request("anvil_mine".into(), (U256::from(blocks),))
        .await
        .map_err(|e| AnvilError::Rpc {
            call: "anvil_mine",
            reason: e.to_string(),
        })?;
    Ok(())
}
