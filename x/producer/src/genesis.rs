//! x/producer genesis: its params and the schedules of epochs 0 and 1.
use seqpool_component::{StateWrite, TxError};
use seqpool_staking::StakingRead;

use crate::handlers::decide_schedule;
use crate::params::{default_params, put_params, validate_params};
use crate::GenesisState;

/// Stores the params and fixes the schedules of epochs 0 and 1 from a genesis seed (the chain id):
/// predictable, but only until the first epoch boundary, which draws from an app hash.
pub fn init_genesis<S: StateWrite>(
    state: &mut S,
    genesis: &GenesisState,
    chain_id: &str,
) -> Result<(), TxError> {
    let p = genesis.params.unwrap_or_else(default_params);
    validate_params(&p)?;
    put_params(state, &p);
    let validators = state.validators()?;
    for epoch in 0..2 {
        decide_schedule(state, &validators, epoch, chain_id.as_bytes(), 0)?;
    }
    Ok(())
}
