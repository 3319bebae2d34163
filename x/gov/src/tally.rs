//! Counting votes and deciding a proposal, with the rules of cosmos x/gov v1: quorum over the
//! eligible power (abstain counts toward it), veto over all votes, threshold over the votes that
//! did not abstain (exceeded strictly). Integer arithmetic only.
//!
//! Power: each operator's power when voting started, capped by its power now (0 once it is
//! jailed, tombstoned or gone). Stake added on L1 during a vote therefore cannot swing it, and a
//! validator cannot vote and then leave with its stake counted.
use std::collections::BTreeMap;

use seqpool_component::StoreError;
use seqpool_staking::StakingRead;

use crate::state::GovRead;
use crate::{Params, Proposal, TallyResult, VoteOption, WeightedVoteOption};

pub const BPS: u32 = 10_000;

/// Voting power per operator now: the power of its validators that are neither jailed nor
/// tombstoned.
pub fn power_by_operator(state: &impl StakingRead) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut power = BTreeMap::new();
    for v in state.validators()? {
        if v.power > 0 && !v.jailed && !v.tombstoned {
            let entry: &mut u64 = power.entry(v.operator).or_default();
            *entry = entry.saturating_add(v.power.unsigned_abs());
        }
    }
    Ok(power)
}

/// The tally of `proposal` if voting ended now.
pub fn tally<S: StakingRead + GovRead>(
    state: &S,
    proposal: &Proposal,
) -> Result<TallyResult, StoreError> {
    let now = power_by_operator(state)?;
    let effective = |operator: &str, at_start: u64| -> u64 {
        at_start.min(now.get(operator).copied().unwrap_or(0))
    };
    let started: BTreeMap<&str, u64> = proposal
        .voting_power
        .iter()
        .map(|v| (v.operator.as_str(), v.power))
        .collect();
    let mut result = TallyResult::default();
    for (operator, at_start) in &started {
        result.eligible = result
            .eligible
            .saturating_add(effective(operator, *at_start));
    }
    for vote in state.votes(proposal.id)? {
        let Some(at_start) = started.get(vote.voter.as_str()) else {
            continue;
        };
        let power = effective(&vote.voter, *at_start);
        for WeightedVoteOption { option, weight_bps } in &vote.options {
            let share =
                u64::try_from(u128::from(power) * u128::from(*weight_bps) / u128::from(BPS))
                    .unwrap_or(u64::MAX);
            let slot = match VoteOption::try_from(*option) {
                Ok(VoteOption::Yes) => &mut result.yes,
                Ok(VoteOption::Abstain) => &mut result.abstain,
                Ok(VoteOption::No) => &mut result.no,
                Ok(VoteOption::NoWithVeto) => &mut result.no_with_veto,
                _ => continue,
            };
            *slot = slot.saturating_add(share);
        }
    }
    Ok(result)
}

/// Whether a tally passes: `Ok` or why not.
pub fn decide(t: &TallyResult, params: &Params, expedited: bool) -> Result<(), String> {
    let wide = u128::from;
    let voted = wide(t.yes) + wide(t.abstain) + wide(t.no) + wide(t.no_with_veto);
    if t.eligible == 0 {
        return Err("no eligible voting power".into());
    }
    if voted * wide(u64::from(BPS)) < wide(t.eligible) * u128::from(params.quorum_bps) {
        return Err(format!(
            "quorum not reached: {voted} of {} eligible power voted, {} bps needed",
            t.eligible, params.quorum_bps
        ));
    }
    if wide(t.no_with_veto) * u128::from(BPS) > voted * u128::from(params.veto_threshold_bps) {
        return Err(format!(
            "vetoed: {} of {voted} voted power is NO_WITH_VETO, above {} bps",
            t.no_with_veto, params.veto_threshold_bps
        ));
    }
    let counted = voted - wide(t.abstain);
    if counted == 0 {
        return Err("every vote abstained".into());
    }
    let threshold = if expedited {
        params.expedited_threshold_bps
    } else {
        params.threshold_bps
    };
    if wide(t.yes) * u128::from(BPS) > counted * u128::from(threshold) {
        Ok(())
    } else {
        Err(format!(
            "threshold not reached: {} YES of {counted} non-abstaining power, above {threshold} bps needed{}",
            t.yes,
            if expedited { " (expedited)" } else { "" }
        ))
    }
}

