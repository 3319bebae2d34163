//! What the group may sign on L1 in governance's name. The chain checks when a request is made,
//! and every validator's signer checks again, on its own committed state, before its share: a
//! GOVERNANCE_ACTION is signed only if a passed proposal in state carries exactly that action (or
//! the admin that asked still holds the role) and the allow-list of gov params names the call (or
//! it is Governance.removeAdmin and the chain admin has retired); a
//! SLASHING request only if a slash record of x/staking gives exactly that call.
use prost::{Message, Name};
use seqpool_admin::AdminRead;
use seqpool_component::{address, StateRead, StoreError, TxError};
use seqpool_gov::{GovRead, ProposalStatus};
use seqpool_mpc::requests;
use seqpool_mpc::state::MpcRead;
use seqpool_mpc::{RequestType, SigningRequest};

/// The name of the deployment's contract at `target` (x/mpc `params.l1`), if it is one.
pub fn contract_at(
    state: &impl StateRead,
    target: &[u8; 20],
) -> Result<Option<&'static str>, StoreError> {
    let params = state.mpc_params()?;
    Ok(seqpool_gov::params::L1_CONTRACTS.into_iter().find(|name| {
        requests::l1_target(params.l1.as_ref(), name).is_ok_and(|(_, a)| a == *target)
    }))
}

/// Why a governance action calling `data` on `target` is not in gov's allow-list, if it is not.
pub fn check_allowed(state: &impl StateRead, target: &[u8; 20], data: &[u8]) -> Result<(), String> {
    let params = state.gov_params().map_err(|e| e.to_string())?;
    check_allowed_by(&params, state, target, data)
}

/// As [`check_allowed`], with the allow-list of `params`.
pub fn check_allowed_by(
    params: &seqpool_gov::Params,
    state: &impl StateRead,
    target: &[u8; 20],
    data: &[u8],
) -> Result<(), String> {
    let contract = contract_at(state, target)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "0x{} is not one of the deployment's contracts (x/mpc params.l1)",
                hex::encode(target)
            )
        })?;
    if seqpool_gov::params::allowed_call(params, contract, data).is_none() {
        return Err(format!(
            "{contract} function 0x{} is not in gov params allowed_l1_calls",
            hex::encode(data.get(..4).unwrap_or(data))
        ));
    }
    Ok(())
}

/// Why the chain's state does not justify a GOVERNANCE_ACTION calling `data` on `target`, asked
/// for by `requested_by` through `proposal` (`None`: the admin), if it does not.
pub fn justify_governance_action(
    state: &impl StateRead,
    target: &[u8; 20],
    data: &[u8],
    requested_by: &str,
    proposal: Option<u64>,
) -> Result<(), String> {
    if is_admin_removal(state, target, data).map_err(|e| e.to_string())? {
        // The retirement is final, so it justifies this one call for good, whoever retired it.
        return match state.admin_retired_at().map_err(|e| e.to_string())? {
            Some(_) => Ok(()),
            None => Err(
                "Governance.removeAdmin is made only by the chain admin's retirement, and the admin has not retired"
                    .into(),
            ),
        };
    }
    match proposal {
        Some(id) => {
            let p = state
                .proposal(id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("proposal {id} does not exist"))?;
            if p.status != ProposalStatus::Passed as i32 {
                return Err(format!(
                    "proposal {id} is {}, not passed",
                    seqpool_gov::status_name(p.status)
                ));
            }
            let authority = address::gov_authority();
            let carried = p.messages.iter().any(|m| {
                m.type_url == seqpool_mpc::MsgRequestGovernanceAction::type_url()
                    && seqpool_mpc::MsgRequestGovernanceAction::decode(m.value.as_ref()).is_ok_and(
                        |a| {
                            a.authority == authority
                                && a.target.as_slice() == target.as_slice()
                                && a.data.as_slice() == data
                        },
                    )
            });
            if !carried {
                return Err(format!(
                    "proposal {id} carries no MsgRequestGovernanceAction for this target and calldata"
                ));
            }
        }
        None => {
            let admin = state.admin().map_err(|e| e.to_string())?;
            if admin.as_deref() != Some(requested_by) {
                return Err(match state.admin_retired_at().map_err(|e| e.to_string())? {
                    Some(h) => format!(
                        "asked for by the admin {requested_by}, which retired at height {h}"
                    ),
                    None => format!("asked for by {requested_by}, which is not the admin"),
                });
            }
        }
    }
    check_allowed(state, target, data)
}

