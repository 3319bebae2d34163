//! The end of voting: each block tallies the proposals whose voting period ended by its time and
//! runs the messages of those that passed.
use seqpool_component::{
    address, BlockContext, Event, MsgContext, StateWrite, StoreError, TxError,
};
use seqpool_store::StateDelta;

use crate::state::{GovRead, GovWrite};
use crate::tally::{decide, tally};
use crate::{nanos_u64, status_name, timestamp, unix_nanos, Proposal, ProposalStatus, Router};

/// Tallies every proposal whose voting ended at or before this block's time, earliest end first,
/// and executes those that passed. An expedited proposal that does not pass becomes a normal one,
/// open until its submit time plus the normal voting period, with the votes cast so far.
pub fn end_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    router: &dyn Router,
) -> Result<Vec<Event>, StoreError> {
    let now = nanos_u64(ctx.time_unix_nanos);
    let mut events = Vec::new();
    for (end, id) in state.voting_queue()? {
        if end > now {
            break;
        }
        state.dequeue_voting(end, id);
        let Some(mut proposal) = state.proposal(id)? else {
            continue;
        };
        if proposal.status != ProposalStatus::VotingPeriod as i32 {
            continue;
        }
        // Params as of now: a proposal decided earlier in this block may have changed them.
        let params = state.gov_params()?;
        let result = tally(&*state, &proposal)?;
        let decision = decide(&result, &params, proposal.expedited);
        let mut tallied = Event::new("seqpool.gov.v1.EventProposalTallied")
            .attr("proposal_id", id.to_string())
            .attr("yes", result.yes.to_string())
            .attr("abstain", result.abstain.to_string())
            .attr("no", result.no.to_string())
            .attr("no_with_veto", result.no_with_veto.to_string())
            .attr("eligible", result.eligible.to_string());
        proposal.final_tally_result = Some(result);
        let mut outcome = Vec::new();
        match decision {
            Err(reason) if proposal.expedited => {
                let submitted = proposal
                    .submit_time
                    .as_ref()
                    .map(unix_nanos)
                    .unwrap_or(ctx.time_unix_nanos);
                let new_end = submitted
                    .saturating_add(i128::from(params.voting_period_seconds) * 1_000_000_000);
                proposal.expedited = false;
                proposal.voting_end_time = Some(timestamp(new_end));
                state.enqueue_voting(nanos_u64(new_end), id);
                state.put_proposal(&proposal);
                events.push(tallied.attr("outcome", "expedited vote failed"));
                events.push(
                    Event::new("seqpool.gov.v1.EventExpeditedConverted")
                        .attr("proposal_id", id.to_string())
                        .attr("reason", reason)
                        .attr("voting_end_unix_nanos", new_end.to_string()),
                );
                continue;
            }
            Err(reason) => {
                proposal.status = ProposalStatus::Rejected as i32;
                proposal.failed_reason = reason.clone();
                tallied = tallied.attr("reason", reason);
            }
            Ok(()) => match execute(state, ctx, &proposal, router) {
                Ok(executed) => {
                    proposal.status = ProposalStatus::Passed as i32;
                    outcome.extend(executed);
                    outcome.push(
                        Event::new("seqpool.gov.v1.EventProposalExecuted")
                            .attr("proposal_id", id.to_string())
                            .attr("result", "ok"),
                    );
                }
                Err(e) => {
                    proposal.status = ProposalStatus::Failed as i32;
                    proposal.failed_reason = e.clone();
                    outcome.push(
                        Event::new("seqpool.gov.v1.EventProposalExecuted")
                            .attr("proposal_id", id.to_string())
                            .attr("result", "failed")
                            .attr("reason", e),
                    );
                }
            },
        }
        // One path for every decided proposal: the record, then the tally event (with the
        // status), then what its execution emitted.
        proposal.decided_height = ctx.height;
        state.put_proposal(&proposal);
        events.push(tallied.attr("status", status_name(proposal.status)));
        events.extend(outcome);
    }
    Ok(events)
}

/// Runs a passed proposal's messages in order on a fork of `state`, as the gov authority; the
/// fork is written back only if every message succeeds.
fn execute<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    proposal: &Proposal,
    router: &dyn Router,
) -> Result<Vec<Event>, String> {
    let mctx = MsgContext {
        block: ctx.clone(),
        signer: address::gov_authority(),
        proposal: Some(proposal.id),
    };
    let mut fork = StateDelta::new(&mut *state);
    let mut events = Vec::new();
    for (i, msg) in proposal.messages.iter().enumerate() {
        let run: Result<Vec<Event>, TxError> = router.execute(&mut fork, &mctx, msg);
        match run {
            Ok(e) => events.extend(e),
            Err(e) => return Err(format!("message {i} ({}) failed: {e}", msg.type_url)),
        }
    }
    let (_, changes) = fork.into_parts();
    for (k, v) in changes {
        match v {
            Some(v) => state.put_raw(k, v),
            None => state.delete(k),
        }
    }
    Ok(events)
}
