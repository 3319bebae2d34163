//! The gov messages a user sends: submit, vote (plain and weighted), cancel.
use prost::{Message, Name};
use seqpool_component::{address, codes, Event, MsgContext, StateWrite, TxError};

use crate::state::{GovRead, GovWrite};
use crate::tally::{check_options, power_by_operator};
use crate::{
    nanos_u64, timestamp, unix_nanos, MsgCancelProposal, MsgSubmitProposal, MsgVote,
    MsgVoteWeighted, Proposal, ProposalStatus, Router, Vote, VoteOption, VoterPower,
    WeightedVoteOption,
};

/// Gov's own user messages, which a proposal may not carry (the gov authority neither proposes
/// nor votes).
fn is_gov_user_msg(type_url: &str) -> bool {
    [
        MsgSubmitProposal::type_url(),
        MsgVote::type_url(),
        MsgVoteWeighted::type_url(),
        MsgCancelProposal::type_url(),
    ]
    .iter()
    .any(|u| u == type_url)
}

/// Submits a proposal and opens its voting period; returns the events (the id is the
/// `proposal_id` attribute of `seqpool.gov.v1.EventSubmitProposal`).
pub fn submit_proposal<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgSubmitProposal,
    router: &dyn Router,
) -> Result<Vec<Event>, TxError> {
    let params = state.gov_params()?;
    address::parse_account(&msg.proposer)
        .map_err(|e| TxError::invalid_message(format!("proposer: {e}")))?;
    let power = power_by_operator(state)?;
    if power.get(&msg.proposer).copied().unwrap_or(0) == 0 {
        return Err(TxError::unauthorized(format!(
            "{} operates no active validator; only operators of active validators may propose",
            msg.proposer
        )));
    }
    if msg.messages.is_empty() {
        return Err(TxError::invalid_message(
            "a proposal needs at least one message",
        ));
    }
    if msg.messages.len() > params.max_messages as usize {
        return Err(TxError::invalid_message(format!(
            "a proposal carries at most {} messages (gov.max_messages), this one {}",
            params.max_messages,
            msg.messages.len()
        )));
    }
    let title_chars = msg.title.chars().count();
    if msg.title.trim().is_empty() || title_chars > params.max_title_chars as usize {
        return Err(TxError::invalid_message(format!(
            "the title must have 1 to {} characters (gov.max_title_chars), it has {title_chars}",
            params.max_title_chars
        )));
    }
    check_metadata(&msg.metadata, params.max_metadata_chars)?;
    let bytes: usize = msg.messages.iter().map(|m| m.encoded_len()).sum::<usize>()
        + msg.title.len()
        + msg.summary.len()
        + msg.metadata.len();
    if bytes as u64 > params.max_proposal_bytes {
        return Err(TxError::invalid_message(format!(
            "the proposal is {bytes} bytes, above gov.max_proposal_bytes ({})",
            params.max_proposal_bytes
        )));
    }
    let authority = address::gov_authority();
    for (i, m) in msg.messages.iter().enumerate() {
        if is_gov_user_msg(&m.type_url) {
            return Err(TxError::invalid_message(format!(
                "message {i} ({}) is a gov message, which a proposal cannot carry",
                m.type_url
            )));
        }
        let signer = router.signer(m).map_err(|e| {
            TxError::new(
                e.code,
                format!("message {i} ({}): {}", m.type_url, e.message),
            )
        })?;
        if signer != authority {
            return Err(TxError::invalid_message(format!(
                "message {i} ({}) names {signer:?} as its signer, not the gov authority {authority}",
                m.type_url
            )));
        }
    }
    let open = open_proposals_of(state, &msg.proposer)?;
    if open >= params.max_open_proposals_per_proposer as usize {
        return Err(TxError::new(
            codes::TOO_MANY_OPEN_PROPOSALS,
            format!(
                "{} already has {open} proposals open for votes (gov.max_open_proposals_per_proposer)",
                msg.proposer
            ),
        ));
    }

    let id = state.next_proposal_id()?;
    let period = if msg.expedited {
        params.expedited_voting_period_seconds
    } else {
        params.voting_period_seconds
    };
    let now = ctx.block.time_unix_nanos;
    let end = now.saturating_add(i128::from(period) * 1_000_000_000);
    let proposal = Proposal {
        id,
        messages: msg.messages.clone(),
        status: ProposalStatus::VotingPeriod as i32,
        final_tally_result: None,
        submit_time: Some(timestamp(now)),
        voting_end_time: Some(timestamp(end)),
        proposer: msg.proposer.clone(),
        title: msg.title.clone(),
        summary: msg.summary.clone(),
        metadata: msg.metadata.clone(),
        expedited: msg.expedited,
        failed_reason: String::new(),
        submit_height: ctx.block.height,
        decided_height: 0,
        voting_power: power
            .into_iter()
            .map(|(operator, power)| VoterPower { operator, power })
            .collect(),
    };
    state.put_proposal(&proposal);
    state.enqueue_voting(nanos_u64(end), id);
    state.set_next_proposal_id(
        id.checked_add(1)
            .ok_or_else(|| TxError::internal("proposal ids are exhausted"))?,
    );
    let types: Vec<&str> = msg.messages.iter().map(|m| m.type_url.as_str()).collect();
    Ok(vec![Event::new("seqpool.gov.v1.EventSubmitProposal")
        .attr("proposal_id", id.to_string())
        .attr("proposer", msg.proposer.clone())
        .attr("messages", types.join(","))
        .attr("expedited", msg.expedited.to_string())
        .attr("voting_end_unix_nanos", end.to_string())])
}

