//! The state machine: InitChain, proposals, vote extensions, FinalizeBlock and Commit.
//!
//! One [`App`] is owned by the consensus actor (see `abci`), so consensus calls are serial. The block
//! root is computed in FinalizeBlock (`Storage::prepare`) and written in Commit; a block already
//! executed in ProcessProposal is reused from the proposal cache, keyed by block hash.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use prost::Message;
use seqpool_auth::AuthRead;
use seqpool_component::{
    codes, BlockContext, Event, MsgContext, StateRead, StateReadProto, StateWrite, StateWriteProto,
    TxError,
};
use seqpool_proto::app::v1::{InjectedExtendedCommit, VoteExtension};
use seqpool_staking::{liveness, StakingRead};
use seqpool_store::{PreparedCommit, RootHash, Snapshot, StateDelta, Storage, StoreError};
use tendermint::abci::types::{CommitInfo, ExecTxResult};
use tendermint::abci::{request, response, EventAttributeIndexExt};
use tendermint::{block, AppHash};

use crate::ante::ante;
use crate::genesis::AppGenesis;
use crate::mempool::MempoolState;
use crate::mpc::MpcDuties;
use crate::tx::decode_tx;
use crate::vote_ext::{self, VerifiedCommit};

pub const APP_VERSION: u64 = 1;

mod state_key {
    pub const CHAIN_ID: &[u8] = b"app/chain_id";
    pub const INITIAL_HEIGHT: &[u8] = b"app/initial_height";
    pub const VOTE_EXT_ENABLE_HEIGHT: &[u8] = b"app/vote_extensions_enable_height";
    pub const BLOCK_TIME: &[u8] = b"app/block_time_unix_nanos";
}

pub use crate::error::AppError;

/// Chain-wide settings fixed at InitChain and kept in state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainInfo {
    pub chain_id: String,
    pub initial_height: u64,
    /// 0 = vote extensions disabled.
    pub vote_extensions_enable_height: u64,
}

impl ChainInfo {
    fn load(state: &impl StateRead) -> Result<Option<Self>, StoreError> {
        let Some(chain_id) = state.get_raw(state_key::CHAIN_ID)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            chain_id: String::from_utf8_lossy(&chain_id).into_owned(),
            initial_height: state.get_u64(state_key::INITIAL_HEIGHT)?.unwrap_or(1),
            vote_extensions_enable_height: state
                .get_u64(state_key::VOTE_EXT_ENABLE_HEIGHT)?
                .unwrap_or(0),
        }))
    }

    fn store(&self, state: &mut impl StateWrite) {
        state.put_raw(
            state_key::CHAIN_ID.to_vec(),
            self.chain_id.as_bytes().to_vec(),
        );
        state.put_u64(state_key::INITIAL_HEIGHT.to_vec(), self.initial_height);
        state.put_u64(
            state_key::VOTE_EXT_ENABLE_HEIGHT.to_vec(),
            self.vote_extensions_enable_height,
        );
    }

    /// Whether block `height` must start with the injected extended commit of `height - 1`.
    pub fn expects_extended_commit(&self, height: u64) -> bool {
        self.vote_extensions_enable_height > 0
            && height > self.initial_height
            && height > self.vote_extensions_enable_height
    }
}

/// A block executed on top of the latest committed state, ready to be committed.
pub struct ExecutedBlock {
    pub height: u64,
    pub app_hash: RootHash,
    pub tx_results: Vec<ExecTxResult>,
    pub events: Vec<tendermint::abci::Event>,
    pub validator_updates: Vec<tendermint::validator::Update>,
    /// This block's writes, so that ExtendVote of this height sees the state the block leads to
    /// before it is committed: the signing attempts and keygen rounds it started, and what a
    /// signer checks a request against (a proposal that passed in it, a slash record it made).
    block_changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prepared: PreparedCommit,
}

/// What a block is, whether it arrives as a proposal or as a decided block.
pub struct BlockInput<'a> {
    pub height: u64,
    pub time: tendermint::Time,
    pub txs: &'a [Bytes],
    pub last_commit: Option<&'a CommitInfo>,
    /// Evidence CometBFT verified and put in the block.
    pub misbehavior: &'a [tendermint::abci::types::Misbehavior],
}

enum ExecError {
    /// The block breaks a rule (only possible for a proposal; reject it).
    Invalid(String),
    Fatal(AppError),
}

impl From<StoreError> for ExecError {
    fn from(e: StoreError) -> Self {
        ExecError::Fatal(e.into())
    }
}

