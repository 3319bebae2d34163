use seqpool_component::TxError;

use crate::Params;

pub const MODULE: &str = "staking";

/// Basis points in a whole (100%).
pub const BPS_WHOLE: u32 = 10_000;

pub fn default_params() -> Params {
    Params {
        liveness_window: 100,
        min_signed_per_window: 50,
        // About 10 minutes at one block a second.
        downtime_jail_blocks: 600,
        slash_double_sign_bps: 500,
    }
}

/// Zero is allowed for the jailing fields (off / no cool-down) so that an update naming only
/// `liveness_window` stays valid.
pub fn validate(p: &Params) -> Result<(), TxError> {
    if p.liveness_window == 0 || p.liveness_window > 100_000 {
        return Err(TxError::invalid_message(format!(
            "staking.liveness_window must be within [1, 100000], got {}",
            p.liveness_window
        )));
    }
    if p.min_signed_per_window > p.liveness_window {
        return Err(TxError::invalid_message(format!(
            "staking.min_signed_per_window ({}) must not exceed liveness_window ({})",
            p.min_signed_per_window, p.liveness_window
        )));
    }
    if p.downtime_jail_blocks > 10_000_000 {
        return Err(TxError::invalid_message(format!(
            "staking.downtime_jail_blocks must be at most 10000000, got {}",
            p.downtime_jail_blocks
        )));
    }
    if p.slash_double_sign_bps > BPS_WHOLE {
        return Err(TxError::invalid_message(format!(
            "staking.slash_double_sign_bps must be within [0, {BPS_WHOLE}], got {}",
            p.slash_double_sign_bps
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(validate(&default_params()).is_ok());
        let only_window = Params {
            liveness_window: 7,
            ..Default::default()
        };
        assert!(validate(&only_window).is_ok());
        let too_many_signed = Params {
            min_signed_per_window: 8,
            ..only_window
        };
        assert!(validate(&too_many_signed).is_err());
        let over_whole = Params {
            slash_double_sign_bps: BPS_WHOLE + 1,
            ..default_params()
        };
        assert!(validate(&over_whole).is_err());
        let zero_window = Params {
            liveness_window: 0,
            ..default_params()
        };
        assert!(validate(&zero_window).is_err());
    }
}
