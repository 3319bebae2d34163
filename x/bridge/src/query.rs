use seqpool_component::{QueryError, StateRead};
use seqpool_proto::bridge::v1::*;

use crate::BridgeRead;

pub fn next_nonce(
    state: &impl StateRead,
    _req: &QueryNextNonceRequest,
) -> Result<QueryNextNonceResponse, QueryError> {
    Ok(QueryNextNonceResponse {
        next_nonce: state.next_nonce()?,
    })
}

pub fn event(
    state: &impl StateRead,
    req: &QueryEventRequest,
) -> Result<QueryEventResponse, QueryError> {
    Ok(QueryEventResponse {
        event: state.applied_event(req.nonce)?,
    })
}

pub fn randomness(
    state: &impl StateRead,
    _req: &QueryRandomnessRequest,
) -> Result<QueryRandomnessResponse, QueryError> {
    Ok(QueryRandomnessResponse {
        randomness: state.attested_randomness()?,
    })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.bridge_params()?),
    })
}
