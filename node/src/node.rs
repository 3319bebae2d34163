//! `seqpoold start`: opens the state, serves ABCI to CometBFT, and gRPC and REST to clients.
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use seqpool_store::Storage;
use tokio::sync::watch;

use crate::abci::{Consensus, Info, Mempool, Snapshots};
use crate::abci_server::AbciServer;
use crate::config::AppConfig;
use seqpool_app::app::App;
use seqpool_app::mempool::MempoolState;

/// Runs the node until SIGINT or SIGTERM. `mpc` is where the MPC keystore's secret comes from.
pub async fn run(home: &Path, mpc: &crate::mpc::identity::SecretSource) -> anyhow::Result<()> {
    let config = AppConfig::load(home)?;
    // Log to stdout at app.toml's level (a no-op when the process already set a subscriber).
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_new(&config.log_level) {
        let _ = tracing_subscriber::fmt()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_env_filter(filter)
            .try_init();
    }
    let db = AppConfig::db_path(home);
    std::fs::create_dir_all(&db).with_context(|| format!("cannot create {}", db.display()))?;
    let storage = Storage::open(&db)
        .with_context(|| format!("cannot open the state database at {}", db.display()))?;
    tracing::info!(
        height = storage.latest_version().unwrap_or(0),
        app_hash = %hex::encode_upper(storage.latest_snapshot().root_hash()),
        "state opened"
    );

    let mempool_state = Arc::new(Mutex::new(MempoolState::default()));
    let mut app = App::new(storage.clone(), mempool_state.clone())?;
    // The L2 headers the watcher records and the MPC signer checks batches against.
    let l2_headers = crate::mpc::signer::SharedL2Headers::default();
    // A wrong passphrase or key file stops the node; no keystore means no MPC duties.
    match crate::mpc::identity::open_node(home, mpc)? {
        Some(mut node) => {
            let identifier = node
                .identity
                .identifier()
                .map(|id| hex::encode(id.serialize()))
                .unwrap_or_default();
            tracing::info!(%identifier, "MPC keystore opened: this node takes part in signing");
            node.signer.l2_headers = l2_headers.clone();
            app.set_mpc_duties(Box::new(node));
        }
        None => tracing::warn!(
            keystore = %crate::mpc::identity::keystore_path(home).display(),
            "no MPC keystore: running without MPC duties"
        ),
    }
    let (l1_stop_tx, l1_stop_rx) = watch::channel(false);
    let l1_watcher = crate::bridge_watcher::spawn_from_config(
        &config,
        home,
        app.bridge_observations(),
        app.receipt_observations(),
        Some(crate::bridge_watcher::RandomnessFeed {
            slot: app.randomness_observation(),
            interval: {
                let storage = storage.clone();
                Box::new(move || {
                    seqpool_bridge::BridgeRead::bridge_params(&storage.latest_snapshot())
                        .map(|p| p.randomness_block_interval)
                        .unwrap_or(0)
                })
            },
        }),
        async move {
            let mut rx = l1_stop_rx;
            let _ = rx.wait_for(|s| *s).await;
        },
    )?;
    let (l2_stop_tx, l2_stop_rx) = watch::channel(false);
    let l2_watcher = crate::l2_watcher::spawn_from_config(
        &config,
        app.l2_view(),
        l2_headers,
        storage.clone(),
        async move {
            let mut rx = l2_stop_rx;
            let _ = rx.wait_for(|s| *s).await;
        },
    )?;
    let consensus = Consensus::spawn(app);
    let server = AbciServer {
        consensus,
        mempool: Mempool::new(mempool_state),
        info: Info::new(storage.clone()),
        snapshot: Snapshots,
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let grpc_addr = config
        .grpc_listen
        .parse()
        .with_context(|| format!("grpc_listen {:?}", config.grpc_listen))?;
    let rest_addr = config
        .rest_listen
        .parse()
        .with_context(|| format!("rest_listen {:?}", config.rest_listen))?;
    let grpc = tokio::spawn(crate::rpc::grpc::serve(
        storage.clone(),
        grpc_addr,
        stopped(),
    ));
    let rest = tokio::spawn(crate::rpc::rest::serve(
        storage.clone(),
        rest_addr,
        stopped(),
    ));
    let abci_addr = config.abci_listen.clone();
    tracing::info!(addr = %abci_addr, "ABCI listening");
    let abci = tokio::spawn(async move { server.listen_tcp(&abci_addr).await });

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, stopping"),
        _ = sigterm.recv() => tracing::info!("terminated, stopping"),
        r = abci => {
            let _ = stop_tx.send(true);
            match r {
                Ok(Ok(())) => anyhow::bail!("the ABCI server stopped"),
                Ok(Err(e)) => anyhow::bail!("the ABCI server failed: {e}"),
                Err(e) => anyhow::bail!("the ABCI server panicked: {e}"),
            }
        }
    }
    let _ = stop_tx.send(true);
    let _ = l1_stop_tx.send(true);
    if let Some(w) = l1_watcher {
        let _ = w.await;
    }
    let _ = l2_stop_tx.send(true);
    if let Some(w) = l2_watcher {
        let _ = w.await;
    }
    let _ = grpc.await;
    let _ = rest.await;
    Ok(())
}
