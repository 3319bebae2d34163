//! Signing share and aggregation at n = 10, 50, 100 measured in CPU time of the benchmark thread
//! (criterion with a thread-CPU-time clock), so that other processes on a shared machine do not
//! inflate the figures. Run: `cargo bench -p seqpool-tss --bench cpu_time`.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;
use common::{sizes, smoke_timing};
use std::collections::BTreeMap;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use frost_secp256k1 as frost;
use frost_secp256k1::keys::IdentifierList;
use frost_secp256k1::{Identifier, SigningPackage};
use rand::rngs::StdRng;
use rand::SeedableRng;
use seqpool_tss::{sign, threshold_for};

/// Thread CPU time as a criterion measurement.
struct ThreadCpuTime;

struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values.iter_mut() {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "ns"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }

    fn end(&self, start: Self::Intermediate) -> Self::Value {
        start.elapsed()
    }

    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }

    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("signing_cpu_time");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    smoke_timing(&mut group);
    for &n in sizes() {
        let mut rng = StdRng::seed_from_u64(400 + n as u64);
        let t = threshold_for(n);
        // Key material from frost's dealer: signing cost does not depend on how the key was made.
        let ids: Vec<Identifier> = (1..=n as u16)
            .map(|i| Identifier::try_from(i).unwrap())
            .collect();
        let (secret_shares, public) =
            frost::keys::generate_with_dealer(n as u16, t, IdentifierList::Custom(&ids), &mut rng)
                .unwrap();
        let shares: BTreeMap<Identifier, frost::keys::KeyPackage> = secret_shares
            .into_iter()
            .map(|(id, s)| (id, frost::keys::KeyPackage::try_from(s).unwrap()))
            .collect();
        let signers: Vec<Identifier> = ids.iter().take(t as usize).copied().collect();
        let mut commitments = BTreeMap::new();
        let mut nonces = BTreeMap::new();
        for id in &signers {
            let (nn, cc) = frost::round1::commit(shares[id].signing_share(), &mut rng);
            nonces.insert(*id, nn);
            commitments.insert(*id, cc);
        }
        let package = SigningPackage::new(commitments, &[0x5a; 32]);
        let me = signers[0];
        group.bench_with_input(BenchmarkId::new("share_engine", n), &n, |b, _| {
            b.iter(|| {
                sign::sign_with_nonces(&shares[&me], &public, &package, &nonces[&me]).unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("share_raw_frost", n), &n, |b, _| {
            b.iter(|| frost::round2::sign(&package, &nonces[&me], &shares[&me]).unwrap())
        });
        let sig_shares: BTreeMap<_, _> = nonces
            .iter()
            .map(|(id, nn)| (*id, frost::round2::sign(&package, nn, &shares[id]).unwrap()))
            .collect();
        group.bench_with_input(BenchmarkId::new("aggregate_engine", n), &n, |b, _| {
            b.iter(|| sign::aggregate(&package, &sig_shares, &public).unwrap())
        });
        // The failure path: one share is wrong, so every share is checked and the culprit named.
        let mut with_bad_share = sig_shares.clone();
        with_bad_share.insert(me, sig_shares[&signers[1]]);
        group.bench_with_input(
            BenchmarkId::new("aggregate_engine_one_bad_share", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let named = sign::aggregate(&package, &with_bad_share, &public);
                    assert!(named.is_err());
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("aggregate_raw_frost", n), &n, |b, _| {
            b.iter(|| {
                frost::aggregate_custom(
                    &package,
                    &sig_shares,
                    &public,
                    frost::CheaterDetection::AllCheaters,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default().with_measurement(ThreadCpuTime)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