pub struct App {
    storage: Storage,
    chain: Option<ChainInfo>,
    /// Genesis writes between InitChain and the commit of the first block.
    genesis: Option<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// App hash of the last committed state (the genesis root before the first block).
    last_app_hash: RootHash,
    proposals: BTreeMap<[u8; 32], ExecutedBlock>,
    finalized: Option<ExecutedBlock>,
    mempool: Arc<Mutex<MempoolState>>,
    bridge_observations: crate::bridge::Observations,
    randomness_observation: crate::bridge::RandomnessObservation,
    receipt_observations: crate::bridge::ReceiptObservations,
    l2_view: crate::producer::SharedL2View,
    /// This validator's MPC engine (None: no MPC duties, e.g. a full node).
    mpc: Option<Box<dyn MpcDuties>>,
    /// Byte cap of one vote extension on the last committed state (`vote_ext::extension_cap`).
    extension_cap: usize,
}

fn to_exec_result(result: Result<Vec<Event>, TxError>) -> ExecTxResult {
    match result {
        Ok(events) => ExecTxResult {
            code: 0.into(),
            events: events.into_iter().map(to_abci_event).collect(),
            ..Default::default()
        },
        Err(e) => ExecTxResult {
            code: e.code.into(),
            log: e.message,
            codespace: codes::CODESPACE.into(),
            ..Default::default()
        },
    }
}

/// Only the `tx` event (signer, account/sequence) is indexed: CometBFT's kv indexer writes a
/// record per indexed attribute of every tx, which cost devnet throughput (issue 2), and nothing
/// here searches by the others (clients look txs up by hash). `tx_search "tx.signer='...'"`
/// finds an account's txs.
pub fn to_abci_event(e: Event) -> tendermint::abci::Event {
    let indexed = e.kind == "tx";
    tendermint::abci::Event::new(
        e.kind,
        e.attributes.into_iter().map(move |(k, v)| {
            if indexed {
                (k, v).index()
            } else {
                (k, v).no_index()
            }
        }),
    )
}

impl App {
    pub fn new(storage: Storage, mempool: Arc<Mutex<MempoolState>>) -> Result<Self, AppError> {
        let latest = storage.latest_snapshot();
        let chain = ChainInfo::load(&latest)?;
        let last_app_hash = latest.root_hash();
        let extension_cap = vote_ext::extension_cap(&latest)?;
        if let Some(chain) = &chain {
            if let Ok(mut m) = mempool.lock() {
                m.reset(latest, &chain.chain_id);
            }
        }
        Ok(Self {
            storage,
            chain,
            genesis: None,
            last_app_hash,
            proposals: BTreeMap::new(),
            finalized: None,
            mempool,
            bridge_observations: Default::default(),
            randomness_observation: Default::default(),
            receipt_observations: Default::default(),
            l2_view: Default::default(),
            mpc: None,
            extension_cap,
        })
    }

    /// Where the L1 watcher puts what it observed, for this node's vote extensions.
    pub fn bridge_observations(&self) -> crate::bridge::Observations {
        self.bridge_observations.clone()
    }

    /// L1 receipts of group-signed payloads the watcher saw (for the bridge section).
    pub fn receipt_observations(&self) -> crate::bridge::ReceiptObservations {
        self.receipt_observations.clone()
    }

    /// Where the L1 watcher puts the RANDAO value it observed, for this node's vote extensions.
    pub fn randomness_observation(&self) -> crate::bridge::RandomnessObservation {
        self.randomness_observation.clone()
    }

    /// Where this node's L2 view is fed (sidecar adapter or L2 RPC), for its producer section.
    pub fn l2_view(&self) -> crate::producer::SharedL2View {
        self.l2_view.clone()
    }

    /// Gives this node MPC duties (its engine over its identity and opened keystore).
    pub fn set_mpc_duties(&mut self, duties: Box<dyn MpcDuties>) {
        self.mpc = Some(duties);
    }

