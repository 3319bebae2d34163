//! x/gov queries (seqpool.gov.v1.Query), shared by abci_query, gRPC and REST.
use seqpool_component::{address, QueryError, StateRead};
use seqpool_proto::gov::v1::*;

use crate::state::GovRead;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

fn find(state: &impl StateRead, id: u64) -> Result<Proposal, QueryError> {
    state
        .proposal(id)?
        .ok_or_else(|| QueryError::NotFound(format!("there is no proposal {id}")))
}

pub fn proposal(
    state: &impl StateRead,
    req: &QueryProposalRequest,
) -> Result<QueryProposalResponse, QueryError> {
    Ok(QueryProposalResponse {
        proposal: Some(find(state, req.proposal_id)?),
    })
}

pub fn proposals(
    state: &impl StateRead,
    req: &QueryProposalsRequest,
) -> Result<QueryProposalsResponse, QueryError> {
    if req.status != 0 && ProposalStatus::try_from(req.status).is_err() {
        return Err(QueryError::InvalidArgument(format!(
            "{} is not a proposal status",
            req.status
        )));
    }
    let limit = if req.limit == 0 {
        DEFAULT_LIMIT
    } else {
        req.limit.min(MAX_LIMIT)
    } as usize;
    let next = state.next_proposal_id()?;
    let mut proposals = Vec::new();
    let mut id = req.after_id.saturating_add(1);
    while id < next && proposals.len() < limit {
        if let Some(p) = state.proposal(id)? {
            if (req.status == 0 || p.status == req.status)
                && (req.proposer.is_empty() || p.proposer == req.proposer)
            {
                proposals.push(p);
            }
        }
        id += 1;
    }
    Ok(QueryProposalsResponse { proposals })
}

pub fn votes(
    state: &impl StateRead,
    req: &QueryVotesRequest,
) -> Result<QueryVotesResponse, QueryError> {
    find(state, req.proposal_id)?;
    Ok(QueryVotesResponse {
        votes: state.votes(req.proposal_id)?,
    })
}

pub fn tally(
    state: &impl StateRead,
    req: &QueryTallyRequest,
) -> Result<QueryTallyResponse, QueryError> {
    let p = find(state, req.proposal_id)?;
    let tally = if p.status == ProposalStatus::VotingPeriod as i32 {
        crate::tally::tally(state, &p)?
    } else {
        p.final_tally_result.unwrap_or_default()
    };
    Ok(QueryTallyResponse { tally: Some(tally) })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.gov_params()?),
    })
}

pub fn authority(
    _state: &impl StateRead,
    _req: &QueryAuthorityRequest,
) -> Result<QueryAuthorityResponse, QueryError> {
    Ok(QueryAuthorityResponse {
        authority: address::gov_authority(),
    })
}
