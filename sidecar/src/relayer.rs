//! The L1 relayer: sends every SIGNED x/mpc request to its L1 contract (BatchInbox.appendBatch,
//! LockingPool.distributeRewards, GroupKeyRegistry.rotateKey, Governance.executeSigned), and, on a
//! devnet with the governance admin's key, registers the first active group key. A governance
//! action takes two transactions: executeSigned queues it (a slash runs at once), and once its
//! exit window is over executeQueued runs it.
//!
//! Every sidecar may relay; the contracts accept each payload once. Before sending, the relayer
//! reads the contract's own progress (isAppended, rewardSequence, keyNonce, actionNonce): a payload
//! already there is "already done" (another relayer was first, or our own transaction from before
//! a restart landed). Then it simulates (eth_call) so a revert is reported with the contract's
//! decoded custom error, then sends with [`seqpool_l1::sender::send_bumping`]. Nothing is kept on
//! disk: after a restart everything is re-derived from the chain (SIGNED requests) and L1.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, TxHash, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolError, SolInterface, SolValue};
use seqpool_l1::bindings::{BatchInbox, Governance, GroupKeyRegistry, LockingPool};
use seqpool_l1::deploy::Deployment;
use seqpool_l1::frost_sig::signature_affine_from_bytes;
use seqpool_l1::sender::{send_bumping, SendError, SendPolicy};
use seqpool_proto::mpc::v1::{signing_request::Body, GroupKey, RequestType, SigningRequest};

use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("request {id}: {reason}")]
    BadRequest { id: u64, reason: String },
    #[error("request {id}: its target {got} is not the deployment's {contract} at {expected}")]
    WrongTarget {
        id: u64,
        contract: &'static str,
        got: String,
        expected: Address,
    },
    #[error("{what}: L1 refuses it: {reason}")]
    Refused { what: String, reason: String },
    #[error("{what}: {source}")]
    Send {
        what: String,
        #[source]
        source: SendError,
    },
    #[error("{what}: transaction {tx} reverted")]
    Reverted { what: String, tx: TxHash },
    #[error("L1 RPC at {url} unreachable or failing ({call}): {reason}")]
    Rpc {
        url: String,
        call: &'static str,
        reason: String,
    },
    #[error("invalid L1 RPC URL {url:?}: {reason}")]
    Url { url: String, reason: String },
}

/// What one relay attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relayed {
    /// Our transaction carried the payload.
    Sent {
        tx: TxHash,
        block: u64,
        gas_used: u64,
        bumps: u32,
    },
    /// L1 already has it (another relayer, or ours before a restart).
    AlreadyDone,
    /// Our transaction queued a governance action in its exit window; it runs from `eta` (L1
    /// block time, seconds), when the relayer sends Governance.executeQueued.
    Queued { tx: TxHash, eta: u64 },
    /// A queued governance action whose exit window ends at `eta`; nothing to send yet.
    Waiting { eta: u64 },
    /// Not for L1 (a key's test signature).
    NotRelayed,
}

/// How to tell from the contract's own state that a payload is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DoneCheck {
    BatchAppended(u64),
    /// LockingPool.rewardSequence() > sequence.
    RewardSequence(U256),
    /// GroupKeyRegistry.keyNonce() > sequence.
    KeyNonce(U256),
    /// Governance.actionNonce() > nonce and the action is not waiting in the queue.
    ActionNonce(U256),
}

/// The L1 transaction of one signed request.
#[derive(Clone, Debug)]
pub struct L1Call {
    pub to: Address,
    pub data: Bytes,
    /// e.g. "batch 7 (request 12)", for logs and errors.
    pub what: String,
    pub done: DoneCheck,
}

fn bad(id: u64, reason: impl Into<String>) -> RelayError {
    RelayError::BadRequest {
        id,
        reason: reason.into(),
    }
}

fn check_target(
    request: &SigningRequest,
    contract: &'static str,
    expected: Address,
) -> Result<Address, RelayError> {
    let got = request
        .target
        .as_ref()
        .map(|t| t.address.as_slice())
        .unwrap_or_default();
    if got != expected.as_slice() {
        return Err(RelayError::WrongTarget {
            id: request.request_id,
            contract,
            got: format!("0x{}", hex::encode(got)),
            expected,
        });
    }
    Ok(expected)
}

fn b256(id: u64, what: &str, bytes: &[u8]) -> Result<alloy::primitives::B256, RelayError> {
    <[u8; 32]>::try_from(bytes)
        .map(Into::into)
        .map_err(|_| bad(id, format!("{what} has {} bytes, expected 32", bytes.len())))
}

