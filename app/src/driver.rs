//! An in-process ABCI 2.0 driver that plays CometBFT's part for app scenario tests and benchmarks:
//! InitChain, then per block PrepareProposal, ProcessProposal, ExtendVote, VerifyVoteExtension,
//! FinalizeBlock and Commit, for any number of validators. Every validator signs its vote
//! extension with its own secp256k1 key over CometBFT's canonical sign bytes; `nodes` of them run a
//! full [`App`] over their own LevelDB store (the others only vote), and their app hashes must agree.
//!
//! With [`Driver::new_mpc_with`] every validator also has an MPC identity (registered in genesis
//! `mpc.members`) and MPC duties made by the given [`MpcFactory`] (the node crate's engine over
//! its own encrypted keystore), so x/mpc's key lifecycle and signing run for real: a validator
//! without a full node has its `mpc` section built by node 0's app with that validator's engine
//! swapped in (same state, its own keys and duties).
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use k256::ecdsa::signature::Signer;
use k256::ecdsa::{Signature, SigningKey};
use prost::Message;
use seqpool_component::address;
use seqpool_producer::ProducerVote;
use seqpool_proto::app::v1::VoteExtension;
use seqpool_staking::Validator;
use seqpool_store::Storage;
use sha2::{Digest, Sha256};
use tendermint::abci::types::{
    self, BlockSignatureInfo, CommitInfo, ExecTxResult, ExtendedCommitInfo, ExtendedVoteInfo,
    VoteInfo,
};
use tendermint::abci::{request, response};
use tendermint::block::BlockIdFlag;

use crate::app::{App, AppError};
use crate::genesis::AppGenesis;
use crate::mempool::MempoolState;
use crate::mpc::MpcDuties;
use crate::vote_ext;

/// One validator's keys.
pub struct TestValidator {
    pub name: String,
    pub consensus_key: SigningKey,
    pub operator_key: SigningKey,
    pub power: i64,
}

impl TestValidator {
    pub fn consensus_pub_key(&self) -> Vec<u8> {
        self.consensus_key
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec()
    }
    pub fn consensus_address(&self) -> [u8; 20] {
        address::address_bytes(&self.consensus_pub_key())
    }
    /// This validator's MPC identity (tss signer and encryption keys), derived from its
    /// consensus key so it is reproducible.
    pub fn mpc_identity(&self) -> seqpool_tss::MemberSecret {
        let label = hex::encode(self.consensus_key.to_bytes());
        let signer = test_key(&format!("mpc-signer/{label}"));
        let encryption = test_key(&format!("mpc-encryption/{label}"));
        seqpool_tss::MemberSecret::new(
            signer,
            k256::SecretKey::from(encryption.as_nonzero_scalar()),
        )
    }

    pub fn operator(&self) -> String {
        address::account_address(
            self.operator_key
                .verifying_key()
                .to_encoded_point(true)
                .as_bytes(),
        )
    }
}

/// A key derived from a label, so test runs are reproducible.
pub fn test_key(label: &str) -> SigningKey {
    let mut counter = 0u32;
    loop {
        let seed = Sha256::digest(format!("seqpool-test-key/{label}/{counter}"));
        if let Ok(k) = SigningKey::from_slice(&seed) {
            return k;
        }
        counter += 1;
    }
}

pub struct Node {
    pub app: App,
    pub mempool: Arc<Mutex<MempoolState>>,
    pub dir: std::path::PathBuf,
}

/// Outcome of one block on every full node.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    pub height: u64,
    pub app_hash: [u8; 32],
    pub tx_results: Vec<ExecTxResult>,
    /// The validator updates FinalizeBlock returned (taking effect at `height + 2`).
    pub validator_updates: Vec<tendermint::validator::Update>,
    /// The block's events (FinalizeBlock's, not the txs').
    pub events: Vec<tendermint::abci::Event>,
}

