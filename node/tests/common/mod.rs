//! End-to-end harness: a real N-validator devnet (the `seqpoold` binary + `.bin/cometbft`) in a temp
//! dir on free ports. Every child process is killed when the [`Devnet`] is dropped, also on failure;
//! on failure the tail of each log is printed. Set `SEQPOOL_E2E_KEEP=1` to keep the directory.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use seqpool_client::Rpc;
use seqpoold::cli::testnet::NodesFile;

pub const SEQPOOLD: &str = env!("CARGO_BIN_EXE_seqpoold");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("app/ has a parent")
        .to_path_buf()
}

pub fn cometbft_bin() -> PathBuf {
    let path = std::env::var_os("COMETBFT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".bin/cometbft"));
    assert!(
        path.exists(),
        "{} is missing: run `make deps` (scripts/install-cometbft.sh)",
        path.display()
    );
    path
}

/// One process of a node.
struct Proc {
    node: usize,
    kind: &'static str,
    child: Child,
}

pub struct Devnet {
    pub dir: tempfile::TempDir,
    pub nodes: NodesFile,
    procs: Vec<Proc>,
    cometbft: PathBuf,
    /// The L1 anvil (with [`DevnetOptions::l1`]); killed when the devnet is dropped.
    pub l1: Option<L1Anvil>,
    /// The L2 anvil (with [`DevnetOptions::l2`]): no automine; the sidecars make its blocks.
    pub l2: Option<L1Anvil>,
    /// Serialises devnets within one test binary (cargo runs test binaries one after another).
    _guard: std::sync::MutexGuard<'static, ()>,
}

static ONE_DEVNET_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// True if every port in `ports` can be bound on loopback right now.
fn ports_free(ports: impl IntoIterator<Item = u16>) -> bool {
    ports
        .into_iter()
        .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// The CometBFT, gRPC and REST ports of `n` nodes from `base` (see [`free_base_port`]).
fn devnet_ports(base: u16, n: u16) -> Vec<u16> {
    (0..n)
        .flat_map(|k| {
            let b = base + 10 * k;
            [b, b + 1, b + 2, b + 4, base + 100 + k, base + 200 + k]
        })
        .collect()
}

/// A base port such that the CometBFT block (base..base+10n), gRPC (base+100..) and REST
/// (base+200..) ports of `n` nodes, and of one more that a test may add (a joiner), are all free.
/// Every port stays below the kernel's ephemeral range (32768.. on Linux): a port from it can be
/// taken at any moment by an outgoing connection, which failed a joiner's start on CI.
fn free_base_port(n: u16) -> u16 {
    let n = n + 1;
    let seed = std::process::id() as u64 * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    for attempt in 0..200u64 {
        let base = 10_000 + ((seed + attempt * 331) % 2_100) as u16 * 10;
        let ports = (0..n).flat_map(|k| {
            let b = base + 10 * k;
            [b, b + 1, b + 2, b + 4, base + 100 + k, base + 200 + k]
        });
        if ports_free(ports) {
            return base;
        }
    }
    panic!("no free port range found for {n} nodes");
}

/// What [`Devnet::start_with`] starts besides the validators.
#[derive(Clone, Debug, Default)]
pub struct DevnetOptions {
    pub validators: u16,
    pub extra_accounts: u32,
    /// An L1 anvil with the contracts deployed and every validator's stake locked (see [`L1Anvil`]).
    pub l1: bool,
    /// An L2 anvil without automine that every node watches, and one sidecar per validator.
    pub l2: Option<L2Options>,
}

/// The L2 side of a test devnet.
#[derive(Clone, Copy, Debug)]
pub struct L2Options {
    pub block_time_ms: u64,
    /// Genesis `epochs.params.epoch_length` (L2 blocks per epoch).
    pub epoch_length: u64,
}

impl Devnet {
    /// Generates and starts an `n`-validator devnet, then waits until every node is past height 1.
    pub fn start(n: u16, extra_accounts: u32) -> Devnet {
        Self::start_with(DevnetOptions {
            validators: n,
            extra_accounts,
            ..DevnetOptions::default()
        })
    }

    /// Like [`Devnet::start`], with the extra processes `options` asks for.
    pub fn start_with(options: DevnetOptions) -> Devnet {
        let n = options.validators;
        let extra_accounts = options.extra_accounts;
        let guard = ONE_DEVNET_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cometbft = cometbft_bin();
        let dir = tempfile::Builder::new()
            .prefix("seqpool-e2e-")
            .tempdir()
            .expect("tempdir");
        let base = free_base_port(n);
        let l1 = options
            .l1
            .then(|| L1Anvil::start(&dir.path().join("l1-anvil.log"), &devnet_ports(base, n)));
        let l1_args: Vec<String> = l1.as_ref().map(L1Anvil::testnet_args).unwrap_or_default();
        let l2 = options
            .l2
            .map(|_| start_l2_anvil(&dir.path().join("l2-anvil.log"), &devnet_ports(base, n)));
        let l2_args: Vec<String> = l2
            .as_ref()
            .map(|a| vec!["--l2-rpc".into(), a.rpc.url.clone()])
            .unwrap_or_default();
        let out = run_ok(
            Command::new(SEQPOOLD)
                .args(["testnet", "--keyring-backend", "test", "--output", "json"])
                .args(&l1_args)
                .args(&l2_args)
                .args([
                    "--v".to_string(),
                    n.to_string(),
                    "--output-dir".into(),
                    dir.path().join("net").display().to_string(),
                    "--chain-id".into(),
                    "seqpool-e2e".into(),
                    "--base-port".into(),
                    base.to_string(),
                    "--grpc-base-port".into(),
                    (base + 100).to_string(),
                    "--rest-base-port".into(),
                    (base + 200).to_string(),
                    "--extra-accounts".into(),
                    extra_accounts.to_string(),
                    "--timeout-commit".into(),
                    "300ms".into(),
                ]),
        );
        let nodes: NodesFile =
            serde_json::from_slice(&out.stdout).expect("testnet prints nodes.json");
        if let Some(l1) = &l1 {
            // Setup ran on automine; from now on L1 makes a block every second by itself, so
            // confirmations advance.
            l1.rpc.set_interval_mining(L1_BLOCK_SECONDS);
        }
        let mut net = Devnet {
            dir,
            nodes,
            procs: Vec::new(),
            cometbft,
            l1,
            l2,
            _guard: guard,
        };
        if let Some(o) = options.l2 {
            net.set_genesis_epoch_length(o.epoch_length);
        }
        for k in 0..n as usize {
            net.start_node(k);
        }
        if let Some(o) = options.l2 {
            for k in 0..n as usize {
                net.start_sidecar(k, o.block_time_ms);
            }
        }
        net.wait_all_height(2, Duration::from_secs(90));
        net
    }

    pub fn len(&self) -> usize {
        self.nodes.nodes.len()
    }

    pub fn home(&self, k: usize) -> &Path {
        &self.nodes.nodes[k].home
    }

    pub fn client_home(&self) -> &Path {
        &self.nodes.client_home
    }

    pub fn rpc(&self, k: usize) -> Rpc {
        Rpc::new(&self.nodes.nodes[k].cometbft_rpc).expect("rpc url")
    }

    fn spawn(&mut self, k: usize, kind: &'static str, mut cmd: Command) {
        let log = self.home(k).join(format!("{kind}.log"));
        let file = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let err = file.try_clone().expect("clone log handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {kind}: {e}"));
        self.procs.push(Proc {
            node: k,
            kind,
            child,
        });
    }

    /// Starts seqpoold and cometbft of node `k`.
    pub fn start_node(&mut self, k: usize) {
        self.start_node_with_env(k, &[]);
    }

    /// [`Devnet::start_node`] with extra environment for seqpoold (e.g. a test switch).
    pub fn start_node_with_env(&mut self, k: usize, env: &[(&str, &str)]) {
        let home = self.home(k).to_path_buf();
        let mut app = Command::new(SEQPOOLD);
        app.arg("start").arg("--home").arg(&home);
        app.envs(env.iter().copied());
        self.spawn(k, "seqpoold", app);
        let mut cmt = Command::new(&self.cometbft);
        cmt.arg("start").arg("--home").arg(&home);
        self.spawn(k, "cometbft", cmt);
    }

    /// Starts only seqpoold of node `k` (its state as it was; no CometBFT drives it yet).
    #[allow(dead_code)]
    pub fn start_seqpoold(&mut self, k: usize) {
        let mut app = Command::new(SEQPOOLD);
        app.arg("start").arg("--home").arg(self.home(k));
        self.spawn(k, "seqpoold", app);
    }

    /// Starts only cometbft of node `k` (its seqpoold must be running).
    #[allow(dead_code)]
    pub fn start_cometbft(&mut self, k: usize) {
        let mut cmt = Command::new(&self.cometbft);
        cmt.arg("start").arg("--home").arg(self.home(k));
        self.spawn(k, "cometbft", cmt);
    }

    /// SIGKILLs both processes of node `k` and reaps them.
    pub fn kill_node(&mut self, k: usize) {
        let mut kept = Vec::new();
        for mut p in self.procs.drain(..) {
            if p.node == k {
                let _ = p.child.kill();
                let _ = p.child.wait();
            } else {
                kept.push(p);
            }
        }
        self.procs = kept;
    }

    /// Panics (with the logs) if a process exited on its own.
    pub fn assert_running(&mut self) {
        for p in &mut self.procs {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("node{} {} exited with {status}", p.node, p.kind);
            }
        }
    }

    pub fn height(&self, k: usize) -> Option<u64> {
        block_on(self.rpc(k).status()).ok().map(|s| s.height)
    }

    /// Waits until every node reports at least `height`.
    pub fn wait_all_height(&mut self, height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.assert_running();
            let heights: Vec<Option<u64>> = (0..self.len()).map(|k| self.height(k)).collect();
            if heights.iter().all(|h| h.is_some_and(|h| h >= height)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nodes did not reach height {height} within {timeout:?}: {heights:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until node `k` reports at least `height`.
    pub fn wait_height(&mut self, k: usize, height: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            self.assert_running();
            if let Some(h) = self.height(k).filter(|h| *h >= height) {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "node{k} did not reach height {height} within {timeout:?} (at {:?})",
                self.height(k)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// App hash recorded in block `h + 1` (the state after `h`), as node `k` reports it.
    pub fn app_hash_after(&self, k: usize, h: u64) -> String {
        block_on(self.rpc(k).app_hash_after(h))
            .unwrap_or_else(|e| panic!("node{k} block {}: {e}", h + 1))
    }

    /// Asserts every node has the same app hash after each height in `heights`.
    pub fn assert_same_app_hashes(&self, heights: std::ops::RangeInclusive<u64>) {
        for h in heights {
            let hashes: Vec<String> = (0..self.len()).map(|k| self.app_hash_after(k, h)).collect();
            assert!(
                hashes.iter().all(|x| *x == hashes[0]),
                "app hashes diverge after height {h}: {hashes:?}"
            );
            assert!(!hashes[0].is_empty(), "empty app hash after height {h}");
        }
    }

    /// Runs the seqpoold CLI.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(SEQPOOLD)
            .args(args)
            .output()
            .expect("run seqpoold")
    }

    fn print_logs(&self) {
        for k in 0..self.len() {
            for kind in ["seqpoold", "cometbft", "sidecar"] {
                let path = self.home(k).join(format!("{kind}.log"));
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                eprintln!("----- node{k} {kind}.log (last {} lines) -----", tail.len());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        drop(self.l1.take());
        drop(self.l2.take());
        if std::thread::panicking() {
            self.print_logs();
        }
        if std::env::var_os("SEQPOOL_E2E_KEEP").is_some() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("kept devnet in {}", kept.keep().display());
        }
    }
}

/// Runs a command and asserts it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Minimal HTTP/1.1 GET (the REST server speaks plain HTTP on loopback); returns status and body.
pub fn http_get(base: &str, path: &str) -> (u16, String) {
    http_request("GET", base, path, None)
}

/// Minimal HTTP/1.1 POST of a JSON body; returns status and body, or the I/O error (a server may
/// reset a connection whose body is too large while it is still being sent).
#[allow(dead_code)]
pub fn http_post(base: &str, path: &str, json: &str) -> Result<(u16, String), String> {
    http_exchange("POST", base, path, Some(json)).map(|(status, _, body)| (status, body))
}

/// Also returns the content type of the answer.
#[allow(dead_code)]
pub fn http_get_typed(base: &str, path: &str) -> (u16, String, String) {
    let (status, head, body) =
        http_exchange("GET", base, path, None).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, body, content_type)
}

fn http_request(method: &str, base: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let (status, _, body) =
        http_exchange(method, base, path, json).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (status, body)
}

fn http_exchange(
    method: &str,
    base: &str,
    path: &str,
    json: Option<&str>,
) -> Result<(u16, String, String), String> {
    use std::io::{Read, Write};
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(authority)
        .unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = json.unwrap_or("");
    let content = if json.is_some() {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    } else {
        String::new()
    };
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept: application/json\r\n{content}\r\n{body}").map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read response: {e}"))?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, head.to_string(), body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size_line, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size_line.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// L1: anvil with the contracts (seqpool testnet --l1-rpc deploys and locks).

/// anvil's first default dev account: the L1 deployer and governance admin of test devnets.
pub const L1_DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// L1 blocks an event must be below the head before the nodes attest it.
pub const L1_CONFIRMATIONS: u64 = 2;
pub const L1_BLOCK_SECONDS: u64 = 1;

/// The bridge's confirmation depth in the devnets started here: `SEQPOOL_E2E_L1_CONFIRMATIONS`
/// (make chaos raises it so that deeper reorgs stay within it), else `L1_CONFIRMATIONS`.
pub fn l1_confirmations() -> u64 {
    std::env::var("SEQPOOL_E2E_L1_CONFIRMATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(L1_CONFIRMATIONS)
}
/// Stake of each devnet validator in whole tokens (= its voting power).
pub const L1_STAKE_TOKENS: u64 = 1000;

pub fn anvil_bin() -> PathBuf {
    let path = repo_root().join(".bin/anvil");
    assert!(
        path.exists(),
        "{} is missing: run `make deps` (scripts/install-foundry.sh)",
        path.display()
    );
    path
}

/// An anvil process on a free loopback port, killed on drop. It starts automining (so the
/// testnet's deployment and locks take one block each) until [`L1Anvil::set_interval_mining`].
pub struct L1Anvil {
    child: Child,
    pub rpc: L1Rpc,
}

/// JSON-RPC calls to the L1 anvil (a cheap handle, cloneable out of the [`Devnet`]).
#[derive(Clone, Debug)]
pub struct L1Rpc {
    pub url: String,
}

impl L1Anvil {
    /// Starts anvil on a loopback port outside `avoid`, logging to `log`, and waits for its RPC.
    pub fn start(log: &Path, avoid: &[u16]) -> L1Anvil {
        let port = loop {
            let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind an ephemeral port");
            let port = listener.local_addr().expect("local addr").port();
            if !avoid.contains(&port) {
                break port;
            }
        };
        let file = File::create(log).expect("create anvil log");
        let err = file.try_clone().expect("clone log handle");
        let child = Command::new(anvil_bin())
            .args(["--host", "127.0.0.1", "--chain-id", "31337", "--port"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("spawn anvil");
        let anvil = L1Anvil {
            child,
            rpc: L1Rpc {
                url: format!("http://127.0.0.1:{port}"),
            },
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while anvil
            .rpc
            .try_rpc("eth_chainId", serde_json::json!([]))
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "anvil did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        anvil
    }

    /// The `seqpoold testnet` flags that deploy to this anvil and lock every validator.
    pub fn testnet_args(&self) -> Vec<String> {
        [
            "--l1-rpc",
            &self.rpc.url,
            "--l1-deployer-key",
            L1_DEV_KEY,
            "--l1-stake",
            &L1_STAKE_TOKENS.to_string(),
            "--l1-confirmations",
            &l1_confirmations().to_string(),
            "--l1-poll-interval-ms",
            "200",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl L1Rpc {
    /// One JSON-RPC call; the `result`, or the error as text.
    pub fn try_rpc(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let url = self.url.parse().map_err(|e| format!("{e}"))?;
        let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
        block_on(async {
            alloy::providers::Provider::raw_request::<_, serde_json::Value>(
                &provider,
                method.to_string().into(),
                params,
            )
            .await
            .map_err(|e| e.to_string())
        })
    }

    pub fn rpc(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("anvil {method}: {e}"))
    }

    /// Mines a block every `seconds` (and no longer on each transaction).
    pub fn set_interval_mining(&self, seconds: u64) {
        self.rpc("evm_setIntervalMining", serde_json::json!([seconds]));
    }

    /// Mines on each transaction only (stops interval mining): the test then controls every block.
    pub fn set_automine(&self) {
        self.rpc("evm_setAutomine", serde_json::json!([true]));
    }

    pub fn mine(&self, blocks: u64) {
        self.rpc("anvil_mine", serde_json::json!([blocks]));
    }

    pub fn block_number(&self) -> u64 {
        let v = self.rpc("eth_blockNumber", serde_json::json!([]));
        let hex = v.as_str().expect("block number is a hex string");
        u64::from_str_radix(hex.trim_start_matches("0x"), 16).expect("hex block number")
    }

    /// `evm_snapshot`: an id to revert to.
    pub fn snapshot(&self) -> serde_json::Value {
        self.rpc("evm_snapshot", serde_json::json!([]))
    }

    /// `evm_revert` to `snapshot`: drops every block mined since (an L1 reorg).
    pub fn revert(&self, snapshot: serde_json::Value) {
        let reverted = self.rpc("evm_revert", serde_json::json!([snapshot]));
        assert_eq!(reverted, serde_json::json!(true), "evm_revert refused");
    }
}

impl Drop for L1Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// L2: anvil without automine; one seqpool-sidecar per validator makes its blocks.

/// The sidecar binary (another crate of the workspace: `make e2e` builds it before the tests).
pub fn sidecar_bin() -> PathBuf {
    let path = std::env::var_os("SEQPOOL_SIDECAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(SEQPOOLD).with_file_name("seqpool-sidecar"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p seqpool-sidecar` (make e2e does)",
        path.display()
    );
    path
}

/// An anvil that mines only when asked (`evm_mine`), like `anvil --no-mining`.
pub fn start_l2_anvil(log: &Path, avoid: &[u16]) -> L1Anvil {
    let anvil = L1Anvil::start(log, avoid);
    anvil.rpc.rpc("evm_setAutomine", serde_json::json!([false]));
    anvil
}

impl Devnet {
    /// Sets `epochs.params.epoch_length` in every node's genesis (before the nodes start).
    pub fn set_genesis_epoch_length(&self, epoch_length: u64) {
        for k in 0..self.len() {
            let path = self.home(k).join("config/genesis.json");
            let text = std::fs::read_to_string(&path).expect("read genesis");
            let mut genesis: serde_json::Value = serde_json::from_str(&text).expect("genesis JSON");
            genesis["app_state"]["epochs"]["params"]["epochLength"] =
                serde_json::json!(epoch_length.to_string());
            std::fs::write(&path, serde_json::to_vec_pretty(&genesis).expect("JSON"))
                .expect("write genesis");
        }
    }

    /// Starts the sidecar of node `k` against its seqpoold and the L2 anvil.
    pub fn start_sidecar(&mut self, k: usize, block_time_ms: u64) {
        self.start_sidecar_as(k, block_time_ms, "operator");
    }

    /// [`Devnet::start_sidecar`] whose batch submitter signs with keyring key `operator_key` of
    /// node `k`'s home (x/staking's operator of the validator).
    pub fn start_sidecar_as(&mut self, k: usize, block_time_ms: u64, operator_key: &str) {
        let l2 = self.l2.as_ref().expect("a devnet with L2").rpc.url.clone();
        let node = &self.nodes.nodes[k];
        let mut cmd = Command::new(sidecar_bin());
        cmd.args(["--grpc", &node.grpc, "--l2-rpc", &l2])
            .args(["--validator", &node.consensus_address])
            .args(["--block-time-ms", &block_time_ms.to_string()])
            .args(["--status-interval-ms", "2000"])
            // The batch submitter: MsgSubmitBatch signed by the operator, sent to its node.
            .args(["--operator-key", operator_key, "--keyring-backend", "test"])
            .arg("--home")
            .arg(&node.home)
            .args(["--cometbft-rpc", &node.cometbft_rpc]);
        if let Some(l1_url) = self.l1.as_ref().map(|a| a.rpc.url.clone()) {
            // The relayer pays L1 gas with the operator key (the lock owner, funded by testnet);
            // node0's also registers the first group key with the deployer (governance) key.
            let key = self.operator_key_hex(k);
            let deployment = self.dir.path().join("net").join("l1-deployment.json");
            cmd.args(["--l1-rpc", &l1_url])
                .arg("--l1-deployment")
                .arg(deployment)
                .env("SEQPOOL_SIDECAR_L1_KEY", key);
            if k == 0 {
                cmd.env("SEQPOOL_SIDECAR_L1_ADMIN_KEY", L1_DEV_KEY);
            }
        }
        self.spawn(k, "sidecar", cmd);
    }

    /// Node `k`'s operator key in hex (the devnet's test keyring).
    pub fn operator_key_hex(&self, k: usize) -> String {
        let out = run_ok(
            Command::new(SEQPOOLD)
                .args(["keys", "export", "operator", "--unsafe-hex"])
                .args(["--keyring-backend", "test", "--home"])
                .arg(self.home(k)),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// SIGKILLs one process (`kind` "seqpoold", "cometbft" or "sidecar") of node `k`.
    pub fn kill_process(&mut self, k: usize, kind: &str) {
        let mut kept = Vec::new();
        for mut p in self.procs.drain(..) {
            if p.node == k && p.kind == kind {
                let _ = p.child.kill();
                let _ = p.child.wait();
            } else {
                kept.push(p);
            }
        }
        self.procs = kept;
    }
}