/// The L1 call that carries `request`'s signed payload; `None` for a request not relayed
/// (KEY_TEST).
/// The target must be the deployment's contract for the request type: the relayer sends only to
/// the contracts it was configured with.
pub fn l1_call(
    request: &SigningRequest,
    contracts: &Deployment,
) -> Result<Option<L1Call>, RelayError> {
    let id = request.request_id;
    let kind = RequestType::try_from(request.request_type)
        .map_err(|_| bad(id, format!("unknown request type {}", request.request_type)))?;
    // A key's test signature is not for L1.
    if matches!(kind, RequestType::KeyTest) {
        return Ok(None);
    }
    let sig = signature_affine_from_bytes(&request.signature)
        .map_err(|e| bad(id, format!("signature: {e}")))?;
    let call = match kind {
        RequestType::Batch => {
            let to = check_target(request, "BatchInbox", contracts.batch_inbox)?;
            let Some(Body::Batch(h)) = &request.body else {
                return Err(bad(id, "a batch request without a batch header"));
            };
            let header = BatchInbox::BatchHeader {
                batchIndex: h.batch_index,
                l2StartBlock: h.l2_start_block,
                l2EndBlock: h.l2_end_block,
                l2BlocksRoot: b256(id, "l2_blocks_root", &h.l2_blocks_root)?,
                l2StateRoot: b256(id, "l2_state_root", &h.l2_state_root)?,
            };
            L1Call {
                to,
                data: BatchInbox::appendBatchCall {
                    header,
                    sig: sig.into(),
                }
                .abi_encode()
                .into(),
                what: format!("batch {} (request {id})", h.batch_index),
                done: DoneCheck::BatchAppended(h.batch_index),
            }
        }
        RequestType::RewardDistribution => {
            let to = check_target(request, "LockingPool", contracts.locking_pool)?;
            let dist = LockingPool::RewardDistribution::abi_decode(&request.payload)
                .map_err(|e| bad(id, format!("reward payload: {e}")))?;
            let sequence = dist.sequence;
            L1Call {
                to,
                data: LockingPool::distributeRewardsCall {
                    dist,
                    sig: sig.into(),
                }
                .abi_encode()
                .into(),
                what: format!("reward distribution {sequence} (request {id})"),
                done: DoneCheck::RewardSequence(sequence),
            }
        }
        RequestType::RotateGroupKey => {
            let to = check_target(request, "GroupKeyRegistry", contracts.group_key_registry)?;
            let (new_px, new_py) = <(U256, U256)>::abi_decode_params(&request.payload)
                .map_err(|e| bad(id, format!("rotation payload: {e}")))?;
            L1Call {
                to,
                data: GroupKeyRegistry::rotateKeyCall {
                    newPx: new_px,
                    newPy: new_py,
                    sig: sig.into(),
                }
                .abi_encode()
                .into(),
                what: format!("key rotation {} (request {id})", request.sequence),
                done: DoneCheck::KeyNonce(U256::from(request.sequence)),
            }
        }
        // A slashing is a governance action calling LockingPool.slash: relayed the same way
        // (Governance runs it at once); done once its nonce is used and it is not waiting in the
        // queue (see Relayer::relay_action).
        RequestType::GovernanceAction | RequestType::Slashing => {
            let to = check_target(request, "Governance", contracts.governance)?;
            let action = Governance::GovernanceAction::abi_decode(&request.payload)
                .map_err(|e| bad(id, format!("governance action payload: {e}")))?;
            if kind == RequestType::Slashing
                && (action.target != contracts.locking_pool
                    || !action.data.starts_with(&LockingPool::slashCall::SELECTOR))
            {
                return Err(bad(
                    id,
                    format!(
                        "a slashing action must call LockingPool.slash at {}, got {} with data 0x{}",
                        contracts.locking_pool,
                        action.target,
                        hex::encode(action.data.get(..4).unwrap_or_default())
                    ),
                ));
            }
            let nonce = action.nonce;
            L1Call {
                to,
                data: Governance::executeSignedCall {
                    action,
                    sig: sig.into(),
                }
                .abi_encode()
                .into(),
                what: format!("{} action {nonce} (request {id})", kind.as_str_name()),
                done: DoneCheck::ActionNonce(nonce),
            }
        }
        RequestType::KeyTest | RequestType::Unspecified => {
            return Err(bad(id, "request type not relayable"));
        }
    };
    Ok(Some(call))
}

/// Where a group-signed governance action stands on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionStage {
    /// Its nonce is not used yet: executeSigned takes it.
    NotTaken,
    /// Queued; its exit window ends at `eta`, or an earlier queued action has not run yet
    /// (Governance runs them in nonce order).
    Waiting { eta: u64 },
    /// Queued, its window is over and it is next: executeQueued runs it.
    Ready,
    /// Ran (executed or failed), at once or from the queue.
    Done,
}

