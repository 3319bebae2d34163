//! Engine operations against the same operations through raw frost-secp256k1 calls, for
//! n = 10, 50, 100 and t = floor(2n/3)+1. Run: `cargo bench -p seqpool-tss --bench engine`.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;
use common::{sizes, smoke_timing};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use frost_secp256k1 as frost;
use frost_secp256k1::keys::dkg as raw_dkg;
use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage, SecretShare};
use frost_secp256k1::{Identifier, SigningPackage};
use rand::rngs::StdRng;
use rand::SeedableRng;
use seqpool_tss::dkg::DkgParticipant;
use seqpool_tss::keystore::{KdfParams, Keystore, KeystoreSecret};
use seqpool_tss::messages::pb;
use seqpool_tss::reshare::{self, ReshareReceiver};
use seqpool_tss::{sign, threshold_for, KeyId, MemberSecret, Roster, SessionId};

struct Setup {
    secrets: Vec<MemberSecret>,
    roster: Roster,
    t: u16,
    round1: Vec<pb::SignedEnvelope>,
    round2: Vec<pb::SignedEnvelope>,
    shares: BTreeMap<Identifier, KeyPackage>,
    public: PublicKeyPackage,
}

/// One honest engine DKG among n members, keeping every message.
fn engine_setup(n: usize, rng: &mut StdRng) -> Setup {
    let secrets: Vec<MemberSecret> = (0..n).map(|_| MemberSecret::random(rng)).collect();
    let roster = Roster::new(secrets.iter().map(|s| s.public())).unwrap();
    let t = threshold_for(n);
    let mut parts = Vec::new();
    let mut round1 = Vec::new();
    for s in &secrets {
        let (p, m) =
            DkgParticipant::start(KeyId(1), SessionId(1), roster.clone(), t, s, rng).unwrap();
        parts.push(p);
        round1.push(m);
    }
    for p in parts.iter_mut() {
        for m in &round1 {
            p.receive_round1(m).unwrap();
        }
    }
    let round2: Vec<_> = parts
        .iter_mut()
        .zip(&secrets)
        .map(|(p, s)| p.round2(s, rng).unwrap())
        .collect();
    let mut shares = BTreeMap::new();
    let mut public = None;
    let mut confirms = Vec::new();
    for (p, s) in parts.iter_mut().zip(&secrets) {
        for m in &round2 {
            p.receive_round2(m, s).unwrap();
        }
        confirms.push(p.finish(s).unwrap());
    }
    for p in parts {
        let mut p = p;
        for c in &confirms {
            p.receive_confirm(c).unwrap();
        }
        let out = p.into_output().unwrap();
        public = Some(out.public_key_package.clone());
        shares.insert(*out.key_package.identifier(), out.key_package.clone());
    }
    Setup {
        secrets,
        roster,
        t,
        round1,
        round2,
        shares,
        public: public.unwrap(),
    }
}

fn bench_dkg(c: &mut Criterion) {
    let mut group = c.benchmark_group("dkg_per_member");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    smoke_timing(&mut group);
    for &n in sizes() {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let setup = engine_setup(n, &mut rng);
        group.bench_with_input(BenchmarkId::new("engine", n), &n, |b, _| {
            b.iter(|| {
                let me = &setup.secrets[0];
                let (mut p, _) = DkgParticipant::start(
                    KeyId(1),
                    SessionId(1),
                    setup.roster.clone(),
                    setup.t,
                    me,
                    &mut rng,
                )
                .unwrap();
                for m in &setup.round1[1..] {
                    p.receive_round1(m).unwrap();
                }
                p.round2(me, &mut rng).unwrap();
                for m in &setup.round2[1..] {
                    p.receive_round2(m, me).unwrap();
                }
                p.finish(me).unwrap()
            })
        });

        // Raw: the same member's part1, part2 and part3 with plain frost packages.
        let ids: Vec<Identifier> = (1..=n as u16)
            .map(|i| Identifier::try_from(i).unwrap())
            .collect();
        let mut r1_secrets = BTreeMap::new();
        let mut r1_packages = BTreeMap::new();
        for id in &ids {
            let (s, p) = raw_dkg::part1(*id, n as u16, setup.t, &mut rng).unwrap();
            r1_secrets.insert(*id, s);
            r1_packages.insert(*id, p);
        }
        let me = ids[0];
        let mut to_me = BTreeMap::new();
        for id in &ids[1..] {
            let others: BTreeMap<_, _> = r1_packages
                .iter()
                .filter(|(k, _)| *k != id)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            let (_, out) = raw_dkg::part2(r1_secrets[id].clone(), &others).unwrap();
            to_me.insert(*id, out[&me].clone());
        }
        let others_r1: BTreeMap<_, _> = r1_packages
            .iter()
            .filter(|(k, _)| **k != me)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        group.bench_with_input(BenchmarkId::new("raw_frost", n), &n, |b, _| {
            b.iter(|| {
                let (s1, _) = raw_dkg::part1(me, n as u16, setup.t, &mut rng).unwrap();
                let (s2, _) = raw_dkg::part2(s1, &others_r1).unwrap();
                raw_dkg::part3(&s2, &others_r1, &to_me).unwrap()
            })
        });
        // Raw frost as it runs between processes: packages arrive serialized (frost's own
        // encoding, unauthenticated, unencrypted) and must be decoded first.
        let r1_wire: Vec<(Identifier, Vec<u8>)> = others_r1
            .iter()
            .map(|(k, v)| (*k, v.serialize().unwrap()))
            .collect();
        let r2_wire: Vec<(Identifier, Vec<u8>)> = to_me
            .iter()
            .map(|(k, v)| (*k, v.serialize().unwrap()))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("raw_frost_with_decoding", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let (s1, _) = raw_dkg::part1(me, n as u16, setup.t, &mut rng).unwrap();
                    let r1: BTreeMap<_, _> = r1_wire
                        .iter()
                        .map(|(k, v)| (*k, raw_dkg::round1::Package::deserialize(v).unwrap()))
                        .collect();
                    let (s2, _) = raw_dkg::part2(s1, &r1).unwrap();
                    let r2: BTreeMap<_, _> = r2_wire
                        .iter()
                        .map(|(k, v)| (*k, raw_dkg::round2::Package::deserialize(v).unwrap()))
                        .collect();
                    raw_dkg::part3(&s2, &r1, &r2).unwrap()
                })
            },
        );
    }
    group.finish();
}

