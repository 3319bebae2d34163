use seqpool_component::{StateWrite, TxError};

use crate::{params, BridgeWrite, GenesisState};

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let p = genesis.params.unwrap_or_else(params::default_params);
    params::validate(&p)?;
    state.put_bridge_params(&p);
    state.put_next_nonce(genesis.next_nonce.max(1));
    Ok(())
}
