//! `seqpool-sidecar`: runs beside one validator's seqpoold. See docs/sidecar.md.
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Parser;
use seqpool_client::Rpc;
use seqpool_l1::deploy::Deployment;
use seqpool_l1::sender::SendPolicy;
use seqpool_sidecar::adapter::{Adapter, AdapterConfig};
use seqpool_sidecar::chain::ChainClient;
use seqpool_sidecar::l2::L2Client;
use seqpool_sidecar::metrics::{self, Metrics};
use seqpool_sidecar::relayer::{self, RelayLoopConfig, Relayer};
use seqpool_sidecar::submitter::{Submitter, SubmitterConfig};
use seqpool_sidecar::sync::SyncGate;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "seqpool-sidecar",
    version,
    about = "Per-validator sidecar: makes L2 blocks and proposes batches while its validator is the scheduled producer, relays signed payloads to L1"
)]
struct Args {
    /// gRPC address of this validator's seqpoold (its app.toml `grpc_listen`).
    #[arg(long, env = "SEQPOOL_SIDECAR_GRPC", default_value = "127.0.0.1:9090")]
    grpc: String,
    /// JSON-RPC URL of the L2 execution node (anvil started with --no-mining); the default is the
    /// devnet's L2 port (its L1 is on 8545).
    #[arg(
        long,
        env = "SEQPOOL_SIDECAR_L2_RPC",
        default_value = "http://127.0.0.1:9545"
    )]
    l2_rpc: String,
    /// This validator's consensus address (hex); its signer address is looked up in seqpoold.
    #[arg(
        long,
        env = "SEQPOOL_SIDECAR_VALIDATOR",
        required_unless_present = "signer"
    )]
    validator: Option<String>,
    /// This validator's Ethereum signer address (0x...), instead of looking it up by --validator.
    #[arg(long, env = "SEQPOOL_SIDECAR_SIGNER", conflicts_with = "validator")]
    signer: Option<String>,
    /// L2 block time in milliseconds.
    #[arg(long, env = "SEQPOOL_SIDECAR_BLOCK_TIME_MS", default_value_t = 1000)]
    block_time_ms: u64,
    /// How often the adapter checks L2 and the schedule, in milliseconds.
    #[arg(long, env = "SEQPOOL_SIDECAR_POLL_MS", default_value_t = 100)]
    poll_interval_ms: u64,
    /// How often the status line is logged, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    status_interval_ms: u64,
    /// Deadline of each gRPC call to seqpoold, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    grpc_timeout_ms: u64,
    /// L1 JSON-RPC URL; without it the relayer (and the L1 side of the status line) is off.
    #[arg(long, env = "SEQPOOL_SIDECAR_L1_RPC")]
    l1_rpc: Option<String>,
    /// The L1 deployment JSON (`seqpool-l1-deploy` / `seqpoold testnet --l1-rpc` write it): the
    /// only contracts the relayer sends to.
    #[arg(long, env = "SEQPOOL_SIDECAR_L1_DEPLOYMENT", requires = "l1_rpc")]
    l1_deployment: Option<std::path::PathBuf>,
    /// The relayer's L1 private key (hex). Read from the environment, never from a plain file.
    #[arg(
        long,
        env = "SEQPOOL_SIDECAR_L1_KEY",
        hide_env_values = true,
        requires = "l1_deployment"
    )]
    l1_key: Option<String>,
    /// Devnet only: the governance admin's L1 key (hex); registers the first active group key.
    #[arg(
        long,
        env = "SEQPOOL_SIDECAR_L1_ADMIN_KEY",
        hide_env_values = true,
        requires = "l1_key"
    )]
    l1_admin_key: Option<String>,
    /// How often the relayer looks for signed requests, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    relay_poll_ms: u64,
    /// Resend an L1 transaction with 12.5% higher fees when not mined within this many seconds.
    #[arg(long, default_value_t = 30)]
    fee_bump_after_s: u64,
    /// Most fee bumps of one L1 transaction.
    #[arg(long, default_value_t = 5)]
    max_fee_bumps: u32,
    /// Name of this validator's operator key in the keyring under --home: turns the batch
    /// submitter on (it signs MsgSubmitBatch with it).
    #[arg(long, env = "SEQPOOL_SIDECAR_OPERATOR_KEY")]
    operator_key: Option<String>,
    /// The node home whose keyring holds --operator-key.
    #[arg(long, env = "SEQPOOL_HOME")]
    home: Option<std::path::PathBuf>,
    #[command(flatten)]
    keyring: seqpool_client::cli::KeyringArgs,
    /// CometBFT RPC of this validator's node (broadcast of MsgSubmitBatch, account sequence).
    #[arg(
        long,
        env = "SEQPOOL_SIDECAR_COMETBFT_RPC",
        default_value = "http://127.0.0.1:26657"
    )]
    cometbft_rpc: String,
    /// Make L2 blocks only while the latest CometBFT block was committed at most this long ago
    /// (ms); 0 = two block intervals measured over the last 20 blocks, at least twice the L2
    /// block time. See docs/sidecar.md ("When a producer does not produce").
    #[arg(long, env = "SEQPOOL_SIDECAR_MAX_CHAIN_LAG_MS", default_value_t = 0)]
    max_chain_lag_ms: u64,
    /// Propose a batch at least this often (ms) when there is at least one new L2 block.
    #[arg(long, default_value_t = 2000)]
    batch_interval_ms: u64,
    /// Propose a batch at once when this many L2 blocks are waiting (0 = x/mpc max_batch_blocks).
    #[arg(long, default_value_t = 0)]
    batch_blocks: u64,
    /// Serve Prometheus metrics on this address (host:port), e.g. 127.0.0.1:9464.
    #[arg(long, env = "SEQPOOL_SIDECAR_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// tracing filter, e.g. "info" or "seqpool_sidecar=debug".
    #[arg(long, env = "SEQPOOL_SIDECAR_LOG", default_value = "info")]
    log_level: String,
}

