//! The staking section of vote extensions and the liveness counters it feeds.
use std::collections::BTreeSet;

use seqpool_component::{StateWrite, StoreError};

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
/// was in the extended commit (`signed` holds consensus addresses).
pub fn record_extended_commit<S: StateWrite>(
    state: &mut S,
    votes_height: u64,
    set: &[Validator],
    signed: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let window = state.staking_params()?.liveness_window.max(1);
    let slot = (votes_height % window) as usize;
    let bytes_needed = (window as usize).div_ceil(8);
    for v in set {
        let addr = &v.consensus_address;
        let mut live = state.liveness(addr)?;
        let mut bitmap = state
            .get_raw(&state_key::missed_bitmap(addr))?
            .unwrap_or_default();
        bitmap.resize(bytes_needed, 0);
        // Blocks recorded so far in the window, before this one.
        let recorded = live.signed_in_window + live.missed_in_window;
        let (byte, bit) = (slot / 8, 1u8 << (slot % 8));
        let was_missed = bitmap[byte] & bit != 0;
        if recorded >= window {
            // The slot we overwrite leaves the window.
            if was_missed {
                live.missed_in_window -= 1;
            } else {
                live.signed_in_window -= 1;
            }
        }
        if signed.contains(addr) {
            bitmap[byte] &= !bit;
            live.signed_in_window += 1;
            live.total_signed += 1;
            live.last_signed_height = votes_height;
        } else {
            bitmap[byte] |= bit;
            live.missed_in_window += 1;
            live.total_missed += 1;
        }
        state.put_raw(state_key::missed_bitmap(addr), bitmap);
        state.put_liveness(&live);
    }
    Ok(())
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
        state.put_staking_params(&crate::Params { liveness_window: 4 });
        let set = vec![validator("A"), validator("B")];
        let only_a: BTreeSet<String> = ["A".to_string()].into();
        for h in 1..=6 {
            record_extended_commit(&mut state, h, &set, &only_a).expect("record");
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
        record_extended_commit(&mut state, 7, &set, &both).expect("record");
        let b = state.liveness("B").expect("b");
        assert_eq!(
            (b.signed_in_window, b.missed_in_window, b.last_signed_height),
            (1, 3, 7)
        );
        assert!(check_vote(&make_vote(7, b"h"), 7, b"h").is_ok());
        assert!(check_vote(&make_vote(7, b"h"), 8, b"h").is_err());
        assert!(check_vote(&make_vote(7, b"h"), 7, b"x").is_err());
    }
}
