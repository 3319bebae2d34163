//! Key lifecycle sessions: DKG when no key is active, reshare when the active set changes, the
//! test signature that activates a key, retirement of the shares it replaces.
//!
//! One lifecycle session is open at a time. Its round payloads arrive in the `mpc` sections of
//! the verified extended commit ([`apply_votes`]); every payload is checked here against public
//! data (envelope signed by the member registered for the validator whose extension carried it,
//! key/session ids, structure, commitments, proofs of knowledge, confirmations against the
//! package the chain derives itself, complaints judged with their DLEQ proofs). [`end_block`]
//! advances a round once every expected sender delivered, fails it at its deadline (the next
//! session leaves the non-deliverers and culprits out), and starts the next session.
mod package;
mod verify;

pub use package::PackageError;
pub use verify::roster_of;

use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::Identifier;
use seqpool_component::{
    BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
};

use crate::state::{MpcRead, MpcWrite};
use crate::{
    state_key, Blame, GroupKey, KeyStatus, KeygenKind, KeygenPayload, KeygenSession, Member,
    MemberVote, MpcVote, RequestStatus, SessionStatus, SigningRequest,
};

/// Fewest members a key is made for: threshold_for(2) = 2 of 2. A single validator gets no key
/// (a 1-of-1 "threshold" key would be a plain key held by one node).
pub const MIN_MEMBERS: usize = 2;

/// DKG rounds: 1 = commitments, 2 = encrypted shares, 3 = confirmations (or complaints).
pub const DKG_ROUND_COMMIT: u32 = 1;
pub const DKG_ROUND_SHARES: u32 = 2;
pub const DKG_ROUND_CONFIRM: u32 = 3;
/// Reshare rounds: 1 = deals, 2 = confirmations (or complaints).
pub const RESHARE_ROUND_DEAL: u32 = 1;
pub const RESHARE_ROUND_CONFIRM: u32 = 2;

/// Most keygen payloads one vote may carry (one per round of the single open session, plus
/// room for a complaint).
const MAX_PAYLOADS_PER_VOTE: usize = 4;

// --- roster ------------------------------------------------------------------------------------

/// Members left out of lifecycle sessions after failing one (missed round, proven fault), and
/// the active set (identifiers) they were left out of. They stay out until the active set
/// changes (a join, exit, jail or unjail), so a member that keeps failing cannot stall every
/// session, and one that was only unlucky is back at the next change.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exclusions {
    pub basis: BTreeSet<Vec<u8>>,
    pub excluded: BTreeSet<Vec<u8>>,
}

impl Exclusions {
    /// `[u32 n][n x 32-byte basis ids][32-byte excluded ids...]`.
    fn encode(&self) -> Vec<u8> {
        let mut out = (self.basis.len() as u32).to_be_bytes().to_vec();
        for id in self.basis.iter().chain(self.excluded.iter()) {
            out.extend_from_slice(id);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let n = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let ids = bytes.get(4..)?;
        if ids.len() % 32 != 0 || ids.len() / 32 < n {
            return None;
        }
        let mut chunks = ids.chunks(32).map(<[u8]>::to_vec);
        let basis = chunks.by_ref().take(n).collect();
        let excluded = chunks.collect();
        Some(Self { basis, excluded })
    }
}

pub fn exclusions<S: StateRead + ?Sized>(state: &S) -> Result<Exclusions, StoreError> {
    match state.get_raw(state_key::KEYGEN_EXCLUSIONS)? {
        None => Ok(Exclusions::default()),
        Some(bytes) => Exclusions::decode(&bytes).ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(state_key::KEYGEN_EXCLUSIONS).into_owned(),
            reason: "bad exclusion list".into(),
        }),
    }
}