/// The request types in the order the relayer sends them. SLASHING and GOVERNANCE_ACTION share
/// Governance.actionNonce, so they form one sequence sent in nonce order (a later nonce sent first
/// would only revert and wait for the next round).
fn relay_order(request_type: i32) -> i32 {
    if request_type == RequestType::Slashing as i32 {
        RequestType::GovernanceAction as i32
    } else {
        request_type
    }
}

/// The contract's custom error in `revert` data, decoded against every seqpool contract (a
/// governance action bubbles up its target's error).
pub fn decode_revert(data: &[u8]) -> String {
    if let Ok(e) = BatchInbox::BatchInboxErrors::abi_decode(data) {
        return format!("BatchInbox.{e:?}");
    }
    if let Ok(e) = LockingPool::LockingPoolErrors::abi_decode(data) {
        return format!("LockingPool.{e:?}");
    }
    if let Ok(e) = GroupKeyRegistry::GroupKeyRegistryErrors::abi_decode(data) {
        return format!("GroupKeyRegistry.{e:?}");
    }
    if let Ok(e) = Governance::GovernanceErrors::abi_decode(data) {
        return format!("Governance.{e:?}");
    }
    format!("revert data 0x{}", hex::encode(data))
}

/// Relays signed requests from one L1 key.
pub struct Relayer {
    provider: DynProvider,
    from: Address,
    url: String,
    contracts: Deployment,
    policy: SendPolicy,
    metrics: Arc<Metrics>,
}

