//! Throughput of CheckTx and FinalizeBlock in signed txs/s, on one core (the consensus path is one
//! thread), through the in-process driver with a real LevelDB store.
//!
//! `cargo bench -p seqpool-app --bench abci`
//!
//! Every benchmark runs twice: timed by the wall clock, and as `cpu/...` by the CPU time of the
//! whole benchmark process (all its threads, the store's included), which other processes on a
//! shared machine do not inflate.
use std::time::{Duration, Instant};

use bytes::Bytes;
use cosmrs::Any;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::{Message, Name};
use seqpool_app::driver::Driver;
use seqpool_app::tx::ecdsa::PreparedKey;
use seqpool_app::tx::sign_tx;
use seqpool_proto::admin::v1::MsgUpdateParams;
use tendermint::abci::request;

/// `SEQPOOL_BENCH_SMOKE` (make bench-smoke): a few short samples of small blocks, only to show
/// that every benchmark runs and prints its figure.
fn smoke() -> bool {
    std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some()
}

/// Txs per block and per CheckTx run.
fn txs_per_run() -> u64 {
    if smoke() {
        100
    } else {
        2_000
    }
}

/// Sample count and measuring time of a group (criterion's minimum sample count is 10).
fn timing<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    samples: usize,
    measure: Duration,
) {
    if smoke() {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(500));
    } else {
        group.sample_size(samples).measurement_time(measure);
    }
}

fn signed_txs(d: &Driver, from_sequence: u64, n: u64) -> Vec<Bytes> {
    let admin = d.admin_address();
    let mut params = seqpool_auth::params::default_params();
    params.max_pending_txs_per_account = 1_000_000;
    let msg = Any {
        type_url: MsgUpdateParams::type_url(),
        value: MsgUpdateParams {
            authority: admin,
            params: Some(pbjson_types::Any {
                type_url: seqpool_auth::Params::type_url(),
                value: params.encode_to_vec().into(),
            }),
        }
        .encode_to_vec(),
    };
    // The admin is registered first in genesis: account number 0.
    (from_sequence..from_sequence + n)
        .map(|seq| {
            Bytes::from(sign_tx(
                &d.admin_key,
                &d.chain_id,
                0,
                seq,
                vec![msg.clone()],
                "",
            ))
        })
        .collect()
}

fn driver(dir: &std::path::Path) -> Driver {
    let mut d = Driver::new_with_genesis(dir, 4, 1, |g| {
        if let Some(p) = g.auth.params.as_mut() {
            p.max_pending_txs_per_account = 1_000_000;
        }
    })
    .expect("driver");
    d.produce_block(vec![]).expect("block 1");
    d
}

#[derive(Clone, Copy)]
enum Clock {
    Wall,
    /// CPU time of this process, every thread.
    ProcessCpu,
}

impl Clock {
    fn prefix(self) -> &'static str {
        match self {
            Clock::Wall => "",
            Clock::ProcessCpu => "cpu/",
        }
    }

    fn time(self, f: impl FnOnce()) -> Duration {
        match self {
            Clock::Wall => {
                let start = Instant::now();
                f();
                start.elapsed()
            }
            Clock::ProcessCpu => {
                let start = cpu_time::ProcessTime::now();
                f();
                start.elapsed()
            }
        }
    }

    /// `iters` runs of `routine`, each on a fresh `setup()` that is not timed.
    fn run<S>(
        self,
        iters: u64,
        mut setup: impl FnMut() -> S,
        mut routine: impl FnMut(S),
    ) -> Duration {
        (0..iters)
            .map(|_| {
                let input = setup();
                self.time(|| routine(input))
            })
            .sum()
    }
}

