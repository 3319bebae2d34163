//! x/mpc genesis: params, the genesis validators' registered members, and optionally an existing
//! key to continue with (a chain restarted from a running pool, or a test that made its key
//! off-chain): an ACTIVE key becomes the active key, so signing starts without a DKG.
use frost_secp256k1::Identifier;
use seqpool_component::{StateWrite, StateWriteProto, TxError};

use crate::params::{default_params, validate_params};
use crate::state::MpcWrite;
use crate::{state_key, GenesisState, KeyStatus, Member};

fn invalid(msg: String) -> TxError {
    TxError::invalid_message(msg)
}

/// Checks that a member's identifier is derived from its signer key and both keys are points.
pub fn validate_member(m: &Member) -> Result<(), TxError> {
    seqpool_tss::MemberPublic::new(&m.signer_key, &m.encryption_key)
        .map_err(|e| invalid(format!("mpc member {}: {e}", m.validator)))?;
    let derived = Identifier::derive(&m.signer_key)
        .map_err(|e| invalid(format!("mpc member {}: {e}", m.validator)))?;
    if derived.serialize() != m.identifier {
        return Err(invalid(format!(
            "mpc member {}: identifier is not Identifier::derive(signer_key)",
            m.validator
        )));
    }
    Ok(())
}

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let params = genesis.params.clone().unwrap_or_else(default_params);
    validate_params(&params)?;
    state.put_mpc_params(&params);
    let mut identifiers = std::collections::BTreeSet::new();
    for m in &genesis.members {
        validate_member(m)?;
        if !identifiers.insert(m.identifier.clone()) {
            return Err(invalid(format!(
                "mpc member {}: identifier registered twice",
                m.validator
            )));
        }
        state.put_member(m);
    }
    let mut max_key_id = 0;
    let mut active = None;
    for key in &genesis.keys {
        if key.key_id == 0 {
            return Err(invalid("mpc genesis key with key_id 0".into()));
        }
        let threshold = key.threshold as usize;
        if threshold == 0 || threshold > key.members.len() {
            return Err(invalid(format!(
                "mpc genesis key {}: threshold {} for {} members",
                key.key_id,
                key.threshold,
                key.members.len()
            )));
        }
        if key.verifying_shares.len() != key.members.len() {
            return Err(invalid(format!(
                "mpc genesis key {}: {} verifying shares for {} members",
                key.key_id,
                key.verifying_shares.len(),
                key.members.len()
            )));
        }
        for m in &key.members {
            if !identifiers.contains(&m.identifier) {
                return Err(invalid(format!(
                    "mpc genesis key {}: member {} is not registered",
                    key.key_id, m.validator
                )));
            }
        }
        crate::signing::public_key_package(key)
            .map_err(|e| invalid(format!("mpc genesis key: {e}")))?;
        if key.status() == KeyStatus::Active {
            if active.is_some() {
                return Err(invalid("mpc genesis has two ACTIVE keys".into()));
            }
            active = Some(key.key_id);
        }
        max_key_id = max_key_id.max(key.key_id);
        let mut key = key.clone();
        key.members.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        state.put_group_key(&key);
    }
    if let Some(id) = active {
        state.set_active_key(id);
    }
    if max_key_id > 0 {
        state.put_u64(state_key::NEXT_KEY_ID.to_vec(), max_key_id + 1);
    }
    state.put_u64(
        state_key::NEXT_BATCH_INDEX.to_vec(),
        genesis.next_batch_index,
    );
    state.put_u64(
        state_key::NEXT_L2_BLOCK.to_vec(),
        genesis.next_l2_block.max(1),
    );
    Ok(())
}
