use seqpool_component::TxError;

use crate::Params;

pub const MODULE: &str = "staking";

pub fn default_params() -> Params {
    Params {
        liveness_window: 100,
    }
}

pub fn validate(p: &Params) -> Result<(), TxError> {
    if p.liveness_window == 0 || p.liveness_window > 100_000 {
        return Err(TxError::invalid_message(format!(
            "staking.liveness_window must be within [1, 100000], got {}",
            p.liveness_window
        )));
    }
    Ok(())
}
