//! Governance messages as the CLI builds them: a proposal from a JSON file whose messages are
//! proto3 JSON with an `@type` (as Cosmos proposal files are written), votes, cancel, and the
//! admin's retirement.
use cosmrs::Any;
use prost::{Message, Name};
use seqpool_proto::admin::v1::{MsgRetireAdmin, MsgTransferAdmin, MsgUpdateParams};
use seqpool_proto::gov::v1::{
    MsgCancelProposal, MsgSubmitProposal, MsgVote, MsgVoteWeighted, VoteOption, WeightedVoteOption,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{field_names, to_any, to_pbjson_any, ClientError};

fn bad(reason: impl Into<String>) -> ClientError {
    ClientError::BadProposal(reason.into())
}

/// The proposal file of `seqpoold tx gov submit-proposal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalFile {
    pub messages: Vec<Value>,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub metadata: String,
    #[serde(default)]
    pub expedited: bool,
}

/// One message of type `M` from its JSON fields (without `@type`); unknown fields are refused so
/// that a misspelt name does not silently become a zero.
fn parse<M: Message + Name + DeserializeOwned>(
    fields: Map<String, Value>,
) -> Result<M, ClientError> {
    let known = field_names(&M::full_name());
    if let Some(unknown) = fields.keys().find(|k| !known.contains(*k)) {
        return Err(bad(format!(
            "{}: unknown field {unknown:?} (known: {})",
            M::full_name(),
            known.join(", ")
        )));
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| bad(format!("{}: {e}", M::full_name())))
}

fn packed<M: Message + Name + DeserializeOwned>(
    fields: Map<String, Value>,
) -> Result<pbjson_types::Any, ClientError> {
    Ok(to_pbjson_any(&parse::<M>(fields)?))
}

/// A message given as proto3 JSON with its `@type`, packed as an `Any`. The `params` of a
/// `MsgUpdateParams` is itself such an object.
pub fn any_from_json(value: &Value) -> Result<pbjson_types::Any, ClientError> {
    let mut fields = value
        .as_object()
        .cloned()
        .ok_or_else(|| bad("a message must be a JSON object with an \"@type\""))?;
    let type_url = match fields.remove("@type") {
        Some(Value::String(t)) => t,
        _ => {
            return Err(bad(
                "a message needs an \"@type\" (e.g. \"/seqpool.admin.v1.MsgUpdateParams\")",
            ))
        }
    };
    macro_rules! one_of {
        ($($t:ty),* $(,)?) => {
            $(if type_url == <$t>::type_url() {
                return packed::<$t>(fields);
            })*
        };
    }
    if type_url == MsgUpdateParams::type_url() {
        let params = match fields.remove("params") {
            Some(p) => Some(any_from_json(&p)?),
            None => None,
        };
        let mut msg: MsgUpdateParams = parse(fields)?;
        msg.params = params;
        return Ok(to_pbjson_any(&msg));
    }
    one_of!(
        MsgTransferAdmin,
        MsgRetireAdmin,
        seqpool_proto::mpc::v1::MsgRequestGovernanceAction,
        seqpool_proto::auth::v1::Params,
        seqpool_proto::staking::v1::Params,
        seqpool_proto::epochs::v1::Params,
        seqpool_proto::producer::v1::Params,
        seqpool_proto::bridge::v1::Params,
        seqpool_proto::mpc::v1::Params,
        seqpool_proto::gov::v1::Params,
    );
    Err(bad(format!(
        "{type_url:?} is not a message a proposal can carry"
    )))
}

/// `MsgSubmitProposal` from a proposal file's JSON.
pub fn submit_proposal_msg(proposer: &str, file_json: &str) -> Result<Any, ClientError> {
    let file: ProposalFile =
        serde_json::from_str(file_json).map_err(|e| bad(format!("the proposal file: {e}")))?;
    let messages = file
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| any_from_json(m).map_err(|e| bad(format!("message {i}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(to_any(&MsgSubmitProposal {
        messages,
        proposer: proposer.to_string(),
        title: file.title,
        summary: file.summary,
        metadata: file.metadata,
        expedited: file.expedited,
    }))
}

/// A vote option from its CLI name (`yes`, `no`, `abstain`, `no_with_veto`).
pub fn vote_option(name: &str) -> Result<VoteOption, ClientError> {
    let upper = name.trim().to_ascii_uppercase().replace('-', "_");
    match VoteOption::from_str_name(&format!(
        "VOTE_OPTION_{}",
        upper.trim_start_matches("VOTE_OPTION_")
    )) {
        Some(VoteOption::Unspecified) | None => Err(bad(format!(
            "{name:?} is not a vote option (yes, no, abstain, no_with_veto)"
        ))),
        Some(o) => Ok(o),
    }
}

pub fn vote_msg(voter: &str, proposal_id: u64, option: &str) -> Result<Any, ClientError> {
    Ok(to_any(&MsgVote {
        proposal_id,
        voter: voter.to_string(),
        option: vote_option(option)? as i32,
        metadata: String::new(),
    }))
}

