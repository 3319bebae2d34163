use seqpool_component::{address, QueryError, StateRead};
use seqpool_proto::auth::v1::*;

use crate::AuthRead;

pub fn account(
    state: &impl StateRead,
    req: &QueryAccountRequest,
) -> Result<QueryAccountResponse, QueryError> {
    address::parse_account(&req.address).map_err(QueryError::InvalidArgument)?;
    match state.account(&req.address)? {
        Some(account) => Ok(QueryAccountResponse {
            account: Some(account),
        }),
        None => Err(QueryError::NotFound(format!(
            "account {} is not registered",
            req.address
        ))),
    }
}

pub fn accounts(
    state: &impl StateRead,
    _req: &QueryAccountsRequest,
) -> Result<QueryAccountsResponse, QueryError> {
    Ok(QueryAccountsResponse {
        accounts: state.accounts()?,
    })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.auth_params()?),
    })
}
