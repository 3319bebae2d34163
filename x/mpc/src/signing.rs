//! Signing sessions: one attempt at a time for each open request, its package fixed in the block
//! that starts it; shares arrive in that height's precommit extensions and the next block
//! aggregates, blames invalid shares and retries without missing signers.
//!
//! - Nonce commitments: members register preprocessed commitments per key through their votes
//!   (`nonce_commitments`); an attempt consumes each chosen signer's lowest unused one, so a
//!   commitment is never in two packages.
//! - Attempt (end_block of h): t signers among the key's members, online ones first (their
//!   extension was in the commit applied at h), rotated by request id, without the culprits and
//!   (if enough remain) the missing signers of earlier attempts; deadline h + sign_timeout_blocks.
//! - Shares (apply_votes of h+1): a share counts only from the member registered for the
//!   validator whose extension carried it, for the live attempt that names it. With all t shares
//!   the block aggregates: a valid signature makes the request SIGNED; invalid shares are blamed
//!   and penalised and the next attempt leaves them out.
//! - Timeout (end_block at the deadline): signers without a share are recorded as missing (no
//!   blame: offline or refusing) and a new attempt starts; after max_sign_attempts the request
//!   is FAILED.
use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::{PublicKeyPackage, VerifyingShare as FrostVerifyingShare};
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::{Identifier, VerifyingKey};
use seqpool_component::{
    BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
};
use seqpool_proto::tss::v1 as tsspb;
use seqpool_staking::StakingRead;
use seqpool_tss::messages;
use seqpool_tss::{KeyId, MemberPublic, Roster, SessionId, TssError};

pub use crate::participation::{last_voters, share_faults};
use crate::participation::{penalise, LAST_VOTERS};
use crate::state::{MpcRead, MpcWrite};
use crate::{
    state_key, Blame, GroupKey, KeyStatus, MemberVote, MpcVote, RegisteredCommitment,
    RequestStatus, RequestType, SessionStatus, SigningAttempt, SigningRequest,
};

fn shares_prefix(request_id: u64, attempt: u32) -> Vec<u8> {
    [
        b"mpc/share/".as_slice(),
        &request_id.to_be_bytes(),
        &attempt.to_be_bytes(),
    ]
    .concat()
}

fn share_key(request_id: u64, attempt: u32, identifier: &[u8]) -> Vec<u8> {
    [shares_prefix(request_id, attempt), identifier.to_vec()].concat()
}

/// The tss session id of one attempt: the request id in the high bits, the attempt number in
/// the low 16.
pub fn session_id(request_id: u64, attempt: u32) -> u64 {
    (request_id << 16) | u64::from(attempt & 0xffff)
}

