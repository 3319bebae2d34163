use seqpool_component::TxError;
use sha3::{Digest, Keccak256};

use crate::{AllowedL1Call, Params};

pub const MODULE: &str = "gov";

/// The devnet's params: short periods so that a proposal is decided within a minute. The
/// production template (genesis/production.json) sets a week and a day.
pub fn default_params() -> Params {
    Params {
        voting_period_seconds: 20,
        expedited_voting_period_seconds: 8,
        quorum_bps: 3340,
        threshold_bps: 5000,
        veto_threshold_bps: 3340,
        expedited_threshold_bps: 6670,
        max_open_proposals_per_proposer: 4,
        max_messages: 16,
        max_proposal_bytes: 16 * 1024,
        max_title_chars: 140,
        max_metadata_chars: 255,
        allowed_l1_calls: default_allowed_l1_calls(),
    }
}

/// The deployment's contracts a governance action may name (their addresses are x/mpc's
/// `params.l1`).
pub const L1_CONTRACTS: [&str; 4] = [
    "LockingPool",
    "BatchInbox",
    "GroupKeyRegistry",
    "Governance",
];

/// LockingPool's admin functions, slashing excepted (a slash is a SLASHING request from a
/// slash record of x/staking, never a free-form action).
pub fn default_allowed_l1_calls() -> Vec<AllowedL1Call> {
    [
        "setWhitelist(address,bool)",
        "setMinLock(uint256)",
        "setMaxLock(uint256)",
        "setRewardPerBlock(uint256)",
        "setWithdrawalDelay(uint256)",
        "setSignerUpdateThrottle(uint256)",
        "setRewardPayer(address)",
        "setPaused(bool)",
    ]
    .into_iter()
    .map(|f| AllowedL1Call {
        contract: "LockingPool".into(),
        function: f.into(),
    })
    .collect()
}

/// The 4-byte selector of a Solidity signature.
pub fn selector(function: &str) -> [u8; 4] {
    let hash = Keccak256::digest(function.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The allow-list entry that lets a governance action call `data` on the contract named
/// `contract`, if one does.
pub fn allowed_call<'a>(
    params: &'a Params,
    contract: &str,
    data: &[u8],
) -> Option<&'a AllowedL1Call> {
    let called = data.get(..4)?;
    params
        .allowed_l1_calls
        .iter()
        .find(|a| a.contract == contract && selector(&a.function) == called)
}

/// Most entries of the allow-list.
const MAX_ALLOWED_L1_CALLS: usize = 64;

fn check_allowed_l1_calls(calls: &[AllowedL1Call]) -> Result<(), TxError> {
    if calls.len() > MAX_ALLOWED_L1_CALLS {
        return Err(TxError::invalid_message(format!(
            "gov.allowed_l1_calls has {} entries, at most {MAX_ALLOWED_L1_CALLS}",
            calls.len()
        )));
    }
    for c in calls {
        if !L1_CONTRACTS.contains(&c.contract.as_str()) {
            return Err(TxError::invalid_message(format!(
                "gov.allowed_l1_calls: {:?} is not one of {L1_CONTRACTS:?}",
                c.contract
            )));
        }
        let f = &c.function;
        let well_formed = f.len() <= 256
            && f.ends_with(')')
            && f.find('(').is_some_and(|i| i > 0)
            && !f.contains(char::is_whitespace);
        if !well_formed {
            return Err(TxError::invalid_message(format!(
                "gov.allowed_l1_calls: {f:?} is not a Solidity signature like setMaxLock(uint256)"
            )));
        }
    }
    Ok(())
}

/// Longest voting period: a year.
const MAX_PERIOD_SECONDS: u64 = 365 * 24 * 3600;

fn within<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    low: T,
    high: T,
) -> Result<(), TxError> {
    if value < low || value > high {
        return Err(TxError::invalid_message(format!(
            "gov.{field} must be within [{low}, {high}], got {value}"
        )));
    }
    Ok(())
}

