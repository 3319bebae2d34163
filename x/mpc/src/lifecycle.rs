//! The end of a key's test: the pending key becomes ACTIVE and the one it replaces RETIRED, and a
//! key that signs no more is forgotten (its members' nonce commitments, its KEY_TEST index). The
//! key lifecycle (a failed pending key), the signing path (the KEY_TEST signature) and L1
//! receipts all end here.
use seqpool_component::{BlockContext, Event, StateWrite, StoreError};

use crate::state::{MpcRead, MpcWrite};
use crate::{state_key, KeyStatus, SigningRequest};

/// Called by the signing path when a KEY_TEST request of a pending key is signed: the key
/// becomes ACTIVE and the one it replaces RETIRED (its holders delete their shares and nonces).
pub fn on_key_test_signed<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request: &SigningRequest,
) -> Result<Vec<Event>, StoreError> {
    let Some(mut key) = state.group_key(request.key_id)? else {
        return Ok(Vec::new());
    };
    if key.status() != KeyStatus::Pending {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    if let Some(mut old) = state.active_key()? {
        // A reshare keeps the group key, so L1 holds the new sharing's key as much as the old's.
        if old.registered_on_l1 && old.px == key.px && old.py == key.py {
            key.registered_on_l1 = true;
        }
        old.status = KeyStatus::Retired as i32;
        old.retired_height = ctx.height;
        state.put_group_key(&old);
        let forgotten = forget_key(state, old.key_id)?;
        events.push(
            Event::new("mpc_key_retired")
                .attr("key_id", old.key_id.to_string())
                .attr("replaced_by", key.key_id.to_string())
                .attr("commitments_deleted", forgotten.to_string()),
        );
    }
    key.status = KeyStatus::Active as i32;
    key.activated_height = ctx.height;
    state.put_group_key(&key);
    state.set_active_key(key.key_id);
    state.delete(state_key::PENDING_KEY.to_vec());
    events.push(
        Event::new("mpc_key_active")
            .attr("key_id", key.key_id.to_string())
            .attr("group_key", hex::encode(&key.group_key))
            .attr("reshared_from", key.reshared_from.to_string()),
    );
    Ok(events)
}

/// A key that signs no more (RETIRED or FAILED): its members' nonce commitments and its
/// KEY_TEST index go in the same block (the nodes delete their secret nonces with the share).
/// The key record and its requests stay (history, queries). Returns the commitments deleted.
pub(crate) fn forget_key<S: StateWrite>(state: &mut S, key_id: u64) -> Result<usize, StoreError> {
    state.delete(state_key::key_test(key_id));
    forget_key_commitments(state, key_id)
}

/// Deletes what only a key that signs no more (RETIRED or FAILED) used: its members' unused
/// nonce commitments and their index counters. Returns how many commitments were deleted.
fn forget_key_commitments<S: StateWrite>(state: &mut S, key_id: u64) -> Result<usize, StoreError> {
    // The per-member prefixes with an empty identifier cover every member of the key.
    let commitments = state.prefix_raw(&state_key::commitments_prefix(key_id, &[]))?;
    let counters = state.prefix_raw(&state_key::next_commitment_index(key_id, &[]))?;
    let deleted = commitments.len();
    for (key, _) in commitments.into_iter().chain(counters) {
        state.delete(key);
    }
    Ok(deleted)
}
