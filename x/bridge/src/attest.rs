//! The bridge section of vote extensions and the >2/3 tally that applies events.
use std::collections::BTreeMap;

use prost::Message;
use seqpool_component::{StateWrite, StoreError};

use crate::{AppliedEvent, BridgeRead, BridgeVote, BridgeWrite, L1Event};

/// The section this validator votes: the observed events from `next_nonce` on, oldest first, at
/// most `max_events`.
pub fn make_vote(
    next_nonce: u64,
    observed: &BTreeMap<u64, L1Event>,
    max_events: u32,
) -> BridgeVote {
    BridgeVote {
        events: observed
            .range(next_nonce..)
            .take(max_events as usize)
            .map(|(_, e)| e.clone())
            .collect(),
        ..Default::default()
    }
}

/// Checks another validator's bridge section: bounded, well-formed, nonces strictly ascending.
/// Largest encoding of one honest `L1Event` (the biggest, `Locked`, is about 280 bytes: ids,
/// a 32-byte tx hash, two addresses, a 78-digit amount, a 64-byte public key) or `L1Receipt`
/// (`GroupKeyRotated`: four 32-byte coordinates), with margin.
const MAX_EVENT_BYTES: usize = 512;

/// Largest encoded bridge section of an honest vote: `max_events` events and as many receipts
/// (each at most [`MAX_EVENT_BYTES`]) and the randomness.
pub fn max_vote_bytes(max_events: u32) -> usize {
    (max_events as usize)
        .saturating_mul(2 * MAX_EVENT_BYTES)
        .saturating_add(128)
}

pub fn check_vote(vote: &BridgeVote, max_events: u32) -> Result<(), String> {
    if vote.events.len() > max_events as usize {
        return Err(format!(
            "bridge section lists {} events, at most {max_events} are allowed",
            vote.events.len()
        ));
    }
    let mut last = 0u64;
    for e in &vote.events {
        if e.nonce <= last {
            return Err(format!(
                "bridge section: nonce {} does not follow {last} (must be strictly ascending, from 1)",
                e.nonce
            ));
        }
        last = e.nonce;
        if e.tx_hash.len() != 32 {
            return Err(format!(
                "bridge section: event {} has a {}-byte tx hash, expected 32",
                e.nonce,
                e.tx_hash.len()
            ));
        }
        if e.payload.is_none() {
            return Err(format!("bridge section: event {} has no payload", e.nonce));
        }
    }
    crate::receipts::check_receipts(vote, max_events)?;
    if let Some(r) = &vote.randomness {
        crate::randomness::check(r)?;
    }
    Ok(())
}

/// Whether `power` is more than 2/3 of `total`.
fn supermajority(power: u128, total: u128) -> bool {
    power * 3 > total * 2
}

