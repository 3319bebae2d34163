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

pub use crate::lifecycle::on_key_test_signed;

use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::Identifier;
use seqpool_component::{
    BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
};

use crate::limits::MAX_PAYLOADS_PER_VOTE;
use crate::state::{MpcRead, MpcWrite};
use crate::{
    state_key, Blame, GroupKey, KeyStatus, KeygenKind, KeygenPayload, KeygenSession, Member,
    MemberVote, MpcVote, RequestStatus, SessionStatus,
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

// --- roster ------------------------------------------------------------------------------------

/// A member left out of lifecycle sessions after failing one (missed round, proven fault).
/// It is out until `readmit_height`; then it is taken in again once its vote shows it online.
/// `strikes` counts its consecutive failures: each one doubles the cool-down (up to
/// `readmit_max_blocks`), so a member that keeps failing costs a session ever more rarely.
/// The record is deleted once a session it was in completes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exclusion {
    pub strikes: u32,
    pub readmit_height: u64,
}

impl Exclusion {
    /// `[u32 strikes][u64 readmit_height]`, big-endian.
    fn encode(&self) -> Vec<u8> {
        [
            self.strikes.to_be_bytes().as_slice(),
            &self.readmit_height.to_be_bytes(),
        ]
        .concat()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 12 {
            return None;
        }
        Some(Self {
            strikes: u32::from_be_bytes(bytes[..4].try_into().ok()?),
            readmit_height: u64::from_be_bytes(bytes[4..].try_into().ok()?),
        })
    }

    /// Whether the member is still left out at `height`.
    pub fn cooling(&self, height: u64) -> bool {
        height < self.readmit_height
    }
}

/// The cool-down after the `strikes`-th consecutive failure: `after` doubled per further
/// strike, at most `max`.
pub fn cool_down(after: u64, max: u64, strikes: u32) -> u64 {
    let doublings = strikes.saturating_sub(1).min(63);
    after.saturating_mul(1u64 << doublings).min(max)
}

fn exclusion_key(identifier: &[u8]) -> Vec<u8> {
    [state_key::KEYGEN_EXCLUSIONS, b"/", identifier].concat()
}

fn exclusions_prefix() -> Vec<u8> {
    [state_key::KEYGEN_EXCLUSIONS, b"/"].concat()
}

/// Every exclusion record (current or cooled down), by member identifier.
pub fn exclusions<S: StateRead + ?Sized>(
    state: &S,
) -> Result<BTreeMap<Vec<u8>, Exclusion>, StoreError> {
    let prefix = exclusions_prefix();
    let mut out = BTreeMap::new();
    for (key, bytes) in state.prefix_raw(&prefix)? {
        let exclusion = Exclusion::decode(&bytes).ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "bad exclusion record".into(),
        })?;
        out.insert(key[prefix.len()..].to_vec(), exclusion);
    }
    Ok(out)
}

/// Identifiers still left out at `height`.
fn cooling<S: StateRead + ?Sized>(state: &S, height: u64) -> Result<BTreeSet<Vec<u8>>, StoreError> {
    Ok(exclusions(state)?
        .into_iter()
        .filter(|(_, e)| e.cooling(height))
        .map(|(id, _)| id)
        .collect())
}

/// The members the next lifecycle session is for: the active members (roster) that are not
/// cooling down after a failure, and of those not holding a share of the active key only the
/// ones whose vote was in the last commit. A member that has not shown it is online (a joiner
/// whose node does not vote yet, an excluded member back from its cool-down) would only make
/// the session time out; a holder stays in without that check, or every missed vote would
/// start a reshare.
pub fn target_members<S: StateRead + ?Sized>(
    state: &S,
    height: u64,
) -> Result<Vec<Member>, StoreError> {
    let active = crate::members::roster(state)?;
    let out = cooling(state, height)?;
    let holders: BTreeSet<Vec<u8>> = state
        .active_key()?
        .map(|k| k.members.into_iter().map(|m| m.identifier).collect())
        .unwrap_or_default();
    let online = crate::participation::last_voters(state)?;
    Ok(active
        .into_iter()
        .filter(|m| !out.contains(&m.identifier))
        .filter(|m| holders.contains(&m.identifier) || online.contains(&m.identifier))
        .collect())
}

/// Leaves `ids` out of sessions for a cool-down that doubles with every consecutive failure;
/// one `mpc_keygen_excluded` event each (so operators see who is out and until when).
fn exclude<S: StateWrite + ?Sized>(
    state: &mut S,
    height: u64,
    ids: impl IntoIterator<Item = Vec<u8>>,
) -> Result<Vec<Event>, StoreError> {
    let params = state.mpc_params()?;
    let mut records = exclusions(state)?;
    let mut events = Vec::new();
    for id in ids {
        let strikes = records
            .remove(&id)
            .map_or(0, |e| e.strikes)
            .saturating_add(1);
        let wait = cool_down(
            params.readmit_after_blocks,
            params.readmit_max_blocks,
            strikes,
        );
        let exclusion = Exclusion {
            strikes,
            readmit_height: height.saturating_add(wait),
        };
        state.put_raw(exclusion_key(&id), exclusion.encode());
        let validator = state
            .member_by_identifier(&id)?
            .map(|m| m.validator)
            .unwrap_or_default();
        events.push(
            Event::new("mpc_keygen_excluded")
                .attr("identifier", hex::encode(&id))
                .attr("validator", validator)
                .attr("strikes", strikes.to_string())
                .attr("readmit_height", exclusion.readmit_height.to_string()),
        );
    }
    Ok(events)
}

