//! The L1 watcher: follows the LockingPool's logs at a finality depth and hands the events to the
//! consensus actor (through [`Observations`]) for this node's vote extensions. It also follows
//! BatchInbox, GroupKeyRegistry and Governance (and the pool's RewardsDistributed) for the
//! receipts of group-signed payloads ([`ReceiptObservations`]), which x/mpc records as LANDED /
//! registered.
//!
//! Only blocks at `latest - confirmations` (or the node's `finalized` block) are read, so an event
//! that a reorg removes is never observed. The cursor (next L1 block to read, plus the observed
//! events not yet applied) lives in a node-local JSON file under `<home>/data/`, never in consensus
//! state. A watcher that is down or behind only leaves its vote's bridge section short.
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use seqpool_bridge::receipts::MAX_REVERT_DATA;
use seqpool_bridge::{l1_receipt, L1Receipt};
use seqpool_bridge::{L1Event, Payload};
use seqpool_l1::bindings::BatchInbox::BatchInboxEvents;
use seqpool_l1::bindings::Governance::GovernanceEvents;
use seqpool_l1::bindings::GroupKeyRegistry::GroupKeyRegistryEvents;
use seqpool_l1::bindings::LockingPool::LockingPoolEvents;
use seqpool_proto::bridge::v1::{
    ActionExecuted, ActionFailed, BatchAppended, GroupKeyRotated, GroupKeySet, LockBoundChanged,
    Locked, OtherEvent, Relocked, RewardsDistributed, SignerChange, Slashed, UnlockInit,
    WhitelistChanged,
};
use serde::{Deserialize, Serialize};

use seqpool_app::bridge::{Observations, ReceiptObservations};

/// Most L1 blocks one `eth_getLogs` call covers (public RPCs cap ranges).
pub const MAX_BLOCK_RANGE: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("L1 RPC: {0}")]
    Rpc(String),
    #[error("cursor file {path}: {reason}")]
    Cursor { path: PathBuf, reason: String },
    #[error("L1 log {id}: {reason}")]
    Log { id: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct WatcherConfig {
    pub locking_pool: Address,
    /// Followed for BatchAppended receipts (`None` = not watched).
    pub batch_inbox: Option<Address>,
    /// Followed for GroupKeySet / GroupKeyRotated receipts (`None` = not watched).
    pub group_key_registry: Option<Address>,
    /// Followed for the ActionExecuted receipts of group-signed actions (`None` = not watched).
    pub governance: Option<Address>,
    /// Blocks below the head an event must be to be observed (when not using `finalized`).
    pub confirmations: u64,
    /// Read up to the node's `finalized` block instead of `latest - confirmations`.
    pub use_finalized_tag: bool,
    /// First L1 block to read on a fresh cursor (the LockingPool's deployment block).
    pub start_block: u64,
    pub poll_interval: Duration,
    pub cursor_path: PathBuf,
}

/// How many read L1 blocks (the last of each round) the cursor remembers, to find where the chain
/// forked when a reorg deeper than the confirmation depth replaced blocks already read.
pub const REMEMBERED_BLOCKS: usize = 64;

/// What survives a restart of the watcher.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub next_block: u64,
    /// Observed events not yet known to be applied, in proto3 JSON.
    pub events: Vec<L1Event>,
    /// (number, 0x hash) of the last block of recent rounds, oldest first.
    #[serde(default)]
    pub read_blocks: Vec<(u64, String)>,
    /// Observed receipts not yet known to be recorded, in proto3 JSON.
    #[serde(default)]
    pub receipts: Vec<L1Receipt>,
}

