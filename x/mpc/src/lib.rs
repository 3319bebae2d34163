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
//! Secrets never enter state; the node-side duties live in seqpoold (`app/src/mpc`).

pub mod keygen;
pub mod members;
pub mod params;
pub mod requests;
pub mod signing;
pub mod state;
pub mod state_key;

pub use seqpool_proto::mpc::v1::{
    BatchHeader, Blame, GenesisState, GroupKey, KeyStatus, KeygenKind, KeygenPayload,
    KeygenSession, L1Target, Member, MpcVote, MsgRegisterMember, MsgSubmitBatch, MsgUpdateParams,
    Params, RegisteredCommitment, RequestStatus, RequestType, SessionStatus, ShareVote,
    SigningAttempt, SigningRequest, VerifyingShare,
};

pub const MODULE: &str = "mpc";