/// Unused registered commitments of `identifier` for `key_id`, lowest index first.
pub fn unused_commitments<S: StateRead + ?Sized>(
    state: &S,
    key_id: u64,
    identifier: &[u8],
) -> Result<Vec<RegisteredCommitment>, StoreError> {
    Ok(state
        .prefix_proto::<RegisteredCommitment>(&state_key::commitments_prefix(key_id, identifier))?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

fn first_unused_commitment<S: StateRead + ?Sized>(
    state: &S,
    key_id: u64,
    identifier: &[u8],
) -> Result<Option<RegisteredCommitment>, StoreError> {
    // The prefix scan is ordered by index; the first entry is the lowest.
    Ok(unused_commitments(state, key_id, identifier)?
        .into_iter()
        .next())
}

/// Open requests with their live attempt (status OPEN), in request id order: what the nodes
/// answer in their votes.
pub fn live_attempts<S: StateRead + ?Sized>(
    state: &S,
) -> Result<Vec<(SigningRequest, SigningAttempt)>, StoreError> {
    let mut out = Vec::new();
    for id in state.open_request_ids()? {
        let Some(request) = state.signing_request(id)? else {
            continue;
        };
        if request.status() != RequestStatus::Signing {
            continue;
        }
        if let Some(attempt) = state.signing_attempt(id, request.attempts)? {
            if attempt.status() == SessionStatus::Open {
                out.push((request, attempt));
            }
        }
    }
    Ok(out)
}

/// The frost public key package of a key from its state record.
pub fn public_key_package(key: &GroupKey) -> Result<PublicKeyPackage, String> {
    let verifying_key = VerifyingKey::deserialize(&key.group_key)
        .map_err(|e| format!("key {} group key: {e}", key.key_id))?;
    let mut shares = BTreeMap::new();
    for s in &key.verifying_shares {
        let id = Identifier::deserialize(&s.identifier)
            .map_err(|e| format!("key {} identifier: {e}", key.key_id))?;
        let share = FrostVerifyingShare::deserialize(&s.share)
            .map_err(|e| format!("key {} verifying share: {e}", key.key_id))?;
        shares.insert(id, share);
    }
    Ok(PublicKeyPackage::new(
        shares,
        verifying_key,
        u16::try_from(key.threshold).ok(),
    ))
}

/// The envelope roster of every registered member (signer keys authenticate the envelopes).
fn members_roster<S: StateRead + ?Sized>(state: &S) -> Result<Option<Roster>, StoreError> {
    let members: Vec<MemberPublic> = state
        .members()?
        .iter()
        .filter_map(|m| MemberPublic::new(&m.signer_key, &m.encryption_key).ok())
        .collect();
    Ok(Roster::new(members).ok())
}

fn rejected(validator: &str, what: &str, reason: impl std::fmt::Display) -> Event {
    Event::new("mpc_vote_rejected")
        .attr("validator", validator)
        .attr("what", what)
        .attr("reason", reason.to_string())
}

pub fn apply_votes<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    votes: &[MemberVote<'_>],
) -> Result<Vec<Event>, StoreError> {
    let mut events = Vec::new();
    let mut voters = Vec::new();
    let needs_roster = votes
        .iter()
        .any(|v| v.vote.nonce_commitments.is_some() || !v.vote.shares.is_empty());
    let roster = if needs_roster {
        members_roster(state)?
    } else {
        None
    };
    let params = state.mpc_params()?;
    let mut touched = BTreeSet::new();
    for MemberVote { validator, vote } in votes {
        let address = validator.consensus_address.as_str();
        let Some(member) = state.member(address)? else {
            continue;
        };
        voters.extend_from_slice(&member.identifier);
        let Some(roster) = roster.as_ref() else {
            continue;
        };
        if let Some(envelope) = &vote.nonce_commitments {
            if let Err(reason) = register_commitments(state, &params, &member, envelope, roster) {
                events.push(rejected(address, "nonce_commitments", reason));
            }
        }
        // One event per vote for its rejected shares and one for its refusals, whatever the
        // vote lists: the block's events stay bounded by the validator count.
        let mut rejected_shares = 0usize;
        let mut first_reason = None;
        for share in &vote.shares {
            match accept_share(state, &member, share, roster) {
                Ok(()) => {
                    touched.insert((share.request_id, share.attempt));
                }
                Err(reason) => {
                    rejected_shares += 1;
                    first_reason.get_or_insert(reason);
                }
            }
        }
        if let Some(reason) = first_reason {
            events.push(
                rejected(address, "share", reason).attr("count", rejected_shares.to_string()),
            );
        }
        // A refusal counts only for a request being signed; others are noise.
        let mut refused = BTreeSet::new();
        for id in vote.refused.iter().copied().collect::<BTreeSet<u64>>() {
            if state
                .signing_request(id)?
                .is_some_and(|r| r.status() == RequestStatus::Signing)
            {
                refused.insert(id);
            }
        }
        if !refused.is_empty() {
            let ids: Vec<String> = refused.iter().map(u64::to_string).collect();
            events.push(
                Event::new("mpc_request_refused")
                    .attr("request_ids", ids.join(","))
                    .attr("validator", address),
            );
        }
    }
    // Most blocks have the same voters: write only a change. No voters (no members voted) is
    // the absent key: the store refuses empty values.
    if voters.is_empty() {
        if state.get_raw(LAST_VOTERS)?.is_some() {
            state.delete(LAST_VOTERS.to_vec());
        }
    } else if state.get_raw(LAST_VOTERS)?.as_deref() != Some(voters.as_slice()) {
        state.put_raw(LAST_VOTERS.to_vec(), voters);
    }
    for (request_id, attempt) in touched {
        events.extend(try_aggregate(state, ctx, request_id, attempt)?);
    }
    Ok(events)
}

fn register_commitments<S: StateWrite>(
    state: &mut S,
    params: &crate::Params,
    member: &crate::Member,
    envelope: &tsspb::SignedEnvelope,
    roster: &Roster,
) -> Result<(), String> {
    if envelope.sender != member.signer_key {
        return Err("envelope not from the validator's registered member".into());
    }
    let (sender, key_id, commitments) =
        messages::open_nonce_commitments(envelope, roster).map_err(|e| e.to_string())?;
    if sender.serialize() != member.identifier {
        return Err("sender is not the validator's member".into());
    }
    let key = state
        .group_key(key_id.0)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown key {}", key_id.0))?;
    if !matches!(key.status(), KeyStatus::Active | KeyStatus::Pending) {
        return Err(format!("key {} is not active or pending", key.key_id));
    }
    if !key
        .members
        .iter()
        .any(|m| m.identifier == member.identifier)
    {
        return Err(format!("not a member of key {}", key.key_id));
    }
    let held = unused_commitments(state, key.key_id, &member.identifier)
        .map_err(|e| e.to_string())?
        .len();
    let room = (params.nonce_pool_target as usize).saturating_sub(held);
    let next_key = state_key::next_commitment_index(key.key_id, &member.identifier);
    let mut index = state
        .get_u64(&next_key)
        .map_err(|e| e.to_string())?
        .unwrap_or(0);
    for c in commitments.iter().take(room) {
        let commitment = messages::signing_commitments_to_pb(c).map_err(|e| e.to_string())?;
        if commitment.hiding == commitment.binding {
            return Err("a commitment's hiding equals its binding".into());
        }
        state.put_proto(
            state_key::commitment(key.key_id, &member.identifier, index),
            &RegisteredCommitment {
                key_id: key.key_id,
                identifier: member.identifier.clone(),
                index,
                commitment: Some(commitment),
            },
        );
        index += 1;
    }
    state.put_u64(next_key, index);
    Ok(())
}

fn accept_share<S: StateWrite>(
    state: &mut S,
    member: &crate::Member,
    vote: &crate::ShareVote,
    roster: &Roster,
) -> Result<(), String> {
    let envelope = vote
        .share
        .as_ref()
        .ok_or("share vote without an envelope")?;
    if envelope.sender != member.signer_key {
        return Err("envelope not from the validator's registered member".into());
    }
    let request = state
        .signing_request(vote.request_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown request {}", vote.request_id))?;
    if request.status() != RequestStatus::Signing || request.attempts != vote.attempt {
        return Err(format!(
            "request {} attempt {} is not live",
            vote.request_id, vote.attempt
        ));
    }
    let attempt = state
        .signing_attempt(vote.request_id, vote.attempt)
        .map_err(|e| e.to_string())?
        .filter(|a| a.status() == SessionStatus::Open)
        .ok_or_else(|| format!("attempt {} is not open", vote.attempt))?;
    let package = attempt.package.as_ref().ok_or("attempt without package")?;
    if !package
        .signers
        .iter()
        .any(|s| s.identifier == member.identifier)
    {
        return Err("not a signer of this attempt".into());
    }
    let (sender, key_id, session, share) =
        messages::open_signature_share(envelope, roster).map_err(|e| e.to_string())?;
    if sender.serialize() != member.identifier {
        return Err("sender is not the validator's member".into());
    }
    if key_id.0 != package.key_id || session.0 != package.session_id {
        return Err(format!(
            "share for key {}/session {}, the attempt is key {}/session {}",
            key_id.0, session.0, package.key_id, package.session_id
        ));
    }
    state.put_raw(
        share_key(vote.request_id, vote.attempt, &member.identifier),
        share.serialize(),
    );
    Ok(())
}

/// (signer identifier, serialized share) pairs of one attempt.
type StoredShares = Vec<(Vec<u8>, Vec<u8>)>;

fn stored_shares<S: StateRead + ?Sized>(
    state: &S,
    request_id: u64,
    attempt: u32,
) -> Result<StoredShares, StoreError> {
    let prefix = shares_prefix(request_id, attempt);
    Ok(state
        .prefix_raw(&prefix)?
        .into_iter()
        .map(|(k, v)| (k[prefix.len()..].to_vec(), v))
        .collect())
}

fn clear_shares<S: StateWrite>(
    state: &mut S,
    request_id: u64,
    attempt: u32,
) -> Result<(), StoreError> {
    for (id, _) in stored_shares(state, request_id, attempt)? {
        state.delete(share_key(request_id, attempt, &id));
    }
    Ok(())
}

/// Ends a request's live attempt without a signature; the request waits for the next attempt
/// or fails after max_sign_attempts.
fn end_attempt<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request: &mut SigningRequest,
    attempt: &mut SigningAttempt,
    reason: &str,
) -> Result<Vec<Event>, StoreError> {
    clear_shares(state, request.request_id, attempt.attempt)?;
    attempt.status = SessionStatus::Failed as i32;
    state.put_signing_attempt(attempt);
    let max = state.mpc_params()?.max_sign_attempts;
    let mut events = vec![Event::new("mpc_attempt_failed")
        .attr("request_id", request.request_id.to_string())
        .attr("attempt", attempt.attempt.to_string())
        .attr("reason", reason)];
    if request.attempts >= max {
        request.status = RequestStatus::Failed as i32;
        request.failure = format!(
            "no signature after {} attempts ({reason})",
            request.attempts
        );
        events.push(
            Event::new("mpc_request_failed")
                .attr("request_id", request.request_id.to_string())
                .attr("height", ctx.height.to_string()),
        );
        // A sequence of an L1 counter must still be signed or every later request of that counter
        // reverts on L1: a new request for the same sequence, whose first attempt starts at the
        // next end_block (the attempts pick online signers first, so no extra wait).
        if let Some((retry, retry_events)) = crate::requests::retry_action(state, ctx, request)? {
            request.failure += &format!("; retried as request {}", retry.request_id);
            events.extend(retry_events);
        }
    } else {
        request.status = RequestStatus::Pending as i32;
    }
    state.put_signing_request(request);
    Ok(events)
}

/// Aggregates an attempt once every signer's share is in.
fn try_aggregate<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request_id: u64,
    attempt_no: u32,
) -> Result<Vec<Event>, StoreError> {
    let (Some(mut request), Some(mut attempt)) = (
        state.signing_request(request_id)?,
        state.signing_attempt(request_id, attempt_no)?,
    ) else {
        return Ok(Vec::new());
    };
    let Some(package_pb) = attempt.package.clone() else {
        return Ok(Vec::new());
    };
    let shares = stored_shares(state, request_id, attempt_no)?;
    if shares.len() < package_pb.signers.len() {
        return Ok(Vec::new());
    }
    let verdict = aggregate_shares(state, &request, &package_pb, &shares)?;
    match verdict {
        Ok(signature) => {
            clear_shares(state, request_id, attempt_no)?;
            attempt.status = SessionStatus::Done as i32;
            state.put_signing_attempt(&attempt);
            request.status = RequestStatus::Signed as i32;
            request.signature = signature;
            request.signed_height = ctx.height;
            state.put_signing_request(&request);
            let mut events = vec![Event::new("mpc_request_signed")
                .attr("request_id", request_id.to_string())
                .attr("type", request.request_type().as_str_name())
                .attr("sequence", request.sequence.to_string())
                .attr("attempt", attempt_no.to_string())
                .attr("created_height", request.created_height.to_string())];
            if request.request_type() == RequestType::KeyTest {
                events.extend(crate::lifecycle::on_key_test_signed(state, ctx, &request)?);
            }
            Ok(events)
        }
        Err(Failure::Culprits(culprits)) => {
            let mut events = Vec::new();
            for identifier in culprits {
                let validator = state
                    .member_by_identifier(&identifier)?
                    .map(|m| m.validator)
                    .unwrap_or_default();
                attempt.culprits.push(Blame {
                    identifier: identifier.clone(),
                    validator: validator.clone(),
                    reason: "invalid signature share".into(),
                    height: ctx.height,
                });
                events.extend(penalise(state, ctx, &validator)?);
            }
            events.extend(end_attempt(
                state,
                ctx,
                &mut request,
                &mut attempt,
                "invalid signature shares",
            )?);
            Ok(events)
        }
        Err(Failure::Other(reason)) => end_attempt(state, ctx, &mut request, &mut attempt, &reason),
    }
}

enum Failure {
    Culprits(Vec<Vec<u8>>),
    Other(String),
}

fn aggregate_shares<S: StateRead + ?Sized>(
    state: &S,
    request: &SigningRequest,
    package_pb: &tsspb::SigningPackage,
    shares: &[(Vec<u8>, Vec<u8>)],
) -> Result<Result<Vec<u8>, Failure>, StoreError> {
    let Some(key) = state.group_key(package_pb.key_id)? else {
        return Ok(Err(Failure::Other(format!(
            "key {} is gone",
            request.key_id
        ))));
    };
    let public = match public_key_package(&key) {
        Ok(p) => p,
        Err(e) => return Ok(Err(Failure::Other(e))),
    };
    let (_, _, package) = match messages::signing_package_from_pb(package_pb) {
        Ok(p) => p,
        Err(e) => return Ok(Err(Failure::Other(e.to_string()))),
    };
    let mut by_id = BTreeMap::new();
    let mut culprits = Vec::new();
    for (id, bytes) in shares {
        let Ok(identifier) = Identifier::deserialize(id) else {
            continue;
        };
        match SignatureShare::deserialize(bytes) {
            Ok(share) => {
                by_id.insert(identifier, share);
            }
            Err(_) => culprits.push(id.clone()),
        }
    }
    if !culprits.is_empty() {
        return Ok(Err(Failure::Culprits(culprits)));
    }
    match seqpool_tss::sign::aggregate(&package, &by_id, &public) {
        Ok(signature) => match signature.serialize() {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(e) => Ok(Err(Failure::Other(e.to_string()))),
        },
        Err(TssError::InvalidSignatureShares { culprits }) => {
            let named: BTreeSet<String> = culprits.into_iter().collect();
            Ok(Err(Failure::Culprits(
                by_id
                    .keys()
                    .filter(|id| named.contains(&seqpool_tss::ids::id_hex(id)))
                    .map(|id| id.serialize())
                    .collect(),
            )))
        }
        Err(e) => Ok(Err(Failure::Other(e.to_string()))),
    }
}

pub fn end_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    let mut events = crate::requests::collect_module_requests(state, ctx)?;
    let params = state.mpc_params()?;
    let mut live = 0u32;
    let mut pending = Vec::new();
    for id in state.open_request_ids()? {
        let Some(mut request) = state.signing_request(id)? else {
            continue;
        };
        if request.status() == RequestStatus::Signing {
            let Some(mut attempt) = state.signing_attempt(id, request.attempts)? else {
                continue;
            };
            if ctx.height < attempt.deadline_height {
                live += 1;
                continue;
            }
            let have: BTreeSet<Vec<u8>> = stored_shares(state, id, attempt.attempt)?
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            attempt.missing = attempt
                .package
                .as_ref()
                .map(|p| {
                    p.signers
                        .iter()
                        .filter(|s| !have.contains(&s.identifier))
                        .map(|s| s.identifier.clone())
                        .collect()
                })
                .unwrap_or_default();
            events.extend(end_attempt(
                state,
                ctx,
                &mut request,
                &mut attempt,
                "timeout",
            )?);
        }
        if request.status() == RequestStatus::Pending {
            pending.push(request);
        }
    }
    if pending.is_empty() {
        return Ok(events);
    }
    let voters = last_voters(state)?;
    for mut request in pending {
        if live >= params.max_concurrent_sessions {
            break;
        }
        if let Some(event) = start_attempt(state, ctx, &params, &mut request, &voters)? {
            live += 1;
            events.push(event);
        }
    }
    Ok(events)
}

