//! This node's DKG and reshare duties (round payloads, decryption of its shares, confirmation),
//! and the keystore housekeeping that follows the key lifecycle in state: a new key's share is
//! stored in the encrypted keystore before this node's confirmation leaves, checked against the
//! key once it reaches state (PENDING), and deleted when the key is RETIRED or FAILED or its
//! session failed.
//!
//! In-progress DKG secrets (the round-1 polynomial, the decrypted shares) live in memory only: a
//! node restarted before it confirmed cannot continue the session, so the round times out and
//! the session restarts without this member (it is taken in again after its cool-down,
//! `readmit_after_blocks`, once it votes). A node restarted after it confirmed keeps its share:
//! without that, a key could become ACTIVE with a member that holds no share of it. Payloads this
//! node produced are kept (and re-sent at every height) until they are in state, so one lost
//! extension costs one block.
//!
//! ExtendVote runs on a candidate block that a later round of the same height may replace, so
//! nothing here deletes from the keystore on that view: retired and failed keys are erased after
//! the Commit that says so (`follow_keys`, from `MpcNode::after_commit`). A payload is kept by
//! (session, round, digest of the previous round's payloads it was computed from): a reshare's
//! deal round closes at its deadline with the deals the block carries, and two candidate blocks
//! can carry different ones; a confirmation made from one set is never sent for the other, and
//! the share stored with it is put back when that set's block is the one asked about again.
use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::Identifier;
use prost::Message;
use rand::rngs::OsRng;
use seqpool_component::StateRead;
use seqpool_mpc::keygen::{self, roster_of, RESHARE_ROUND_DEAL};
use seqpool_mpc::signing::public_key_package;
use seqpool_mpc::state::MpcRead;
use seqpool_mpc::{GroupKey, KeyStatus, KeygenKind, KeygenPayload, KeygenSession, SessionStatus};
use seqpool_proto::mpc::v1::MpcVote;
use seqpool_tss::crypto::envelope;
use seqpool_tss::dkg::DkgParticipant;
use seqpool_tss::keystore::Keystore;
use seqpool_tss::messages::pb;
use seqpool_tss::reshare::{self, ReshareReceiver};
use seqpool_tss::{KeyId, MemberSecret, SessionId, TssError};
use sha2::{Digest, Sha256};

/// (session, round, digest of the payloads of the round before it).
type PayloadKey = (u64, u32, [u8; 32]);

/// Misbehaviour a test node can be told to show (never set outside tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeygenFault {
    /// In DKG round 2, the share for the first recipient does not decrypt.
    BadDkgShare,
    /// In a reshare's deal round, the sub-share for the first recipient does not decrypt.
    BadDeal,
    /// No keygen payload at all: the node votes (nonces, signature shares) but misses every
    /// DKG and reshare round it is asked for.
    Silent,
}

#[derive(Default)]
pub struct KeygenDuties {
    /// The DKG this node takes part in.
    dkg: Option<DkgParticipant>,
    /// Keys in state whose stored share this node checked against the state's package.
    verified: BTreeSet<u64>,
    /// Payloads produced, by the inputs they were made from, re-sent until state holds them.
    produced: BTreeMap<PayloadKey, KeygenPayload>,
    /// The share a confirmation was made with, by that confirmation's inputs.
    confirmed_shares: BTreeMap<
        PayloadKey,
        (
            frost_secp256k1::keys::KeyPackage,
            frost_secp256k1::keys::PublicKeyPackage,
        ),
    >,
    /// Which inputs the share in the keystore for a session's key was made from.
    stored_from: BTreeMap<u64, PayloadKey>,
    /// Test-only misbehaviour.
    pub fault: Option<KeygenFault>,
}

impl KeygenDuties {
    pub fn extend<S: StateRead>(
        &mut self,
        vote: &mut MpcVote,
        state: &S,
        height: u64,
        _chain_id: &str,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) {
        match self.payload(state, identity, keystore) {
            Ok(Some(payload)) => vote.keygen.push(payload),
            Ok(None) => {}
            Err(e) => tracing::warn!(height, error = %e, "mpc keygen duty skipped"),
        }
    }

