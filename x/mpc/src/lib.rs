//! x/mpc: the FROST group key's lifecycle and the signing sessions, driven by the chain.
//!
//! - Members: each validator registers an MPC identity (signer and encryption keys); its FROST
//!   identifier is `Identifier::derive(signer_key)`, stable across reshares ([`members`]).
//! - Key lifecycle ([`keygen`]): a DKG when no key is active, a reshare to t = floor(2n/3)+1 of the
//!   new set whenever the active set changes, a test signature before a key becomes active, and
//!   retirement of the shares it replaces. Payloads travel in the `mpc` vote-extension section.
//! - Signing ([`signing`]): typed requests ([`requests`]) each fix a signing package in the block
//!   that starts an attempt; the chosen signers' shares ride on that height's precommit extensions
//!   and the next block aggregates, blames bad shares and retries without missing signers.
//!
//! Secrets never enter state; the node-side duties live in seqpoold (`node/src/mpc`).

pub mod batch;
pub mod genesis;
pub mod keygen;
pub mod lifecycle;
pub mod limits;
pub mod members;
pub mod msgs;
pub mod params;
pub mod participation;
pub mod query;
pub mod receipts;
pub mod requests;
pub mod signing;
pub mod state;
pub mod state_key;

pub use seqpool_proto::mpc::v1::{
    BatchHeader, Blame, GenesisState, GroupKey, KeyStatus, KeygenKind, KeygenPayload,
    KeygenSession, L1Contracts, L1Target, Member, MpcVote, MsgRegisterMember,
    MsgRequestGovernanceAction, MsgSubmitBatch, MsgUpdateParams, Params, RegisteredCommitment,
    RequestStatus, RequestType, SessionStatus, ShareVote, SigningAttempt, SigningRequest,
    VerifyingShare,
};

pub const MODULE: &str = "mpc";

use seqpool_component::{BlockContext, Event, StateWrite, StoreError};
use seqpool_staking::Validator;

/// One validator's `mpc` section from the verified extended commit of the previous height.
pub struct MemberVote<'a> {
    pub validator: &'a Validator,
    pub vote: &'a MpcVote,
}

/// Applies the `mpc` sections of the previous height's extended commit (in the validator set's
/// order): keygen payloads, nonce commitments, signature shares. Deterministic; bad payloads are
/// recorded as blame, never errors.
pub fn apply_votes<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    votes: &[MemberVote<'_>],
) -> Result<Vec<Event>, StoreError> {
    let mut events = keygen::apply_votes(state, ctx, votes)?;
    events.extend(signing::apply_votes(state, ctx, votes)?);
    Ok(events)
}

/// After the block's txs: start or advance keygen sessions for the current active set, queue
/// requests from other modules, start signing attempts and time out stale ones.
pub fn end_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    let mut events = keygen::end_block(state, ctx)?;
    events.extend(signing::end_block(state, ctx)?);
    Ok(events)
}

/// Stateless checks of a vote's `mpc` section in VerifyVoteExtension (sizes, encodings).
pub fn validate_vote(vote: &MpcVote) -> Result<(), String> {
    keygen::validate_vote(vote)?;
    signing::validate_vote(vote)
}
