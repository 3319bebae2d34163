//! Sequencers from LockingPool events (applied by x/bridge once attested) and the CometBFT
//! validator updates they cause.
//!
//! Voting power is the locked stake in whole tokens: `power = stake_wei / 10^18`, capped per
//! validator at [`MAX_VALIDATOR_POWER`] (2^50) so that even 100 validators stay far below
//! CometBFT's total-power cap of 2^60/8 = 2^57. A stake under one token gives power 0 (not in the
//! set). The sequencer's signer key (64-byte uncompressed secp256k1 key from the lock) is its
//! CometBFT consensus key, and the account of that key operates the validator.
use seqpool_auth::AuthWrite;
use seqpool_component::{address, Event, StateRead, StateReadProto, StateWrite, StoreError};
use seqpool_proto::bridge::v1::{l1_event::Payload, L1Event};

use crate::genesis::consensus_address;
use crate::{state_key, StakingRead, StakingWrite, Validator, ValidatorSet};

pub const POWER_UNIT_WEI: u128 = 1_000_000_000_000_000_000;
pub const MAX_VALIDATOR_POWER: i64 = 1 << 50;

/// Voting power of a stake given in wei (decimal).
pub fn power_from_stake(wei: &str) -> Result<i64, String> {
    let stake: u128 = wei
        .parse()
        .map_err(|_| format!("stake {wei:?} is not a decimal amount of wei below 2^128"))?;
    Ok(i64::try_from(stake / POWER_UNIT_WEI)
        .unwrap_or(MAX_VALIDATOR_POWER)
        .min(MAX_VALIDATOR_POWER))
}

/// Compressed (33-byte) form of the 64-byte uncompressed key LockingPool events carry.
pub fn compress_signer_pubkey(raw: &[u8]) -> Result<Vec<u8>, String> {
    if raw.len() != 64 {
        return Err(format!(
            "signer public key has {} bytes, expected 64",
            raw.len()
        ));
    }
    let sec1 = [&[4u8][..], raw].concat();
    let key = k256::PublicKey::from_sec1_bytes(&sec1)
        .map_err(|_| "signer public key is not a point of secp256k1".to_string())?;
    Ok(
        k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, true)
            .as_bytes()
            .to_vec(),
    )
}

pub use crate::keys::eth_address;

fn sequencer_key(id: u64) -> Vec<u8> {
    [b"staking/sequencer/".as_slice(), &id.to_be_bytes()[..]].concat()
}

fn sequencer_validator<S: StateRead>(state: &S, id: u64) -> Result<Option<Validator>, StoreError> {
    match state.get_raw(&sequencer_key(id))? {
        None => Ok(None),
        Some(addr) => state.validator(&String::from_utf8_lossy(&addr)),
    }
}

fn put_sequencer<S: StateWrite>(state: &mut S, v: &Validator) {
    state.put_validator(v);
    state.put_raw(
        sequencer_key(v.sequencer_id),
        v.consensus_address.as_bytes().to_vec(),
    );
}

fn remove_validator<S: StateWrite>(state: &mut S, v: &Validator) {
    state.delete(state_key::validator(&v.consensus_address));
}

