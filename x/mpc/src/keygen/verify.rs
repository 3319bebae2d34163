//! Checks of one keygen payload against public data; the verdict decides whether it is stored,
//! ignored (stale, not this member's to send) or blamed on a culprit.
use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::{PublicKeyPackage, VerifiableSecretSharingCommitment};
use frost_secp256k1::Identifier;
use seqpool_component::{StateRead, StoreError};
use seqpool_tss::complaint::{judge_complaint, Verdict as ComplaintVerdict};
use seqpool_tss::crypto::envelope;
use seqpool_tss::messages::{self, pb};
use seqpool_tss::{checks, KeyId, MemberPublic, Roster, SessionId};

use super::{package, round_payloads, DKG_ROUND_COMMIT, RESHARE_ROUND_DEAL};
use crate::state::MpcRead;
use crate::{GroupKey, KeygenKind, KeygenPayload, KeygenSession, Member};

pub(super) enum Verdict {
    Accept,
    Ignore(String),
    /// `culprit` (an identifier) is at fault; a fault that leaves the round unable to finish
    /// fails the session.
    Fault {
        culprit: Vec<u8>,
        reason: String,
        fails_session: bool,
    },
}

struct OldKey {
    roster: Roster,
    package: PublicKeyPackage,
}

/// What the checks of one session need, loaded once per block.
pub(super) struct SessionView {
    roster: Roster,
    old: Option<OldKey>,
    commitments: Option<BTreeMap<Identifier, VerifiableSecretSharingCommitment>>,
    expected_hash: Option<Result<[u8; 32], String>>,
}

