//! `seqpool-sidecar`: runs beside one validator's seqpoold. See docs/sidecar.md.
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use seqpool_sidecar::adapter::{Adapter, AdapterConfig};
use seqpool_sidecar::chain::ChainClient;
use seqpool_sidecar::l2::L2Client;

#[derive(Parser, Debug)]
#[command(
    name = "seqpool-sidecar",
    version,
    about = "Per-validator sidecar: makes L2 blocks while its validator is the scheduled producer"
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
    adapter.run(stopped()).await;
    Ok(())
}