impl Relayer {
    pub fn new(
        l1_rpc: &str,
        key: PrivateKeySigner,
        contracts: Deployment,
        policy: SendPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RelayError> {
        let from = key.address();
        Ok(Self {
            provider: wallet_provider(l1_rpc, key)?,
            from,
            url: l1_rpc.to_string(),
            contracts,
            policy,
            metrics,
        })
    }

    pub fn address(&self) -> Address {
        self.from
    }

    fn rpc(&self, call: &'static str) -> impl Fn(alloy::contract::Error) -> RelayError + '_ {
        move |e| RelayError::Rpc {
            url: self.url.clone(),
            call,
            reason: e.to_string(),
        }
    }

    /// Whether L1 already holds the payload of `done`, at the latest block (a pending transaction,
    /// ours or another relayer's, is not done: it may still be replaced or dropped).
    pub async fn is_done(&self, done: &DoneCheck) -> Result<bool, RelayError> {
        let p = &self.provider;
        Ok(match done {
            DoneCheck::BatchAppended(index) => BatchInbox::new(self.contracts.batch_inbox, p)
                .isAppended(*index)
                .block(BlockId::latest())
                .call()
                .await
                .map_err(self.rpc("BatchInbox.isAppended"))?,
            DoneCheck::RewardSequence(seq) => {
                LockingPool::new(self.contracts.locking_pool, p)
                    .rewardSequence()
                    .block(BlockId::latest())
                    .call()
                    .await
                    .map_err(self.rpc("LockingPool.rewardSequence"))?
                    > *seq
            }
            DoneCheck::KeyNonce(nonce) => {
                GroupKeyRegistry::new(self.contracts.group_key_registry, p)
                    .keyNonce()
                    .block(BlockId::latest())
                    .call()
                    .await
                    .map_err(self.rpc("GroupKeyRegistry.keyNonce"))?
                    > *nonce
            }
            DoneCheck::ActionNonce(nonce) => self.action_stage(*nonce).await? == ActionStage::Done,
        })
    }

    /// Where action `nonce` stands on L1, at the latest block.
    pub async fn action_stage(&self, nonce: U256) -> Result<ActionStage, RelayError> {
        let gov = Governance::new(self.contracts.governance, &self.provider);
        let next = gov
            .actionNonce()
            .block(BlockId::latest())
            .call()
            .await
            .map_err(self.rpc("Governance.actionNonce"))?;
        if next <= nonce {
            return Ok(ActionStage::NotTaken);
        }
        let queued = gov
            .queued(nonce)
            .block(BlockId::latest())
            .call()
            .await
            .map_err(self.rpc("Governance.queued"))?;
        if queued.eta == 0 || queued.executed {
            return Ok(ActionStage::Done);
        }
        let next_to_run = gov
            .nextToRun()
            .block(BlockId::latest())
            .call()
            .await
            .map_err(self.rpc("Governance.nextToRun"))?;
        if next_to_run != nonce {
            return Ok(ActionStage::Waiting { eta: queued.eta });
        }
        let latest = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| RelayError::Rpc {
                url: self.url.clone(),
                call: "eth_getBlockByNumber",
                reason: e.to_string(),
            })?
            .ok_or_else(|| RelayError::Rpc {
                url: self.url.clone(),
                call: "eth_getBlockByNumber",
                reason: "no latest block".into(),
            })?;
        // executeQueued runs in a later block, whose timestamp is at least the latest one's.
        Ok(if latest.header.timestamp < queued.eta {
            ActionStage::Waiting { eta: queued.eta }
        } else {
            ActionStage::Ready
        })
    }

    /// Whether L1 still holds `request`'s payload (requests not relayed count as done).
    pub async fn still_done(&self, request: &SigningRequest) -> Result<bool, RelayError> {
        match l1_call(request, &self.contracts)? {
            Some(call) => self.is_done(&call.done).await,
            None => Ok(true),
        }
    }

    /// Relays one signed request: already there -> `AlreadyDone`; a simulated revert -> the
    /// decoded error (BatchAlreadyAppended counts as done); else sends with fee bumping.
    pub async fn relay(&self, request: &SigningRequest) -> Result<Relayed, RelayError> {
        let Some(call) = l1_call(request, &self.contracts)? else {
            return Ok(Relayed::NotRelayed);
        };
        if let DoneCheck::ActionNonce(nonce) = call.done {
            return self.relay_action(request, &call, nonce).await;
        }
        self.relay_call(&call).await
    }

    /// A governance action in two steps: executeSigned takes its nonce (and runs it at once if
    /// it is immediate), then, after the exit window, executeQueued runs it.
    async fn relay_action(
        &self,
        request: &SigningRequest,
        call: &L1Call,
        nonce: U256,
    ) -> Result<Relayed, RelayError> {
        match self.action_stage(nonce).await? {
            ActionStage::Done => Ok(Relayed::AlreadyDone),
            ActionStage::Waiting { eta } => Ok(Relayed::Waiting { eta }),
            ActionStage::NotTaken => match self.relay_call(call).await {
                // Another relayer took the nonce first (our simulation or transaction reverted
                // with ActionNonceMismatch): the action is queued, not failed.
                Err(e) => match self.action_stage(nonce).await? {
                    ActionStage::NotTaken => Err(e),
                    ActionStage::Done => Ok(Relayed::AlreadyDone),
                    ActionStage::Waiting { eta } => Ok(Relayed::Waiting { eta }),
                    ActionStage::Ready => Ok(Relayed::Waiting { eta: 0 }),
                },
                Ok(Relayed::Sent { tx, .. })
                    if self.action_stage(nonce).await? != ActionStage::Done =>
                {
                    let eta = Governance::new(self.contracts.governance, &self.provider)
                        .queued(nonce)
                        .call()
                        .await
                        .map_err(self.rpc("Governance.queued"))?
                        .eta;
                    Ok(Relayed::Queued { tx, eta })
                }
                Ok(other) => Ok(other),
            },
            ActionStage::Ready => {
                // l1_call decoded this payload already.
                let action =
                    Governance::GovernanceAction::abi_decode(&request.payload).map_err(|e| {
                        bad(
                            request.request_id,
                            format!("governance action payload: {e}"),
                        )
                    })?;
                let run = L1Call {
                    to: call.to,
                    data: Governance::executeQueuedCall { action }.abi_encode().into(),
                    what: format!("{}, after its exit window", call.what),
                    done: call.done.clone(),
                };
                self.relay_call(&run).await
            }
        }
    }

    pub async fn relay_call(&self, call: &L1Call) -> Result<Relayed, RelayError> {
        if self.is_done(&call.done).await? {
            return Ok(Relayed::AlreadyDone);
        }
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(call.to)
            .with_input(call.data.clone());
        if let Err(e) = self
            .provider
            .call(tx.clone())
            .block(BlockId::latest())
            .await
        {
            let Some(data) = e.as_error_resp().and_then(|r| r.as_revert_data()) else {
                return Err(RelayError::Rpc {
                    url: self.url.clone(),
                    call: "eth_call",
                    reason: e.to_string(),
                });
            };
            if <BatchInbox::BatchAlreadyAppended as SolError>::abi_decode(&data).is_ok()
                || self.is_done(&call.done).await?
            {
                return Ok(Relayed::AlreadyDone);
            }
            return Err(RelayError::Refused {
                what: call.what.clone(),
                reason: decode_revert(&data),
            });
        }
        let metrics = self.metrics.clone();
        let mined = send_bumping(&self.provider, self.from, tx, &self.policy, |_, _| {
            metrics.inc(&metrics.fee_bumps);
        })
        .await;
        let mined = match mined {
            Ok(m) => m,
            // Another relayer landed it after our simulation (the gas estimate reverts), or
            // another process with this key / our transaction from before a restart used the
            // nonce: done if L1 has the payload now.
            Err(_) if self.is_done(&call.done).await? => return Ok(Relayed::AlreadyDone),
            Err(source) => {
                return Err(RelayError::Send {
                    what: call.what.clone(),
                    source,
                })
            }
        };
        if !mined.receipt.status() {
            // Lost a race between simulation and inclusion.
            if self.is_done(&call.done).await? {
                return Ok(Relayed::AlreadyDone);
            }
            return Err(RelayError::Reverted {
                what: call.what.clone(),
                tx: mined.receipt.transaction_hash,
            });
        }
        Ok(Relayed::Sent {
            tx: mined.receipt.transaction_hash,
            block: mined.receipt.block_number.unwrap_or_default(),
            gas_used: mined.receipt.gas_used,
            bumps: mined.bumps,
        })
    }

    /// The relayer key's L1 balance in wei.
    pub async fn balance(&self) -> Result<U256, RelayError> {
        self.provider
            .get_balance(self.from)
            .await
            .map_err(|e| RelayError::Rpc {
                url: self.url.clone(),
                call: "eth_getBalance",
                reason: e.to_string(),
            })
    }
}

fn wallet_provider(url: &str, key: PrivateKeySigner) -> Result<DynProvider, RelayError> {
    let parsed = url.parse().map_err(|e| RelayError::Url {
        url: url.to_string(),
        reason: format!("{e}"),
    })?;
    Ok(ProviderBuilder::new()
        .wallet(key)
        .connect_http(parsed)
        .erased())
}

/// The (px, py) of a group key as the registry stores them.
fn key_xy(key: &GroupKey) -> Result<(U256, U256), String> {
    let coord = |what: &str, b: &[u8]| {
        <[u8; 32]>::try_from(b)
            .map(U256::from_be_bytes)
            .map_err(|_| format!("key {}: {what} has {} bytes", key.key_id, b.len()))
    };
    Ok((coord("px", &key.px)?, coord("py", &key.py)?))
}

/// What [`register_initial_key`] found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRegistration {
    Registered {
        tx: TxHash,
    },
    /// The registry already holds this group key.
    AlreadyRegistered,
    /// The registry holds another key: only a group-signed rotation can change it.
    OtherKeyRegistered,
}

