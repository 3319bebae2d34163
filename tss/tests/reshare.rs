//! Reshare chains over the in-process simulation: the group key never changes, signatures stay
//! valid, cheating dealers are excluded, and retired shares are useless.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use frost_secp256k1::Identifier;
use proptest::prelude::*;
use seqpool_tss::complaint::{judge_complaint, Verdict};
use seqpool_tss::crypto::envelope;
use seqpool_tss::ids::id_hex;
use seqpool_tss::messages::pb;
use seqpool_tss::reshare::{self, ReshareReceiver};
use seqpool_tss::{sign, threshold_for, KeyId, SessionId, TssError};

fn check_signing(key: &Key, label: &str, rng: &mut rand::rngs::StdRng) {
    let ids: Vec<Identifier> = key.shares.keys().copied().collect();
    let t = key.public.min_signers().unwrap() as usize;
    assert_eq!(t, threshold_for(ids.len()) as usize);
    let signers = random_subset(&ids, t, rng);
    let signature = sign_with(key, &signers, label.as_bytes(), rng);
    key.public
        .verifying_key()
        .verify(label.as_bytes(), &signature)
        .expect("signature after reshare verifies under the original group key");
}

#[test]
fn reshare_chain_4_7_5_10_keeps_group_key() {
    let mut rng = rng(31);
    let pool = members(14, &mut rng);
    let key_id = KeyId(5);
    let mut current: Vec<usize> = (0..4).collect();
    let mut key = run_dkg(key_id, SessionId(1), &pick(&pool, &current), &mut rng);
    let group_key = *key.public.verifying_key();
    check_signing(&key, "after dkg", &mut rng);
    // Join (4 -> 7), leave (7 -> 5, keeping only 2 of the original 4), then several joins at once
    // (5 -> 10) with threshold growth and shrinkage on the way.
    let steps: [Vec<usize>; 3] = [
        (0..7).collect(),
        vec![2, 3, 4, 5, 6],
        vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ];
    for (session, next) in steps.iter().enumerate() {
        let old = pick(&pool, &current);
        let new = pick(&pool, next);
        key = run_reshare(
            key_id,
            SessionId(10 + session as u64),
            &key,
            &old,
            &new,
            &mut rng,
        );
        assert_eq!(*key.public.verifying_key(), group_key);
        assert_eq!(key.shares.len(), next.len());
        check_signing(&key, &format!("after reshare to {}", next.len()), &mut rng);
        current = next.clone();
    }
}

fn pick(pool: &[Member], indices: &[usize]) -> Vec<Member> {
    indices
        .iter()
        .map(|&i| {
            let bytes = pool[i].secret.public();
            let _ = bytes;
            Member {
                secret: clone_secret(&pool[i].secret),
                id: pool[i].id,
            }
        })
        .collect()
}

fn clone_secret(secret: &seqpool_tss::MemberSecret) -> seqpool_tss::MemberSecret {
    seqpool_tss::MemberSecret::new(secret.signer_key().clone(), secret.encryption_key().clone())
}

