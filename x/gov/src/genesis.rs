use seqpool_component::{StateWrite, TxError};

use crate::params::{default_params, validate};
use crate::{GenesisState, GovWrite};

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let params = genesis.params.clone().unwrap_or_else(default_params);
    validate(&params)?;
    state.put_gov_params(&params);
    state.set_next_proposal_id(1);
    Ok(())
}