fn finalize_block(c: &mut Criterion, clock: Clock) {
    let per_run = txs_per_run();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = std::cell::RefCell::new(driver(dir.path()));
    let mut sequence = 0;
    let mut group = c.benchmark_group(format!("{}finalize_block", clock.prefix()));
    group.throughput(Throughput::Elements(per_run));
    timing(&mut group, 10, Duration::from_secs(10));
    group.bench_function(format!("{per_run}_signed_txs"), |b| {
        b.iter_custom(|iters| {
            clock.run(
                iters,
                || {
                    let txs = signed_txs(&d.borrow(), sequence, per_run);
                    sequence += per_run;
                    txs
                },
                |txs| {
                    let out = d.borrow_mut().produce_block(txs).expect("block");
                    assert!(out.tx_results.iter().all(|r| r.code.is_ok()));
                },
            )
        })
    });
    group.finish();
}

/// CheckTx of 2,000 signed txs in sequence order, as new txs and as CometBFT's recheck after a
/// block (the signature is remembered, everything else is checked again). Every iteration starts
/// from an empty mempool (a new tx never takes a pending sequence, so the same txs cannot be
/// checked as new twice); for the recheck, admitting them as new and the commit are not timed.
fn check_tx(c: &mut Criterion, clock: Clock) {
    let per_run = txs_per_run();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = driver(dir.path());
    let txs = signed_txs(&d, 0, per_run);
    let empty_mempool = || {
        let snapshot = d.nodes[0].app.storage().latest_snapshot();
        let mut state = seqpool_app::mempool::MempoolState::default();
        state.reset(snapshot, &d.chain_id);
        *d.nodes[0].mempool.lock().expect("mempool lock") = state;
    };
    let after_commit = || {
        let snapshot = d.nodes[0].app.storage().latest_snapshot();
        d.nodes[0]
            .mempool
            .lock()
            .expect("mempool lock")
            .reset(snapshot, &d.chain_id);
    };
    let check_all = |kind| {
        for tx in &txs {
            let resp = seqpool_app::mempool::check_tx(
                &d.nodes[0].mempool,
                &request::CheckTx {
                    tx: tx.clone(),
                    kind,
                },
            );
            assert!(resp.code.is_ok(), "{}", resp.log);
        }
    };
    let mut group = c.benchmark_group(format!("{}check_tx", clock.prefix()));
    group.throughput(Throughput::Elements(per_run));
    timing(&mut group, 10, Duration::from_secs(10));
    group.bench_function(format!("{per_run}_new_signed_txs"), |b| {
        b.iter_custom(|iters| {
            clock.run(iters, empty_mempool, |()| {
                check_all(request::CheckTxKind::New)
            })
        })
    });
    group.bench_function(format!("{per_run}_rechecked_signed_txs"), |b| {
        b.iter_custom(|iters| {
            clock.run(
                iters,
                || {
                    empty_mempool();
                    check_all(request::CheckTxKind::New);
                    after_commit();
                },
                |()| check_all(request::CheckTxKind::Recheck),
            )
        })
    });
    group.finish();
}

/// The signature check alone: k256's `verify` against the prepared-key verification the tx path
/// uses.
fn verify(c: &mut Criterion, clock: Clock) {
    use k256::ecdsa::signature::{Signer, Verifier};
    let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
    let msg = vec![0x5a_u8; 250];
    let sig: k256::ecdsa::Signature = key.sign(&msg);
    let prepared = PreparedKey::new(key.verifying_key());
    let mut group = c.benchmark_group(format!("{}verify", clock.prefix()));
    group.throughput(Throughput::Elements(1));
    timing(&mut group, 20, Duration::from_secs(5));
    group.bench_function("k256_verify", |b| {
        b.iter_custom(|iters| {
            clock.time(|| {
                for _ in 0..iters {
                    assert!(key.verifying_key().verify(&msg, &sig).is_ok());
                }
            })
        })
    });
    group.bench_function("prepared_key", |b| {
        b.iter_custom(|iters| {
            clock.time(|| {
                for _ in 0..iters {
                    assert!(prepared.verify(&msg, &sig));
                }
            })
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for clock in [Clock::Wall, Clock::ProcessCpu] {
        finalize_block(c, clock);
        check_tx(c, clock);
        verify(c, clock);
    }
}

criterion_group!(abci, benches);
criterion_main!(abci);