pub struct Driver {
    pub chain_id: String,
    pub validators: Vec<TestValidator>,
    pub admin_key: SigningKey,
    pub nodes: Vec<Node>,
    /// Validators (indexes) that do not vote.
    pub offline: BTreeSet<usize>,
    /// Producer sections (L2 view) that validators (indexes) put in their votes instead of their
    /// node's own, until changed.
    pub producer_votes: BTreeMap<usize, ProducerVote>,
    /// Bridge sections (L1 observations) that validators (indexes) put in their votes instead of
    /// their node's own, until changed.
    pub bridge_votes: BTreeMap<usize, seqpool_bridge::BridgeVote>,
    /// Evidence the next block carries (as CometBFT puts verified evidence in a block); cleared
    /// once that block is committed.
    pub misbehavior: Vec<types::Misbehavior>,
    /// Validator updates returned by FinalizeBlock, by the height they take effect at (h + 2).
    pending_updates: BTreeMap<u64, Vec<tendermint::validator::Update>>,
    pub height: u64,
    last_commit: Option<ExtendedCommitInfo>,
    genesis_time: i64,
    /// Where node and keystore directories live.
    dir: std::path::PathBuf,
    /// Makes validators' MPC engines when they have MPC identities ([`Driver::new_mpc_with`]).
    mpc: Option<MpcFactory>,
    /// MPC engines of validators (indexes) without a full node of their own.
    mpc_voters: BTreeMap<usize, Box<dyn MpcDuties>>,
}

/// Makes validator `v`'s MPC engine over the keystore directory `path` (holding `v`'s identity).
pub type MpcFactory =
    Arc<dyn Fn(&Path, &TestValidator) -> Result<Box<dyn MpcDuties>, AppError> + Send + Sync>;

fn consensus_params() -> tendermint::consensus::Params {
    serde_json::from_value(serde_json::json!({
        "block": {"max_bytes": "22020096", "max_gas": "-1", "time_iota_ms": "1000"},
        "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
        "validator": {"pub_key_types": ["secp256k1"]},
        "version": {"app": "1"},
        "abci": {"vote_extensions_enable_height": "1"}
    }))
    .unwrap_or_else(|e| panic!("static consensus params must parse: {e}"))
}

impl Driver {
    /// `validators` validators of equal power; the first `nodes` of them run an app under `dir`.
    pub fn new(dir: &Path, validators: usize, nodes: usize) -> Result<Self, AppError> {
        Self::new_with_genesis(dir, validators, nodes, |_| {})
    }

    pub fn with_validators(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
    ) -> Result<Self, AppError> {
        Self::build(dir, validators, nodes, |_| {})
    }

    /// Like [`Driver::new`], with a chance to change the genesis (params, extra accounts) first.
    pub fn new_with_genesis(
        dir: &Path,
        validators: usize,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        Self::build(dir, Self::numbered_validators(validators), nodes, customize)
    }

    /// `n` validators `val0`.. of power 10 with keys derived from their index.
    pub fn numbered_validators(n: usize) -> Vec<TestValidator> {
        (0..n)
            .map(|i| TestValidator {
                name: format!("val{i}"),
                consensus_key: test_key(&format!("consensus/{i}")),
                operator_key: test_key(&format!("operator/{i}")),
                power: 10,
            })
            .collect()
    }

    /// Like [`Driver::new_with_genesis`], and every validator has an MPC identity in genesis
    /// `mpc.members` and an MPC engine from `factory` with its own keystore under `dir`.
    pub fn new_mpc_with(
        dir: &Path,
        validators: usize,
        nodes: usize,
        factory: MpcFactory,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        let validators = Self::numbered_validators(validators);
        Self::build_with(dir, validators, nodes, Some(factory), customize)
    }

    /// [`Driver::with_validators`] with MPC identities and engines (see
    /// [`Driver::new_mpc_with`]).
    pub fn with_validators_mpc_with(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
        factory: MpcFactory,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        Self::build_with(dir, validators, nodes, Some(factory), customize)
    }

    fn build(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        Self::build_with(dir, validators, nodes, None, customize)
    }

