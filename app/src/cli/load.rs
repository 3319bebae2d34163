//! `seqpoold load`: sustained signed-tx throughput through a running testnet.
//!
//! The load accounts of the testnet (`account<i>` in its client keyring, registered in genesis;
//! never the admin or the operators, whose sequences the sidecars and people use) send pre-signed
//! txs in sequence order, spread over every node's RPC; when a node's RPC stops answering, its
//! senders move to the next node. Accounts run in parallel. The figures: txs accepted by CheckTx
//! per wall-clock second, and txs committed (with how many succeeded and failed) per second of
//! block time.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use k256::ecdsa::SigningKey;
use seqpool_component::codes;
use serde::Serialize;

use super::testnet::NodesFile;
use super::Output;
use crate::client::{self, Rpc};

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// nodes.json written by `seqpoold testnet` (the devnet writes .devnet/nodes.json).
    #[arg(long, default_value = ".devnet/nodes.json")]
    pub nodes_file: PathBuf,
    /// Total txs to send.
    #[arg(long, default_value_t = 5000)]
    pub txs: u64,
    /// Use at most this many load accounts (default: every `account<i>` of nodes.json).
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Unexecuted txs each account may have in flight. Above the per-account mempool limit a
    /// sender backs off on MEMPOOL_ACCOUNT_FULL; a deep window keeps blocks full while the
    /// account's earlier txs wait in other nodes' mempools (400 measured best on the 4-node devnet).
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
    pub nodes: usize,
    pub accounts: usize,
    pub txs_sent: u64,
    /// Txs CheckTx accepted (each tx is sent until it is accepted or the run fails).
    pub txs_accepted: u64,
    pub txs_per_sec_accepted_wall: f64,
    pub txs_in_blocks: u64,
    pub txs_ok: u64,
    /// Included txs whose message failed (their signature, sequence and inclusion still count).
    pub txs_failed_in_block: u64,
    /// Those failures by code name. Non-admin senders' `MsgUpdateParams` fail with `unauthorized`
    /// by design; `sequence_gap` or `sequence_replayed` here would mean a block held an account's
    /// txs out of order.
    pub failed_by_code: std::collections::BTreeMap<String, u64>,
    pub blocks: u64,
    pub first_height: u64,
    pub last_height: u64,
    /// Block-time span from the block before the first tx block to the last tx block.
    pub block_time_span_secs: f64,
    pub txs_per_sec_block_time: f64,
    /// Committed txs whose message succeeded, per second of block time.
    pub txs_ok_per_sec_block_time: f64,
    pub txs_failed_per_sec_block_time: f64,
    pub wall_secs: f64,
    pub txs_per_sec_wall: f64,
    pub check_tx_retries: u64,
    /// Times a sender moved to another node because its node's RPC did not answer.
    pub rpc_failovers: u64,
}

struct Sender {
    key: SigningKey,
    address: String,
}

/// Every node's RPC with the index of the one in use: a call that fails at the transport moves
/// to the next node (counted), until `deadline`.
#[derive(Clone)]
struct Nodes {
    rpcs: Arc<Vec<Rpc>>,
    current: usize,
    failovers: Arc<std::sync::atomic::AtomicU64>,
}