/// The key that signs a request: the key under test for KEY_TEST, else the active key.
fn signing_key<S: StateRead + ?Sized>(
    state: &S,
    request: &SigningRequest,
) -> Result<Option<GroupKey>, StoreError> {
    if request.request_type() == RequestType::KeyTest {
        return Ok(state
            .group_key(request.key_id)?
            .filter(|k| k.status() == KeyStatus::Pending));
    }
    Ok(state
        .active_key()?
        .filter(|k| k.status() == KeyStatus::Active))
}

fn start_attempt<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    params: &crate::Params,
    request: &mut SigningRequest,
    voters: &BTreeSet<Vec<u8>>,
) -> Result<Option<Event>, StoreError> {
    let Some(key) = signing_key(state, request)? else {
        return Ok(None);
    };
    let threshold = key.threshold as usize;
    if threshold == 0 || key.members.is_empty() {
        return Ok(None);
    }
    let mut culprits = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for earlier in state.signing_attempts(request.request_id)? {
        culprits.extend(earlier.culprits.iter().map(|b| b.identifier.clone()));
        missing.extend(earlier.missing.iter().cloned());
    }
    // Candidates with a commitment, eligible (not jailed, with power), not a culprit.
    let mut online = Vec::new();
    let mut offline = Vec::new();
    let n = key.members.len();
    let start = (request.request_id as usize) % n;
    for i in 0..n {
        let member = &key.members[(start + i) % n];
        if culprits.contains(&member.identifier) {
            continue;
        }
        let eligible = state
            .validator(&member.validator)?
            .is_some_and(|v| !v.jailed && v.power > 0);
        if !eligible {
            continue;
        }
        let Some(commitment) = first_unused_commitment(state, key.key_id, &member.identifier)?
        else {
            continue;
        };
        let entry = (missing.contains(&member.identifier), commitment);
        if voters.contains(&member.identifier) {
            online.push(entry);
        } else {
            offline.push(entry);
        }
    }
    // Online first; a signer that missed an earlier attempt only when nobody else is left.
    let mut ordered: Vec<(bool, RegisteredCommitment)> =
        online.into_iter().chain(offline).collect();
    ordered.sort_by_key(|(was_missing, _)| *was_missing);
    if ordered.len() < threshold {
        return Ok(None);
    }
    ordered.truncate(threshold);
    let attempt_no = request.attempts + 1;
    let mut signers: Vec<tsspb::SignerCommitment> = Vec::with_capacity(threshold);
    for (_, c) in &ordered {
        state.delete(state_key::commitment(key.key_id, &c.identifier, c.index));
        signers.push(tsspb::SignerCommitment {
            identifier: c.identifier.clone(),
            commitment: c.commitment.clone(),
        });
    }
    signers.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let package = tsspb::SigningPackage {
        key_id: key.key_id,
        session_id: session_id(request.request_id, attempt_no),
        message: request.digest.clone(),
        signers,
    };
    let attempt = SigningAttempt {
        request_id: request.request_id,
        attempt: attempt_no,
        height: ctx.height,
        deadline_height: ctx.height.saturating_add(params.sign_timeout_blocks),
        package: Some(package),
        missing: Vec::new(),
        culprits: Vec::new(),
        status: SessionStatus::Open as i32,
    };
    state.put_signing_attempt(&attempt);
    request.attempts = attempt_no;
    request.key_id = key.key_id;
    request.status = RequestStatus::Signing as i32;
    state.put_signing_request(request);
    Ok(Some(
        Event::new("mpc_attempt_started")
            .attr("request_id", request.request_id.to_string())
            .attr("attempt", attempt_no.to_string())
            .attr("key_id", key.key_id.to_string())
            .attr("deadline_height", attempt.deadline_height.to_string()),
    ))
}