/// A decimal share of 1 ("0.6", "1", ".25") in basis points, exactly (at most 4 decimals).
fn weight_bps(s: &str) -> Result<u32, ClientError> {
    let invalid = || {
        bad(format!(
            "{s:?} is not a weight between 0 and 1 with at most 4 decimals"
        ))
    };
    let (whole, fraction) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if fraction.len() > 4
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || (whole.is_empty() && fraction.is_empty())
    {
        return Err(invalid());
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let fraction: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<4}").parse().map_err(|_| invalid())?
    };
    let bps = whole
        .checked_mul(10_000)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(invalid)?;
    if bps > 10_000 {
        return Err(invalid());
    }
    Ok(bps)
}

/// `MsgVoteWeighted` from `yes=0.6,no=0.4` (Cosmos' weighted-vote syntax).
pub fn weighted_vote_msg(voter: &str, proposal_id: u64, options: &str) -> Result<Any, ClientError> {
    let options = options
        .split(',')
        .map(|part| {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not option=weight")))?;
            Ok(WeightedVoteOption {
                option: vote_option(name)? as i32,
                weight_bps: weight_bps(weight)?,
            })
        })
        .collect::<Result<Vec<_>, ClientError>>()?;
    Ok(to_any(&MsgVoteWeighted {
        proposal_id,
        voter: voter.to_string(),
        options,
        metadata: String::new(),
    }))
}

pub fn cancel_proposal_msg(proposer: &str, proposal_id: u64) -> Any {
    to_any(&MsgCancelProposal {
        proposal_id,
        proposer: proposer.to_string(),
    })
}

pub fn retire_admin_msg(authority: &str) -> Any {
    to_any(&MsgRetireAdmin {
        authority: authority.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposal_file_with_nested_any_is_packed() {
        let file = r#"{
            "title": "raise max_tx_bytes",
            "summary": "s",
            "messages": [
                {"@type": "/seqpool.admin.v1.MsgUpdateParams", "authority": "seqpool1gov",
                 "params": {"@type": "/seqpool.auth.v1.Params", "maxTxBytes": "20000"}},
                {"@type": "/seqpool.admin.v1.MsgRetireAdmin", "authority": "seqpool1gov"}
            ]
        }"#;
        let any = submit_proposal_msg("seqpool1me", file).expect("packs");
        let msg = MsgSubmitProposal::decode(any.value.as_slice()).expect("decodes");
        assert_eq!(msg.proposer, "seqpool1me");
        assert_eq!(msg.messages.len(), 2);
        let update = MsgUpdateParams::decode(msg.messages[0].value.as_ref()).expect("update");
        let params = update.params.expect("params");
        assert_eq!(params.type_url, "/seqpool.auth.v1.Params");
        let auth =
            seqpool_proto::auth::v1::Params::decode(params.value.as_ref()).expect("auth params");
        assert_eq!(auth.max_tx_bytes, 20_000);
        assert_eq!(msg.messages[1].type_url, "/seqpool.admin.v1.MsgRetireAdmin");
    }

    #[test]
    fn bad_proposal_files_name_their_fault() {
        let cases = [
            (r#"{"title":"t","messages":[{"authority":"x"}]}"#, "@type"),
            (
                r#"{"title":"t","messages":[{"@type":"/seqpool.admin.v1.MsgRetireAdmin","authorty":"x"}]}"#,
                "authorty",
            ),
            (
                r#"{"title":"t","messages":[{"@type":"/cosmos.bank.v1beta1.MsgSend"}]}"#,
                "MsgSend",
            ),
            (r#"{"title":"t","messages":[],"extra":1}"#, "extra"),
        ];
        for (file, named) in cases {
            let e = submit_proposal_msg("seqpool1me", file).expect_err(file);
            assert!(e.to_string().contains(named), "{file}: {e}");
        }
    }

    #[test]
    fn votes_and_weights() {
        assert_eq!(vote_option("yes").ok(), Some(VoteOption::Yes));
        assert_eq!(
            vote_option("no_with_veto").ok(),
            Some(VoteOption::NoWithVeto)
        );
        assert_eq!(
            vote_option("No-With-Veto").ok(),
            Some(VoteOption::NoWithVeto)
        );
        assert!(vote_option("maybe").is_err());
        assert!(vote_option("unspecified").is_err());
        assert_eq!(weight_bps("0.6").ok(), Some(6_000));
        assert_eq!(weight_bps("1").ok(), Some(10_000));
        assert_eq!(weight_bps(".25").ok(), Some(2_500));
        assert_eq!(weight_bps("0.0001").ok(), Some(1));
        for bad in ["1.5", "0.00001", "-1", "x", ".", ""] {
            assert!(weight_bps(bad).is_err(), "{bad}");
        }
        let any = weighted_vote_msg("v", 3, "yes=0.6,no=0.4").expect("weighted");
        let msg = MsgVoteWeighted::decode(any.value.as_slice()).expect("decodes");
        assert_eq!(msg.options.len(), 2);
        assert_eq!(msg.options[0].weight_bps, 6_000);
        assert!(weighted_vote_msg("v", 3, "yes").is_err());
    }
}