    fn build_with(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
        mpc: Option<MpcFactory>,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        let admin_key = test_key("admin");
        let mut driver = Self {
            chain_id: "seqpool-test".into(),
            validators,
            admin_key,
            nodes: Vec::new(),
            offline: BTreeSet::new(),
            producer_votes: BTreeMap::new(),
            bridge_votes: BTreeMap::new(),
            misbehavior: Vec::new(),
            pending_updates: BTreeMap::new(),
            height: 0,
            last_commit: None,
            genesis_time: 1_700_000_000,
            dir: dir.to_path_buf(),
            mpc: mpc.clone(),
            mpc_voters: BTreeMap::new(),
        };
        let mut genesis = driver.genesis();
        customize(&mut genesis);
        let app_state =
            serde_json::to_vec(&genesis).map_err(|e| AppError::Genesis(e.to_string()))?;
        for i in 0..nodes.min(driver.validators.len()).max(1) {
            let node_dir = dir.join(format!("node{i}"));
            let storage = Storage::open(&node_dir)?;
            let mempool = Arc::new(Mutex::new(MempoolState::default()));
            let mut app = App::new(storage, mempool.clone())?;
            if let Some(factory) = &mpc {
                app.set_mpc_duties(factory(
                    &node_dir.join("mpc_keystore"),
                    &driver.validators[i],
                )?);
            }
            app.init_chain(request::InitChain {
                time: tendermint::Time::from_unix_timestamp(driver.genesis_time, 0)
                    .unwrap_or_else(|_| tendermint::Time::unix_epoch()),
                chain_id: driver.chain_id.clone(),
                consensus_params: consensus_params(),
                validators: vec![],
                app_state_bytes: app_state.clone().into(),
                initial_height: 1u32.into(),
            })?;
            driver.nodes.push(Node {
                app,
                mempool,
                dir: node_dir,
            });
        }
        if mpc.is_some() {
            for i in driver.nodes.len()..driver.validators.len() {
                driver.add_mpc_voter(i)?;
            }
        }
        Ok(driver)
    }

    /// An MPC engine for validator `idx`, which has no full node.
    fn add_mpc_voter(&mut self, idx: usize) -> Result<(), AppError> {
        let Some(factory) = self.mpc.clone() else {
            return Ok(());
        };
        let path = self.dir.join(format!("mpc_voter{idx}"));
        let node = factory(&path, &self.validators[idx])?;
        self.mpc_voters.insert(idx, node);
        Ok(())
    }

    /// The MPC engine of validator `idx` (its full node's, or its voter's), if MPC is on.
    pub fn mpc_duties(&mut self, idx: usize) -> Option<&mut Box<dyn MpcDuties>> {
        if idx < self.nodes.len() {
            self.nodes[idx].app.mpc_duties()
        } else {
            self.mpc_voters.get_mut(&idx)
        }
    }

    /// The MPC members of `validators`, as genesis `mpc.members` lists them.
    pub fn members_of(validators: &[TestValidator]) -> Vec<seqpool_mpc::Member> {
        validators
            .iter()
            .map(|v| {
                seqpool_mpc::members::member_of(
                    &v.mpc_identity(),
                    &seqpool_staking::genesis::consensus_address(&v.consensus_pub_key()),
                )
            })
            .collect()
    }

    /// The registered member of validator `idx` (as genesis lists it).
    pub fn mpc_member(&self, idx: usize) -> seqpool_mpc::Member {
        Self::members_of(&self.validators[idx..=idx]).remove(0)
    }

    /// MsgRegisterMember for validator `idx`'s MPC identity, from its operator key's account.
    pub fn register_member_msg(&self, idx: usize) -> seqpool_mpc::MsgRegisterMember {
        let v = &self.validators[idx];
        seqpool_mpc::members::register_msg(&v.mpc_identity(), &self.chain_id, &v.operator())
    }

    /// A signed tx registering validator `idx`'s MPC identity, from the operator x/staking has
    /// for it: its operator key's account, or, for a validator that joined by an L1 lock, the
    /// account of its consensus key (x/staking's operator for L1 joiners).
    pub fn register_member_tx(&self, idx: usize) -> Result<Bytes, AppError> {
        use prost::Name;
        let v = &self.validators[idx];
        let snapshot = self.nodes[0].app.storage().latest_snapshot();
        let address = seqpool_staking::genesis::consensus_address(&v.consensus_pub_key());
        let operator = seqpool_staking::StakingRead::validator(&snapshot, &address)?
            .map(|on_chain| on_chain.operator)
            .unwrap_or_else(|| v.operator());
        let key = if operator == v.operator() {
            &v.operator_key
        } else {
            &v.consensus_key
        };
        let account = seqpool_auth::AuthRead::account(&snapshot, &operator)?
            .ok_or_else(|| AppError::Sequence(format!("no account {operator}")))?;
        let msg = seqpool_mpc::members::register_msg(&v.mpc_identity(), &self.chain_id, &operator);
        let any = cosmrs::Any {
            type_url: seqpool_mpc::MsgRegisterMember::type_url(),
            value: msg.encode_to_vec(),
        };
        Ok(Bytes::from(crate::tx::sign_tx(
            key,
            &self.chain_id,
            account.account_number,
            account.sequence,
            vec![any],
            "",
        )))
    }

