//! This node's signing duties: nonce commitment top-ups, re-deriving each request's payload from
//! its own L1/L2 view, and signature shares for the attempts that chose it.
//!
//! - Nonces: for every active or pending key this node holds a share of, when its unused
//!   commitments on chain are below `nonce_pool_low_water`, it makes enough new nonces to reach
//!   `nonce_pool_target`; the keystore stores them (synced) before the commitments enter the vote.
//! - Shares: for each live attempt that names this node, it checks the request against its own
//!   view (a batch header against the L2 blocks its L2 RPC reported; every type's digest against
//!   the typed contents and the chain's L1 contract params) and signs only then; otherwise the
//!   request id goes into `refused`. The keystore retires the nonce durably before returning the
//!   share, so a restart can never sign twice with one nonce.
//! - Rounds: ExtendVote runs on a candidate block, which may not be the one that commits. A block
//!   at a later round of the same height can fix another package for the same attempt (its
//!   injected commit lists other online members, so other signers), with this node's same
//!   commitment. Answers are therefore kept by the package's hash, not by (request, attempt): the
//!   same package gets the same share again, another package is refused, because the nonce behind
//!   that commitment already made a share that left in a precommit (two shares of one nonce reveal
//!   the signing share). The chain marks the commitment used once the package that names it
//!   commits, and a refusal is no fault. Answers are forgotten only after a Commit.
//!
//! Never blocks on RPC: the L2 view is a cache the L2 watcher fills.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use frost_secp256k1::round2::SignatureShare;
use prost::Message;
use seqpool_component::StateRead;
use seqpool_mpc::requests;
use seqpool_mpc::signing;
use seqpool_mpc::state::MpcRead;
use seqpool_mpc::{GroupKey, KeyStatus, RequestType, SigningAttempt, SigningRequest};
use seqpool_proto::mpc::v1::signing_request::Body;
use seqpool_proto::mpc::v1::MpcVote;
use seqpool_tss::keystore::Keystore;
use seqpool_tss::{messages, KeyId, MemberSecret, TssError};
use sha2::{Digest, Sha256};

/// Env switch of a test build's misbehaving node: `1` makes it send invalid signature shares.
pub const CORRUPT_SHARES_ENV: &str = "SEQPOOL_MPC_CORRUPT_SHARES";

/// L2 block hash and state root by block number, as this node's L2 RPC reported them; the
/// window a batch is checked against. Bounded: the oldest blocks leave first.
#[derive(Debug, Default)]
pub struct L2Headers {
    blocks: BTreeMap<u64, ([u8; 32], [u8; 32])>,
    /// Blocks a batch needed that the cache lacked (older than the watcher's start window):
    /// the L2 watcher fetches them, and the next attempt finds them.
    wanted: BTreeSet<u64>,
}

/// Blocks the cache keeps (well above max_batch_blocks plus the relay delay).
pub const L2_HEADERS_CAPACITY: usize = 20_000;
/// Most missing blocks waiting to be fetched.
pub const MAX_WANTED: usize = 4_096;

impl L2Headers {
    pub fn observe(&mut self, number: u64, hash: [u8; 32], state_root: [u8; 32]) {
        self.wanted.remove(&number);
        self.blocks.insert(number, (hash, state_root));
        while self.blocks.len() > L2_HEADERS_CAPACITY {
            self.blocks.pop_first();
        }
    }

    /// Asks for the blocks of `start..=end` the cache lacks (at most [`MAX_WANTED`] at a time).
    pub fn want(&mut self, start: u64, end: u64) {
        for number in start..=end {
            if self.wanted.len() >= MAX_WANTED {
                break;
            }
            if !self.blocks.contains_key(&number) {
                self.wanted.insert(number);
            }
        }
    }

    /// Up to `max` wanted block numbers, lowest first (for the L2 watcher to fetch).
    pub fn wanted(&self, max: usize) -> Vec<u64> {
        self.wanted.iter().take(max).copied().collect()
    }

    /// Gives up on a block the L2 node does not have.
    pub fn unwant(&mut self, number: u64) {
        self.wanted.remove(&number);
    }

