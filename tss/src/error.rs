//! Errors of the threshold key engine. Protocol errors name the member at fault (its FROST
//! identifier, hex) so the caller can exclude it and retry without it.

use crate::ids::{KeyId, SessionId};

/// Hex of a FROST identifier, used to name culprits in errors.
pub type MemberHex = String;

#[derive(Debug, thiserror::Error)]
pub enum TssError {
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    #[error("malformed {what} from {sender}: {reason}")]
    Malformed {
        what: &'static str,
        sender: MemberHex,
        reason: String,
    },
    #[error("could not decode {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    #[error("bad signature on a {what} message claimed by {sender}")]
    BadEnvelopeSignature {
        what: &'static str,
        sender: MemberHex,
    },
    #[error("{sender} is not a member of this session")]
    UnknownMember { sender: MemberHex },
    #[error(
        "message for key {got_key}/session {got_session}, expected key {key}/session {session}"
    )]
    WrongSession {
        key: KeyId,
        session: SessionId,
        got_key: KeyId,
        got_session: SessionId,
    },
    #[error("duplicate {what} from {sender}")]
    Duplicate {
        what: &'static str,
        sender: MemberHex,
    },
    #[error("{culprit} sent a bad commitment: {reason}")]
    BadCommitment { culprit: MemberHex, reason: String },
    #[error("{culprit} sent a bad secret share to {recipient}")]
    BadShare {
        culprit: MemberHex,
        recipient: MemberHex,
    },
    #[error("{} sent bad secret shares to {recipient}", culprits.join(", "))]
    BadShares {
        culprits: Vec<MemberHex>,
        recipient: MemberHex,
    },
    #[error("complaint against {accused} is not justified: {reason}")]
    UnjustifiedComplaint { accused: MemberHex, reason: String },
    #[error("{culprit} confirmed a different public key package")]
    ConfirmationMismatch { culprit: MemberHex },
    #[error("waiting for {phase}: {missing} member(s) have not sent yet")]
    Incomplete { phase: &'static str, missing: usize },
    #[error("protocol step out of order: {0}")]
    OutOfOrder(&'static str),
    #[error("group key x coordinate is not below the curve order; the L1 verifier cannot use it, restart the DKG with a new session")]
    GroupKeyUnsuitable,
    #[error("reshare changed the group key")]
    GroupKeyChanged,
    #[error("only {honest} honest dealer(s), the old threshold needs {needed}")]
    NotEnoughDealers { honest: usize, needed: usize },
    #[error("signing package lists {signers} signer(s), the threshold is {threshold}")]
    TooFewSigners { signers: usize, threshold: usize },
    #[error("signing package reuses a nonce commitment ({0})")]
    ReusedCommitment(String),
    #[error("signing package does not include this member's commitment")]
    NotASigner,
    #[error(
        "no unused nonce for the commitment in the signing package (already used or never made)"
    )]
    UnknownNonce,
    #[error("signer {culprit} in the signing package is not in the key's member set")]
    SignerNotInKey { culprit: MemberHex },
    #[error("invalid signature shares from {}", culprits.join(", "))]
    InvalidSignatureShares { culprits: Vec<MemberHex> },
    #[error("missing signature share from {culprit}")]
    MissingSignatureShare { culprit: MemberHex },
    #[error("no key {0} in the keystore")]
    UnknownKey(KeyId),
    #[error("keystore: wrong passphrase or key file")]
    WrongPassphrase,
    #[error("keystore record {record} is corrupted or was tampered with")]
    CorruptedRecord { record: String },
    #[error("keystore I/O: {0}")]
    Storage(String),
    #[error("frost: {0}")]
    Frost(#[from] frost_secp256k1::Error),
    #[error("crypto: {0}")]
    Crypto(String),
}

pub type Result<T> = std::result::Result<T, TssError>;