    /// Calldata of LockingPool.setMaxLock(`value`): a governance action the default allow-list
    /// permits.
    pub fn set_max_lock_call(value: u64) -> Vec<u8> {
        let mut data = seqpool_gov::params::selector("setMaxLock(uint256)").to_vec();
        data.extend([0u8; 24]);
        data.extend(value.to_be_bytes());
        data
    }

    /// A tx of `msgs` signed by `key` at its account's next sequence as node 0 has committed it.
    pub fn signed_tx(&self, key: &SigningKey, msgs: Vec<cosmrs::Any>) -> Result<Bytes, AppError> {
        let address =
            address::account_address(key.verifying_key().to_encoded_point(true).as_bytes());
        let snapshot = self.nodes[0].app.storage().latest_snapshot();
        let account = seqpool_auth::AuthRead::account(&snapshot, &address)?
            .ok_or_else(|| AppError::Sequence(format!("no account {address}")))?;
        Ok(Bytes::from(crate::tx::sign_tx(
            key,
            &self.chain_id,
            account.account_number,
            account.sequence,
            msgs,
            "",
        )))
    }

    pub fn admin_address(&self) -> String {
        address::account_address(
            self.admin_key
                .verifying_key()
                .to_encoded_point(true)
                .as_bytes(),
        )
    }

    pub fn genesis(&self) -> AppGenesis {
        let validators = self
            .validators
            .iter()
            .map(|v| Validator {
                name: v.name.clone(),
                operator: v.operator(),
                consensus_pub_key: v.consensus_pub_key(),
                consensus_address: String::new(),
                power: v.power,
                ..Default::default()
            })
            .collect();
        let mut genesis = AppGenesis::default_for(&self.admin_address(), validators);
        if self.mpc.is_some() {
            genesis.mpc.members = (0..self.validators.len())
                .filter(|&i| self.validators[i].power > 0)
                .map(|i| self.mpc_member(i))
                .collect();
        }
        genesis
    }

    /// Validator indexes in CometBFT order (power descending, then address ascending).
    fn ordered(&self) -> Vec<usize> {
        // Power 0: a standby key (not yet joined, or removed).
        let mut idx: Vec<usize> = (0..self.validators.len())
            .filter(|&i| self.validators[i].power > 0)
            .collect();
        idx.sort_by(|&a, &b| {
            let (va, vb) = (&self.validators[a], &self.validators[b]);
            vb.power
                .cmp(&va.power)
                .then_with(|| va.consensus_address().cmp(&vb.consensus_address()))
        });
        idx
    }

    fn time(&self, height: u64) -> tendermint::Time {
        tendermint::Time::from_unix_timestamp(self.genesis_time + height as i64, 0)
            .unwrap_or_else(|_| tendermint::Time::unix_epoch())
    }

    fn block_hash(height: u64, txs: &[Bytes]) -> tendermint::Hash {
        let mut h = Sha256::new();
        h.update(height.to_be_bytes());
        for tx in txs {
            h.update(Sha256::digest(tx));
        }
        tendermint::Hash::Sha256(h.finalize().into())
    }

    fn proposer_address(&self, height: u64) -> tendermint::account::Id {
        let order = self.ordered();
        let v = &self.validators[order[(height as usize) % order.len()]];
        tendermint::account::Id::new(v.consensus_address())
    }

    fn commit_info(&self) -> Option<CommitInfo> {
        self.last_commit.as_ref().map(|c| CommitInfo {
            round: c.round,
            votes: c
                .votes
                .iter()
                .map(|v| VoteInfo {
                    validator: v.validator.clone(),
                    sig_info: v.sig_info,
                })
                .collect(),
        })
    }