impl Nodes {
    async fn call<T, F, Fut>(&mut self, deadline: Instant, what: &str, f: F) -> Result<T>
    where
        F: Fn(Rpc) -> Fut,
        Fut: std::future::Future<Output = Result<T, client::ClientError>>,
    {
        loop {
            let rpc = self.rpcs[self.current % self.rpcs.len()].clone();
            match f(rpc).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if Instant::now() > deadline {
                        bail!("{what}: no node answered before the deadline; last error: {e}");
                    }
                    tracing::warn!(node = self.current % self.rpcs.len(), error = %e, "{what}: node's RPC failed; moving to the next node");
                    self.current += 1;
                    self.failovers
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

pub async fn run(args: LoadArgs) -> Result<()> {
    let report = generate(&args).await?;
    match args.output {
        Output::Json => super::print_json(&report, args.output),
        Output::Text => {
            println!(
                "{} txs in {} blocks (heights {}..={}), {} ok, {} failed in block, over {} accounts and {} nodes",
                report.txs_in_blocks,
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
            println!(
                "sustained: {:.0} txs/s committed by block time ({:.2} s; {:.0} ok/s, {:.0} failed/s), {:.0} txs/s accepted by CheckTx over the wall clock ({:.2} s), {} CheckTx retries, {} RPC failovers",
                report.txs_per_sec_block_time,
                report.block_time_span_secs,
                report.txs_ok_per_sec_block_time,
                report.txs_failed_per_sec_block_time,
                report.txs_per_sec_accepted_wall,
                report.wall_secs,
                report.check_tx_retries,
                report.rpc_failovers
            );
            Ok(())
        }
    }
}

pub async fn generate(args: &LoadArgs) -> Result<LoadReport> {
    let nodes = NodesFile::load(&args.nodes_file)?;
    let passphrase = args.keyring_passphrase.clone().map(zeroize::Zeroizing::new);
    let ring = crate::keyring::Keyring::open(&nodes.client_home, nodes.keyring_backend, passphrase);
    let mut senders = Vec::new();
    for account in &nodes.accounts {
        senders.push(Sender {
            key: ring.signing_key(&account.key)?,
            address: account.address.clone(),
        });
    }
    if let Some(max) = args.accounts {
        senders.truncate(max.max(1));
    }
    if senders.is_empty() || nodes.nodes.is_empty() {
        bail!(
            "{} lists no nodes or no load accounts (`seqpoold testnet --extra-accounts N`; the devnet's DEVNET_EXTRA_ACCOUNTS)",
            args.nodes_file.display()
        );
    }
    let rpcs: Vec<Rpc> = nodes
        .nodes
        .iter()
        .map(|n| Rpc::new(&n.cometbft_rpc))
        .collect::<Result<_, _>>()?;
    let chain_id = nodes.chain_id.clone();
    let started = Instant::now();
    let deadline = started + args.timeout;
    let pool = Nodes {
        rpcs: Arc::new(rpcs),
        current: 0,
        failovers: Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };

    // Each account sends the staking module's current params back as itself: a tx with a real
    // message, signature, sequence and execution, included and then refused by x/admin
    // (`unauthorized`), as this chain has no message an ordinary account can send that succeeds.
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

    let per_account = args.txs.div_ceil(senders.len() as u64);
    let mut plans = Vec::new();
    let mut remaining = args.txs;
    for (i, s) in senders.iter().enumerate() {
        let mut nodes = pool.clone();
        nodes.current = i;
        let address = s.address.clone();
        let account = nodes
            .call(deadline, "account", |rpc| {
                let address = address.clone();
                async move { rpc.account(&address).await }
            })
            .await?
            .with_context(|| format!("{} is not a registered account", s.address))?;
        let count = per_account.min(remaining);
        remaining -= count;
        let msg = client::update_params_msg(&s.address, "staking", &params_json)?;
        let txs: Vec<Vec<u8>> = (0..count)
            .map(|j| {
                crate::tx::sign_tx(
                    &s.key,
                    &chain_id,
                    account.account_number,
                    account.sequence + j,
                    vec![msg.clone()],
                    "",
                )
            })
            .collect();
        plans.push((nodes, s.address.clone(), account.sequence, txs));
    }
    let txs_sent: u64 = plans.iter().map(|p| p.3.len() as u64).sum();
    // Blocks also carry the sidecars' txs and the proposer's injected data: count ours only.
    let ours: std::collections::BTreeSet<[u8; 32]> = plans
        .iter()
        .flat_map(|p| p.3.iter())
        .map(|tx| tx_hash(tx))
        .collect();
    let start_height = any
        .call(deadline, "status", |rpc| async move { rpc.status().await })
        .await?
        .height;
    let started = Instant::now();
    let retries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let mut tasks = Vec::new();
    for (mut nodes, address, first_sequence, txs) in plans {
        let retries = retries.clone();
        let accepted = accepted.clone();
        let window = args.window.max(1);
        tasks.push(tokio::spawn(async move {
            let first_node = nodes.current;
            let mut executed = 0u64;
            for (j, tx) in txs.into_iter().enumerate() {
                // Closed loop: at most `window` txs of this account are unexecuted at any time, so
                // the figure is a rate the chain sustains rather than how fast mempools fill up.
                while j as u64 >= executed + window {
                    if Instant::now() > deadline {
                        bail!("{address}: txs were not executed before the deadline");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let a = address.clone();
                    if let Some(acc) = nodes
                        .call(deadline, "account", |rpc| {
                            let a = a.clone();
                            async move { rpc.account(&a).await }
                        })
                        .await?
                    {
                        executed = acc.sequence.saturating_sub(first_sequence);
                    }
                }
                loop {
                    let r = match nodes.rpcs[nodes.current % nodes.rpcs.len()]
                        .broadcast(tx.clone())
                        .await
                    {
                        Ok(r) => r,
                        // CometBFT answers "mempool is full" as an RPC error: back off and retry.
                        Err(e) if e.to_string().contains("mempool is full") => {
                            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if Instant::now() > deadline {
                                bail!("{address}: mempool stayed full until the deadline");
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                        // The node does not answer: the same tx goes to the next node (a tx the
                        // dead node had admitted is refused there as a taken sequence, below).
                        Err(e) => {
                            if Instant::now() > deadline {
                                bail!("{address}: no node took the tx before the deadline: {e}");
                            }
                            tracing::warn!(node = nodes.current % nodes.rpcs.len(), error = %e, "broadcast failed; moving to the next node");
                            nodes.current += 1;
                            nodes
                                .failovers
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    match r.code {
                        codes::OK => {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                        // Back off while the node's mempool holds the account's limit.
                        codes::MEMPOOL_ACCOUNT_FULL => {
                            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if Instant::now() > deadline {
                                bail!("{address}: mempool stayed full until the deadline");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        // After a failover: the node that died had gossiped this tx already.
                        codes::SEQUENCE_REPLAYED if nodes.current != first_node => {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                        code => bail!(
                            "{address}: CheckTx refused a load tx: code {code} ({}): {}",
                            codes::name(code),
                            r.log
                        ),
                    }
                }
            }
            Ok::<_, anyhow::Error>((nodes, address, first_sequence))
        }));
    }
    let mut finished = Vec::new();
    for t in tasks {
        finished.push(t.await.context("sender task panicked")??);
    }
    // Wait until every account's on-chain sequence shows all its txs executed.
    let expected: u64 = txs_sent;
    loop {
        let mut done = 0u64;
        for (nodes, address, first) in &mut finished {
            let a = address.clone();
            let acc = nodes
                .call(deadline, "account", |rpc| {
                    let a = a.clone();
                    async move { rpc.account(&a).await }
                })
                .await?
                .with_context(|| format!("{address} vanished"))?;
            done += acc.sequence.saturating_sub(*first);
        }
        if done >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {done} of {expected} txs were executed within {:?}",
                args.timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = started.elapsed();
    let end_height = any
        .call(deadline, "status", |rpc| async move { rpc.status().await })
        .await?
        .height;
    let live_node = any.current % nodes.nodes.len();

    // Count our txs and their results from the blocks themselves.
    let http = tendermint_rpc::HttpClient::builder(
        nodes.nodes[live_node]
            .cometbft_rpc
            .parse()
            .context("node RPC address")?,
    )
    .compat_mode(tendermint_rpc::client::CompatMode::V0_38)
    .build()?;
    use tendermint_rpc::Client as _;
    let mut first_height = 0;
    let mut last_height = 0;
    let mut txs_in_blocks = 0u64;
    let mut txs_ok = 0u64;
    let mut failed_by_code = std::collections::BTreeMap::<String, u64>::new();
    for h in (start_height + 1)..=end_height {
        let block = http.block(tendermint::block::Height::try_from(h)?).await?;
        let user_txs = block
            .block
            .data
            .iter()
            .filter(|tx| ours.contains(&tx_hash(tx)))
            .count() as u64;
        if user_txs == 0 {
            continue;
        }
        let results = http
            .block_results(tendermint::block::Height::try_from(h)?)
            .await?;
        let results = results.txs_results.unwrap_or_default();
        for (_, result) in block
            .block
            .data
            .iter()
            .zip(results.iter())
            .filter(|(tx, _)| ours.contains(&tx_hash(tx)))
        {
            if result.code.is_ok() {
                txs_ok += 1;
            } else {
                let code = result.code.value();
                *failed_by_code
                    .entry(format!("{code} ({})", codes::name(code)))
                    .or_default() += 1;
            }
        }
        if first_height == 0 {
            first_height = h;
        }
        last_height = h;
        txs_in_blocks += user_txs;
    }
    if first_height == 0 {
        bail!("no tx reached a block between heights {start_height} and {end_height}");
    }
    let time_of = |h: u64| {
        let http = http.clone();
        async move {
            let b = http.block(tendermint::block::Height::try_from(h)?).await?;
            Ok::<_, anyhow::Error>(b.block.header.time)
        }
    };
    let span_start = time_of(first_height - 1).await?;
    let span_end = time_of(last_height).await?;
    let span = span_end
        .duration_since(span_start)
        .map_err(|e| anyhow::anyhow!("block times: {e}"))?;
    let span_secs = span.as_secs_f64().max(1e-3);
    let accepted = accepted.load(std::sync::atomic::Ordering::Relaxed);
    let txs_failed_in_block = txs_in_blocks.saturating_sub(txs_ok);
    Ok(LoadReport {
        nodes: nodes.nodes.len(),
        accounts: finished.len(),
        txs_sent,
        txs_accepted: accepted,
        txs_per_sec_accepted_wall: accepted as f64 / wall.as_secs_f64().max(1e-3),
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
        txs_per_sec_wall: txs_sent as f64 / wall.as_secs_f64().max(1e-3),
        check_tx_retries: retries.load(std::sync::atomic::Ordering::Relaxed),
        rpc_failovers: pool.failovers.load(std::sync::atomic::Ordering::Relaxed),
    })
}

fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
