//! x/producer genesis: its params and the schedules of epochs 0 and 1.
use seqpool_component::{StateWrite, TxError};
use seqpool_staking::StakingRead;

use crate::handlers::{commit_randomness, decide_schedule, SeedSource};
use crate::params::{default_params, put_params, validate_params};
use crate::GenesisState;

/// Stores the params, fixes the schedules of epochs 0 and 1 from a genesis seed (the chain id:
/// predictable, but only until the first epoch boundary) and commits epoch 2's draw to the first
/// L1 randomness attested.
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
        decide_schedule(
            state,
            &validators,
            epoch,
            SeedSource::AppHash(chain_id.as_bytes()),
            0,
        )?;
    }
    commit_randomness(state, 2, 0)?;
    Ok(())
}
