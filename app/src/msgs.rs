//! Message routing: every `/seqpool.<module>.v1.Msg...` type URL the chain accepts, decoded once in
//! `decode_tx` and executed by its module's handler.
use cosmrs::Any;
use prost::{Message, Name};
use seqpool_admin::{
    handlers as admin_handlers, MsgRetireAdmin, MsgTransferAdmin, MsgUpdateParams,
};
use seqpool_auth::AuthWrite;
use seqpool_bridge::BridgeWrite;
use seqpool_component::{codes, Event, MsgContext, StateWrite, TxError};
use seqpool_staking::{MsgUnjail, StakingWrite};

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    UpdateParams(MsgUpdateParams),
    TransferAdmin(MsgTransferAdmin),
    RetireAdmin(MsgRetireAdmin),
    Unjail(MsgUnjail),
    SubmitBatch(seqpool_mpc::MsgSubmitBatch),
    RegisterMember(seqpool_mpc::MsgRegisterMember),
    RequestGovernanceAction(seqpool_mpc::MsgRequestGovernanceAction),
    SubmitProposal(seqpool_gov::MsgSubmitProposal),
    Vote(seqpool_gov::MsgVote),
    VoteWeighted(seqpool_gov::MsgVoteWeighted),
    CancelProposal(seqpool_gov::MsgCancelProposal),
}

fn decode<M: Message + Default>(any: &Any) -> Result<M, TxError> {
    M::decode(any.value.as_slice()).map_err(|e| {
        TxError::new(
            codes::TX_DECODE,
            format!("{} does not decode: {e}", any.type_url),
        )
    })
}

impl Msg {
    pub fn decode(any: &Any) -> Result<Self, TxError> {
        let url = any.type_url.as_str();
        if url == MsgUpdateParams::type_url() {
            Ok(Msg::UpdateParams(decode(any)?))
        } else if url == MsgTransferAdmin::type_url() {
            Ok(Msg::TransferAdmin(decode(any)?))
        } else if url == MsgRetireAdmin::type_url() {
            Ok(Msg::RetireAdmin(decode(any)?))
        } else if url == MsgUnjail::type_url() {
            Ok(Msg::Unjail(decode(any)?))
        } else if url == seqpool_mpc::MsgSubmitBatch::type_url() {
            Ok(Msg::SubmitBatch(decode(any)?))
        } else if url == seqpool_mpc::MsgRegisterMember::type_url() {
            Ok(Msg::RegisterMember(decode(any)?))
        } else if url == seqpool_mpc::MsgRequestGovernanceAction::type_url() {
            Ok(Msg::RequestGovernanceAction(decode(any)?))
        } else if url == seqpool_gov::MsgSubmitProposal::type_url() {
            Ok(Msg::SubmitProposal(decode(any)?))
        } else if url == seqpool_gov::MsgVote::type_url() {
            Ok(Msg::Vote(decode(any)?))
        } else if url == seqpool_gov::MsgVoteWeighted::type_url() {
            Ok(Msg::VoteWeighted(decode(any)?))
        } else if url == seqpool_gov::MsgCancelProposal::type_url() {
            Ok(Msg::CancelProposal(decode(any)?))
        } else {
            Err(TxError::new(
                codes::UNKNOWN_MESSAGE,
                format!("unknown message type {url:?}"),
            ))
        }
    }

    /// The account that must sign a tx carrying this message.
    pub fn signer(&self) -> &str {
        match self {
            Msg::UpdateParams(m) => &m.authority,
            Msg::TransferAdmin(m) => &m.authority,
            Msg::RetireAdmin(m) => &m.authority,
            Msg::Unjail(m) => &m.operator,
            Msg::SubmitBatch(m) => &m.operator,
            Msg::RegisterMember(m) => &m.operator,
            Msg::RequestGovernanceAction(m) => &m.authority,
            Msg::SubmitProposal(m) => &m.proposer,
            Msg::Vote(m) => &m.voter,
            Msg::VoteWeighted(m) => &m.voter,
            Msg::CancelProposal(m) => &m.proposer,
        }
    }

