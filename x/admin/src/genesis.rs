use seqpool_auth::AuthWrite;
use seqpool_component::{address, StateWrite, TxError};

use crate::{AdminWrite, GenesisState};

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    address::parse_account(&genesis.admin)
        .map_err(|e| TxError::invalid_message(format!("genesis admin: {e}")))?;
    state.ensure_account(&genesis.admin)?;
    state.set_admin(&genesis.admin);
    Ok(())
}
