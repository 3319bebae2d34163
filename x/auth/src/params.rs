use seqpool_component::TxError;

use crate::Params;

pub const MODULE: &str = "auth";

pub fn default_params() -> Params {
    Params {
        max_tx_bytes: 32 * 1024,
        max_msgs_per_tx: 16,
        max_memo_chars: 256,
        max_pending_txs_per_account: 256,
    }
}

pub fn validate(p: &Params) -> Result<(), TxError> {
    if p.max_tx_bytes < 512 || p.max_tx_bytes > 4 * 1024 * 1024 {
        return Err(TxError::invalid_message(format!(
            "auth.max_tx_bytes must be within [512, 4194304], got {}",
            p.max_tx_bytes
        )));
    }
    if p.max_msgs_per_tx == 0 || p.max_msgs_per_tx > 1024 {
        return Err(TxError::invalid_message(format!(
            "auth.max_msgs_per_tx must be within [1, 1024], got {}",
            p.max_msgs_per_tx
        )));
    }
    if p.max_memo_chars > 64 * 1024 {
        return Err(TxError::invalid_message(format!(
            "auth.max_memo_chars must be at most 65536, got {}",
            p.max_memo_chars
        )));
    }
    if p.max_pending_txs_per_account == 0 {
        return Err(TxError::invalid_message(
            "auth.max_pending_txs_per_account must be at least 1",
        ));
    }
    Ok(())
}