async fn stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// The signer address: given, or looked up by consensus address (retrying until seqpoold answers).
async fn resolve_signer(args: &Args, chain: &ChainClient) -> anyhow::Result<[u8; 20]> {
    if let Some(s) = &args.signer {
        return seqpool_sidecar::parse_address(s).map_err(|e| anyhow::anyhow!("--signer {e}"));
    }
    let validator = args
        .validator
        .as_deref()
        .context("give --validator or --signer")?;
    let mut last_error = String::new();
    loop {
        match chain.signer_of(validator).await {
            Ok(signer) => return Ok(signer),
            Err(e) => {
                let message = e.to_string();
                if message != last_error {
                    tracing::warn!(error = %message, "cannot look up this validator's signer yet; retrying");
                    last_error = message;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(args.poll_interval_ms.max(100))).await;
    }
}

fn parse_key(flag: &str, hex_key: &str) -> anyhow::Result<PrivateKeySigner> {
    hex_key
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{flag}: not a secp256k1 private key in hex: {e}"))
}

/// The relayer's loop when --l1-rpc, --l1-deployment and --l1-key are given; `None` otherwise.
fn start_relayer(
    args: &Args,
    chain: &ChainClient,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<impl std::future::Future<Output = ()>>> {
    let (Some(l1_rpc), Some(deployment), Some(key)) =
        (&args.l1_rpc, &args.l1_deployment, &args.l1_key)
    else {
        tracing::info!("no --l1-rpc/--l1-deployment/--l1-key: the L1 relayer is off");
        return Ok(None);
    };
    let text = std::fs::read_to_string(deployment)
        .with_context(|| format!("--l1-deployment {}", deployment.display()))?;
    let contracts: Deployment = serde_json::from_str(&text)
        .with_context(|| format!("--l1-deployment {}", deployment.display()))?;
    let policy = SendPolicy {
        bump_after: Duration::from_secs(args.fee_bump_after_s.max(1)),
        max_bumps: args.max_fee_bumps,
        ..SendPolicy::default()
    };
    let relayer = Relayer::new(
        l1_rpc,
        parse_key("--l1-key", key)?,
        contracts,
        policy,
        metrics,
    )?;
    let config = RelayLoopConfig {
        poll_interval: Duration::from_millis(args.relay_poll_ms.max(100)),
        max_backoff: Duration::from_secs(60),
        admin_key: args
            .l1_admin_key
            .as_deref()
            .map(|k| parse_key("--l1-admin-key", k))
            .transpose()?,
        l1_rpc: l1_rpc.clone(),
    };
    Ok(Some(relayer::run(
        relayer,
        chain.clone(),
        config,
        stopped(),
    )))
}

/// The batch submitter when --operator-key is given; `None` otherwise.
async fn start_submitter(
    args: &Args,
    chain: &ChainClient,
    signer: [u8; 20],
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<Submitter>> {
    let Some(name) = &args.operator_key else {
        tracing::info!("no --operator-key: the batch submitter is off");
        return Ok(None);
    };
    let home = args
        .home
        .as_deref()
        .context("--operator-key needs --home (the node home with the keyring)")?;
    let operator = args
        .keyring
        .open(home, true, false)?
        .signing_key(name)
        .with_context(|| format!("--operator-key {name:?}"))?;
    let rpc = Rpc::new(&args.cometbft_rpc)?;
    // The chain id CometBFT reports (retrying until the node answers).
    let chain_id = loop {
        match rpc.status().await {
            Ok(status) => break status.network,
            Err(e) => {
                tracing::warn!(error = %e, "batch submitter: waiting for CometBFT RPC");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let l2 = L2Client::new(&args.l2_rpc)?;
    let config = SubmitterConfig {
        signer,
        chain_id,
        batch_blocks: args.batch_blocks,
        batch_interval: Duration::from_millis(args.batch_interval_ms.max(100)),
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(100)),
        resubmit_after: Duration::from_secs(10),
    };
    Ok(Some(Submitter::new(
        chain.clone(),
        l2,
        rpc,
        operator,
        config,
        metrics,
    )))
}

/// The submitter's and relayer's status line, every `interval`.
async fn status_line(metrics: Arc<Metrics>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let m = &metrics;
        let (l1, chain) = m.reachability();
        tracing::info!(
            l1 = %l1,
            chain = %chain,
            batches_pending = m.get(&m.batches_pending),
            batches_signed = m.get(&m.batches_signed),
            batches_submitted = m.get(&m.batches_submitted),
            relayed = m.get(&m.batches_relayed),
            already_done = m.get(&m.relays_already_done),
            reorged = m.get(&m.reorged_relays),
            failures = m.get(&m.relay_failures),
            fee_bumps = m.get(&m.fee_bumps),
            l1_balance_eth = %m.balance_eth(),
            "batches status"
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log_level)
                .with_context(|| format!("--log-level {:?}", args.log_level))?,
        )
        .init();
    if args.block_time_ms == 0 || args.poll_interval_ms == 0 {
        anyhow::bail!("--block-time-ms and --poll-interval-ms must be positive");
    }
    let chain = ChainClient::new(&args.grpc, Duration::from_millis(args.grpc_timeout_ms))?;
    let l2 = L2Client::new(&args.l2_rpc)?;
    let signer = tokio::select! {
        s = resolve_signer(&args, &chain) => s?,
        _ = stopped() => return Ok(()),
    };
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = &args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-addr {addr}"))?;
        tracing::info!(addr = %addr, "serving Prometheus metrics");
        tokio::spawn(metrics::serve(listener, metrics.clone()));
    }
    let relayer = start_relayer(&args, &chain, metrics.clone())?;
    let submitter = start_submitter(&args, &chain, signer, metrics.clone()).await?;
    if relayer.is_some() || submitter.is_some() {
        tokio::spawn(status_line(
            metrics.clone(),
            Duration::from_millis(args.status_interval_ms.max(100)),
        ));
    }
    if let Some(relayer) = relayer {
        tokio::spawn(relayer);
    }
    if let Some(submitter) = submitter {
        tokio::spawn(submitter.run(stopped()));
    }
    let adapter = Adapter::new(
        chain,
        l2,
        AdapterConfig {
            signer,
            block_time: Duration::from_millis(args.block_time_ms),
            poll_interval: Duration::from_millis(args.poll_interval_ms),
            status_interval: Duration::from_millis(args.status_interval_ms),
        },
    );
    let gate = SyncGate::new(
        Rpc::new(&args.cometbft_rpc)?,
        (args.max_chain_lag_ms > 0).then(|| Duration::from_millis(args.max_chain_lag_ms)),
        Duration::from_millis(args.block_time_ms.saturating_mul(2)),
    );
    tracing::info!(cometbft_rpc = %args.cometbft_rpc, "the adapter produces only while this node's CometBFT and seqpoold are current");
    adapter.with_sync_gate(gate).run(stopped()).await;
    Ok(())
}
