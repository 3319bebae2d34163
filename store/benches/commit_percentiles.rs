//! p50 / p99 of a block's store commit, the JMT over LevelDB beside a plain rusty-leveldb write
//! batch of the same keys and values (what the Merkle tree costs), over at least 200 commits each of
//! 1k and 10k writes on a 100k-key state (half overwrites, a quarter new keys, a quarter deletions:
//! the state stays at 100k keys).
//!
//! `cargo bench --workspace --exclude seqpoold --bench commit_percentiles`
//!
//! Store: `prepare` (the JMT update and root, FinalizeBlock's part) + `commit` (what ABCI Commit
//! waits for: the commit log fsynced), timed together. Plain: one `WriteBatch` written with
//! `sync = true` (durable when it returns, as the store's commit is). Both on the same machine in
//! the same run, alternating block by block so that a slower phase of the machine hits both.
//! `SEQPOOL_BENCH_SMOKE` (make bench-smoke): 20 commits on a 10k-key state.
use std::time::{Duration, Instant};

use rusty_leveldb::{Options, WriteBatch, DB};
use seqpool_store::Storage;

mod common;
use common::{base_key, Changes, Mix, Workload};

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench` (and any filter) to every target; there is nothing to filter.
    let smoke = std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some();
    let (base_keys, commits) = if smoke {
        (10_000u64, 20usize)
    } else {
        (100_000, 200)
    };
    let mut rng = Mix(11);
    let store_dir = tempfile::tempdir().expect("tempdir");
    let plain_dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(store_dir.path()).expect("open store");
    let mut plain = DB::open(
        plain_dir.path(),
        Options {
            create_if_missing: true,
            write_buffer_size: 32 << 20,
            ..Options::default()
        },
    )
    .expect("open leveldb");

    // The same 100k-key base state in both.
    let mut version = 0;
    let mut workload = Workload::new(base_keys);
    for chunk in (0..base_keys).collect::<Vec<_>>().chunks(10_000) {
        let changes: Changes = chunk
            .iter()
            .map(|&i| (base_key(i), Some(rng.bytes(64))))
            .collect();
        let mut batch = WriteBatch::default();
        for (k, v) in &changes {
            batch.put(k, v.as_deref().unwrap_or_default());
        }
        plain.write(batch, true).expect("plain base");
        version += 1;
        storage
            .commit(storage.prepare(changes, version).expect("prepare"))
            .expect("commit");
    }

    for writes in [1_000usize, 10_000] {
        let mut store_times = Vec::with_capacity(commits);
        let mut plain_times = Vec::with_capacity(commits);
        for _ in 0..commits {
            let changes = workload.block(&mut rng, writes);
            let mut batch = WriteBatch::default();
            for (k, v) in &changes {
                match v {
                    Some(v) => batch.put(k, v),
                    None => batch.delete(k),
                }
            }
            let start = Instant::now();
            plain.write(batch, true).expect("plain write");
            plain_times.push(start.elapsed());

            version += 1;
            let start = Instant::now();
            let prepared = storage.prepare(changes, version).expect("prepare");
            storage.commit(prepared).expect("commit");
            store_times.push(start.elapsed());
            // Let the store's LevelDB write of this block finish untimed, as between two blocks.
            storage.root_hash(1).expect("settle");
        }
        store_times.sort();
        plain_times.sort();
        let (s50, s99) = (percentile(&store_times, 50), percentile(&store_times, 99));
        let (p50, p99) = (percentile(&plain_times, 50), percentile(&plain_times, 99));
        println!(
            "store commit {writes} writes on {base_keys} keys, {commits} commits: JMT store p50 {} p99 {} | plain leveldb batch p50 {} p99 {} | ratio p50 {:.1}x p99 {:.1}x",
            ms(s50),
            ms(s99),
            ms(p50),
            ms(p99),
            s50.as_secs_f64() / p50.as_secs_f64().max(1e-9),
            s99.as_secs_f64() / p99.as_secs_f64().max(1e-9),
        );
    }
}
