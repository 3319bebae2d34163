//! The staking section of vote extensions and the liveness counters it feeds.
use std::collections::BTreeSet;

use seqpool_component::{Event, StateWrite, StoreError};

use crate::{state_key, LivenessVote, StakingRead, StakingWrite, Validator};

/// The liveness section a validator puts in its vote for `height`.
pub fn make_vote(height: u64, last_app_hash: &[u8]) -> LivenessVote {
    LivenessVote {
        height,
        last_app_hash: last_app_hash.to_vec(),
    }
}

/// Checks another validator's liveness section against this node's own view.
pub fn check_vote(vote: &LivenessVote, height: u64, last_app_hash: &[u8]) -> Result<(), String> {
    if vote.height != height {
        return Err(format!(
            "liveness vote is for height {}, expected {height}",
            vote.height
        ));
    }
    if vote.last_app_hash != last_app_hash {
        return Err(format!(
            "liveness vote attests app hash {}, this node has {}",
            hex::encode_upper(&vote.last_app_hash),
            hex::encode_upper(last_app_hash)
        ));
    }
    Ok(())
}

/// Records, for every validator of the set that signed `votes_height`, whether its valid extension
/// was in the extended commit (`signed` holds consensus addresses), and jails for downtime (until
/// `height + downtime_jail_blocks`) a validator that missed more than
/// `liveness_window - min_signed_per_window` blocks of a full window.
pub fn record_extended_commit<S: StateWrite>(
    state: &mut S,
    height: u64,
    votes_height: u64,
    set: &[Validator],
    signed: &BTreeSet<String>,
) -> Result<Vec<Event>, StoreError> {
    let params = state.staking_params()?;
    let window = params.liveness_window.max(1);
    let max_missed = window.saturating_sub(params.min_signed_per_window);
    let mut events = Vec::new();
    let slot = (votes_height % window) as usize;
    let bytes_needed = (window as usize).div_ceil(8);
    for v in set {
        let addr = &v.consensus_address;
        let mut live = state.liveness(addr)?;
        let mut bitmap = state
            .get_raw(&state_key::missed_bitmap(addr))?
            .unwrap_or_default();
        if live.window != window {
            // `liveness_window` changed (or the record predates this field): the counters and the
            // bitmap were kept for another window size, where slots and counts no longer match
            // (stale misses in bits no slot reaches again jailed a validator that signed every
            // block). Start a fresh window at this block.
            live.window = window;
            live.signed_in_window = 0;
            live.missed_in_window = 0;
            bitmap.clear();
        }
        bitmap.resize(bytes_needed, 0);
        // Blocks recorded so far in the window, before this one.
        let recorded = live.signed_in_window.saturating_add(live.missed_in_window);
        let (byte, bit) = (slot / 8, 1u8 << (slot % 8));
        let was_missed = bitmap[byte] & bit != 0;
        if recorded >= window {
            // The slot we overwrite leaves the window.
            if was_missed {
                live.missed_in_window = live.missed_in_window.saturating_sub(1);
            } else {
                live.signed_in_window = live.signed_in_window.saturating_sub(1);
            }
        }
        if signed.contains(addr) {
            bitmap[byte] &= !bit;
            live.signed_in_window = live.signed_in_window.saturating_add(1);
            live.total_signed = live.total_signed.saturating_add(1);
            live.last_signed_height = votes_height;
        } else {
            bitmap[byte] |= bit;
            live.missed_in_window = live.missed_in_window.saturating_add(1);
            live.total_missed = live.total_missed.saturating_add(1);
        }
        state.put_raw(state_key::missed_bitmap(addr), bitmap);
        let full_window = live.signed_in_window.saturating_add(live.missed_in_window) >= window;
        let down =
            params.min_signed_per_window > 0 && full_window && live.missed_in_window > max_missed;
        state.put_liveness(&live);
        if down {
            if let Some(current) = state.validator(addr)?.filter(|v| !v.jailed) {
                let until = height.saturating_add(params.downtime_jail_blocks);
                events.push(crate::jail::jail(
                    state,
                    current,
                    crate::jail::REASON_DOWNTIME,
                    until,
                )?);
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_store::{StateDelta, Storage};

    fn validator(addr: &str) -> Validator {
        Validator {
            consensus_address: addr.into(),
            power: 1,
            ..Default::default()
        }
    }

    #[test]
    fn window_slides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        state.put_staking_params(&crate::Params {
            liveness_window: 4,
            ..Default::default()
        });
        let set = vec![validator("A"), validator("B")];
        let only_a: BTreeSet<String> = ["A".to_string()].into();
        for h in 1..=6 {
            record_extended_commit(&mut state, h + 1, h, &set, &only_a).expect("record");
        }
        let a = state.liveness("A").expect("a");
        let b = state.liveness("B").expect("b");
        assert_eq!(
            (a.signed_in_window, a.missed_in_window, a.total_signed),
            (4, 0, 6)
        );
        assert_eq!(
            (b.signed_in_window, b.missed_in_window, b.total_missed),
            (0, 4, 6)
        );
        let both: BTreeSet<String> = ["A".to_string(), "B".to_string()].into();
        record_extended_commit(&mut state, 8, 7, &set, &both).expect("record");
        let b = state.liveness("B").expect("b");
        assert_eq!(
            (b.signed_in_window, b.missed_in_window, b.last_signed_height),
            (1, 3, 7)
        );
        assert!(check_vote(&make_vote(7, b"h"), 7, b"h").is_ok());
        assert!(check_vote(&make_vote(7, b"h"), 8, b"h").is_err());
        assert!(check_vote(&make_vote(7, b"h"), 7, b"x").is_err());
    }

    /// Hardening point 5: `liveness_window` changes from 8 to 4 after B missed heights 5-7, whose
    /// bits no slot of a 4-block window reaches again. Before, those misses stayed counted: B,
    /// signing every block since, was jailed for downtime at the first full window. Now the
    /// change starts a fresh window.
    #[test]
    fn a_window_change_starts_a_fresh_window_and_jails_no_signer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let params = |window, min_signed| crate::Params {
            liveness_window: window,
            min_signed_per_window: min_signed,
            downtime_jail_blocks: 10,
            slash_double_sign_bps: 0,
        };
        state.put_staking_params(&params(8, 0));
        let set = vec![validator("A"), validator("B")];
        for v in &set {
            state.put_validator(v);
        }
        let both: BTreeSet<String> = ["A".to_string(), "B".to_string()].into();
        let only_a: BTreeSet<String> = ["A".to_string()].into();
        for h in 1..=8 {
            let signed = if (5..=7).contains(&h) { &only_a } else { &both };
            record_extended_commit(&mut state, h + 1, h, &set, signed).expect("record");
        }
        assert_eq!(state.liveness("B").expect("b").missed_in_window, 3);
        state.put_staking_params(&params(4, 2));
        for h in 9..=20 {
            let events = record_extended_commit(&mut state, h + 1, h, &set, &both).expect("record");
            assert!(events.is_empty(), "height {h}: {events:?}");
            let b = state.liveness("B").expect("b");
            assert!(b.signed_in_window + b.missed_in_window <= 4, "{b:?}");
        }
        assert!(!state.validator("B").expect("read").expect("b").jailed);
        let b = state.liveness("B").expect("b");
        assert_eq!(
            (
                b.signed_in_window,
                b.missed_in_window,
                b.window,
                b.total_missed
            ),
            (4, 0, 4, 3)
        );
        // And back to a larger window: fresh again, no underflow of the counts it had.
        state.put_staking_params(&params(16, 8));
        record_extended_commit(&mut state, 22, 21, &set, &only_a).expect("record");
        let b = state.liveness("B").expect("b");
        assert_eq!(
            (b.signed_in_window, b.missed_in_window, b.window),
            (0, 1, 16)
        );
    }

    #[test]
    fn a_full_window_of_misses_jails_once_with_a_cool_down() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        state.put_staking_params(&crate::Params {
            liveness_window: 4,
            min_signed_per_window: 2,
            downtime_jail_blocks: 10,
            slash_double_sign_bps: 0,
        });
        let set = vec![validator("A"), validator("B")];
        for v in &set {
            state.put_validator(v);
        }
        let only_a: BTreeSet<String> = ["A".to_string()].into();
        // B misses 3 of the first 4 heights: 3 > 4 - 2, but only once the window is full.
        let mut events = Vec::new();
        for h in 1..=3 {
            let signed = if h == 1 {
                ["A".to_string(), "B".to_string()].into()
            } else {
                only_a.clone()
            };
            events.extend(record_extended_commit(&mut state, h + 1, h, &set, &signed).expect("r"));
        }
        assert!(events.is_empty(), "no full window yet");
        let events = record_extended_commit(&mut state, 5, 4, &set, &only_a).expect("record");
        assert_eq!(events.len(), 1);
        let b = state.validator("B").expect("read").expect("b");
        assert!(b.jailed);
        assert_eq!(
            (b.jailed_until_height, b.jail_reason.as_str()),
            (15, "downtime")
        );
        assert!(!state.validator("A").expect("read").expect("a").jailed);
        // Still in the set for two more heights: it is not jailed again.
        let events = record_extended_commit(&mut state, 6, 5, &set, &only_a).expect("record");
        assert!(events.is_empty());
        // Turned off (min_signed_per_window 0): an unjailed B missing every block is never jailed.
        state.put_staking_params(&crate::Params {
            liveness_window: 4,
            ..Default::default()
        });
        state.put_validator(&validator("B"));
        for h in 6..=12 {
            assert!(record_extended_commit(&mut state, h + 1, h, &set, &only_a)
                .expect("record")
                .is_empty());
        }
    }
}
