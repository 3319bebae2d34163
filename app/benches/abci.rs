//! Throughput of CheckTx and FinalizeBlock in signed txs/s, on one core (the consensus path is one
//! thread), through the in-process driver with a real LevelDB store.
//!
//! `cargo bench -p seqpoold --bench abci`
use std::time::Duration;

use bytes::Bytes;
use cosmrs::Any;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prost::{Message, Name};
use seqpool_proto::admin::v1::MsgUpdateParams;
use seqpoold::driver::Driver;
use seqpoold::tx::sign_tx;

const TXS: u64 = 2_000;

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

fn finalize_block(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = std::cell::RefCell::new(driver(dir.path()));
    let mut sequence = 0;
    let mut group = c.benchmark_group("finalize_block");
    group.throughput(Throughput::Elements(TXS));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function(format!("{TXS}_signed_txs"), |b| {
        b.iter_batched(
            || {
                let txs = signed_txs(&d.borrow(), sequence, TXS);
                sequence += TXS;
                txs
            },
            |txs| {
                let out = d.borrow_mut().produce_block(txs).expect("block");
                assert!(out.tx_results.iter().all(|r| r.code.is_ok()));
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn check_tx(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = driver(dir.path());
    let txs = signed_txs(&d, 0, 200_000);
    let mut next = 0usize;
    let mut group = c.benchmark_group("check_tx");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("signed_tx", |b| {
        b.iter(|| {
            let resp = d.check_tx(0, &txs[next % txs.len()]);
            next += 1;
            resp
        })
    });
    group.finish();
}

criterion_group!(benches, finalize_block, check_tx);
criterion_main!(benches);