/// Registers `key` as the registry's first key through Governance.execute (the registry's
/// `governance` is the Governance contract, whose admin is `admin`): the devnet's bootstrap.
pub async fn register_initial_key(
    l1_rpc: &str,
    admin: PrivateKeySigner,
    contracts: &Deployment,
    key: &GroupKey,
    policy: &SendPolicy,
) -> Result<KeyRegistration, RelayError> {
    let what = format!("initial registration of key {}", key.key_id);
    let (px, py) = key_xy(key).map_err(|reason| bad(key.key_id, reason))?;
    let from = admin.address();
    let provider = wallet_provider(l1_rpc, admin)?;
    let rpc = |call: &'static str| {
        move |e: alloy::contract::Error| RelayError::Rpc {
            url: l1_rpc.to_string(),
            call,
            reason: e.to_string(),
        }
    };
    let registry = GroupKeyRegistry::new(contracts.group_key_registry, &provider);
    let registered = |px_now: U256, py_now: U256| {
        if (px_now, py_now) == (px, py) {
            KeyRegistration::AlreadyRegistered
        } else {
            KeyRegistration::OtherKeyRegistered
        }
    };
    if registry
        .isKeySet()
        .call()
        .await
        .map_err(rpc("GroupKeyRegistry.isKeySet"))?
    {
        let px_now = registry
            .px()
            .call()
            .await
            .map_err(rpc("GroupKeyRegistry.px"))?;
        let py_now = registry
            .py()
            .call()
            .await
            .map_err(rpc("GroupKeyRegistry.py"))?;
        return Ok(registered(px_now, py_now));
    }
    let set = GroupKeyRegistry::setInitialKeyCall {
        newPx: px,
        newPy: py,
    }
    .abi_encode();
    let data = Governance::executeCall {
        target: contracts.group_key_registry,
        data: set.into(),
    }
    .abi_encode();
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_to(contracts.governance)
        .with_input(data);
    if let Err(e) = provider.call(tx.clone()).block(BlockId::latest()).await {
        let reason = match e.as_error_resp().and_then(|r| r.as_revert_data()) {
            Some(data) => decode_revert(&data),
            None => e.to_string(),
        };
        return Err(RelayError::Refused { what, reason });
    }
    let mined = send_bumping(&provider, from, tx, policy, |_, _| {})
        .await
        .map_err(|source| RelayError::Send {
            what: what.clone(),
            source,
        })?;
    if !mined.receipt.status() {
        return Err(RelayError::Reverted {
            what,
            tx: mined.receipt.transaction_hash,
        });
    }
    Ok(KeyRegistration::Registered {
        tx: mined.receipt.transaction_hash,
    })
}

