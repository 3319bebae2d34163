use seqpool_component::{address, StateWrite, TxError};

use crate::{params, AuthRead, AuthWrite, GenesisState};

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let p = genesis.params.unwrap_or_else(params::default_params);
    params::validate(&p)?;
    state.put_auth_params(&p);
    for acc in &genesis.accounts {
        address::parse_account(&acc.address).map_err(TxError::invalid_message)?;
        if state.account(&acc.address)?.is_some() {
            return Err(TxError::invalid_message(format!(
                "genesis lists account {} twice",
                acc.address
            )));
        }
        let mut registered = state.ensure_account(&acc.address)?;
        if !acc.pub_key.is_empty() {
            if address::account_address(&acc.pub_key) != acc.address {
                return Err(TxError::invalid_message(format!(
                    "genesis account {}: pub_key does not derive to this address",
                    acc.address
                )));
            }
            registered.pub_key = acc.pub_key.clone();
        }
        registered.sequence = acc.sequence;
        state.put_account(&registered);
    }
    Ok(())
}