/// Whether `data` on `target` is Governance.removeAdmin() on the deployment's Governance: the L1
/// half of the admin's retirement, never an action of its own.
pub fn is_admin_removal(
    state: &impl StateRead,
    target: &[u8; 20],
    data: &[u8],
) -> Result<bool, StoreError> {
    Ok(data == requests::remove_admin_calldata().as_slice()
        && contract_at(state, target)? == Some(requests::GOVERNANCE))
}

/// Why no slash record of x/staking for `validator` gives the call `data` on `target`, if none
/// does.
pub fn justify_slashing(
    state: &impl StateRead,
    target: &[u8; 20],
    data: &[u8],
    validator: &str,
) -> Result<(), String> {
    let params = state.mpc_params().map_err(|e| e.to_string())?;
    let (_, pool) =
        requests::l1_target(params.l1.as_ref(), requests::LOCKING_POOL).map_err(|e| e.message)?;
    if pool != *target {
        return Err("a slash must call the LockingPool".into());
    }
    let records = seqpool_staking::jail::slashing_requests(state).map_err(|e| e.to_string())?;
    let matches = records.iter().any(|r| {
        r.validator == validator
            && r.amount
                .parse::<u128>()
                .is_ok_and(|amount| requests::slash_calldata(r.sequencer_id, amount) == data)
    });
    if !matches {
        return Err(format!(
            "no slash record of {validator} gives this LockingPool.slash call"
        ));
    }
    Ok(())
}

/// A governance action not signed yet, with its call.
pub struct UnsignedAction {
    pub request: SigningRequest,
    pub target: [u8; 20],
    pub data: Vec<u8>,
}

/// Governance actions not signed yet (PENDING or SIGNING).
pub fn unsigned_actions(state: &impl StateRead) -> Result<Vec<UnsignedAction>, StoreError> {
    let mut out = Vec::new();
    for id in state.open_request_ids()? {
        let Some(r) = state.signing_request(id)? else {
            continue;
        };
        if r.request_type() != RequestType::GovernanceAction {
            continue;
        }
        if let Some((target, data)) = requests::decode_governance_payload(&r.payload, r.sequence) {
            out.push(UnsignedAction {
                request: r,
                target,
                data,
            });
        }
    }
    Ok(out)
}

/// Refuses a change that would leave an unsigned governance action unjustified: its signers
/// would refuse it, and as Governance takes action nonces in order, every later action and slash
/// would wait behind it. `admin_leaves`: the admin retires or hands the role over, and its own
/// actions lose their justification; `params`: the allow-list that would apply.
pub fn check_no_action_stranded(
    state: &impl StateRead,
    admin_leaves: bool,
    params: Option<&seqpool_gov::Params>,
) -> Result<(), TxError> {
    for UnsignedAction {
        request: r,
        target,
        data,
    } in unsigned_actions(state)?
    {
        if is_admin_removal(state, &target, &data)? {
            // Justified by the retirement, which nothing undoes.
            continue;
        }
        if admin_leaves && r.body.is_none() {
            return Err(TxError::invalid_message(format!(
                "the admin's governance action (request {}, action nonce {}) is not signed yet: leave the role once it is",
                r.request_id, r.sequence
            )));
        }
        if let Some(params) = params {
            check_allowed_by(params, state, &target, &data).map_err(|e| {
                TxError::invalid_message(format!(
                    "governance action request {} is not signed yet and the new allow-list refuses it: {e}",
                    r.request_id
                ))
            })?;
        }
    }
    Ok(())
}