    /// (root over the block hashes, state root after `end`) for blocks `start..=end`, if every
    /// one of them is known.
    pub fn batch_roots(&self, start: u64, end: u64) -> Option<([u8; 32], [u8; 32])> {
        if end < start {
            return None;
        }
        let hashes: Vec<[u8; 32]> = self.blocks.range(start..=end).map(|(_, v)| v.0).collect();
        if hashes.len() as u64 != end - start + 1 {
            return None;
        }
        let state_root = self.blocks.get(&end)?.1;
        Some((seqpool_mpc::batch::blocks_root(&hashes), state_root))
    }
}

pub type SharedL2Headers = Arc<Mutex<L2Headers>>;

pub struct SignerDuties {
    /// This node's L2 view for batches, filled by the L2 watcher.
    pub l2_headers: SharedL2Headers,
    /// Test switch ([`CORRUPT_SHARES_ENV`]): send invalid shares.
    pub corrupt_shares: bool,
    /// Attempts this node answered, by (request, attempt, package hash), with its answer: it
    /// signs a package at most once (the keystore enforces it too) and repeats the same answer if
    /// CometBFT asks again for that package (a later round).
    answered: BTreeMap<AnswerKey, Answer>,
    /// The nonce commitments sent at a height, repeated if ExtendVote runs again for it.
    top_up: Option<(u64, seqpool_proto::tss::v1::SignedEnvelope)>,
}

type AnswerKey = (u64, u32, [u8; 32]);

/// The key of an attempt's answer: the package's content, so that two packages of one attempt
/// (candidate blocks of one height) never share an answer.
fn answer_key(attempt: &SigningAttempt) -> AnswerKey {
    let hash = attempt
        .package
        .as_ref()
        .map(|p| Sha256::digest(p.encode_to_vec()).into())
        .unwrap_or([0; 32]);
    (attempt.request_id, attempt.attempt, hash)
}

#[derive(Clone)]
enum Answer {
    Share(seqpool_mpc::ShareVote),
    Refused,
    Nothing,
}

impl Default for SignerDuties {
    fn default() -> Self {
        Self {
            l2_headers: Default::default(),
            corrupt_shares: std::env::var(CORRUPT_SHARES_ENV).is_ok_and(|v| v == "1"),
            answered: BTreeMap::new(),
            top_up: None,
        }
    }
}

/// Why this node does not sign a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its own view gives a different payload.
    Disagrees(String),
    /// Its view lacks what the payload needs (L2 blocks not seen yet).
    Unknown(String),
}

