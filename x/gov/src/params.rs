use seqpool_component::TxError;

use crate::Params;

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
    }
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
    Ok(())
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
        ];
        for (field, change) in cases {
            let mut p = default_params();
            change(&mut p);
            let err = validate(&p).expect_err(field);
            assert!(err.message.contains(field), "{field}: {}", err.message);
        }
    }
}
