//! Stable ABCI result codes of seqpool (codespace [`CODESPACE`]). Clients and tests match on these
//! numbers, so a code is never reused or renumbered; new codes are appended.

pub const CODESPACE: &str = "seqpool";

pub const OK: u32 = 0;
/// A bug or a storage failure on this node; never the sender's fault.
pub const INTERNAL: u32 = 1;
/// The bytes are not a `cosmos.tx.v1beta1.TxRaw` with a decodable body and auth info.
pub const TX_DECODE: u32 = 2;
/// The tx is larger than `auth` param `max_tx_bytes`.
pub const TX_TOO_LARGE: u32 = 3;
/// The tx is well-formed protobuf but breaks a structural rule (no messages, several signers,
/// unsupported sign mode, bad public key, memo too long, ...).
pub const INVALID_TX: u32 = 4;
/// The tx declares (in its `TxChainId` extension) a chain-id other than this chain's.
pub const WRONG_CHAIN_ID: u32 = 5;
/// The signer is not a registered account.
pub const UNKNOWN_ACCOUNT: u32 = 6;
/// The signature does not verify over the SignDoc (wrong key, account number or chain-id).
pub const INVALID_SIGNATURE: u32 = 7;
/// The tx's sequence was already used (a replay).
pub const SEQUENCE_REPLAYED: u32 = 8;
/// The tx's sequence is ahead of the next expected one.
pub const SEQUENCE_GAP: u32 = 9;
/// The account already has `max_pending_txs_per_account` txs in this node's mempool.
pub const MEMPOOL_ACCOUNT_FULL: u32 = 10;
/// A message type URL that no module handles.
pub const UNKNOWN_MESSAGE: u32 = 11;
/// The signer may not send this message (e.g. not the admin).
pub const UNAUTHORIZED: u32 = 12;
/// A message failed validation (bad address, bad params, ...).
pub const INVALID_MESSAGE: u32 = 13;
/// The tx's `timeout_height` has passed.
pub const TX_TIMEOUT: u32 = 14;
/// Bytes reserved for block-level data (the injected extended commit) sent as a user tx.
pub const RESERVED_TX: u32 = 15;
/// A query asked for something that does not exist (an unregistered account, ...).
pub const NOT_FOUND: u32 = 16;
/// A query path that no module serves.
pub const UNKNOWN_QUERY: u32 = 17;
/// A query at a height this node does not have.
pub const HEIGHT_UNAVAILABLE: u32 = 18;
/// A query whose arguments are malformed.
pub const INVALID_QUERY: u32 = 19;
// x/staking (30-39).
/// MsgUnjail for a validator that is not jailed.
pub const VALIDATOR_NOT_JAILED: u32 = 30;
/// MsgUnjail before the validator's jail cool-down has passed.
pub const JAIL_COOLDOWN: u32 = 31;
/// MsgUnjail for a validator jailed for double signing (never unjailed).
pub const VALIDATOR_TOMBSTONED: u32 = 32;
// x/mpc members (40-44).
/// MsgRegisterMember whose signer or encryption key is already registered to another validator.
pub const MEMBER_KEY_TAKEN: u32 = 40;
/// MsgRegisterMember whose proof is not the signer key's signature over the registration bytes.
pub const INVALID_MEMBER_PROOF: u32 = 41;
/// MsgRegisterMember from an account that operates no validator.
pub const NOT_VALIDATOR_OPERATOR: u32 = 42;
// x/mpc signing requests (45-49).
/// MsgSubmitBatch whose batch index or L2 start block is not the next one the chain expects.
pub const BATCH_OUT_OF_ORDER: u32 = 45;
/// MsgSubmitBatch with an empty, inverted or too long L2 block range, or malformed roots.
pub const INVALID_BATCH: u32 = 46;
/// A signing request from an account that is not the operator of an active validator.
pub const NOT_ACTIVE_VALIDATOR: u32 = 47;
/// A request that needs the L1 chain id and contract addresses, which x/mpc params lack.
pub const L1_NOT_CONFIGURED: u32 = 48;
// x/gov (50-59).
/// A vote or cancel for a proposal id that does not exist.
pub const PROPOSAL_NOT_FOUND: u32 = 50;
/// A vote or cancel for a proposal whose voting has ended (or that was canceled).
pub const VOTING_CLOSED: u32 = 51;
/// MsgSubmitProposal from a proposer that already has `max_open_proposals_per_proposer` open.
pub const TOO_MANY_OPEN_PROPOSALS: u32 = 52;

/// Name of a code, for logs and the CLI.
pub fn name(code: u32) -> &'static str {
    match code {
        OK => "ok",
        INTERNAL => "internal",
        TX_DECODE => "tx_decode",
        TX_TOO_LARGE => "tx_too_large",
        INVALID_TX => "invalid_tx",
        WRONG_CHAIN_ID => "wrong_chain_id",
        UNKNOWN_ACCOUNT => "unknown_account",
        INVALID_SIGNATURE => "invalid_signature",
        SEQUENCE_REPLAYED => "sequence_replayed",
        SEQUENCE_GAP => "sequence_gap",
        MEMPOOL_ACCOUNT_FULL => "mempool_account_full",
        UNKNOWN_MESSAGE => "unknown_message",
        UNAUTHORIZED => "unauthorized",
        INVALID_MESSAGE => "invalid_message",
        TX_TIMEOUT => "tx_timeout",
        RESERVED_TX => "reserved_tx",
        NOT_FOUND => "not_found",
        UNKNOWN_QUERY => "unknown_query",
        HEIGHT_UNAVAILABLE => "height_unavailable",
        INVALID_QUERY => "invalid_query",
        VALIDATOR_NOT_JAILED => "validator_not_jailed",
        JAIL_COOLDOWN => "jail_cooldown",
        VALIDATOR_TOMBSTONED => "validator_tombstoned",
        MEMBER_KEY_TAKEN => "member_key_taken",
        INVALID_MEMBER_PROOF => "invalid_member_proof",
        NOT_VALIDATOR_OPERATOR => "not_validator_operator",
        BATCH_OUT_OF_ORDER => "batch_out_of_order",
        INVALID_BATCH => "invalid_batch",
        NOT_ACTIVE_VALIDATOR => "not_active_validator",
        L1_NOT_CONFIGURED => "l1_not_configured",
        PROPOSAL_NOT_FOUND => "proposal_not_found",
        VOTING_CLOSED => "voting_closed",
        TOO_MANY_OPEN_PROPOSALS => "too_many_open_proposals",
        _ => "unknown",
    }
}