    /// This node's MPC engine, if it has one (the driver swaps voters' engines in and out).
    pub fn mpc_duties(&mut self) -> Option<&mut Box<dyn MpcDuties>> {
        self.mpc.as_mut()
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn chain(&self) -> Option<&ChainInfo> {
        self.chain.as_ref()
    }

    pub fn last_app_hash(&self) -> RootHash {
        self.last_app_hash
    }

    pub fn init_chain(&mut self, req: request::InitChain) -> Result<response::InitChain, AppError> {
        let vote_ext_height = req
            .consensus_params
            .abci
            .vote_extensions_enable_height
            .map(|h| h.value())
            .unwrap_or(0);
        let chain = ChainInfo {
            chain_id: req.chain_id.clone(),
            initial_height: req.initial_height.value(),
            vote_extensions_enable_height: vote_ext_height,
        };
        if let Some(version) = self.storage.latest_version() {
            // CometBFT only calls InitChain on an empty app; answer idempotently if state exists.
            let stored = ChainInfo::load(&self.storage.latest_snapshot())?;
            if stored.as_ref() != Some(&chain) {
                return Err(AppError::Genesis(format!(
                    "InitChain for {chain:?} but state at height {version} belongs to {stored:?}"
                )));
            }
            return Ok(response::InitChain {
                app_hash: self.app_hash_bytes(self.last_app_hash),
                ..Default::default()
            });
        }
        let genesis = AppGenesis::from_json(&req.app_state_bytes).map_err(AppError::Genesis)?;
        let mut state = StateDelta::new(self.storage.latest_snapshot());
        chain.store(&mut state);
        state.put_raw(
            state_key::BLOCK_TIME.to_vec(),
            req.time.unix_timestamp_nanos().to_be_bytes().to_vec(),
        );
        seqpool_auth::genesis::init_genesis(&mut state, &genesis.auth)
            .map_err(|e| AppError::Genesis(format!("auth: {e}")))?;
        seqpool_admin::genesis::init_genesis(&mut state, &genesis.admin)
            .map_err(|e| AppError::Genesis(format!("admin: {e}")))?;
        let validators = seqpool_staking::genesis::init_genesis(&mut state, &genesis.staking)
            .map_err(|e| AppError::Genesis(format!("staking: {e}")))?;
        seqpool_bridge::genesis::init_genesis(&mut state, &genesis.bridge)
            .map_err(|e| AppError::Genesis(format!("bridge: {e}")))?;
        seqpool_epochs::init_genesis(&mut state, &genesis.epochs)
            .map_err(|e| AppError::Genesis(format!("epochs: {e}")))?;
        seqpool_producer::init_genesis(&mut state, &genesis.producer, &chain.chain_id)
            .map_err(|e| AppError::Genesis(format!("producer: {e}")))?;
        seqpool_mpc::genesis::init_genesis(&mut state, &genesis.mpc)
            .map_err(|e| AppError::Genesis(format!("mpc: {e}")))?;
        seqpool_gov::genesis::init_genesis(&mut state, &genesis.gov)
            .map_err(|e| AppError::Genesis(format!("gov: {e}")))?;

        let updates: Vec<tendermint::validator::Update> = validators
            .iter()
            .map(|v| {
                let pub_key = tendermint::PublicKey::from_raw_secp256k1(&v.consensus_pub_key)
                    .ok_or_else(|| {
                        AppError::Genesis(format!("validator {}: bad secp256k1 key", v.name))
                    })?;
                let power = tendermint::vote::Power::try_from(v.power)
                    .map_err(|e| AppError::Genesis(e.to_string()))?;
                Ok(tendermint::validator::Update { pub_key, power })
            })
            .collect::<Result<_, AppError>>()?;
        if !req.validators.is_empty() {
            let mut theirs: Vec<_> = req
                .validators
                .iter()
                .map(|u| (u.pub_key.to_bytes(), u.power.value()))
                .collect();
            let mut ours: Vec<_> = updates
                .iter()
                .map(|u| (u.pub_key.to_bytes(), u.power.value()))
                .collect();
            theirs.sort();
            ours.sort();
            if theirs != ours {
                return Err(AppError::Genesis(
                    "the validators in genesis.json differ from app_state.staking.validators"
                        .into(),
                ));
            }
        }

        self.extension_cap = vote_ext::extension_cap(&state)?;
        let (_, changes) = state.into_parts();
        let root = self.storage.prepare(changes.clone(), 0)?.root;
        self.genesis = Some(changes);
        self.chain = Some(chain.clone());
        self.last_app_hash = root;
        if let Ok(mut m) = self.mempool.lock() {
            m.set_chain_id(&chain.chain_id);
        }
        tracing::info!(chain_id = %chain.chain_id, validators = validators.len(), app_hash = %hex::encode_upper(root), "InitChain");
        Ok(response::InitChain {
            consensus_params: None,
            validators: if req.validators.is_empty() {
                updates
            } else {
                Vec::new()
            },
            app_hash: self.app_hash_bytes(root),
        })
    }

    fn app_hash_bytes(&self, root: RootHash) -> AppHash {
        AppHash::try_from(root.to_vec()).unwrap_or_default()
    }

    fn chain_or_err(&self) -> Result<&ChainInfo, AppError> {
        self.chain
            .as_ref()
            .ok_or_else(|| AppError::Sequence("no chain: InitChain has not run".into()))
    }

    pub fn prepare_proposal(
        &mut self,
        req: request::PrepareProposal,
    ) -> Result<response::PrepareProposal, AppError> {
        let chain = self.chain_or_err()?.clone();
        let height = req.height.value();
        let mut txs = Vec::with_capacity(req.txs.len() + 1);
        let mut budget = req.max_tx_bytes.max(0) as usize;
        if chain.expects_extended_commit(height) {
            match &req.local_last_commit {
                Some(info) => {
                    let commit = self
                        .fit_injected(vote_ext::from_local_last_commit(height - 1, info), budget);
                    let injected = vote_ext::encode_injected(&commit);
                    if injected.len() + 16 > budget {
                        // Only if the valid extensions of more than 2/3 of the power do not fit:
                        // an empty proposal fails ProcessProposal and the round moves on, where a
                        // block over the limit would crash CometBFT.
                        tracing::error!(
                            height,
                            bytes = injected.len(),
                            budget,
                            "the extended commit does not fit in the block; proposing nothing"
                        );
                        return Ok(response::PrepareProposal { txs: Vec::new() });
                    }
                    budget -= injected.len() + 16;
                    txs.push(Bytes::from(injected));
                }
                None => tracing::error!(
                    height,
                    "PrepareProposal without the extended commit CometBFT must provide"
                ),
            }
        }
        let snapshot = self.storage.latest_snapshot();
        let params = snapshot.auth_params()?;
        // Leave out what every node would refuse anyway (undecodable); per signer, take only the
        // txs that continue its committed sequence, in sequence order (see `proposal`). Decoding
        // does not verify signatures: FinalizeBlock does.
        let (signed, mempool): (Vec<(String, u64)>, Vec<Bytes>) = req
            .txs
            .into_iter()
            .filter_map(|tx| {
                let parsed = decode_tx(&tx, &params).ok()?;
                Some(((parsed.signer, parsed.sequence), tx))
            })
            .unzip();
        let chosen = crate::proposal::select_in_sequence(&signed, |signer| {
            snapshot
                .account(signer)
                .ok()
                .flatten()
                .map(|account| account.sequence)
        });
        for tx in chosen.into_iter().map(|i| mempool[i].clone()) {
            let cost = tx.len() + 16;
            if cost > budget {
                break;
            }
            budget -= cost;
            txs.push(tx);
        }
        Ok(response::PrepareProposal { txs })
    }

    /// The proposer's side of the injected commit rules. Leaves out (empty extension and
    /// signature) every extension that does not decode or is over the byte cap, then, while the
    /// commit does not fit in `budget` bytes, the largest remaining one, as long as extensions of
    /// more than 2/3 of the power remain. An extension that fails only its content checks stays:
    /// every node ignores it and names its validator in an event.
    fn fit_injected(
        &self,
        mut commit: InjectedExtendedCommit,
        budget: usize,
    ) -> InjectedExtendedCommit {
        let cap = self.extension_cap;
        let total: i64 = commit.votes.iter().map(|v| v.power).sum();
        let mut kept: i64 = 0;
        for vote in commit.votes.iter_mut() {
            if vote.vote_extension.is_empty() && vote.extension_signature.is_empty() {
                continue;
            }
            let bytes = vote.vote_extension.len();
            if bytes > cap || VoteExtension::decode(vote.vote_extension.as_slice()).is_err() {
                tracing::warn!(validator = %hex::encode_upper(&vote.validator_address), bytes, cap, "leaving out a vote extension that fails its checks");
                vote.vote_extension.clear();
                vote.extension_signature.clear();
            } else if vote.block_id_flag == vote_ext::FLAG_COMMIT {
                kept = kept.saturating_add(vote.power);
            }
        }
        let overhead = vote_ext::INJECTED_PREFIX.len() + 16;
        while commit.encoded_len() + overhead > budget {
            let largest = commit
                .votes
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.vote_extension.is_empty())
                .max_by_key(|(i, v)| (v.vote_extension.len(), std::cmp::Reverse(*i)))
                .map(|(i, v)| (i, v.power));
            let Some((i, power)) = largest else { break };
            if kept.saturating_sub(power).saturating_mul(3) <= total.saturating_mul(2) {
                break;
            }
            tracing::warn!(validator = %hex::encode_upper(&commit.votes[i].validator_address), bytes = commit.votes[i].vote_extension.len(), budget, "leaving out a vote extension that does not fit in the block");
            kept -= power;
            commit.votes[i].vote_extension.clear();
            commit.votes[i].extension_signature.clear();
        }
        commit
    }

