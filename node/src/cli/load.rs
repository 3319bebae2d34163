//! `seqpoold load`: sustained tx throughput through a running testnet.
//!
//! Senders run in parallel, spread over every node's RPC; each keeps at most `--window` of its txs
//! sent but not yet in a block (closed loop), so the figure is a rate the chain sustains rather than
//! how fast mempools fill up. One follower reads every new block and counts the senders' txs in it
//! by hash. When a node's RPC stops answering, its senders move to the next node.
//!
//! - `--app seqpool`: the testnet's load accounts (`account<i>` in its client keyring, registered in
//!   genesis; never the admin or the operators, whose sequences the sidecars and people use) send
//!   pre-signed txs in sequence order.
//! - `--app kvstore`: the same nodes running CometBFT's built-in kvstore app (`devnet.sh` with
//!   `DEVNET_APP=kvstore`): each sender sends `key=value` txs of the same count. With `--broadcast
//!   async` both apps get the same load shape: the bare-consensus baseline.
//!
//! Reported: txs sent (and, with `--broadcast sync`, accepted by CheckTx) per wall-clock second,
//! and txs committed, with how many succeeded and failed, per second of block time.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use seqpool_component::codes;
use serde::Serialize;
use tendermint_rpc::Client as _;

use super::testnet::NodesFile;
use super::Output;
use seqpool_client::{self, Rpc};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadApp {
    /// seqpoold: signed txs of the load accounts.
    #[default]
    Seqpool,
    /// CometBFT's kvstore app on the same nodes: `key=value` txs.
    Kvstore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BroadcastMode {
    /// broadcast_tx_sync: CheckTx's answer is read (retries on a full mempool, accepted counted).
    #[default]
    Sync,
    /// broadcast_tx_async: the node answers before CheckTx; the same shape for every app.
    Async,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// nodes.json written by `seqpoold testnet` (the devnet writes .devnet/nodes.json).
    #[arg(long, default_value = ".devnet/nodes.json")]
    pub nodes_file: PathBuf,
    /// The app the nodes run.
    #[arg(long, value_enum, default_value_t)]
    pub app: LoadApp,
    #[arg(long, value_enum, default_value_t)]
    pub broadcast: BroadcastMode,
    /// Total txs to send.
    #[arg(long, default_value_t = 5000)]
    pub txs: u64,
    /// Senders: at most this many load accounts (default: every `account<i>` of nodes.json); with
    /// `--app kvstore` this many senders (default: as many as nodes.json has load accounts).
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Txs each sender may have sent but not yet in a block. With `--broadcast sync` a sender backs
    /// off on MEMPOOL_ACCOUNT_FULL above the per-account mempool limit (400 measured best on the
    /// 4-node devnet); with async a refused tx is not seen, so the window is capped at the chain's
    /// `auth.max_pending_txs_per_account`.
    #[arg(long, default_value_t = 400)]
    pub window: u64,
    /// Give up waiting for inclusion after this long.
    #[arg(long, default_value = "180s", value_parser = super::tx::parse_duration)]
    pub timeout: Duration,
    /// Passphrase of the client keyring if it is a file keyring.
    #[arg(long, env = "SEQPOOL_KEYRING_PASSPHRASE", hide_env_values = true)]
    pub keyring_passphrase: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub app: LoadApp,
    pub broadcast: BroadcastMode,
    pub nodes: usize,
    pub accounts: usize,
    pub window: u64,
    pub txs_sent: u64,
    /// Txs CheckTx accepted (`--broadcast sync`: each tx is sent until accepted); with async, 0.
    pub txs_accepted: u64,
    pub txs_per_sec_accepted_wall: f64,
    pub txs_in_blocks: u64,
    pub txs_ok: u64,
    /// Included txs whose execution failed (their signature, sequence and inclusion still count).
    pub txs_failed_in_block: u64,
    /// Those failures by code name. The load accounts' `MsgUpdateParams` fail with `unauthorized`
    /// by design; `sequence_gap` or `sequence_replayed` here would mean a block held an account's
    /// txs out of order.
    pub failed_by_code: BTreeMap<String, u64>,
    pub blocks: u64,
    pub first_height: u64,
    pub last_height: u64,
    /// Block-time span from the block before the first tx block to the last tx block.
    pub block_time_span_secs: f64,
    pub txs_per_sec_block_time: f64,
    /// Committed txs whose execution succeeded, per second of block time.
    pub txs_ok_per_sec_block_time: f64,
    pub txs_failed_per_sec_block_time: f64,
    pub wall_secs: f64,
    pub txs_per_sec_wall: f64,
    pub check_tx_retries: u64,
    /// Times a sender moved to another node because its node's RPC did not answer.
    pub rpc_failovers: u64,
}

pub async fn run(args: LoadArgs) -> Result<()> {
    let report = generate(&args).await?;
    match args.output {
        Output::Json => super::print_json(&report, args.output),
        Output::Text => {
            println!(
                "{} txs ({:?}, broadcast {:?}, window {}) in {} blocks (heights {}..={}), {} ok, {} failed in block, over {} senders and {} nodes",
                report.txs_in_blocks,
                report.app,
                report.broadcast,
                report.window,
                report.blocks,
                report.first_height,
                report.last_height,
                report.txs_ok,
                report.txs_failed_in_block,
                report.accounts,
                report.nodes
            );
            let failures: Vec<String> = report
                .failed_by_code
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            if !failures.is_empty() {
                println!("failed in block by code: {}", failures.join(", "));
            }
            let accepted = match report.broadcast {
                BroadcastMode::Sync => format!(
                    " and {:.0} accepted by CheckTx",
                    report.txs_per_sec_accepted_wall
                ),
                BroadcastMode::Async => String::new(),
            };
            println!(
                "sustained: {:.0} txs/s committed by block time ({:.2} s; {:.0} ok/s, {:.0} failed/s), {:.0} txs/s sent{accepted} over the wall clock ({:.2} s), {} CheckTx retries, {} RPC failovers",
                report.txs_per_sec_block_time,
                report.block_time_span_secs,
                report.txs_ok_per_sec_block_time,
                report.txs_failed_per_sec_block_time,
                report.txs_per_sec_wall,
                report.wall_secs,
                report.check_tx_retries,
                report.rpc_failovers
            );
            Ok(())
        }
    }
}

/// Every node's RPC with the index of the one in use: a call that fails at the transport moves
/// to the next node (counted), until `deadline`.
#[derive(Clone)]
struct Nodes {
    rpcs: Arc<Vec<Rpc>>,
    current: usize,
    failovers: Arc<AtomicU64>,
}

impl Nodes {
    fn rpc(&self) -> &Rpc {
        &self.rpcs[self.current % self.rpcs.len()]
    }

    async fn fail_over(&mut self, what: &str, error: &(dyn std::fmt::Display + Sync)) {
        tracing::warn!(node = self.current % self.rpcs.len(), %error, "{what}: node's RPC failed; moving to the next node");
        self.current += 1;
        self.failovers.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    async fn call<T, F, Fut>(&mut self, deadline: Instant, what: &str, f: F) -> Result<T>
    where
        F: Fn(Rpc) -> Fut,
        Fut: std::future::Future<Output = Result<T, seqpool_client::ClientError>>,
    {
        loop {
            match f(self.rpc().clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if Instant::now() > deadline {
                        bail!("{what}: no node answered before the deadline; last error: {e}");
                    }
                    self.fail_over(what, &e).await;
                }
            }
        }
    }
}

/// One sender's txs, in the order they must be sent.
struct Plan {
    name: String,
    txs: Vec<Vec<u8>>,
}

fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The seqpool plans: each load account sends the staking module's current params back as itself,
/// a tx with a real message, signature, sequence and execution, included and then refused by
/// x/admin (`unauthorized`): this chain has no message an ordinary account can send that succeeds.
async fn seqpool_plans(
    args: &LoadArgs,
    nodes_file: &NodesFile,
    pool: &Nodes,
    deadline: Instant,
) -> Result<Vec<Plan>> {
    let passphrase = args.keyring_passphrase.clone().map(zeroize::Zeroizing::new);
    let ring = seqpool_client::keyring::Keyring::open(
        &nodes_file.client_home,
        nodes_file.keyring_backend,
        passphrase,
    );
    let mut accounts = nodes_file.accounts.clone();
    if let Some(max) = args.accounts {
        accounts.truncate(max.max(1));
    }
    if accounts.is_empty() {
        bail!(
            "{} lists no load accounts (`seqpoold testnet --extra-accounts N`; the devnet's DEVNET_EXTRA_ACCOUNTS)",
            args.nodes_file.display()
        );
    }
    let mut any = pool.clone();
    let params = any
        .call(deadline, "staking params", |rpc| async move {
            rpc.query::<_, seqpool_proto::staking::v1::QueryParamsResponse>(
                "/seqpool.staking.v1.Query/Params",
                &seqpool_proto::staking::v1::QueryParamsRequest {},
                None,
            )
            .await
        })
        .await?
        .params
        .unwrap_or_default();
    let params_json = serde_json::to_string(&params)?;
    let per_account = args.txs.div_ceil(accounts.len() as u64);
    let mut remaining = args.txs;
    let mut plans = Vec::new();
    for account in &accounts {
        let key = ring.signing_key(&account.key)?;
        let address = account.address.clone();
        let on_chain = any
            .call(deadline, "account", |rpc| {
                let address = address.clone();
                async move { rpc.account(&address).await }
            })
            .await?
            .with_context(|| format!("{address} is not a registered account"))?;
        let count = per_account.min(remaining);
        remaining -= count;
        let msg = seqpool_client::update_params_msg(&address, "staking", &params_json)?;
        let txs = (0..count)
            .map(|j| {
                seqpool_app::tx::sign_tx(
                    &key,
                    &nodes_file.chain_id,
                    on_chain.account_number,
                    on_chain.sequence + j,
                    vec![msg.clone()],
                    "",
                )
            })
            .collect();
        plans.push(Plan { name: address, txs });
    }
    Ok(plans)
}

/// The kvstore plans: `senders` senders with `key=value` txs, keys unique to this run.
fn kvstore_plans(txs: u64, senders: usize) -> Vec<Plan> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let senders = senders.max(1);
    let per_sender = txs.div_ceil(senders as u64);
    let mut remaining = txs;
    (0..senders)
        .map(|i| {
            let count = per_sender.min(remaining);
            remaining -= count;
            Plan {
                name: format!("kvstore sender {i}"),
                // About the size of a seqpool load tx (~330 bytes), so both carry the same bytes.
                txs: (0..count)
                    .map(|j| format!("load-{run}-{i}-{j}={}", "v".repeat(280)).into_bytes())
                    .collect(),
            }
        })
        .collect()
}