fn check_metadata(metadata: &str, max: u32) -> Result<(), TxError> {
    let chars = metadata.chars().count();
    if chars > max as usize {
        return Err(TxError::invalid_message(format!(
            "metadata has {chars} characters, above gov.max_metadata_chars ({max})"
        )));
    }
    Ok(())
}

fn open_proposals_of(state: &impl GovRead, proposer: &str) -> Result<usize, TxError> {
    let mut open = 0;
    for (_, id) in state.voting_queue()? {
        if state.proposal(id)?.is_some_and(|p| p.proposer == proposer) {
            open += 1;
        }
    }
    Ok(open)
}

/// A proposal that is open for votes, or the error a vote or cancel for it gets.
fn open_proposal(state: &impl GovRead, id: u64) -> Result<Proposal, TxError> {
    let proposal = state.proposal(id)?.ok_or_else(|| {
        TxError::new(
            codes::PROPOSAL_NOT_FOUND,
            format!("there is no proposal {id}"),
        )
    })?;
    if proposal.status != ProposalStatus::VotingPeriod as i32 {
        return Err(TxError::new(
            codes::VOTING_CLOSED,
            format!(
                "proposal {id} is not open for votes: it is {}",
                crate::status_name(proposal.status)
            ),
        ));
    }
    Ok(proposal)
}

pub fn vote<S: StateWrite>(
    state: &mut S,
    _ctx: &MsgContext,
    msg: &MsgVote,
) -> Result<Vec<Event>, TxError> {
    cast(
        state,
        msg.proposal_id,
        &msg.voter,
        vec![WeightedVoteOption {
            option: msg.option,
            weight_bps: crate::tally::BPS,
        }],
        &msg.metadata,
    )
}

pub fn vote_weighted<S: StateWrite>(
    state: &mut S,
    _ctx: &MsgContext,
    msg: &MsgVoteWeighted,
) -> Result<Vec<Event>, TxError> {
    cast(
        state,
        msg.proposal_id,
        &msg.voter,
        msg.options.clone(),
        &msg.metadata,
    )
}

fn cast<S: StateWrite>(
    state: &mut S,
    proposal_id: u64,
    voter: &str,
    options: Vec<WeightedVoteOption>,
    metadata: &str,
) -> Result<Vec<Event>, TxError> {
    let params = state.gov_params()?;
    let proposal = open_proposal(state, proposal_id)?;
    check_options(&options).map_err(TxError::invalid_message)?;
    check_metadata(metadata, params.max_metadata_chars)?;
    let eligible = proposal
        .voting_power
        .iter()
        .any(|v| v.operator == voter && v.power > 0);
    if !eligible {
        return Err(TxError::unauthorized(format!(
            "{voter} operated no active validator when voting on proposal {proposal_id} started"
        )));
    }
    let shown: Vec<String> = options
        .iter()
        .map(|o| {
            let name = VoteOption::try_from(o.option)
                .map(|v| v.as_str_name())
                .unwrap_or("?");
            format!("{name}={}", o.weight_bps)
        })
        .collect();
    state.put_vote(&Vote {
        proposal_id,
        voter: voter.to_string(),
        options,
        metadata: metadata.to_string(),
    });
    Ok(vec![Event::new("seqpool.gov.v1.EventVote")
        .attr("proposal_id", proposal_id.to_string())
        .attr("voter", voter.to_string())
        .attr("options", shown.join(","))])
}

pub fn cancel_proposal<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgCancelProposal,
) -> Result<Vec<Event>, TxError> {
    let mut proposal = open_proposal(state, msg.proposal_id)?;
    if proposal.proposer != msg.proposer {
        return Err(TxError::unauthorized(format!(
            "only the proposer ({}) may cancel proposal {}",
            proposal.proposer, msg.proposal_id
        )));
    }
    let end = proposal
        .voting_end_time
        .as_ref()
        .map(unix_nanos)
        .unwrap_or_default();
    state.dequeue_voting(nanos_u64(end), proposal.id);
    proposal.status = ProposalStatus::Canceled as i32;
    proposal.decided_height = ctx.block.height;
    state.put_proposal(&proposal);
    Ok(vec![Event::new("seqpool.gov.v1.EventCancelProposal")
        .attr("proposal_id", proposal.id.to_string())
        .attr("proposer", msg.proposer.clone())])
}
