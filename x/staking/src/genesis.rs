use seqpool_auth::AuthWrite;
use seqpool_component::{address, StateWrite, TxError};

use crate::{params, state::StakingWrite, GenesisState, Validator};

/// Consensus address (hex, upper case like CometBFT prints it) of a compressed secp256k1 key.
pub fn consensus_address(pub_key: &[u8]) -> String {
    hex::encode_upper(address::address_bytes(pub_key))
}

pub fn validate_validator(v: &Validator) -> Result<(), TxError> {
    if v.consensus_pub_key.len() != 33 || !matches!(v.consensus_pub_key[0], 2 | 3) {
        return Err(TxError::invalid_message(format!(
            "validator {:?}: consensus_pub_key must be a 33-byte compressed secp256k1 key",
            v.name
        )));
    }
    if v.power <= 0 {
        return Err(TxError::invalid_message(format!(
            "validator {:?}: power must be positive",
            v.name
        )));
    }
    address::parse_account(&v.operator)
        .map_err(|e| TxError::invalid_message(format!("validator {:?}: operator: {e}", v.name)))?;
    Ok(())
}

/// Stores the genesis validators and returns them, in CometBFT order, for InitChain's response.
pub fn init_genesis<S: StateWrite>(
    state: &mut S,
    genesis: &GenesisState,
) -> Result<Vec<Validator>, TxError> {
    let p = genesis.params.unwrap_or_else(params::default_params);
    params::validate(&p)?;
    state.put_staking_params(&p);
    let mut seen = std::collections::BTreeSet::new();
    let mut set = Vec::new();
    for v in &genesis.validators {
        validate_validator(v)?;
        let mut v = v.clone();
        v.consensus_address = consensus_address(&v.consensus_pub_key);
        if !seen.insert(v.consensus_address.clone()) {
            return Err(TxError::invalid_message(format!(
                "genesis lists validator {} twice",
                v.consensus_address
            )));
        }
        state.ensure_account(&v.operator)?;
        state.put_validator(&v);
        set.push(v);
    }
    if set.is_empty() {
        return Err(TxError::invalid_message("genesis has no validators"));
    }
    let set = crate::state::sort_cometbft(set);
    // The genesis set signs heights 1 and 2 (and on, until an update).
    state.put_consensus_set(1, set.clone());
    Ok(set)
}
