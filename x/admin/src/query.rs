use seqpool_component::{QueryError, StateRead};
use seqpool_proto::admin::v1::{QueryAdminRequest, QueryAdminResponse};

use crate::AdminRead;

pub fn admin(
    state: &impl StateRead,
    _req: &QueryAdminRequest,
) -> Result<QueryAdminResponse, QueryError> {
    Ok(QueryAdminResponse {
        admin: state.admin()?.unwrap_or_default(),
        retired_at_height: state.admin_retired_at()?.unwrap_or(0),
        gov_authority: seqpool_component::address::gov_authority(),
    })
}
