//! L1 receipts of group-signed payloads (BatchAppended, GroupKeySet/GroupKeyRotated,
//! RewardsDistributed, Governance.ActionExecuted / ActionFailed) in the bridge section: checked like events, and taken as attested when
//! validators with more than 2/3 of the power list the byte-identical receipt in one extended
//! commit. There is no nonce sequence: the module that consumes a receipt (x/mpc) makes applying
//! it twice a no-op, and validators stop listing it once their state shows it recorded.
use std::collections::BTreeMap;

use prost::Message;

use crate::{l1_receipt::Payload, BridgeVote, L1Receipt};

/// Checks the receipts of a bridge section: bounded, 32-byte tx hash, a payload, no id twice.
pub fn check_receipts(vote: &BridgeVote, max: u32) -> Result<(), String> {
    if vote.receipts.len() > max as usize {
        return Err(format!(
            "bridge section lists {} receipts, at most {max} are allowed",
            vote.receipts.len()
        ));
    }
    let mut seen = BTreeMap::new();
    for r in &vote.receipts {
        if r.tx_hash.len() != 32 {
            return Err(format!(
                "bridge section: a receipt has a {}-byte tx hash, expected 32",
                r.tx_hash.len()
            ));
        }
        let Some(payload) = &r.payload else {
            return Err("bridge section: a receipt has no payload".into());
        };
        check_payload(payload)?;
        if seen.insert((r.tx_hash.clone(), r.log_index), ()).is_some() {
            return Err(format!(
                "bridge section: receipt 0x{}:{} listed twice",
                hex::encode(&r.tx_hash),
                r.log_index
            ));
        }
    }
    Ok(())
}

/// The most revert data an ActionFailed receipt carries: enough for a custom error with a few
/// words. Watchers cut longer data at this length, all the same, so receipts stay byte-identical.
pub const MAX_REVERT_DATA: usize = 256;

fn check_payload(payload: &Payload) -> Result<(), String> {
    let words: Vec<(&str, &[u8])> = match payload {
        Payload::BatchAppended(b) => vec![
            ("l2_blocks_root", &b.l2_blocks_root),
            ("l2_state_root", &b.l2_state_root),
        ],
        Payload::GroupKeySet(k) => vec![("px", &k.px), ("py", &k.py)],
        Payload::GroupKeyRotated(k) => vec![
            ("old_px", &k.old_px),
            ("old_py", &k.old_py),
            ("new_px", &k.new_px),
            ("new_py", &k.new_py),
        ],
        Payload::RewardsDistributed(_) => vec![],
        Payload::ActionExecuted(a) => {
            check_len("target", &a.target, 20)?;
            check_len("selector", &a.selector, 4)?;
            vec![]
        }
        Payload::ActionFailed(a) => {
            check_len("target", &a.target, 20)?;
            check_len("selector", &a.selector, 4)?;
            if a.revert_data.len() > MAX_REVERT_DATA {
                return Err(format!(
                    "bridge section: receipt revert_data has {} bytes, at most {MAX_REVERT_DATA}",
                    a.revert_data.len()
                ));
            }
            vec![]
        }
    };
    for (name, bytes) in words {
        check_len(name, bytes, 32)?;
    }
    Ok(())
}

fn check_len(name: &str, bytes: &[u8], expected: usize) -> Result<(), String> {
    if bytes.len() != expected {
        return Err(format!(
            "bridge section: receipt field {name} has {} bytes, expected {expected}",
            bytes.len()
        ));
    }
    Ok(())
}

fn supermajority(power: u128, total: u128) -> bool {
    power * 3 > total * 2
}