    pub fn process_proposal(
        &mut self,
        req: request::ProcessProposal,
    ) -> Result<response::ProcessProposal, AppError> {
        let input = BlockInput {
            height: req.height.value(),
            time: req.time,
            txs: &req.txs,
            last_commit: req.proposed_last_commit.as_ref(),
            misbehavior: &req.misbehavior,
        };
        match self.execute_block(&input, true) {
            Ok(block) => {
                let key: [u8; 32] = req.hash.as_bytes().try_into().unwrap_or([0; 32]);
                self.proposals.insert(key, block);
                Ok(response::ProcessProposal::Accept)
            }
            Err(ExecError::Invalid(reason)) => {
                tracing::warn!(height = input.height, %reason, "rejecting proposal");
                Ok(response::ProcessProposal::Reject)
            }
            Err(ExecError::Fatal(e)) => Err(e),
        }
    }

    pub fn extend_vote(
        &mut self,
        req: request::ExtendVote,
    ) -> Result<response::ExtendVote, AppError> {
        let mpc = self.mpc_vote_section(&req)?;
        let bridge = crate::bridge::vote_section(
            &self.storage.latest_snapshot(),
            &self.bridge_observations,
            &self.randomness_observation,
            &self.receipt_observations,
        )?;
        let ext = VoteExtension {
            liveness: Some(liveness::make_vote(req.height.value(), &self.last_app_hash)),
            bridge: Some(bridge),
            producer: Some(crate::producer::vote_section(
                &self.storage.latest_snapshot(),
                &self.l2_view,
            )?),
            mpc,
        };
        let ext = within_cap(ext, self.extension_cap);
        Ok(response::ExtendVote {
            vote_extension: ext.encode_to_vec().into(),
        })
    }