use crate::limits::{MAX_NONCE_BODY, MAX_SHARE_BODY};
pub use crate::params::MAX_SHARES_PER_VOTE;

pub fn validate_vote(vote: &MpcVote) -> Result<(), String> {
    if vote.shares.len() > MAX_SHARES_PER_VOTE || vote.refused.len() > MAX_SHARES_PER_VOTE {
        return Err(format!(
            "mpc vote carries {} shares and {} refusals, at most {MAX_SHARES_PER_VOTE} each",
            vote.shares.len(),
            vote.refused.len()
        ));
    }
    if let Some(env) = &vote.nonce_commitments {
        if env.kind != tsspb::MessageKind::NonceCommitments as i32 {
            return Err("mpc nonce_commitments envelope has the wrong kind".into());
        }
        if env.body.len() > MAX_NONCE_BODY {
            return Err("mpc nonce_commitments envelope is too large".into());
        }
    }
    for share in &vote.shares {
        let Some(env) = &share.share else {
            return Err(format!(
                "mpc share for request {} has no envelope",
                share.request_id
            ));
        };
        if env.kind != tsspb::MessageKind::SignatureShare as i32 || env.body.len() > MAX_SHARE_BODY
        {
            return Err(format!(
                "mpc share for request {} is not a signature share envelope",
                share.request_id
            ));
        }
    }
    Ok(())
}

