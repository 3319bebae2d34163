use seqpool_component::{QueryError, StateRead};
use seqpool_proto::staking::v1::*;

use crate::StakingRead;

pub fn validators(
    state: &impl StateRead,
    _req: &QueryValidatorsRequest,
) -> Result<QueryValidatorsResponse, QueryError> {
    Ok(QueryValidatorsResponse {
        validators: state.validators()?,
    })
}

pub fn liveness(
    state: &impl StateRead,
    _req: &QueryLivenessRequest,
) -> Result<QueryLivenessResponse, QueryError> {
    Ok(QueryLivenessResponse {
        liveness: state.all_liveness()?,
    })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.staking_params()?),
    })
}

pub fn slashing_requests(
    state: &impl StateRead,
    _req: &QuerySlashingRequestsRequest,
) -> Result<QuerySlashingRequestsResponse, QueryError> {
    Ok(QuerySlashingRequestsResponse {
        requests: crate::jail::slashing_requests(state)?,
    })
}
