//! x/producer params: the stall timeout, the fault window and what a fault costs.
use seqpool_component::{StateWrite, StateWriteProto, TxError};

use crate::{state_key, Params};

pub fn default_params() -> Params {
    Params {
        stall_timeout_ms: 4_000,
        max_faults: 3,
        fault_window_epochs: 10,
        stall_jail_blocks: 600,
        slash_stall_bps: 0,
    }
}

/// Longest stall timeout: a day.
pub const MAX_STALL_TIMEOUT_MS: u64 = 86_400_000;
/// Most faults before a jail, and the longest window they are counted in.
pub const MAX_FAULTS: u64 = 1_000;
pub const MAX_FAULT_WINDOW_EPOCHS: u64 = 1_000_000;

pub fn validate_params(p: &Params) -> Result<(), TxError> {
    if p.stall_timeout_ms == 0 || p.max_faults == 0 || p.fault_window_epochs == 0 {
        return Err(TxError::invalid_message(format!(
            "producer params must be positive: stall_timeout_ms {}, max_faults {}, fault_window_epochs {}",
            p.stall_timeout_ms, p.max_faults, p.fault_window_epochs
        )));
    }
    // A timeout past i64 milliseconds wrapped negative in the stall check and made every report
    // current at once: re-election on the first stall report, whatever the producer did.
    for (name, value, max) in [
        ("stall_timeout_ms", p.stall_timeout_ms, MAX_STALL_TIMEOUT_MS),
        ("max_faults", p.max_faults, MAX_FAULTS),
        (
            "fault_window_epochs",
            p.fault_window_epochs,
            MAX_FAULT_WINDOW_EPOCHS,
        ),
    ] {
        if value > max {
            return Err(TxError::invalid_message(format!(
                "producer.{name} must be at most {max}, got {value}"
            )));
        }
    }
    if p.slash_stall_bps > seqpool_staking::params::BPS_WHOLE || p.stall_jail_blocks > 10_000_000 {
        return Err(TxError::invalid_message(format!(
            "producer.slash_stall_bps must be within [0, 10000] and stall_jail_blocks at most \
             10000000, got {} and {}",
            p.slash_stall_bps, p.stall_jail_blocks
        )));
    }
    Ok(())
}

/// Stores validated params (MsgUpdateParams; they apply from the next block: a stall report is
/// judged by the timeout in force when it is applied).
pub fn put_params<S: StateWrite>(state: &mut S, p: &Params) {
    state.put_proto(state_key::PARAMS.to_vec(), p);
}
