//! Vote extensions: what this node puts in its precommit, how it checks others', and how the
//! proposer carries the previous height's extended commit into its block so that every node can
//! verify it (signatures against the validator set of that height, and a >2/3 power tally).
use std::collections::{BTreeMap, BTreeSet};

use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use prost::Message;
use seqpool_bridge::BridgeRead;
use seqpool_component::{StateRead, StoreError};
use seqpool_mpc::state::MpcRead;
use seqpool_proto::app::v1::{ExtendedVote, InjectedExtendedCommit, VoteExtension};
use seqpool_staking::{StakingRead, Validator};
use tendermint::abci::types::{BlockSignatureInfo, CommitInfo, ExtendedCommitInfo};
use tendermint::block::BlockIdFlag;
use tendermint_proto::v0_38::types::CanonicalVoteExtension;

/// Marks the block's first tx as the injected extended commit. A `TxRaw` can never start with 0x00
/// (protobuf field 0 does not exist), so user txs cannot be confused with it.
pub const INJECTED_PREFIX: &[u8] = b"\x00seqpool/extended-commit/v1\x00";

pub const FLAG_ABSENT: i32 = 1;
pub const FLAG_COMMIT: i32 = 2;
pub const FLAG_NIL: i32 = 3;

/// CometBFT's sign bytes of a vote extension: length-delimited `CanonicalVoteExtension`.
pub fn sign_bytes(chain_id: &str, height: u64, round: i32, extension: &[u8]) -> Vec<u8> {
    CanonicalVoteExtension {
        extension: extension.to_vec(),
        height: height as i64,
        round: round as i64,
        chain_id: chain_id.to_string(),
    }
    .encode_length_delimited_to_vec()
}

pub fn encode_injected(commit: &InjectedExtendedCommit) -> Vec<u8> {
    [INJECTED_PREFIX, &commit.encode_to_vec()].concat()
}

/// `None` if `tx` is not an injected extended commit; otherwise its decoding.
pub fn decode_injected(tx: &[u8]) -> Option<Result<InjectedExtendedCommit, String>> {
    let body = tx.strip_prefix(INJECTED_PREFIX)?;
    Some(
        InjectedExtendedCommit::decode(body)
            .map_err(|e| format!("injected extended commit does not decode: {e}")),
    )
}

fn flag_of(info: &BlockSignatureInfo) -> i32 {
    match info {
        BlockSignatureInfo::Flag(BlockIdFlag::Absent) => FLAG_ABSENT,
        BlockSignatureInfo::Flag(BlockIdFlag::Commit) | BlockSignatureInfo::LegacySigned => {
            FLAG_COMMIT
        }
        BlockSignatureInfo::Flag(BlockIdFlag::Nil) => FLAG_NIL,
    }
}

/// Bytes of an extension outside its bridge, producer and mpc sections: the liveness section (a
/// height and a 32-byte app hash) and the framing of every section.
const EXTENSION_FIXED_BYTES: usize = 256;

/// Largest vote extension an honest node makes when key sessions have at most `participants`
/// members and a bridge section at most `max_events_per_vote` events: the sum of every section's
/// bound. At 100 participants and 16 events it is about 200 KB, so the extensions of 100
/// validators fit in CometBFT's default 21 MB block.
pub fn max_extension_bytes(participants: usize, max_events_per_vote: u32) -> usize {
    EXTENSION_FIXED_BYTES
        .saturating_add(seqpool_bridge::attest::max_vote_bytes(max_events_per_vote))
        .saturating_add(seqpool_producer::vote::MAX_VOTE_BYTES)
        .saturating_add(seqpool_mpc::limits::max_vote_bytes(participants))
}

/// The extension byte cap in force on `state`: sessions draw their members from the registered
/// MPC members, who are validators, so neither count is exceeded by a session the next block
/// starts.
pub fn extension_cap<S: StateRead>(state: &S) -> Result<usize, StoreError> {
    let participants = state.members()?.len().max(state.validators()?.len());
    let max_events = state.bridge_params()?.max_events_per_vote;
    Ok(max_extension_bytes(participants, max_events))
}