/// A session completed: its members delivered every round, so their strikes are forgiven;
/// records of identifiers no longer registered go too (a re-registered node has a new one).
fn forgive<S: StateWrite + ?Sized>(state: &mut S, members: &[Member]) -> Result<(), StoreError> {
    let delivered: BTreeSet<&Vec<u8>> = members.iter().map(|m| &m.identifier).collect();
    let registered: BTreeSet<Vec<u8>> =
        state.members()?.into_iter().map(|m| m.identifier).collect();
    for id in exclusions(state)?.into_keys() {
        if delivered.contains(&id) || !registered.contains(&id) {
            state.delete(exclusion_key(&id));
        }
    }
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
            let out = cooling(state, ctx.height)?;
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
                    .filter(|m| !out.contains(&m.identifier))
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
        round_deadline_height: ctx
            .height
            .saturating_add(params.keygen_round_timeout_blocks),
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
    ctx: &BlockContext,
    session: &mut KeygenSession,
    reason: String,
    left_out: BTreeSet<Vec<u8>>,
) -> Result<Vec<Event>, StoreError> {
    session.status = SessionStatus::Failed as i32;
    session.failure = reason.clone();
    state.put_keygen_session(session);
    state.delete(state_key::OPEN_KEYGEN_SESSION.to_vec());
    let n = left_out.len();
    let mut events = vec![session_event("mpc_keygen_failed", session)
        .attr("reason", reason)
        .attr("left_out", n.to_string())];
    events.extend(exclude(state, ctx.height, left_out)?);
    Ok(events)
}

fn advance<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    session: &mut KeygenSession,
) -> Result<Event, StoreError> {
    let params = state.mpc_params()?;
    session.round += 1;
    session.round_deadline_height = ctx
        .height
        .saturating_add(params.keygen_round_timeout_blocks);
    state.put_keygen_session(session);
    Ok(session_event("mpc_keygen_round", session))
}

/// The key the session's stored payloads make (from the package the chain derives itself), or
/// why they make none.
fn completed_key<S: StateRead + ?Sized>(
    state: &S,
    session: &KeygenSession,
    height: u64,
) -> Result<Result<GroupKey, String>, StoreError> {
    let mut view = match verify::SessionView::load(state, session)? {
        Ok(v) => v,
        Err(reason) => return Ok(Err(reason)),
    };
    let package = match view.expected_package(state, session)? {
        Ok(p) => p,
        Err(reason) => return Ok(Err(reason)),
    };
    Ok(package::pending_key(
        session.key_id,
        &session.members,
        &package,
        height,
        session.from_key_id,
    ))
}

/// All confirmations are in: the key is PENDING with the package the chain derived, and its
/// KEY_TEST request is created.
fn complete<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    session: &mut KeygenSession,
) -> Result<Vec<Event>, StoreError> {
    let key = match completed_key(state, session, ctx.height)? {
        Ok(k) => k,
        Err(reason) => return fail_session(state, ctx, session, reason, BTreeSet::new()),
    };
    session.status = SessionStatus::Done as i32;
    state.put_keygen_session(session);
    state.delete(state_key::OPEN_KEYGEN_SESSION.to_vec());
    forgive(state, &session.members)?;
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
        return fail_session(state, ctx, session, reason, blamed);
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
    fail_session(state, ctx, session, reason, left_out)
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
        Err(reason) => return fail_session(state, ctx, &mut session, reason, BTreeSet::new()),
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
                    events.extend(crate::participation::penalise(state, ctx, &validator)?);
                    session.blame.push(Blame {
                        identifier: culprit.clone(),
                        validator,
                        reason: reason.clone(),
                        height: ctx.height,
                    });
                    if fails_session {
                        events.extend(fail_session(
                            state,
                            ctx,
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
        let forgotten = crate::lifecycle::forget_key(state, pending.key_id)?;
        return Ok(vec![Event::new("mpc_key_failed")
            .attr("key_id", pending.key_id.to_string())
            .attr("reason", "key test signature failed")
            .attr("commitments_deleted", forgotten.to_string())]);
    }
    let target = target_members(state, ctx.height)?;
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

/// The identifier of a member, parsed.
pub fn identifier_of(member: &Member) -> Option<Identifier> {
    Identifier::deserialize(&member.identifier).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_records_round_trip_and_refuse_garbage() {
        let ex = Exclusion {
            strikes: 3,
            readmit_height: 1_234_567,
        };
        assert_eq!(Exclusion::decode(&ex.encode()), Some(ex));
        let bytes = ex.encode();
        assert_eq!(Exclusion::decode(&bytes[..11]), None);
        assert_eq!(Exclusion::decode(&[bytes.clone(), vec![0]].concat()), None);
        assert!(ex.cooling(1_234_566));
        assert!(!ex.cooling(1_234_567));
    }

    #[test]
    fn the_cool_down_doubles_per_consecutive_failure_up_to_the_cap() {
        assert_eq!(cool_down(20, 640, 1), 20);
        assert_eq!(cool_down(20, 640, 2), 40);
        assert_eq!(cool_down(20, 640, 3), 80);
        assert_eq!(cool_down(20, 640, 6), 640);
        assert_eq!(cool_down(20, 640, 7), 640);
        // No overflow however many strikes.
        assert_eq!(cool_down(20, 640, u32::MAX), 640);
        assert_eq!(cool_down(u64::MAX, u64::MAX, 5), u64::MAX);
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
