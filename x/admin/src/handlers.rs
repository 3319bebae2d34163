use seqpool_auth::AuthWrite;
use seqpool_component::{address, Event, MsgContext, StateWrite, TxError};

use crate::{AdminRead, AdminWrite, MsgTransferAdmin};

/// Refuses unless `authority` is the current admin.
pub fn require_admin(state: &impl AdminRead, authority: &str) -> Result<(), TxError> {
    match state.admin()? {
        Some(admin) if admin == authority => Ok(()),
        Some(admin) => Err(TxError::unauthorized(format!(
            "{authority} is not the admin (the admin is {admin})"
        ))),
        None => Err(TxError::unauthorized("the chain has no admin")),
    }
}

pub fn transfer_admin<S: StateWrite>(
    state: &mut S,
    _ctx: &MsgContext,
    msg: &MsgTransferAdmin,
) -> Result<Vec<Event>, TxError> {
    require_admin(state, &msg.authority)?;
    address::parse_account(&msg.new_admin)
        .map_err(|e| TxError::invalid_message(format!("new_admin: {e}")))?;
    if msg.new_admin == msg.authority {
        return Err(TxError::invalid_message("new_admin is already the admin"));
    }
    state.ensure_account(&msg.new_admin)?;
    state.set_admin(&msg.new_admin);
    Ok(vec![Event::new("seqpool.admin.v1.EventAdminTransferred")
        .attr("previous_admin", msg.authority.clone())
        .attr("new_admin", msg.new_admin.clone())])
}