    /// CheckTx on node `node`'s mempool.
    pub fn check_tx(&self, node: usize, tx: &[u8]) -> response::CheckTx {
        crate::mempool::check_tx(
            &self.nodes[node].mempool,
            &request::CheckTx {
                tx: Bytes::copy_from_slice(tx),
                kind: request::CheckTxKind::New,
            },
        )
    }

    /// PrepareProposal on node 0 for the next height.
    pub fn propose(&mut self, txs: Vec<Bytes>) -> Result<Vec<Bytes>, AppError> {
        self.propose_within(txs, 22_020_096)
    }

    /// PrepareProposal on node 0 for the next height, with `max_tx_bytes` for the block's txs.
    pub fn propose_within(
        &mut self,
        txs: Vec<Bytes>,
        max_tx_bytes: i64,
    ) -> Result<Vec<Bytes>, AppError> {
        let height = self.height + 1;
        self.apply_updates(height)?;
        let req = request::PrepareProposal {
            max_tx_bytes,
            txs,
            local_last_commit: self.last_commit.clone(),
            misbehavior: vec![],
            height: (height as u32).into(),
            time: self.time(height),
            next_validators_hash: tendermint::Hash::None,
            proposer_address: self.proposer_address(height),
        };
        Ok(self.nodes[0].app.prepare_proposal(req)?.txs)
    }

    /// ProcessProposal of `txs` as the next block on every node.
    pub fn process(&mut self, txs: &[Bytes]) -> Result<Vec<response::ProcessProposal>, AppError> {
        let height = self.height + 1;
        let hash = Self::block_hash(height, txs);
        let last = self.commit_info();
        let proposer = self.proposer_address(height);
        let time = self.time(height);
        let misbehavior = self.misbehavior.clone();
        self.nodes
            .iter_mut()
            .map(|n| {
                n.app.process_proposal(request::ProcessProposal {
                    txs: txs.to_vec(),
                    proposed_last_commit: last.clone(),
                    misbehavior: misbehavior.clone(),
                    hash,
                    height: (height as u32).into(),
                    time,
                    next_validators_hash: tendermint::Hash::None,
                    proposer_address: proposer,
                })
            })
            .collect()
    }

    /// Each online validator's extended precommit for block `txs` at `height`, its extension
    /// verified by every node.
    fn extended_votes(
        &mut self,
        height: u64,
        txs: &[Bytes],
    ) -> Result<Vec<ExtendedVoteInfo>, AppError> {
        let hash = Self::block_hash(height, txs);
        let time = self.time(height);
        let proposer = self.proposer_address(height);
        // Each online validator extends its vote; node 0's app builds the extension for validators
        // without a node of their own (same state, so the same content).
        if self.mpc.is_some() {
            for idx in self.ordered() {
                if idx >= self.nodes.len() && !self.mpc_voters.contains_key(&idx) {
                    self.add_mpc_voter(idx)?;
                }
            }
        }
        let mut votes = Vec::new();
        for idx in self.ordered() {
            let v = &self.validators[idx];
            let address = tendermint::account::Id::new(v.consensus_address());
            let validator = types::Validator {
                address: v.consensus_address(),
                power: (v.power as u32).into(),
            };
            if self.offline.contains(&idx) {
                votes.push(ExtendedVoteInfo {
                    validator,
                    sig_info: BlockSignatureInfo::Flag(BlockIdFlag::Absent),
                    vote_extension: Bytes::new(),
                    extension_signature: None,
                });
                continue;
            }
            let node = if idx < self.nodes.len() { idx } else { 0 };
            let proposed_last_commit = self.commit_info();
            // A validator without a node: node 0's app builds its mpc section with its engine.
            let mut voter = self.mpc_voters.remove(&idx);
            if let (Some(v), Some(own)) = (voter.as_mut(), self.nodes[node].app.mpc_duties()) {
                std::mem::swap(v, own);
            }
            let extended = self.nodes[node].app.extend_vote(request::ExtendVote {
                hash,
                height: (height as u32).into(),
                time,
                txs: txs.to_vec(),
                proposed_last_commit,
                misbehavior: vec![],
                next_validators_hash: tendermint::Hash::None,
                proposer_address: proposer,
            });
            if let Some(mut v) = voter {
                if let Some(own) = self.nodes[node].app.mpc_duties() {
                    std::mem::swap(&mut v, own);
                }
                self.mpc_voters.insert(idx, v);
            }
            let ext = extended?.vote_extension;
            let ext = self.with_producer_section(idx, ext);
            let ext = self.with_bridge_section(idx, ext);
            for n in self.nodes.iter_mut() {
                let verdict = n.app.verify_vote_extension(request::VerifyVoteExtension {
                    hash,
                    validator_address: address,
                    height: (height as u32).into(),
                    vote_extension: ext.clone(),
                });
                if verdict != response::VerifyVoteExtension::Accept {
                    return Err(AppError::Sequence(format!(
                        "a node rejected {}'s vote extension at height {height}",
                        v.name
                    )));
                }
            }
            let sig: Signature =
                v.consensus_key
                    .sign(&vote_ext::sign_bytes(&self.chain_id, height, 0, &ext));
            votes.push(ExtendedVoteInfo {
                validator,
                sig_info: BlockSignatureInfo::Flag(BlockIdFlag::Commit),
                vote_extension: ext,
                extension_signature: tendermint::Signature::new(sig.to_bytes()).ok().flatten(),
            });
        }
        Ok(votes)
    }

