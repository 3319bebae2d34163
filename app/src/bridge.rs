//! The app's side of x/bridge: the bridge section of this node's vote extension (from what its L1
//! watcher observed), applying attested events to x/staking, attested receipts to x/mpc and the
//! attested L1 randomness, and the validator updates that follow.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use seqpool_bridge::{attest, BridgeRead, BridgeVote, L1Event, L1Randomness, L1Receipt};
use seqpool_component::{Event, StateRead, StateWrite, StoreError};
use seqpool_mpc::receipts::ReceiptStatus;
use seqpool_staking::Validator;

use crate::vote_ext::VerifiedCommit;

/// Events the L1 watcher saw at finality depth, by nonce; shared with the consensus actor.
pub type Observations = Arc<Mutex<BTreeMap<u64, L1Event>>>;

/// The RANDAO value of the latest finalized L1 block on the randomness interval that the watcher
/// saw (see the node's L1 watcher, `observe_randomness`); shared with the consensus actor.
pub type RandomnessObservation = Arc<Mutex<Option<L1Randomness>>>;

/// L1 receipts of group-signed payloads the watcher saw at finality depth, by (L1 block, log
/// index); shared with the consensus actor.
pub type ReceiptObservations = Arc<Mutex<BTreeMap<(u64, u64), L1Receipt>>>;

/// Most receipts kept that match nothing in state yet (oldest dropped first).
const MAX_UNMATCHED_RECEIPTS: usize = 1024;

/// This node's bridge section: observed events from the next unapplied nonce on, oldest first,
/// and the observed receipts x/mpc has not recorded yet. Empty when the watcher is down or
/// behind; the chain goes on without it.
pub fn vote_section<S: StateRead>(
    state: &S,
    observed: &Observations,
    randomness: &RandomnessObservation,
    receipts: &ReceiptObservations,
) -> Result<BridgeVote, StoreError> {
    let next = state.next_nonce()?;
    let max = state.bridge_params()?.max_events_per_vote;
    let Ok(mut observed) = observed.lock() else {
        return Ok(BridgeVote::default());
    };
    // Applied events are no longer needed.
    observed.retain(|nonce, _| *nonce >= next);
    let mut vote = attest::make_vote(next, &observed, max);
    vote.randomness = randomness.lock().ok().and_then(|r| r.clone());
    vote.receipts = receipt_section(state, receipts, max)?;
    Ok(vote)
}

/// The receipts to attest: pending in state, oldest first, at most `max`. Recorded ones are
/// forgotten; unmatched ones are kept (their request may not be in this node's state yet) up to
/// [`MAX_UNMATCHED_RECEIPTS`].
fn receipt_section<S: StateRead>(
    state: &S,
    receipts: &ReceiptObservations,
    max: u32,
) -> Result<Vec<L1Receipt>, StoreError> {
    let Ok(mut observed) = receipts.lock() else {
        return Ok(Vec::new());
    };
    let mut section = Vec::new();
    let mut recorded = Vec::new();
    let mut unmatched = Vec::new();
    for (id, r) in observed.iter() {
        match seqpool_mpc::receipts::status(state, r)? {
            ReceiptStatus::Pending if section.len() < max as usize => section.push(r.clone()),
            ReceiptStatus::Pending => {}
            ReceiptStatus::Recorded => recorded.push(*id),
            ReceiptStatus::Unmatched => unmatched.push(*id),
        }
    }
    let excess = unmatched.len().saturating_sub(MAX_UNMATCHED_RECEIPTS);
    for id in recorded.iter().chain(&unmatched[..excess]) {
        observed.remove(id);
    }
    Ok(section)
}

/// Checks another validator's bridge section (absent is fine: its watcher may be down).
pub fn check_section<S: StateRead>(state: &S, vote: Option<&BridgeVote>) -> Result<(), String> {
    let Some(vote) = vote else { return Ok(()) };
    let max = state
        .bridge_params()
        .map_err(|e| e.to_string())?
        .max_events_per_vote;
    attest::check_vote(vote, max)
}

/// Applies the events of the extended commit that more than 2/3 of `set`'s power attests, and
/// their effect on the sequencer set.
pub fn apply<S: StateWrite>(
    state: &mut S,
    verified: &VerifiedCommit,
    set: &[Validator],
    height: u64,
) -> Result<Vec<Event>, StoreError> {
    let votes: Vec<(i64, Option<&BridgeVote>)> = set
        .iter()
        .map(|v| {
            let vote = verified
                .extensions
                .get(&v.consensus_address)
                .and_then(|e| e.bridge.as_ref());
            (v.power, vote)
        })
        .collect();
    let total: i64 = set.iter().map(|v| v.power).sum();
    let mut events = Vec::new();
    for e in attest::apply_attested(state, &votes, total, height)? {
        events.extend(seqpool_staking::l1::apply_l1_event(state, &e)?);
    }
    events.extend(seqpool_bridge::randomness::apply_attested(
        state, &votes, total, height,
    )?);
    let max = state.bridge_params()?.max_events_per_vote;
    for receipt in seqpool_bridge::receipts::attested_receipts(&votes, total, max) {
        events.extend(seqpool_mpc::receipts::apply(state, &receipt, height)?);
    }
    Ok(events)
}

/// CometBFT validator updates for the set changes of this block (taking effect at `height + 2`).
pub fn validator_updates<S: StateWrite>(
    state: &mut S,
    height: u64,
) -> Result<Vec<tendermint::validator::Update>, crate::error::AppError> {
    seqpool_staking::l1::validator_updates(state, height)?
        .into_iter()
        .map(|v| {
            let pub_key = tendermint::PublicKey::from_raw_secp256k1(&v.consensus_pub_key)
                .ok_or_else(|| {
                    crate::error::AppError::Sequence(format!(
                        "validator {} has a bad key in state",
                        v.consensus_address
                    ))
                })?;
            let power = tendermint::vote::Power::try_from(v.power)
                .map_err(|e| crate::error::AppError::Sequence(e.to_string()))?;
            Ok(tendermint::validator::Update { pub_key, power })
        })
        .collect()
}