/// The members the next lifecycle session is for: the active members minus the exclusions
/// recorded for this same active set.
pub fn target_members<S: StateRead + ?Sized>(state: &S) -> Result<Vec<Member>, StoreError> {
    let active = crate::members::roster(state)?;
    let basis: BTreeSet<Vec<u8>> = active.iter().map(|m| m.identifier.clone()).collect();
    let ex = exclusions(state)?;
    if ex.basis != basis {
        return Ok(active);
    }
    Ok(active
        .into_iter()
        .filter(|m| !ex.excluded.contains(&m.identifier))
        .collect())
}

fn exclude<S: StateWrite + ?Sized>(
    state: &mut S,
    ids: impl IntoIterator<Item = Vec<u8>>,
) -> Result<(), StoreError> {
    let basis: BTreeSet<Vec<u8>> = crate::members::roster(state)?
        .into_iter()
        .map(|m| m.identifier)
        .collect();
    let mut ex = exclusions(state)?;
    if ex.basis != basis {
        ex = Exclusions {
            basis,
            excluded: BTreeSet::new(),
        };
    }
    ex.excluded.extend(ids);
    state.put_raw(state_key::KEYGEN_EXCLUSIONS.to_vec(), ex.encode());
    Ok(())
}

// --- sessions ----------------------------------------------------------------------------------

pub fn open_session<S: StateRead + ?Sized>(state: &S) -> Result<Option<KeygenSession>, StoreError> {
    match state.get_u64(state_key::OPEN_KEYGEN_SESSION)? {
        Some(id) => state.keygen_session(id),
        None => Ok(None),
    }
}

/// The key waiting for its test signature, if any.
pub fn pending_key<S: StateRead + ?Sized>(state: &S) -> Result<Option<GroupKey>, StoreError> {
    match state.get_u64(state_key::PENDING_KEY)? {
        Some(id) => state.group_key(id),
        None => Ok(None),
    }
}

/// Stored payloads of one round, by sender identifier.
pub fn round_payloads<S: StateRead + ?Sized>(
    state: &S,
    session_id: u64,
    round: u32,
) -> Result<BTreeMap<Vec<u8>, KeygenPayload>, StoreError> {
    Ok(state
        .prefix_proto::<KeygenPayload>(&state_key::keygen_payloads_prefix(session_id, round))?
        .into_iter()
        .map(|(_, p)| (p.sender.clone(), p))
        .collect())
}

/// Identifiers expected to send in the session's current round: every member, except in a
/// reshare's deal round (the dealers not blamed so far).
pub fn expected_senders(session: &KeygenSession) -> BTreeSet<Vec<u8>> {
    if session.kind() == KeygenKind::Reshare && session.round == RESHARE_ROUND_DEAL {
        let blamed: BTreeSet<&Vec<u8>> = session.blame.iter().map(|b| &b.identifier).collect();
        session
            .dealers
            .iter()
            .filter(|d| !blamed.contains(d))
            .cloned()
            .collect()
    } else {
        session
            .members
            .iter()
            .map(|m| m.identifier.clone())
            .collect()
    }
}

fn last_rounds(kind: KeygenKind) -> u32 {
    match kind {
        KeygenKind::Reshare => RESHARE_ROUND_CONFIRM,
        _ => DKG_ROUND_CONFIRM,
    }
}

fn session_event(kind: &str, session: &KeygenSession) -> Event {
    Event::new(kind)
        .attr("session_id", session.session_id.to_string())
        .attr("key_id", session.key_id.to_string())
        .attr(
            "kind",
            match session.kind() {
                KeygenKind::Reshare => "reshare",
                _ => "dkg",
            },
        )
        .attr("round", session.round.to_string())
}

