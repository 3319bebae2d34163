//! The producer section of vote extensions, applied once per block from the verified extended
//! commit: agreed L2 blocks are recorded and advance the L2 head (firing the epoch hooks), then an
//! agreed stall report re-elects. [`BoundaryHooks`] is the one place the app orders what modules do
//! at epoch boundaries.
use std::sync::{Arc, Mutex};

use seqpool_component::{BlockContext, Event, StateWrite, StoreError};
use seqpool_epochs::{Epoch, EpochHooks, EpochRead};
use seqpool_producer::vote::{tally, L2View};
use seqpool_producer::ProducerVote;
use seqpool_staking::Validator;

use crate::vote_ext::VerifiedCommit;

/// This node's L2 view, shared with whatever feeds it (the sidecar adapter or an L2 RPC poller).
pub type SharedL2View = Arc<Mutex<L2View>>;

/// The producer section of this node's vote on `state`. Wall-clock time is fine here: only what
/// more than 2/3 of the power reports identically reaches state.
pub fn vote_section(
    state: &impl seqpool_component::StateRead,
    view: &SharedL2View,
) -> Result<ProducerVote, StoreError> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    match view.lock() {
        Ok(view) => view.make_vote(state, now_ms),
        // A poisoned view (its feeder panicked) reports nothing rather than stopping the node.
        Err(_) => Ok(ProducerVote::default()),
    }
}

/// What modules do at an epoch boundary, in order.
pub struct BoundaryHooks<'a> {
    pub parent_app_hash: &'a [u8],
    pub events: Vec<Event>,
}

impl<S: StateWrite> EpochHooks<S> for BoundaryHooks<'_> {
    fn epoch_boundary(
        &mut self,
        state: &mut S,
        ctx: &BlockContext,
        ended: &Epoch,
        started: &Epoch,
    ) -> Result<(), StoreError> {
        self.events.push(
            Event::new("epoch_started")
                .attr("epoch", started.number.to_string())
                .attr("first_l2_height", started.first_l2_height.to_string()),
        );
        self.events.extend(seqpool_producer::on_epoch_boundary(
            state,
            ctx,
            ended,
            started,
            self.parent_app_hash,
        )?);
        Ok(())
    }
}

/// Applies the producer sections of a verified extended commit. `parent_app_hash` is the app hash
/// of the last committed block, which the schedules fixed in this block draw their seed from.
pub fn apply<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    verified: &VerifiedCommit,
    set: &[Validator],
    parent_app_hash: &[u8],
) -> Result<Vec<Event>, StoreError> {
    let votes: Vec<(i64, &ProducerVote)> = set
        .iter()
        .filter_map(|v| {
            let section = verified
                .extensions
                .get(&v.consensus_address)?
                .producer
                .as_ref()?;
            Some((v.power, section))
        })
        .collect();
    let agreed = tally(state.l2_head_number()?, &votes, verified.total_power);
    let mut hooks = BoundaryHooks {
        parent_app_hash,
        // L1 randomness the bridge attested in this block, before any boundary draws from it.
        events: seqpool_producer::capture_randomness(state, ctx)?,
    };
    let by_signer = if agreed.blocks.is_empty() {
        Default::default()
    } else {
        seqpool_producer::validators_by_signer(seqpool_staking::StakingRead::validators(state)?)
    };
    for block in agreed.blocks {
        hooks.events.extend(seqpool_producer::record_block(
            state, ctx, &block, &by_signer,
        )?);
        seqpool_epochs::advance_head(state, ctx, block, &mut hooks)?;
    }
    if let Some(stall) = agreed.stall {
        hooks
            .events
            .extend(seqpool_producer::apply_stall(state, ctx, &stall)?);
    }
    Ok(hooks.events)
}