pub fn roster_of(members: &[Member]) -> Result<Roster, String> {
    let publics = members
        .iter()
        .map(|m| MemberPublic::new(&m.signer_key, &m.encryption_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("member keys: {e}"))?;
    Roster::new(publics).map_err(|e| format!("roster: {e}"))
}

fn ids(session: &KeygenSession) -> (KeyId, SessionId) {
    (KeyId(session.key_id), SessionId(session.session_id))
}

fn open_body<M: prost::Message + Default>(
    payload: &KeygenPayload,
    kind: pb::MessageKind,
    roster: &Roster,
) -> Option<(Identifier, M)> {
    envelope::open(payload.envelope.as_ref()?, kind, roster).ok()
}

impl SessionView {
    /// `Ok(Err(reason))` when the session's own data is unusable (it then fails).
    pub(super) fn load<S: StateRead + ?Sized>(
        state: &S,
        session: &KeygenSession,
    ) -> Result<Result<Self, String>, StoreError> {
        let roster = match roster_of(&session.members) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let old = if session.kind() == KeygenKind::Reshare {
            let Some(key) = state.group_key(session.from_key_id)? else {
                return Ok(Err(format!(
                    "key {} to reshare is gone",
                    session.from_key_id
                )));
            };
            match old_key(&key) {
                Ok(o) => Some(o),
                Err(e) => return Ok(Err(e)),
            }
        } else {
            None
        };
        Ok(Ok(Self {
            roster,
            old,
            commitments: None,
            expected_hash: None,
        }))
    }

    /// Round-1 commitments (DKG) or deal commitments (reshare) stored for the session: the
    /// reshare's qualified dealers are exactly the senders of stored deals.
    fn commitments<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        session: &KeygenSession,
    ) -> Result<&BTreeMap<Identifier, VerifiableSecretSharingCommitment>, StoreError> {
        if self.commitments.is_none() {
            let mut out = BTreeMap::new();
            let reshare = session.kind() == KeygenKind::Reshare;
            let round = if reshare {
                RESHARE_ROUND_DEAL
            } else {
                DKG_ROUND_COMMIT
            };
            for payload in round_payloads(state, session.session_id, round)?.values() {
                let parsed = match &self.old {
                    Some(old) if reshare => open_body::<pb::ReshareDeal>(
                        payload,
                        pb::MessageKind::ReshareDeal,
                        &old.roster,
                    )
                    .and_then(|(id, body)| {
                        messages::commitment_from_pb(&id, &body.commitment)
                            .ok()
                            .map(|c| (id, c))
                    }),
                    _ => open_body::<pb::DkgRound1>(
                        payload,
                        pb::MessageKind::DkgRound1,
                        &self.roster,
                    )
                    .and_then(|(id, body)| {
                        messages::commitment_from_pb(&id, &body.commitment)
                            .ok()
                            .map(|c| (id, c))
                    }),
                };
                if let Some((id, c)) = parsed {
                    out.insert(id, c);
                }
            }
            self.commitments = Some(out);
        }
        Ok(self.commitments.get_or_insert_with(BTreeMap::new))
    }

    /// The reshare's qualified dealers: those whose deal is stored.
    fn qualified<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        session: &KeygenSession,
    ) -> Result<BTreeSet<Identifier>, StoreError> {
        Ok(self.commitments(state, session)?.keys().copied().collect())
    }

    /// The public key package every honest member derives, from public data only.
    pub(super) fn expected_package<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        session: &KeygenSession,
    ) -> Result<Result<PublicKeyPackage, String>, StoreError> {
        let commitments = self.commitments(state, session)?.clone();
        if session.kind() != KeygenKind::Reshare {
            if commitments.len() != self.roster.len() {
                return Ok(Err("round-1 commitments incomplete".into()));
            }
            return Ok(package::dkg_package(&commitments));
        }
        let Some(old) = &self.old else {
            return Ok(Err("reshare without the old key".into()));
        };
        let qualified: BTreeSet<Identifier> = commitments.keys().copied().collect();
        let needed = old.package.min_signers().unwrap_or(u16::MAX) as usize;
        if qualified.len() < needed {
            return Ok(Err(format!(
                "{} qualified dealers, the old key needs {needed}",
                qualified.len()
            )));
        }
        let new_members: BTreeSet<Identifier> = self.roster.identifiers().copied().collect();
        Ok(package::reshare_package(
            &old.package,
            &commitments,
            &qualified,
            &new_members,
            session.threshold as u16,
        ))
    }

    fn expected_hash<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        session: &KeygenSession,
    ) -> Result<Result<[u8; 32], String>, StoreError> {
        if self.expected_hash.is_none() {
            let hash = self
                .expected_package(state, session)?
                .and_then(|p| messages::public_key_package_hash(&p).map_err(|e| e.to_string()));
            self.expected_hash = Some(hash);
        }
        Ok(self
            .expected_hash
            .clone()
            .unwrap_or_else(|| Err("no package".into())))
    }

    pub(super) fn check<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        session: &KeygenSession,
        member: &Member,
        payload: &KeygenPayload,
    ) -> Result<Verdict, StoreError> {
        let Some(env) = &payload.envelope else {
            return Ok(Verdict::Ignore("no envelope".into()));
        };
        if env.sender != member.signer_key {
            return Ok(Verdict::Ignore(
                "envelope not signed by the member registered for this validator".into(),
            ));
        }
        let me = member.identifier.clone();
        let fault = |reason: String| Verdict::Fault {
            culprit: me.clone(),
            reason,
            fails_session: true,
        };
        let (key_id, session_id) = ids(session);
        let threshold = session.threshold as u16;
        let reshare = session.kind() == KeygenKind::Reshare;
        if !reshare || session.round != RESHARE_ROUND_DEAL {
            let in_session = session.members.iter().any(|m| m.identifier == me);
            if !in_session {
                return Ok(Verdict::Ignore("not a member of the session".into()));
            }
        }
        let complaint = env.kind == pb::MessageKind::ShareComplaint as i32;
        Ok(match (reshare, session.round) {
            (false, 1) => {
                match checks::dkg_round1(env, &self.roster, key_id, session_id, threshold) {
                    Ok(_) => Verdict::Accept,
                    Err(e) => fault(e.to_string()),
                }
            }
            (false, 2) => match checks::dkg_round2(env, &self.roster, key_id, session_id) {
                Ok(_) => Verdict::Accept,
                Err(e) => fault(e.to_string()),
            },
            (false, 3) if complaint => {
                let commitments = self.commitments(state, session)?.clone();
                judge(
                    env,
                    &self.roster,
                    &self.roster,
                    session,
                    &me,
                    |id| commitments.get(id).cloned(),
                    None,
                )
            }
            (false, 3) => {
                let expected = self.expected_hash(state, session)?;
                match envelope::open::<pb::DkgConfirm>(
                    env,
                    pb::MessageKind::DkgConfirm,
                    &self.roster,
                ) {
                    Err(e) => fault(e.to_string()),
                    Ok((_, body)) if (body.key_id, body.session_id) != (key_id.0, session_id.0) => {
                        fault("confirmation for another session".into())
                    }
                    Ok((_, body)) => match expected {
                        Ok(hash) if body.public_key_package_hash == hash => Verdict::Accept,
                        Ok(_) => fault("confirmed a different public key package".into()),
                        Err(reason) => Verdict::Ignore(format!("no package to confirm: {reason}")),
                    },
                }
            }
            (true, 1) => {
                if !session.dealers.contains(&me) {
                    return Ok(Verdict::Ignore("not a dealer of the session".into()));
                }
                let Some(old) = &self.old else {
                    return Ok(Verdict::Ignore("no old key".into()));
                };
                match checks::reshare_deal(
                    env,
                    &old.roster,
                    &old.package,
                    &self.roster,
                    key_id,
                    session_id,
                    threshold,
                ) {
                    Ok(_) => Verdict::Accept,
                    // The dealer is left out of the qualified set; others may still suffice.
                    Err(e) => Verdict::Fault {
                        culprit: me.clone(),
                        reason: e.to_string(),
                        fails_session: false,
                    },
                }
            }
            (true, 2) if complaint => {
                let qualified = self.qualified(state, session)?;
                let Some(old) = &self.old else {
                    return Ok(Verdict::Ignore("no old key".into()));
                };
                judge(
                    env,
                    &self.roster,
                    &old.roster,
                    session,
                    &me,
                    |_| None,
                    Some(&qualified),
                )
            }
            (true, 2) => {
                let qualified = self.qualified(state, session)?;
                let package = match self.expected_package(state, session)? {
                    Ok(p) => p,
                    Err(reason) => {
                        return Ok(Verdict::Ignore(format!("no package to confirm: {reason}")))
                    }
                };
                match seqpool_tss::reshare::check_confirmation(
                    env,
                    &self.roster,
                    key_id,
                    session_id,
                    &qualified,
                    &package,
                ) {
                    Ok(_) => Verdict::Accept,
                    Err(e) => fault(e.to_string()),
                }
            }
            _ => Verdict::Ignore(format!("no round {}", session.round)),
        })
    }
}