    /// Checks this node's stored share of a key that reached state against the key; deletes the
    /// shares of retired and failed keys and of sessions that failed. Run after every Commit, on
    /// committed state only (also on a node whose validator left the set, which must still delete
    /// the shares of the key it left).
    pub fn follow_keys<S: StateRead>(
        &mut self,
        state: &S,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<(), String> {
        let me = identity
            .identifier()
            .map_err(|e| e.to_string())?
            .serialize();
        let keys = state.group_keys().map_err(|e| e.to_string())?;
        for key in &keys {
            let id = KeyId(key.key_id);
            match key.status() {
                KeyStatus::Retired | KeyStatus::Failed if keystore.has_key(id) => {
                    keystore.delete_key(id).map_err(|e| e.to_string())?;
                    self.verified.remove(&key.key_id);
                    tracing::info!(
                        key_id = key.key_id,
                        "mpc: deleted the share and nonces of a retired key"
                    );
                }
                KeyStatus::Pending | KeyStatus::Active => {
                    if self.verified.contains(&key.key_id)
                        || !key.members.iter().any(|m| m.identifier == me)
                        || !keystore.has_key(id)
                    {
                        continue;
                    }
                    // Checked once per process, against what verifies this node's signature
                    // shares: the group key and the verifying shares in state.
                    self.verified.insert(key.key_id);
                    if self.dkg.as_ref().is_some_and(|d| d.key_id() == id) {
                        self.dkg = None;
                    }
                    let held = keystore.public_package(id).map_err(|e| e.to_string())?;
                    let in_state = public_key_package(key)?;
                    if held.verifying_key() != in_state.verifying_key()
                        || held.verifying_shares() != in_state.verifying_shares()
                    {
                        return Err(format!(
                            "the share this node holds of key {} belongs to another package than the key in state; its signature shares will be rejected",
                            key.key_id
                        ));
                    }
                }
                _ => {}
            }
        }
        self.forget_failed_sessions(state, &keys, keystore)
    }

    /// Deletes shares stored for sessions that failed (the node confirmed, others did not). Only
    /// what state shows failed: a node catching up holds shares of keys its state does not know
    /// yet.
    fn forget_failed_sessions<S: StateRead>(
        &mut self,
        state: &S,
        keys: &[GroupKey],
        keystore: &mut Keystore,
    ) -> Result<(), String> {
        let open = keygen::open_session(state)
            .map_err(|e| e.to_string())?
            .map(|s| s.key_id);
        let unknown: Vec<KeyId> = keystore
            .key_ids()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|id| Some(id.0) != open && !keys.iter().any(|k| k.key_id == id.0))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let failed: BTreeSet<u64> = state
            .keygen_sessions()
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|s| s.status() == SessionStatus::Failed)
            .map(|s| s.key_id)
            .collect();
        for id in unknown.into_iter().filter(|id| failed.contains(&id.0)) {
            keystore.delete_key(id).map_err(|e| e.to_string())?;
            tracing::info!(
                key_id = id.0,
                "mpc: deleted the share of a key whose session failed"
            );
        }
        Ok(())
    }

    /// The payload this node owes the open session's current round, if any.
    fn payload<S: StateRead>(
        &mut self,
        state: &S,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<Option<KeygenPayload>, String> {
        let Some(session) = keygen::open_session(state).map_err(|e| e.to_string())? else {
            self.produced.clear();
            self.confirmed_shares.clear();
            return Ok(None);
        };
        if self.fault == Some(KeygenFault::Silent) {
            return Ok(None);
        }
        self.produced
            .retain(|(s, _, _), _| *s == session.session_id);
        self.confirmed_shares
            .retain(|(s, _, _), _| *s == session.session_id);
        let me = identity.identifier().map_err(|e| e.to_string())?;
        let my_bytes = me.serialize();
        let delivered = keygen::round_payloads(state, session.session_id, session.round)
            .map_err(|e| e.to_string())?;
        if delivered.contains_key(&my_bytes) {
            return Ok(None);
        }
        let key = (
            session.session_id,
            session.round,
            inputs_digest(state, &session)?,
        );
        if let Some(p) = self.produced.get(&key).cloned() {
            self.restore_share(&session, &key, keystore)?;
            return Ok(Some(p));
        }
        let envelope = match (session.kind(), session.round) {
            (KeygenKind::Dkg, 1) => self.dkg_commit(&session, &my_bytes, identity)?,
            (KeygenKind::Dkg, 2) => self.dkg_shares(state, &session, identity)?,
            (KeygenKind::Dkg, 3) => self.dkg_confirm(state, &session, identity, keystore)?,
            (KeygenKind::Reshare, RESHARE_ROUND_DEAL) => {
                self.reshare_deal(&session, &my_bytes, identity, keystore)?
            }
            (KeygenKind::Reshare, _) => {
                self.reshare_confirm(state, &session, &my_bytes, identity, keystore)?
            }
            _ => None,
        };
        let Some(envelope) = envelope else {
            return Ok(None);
        };
        let payload = KeygenPayload {
            session_id: session.session_id,
            round: session.round,
            sender: my_bytes,
            envelope: Some(envelope),
            height: 0,
        };
        let confirms = payload.envelope.as_ref().is_some_and(|e| {
            e.kind == pb::MessageKind::DkgConfirm as i32
                || e.kind == pb::MessageKind::ReshareConfirm as i32
        });
        if confirms {
            self.remember_share(&session, key, keystore);
        }
        self.produced.insert(key, payload.clone());
        Ok(Some(payload))
    }

    /// After a confirmation stored its share, remembers the share under the inputs it came from.
    fn remember_share(
        &mut self,
        session: &KeygenSession,
        key: PayloadKey,
        keystore: &mut Keystore,
    ) {
        if let Ok(share) = keystore.key(KeyId(session.key_id)) {
            self.confirmed_shares.insert(key, share);
            self.stored_from.insert(session.key_id, key);
        }
    }

    /// Puts back the share of the confirmation made from `key`'s inputs when the keystore holds
    /// one made from other inputs (another candidate block of the same height).
    fn restore_share(
        &mut self,
        session: &KeygenSession,
        key: &PayloadKey,
        keystore: &mut Keystore,
    ) -> Result<(), String> {
        let Some((share, public)) = self.confirmed_shares.get(key) else {
            return Ok(());
        };
        if self.stored_from.get(&session.key_id) == Some(key) {
            return Ok(());
        }
        keystore
            .put_key(KeyId(session.key_id), share, public)
            .map_err(|e| e.to_string())?;
        self.stored_from.insert(session.key_id, *key);
        Ok(())
    }

    fn is_member(session: &KeygenSession, me: &[u8]) -> bool {
        session.members.iter().any(|m| m.identifier == me)
    }

    fn ids(session: &KeygenSession) -> (KeyId, SessionId) {
        (KeyId(session.key_id), SessionId(session.session_id))
    }

    fn dkg_commit(
        &mut self,
        session: &KeygenSession,
        me: &[u8],
        identity: &MemberSecret,
    ) -> Result<Option<pb::SignedEnvelope>, String> {
        if !Self::is_member(session, me) {
            return Ok(None);
        }
        let roster = roster_of(&session.members)?;
        let (key_id, session_id) = Self::ids(session);
        let (participant, envelope) = DkgParticipant::start(
            key_id,
            session_id,
            roster,
            session.threshold as u16,
            identity,
            &mut OsRng,
        )
        .map_err(|e| e.to_string())?;
        self.dkg = Some(participant);
        Ok(Some(envelope))
    }

    /// The participant of this session, or None when this node does not hold it (not a member,
    /// or restarted since round 1).
    fn participant(&mut self, session: &KeygenSession) -> Option<&mut DkgParticipant> {
        self.dkg
            .as_mut()
            .filter(|p| p.session_id() == SessionId(session.session_id))
    }

    fn dkg_shares<S: StateRead>(
        &mut self,
        state: &S,
        session: &KeygenSession,
        identity: &MemberSecret,
    ) -> Result<Option<pb::SignedEnvelope>, String> {
        let fault = self.fault;
        let Some(p) = self.participant(session) else {
            return Ok(None);
        };
        let round1 =
            keygen::round_payloads(state, session.session_id, 1).map_err(|e| e.to_string())?;
        for payload in round1.values() {
            if let Some(env) = &payload.envelope {
                match p.receive_round1(env) {
                    Ok(_) | Err(TssError::Duplicate { .. }) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        let envelope = p.round2(identity, &mut OsRng).map_err(|e| e.to_string())?;
        Ok(Some(as_sent::<pb::DkgRound2>(envelope, fault, identity)))
    }

    fn dkg_confirm<S: StateRead>(
        &mut self,
        state: &S,
        session: &KeygenSession,
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<Option<pb::SignedEnvelope>, String> {
        let Some(p) = self.participant(session) else {
            return Ok(None);
        };
        let round2 =
            keygen::round_payloads(state, session.session_id, 2).map_err(|e| e.to_string())?;
        for (sender, payload) in &round2 {
            let Some(env) = &payload.envelope else {
                continue;
            };
            match p.receive_round2(env, identity) {
                Ok(_) | Err(TssError::Duplicate { .. }) => {}
                Err(TssError::BadShares { .. } | TssError::BadShare { .. }) => {
                    return complain_dkg(p, sender, identity);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        match p.finish(identity) {
            Ok(confirm) => {
                // Durable before the confirmation leaves: once every member confirmed, the key
                // can become ACTIVE, and a restart must not leave this member without its share.
                let (share, public) = p.output().ok_or("dkg finished without output")?;
                keystore
                    .put_key(KeyId(session.key_id), share, public)
                    .map_err(|e| e.to_string())?;
                Ok(Some(confirm))
            }
            Err(TssError::BadShares { culprits, .. }) => {
                let accused = round2
                    .keys()
                    .find(|s| culprits.first() == Some(&hex::encode(s)))
                    .cloned()
                    .ok_or("bad share from an unknown sender")?;
                complain_dkg(p, &accused, identity)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn reshare_deal(
        &mut self,
        session: &KeygenSession,
        me: &[u8],
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<Option<pb::SignedEnvelope>, String> {
        if !session.dealers.iter().any(|d| d == me) {
            return Ok(None);
        }
        let old = KeyId(session.from_key_id);
        if !keystore.has_key(old) {
            return Err(format!(
                "asked to deal key {} this node does not hold",
                old.0
            ));
        }
        let (share, _) = keystore.key(old).map_err(|e| e.to_string())?;
        let roster = roster_of(&session.members)?;
        let (key_id, session_id) = Self::ids(session);
        let deal = reshare::deal(
            key_id,
            session_id,
            &share,
            &roster,
            session.threshold as u16,
            identity,
            &mut OsRng,
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(as_sent::<pb::ReshareDeal>(deal, self.fault, identity)))
    }

    fn reshare_confirm<S: StateRead>(
        &mut self,
        state: &S,
        session: &KeygenSession,
        me: &[u8],
        identity: &MemberSecret,
        keystore: &mut Keystore,
    ) -> Result<Option<pb::SignedEnvelope>, String> {
        if !Self::is_member(session, me) {
            return Ok(None);
        }
        let old = state
            .group_key(session.from_key_id)
            .map_err(|e| e.to_string())?
            .ok_or("the key being reshared is not in state")?;
        let (key_id, session_id) = Self::ids(session);
        let mut receiver = ReshareReceiver::new(
            key_id,
            session_id,
            roster_of(&old.members)?,
            public_key_package(&old)?,
            roster_of(&session.members)?,
            session.threshold as u16,
            identity,
        )
        .map_err(|e| e.to_string())?;
        let deals = keygen::round_payloads(state, session.session_id, RESHARE_ROUND_DEAL)
            .map_err(|e| e.to_string())?;
        for (dealer, payload) in &deals {
            let Some(env) = &payload.envelope else {
                continue;
            };
            match receiver.receive_deal(env, identity) {
                Ok(_) => {}
                Err(TssError::BadShare { .. }) => {
                    let accused = Identifier::deserialize(dealer).map_err(|e| e.to_string())?;
                    return receiver
                        .complaint(&accused, identity, &mut OsRng)
                        .map(Some)
                        .map_err(|e| e.to_string());
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let qualified = receiver.dealers_with_valid_commitment();
        let (share, public) = receiver.finish(&qualified).map_err(|e| e.to_string())?;
        let confirm = reshare::seal_confirmation(key_id, session_id, &qualified, &public, identity)
            .map_err(|e| e.to_string())?;
        // Durable before the confirmation leaves (as in the DKG).
        keystore
            .put_key(KeyId(session.key_id), &share, &public)
            .map_err(|e| e.to_string())?;
        Ok(Some(confirm))
    }
}

/// Digest of what the session's current round is computed from: the previous round's payloads
/// in state (sender and payload), none for the first round.
fn inputs_digest<S: StateRead>(state: &S, session: &KeygenSession) -> Result<[u8; 32], String> {
    let mut hasher = Sha256::new();
    if session.round > 1 {
        let previous = keygen::round_payloads(state, session.session_id, session.round - 1)
            .map_err(|e| e.to_string())?;
        for (sender, payload) in &previous {
            hasher.update((sender.len() as u64).to_be_bytes());
            hasher.update(sender);
            let bytes = payload.encode_to_vec();
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(&bytes);
        }
    }
    Ok(hasher.finalize().into())
}

fn complain_dkg(
    p: &DkgParticipant,
    accused: &[u8],
    identity: &MemberSecret,
) -> Result<Option<pb::SignedEnvelope>, String> {
    let accused = Identifier::deserialize(accused).map_err(|e| e.to_string())?;
    tracing::warn!(accused = %hex::encode(accused.serialize()), "mpc: complaining about a bad DKG share");
    p.complaint(&accused, identity, &mut OsRng)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A shares payload as this node sends it: as made, or with the test fault of its kind.
fn as_sent<M: SharesMessage>(
    envelope: pb::SignedEnvelope,
    fault: Option<KeygenFault>,
    identity: &MemberSecret,
) -> pb::SignedEnvelope {
    if fault == Some(M::FAULT) {
        corrupt_first_share::<M>(envelope, identity)
    } else {
        envelope
    }
}

/// Test fault: the first recipient's ciphertext no longer decrypts (re-signed, so the envelope
/// is authentic and the complaint proves the sender guilty).
fn corrupt_first_share<M: SharesMessage>(
    envelope: pb::SignedEnvelope,
    identity: &MemberSecret,
) -> pb::SignedEnvelope {
    let Ok(mut body) = M::decode(envelope.body.as_slice()) else {
        return envelope;
    };
    if let Some(byte) = body
        .shares_mut()
        .first_mut()
        .and_then(|s| s.ciphertext.first_mut())
    {
        *byte ^= 0x01;
    }
    envelope::seal(M::KIND, &body, identity)
}

/// Messages that carry encrypted shares (for the test faults).
trait SharesMessage: Message + Default {
    const KIND: pb::MessageKind;
    /// The test fault that corrupts this message.
    const FAULT: KeygenFault;
    fn shares_mut(&mut self) -> &mut Vec<pb::EncryptedShare>;
}

impl SharesMessage for pb::DkgRound2 {
    const KIND: pb::MessageKind = pb::MessageKind::DkgRound2;
    const FAULT: KeygenFault = KeygenFault::BadDkgShare;
    fn shares_mut(&mut self) -> &mut Vec<pb::EncryptedShare> {
        &mut self.shares
    }
}

impl SharesMessage for pb::ReshareDeal {
    const KIND: pb::MessageKind = pb::MessageKind::ReshareDeal;
    const FAULT: KeygenFault = KeygenFault::BadDeal;
    fn shares_mut(&mut self) -> &mut Vec<pb::EncryptedShare> {
        &mut self.shares
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use frost_secp256k1::keys::{generate_with_dealer, IdentifierList, KeyPackage};
    use seqpool_mpc::state::MpcWrite;
    use seqpool_store::{StateDelta, Storage};
    use seqpool_tss::keystore::{KdfParams, KeystoreSecret};

    /// Hardening point 12: ExtendVote's view is a candidate block. A key that view shows RETIRED
    /// may stay ACTIVE if another block commits at a later round, so the share is deleted only
    /// after the Commit of a state that retires it (before, ExtendVote deleted it at once).
    #[test]
    fn a_share_is_deleted_only_from_committed_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kdf = KdfParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        };
        let mut keystore = Keystore::open_with(
            &dir.path().join("keystore"),
            &KeystoreSecret::passphrase("test"),
            kdf,
        )
        .expect("keystore");
        let identity = MemberSecret::random(&mut OsRng);
        let (shares, public) =
            generate_with_dealer(3, 2, IdentifierList::Default, OsRng).expect("dealer");
        let share = shares.into_values().next().expect("a share");
        let package = KeyPackage::try_from(share).expect("key package");
        keystore
            .put_key(KeyId(7), &package, &public)
            .expect("store");
        let storage = Storage::open(dir.path().join("state")).expect("storage");
        let mut view = StateDelta::new(storage.latest_snapshot());
        view.put_group_key(&GroupKey {
            key_id: 7,
            status: KeyStatus::Retired as i32,
            ..Default::default()
        });
        let mut duties = KeygenDuties::default();
        duties.extend(
            &mut MpcVote::default(),
            &view,
            5,
            "seqpool-test",
            &identity,
            &mut keystore,
        );
        assert!(
            keystore.has_key(KeyId(7)),
            "ExtendVote's candidate view deleted the share"
        );
        // The same state, committed: now it goes.
        duties
            .follow_keys(&view, &identity, &mut keystore)
            .expect("housekeeping");
        assert!(!keystore.has_key(KeyId(7)));
    }
}