/// Applies one attested L1 event to the sequencer set. An event that cannot apply (unknown
/// sequencer, bad key) is reported in the returned events and changes nothing: the nonce is
/// consumed either way so one bad event never stalls the bridge.
pub fn apply_l1_event<S: StateWrite>(
    state: &mut S,
    event: &L1Event,
) -> Result<Vec<Event>, StoreError> {
    let outcome = match &event.payload {
        Some(Payload::Locked(l)) => lock(state, l.sequencer_id, &l.signer_pubkey, &l.amount),
        Some(Payload::Relocked(r)) => relock(state, r.sequencer_id, &r.amount),
        Some(Payload::UnlockInit(u)) => match sequencer_validator(state, u.sequencer_id)? {
            Some(v) => {
                remove_validator(state, &v);
                state.delete(sequencer_key(u.sequencer_id));
                Ok(format!(
                    "sequencer {} leaves, validator {} removed",
                    u.sequencer_id, v.consensus_address
                ))
            }
            None => Err(format!("unlock of unknown sequencer {}", u.sequencer_id)),
        },
        Some(Payload::SignerChange(c)) => change_signer(state, c.sequencer_id, &c.signer_pubkey),
        Some(Payload::WhitelistChanged(w)) => {
            let key = [b"staking/l1/whitelist/".as_slice(), &w.owner].concat();
            if w.allowed {
                state.put_raw(key, vec![1]);
            } else {
                state.delete(key);
            }
            Ok(format!(
                "whitelist 0x{} = {}",
                hex::encode(&w.owner),
                w.allowed
            ))
        }
        Some(Payload::MinLockChanged(b)) => {
            state.put_raw(MIN_LOCK_KEY.to_vec(), b.new_value.as_bytes().to_vec());
            Ok(format!("min lock {}", b.new_value))
        }
        Some(Payload::MaxLockChanged(b)) => {
            state.put_raw(
                b"staking/l1/max_lock".to_vec(),
                b.new_value.as_bytes().to_vec(),
            );
            Ok(format!("max lock {}", b.new_value))
        }
        Some(Payload::Slashed(s)) => slash(state, s.sequencer_id, &s.amount),
        Some(Payload::Other(o)) => Ok(format!("{} (no effect here)", o.name)),
        None => Err("event without payload".into()),
    };
    let base = Event::new("l1_event")
        .attr("nonce", event.nonce.to_string())
        .attr(
            "id",
            format!("0x{}:{}", hex::encode(&event.tx_hash), event.log_index),
        );
    Ok(vec![match outcome {
        Ok(effect) => base.attr("effect", effect),
        Err(reason) => base.attr("rejected", reason),
    }])
}

fn lock<S: StateWrite>(
    state: &mut S,
    id: u64,
    raw_pubkey: &[u8],
    amount: &str,
) -> Result<String, String> {
    let pub_key = compress_signer_pubkey(raw_pubkey)?;
    let power = power_from_stake(amount)?;
    let addr = consensus_address(&pub_key);
    if let Ok(Some(existing)) = sequencer_validator(state, id) {
        return Err(format!(
            "sequencer {id} is already validator {}",
            existing.consensus_address
        ));
    }
    let existing = state.validator(&addr).map_err(|e| e.to_string())?;
    let v = match existing {
        // A genesis validator mirrored from L1: the lock names its sequencer id and stake.
        Some(v) if v.sequencer_id == 0 => Validator {
            sequencer_id: id,
            stake: amount.to_string(),
            power,
            ..v
        },
        Some(v) => {
            return Err(format!(
                "signer key of sequencer {id} is already used by sequencer {}",
                v.sequencer_id
            ))
        }
        None => {
            let operator = address::account_address(&pub_key);
            state.ensure_account(&operator).map_err(|e| e.to_string())?;
            Validator {
                name: format!("sequencer-{id}"),
                operator,
                consensus_pub_key: pub_key,
                consensus_address: addr.clone(),
                power,
                sequencer_id: id,
                stake: amount.to_string(),
                ..Default::default()
            }
        }
    };
    put_sequencer(state, &v);
    Ok(format!(
        "sequencer {id} locked {amount} wei: validator {addr} with power {power}"
    ))
}

/// LockingPool's minLock as the last MinLockChanged event set it (wei, decimal).
const MIN_LOCK_KEY: &[u8] = b"staking/l1/min_lock";

