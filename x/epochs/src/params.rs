//! x/epochs params: the epoch length (in L2 blocks) and the record of its changes.
use seqpool_component::TxError;

use crate::Params;

pub fn default_params() -> Params {
    Params {
        epoch_length: 20,
        length_changes: Vec::new(),
    }
}

pub fn validate_params(p: &Params) -> Result<(), TxError> {
    if p.epoch_length == 0 || p.epoch_length > 1_000_000 {
        return Err(TxError::invalid_message(format!(
            "epochs.epoch_length must be within [1, 1000000], got {}",
            p.epoch_length
        )));
    }
    Ok(())
}