fn bench_reshare(c: &mut Criterion) {
    let mut group = c.benchmark_group("reshare_per_member");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    smoke_timing(&mut group);
    for &n in sizes() {
        let mut rng = StdRng::seed_from_u64(100 + n as u64);
        let setup = engine_setup(n, &mut rng);
        let t = setup.t;
        let ids: Vec<Identifier> = setup.shares.keys().copied().collect();
        let secret_of = |id: &Identifier| {
            setup
                .secrets
                .iter()
                .find(|s| s.identifier().unwrap() == *id)
                .unwrap()
        };
        // The t lowest-identifier old members deal to the same member set (the minimum a
        // reshare needs); a receiver checks and combines their deals.
        let dealers: Vec<Identifier> = ids.iter().take(t as usize).copied().collect();
        let deals: Vec<_> = dealers
            .iter()
            .map(|id| {
                reshare::deal(
                    KeyId(1),
                    SessionId(2),
                    &setup.shares[id],
                    &setup.roster,
                    t,
                    secret_of(id),
                    &mut rng,
                )
                .unwrap()
            })
            .collect();
        let receiver_id = ids[n - 1];
        let receiver = secret_of(&receiver_id);
        let qualified: BTreeSet<Identifier> = dealers.iter().copied().collect();
        group.bench_with_input(BenchmarkId::new("engine_deal", n), &n, |b, _| {
            b.iter(|| {
                reshare::deal(
                    KeyId(1),
                    SessionId(2),
                    &setup.shares[&dealers[0]],
                    &setup.roster,
                    t,
                    secret_of(&dealers[0]),
                    &mut rng,
                )
                .unwrap()
            })
        });
        group.bench_with_input(
            BenchmarkId::new("engine_receive_and_combine", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let mut r = ReshareReceiver::new(
                        KeyId(1),
                        SessionId(2),
                        setup.roster.clone(),
                        setup.public.clone(),
                        setup.roster.clone(),
                        t,
                        receiver,
                    )
                    .unwrap();
                    for d in &deals {
                        r.receive_deal(d, receiver).unwrap();
                    }
                    r.finish(&qualified).unwrap()
                })
            },
        );
        // Raw: keys::split of one share, and verifying t sub-shares against their commitments.
        let share_key =
            frost::SigningKey::deserialize(&setup.shares[&dealers[0]].signing_share().serialize())
                .unwrap();
        group.bench_with_input(BenchmarkId::new("raw_split", n), &n, |b, _| {
            b.iter(|| {
                frost::keys::split(
                    &share_key,
                    n as u16,
                    t,
                    frost::keys::IdentifierList::Custom(&ids),
                    &mut rng,
                )
                .unwrap()
            })
        });
        let sub_shares: Vec<SecretShare> = dealers
            .iter()
            .map(|d| {
                let k =
                    frost::SigningKey::deserialize(&setup.shares[d].signing_share().serialize())
                        .unwrap();
                let (mut s, _) = frost::keys::split(
                    &k,
                    n as u16,
                    t,
                    frost::keys::IdentifierList::Custom(&ids),
                    &mut rng,
                )
                .unwrap();
                s.remove(&receiver_id).unwrap()
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("raw_verify_subshares", n), &n, |b, _| {
            b.iter(|| {
                for s in &sub_shares {
                    s.verify().unwrap();
                }
            })
        });
    }
    group.finish();
}