/// Voting power of a sequencer's stake: 0 below the pool's minLock (only a slash brings a stake
/// there; the validator leaves the CometBFT set but keeps its record, so a relock back above the
/// minimum restores it), else [`power_from_stake`]. Without a recorded minLock (no MinLockChanged
/// seen yet) only the whole-token rule applies.
fn sequencer_power<S: StateRead>(state: &S, stake: &str) -> Result<i64, String> {
    let min_lock = state
        .get_raw(MIN_LOCK_KEY)
        .map_err(|e| e.to_string())?
        .and_then(|raw| String::from_utf8_lossy(&raw).parse::<u128>().ok());
    let below_min = match (min_lock, stake.parse::<u128>()) {
        (Some(min), Ok(stake)) => stake < min,
        _ => false,
    };
    if below_min {
        return Ok(0);
    }
    power_from_stake(stake)
}

fn relock<S: StateWrite>(state: &mut S, id: u64, amount: &str) -> Result<String, String> {
    let mut v = sequencer_validator(state, id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("relock of unknown sequencer {id}"))?;
    v.power = sequencer_power(state, amount)?;
    v.stake = amount.to_string();
    put_sequencer(state, &v);
    Ok(format!(
        "sequencer {id} stake {amount} wei: power {}",
        v.power
    ))
}

/// A Slashed event: the validator's stake drops by the slashed amount (already capped on L1) and
/// its power follows ([`sequencer_power`]: 0 below minLock). A sequencer that is no validator here
/// (unlocking: removed at UnlockInit) loses stake only on L1.
fn slash<S: StateWrite>(state: &mut S, id: u64, amount: &str) -> Result<String, String> {
    let slashed: u128 = amount
        .parse()
        .map_err(|_| format!("slashed amount {amount:?} is not a decimal below 2^128"))?;
    let Some(mut v) = sequencer_validator(state, id).map_err(|e| e.to_string())? else {
        return Ok(format!(
            "sequencer {id} slashed {amount} wei on L1; not a validator here"
        ));
    };
    let stake: u128 = if v.stake.is_empty() {
        0
    } else {
        v.stake
            .parse()
            .map_err(|_| format!("stake {:?} of sequencer {id} is not a decimal", v.stake))?
    };
    let left = stake.saturating_sub(slashed).to_string();
    v.power = sequencer_power(state, &left)?;
    v.stake = left;
    put_sequencer(state, &v);
    Ok(format!(
        "sequencer {id} slashed {amount} wei: stake {} wei, power {}",
        v.stake, v.power
    ))
}

fn change_signer<S: StateWrite>(
    state: &mut S,
    id: u64,
    raw_pubkey: &[u8],
) -> Result<String, String> {
    let old = sequencer_validator(state, id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("signer change of unknown sequencer {id}"))?;
    let pub_key = compress_signer_pubkey(raw_pubkey)?;
    let addr = consensus_address(&pub_key);
    if state.validator(&addr).map_err(|e| e.to_string())?.is_some() {
        return Err(format!(
            "new signer key of sequencer {id} is already validator {addr}"
        ));
    }
    let operator = address::account_address(&pub_key);
    state.ensure_account(&operator).map_err(|e| e.to_string())?;
    remove_validator(state, &old);
    let new = Validator {
        consensus_pub_key: pub_key,
        consensus_address: addr.clone(),
        operator,
        ..old.clone()
    };
    put_sequencer(state, &new);
    Ok(format!(
        "sequencer {id} signer {} -> {addr}",
        old.consensus_address
    ))
}

/// The latest recorded consensus set (the one in force from the highest recorded height).
fn latest_consensus_set<S: StateRead>(state: &S) -> Result<Vec<Validator>, StoreError> {
    Ok(state
        .prefix_proto::<ValidatorSet>(state_key::consensus_sets_prefix())?
        .pop()
        .map(|(_, s)| s.validators)
        .unwrap_or_default())
}