impl Cursor {
    pub fn load(path: &Path, start_block: u64) -> Result<Self, WatchError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| WatchError::Cursor {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                next_block: start_block,
                ..Self::default()
            }),
            Err(e) => Err(WatchError::Cursor {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Writes a temporary file and renames it over the old one, so a crash leaves either cursor.
    pub fn save(&self, path: &Path) -> Result<(), WatchError> {
        let err = |reason: String| WatchError::Cursor {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}

fn amount(v: U256) -> String {
    v.to_string()
}

fn id64(v: U256, what: &str, id: &str) -> Result<u64, WatchError> {
    u64::try_from(v).map_err(|_| WatchError::Log {
        id: id.to_string(),
        reason: format!("{what} {v} does not fit in 64 bits"),
    })
}

/// The bridge form of one LockingPool log; `None` for a log outside the nonce sequence.
pub fn to_l1_event(log: &Log) -> Result<Option<L1Event>, WatchError> {
    let (Some(tx_hash), Some(log_index), Some(block_number)) =
        (log.transaction_hash, log.log_index, log.block_number)
    else {
        // A pending log has no position yet; it is read again once mined.
        return Ok(None);
    };
    let id = format!("{tx_hash}:{log_index}");
    let Ok(decoded) = LockingPoolEvents::decode_log(&log.inner) else {
        return Ok(None);
    };
    let other = |name: &str| Payload::Other(OtherEvent { name: name.into() });
    use LockingPoolEvents as E;
    let (nonce, payload) = match decoded.data {
        E::Locked(e) => (
            e.nonce,
            Payload::Locked(Locked {
                sequencer_id: id64(e.sequencerId, "sequencer id", &id)?,
                signer: e.signer.to_vec(),
                owner: e.owner.to_vec(),
                amount: amount(e.amount),
                signer_pubkey: e.signerPubkey.to_vec(),
            }),
        ),
        E::Relocked(e) => (
            e.nonce,
            Payload::Relocked(Relocked {
                sequencer_id: id64(e.sequencerId, "sequencer id", &id)?,
                added: amount(e.added),
                amount: amount(e.amount),
            }),
        ),
        E::UnlockInit(e) => (
            e.nonce,
            Payload::UnlockInit(UnlockInit {
                sequencer_id: id64(e.sequencerId, "sequencer id", &id)?,
                owner: e.owner.to_vec(),
                amount: amount(e.amount),
            }),
        ),
        E::SignerChange(e) => (
            e.nonce,
            Payload::SignerChange(SignerChange {
                sequencer_id: id64(e.sequencerId, "sequencer id", &id)?,
                old_signer: e.oldSigner.to_vec(),
                new_signer: e.newSigner.to_vec(),
                signer_pubkey: e.signerPubkey.to_vec(),
            }),
        ),
        E::WhitelistChanged(e) => (
            e.nonce,
            Payload::WhitelistChanged(WhitelistChanged {
                owner: e.owner.to_vec(),
                allowed: e.allowed,
            }),
        ),
        E::MinLockChanged(e) => (
            e.nonce,
            Payload::MinLockChanged(LockBoundChanged {
                old_value: amount(e.oldMinLock),
                new_value: amount(e.newMinLock),
            }),
        ),
        E::MaxLockChanged(e) => (
            e.nonce,
            Payload::MaxLockChanged(LockBoundChanged {
                old_value: amount(e.oldMaxLock),
                new_value: amount(e.newMaxLock),
            }),
        ),
        E::Slashed(e) => (
            e.nonce,
            Payload::Slashed(Slashed {
                sequencer_id: id64(e.sequencerId, "sequencer id", &id)?,
                amount: amount(e.amount),
                total_locked: amount(e.totalLocked),
            }),
        ),
        E::Unlocked(e) => (e.nonce, other("Unlocked")),
        E::RewardsDistributed(e) => (e.nonce, other("RewardsDistributed")),
        E::RewardsWithdrawn(e) => (e.nonce, other("RewardsWithdrawn")),
        E::RewardPerBlockChanged(e) => (e.nonce, other("RewardPerBlockChanged")),
        E::WithdrawalDelayChanged(e) => (e.nonce, other("WithdrawalDelayChanged")),
        E::SignerUpdateThrottleChanged(e) => (e.nonce, other("SignerUpdateThrottleChanged")),
        E::RewardPayerChanged(e) => (e.nonce, other("RewardPayerChanged")),
        E::PausedChanged(e) => (e.nonce, other("PausedChanged")),
        #[allow(unreachable_patterns)]
        _ => return Ok(None),
    };
    Ok(Some(L1Event {
        nonce: id64(nonce, "nonce", &id)?,
        tx_hash: tx_hash.to_vec(),
        log_index,
        block_number,
        payload: Some(payload),
    }))
}

fn word(v: U256) -> Vec<u8> {
    v.to_be_bytes::<32>().to_vec()
}

/// The receipt form of a BatchInbox, GroupKeyRegistry, LockingPool.RewardsDistributed or
/// group-signed Governance.ActionExecuted / ActionFailed log; `None` for any other log (an admin call's
/// ActionExecuted, or a log from an address that is not `config`'s).
pub fn to_receipt(log: &Log, config: &WatcherConfig) -> Result<Option<L1Receipt>, WatchError> {
    let (Some(tx_hash), Some(log_index), Some(block_number)) =
        (log.transaction_hash, log.log_index, log.block_number)
    else {
        return Ok(None);
    };
    let id = format!("{tx_hash}:{log_index}");
    use l1_receipt::Payload;
    let address = log.address();
    let payload = if Some(address) == config.batch_inbox {
        match BatchInboxEvents::decode_log(&log.inner).map(|d| d.data) {
            Ok(BatchInboxEvents::BatchAppended(e)) => Payload::BatchAppended(BatchAppended {
                batch_index: e.batchIndex,
                l2_start_block: e.l2StartBlock,
                l2_end_block: e.l2EndBlock,
                l2_blocks_root: e.l2BlocksRoot.to_vec(),
                l2_state_root: e.l2StateRoot.to_vec(),
            }),
            #[allow(unreachable_patterns)]
            _ => return Ok(None),
        }
    } else if Some(address) == config.group_key_registry {
        match GroupKeyRegistryEvents::decode_log(&log.inner).map(|d| d.data) {
            Ok(GroupKeyRegistryEvents::GroupKeySet(e)) => Payload::GroupKeySet(GroupKeySet {
                key_nonce: id64(e.keyNonce, "key nonce", &id)?,
                px: word(e.px),
                py: word(e.py),
            }),
            Ok(GroupKeyRegistryEvents::GroupKeyRotated(e)) => {
                Payload::GroupKeyRotated(GroupKeyRotated {
                    key_nonce: id64(e.keyNonce, "key nonce", &id)?,
                    old_px: word(e.oldPx),
                    old_py: word(e.oldPy),
                    new_px: word(e.newPx),
                    new_py: word(e.newPy),
                })
            }
            #[allow(unreachable_patterns)]
            _ => return Ok(None),
        }
    } else if Some(address) == config.governance {
        match GovernanceEvents::decode_log(&log.inner).map(|d| d.data) {
            Ok(GovernanceEvents::ActionExecuted(e)) if e.groupSigned => {
                Payload::ActionExecuted(ActionExecuted {
                    target: e.target.to_vec(),
                    selector: e.selector.to_vec(),
                    action_nonce: id64(e.actionNonce, "action nonce", &id)?,
                })
            }
            Ok(GovernanceEvents::ActionFailed(e)) => Payload::ActionFailed(ActionFailed {
                target: e.target.to_vec(),
                selector: e.selector.to_vec(),
                action_nonce: id64(e.actionNonce, "action nonce", &id)?,
                revert_data: e.revertData[..e.revertData.len().min(MAX_REVERT_DATA)].to_vec(),
            }),
            _ => return Ok(None),
        }
    } else if address == config.locking_pool {
        match LockingPoolEvents::decode_log(&log.inner).map(|d| d.data) {
            Ok(LockingPoolEvents::RewardsDistributed(e)) => {
                Payload::RewardsDistributed(RewardsDistributed {
                    sequence: id64(e.sequence, "reward sequence", &id)?,
                    start_epoch: id64(e.startEpoch, "start epoch", &id)?,
                    end_epoch: id64(e.endEpoch, "end epoch", &id)?,
                    total_reward: amount(e.totalReward),
                })
            }
            _ => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    Ok(Some(L1Receipt {
        tx_hash: tx_hash.to_vec(),
        log_index,
        block_number,
        payload: Some(payload),
    }))
}

/// The highest L1 block this watcher may read.
async fn safe_head<P: Provider>(provider: &P, config: &WatcherConfig) -> Result<u64, WatchError> {
    if config.use_finalized_tag {
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Finalized)
            .await
            .map_err(|e| WatchError::Rpc(e.to_string()))?
            .ok_or_else(|| WatchError::Rpc("the L1 node has no finalized block".into()))?;
        return Ok(block.header.number);
    }
    let latest = provider
        .get_block_number()
        .await
        .map_err(|e| WatchError::Rpc(e.to_string()))?;
    Ok(latest.saturating_sub(config.confirmations))
}

/// Reads `block.prevrandao` (the header's mixHash) of the latest safe L1 block on the randomness
/// interval (x/bridge `randomness_block_interval`, read by the caller from chain state) and puts it
/// in `slot` for this node's bridge section when it is newer than what is there. Returns the L1
/// block reported, `None` when the interval is 0 (turned off).
pub async fn observe_randomness<P: Provider>(
    provider: &P,
    config: &WatcherConfig,
    interval: u64,
    slot: &seqpool_app::bridge::RandomnessObservation,
) -> Result<Option<u64>, WatchError> {
    let head = safe_head(provider, config).await?;
    let Some(number) = seqpool_bridge::randomness::reported_block(head, interval) else {
        return Ok(None);
    };
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(|e| WatchError::Rpc(e.to_string()))?
        .ok_or_else(|| WatchError::Rpc(format!("L1 block {number} is missing")))?;
    let observed = seqpool_bridge::L1Randomness {
        block_number: number,
        prevrandao: block.header.mix_hash.to_vec(),
    };
    let mut slot = slot
        .lock()
        .map_err(|_| WatchError::Rpc("randomness slot poisoned".into()))?;
    if slot.as_ref().is_none_or(|r| r.block_number < number) {
        *slot = Some(observed);
    }
    Ok(Some(number))
}

/// The hash of L1 block `number`, `None` if the node has no such block (any more).
async fn block_hash<P: Provider>(provider: &P, number: u64) -> Result<Option<String>, WatchError> {
    Ok(provider
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(|e| WatchError::Rpc(e.to_string()))?
        .map(|b| b.header.hash.to_string()))
}

/// The first block to read again when blocks this watcher already read were replaced (a reorg
/// deeper than its depth): the block after the newest remembered one still on the chain, or the
/// start block when none is. `None` when the last read block is still there.
async fn fork_point<P: Provider>(
    provider: &P,
    config: &WatcherConfig,
    cursor: &Cursor,
) -> Result<Option<u64>, WatchError> {
    let Some((last, hash)) = cursor.read_blocks.last() else {
        return Ok(None);
    };
    if block_hash(provider, *last).await?.as_ref() == Some(hash) {
        return Ok(None);
    }
    for (number, hash) in cursor.read_blocks.iter().rev().skip(1) {
        if block_hash(provider, *number).await?.as_ref() == Some(hash) {
            return Ok(Some(number + 1));
        }
    }
    Ok(Some(config.start_block))
}

/// One round: reads the logs of the blocks that became safe since the last round, adds their
/// events to `observations`, and saves the cursor. Returns how many events it observed.
pub async fn poll_once<P: Provider>(
    provider: &P,
    config: &WatcherConfig,
    cursor: &mut Cursor,
    observations: &Observations,
    receipts: &ReceiptObservations,
) -> Result<usize, WatchError> {
    if let Some(fork) = fork_point(provider, config, cursor).await? {
        // Read the new branch again and forget what only the dropped one had; events are keyed
        // by nonce, so the new branch's events replace the old ones.
        tracing::warn!(
            from_block = fork,
            "L1 reorg deeper than the confirmation depth; reading again"
        );
        cursor.read_blocks.retain(|(n, _)| *n < fork);
        cursor.next_block = fork;
        if let Ok(mut observed) = observations.lock() {
            observed.retain(|_, e| e.block_number < fork);
        }
        if let Ok(mut observed) = receipts.lock() {
            observed.retain(|(block, _), _| *block < fork);
        }
    }
    let head = safe_head(provider, config).await?;
    if head < cursor.next_block {
        return Ok(0);
    }
    let to = head.min(cursor.next_block.saturating_add(MAX_BLOCK_RANGE - 1));
    let addresses: Vec<Address> = [
        Some(config.locking_pool),
        config.batch_inbox,
        config.group_key_registry,
        config.governance,
    ]
    .into_iter()
    .flatten()
    .collect();
    let filter = Filter::new()
        .address(addresses)
        .from_block(cursor.next_block)
        .to_block(to);
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(|e| WatchError::Rpc(e.to_string()))?;
    let mut events = Vec::new();
    let mut new_receipts = Vec::new();
    for log in &logs {
        if log.address() == config.locking_pool {
            if let Some(e) = to_l1_event(log)? {
                events.push(e);
            }
        }
        if let Some(r) = to_receipt(log, config)? {
            new_receipts.push(r);
        }
    }
    let found = events.len() + new_receipts.len();
    let kept_receipts: Vec<L1Receipt> = match receipts.lock() {
        Ok(mut observed) => {
            for r in new_receipts {
                observed.insert((r.block_number, r.log_index), r);
            }
            observed.values().cloned().collect()
        }
        Err(_) => return Err(WatchError::Rpc("receipt queue poisoned".into())),
    };
    let kept: Vec<L1Event> = match observations.lock() {
        Ok(mut observed) => {
            for e in events {
                observed.insert(e.nonce, e);
            }
            // What the consensus side pruned has been applied; keep the rest for a restart.
            observed.values().cloned().collect()
        }
        Err(_) => return Err(WatchError::Rpc("observation queue poisoned".into())),
    };
    if let Some(hash) = block_hash(provider, to).await? {
        cursor.read_blocks.push((to, hash));
        let excess = cursor.read_blocks.len().saturating_sub(REMEMBERED_BLOCKS);
        cursor.read_blocks.drain(..excess);
    }
    cursor.next_block = to + 1;
    cursor.events = kept;
    cursor.receipts = kept_receipts;
    cursor.save(&config.cursor_path)?;
    Ok(found)
}

/// Where the watcher reports the L1 RANDAO value for the bridge section, and how it learns the
/// chain's current `bridge.params.randomness_block_interval` (0 = off).
pub struct RandomnessFeed {
    pub slot: seqpool_app::bridge::RandomnessObservation,
    pub interval: Box<dyn Fn() -> u64 + Send>,
}

/// Follows L1 until `stop` resolves. Errors are logged and retried; they never stop the chain.
pub async fn run<P: Provider>(
    provider: P,
    config: WatcherConfig,
    observations: Observations,
    receipts: ReceiptObservations,
    randomness: Option<RandomnessFeed>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut cursor = match Cursor::load(&config.cursor_path, config.start_block) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "L1 watcher cannot read its cursor; not watching L1");
            return;
        }
    };
    if let Ok(mut observed) = observations.lock() {
        for e in &cursor.events {
            observed.insert(e.nonce, e.clone());
        }
    }
    if let Ok(mut observed) = receipts.lock() {
        for r in &cursor.receipts {
            observed.insert((r.block_number, r.log_index), r.clone());
        }
    }
    tracing::info!(pool = %config.locking_pool, from_block = cursor.next_block, "L1 watcher started");
    tokio::pin!(stop);
    loop {
        match poll_once(&provider, &config, &mut cursor, &observations, &receipts).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                events = n,
                next_block = cursor.next_block,
                "L1 events observed"
            ),
            Err(e) => tracing::warn!(error = %e, "L1 watcher round failed; retrying"),
        }
        if let Some(feed) = &randomness {
            if let Err(e) =
                observe_randomness(&provider, &config, (feed.interval)(), &feed.slot).await
            {
                tracing::warn!(error = %e, "L1 randomness not observed this round; retrying");
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(config.poll_interval) => {}
        }
    }
}