/// Loop settings.
#[derive(Clone, Debug)]
pub struct RelayLoopConfig {
    pub poll_interval: Duration,
    /// Longest wait before retrying a request whose relay failed (doubling from `poll_interval`).
    pub max_backoff: Duration,
    /// The governance admin's key (devnet): registers the first active key on L1.
    pub admin_key: Option<PrivateKeySigner>,
    pub l1_rpc: String,
}

/// Per-request retry state (in memory only; a restart simply retries at once).
#[derive(Default)]
struct Backoff {
    failures: u32,
    next_try: Option<Instant>,
}

/// Polls the chain for SIGNED requests and relays them, in (type, sequence) order, until `stop`.
pub async fn run(
    relayer: Relayer,
    chain: crate::chain::ChainClient,
    config: RelayLoopConfig,
    stop: impl std::future::Future<Output = ()>,
) {
    use seqpool_proto::mpc::v1::RequestStatus;
    tokio::pin!(stop);
    let metrics = relayer.metrics.clone();
    // Requests this process found done on L1 (counted once; the chain marks them LANDED soon).
    let mut finished: BTreeMap<u64, ()> = BTreeMap::new();
    let mut backoff: BTreeMap<u64, Backoff> = BTreeMap::new();
    let mut chain_error = String::new();
    let mut l1_error = String::new();
    let mut key_registered = false;
    tracing::info!(relayer = %relayer.address(), l1 = %relayer.url, "L1 relayer started");
    loop {
        let mut l1_failure: Option<String> = None;
        match relayer.balance().await {
            Ok(b) => metrics.set_balance(b),
            Err(e) => l1_failure = Some(e.to_string()),
        }
        match chain.requests(RequestStatus::Signed).await {
            Ok(mut signed) => {
                if !chain_error.is_empty() {
                    tracing::info!(grpc = chain.addr(), "seqpoold answers again");
                    chain_error.clear();
                }
                let batches = signed
                    .iter()
                    .filter(|r| r.request_type == RequestType::Batch as i32)
                    .count();
                metrics.set(&metrics.batches_signed, batches as u64);
                signed.sort_by_key(|r| (relay_order(r.request_type), r.sequence, r.request_id));
                finished.retain(|id, _| signed.iter().any(|r| r.request_id == *id));
                backoff.retain(|id, _| signed.iter().any(|r| r.request_id == *id));
                for request in &signed {
                    let id = request.request_id;
                    if finished.contains_key(&id) {
                        // Still SIGNED: the chain has not seen its receipt at the confirmation
                        // depth yet. An L1 reorg may have taken the transaction away meanwhile;
                        // then it is relayed again (the contract accepts it once either way).
                        match relayer.still_done(request).await {
                            Ok(true) => continue,
                            Ok(false) => {
                                tracing::warn!(request = id, sequence = request.sequence, "was on L1 but is not any more (an L1 reorg took it away); relaying it again");
                                metrics.inc(&metrics.reorged_relays);
                                finished.remove(&id);
                            }
                            Err(e) => {
                                l1_failure = Some(e.to_string());
                                continue;
                            }
                        }
                    }
                    let slot = backoff.entry(id).or_default();
                    if slot.next_try.is_some_and(|t| Instant::now() < t) {
                        continue;
                    }
                    match relayer.relay(request).await {
                        Ok(Relayed::Sent {
                            tx,
                            block,
                            gas_used,
                            bumps,
                        }) => {
                            tracing::info!(request = id, sequence = request.sequence, %tx, block, gas_used, bumps, "relayed to L1");
                            if request.request_type == RequestType::Batch as i32 {
                                metrics.inc(&metrics.batches_relayed);
                            }
                            metrics.inc(&metrics.relays_sent);
                            finished.insert(id, ());
                        }
                        Ok(Relayed::AlreadyDone) => {
                            tracing::info!(
                                request = id,
                                sequence = request.sequence,
                                "already on L1 (relayed by someone else)"
                            );
                            metrics.inc(&metrics.relays_already_done);
                            finished.insert(id, ());
                        }
                        Ok(Relayed::NotRelayed) => {
                            finished.insert(id, ());
                        }
                        Ok(Relayed::Queued { tx, eta }) => {
                            tracing::info!(request = id, sequence = request.sequence, %tx, eta, "queued on L1; runs after its exit window");
                            metrics.inc(&metrics.relays_sent);
                        }
                        Ok(Relayed::Waiting { eta }) => {
                            tracing::debug!(
                                request = id,
                                eta,
                                "queued on L1, waiting for its exit window"
                            );
                        }
                        Err(e) => {
                            metrics.inc(&metrics.relay_failures);
                            slot.failures += 1;
                            let wait = config
                                .poll_interval
                                .saturating_mul(1 << slot.failures.min(16))
                                .min(config.max_backoff);
                            slot.next_try = Some(Instant::now() + wait);
                            if matches!(e, RelayError::Rpc { .. }) {
                                l1_failure = Some(e.to_string());
                            } else {
                                tracing::warn!(request = id, error = %e, retry_in = ?wait, "relay failed");
                            }
                        }
                    }
                }
            }
            Err(e) => {
                let message = e.to_string();
                if message != chain_error {
                    tracing::warn!(error = %message, "relayer: cannot read signed requests; retrying");
                    chain_error = message;
                }
            }
        }
        if let (Some(admin), false) = (&config.admin_key, key_registered) {
            if let Ok(Some(key)) = chain.active_key().await {
                if !key.registered_on_l1 {
                    match register_initial_key(
                        &config.l1_rpc,
                        admin.clone(),
                        &relayer.contracts,
                        &key,
                        &relayer.policy,
                    )
                    .await
                    {
                        Ok(KeyRegistration::Registered { tx }) => {
                            tracing::info!(key = key.key_id, %tx, "registered the group key on L1 (GroupKeyRegistry.setInitialKey via Governance)");
                            key_registered = true;
                        }
                        Ok(KeyRegistration::AlreadyRegistered) => key_registered = true,
                        Ok(KeyRegistration::OtherKeyRegistered) => {
                            tracing::warn!(key = key.key_id, "L1 holds another group key; only a group-signed rotation can change it");
                            key_registered = true;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "initial key registration failed; retrying")
                        }
                    }
                } else {
                    key_registered = true;
                }
            }
        }
        match l1_failure {
            Some(message) if message != l1_error => {
                tracing::warn!(error = %message, "relayer: L1 unreachable or failing; retrying");
                l1_error = message;
            }
            Some(_) => {}
            None if !l1_error.is_empty() => {
                tracing::info!(l1 = %relayer.url, "L1 answers again");
                l1_error.clear();
            }
            None => {}
        }
        metrics.set_l1_up(l1_error.is_empty());
        metrics.set_chain_up(chain_error.is_empty());
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(config.poll_interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_proto::mpc::v1::{BatchHeader, L1Target};

    fn contracts() -> Deployment {
        serde_json::from_str(
            r#"{"chainId": 31337, "deployer": "0x0000000000000000000000000000000000000001",
            "stakeToken": "0x0000000000000000000000000000000000000002",
            "governance": "0x0000000000000000000000000000000000000003",
            "groupKeyRegistry": "0x0000000000000000000000000000000000000004",
            "lockingPool": "0x0000000000000000000000000000000000000005",
            "lockingEscrow": "0x0000000000000000000000000000000000000006",
            "batchInbox": "0x0000000000000000000000000000000000000007",
            "firstL2Block": 1, "deployedAtBlock": 0}"#,
        )
        .expect("deployment")
    }

    /// A valid 65-byte signature encoding: R = the generator, z = 1.
    fn signature() -> Vec<u8> {
        let mut sig =
            hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
                .expect("hex");
        let mut z = [0u8; 32];
        z[31] = 1;
        sig.extend_from_slice(&z);
        sig
    }

    fn batch(target: Address) -> SigningRequest {
        SigningRequest {
            request_id: 4,
            request_type: RequestType::Batch as i32,
            target: Some(L1Target {
                contract: "BatchInbox".into(),
                address: target.to_vec(),
                function: String::new(),
            }),
            sequence: 2,
            body: Some(Body::Batch(BatchHeader {
                batch_index: 2,
                l2_start_block: 5,
                l2_end_block: 9,
                l2_blocks_root: vec![1; 32],
                l2_state_root: vec![2; 32],
            })),
            signature: signature(),
            ..Default::default()
        }
    }

    #[test]
    fn requests_map_to_their_contract_call_or_are_refused() {
        let c = contracts();
        let call = l1_call(&batch(c.batch_inbox), &c)
            .expect("batch")
            .expect("relayed");
        assert_eq!(call.to, c.batch_inbox);
        assert_eq!(call.done, DoneCheck::BatchAppended(2));
        assert_eq!(&call.data[..4], &BatchInbox::appendBatchCall::SELECTOR[..]);
        // Only the deployment's contract for the type.
        assert!(matches!(
            l1_call(&batch(c.locking_pool), &c),
            Err(RelayError::WrongTarget { id: 4, .. })
        ));
        let mut bad_sig = batch(c.batch_inbox);
        bad_sig.signature.truncate(64);
        assert!(matches!(
            l1_call(&bad_sig, &c),
            Err(RelayError::BadRequest { id: 4, .. })
        ));
        let mut short_root = batch(c.batch_inbox);
        if let Some(Body::Batch(h)) = &mut short_root.body {
            h.l2_blocks_root.truncate(31);
        }
        assert!(l1_call(&short_root, &c).is_err());
        let mut key_test = batch(c.batch_inbox);
        key_test.request_type = RequestType::KeyTest as i32;
        assert!(l1_call(&key_test, &c).expect("ok").is_none());
        let mut rotation = batch(c.group_key_registry);
        rotation.request_type = RequestType::RotateGroupKey as i32;
        rotation.payload = (U256::from(7), U256::from(8)).abi_encode_params();
        let call = l1_call(&rotation, &c).expect("rotation").expect("relayed");
        assert_eq!(call.done, DoneCheck::KeyNonce(U256::from(2)));
        assert_eq!(
            decode_revert(
                &BatchInbox::BatchIndexGap {
                    expected: 1,
                    got: 3
                }
                .abi_encode()
            ),
            "BatchInbox.BatchIndexGap(BatchIndexGap { expected: 1, got: 3 })"
        );
    }

    /// A SLASHING request as x/mpc builds it (requests.rs create_slashing): the payload is the
    /// governance action calling LockingPool.slash.
    fn slashing(c: &Deployment, action_target: Address, data: Vec<u8>) -> SigningRequest {
        let action = Governance::GovernanceAction {
            target: action_target,
            data: data.into(),
            nonce: U256::from(3),
        };
        SigningRequest {
            request_id: 9,
            request_type: RequestType::Slashing as i32,
            target: Some(L1Target {
                contract: "Governance".into(),
                address: c.governance.to_vec(),
                function: String::new(),
            }),
            sequence: 3,
            payload: action.abi_encode(),
            signature: signature(),
            ..Default::default()
        }
    }

    #[test]
    fn governance_actions_and_slashings_are_sent_in_one_nonce_order() {
        let mut requests = [
            (RequestType::Slashing, 2),
            (RequestType::Batch, 5),
            (RequestType::GovernanceAction, 1),
            (RequestType::Slashing, 0),
        ];
        requests.sort_by_key(|(t, seq)| (relay_order(*t as i32), *seq));
        let nonces: Vec<u64> = requests
            .iter()
            .filter(|(t, _)| *t != RequestType::Batch)
            .map(|(_, seq)| *seq)
            .collect();
        assert_eq!(nonces, [0, 1, 2]);
    }

    #[test]
    fn slashing_is_relayed_as_a_governance_action_on_the_pool() {
        let c = contracts();
        let slash = LockingPool::slashCall {
            sequencerId: U256::from(7),
            amount: U256::from(50),
        }
        .abi_encode();
        // x/mpc's own calldata builder and the contract's ABI agree.
        assert_eq!(slash, seqpool_mpc::requests::slash_calldata(7, 50));
        let call = l1_call(&slashing(&c, c.locking_pool, slash.clone()), &c)
            .expect("slashing")
            .expect("relayed");
        assert_eq!(call.to, c.governance);
        assert_eq!(call.done, DoneCheck::ActionNonce(U256::from(3)));
        let sent = Governance::executeSignedCall::abi_decode(&call.data).expect("executeSigned");
        assert_eq!(sent.action.target, c.locking_pool);
        assert_eq!(sent.action.data.to_vec(), slash);
        assert_eq!(sent.action.nonce, U256::from(3));
        // A slashing request whose action calls anything else is refused.
        assert!(matches!(
            l1_call(&slashing(&c, c.batch_inbox, slash), &c),
            Err(RelayError::BadRequest { id: 9, .. })
        ));
        let other = LockingPool::setPausedCall { newPaused: true }.abi_encode();
        assert!(matches!(
            l1_call(&slashing(&c, c.locking_pool, other), &c),
            Err(RelayError::BadRequest { id: 9, .. })
        ));
        // Signed by the wrong contract's target: refused before decoding.
        let mut wrong = slashing(&c, c.locking_pool, vec![]);
        wrong.target = batch(c.batch_inbox).target;
        assert!(matches!(
            l1_call(&wrong, &c),
            Err(RelayError::WrongTarget { id: 9, .. })
        ));
    }
}
