//! The public checks the chain runs on keygen messages (`seqpool_tss::checks`): honest messages
//! pass, and each kind of tampering names the sender.
mod common;

use common::{members, rng, roster, run_dkg, wire};
use prost::Message;
use seqpool_tss::crypto::envelope;
use seqpool_tss::dkg::DkgParticipant;
use seqpool_tss::messages::pb;
use seqpool_tss::{checks, reshare, threshold_for, KeyId, SessionId, TssError};

const KEY: KeyId = KeyId(7);
const SESSION: SessionId = SessionId(3);

fn reseal<M: Message + Default>(
    env: &pb::SignedEnvelope,
    kind: pb::MessageKind,
    me: &seqpool_tss::MemberSecret,
    change: impl FnOnce(&mut M),
) -> pb::SignedEnvelope {
    let mut body = M::decode(env.body.as_slice()).expect("body");
    change(&mut body);
    envelope::seal(kind, &body, me)
}

#[test]
fn dkg_round1_and_round2_checks() {
    let mut rng = rng(11);
    let ms = members(4, &mut rng);
    let roster = roster(&ms);
    let t = threshold_for(4);
    let (mut p0, r1_0) =
        DkgParticipant::start(KEY, SESSION, roster.clone(), t, &ms[0].secret, &mut rng)
            .expect("start");
    let (_p1, r1_1) =
        DkgParticipant::start(KEY, SESSION, roster.clone(), t, &ms[1].secret, &mut rng)
            .expect("start");
    let (sender, package) =
        checks::dkg_round1(&wire(&r1_0), &roster, KEY, SESSION, t).expect("honest round 1");
    assert_eq!(sender, ms[0].id);
    assert_eq!(package.commitment().coefficients().len(), t as usize);

    // Wrong session, wrong threshold, a short commitment, another member's proof.
    assert!(matches!(
        checks::dkg_round1(&r1_0, &roster, KEY, SessionId(4), t),
        Err(TssError::WrongSession { .. })
    ));
    assert!(matches!(
        checks::dkg_round1(&r1_0, &roster, KEY, SESSION, t + 1),
        Err(TssError::BadCommitment { .. })
    ));
    let short = reseal::<pb::DkgRound1>(&r1_0, pb::MessageKind::DkgRound1, &ms[0].secret, |b| {
        b.commitment.pop();
    });
    assert!(matches!(
        checks::dkg_round1(&short, &roster, KEY, SESSION, t),
        Err(TssError::BadCommitment { .. })
    ));
    let other_proof = pb::DkgRound1::decode(r1_1.body.as_slice())
        .expect("body")
        .proof_of_knowledge;
    let stolen = reseal::<pb::DkgRound1>(&r1_0, pb::MessageKind::DkgRound1, &ms[0].secret, |b| {
        b.proof_of_knowledge = other_proof;
    });
    assert!(matches!(
        checks::dkg_round1(&stolen, &roster, KEY, SESSION, t),
        Err(TssError::BadCommitment { .. })
    ));
    // Not signed by a roster member.
    let outsider = members(1, &mut rng);
    let forged = reseal::<pb::DkgRound1>(
        &r1_0,
        pb::MessageKind::DkgRound1,
        &outsider[0].secret,
        |_| {},
    );
    assert!(checks::dkg_round1(&forged, &roster, KEY, SESSION, t).is_err());

    // Round 2: one share per other member, nothing else.
    let mut others = Vec::new();
    for m in &ms[1..] {
        let (_, r1) = DkgParticipant::start(KEY, SESSION, roster.clone(), t, &m.secret, &mut rng)
            .expect("start");
        others.push(r1);
    }
    for r1 in &others {
        p0.receive_round1(r1).expect("round 1");
    }
    let r2 = p0.round2(&ms[0].secret, &mut rng).expect("round 2");
    assert_eq!(
        checks::dkg_round2(&wire(&r2), &roster, KEY, SESSION).expect("honest round 2"),
        ms[0].id
    );
    let missing = reseal::<pb::DkgRound2>(&r2, pb::MessageKind::DkgRound2, &ms[0].secret, |b| {
        b.shares.pop();
    });
    assert!(matches!(
        checks::dkg_round2(&missing, &roster, KEY, SESSION),
        Err(TssError::Malformed { .. })
    ));
    let doubled = reseal::<pb::DkgRound2>(&r2, pb::MessageKind::DkgRound2, &ms[0].secret, |b| {
        let first = b.shares[0].clone();
        b.shares[1] = first;
    });
    assert!(matches!(
        checks::dkg_round2(&doubled, &roster, KEY, SESSION),
        Err(TssError::Malformed { .. })
    ));
    let to_self = reseal::<pb::DkgRound2>(&r2, pb::MessageKind::DkgRound2, &ms[0].secret, |b| {
        b.shares[0].recipient = ms[0].id.serialize();
    });
    assert!(checks::dkg_round2(&to_self, &roster, KEY, SESSION).is_err());
}

