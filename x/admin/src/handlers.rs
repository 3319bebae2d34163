use seqpool_auth::AuthWrite;
use seqpool_component::{address, Event, MsgContext, StateWrite, TxError};

use crate::{AdminRead, AdminWrite, MsgRetireAdmin, MsgTransferAdmin};

/// Refuses unless `authority` may act for the chain: the gov authority (a passed proposal), or the
/// admin while there is one.
pub fn require_authority(state: &impl AdminRead, authority: &str) -> Result<(), TxError> {
    if authority == address::gov_authority() {
        return Ok(());
    }
    require_admin(state, authority).map_err(|e| {
        TxError::unauthorized(format!(
            "{} (a passed proposal acts as the gov authority {})",
            e.message,
            address::gov_authority()
        ))
    })
}

/// Refuses unless `authority` is the current admin.
pub fn require_admin(state: &impl AdminRead, authority: &str) -> Result<(), TxError> {
    match state.admin()? {
        Some(admin) if admin == authority => Ok(()),
        Some(admin) => Err(TxError::unauthorized(format!(
            "{authority} is not the admin (the admin is {admin})"
        ))),
        None => match state.admin_retired_at()? {
            Some(height) => Err(TxError::unauthorized(format!(
                "the admin retired at height {height}; only a passed proposal acts for the chain"
            ))),
            None => Err(TxError::unauthorized("the chain has no admin")),
        },
    }
}

/// Retires the admin: by the admin itself or by a passed proposal.
pub fn retire_admin<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgRetireAdmin,
) -> Result<Vec<Event>, TxError> {
    if let Some(height) = state.admin_retired_at()? {
        return Err(TxError::invalid_message(format!(
            "the admin already retired at height {height}"
        )));
    }
    require_authority(state, &msg.authority)?;
    let previous = state.admin()?.unwrap_or_default();
    state.retire_admin(ctx.block.height);
    Ok(vec![Event::new("seqpool.admin.v1.EventAdminRetired")
        .attr("previous_admin", previous)
        .attr("retired_by", msg.authority.clone())
        .attr("height", ctx.block.height.to_string())])
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
