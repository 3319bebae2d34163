//! x/epochs genesis: its params (the length-change record starts empty).
use seqpool_component::{StateWrite, StateWriteProto, TxError};

use crate::params::{default_params, validate_params};
use crate::{state_key, GenesisState};

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let mut p = genesis.params.clone().unwrap_or_else(default_params);
    validate_params(&p)?;
    // Length changes are the chain's record, never given.
    p.length_changes.clear();
    state.put_proto(state_key::PARAMS.to_vec(), &p);
    Ok(())
}