    /// The `mpc` section for the block being precommitted: x/mpc state as this block leaves it
    /// (from the proposal cache; the block is executed here if it is not cached).
    fn mpc_vote_section(
        &mut self,
        req: &request::ExtendVote,
    ) -> Result<Option<seqpool_proto::mpc::v1::MpcVote>, AppError> {
        if self.mpc.is_none() {
            return Ok(None);
        }
        let key: [u8; 32] = req.hash.as_bytes().try_into().unwrap_or([0; 32]);
        let height = req.height.value();
        if !self.proposals.contains_key(&key) {
            let input = BlockInput {
                height,
                time: req.time,
                txs: &req.txs,
                last_commit: req.proposed_last_commit.as_ref(),
                misbehavior: &req.misbehavior,
            };
            match self.execute_block(&input, true) {
                Ok(block) => {
                    self.proposals.insert(key, block);
                }
                Err(ExecError::Invalid(reason)) => {
                    tracing::warn!(height, %reason, "ExtendVote for a block this node finds invalid");
                    return Ok(None);
                }
                Err(ExecError::Fatal(e)) => return Err(e),
            }
        }
        let mut view = StateDelta::new(self.storage.latest_snapshot());
        if let Some(block) = self.proposals.get(&key) {
            for (k, v) in &block.block_changes {
                match v {
                    Some(v) => view.put_raw(k.clone(), v.clone()),
                    None => view.delete(k.clone()),
                }
            }
        }
        let chain_id = self.chain_or_err()?.chain_id.clone();
        Ok(self
            .mpc
            .as_mut()
            .map(|node| node.vote_section(&view, height, &chain_id)))
    }

    pub fn verify_vote_extension(
        &mut self,
        req: request::VerifyVoteExtension,
    ) -> response::VerifyVoteExtension {
        match self.check_extension(req.height.value(), &req.vote_extension) {
            Ok(()) => response::VerifyVoteExtension::Accept,
            Err(reason) => {
                tracing::warn!(validator = %req.validator_address, height = req.height.value(), %reason, "rejecting vote extension");
                response::VerifyVoteExtension::Reject
            }
        }
    }

    fn check_extension(&self, height: u64, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() > self.extension_cap {
            return Err(format!(
                "extension is {} bytes, the cap is {}",
                bytes.len(),
                self.extension_cap
            ));
        }
        let ext =
            VoteExtension::decode(bytes).map_err(|e| format!("extension does not decode: {e}"))?;
        check_sections(&self.storage.latest_snapshot(), &ext)?;
        let vote = ext.liveness.ok_or("extension has no liveness section")?;
        liveness::check_vote(&vote, height, &self.last_app_hash)
    }

    pub fn finalize_block(
        &mut self,
        req: request::FinalizeBlock,
    ) -> Result<response::FinalizeBlock, AppError> {
        let key: [u8; 32] = req.hash.as_bytes().try_into().unwrap_or([0; 32]);
        let height = req.height.value();
        let block = match self.proposals.remove(&key).filter(|b| b.height == height) {
            Some(block) => block,
            None => {
                let input = BlockInput {
                    height,
                    time: req.time,
                    txs: &req.txs,
                    last_commit: Some(&req.decided_last_commit),
                    misbehavior: &req.misbehavior,
                };
                match self.execute_block(&input, true) {
                    Ok(block) => block,
                    Err(ExecError::Fatal(e)) => return Err(e),
                    Err(ExecError::Invalid(reason)) => {
                        // Decided by >2/3 of the validators, so it is applied; only possible with a
                        // byzantine supermajority. Apply what is well-formed and say so loudly.
                        tracing::error!(height, %reason, "a decided block breaks a validity rule; applying leniently");
                        match self.execute_block(&input, false) {
                            Ok(block) => block,
                            Err(ExecError::Fatal(e)) => return Err(e),
                            Err(ExecError::Invalid(reason)) => {
                                return Err(AppError::Sequence(reason))
                            }
                        }
                    }
                }
            }
        };
        self.proposals.clear();
        let resp = response::FinalizeBlock {
            events: block.events.clone(),
            tx_results: block.tx_results.clone(),
            validator_updates: block.validator_updates.clone(),
            consensus_param_updates: None,
            app_hash: self.app_hash_bytes(block.app_hash),
        };
        self.finalized = Some(block);
        Ok(resp)
    }