    /// A round that does not commit: every node accepts `txs` as the next block and every online
    /// validator extends its precommit for it (its MPC engine answers what that block asks), but
    /// the block is not decided; a later [`Driver::finish`] of another block at the same height
    /// is the one that commits. Returns the extended votes that round produced.
    pub fn abandon_round(&mut self, txs: &[Bytes]) -> Result<Vec<ExtendedVoteInfo>, AppError> {
        self.process_all_accept(txs)?;
        let height = self.height + 1;
        self.apply_updates(height)?;
        self.extended_votes(height, txs)
    }

    /// Votes (with extensions, verified by every node), FinalizeBlock and Commit of `txs`.
    pub fn finish(&mut self, txs: Vec<Bytes>) -> Result<BlockOutcome, AppError> {
        let height = self.height + 1;
        self.apply_updates(height)?;
        let hash = Self::block_hash(height, &txs);
        let time = self.time(height);
        let proposer = self.proposer_address(height);

        let votes = self.extended_votes(height, &txs)?;

        let decided = self.commit_info().unwrap_or(CommitInfo {
            round: 0u16.into(),
            votes: vec![],
        });
        let mut outcome: Option<BlockOutcome> = None;
        let misbehavior = std::mem::take(&mut self.misbehavior);
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let resp = n.app.finalize_block(request::FinalizeBlock {
                txs: txs.clone(),
                decided_last_commit: decided.clone(),
                misbehavior: misbehavior.clone(),
                hash,
                height: (height as u32).into(),
                time,
                next_validators_hash: tendermint::Hash::None,
                proposer_address: proposer,
            })?;
            let app_hash: [u8; 32] = resp.app_hash.as_bytes().try_into().unwrap_or([0; 32]);
            match &outcome {
                Some(o) if o.app_hash != app_hash => {
                    return Err(AppError::Sequence(format!(
                        "node {i} computed app hash {} at height {height}, node 0 {}",
                        hex::encode_upper(app_hash),
                        hex::encode_upper(o.app_hash)
                    )))
                }
                Some(_) => {}
                None => {
                    if !resp.validator_updates.is_empty() {
                        self.pending_updates
                            .insert(height + 2, resp.validator_updates.clone());
                    }
                    // Report the user txs' results only (not the injected extended commit's).
                    let injected = txs
                        .first()
                        .is_some_and(|t| vote_ext::decode_injected(t).is_some());
                    let tx_results = resp
                        .tx_results
                        .into_iter()
                        .skip(usize::from(injected))
                        .collect();
                    outcome = Some(BlockOutcome {
                        height,
                        app_hash,
                        tx_results,
                        validator_updates: resp.validator_updates,
                        events: resp.events,
                    })
                }
            }
            n.app.commit()?;
        }
        self.last_commit = Some(ExtendedCommitInfo {
            round: 0u16.into(),
            votes,
        });
        self.height = height;
        outcome.ok_or_else(|| AppError::Sequence("no nodes".into()))
    }

    /// A whole block: propose `txs`, every node must accept, then vote, finalize and commit.
    pub fn produce_block(&mut self, txs: Vec<Bytes>) -> Result<BlockOutcome, AppError> {
        let block = self.propose(txs)?;
        self.accept_and_finish(block)
    }

    /// A whole block of exactly `txs`, in this order, after the extended commit PrepareProposal
    /// injects: for tests that put txs in a block which PrepareProposal would leave out (a
    /// replayed or out-of-order sequence), as a byzantine proposer could.
    pub fn produce_block_verbatim(&mut self, txs: Vec<Bytes>) -> Result<BlockOutcome, AppError> {
        let mut block = self.propose(vec![])?;
        block.extend(txs);
        self.accept_and_finish(block)
    }

    /// ProcessProposal of `block` (every node must accept), then votes, FinalizeBlock and Commit.
    pub fn accept_and_finish(&mut self, block: Vec<Bytes>) -> Result<BlockOutcome, AppError> {
        self.process_all_accept(&block)?;
        self.finish(block)
    }

    /// ProcessProposal of `txs` on every node; an error names the first node that rejects it.
    fn process_all_accept(&mut self, txs: &[Bytes]) -> Result<(), AppError> {
        let verdicts = self.process(txs)?;
        match verdicts
            .iter()
            .position(|v| *v != response::ProcessProposal::Accept)
        {
            Some(i) => Err(AppError::Sequence(format!(
                "node {i} rejected the proposal at height {}",
                self.height + 1
            ))),
            None => Ok(()),
        }
    }

    /// Stops node `i` and starts it again from its database, as after a crash (nothing that was not
    /// committed survives).
    pub fn restart_node(&mut self, i: usize) -> Result<(), AppError> {
        // Drop the old app and every handle on its database before reopening it.
        let dir = self.nodes.remove(i).dir;
        let mempool = Arc::new(Mutex::new(MempoolState::default()));
        let mut app = App::new(Storage::open(&dir)?, mempool.clone())?;
        if let Some(factory) = &self.mpc {
            // A restart loses the node's in-memory duties; its keystore is reopened.
            app.set_mpc_duties(factory(&dir.join("mpc_keystore"), &self.validators[i])?);
        }
        self.nodes.insert(i, Node { app, mempool, dir });
        Ok(())
    }

    /// ProcessProposal and FinalizeBlock of the next block on node `i` only, without Commit: the
    /// app hash it would have committed.
    pub fn finalize_without_commit(
        &mut self,
        i: usize,
        txs: Vec<Bytes>,
    ) -> Result<[u8; 32], AppError> {
        let height = self.height + 1;
        let block = self.propose(txs)?;
        let req = request::FinalizeBlock {
            txs: block,
            decided_last_commit: self.commit_info().unwrap_or(CommitInfo {
                round: 0u16.into(),
                votes: vec![],
            }),
            misbehavior: vec![],
            hash: Self::block_hash(height, &[]),
            height: (height as u32).into(),
            time: self.time(height),
            next_validators_hash: tendermint::Hash::None,
            proposer_address: self.proposer_address(height),
        };
        let resp = self.nodes[i].app.finalize_block(req)?;
        Ok(resp.app_hash.as_bytes().try_into().unwrap_or([0; 32]))
    }

    fn with_bridge_section(&self, idx: usize, ext: Bytes) -> Bytes {
        let Some(section) = self.bridge_votes.get(&idx) else {
            return ext;
        };
        let mut decoded = VoteExtension::decode(ext.as_ref()).unwrap_or_default();
        decoded.bridge = Some(section.clone());
        decoded.encode_to_vec().into()
    }

    /// DuplicateVote evidence against validator `idx` for a vote at `height` (CometBFT has
    /// verified it; the app only acts on it). Push it to [`Driver::misbehavior`].
    pub fn duplicate_vote(&self, idx: usize, height: u64) -> types::Misbehavior {
        let v = &self.validators[idx];
        types::Misbehavior {
            kind: types::MisbehaviorKind::DuplicateVote,
            validator: types::Validator {
                address: v.consensus_address(),
                power: (v.power.max(0) as u32).into(),
            },
            height: (height as u32).into(),
            time: self.time(height),
            total_voting_power: (self
                .validators
                .iter()
                .map(|v| v.power.max(0) as u32)
                .sum::<u32>())
            .into(),
        }
    }

    /// Adds a validator key with power 0 (it votes once an L1 event gives it power), e.g. the
    /// signer of a future lock or signer change. Returns its index.
    pub fn add_standby(&mut self, mut v: TestValidator) -> usize {
        v.power = 0;
        self.validators.push(v);
        // With MPC on, its MPC engine is made when it first votes (see `finish`).
        self.validators.len() - 1
    }

    /// Applies the validator updates that take effect at `height`, as CometBFT does.
    fn apply_updates(&mut self, height: u64) -> Result<(), AppError> {
        for u in self.pending_updates.remove(&height).unwrap_or_default() {
            let key = u.pub_key.to_bytes();
            let v = self
                .validators
                .iter_mut()
                .find(|v| v.consensus_pub_key() == key)
                .ok_or_else(|| {
                    AppError::Sequence(format!(
                        "validator update for unknown key {}: add it with add_standby first",
                        hex::encode(&key)
                    ))
                })?;
            v.power = u.power.value() as i64;
        }
        Ok(())
    }

    fn with_producer_section(&self, idx: usize, ext: Bytes) -> Bytes {
        let Some(section) = self.producer_votes.get(&idx) else {
            return ext;
        };
        let mut decoded = VoteExtension::decode(ext.as_ref()).unwrap_or_default();
        decoded.producer = Some(section.clone());
        decoded.encode_to_vec().into()
    }

    /// The extended commit the next proposer will inject (for tampering tests).
    pub fn last_extended_commit(&self) -> Option<&ExtendedCommitInfo> {
        self.last_commit.as_ref()
    }

    /// Replaces validator `idx`'s extension in the extended commit the next proposer injects by
    /// `extension`, signed with its consensus key: a late precommit that CometBFT added to the
    /// commit without VerifyVoteExtension.
    pub fn set_late_extension(&mut self, idx: usize, extension: Vec<u8>) {
        let v = &self.validators[idx];
        let address = v.consensus_address();
        let sig: Signature = v.consensus_key.sign(&vote_ext::sign_bytes(
            &self.chain_id,
            self.height,
            0,
            &extension,
        ));
        if let Some(vote) = self
            .last_commit
            .as_mut()
            .and_then(|c| c.votes.iter_mut().find(|v| v.validator.address == address))
        {
            vote.vote_extension = extension.into();
            vote.extension_signature = tendermint::Signature::new(sig.to_bytes()).ok().flatten();
        }
    }

    /// `block` with validator `idx`'s extension left out of its injected commit (extension and
    /// signature emptied, the precommit kept), as a proposer may when more than 2/3 remains.
    pub fn leave_out_extension(&self, block: &[Bytes], idx: usize) -> Vec<Bytes> {
        let address = self.validators[idx].consensus_address();
        let mut out = block.to_vec();
        let Some(Ok(mut commit)) = block.first().and_then(|tx| vote_ext::decode_injected(tx))
        else {
            return out;
        };
        for vote in commit
            .votes
            .iter_mut()
            .filter(|v| v.validator_address == address)
        {
            vote.vote_extension.clear();
            vote.extension_signature.clear();
        }
        out[0] = Bytes::from(vote_ext::encode_injected(&commit));
        out
    }

    /// VerifyVoteExtension on node `node` of `extension` from validator `idx`, for the next height.
    pub fn verify_extension(
        &mut self,
        node: usize,
        idx: usize,
        extension: Vec<u8>,
    ) -> response::VerifyVoteExtension {
        let height = self.height + 1;
        let req = request::VerifyVoteExtension {
            hash: Self::block_hash(height, &[]),
            validator_address: tendermint::account::Id::new(
                self.validators[idx].consensus_address(),
            ),
            height: (height as u32).into(),
            vote_extension: extension.into(),
        };
        self.nodes[node].app.verify_vote_extension(req)
    }
}
