//! DKG and signing over the in-process simulation, including every kind of misbehaviour.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use frost_secp256k1::Identifier;
use prost::Message;
use seqpool_tss::complaint::{judge_complaint, Verdict};
use seqpool_tss::crypto::envelope;
use seqpool_tss::dkg::DkgParticipant;
use seqpool_tss::ids::id_hex;
use seqpool_tss::messages::pb;
use seqpool_tss::{sign, threshold_for, KeyId, SessionId, TssError};

fn dkg_then_sign(n: usize, seed: u64) {
    let mut rng = rng(seed);
    let members = members(n, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let t = threshold_for(n) as usize;
    assert_eq!(key.public.min_signers(), Some(t as u16));
    assert_eq!(key.public.verifying_shares().len(), n);
    let ids: Vec<Identifier> = key.shares.keys().copied().collect();
    // Random absent members: any t (and any larger set) can sign.
    for (round, k) in [t, n, t + (n - t) / 2].into_iter().enumerate() {
        let signers = random_subset(&ids, k, &mut rng);
        let message = format!("batch {round} of a {n}-member key");
        let signature = sign_with(&key, &signers, message.as_bytes(), &mut rng);
        key.public
            .verifying_key()
            .verify(message.as_bytes(), &signature)
            .expect("signature verifies under the group key");
        seqpool_tss::eth::signature_affine(&signature).expect("affine signature");
    }
    seqpool_tss::eth::group_key_affine(key.public.verifying_key()).expect("Px < n");
}

#[test]
fn dkg_and_signing_n4() {
    dkg_then_sign(4, 4);
}

#[test]
fn dkg_and_signing_n7() {
    dkg_then_sign(7, 7);
}

#[test]
fn dkg_and_signing_n10() {
    dkg_then_sign(10, 10);
}

#[test]
fn dkg_and_signing_n50() {
    dkg_then_sign(50, 50);
}

/// Drives a DKG of `n` where member 0 tampers with its round-2 message via `tamper`.
struct DkgRun {
    members: Vec<Member>,
    parts: Vec<DkgParticipant>,
    round2: Vec<pb::SignedEnvelope>,
}

fn dkg_until_round2(n: usize, seed: u64) -> DkgRun {
    let mut rng = rng(seed);
    let members = members(n, &mut rng);
    let roster = roster(&members);
    let t = threshold_for(n);
    let mut parts = Vec::new();
    let mut round1 = Vec::new();
    for m in &members {
        let (p, msg) = DkgParticipant::start(
            KeyId(9),
            SessionId(3),
            roster.clone(),
            t,
            &m.secret,
            &mut rng,
        )
        .unwrap();
        parts.push(p);
        round1.push(wire(&msg));
    }
    for p in parts.iter_mut() {
        for msg in &round1 {
            p.receive_round1(msg).unwrap();
        }
    }
    let round2 = parts
        .iter_mut()
        .zip(&members)
        .map(|(p, m)| wire(&p.round2(&m.secret, &mut rng).unwrap()))
        .collect();
    DkgRun {
        members,
        parts,
        round2,
    }
}

#[test]
fn bad_round2_share_is_named_and_provable() {
    let mut rng = rng(21);
    let mut run = dkg_until_round2(7, 21);
    let cheater = &run.members[0];
    let victim_index = 3;
    let victim_id = run.members[victim_index].id;
    // The cheater re-encrypts a wrong share for the victim and signs the result properly.
    let (_, mut body): (Identifier, pb::DkgRound2) = envelope::open(
        &run.round2[0],
        pb::MessageKind::DkgRound2,
        &roster(&run.members),
    )
    .unwrap();
    let bogus = frost_secp256k1::keys::SigningShare::new(k256::Scalar::from(12345u64));
    let victim_public = run.members[victim_index].secret.public();
    let context = seqpool_tss::crypto::ecies::ShareContext {
        purpose: b"dkg",
        key_id: KeyId(9),
        session_id: SessionId(3),
        sender: &cheater.id,
        recipient: &victim_id,
    };
    let (eph, ct) = seqpool_tss::crypto::ecies::encrypt_scalar(
        &mut rng,
        &k256::PublicKey::from_sec1_bytes(&victim_public.encryption_key).unwrap(),
        &context,
        &bogus.to_scalar(),
    );
    for share in body.shares.iter_mut() {
        if share.recipient == victim_id.serialize() {
            share.ephemeral_key = eph.to_vec();
            share.ciphertext = ct.clone();
        }
    }
    let forged = wire(&envelope::seal(
        pb::MessageKind::DkgRound2,
        &body,
        &cheater.secret,
    ));

    // The victim accepts the message (it decrypts) and names the cheater when it checks the
    // shares in part 3; everyone else completes part 3.
    for (i, (p, m)) in run.parts.iter_mut().zip(&run.members).enumerate() {
        p.receive_round2(&forged, &m.secret).unwrap();
        for (j, msg) in run.round2.iter().enumerate() {
            if j != 0 && j != 2 {
                p.receive_round2(msg, &m.secret).unwrap();
            }
        }
        // Member 2's round 2 (and the victim's view of it) is delivered below.
        if i != victim_index {
            p.receive_round2(&run.round2[2], &m.secret).unwrap();
            p.finish(&m.secret).unwrap();
        }
    }
    run.parts[victim_index]
        .receive_round2(&run.round2[2], &run.members[victim_index].secret)
        .unwrap();
    match run.parts[victim_index].finish(&run.members[victim_index].secret) {
        Err(TssError::BadShares {
            culprits,
            recipient,
        }) => {
            assert_eq!(culprits, vec![id_hex(&cheater.id)]);
            assert_eq!(recipient, id_hex(&victim_id));
        }
        other => panic!("expected BadShares, got {:?}", other.map(|_| ())),
    }
    // The victim's complaint convinces a third party; an honest member's false complaint does not.
    let roster = roster(&run.members);
    let complaint = run.parts[victim_index]
        .complaint(&cheater.id, &run.members[victim_index].secret, &mut rng)
        .unwrap();
    let complaint = wire(&complaint);
    assert!(complaint.encoded_len() < 2048);
    let verdict = judge_complaint(&complaint, &roster, &roster, |id| {
        run.parts[1].round1_commitment(id)
    })
    .unwrap();
    assert_eq!(
        verdict,
        Verdict::AccusedGuilty {
            accused: cheater.id,
            complainer: victim_id
        }
    );
    let honest = run.members[2].id;
    let false_complaint = run.parts[victim_index]
        .complaint(&honest, &run.members[victim_index].secret, &mut rng)
        .unwrap();
    let verdict = judge_complaint(&false_complaint, &roster, &roster, |id| {
        run.parts[1].round1_commitment(id)
    })
    .unwrap();
    assert_eq!(
        verdict,
        Verdict::ComplainerLying {
            accused: honest,
            complainer: victim_id
        }
    );
}

#[test]
fn bad_commitment_is_named() {
    let mut rng = rng(22);
    let members = members(4, &mut rng);
    let roster = roster(&members);
    let t = threshold_for(4);
    let (mut honest, _) = DkgParticipant::start(
        KeyId(1),
        SessionId(1),
        roster.clone(),
        t,
        &members[0].secret,
        &mut rng,
    )
    .unwrap();
    let (_, msg) = DkgParticipant::start(
        KeyId(1),
        SessionId(1),
        roster.clone(),
        t,
        &members[1].secret,
        &mut rng,
    )
    .unwrap();
    let (_, mut body): (Identifier, pb::DkgRound1) =
        envelope::open(&msg, pb::MessageKind::DkgRound1, &roster).unwrap();

    // Too short a commitment.
    let mut short = body.clone();
    short.commitment.pop();
    let forged = envelope::seal(pb::MessageKind::DkgRound1, &short, &members[1].secret);
    match honest.receive_round1(&forged) {
        Err(TssError::BadCommitment { culprit, .. }) => assert_eq!(culprit, id_hex(&members[1].id)),
        other => panic!("expected BadCommitment, got {other:?}"),
    }
    // A coefficient swapped: the proof of knowledge no longer matches.
    body.commitment.swap(0, 1);
    let forged = envelope::seal(pb::MessageKind::DkgRound1, &body, &members[1].secret);
    match honest.receive_round1(&forged) {
        Err(TssError::BadCommitment { culprit, reason }) => {
            assert_eq!(culprit, id_hex(&members[1].id));
            assert!(reason.contains("proof of knowledge"), "{reason}");
        }
        other => panic!("expected BadCommitment, got {other:?}"),
    }
    // Garbage point bytes.
    body.commitment[0] = vec![7u8; 33];
    let forged = envelope::seal(pb::MessageKind::DkgRound1, &body, &members[1].secret);
    assert!(matches!(
        honest.receive_round1(&forged),
        Err(TssError::BadCommitment { .. })
    ));
    // A message signed by someone else than the claimed sender.
    let mut stolen = msg.clone();
    stolen.sender = members[2].secret.public().signer_key.to_vec();
    assert!(matches!(
        honest.receive_round1(&stolen),
        Err(TssError::BadEnvelopeSignature { .. })
    ));
    // The genuine message is still accepted afterwards.
    honest.receive_round1(&msg).unwrap();
}

#[test]
fn confirmation_mismatch_is_named() {
    let mut rng = rng(23);
    let mut run = dkg_until_round2(4, 23);
    for (p, m) in run.parts.iter_mut().zip(&run.members) {
        for msg in &run.round2 {
            p.receive_round2(msg, &m.secret).unwrap();
        }
    }
    let mut confirms: Vec<_> = run
        .parts
        .iter_mut()
        .zip(&run.members)
        .map(|(p, m)| p.finish(&m.secret).unwrap())
        .collect();
    let (_, mut body): (Identifier, pb::DkgConfirm) = envelope::open(
        &confirms[2],
        pb::MessageKind::DkgConfirm,
        &roster(&run.members),
    )
    .unwrap();
    body.public_key_package_hash[0] ^= 1;
    confirms[2] = envelope::seal(pb::MessageKind::DkgConfirm, &body, &run.members[2].secret);
    let _ = &mut rng;
    match run.parts[0].receive_confirm(&confirms[2]) {
        Err(TssError::ConfirmationMismatch { culprit }) => {
            assert_eq!(culprit, id_hex(&run.members[2].id))
        }
        other => panic!("expected ConfirmationMismatch, got {other:?}"),
    }
    run.parts[0].receive_confirm(&confirms[1]).unwrap();
    assert!(!run.parts[0].is_confirmed());
}

#[test]
fn bad_signature_shares_are_all_named() {
    let mut rng = rng(24);
    let members = members(10, &mut rng);
    let key = run_dkg(KeyId(2), SessionId(1), &members, &mut rng);
    let ids: Vec<Identifier> = key.shares.keys().copied().collect();
    let signers = random_subset(&ids, 8, &mut rng);
    let (package, nonces) = signing_round(&key, &signers, b"payload", &mut rng);
    let mut shares = BTreeMap::new();
    for id in &signers {
        shares.insert(
            *id,
            sign::sign_with_nonces(&key.shares[id], &key.public, &package, &nonces[id]).unwrap(),
        );
    }
    let cheaters: Vec<Identifier> = signers.iter().take(2).copied().collect();
    // Each cheater submits the share of a different message.
    let (other_package, _) = signing_round(&key, &signers, b"other", &mut rng);
    let _ = other_package;
    for (i, cheater) in cheaters.iter().enumerate() {
        let bogus = frost_secp256k1::round2::SignatureShare::deserialize(
            &k256::elliptic_curve::PrimeField::to_repr(&k256::Scalar::from(99u64 + i as u64)),
        )
        .unwrap();
        shares.insert(*cheater, bogus);
    }
    match sign::aggregate(&package, &shares, &key.public) {
        Err(TssError::InvalidSignatureShares { culprits }) => {
            let expected: BTreeSet<String> = cheaters.iter().map(id_hex).collect();
            let got: BTreeSet<String> = culprits.into_iter().collect();
            assert_eq!(got, expected);
        }
        other => panic!("expected InvalidSignatureShares, got {other:?}"),
    }
    // A missing share is named too.
    shares.remove(&cheaters[0]);
    match sign::aggregate(&package, &shares, &key.public) {
        Err(TssError::MissingSignatureShare { culprit }) => {
            assert_eq!(culprit, id_hex(&cheaters[0]))
        }
        other => panic!("expected MissingSignatureShare, got {other:?}"),
    }
}

#[test]
fn signing_refuses_short_or_reused_packages() {
    let mut rng = rng(25);
    let members = members(7, &mut rng);
    let key = run_dkg(KeyId(3), SessionId(1), &members, &mut rng);
    let ids: Vec<Identifier> = key.shares.keys().copied().collect();
    let t = threshold_for(7) as usize;
    let few = random_subset(&ids, t - 1, &mut rng);
    let (package, nonces) = signing_round(&key, &few, b"m", &mut rng);
    let signer = *few.iter().next().unwrap();
    match sign::sign_with_nonces(
        &key.shares[&signer],
        &key.public,
        &package,
        &nonces[&signer],
    ) {
        Err(TssError::TooFewSigners { signers, threshold }) => {
            assert_eq!((signers, threshold), (t - 1, t));
        }
        other => panic!("expected TooFewSigners, got {other:?}"),
    }
    // A signer outside the key is named.
    let outsider = frost_secp256k1::Identifier::derive(b"outsider").unwrap();
    let (_, extra) = sign::preprocess(&key.shares[&signer], 1, &mut rng);
    let mut with_outsider = package.signing_commitments().clone();
    with_outsider.insert(outsider, extra[0]);
    for id in random_subset(&ids, t, &mut rng) {
        with_outsider.entry(id).or_insert(extra[0]);
    }
    let with_outsider = frost_secp256k1::SigningPackage::new(with_outsider, b"m");
    match sign::validate_package(&key.shares[&signer], &key.public, &with_outsider) {
        Err(TssError::SignerNotInKey { culprit }) => assert_eq!(culprit, id_hex(&outsider)),
        other => panic!("expected SignerNotInKey, got {other:?}"),
    }
    // Every honest signer set passes validation.
    let all: BTreeSet<Identifier> = ids.iter().copied().collect();
    let (full, _) = signing_round(&key, &all, b"m", &mut rng);
    for id in &ids {
        sign::validate_package(&key.shares[id], &key.public, &full).unwrap();
    }
    // Two signers presenting the same commitment.
    let signers = random_subset(&ids, t, &mut rng);
    let (package, nonces) = signing_round(&key, &signers, b"m", &mut rng);
    let mut commitments = package.signing_commitments().clone();
    let mut it = signers.iter();
    let (a, b) = (*it.next().unwrap(), *it.next().unwrap());
    let copied = commitments[&a];
    commitments.insert(b, copied);
    let reused = frost_secp256k1::SigningPackage::new(commitments, b"m");
    assert!(matches!(
        sign::sign_with_nonces(&key.shares[&a], &key.public, &reused, &nonces[&a]),
        Err(TssError::ReusedCommitment(_))
    ));
}

#[test]
fn envelope_decoding_never_panics_on_garbage() {
    let mut rng = rng(26);
    let members = members(4, &mut rng);
    let roster = roster(&members);
    let (_, msg) = DkgParticipant::start(
        KeyId(1),
        SessionId(1),
        roster.clone(),
        3,
        &members[0].secret,
        &mut rng,
    )
    .unwrap();
    let bytes = msg.encode_to_vec();
    let mut state = 0x9e3779b97f4a7c15u64;
    for i in 0..2000 {
        let mut mutated = bytes.clone();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let pos = (state as usize) % mutated.len();
        mutated[pos] ^= (state >> 32) as u8 | 1;
        if i % 3 == 0 {
            mutated.truncate(pos);
        }
        if let Ok(env) = envelope::decode_envelope(&mutated) {
            let _ = envelope::open::<pb::DkgRound1>(&env, pb::MessageKind::DkgRound1, &roster);
        }
    }
}

/// Wire sizes at n = 100 (t = 67): every message fits a CometBFT tx or vote extension.
#[test]
fn message_sizes_at_n100() {
    let mut rng = rng(27);
    let members = members(100, &mut rng);
    let roster = roster(&members);
    let t = threshold_for(100);
    let mut round1 = Vec::new();
    let mut first = None;
    for m in &members {
        let (p, msg) = DkgParticipant::start(
            KeyId(1),
            SessionId(1),
            roster.clone(),
            t,
            &m.secret,
            &mut rng,
        )
        .unwrap();
        if first.is_none() {
            first = Some(p);
        }
        round1.push(msg);
    }
    let mut p = first.unwrap();
    for msg in &round1 {
        p.receive_round1(msg).unwrap();
    }
    let round2 = p.round2(&members[0].secret, &mut rng).unwrap();
    let r1 = round1[0].encoded_len();
    let r2 = round2.encoded_len();
    let deal_estimate = r2 + r1;
    println!("n=100: DkgRound1 {r1} B, DkgRound2 {r2} B, ReshareDeal ~{deal_estimate} B");
    assert!(r1 < 2_600, "round 1 is {r1} bytes");
    assert!(r2 < 16_384, "round 2 is {r2} bytes");
}

#[test]
fn nonce_commitment_and_share_messages_are_authenticated() {
    let mut rng = rng(28);
    let members = members(4, &mut rng);
    let roster = roster(&members);
    let key = run_dkg(KeyId(4), SessionId(1), &members, &mut rng);
    let me = &members[1];
    let (nonces, commitments) = sign::preprocess(&key.shares[&me.id], 5, &mut rng);
    let msg = wire(
        &seqpool_tss::messages::seal_nonce_commitments(KeyId(4), &commitments, &me.secret).unwrap(),
    );
    let (sender, key_id, got) =
        seqpool_tss::messages::open_nonce_commitments(&msg, &roster).unwrap();
    assert_eq!((sender, key_id), (me.id, KeyId(4)));
    assert_eq!(got, commitments);
    let mut tampered = msg.clone();
    tampered.body[5] ^= 1;
    assert!(matches!(
        seqpool_tss::messages::open_nonce_commitments(&tampered, &roster),
        Err(TssError::BadEnvelopeSignature { .. })
    ));

    let signers: BTreeSet<Identifier> = key.shares.keys().copied().take(3).chain([me.id]).collect();
    let (package, mut others) = signing_round(&key, &signers, b"m", &mut rng);
    let mut commitments_map = package.signing_commitments().clone();
    commitments_map.insert(me.id, commitments[0]);
    others.insert(me.id, nonces[0].clone());
    let package = frost_secp256k1::SigningPackage::new(commitments_map, b"m");
    let share = sign::sign_with_nonces(&key.shares[&me.id], &key.public, &package, &others[&me.id])
        .unwrap();
    let msg = wire(&seqpool_tss::messages::seal_signature_share(
        KeyId(4),
        SessionId(8),
        &share,
        &me.secret,
    ));
    let (sender, key_id, session, got) =
        seqpool_tss::messages::open_signature_share(&msg, &roster).unwrap();
    assert_eq!(
        (sender, key_id, session, got),
        (me.id, KeyId(4), SessionId(8), share)
    );
    // Another member cannot pass its share off under this member's name.
    let mut forged = msg.clone();
    forged.sender = members[2].secret.public().signer_key.to_vec();
    assert!(seqpool_tss::messages::open_signature_share(&forged, &roster).is_err());
    // A signing package survives its protobuf encoding.
    let encoded =
        seqpool_tss::messages::signing_package_to_pb(KeyId(4), SessionId(8), &package).unwrap();
    let (k, s, decoded) = seqpool_tss::messages::signing_package_from_pb(
        &pb::SigningPackage::decode(encoded.encode_to_vec().as_slice()).unwrap(),
    )
    .unwrap();
    assert_eq!((k, s), (KeyId(4), SessionId(8)));
    assert_eq!(decoded, package);
}