/// The receipts that validators with more than 2/3 of `total_power` list byte-identically in this
/// extended commit (`votes`: each voter's power and bridge section), in (L1 block, log index)
/// order. Each voter counts once per receipt and only for its first `max` receipts.
pub fn attested_receipts(
    votes: &[(i64, Option<&BridgeVote>)],
    total_power: i64,
    max: u32,
) -> Vec<L1Receipt> {
    let total = u128::try_from(total_power).unwrap_or(0);
    // Keyed by (block, log index, encoding) so the order is the L1 order and deterministic.
    let mut tally: BTreeMap<(u64, u64, Vec<u8>), (u128, &L1Receipt)> = BTreeMap::new();
    for (power, vote) in votes {
        let (Ok(power), Some(vote)) = (u128::try_from(*power), vote) else {
            continue;
        };
        let mut counted = BTreeMap::new();
        for r in vote.receipts.iter().take(max as usize) {
            let bytes = r.encode_to_vec();
            if counted.insert(bytes.clone(), ()).is_some() {
                continue;
            }
            let entry = tally
                .entry((r.block_number, r.log_index, bytes))
                .or_insert((0, r));
            entry.0 += power;
        }
    }
    tally
        .into_values()
        .filter(|(power, _)| supermajority(*power, total))
        .map(|(_, r)| r.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_proto::bridge::v1::{ActionExecuted, BatchAppended, GroupKeySet};

    fn batch(index: u64, block: u64) -> L1Receipt {
        L1Receipt {
            tx_hash: vec![index as u8; 32],
            log_index: 0,
            block_number: block,
            payload: Some(Payload::BatchAppended(BatchAppended {
                batch_index: index,
                l2_start_block: 1,
                l2_end_block: 5,
                l2_blocks_root: vec![1; 32],
                l2_state_root: vec![2; 32],
            })),
        }
    }

    fn vote(receipts: &[L1Receipt]) -> BridgeVote {
        BridgeVote {
            receipts: receipts.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn more_than_two_thirds_of_identical_receipts_in_l1_order() {
        let (r0, r1) = (batch(0, 20), batch(1, 10));
        let mut forged = r0.clone();
        if let Some(Payload::BatchAppended(b)) = &mut forged.payload {
            b.l2_state_root = vec![9; 32];
        }
        let full = vote(&[r0.clone(), r1.clone()]);
        let only_forged = vote(std::slice::from_ref(&forged));
        // Exactly 2/3 attests nothing; a voter listing a receipt twice counts once.
        let doubled = vote(&[r1.clone(), r1.clone()]);
        let votes = [
            (10, Some(&full)),
            (11, Some(&doubled)),
            (10, Some(&only_forged)),
        ];
        assert_eq!(attested_receipts(&votes, 31, 8), vec![r1.clone()]);
        let votes = [
            (10, Some(&full)),
            (10, Some(&doubled)),
            (10, Some(&only_forged)),
        ];
        assert!(attested_receipts(&votes, 30, 8).is_empty());
        let votes = [(10, Some(&full)), (10, Some(&full)), (10, None)];
        assert!(attested_receipts(&votes, 30, 8).is_empty());
        let votes = [(10, Some(&full)), (11, Some(&full)), (10, None)];
        assert_eq!(attested_receipts(&votes, 31, 8), vec![r1, r0]);
        // Only the first `max` receipts of a voter count.
        let votes = [(10, Some(&full)), (11, Some(&full)), (10, None)];
        assert_eq!(attested_receipts(&votes, 31, 1).len(), 1);
    }

    #[test]
    fn malformed_receipts_are_refused() {
        assert!(check_receipts(&vote(&[batch(0, 1), batch(1, 1)]), 2).is_ok());
        assert!(check_receipts(&vote(&[batch(0, 1), batch(1, 1)]), 1).is_err());
        assert!(check_receipts(&vote(&[batch(0, 1), batch(0, 1)]), 4).is_err());
        let mut short = batch(0, 1);
        short.tx_hash.truncate(4);
        assert!(check_receipts(&vote(&[short]), 4).is_err());
        let mut empty = batch(0, 1);
        empty.payload = None;
        assert!(check_receipts(&vote(&[empty]), 4).is_err());
        let bad_key = L1Receipt {
            tx_hash: vec![0; 32],
            payload: Some(Payload::GroupKeySet(GroupKeySet {
                key_nonce: 1,
                px: vec![1; 31],
                py: vec![1; 32],
            })),
            ..Default::default()
        };
        assert!(check_receipts(&vote(&[bad_key]), 4).is_err());
        let action = |target: usize, selector: usize| L1Receipt {
            tx_hash: vec![0; 32],
            payload: Some(Payload::ActionExecuted(ActionExecuted {
                target: vec![1; target],
                selector: vec![2; selector],
                action_nonce: 3,
            })),
            ..Default::default()
        };
        assert!(check_receipts(&vote(&[action(20, 4)]), 4).is_ok());
        assert!(check_receipts(&vote(&[action(32, 4)]), 4).is_err());
        assert!(check_receipts(&vote(&[action(20, 32)]), 4).is_err());
    }
}