    pub fn type_url(&self) -> String {
        match self {
            Msg::UpdateParams(_) => MsgUpdateParams::type_url(),
            Msg::TransferAdmin(_) => MsgTransferAdmin::type_url(),
            Msg::RetireAdmin(_) => MsgRetireAdmin::type_url(),
            Msg::Unjail(_) => MsgUnjail::type_url(),
            Msg::SubmitBatch(_) => seqpool_mpc::MsgSubmitBatch::type_url(),
            Msg::RegisterMember(_) => seqpool_mpc::MsgRegisterMember::type_url(),
            Msg::RequestGovernanceAction(_) => seqpool_mpc::MsgRequestGovernanceAction::type_url(),
            Msg::SubmitProposal(_) => seqpool_gov::MsgSubmitProposal::type_url(),
            Msg::Vote(_) => seqpool_gov::MsgVote::type_url(),
            Msg::VoteWeighted(_) => seqpool_gov::MsgVoteWeighted::type_url(),
            Msg::CancelProposal(_) => seqpool_gov::MsgCancelProposal::type_url(),
        }
    }

    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &MsgContext,
    ) -> Result<Vec<Event>, TxError> {
        match self {
            Msg::UpdateParams(m) => update_params(state, m),
            Msg::TransferAdmin(m) => {
                // The old admin's unsigned actions would lose their justification, like at a
                // retirement.
                crate::governance::check_no_action_stranded(state, true, None)?;
                admin_handlers::transfer_admin(state, ctx, m)
            }
            Msg::RetireAdmin(m) => {
                crate::governance::check_no_action_stranded(state, true, None)?;
                let mut events = admin_handlers::retire_admin(state, ctx, m)?;
                // The same step retires the L1 admin: a group-signed Governance.removeAdmin.
                // A chain without L1 contracts has no L1 admin to retire.
                if seqpool_mpc::state::MpcRead::mpc_params(state)?.l1.is_some() {
                    let (request, event) = seqpool_mpc::requests::create_admin_removal(
                        state,
                        &ctx.block,
                        &m.authority,
                        ctx.proposal,
                    )?;
                    events.push(event.attr("action_nonce", request.sequence.to_string()));
                }
                Ok(events)
            }
            Msg::Unjail(m) => seqpool_staking::jail::unjail(state, ctx, m),
            Msg::SubmitBatch(m) => seqpool_mpc::msgs::submit_batch(state, ctx, m),
            Msg::RegisterMember(m) => seqpool_mpc::members::register_member(state, ctx, m),
            Msg::RequestGovernanceAction(m) => {
                admin_handlers::require_authority(state, &m.authority)?;
                // Without L1 contracts x/mpc answers l1_not_configured; a target of the wrong
                // length gets its own error there.
                let configured = seqpool_mpc::state::MpcRead::mpc_params(state)?.l1.is_some();
                if let (true, Ok(target)) = (configured, <[u8; 20]>::try_from(m.target.as_slice()))
                {
                    crate::governance::check_allowed(state, &target, &m.data)
                        .map_err(TxError::unauthorized)?;
                }
                seqpool_mpc::msgs::request_governance_action(state, ctx, m)
            }
            Msg::SubmitProposal(m) => {
                seqpool_gov::handlers::submit_proposal(state, ctx, m, &AppRouter)
            }
            Msg::Vote(m) => seqpool_gov::handlers::vote(state, ctx, m),
            Msg::VoteWeighted(m) => seqpool_gov::handlers::vote_weighted(state, ctx, m),
            Msg::CancelProposal(m) => seqpool_gov::handlers::cancel_proposal(state, ctx, m),
        }
    }
}

/// x/gov's view of this router: a proposal's messages are decoded and run as a tx's are.
pub struct AppRouter;