fn start_session<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    kind: KeygenKind,
    members: Vec<Member>,
    from: Option<&GroupKey>,
) -> Result<Vec<Event>, StoreError> {
    let params = state.mpc_params()?;
    let last_id = state.get_u64(state_key::NEXT_SESSION_ID)?.unwrap_or(1) - 1;
    let attempt = match state.keygen_session(last_id)? {
        Some(last) if last.status() == SessionStatus::Failed => last.attempt + 1,
        _ => 0,
    };
    let session_id = state.take_id(state_key::NEXT_SESSION_ID)?;
    let key_id = state.take_id(state_key::NEXT_KEY_ID)?;
    let target: BTreeSet<&Vec<u8>> = members.iter().map(|m| &m.identifier).collect();
    let dealers = match from {
        Some(old) => {
            // Old holders that stay deal; if fewer than the old threshold stay, every old holder
            // is asked (leavers may still be online).
            let ex = exclusions(state)?;
            let staying: Vec<Vec<u8>> = old
                .members
                .iter()
                .filter(|m| target.contains(&m.identifier))
                .map(|m| m.identifier.clone())
                .collect();
            if staying.len() >= old.threshold as usize {
                staying
            } else {
                old.members
                    .iter()
                    .filter(|m| !ex.excluded.contains(&m.identifier))
                    .map(|m| m.identifier.clone())
                    .collect()
            }
        }
        None => Vec::new(),
    };
    let session = KeygenSession {
        session_id,
        kind: kind as i32,
        key_id,
        from_key_id: from.map(|k| k.key_id).unwrap_or(0),
        threshold: seqpool_tss::threshold_for(members.len()) as u32,
        members,
        dealers,
        round: 1,
        started_height: ctx.height,
        round_deadline_height: ctx.height + params.keygen_round_timeout_blocks,
        status: SessionStatus::Open as i32,
        attempt,
        ..Default::default()
    };
    state.put_keygen_session(&session);
    state.put_u64(state_key::OPEN_KEYGEN_SESSION.to_vec(), session_id);
    Ok(vec![session_event("mpc_keygen_started", &session)
        .attr("members", session.members.len().to_string())
        .attr("threshold", session.threshold.to_string())
        .attr("attempt", attempt.to_string())])
}

fn fail_session<S: StateWrite>(
    state: &mut S,
    session: &mut KeygenSession,
    reason: String,
    left_out: BTreeSet<Vec<u8>>,
) -> Result<Event, StoreError> {
    session.status = SessionStatus::Failed as i32;
    session.failure = reason.clone();
    state.put_keygen_session(session);
    state.delete(state_key::OPEN_KEYGEN_SESSION.to_vec());
    let n = left_out.len();
    exclude(state, left_out)?;
    Ok(session_event("mpc_keygen_failed", session)
        .attr("reason", reason)
        .attr("left_out", n.to_string()))
}

fn advance<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    session: &mut KeygenSession,
) -> Result<Event, StoreError> {
    let params = state.mpc_params()?;
    session.round += 1;
    session.round_deadline_height = ctx.height + params.keygen_round_timeout_blocks;
    state.put_keygen_session(session);
    Ok(session_event("mpc_keygen_round", session))
}

/// All confirmations are in: the key is PENDING with the package the chain derived, and its
/// KEY_TEST request is created.
fn complete<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    session: &mut KeygenSession,
) -> Result<Vec<Event>, StoreError> {
    let mut view = match verify::SessionView::load(state, session)? {
        Ok(v) => v,
        Err(reason) => return Ok(vec![fail_session(state, session, reason, BTreeSet::new())?]),
    };
    let package = match view.expected_package(state, session)? {
        Ok(p) => p,
        Err(reason) => return Ok(vec![fail_session(state, session, reason, BTreeSet::new())?]),
    };
    let key = match package::pending_key(
        session.key_id,
        &session.members,
        &package,
        ctx.height,
        session.from_key_id,
    ) {
        Ok(k) => k,
        Err(reason) => return Ok(vec![fail_session(state, session, reason, BTreeSet::new())?]),
    };
    session.status = SessionStatus::Done as i32;
    state.put_keygen_session(session);
    state.delete(state_key::OPEN_KEYGEN_SESSION.to_vec());
    state.put_group_key(&key);
    state.put_u64(state_key::PENDING_KEY.to_vec(), key.key_id);
    let request = crate::requests::create_key_test(state, &ctx.chain_id, ctx.height, &key)?;
    Ok(vec![
        session_event("mpc_keygen_done", session),
        Event::new("mpc_key_pending")
            .attr("key_id", key.key_id.to_string())
            .attr("group_key", hex::encode(&key.group_key))
            .attr("threshold", key.threshold.to_string())
            .attr("members", key.members.len().to_string())
            .attr("key_test_request", request.request_id.to_string()),
    ])
}