/// The share a node sends for an attempt (sealed for the aggregator).
pub fn seal_share(
    attempt: &SigningAttempt,
    share: &SignatureShare,
    me: &seqpool_tss::MemberSecret,
) -> Option<crate::ShareVote> {
    let package = attempt.package.as_ref()?;
    Some(crate::ShareVote {
        request_id: attempt.request_id,
        attempt: attempt.attempt,
        share: Some(messages::seal_signature_share(
            KeyId(package.key_id),
            SessionId(package.session_id),
            share,
            me,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: tsspb::MessageKind, body: usize) -> tsspb::SignedEnvelope {
        tsspb::SignedEnvelope {
            version: 1,
            kind: kind as i32,
            sender: vec![2; 33],
            body: vec![0; body],
            signature: vec![0; 64],
        }
    }

    #[test]
    fn validate_vote_refuses_wrong_kinds_and_oversized_sections() {
        let share = |kind| crate::ShareVote {
            request_id: 1,
            attempt: 1,
            share: Some(envelope(kind, 80)),
        };
        let ok = MpcVote {
            nonce_commitments: Some(envelope(tsspb::MessageKind::NonceCommitments, 4_000)),
            shares: vec![share(tsspb::MessageKind::SignatureShare)],
            refused: vec![2],
            ..Default::default()
        };
        assert_eq!(validate_vote(&ok), Ok(()));
        let wrong_share = MpcVote {
            shares: vec![share(tsspb::MessageKind::DkgRound1)],
            ..Default::default()
        };
        assert!(validate_vote(&wrong_share).is_err());
        let no_envelope = MpcVote {
            shares: vec![crate::ShareVote {
                request_id: 1,
                attempt: 1,
                share: None,
            }],
            ..Default::default()
        };
        assert!(validate_vote(&no_envelope).is_err());
        let wrong_nonces = MpcVote {
            nonce_commitments: Some(envelope(tsspb::MessageKind::SignatureShare, 10)),
            ..Default::default()
        };
        assert!(validate_vote(&wrong_nonces).is_err());
        let too_many = MpcVote {
            refused: vec![1; MAX_SHARES_PER_VOTE + 1],
            ..Default::default()
        };
        assert!(validate_vote(&too_many).is_err());
    }

    #[test]
    fn session_ids_separate_requests_and_attempts() {
        assert_ne!(session_id(1, 2), session_id(2, 1));
        assert_ne!(session_id(1, 1), session_id(1, 2));
        assert_eq!(session_id(3, 7) >> 16, 3);
    }
}