impl SignerDuties {
    pub fn extend<S: StateRead>(
        &mut self,
        vote: &mut MpcVote,
        state: &S,
        height: u64,
        chain_id: &str,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) {
        let Ok(me) = identity.identifier() else {
            return;
        };
        let me = me.serialize();
        match &self.top_up {
            // A later round of the same height: the same commitments, no new nonces.
            Some((h, envelope)) if *h == height => vote.nonce_commitments = Some(envelope.clone()),
            _ => {
                if let Err(e) = self.top_up_nonces(vote, state, &me, identity, keystore) {
                    tracing::warn!(error = %e, "mpc: nonce top-up failed");
                }
                self.top_up = vote.nonce_commitments.clone().map(|e| (height, e));
            }
        }
        let attempts = match signing::live_attempts(state) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "mpc: cannot read signing attempts");
                return;
            }
        };
        for (request, attempt) in attempts {
            let names_me = attempt
                .package
                .as_ref()
                .is_some_and(|p| p.signers.iter().any(|s| s.identifier == me));
            if !names_me {
                continue;
            }
            let key = answer_key(&attempt);
            let answer = match self.answered.get(&key) {
                Some(answer) => answer.clone(),
                None => {
                    let answer =
                        self.answer(state, chain_id, &request, &attempt, identity, keystore);
                    self.answered.insert(key, answer.clone());
                    answer
                }
            };
            match answer {
                Answer::Share(share) => vote.shares.push(share),
                Answer::Refused => vote.refused.push(request.request_id),
                Answer::Nothing => {}
            }
        }
    }

    /// After a Commit: forgets the answers to packages that are not live in the committed state
    /// (attempts that ended, and packages of candidate blocks that did not commit).
    pub fn after_commit<S: StateRead>(&mut self, state: &S) {
        match signing::live_attempts(state) {
            Ok(attempts) => {
                let live: BTreeSet<AnswerKey> =
                    attempts.iter().map(|(_, a)| answer_key(a)).collect();
                self.answered.retain(|k, _| live.contains(k));
            }
            Err(e) => tracing::warn!(error = %e, "mpc: cannot read signing attempts"),
        }
    }

    fn answer<S: StateRead>(
        &self,
        state: &S,
        chain_id: &str,
        request: &SigningRequest,
        attempt: &SigningAttempt,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Answer {
        match self.check(state, chain_id, request, attempt) {
            Ok(()) => match self.share(keystore, attempt, identity) {
                Ok(share) => Answer::Share(share),
                Err(ShareError::NonceBurned(commitment)) => {
                    tracing::warn!(
                        request = request.request_id,
                        attempt = attempt.attempt,
                        %commitment,
                        "mpc: refusing a package whose nonce already signed another package of this attempt (a round that did not commit); the nonce is burned"
                    );
                    Answer::Refused
                }
                Err(ShareError::Other(e)) => {
                    tracing::warn!(
                        request = request.request_id,
                        attempt = attempt.attempt,
                        error = %e,
                        "mpc: no share"
                    );
                    Answer::Nothing
                }
            },
            Err(reason) => {
                tracing::warn!(
                    request = request.request_id,
                    ?reason,
                    "mpc: refusing to sign"
                );
                Answer::Refused
            }
        }
    }

    fn top_up_nonces<S: StateRead>(
        &mut self,
        vote: &mut MpcVote,
        state: &S,
        me: &[u8],
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<(), String> {
        let params = state.mpc_params().map_err(|e| e.to_string())?;
        let keys: Vec<GroupKey> = state
            .group_keys()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|k| matches!(k.status(), KeyStatus::Active | KeyStatus::Pending))
            .filter(|k| k.members.iter().any(|m| m.identifier == me))
            .collect();
        // One envelope per vote: a pending key first (its test signature gates activation).
        let mut keys = keys;
        keys.sort_by_key(|k| (k.status() != KeyStatus::Pending, k.key_id));
        for key in keys {
            if !keystore.has_key(KeyId(key.key_id)) {
                continue;
            }
            let held = signing::unused_commitments(state, key.key_id, me)
                .map_err(|e| e.to_string())?
                .len();
            if held >= params.nonce_pool_low_water as usize {
                continue;
            }
            let count = (params.nonce_pool_target as usize - held).min(u8::MAX as usize) as u8;
            let commitments = keystore
                .generate_nonces(KeyId(key.key_id), count, &mut rand::rngs::OsRng)
                .map_err(|e| e.to_string())?;
            vote.nonce_commitments = Some(
                messages::seal_nonce_commitments(KeyId(key.key_id), &commitments, identity)
                    .map_err(|e| e.to_string())?,
            );
            return Ok(());
        }
        Ok(())
    }

    /// Re-derives the request from this node's own view.
    pub fn check<S: StateRead>(
        &self,
        state: &S,
        chain_id: &str,
        request: &SigningRequest,
        attempt: &SigningAttempt,
    ) -> Result<(), Refusal> {
        let package_message = attempt
            .package
            .as_ref()
            .map(|p| p.message.as_slice())
            .unwrap_or_default();
        if package_message != request.digest.as_slice() {
            return Err(Refusal::Disagrees(
                "package message is not the request digest".into(),
            ));
        }
        let expected = expected_digest(state, chain_id, request, &self.l2_headers)?;
        if expected.as_slice() != request.digest.as_slice() {
            return Err(Refusal::Disagrees(format!(
                "digest {} differs from this node's {}",
                hex::encode(&request.digest),
                hex::encode(expected)
            )));
        }
        Ok(())
    }

    fn share(
        &self,
        keystore: &mut Keystore,
        attempt: &SigningAttempt,
        identity: &MemberSecret,
    ) -> Result<seqpool_mpc::ShareVote, ShareError> {
        let other = |e: &dyn std::fmt::Display| ShareError::Other(e.to_string());
        let package_pb = attempt
            .package
            .as_ref()
            .ok_or_else(|| other(&"attempt without package"))?;
        let (key_id, _, package) =
            messages::signing_package_from_pb(package_pb).map_err(|e| other(&e))?;
        let mut share = match keystore.sign(key_id, &package) {
            Ok(share) => share,
            Err(TssError::ReusedCommitment(commitment)) => {
                return Err(ShareError::NonceBurned(commitment))
            }
            Err(e) => return Err(other(&e)),
        };
        if self.corrupt_shares {
            share = corrupt(&share).ok_or_else(|| other(&"cannot corrupt the share"))?;
        }
        signing::seal_share(attempt, &share, identity).ok_or_else(|| other(&"no package"))
    }
}