/// Starts the watcher when app.toml names an L1 RPC and the LockingPool; `None` otherwise.
pub fn spawn_from_config(
    config: &crate::config::AppConfig,
    home: &Path,
    observations: Observations,
    receipts: ReceiptObservations,
    randomness: Option<RandomnessFeed>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if config.l1_rpc.is_empty() || config.l1_locking_pool.is_empty() {
        tracing::info!("no l1_rpc/l1_locking_pool in app.toml: not watching L1");
        return Ok(None);
    }
    let url = config
        .l1_rpc
        .parse()
        .map_err(|e| anyhow::anyhow!("l1_rpc {:?}: {e}", config.l1_rpc))?;
    let locking_pool: Address = config
        .l1_locking_pool
        .parse()
        .map_err(|e| anyhow::anyhow!("l1_locking_pool {:?}: {e}", config.l1_locking_pool))?;
    let optional = |what: &str, value: &str| -> anyhow::Result<Option<Address>> {
        if value.is_empty() {
            return Ok(None);
        }
        value
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{what} {value:?}: {e}"))
    };
    let batch_inbox = optional("l1_batch_inbox", &config.l1_batch_inbox)?;
    let group_key_registry = optional("l1_group_key_registry", &config.l1_group_key_registry)?;
    let governance = optional("l1_governance", &config.l1_governance)?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
    let watcher = WatcherConfig {
        locking_pool,
        batch_inbox,
        group_key_registry,
        governance,
        confirmations: config.l1_confirmations,
        use_finalized_tag: config.l1_use_finalized,
        start_block: config.l1_start_block,
        poll_interval: Duration::from_millis(config.l1_poll_interval_ms.max(100)),
        cursor_path: crate::config::AppConfig::l1_cursor_path(home),
    };
    Ok(Some(tokio::spawn(run(
        provider,
        watcher,
        observations,
        receipts,
        randomness,
        stop,
    ))))
}