/// Rounds that are complete advance; a round past its deadline fails (or, for a reshare's deal
/// round with at least the old threshold of valid deals, closes with the dealers it has).
fn progress<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    session: &mut KeygenSession,
) -> Result<Vec<Event>, StoreError> {
    let delivered: BTreeSet<Vec<u8>> = round_payloads(state, session.session_id, session.round)?
        .into_keys()
        .collect();
    let expected = expected_senders(session);
    let missing: BTreeSet<Vec<u8>> = expected.difference(&delivered).cloned().collect();
    let kind = session.kind();
    let old_threshold = match kind {
        KeygenKind::Reshare => state
            .group_key(session.from_key_id)?
            .map(|k| k.threshold as usize)
            .unwrap_or(usize::MAX),
        _ => 0,
    };
    let deal_round = kind == KeygenKind::Reshare && session.round == RESHARE_ROUND_DEAL;
    if deal_round && missing.is_empty() && delivered.len() < old_threshold {
        // Every dealer answered, but too few deals were valid to keep the key.
        let reason = format!(
            "{} valid deals, the old key needs {old_threshold}",
            delivered.len()
        );
        let blamed = session.blame.iter().map(|b| b.identifier.clone()).collect();
        return Ok(vec![fail_session(state, session, reason, blamed)?]);
    }
    if missing.is_empty() && !expected.is_empty() {
        if session.round == last_rounds(kind) {
            return complete(state, ctx, session);
        }
        return Ok(vec![advance(state, ctx, session)?]);
    }
    if ctx.height < session.round_deadline_height {
        return Ok(Vec::new());
    }
    if deal_round && delivered.len() >= old_threshold {
        return Ok(vec![advance(state, ctx, session)?]);
    }
    for id in &missing {
        session.blame.push(Blame {
            identifier: id.clone(),
            validator: validator_of(state, session, id)?,
            reason: format!("missed round {}", session.round),
            height: ctx.height,
        });
    }
    // A dealer that is not a member of the new set is simply not asked again.
    let members: BTreeSet<&Vec<u8>> = session.members.iter().map(|m| &m.identifier).collect();
    let left_out = missing
        .iter()
        .filter(|id| members.contains(id))
        .cloned()
        .collect();
    let reason = format!(
        "round {} timed out: {} of {} expected senders missing",
        session.round,
        missing.len(),
        expected.len()
    );
    Ok(vec![fail_session(state, session, reason, left_out)?])
}

fn validator_of<S: StateRead + ?Sized>(
    state: &S,
    session: &KeygenSession,
    identifier: &[u8],
) -> Result<String, StoreError> {
    if let Some(m) = session.members.iter().find(|m| m.identifier == identifier) {
        return Ok(m.validator.clone());
    }
    Ok(state
        .member_by_identifier(identifier)?
        .map(|m| m.validator)
        .unwrap_or_default())
}