/// Why this node has no share for a package.
enum ShareError {
    /// The nonce behind this node's commitment already signed another package.
    NonceBurned(String),
    Other(String),
}

/// The share plus one: an invalid share for the culprit tests.
fn corrupt(share: &SignatureShare) -> Option<SignatureShare> {
    use k256::elliptic_curve::PrimeField;
    let bytes: [u8; 32] = share.serialize().try_into().ok()?;
    let z: Option<k256::Scalar> = k256::Scalar::from_repr(bytes.into()).into();
    let shifted = z? + k256::Scalar::ONE;
    SignatureShare::deserialize(&shifted.to_repr()).ok()
}

fn l1(state: &impl StateRead, contract: &str) -> Result<(u64, [u8; 20]), Refusal> {
    let params = state
        .mpc_params()
        .map_err(|e| Refusal::Unknown(e.to_string()))?;
    requests::l1_target(params.l1.as_ref(), contract).map_err(|e| Refusal::Unknown(e.message))
}

/// The digest this node computes for `request` from its own view.
fn expected_digest(
    state: &impl StateRead,
    chain_id: &str,
    request: &SigningRequest,
    l2: &SharedL2Headers,
) -> Result<[u8; 32], Refusal> {
    let bad = |what: &str| Refusal::Disagrees(what.to_string());
    match request.request_type() {
        RequestType::Batch => {
            let Some(Body::Batch(header)) = &request.body else {
                return Err(bad("batch request without a header"));
            };
            let mut headers = l2
                .lock()
                .map_err(|_| Refusal::Unknown("L2 view poisoned".into()))?;
            let Some((root, state_root)) =
                headers.batch_roots(header.l2_start_block, header.l2_end_block)
            else {
                // Not seen (older than the watcher's window): fetch them for the next attempt.
                headers.want(header.l2_start_block, header.l2_end_block);
                return Err(Refusal::Unknown(format!(
                    "L2 blocks {}..={} not all seen",
                    header.l2_start_block, header.l2_end_block
                )));
            };
            drop(headers);
            if header.l2_blocks_root != root || header.l2_state_root != state_root {
                return Err(bad("batch roots differ from this node's L2 view"));
            }
            if request.payload != requests::batch_payload(header) {
                return Err(bad("batch payload is not the header's encoding"));
            }
            let (chain, inbox) = l1(state, requests::BATCH_INBOX)?;
            Ok(requests::batch_digest(chain, inbox, header))
        }
        RequestType::KeyTest => {
            let key = state
                .group_key(request.key_id)
                .map_err(|e| Refusal::Unknown(e.to_string()))?
                .filter(|k| k.status() == KeyStatus::Pending)
                .ok_or_else(|| bad("key under test is not pending"))?;
            Ok(requests::key_test_digest(chain_id, &key))
        }
        RequestType::RewardDistribution => {
            let (chain, pool) = l1(state, requests::LOCKING_POOL)?;
            Ok(seqpool_tss::eth::request_digest(
                chain,
                pool,
                seqpool_tss::eth::RequestType::RewardDistribution,
                request.sequence,
                seqpool_tss::eth::keccak256(&request.payload),
            ))
        }
        RequestType::RotateGroupKey => {
            let (chain, registry) = l1(state, requests::GROUP_KEY_REGISTRY)?;
            if request.payload.len() != 64 {
                return Err(bad("rotation payload is not (px, py)"));
            }
            Ok(requests::rotation_digest(
                chain,
                registry,
                request.sequence,
                &request.payload[..32],
                &request.payload[32..],
            ))
        }
        RequestType::GovernanceAction | RequestType::Slashing => {
            let (chain, governance) = l1(state, requests::GOVERNANCE)?;
            let (target, data) =
                requests::decode_governance_payload(&request.payload, request.sequence)
                    .ok_or_else(|| bad("governance payload is not canonical"))?;
            let data = data.as_slice();
            // The group signs in governance's name only what the chain decided.
            use seqpool_proto::mpc::v1::signing_request::Body;
            let justified = match (request.request_type(), &request.body) {
                (RequestType::Slashing, Some(Body::SlashingValidator(v))) => {
                    seqpool_app::governance::justify_slashing(state, &target, data, v)
                }
                (RequestType::Slashing, _) => Err("a slash without its validator".into()),
                (_, Some(Body::GovernanceProposalId(id))) => {
                    seqpool_app::governance::justify_governance_action(
                        state,
                        &target,
                        data,
                        &request.requested_by,
                        Some(*id),
                    )
                }
                (_, None) => seqpool_app::governance::justify_governance_action(
                    state,
                    &target,
                    data,
                    &request.requested_by,
                    None,
                ),
                (_, Some(_)) => Err("a governance action with another request's body".into()),
            };
            justified.map_err(Refusal::Disagrees)?;
            Ok(requests::governance_digest(
                chain,
                governance,
                &target,
                data,
                request.sequence,
            ))
        }
        RequestType::Unspecified => Err(bad("request of no type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64, tag: u8) -> [u8; 32] {
        let mut b = [tag; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn batch_roots_need_every_block_and_missing_ones_are_wanted() {
        let mut headers = L2Headers::default();
        for n in [1, 2, 4] {
            headers.observe(n, h(n, 1), h(n, 2));
        }
        assert_eq!(headers.batch_roots(1, 4), None);
        headers.want(1, 4);
        assert_eq!(headers.wanted(10), vec![3]);
        headers.observe(3, h(3, 1), h(3, 2));
        assert!(
            headers.wanted(10).is_empty(),
            "observing a block satisfies the want"
        );
        let (root, state_root) = headers.batch_roots(1, 4).expect("all known");
        let hashes: Vec<[u8; 32]> = (1..=4).map(|n| h(n, 1)).collect();
        assert_eq!(root, seqpool_mpc::batch::blocks_root(&hashes));
        assert_eq!(state_root, h(4, 2));
        assert_eq!(headers.batch_roots(4, 3), None, "inverted range");
        headers.want(10, 11);
        headers.unwant(10);
        assert_eq!(headers.wanted(10), vec![11]);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_the_newest() {
        let mut headers = L2Headers::default();
        for n in 0..(L2_HEADERS_CAPACITY as u64 + 10) {
            headers.observe(n, h(n, 1), h(n, 2));
        }
        assert_eq!(headers.blocks.len(), L2_HEADERS_CAPACITY);
        assert!(headers.batch_roots(0, 0).is_none());
        assert!(headers.batch_roots(10, 10).is_some());
        headers.want(100_000, 100_000 + MAX_WANTED as u64 * 2);
        assert_eq!(headers.wanted.len(), MAX_WANTED);
    }

    #[test]
    fn a_corrupted_share_differs_and_still_decodes() {
        let share = SignatureShare::deserialize(&[7u8; 32]).expect("share");
        let bad = corrupt(&share).expect("corrupt");
        assert_ne!(bad.serialize(), share.serialize());
    }
}
