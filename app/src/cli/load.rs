//! `seqpoold load`: sustained signed-tx throughput through a running testnet.
//!
//! Every registered account in the testnet's client keyring (admin, operators, `account<i>`) sends
//! pre-signed txs in sequence order to one node (accounts are spread over the nodes); accounts run in
//! parallel. The figure reported is txs in blocks divided by the block-time span they took.
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
    /// Use at most this many accounts (default: every key of the client keyring).
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
    pub wall_secs: f64,
    pub txs_per_sec_wall: f64,
    pub check_tx_retries: u64,
}

struct Sender {
    key: SigningKey,
    address: String,
    is_admin: bool,
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
                "sustained: {:.0} txs/s by block time ({:.2} s), {:.0} txs/s wall clock ({:.2} s), {} CheckTx retries",
                report.txs_per_sec_block_time,
                report.block_time_span_secs,
                report.txs_per_sec_wall,
                report.wall_secs,
                report.check_tx_retries
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
    for info in ring.list()? {
        let key = ring.signing_key(&info.name)?;
        senders.push(Sender {
            is_admin: info.address == nodes.admin.address,
            address: info.address,
            key,
        });
    }
    if let Some(max) = args.accounts {
        senders.truncate(max.max(1));
    }
    if senders.is_empty() || nodes.nodes.is_empty() {
        bail!(
            "{} lists no nodes or its client keyring has no keys",
            args.nodes_file.display()
        );
    }
    let rpcs: Vec<Rpc> = nodes
        .nodes
        .iter()
        .map(|n| Rpc::new(&n.cometbft_rpc))
        .collect::<Result<_, _>>()?;
    let chain_id = nodes.chain_id.clone();

    // The admin re-sets the current staking params (a valid no-op); other accounts send the same
    // message with themselves as authority, which is included and then refused by x/admin.
    let params = rpcs[0]
        .query::<_, seqpool_proto::staking::v1::QueryParamsResponse>(
            "/seqpool.staking.v1.Query/Params",
            &seqpool_proto::staking::v1::QueryParamsRequest {},
            None,
        )
        .await?
        .params
        .unwrap_or_default();
    let params_json = serde_json::to_string(&params)?;

    let per_account = args.txs.div_ceil(senders.len() as u64);
    let mut plans = Vec::new();
    let mut remaining = args.txs;
    for (i, s) in senders.iter().enumerate() {
        let rpc = rpcs[i % rpcs.len()].clone();
        let account = rpc
            .account(&s.address)
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
        plans.push((rpc, s.address.clone(), account.sequence, txs, s.is_admin));
    }
    let txs_sent: u64 = plans.iter().map(|p| p.3.len() as u64).sum();
    let start_height = rpcs[0].status().await?.height;
    let started = Instant::now();
    let deadline = started + args.timeout;
    let retries = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let mut tasks = Vec::new();
    for (rpc, address, first_sequence, txs, _) in plans {
        let retries = retries.clone();
        let window = args.window.max(1);
        tasks.push(tokio::spawn(async move {
            let mut executed = 0u64;
            for (j, tx) in txs.into_iter().enumerate() {
                // Closed loop: at most `window` txs of this account are unexecuted at any time, so
                // the figure is a rate the chain sustains rather than how fast mempools fill up.
                while j as u64 >= executed + window {
                    if Instant::now() > deadline {
                        bail!("{address}: txs were not executed before the deadline");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if let Some(acc) = rpc.account(&address).await? {
                        executed = acc.sequence.saturating_sub(first_sequence);
                    }
                }
                loop {
                    let r = match rpc.broadcast(tx.clone()).await {
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
                        Err(e) => return Err(e.into()),
                    };
                    match r.code {
                        codes::OK => break,
                        // Back off while the node's mempool holds the account's limit.
                        codes::MEMPOOL_ACCOUNT_FULL => {
                            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if Instant::now() > deadline {
                                bail!("{address}: mempool stayed full until the deadline");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        code => bail!(
                            "{address}: CheckTx refused a load tx: code {code} ({}): {}",
                            codes::name(code),
                            r.log
                        ),
                    }
                }
            }
            Ok::<_, anyhow::Error>((rpc, address, first_sequence))
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
        for (rpc, address, first) in &finished {
            let acc = rpc
                .account(address)
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
    let end_height = rpcs[0].status().await?.height;

    // Count our txs and their results from the blocks themselves.
    let http = tendermint_rpc::HttpClient::builder(
        nodes.nodes[0]
            .cometbft_rpc
            .parse()
            .context("node 0 RPC address")?,
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
        // The proposer's injected extended commit is block data too; count only signed user txs.
        let user_txs = block.block.data.iter().filter(|tx| is_user_tx(tx)).count() as u64;
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
            .filter(|(tx, _)| is_user_tx(tx))
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
    Ok(LoadReport {
        nodes: rpcs.len(),
        accounts: finished.len(),
        txs_sent,
        txs_in_blocks,
        txs_ok,
        txs_failed_in_block: txs_in_blocks.saturating_sub(txs_ok),
        failed_by_code,
        blocks: last_height - first_height + 1,
        first_height,
        last_height,
        block_time_span_secs: span_secs,
        txs_per_sec_block_time: txs_in_blocks as f64 / span_secs,
        wall_secs: wall.as_secs_f64(),
        txs_per_sec_wall: txs_sent as f64 / wall.as_secs_f64().max(1e-3),
        check_tx_retries: retries.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// A user tx is a `TxRaw` with at least one signature (block-level data injected by the proposer is not).
fn is_user_tx(bytes: &[u8]) -> bool {
    use prost::Message;
    cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(bytes)
        .is_ok_and(|t| !t.signatures.is_empty() && !t.body_bytes.is_empty())
}