/// Applies the keygen payloads of the previous height's verified extensions (set order).
pub fn apply_votes<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    votes: &[MemberVote<'_>],
) -> Result<Vec<Event>, StoreError> {
    let Some(mut session) = open_session(state)? else {
        return Ok(Vec::new());
    };
    if votes.iter().all(|v| v.vote.keygen.is_empty()) {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    let mut view = match verify::SessionView::load(state, &session)? {
        Ok(v) => v,
        Err(reason) => {
            return Ok(vec![fail_session(
                state,
                &mut session,
                reason,
                BTreeSet::new(),
            )?])
        }
    };
    for vote in votes {
        if session.status() != SessionStatus::Open {
            break;
        }
        let Some(member) = state.member(&vote.validator.consensus_address)? else {
            continue;
        };
        for payload in &vote.vote.keygen {
            if session.status() != SessionStatus::Open {
                break;
            }
            if payload.session_id != session.session_id || payload.round != session.round {
                continue; // stale (a re-sent payload of a closed round) or early
            }
            let key =
                state_key::keygen_payload(session.session_id, session.round, &member.identifier);
            if state.get_raw(&key)?.is_some() {
                continue;
            }
            match view.check(state, &session, &member, payload)? {
                verify::Verdict::Accept => {
                    let stored = KeygenPayload {
                        session_id: session.session_id,
                        round: session.round,
                        sender: member.identifier.clone(),
                        envelope: payload.envelope.clone(),
                        height: ctx.height,
                    };
                    state.put_proto(key, &stored);
                }
                verify::Verdict::Ignore(reason) => events.push(
                    session_event("mpc_keygen_payload_ignored", &session)
                        .attr("validator", member.validator.clone())
                        .attr("reason", reason),
                ),
                verify::Verdict::Fault {
                    culprit,
                    reason,
                    fails_session,
                } => {
                    let validator = validator_of(state, &session, &culprit)?;
                    events.push(
                        session_event("mpc_keygen_blame", &session)
                            .attr("culprit", hex::encode(&culprit))
                            .attr("validator", validator.clone())
                            .attr("reason", reason.clone()),
                    );
                    // A proven fault costs the same as an invalid signature share; a missed
                    // round does not (liveness jailing covers a node that is down).
                    events.extend(crate::signing::penalise(state, ctx, &validator)?);
                    session.blame.push(Blame {
                        identifier: culprit.clone(),
                        validator,
                        reason: reason.clone(),
                        height: ctx.height,
                    });
                    if fails_session {
                        events.push(fail_session(
                            state,
                            &mut session,
                            reason,
                            BTreeSet::from([culprit]),
                        )?);
                    }
                }
            }
        }
    }
    if session.status() == SessionStatus::Open {
        state.put_keygen_session(&session);
    }
    Ok(events)
}

/// Advances or times out the open session; otherwise starts the next one the roster calls for
/// (nothing while a key waits for its test signature).
pub fn end_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    if let Some(mut session) = open_session(state)? {
        return progress(state, ctx, &mut session);
    }
    if let Some(mut pending) = pending_key(state)? {
        let request = match state.get_u64(&state_key::key_test(pending.key_id))? {
            Some(id) => state.signing_request(id)?,
            None => None,
        };
        let failed = request.is_none_or(|r| r.status() == RequestStatus::Failed);
        if !failed {
            return Ok(Vec::new());
        }
        pending.status = KeyStatus::Failed as i32;
        pending.retired_height = ctx.height;
        state.put_group_key(&pending);
        state.delete(state_key::PENDING_KEY.to_vec());
        return Ok(vec![Event::new("mpc_key_failed")
            .attr("key_id", pending.key_id.to_string())
            .attr("reason", "key test signature failed")]);
    }
    let target = target_members(state)?;
    if target.len() < MIN_MEMBERS {
        return Ok(Vec::new());
    }
    match state.active_key()? {
        None => start_session(state, ctx, KeygenKind::Dkg, target, None),
        Some(active) => {
            let current: Vec<&Vec<u8>> = active.members.iter().map(|m| &m.identifier).collect();
            let wanted: Vec<&Vec<u8>> = target.iter().map(|m| &m.identifier).collect();
            if current == wanted {
                return Ok(Vec::new());
            }
            start_session(state, ctx, KeygenKind::Reshare, target, Some(&active))
        }
    }
}

