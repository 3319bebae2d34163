//! The L2 watcher: polls the L2 execution node's JSON-RPC and feeds every new L2 block (number,
//! hash, coinbase) into this node's [`SharedL2View`], from which the producer section of its vote
//! extensions reports L2 blocks and stalls.
//!
//! Node-local and advisory: what it reports reaches state only when more than 2/3 of the voting
//! power report the same. It never stops the chain; when L2 is unreachable it logs and retries,
//! and the node simply reports nothing new (which, after `stall_timeout_ms`, is a stall report).
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;
use seqpool_epochs::L2Block;
use seqpool_producer::vote::MAX_BLOCKS_PER_VOTE;

use crate::mpc::signer::SharedL2Headers;
use seqpool_app::producer::SharedL2View;

/// How far below the L2 head a fresh watcher starts: the window the view keeps anyway.
pub const START_WINDOW: u64 = 4 * MAX_BLOCKS_PER_VOTE as u64;

/// Most blocks read in one round, so a catch-up does not starve the next head check.
pub const MAX_BLOCKS_PER_ROUND: u64 = MAX_BLOCKS_PER_VOTE as u64;

#[derive(Debug, thiserror::Error)]
pub enum L2WatchError {
    #[error("L2 RPC: {0}")]
    Rpc(String),
    #[error("the L2 view is poisoned (its producer section panicked)")]
    Poisoned,
}

/// Where the watcher is: the next L2 block number to read (`None` before the first round).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct L2Cursor {
    pub next: Option<u64>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One round: reads the L2 blocks above the cursor (at most [`MAX_BLOCKS_PER_ROUND`]) and puts them
/// into `view`. Returns the blocks it observed, in order.
///
/// The first round starts [`START_WINDOW`] below the head, block 0 included: seeing the genesis
/// block starts the stall clock, so a producer that never makes a block is still reported. Block 0
/// is read only once `chain_started` (the node committed a chain block): before that no producer
/// could have been asked to produce, and a clock started at process start would report a stall
/// for a slow chain start.
/// If the L2 head falls below the cursor (the L2 node was reset or reorged deeper than that),
/// the watcher re-reads from the window below the new head; the view keeps the latest hash per
/// height.
pub async fn poll_once<P: Provider>(
    provider: &P,
    cursor: &mut L2Cursor,
    view: &SharedL2View,
    chain_started: bool,
) -> Result<Vec<L2Block>, L2WatchError> {
    poll_once_into(provider, cursor, view, None, chain_started).await
}

/// [`poll_once`] that also records each block's hash and state root in `headers` (the MPC
/// signer's view for batches).
pub async fn poll_once_into<P: Provider>(
    provider: &P,
    cursor: &mut L2Cursor,
    view: &SharedL2View,
    headers: Option<&SharedL2Headers>,
    chain_started: bool,
) -> Result<Vec<L2Block>, L2WatchError> {
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| L2WatchError::Rpc(e.to_string()))?;
    let from = match cursor.next {
        Some(next) if next <= head.saturating_add(1) => next,
        _ => head.saturating_sub(START_WINDOW),
    };
    if from > head {
        cursor.next = Some(from);
        return Ok(Vec::new());
    }
    let to = head.min(from.saturating_add(MAX_BLOCKS_PER_ROUND - 1));
    let mut seen = Vec::new();
    for number in from..=to {
        if number == 0 && !chain_started {
            cursor.next = Some(0);
            break;
        }
        let Some(block) = provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| L2WatchError::Rpc(e.to_string()))?
        else {
            // Between eth_blockNumber and this call the node lost the block: next round.
            break;
        };
        let l2 = L2Block {
            number,
            hash: block.header.hash.to_vec(),
            coinbase: block.header.beneficiary.to_vec(),
        };
        view.lock()
            .map_err(|_| L2WatchError::Poisoned)?
            .observe(l2.clone(), now_ms());
        if let Some(headers) = headers {
            headers.lock().map_err(|_| L2WatchError::Poisoned)?.observe(
                number,
                block.header.hash.0,
                block.header.state_root.0,
            );
        }
        tracing::debug!(
            number,
            coinbase = %block.header.beneficiary,
            time = block.header.timestamp,
            "L2 block observed"
        );
        seen.push(l2);
        cursor.next = Some(number + 1);
    }
    if let Some(headers) = headers {
        backfill(provider, headers).await?;
    }
    Ok(seen)
}

/// Fetches blocks the MPC signer asked for (a batch older than the watcher's window), at most
/// [`MAX_BLOCKS_PER_ROUND`] per round, into `headers` only (the producer view is about new blocks).
async fn backfill<P: Provider>(
    provider: &P,
    headers: &SharedL2Headers,
) -> Result<(), L2WatchError> {
    let wanted = headers
        .lock()
        .map_err(|_| L2WatchError::Poisoned)?
        .wanted(MAX_BLOCKS_PER_ROUND as usize);
    for number in wanted {
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| L2WatchError::Rpc(e.to_string()))?;
        let mut headers = headers.lock().map_err(|_| L2WatchError::Poisoned)?;
        match block {
            Some(block) => headers.observe(number, block.header.hash.0, block.header.state_root.0),
            None => headers.unwant(number),
        }
    }
    Ok(())
}

/// Follows L2 until `stop` resolves. Errors are logged (once per outage) and retried.
pub async fn run<P: Provider>(
    provider: P,
    poll_interval: Duration,
    view: SharedL2View,
    headers: SharedL2Headers,
    chain_started: impl Fn() -> bool,
    stop: impl std::future::Future<Output = ()>,
) {
    tracing::info!(
        poll_ms = poll_interval.as_millis() as u64,
        "L2 watcher started"
    );
    tokio::pin!(stop);
    let mut cursor = L2Cursor::default();
    let mut failing = false;
    loop {
        let mut caught_up = true;
        match poll_once_into(
            &provider,
            &mut cursor,
            &view,
            Some(&headers),
            chain_started(),
        )
        .await
        {
            Ok(blocks) => {
                if failing {
                    tracing::info!("L2 RPC reachable again");
                    failing = false;
                }
                if let Some(last) = blocks.last() {
                    tracing::info!(
                        number = last.number,
                        coinbase = %format!("0x{}", hex::encode(&last.coinbase)),
                        new = blocks.len(),
                        "L2 head"
                    );
                }
                caught_up = (blocks.len() as u64) < MAX_BLOCKS_PER_ROUND;
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "L2 watcher round failed; retrying every poll");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "L2 watcher round failed"),
        }
        let pause = if caught_up {
            poll_interval
        } else {
            Duration::ZERO
        };
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Starts the watcher when app.toml names an `l2_rpc`; `None` (no L2 reports) otherwise.
pub fn spawn_from_config(
    config: &crate::config::AppConfig,
    view: SharedL2View,
    headers: SharedL2Headers,
    storage: seqpool_store::Storage,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if config.l2_rpc.is_empty() {
        tracing::info!("no l2_rpc in app.toml: not watching L2 (the producer section stays empty)");
        return Ok(None);
    }
    let url = config
        .l2_rpc
        .parse()
        .map_err(|e| anyhow::anyhow!("l2_rpc {:?}: {e}", config.l2_rpc))?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
    let poll = Duration::from_millis(config.l2_poll_interval_ms.max(20));
    let chain_started = move || storage.latest_version().is_some_and(|v| v >= 1);
    Ok(Some(tokio::spawn(run(
        provider,
        poll,
        view,
        headers,
        chain_started,
        stop,
    ))))
}