pub fn validate(p: &Params) -> Result<(), TxError> {
    within(
        "voting_period_seconds",
        p.voting_period_seconds,
        1,
        MAX_PERIOD_SECONDS,
    )?;
    if p.expedited_voting_period_seconds == 0
        || p.expedited_voting_period_seconds >= p.voting_period_seconds
    {
        return Err(TxError::invalid_message(format!(
            "gov.expedited_voting_period_seconds must be at least 1 and below voting_period_seconds ({}), got {}",
            p.voting_period_seconds, p.expedited_voting_period_seconds
        )));
    }
    within("quorum_bps", p.quorum_bps, 1, 10_000)?;
    // Below half, two opposite proposals could both pass; at 10000 none ever passes (the
    // threshold is exceeded strictly).
    within("threshold_bps", p.threshold_bps, 5_000, 9_999)?;
    within("veto_threshold_bps", p.veto_threshold_bps, 1, 10_000)?;
    within(
        "expedited_threshold_bps",
        p.expedited_threshold_bps,
        p.threshold_bps,
        9_999,
    )?;
    within(
        "max_open_proposals_per_proposer",
        p.max_open_proposals_per_proposer,
        1,
        100,
    )?;
    within("max_messages", p.max_messages, 1, 64)?;
    within(
        "max_proposal_bytes",
        p.max_proposal_bytes,
        1024,
        1024 * 1024,
    )?;
    within("max_title_chars", p.max_title_chars, 1, 1024)?;
    within("max_metadata_chars", p.max_metadata_chars, 0, 10_240)?;
    check_allowed_l1_calls(&p.allowed_l1_calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bound_is_named() {
        validate(&default_params()).expect("defaults");
        type Change = fn(&mut Params);
        let cases: Vec<(&str, Change)> = vec![
            ("voting_period_seconds", |p| p.voting_period_seconds = 0),
            ("expedited_voting_period_seconds", |p| {
                p.expedited_voting_period_seconds = p.voting_period_seconds
            }),
            ("quorum_bps", |p| p.quorum_bps = 10_001),
            ("threshold_bps", |p| p.threshold_bps = 4_999),
            ("threshold_bps", |p| p.threshold_bps = 10_000),
            ("veto_threshold_bps", |p| p.veto_threshold_bps = 0),
            ("expedited_threshold_bps", |p| {
                p.expedited_threshold_bps = p.threshold_bps - 1
            }),
            ("max_open_proposals_per_proposer", |p| {
                p.max_open_proposals_per_proposer = 0
            }),
            ("max_messages", |p| p.max_messages = 65),
            ("max_proposal_bytes", |p| p.max_proposal_bytes = 10),
            ("max_title_chars", |p| p.max_title_chars = 0),
            ("allowed_l1_calls", |p| {
                p.allowed_l1_calls[0].contract = "Token".into()
            }),
            ("allowed_l1_calls", |p| {
                p.allowed_l1_calls[0].function = "setMaxLock".into()
            }),
        ];
        for (field, change) in cases {
            let mut p = default_params();
            change(&mut p);
            let err = validate(&p).expect_err(field);
            assert!(err.message.contains(field), "{field}: {}", err.message);
        }
    }

    #[test]
    fn the_allow_list_matches_by_contract_and_selector() {
        let p = default_params();
        // setMaxLock(uint256) = 0x6fa0b734... as the contract's ABI has it.
        let mut call = selector("setMaxLock(uint256)").to_vec();
        call.extend([0u8; 32]);
        assert!(allowed_call(&p, "LockingPool", &call).is_some());
        assert!(allowed_call(&p, "Governance", &call).is_none());
        let slash = selector("slash(uint256,uint256)").to_vec();
        assert!(allowed_call(&p, "LockingPool", &slash).is_none());
        assert!(allowed_call(&p, "LockingPool", &call[..3]).is_none());
    }
}
