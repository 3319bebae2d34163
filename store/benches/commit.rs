//! prepare+commit and commit alone of 1k / 10k writes on a 100k-key state (half overwrites, a quarter
//! new keys, a quarter deletions of the oldest: the state stays at 100k keys whatever the number of
//! iterations), and reads of the latest version.
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use seqpool_store::{StateRead, Storage};

mod common;
use common::{base_key, Changes, Mix, Workload};

const BASE_KEYS: u64 = 100_000;

/// CPU time used so far by the store's database thread, where prepare and commit run. Unlike wall
/// time it barely depends on what else the machine runs; it leaves out waiting for fsync.
/// Linux only (`/proc/self/task/*/schedstat`); `None` elsewhere.
struct StoreThreadCpu(std::path::PathBuf);

impl StoreThreadCpu {
    fn find() -> Option<Self> {
        std::fs::read_dir("/proc/self/task")
            .ok()?
            .filter_map(Result::ok)
            .map(|task| task.path())
            .find(|task| {
                std::fs::read_to_string(task.join("comm"))
                    .is_ok_and(|c| c.trim() == "seqpool-store")
            })
            .map(|task| Self(task.join("schedstat")))
    }

    fn used(&self) -> Duration {
        let stat = std::fs::read_to_string(&self.0).expect("read schedstat");
        let nanos = stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("schedstat starts with the CPU time in ns");
        Duration::from_nanos(nanos)
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let mut rng = Mix(7);
    let mut version = 0;
    let mut workload = Workload::new(BASE_KEYS);
    for chunk in 0..10 {
        let changes: Changes = (chunk * 10_000..(chunk + 1) * 10_000)
            .map(|i| (base_key(i), Some(rng.bytes(64))))
            .collect();
        version += 1;
        storage
            .commit(storage.prepare(changes, version).expect("prepare"))
            .expect("commit");
    }

    // Served by the store thread after everything queued before it, so it returns once the last
    // commit's batch is in LevelDB (written after the commit answered). Between two blocks of a
    // chain that happens during CometBFT's timeout_commit; the benchmarks wait for it untimed, as
    // blocks do not follow each other without a pause.
    let settle = |storage: &Storage| {
        storage
            .root_hash(1)
            .expect("a request behind the LevelDB write");
    };
    let mut group = c.benchmark_group("store");
    for writes in [1_000usize, 10_000] {
        group.bench_function(format!("prepare_commit_{writes}_writes_on_100k"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let changes = workload.block(&mut rng, writes);
                    version += 1;
                    let start = Instant::now();
                    let prepared = storage.prepare(changes, version).expect("prepare");
                    storage.commit(prepared).expect("commit");
                    total += start.elapsed();
                    settle(&storage);
                }
                total
            })
        });
        // What ABCI Commit waits for: the block is durable (prepare ran in FinalizeBlock).
        group.bench_function(format!("commit_only_{writes}_writes_on_100k"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let changes = workload.block(&mut rng, writes);
                    version += 1;
                    let prepared = storage.prepare(changes, version).expect("prepare");
                    let start = Instant::now();
                    storage.commit(prepared).expect("commit");
                    total += start.elapsed();
                    settle(&storage);
                }
                total
            })
        });
    }
    if let Some(cpu) = StoreThreadCpu::find() {
        for writes in [1_000usize, 10_000] {
            group.bench_function(
                format!("prepare_commit_{writes}_writes_on_100k_store_thread_cpu"),
                |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let changes = workload.block(&mut rng, writes);
                            version += 1;
                            let start = cpu.used();
                            let prepared = storage.prepare(changes, version).expect("prepare");
                            storage.commit(prepared).expect("commit");
                            // All of the block's work on the store thread, the LevelDB write too.
                            settle(&storage);
                            total += cpu.used() - start;
                        }
                        total
                    })
                },
            );
        }
    }
    group.bench_function("prepare_only_10000_writes_on_100k", |b| {
        b.iter_batched(
            // Each against the same committed state: a copy of the workload.
            || workload.clone().block(&mut rng, 10_000),
            |changes| storage.prepare(changes, version + 1).expect("prepare"),
            BatchSize::LargeInput,
        )
    });

    let snapshot = storage.latest_snapshot();
    // Live keys: the workload deleted the oldest ones.
    let hot: Vec<Vec<u8>> = (0..1_000)
        .map(|i| base_key(workload.oldest + i * 97))
        .collect();
    for key in &hot {
        snapshot.get_raw(key).expect("warm");
    }
    let mut i = 0;
    group.bench_function("get_latest_cached", |b| {
        b.iter(|| {
            i = (i + 1) % hot.len();
            snapshot.get_raw(&hot[i]).expect("get")
        })
    });
    // A key never read before (a first-time sender): the cache misses and the DB thread seeks.
    group.bench_function("get_latest_uncached_absent", |b| {
        b.iter_batched(
            || rng.bytes(32),
            |key| snapshot.get_raw(&key).expect("get"),
            BatchSize::SmallInput,
        )
    });
    let past = storage.snapshot_at(5).expect("past snapshot");
    let past_keys: Vec<Vec<u8>> = (0..1_000).map(|i| base_key(i * 97)).collect();
    group.bench_function("get_past_version_uncached", |b| {
        b.iter(|| {
            i = (i + 1) % hot.len();
            past.get_raw(&past_keys[i]).expect("get")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