    pub fn commit(&mut self) -> Result<response::Commit, AppError> {
        let block = self
            .finalized
            .take()
            .ok_or_else(|| AppError::Sequence("Commit without FinalizeBlock".into()))?;
        let root = self.storage.commit(block.prepared)?;
        self.last_app_hash = root;
        self.extension_cap = vote_ext::extension_cap(&self.storage.latest_snapshot())?;
        if let Some(node) = self.mpc.as_mut() {
            node.after_commit(&self.storage.latest_snapshot());
        }
        self.genesis = None;
        self.proposals.clear();
        let chain_id = self.chain_or_err()?.chain_id.clone();
        if let Ok(mut m) = self.mempool.lock() {
            m.reset(self.storage.latest_snapshot(), &chain_id);
        }
        tracing::debug!(height = block.height, app_hash = %hex::encode_upper(root), "committed");
        Ok(response::Commit {
            data: Default::default(),
            retain_height: block::Height::default(),
        })
    }

    /// Executes a block over the latest committed state. `strict` makes validity-rule violations
    /// errors (proposals); otherwise the offending part is skipped (decided blocks).
    fn execute_block(&self, input: &BlockInput, strict: bool) -> Result<ExecutedBlock, ExecError> {
        let chain = self
            .chain
            .clone()
            .ok_or_else(|| ExecError::Fatal(AppError::Sequence("block before InitChain".into())))?;
        let latest = self.storage.latest_snapshot();
        let expected = latest
            .version()
            .map(|v| v + 1)
            .unwrap_or(chain.initial_height);
        if input.height != expected {
            return Err(ExecError::Fatal(AppError::Sequence(format!(
                "asked to execute height {}, the next height is {expected}",
                input.height
            ))));
        }
        let mut state = StateDelta::new(latest);
        if latest_is_empty(&state) {
            let genesis = self.genesis.as_ref().ok_or_else(|| {
                ExecError::Fatal(AppError::Sequence(
                    "first block without InitChain state".into(),
                ))
            })?;
            for (k, v) in genesis {
                match v {
                    Some(v) => state.put_raw(k.clone(), v.clone()),
                    None => state.delete(k.clone()),
                }
            }
        }
        let ctx = BlockContext {
            chain_id: chain.chain_id.clone(),
            height: input.height,
            time_unix_nanos: input.time.unix_timestamp_nanos(),
        };
        state.put_raw(
            state_key::BLOCK_TIME.to_vec(),
            ctx.time_unix_nanos.to_be_bytes().to_vec(),
        );

        // CometBFT wants one result per tx, the injected extended commit included.
        let mut tx_results = Vec::with_capacity(input.txs.len());
        let mut block_events = Vec::new();
        let mut user_txs = input.txs;
        if chain.expects_extended_commit(input.height) {
            let verified = match input
                .txs
                .first()
                .and_then(|tx| vote_ext::decode_injected(tx))
            {
                Some(Ok(injected)) => {
                    user_txs = &input.txs[1..];
                    let set = state.consensus_set_at(input.height - 1)?;
                    vote_ext::verify_injected(
                        &chain.chain_id,
                        &injected,
                        input.height - 1,
                        &set,
                        input.last_commit,
                    )
                    .map(|v| (v, set))
                }
                Some(Err(e)) => {
                    user_txs = &input.txs[1..];
                    Err(e)
                }
                None => Err(
                    "the block does not start with the previous height's extended commit".into(),
                ),
            };
            let injected_result = match verified {
                Ok((mut verified, set)) => {
                    let ignored = screen_extensions(&state, &mut verified, self.extension_cap);
                    let ignored_count = ignored.len();
                    block_events.extend(ignored);
                    block_events
                        .extend(self.apply_extended_commit(&mut state, &verified, &set, &ctx)?);
                    ExecTxResult {
                        info: format!(
                            "extended commit of height {}: {} of {} voting power, {ignored_count} extensions ignored",
                            verified.height, verified.signed_power, verified.total_power
                        ),
                        ..Default::default()
                    }
                }
                Err(reason) if strict => return Err(ExecError::Invalid(reason)),
                Err(reason) => ExecTxResult {
                    code: codes::INVALID_TX.into(),
                    log: reason,
                    codespace: codes::CODESPACE.into(),
                    ..Default::default()
                },
            };
            if user_txs.len() < input.txs.len() {
                tx_results.push(injected_result);
            }
        }
        block_events.extend(crate::evidence::apply(
            &mut state,
            input.misbehavior,
            input.height,
        )?);
        for tx in user_txs {
            if strict && tx.first() == Some(&0) {
                return Err(ExecError::Invalid(
                    "a block-data tx appears among user txs".into(),
                ));
            }
            tx_results.push(deliver_tx(&mut state, &ctx, tx));
        }
        // After the txs, so that votes in this block count; before the other end-block work, so
        // that what a passed proposal changes (params, L1 actions) applies from this block on.
        block_events.extend(seqpool_gov::execution::end_block(
            &mut state,
            &ctx,
            &crate::msgs::AppRouter,
        )?);
        let validator_updates =
            crate::bridge::validator_updates(&mut state, input.height).map_err(ExecError::Fatal)?;
        block_events.extend(seqpool_mpc::end_block(&mut state, &ctx)?);
        let (_, changes) = state.into_parts();
        let block_changes = changes.clone();
        let prepared = self.storage.prepare(changes, input.height)?;
        Ok(ExecutedBlock {
            height: input.height,
            app_hash: prepared.root,
            tx_results,
            events: bound_events(block_events)
                .into_iter()
                .map(to_abci_event)
                .collect(),
            validator_updates,
            block_changes,
            prepared,
        })
    }