/// Checks a vote's options: known options, each at most once, weights 1..10000 summing to 10000.
pub fn check_options(options: &[WeightedVoteOption]) -> Result<(), String> {
    if options.is_empty() {
        return Err("a vote needs at least one option".into());
    }
    let mut seen = BTreeMap::new();
    let mut sum = 0u64;
    for o in options {
        match VoteOption::try_from(o.option) {
            Ok(VoteOption::Unspecified) | Err(_) => {
                return Err(format!("{} is not a vote option", o.option))
            }
            Ok(option) => {
                if seen.insert(o.option, ()).is_some() {
                    return Err(format!("{} appears twice", option.as_str_name()));
                }
            }
        }
        if o.weight_bps == 0 || o.weight_bps > BPS {
            return Err(format!(
                "weight {} bps is not within [1, {BPS}]",
                o.weight_bps
            ));
        }
        sum += u64::from(o.weight_bps);
    }
    if sum != u64::from(BPS) {
        return Err(format!("the weights sum to {sum} bps, not {BPS}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::default_params;

    fn t(yes: u64, abstain: u64, no: u64, veto: u64, eligible: u64) -> TallyResult {
        TallyResult {
            yes,
            abstain,
            no,
            no_with_veto: veto,
            eligible,
        }
    }

    #[test]
    fn the_rules_of_cosmos_gov() {
        let p = default_params();
        // Quorum 33.4%: 334 of 1000 voted is enough, 333 is not (abstain counts).
        assert!(decide(&t(334, 0, 0, 0, 1000), &p, false).is_ok());
        assert!(decide(&t(1, 333, 0, 0, 1000), &p, false).is_ok());
        let e = decide(&t(333, 0, 0, 0, 1000), &p, false).expect_err("quorum");
        assert!(e.contains("quorum"), "{e}");
        // Threshold 50%, exceeded strictly, over non-abstaining votes.
        let e = decide(&t(300, 0, 300, 0, 1000), &p, false).expect_err("tie");
        assert!(e.contains("threshold"), "{e}");
        assert!(decide(&t(301, 400, 300, 0, 1000), &p, false).is_ok());
        // Veto above 33.4% of all votes rejects even a YES majority.
        let e = decide(&t(600, 0, 0, 335, 1000), &p, false).expect_err("veto");
        assert!(e.contains("vetoed"), "{e}");
        assert!(decide(&t(666, 0, 0, 334, 1000), &p, false).is_ok());
        // Expedited: 66.7%.
        assert!(decide(&t(667, 0, 333, 0, 1000), &p, false).is_ok());
        assert!(decide(&t(667, 0, 333, 0, 1000), &p, true).is_err());
        assert!(decide(&t(668, 0, 332, 0, 1000), &p, true).is_ok());
        // Nothing to count.
        assert!(decide(&t(0, 500, 0, 0, 1000), &p, false).is_err());
        assert!(decide(&t(0, 0, 0, 0, 0), &p, false).is_err());
        // Power near u64::MAX does not overflow.
        assert!(decide(&t(u64::MAX, 0, 0, 0, u64::MAX), &p, false).is_ok());
    }

    #[test]
    fn vote_options_are_checked() {
        let o = |option: VoteOption, weight_bps| WeightedVoteOption {
            option: option as i32,
            weight_bps,
        };
        assert!(check_options(&[o(VoteOption::Yes, BPS)]).is_ok());
        assert!(check_options(&[o(VoteOption::Yes, 6000), o(VoteOption::No, 4000)]).is_ok());
        assert!(check_options(&[]).is_err());
        assert!(check_options(&[o(VoteOption::Unspecified, BPS)]).is_err());
        assert!(check_options(&[o(VoteOption::Yes, 5000), o(VoteOption::Yes, 5000)]).is_err());
        assert!(check_options(&[o(VoteOption::Yes, 5000), o(VoteOption::No, 4000)]).is_err());
        assert!(check_options(&[o(VoteOption::Yes, 0), o(VoteOption::No, BPS)]).is_err());
        assert!(check_options(&[WeightedVoteOption {
            option: 9,
            weight_bps: BPS
        }])
        .is_err());
    }
}