/// Compares the unjailed validators with power with the latest recorded consensus set; when they differ,
/// records the new set as in force from `height + 2` (CometBFT applies updates returned at `height`
/// from `height + 2`) and returns the updates (power 0 = removal). An empty new set is refused
/// (CometBFT cannot run without validators): the current set stays.
pub fn validator_updates<S: StateWrite>(
    state: &mut S,
    height: u64,
) -> Result<Vec<Validator>, StoreError> {
    let new: Vec<Validator> = state
        .validators()?
        .into_iter()
        .filter(|v| v.power > 0 && !v.jailed)
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let old = latest_consensus_set(state)?;
    let key = |v: &Validator| {
        (
            v.consensus_address.clone(),
            v.consensus_pub_key.clone(),
            v.power,
        )
    };
    let old_keys: std::collections::BTreeSet<_> = old.iter().map(key).collect();
    let new_addrs: std::collections::BTreeSet<_> =
        new.iter().map(|v| v.consensus_address.clone()).collect();
    let mut updates: Vec<Validator> = new
        .iter()
        .filter(|v| !old_keys.contains(&key(v)))
        .cloned()
        .collect();
    updates.extend(
        old.iter()
            .filter(|v| !new_addrs.contains(&v.consensus_address))
            .map(|v| Validator {
                power: 0,
                ..v.clone()
            }),
    );
    if !updates.is_empty() {
        state.put_consensus_set(height.saturating_add(2), new);
    }
    Ok(crate::state::sort_cometbft(updates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_is_whole_tokens_capped() {
        assert_eq!(power_from_stake("0"), Ok(0));
        assert_eq!(power_from_stake("999999999999999999"), Ok(0));
        assert_eq!(power_from_stake("250000000000000000000"), Ok(250));
        assert_eq!(
            power_from_stake(&u128::MAX.to_string()),
            Ok(MAX_VALIDATOR_POWER)
        );
        assert!(power_from_stake("-1").is_err());
        assert!(power_from_stake("1e18").is_err());
        // 100 validators at the cap stay below CometBFT's total power limit (2^60 / 8).
        const { assert!(100 * MAX_VALIDATOR_POWER < (1i64 << 60) / 8) };
    }

    #[test]
    fn signer_pubkey_compression() {
        assert!(compress_signer_pubkey(&[1; 63]).is_err());
        assert!(compress_signer_pubkey(&[7; 64]).is_err());
        let secret = k256::SecretKey::from_slice(&[3; 32]).expect("key");
        let public = secret.public_key();
        let raw = k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
        let compressed =
            k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, true);
        assert_eq!(
            compress_signer_pubkey(&raw.as_bytes()[1..]),
            Ok(compressed.as_bytes().to_vec())
        );
    }

    #[test]
    fn jailed_and_relocked_in_one_block_gives_one_removal() {
        use crate::StakingWrite;
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = seqpool_store::Storage::open(dir.path()).expect("open");
        let mut state = seqpool_store::StateDelta::new(storage.latest_snapshot());
        let set: Vec<Validator> = ["A", "B"]
            .iter()
            .map(|a| Validator {
                consensus_address: a.to_string(),
                power: 10,
                ..Default::default()
            })
            .collect();
        for v in &set {
            state.put_validator(v);
        }
        state.put_consensus_set(1, set.clone());
        // In the same block: a relock raises A's power and A is jailed (twice, by two causes).
        let mut a = set[0].clone();
        a.power = 20;
        state.put_validator(&a);
        let jailed =
            crate::jail::jail(&mut state, a, crate::jail::REASON_DOWNTIME, 9).expect("jail");
        assert_eq!(jailed.kind, "validator_jailed");
        let again = state.validator("A").expect("read").expect("a");
        crate::jail::jail(&mut state, again, crate::jail::REASON_PRODUCER_STALLS, 5).expect("jail");
        let updates = validator_updates(&mut state, 7).expect("updates");
        assert_eq!(updates.len(), 1);
        assert_eq!(
            (updates[0].consensus_address.as_str(), updates[0].power),
            ("A", 0)
        );
        // The longer cool-down is kept.
        let a = state.validator("A").expect("read").expect("a");
        assert_eq!(a.jailed_until_height, 9);
        // Nothing changed since: no updates at the next height.
        assert!(validator_updates(&mut state, 8)
            .expect("updates")
            .is_empty());
    }
}
