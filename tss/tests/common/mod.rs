//! In-process simulation of n members: every message goes through its signed protobuf envelope,
//! encoded to bytes and decoded again, as it would over the chain.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage};
use frost_secp256k1::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1::{Identifier, Signature, SigningPackage};
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;
use seqpool_tss::crypto::envelope::decode_envelope;
use seqpool_tss::dkg::DkgParticipant;
use seqpool_tss::messages::pb;
use seqpool_tss::reshare::{self, ReshareReceiver};
use seqpool_tss::{sign, threshold_for, KeyId, MemberSecret, Roster, SessionId};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Round-trips an envelope through its wire encoding.
pub fn wire(envelope: &pb::SignedEnvelope) -> pb::SignedEnvelope {
    decode_envelope(&envelope.encode_to_vec()).expect("own envelope decodes")
}

pub struct Member {
    pub secret: MemberSecret,
    pub id: Identifier,
}

pub fn members(n: usize, rng: &mut StdRng) -> Vec<Member> {
    (0..n)
        .map(|_| {
            let secret = MemberSecret::random(rng);
            let id = secret.identifier().expect("identifier");
            Member { secret, id }
        })
        .collect()
}

pub fn roster(members: &[Member]) -> Roster {
    Roster::new(members.iter().map(|m| m.secret.public())).expect("roster")
}

/// A key held by a member set: each member's key package and the shared public package.
pub struct Key {
    pub shares: BTreeMap<Identifier, KeyPackage>,
    pub public: PublicKeyPackage,
}

/// Runs an honest DKG among `members`; asserts every member confirmed the same package.
pub fn run_dkg(key_id: KeyId, session: SessionId, members: &[Member], rng: &mut StdRng) -> Key {
    let roster = roster(members);
    let t = threshold_for(members.len());
    let mut parts = Vec::new();
    let mut round1 = Vec::new();
    for m in members {
        let (p, msg) = DkgParticipant::start(key_id, session, roster.clone(), t, &m.secret, rng)
            .expect("dkg start");
        parts.push(p);
        round1.push(wire(&msg));
    }
    for p in parts.iter_mut() {
        for msg in &round1 {
            p.receive_round1(msg).expect("round 1");
        }
    }
    let round2: Vec<_> = parts
        .iter_mut()
        .zip(members)
        .map(|(p, m)| wire(&p.round2(&m.secret, rng).expect("round 2")))
        .collect();
    for (p, m) in parts.iter_mut().zip(members) {
        for msg in &round2 {
            p.receive_round2(msg, &m.secret).expect("receive round 2");
        }
    }
    let confirms: Vec<_> = parts
        .iter_mut()
        .zip(members)
        .map(|(p, m)| wire(&p.finish(&m.secret).expect("finish")))
        .collect();
    for p in parts.iter_mut() {
        for msg in &confirms {
            p.receive_confirm(msg).expect("confirm");
        }
        assert!(p.is_confirmed());
    }
    let mut shares = BTreeMap::new();
    let mut public = None;
    for p in parts {
        let out = p.into_output().expect("output");
        if let Some(prev) = &public {
            assert_eq!(prev, &out.public_key_package);
        }
        public = Some(out.public_key_package.clone());
        shares.insert(*out.key_package.identifier(), out.key_package.clone());
    }
    Key {
        shares,
        public: public.expect("at least one member"),
    }
}

/// Signs `message` with the given signers (in-memory nonces) and aggregates.
pub fn sign_with(
    key: &Key,
    signers: &BTreeSet<Identifier>,
    message: &[u8],
    rng: &mut StdRng,
) -> Signature {
    let (package, nonces) = signing_round(key, signers, message, rng);
    let shares = signers
        .iter()
        .map(|id| {
            let share = sign::sign_with_nonces(&key.shares[id], &key.public, &package, &nonces[id])
                .expect("sign");
            (*id, share)
        })
        .collect();
    sign::aggregate(&package, &shares, &key.public).expect("aggregate")
}

pub fn signing_round(
    key: &Key,
    signers: &BTreeSet<Identifier>,
    message: &[u8],
    rng: &mut StdRng,
) -> (SigningPackage, BTreeMap<Identifier, SigningNonces>) {
    let mut commitments: BTreeMap<Identifier, SigningCommitments> = BTreeMap::new();
    let mut nonces = BTreeMap::new();
    for id in signers {
        let (mut n, mut c) = sign::preprocess(&key.shares[id], 1, rng);
        nonces.insert(*id, n.remove(0));
        commitments.insert(*id, c.remove(0));
    }
    (SigningPackage::new(commitments, message), nonces)
}

/// Random subset of `ids` of size `k`.
pub fn random_subset(ids: &[Identifier], k: usize, rng: &mut StdRng) -> BTreeSet<Identifier> {
    use rand::seq::SliceRandom;
    ids.choose_multiple(rng, k).copied().collect()
}

/// Reshares `key` from `old` members to `new` members (threshold floor(2n'/3)+1), with all old
/// members dealing; returns the new key and asserts the group key is unchanged.
pub fn run_reshare(
    key_id: KeyId,
    session: SessionId,
    key: &Key,
    old: &[Member],
    new: &[Member],
    rng: &mut StdRng,
) -> Key {
    let old_roster = roster(old);
    let new_roster = roster(new);
    let t_new = threshold_for(new.len());
    let deals: Vec<_> = old
        .iter()
        .map(|m| {
            wire(
                &reshare::deal(
                    key_id,
                    session,
                    &key.shares[&m.id],
                    &new_roster,
                    t_new,
                    &m.secret,
                    rng,
                )
                .expect("deal"),
            )
        })
        .collect();
    let mut shares = BTreeMap::new();
    let mut public = None;
    let mut confirmations = Vec::new();
    let mut qualified_sets = Vec::new();
    for m in new {
        let mut receiver = ReshareReceiver::new(
            key_id,
            session,
            old_roster.clone(),
            key.public.clone(),
            new_roster.clone(),
            t_new,
            &m.secret,
        )
        .expect("receiver");
        for deal in &deals {
            receiver
                .receive_deal(deal, &m.secret)
                .expect("deal accepted");
        }
        let qualified = receiver.dealers_with_valid_share();
        let (kp, pkp) = receiver.finish(&qualified).expect("finish reshare");
        assert_eq!(pkp.verifying_key(), key.public.verifying_key());
        if let Some(prev) = &public {
            assert_eq!(prev, &pkp);
        }
        confirmations.push(wire(
            &reshare::seal_confirmation(key_id, session, &qualified, &pkp, &m.secret)
                .expect("confirm"),
        ));
        qualified_sets.push(qualified);
        public = Some(pkp);
        shares.insert(m.id, kp);
    }
    let public = public.expect("new members");
    // Every new member checks every confirmation: same dealers, same package.
    for qualified in &qualified_sets {
        for confirmation in &confirmations {
            reshare::check_confirmation(
                confirmation,
                &new_roster,
                key_id,
                session,
                qualified,
                &public,
            )
            .expect("matching confirmation");
        }
    }
    Key { shares, public }
}