fn signing_fixture(
    setup: &Setup,
    rng: &mut StdRng,
) -> (
    SigningPackage,
    BTreeMap<Identifier, frost::round1::SigningNonces>,
) {
    let signers: Vec<Identifier> = setup
        .shares
        .keys()
        .copied()
        .take(setup.t as usize)
        .collect();
    let mut commitments = BTreeMap::new();
    let mut nonces = BTreeMap::new();
    for id in &signers {
        let (n, c) = frost::round1::commit(setup.shares[id].signing_share(), rng);
        nonces.insert(*id, n);
        commitments.insert(*id, c);
    }
    (SigningPackage::new(commitments, &[0x5a; 32]), nonces)
}

fn bench_signing(c: &mut Criterion) {
    let mut group = c.benchmark_group("signing");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    smoke_timing(&mut group);
    for &n in sizes() {
        let mut rng = StdRng::seed_from_u64(200 + n as u64);
        let setup = engine_setup(n, &mut rng);
        let (package, nonces) = signing_fixture(&setup, &mut rng);
        let me = *package.signing_commitments().keys().next().unwrap();
        let kp = &setup.shares[&me];
        group.bench_with_input(BenchmarkId::new("share_engine", n), &n, |b, _| {
            b.iter(|| sign::sign_with_nonces(kp, &setup.public, &package, &nonces[&me]).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("share_raw_frost", n), &n, |b, _| {
            b.iter(|| frost::round2::sign(&package, &nonces[&me], kp).unwrap())
        });
        let shares: BTreeMap<_, _> = nonces
            .iter()
            .map(|(id, nn)| {
                (
                    *id,
                    frost::round2::sign(&package, nn, &setup.shares[id]).unwrap(),
                )
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("aggregate_engine", n), &n, |b, _| {
            b.iter(|| sign::aggregate(&package, &shares, &setup.public).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("aggregate_raw_frost", n), &n, |b, _| {
            b.iter(|| {
                frost::aggregate_custom(
                    &package,
                    &shares,
                    &setup.public,
                    frost::CheaterDetection::AllCheaters,
                )
                .unwrap()
            })
        });
        if n == 100 {
            // Durable signing: load and decrypt the share and nonce, retire the nonce with a
            // synced write, then sign.
            let dir = tempfile::tempdir().unwrap();
            let kdf = KdfParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            };
            let mut ks =
                Keystore::open_with(dir.path(), &KeystoreSecret::passphrase("bench"), kdf).unwrap();
            ks.put_key(KeyId(1), kp, &setup.public).unwrap();
            let ks = std::cell::RefCell::new(ks);
            group.bench_function(BenchmarkId::new("share_engine_keystore_durable", n), |b| {
                b.iter_batched(
                    || {
                        let mine = ks
                            .borrow_mut()
                            .generate_nonces(KeyId(1), 1, &mut rng)
                            .unwrap()[0];
                        let mut commitments = package.signing_commitments().clone();
                        commitments.insert(me, mine);
                        SigningPackage::new(commitments, &[0x5a; 32])
                    },
                    |p| ks.borrow_mut().sign(KeyId(1), &p).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

fn bench_preprocess(c: &mut Criterion) {
    let mut group = c.benchmark_group("nonce_preprocessing_100");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    smoke_timing(&mut group);
    let mut rng = StdRng::seed_from_u64(300);
    let setup = engine_setup(10, &mut rng);
    let kp = setup.shares.values().next().unwrap().clone();
    group.bench_function("engine_in_memory", |b| {
        b.iter(|| sign::preprocess(&kp, 100, &mut rng))
    });
    group.bench_function("raw_frost", |b| {
        b.iter(|| {
            frost_core::round1::preprocess::<frost::Secp256K1Sha256, _>(
                100,
                kp.signing_share(),
                &mut rng,
            )
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let kdf = KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let mut ks =
        Keystore::open_with(dir.path(), &KeystoreSecret::passphrase("bench"), kdf).unwrap();
    ks.put_key(KeyId(1), &kp, &setup.public).unwrap();
    group.bench_function("engine_keystore_durable", |b| {
        b.iter(|| {
            ks.generate_nonces(KeyId(1), 100, &mut rng).unwrap();
            ks.delete_unused_nonces(KeyId(1)).unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_signing,
    bench_preprocess,
    bench_reshare,
    bench_dkg
);
criterion_main!(benches);