/// Applies, in nonce order, every event that validators with more than 2/3 of `total_power`
/// attest byte-identically in this extended commit (`votes`: each voter's power and bridge
/// section). Returns the events applied, for the modules that act on them.
pub fn apply_attested<S: StateWrite>(
    state: &mut S,
    votes: &[(i64, Option<&BridgeVote>)],
    total_power: i64,
    height: u64,
) -> Result<Vec<L1Event>, StoreError> {
    let max_events = state.bridge_params()?.max_events_per_vote as usize;
    let total = u128::try_from(total_power).unwrap_or(0);
    // Per voter, the first event it lists for each nonce (within its allowed count).
    let by_voter: Vec<(u128, BTreeMap<u64, &L1Event>)> = votes
        .iter()
        .filter_map(|(power, vote)| {
            let power = u128::try_from(*power).ok()?;
            let mut events = BTreeMap::new();
            for e in (*vote)?.events.iter().take(max_events) {
                events.entry(e.nonce).or_insert(e);
            }
            Some((power, events))
        })
        .collect();
    let mut next = state.next_nonce()?;
    let mut applied = Vec::new();
    loop {
        let mut tally: BTreeMap<Vec<u8>, (u128, &L1Event)> = BTreeMap::new();
        for (power, events) in &by_voter {
            if let Some(e) = events.get(&next) {
                let entry = tally.entry(e.encode_to_vec()).or_insert((0, e));
                entry.0 += power;
            }
        }
        let Some((_, (_, event))) = tally
            .into_iter()
            .find(|(_, (power, _))| supermajority(*power, total))
        else {
            break;
        };
        // An id already applied under another nonce would be a contract bug or a forged event;
        // the nonce is still consumed so the sequence never stalls on it.
        let duplicate = state.applied_id(&event.tx_hash, event.log_index)?.is_some();
        let event = event.clone();
        state.put_applied_event(&AppliedEvent {
            event: Some(event.clone()),
            height,
        });
        next += 1;
        state.put_next_nonce(next);
        if !duplicate {
            applied.push(event);
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BridgeRead, Payload};
    use seqpool_proto::bridge::v1::OtherEvent;
    use seqpool_store::{StateDelta, Storage};

    fn event(nonce: u64, name: &str) -> L1Event {
        L1Event {
            nonce,
            tx_hash: vec![nonce as u8; 32],
            log_index: 0,
            block_number: nonce,
            payload: Some(Payload::Other(OtherEvent { name: name.into() })),
        }
    }

    fn vote(events: &[L1Event]) -> BridgeVote {
        BridgeVote {
            events: events.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn supermajority_gap_and_exactly_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let (e1, e2, e3) = (event(1, "a"), event(2, "b"), event(3, "c"));
        let full = vote(&[e1.clone(), e2.clone()]);
        let gap = vote(std::slice::from_ref(&e3));
        let forged = vote(&[event(1, "forged")]);
        // Exactly 2/3 is not enough.
        let two_thirds = [(10, Some(&full)), (10, Some(&full)), (10, Some(&forged))];
        assert!(apply_attested(&mut state, &two_thirds, 30, 5)
            .expect("apply")
            .is_empty());
        assert_eq!(state.next_nonce().expect("nonce"), 1);
        // A gap (nonce 3 without 1) waits even with everyone's support.
        let all_gap = [(10, Some(&gap)), (10, Some(&gap)), (10, Some(&gap))];
        assert!(apply_attested(&mut state, &all_gap, 30, 5)
            .expect("apply")
            .is_empty());
        // More than 2/3 applies 1 and 2 in order; 3 is still missing for most voters.
        let with_three = vote(&[e1.clone(), e2.clone(), e3.clone()]);
        let enough = [(10, Some(&full)), (11, Some(&with_three)), (10, None)];
        let applied = apply_attested(&mut state, &enough, 31, 6).expect("apply");
        assert_eq!(applied, vec![e1.clone(), e2.clone()]);
        assert_eq!(state.next_nonce().expect("nonce"), 3);
        // The same commit again applies nothing twice.
        assert!(apply_attested(&mut state, &enough, 31, 7)
            .expect("apply")
            .is_empty());
        assert_eq!(
            state
                .applied_event(2)
                .expect("get")
                .map(|a| (a.height, a.event)),
            Some((6, Some(e2)))
        );
    }

    #[test]
    fn checks_votes() {
        assert!(check_vote(&vote(&[event(1, "a"), event(2, "b")]), 2).is_ok());
        assert!(check_vote(&vote(&[event(1, "a"), event(2, "b")]), 1).is_err());
        assert!(check_vote(&vote(&[event(2, "a"), event(2, "b")]), 4).is_err());
        let mut bad = event(1, "a");
        bad.tx_hash.truncate(5);
        assert!(check_vote(&vote(&[bad]), 4).is_err());
        let observed: BTreeMap<u64, L1Event> = (1..=5).map(|n| (n, event(n, "x"))).collect();
        let v = make_vote(3, &observed, 2);
        assert_eq!(
            v.events.iter().map(|e| e.nonce).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }
}