/// Judges a complaint (DLEQ proof, decryption, check against the accused's commitment). A
/// guilty accused or a lying complainer is the culprit; either way the session fails.
fn judge(
    env: &pb::SignedEnvelope,
    complainers: &Roster,
    accused_roster: &Roster,
    session: &KeygenSession,
    complainer: &[u8],
    dkg_commitment: impl Fn(&Identifier) -> Option<VerifiableSecretSharingCommitment>,
    qualified: Option<&BTreeSet<Identifier>>,
) -> Verdict {
    let complainer_fault = |reason: String| Verdict::Fault {
        culprit: complainer.to_vec(),
        reason,
        fails_session: true,
    };
    let body = match envelope::open::<pb::ShareComplaint>(
        env,
        pb::MessageKind::ShareComplaint,
        complainers,
    ) {
        Ok((_, body)) => body,
        Err(e) => return complainer_fault(e.to_string()),
    };
    if (body.key_id, body.session_id) != (session.key_id, session.session_id) {
        return complainer_fault("complaint for another session".into());
    }
    match judge_complaint(env, complainers, accused_roster, dkg_commitment) {
        Ok(ComplaintVerdict::AccusedGuilty { accused, .. }) => {
            if qualified.is_some_and(|q| !q.contains(&accused)) {
                return Verdict::Ignore("complaint against a dealer not combined".into());
            }
            Verdict::Fault {
                culprit: accused.serialize(),
                reason: format!("bad secret share to {}", hex::encode(complainer)),
                fails_session: true,
            }
        }
        Ok(ComplaintVerdict::ComplainerLying { .. }) => {
            complainer_fault("complaint about a valid share".into())
        }
        Err(e) => complainer_fault(format!("unjustified complaint: {e}")),
    }
}

fn old_key(key: &GroupKey) -> Result<OldKey, String> {
    Ok(OldKey {
        roster: roster_of(&key.members)?,
        package: crate::signing::public_key_package(key)?,
    })
}