/// Stateless checks of the keygen part of a vote (VerifyVoteExtension).
pub fn validate_vote(vote: &MpcVote) -> Result<(), String> {
    if vote.keygen.len() > MAX_PAYLOADS_PER_VOTE {
        return Err(format!(
            "{} keygen payloads, at most {MAX_PAYLOADS_PER_VOTE}",
            vote.keygen.len()
        ));
    }
    for p in &vote.keygen {
        let Some(env) = &p.envelope else {
            return Err(format!(
                "keygen payload of session {} has no envelope",
                p.session_id
            ));
        };
        if env.sender.len() != 33 || env.signature.len() != 64 {
            return Err(format!(
                "keygen payload of session {}: malformed envelope",
                p.session_id
            ));
        }
    }
    Ok(())
}

/// Called by the signing path when a KEY_TEST request of a pending key is signed: the key
/// becomes ACTIVE and the one it replaces RETIRED (its holders delete their shares and nonces).
pub fn on_key_test_signed<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request: &SigningRequest,
) -> Result<Vec<Event>, StoreError> {
    let Some(mut key) = state.group_key(request.key_id)? else {
        return Ok(Vec::new());
    };
    if key.status() != KeyStatus::Pending {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    if let Some(mut old) = state.active_key()? {
        // A reshare keeps the group key, so L1 holds the new sharing's key as much as the old's.
        if old.registered_on_l1 && old.px == key.px && old.py == key.py {
            key.registered_on_l1 = true;
        }
        old.status = KeyStatus::Retired as i32;
        old.retired_height = ctx.height;
        state.put_group_key(&old);
        events.push(
            Event::new("mpc_key_retired")
                .attr("key_id", old.key_id.to_string())
                .attr("replaced_by", key.key_id.to_string()),
        );
    }
    key.status = KeyStatus::Active as i32;
    key.activated_height = ctx.height;
    state.put_group_key(&key);
    state.set_active_key(key.key_id);
    state.delete(state_key::PENDING_KEY.to_vec());
    events.push(
        Event::new("mpc_key_active")
            .attr("key_id", key.key_id.to_string())
            .attr("group_key", hex::encode(&key.group_key))
            .attr("reshared_from", key.reshared_from.to_string()),
    );
    Ok(events)
}

/// The identifier of a member, parsed.
pub fn identifier_of(member: &Member) -> Option<Identifier> {
    Identifier::deserialize(&member.identifier).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_round_trip_and_refuse_garbage() {
        let ex = Exclusions {
            basis: [[1u8; 32].to_vec(), [2u8; 32].to_vec(), [3u8; 32].to_vec()].into(),
            excluded: [[2u8; 32].to_vec()].into(),
        };
        assert_eq!(Exclusions::decode(&ex.encode()), Some(ex.clone()));
        assert_eq!(
            Exclusions::decode(&Exclusions::default().encode()),
            Some(Exclusions::default())
        );
        let bytes = ex.encode();
        assert_eq!(Exclusions::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Exclusions::decode(&bytes[..3]), None);
        let mut too_many = bytes.clone();
        too_many[3] = 9;
        assert_eq!(Exclusions::decode(&too_many), None);
    }

    #[test]
    fn votes_with_too_many_or_unsigned_payloads_are_refused() {
        let payload = KeygenPayload {
            envelope: Some(seqpool_tss::messages::pb::SignedEnvelope {
                sender: vec![2; 33],
                signature: vec![0; 64],
                ..Default::default()
            }),
            ..Default::default()
        };
        let ok = MpcVote {
            keygen: vec![payload.clone()],
            ..Default::default()
        };
        assert!(validate_vote(&ok).is_ok());
        let many = MpcVote {
            keygen: vec![payload; MAX_PAYLOADS_PER_VOTE + 1],
            ..Default::default()
        };
        assert!(validate_vote(&many).is_err());
        let bare = MpcVote {
            keygen: vec![KeygenPayload::default()],
            ..Default::default()
        };
        assert!(validate_vote(&bare).is_err());
    }
}