#[test]
fn reshare_deal_checks() {
    let mut rng = rng(12);
    let old_members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &old_members, &mut rng);
    let old_roster = roster(&old_members);
    let mut new_members = members(1, &mut rng);
    let new_members: Vec<_> = old_members
        .into_iter()
        .chain(new_members.drain(..))
        .collect();
    let new_roster = roster(&new_members);
    let t = threshold_for(5);
    let dealer = &new_members[0];
    let deal = reshare::deal(
        KEY,
        SESSION,
        &key.shares[&dealer.id],
        &new_roster,
        t,
        &dealer.secret,
        &mut rng,
    )
    .expect("deal");
    let check = |env: &pb::SignedEnvelope| {
        checks::reshare_deal(env, &old_roster, &key.public, &new_roster, KEY, SESSION, t)
    };
    let (who, commitment) = check(&wire(&deal)).expect("honest deal");
    assert_eq!(who, dealer.id);
    assert_eq!(commitment.coefficients().len(), t as usize);

    // Another holder's share dealt under this dealer's name: constant term mismatch.
    let other = &new_members[1];
    let foreign = reshare::deal(
        KEY,
        SESSION,
        &key.shares[&other.id],
        &new_roster,
        t,
        &other.secret,
        &mut rng,
    )
    .expect("deal");
    let foreign_commitment = pb::ReshareDeal::decode(foreign.body.as_slice())
        .expect("body")
        .commitment;
    let swapped =
        reseal::<pb::ReshareDeal>(&deal, pb::MessageKind::ReshareDeal, &dealer.secret, |b| {
            b.commitment = foreign_commitment;
        });
    assert!(matches!(
        check(&swapped),
        Err(TssError::BadCommitment { .. })
    ));
    let wrong_t =
        reseal::<pb::ReshareDeal>(&deal, pb::MessageKind::ReshareDeal, &dealer.secret, |b| {
            b.new_threshold = 3;
        });
    assert!(matches!(
        check(&wrong_t),
        Err(TssError::BadCommitment { .. })
    ));
    let short =
        reseal::<pb::ReshareDeal>(&deal, pb::MessageKind::ReshareDeal, &dealer.secret, |b| {
            b.shares.pop();
        });
    assert!(matches!(check(&short), Err(TssError::Malformed { .. })));
    // The joiner holds no old share: it cannot deal.
    let joiner = &new_members[4];
    let fake =
        reseal::<pb::ReshareDeal>(&deal, pb::MessageKind::ReshareDeal, &joiner.secret, |_| {});
    assert!(check(&fake).is_err());
    assert!(matches!(
        checks::reshare_deal(
            &deal,
            &old_roster,
            &key.public,
            &new_roster,
            KEY,
            SessionId(9),
            t
        ),
        Err(TssError::WrongSession { .. })
    ));
}