fn to_tx_any(msg: &pbjson_types::Any) -> Any {
    Any {
        type_url: msg.type_url.clone(),
        value: msg.value.to_vec(),
    }
}

impl seqpool_gov::Router for AppRouter {
    fn signer(&self, msg: &pbjson_types::Any) -> Result<String, TxError> {
        Ok(Msg::decode(&to_tx_any(msg))?.signer().to_string())
    }

    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgContext,
        msg: &pbjson_types::Any,
    ) -> Result<Vec<Event>, TxError> {
        let msg = Msg::decode(&to_tx_any(msg))?;
        // The gov authority signs every message of a proposal; a message naming another signer
        // would act for an account that never signed.
        if msg.signer() != ctx.signer {
            return Err(TxError::unauthorized(format!(
                "the message names {} as its signer, not {}",
                msg.signer(),
                ctx.signer
            )));
        }
        msg.execute(&mut state, ctx)
    }
}

/// Routes a params update to the module that owns the params type.
fn update_params<S: StateWrite>(
    state: &mut S,
    msg: &MsgUpdateParams,
) -> Result<Vec<Event>, TxError> {
    admin_handlers::require_authority(state, &msg.authority)?;
    let any = msg
        .params
        .as_ref()
        .ok_or_else(|| TxError::invalid_message("MsgUpdateParams has no params"))?;
    let module = if any.type_url == seqpool_auth::Params::type_url() {
        let p = seqpool_auth::Params::decode(any.value.as_ref())?;
        seqpool_auth::params::validate(&p)?;
        state.put_auth_params(&p);
        seqpool_auth::params::MODULE
    } else if any.type_url == seqpool_staking::Params::type_url() {
        let p = seqpool_staking::Params::decode(any.value.as_ref())?;
        seqpool_staking::params::validate(&p)?;
        state.put_staking_params(&p);
        seqpool_staking::params::MODULE
    } else if any.type_url == seqpool_epochs::Params::type_url() {
        // A new epoch length applies from the epoch after the next (see x/epochs).
        let p = seqpool_epochs::Params::decode(any.value.as_ref())?;
        seqpool_epochs::update_params(state, &p)?;
        seqpool_epochs::MODULE
    } else if any.type_url == seqpool_producer::Params::type_url() {
        let p = seqpool_producer::Params::decode(any.value.as_ref())?;
        seqpool_producer::validate_params(&p)?;
        seqpool_producer::put_params(state, &p);
        seqpool_producer::MODULE
    } else if any.type_url == seqpool_bridge::Params::type_url() {
        let p = seqpool_bridge::Params::decode(any.value.as_ref())?;
        seqpool_bridge::params::validate(&p)?;
        state.put_bridge_params(&p);
        seqpool_bridge::params::MODULE
    } else if any.type_url == seqpool_gov::Params::type_url() {
        // Gov's own rules change only by a proposal, never by the admin.
        if msg.authority != seqpool_component::address::gov_authority() {
            return Err(TxError::unauthorized(
                "gov params change only through a passed proposal (the gov authority)",
            ));
        }
        let p = seqpool_gov::Params::decode(any.value.as_ref())?;
        seqpool_gov::params::validate(&p)?;
        crate::governance::check_no_action_stranded(state, false, Some(&p))?;
        seqpool_gov::GovWrite::put_gov_params(state, &p);
        seqpool_gov::params::MODULE
    } else if any.type_url == seqpool_mpc::Params::type_url() {
        let p = seqpool_mpc::Params::decode(any.value.as_ref())?;
        seqpool_mpc::params::validate_params(&p)?;
        seqpool_mpc::state::MpcWrite::put_mpc_params(state, &p);
        seqpool_mpc::MODULE
    } else {
        return Err(TxError::invalid_message(format!(
            "no module has params of type {:?}",
            any.type_url
        )));
    };
    Ok(vec![Event::new("seqpool.admin.v1.EventParamsUpdated")
        .attr("module", module)
        .attr("params_type", any.type_url.clone())])
}
