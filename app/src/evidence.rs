//! CometBFT evidence in FinalizeBlock: a double sign (DuplicateVote) or a light-client attack by a
//! validator of the set at the evidence height tombstones it (jailed for good) and records a
//! slashing request for L1 (x/staking [`seqpool_staking::jail`]). Evidence naming an address that
//! was not in the set at that height, or a validator already tombstoned, is ignored: it is logged
//! as an event and changes nothing, so neither stale nor repeated evidence slashes twice.
use seqpool_component::{Event, StateWrite, StoreError};
use tendermint::abci::types::{Misbehavior, MisbehaviorKind};

pub fn apply<S: StateWrite>(
    state: &mut S,
    misbehavior: &[Misbehavior],
    height: u64,
) -> Result<Vec<Event>, StoreError> {
    let mut events = Vec::new();
    for m in misbehavior {
        let address = hex::encode_upper(m.validator.address);
        let kind = match m.kind {
            MisbehaviorKind::DuplicateVote => "duplicate_vote",
            MisbehaviorKind::LightClientAttack => "light_client_attack",
            MisbehaviorKind::Unknown => "unknown",
        };
        let evidence_height = m.height.value();
        let handled = if m.kind == MisbehaviorKind::Unknown {
            None
        } else {
            seqpool_staking::jail::handle_double_sign(state, &address, evidence_height, height)?
        };
        match handled {
            Some(e) => events.extend(e),
            None => events.push(
                Event::new("evidence_ignored")
                    .attr("validator", address)
                    .attr("kind", kind)
                    .attr("height", evidence_height.to_string()),
            ),
        }
    }
    Ok(events)
}
