//! L1 randomness for producer selection: validators report `block.prevrandao` of a finalized L1
//! block in their bridge section; a value applies once more than 2/3 of the power reports the same
//! (block number, value), and only if its block is newer than the last attested one. No proposer or
//! single validator chooses it, and it is unknown until its L1 block exists.
use std::collections::BTreeMap;

use seqpool_component::{Event, StateWrite, StoreError};

use crate::{AttestedRandomness, BridgeRead, BridgeVote, BridgeWrite, L1Randomness};

pub const PREVRANDAO_LEN: usize = 32;

/// Structural check of a reported value (VerifyVoteExtension).
pub fn check(r: &L1Randomness) -> Result<(), String> {
    if r.prevrandao.len() != PREVRANDAO_LEN {
        return Err(format!(
            "bridge section: L1 randomness of block {} has {} bytes, expected {PREVRANDAO_LEN}",
            r.block_number,
            r.prevrandao.len()
        ));
    }
    Ok(())
}

/// The block whose value a watcher reports: the latest multiple of `interval` at or below its
/// finalized block (`None` when turned off).
pub fn reported_block(finalized: u64, interval: u64) -> Option<u64> {
    (interval > 0).then(|| finalized - finalized % interval)
}

/// Applies the value that more than 2/3 of `total_power` report identically, if it is for a
/// block on the interval and newer than the last attested one.
pub fn apply_attested<S: StateWrite>(
    state: &mut S,
    votes: &[(i64, Option<&BridgeVote>)],
    total_power: i64,
    height: u64,
) -> Result<Vec<Event>, StoreError> {
    let interval = state.bridge_params()?.randomness_block_interval;
    if interval == 0 {
        return Ok(Vec::new());
    }
    let mut tally: BTreeMap<(u64, &[u8]), i128> = BTreeMap::new();
    for (power, vote) in votes {
        let Some(r) = vote.and_then(|v| v.randomness.as_ref()) else {
            continue;
        };
        if *power > 0 && check(r).is_ok() && r.block_number % interval == 0 {
            *tally
                .entry((r.block_number, r.prevrandao.as_slice()))
                .or_default() += i128::from(*power);
        }
    }
    let total = i128::from(total_power);
    let Some(((block_number, value), _)) =
        tally.into_iter().find(|(_, power)| power * 3 > total * 2)
    else {
        return Ok(Vec::new());
    };
    let last = state
        .attested_randomness()?
        .and_then(|a| a.randomness)
        .map(|r| r.block_number);
    if last.is_some_and(|last| block_number <= last) {
        return Ok(Vec::new());
    }
    state.put_attested_randomness(&AttestedRandomness {
        randomness: Some(L1Randomness {
            block_number,
            prevrandao: value.to_vec(),
        }),
        height,
    });
    Ok(vec![Event::new("l1_randomness_attested")
        .attr("l1_block", block_number.to_string())
        .attr("prevrandao", hex::encode(value))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_store::{StateDelta, Storage};

    fn vote(block_number: u64, byte: u8) -> BridgeVote {
        BridgeVote {
            randomness: Some(L1Randomness {
                block_number,
                prevrandao: vec![byte; 32],
            }),
            ..Default::default()
        }
    }

    fn attested(state: &StateDelta<seqpool_store::Snapshot>) -> Option<(u64, u8)> {
        state
            .attested_randomness()
            .expect("read")
            .and_then(|a| a.randomness)
            .map(|r| (r.block_number, r.prevrandao[0]))
    }

    #[test]
    fn more_than_two_thirds_same_value_newer_block_on_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let (a, b) = (vote(64, 1), vote(64, 2));
        // Exactly 2/3 for one value is not enough; a split never applies.
        let split = [(10, Some(&a)), (10, Some(&a)), (10, Some(&b))];
        assert!(apply_attested(&mut state, &split, 30, 1)
            .expect("apply")
            .is_empty());
        assert_eq!(attested(&state), None);
        let enough = [(10, Some(&a)), (10, Some(&a)), (10, Some(&a)), (10, None)];
        assert_eq!(
            apply_attested(&mut state, &enough, 40, 2)
                .expect("apply")
                .len(),
            1
        );
        assert_eq!(attested(&state), Some((64, 1)));
        // An older or equal block never replaces it.
        let old = vote(32, 3);
        let again = [(10, Some(&old)), (10, Some(&old)), (10, Some(&old))];
        assert!(apply_attested(&mut state, &again, 30, 3)
            .expect("apply")
            .is_empty());
        // A block off the interval (default 32) is not counted.
        let off = vote(65, 4);
        let off_votes = [(10, Some(&off)), (10, Some(&off)), (10, Some(&off))];
        assert!(apply_attested(&mut state, &off_votes, 30, 4)
            .expect("apply")
            .is_empty());
        // A short value is not counted either.
        let mut short = vote(96, 5);
        if let Some(r) = short.randomness.as_mut() {
            r.prevrandao.truncate(31);
        }
        assert!(check(short.randomness.as_ref().expect("set")).is_err());
        let short_votes = [(10, Some(&short)), (10, Some(&short)), (10, Some(&short))];
        assert!(apply_attested(&mut state, &short_votes, 30, 5)
            .expect("apply")
            .is_empty());
        let newer = vote(96, 6);
        let newer_votes = [(10, Some(&newer)), (10, Some(&newer)), (10, Some(&newer))];
        assert_eq!(
            apply_attested(&mut state, &newer_votes, 30, 6)
                .expect("apply")
                .len(),
            1
        );
        assert_eq!(attested(&state), Some((96, 6)));
        assert_eq!(reported_block(100, 32), Some(96));
        assert_eq!(reported_block(100, 0), None);
    }
}
