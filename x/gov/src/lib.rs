//! x/gov: proposals decided by the validators' power (their L1 stake) and executed as the gov
//! authority. A proposal carries messages of any module whose signer is the gov authority (a
//! module account no key controls); it is open for votes for `voting_period_seconds` of block
//! time, tallied with the rules of cosmos x/gov v1 ([`tally`]), and when it passes its messages
//! run in order on a fork: one failure leaves nothing applied ([`execution`]).
//!
//! There are no tokens or deposits: only the operator of an active validator may propose, with at
//! most `max_open_proposals_per_proposer` open at once and a size limit per proposal.

pub mod execution;
pub mod genesis;
pub mod handlers;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;
pub mod tally;

use seqpool_component::{Event, MsgContext, StateWrite, TxError};
pub use seqpool_proto::gov::v1::{
    AllowedL1Call, GenesisState, MsgCancelProposal, MsgSubmitProposal, MsgVote, MsgVoteWeighted,
    Params, Proposal, ProposalStatus, TallyResult, Vote, VoteOption, VoterPower,
    WeightedVoteOption,
};
pub use state::{GovRead, GovWrite};

/// The app's message router, as x/gov needs it: a proposal's messages are decoded and run by the
/// same code a tx's messages are.
pub trait Router {
    /// The account that must sign `msg`, or the error a tx carrying it would get.
    fn signer(&self, msg: &pbjson_types::Any) -> Result<String, TxError>;
    /// Runs `msg` on `state` (the caller forks it).
    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgContext,
        msg: &pbjson_types::Any,
    ) -> Result<Vec<Event>, TxError>;
}

/// Unix nanoseconds of a block time as a key component (block times before 1970 count as 0).
pub(crate) fn nanos_u64(unix_nanos: i128) -> u64 {
    u64::try_from(unix_nanos.max(0)).unwrap_or(u64::MAX)
}

pub(crate) fn timestamp(unix_nanos: i128) -> pbjson_types::Timestamp {
    let seconds = unix_nanos.div_euclid(1_000_000_000);
    let nanos = unix_nanos.rem_euclid(1_000_000_000);
    pbjson_types::Timestamp {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos).unwrap_or(0),
    }
}

pub(crate) fn unix_nanos(t: &pbjson_types::Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

/// The name of a status as the CLI and queries show it (`PROPOSAL_STATUS_PASSED`).
pub fn status_name(status: i32) -> &'static str {
    ProposalStatus::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("PROPOSAL_STATUS_UNKNOWN")
}
