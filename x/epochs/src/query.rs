use seqpool_component::{QueryError, StateRead};
use seqpool_proto::epochs::v1::*;

use crate::state::EpochRead;

pub fn current_epoch(
    state: &impl StateRead,
    _req: &QueryCurrentEpochRequest,
) -> Result<QueryCurrentEpochResponse, QueryError> {
    let p = state.epoch_params()?;
    let current = state.current_epoch()?;
    Ok(QueryCurrentEpochResponse {
        next: Some(crate::epoch(&p, current.number.saturating_add(1))),
        current: Some(current),
        head: state.l2_head()?,
    })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.epoch_params()?),
    })
}