/// What the proposer injects: CometBFT's `local_last_commit` for `height`.
pub fn from_local_last_commit(height: u64, info: &ExtendedCommitInfo) -> InjectedExtendedCommit {
    InjectedExtendedCommit {
        height,
        round: info.round.value() as i32,
        votes: info
            .votes
            .iter()
            .map(|v| ExtendedVote {
                validator_address: v.validator.address.to_vec(),
                power: v.validator.power.value() as i64,
                block_id_flag: flag_of(&v.sig_info),
                vote_extension: v.vote_extension.to_vec(),
                extension_signature: v
                    .extension_signature
                    .as_ref()
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// An extended commit that passed [`verify_injected`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedCommit {
    pub height: u64,
    /// Consensus addresses (hex, upper case) whose extension is present and valid.
    pub signed: BTreeSet<String>,
    pub extensions: BTreeMap<String, VoteExtension>,
    /// Encoded size of each signed extension.
    pub sizes: BTreeMap<String, usize>,
    /// Signed extensions that do not decode, and why.
    pub undecodable: BTreeMap<String, String>,
    /// Validators that precommitted the block but whose extension the proposer left out.
    pub left_out: BTreeSet<String>,
    pub signed_power: i64,
    pub total_power: i64,
}

/// Verifies an injected extended commit for `height` against the validator set that signed it and,
/// when known, the commit CometBFT itself reports for that height. Errors say what is wrong.
pub fn verify_injected(
    chain_id: &str,
    commit: &InjectedExtendedCommit,
    height: u64,
    set: &[Validator],
    last_commit: Option<&CommitInfo>,
) -> Result<VerifiedCommit, String> {
    if commit.height != height {
        return Err(format!(
            "extended commit is for height {}, expected {height}",
            commit.height
        ));
    }
    if commit.votes.len() != set.len() {
        return Err(format!(
            "extended commit has {} votes, the validator set of height {height} has {}",
            commit.votes.len(),
            set.len()
        ));
    }
    if let Some(lc) = last_commit {
        if lc.round.value() as i32 != commit.round {
            return Err(format!(
                "extended commit round {} differs from the block's last commit round {}",
                commit.round,
                lc.round.value()
            ));
        }
        if lc.votes.len() != commit.votes.len() {
            return Err(
                "extended commit and the block's last commit list different validators".into(),
            );
        }
    }
    let mut out = VerifiedCommit {
        height,
        ..Default::default()
    };
    for (i, (vote, validator)) in commit.votes.iter().zip(set).enumerate() {
        let address = hex::encode_upper(&vote.validator_address);
        if address != validator.consensus_address || vote.power != validator.power {
            return Err(format!(
                "vote {i} is from {address} with power {}, expected {} with power {}",
                vote.power, validator.consensus_address, validator.power
            ));
        }
        out.total_power += validator.power;
        if let Some(lc) = last_commit {
            let theirs = &lc.votes[i];
            if theirs.validator.address.as_slice() != vote.validator_address.as_slice() {
                return Err(format!(
                    "vote {i}: validator differs from the block's last commit"
                ));
            }
            // A proposer may not drop a precommit that the block's commit contains ("short"
            // commit); it may leave out the extension (below).
            if flag_of(&theirs.sig_info) == FLAG_COMMIT && vote.block_id_flag != FLAG_COMMIT {
                return Err(format!(
                    "vote {i} ({address}) precommitted the block but the commit marks it {}",
                    vote.block_id_flag
                ));
            }
        }
        if vote.block_id_flag != FLAG_COMMIT {
            if !vote.vote_extension.is_empty() || !vote.extension_signature.is_empty() {
                return Err(format!(
                    "vote {i} ({address}) carries an extension without a commit vote"
                ));
            }
            continue;
        }
        if vote.vote_extension.is_empty() && vote.extension_signature.is_empty() {
            // Left out by the proposer (it failed the checks or did not fit in the block): as if
            // the validator had sent none. The tally below still needs more than 2/3 without it.
            out.left_out.insert(address);
            continue;
        }
        let key = VerifyingKey::from_sec1_bytes(&validator.consensus_pub_key)
            .map_err(|_| format!("validator {address} has an invalid consensus key in state"))?;
        let sig = Signature::from_slice(&vote.extension_signature)
            .map_err(|_| format!("vote {i} ({address}): extension signature is malformed"))?;
        let msg = sign_bytes(chain_id, height, commit.round, &vote.vote_extension);
        key.verify(&msg, &sig)
            .map_err(|_| format!("vote {i} ({address}): extension signature does not verify"))?;
        out.signed_power += validator.power;
        out.signed.insert(address.clone());
        out.sizes.insert(address.clone(), vote.vote_extension.len());
        // Content is judged later (`screen`): CometBFT lets a late precommit into the commit
        // without VerifyVoteExtension, so an honest proposer can carry any signed bytes.
        match VoteExtension::decode(vote.vote_extension.as_slice()) {
            Ok(ext) => {
                out.extensions.insert(address, ext);
            }
            Err(e) => {
                out.undecodable
                    .insert(address, format!("extension does not decode: {e}"));
            }
        }
    }
    if out.signed_power.saturating_mul(3) <= out.total_power.saturating_mul(2) {
        return Err(format!(
            "extensions carry {} of {} voting power, more than 2/3 is required",
            out.signed_power, out.total_power
        ));
    }
    Ok(out)
}
