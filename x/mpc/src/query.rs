//! x/mpc queries (seqpool.mpc.v1.Query), shared by abci_query, gRPC and REST.
use seqpool_component::{QueryError, StateRead};
use seqpool_proto::mpc::v1::*;

use crate::requests::{batch_request, next_batch};
use crate::state::MpcRead;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

fn limit(l: u32) -> usize {
    (if l == 0 {
        DEFAULT_LIMIT
    } else {
        l.min(MAX_LIMIT)
    }) as usize
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.mpc_params()?),
    })
}

pub fn active_key(
    state: &impl StateRead,
    _req: &QueryActiveKeyRequest,
) -> Result<QueryActiveKeyResponse, QueryError> {
    match state.active_key()? {
        Some(key) => Ok(QueryActiveKeyResponse { key: Some(key) }),
        None => Err(QueryError::NotFound("no active group key yet".into())),
    }
}

pub fn keys(
    state: &impl StateRead,
    _req: &QueryKeysRequest,
) -> Result<QueryKeysResponse, QueryError> {
    Ok(QueryKeysResponse {
        keys: state.group_keys()?,
    })
}

pub fn members(
    state: &impl StateRead,
    _req: &QueryMembersRequest,
) -> Result<QueryMembersResponse, QueryError> {
    let members = state.members()?;
    let exclusions = crate::keygen::exclusions(state)?
        .into_iter()
        .map(|(identifier, e)| KeygenExclusion {
            validator: members
                .iter()
                .find(|m| m.identifier == identifier)
                .map(|m| m.validator.clone())
                .unwrap_or_default(),
            identifier,
            strikes: e.strikes,
            readmit_height: e.readmit_height,
        })
        .collect();
    Ok(QueryMembersResponse {
        members,
        exclusions,
    })
}

pub fn keygen_sessions(
    state: &impl StateRead,
    req: &QueryKeygenSessionsRequest,
) -> Result<QueryKeygenSessionsResponse, QueryError> {
    Ok(QueryKeygenSessionsResponse {
        sessions: state
            .keygen_sessions()?
            .into_iter()
            .filter(|s| !req.open_only || s.status() == SessionStatus::Open)
            .collect(),
    })
}

pub fn request(
    state: &impl StateRead,
    req: &QueryRequestRequest,
) -> Result<QueryRequestResponse, QueryError> {
    let request = state
        .signing_request(req.request_id)?
        .ok_or_else(|| QueryError::NotFound(format!("no signing request {}", req.request_id)))?;
    Ok(QueryRequestResponse {
        attempts: state.signing_attempts(req.request_id)?,
        request: Some(request),
    })
}

pub fn requests(
    state: &impl StateRead,
    req: &QueryRequestsRequest,
) -> Result<QueryRequestsResponse, QueryError> {
    let want = req.status();
    let max = limit(req.limit);
    let requests = if want == RequestStatus::Unspecified {
        state.signing_requests(req.from_id, max)?
    } else {
        // The status index: only the requests in `want` are read (the relayer polls SIGNED).
        state.signing_requests_with_status(want, req.from_id, max)?
    };
    Ok(QueryRequestsResponse { requests })
}

pub fn batches(
    state: &impl StateRead,
    req: &QueryBatchesRequest,
) -> Result<QueryBatchesResponse, QueryError> {
    let (next_batch_index, next_l2_block) = next_batch(state)?;
    let mut batches = Vec::new();
    let max = limit(req.limit);
    let mut index = req.from_index;
    while index < next_batch_index && batches.len() < max {
        if let Some(r) = batch_request(state, index)? {
            batches.push(r);
        }
        index += 1;
    }
    Ok(QueryBatchesResponse {
        batches,
        next_batch_index,
        next_l2_block,
    })
}