    fn apply_extended_commit(
        &self,
        state: &mut StateDelta<Snapshot>,
        verified: &VerifiedCommit,
        set: &[seqpool_staking::Validator],
        ctx: &BlockContext,
    ) -> Result<Vec<Event>, ExecError> {
        let mut events = liveness::record_extended_commit(
            state,
            ctx.height,
            verified.height,
            set,
            &verified.signed,
        )?;
        events.extend(crate::bridge::apply(state, verified, set, ctx.height)?);
        let parent_app_hash = state.base().root_hash();
        events.extend(crate::producer::apply(
            state,
            ctx,
            verified,
            set,
            &parent_app_hash,
        )?);
        let mpc_votes: Vec<seqpool_mpc::MemberVote<'_>> = set
            .iter()
            .filter_map(|validator| {
                let vote = verified
                    .extensions
                    .get(&validator.consensus_address)?
                    .mpc
                    .as_ref()?;
                Some(seqpool_mpc::MemberVote { validator, vote })
            })
            .collect();
        events.extend(seqpool_mpc::apply_votes(state, ctx, &mpc_votes)?);
        Ok(events)
    }
}

/// The checks of VerifyVoteExtension that do not depend on the height the extension was made
/// for: every section well-formed and within its caps (the bridge's against the params in force).
fn check_sections<S: StateRead>(state: &S, ext: &VoteExtension) -> Result<(), String> {
    crate::bridge::check_section(state, ext.bridge.as_ref())?;
    if let Some(section) = &ext.producer {
        seqpool_producer::vote::validate(section)?;
    }
    if let Some(section) = &ext.mpc {
        seqpool_mpc::validate_vote(section)?;
    }
    if ext.liveness.is_none() {
        return Err("extension has no liveness section".into());
    }
    Ok(())
}

/// Longest reason kept in a `vote_extension_ignored` event.
const MAX_IGNORED_REASON: usize = 200;

/// This node's own extension within the byte cap. An honest extension never exceeds it (the cap is
/// the sum of every section's largest honest encoding); should it, the sections that grow are
/// dropped, mpc first, so the vote is still accepted and the validator stays live.
fn within_cap(mut ext: VoteExtension, cap: usize) -> VoteExtension {
    if ext.encoded_len() <= cap {
        return ext;
    }
    tracing::error!(
        bytes = ext.encoded_len(),
        cap,
        "own vote extension over its cap; dropping sections"
    );
    ext.mpc = None;
    if ext.encoded_len() > cap {
        ext.bridge = None;
    }
    if ext.encoded_len() > cap {
        ext.producer = None;
    }
    ext
}

/// Why an extension of an injected commit is not used: undecodable, over the byte cap, or
/// failing [`check_sections`] (None: it is used). Judged on the last committed state, the same on
/// every node and for the proposer.
fn extension_fault<S: StateRead>(
    state: &S,
    verified: &VerifiedCommit,
    validator: &str,
    cap: usize,
) -> Option<String> {
    if let Some(reason) = verified.undecodable.get(validator) {
        return Some(reason.clone());
    }
    let size = verified.sizes.get(validator).copied().unwrap_or(0);
    if size > cap {
        return Some(format!("extension is {size} bytes, the cap is {cap}"));
    }
    check_sections(state, verified.extensions.get(validator)?).err()
}