pub async fn generate(args: &LoadArgs) -> Result<LoadReport> {
    let nodes_file = NodesFile::load(&args.nodes_file)?;
    if nodes_file.nodes.is_empty() {
        bail!("{} lists no nodes", args.nodes_file.display());
    }
    let rpcs: Vec<Rpc> = nodes_file
        .nodes
        .iter()
        .map(|n| Rpc::new(&n.cometbft_rpc))
        .collect::<Result<_, _>>()?;
    let https = nodes_file
        .nodes
        .iter()
        .map(|n| {
            Ok(tendermint_rpc::HttpClient::builder(
                n.cometbft_rpc.parse().context("node RPC address")?,
            )
            .compat_mode(tendermint_rpc::client::CompatMode::V0_38)
            .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    let deadline = Instant::now() + args.timeout;
    let pool = Nodes {
        rpcs: Arc::new(rpcs),
        current: 0,
        failovers: Arc::new(AtomicU64::new(0)),
    };
    let mut window = args.window.max(1);
    let plans = match args.app {
        LoadApp::Seqpool => {
            if args.broadcast == BroadcastMode::Async {
                let mut any = pool.clone();
                let limit = any
                    .call(deadline, "auth params", |rpc| async move {
                        rpc.query::<_, seqpool_proto::auth::v1::QueryParamsResponse>(
                            "/seqpool.auth.v1.Query/Params",
                            &seqpool_proto::auth::v1::QueryParamsRequest {},
                            None,
                        )
                        .await
                    })
                    .await?
                    .params
                    .map(|p| p.max_pending_txs_per_account)
                    .unwrap_or(window);
                window = window.min(limit.max(1));
            }
            seqpool_plans(args, &nodes_file, &pool, deadline).await?
        }
        LoadApp::Kvstore => kvstore_plans(
            args.txs,
            args.accounts.unwrap_or(nodes_file.accounts.len().max(1)),
        ),
    };
    let txs_sent: u64 = plans.iter().map(|p| p.txs.len() as u64).sum();
    // Which sender each tx is from: blocks also carry the sidecars' txs and the proposer's
    // injected data, and only ours are counted.
    let mut ours: BTreeMap<[u8; 32], usize> = BTreeMap::new();
    for (i, plan) in plans.iter().enumerate() {
        for tx in &plan.txs {
            ours.insert(tx_hash(tx), i);
        }
    }
    let committed: Arc<Vec<AtomicU64>> =
        Arc::new(plans.iter().map(|_| AtomicU64::new(0)).collect());

    let mut any = pool.clone();
    let start_height = any
        .call(deadline, "status", |rpc| async move { rpc.status().await })
        .await?
        .height;
    let started = Instant::now();

    // The follower: every new block, our txs in it counted per sender.
    let follower = {
        let https = https.clone();
        let committed = committed.clone();
        let failovers = pool.failovers.clone();
        let ours = ours.clone();
        tokio::spawn(async move {
            let mut node = 0usize;
            let mut next = start_height + 1;
            let mut seen = 0u64;
            let mut tx_heights: BTreeSet<u64> = BTreeSet::new();
            while seen < txs_sent {
                if Instant::now() > deadline {
                    bail!("only {seen} of {txs_sent} txs were in blocks within the deadline");
                }
                let http = &https[node % https.len()];
                let step = async {
                    let latest = http.status().await?.sync_info.latest_block_height.value();
                    let mut blocks = Vec::new();
                    for h in next..=latest {
                        let height = tendermint::block::Height::try_from(h)?;
                        blocks.push((h, http.block(height).await?));
                    }
                    Ok::<_, anyhow::Error>(blocks)
                };
                match step.await {
                    Ok(blocks) if blocks.is_empty() => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(blocks) => {
                        for (h, b) in blocks {
                            for tx in b.block.data.iter() {
                                if let Some(&i) = ours.get(&tx_hash(tx)) {
                                    committed[i].fetch_add(1, Ordering::Relaxed);
                                    seen += 1;
                                    tx_heights.insert(h);
                                }
                            }
                            next = h + 1;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(node = node % https.len(), error = %e, "follower: node's RPC failed; moving to the next node");
                        node += 1;
                        failovers.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            Ok::<_, anyhow::Error>((tx_heights, node % https.len()))
        })
    };

    let retries = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let mut nodes = pool.clone();
        nodes.current = i;
        let retries = retries.clone();
        let accepted = accepted.clone();
        let committed = committed.clone();
        let mode = args.broadcast;
        tasks.push(tokio::spawn(async move {
            let Plan { name, txs } = plan;
            // Waits until fewer than `window` of the first `sent` txs are out of blocks. With
            // async a refused or lost tx is not seen: when nothing of this sender reached a block
            // for STALL, the txs out of blocks are sent again (a copy the chain has is refused).
            const STALL: Duration = Duration::from_secs(3);
            let mut progress = (0u64, Instant::now());
            let mut nodes_for_wait = nodes.clone();
            let mut wait = async |sent: usize, window: u64| -> Result<()> {
                loop {
                    let done = committed[i].load(Ordering::Relaxed);
                    if (sent as u64) < done + window {
                        return Ok(());
                    }
                    if Instant::now() > deadline {
                        bail!("{name}: txs were not in blocks before the deadline");
                    }
                    if done != progress.0 {
                        progress = (done, Instant::now());
                    } else if mode == BroadcastMode::Async && progress.1.elapsed() > STALL {
                        tracing::info!(sender = %name, from = done, to = sent, "no tx of this sender reached a block for 3 s; sending the rest again");
                        for tx in txs.iter().take(sent).skip(done as usize) {
                            if let Err(e) = nodes_for_wait.rpc().broadcast_async(tx.clone()).await {
                                nodes_for_wait.fail_over("resend", &e).await;
                            }
                        }
                        progress.1 = Instant::now();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            for (j, tx) in txs.iter().enumerate() {
                wait(j, window).await?;
                match mode {
                    BroadcastMode::Async => loop {
                        match nodes.rpc().broadcast_async(tx.clone()).await {
                            Ok(()) => break,
                            Err(e) => {
                                if Instant::now() > deadline {
                                    bail!("{name}: no node took the tx before the deadline: {e}");
                                }
                                nodes.fail_over("broadcast", &e).await;
                                // What the dead node held may be lost: send the unconfirmed
                                // txs before this one again (a copy the chain has is refused).
                                let done = committed[i].load(Ordering::Relaxed) as usize;
                                for earlier in txs.iter().take(j).skip(done) {
                                    let _ = nodes.rpc().broadcast_async(earlier.clone()).await;
                                }
                            }
                        }
                    },
                    BroadcastMode::Sync => {
                        let first_node = nodes.current;
                        loop {
                            let r = match nodes.rpc().broadcast(tx.clone()).await {
                                Ok(r) => r,
                                // CometBFT answers "mempool is full" as an RPC error: back off.
                                Err(e) if e.to_string().contains("mempool is full") => {
                                    retries.fetch_add(1, Ordering::Relaxed);
                                    if Instant::now() > deadline {
                                        bail!("{name}: mempool stayed full until the deadline");
                                    }
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                    continue;
                                }
                                Err(e) => {
                                    if Instant::now() > deadline {
                                        bail!("{name}: no node took the tx before the deadline: {e}");
                                    }
                                    nodes.fail_over("broadcast", &e).await;
                                    continue;
                                }
                            };
                            match r.code {
                                codes::OK => {
                                    accepted.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                // Back off while the node's mempool holds the account's limit.
                                codes::MEMPOOL_ACCOUNT_FULL => {
                                    retries.fetch_add(1, Ordering::Relaxed);
                                    if Instant::now() > deadline {
                                        bail!("{name}: mempool stayed full until the deadline");
                                    }
                                    tokio::time::sleep(Duration::from_millis(50)).await;
                                }
                                // After a failover: the node that died had gossiped it already.
                                codes::SEQUENCE_REPLAYED if nodes.current != first_node => {
                                    accepted.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                code => bail!(
                                    "{name}: CheckTx refused a load tx: code {code} ({}): {}",
                                    codes::name(code),
                                    r.log
                                ),
                            }
                        }
                    }
                }
            }
            // Until every tx of this sender is in a block (sending the rest again on a stall).
            wait(txs.len(), 1).await?;
            Ok::<_, anyhow::Error>(())
        }));
    }
    let senders = tasks.len();
    for t in tasks {
        t.await.context("sender task panicked")??;
    }
    let sent_wall = started.elapsed();
    let (tx_heights, live_node) = follower.await.context("follower task panicked")??;
    let wall = started.elapsed();

    // Results of our txs, from the blocks that hold them.
    let http = &https[live_node];
    let (Some(&first_height), Some(&last_height)) = (tx_heights.first(), tx_heights.last()) else {
        bail!("no tx reached a block");
    };
    let mut txs_in_blocks = 0u64;
    let mut txs_ok = 0u64;
    let mut failed_by_code = BTreeMap::<String, u64>::new();
    for &h in &tx_heights {
        let height = tendermint::block::Height::try_from(h)?;
        let block = http.block(height).await?;
        let results = http.block_results(height).await?;
        let results = results.txs_results.unwrap_or_default();
        for (_, result) in block
            .block
            .data
            .iter()
            .zip(results.iter())
            .filter(|(tx, _)| ours.contains_key(&tx_hash(tx)))
        {
            txs_in_blocks += 1;
            if result.code.is_ok() {
                txs_ok += 1;
            } else {
                let code = result.code.value();
                let name = match args.app {
                    LoadApp::Seqpool => codes::name(code).to_string(),
                    LoadApp::Kvstore => "kvstore".to_string(),
                };
                *failed_by_code
                    .entry(format!("{code} ({name})"))
                    .or_default() += 1;
            }
        }
    }
    let time_of = |h: u64| async move {
        let b = http.block(tendermint::block::Height::try_from(h)?).await?;
        Ok::<_, anyhow::Error>(b.block.header.time)
    };
    let span = time_of(last_height)
        .await?
        .duration_since(time_of(first_height - 1).await?)
        .map_err(|e| anyhow::anyhow!("block times: {e}"))?;
    let span_secs = span.as_secs_f64().max(1e-3);
    let accepted = accepted.load(Ordering::Relaxed);
    let txs_failed_in_block = txs_in_blocks.saturating_sub(txs_ok);
    Ok(LoadReport {
        app: args.app,
        broadcast: args.broadcast,
        nodes: nodes_file.nodes.len(),
        accounts: senders,
        window,
        txs_sent,
        txs_accepted: accepted,
        txs_per_sec_accepted_wall: accepted as f64 / sent_wall.as_secs_f64().max(1e-3),
        txs_in_blocks,
        txs_ok,
        txs_failed_in_block,
        failed_by_code,
        blocks: last_height - first_height + 1,
        first_height,
        last_height,
        block_time_span_secs: span_secs,
        txs_per_sec_block_time: txs_in_blocks as f64 / span_secs,
        txs_ok_per_sec_block_time: txs_ok as f64 / span_secs,
        txs_failed_per_sec_block_time: txs_failed_in_block as f64 / span_secs,
        wall_secs: wall.as_secs_f64(),
        txs_per_sec_wall: txs_sent as f64 / sent_wall.as_secs_f64().max(1e-3),
        check_tx_retries: retries.load(Ordering::Relaxed),
        rpc_failovers: pool.failovers.load(Ordering::Relaxed),
    })
}