#[test]
fn cheating_dealers_are_excluded() {
    let mut rng = rng(32);
    let old = members(7, &mut rng);
    let key_id = KeyId(6);
    let key = run_dkg(key_id, SessionId(1), &old, &mut rng);
    let mut new: Vec<Member> = old
        .iter()
        .take(5)
        .map(|m| Member {
            secret: clone_secret(&m.secret),
            id: m.id,
        })
        .collect();
    new.extend(members(2, &mut rng));
    let old_roster = roster(&old);
    let new_roster = roster(&new);
    let t_new = threshold_for(new.len());
    let session = SessionId(2);
    let mut deals: Vec<pb::SignedEnvelope> = old
        .iter()
        .map(|m| {
            reshare::deal(
                key_id,
                session,
                &key.shares[&m.id],
                &new_roster,
                t_new,
                &m.secret,
                &mut rng,
            )
            .unwrap()
        })
        .collect();

    // Dealer 0 deals a fresh secret instead of its share: its commitment's constant term is wrong.
    let fake = {
        let mut kp_rng = rng.clone();
        let other = run_dkg(KeyId(99), SessionId(1), &old, &mut kp_rng);
        reshare::deal(
            key_id,
            session,
            &other.shares[&old[0].id],
            &new_roster,
            t_new,
            &old[0].secret,
            &mut rng,
        )
        .unwrap()
    };
    deals[0] = fake;
    // Dealer 1 sends one new member a sub-share that does not match its commitment.
    let victim = new[6].id;
    let (_, mut body): (Identifier, pb::ReshareDeal) =
        envelope::open(&deals[1], pb::MessageKind::ReshareDeal, &old_roster).unwrap();
    let donor = body
        .shares
        .iter()
        .find(|s| s.recipient != victim.serialize())
        .unwrap()
        .clone();
    for share in body.shares.iter_mut() {
        if share.recipient == victim.serialize() {
            share.ephemeral_key = donor.ephemeral_key.clone();
            share.ciphertext = donor.ciphertext.clone();
        }
    }
    deals[1] = envelope::seal(pb::MessageKind::ReshareDeal, &body, &old[1].secret);
    // Dealer 2 uses the wrong new threshold.
    let short = reshare::deal(
        key_id,
        session,
        &key.shares[&old[2].id],
        &new_roster,
        t_new - 1,
        &old[2].secret,
        &mut rng,
    )
    .unwrap();
    deals[2] = short;

    let mut receivers = Vec::new();
    let mut complaints = Vec::new();
    for m in &new {
        let mut r = ReshareReceiver::new(
            key_id,
            session,
            old_roster.clone(),
            key.public.clone(),
            new_roster.clone(),
            t_new,
            &m.secret,
        )
        .unwrap();
        for deal in &deals {
            match r.receive_deal(&wire(deal), &m.secret) {
                Ok(_) => {}
                Err(TssError::BadCommitment { culprit, .. }) => {
                    assert!(
                        culprit == id_hex(&old[0].id) || culprit == id_hex(&old[2].id),
                        "{culprit}"
                    );
                }
                Err(TssError::BadShare { culprit, recipient }) => {
                    assert_eq!(culprit, id_hex(&old[1].id));
                    assert_eq!(recipient, id_hex(&m.id));
                    complaints.push(r.complaint(&old[1].id, &m.secret, &mut rng).unwrap());
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        receivers.push(r);
    }
    assert_eq!(complaints.len(), 1, "only the victim complains");
    let verdict = judge_complaint(&complaints[0], &new_roster, &old_roster, |_| None).unwrap();
    assert_eq!(
        verdict,
        Verdict::AccusedGuilty {
            accused: old[1].id,
            complainer: victim
        }
    );
    // Everyone agrees on the qualified set: valid commitments minus proven cheaters.
    let mut qualified: BTreeSet<Identifier> = receivers[0].dealers_with_valid_commitment();
    qualified.remove(&old[1].id);
    assert_eq!(qualified.len(), 4);
    assert!(qualified.len() >= threshold_for(7) as usize - 1);
    // 4 honest dealers are fewer than the old threshold 5: the reshare must refuse.
    match receivers[0].finish(&qualified) {
        Err(TssError::NotEnoughDealers { honest, needed }) => assert_eq!((honest, needed), (4, 5)),
        other => panic!("expected NotEnoughDealers, got {:?}", other.map(|_| ())),
    }
    // With one cheater fewer (dealer 2 redeals honestly), 5 honest dealers complete the reshare.
    let redeal = reshare::deal(
        key_id,
        SessionId(2),
        &key.shares[&old[2].id],
        &new_roster,
        t_new,
        &old[2].secret,
        &mut rng,
    )
    .unwrap();
    let mut shares = BTreeMap::new();
    let mut public = None;
    for (r, m) in receivers.iter_mut().zip(&new) {
        r.receive_deal(&redeal, &m.secret).unwrap();
        let mut qualified = r.dealers_with_valid_commitment();
        qualified.remove(&old[1].id);
        assert_eq!(qualified.len(), 5);
        let (kp, pkp) = r.finish(&qualified).unwrap();
        assert_eq!(pkp.verifying_key(), key.public.verifying_key());
        public = Some(pkp);
        shares.insert(m.id, kp);
    }
    let new_key = Key {
        shares,
        public: public.unwrap(),
    };
    check_signing(&new_key, "after excluding cheaters", &mut rng);
}

#[test]
fn retired_shares_cannot_sign_with_new_ones() {
    let mut rng = rng(33);
    let old = members(7, &mut rng);
    let key_id = KeyId(7);
    let key = run_dkg(key_id, SessionId(1), &old, &mut rng);
    let new: Vec<Member> = old
        .iter()
        .skip(2)
        .map(|m| Member {
            secret: clone_secret(&m.secret),
            id: m.id,
        })
        .collect();
    let new_key = run_reshare(key_id, SessionId(2), &key, &old, &new, &mut rng);
    // The two members who left kept their old shares; together with old shares of members who
    // erased theirs they could sign, so a retained old share must not combine with new shares.
    let t_new = new_key.public.min_signers().unwrap() as usize;
    let mut mixed = new_key.shares.clone();
    let leaver = old[0].id;
    let stayer = new[0].id;
    let retained = &key.shares[&stayer];
    mixed.insert(
        stayer,
        frost_secp256k1::keys::KeyPackage::new(
            stayer,
            *retained.signing_share(),
            *retained.verifying_share(),
            *new_key.public.verifying_key(),
            t_new as u16,
        ),
    );
    let ids: BTreeSet<Identifier> = mixed
        .keys()
        .copied()
        .filter(|id| *id != leaver)
        .take(t_new)
        .collect();
    assert!(ids.contains(&stayer));
    let mixed_key = Key {
        shares: mixed,
        public: new_key.public.clone(),
    };
    let (package, nonces) = signing_round(&mixed_key, &ids, b"mixed", &mut rng);
    let shares = ids
        .iter()
        .map(|id| {
            (
                *id,
                sign::sign_with_nonces(
                    &mixed_key.shares[id],
                    &new_key.public,
                    &package,
                    &nonces[id],
                )
                .unwrap(),
            )
        })
        .collect();
    match sign::aggregate(&package, &shares, &new_key.public) {
        Err(TssError::InvalidSignatureShares { culprits }) => {
            assert_eq!(culprits, vec![id_hex(&stayer)])
        }
        other => panic!("expected the old share to be rejected, got {other:?}"),
    }
    // The old shares that leavers still hold (2 of 7) are below the old threshold 5: interpolating
    // them does not give the group secret.
    let leftovers: Vec<_> = old
        .iter()
        .take(2)
        .map(|m| key.shares[&m.id].clone())
        .collect();
    assert!(frost_secp256k1::keys::reconstruct(&leftovers).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    /// Random member sets: any reshare between sizes 4..=9 keeps the key and any t' signers sign.
    #[test]
    fn random_reshares_keep_the_key(seed in any::<u64>(), n0 in 4usize..8, n1 in 4usize..10, overlap in 0usize..4) {
        let mut rng = rng(seed);
        let pool = members(n0 + n1, &mut rng);
        let old: Vec<usize> = (0..n0).collect();
        // The new set keeps `overlap` old members (when there are enough) and adds fresh ones.
        let keep = overlap.min(n0).min(n1);
        let new: Vec<usize> = (n0 - keep..n0).chain(n0..n0 + (n1 - keep)).collect();
        let key = run_dkg(KeyId(1), SessionId(1), &pick(&pool, &old), &mut rng);
        let next = run_reshare(KeyId(1), SessionId(2), &key, &pick(&pool, &old), &pick(&pool, &new), &mut rng);
        prop_assert_eq!(next.public.verifying_key(), key.public.verifying_key());
        prop_assert_eq!(next.public.min_signers(), Some(threshold_for(n1)));
        check_signing(&next, "random reshare", &mut rng);
    }
}