/// Drops the extensions of a verified injected commit that fail the checks of
/// VerifyVoteExtension (see [`extension_fault`]), as if their validators had sent none for that
/// height (their signatures still count in the tally that proves the commit). Rejecting the block
/// instead would let one byzantine validator stall the chain: CometBFT v0.38 adds precommits that
/// arrive during `timeout_commit` to the last commit without calling VerifyVoteExtension, so an
/// honest proposer can carry an invalid one. Returns one `vote_extension_ignored` event per dropped
/// extension and one `vote_extension_left_out` per extension the proposer left out, each naming
/// its validator: at most one event per validator.
fn screen_extensions<S: StateRead>(
    state: &S,
    verified: &mut VerifiedCommit,
    cap: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut dropped = Vec::new();
    for validator in &verified.signed {
        if let Some(mut reason) = extension_fault(state, verified, validator, cap) {
            if reason.len() > MAX_IGNORED_REASON {
                let mut cut = MAX_IGNORED_REASON;
                while !reason.is_char_boundary(cut) {
                    cut -= 1;
                }
                reason.truncate(cut);
            }
            tracing::warn!(%validator, height = verified.height, %reason, "ignoring an injected vote extension that fails its checks");
            events.push(
                Event::new("vote_extension_ignored")
                    .attr("validator", validator.clone())
                    .attr("height", verified.height.to_string())
                    .attr("reason", reason),
            );
            dropped.push(validator.clone());
        }
    }
    for validator in dropped {
        verified.extensions.remove(&validator);
        verified.signed.remove(&validator);
    }
    for validator in &verified.left_out {
        events.push(
            Event::new("vote_extension_left_out")
                .attr("validator", validator.clone())
                .attr("height", verified.height.to_string()),
        );
    }
    events
}

/// Most bytes of a block's own events (FinalizeBlock's, not its txs'). Each source is bounded per
/// validator (one event per ignored extension, one per member vote for rejected shares or
/// refusals), so this is a backstop: what a byzantine supermajority could still pile up never
/// reaches CometBFT's response limits.
const MAX_BLOCK_EVENT_BYTES: usize = 4 << 20;

/// Keeps the block's events while their bytes stay under [`MAX_BLOCK_EVENT_BYTES`]; the rest are
/// counted in one `block_events_truncated` event.
fn bound_events(events: Vec<Event>) -> Vec<Event> {
    let mut kept = Vec::with_capacity(events.len());
    let mut bytes = 0usize;
    let mut dropped = 0usize;
    for event in events {
        let size = event.kind.len()
            + event
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        if dropped == 0 && bytes.saturating_add(size) <= MAX_BLOCK_EVENT_BYTES {
            bytes += size;
            kept.push(event);
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        tracing::warn!(dropped, "block events over their byte bound were dropped");
        kept.push(Event::new("block_events_truncated").attr("dropped", dropped.to_string()));
    }
    kept
}

fn latest_is_empty(state: &StateDelta<Snapshot>) -> bool {
    state.base().version().is_none()
}

/// Runs one user tx: stateless checks, ante (account, signature, sequence), then its messages on a
/// transactional fork. The ante effects (sequence, public key) stay even if a message fails.
pub fn deliver_tx<S: StateWrite>(state: &mut S, ctx: &BlockContext, bytes: &[u8]) -> ExecTxResult {
    let params = match state.auth_params() {
        Ok(p) => p,
        Err(e) => return to_exec_result(Err(e.into())),
    };
    let tx = match decode_tx(bytes, &params) {
        Ok(tx) => tx,
        Err(e) => return to_exec_result(Err(e)),
    };
    if let Err(e) = ante(state, ctx, &tx) {
        return to_exec_result(Err(e));
    }
    let mctx = MsgContext {
        block: ctx.clone(),
        signer: tx.signer.clone(),
        proposal: None,
    };
    let result = state_transact(state, |s| {
        // `tx.hash` and `tx.height` are CometBFT's own index keys; use other attribute names.
        let mut events = vec![Event::new("tx")
            .attr("signer", tx.signer.clone())
            .attr("acc_seq", format!("{}/{}", tx.signer, tx.sequence))];
        for msg in &tx.msgs {
            events.push(
                Event::new("message")
                    .attr("action", msg.type_url())
                    .attr("sender", tx.signer.clone()),
            );
            events.extend(msg.execute(s, &mctx)?);
        }
        Ok(events)
    });
    to_exec_result(result)
}

/// Runs `f` so that its writes are dropped if it fails. `StateWrite` has no fork of its own, so
/// this buffers in a delta over `state` and copies the writes back on success.
fn state_transact<S: StateWrite>(
    state: &mut S,
    f: impl FnOnce(&mut StateDelta<&mut S>) -> Result<Vec<Event>, TxError>,
) -> Result<Vec<Event>, TxError> {
    let mut fork = StateDelta::new(&mut *state);
    let events = f(&mut fork)?;
    let (_, changes) = fork.into_parts();
    for (k, v) in changes {
        match v {
            Some(v) => state.put_raw(k, v),
            None => state.delete(k),
        }
    }
    Ok(events)
}
